//! Empty directories used as mount points for protected paths that do not exist (`/tmp/.git`
//! in a repository-less `/tmp`), shared safely between sandboxed commands running at once.
//!
//! A mount point is made on the host and removed when the command is over. Another sandboxed
//! command may meanwhile have found the same directory and mounted over it in its own mount
//! namespace; removing the directory on the host would detach that mount there, and that
//! command could then create the protected path for real. So every command that mounts over
//! an empty directory holds a shared `flock` on it until it ends, and a directory is removed
//! only under an exclusive lock, taken without waiting: while anyone still uses it, it stays,
//! and the last user removes it. A directory we made carries the extended attribute
//! [`MARKER`], so the last user removes it even when another command made it; an empty
//! directory without the marker is the user's and is only locked, never removed.

#![allow(unsafe_code)] // flock, xattrs and fstat on descriptors we own; see the SAFETY notes.

use crate::sys;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// How long a claim waits for an exclusive lock to go. A last user holds one only while it
/// removes the directory (microseconds); longer means someone else holds it on purpose.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Extended attribute marking a directory made as a mount point.
const MARKER: &std::ffi::CStr = c"user.codex.mount-point";

/// How often a claim starts over when the directory is replaced under it before giving up.
const ATTEMPTS: usize = 20;

/// The mount points in use by this command; they are released (and removed where this was the
/// last user) when this is dropped.
#[derive(Default)]
pub struct MountPoints {
    held: Vec<Held>,
}

struct Held {
    path: PathBuf,
    dir: OwnedFd,
    /// Made by this command (removable even where the marker could not be set).
    made: bool,
}

/// What claiming found at one path.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// An empty directory, now held until the command ends.
    Held,
    /// Something that is not an empty directory (the user's own `.git`, a pointer file, a
    /// symlink): mounted over as it is, nothing to hold.
    NotEmpty,
    /// Missing, and this user may not create it (no permission, read-only filesystem): then
    /// the command cannot create it either, so it needs no mount.
    Uncreatable,
}

impl MountPoints {
    /// Whether nothing is held (the helper may then exec the command in place).
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Makes sure `path` exists as a directory to mount over, holding it while it is an empty
    /// directory. Errors name the path.
    pub fn claim(&mut self, path: &Path) -> io::Result<Claim> {
        let named =
            |e: io::Error| io::Error::new(e.kind(), format!("mount point {}: {e}", path.display()));
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| named(io::Error::from(io::ErrorKind::InvalidInput)))?;
        for _ in 0..ATTEMPTS {
            let mut made = false;
            let dir = match open_dir(&c_path) {
                Ok(dir) => dir,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    match std::fs::create_dir(path) {
                        Ok(()) => made = true,
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
                            ) =>
                        {
                            return Ok(Claim::Uncreatable);
                        }
                        Err(e) => return Err(named(e)),
                    }
                    match open_dir(&c_path) {
                        Ok(dir) => dir,
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                        Err(e) => return Err(named(e)),
                    }
                }
                // A file, a symlink, or a directory this user may not read: not a mount point
                // of ours, mounted over as it is.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOTDIR | libc::ELOOP | libc::EACCES)
                    ) =>
                {
                    return Ok(Claim::NotEmpty);
                }
                Err(e) => return Err(named(e)),
            };
            if made {
                // Readable by everyone whatever the umask, so another user's command that finds
                // it can hold it too (one it cannot open, it cannot hold). Best effort, as the
                // marker: where the filesystem has no user attributes, only the maker removes it.
                // SAFETY: fchmod and fsetxattr on a descriptor we own, from static values.
                unsafe {
                    libc::fchmod(dir.as_raw_fd(), 0o755);
                    libc::fsetxattr(dir.as_raw_fd(), MARKER.as_ptr(), c"1".as_ptr().cast(), 1, 0)
                };
            } else {
                match is_empty_dir(&dir) {
                    Ok(true) => {}
                    Ok(false) => return Ok(Claim::NotEmpty),
                    // Removed since it was opened (reading a removed directory fails so): its
                    // last user's janitor got to it first. Start over.
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                    Err(e) => return Err(named(e)),
                }
            }
            hold_shared(&dir).map_err(named)?;
            // Removed (or replaced) before we held it: start over.
            if !still_at(&dir, &c_path) {
                continue;
            }
            self.held.push(Held {
                path: path.to_path_buf(),
                dir,
                made,
            });
            return Ok(Claim::Held);
        }
        Err(named(io::Error::other(
            "it kept being replaced while it was being claimed",
        )))
    }
}

