//! The inner stage: the last step inside bubblewrap (or the built-in namespace view) before the
//! command — no-new-privs, Landlock, no capabilities, seccomp, no inherited descriptors, exec.
//!
//! It is written against `core` alone, with raw system calls and no allocation, so the same
//! source serves twice: as a module of this crate (the `--codex-linux-sandbox-inner` stage of
//! the full binary) and as a freestanding program of a few kilobytes that `build.rs` compiles
//! from `stage_main.rs` and the binary embeds. That program costs about 0.2 ms, exec included,
//! where the full binary needs over a millisecond (static-PIE relocation, and libc's start-up,
//! which queries the CPU dozens of times, each a VM exit under a hypervisor); the stage runs
//! once per sandboxed command.
//!
//! Arguments (built by `run.rs`, never by hand):
//!
//! ```text
//! [--init REPORT RELAY] [--core-limit N] [--tty] [--landlock HANDLED READ FILE] [--read PATH | --write PATH | --write-file PATH]… [--seccomp HEX] -- CMD ARGS…
//! ```
//!
//! With `--init REPORT RELAY` (under bubblewrap, run with `--as-pid-1`) the stage is pid 1 of
//! the pid namespace: it forks, the child goes on to become the command, and this process
//! stays as the namespace's init (see [`init`]), passing a death by signal, which bubblewrap
//! would report as exit code 128 + N, on to bubblewrap's process outside.
//!
//! `--core-limit N` sets the command's soft core-size limit (decimal, or `unlimited`): the
//! helper lowers it to 0 for bubblewrap, which may die of the command's signal (see [`init`]).
//!
//! `HANDLED`, `READ` and `FILE` are Landlock access masks (decimal): the rights the ruleset
//! handles, those a `--read` path gets (a `--write` path gets all handled rights), and those
//! a rule on a non-directory may carry (all a `--write-file` path gets). `HEX` is the
//! compiled seccomp filter as the bytes of its `sock_filter` array. Paths that do not exist
//! grant nothing.
//!
//! Unsafe code: system calls, through [`sys::call`]. Those without pointer arguments go through
//! one wrapper ([`integers`]); every other call passes pointers into argv, envp or this module's
//! own stack buffers, each NUL-terminated or sized as the call documents (said at each call).
#![allow(unsafe_code)]

/// Exit code when the stage could not be set up (nothing ran).
pub const EXIT_SETUP: i32 = 125;
/// Exit code when the command could not be executed, as shells use.
pub const EXIT_NOT_RUN: i32 = 127;

/// A NUL-terminated string (from argv or envp, or one of this module's buffers).
type CStr = *const u8;

