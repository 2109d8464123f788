//! Running one command under a policy: resolve it, choose the route, apply the plan in the
//! child between fork and exec (or hand it to bubblewrap), wait, clean up.
//!
//! Every route: a new session, death with the parent, no descriptors above 2 (except what
//! bubblewrap consumes), no capabilities, no-new-privs, the seccomp plan. The Landlock route
//! adds Landlock and, where a mount namespace can be made, read-only bind mounts for protected
//! paths (otherwise the per-entry Landlock plan, whose limit is stated in the warning). The
//! bubblewrap route adds Landlock inside the namespace as a second layer when the kernel's ABI
//! suffices.

use crate::bwrap::{self, BwrapProblem};
use crate::landlock_apply::{self, LandlockError, MIN_ABI};
use crate::mount_points::{Claim, MountPoints};
use crate::seccomp_apply::{self, SeccompError};
use crate::sys;
use codex_protocol::{FileSystemAccess, NetworkSandboxPolicy};
use codex_sandbox::config::SandboxSelection;
use codex_sandbox::linux::{
    BwrapFacts, LandlockAccess, LandlockRule, LinuxRoute, PER_ENTRY_LIMIT, bwrap_plan,
    bwrap_plan_with, choose_route, landlock_plan, landlock_plan_per_entry, seccomp_plan,
};
use codex_sandbox::{HostEnv, HostFs, MemoFs, ResolveError, ResolvedPolicy};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// Operator override of the route (never weaker): `bubblewrap` runs legacy-equivalent
/// policies under bubblewrap too; `no-namespaces` makes the Landlock route use its per-entry
/// plan, as on hosts without user namespaces.
pub const FORCE_ENV: &str = "CODEX_LINUX_SANDBOX_FORCE";

/// The argv[1] of the inner stage that runs inside bubblewrap.
pub const INNER_FLAG: &str = "--codex-linux-sandbox-inner";

/// `binary`: run the inner stage with this (full) binary instead of the embedded freestanding
/// program. Both enforce the same; the embedded one starts faster. For tests and diagnosis.
pub const INNER_STAGE_ENV: &str = "CODEX_LINUX_SANDBOX_INNER";

/// The inner stage as a freestanding program (see `stage.rs` and `build.rs`); empty where it
/// is not built.
const STAGE_PROGRAM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/inner-stage"));

/// What to run and under which policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxRequest {
    /// The directory the policy is resolved against (its `:workspace_roots`).
    pub policy_cwd: PathBuf,
    /// Where the command runs.
    pub command_cwd: PathBuf,
    pub selection: SandboxSelection,
    /// Standard input is a terminal made for this command alone (a PTY session): the command
    /// gets it as its controlling terminal, so job control and Ctrl-C written to it work.
    /// Never set this for a terminal someone else uses: the command could type into it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
}

/// Why a command could not be run sandboxed. Nothing ran.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    #[error(transparent)]
    Policy(#[from] ResolveError),
    #[error("the built-in namespace sandbox could not be set up ({0}), so nothing runs")]
    Builtin(io::Error),
    #[error(transparent)]
    Landlock(#[from] LandlockError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error("no command given")]
    NoCommand,
    #[error(
        "the working directory {} is not readable under this policy; run from a directory the policy allows, or allow it",
        .0.display()
    )]
    CwdDenied(PathBuf),
    #[error("could not start {program}: {source}")]
    Spawn { program: String, source: io::Error },
    #[error("could not prepare the sandbox: {0}")]
    Setup(io::Error),
    #[error(
        "bubblewrap could not set up the sandbox (it exited with code {code}; its message is above), so nothing ran"
    )]
    Bubblewrap { code: i32 },
}

/// How the command ended, and which route ran it.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub route: LinuxRoute,
}

/// Runs `command` sandboxed and waits for it. `warn`, when given, hears before the command
/// starts of each limit of how this run is enforced (bubblewrap missing, no user namespaces),
/// found out at some cost where needed: `codex sandbox linux` prints them. The helper that
/// core starts gives none, since core said so once at session start ([`startup_warning`]).
pub fn run(
    request: &SandboxRequest,
    command: &[OsString],
    warn: Option<&dyn Fn(&str)>,
) -> Result<Outcome, SandboxError> {
    let quiet = |_: &str| {};
    let warn_now: &dyn Fn(&str) = warn.unwrap_or(&quiet);
    if command.is_empty() {
        return Err(SandboxError::NoCommand);
    }
    let env = HostEnv::from_process();
    let fs = MemoFs::new(HostFs);
    let policy = request.selection.resolve(&request.policy_cwd, &env, &fs)?;
    if policy.decide(&request.command_cwd).access == FileSystemAccess::None {
        return Err(SandboxError::CwdDenied(request.command_cwd.clone()));
    }
    let force = std::env::var(FORCE_ENV).unwrap_or_default();
    let abi = sys::landlock_abi();
    let route = host_route(choose_route(&policy, &env, &fs), abi, &force);
    let status = match route {
        LinuxRoute::Unsandboxed => run_unsandboxed(request, command)?,
        LinuxRoute::Landlock => {
            // Where a user namespace can be made but not used (Ubuntu's AppArmor restriction),
            // the per-entry plan, rather than a run refused half-way through its set-up. With
            // someone to tell when there are none, a probe first — unless this is root with
            // CAP_SYS_ADMIN, which makes a mount namespace (a root in a container without it
            // is probed). Otherwise the child falls back by itself where it can make none, or
            // cannot change its mounts.
            let root = sys::ids().0 == 0;
            let probe = (warn.is_some() && !(root && sys::has_cap_sys_admin()))
                || (!root && sys::user_namespaces_restricted_by_apparmor());
            let namespaces = mount_namespace_usable(&force, probe);
            run_landlock(request, command, &policy, abi, namespaces, warn_now)?
        }
        LinuxRoute::Bubblewrap => {
            let found = if force == "builtin" {
                Err(BwrapProblem::Missing)
            } else {
                bwrap::find(&writable_roots(&policy))
            };
            match found {
                Ok(bwrap) => run_bubblewrap(request, command, &policy, abi, Some(&bwrap))?,
                Err(problem) => {
                    if force != "builtin" {
                        warn_now(&format!(
                            "{problem}; using the built-in namespace sandbox instead"
                        ));
                    }
                    run_bubblewrap(request, command, &policy, abi, None)?
                }
            }
        }
    };
    Ok(Outcome { status, route })
}