impl MountPoints {
    /// Releases the mount points after this process has gone, in a process of their own, so
    /// whoever waits for the command does not also wait for the removal (on a filesystem that
    /// frees a directory's block with a discard sent at once — ext4 without a journal, mounted
    /// with `discard` — each removal takes about 0.1 ms). Call it only once the command and
    /// everything it started have ended. The janitor holds the same locks (they belong to the
    /// open directories, which it inherits), closes every other descriptor (so a reader of our
    /// output sees its end when we exit), leaves our session, and removes each directory it
    /// gets the exclusive lock of, as dropping would. Where it cannot be started, the release
    /// happens here and now.
    pub fn release_in_background(self) {
        self.hand_to_janitor();
    }

    /// [`Self::release_in_background`], giving the janitor's pid (`None` when nothing was
    /// held, nothing held may have to be removed, or the release happened here).
    fn hand_to_janitor(mut self) -> Option<libc::pid_t> {
        if self.held.is_empty() {
            return None;
        }
        // Where no janitor can be started, `self` is dropped on return: released here and now.
        self.start_janitor(None).unwrap_or(None)
    }

    /// Starts the janitor of a process about to exec bubblewrap in place (the command's
    /// namespaces end with bubblewrap), before that exec: the janitor holds the mount points
    /// while the command runs, and once bubblewrap — the process `target`, a pidfd of this
    /// one — has ended, removes what it is the last user of. Gives the mount points back
    /// where it cannot be started; the caller then waits for bubblewrap itself.
    pub fn watch_bubblewrap(mut self, target: &OwnedFd) -> Result<(), MountPoints> {
        match self.start_janitor(Some(target.as_raw_fd())) {
            Ok(Some(_)) => Ok(()),
            _ => Err(self),
        }
    }