/// Runs the stage. `args[0]` is the program (the arguments start at `args[1]`); the pointer
/// array, whose end must be followed by a NULL entry, is scratch space for the `/bin/sh`
/// fallback and may be rewritten.
/// Returns only on failure, with the exit code; the error is on standard error.
///
/// # Safety
/// Every pointer in `args` is a NUL-terminated string, and `envp` is a NULL-terminated array
/// of them, all valid for the rest of the process.
pub unsafe fn run(args: &mut [CStr], envp: *const CStr) -> i32 {
    let mut tty = false;
    let mut init_fds: Option<[usize; 2]> = None;
    let mut core_limit: Option<u64> = None;
    let mut landlock: Option<[u64; 3]> = None;
    let mut seccomp: Option<CStr> = None;
    let mut i = 1;
    while i < args.len() && !eq(args[i], b"--") {
        let arg = args[i];
        let takes = if eq(arg, b"--tty") {
            tty = true;
            0
        } else if eq(arg, b"--init") {
            let fd = |k: usize| {
                args.get(i + k)
                    .and_then(|a| decimal(*a))
                    .filter(|fd| *fd > 2 && *fd < u64::from(u32::MAX))
            };
            match (fd(1), fd(2)) {
                (Some(report), Some(relay)) if report != relay => {
                    init_fds = Some([report as usize, relay as usize])
                }
                _ => return fail(b"--init needs two descriptors above 2", None),
            }
            2
        } else if eq(arg, b"--core-limit") {
            let value = args.get(i + 1).copied();
            core_limit = match value {
                Some(v) if eq(v, b"unlimited") => Some(u64::MAX),
                Some(v) => match decimal(v) {
                    Some(limit) => Some(limit),
                    None => return fail(b"--core-limit needs a decimal limit or unlimited", None),
                },
                None => None,
            };
            1
        } else if eq(arg, b"--landlock") {
            let mut masks = [0u64; 3];
            for (k, mask) in masks.iter_mut().enumerate() {
                match args.get(i + 1 + k).and_then(|a| decimal(*a)) {
                    Some(value) => *mask = value,
                    None => return fail(b"--landlock needs three decimal masks", None),
                }
            }
            landlock = Some(masks);
            3
        } else if eq(arg, b"--read") || eq(arg, b"--write") || eq(arg, b"--write-file") {
            1
        } else if eq(arg, b"--seccomp") {
            seccomp = args.get(i + 1).copied();
            1
        } else {
            return fail_with(b"unexpected argument ", arg);
        };
        if i + takes >= args.len() {
            return fail_with(b"missing value after ", arg);
        }
        i += 1 + takes;
    }
    let command_at = i + 1;
    if command_at >= args.len() {
        return fail(b"no command given", None);
    }

    if let Some([report, relay]) = init_fds {
        // The parent stays as init and never returns; the child (a fork: a copy of this small
        // process, no memory shared) becomes the command.
        match integers(sys::CLONE, [SIGCHLD, 0, 0, 0, 0, 0]) {
            Ok(0) => {}
            Ok(command) => init(command, report, relay),
            Err(e) => return fail(b"starting the command under its init", Some(e)),
        }
    }
    if let Some(limit) = core_limit {
        // The soft limit only, back to what the helper was started with (never above the
        // hard limit, which nobody lowered).
        let mut limits = [0u64; 2];
        let at: *mut [u64; 2] = &mut limits;
        // SAFETY: prlimit64 on this process: no new limit, the old one into `limits`.
        let read = unsafe { sys::call(sys::PRLIMIT64, [0, RLIMIT_CORE, 0, at as usize, 0, 0]) };
        if let Err(e) = read {
            return fail(b"reading the core-size limit", Some(e));
        }
        limits[0] = limit.min(limits[1]);
        let new: *const [u64; 2] = &limits;
        // SAFETY: prlimit64 on this process with a new limit read from `limits`.
        if let Err(e) =
            unsafe { sys::call(sys::PRLIMIT64, [0, RLIMIT_CORE, new as usize, 0, 0, 0]) }
        {
            return fail(b"restoring the core-size limit", Some(e));
        }
    }
    if tty {
        // bubblewrap's --new-session may have made the session in a parent of this process;
        // the terminal needs a session this process leads (setsid fails, harmlessly, when it
        // already leads one).
        let _ = integers(sys::SETSID, [0; 6]);
        if let Err(e) = integers(sys::IOCTL, [0, TIOCSCTTY, 0, 0, 0, 0]) {
            return fail(b"making the PTY the controlling terminal", Some(e));
        }
    }
    if let Err(e) = integers(sys::PRCTL, [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0]) {
        return fail(b"no-new-privs", Some(e));
    }
    if let Some(masks) = landlock
        && let Err((what, e)) = restrict(&args[..i], masks)
    {
        return fail(what, Some(e));
    }
    if let Err(e) = drop_capabilities() {
        return fail(b"dropping capabilities", Some(e));
    }
    if let Some(hex) = seccomp {
        let mut filter = [0u8; 8 * MAX_FILTER_LEN];
        let Some(len) = unhex(hex, &mut filter) else {
            return fail(b"--seccomp is not a whole filter in hex", None);
        };
        let program = SockFprog {
            len: (len / 8) as u16,
            filter: filter.as_ptr(),
        };
        let program: *const SockFprog = &program;
        let call = [
            PR_SET_SECCOMP,
            SECCOMP_MODE_FILTER,
            program as usize,
            0,
            0,
            0,
        ];
        // SAFETY: `program` points at `len` instructions in `filter`, both alive across the
        // call.
        if let Err(e) = unsafe { sys::call(sys::PRCTL, call) } {
            return fail(b"installing the seccomp filter failed", Some(e));
        }
    }
    close_descriptors_above_stderr();
    let error = exec_path_search(args, command_at, envp);
    write_all(b"codex-linux-sandbox: could not run ");
    write_all(bytes(args[command_at]));
    write_all(b": ");
    write_error(error);
    write_all(b"\n");
    EXIT_NOT_RUN
}