/// The route the policy's `route` takes on a kernel with Landlock ABI `abi`, given the
/// operator's [`FORCE_ENV`] (never a weaker one): where Landlock cannot enforce the policy
/// (too old, or told not to), a namespace view enforces the same policy exactly.
fn host_route(route: LinuxRoute, abi: u8, force: &str) -> LinuxRoute {
    let landlock_refused = abi < MIN_ABI || force == "bubblewrap" || force == "builtin";
    if route == LinuxRoute::Landlock && landlock_refused {
        LinuxRoute::Bubblewrap
    } else {
        route
    }
}

/// Whether the Landlock route may count on a mount namespace: not when the operator's
/// [`FORCE_ENV`] says `no-namespaces`, nor when `probe` is asked for and a short-lived child
/// cannot make one and change its mounts.
fn mount_namespace_usable(force: &str, probe: bool) -> bool {
    force != "no-namespaces" && (!probe || sys::can_create_mount_namespace())
}

/// Whether the Landlock route runs the per-entry plan on this host (no mount namespace can be
/// made and used here, or the operator's override says so), as `sandbox explain` shows it.
/// Root with `CAP_SYS_ADMIN` can always make one.
pub fn runs_per_entry_plan() -> bool {
    let force = std::env::var(FORCE_ENV).unwrap_or_default();
    let probe = !(sys::ids().0 == 0 && sys::has_cap_sys_admin());
    !mount_namespace_usable(&force, probe)
}

/// The route `run` would take for `policy` on this host, with the operator's override.
pub fn effective_route(policy: &ResolvedPolicy) -> LinuxRoute {
    let env = HostEnv::from_process();
    let force = std::env::var(FORCE_ENV).unwrap_or_default();
    host_route(
        choose_route(policy, &env, &HostFs),
        sys::landlock_abi(),
        &force,
    )
}

fn writable_roots(policy: &ResolvedPolicy) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = policy
        .rules()
        .iter()
        .filter(|r| r.access == FileSystemAccess::Write)
        .map(|r| r.path.clone())
        .collect();
    roots.push(policy.cwd.clone());
    roots
}

fn command_for(program: &OsString, args: &[OsString], cwd: &Path) -> Command {
    let mut command = Command::new(program);
    command.args(args).current_dir(cwd);
    command
}

/// Runs `command` (with `setup` applied in its process first) and waits for it as its
/// supervisor: stopping the helper (SIGTERM, SIGINT, SIGHUP) kills the command's process
/// group, and when the command ends, whatever it left running is killed too — nothing
/// outlives a sandboxed command. The child shares our memory until it execs
/// ([`sys::spawn_sharing_memory`]) rather than being a copy of it.
fn supervise(
    command: &[OsString],
    cwd: &Path,
    mut setup: impl FnMut() -> io::Result<()>,
) -> Result<ExitStatus, SandboxError> {
    let error = |source| SandboxError::Spawn {
        program: command[0].to_string_lossy().into_owned(),
        source,
    };
    // Before the spawn, so that all the command's descendants end up ours.
    let subreaper = sys::become_subreaper().is_ok();
    let pid =
        sys::spawn_sharing_memory(&command[0], &command[1..], cwd, &mut setup).map_err(error)?;
    sys::forward_termination_to_group(pid);
    sys::wait_then_kill_group(pid, subreaper).map_err(error)
}

/// Whether this process may become the command itself (exec in place, no extra process):
/// nothing needs cleaning up afterwards, and it can give the command a session of its own —
/// it is not a process-group leader (`setsid` works), or it already leads a session without a
/// terminal (as core starts it).
fn can_exec_in_place(nothing_to_clean_up: bool) -> bool {
    nothing_to_clean_up
        && (!sys::is_process_group_leader() || sys::leads_session_without_terminal())
}

/// Becomes `command` (program and arguments) when `in_place`, and otherwise starts and
/// [`supervise`]s it; `setup` runs in the command's process, in `cwd`, just before the exec.
/// In place, it returns only on failure.
fn start<F>(
    command: &[OsString],
    cwd: &Path,
    in_place: bool,
    setup: F,
) -> Result<ExitStatus, SandboxError>
where
    F: FnMut() -> io::Result<()> + Send + Sync + 'static,
{
    if !in_place {
        return supervise(command, cwd, setup);
    }
    let mut child = command_for(&command[0], &command[1..], cwd);
    sys::before_exec(&mut child, setup);
    let source = std::os::unix::process::CommandExt::exec(&mut child);
    Err(SandboxError::Spawn {
        program: command[0].to_string_lossy().into_owned(),
        source,
    })
}

