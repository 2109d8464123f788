//! Every `unsafe` call of this crate: thin wrappers over Linux system calls, each returning an
//! `io::Result`. Nothing here decides anything; the callers apply plans.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// `O_PATH` descriptors on the paths of Landlock rules, made by the system call itself (musl's
/// `open` follows it with an `fcntl` for close-on-exec). A per-entry plan adds hundreds of
/// rules, one for each entry of a writable root such as `/tmp`, so each call counts: where a
/// rule's path shares its directory with the next rule's, that directory is opened once and
/// the entries are opened beneath it by name, a walk of one component instead of the whole
/// path.
/// Rule paths are resolved already, so a symlink met as a rule's last component was put in
/// place since (an entry swapped for a link between listing and opening): it is opened itself
/// (`O_NOFOLLOW`), and a rule on it grants nothing beyond it. Only the terminals'
/// `/proc/self/fd/N` links are followed, to what they lead to.
#[derive(Default)]
pub struct RulePaths {
    /// The directory of the last rules, open.
    dir: Option<(std::path::PathBuf, std::os::fd::OwnedFd)>,
}

impl RulePaths {
    /// Opens `path`; `next` is the next rule's path, if any.
    pub fn open(&mut self, path: &Path, next: Option<&Path>) -> io::Result<std::os::fd::OwnedFd> {
        if path.starts_with("/proc/self/fd") {
            return open_at(libc::AT_FDCWD, &c_path(path)?, libc::O_PATH);
        }
        let whole = || {
            open_at(
                libc::AT_FDCWD,
                &c_path(path)?,
                libc::O_PATH | libc::O_NOFOLLOW,
            )
        };
        let (Some(parent), Some(name), true) =
            (path.parent(), path.file_name(), path.is_absolute())
        else {
            return whole();
        };
        if self.dir.as_ref().is_none_or(|(dir, _)| dir != parent) {
            if next.and_then(Path::parent) != Some(parent) {
                return whole();
            }
            // The directory's own last component is an inner one of `path`, followed as a
            // walk of the whole path would.
            let fd = open_at(
                libc::AT_FDCWD,
                &c_path(parent)?,
                libc::O_PATH | libc::O_DIRECTORY,
            )?;
            self.dir = Some((parent.to_path_buf(), fd));
        }
        let (_, dir) = self.dir.as_ref().expect("the directory is open");
        open_at(
            std::os::fd::AsRawFd::as_raw_fd(dir),
            &c_path(Path::new(name))?,
            libc::O_PATH | libc::O_NOFOLLOW,
        )
    }
}

/// `openat(dir, path, flags | O_CLOEXEC)` by the system call itself.
fn open_at(
    dir: libc::c_int,
    path: &std::ffi::CStr,
    flags: libc::c_int,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: a valid NUL-terminated path; flags need no mode argument.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            dir,
            path.as_ptr(),
            flags | libc::O_CLOEXEC,
        )
    };
    let fd = check(fd as libc::c_int)?;
    // SAFETY: just opened, ours alone.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// `struct landlock_path_beneath_attr` (packed: 12 bytes).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// Adds to the Landlock ruleset `ruleset` (which handles the rights `handled`) a rule granting
/// `access` beneath what `path` (an `O_PATH` descriptor) is; on anything but a directory only
/// `access & file`. The kernel refuses directory-only rights on a file's rule with `EINVAL`
/// before it allocates anything, which tells the two apart without a `stat` for each rule; so
/// that no other `EINVAL` is taken for that one, `access` must be rights the ruleset handles.
pub fn landlock_add_path_rule(
    ruleset: std::os::fd::BorrowedFd<'_>,
    path: std::os::fd::BorrowedFd<'_>,
    [access, handled, file]: [u64; 3],
) -> io::Result<()> {
    if access & !handled != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "rights {:#x} that the ruleset does not handle",
                access & !handled
            ),
        ));
    }
    const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;
    let add = |allowed_access: u64| {
        let attr = PathBeneathAttr {
            allowed_access,
            parent_fd: std::os::fd::AsRawFd::as_raw_fd(&path),
        };
        // SAFETY: `attr` is a landlock_path_beneath_attr alive across the call.
        let result = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                std::os::fd::AsRawFd::as_raw_fd(&ruleset),
                LANDLOCK_RULE_PATH_BENEATH,
                &attr as *const PathBeneathAttr,
                0,
            )
        };
        check(result as libc::c_int).map(drop)
    };
    match add(access) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) && access & file != access => {
            add(access & file)
        }
        result => result,
    }
}

/// Enforces the Landlock ruleset `ruleset` on the calling thread (and what it executes). Needs
/// no-new-privileges set before, or `CAP_SYS_ADMIN`.
pub fn landlock_restrict_self(ruleset: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: a ruleset descriptor and no flags.
    let result = unsafe {
        libc::syscall(
            libc::SYS_landlock_restrict_self,
            std::os::fd::AsRawFd::as_raw_fd(&ruleset),
            0,
        )
    };
    check(result as libc::c_int).map(drop)
}

/// `PR_SET_NO_NEW_PRIVS`: nothing executed later can gain privileges (setuid, file caps).
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only; no memory is passed.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }).map(drop)
}

/// `PR_SET_PDEATHSIG(SIGKILL)`: the calling process dies when its parent does.
pub fn kill_with_parent() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) }).map(drop)
}

/// `setsid`: a new session without a controlling terminal (no TIOCSTI into the user's shell).
/// A process that already leads a session without a terminal (core starts the helper so) has
/// what `setsid` would give it.
pub fn new_session() -> io::Result<()> {
    // SAFETY: setsid takes no arguments.
    if unsafe { libc::setsid() } >= 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if leads_session_without_terminal() {
        return Ok(());
    }
    Err(error)
}