/// Pid 1 of the namespace once the command (`command`, its child) runs: reaps every process
/// orphaned in the namespace, and when the command ends, ends too, with its exit code —
/// which ends the namespace and everything left in it, as bubblewrap's own init would.
///
/// A death by signal N is exit code 128 + N (pid 1 cannot die of a signal it does not handle),
/// so the signal goes outside first. `report` is the write end of a pipe and `relay` its read
/// end, whose owner (`F_SETOWN`) the helper made bubblewrap's process before it became
/// bubblewrap: asking for signal N on input (`F_SETSIG`, `O_ASYNC`) and writing N as one byte
/// makes the kernel send N to bubblewrap, at once, before this process ends — so whoever waits
/// for the helper sees it die as the command did. (Nothing here could signal bubblewrap
/// itself: it is outside this pid namespace.) Where the helper waits for bubblewrap instead,
/// the pipe has no owner, and the helper reads the byte once bubblewrap has ended. A zero
/// byte written first says that the namespace was set up (bubblewrap's own failures exit 1,
/// like many commands).
///
/// Every other descriptor is closed, and this process is made non-dumpable so the command
/// cannot reach the pipe through `/proc/1/fd`. Only system calls, no memory shared: nothing
/// here can fail in a way that leaves the namespace without its init.
fn init(command: usize, report: usize, relay: usize) -> ! {
    let report_byte = |byte: u8| {
        let byte = [byte];
        // SAFETY: one byte from a live array.
        let _ = unsafe { sys::call(sys::WRITE, [report, byte.as_ptr() as usize, 1, 0, 0, 0]) };
    };
    report_byte(0);
    let _ = integers(sys::PRCTL, [PR_SET_DUMPABLE, 0, 0, 0, 0, 0]);
    // Both are above 2 (checked with the arguments).
    let (low, high) = (report.min(relay), report.max(relay));
    let _ = integers(sys::CLOSE_RANGE, [0, low - 1, 0, 0, 0, 0]);
    if high > low + 1 {
        let _ = integers(sys::CLOSE_RANGE, [low + 1, high - 1, 0, 0, 0, 0]);
    }
    let _ = integers(sys::CLOSE_RANGE, [high + 1, u32::MAX as usize, 0, 0, 0, 0]);
    loop {
        let mut status: i32 = 0;
        let status_at: *mut i32 = &mut status;
        // SAFETY: `status_at` points at an i32 of ours for wait4 to fill; no rusage.
        let reaped = unsafe { sys::call(sys::WAIT4, [usize::MAX, status_at as usize, 0, 0, 0, 0]) };
        match reaped {
            Ok(pid) if pid == command => {
                let signal = status & 0x7f;
                if signal == 0 {
                    sys::exit((status >> 8) & 0xff);
                }
                // Without an owner (or where a step fails) the byte is only read later.
                if integers(sys::FCNTL, [relay, F_SETSIG, signal as usize, 0, 0, 0]).is_ok()
                    && let Ok(flags) = integers(sys::FCNTL, [relay, F_GETFL, 0, 0, 0, 0])
                {
                    let _ = integers(sys::FCNTL, [relay, F_SETFL, flags | O_ASYNC, 0, 0, 0]);
                }
                report_byte(signal as u8);
                sys::exit(128 + signal);
            }
            Ok(_) | Err(EINTR) => {}
            Err(_) => sys::exit(EXIT_SETUP),
        }
    }
}