/// The built-in executor: the plan applied by this process's own child in new namespaces.
fn run_builtin(
    request: &SandboxRequest,
    plan_args: &[OsString],
    inner: &InnerStage,
    network: NetworkSandboxPolicy,
    in_place: bool,
) -> Result<ExitStatus, SandboxError> {
    let (stage_from, stage_to) = inner.placement();
    let keep = [stage_to];
    let stage_argv = inner.argv.clone();
    let plan: Vec<String> = plan_args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Only the vehicle of the set-up below, which never returns to it: pid 1 of the new
    // namespace starts the inner stage itself (`sys::init_of_command`).
    let mut child = Command::new(&stage_argv[0]);
    child.current_dir(&request.command_cwd);
    let (uid, gid) = sys::ids();
    let mut flags =
        libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWIPC;
    if network == NetworkSandboxPolicy::Restricted {
        flags |= libc::CLONE_NEWNET;
    }
    // What failed, in words: from the child, only an errno would reach `status()`.
    let (report_read, first_write) = sys::pipe().map_err(SandboxError::Setup)?;
    // Above where the stage's descriptor goes, which must not replace it; the first write end
    // goes at once (an open one here would keep the read below from ever ending).
    let report_write = sys::dup_above(&first_write, stage_to + 1).map_err(SandboxError::Setup)?;
    drop(first_write);
    let report_fd = std::os::fd::AsRawFd::as_raw_fd(&report_write);
    let blocked = "user namespaces may be blocked on this host (see the sandbox startup warning)";
    // A terminal is claimed by the inner stage (`--tty`), in a session of its own.
    let setup = move || -> io::Result<()> {
        sys::new_session()?;
        sys::kill_with_parent()?;
        sys::unshare(flags)
            .map_err(|e| io::Error::new(e.kind(), format!("unshare: {e}; {blocked}")))?;
        sys::map_ids_to_themselves(uid, gid).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("mapping ids into the user namespace: {e}; {blocked}"),
            )
        })?;
        // From here on this process only waits; its child is pid 1 of the new namespace.
        sys::fork_and_mirror_child()?;
        sys::kill_with_parent()?;
        crate::builtin::enter(&plan)?;
        // While the namespace's capabilities are still ours (exec as a non-root user loses
        // them, and with them the power to shrink the bounding set), as `bwrap --cap-drop ALL`.
        sys::drop_all_capabilities()?;
        sys::move_descriptor(stage_from, stage_to)?;
        sys::close_descriptors_above_stderr(&keep)?;
        // The command is pid 2 (pid 1 ignores signals it has no handler for): this process
        // starts the inner stage itself and stays as its init.
        sys::init_of_command(&stage_argv[0], &stage_argv[1..])
    };
    sys::before_exec(&mut child, move || {
        setup().inspect_err(|error| sys::write_best_effort(report_fd, &error.to_string()))
    });
    if in_place {
        return Err(SandboxError::Builtin(
            std::os::unix::process::CommandExt::exec(&mut child),
        ));
    }
    // Whoever stops the helper stops the command (its session and group, which pid 1's mirror
    // leads), and the helper still removes its mount points.
    let status = child.spawn().and_then(|mut child| {
        sys::forward_termination_to_group(child.id() as libc::pid_t);
        child.wait()
    });
    drop(report_write);
    status.map_err(|error| {
        let mut report = String::new();
        let _ = io::Read::read_to_string(&mut std::fs::File::from(report_read), &mut report);
        if report.is_empty() {
            SandboxError::Builtin(error)
        } else {
            SandboxError::Builtin(io::Error::new(error.kind(), report))
        }
    })
}

fn run_unsandboxed(
    request: &SandboxRequest,
    command: &[OsString],
) -> Result<ExitStatus, SandboxError> {
    let tty = request.tty;
    let setup = move || {
        if tty {
            sys::new_session()?;
            sys::claim_terminal()?;
        }
        sys::close_descriptors_above_stderr(&[])
    };
    start(
        command,
        &request.command_cwd,
        can_exec_in_place(true),
        setup,
    )
}