/// Whether this process leads a session that has no controlling terminal. Async-signal-safe
/// (getsid, getpid, open, close), so usable between fork and exec.
pub fn leads_session_without_terminal() -> bool {
    // SAFETY: getsid/getpid cannot fail for the calling process.
    if unsafe { libc::getsid(0) != libc::getpid() } {
        return false;
    }
    // /dev/tty opens only with a controlling terminal; ENXIO says there is none. Any other
    // failure (no /dev/tty in a container) proves nothing, so counts as having one.
    // SAFETY: open with a static NUL-terminated path; the descriptor is closed at once.
    let fd = unsafe {
        libc::open(
            c"/dev/tty".as_ptr(),
            libc::O_RDONLY | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd >= 0 {
        // SAFETY: closing the descriptor just opened.
        unsafe { libc::close(fd) };
        return false;
    }
    io::Error::last_os_error().raw_os_error() == Some(libc::ENXIO)
}

/// Makes standard input, a terminal, the controlling terminal of this process's new session
/// (after [`new_session`]). Only for a terminal made for this command alone (core's PTY
/// sessions): the command may then inject input into it, which reaches nobody else.
pub fn claim_terminal() -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument and touches no memory of ours.
    check(unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) }).map(drop)
}

/// Closes every descriptor from 3 up, except `keep`.
pub fn close_descriptors_above_stderr(keep: &[i32]) -> io::Result<()> {
    let mut keep: Vec<libc::c_uint> = keep.iter().map(|fd| *fd as libc::c_uint).collect();
    keep.sort_unstable();
    close_all_but(3, &keep)
}

/// Closes every descriptor from `first` up but those in `keep` (sorted); allocates nothing,
/// so a process sharing another's memory may call it.
pub fn close_all_but(first: libc::c_uint, keep: &[libc::c_uint]) -> io::Result<()> {
    let mut start = first;
    for &fd in keep.iter().filter(|fd| **fd >= first) {
        if fd > start {
            close_range(start, fd - 1)?;
        }
        start = fd + 1;
    }
    close_range(start, libc::c_uint::MAX)
}

fn close_range(first: libc::c_uint, last: libc::c_uint) -> io::Result<()> {
    // SAFETY: close_range only closes descriptors of this process (its own table, even when
    // it shares memory); the callers run right before exec, or are the mount points'
    // janitor, where nothing else uses them.
    let result = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
    if result == 0 {
        return Ok(());
    }
    // Kernels before 5.9: close one by one.
    for fd in first..=last.min(65_535) {
        // SAFETY: as above; EBADF for unused numbers is ignored.
        unsafe { libc::close(fd as libc::c_int) };
    }
    Ok(())
}

/// `dup2(from, to)`.
pub fn move_descriptor(from: i32, to: i32) -> io::Result<()> {
    if from == to {
        return Ok(());
    }
    // SAFETY: dup2 on descriptors owned by this process.
    check(unsafe { libc::dup2(from, to) }).map(drop)
}

/// An anonymous, empty, in-memory file (for masking a denied file with `--ro-bind-data`).
pub fn empty_memfd() -> io::Result<i32> {
    let name = CString::new("codex-empty").expect("no NUL");
    // SAFETY: a valid NUL-terminated name; flags are constants.
    check(unsafe { libc::memfd_create(name.as_ptr(), 0) })
}

/// A sealed in-memory copy of `program` that can be executed through `/proc/self/fd/N` (it is
/// inherited: no close-on-exec). `None` when the host forbids executable memfds
/// (`vm.memfd_noexec = 2`) or cannot make one; the caller then runs another program.
pub fn executable_memfd(name: &str, program: &[u8]) -> Option<std::os::fd::OwnedFd> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    const MFD_EXEC: libc::c_uint = 0x10;
    let name = CString::new(name).ok()?;
    // SAFETY: a valid NUL-terminated name; flags are constants.
    let create = |flags| unsafe { libc::memfd_create(name.as_ptr(), flags) };
    let mut fd = create(libc::MFD_ALLOW_SEALING | MFD_EXEC);
    if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // Before Linux 6.3 there is no MFD_EXEC, and every memfd may be executed.
        fd = create(libc::MFD_ALLOW_SEALING);
    }
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just created and is owned by nobody else.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(fd);
    file.write_all(program).ok()?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl with integer arguments on a descriptor we own.
    check(unsafe {
        libc::fcntl(
            std::os::fd::AsRawFd::as_raw_fd(&file),
            libc::F_ADD_SEALS,
            seals,
        )
    })
    .ok()?;
    Some(file.into())
}

/// Runs the inner stage ([`crate::stage::run`]) with `args` (`args[0]` in the program's
/// place) and this process's environment. Returns only on failure, with the exit code.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn run_stage(args: &[std::ffi::OsString]) -> i32 {
    unsafe extern "C" {
        static environ: *const *const u8;
    }
    let Ok(args) = args
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
    else {
        eprintln!("codex-linux-sandbox: an argument contains a NUL byte");
        return crate::EXIT_SANDBOX_ERROR;
    };
    let mut pointers: Vec<*const u8> = args.iter().map(|a| a.as_ptr().cast()).collect();
    pointers.push(std::ptr::null());
    let count = pointers.len() - 1;
    // SAFETY: every pointer is a NUL-terminated string owned by `args`, which outlives the
    // call (on success the process is replaced); the array ends with NULL past `count`;
    // `environ` is libc's NULL-terminated environment.
    unsafe { crate::stage::run(&mut pointers[..count], environ) }
}

/// Installs a classic BPF seccomp filter on the calling thread (`PR_SET_SECCOMP`).
pub fn install_seccomp_filter(program: &[libc::sock_filter]) -> io::Result<()> {
    let len = u16::try_from(program.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seccomp filter too long"))?;
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `len` valid instructions for the duration of the call; the
    // kernel copies the filter.
    check(unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
        )
    })
    .map(drop)
}