const SIGCHLD: usize = 17;
const F_GETFL: usize = 3;
const F_SETFL: usize = 4;
const F_SETSIG: usize = 10;
const O_ASYNC: usize = 0o20_000;
const RLIMIT_CORE: usize = 4;
const PR_SET_DUMPABLE: usize = 4;
const TIOCSCTTY: usize = 0x540E;
const PR_SET_NO_NEW_PRIVS: usize = 38;
const PR_SET_SECCOMP: usize = 22;
const SECCOMP_MODE_FILTER: usize = 2;
const PR_CAPBSET_DROP: usize = 24;
const PR_CAP_AMBIENT: usize = 47;
const PR_CAP_AMBIENT_CLEAR_ALL: usize = 4;
const CAP_SETPCAP: u32 = 8;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
const AT_FDCWD: usize = -100isize as usize;
const O_PATH: usize = 0o10_000_000;
const O_CLOEXEC: usize = 0o2_000_000;
#[cfg(target_arch = "x86_64")]
const O_DIRECTORY: usize = 0o200_000;
#[cfg(target_arch = "aarch64")]
const O_DIRECTORY: usize = 0o40_000;
const LANDLOCK_RULE_PATH_BENEATH: usize = 1;
/// The kernel's limit on a classic BPF program.
const MAX_FILTER_LEN: usize = 4096;
const PATH_MAX: usize = 4096;

const ENOENT: i32 = 2;
const EINTR: i32 = 4;
const ENOEXEC: i32 = 8;
const EACCES: i32 = 13;
const ENOTDIR: i32 = 20;
const ENAMETOOLONG: i32 = 36;

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const u8,
}

/// `struct landlock_path_beneath_attr` (packed: 12 bytes).
#[repr(C, packed)]
struct PathBeneath {
    allowed_access: u64,
    parent_fd: i32,
}

/// Landlock over the `--read`/`--write`/`--write-file` paths among `options`.
fn restrict(options: &[CStr], [handled, read, file]: [u64; 3]) -> Result<(), (&'static [u8], i32)> {
    let setup = b"Landlock could not be set up";
    let attr: *const u64 = &handled;
    let ruleset =
        // SAFETY: `attr` points at a u64, the size given (the ruleset's first field).
        unsafe { sys::call(sys::LANDLOCK_CREATE_RULESET, [attr as usize, 8, 0, 0, 0, 0]) }
            .map_err(|e| (&setup[..], e))?;
    for pair in options.windows(2) {
        let access = if eq(pair[0], b"--read") {
            read
        } else if eq(pair[0], b"--write") {
            handled
        } else if eq(pair[0], b"--write-file") {
            file
        } else {
            continue;
        };
        let path = pair[1];
        let directory = O_PATH | O_CLOEXEC | O_DIRECTORY;
        let (fd, is_dir) = match open(path, directory) {
            Ok(fd) => (fd, true),
            Err(ENOTDIR) => match open(path, O_PATH | O_CLOEXEC) {
                Ok(fd) => (fd, false),
                Err(_) => continue,
            },
            // A path that vanished since planning grants nothing.
            Err(_) => continue,
        };
        let rule = PathBeneath {
            // Directory-only rights (make, remove, read dir, refer) cannot go on a file rule.
            allowed_access: if is_dir { access } else { access & file },
            parent_fd: fd as i32,
        };
        let rule: *const PathBeneath = &rule;
        // SAFETY: `rule` is a landlock_path_beneath_attr alive across the call.
        let added = unsafe {
            sys::call(
                sys::LANDLOCK_ADD_RULE,
                [ruleset, LANDLOCK_RULE_PATH_BENEATH, rule as usize, 0, 0, 0],
            )
        };
        close(fd);
        added.map_err(|e| (&setup[..], e))?;
    }
    integers(sys::LANDLOCK_RESTRICT_SELF, [ruleset, 0, 0, 0, 0, 0])
        .map_err(|e| (&b"Landlock could not be enforced"[..], e))?;
    close(ruleset);
    Ok(())
}