fn run_landlock(
    request: &SandboxRequest,
    command: &[OsString],
    policy: &ResolvedPolicy,
    abi: u8,
    allow_namespaces: bool,
    warn: &dyn Fn(&str),
) -> Result<ExitStatus, SandboxError> {
    let plan = landlock_plan(policy).expect("the Landlock route has a restricted policy");
    // The child uses the mount plan when it can make a mount namespace, and otherwise makes
    // the per-entry plan then and there (it lists every writable root, so only when needed;
    // the set-up runs before exec as this single-threaded helper would, so it may allocate).
    let needs_per_entry = !plan.read_only_mounts.is_empty();
    let flat_policy = policy.clone();
    let terminals = terminal_rules();
    let mut mount_free_rules = plan.rules.clone();
    mount_free_rules.extend(terminals.iter().cloned());
    if !allow_namespaces {
        warn(PER_ENTRY_LIMIT);
    }
    // With a mount namespace, protected paths are mounted over: missing ones get a mount
    // point, and empty directories (maybe another command's mount point) are held meanwhile.
    let mut mount_points = MountPoints::default();
    let mut mount_paths: Vec<PathBuf> = Vec::new();
    if allow_namespaces {
        for mount in &plan.read_only_mounts {
            if mount_points
                .claim(&mount.path)
                .map_err(SandboxError::Setup)?
                != Claim::Uncreatable
            {
                mount_paths.push(mount.path.clone());
            }
        }
    }
    let mut ns_rules = plan.rules;
    ns_rules.extend(terminals.iter().cloned());
    // With a mount namespace the whole tree is read-only by mount flags too, so what Landlock
    // does not mediate (chmod, chown, utimes, xattrs) cannot touch read-only paths either.
    let writable_paths = outermost(
        policy
            .rules()
            .iter()
            .filter(|r| {
                r.access == FileSystemAccess::Write && r.kind != codex_sandbox::PathKind::Missing
            })
            .map(|r| r.path.clone())
            .collect(),
    );
    let seccomp = seccomp_apply::compile(&seccomp_plan(policy.network))?;
    let (uid, gid) = sys::ids();
    let command_cwd = request.command_cwd.clone();
    let tty = request.tty;
    let setup = move || {
        sys::new_session()?;
        if tty {
            sys::claim_terminal()?;
        }
        sys::kill_with_parent()?;
        let flags = if uid == 0 {
            libc::CLONE_NEWNS
        } else {
            libc::CLONE_NEWUSER | libc::CLONE_NEWNS
        };
        let mut namespaces = allow_namespaces && sys::unshare(flags).is_ok();
        if namespaces && uid != 0 {
            // Inside a new user namespace: a failure here cannot be undone, so it stops the run.
            sys::map_ids_to_themselves(uid, gid).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("mapping ids into a new user namespace: {e} (user namespaces are restricted on this host; CODEX_LINUX_SANDBOX_FORCE=no-namespaces runs the Landlock-only plan)"),
                )
            })?;
        }
        // Mounts that cannot be changed (a container's AppArmor profile denying mount) leave
        // the namespace as it came, a copy of the host's: the per-entry plan then, as without.
        namespaces = namespaces && sys::make_mounts_private().is_ok();
        if namespaces {
            // Writable roots are copied as they are before everything is made read-only, and
            // put back after: a mount the host has read-only stays read-only beneath them.
            let writable_trees: Vec<std::os::fd::OwnedFd> = writable_paths
                .iter()
                .map(|path| sys::clone_tree(path))
                .collect::<io::Result<_>>()?;
            sys::set_tree_read_only(Path::new("/"), true)?;
            // Protected paths are taken hold of while everything is read-only, so that each
            // bind of one comes out read-only already.
            let sources: Vec<Option<std::os::fd::OwnedFd>> =
                mount_paths.iter().map(|p| sys::open_path(p).ok()).collect();
            for (path, tree) in writable_paths.iter().zip(&writable_trees) {
                sys::attach_tree(tree, path)?;
            }
            for (path, source) in mount_paths.iter().zip(&sources) {
                match source {
                    Some(source) => sys::bind_read_only_from(source, path)?,
                    None => sys::bind_read_only(path)?,
                }
            }
            // The working directory was entered before the mounts; enter it again so it
            // resolves through them.
            std::env::set_current_dir(&command_cwd)?;
        }
        sys::close_descriptors_above_stderr(&[])?;
        sys::set_no_new_privs()?;
        let flat_rules;
        let rules = if namespaces {
            &ns_rules
        } else if needs_per_entry {
            let mut plan = landlock_plan_per_entry(&flat_policy, &HostFs)
                .expect("restricted policy")
                .rules;
            plan.extend(terminals.iter().cloned());
            flat_rules = plan;
            &flat_rules
        } else {
            &mount_free_rules
        };
        landlock_apply::apply(rules, abi).map_err(io::Error::other)?;
        sys::drop_all_capabilities()?;
        seccomp_apply::install(&seccomp).map_err(io::Error::other)?;
        Ok(())
    };
    let in_place = can_exec_in_place(mount_points.is_empty());
    let status = start(command, &request.command_cwd, in_place, setup);
    mount_points.release_in_background();
    status
}

/// `paths` without those beneath another of them: the copy of a writable root's mount tree
/// brings back the roots inside it too.
fn outermost(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    let mut kept: Vec<PathBuf> = Vec::new();
    for path in paths {
        if !kept.iter().any(|outer| path.starts_with(outer)) {
            kept.push(path);
        }
    }
    kept
}