/// A pipe, both ends closed on exec: (read end, write end).
pub fn pipe() -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    pipe_with(libc::O_CLOEXEC)
}

/// A pidfd naming this process (whatever it execs later): kernels 5.3 and newer.
pub fn pidfd_of_self() -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open with integers; the descriptor (close-on-exec) is ours on success.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just made, ours alone.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Makes this process (and whatever it execs) the owner of `fd` (`F_SETOWN`): the process
/// the kernel signals when input arrives on it with `O_ASYNC` set (see `stage::init`).
pub fn own(fd: impl std::os::fd::AsFd) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl with integers on a descriptor that is open while borrowed.
    check(unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_SETOWN, libc::getpid()) }).map(drop)
}

/// This process's soft core-size limit.
pub fn core_limit() -> io::Result<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    check(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) })?;
    Ok(limit.rlim_cur)
}

/// Lowers this process's soft core-size limit to 0 (the hard limit stays, so the inner stage
/// can raise the command's back).
pub fn no_core() -> io::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit on a struct we own.
    unsafe {
        check(libc::getrlimit(libc::RLIMIT_CORE, &mut limit))?;
        limit.rlim_cur = 0;
        check(libc::setrlimit(libc::RLIMIT_CORE, &limit)).map(drop)
    }
}

/// [`pipe`] whose reads and writes never block.
pub fn pipe_nonblocking() -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    pipe_with(libc::O_CLOEXEC | libc::O_NONBLOCK)
}

fn pipe_with(flags: libc::c_int) -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two integers we own.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), flags) })?;
    // SAFETY: just made, ours alone.
    Ok(unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    })
}

/// A close-on-exec duplicate of `fd` numbered `min` or above (out of the way of descriptors
/// about to be placed below it).
pub fn dup_above(fd: impl std::os::fd::AsFd, min: i32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: fcntl on a descriptor that is open while borrowed; the new one is ours alone.
    let new = check(unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) })?;
    // SAFETY: just made.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(new) })
}

/// Writes `text` to descriptor `fd` as far as it goes (a report on the way out: a failure to
/// deliver it has nowhere to go).
pub fn write_best_effort(fd: i32, text: &str) {
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        // SAFETY: writing from a buffer we own.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// `unshare(flags)`.
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes flags only.
    check(unsafe { libc::unshare(flags) }).map(drop)
}

/// Maps the current uid and gid to themselves inside a new user namespace.
pub fn map_ids_to_themselves(uid: u32, gid: u32) -> io::Result<()> {
    std::fs::write("/proc/self/setgroups", "deny")?;
    std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))?;
    std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))
}

/// Whether this process leads its process group (then `setsid` would fail in it).
pub fn is_process_group_leader() -> bool {
    // SAFETY: getpid/getpgrp cannot fail.
    unsafe { libc::getpgrp() == libc::getpid() }
}

/// The real uid and gid.
pub fn ids() -> (u32, u32) {
    // SAFETY: getuid/getgid cannot fail.
    unsafe { (libc::getuid(), libc::getgid()) }
}

fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
) -> io::Result<()> {
    let source = source.map(c_path).transpose()?;
    let target = c_path(target)?;
    let fstype = fstype.map(|t| CString::new(t).expect("no NUL"));
    // SAFETY: every pointer is a valid NUL-terminated string or null; no data argument.
    check(unsafe {
        libc::mount(
            source.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            target.as_ptr(),
            fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            std::ptr::null(),
        )
    })
    .map(drop)
}

/// Makes every mount of this (new) namespace private, so nothing propagates to the host.
pub fn make_mounts_private() -> io::Result<()> {
    mount(None, Path::new("/"), None, libc::MS_REC | libc::MS_PRIVATE)
}

/// Bind-mounts `path` onto itself and remounts it read-only.
pub fn bind_read_only(path: &Path) -> io::Result<()> {
    mount(Some(path), path, None, libc::MS_BIND | libc::MS_REC)?;
    mount(
        None,
        path,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
    )
}

/// An `O_PATH` descriptor on `path` (symlinks followed, as `mount` follows them): what it
/// names stays as it was resolved now, whatever is mounted over the path later.
pub fn open_path(path: &Path) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let path = c_path(path)?;
    // SAFETY: a valid NUL-terminated path; the descriptor is owned on success.
    let fd = check(unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) })?;
    // SAFETY: just opened, ours alone.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Bind-mounts what `source` names (an [`open_path`] descriptor taken while the tree was
/// read-only) onto `path`, read-only: a bind copies its source mount's flags, so this takes
/// one mount call where [`bind_read_only`] takes two. Checked with `statvfs` all the same;
/// where the result is not read-only, or the descriptor cannot be reached through
/// `/proc/self/fd`, it falls back to [`bind_read_only`].
pub fn bind_read_only_from(source: &std::os::fd::OwnedFd, path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let via = format!("/proc/self/fd/{}", source.as_raw_fd());
    if mount(
        Some(Path::new(&via)),
        path,
        None,
        libc::MS_BIND | libc::MS_REC,
    )
    .is_err()
    {
        return bind_read_only(path);
    }
    let target = c_path(path)?;
    // SAFETY: statvfs writes into a buffer we own.
    let read_only = unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        libc::statvfs(target.as_ptr(), &mut stat) == 0 && stat.f_flag & libc::ST_RDONLY != 0
    };
    if read_only {
        return Ok(());
    }
    mount(
        None,
        path,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
    )
}

/// `mount_setattr(2)` attributes.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// Makes the mount at `path` read-only (that mount only, not those below it).
pub fn set_mount_read_only(path: &Path) -> io::Result<()> {
    mount_setattr(path, true, false)
}

/// Makes every mount at and below `path` read-only (or writable again).
pub fn set_tree_read_only(path: &Path, read_only: bool) -> io::Result<()> {
    mount_setattr(path, read_only, true)
}