/// Empties every capability set; the bounding set too when this process may (CAP_SETPCAP).
fn drop_capabilities() -> Result<(), i32> {
    let header = [LINUX_CAPABILITY_VERSION_3, 0];
    // Two `__user_cap_data_struct`s: effective, permitted, inheritable.
    let mut data = [0u32; 6];
    // SAFETY: `header` and `data` have the layouts capget(2) documents for version 3.
    unsafe {
        sys::call(
            sys::CAPGET,
            [
                header.as_ptr() as usize,
                data.as_mut_ptr() as usize,
                0,
                0,
                0,
                0,
            ],
        )
    }?;
    if data[0] & (1 << CAP_SETPCAP) != 0 {
        // EINVAL past the last capability the kernel knows ends the loop.
        for cap in 0..64 {
            if integers(sys::PRCTL, [PR_CAPBSET_DROP, cap, 0, 0, 0, 0]).is_err() {
                break;
            }
        }
    }
    let _ = integers(
        sys::PRCTL,
        [PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0],
    );
    let none = [0u32; 6];
    // SAFETY: `header` and `none` have the layouts capset(2) documents for version 3.
    unsafe {
        sys::call(
            sys::CAPSET,
            [header.as_ptr() as usize, none.as_ptr() as usize, 0, 0, 0, 0],
        )
    }?;
    Ok(())
}

fn close_descriptors_above_stderr() {
    if integers(sys::CLOSE_RANGE, [3, u32::MAX as usize, 0, 0, 0, 0]).is_err() {
        // Kernels before 5.9: one by one.
        for fd in 3..=65_535 {
            close(fd);
        }
    }
}

/// A system call whose arguments are all plain integers (no pointers): flags, descriptors,
/// numbers. The calls used this way (setsid, ioctl TIOCSCTTY, prctl with integer options,
/// close, close_range, landlock_restrict_self) touch no memory of this process.
fn integers(number: usize, args: [usize; 6]) -> Result<usize, i32> {
    // SAFETY: no argument is a pointer (see above).
    unsafe { sys::call(number, args) }
}

fn close(fd: usize) {
    let _ = integers(sys::CLOSE, [fd, 0, 0, 0, 0, 0]);
}

/// `openat(AT_FDCWD, path, flags)`.
fn open(path: CStr, flags: usize) -> Result<usize, i32> {
    // SAFETY: `path` is NUL-terminated (every CStr here is: see `run`).
    unsafe { sys::call(sys::OPENAT, [AT_FDCWD, path as usize, flags, 0, 0, 0]) }
}

/// `execvp`: a name without `/` is looked up in `PATH` (`/bin:/usr/bin` when unset); a file
/// the kernel cannot execute (no `#!`) runs under `/bin/sh`. Returns the errno of the failure.
fn exec_path_search(args: &mut [CStr], command_at: usize, envp: *const CStr) -> i32 {
    let name = bytes(args[command_at]);
    if name.is_empty() {
        return ENOENT;
    }
    if name.contains(&b'/') {
        return exec(args, command_at, args[command_at], envp);
    }
    let path = env(envp, b"PATH").unwrap_or(b"/bin:/usr/bin");
    let mut denied = false;
    let mut last = ENOENT;
    for dir in path.split(|b| *b == b':') {
        // An empty entry is the working directory.
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let mut full = [0u8; PATH_MAX];
        if dir.len() + 1 + name.len() >= PATH_MAX {
            last = ENAMETOOLONG;
            continue;
        }
        full[..dir.len()].copy_from_slice(dir);
        full[dir.len()] = b'/';
        full[dir.len() + 1..dir.len() + 1 + name.len()].copy_from_slice(name);
        let error = exec(args, command_at, full.as_ptr(), envp);
        match error {
            EACCES => denied = true,
            // Not here: try the next entry (as glibc's execvp does).
            ENOENT | ENOTDIR | 19 /* ENODEV */ | 110 /* ETIMEDOUT */ | 116 /* ESTALE */ => {}
            other => return other,
        }
        last = error;
    }
    if denied { EACCES } else { last }
}