/// Runs the bubblewrap plan with `bwrap`, or with the built-in executor when `bwrap` is `None`.
fn run_bubblewrap(
    request: &SandboxRequest,
    command: &[OsString],
    policy: &ResolvedPolicy,
    abi: u8,
    bwrap: Option<&bwrap::Bwrap>,
) -> Result<ExitStatus, SandboxError> {
    // Mount points for missing masked paths are made here (where the user cannot create one,
    // the user cannot create that path either); empty directories masked under a writable
    // parent (maybe another command's mount points) are held while the command runs.
    let mut mount_points = MountPoints::default();
    let mut uncreatable = Vec::new();
    let first = bwrap_plan(policy);
    for path in mount_targets(policy, &first) {
        if mount_points.claim(&path).map_err(SandboxError::Setup)? == Claim::Uncreatable {
            uncreatable.push(path);
        }
    }
    // Facts change the plan only when some mount point cannot be made.
    let plan = if uncreatable.is_empty() {
        first
    } else {
        bwrap_plan_with(policy, &BwrapFacts { uncreatable })
    };
    let mut options = stage_options(policy, abi, request.tty, command)?;
    // This process becomes bubblewrap where it can: that costs no extra process nor its end
    // (about 0.6 ms here, most of it waking the waiting process on another CPU and then its
    // caller). bubblewrap reports a command's death by signal N as exit code 128 + N, so the
    // stage's init passes the signal on to bubblewrap's process (see `stage::init`), which
    // then dies of it as the command did; its core limit is 0 meanwhile (the crash was the
    // command's), and the stage gives the command ours back. Mount points to remove take a
    // janitor, started before the exec, that removes them once bubblewrap has ended. (A
    // signal this process was started ignoring, bubblewrap ignores too and cannot die of: a
    // command that sets such a signal back to its default and dies of it ends bubblewrap with
    // exit code 128 + N. Waiting instead whenever one is ignored would cost every caller that
    // ignores one — Python ignores SIGXFSZ and passes that on through `posix_spawn` — about
    // 0.35 ms a command here, so that case is left as it is, and documented.)
    let in_place = bwrap.is_some() && can_exec_in_place(true);
    let janitor_target = if in_place && !mount_points.is_empty() {
        // No pidfd (kernels before 5.3): this process waits instead.
        sys::pidfd_of_self().ok()
    } else {
        None
    };
    let in_place = in_place && (mount_points.is_empty() || janitor_target.is_some());
    let core_limit = if in_place {
        sys::core_limit().map_err(SandboxError::Setup)?
    } else {
        0
    };
    // Placed above the data descriptors bubblewrap reads; under bubblewrap, the init's report
    // pipe comes through the next two (see `stage::init`).
    let stage_fd = plan.empty_data_fds.iter().copied().max().unwrap_or(2) + 1;
    let (report_fd, relay_fd) = (stage_fd + 1, stage_fd + 2);
    if bwrap.is_some() {
        let mut init: Vec<OsString> = vec![
            "--init".into(),
            report_fd.to_string().into(),
            relay_fd.to_string().into(),
        ];
        if core_limit != 0 {
            init.push("--core-limit".into());
            init.push(if core_limit == libc::RLIM_INFINITY {
                "unlimited".into()
            } else {
                core_limit.to_string().into()
            });
        }
        options.splice(0..0, init);
    }
    let inner = InnerStage::new(options, stage_fd).map_err(SandboxError::Setup)?;
    let mut args: Vec<OsString> = plan.args.iter().map(OsString::from).collect();
    args.push("--chdir".into());
    args.push(request.command_cwd.clone().into());

    let Some(bwrap) = bwrap else {
        let in_place = can_exec_in_place(mount_points.is_empty());
        let status = run_builtin(request, &args, &inner, policy.network, in_place);
        mount_points.release_in_background();
        return status;
    };
    // The stage is the namespace's init (instead of bubblewrap's), so no process is added.
    args.push("--as-pid-1".into());
    args.push("--".into());
    args.extend(inner.argv.iter().cloned());
    let memfds: Vec<i32> = plan
        .empty_data_fds
        .iter()
        .map(|_| sys::empty_memfd())
        .collect::<io::Result<_>>()
        .map_err(SandboxError::Setup)?;
    // Every inherited descriptor and where bubblewrap (or the stage) expects it.
    let mut placements: Vec<(i32, i32)> = memfds
        .iter()
        .copied()
        .zip(plan.empty_data_fds.iter().copied())
        .collect();
    placements.push(inner.placement());
    // The init's report (read here without blocking, where this process waits) and its read
    // end, through which the init relays a death by signal.
    let (report_read, report_write) = sys::pipe_nonblocking().map_err(SandboxError::Setup)?;
    placements.push((std::os::fd::AsRawFd::as_raw_fd(&report_write), report_fd));
    placements.push((std::os::fd::AsRawFd::as_raw_fd(&report_read), relay_fd));
    let mut bwrap_command = vec![bwrap.path.clone().into_os_string()];
    bwrap_command.extend(args);

    let mount_points = if in_place {
        let janitor = match &janitor_target {
            Some(target) => mount_points.watch_bubblewrap(target),
            None => Ok(()),
        };
        match janitor {
            Ok(()) => {
                sys::own(&report_read).map_err(SandboxError::Setup)?;
                let setup = bubblewrap_setup(placements, false);
                return start(&bwrap_command, &request.command_cwd, true, setup);
            }
            Err(points) => points,
        }
    } else {
        mount_points
    };
    // Otherwise this process waits for bubblewrap, and ends as the command did.
    let setup = bubblewrap_setup(placements, true);
    let status = supervise(&bwrap_command, &request.command_cwd, setup);
    drop(report_write);
    drop(inner);
    mount_points.release_in_background();
    let status = status?;
    // A zero byte once the stage runs as init; then the signal that killed the command, if one.
    let mut report = [0u8; 2];
    let reported = io::Read::read(&mut std::fs::File::from(report_read), &mut report).unwrap_or(0);
    match (reported, status.code()) {
        (0, Some(code)) if code != 0 => Err(SandboxError::Bubblewrap { code }),
        (2, _) if report[1] > 0 => Ok(std::os::unix::process::ExitStatusExt::from_raw(i32::from(
            report[1],
        ))),
        _ => Ok(status),
    }
}