fn mount_setattr(path: &Path, read_only: bool, recursive: bool) -> io::Result<()> {
    let target = c_path(path)?;
    let attr = MountAttr {
        attr_set: if read_only { MOUNT_ATTR_RDONLY } else { 0 },
        attr_clr: if read_only { 0 } else { MOUNT_ATTR_RDONLY },
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: a valid path string and a mount_attr of the size passed.
    let result = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            target.as_ptr(),
            if recursive {
                libc::AT_RECURSIVE as libc::c_uint
            } else {
                0
            },
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Bind-mounts the tree at `source` onto `dest`.
pub fn bind_onto(source: &Path, dest: &Path) -> io::Result<()> {
    mount(Some(source), dest, None, libc::MS_BIND | libc::MS_REC)
}

/// A detached copy of the mount tree at `path` (`open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)`),
/// every mount keeping the flags it has now: taken before the tree is made read-only, it
/// brings writable roots back as they were, mounts the host made read-only included.
pub fn clone_tree(path: &Path) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let target = c_path(path)?;
    // SAFETY: a valid NUL-terminated path; the descriptor is owned on success.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            target.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_RECURSIVE as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just opened, ours alone.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Mounts a [`clone_tree`] copy at `path`.
pub fn attach_tree(tree: &std::os::fd::OwnedFd, path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
    let target = c_path(path)?;
    // SAFETY: a valid descriptor, an empty and a NUL-terminated path.
    let result = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Mounts an empty tmpfs at `target` whose root has mode `mode`.
pub fn mount_tmpfs(target: &Path, mode: u32) -> io::Result<()> {
    let target_c = c_path(target)?;
    let data = CString::new(format!("mode={mode:o}")).expect("no NUL");
    let fstype = CString::new("tmpfs").expect("no NUL");
    // SAFETY: valid NUL-terminated strings; data is the tmpfs option string.
    check(unsafe {
        libc::mount(
            fstype.as_ptr(),
            target_c.as_ptr(),
            fstype.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            data.as_ptr().cast(),
        )
    })
    .map(drop)
}

/// Mounts a new procfs at `target` (the caller must be in the pid namespace it should show).
pub fn mount_proc(target: &Path) -> io::Result<()> {
    mount(
        Some(Path::new("proc")),
        target,
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
    )
}

/// Mounts a private devpts instance at `target`.
pub fn mount_devpts(target: &Path) -> io::Result<()> {
    let target_c = c_path(target)?;
    let fstype = CString::new("devpts").expect("no NUL");
    let data = CString::new("newinstance,ptmxmode=0666,mode=620").expect("no NUL");
    // SAFETY: valid NUL-terminated strings; data is the devpts option string.
    check(unsafe {
        libc::mount(
            fstype.as_ptr(),
            target_c.as_ptr(),
            fstype.as_ptr(),
            libc::MS_NOSUID | libc::MS_NOEXEC,
            data.as_ptr().cast(),
        )
    })
    .map(drop)
}

/// `pivot_root(new_root, put_old)`.
pub fn pivot_root(new_root: &Path, put_old: &Path) -> io::Result<()> {
    let new_root = c_path(new_root)?;
    let put_old = c_path(put_old)?;
    // SAFETY: valid NUL-terminated paths.
    let result =
        unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Lazily detaches the mount at `path`.
pub fn detach_mount(path: &Path) -> io::Result<()> {
    let target = c_path(path)?;
    // SAFETY: a valid NUL-terminated path.
    check(unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) }).map(drop)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// This process's capability sets (`capget`), low and high 32 bits.
fn capabilities() -> io::Result<[CapData; 2]> {
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: header and data are the layouts capget(2) documents for version 3.
    let result = unsafe { libc::syscall(libc::SYS_capget, &header, data.as_mut_ptr()) };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(data)
}

/// Whether this process holds CAP_SYS_ADMIN (what a mount namespace of its own takes, as root).
pub fn has_cap_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    capabilities().is_ok_and(|data| data[0].effective & (1 << CAP_SYS_ADMIN) != 0)
}

/// Drops every capability: the bounding set (so exec cannot regain any, even as root), the
/// ambient set, and the effective, permitted and inheritable sets.
pub fn drop_all_capabilities() -> io::Result<()> {
    const CAP_SETPCAP: u32 = 8;
    let data = capabilities()?;
    // Only with CAP_SETPCAP can the bounding set shrink; without it (an unprivileged user, or
    // inside bubblewrap after --cap-drop ALL) it is already as small as it can get for us.
    if data[0].effective & (1 << CAP_SETPCAP) != 0 {
        // SAFETY: prctl with integer arguments; EINVAL past the last capability ends the loop.
        for cap in 0..64 {
            if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } < 0 {
                break;
            }
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: header and data are the layouts capset(2) documents for version 3.
    let result = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The Landlock ABI version the kernel offers (0 when Landlock is unavailable).
pub fn landlock_abi() -> u8 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: the documented version query: null attr, size 0.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if version < 0 { 0 } else { version as u8 }
}

/// Whether this process may create a mount namespace (as root), or a user and mount
/// namespace (otherwise), and use it: map its ids into it and change its mounts. Tried in a
/// short-lived child so this process stays as it is. Creating the namespace is not enough:
/// under Ubuntu's AppArmor restriction (`kernel.apparmor_restrict_unprivileged_userns`)
/// `unshare` succeeds and what follows is refused.
pub fn can_create_mount_namespace() -> bool {
    let (uid, gid) = ids();
    let flags = if uid == 0 {
        libc::CLONE_NEWNS
    } else {
        libc::CLONE_NEWUSER | libc::CLONE_NEWNS
    };
    // Everything the child needs is made before the fork: it may only make system calls.
    let maps: Vec<(CString, CString)> = if uid == 0 {
        Vec::new()
    } else {
        [
            ("/proc/self/setgroups", "deny".to_string()),
            ("/proc/self/uid_map", format!("{uid} {uid} 1\n")),
            ("/proc/self/gid_map", format!("{gid} {gid} 1\n")),
        ]
        .into_iter()
        .map(|(file, text)| {
            (
                CString::new(file).expect("no NUL"),
                CString::new(text).expect("no NUL"),
            )
        })
        .collect()
    };
    let root = c"/";
    // SAFETY: the child only makes async-signal-safe system calls on data made before the
    // fork, then `_exit`s; the parent waits for it.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let mut ok = libc::unshare(flags) == 0;
            for (file, text) in &maps {
                if !ok {
                    break;
                }
                let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                let len = text.as_bytes().len();
                ok = fd >= 0 && libc::write(fd, text.as_ptr().cast(), len) == len as isize;
                if fd >= 0 {
                    libc::close(fd);
                }
            }
            ok = ok
                && libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) == 0;
            libc::_exit(if ok { 0 } else { 1 });
        }
        if pid < 0 {
            return false;
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
    }
}

/// Whether Ubuntu's AppArmor restriction of unprivileged user namespaces is on: then making
/// one succeeds but using it may not, which only [`can_create_mount_namespace`] can tell.
pub fn user_namespaces_restricted_by_apparmor() -> bool {
    std::fs::read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
        .is_ok_and(|value| value.first() == Some(&b'1'))
}

/// Runs `setup` in the child between fork and exec.
pub fn before_exec<F>(command: &mut Command, setup: F)
where
    F: FnMut() -> io::Result<()> + Send + Sync + 'static,
{
    // SAFETY: the helper is single-threaded when it spawns, so the child may allocate; `setup`
    // only makes system calls that affect the child.
    unsafe {
        command.pre_exec(setup);
    }
}

/// Stack for the child of [`spawn_sharing_memory`]: the set-up runs ordinary Rust code (the
/// per-entry Landlock plan lists directories), so as much as a thread gets; untouched pages
/// cost nothing.
const SHARED_CHILD_STACK: usize = 1 << 20;

/// What the child of [`spawn_sharing_memory`] reads, and writes back when it fails.
struct SharedSpawn<'a> {
    setup: &'a mut dyn FnMut() -> io::Result<()>,
    program: &'a std::ffi::CStr,
    /// NULL-terminated.
    argv: &'a [*const libc::c_char],
    cwd: &'a std::ffi::CStr,
    error: Option<io::Error>,
}

