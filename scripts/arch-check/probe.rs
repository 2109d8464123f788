//! The probe `scripts/verify-arch` runs inside the sandbox on another architecture's kernel:
//! one operation per run, named in argv, its outcome printed as `ok` or the errno's name. Std
//! only (plus a few libc calls std does not wrap), so it builds with a bare `rustc --target`
//! and a cross linker, without Cargo or Python on the guest.
//!
//! Operations: read|write|create|mkdir|unlink|chmod|truncate PATH, rename|link FROM TO,
//! socket inet|inet6|unix|vsock|raw|netlink, connect PORT (TCP to 127.0.0.1), ptrace,
//! io_uring, mount PATH (tmpfs over it), escape PATH (new user + mount namespaces, remount `/`
//! writable, write to PATH), nnp, caps [keep-bounding], fd N; and `as UID COMMAND...` runs
//! COMMAND as that user and group with no supplementary groups (busybox's `setpriv` cannot
//! change ids).

use std::ffi::{c_char, c_int, c_long, c_void, CString};
use std::io;
use std::os::unix::fs::PermissionsExt;

extern "C" {
    fn syscall(number: c_long, ...) -> c_long;
    fn ptrace(request: c_int, ...) -> c_long;
    fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int;
    fn close(fd: c_int) -> c_int;
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn unshare(flags: c_int) -> c_int;
    fn setgroups(size: usize, list: *const u32) -> c_int;
    fn setgid(gid: u32) -> c_int;
    fn setuid(uid: u32) -> c_int;
    fn mount(
        source: *const c_char,
        target: *const c_char,
        fstype: *const c_char,
        flags: u64,
        data: *const c_void,
    ) -> c_int;
}

/// The same number on x86_64 and aarch64 (both use the generic number for new calls).
const SYS_IO_URING_SETUP: c_long = 425;
const PTRACE_TRACEME: c_int = 0;
const CLONE_NEWUSER: c_int = 0x1000_0000;
const CLONE_NEWNS: c_int = 0x0002_0000;
const MS_REMOUNT: u64 = 32;
const MS_BIND: u64 = 4096;
const F_GETFD: c_int = 1;

fn check(result: c_long) -> io::Result<()> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn c(path: &str) -> CString {
    CString::new(path).expect("no NUL in a probe path")
}

fn status_field(name: &str) -> io::Result<String> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        .ok_or_else(|| io::Error::other(format!("no {name} in /proc/self/status")))
}

fn run(args: &[String]) -> io::Result<()> {
    let arg = |i: usize| -> &str { args.get(i).map(String::as_str).unwrap_or("") };
    match arg(0) {
        "read" => {
            if std::path::Path::new(arg(1)).is_dir() {
                std::fs::read_dir(arg(1)).map(drop)
            } else {
                std::fs::read(arg(1)).map(drop)
            }
        }
        "write" => std::fs::OpenOptions::new()
            .append(true)
            .open(arg(1))
            .map(drop),
        "create" => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(arg(1))
            .map(drop),
        "mkdir" => std::fs::create_dir(arg(1)),
        "unlink" => std::fs::remove_file(arg(1)),
        "rename" => std::fs::rename(arg(1), arg(2)),
        "link" => std::fs::hard_link(arg(1), arg(2)),
        "chmod" => {
            let mode = std::fs::metadata(arg(1))?.permissions().mode() & 0o7777;
            std::fs::set_permissions(arg(1), std::fs::Permissions::from_mode(mode))
        }
        "truncate" => {
            let len = std::fs::metadata(arg(1))?.len();
            std::fs::OpenOptions::new()
                .write(true)
                .open(arg(1))?
                .set_len(len)
        }
        "socket" => {
            let (domain, kind, protocol) = match arg(1) {
                "inet" => (2, 1, 0),
                "inet6" => (10, 1, 0),
                "unix" => (1, 1, 0),
                "vsock" => (40, 1, 0),
                "raw" => (2, 3, 1),
                "netlink" => (16, 3, 0),
                other => return Err(io::Error::other(format!("unknown family {other}"))),
            };
            // SAFETY: plain socket(2); the descriptor is closed right away.
            let fd = unsafe { socket(domain, kind, protocol) };
            check(fd.into())?;
            // SAFETY: closing the descriptor just made.
            unsafe { close(fd) };
            Ok(())
        }
        "connect" => {
            let port: u16 = arg(1).parse().map_err(io::Error::other)?;
            std::net::TcpStream::connect(("127.0.0.1", port)).map(drop)
        }
        // SAFETY: PTRACE_TRACEME takes no pointers.
        "ptrace" => check(unsafe { ptrace(PTRACE_TRACEME, 0, 0, 0) }),
        "io_uring" => {
            let mut params = [0u8; 120];
            // SAFETY: io_uring_setup(entries, params) with a zeroed params block of its size.
            check(unsafe { syscall(SYS_IO_URING_SETUP, 1 as c_long, params.as_mut_ptr()) })
        }
        "mount" => {
            let (none, target, tmpfs) = (c("none"), c(arg(1)), c("tmpfs"));
            // SAFETY: valid NUL-terminated strings; no data.
            check(
                unsafe {
                    mount(
                        none.as_ptr(),
                        target.as_ptr(),
                        tmpfs.as_ptr(),
                        0,
                        std::ptr::null(),
                    )
                }
                .into(),
            )
        }
        "escape" => {
            // SAFETY: unshare(2) with flags only.
            check(unsafe { unshare(CLONE_NEWUSER | CLONE_NEWNS) }.into())?;
            // The root mount holds PATH in every route's view: make it writable again.
            let target = c("/");
            // SAFETY: a valid path; remount flags only.
            check(
                unsafe {
                    mount(
                        std::ptr::null(),
                        target.as_ptr(),
                        std::ptr::null(),
                        MS_REMOUNT | MS_BIND,
                        std::ptr::null(),
                    )
                }
                .into(),
            )?;
            std::fs::OpenOptions::new()
                .append(true)
                .open(arg(1))
                .map(drop)
        }
        "nnp" => match status_field("NoNewPrivs:")?.as_str() {
            "1" => Ok(()),
            _ => Err(io::Error::from_raw_os_error(1)),
        },
        "caps" => {
            let keep_bounding = arg(1) == "keep-bounding";
            for set in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
                if keep_bounding && set == "CapBnd:" {
                    continue;
                }
                if u64::from_str_radix(&status_field(set)?, 16).map_err(io::Error::other)? != 0 {
                    return Err(io::Error::from_raw_os_error(1));
                }
            }
            Ok(())
        }
        "fd" => {
            let fd: c_int = arg(1).parse().map_err(io::Error::other)?;
            // SAFETY: F_GETFD only asks whether the descriptor is open.
            check(unsafe { fcntl(fd, F_GETFD) }.into())
        }
        other => Err(io::Error::other(format!("unknown operation {other}"))),
    }
}