/// Executes `program` with `args[command_at..]` as its argv; a file without a known format
/// runs as `/bin/sh PROGRAM ARGS…`, which takes the slot before the command (there always is
/// one: `--`).
fn exec(args: &mut [CStr], command_at: usize, program: CStr, envp: *const CStr) -> i32 {
    let argv = args[command_at..].as_ptr();
    // SAFETY: `program` and every argv entry are NUL-terminated; argv and envp end with NULL
    // (see `run`).
    let error = match unsafe {
        sys::call(
            sys::EXECVE,
            [program as usize, argv as usize, envp as usize, 0, 0, 0],
        )
    } {
        Ok(_) => return 0,
        Err(e) => e,
    };
    if error != ENOEXEC || command_at < 1 {
        return error;
    }
    let saved = (args[command_at - 1], args[command_at]);
    args[command_at - 1] = SHELL.as_ptr();
    args[command_at] = program;
    let argv = args[command_at - 1..].as_ptr();
    // SAFETY: as above; SHELL is NUL-terminated.
    let result = unsafe {
        sys::call(
            sys::EXECVE,
            [
                SHELL.as_ptr() as usize,
                argv as usize,
                envp as usize,
                0,
                0,
                0,
            ],
        )
    };
    (args[command_at - 1], args[command_at]) = saved;
    // The shell not running means the command did not either: report the command's error.
    match result {
        Ok(_) => 0,
        Err(_) => ENOEXEC,
    }
}

const SHELL: &[u8] = b"/bin/sh\0";

/// The value of `name` in `envp`.
fn env(envp: *const CStr, name: &[u8]) -> Option<&'static [u8]> {
    let mut at = envp;
    // SAFETY: envp is a NULL-terminated array of NUL-terminated strings (see `run`).
    unsafe {
        while !at.is_null() && !(*at).is_null() {
            let entry = bytes(*at);
            if entry.len() > name.len() && entry.starts_with(name) && entry[name.len()] == b'=' {
                return Some(&entry[name.len() + 1..]);
            }
            at = at.add(1);
        }
    }
    None
}

fn bytes(s: CStr) -> &'static [u8] {
    let mut len = 0;
    // SAFETY: `s` is NUL-terminated and lives for the process (see `run`).
    unsafe {
        while *s.add(len) != 0 {
            len += 1;
        }
        core::slice::from_raw_parts(s, len)
    }
}

fn eq(s: CStr, expected: &[u8]) -> bool {
    bytes(s) == expected
}

fn decimal(s: CStr) -> Option<u64> {
    let digits = bytes(s);
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(value)
}

/// Decodes hex into `out`; the length in bytes, if the text is whole 8-byte instructions.
fn unhex(s: CStr, out: &mut [u8]) -> Option<usize> {
    let text = bytes(s);
    if text.is_empty() || !text.len().is_multiple_of(16) || text.len() / 2 > out.len() {
        return None;
    }
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    for (k, pair) in text.chunks(2).enumerate() {
        out[k] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(text.len() / 2)
}

fn write_all(mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: `data` is a live slice; the length given is its length.
        match unsafe { sys::call(sys::WRITE, [2, data.as_ptr() as usize, data.len(), 0, 0, 0]) } {
            Ok(n) if n > 0 => data = &data[n.min(data.len())..],
            _ => return,
        }
    }
}

/// Writes an errno the way Rust's `io::Error` shows it: "text (os error N)".
fn write_error(errno: i32) {
    let text: &[u8] = match errno {
        1 => b"Operation not permitted",
        2 => b"No such file or directory",
        7 => b"Argument list too long",
        8 => b"Exec format error",
        9 => b"Bad file descriptor",
        12 => b"Cannot allocate memory",
        13 => b"Permission denied",
        20 => b"Not a directory",
        21 => b"Is a directory",
        22 => b"Invalid argument",
        25 => b"Inappropriate ioctl for device",
        26 => b"Text file busy",
        36 => b"File name too long",
        38 => b"Function not implemented",
        40 => b"Too many levels of symbolic links",
        _ => b"",
    };
    if !text.is_empty() {
        write_all(text);
        write_all(b" (");
    }
    write_all(b"os error ");
    let mut digits = [0u8; 10];
    let mut n = errno.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    write_all(&digits[at..]);
    if !text.is_empty() {
        write_all(b")");
    }
}