extern "C" fn shared_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `SharedSpawn` of the parent, which is suspended (CLONE_VFORK) and
    // keeps it alive until this process has exec'd or exited.
    let shared = unsafe { &mut *arg.cast::<SharedSpawn>() };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> io::Error {
        // SAFETY: chdir with a NUL-terminated path.
        if unsafe { libc::chdir(shared.cwd.as_ptr()) } != 0 {
            return io::Error::last_os_error();
        }
        if let Err(error) = (shared.setup)() {
            return error;
        }
        // As `Command` leaves it: SIGPIPE back to its default (Rust ignores it) and nothing
        // blocked (the parent blocked everything around the clone).
        // SAFETY: resetting a disposition and our own mask; execvp with NUL-terminated
        // strings and a NULL-terminated array that outlive the call.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            libc::execvp(shared.program.as_ptr(), shared.argv.as_ptr());
        }
        io::Error::last_os_error()
    }));
    shared.error =
        Some(outcome.unwrap_or_else(|_| io::Error::other("the sandbox set-up panicked")));
    // SAFETY: ending this process without running anything of the parent's (no atexit).
    unsafe { libc::_exit(127) }
}

/// Starts `program` (searched in PATH, as `execvp` does) with `args` in `cwd`, after `setup`
/// has run in the new process, and returns its pid; an error of `setup` or of the exec is
/// returned whole (with its message), and nothing is left running.
///
/// `Command::spawn` with a `pre_exec` closure forks: it copies this process's page tables,
/// and both processes then fault in again every page they touch. Here the child shares our
/// memory until it execs (`clone(CLONE_VM | CLONE_VFORK)`, what `posix_spawn` does), which
/// on this VM makes a supervised start about 0.3 ms cheaper. The calling thread is suspended
/// meanwhile and `setup` runs as if on it (the same thread-locals and allocator caches), on a
/// stack of its own, with every signal blocked until the exec: no handler of ours can run in
/// the child. Only the child's own state may change (its namespaces, credentials, working
/// directory, descriptors); what it allocates stays allocated in our heap.
pub fn spawn_sharing_memory(
    program: &std::ffi::OsStr,
    args: &[std::ffi::OsString],
    cwd: &Path,
    setup: &mut dyn FnMut() -> io::Result<()>,
) -> io::Result<libc::pid_t> {
    let nul = |_| io::Error::new(io::ErrorKind::InvalidInput, "argument contains a NUL byte");
    let program_c = CString::new(program.as_bytes()).map_err(nul)?;
    let args_c: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(nul)?;
    let mut argv: Vec<*const libc::c_char> = std::iter::once(program_c.as_ptr())
        .chain(args_c.iter().map(|a| a.as_ptr()))
        .collect();
    argv.push(std::ptr::null());
    let cwd_c = c_path(cwd)?;
    let mut shared = SharedSpawn {
        setup,
        program: &program_c,
        argv: &argv,
        cwd: &cwd_c,
        error: None,
    };
    let stack = child_stack(SHARED_CHILD_STACK)?;
    // SAFETY: the child runs `shared_child` with a pointer to `shared`, which lives on our
    // stack until clone returns — after the child has exec'd or exited (CLONE_VFORK), so the
    // stack can go too.
    let pid = unsafe {
        let pid = clone_on(
            stack,
            SHARED_CHILD_STACK,
            shared_child,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut shared as *mut SharedSpawn).cast(),
        );
        libc::munmap(stack, SHARED_CHILD_STACK);
        pid?
    };
    if let Some(error) = shared.error.take() {
        let _ = reap(pid);
        return Err(error);
    }
    Ok(pid)
}

