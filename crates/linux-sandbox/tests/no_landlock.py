"""Runs argv[1:] as a kernel without Landlock would: a seccomp filter (installed with
no_new_privs, inherited by everything the program starts) answers ENOSYS to the three
Landlock system calls, as some container runtimes' profiles do. Standard library only."""
import ctypes
import os
import struct
import sys

ENOSYS = 38
LANDLOCK_CALLS = (444, 445, 446)  # create_ruleset, add_rule, restrict_self: alike on every arch
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}: load the call's number, answer ENOSYS
# to each Landlock call, allow every other.
program = [(0x20, 0, 0, 0)]  # BPF_LD | BPF_W | BPF_ABS, offset of seccomp_data.nr
for i, number in enumerate(LANDLOCK_CALLS):
    program.append((0x15, len(LANDLOCK_CALLS) - i, 0, number))  # BPF_JMP | BPF_JEQ | BPF_K
program.append((0x06, 0, 0, SECCOMP_RET_ALLOW))  # BPF_RET | BPF_K
program.append((0x06, 0, 0, SECCOMP_RET_ERRNO | ENOSYS))
code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
buffer = ctypes.create_string_buffer(code)


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


libc = ctypes.CDLL(None, use_errno=True)
fprog = SockFprog(len(program), ctypes.addressof(buffer))
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit(f"no_new_privs: {os.strerror(ctypes.get_errno())}")
if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
    sys.exit(f"seccomp: {os.strerror(ctypes.get_errno())}")
os.execvp(sys.argv[1], sys.argv[1:])
