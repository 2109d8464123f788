//! The built-in bubblewrap replacement, for hosts without a usable `bwrap`: it interprets the
//! very same plan (the bwrap argument list `codex-sandbox` builds), so both executors enforce
//! one plan and pass one conformance suite.
//!
//! The helper forks the command, which unshares user, mount, pid, ipc (and, network off, net)
//! namespaces and forks once more so that it is pid 1 of the new pid namespace; there, before
//! exec: a private tmpfs becomes the root with the host's root under `/oldroot`, the plan's
//! mounts are made under `/newroot`, `/proc` is mounted, the process pivots into `/newroot` and
//! detaches the host's root, forks the command's process (pid 2: pid 1 ignores signals it has
//! no handler for) and stays as its init, and the command's process execs the inner stage
//! (no-new-privs, Landlock, no capabilities, seccomp). No exec happens between unshare and setup, so the user keeps its
//! own uid and needs no mapping to root.

use crate::sys;
use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

const OLD_ROOT: &str = "/oldroot";
const NEW_ROOT: &str = "/newroot";

/// Devices bound into the private `/dev`.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

fn old(path: &str) -> PathBuf {
    Path::new(OLD_ROOT).join(path.trim_start_matches('/'))
}

fn new(path: &str) -> PathBuf {
    Path::new(NEW_ROOT).join(path.trim_start_matches('/'))
}

fn context(what: &str, path: &Path) -> impl FnOnce(io::Error) -> io::Error {
    let what = format!("{what} {}", path.display());
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Creates `dest` as a mount point: a directory, or an empty file when `file`.
fn mount_point(dest: &Path, file: bool) -> io::Result<()> {
    if fs::symlink_metadata(dest).is_ok() {
        return Ok(());
    }
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(context("creating", parent))?;
    }
    if file {
        fs::write(dest, b"").map_err(context("creating", dest))
    } else {
        fs::create_dir(dest).map_err(context("creating", dest))
    }
}

/// What setting up the plan leaves for the command's first process.
struct Setup {
    proc_target: Option<PathBuf>,
    cwd: PathBuf,
}

/// Interprets the plan's arguments (as built for bwrap) under `/newroot`.
fn apply_plan(args: &[String]) -> io::Result<Setup> {
    let mut setup = Setup {
        proc_target: None,
        cwd: PathBuf::from("/"),
    };
    let mut perms: Option<u32> = None;
    let mut data_files = 0;
    let mut i = 0;
    while i < args.len() {
        let arg = |k: usize| args.get(i + k).map(String::as_str).unwrap_or_default();
        match arg(0) {
            "--perms" => {
                perms = u32::from_str_radix(arg(1), 8).ok();
                i += 2;
            }
            flag @ ("--bind" | "--ro-bind") => {
                let (source, dest) = (old(arg(1)), new(arg(2)));
                let is_file = fs::metadata(&source)
                    .map(|m| !m.is_dir())
                    .map_err(context("reading", &source))?;
                mount_point(&dest, is_file)?;
                bind(&source, &dest)?;
                if flag == "--ro-bind" {
                    sys::set_tree_read_only(&dest, true)
                        .map_err(context("making read-only", &dest))?;
                }
                i += 3;
            }
            "--tmpfs" => {
                let dest = new(arg(1));
                mount_point(&dest, false)?;
                sys::mount_tmpfs(&dest, perms.take().unwrap_or(0o755))
                    .map_err(context("mounting a tmpfs on", &dest))?;
                i += 2;
            }
            "--dir" => {
                let dest = new(arg(1));
                fs::create_dir_all(&dest).map_err(context("creating", &dest))?;
                fs::set_permissions(
                    &dest,
                    fs::Permissions::from_mode(perms.take().unwrap_or(0o755)),
                )?;
                i += 2;
            }
            "--ro-bind-data" => {
                // An empty file with the planned mode, kept in this stage's private root.
                let source = PathBuf::from(format!("/codex-data-{data_files}"));
                data_files += 1;
                fs::write(&source, b"")?;
                fs::set_permissions(
                    &source,
                    fs::Permissions::from_mode(perms.take().unwrap_or(0o644)),
                )?;
                let dest = new(arg(2));
                mount_point(&dest, true)?;
                bind(&source, &dest)?;
                sys::set_mount_read_only(&dest).map_err(context("making read-only", &dest))?;
                i += 3;
            }
            "--remount-ro" => {
                let dest = new(arg(1));
                sys::set_mount_read_only(&dest).map_err(context("making read-only", &dest))?;
                i += 2;
            }
            "--symlink" => {
                let link = new(arg(2));
                if let Some(parent) = link.parent() {
                    fs::create_dir_all(parent)?;
                }
                symlink(arg(1), &link).map_err(context("creating the symlink", &link))?;
                i += 3;
            }
            "--dev" => {
                private_dev(&new(arg(1)))?;
                i += 2;
            }
            "--proc" => {
                let dest = new(arg(1));
                mount_point(&dest, false)?;
                setup.proc_target = Some(dest);
                i += 2;
            }
            "--chdir" => {
                setup.cwd = PathBuf::from(arg(1));
                i += 2;
            }
            "--cap-drop" => i += 2,
            // Namespaces, sessions and parent death are set up by the helper and the inner
            // stage; these flags need nothing here.
            "--unshare-user" | "--unshare-pid" | "--unshare-ipc" | "--unshare-net"
            | "--new-session" | "--die-with-parent" => i += 1,
            // A plan this executor does not understand is not run half-understood.
            flag => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("the built-in executor does not know the plan's {flag:?}"),
                ));
            }
        }
    }
    Ok(setup)
}