/// What runs in bubblewrap's process before its exec: death with our parent (or with us), a
/// session of its own when we wait for it (SIGTERM, SIGINT and SIGHUP to us kill its group;
/// its --new-session is for the command, further down), otherwise (this process becoming
/// bubblewrap) no core dumps, and every inherited descriptor in its place, no other.
fn bubblewrap_setup(
    placements: Vec<(i32, i32)>,
    own_session: bool,
) -> impl FnMut() -> io::Result<()> + Send + Sync + 'static {
    let targets: Vec<i32> = placements.iter().map(|(_, to)| *to).collect();
    move || {
        if own_session {
            sys::new_session()?;
        } else {
            // This process becomes bubblewrap, which may die of the command's signal.
            sys::no_core()?;
        }
        sys::kill_with_parent()?;
        // Park them high first, so placing them cannot clobber one another.
        for (i, (from, _)) in placements.iter().enumerate() {
            sys::move_descriptor(*from, 900 + i as i32)?;
        }
        for (i, (_, to)) in placements.iter().enumerate() {
            sys::move_descriptor(900 + i as i32, *to)?;
        }
        sys::close_descriptors_above_stderr(&targets)
    }
}

/// The embedded freestanding inner stage (empty where it is not built), for tests.
pub fn embedded_inner_stage() -> &'static [u8] {
    STAGE_PROGRAM
}

/// The inner stage's arguments (see `stage.rs`): the terminal, Landlock as a second layer
/// (where [`inner_landlock_rules`] gives one), the compiled seccomp filter, the command.
fn stage_options(
    policy: &ResolvedPolicy,
    abi: u8,
    tty: bool,
    command: &[OsString],
) -> Result<Vec<OsString>, SandboxError> {
    let seccomp = seccomp_apply::compile(&seccomp_plan(policy.network))?;
    let mut options: Vec<OsString> = Vec::new();
    if tty {
        options.push("--tty".into());
    }
    let rules = inner_landlock_rules(policy, abi);
    if !rules.is_empty() {
        options.push("--landlock".into());
        options.extend(landlock_apply::masks(abi).map(|m| OsString::from(m.to_string())));
        for rule in rules {
            options.push(match rule.access {
                LandlockAccess::ReadOnly => "--read".into(),
                LandlockAccess::ReadWrite => "--write".into(),
                LandlockAccess::ReadWriteFile => "--write-file".into(),
            });
            options.push(rule.path.into());
        }
    }
    options.push("--seccomp".into());
    options.push(seccomp_apply::to_hex(&seccomp).into());
    options.push("--".into());
    options.extend(command.iter().cloned());
    Ok(options)
}

/// The program that runs last inside the namespaces, and how to start it: the embedded
/// freestanding stage, or this binary with [`INNER_FLAG`]. Either is executed through a
/// descriptor (`/proc/self/fd/N`), never by a path, which the policy may deny inside.
struct InnerStage {
    argv: Vec<OsString>,
    /// The program, and the descriptor number it must have when the stage is executed.
    program: (std::os::fd::OwnedFd, i32),
}

impl InnerStage {
    /// `options` are the stage's arguments (see `stage.rs`); `fd` is the descriptor number the
    /// program is to have in the process that executes the stage.
    fn new(options: Vec<OsString>, fd: i32) -> io::Result<InnerStage> {
        let embedded = std::env::var(INNER_STAGE_ENV).as_deref() != Ok("binary");
        let memfd = (embedded && !STAGE_PROGRAM.is_empty())
            .then(|| sys::executable_memfd("codex-linux-sandbox-inner", STAGE_PROGRAM))
            .flatten();
        let mut argv: Vec<OsString> = vec![format!("/proc/self/fd/{fd}").into()];
        let program = match memfd {
            Some(memfd) => memfd,
            None => {
                argv.push(INNER_FLAG.into());
                // This very binary, even if its file was replaced or deleted since it started.
                // Close-on-exec is no obstacle: the kernel opens what it executes first.
                std::fs::File::open("/proc/self/exe")
                    .map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!("opening /proc/self/exe to run the inner stage: {e}"),
                        )
                    })?
                    .into()
            }
        };
        argv.extend(options);
        Ok(InnerStage {
            argv,
            program: (program, fd),
        })
    }

    /// The program's descriptor here, and the number it must be moved to.
    fn placement(&self) -> (i32, i32) {
        use std::os::fd::AsRawFd;
        (self.program.0.as_raw_fd(), self.program.1)
    }
}

/// The paths the bubblewrap plan mounts over that a command could otherwise create: the
/// synthetic targets (missing masked paths) and existing directories masked read-only or
/// denied under a writable parent.
fn mount_targets(policy: &ResolvedPolicy, plan: &codex_sandbox::linux::BwrapPlan) -> Vec<PathBuf> {
    let mut targets = plan.synthetic_targets.clone();
    for rule in policy.rules() {
        let under_writable = rule
            .path
            .parent()
            .is_some_and(|parent| policy.decide(parent).access == FileSystemAccess::Write);
        if rule.access != FileSystemAccess::Write
            && rule.kind == codex_sandbox::PathKind::Dir
            && under_writable
            && !targets.contains(&rule.path)
        {
            targets.push(rule.path.clone());
        }
    }
    targets
}

