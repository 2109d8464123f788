//! Every `unsafe` call of this crate.
#![allow(unsafe_code)]

use std::time::Duration;

/// How long a process group gets between SIGTERM and SIGKILL (the sandbox helper uses it to
/// kill the command's own group).
pub const GRACE: Duration = Duration::from_millis(300);

fn signal_group(pgid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: killpg takes plain integers and touches no memory of ours.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// Ends process group `pgid` (a group this process created for a command): SIGTERM now,
/// SIGKILL after a short grace. A group that is already gone is fine.
pub fn kill_process_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return; // never "every process" or init's group
    }
    signal_group(pgid, libc::SIGTERM);
    std::thread::spawn(move || {
        std::thread::sleep(GRACE);
        signal_group(pgid, libc::SIGKILL);
    });
}

/// SIGKILL to process group `pgid` now.
pub fn kill_group_now(pgid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid)
        && pgid > 1
    {
        signal_group(pgid, libc::SIGKILL);
    }
}

/// Whether standard input can be read right now without waiting: data, end of file, or a
/// hung-up pipe. A pipe that is open but silent is not (nothing should block on it).
pub fn stdin_ready() -> bool {
    let mut fds = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll reads and writes only the one pollfd we own; timeout 0 never blocks.
    let ready = unsafe { libc::poll(&mut fds, 1, 0) };
    ready == 1 && fds.revents & (libc::POLLIN | libc::POLLHUP) != 0
}

/// A new pseudo-terminal: (master, slave), both close-on-exec, the window 24 rows by 80
/// columns. The slave becomes a command's standard streams; the master is how we read and
/// write them.
pub fn open_pty() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let check = |ret: libc::c_int| {
        if ret < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(ret)
        }
    };
    // SAFETY: posix_openpt returns a new descriptor (owned below) or -1.
    let master =
        check(unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) })?;
    // SAFETY: `master` is a descriptor we just opened and own from here on.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&master);
    // SAFETY: grantpt/unlockpt take the master descriptor only.
    check(unsafe { libc::grantpt(raw) })?;
    check(unsafe { libc::unlockpt(raw) })?;
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: ptsname_r writes at most `name.len()` bytes into our buffer.
    let ret = unsafe { libc::ptsname_r(raw, name.as_mut_ptr(), name.len()) };
    if ret != 0 {
        return Err(std::io::Error::from_raw_os_error(ret));
    }
    // SAFETY: ptsname_r wrote a NUL-terminated path into `name`.
    let slave = check(unsafe {
        libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: `slave` is a descriptor we just opened.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize we own.
    check(unsafe { libc::ioctl(raw, libc::TIOCSWINSZ, &size) })?;
    Ok((master, slave))
}

/// Makes the child lead a new session (so also a process group) without a controlling
/// terminal. The sandbox helper started so can become the command itself instead of waiting
/// for it, since the command then already has the session `setsid` would give it.
pub fn lead_new_session(command: &mut tokio::process::Command) {
    // SAFETY: between fork and exec the closure makes one async-signal-safe system call.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Makes the child a session leader whose controlling terminal is its standard input (a PTY
/// made for it alone), so job control and Ctrl-C written to the PTY work.
pub fn lead_session_on_stdin_tty(command: &mut tokio::process::Command) {
    // SAFETY: between fork and exec the closure makes only async-signal-safe system calls
    // (setsid, ioctl) and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Waits, without reaping it, until child `pid` has exited: its zombie keeps its process group
/// and session ids from being reused while what it left behind is killed.
pub fn wait_exited_keeping_zombie(pid: u32) {
    let pid: libc::id_t = pid;
    loop {
        // SAFETY: waitid writes only into the siginfo we own.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let result =
            unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if result == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// SIGKILL to every process of session `session` (a command that led its own session).
pub fn kill_session(session: u32) {
    let Ok(session) = libc::pid_t::try_from(session) else {
        return;
    };
    if session <= 1 {
        return;
    }
    #[cfg(target_os = "linux")]
    for pid in codex_linux_sandbox::procs::session_members(session) {
        // SAFETY: kill with integers.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Ends these process groups before returning: SIGTERM, up to [`GRACE`] for them to go, then
/// SIGKILL to what is left. (For the end of the process, where a delayed SIGKILL would never
/// come.)
pub fn end_groups_now(groups: &[u32]) {
    let groups: Vec<libc::pid_t> = groups
        .iter()
        .filter_map(|g| libc::pid_t::try_from(*g).ok())
        .filter(|g| *g > 1)
        .collect();
    for group in &groups {
        signal_group(*group, libc::SIGTERM);
    }
    // SAFETY: killpg with signal 0 only checks whether the group exists.
    let alive = |g: &libc::pid_t| unsafe { libc::killpg(*g, 0) } == 0;
    let deadline = std::time::Instant::now() + GRACE;
    while groups.iter().any(alive) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for group in groups.iter().filter(|g| alive(g)) {
        signal_group(*group, libc::SIGKILL);
    }
}

/// Makes `fd` non-blocking (the PTY master: reads and writes then wait with [`poll_fd`]).
pub fn set_nonblocking(fd: &impl std::os::fd::AsRawFd) -> std::io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Waits until `fd` is ready for `events` (POLLIN or POLLOUT), hung up, or `timeout` passes
/// (`None`: no limit). Returns whether it is ready (or hung up).
pub fn poll_fd(
    fd: &impl std::os::fd::AsRawFd,
    events: libc::c_short,
    timeout: Option<Duration>,
) -> bool {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    let millis = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as libc::c_int);
    loop {
        // SAFETY: poll reads and writes only the one pollfd we own.
        let ready = unsafe { libc::poll(&mut pfd, 1, millis) };
        if ready >= 0 {
            return ready > 0;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return true; // let the read or write report the error
        }
    }
}

/// Whether the file modes let this process (its effective ids, as `faccessat(AT_EACCESS)`)
/// read (`write` false) or write `path`; `Some(false)` only for a refusal by modes or
/// ownership (EACCES/EPERM), `None` when it cannot be told.
pub fn modes_permit(path: &std::path::Path, write: bool) -> Option<bool> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mode = if write { libc::W_OK } else { libc::R_OK };
    // SAFETY: a valid NUL-terminated path; faccessat only reads it.
    let result = unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), mode, libc::AT_EACCESS) };
    if result == 0 {
        return Some(true);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => Some(false),
        _ => None,
    }
}