/// A stack of `size` bytes for a child started with [`clone_on`]: a private anonymous
/// mapping whose lowest page is a guard, so an overflow faults instead of writing into
/// whatever lies below.
pub fn child_stack(size: usize) -> io::Result<*mut libc::c_void> {
    // SAFETY: a new private anonymous mapping, then a guard on its own lowest page.
    unsafe {
        let stack = libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if stack == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        libc::mprotect(stack, 4096, libc::PROT_NONE);
        Ok(stack)
    }
}

/// `clone(entry, top of stack, flags, arg)` with every signal blocked across it, so the child
/// starts with all of them blocked and none of our handlers can run in it before it sets its
/// own mask (or ever, if it keeps them blocked); ours is restored after.
///
/// # Safety
/// `stack` is a [`child_stack`] of `size` bytes that outlives the child's use of it, and
/// `entry` may only touch what `arg` and `flags` make safe for it (with `CLONE_VM`, memory it
/// shares with us while we run on).
pub unsafe fn clone_on(
    stack: *mut libc::c_void,
    size: usize,
    entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    flags: libc::c_int,
    arg: *mut libc::c_void,
) -> io::Result<libc::pid_t> {
    // SAFETY: signal masks are ours; the stack's top is 16-byte aligned, as pages are; the
    // rest is the caller's contract.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(entry, stack.cast::<u8>().add(size).cast(), flags, arg);
        let error = (pid == -1).then(io::Error::last_os_error);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        error.map_or(Ok(pid), Err)
    }
}

/// Where [`init_of_command`] leaves the signal that ended the command, for
/// [`fork_and_mirror_child`] to die of: a page shared by the two processes (null: none).
static DEATH_SIGNAL: std::sync::atomic::AtomicPtr<std::sync::atomic::AtomicI32> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

/// Forks; returns in the child. The parent waits for the child and then exits the way the
/// child did (the same code, or the same signal), never returning. Used between unshare of a
/// pid namespace and exec, so the child is pid 1 of the new namespace; when that child is
/// [`init_of_command`], the parent ends the way the command did.
pub fn fork_and_mirror_child() -> io::Result<()> {
    // SAFETY: a new shared anonymous page, kept for the life of both processes.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let death_signal = page.cast::<std::sync::atomic::AtomicI32>();
    DEATH_SIGNAL.store(death_signal, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: called in a single-threaded child between fork and exec; the parent branch only
    // waits and exits.
    let pid = check(unsafe { libc::fork() })?;
    if pid == 0 {
        exit_on_crash();
        return Ok(());
    }
    // The parent needs no descriptor but the standard ones. Closing the rest also closes its
    // copy of the pipe on which whoever spawned this process learns of the exec (std's
    // `spawn` waits for its end): once the child has started the command, the spawner gets
    // the pid and can forward signals to it.
    let _ = close_range(3, libc::c_uint::MAX);
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let result = unsafe { libc::waitpid(pid, &mut status, 0) };
        if result == pid {
            break;
        }
        if result == -1 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            // SAFETY: exiting without running destructors, as after fork.
            unsafe { libc::_exit(125) };
        }
    }
    // SAFETY: the page mapped above, zero unless the child's init wrote a signal into it.
    let command_signal = unsafe { (*death_signal).load(std::sync::atomic::Ordering::SeqCst) };
    if libc::WIFSIGNALED(status) || command_signal > 0 {
        let signal = if command_signal > 0 {
            command_signal
        } else {
            libc::WTERMSIG(status)
        };
        // SAFETY: no core of this process (the crash was the command's), then restore the
        // default action and re-raise, so our parent sees the same death.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            libc::signal(signal, libc::SIG_DFL);
            libc::kill(libc::getpid(), signal);
        }
    }
    // SAFETY: as above.
    unsafe { libc::_exit(libc::WEXITSTATUS(status)) }
}

/// Starts `program` with `args` (the command's process) from pid 1 of a new pid namespace
/// (this process, made by [`fork_and_mirror_child`]), and stays as its init; returns only an
/// error of the start. The init of a pid namespace ignores every signal it has no handler
/// for, even one it sends itself, so the command must not be it: SIGTERM or Ctrl-C would not
/// end it. This process holds no descriptor once the command runs: it reaps whatever is
/// orphaned in the namespace and, when the command ends, exits with its code, or leaves the
/// signal that killed it for the process above to die of (init's own death by that signal
/// cannot be had). Its exit ends the namespace, and everything left in it, as the command's
/// end did before. The command's process shares our memory until it execs
/// ([`spawn_sharing_memory`]): a fork's copied page tables cost about 0.3 ms more here.
pub fn init_of_command(program: &std::ffi::OsStr, args: &[std::ffi::OsString]) -> ! {
    let command = match spawn_sharing_memory(program, args, Path::new("."), &mut || Ok(())) {
        Ok(command) => command,
        Err(error) => {
            // Nothing to return to: the descriptor our spawner waits on for an error is closed.
            let message = format!(
                "codex-linux-sandbox: could not start {}: {error}\n",
                program.to_string_lossy()
            );
            // SAFETY: writing a buffer we own to stderr, then exiting without destructors.
            unsafe {
                libc::write(2, message.as_ptr().cast(), message.len());
                libc::_exit(crate::EXIT_SANDBOX_ERROR)
            }
        }
    };
    let _ = close_range(0, libc::c_uint::MAX);
    loop {
        let mut status = 0;
        // SAFETY: reaping our children into an integer we own.
        let reaped = unsafe { libc::waitpid(-1, &mut status, 0) };
        if reaped == command {
            let code = if libc::WIFSIGNALED(status) {
                let signal = libc::WTERMSIG(status);
                let page = DEATH_SIGNAL.load(std::sync::atomic::Ordering::SeqCst);
                if !page.is_null() {
                    // SAFETY: the shared page fork_and_mirror_child mapped before our fork.
                    unsafe { (*page).store(signal, std::sync::atomic::Ordering::SeqCst) };
                }
                128 + signal
            } else {
                libc::WEXITSTATUS(status)
            };
            // SAFETY: exiting without running destructors, as after fork.
            unsafe { libc::_exit(code) };
        }
        if reaped == -1 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            // SAFETY: as above.
            unsafe { libc::_exit(125) };
        }
    }
}