    /// Starts the janitor (watching the process of pidfd `watch`, if given): its pid, `None`
    /// when there was nothing for it to do, or `Err` (with nothing changed) where it could not
    /// start.
    fn start_janitor(&mut self, watch: Option<libc::c_int>) -> Result<Option<libc::pid_t>, ()> {
        // Everything the janitor needs is made here and left in place for it (it shares our
        // memory, and may outlive us).
        let jobs: Vec<(libc::c_int, Option<CString>)> = self
            .held
            .iter()
            .rev()
            .map(|held| {
                let removable = held.made || has_marker(&held.dir);
                let path = removable
                    .then(|| CString::new(held.path.as_os_str().as_bytes()).ok())
                    .flatten();
                (held.dir.as_raw_fd(), path)
            })
            .collect();
        // Nothing that may have to be removed (only the user's own empty directories, held):
        // releasing is closing them, which takes no process of its own.
        if watch.is_none() && jobs.iter().all(|(_, path)| path.is_none()) {
            self.held.clear();
            return Ok(None);
        }
        let mut keep: Vec<libc::c_uint> = jobs.iter().map(|(fd, _)| *fd as libc::c_uint).collect();
        keep.extend(watch.iter().map(|fd| *fd as libc::c_uint));
        keep.sort_unstable();
        // The hand-over below waits for the janitor; started on another CPU, that is two
        // wake-ups of an idle CPU (about 70 us in this VM). Started on ours (it inherits the
        // affinity), it runs as soon as we wait, and gives the CPU back once it has told us.
        // Both go back to the mask we had. A watching janitor is not waited for: this process
        // becomes bubblewrap and ends only when the command does, milliseconds at least after
        // the janitor has left our session.
        let wait_for_it = watch.is_none();
        // SAFETY: CPU masks we own; the calls only change this process's affinity.
        let affinity = wait_for_it
            .then(|| unsafe {
                let mut original: libc::cpu_set_t = std::mem::zeroed();
                let mut here: libc::cpu_set_t = std::mem::zeroed();
                let size = std::mem::size_of::<libc::cpu_set_t>();
                let cpu = libc::sched_getcpu();
                (cpu >= 0 && libc::sched_getaffinity(0, size, &mut original) == 0 && {
                    libc::CPU_SET(cpu as usize, &mut here);
                    libc::sched_setaffinity(0, size, &here) == 0
                })
                .then_some(original)
            })
            .flatten();
        let janitor: &'static Janitor = Box::leak(Box::new(Janitor {
            jobs,
            keep,
            watch,
            starting: std::sync::atomic::AtomicU32::new(1),
            affinity,
        }));
        let restore_affinity = || {
            if let Some(original) = &janitor.affinity {
                // SAFETY: as above.
                unsafe {
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), original)
                };
            }
        };
        // A process sharing our memory rather than a copy of it (fork): copying this
        // process's page tables cost about 0.15 ms here, and the address space is then torn
        // down by whichever of us ends last, after the caller has seen us exit. It starts (and
        // stays) with every signal blocked: none of our handlers ever runs in it. Its stack is
        // left to it (it goes with the address space). (No CLONE_CHILD_CLEARTID to learn of
        // its end: musl's clone refuses that flag.)
        let started = sys::child_stack(JANITOR_STACK).and_then(|stack| {
            // SAFETY: the janitor runs on its own stack with a pointer to the leaked
            // `janitor`, whose only changing field is atomic, and makes system calls only.
            unsafe {
                sys::clone_on(
                    stack,
                    JANITOR_STACK,
                    janitor_main,
                    libc::CLONE_VM | libc::SIGCHLD,
                    (janitor as *const Janitor).cast_mut().cast(),
                )
            }
        });
        let Ok(pid) = started else {
            restore_affinity();
            return Err(());
        };
        // Whoever started us may kill our group and session as soon as we exit (core does, to
        // end what a command left behind): the janitor must have left both by then.
        // (Only SIGKILL can end it before then; every few milliseconds we look whether it did.)
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: 5_000_000,
        };
        while wait_for_it && janitor.starting.load(std::sync::atomic::Ordering::Acquire) != 0 {
            // SAFETY: waits while the word is still 1, for at most `pause`; the janitor's
            // status is looked at without reaping it.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    janitor.starting.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    1,
                    &pause as *const libc::timespec,
                );
                let mut info: libc::siginfo_t = std::mem::zeroed();
                let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
                if libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) == 0
                    && info.si_pid() == pid
                {
                    break;
                }
            }
        }
        restore_affinity();
        // Closing our copies keeps the locks: the janitor's copies hold them.
        self.held.clear();
        Ok(Some(pid))
    }
}

/// What the janitor does, prepared before it starts: `jobs` in the order to release them
/// (a path where the directory may be removed), `keep` the sorted descriptors it holds.
struct Janitor {
    jobs: Vec<(libc::c_int, Option<CString>)>,
    keep: Vec<libc::c_uint>,
    /// A pidfd of the process that started the janitor (bubblewrap, once it has exec'd), for
    /// a watching janitor, which waits for its end.
    watch: Option<libc::c_int>,
    /// 1 until the janitor has left our session; a futex.
    starting: std::sync::atomic::AtomicU32,
    /// The CPU mask to go back to, when the janitor was started on our CPU alone.
    affinity: Option<libc::cpu_set_t>,
}

/// The janitor's stack: it calls a handful of system-call wrappers and nothing else.
const JANITOR_STACK: usize = 64 * 1024;