fn errno_name(error: &io::Error) -> String {
    let names = [
        (1, "EPERM"),
        (2, "ENOENT"),
        (9, "EBADF"),
        (13, "EACCES"),
        (16, "EBUSY"),
        (17, "EEXIST"),
        (18, "EXDEV"),
        (20, "ENOTDIR"),
        (21, "EISDIR"),
        (22, "EINVAL"),
        (30, "EROFS"),
        (38, "ENOSYS"),
        (39, "ENOTEMPTY"),
        (93, "EPROTONOSUPPORT"),
        (97, "EAFNOSUPPORT"),
        (111, "ECONNREFUSED"),
    ];
    match error.raw_os_error() {
        Some(n) => names
            .iter()
            .find(|(code, _)| *code == n)
            .map_or_else(|| format!("E{n}"), |(_, name)| name.to_string()),
        None => format!("error: {error}"),
    }
}

/// `as UID COMMAND...`: drops to UID (as user and group) and becomes COMMAND.
fn run_as(args: &[String]) -> io::Error {
    use std::os::unix::process::CommandExt;
    let Some(id) = args.first().and_then(|a| a.parse::<u32>().ok()) else {
        return io::Error::other("as: no numeric id");
    };
    // SAFETY: plain id changes with no pointers except an empty group list.
    let dropped =
        unsafe { setgroups(0, std::ptr::null()) == 0 && setgid(id) == 0 && setuid(id) == 0 };
    if !dropped {
        return io::Error::last_os_error();
    }
    std::process::Command::new(&args[1]).args(&args[2..]).exec()
}

/// `waitsig COMMAND...`: runs COMMAND and prints how it ended, `signal-N` or `exit-N` (a
/// shell would print 128 + N for both).
fn wait_for(args: &[String]) -> String {
    use std::os::unix::process::ExitStatusExt;
    match std::process::Command::new(&args[0]).args(&args[1..]).status() {
        Ok(status) => match status.signal() {
            Some(signal) => format!("signal-{signal}"),
            None => format!("exit-{}", status.code().unwrap_or(-1)),
        },
        Err(e) => errno_name(&e),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("waitsig") && args.len() > 1 {
        println!("{}", wait_for(&args[1..]));
        return;
    }
    if args.first().map(String::as_str) == Some("as") && args.len() > 2 {
        let error = run_as(&args[1..]);
        eprintln!("probe as: {error}");
        std::process::exit(127);
    }
    match run(&args) {
        Ok(()) => println!("ok"),
        Err(e) => println!("{}", errno_name(&e)),
    }
}