/// Makes a crash of this process (a fault, or an abort) end it with exit code 128 + the
/// signal, which [`fork_and_mirror_child`] passes on. Pid 1 of a pid namespace ignores the
/// signals it has no handler for: once, a Rust runtime abort in it was seen (under strace)
/// to be followed by faults repeating without end, the run hanging.
fn exit_on_crash() {
    extern "C" fn crashed(signal: libc::c_int) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + signal) }
    }
    for signal in [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGABRT,
    ] {
        // SAFETY: installing a handler that only calls _exit.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = crashed as *const () as libc::sighandler_t;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Kills this process with `signal` (default action), so a parent sees the same death.
pub fn die_by_signal(signal: i32) -> ! {
    if dumps_core(signal) {
        // Dumping core (whatever the core size limit) ends every process sharing this one's
        // memory on kernels before 5.16, the mount points' janitor included: let it finish
        // first. By now it is our only child (the command and what it left were reaped).
        while {
            // SAFETY: reaping our own children, statuses discarded.
            let reaped = unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) };
            reaped > 0 || io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        } {}
    }
    // SAFETY: no core of this process (the command's crash is not ours, and a core of it
    // would land outside the sandbox, in the working directory); then resetting a handler
    // and sending a signal to ourselves.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::signal(signal, libc::SIG_DFL);
        libc::kill(libc::getpid(), signal);
    }
    std::process::exit(128 + signal)
}

/// Whether the default action of `signal` dumps core (signal(7)).
fn dumps_core(signal: i32) -> bool {
    matches!(
        signal,
        libc::SIGQUIT
            | libc::SIGILL
            | libc::SIGTRAP
            | libc::SIGABRT
            | libc::SIGBUS
            | libc::SIGFPE
            | libc::SIGSEGV
            | libc::SIGXCPU
            | libc::SIGXFSZ
            | libc::SIGSYS
    )
}

/// Whether `signal` is ignored here (its disposition is `SIG_IGN`).
fn is_ignored(signal: libc::c_int) -> bool {
    // SAFETY: a query (no new action) into a zeroed struct of ours.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// The process group of the command being supervised (0: none yet).
static SUPERVISED_GROUP: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn kill_supervised_group(_signal: libc::c_int) {
    let group = SUPERVISED_GROUP.load(std::sync::atomic::Ordering::SeqCst);
    if group > 1 {
        // SAFETY: killpg is async-signal-safe and takes integers only.
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
    }
}

/// From now on SIGTERM, SIGINT and SIGHUP kill process group `group` (the command, which
/// started its own session) instead of this process: whoever stops the helper stops
/// everything the command started, and the helper still cleans up (removes the mount points
/// it created) and then ends the way the command did.
/// SIGINT or SIGHUP this process was started ignoring (as `nohup` starts its command ignoring
/// SIGHUP, and a shell its background jobs ignoring SIGINT) stays ignored: the command
/// inherited it so, and stopping it that way is what the caller asked to be spared. SIGTERM is
/// always passed on: it is how core and timeouts stop a command, and one ignored from the start
/// is more likely an accident than a wish (the helper's SIGKILL that follows would leave what
/// the command started in groups of its own running).
pub fn forward_termination_to_group(group: libc::pid_t) {
    SUPERVISED_GROUP.store(group, std::sync::atomic::Ordering::SeqCst);
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        if signal != libc::SIGTERM && is_ignored(signal) {
            continue;
        }
        // SAFETY: installing a handler that only makes async-signal-safe calls.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = kill_supervised_group as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// SIGKILL to every process of session `session`.
pub fn kill_session(session: libc::pid_t) {
    for pid in crate::procs::session_members(session) {
        // SAFETY: kill with integers.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Makes this process the reaper of its orphaned descendants: whatever the command leaves
/// behind, even in a session of its own (a daemon), becomes our child when its parent dies, so
/// [`wait_then_kill_group`] can find and kill it without scanning /proc. Kept across exec, so
/// only for a helper that stays to wait.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(drop)
}

/// This process's children (unreaped ones included), from /proc/self/task/*/children; `None`
/// when the kernel does not offer those files (CONFIG_PROC_CHILDREN).
fn own_children() -> Option<Vec<libc::pid_t>> {
    let mut children = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).ok()?;
        children.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse::<libc::pid_t>().ok()),
        );
    }
    Some(children)
}

/// Waits until child `pid` has ended without reaping it, kills what is left of its process
/// group (the zombie keeps the id from being reused meanwhile) and everything else it left
/// running, then reaps it. With [`become_subreaper`] in force, whatever the command left
/// running is our child (or a descendant of one) by the time it has ended, so with no child
/// left once it is reaped there is nothing to look for; otherwise what is left is found among
/// our own children (ids that cannot be reused before we reap them). Without it, by the
/// child's session, read from /proc.
pub fn wait_then_kill_group(
    pid: libc::pid_t,
    subreaper: bool,
) -> io::Result<std::process::ExitStatus> {
    loop {
        // SAFETY: waitid writes into the siginfo we own.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if result == 0 {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    // SAFETY: killpg with integers; the group is the child's own (it called setsid).
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
    if subreaper {
        let status = reap(pid)?;
        if has_children() {
            match own_children() {
                Some(children) => kill_orphans(pid, children),
                // The session's id is not reusable while any process of the session lives.
                None => kill_session(pid),
            }
        }
        return Ok(status);
    }
    // Jobs a shell started with job control live in groups of their own, in the child's
    // session (its id is the child's pid, not reusable while the child is a zombie).
    kill_session(pid);
    reap(pid)
}

/// Whether this process has any child, reaping those that have already ended.
fn has_children() -> bool {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into an integer we own.
        match unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } {
            0 => return true,
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            -1 => return false,
            _ => {} // an orphan that had ended, now reaped: look again
        }
    }
}