/// Landlock as a second layer inside the namespace view: read `/` (or, when the policy does
/// not, each path it reads, and the namespace's own `/proc`), write only the writable rules
/// and the private `/dev`. Empty (no second layer) when the kernel's Landlock cannot enforce
/// it, or the policy has no rules (nothing restricted).
fn inner_landlock_rules(policy: &ResolvedPolicy, abi: u8) -> Vec<LandlockRule> {
    // Denied paths are masked by the mounts; this layer bounds reads to what the view shows
    // and writes to what the policy makes writable.
    if abi < MIN_ABI || policy.rules().is_empty() {
        return Vec::new();
    }
    let rule = |path: &Path, access| LandlockRule {
        path: path.to_path_buf(),
        access,
    };
    let reads_root = policy.decide(Path::new("/")).access != FileSystemAccess::None;
    let mut rules = if reads_root {
        vec![rule(Path::new("/"), LandlockAccess::ReadOnly)]
    } else {
        vec![rule(Path::new("/proc"), LandlockAccess::ReadOnly)]
    };
    // Each writable path; each readable one too where `/` as a whole is not.
    rules.extend(policy.rules().iter().filter_map(|r| match r.access {
        FileSystemAccess::Write => Some(rule(&r.path, LandlockAccess::ReadWrite)),
        FileSystemAccess::Read if !reads_root => Some(rule(&r.path, LandlockAccess::ReadOnly)),
        _ => None,
    }));
    rules.push(rule(Path::new("/dev"), LandlockAccess::ReadWrite));
    rules.extend(terminal_rules());
    rules
}

/// The terminals the command was given (standard input, output or error), each by its
/// `/proc/self/fd` link, which leads to the terminal itself wherever its name points in the
/// command's view; and `/dev/tty`, which is the command's controlling terminal or nothing.
/// Reopening what it already holds — `echo >/dev/stderr`, `less` asking `/dev/tty` — grants
/// nothing new, and no policy names terminals (Landlock would refuse them as files).
fn terminal_rules() -> Vec<LandlockRule> {
    use std::io::IsTerminal;
    let terminals = [
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
    ];
    let mut rules: Vec<LandlockRule> = (0..3)
        .filter(|&fd| terminals[fd])
        .map(|fd| LandlockRule {
            path: PathBuf::from(format!("/proc/self/fd/{fd}")),
            access: LandlockAccess::ReadWrite,
        })
        .collect();
    if !rules.is_empty() {
        rules.push(LandlockRule {
            path: PathBuf::from("/dev/tty"),
            access: LandlockAccess::ReadWrite,
        });
    }
    rules
}

