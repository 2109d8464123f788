"""Runs inside the sandbox: performs each operation given as JSON in argv[1] and prints, as
JSON, "ok" or the errno name for each. Uses only the standard library (ctypes for syscalls
Python does not wrap)."""
import ctypes
import errno
import json
import os
import socket
import sys

libc = ctypes.CDLL(None, use_errno=True)


def syscall_result(value):
    if value == -1:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


class NoGain(Exception):
    """A set-user-ID program ran without changing the effective uid."""


def run(op):
    kind, path = op["op"], op.get("path")
    if kind == "read":
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(1)
    elif kind == "write":
        with open(path, "ab"):
            pass
    elif kind == "create":
        with open(path, "x"):
            pass
    elif kind == "mkdir":
        os.mkdir(path)
    elif kind == "unlink":
        os.unlink(path)
    elif kind == "rename":
        os.rename(path, op["to"])
    elif kind == "chmod":
        os.chmod(path, os.stat(path).st_mode & 0o7777)
    elif kind == "truncate":
        os.truncate(path, os.stat(path).st_size)
    elif kind == "hardlink":
        os.link(path, op["to"])
    elif kind == "tcp":
        with socket.create_connection(("127.0.0.1", op["port"]), timeout=2):
            pass
    elif kind == "udp":
        # Reached only when the listener's echo comes back (sendto alone succeeds unheard).
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(b"ping", ("127.0.0.1", op["port"]))
            if s.recv(16) != b"ping":
                raise OSError(errno.EIO, "no echo")
    elif kind == "setuid":
        # "ok" means the set-user-ID program ran with another effective uid (privilege
        # gained); NoGain that it ran as the caller; anything else that it did not run.
        import subprocess
        out = subprocess.run([path, "-u"], capture_output=True, text=True, check=True)
        if int(out.stdout) == os.geteuid():
            raise NoGain()
    elif kind == "unix":
        # write/read, not send/recv: sendto is denied with the network off, as in the
        # reference, while plain I/O on a Unix socket pair stays allowed.
        a, b = socket.socketpair()
        os.write(a.fileno(), b"x")
        os.read(b.fileno(), 1)
    elif kind == "abstract":
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect("\0" + op["name"])
    elif kind == "vsock":
        socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).close()
    elif kind == "raw":
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    elif kind == "io_uring":
        params = ctypes.create_string_buffer(120)
        syscall_result(libc.syscall(425, 1, params))
    elif kind == "ptrace":
        syscall_result(libc.ptrace(16, op["pid"], None, None))  # PTRACE_ATTACH
    elif kind == "mount":
        syscall_result(libc.mount(b"none", path.encode(), b"tmpfs", 0, None))
    elif kind == "escape":
        # New user + mount namespaces, then try to make a read-only path writable again and
        # write through it.
        syscall_result(libc.unshare(0x10000000 | 0x00020000))
        syscall_result(libc.mount(None, path.encode(), None, 32 | 4096, None))
        with open(path, "ab"):
            pass
    elif kind == "skip":
        pass
    elif kind == "fd":
        os.fstat(op["fd"])
    elif kind == "nnp":
        with open("/proc/self/status") as f:
            line = [l for l in f if l.startswith("NoNewPrivs:")][0]
        if line.split()[1] != "1":
            raise OSError(errno.EPERM, "no_new_privs is not set")
    elif kind == "caps":
        # Every capability set empty, the bounding set too unless told otherwise.
        with open("/proc/self/status") as f:
            sets = {l.split(":")[0]: int(l.split()[1], 16) for l in f if l.startswith("Cap")}
        if not op["bounding"]:
            del sets["CapBnd"]
        held = [name for name, value in sets.items() if value]
        if held:
            raise OSError(errno.EPERM, "capabilities held: " + ", ".join(held))
    else:
        raise ValueError(kind)


results = []
for op in json.loads(sys.argv[1]):
    try:
        run(op)
        results.append("ok")
    except OSError as e:
        results.append(errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__)
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        results.append(type(e).__name__)
print(json.dumps(results))