fn fail(what: &[u8], errno: Option<i32>) -> i32 {
    write_all(b"codex-linux-sandbox: ");
    write_all(what);
    if let Some(errno) = errno {
        write_all(b": ");
        write_error(errno);
    }
    write_all(b"\n");
    EXIT_SETUP
}

fn fail_with(what: &[u8], arg: CStr) -> i32 {
    write_all(b"codex-linux-sandbox: ");
    write_all(what);
    write_all(bytes(arg));
    write_all(b"\n");
    EXIT_SETUP
}

/// Raw system calls: numbers per architecture and one entry point.
pub mod sys {
    #[cfg(target_arch = "x86_64")]
    mod numbers {
        pub const WRITE: usize = 1;
        pub const CLOSE: usize = 3;
        pub const IOCTL: usize = 16;
        pub const CLONE: usize = 56;
        pub const WAIT4: usize = 61;
        pub const EXECVE: usize = 59;
        pub const SETSID: usize = 112;
        pub const CAPGET: usize = 125;
        pub const CAPSET: usize = 126;
        pub const PRCTL: usize = 157;
        pub const EXIT_GROUP: usize = 231;
        pub const OPENAT: usize = 257;
        pub const FCNTL: usize = 72;
        pub const PRLIMIT64: usize = 302;
    }
    #[cfg(target_arch = "aarch64")]
    mod numbers {
        pub const WRITE: usize = 64;
        pub const CLOSE: usize = 57;
        pub const IOCTL: usize = 29;
        pub const CLONE: usize = 220;
        pub const WAIT4: usize = 260;
        pub const EXECVE: usize = 221;
        pub const SETSID: usize = 157;
        pub const CAPGET: usize = 90;
        pub const CAPSET: usize = 91;
        pub const PRCTL: usize = 167;
        pub const EXIT_GROUP: usize = 94;
        pub const OPENAT: usize = 56;
        pub const FCNTL: usize = 25;
        pub const PRLIMIT64: usize = 261;
    }
    pub use numbers::*;
    // Numbered alike on every architecture.
    pub const CLOSE_RANGE: usize = 436;
    pub const LANDLOCK_CREATE_RULESET: usize = 444;
    pub const LANDLOCK_ADD_RULE: usize = 445;
    pub const LANDLOCK_RESTRICT_SELF: usize = 446;

    /// System call `number` with six arguments; the result, or the errno.
    ///
    /// # Safety
    /// The arguments must be what the call documents: pointers valid (and NUL-terminated or
    /// sized as it expects) for its duration, descriptors this process owns.
    pub unsafe fn call(number: usize, args: [usize; 6]) -> Result<usize, i32> {
        let result: isize;
        // SAFETY: the caller upholds this function's contract.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") number as isize => result,
                in("rdi") args[0], in("rsi") args[1], in("rdx") args[2],
                in("r10") args[3], in("r8") args[4], in("r9") args[5],
                lateout("rcx") _, lateout("r11") _,
                options(nostack),
            );
        }
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        unsafe {
            core::arch::asm!(
                "svc 0",
                in("x8") number,
                inlateout("x0") args[0] as isize => result,
                in("x1") args[1], in("x2") args[2], in("x3") args[3],
                in("x4") args[4], in("x5") args[5],
                options(nostack),
            );
        }
        if (-4095..0).contains(&result) {
            Err(-result as i32)
        } else {
            Ok(result as usize)
        }
    }

    /// Ends the process (the freestanding program's way out, and pid 1's).
    pub fn exit(code: i32) -> ! {
        loop {
            // SAFETY: exit_group takes an integer only.
            let _ = unsafe { call(EXIT_GROUP, [code as usize, 0, 0, 0, 0, 0]) };
        }
    }
}