/// The released mount points' janitor: see [`MountPoints::release_in_background`]. It shares
/// the helper's memory, which may be exiting meanwhile, so it only reads its [`Janitor`] and
/// makes system calls (whose wrappers may set the errno the helper's thread also uses; the
/// helper reads none once it has started the janitor, as it only exits).
extern "C" fn janitor_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the leaked Janitor, never changed or freed.
    let janitor = unsafe { &*arg.cast::<Janitor>() };
    // SAFETY: system calls on descriptors and NUL-terminated paths this process owns.
    unsafe {
        libc::setsid();
        janitor
            .starting
            .store(0, std::sync::atomic::Ordering::Release);
        libc::syscall(
            libc::SYS_futex,
            janitor.starting.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
        if let Some(original) = &janitor.affinity {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), original);
            libc::sched_yield();
        }
        let _ = sys::close_all_but(0, &janitor.keep);
        // Nothing can use a mount point any more once bubblewrap has ended: by then its
        // child, the namespace's init, has ended, and with it the whole pid namespace. Where
        // that cannot be known, the mount points stay (the next command that uses one removes
        // it): removing one while the command may still run would undo it.
        if let Some(target) = janitor.watch
            && !readable(target)
        {
            libc::_exit(0);
        }
        for (fd, path) in &janitor.jobs {
            if let Some(path) = path
                && libc::flock(*fd, libc::LOCK_EX | libc::LOCK_NB) == 0
            {
                libc::rmdir(path.as_ptr());
            }
        }
        libc::_exit(0)
    }
}

/// Waits until `fd` is readable (has data, or has ended, or names a process that has ended):
/// `false` if that cannot be learnt. With every signal blocked (as in the janitor), the wait
/// is never interrupted.
fn readable(fd: libc::c_int) -> bool {
    let mut ready = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: polling one descriptor of ours, without a timeout.
    unsafe { libc::poll(&mut ready, 1, -1) == 1 }
}

impl Drop for MountPoints {
    fn drop(&mut self) {
        for held in self.held.drain(..).rev() {
            let ours = held.made || has_marker(&held.dir);
            // The exclusive lock is had only when no other command holds it; then it is still
            // at its path (removal needs this lock) and nobody mounts over it until we let go.
            if ours && flock(&held.dir, libc::LOCK_EX | libc::LOCK_NB).is_ok() {
                // Only an empty directory goes: anything put in it is not ours.
                let _ = std::fs::remove_dir(&held.path);
            }
        }
    }
}

fn open_dir(path: &CString) -> io::Result<OwnedFd> {
    // SAFETY: open with a NUL-terminated path; the descriptor is owned on success.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A shared lock on `dir`, waiting (without blocking forever) while an exclusive one is held:
/// a process that keeps one cannot hang every sandboxed command; the claim fails instead.
fn hold_shared(dir: &OwnedFd) -> io::Result<()> {
    let deadline = std::time::Instant::now() + LOCK_PATIENCE;
    // Usually the previous command's janitor, removing it: that takes a fraction of a
    // millisecond, so look again soon, then less and less often.
    let mut pause = std::time::Duration::from_micros(50);
    loop {
        match flock(dir, libc::LOCK_SH | libc::LOCK_NB) {
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => {
                if std::time::Instant::now() > deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "another process has held it locked for over 2 s, so it cannot be shared safely",
                    ));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(1));
            }
            result => return result,
        }
    }
}

/// Whether the directory open at `dir` has no entries but `.` and `..` (read through the
/// descriptor, so it is the directory held, not whatever is at the path by now).
fn is_empty_dir(dir: &OwnedFd) -> io::Result<bool> {
    // `struct linux_dirent64`: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
    const NAME_AT: usize = 19;
    let mut buffer = [0u64; 128];
    loop {
        // SAFETY: getdents64 writes at most the buffer's size into it.
        let read = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buffer.as_mut_ptr(),
                std::mem::size_of_val(&buffer),
            )
        };
        if read < 0 {
            return Err(io::Error::last_os_error());
        }
        if read == 0 {
            return Ok(true);
        }
        // SAFETY: the first `read` bytes of the buffer were written by the kernel.
        let bytes =
            unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), read as usize) };
        let mut at = 0;
        while at + NAME_AT < bytes.len() {
            let length = usize::from(u16::from_ne_bytes([bytes[at + 16], bytes[at + 17]]));
            let record = &bytes[at..(at + length).min(bytes.len())];
            let name = record[NAME_AT..]
                .split(|b| *b == 0)
                .next()
                .unwrap_or_default();
            if name != b"." && name != b".." {
                return Ok(false);
            }
            at += length.max(1);
        }
    }
}