fn bind(source: &Path, dest: &Path) -> io::Result<()> {
    sys::bind_onto(source, dest).map_err(context("binding onto", dest))
}

/// A minimal `/dev`: the usual devices bound from the host, a private `shm` and `pts`.
fn private_dev(dev: &Path) -> io::Result<()> {
    mount_point(dev, false)?;
    sys::mount_tmpfs(dev, 0o755).map_err(context("mounting a tmpfs on", dev))?;
    for name in DEVICES {
        let source = old(&format!("/dev/{name}"));
        if fs::metadata(&source).is_err() {
            continue;
        }
        let dest = dev.join(name);
        mount_point(&dest, true)?;
        bind(&source, &dest)?;
    }
    // As bubblewrap does: when our output is a terminal (which the command may write to
    // anyway), it also appears as /dev/console, so that ttyname() finds a name for it (the
    // private `pts` below does not show the host's terminals).
    // (Only where the terminal's host name still leads to it: one from a devpts this root
    // does not show is left nameless, as before.)
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        use std::os::unix::fs::MetadataExt;
        let host = fs::read_link(old("/proc/self/fd/1"))
            .map(|name| old(&name.to_string_lossy()))
            .ok()
            .filter(|host| {
                let (Ok(named), Ok(ours)) =
                    (fs::metadata(host), fs::metadata(old("/proc/self/fd/1")))
                else {
                    return false;
                };
                named.rdev() == ours.rdev()
                    && named.dev() == ours.dev()
                    && named.ino() == ours.ino()
            });
        if let Some(host) = host {
            let console = dev.join("console");
            mount_point(&console, true)?;
            bind(&host, &console)?;
        }
    }
    let shm = dev.join("shm");
    fs::create_dir(&shm)?;
    sys::mount_tmpfs(&shm, 0o1777).map_err(context("mounting a tmpfs on", &shm))?;
    let pts = dev.join("pts");
    fs::create_dir(&pts)?;
    sys::mount_devpts(&pts).map_err(context("mounting devpts on", &pts))?;
    symlink("pts/ptmx", dev.join("ptmx"))?;
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, dev.join(name))?;
    }
    Ok(())
}

/// Builds the sandbox's filesystem view in the calling process (between fork and exec, already
/// in new user, mount and pid namespaces and pid 1 of the latter), then enters it: after this
/// returns, `/` is the planned view and the working directory is `cwd`.
pub fn enter(plan: &[String]) -> io::Result<()> {
    prepare_root()?;
    let setup = apply_plan(plan)?;
    // Mounted while the host's root is still attached (the kernel allows a new procfs in a
    // user namespace only when one is fully visible).
    if let Some(target) = &setup.proc_target {
        sys::mount_proc(target).map_err(context("mounting proc on", target))?;
    }
    std::env::set_current_dir(NEW_ROOT)?;
    sys::pivot_root(Path::new("."), Path::new("."))?;
    sys::detach_mount(Path::new("."))?;
    std::env::set_current_dir(&setup.cwd).map_err(context("entering", &setup.cwd))
}

/// A private tmpfs becomes the root; the host's root moves to `/oldroot`; `/newroot` is made a
/// mount point for the final pivot.
fn prepare_root() -> io::Result<()> {
    sys::make_mounts_private().map_err(context("making mounts private at", Path::new("/")))?;
    let scratch = Path::new("/tmp");
    sys::mount_tmpfs(scratch, 0o755).map_err(context("mounting a tmpfs on", scratch))?;
    fs::create_dir(scratch.join("oldroot"))?;
    fs::create_dir(scratch.join("newroot"))?;
    sys::pivot_root(scratch, &scratch.join("oldroot"))
        .map_err(context("pivoting into", scratch))?;
    std::env::set_current_dir("/")?;
    bind(Path::new(NEW_ROOT), Path::new(NEW_ROOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flag the executor does not know stops the plan before anything is done: read past,
    /// it could drop a restriction the plan meant, or take its argument for a flag.
    #[test]
    fn an_unknown_plan_flag_is_refused() {
        let plan = ["--unshare-user", "--frobnicate", "/x"].map(String::from);
        let error = apply_plan(&plan).err().expect("refused");
        assert!(error.to_string().contains("\"--frobnicate\""), "{error}");
    }
}
