//! Every `unsafe` call of this crate.
#![allow(unsafe_code)]

/// Sends SIGKILL to process group `pgid` (a group this process created for a command). A
/// group that is already gone is fine.
pub fn kill_process_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return; // never "every process" or init's group
    }
    // SAFETY: killpg only takes integers and touches no memory of ours.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}