fn flock(dir: &OwnedFd, operation: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(dir.as_raw_fd(), operation) } == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Whether `dir` is still the directory at `path` (same device and inode, not removed).
fn still_at(dir: &OwnedFd, path: &CString) -> bool {
    // SAFETY: fstat/lstat write into stat buffers we own.
    let (mut held, mut now): (libc::stat, libc::stat) = unsafe { std::mem::zeroed() };
    let ok = unsafe {
        libc::fstat(dir.as_raw_fd(), &mut held) == 0 && libc::lstat(path.as_ptr(), &mut now) == 0
    };
    ok && held.st_nlink > 0 && held.st_dev == now.st_dev && held.st_ino == now.st_ino
}

fn has_marker(dir: &OwnedFd) -> bool {
    let mut value = [0u8; 1];
    // SAFETY: reading an attribute into a buffer we own.
    let read = unsafe {
        libc::fgetxattr(
            dir.as_raw_fd(),
            MARKER.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    read == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a claim meets when another command's janitor removes the directory between its
    /// open and its read: ENOENT, after which the claim starts over.
    #[test]
    fn reading_a_removed_directory_fails_with_enoent() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".git");
        std::fs::create_dir(&path).unwrap();
        let dir = open_dir(&CString::new(path.as_os_str().as_bytes()).unwrap()).unwrap();
        std::fs::remove_dir(&path).unwrap();
        let error = is_empty_dir(&dir).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOENT), "{error}");
    }

    #[test]
    fn only_a_directory_without_entries_is_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let open = |p: &Path| open_dir(&CString::new(p.as_os_str().as_bytes()).unwrap()).unwrap();
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(is_empty_dir(&open(&empty)).unwrap());
        let dotted = tmp.path().join("dotted");
        std::fs::create_dir(&dotted).unwrap();
        std::fs::write(dotted.join(".x"), "").unwrap();
        assert!(!is_empty_dir(&open(&dotted)).unwrap());
        // More names than one read returns: the answer comes from the first.
        let full = tmp.path().join("full");
        std::fs::create_dir(&full).unwrap();
        for i in 0..200 {
            std::fs::create_dir(full.join(format!("entry-with-a-long-name-{i:03}"))).unwrap();
        }
        assert!(!is_empty_dir(&open(&full)).unwrap());
    }

    #[test]
    fn a_mount_point_stays_while_another_command_holds_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".git");
        let mut first = MountPoints::default();
        assert_eq!(first.claim(&path).unwrap(), Claim::Held);
        let mut second = MountPoints::default();
        assert_eq!(second.claim(&path).unwrap(), Claim::Held);
        drop(first);
        assert!(path.is_dir(), "removed while the second command used it");
        drop(second);
        assert!(
            !path.exists(),
            "the last user removes a marked mount point, though it did not make it"
        );
    }

    #[test]
    fn the_janitor_removes_what_it_was_the_last_user_of_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join(".git");
        let alone = tmp.path().join(".codex");
        let users = tmp.path().join(".agents");
        std::fs::create_dir(&users).unwrap();
        let mut first = MountPoints::default();
        for path in [&shared, &alone, &users] {
            assert_eq!(first.claim(path).unwrap(), Claim::Held);
        }
        let mut second = MountPoints::default();
        assert_eq!(second.claim(&shared).unwrap(), Claim::Held);
        let pid = first.hand_to_janitor().expect("a janitor");
        assert!(janitor_ended(pid));
        assert!(shared.is_dir(), "removed while the second command held it");
        assert!(
            !alone.exists(),
            "the janitor left the mount point it alone used"
        );
        assert!(
            users.is_dir(),
            "the janitor removed the user's own empty directory"
        );
        let pid = second.hand_to_janitor().expect("a janitor");
        assert!(janitor_ended(pid));
        assert!(!shared.exists(), "the last user's janitor left it");
        assert_eq!(MountPoints::default().hand_to_janitor(), None);
    }

    fn janitor_ended(pid: libc::pid_t) -> bool {
        let mut status = 0;
        // SAFETY: waiting for our own child into an integer we own.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
    }

    /// As soon as it is handed over, the janitor is in a session of its own (a zombie keeps
    /// it), so a caller that kills our group and session the moment we exit (core does) does
    /// not reach it. Many times over: without the wait for it, it is often not there yet.
    #[test]
    fn the_janitor_has_left_our_session_when_handed_over() {
        let tmp = tempfile::tempdir().unwrap();
        let session = |pid: libc::pid_t| -> libc::pid_t {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            after_name.split(' ').nth(3).unwrap().parse().unwrap()
        };
        let affinity = || {
            // SAFETY: a CPU mask we own.
            unsafe {
                let mut mask: libc::cpu_set_t = std::mem::zeroed();
                libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut mask);
                (0..libc::CPU_SETSIZE as usize)
                    .filter(|cpu| libc::CPU_ISSET(*cpu, &mask))
                    .collect::<Vec<_>>()
            }
        };
        let before = affinity();
        for _ in 0..30 {
            let mut points = MountPoints::default();
            assert_eq!(points.claim(&tmp.path().join(".git")).unwrap(), Claim::Held);
            let pid = points.hand_to_janitor().expect("a janitor");
            assert_eq!(session(pid), pid, "the janitor was still in our session");
            assert!(janitor_ended(pid));
            assert_eq!(affinity(), before, "the hand-over left us on fewer CPUs");
        }
    }

    #[test]
    fn the_users_own_directories_are_never_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = tmp.path().join(".codex");
        std::fs::create_dir(&empty).unwrap();
        let full = tmp.path().join(".git");
        std::fs::create_dir(&full).unwrap();
        std::fs::write(full.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        let file = tmp.path().join(".agents");
        std::fs::write(&file, "").unwrap();
        let mut points = MountPoints::default();
        assert_eq!(points.claim(&empty).unwrap(), Claim::Held);
        assert_eq!(points.claim(&full).unwrap(), Claim::NotEmpty);
        assert_eq!(points.claim(&file).unwrap(), Claim::NotEmpty);
        assert!(!points.is_empty());
        drop(points);
        assert!(empty.is_dir() && full.is_dir() && file.is_file());
        // Handed over, they need no janitor: closing them releases them.
        let mut points = MountPoints::default();
        assert_eq!(points.claim(&empty).unwrap(), Claim::Held);
        assert_eq!(points.hand_to_janitor(), None);
        let dir = open_dir(&CString::new(empty.as_os_str().as_bytes()).unwrap()).unwrap();
        assert!(
            flock(&dir, libc::LOCK_EX | libc::LOCK_NB).is_ok(),
            "still held"
        );
        assert!(empty.is_dir());
    }

    #[test]
    fn a_mount_point_is_readable_by_everyone_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".codex");
        // SAFETY: umask only changes this process's file-creation mask.
        let old = unsafe { libc::umask(0o077) };
        let mut points = MountPoints::default();
        let claimed = points.claim(&path);
        unsafe { libc::umask(old) };
        assert_eq!(claimed.unwrap(), Claim::Held);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
    }

    #[test]
    fn a_mount_point_locked_for_good_fails_the_claim_instead_of_hanging() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".git");
        std::fs::create_dir(&path).unwrap();
        let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
        let squatter = open_dir(&c_path).unwrap();
        flock(&squatter, libc::LOCK_EX).unwrap();
        let error = MountPoints::default().claim(&path).unwrap_err();
        assert!(error.to_string().contains(".git"), "{error}");
        assert!(error.to_string().contains("locked"), "{error}");
        drop(squatter);
        assert_eq!(MountPoints::default().claim(&path).unwrap(), Claim::Held);
    }

    #[test]
    fn a_removed_mount_point_is_made_again() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".git");
        let mut points = MountPoints::default();
        points.claim(&path).unwrap();
        drop(points);
        let mut again = MountPoints::default();
        assert_eq!(again.claim(&path).unwrap(), Claim::Held);
        assert!(path.is_dir());
        let read_only = tmp.path().join("ro");
        std::fs::create_dir(&read_only).unwrap();
        if sys_is_root() {
            return; // root may create anywhere
        }
        std::fs::set_permissions(
            &read_only,
            std::os::unix::fs::PermissionsExt::from_mode(0o555),
        )
        .unwrap();
        assert_eq!(
            again.claim(&read_only.join(".git")).unwrap(),
            Claim::Uncreatable
        );
    }

    fn sys_is_root() -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }
}