/// SIGKILLs and reaps every child but `keep`, round after round: the children of each one
/// killed become ours before it can be reaped, so the next round finds them. `children` is
/// the first round's list, already read.
fn kill_orphans(keep: libc::pid_t, children: Vec<libc::pid_t>) {
    let mut children = Some(children);
    loop {
        let others: Vec<libc::pid_t> = children
            .take()
            .or_else(own_children)
            .unwrap_or_default()
            .into_iter()
            .filter(|&child| child != keep)
            .collect();
        if others.is_empty() {
            return;
        }
        for &child in &others {
            // SAFETY: kill with integers; an unreaped child's id cannot be reused.
            unsafe {
                libc::kill(child, libc::SIGKILL);
            }
        }
        for child in others {
            let _ = reap(child);
        }
    }
}

/// Waits for child `pid` and returns how it ended.
fn reap(pid: libc::pid_t) -> io::Result<std::process::ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    let mut status = 0;
    loop {
        // SAFETY: reaping our own child.
        let result = unsafe { libc::waitpid(pid, &mut status, 0) };
        if result == pid {
            return Ok(std::process::ExitStatus::from_raw(status));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn no_new_privs() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .any(|l| l.split_whitespace().eq(["NoNewPrivs:", "1"]))
    }

    /// Pid 1 of a pid namespace that aborts ends with exit code 128 + SIGABRT (and so does not
    /// depend on how the kernel treats signals to an init without handlers).
    #[test]
    fn pid_one_ends_when_it_crashes() {
        let (uid, _) = ids();
        // A child in a new pid namespace (and user namespace, unless root), which forks pid 1.
        // SAFETY: the children only make system calls and exit; the test waits.
        let outer = unsafe { libc::fork() };
        if outer == 0 {
            let flags = if uid == 0 {
                libc::CLONE_NEWPID
            } else {
                libc::CLONE_NEWUSER | libc::CLONE_NEWPID
            };
            unsafe {
                if libc::unshare(flags) != 0 {
                    libc::_exit(77);
                }
                let init = libc::fork();
                if init == 0 {
                    exit_on_crash();
                    libc::abort();
                }
                let mut status = 0;
                libc::waitpid(init, &mut status, 0);
                libc::_exit(if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    1
                });
            }
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut status = 0;
        loop {
            // SAFETY: polling our own child.
            let reaped = unsafe { libc::waitpid(outer, &mut status, libc::WNOHANG) };
            if reaped == outer {
                break;
            }
            if std::time::Instant::now() > deadline {
                // SAFETY: ending the namespace (and the spinning pid 1 with it).
                unsafe { libc::kill(outer, libc::SIGKILL) };
                panic!("pid 1 did not end after abort()");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let code = libc::WEXITSTATUS(status);
        if code == 77 {
            println!("SKIP: no pid namespace here");
            return;
        }
        assert_eq!(code, 128 + libc::SIGABRT);
    }

    #[test]
    fn a_child_sharing_memory_runs_the_setup_for_itself_alone() {
        if no_new_privs() {
            return; // already set for the whole test process: nothing to tell apart
        }
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let script = format!(
            "pwd > {0}; grep NoNewPrivs /proc/self/status >> {0}; exit 7",
            out.display()
        );
        let args = [OsString::from("-c"), OsString::from(script)];
        let cwd_before = std::env::current_dir().unwrap();
        let mut ran = 0;
        let pid = spawn_sharing_memory("sh".as_ref(), &args, tmp.path(), &mut || {
            ran += 1;
            set_no_new_privs()
        })
        .unwrap();
        let status = reap(pid).unwrap();
        assert_eq!(status.code(), Some(7));
        // The closure ran once, in the child, and wrote to our memory (shared until exec).
        assert_eq!(ran, 1);
        let written = std::fs::read_to_string(&out).unwrap();
        let real = tmp.path().canonicalize().unwrap();
        assert_eq!(written, format!("{}\nNoNewPrivs:\t1\n", real.display()));
        // Its process state was its own.
        assert!(!no_new_privs(), "no_new_privs leaked into the parent");
        assert_eq!(std::env::current_dir().unwrap(), cwd_before);
    }

    #[test]
    fn a_failed_setup_or_exec_comes_back_whole_and_nothing_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let marker = tmp.path().join("ran");
        let args = [
            OsString::from("-c"),
            OsString::from(format!("touch {}", marker.display())),
        ];
        let error = spawn_sharing_memory("sh".as_ref(), &args, tmp.path(), &mut || {
            Err(io::Error::other("mount plan refused: /x is a symlink"))
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "mount plan refused: /x is a symlink");
        let error = spawn_sharing_memory(
            "codex-no-such-program".as_ref(),
            &[],
            tmp.path(),
            &mut || Ok(()),
        )
        .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        let error = spawn_sharing_memory(
            "sh".as_ref(),
            &args,
            &tmp.path().join("missing"),
            &mut || Ok(()),
        )
        .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        let error = spawn_sharing_memory("sh".as_ref(), &args, tmp.path(), &mut || {
            panic!("set-up bug")
        })
        .unwrap_err();
        assert!(error.to_string().contains("panicked"), "{error}");
        assert!(!marker.exists(), "the command ran after a failed set-up");
    }
}
