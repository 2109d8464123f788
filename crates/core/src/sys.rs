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