/// The inner stage run by this binary (when the embedded program cannot be): see `stage.rs`.
/// `args` are the arguments after [`INNER_FLAG`]. Returns only on failure, with the exit code.
pub fn inner_main(args: &[OsString]) -> i32 {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let mut argv: Vec<OsString> = vec![INNER_FLAG.into()];
        argv.extend(args.iter().cloned());
        sys::run_stage(&argv)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = args;
        fail("the inner stage supports x86_64 and aarch64 only")
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn fail(message: &str) -> i32 {
    eprintln!("codex-linux-sandbox: {message}");
    crate::EXIT_SANDBOX_ERROR
}

/// The exit code that reports how `status` ended, or the signal that ended it.
pub fn exit_code(status: ExitStatus) -> Result<i32, i32> {
    match (status.code(), status.signal()) {
        (Some(code), _) => Ok(code),
        (None, Some(signal)) => Err(signal),
        (None, None) => Ok(crate::EXIT_SANDBOX_ERROR),
    }
}

/// What this host offers for enforcing policies.
pub fn host_facts(untrusted: &[PathBuf]) -> codex_sandbox::linux::HostFacts {
    codex_sandbox::linux::HostFacts {
        bubblewrap: bwrap::find(untrusted).map(drop).map_err(|e| e.to_string()),
        user_namespaces: sys::can_create_mount_namespace(),
        landlock_abi: sys::landlock_abi(),
    }
}

/// The startup warning for running `selection` from `cwd` on this host, if any (core shows
/// it once per session; `sandbox explain` prints it too).
pub fn startup_warning(
    selection: &SandboxSelection,
    cwd: &Path,
) -> Result<Option<String>, SandboxError> {
    let env = HostEnv::from_process();
    let policy = selection.resolve(cwd, &env, &HostFs)?;
    let route = choose_route(&policy, &env, &HostFs);
    if route == LinuxRoute::Unsandboxed {
        return Ok(None);
    }
    Ok(codex_sandbox::linux::startup_warning(
        route,
        &host_facts(&writable_roots(&policy)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_protocol::SandboxPolicy;
    use codex_sandbox::GitMode;

    fn workspace_write(root: &Path) -> ResolvedPolicy {
        let selection = SandboxSelection::Legacy {
            policy: SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![],
                network_access: false,
                exclude_tmpdir_env_var: true,
                exclude_slash_tmp: true,
                read_only_access: Default::default(),
            },
            git: GitMode::ReadOnly,
        };
        selection
            .resolve(root, &HostEnv::default(), &HostFs)
            .unwrap()
    }

    #[test]
    fn only_the_outermost_writable_roots_are_bound() {
        let paths = |list: &[&str]| list.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            outermost(paths(&[
                "/tmp/ws",
                "/home/u/a",
                "/tmp",
                "/home/u/ab",
                "/tmp/ws/x"
            ])),
            paths(&["/home/u/a", "/home/u/ab", "/tmp"])
        );
    }

    #[test]
    fn landlock_steps_aside_only_for_an_old_kernel_or_the_operator() {
        use LinuxRoute::*;
        assert_eq!(host_route(Landlock, MIN_ABI, ""), Landlock);
        assert_eq!(host_route(Landlock, MIN_ABI, "no-namespaces"), Landlock);
        assert_eq!(host_route(Landlock, MIN_ABI - 1, ""), Bubblewrap);
        assert_eq!(host_route(Landlock, 0, "no-namespaces"), Bubblewrap);
        assert_eq!(host_route(Landlock, 7, "bubblewrap"), Bubblewrap);
        assert_eq!(host_route(Landlock, 7, "builtin"), Bubblewrap);
        // Never to a weaker route: the others stay what the policy needs.
        assert_eq!(host_route(Bubblewrap, 7, "no-namespaces"), Bubblewrap);
        assert_eq!(host_route(Unsandboxed, 0, "builtin"), Unsandboxed);
    }

    #[test]
    fn the_stage_gets_landlock_as_a_second_layer_and_the_filter() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let policy = workspace_write(&root);
        let options = stage_options(&policy, 5, true, &["true".into()]).unwrap();
        let text: Vec<String> = options
            .iter()
            .map(|o| o.to_string_lossy().into_owned())
            .collect();
        let at = |flag: &str| text.iter().position(|t| t == flag).unwrap();
        assert_eq!(text[0], "--tty");
        let masks = landlock_apply::masks(5).map(|m| m.to_string());
        assert_eq!(text[at("--landlock") + 1..at("--landlock") + 4], masks);
        let pairs: Vec<(&str, &str)> = text
            .windows(2)
            .filter(|w| w[0] == "--read" || w[0] == "--write")
            .map(|w| (w[0].as_str(), w[1].as_str()))
            .collect();
        assert!(pairs.contains(&("--read", "/")), "{pairs:?}");
        assert!(
            pairs.contains(&("--write", root.to_str().unwrap())),
            "{pairs:?}"
        );
        let filter = &text[at("--seccomp") + 1];
        assert!(filter.len() >= 16 && filter.len().is_multiple_of(16));
        assert_eq!(text[text.len() - 2..], ["--", "true"]);
    }

    /// A policy that does not read `/` still gets the second layer: reads bounded to the paths
    /// it reads (and the namespace's `/proc`), writes to its writable ones.
    #[test]
    fn a_policy_that_hides_the_root_still_gets_the_second_layer() {
        use codex_protocol::{FileSystemPath, FileSystemSandboxEntry, FileSystemSandboxPolicy};
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("out")).unwrap();
        let entry = |path: PathBuf, access| FileSystemSandboxEntry {
            path: FileSystemPath::Path { path },
            access,
            missing_path_behavior: Default::default(),
        };
        let selection = SandboxSelection::Profile {
            name: "narrow".into(),
            filesystem: FileSystemSandboxPolicy::Restricted {
                entries: vec![
                    entry("/usr".into(), FileSystemAccess::Read),
                    entry(root.clone(), FileSystemAccess::Read),
                    entry(root.join("out"), FileSystemAccess::Write),
                ],
            },
            network: NetworkSandboxPolicy::Restricted,
            macos: Default::default(),
            glob_scan_max_depth: None,
            git: codex_sandbox::GitMode::ReadOnly,
        };
        let policy = selection
            .resolve(&root, &HostEnv::default(), &HostFs)
            .unwrap();
        assert_eq!(policy.decide(Path::new("/")).access, FileSystemAccess::None);
        let rules = inner_landlock_rules(&policy, 5);
        let has = |path: &Path, access| rules.iter().any(|r| r.path == path && r.access == access);
        assert!(!rules.iter().any(|r| r.path == Path::new("/")), "{rules:?}");
        assert!(
            has(Path::new("/usr"), LandlockAccess::ReadOnly),
            "{rules:?}"
        );
        assert!(has(&root, LandlockAccess::ReadOnly), "{rules:?}");
        assert!(
            has(Path::new("/proc"), LandlockAccess::ReadOnly),
            "{rules:?}"
        );
        assert!(
            has(&root.join("out"), LandlockAccess::ReadWrite),
            "{rules:?}"
        );
        assert!(
            has(Path::new("/dev"), LandlockAccess::ReadWrite),
            "{rules:?}"
        );
    }

    #[test]
    fn without_a_landlock_abi_that_suffices_the_stage_gets_no_landlock_layer() {
        let dir = tempfile::tempdir().unwrap();
        let policy = workspace_write(&std::fs::canonicalize(dir.path()).unwrap());
        let options = stage_options(&policy, MIN_ABI - 1, false, &["true".into()]).unwrap();
        assert!(!options.iter().any(|o| o == "--landlock" || o == "--write"));
        assert!(options.iter().any(|o| o == "--seccomp"));
    }
}
