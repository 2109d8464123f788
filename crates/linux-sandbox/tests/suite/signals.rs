//! Signals reach the command on every route. The init of a pid namespace ignores every
//! signal it has no handler for (even from inside), so the command must not be it: a command
//! that is sent SIGTERM or SIGINT, by itself or by anyone, must end as it would outside the
//! sandbox, and the helper must end the same way (under `/usr/bin/bwrap` too, which itself
//! reports a death by signal N as exit code 128 + N). A command exiting with code 128 + N
//! is not mistaken for one that died of signal N. Whoever stops the helper stops the
//! command.

use super::conformance::{have, is_root};
use super::mount_points::{gone_soon, helper, workspace_write_request};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The routes to run on this host: Landlock (""), the built-in executor, bubblewrap.
pub(super) fn routes() -> Vec<&'static str> {
    let mut routes = vec![""];
    if is_root() || Path::new("/proc/sys/kernel/unprivileged_userns_clone").exists() {
        routes.push("builtin");
    }
    if have("/usr/bin/bwrap") {
        routes.push("bubblewrap");
    } else {
        println!("SKIP: the bubblewrap route (no /usr/bin/bwrap)");
    }
    routes
}

/// A workspace in a temporary directory: a bare one, where the protected names need mount
/// points made (and removed afterwards), or a repository whose `.git`, `.codex` and `.agents`
/// exist (and are not empty), which needs none. Under `/usr/bin/bwrap` only the first takes a
/// janitor process beside bubblewrap.
pub(super) fn workspace(repository: bool) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = std::fs::canonicalize(dir.path()).unwrap();
    if repository {
        for name in [".git", ".codex", ".agents"] {
            std::fs::create_dir(ws.join(name)).unwrap();
            std::fs::write(ws.join(name).join("keep"), "").unwrap();
        }
    }
    (dir, ws)
}

/// Also with the helper leading a process group of its own (then it cannot give the command a
/// session and waits for it, where it otherwise becomes bubblewrap under `/usr/bin/bwrap`),
/// and in a workspace that needs no mount points.
#[test]
fn a_signal_ends_the_command_as_it_would_outside() {
    use std::os::unix::process::CommandExt;
    for route in routes() {
        // SIGKILL and a real-time signal too (the init passes each on as it is).
        let signals = [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGKILL,
            libc::SIGRTMIN() + 6,
        ];
        for (signal, leader, repository) in signals
            .into_iter()
            .flat_map(|signal| [(signal, false), (signal, true)])
            .flat_map(|(signal, leader)| [(signal, leader, false), (signal, leader, true)])
        {
            let (_dir, ws) = workspace(repository);
            let started = Instant::now();
            let script = format!("kill -{signal} $$; sleep 3; echo ignored");
            let mut command = helper(&ws, route, &script);
            if leader {
                command.process_group(0);
            }
            let output = command.output().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                "",
                "{route}: signal {signal} was ignored"
            );
            assert_eq!(
                output.status.signal(),
                Some(signal),
                "{route} (own group: {leader}, repository: {repository}): {output:?}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{route}: waited"
            );
        }
    }
}

/// A command that dies of a signal that dumps core: the helper ends by that signal on every
/// route, leaving no core of its own (or of bubblewrap's) — only the command's crash is real,
/// and a core of the helper would land outside the sandbox. Core dumps are allowed
/// (`ulimit -c unlimited`), so a dump of the helper would show in its wait status. (Where
/// nothing is to be cleaned up afterwards, the Landlock route's helper becomes the command,
/// whose core is its own: that case is bubblewrap's alone here.)
#[test]
fn a_command_that_dumps_core_leaves_no_core_of_the_helper() {
    for route in routes() {
        for (leader, repository) in [(false, false), (false, true), (true, false)] {
            if repository && route != "bubblewrap" {
                continue;
            }
            let (_dir, ws) = workspace(repository);
            let helper = helper(&ws, route, "kill -SEGV $$");
            let status = with_core_limit("unlimited", &helper, &ws, leader)
                .status()
                .unwrap();
            assert_eq!(status.signal(), Some(libc::SIGSEGV), "{route}: {status:?}");
            assert!(
                !status.core_dumped(),
                "{route} (own group: {leader}, repository: {repository}): the helper dumped core"
            );
        }
    }
}

/// The command's core-size limit is the one the helper was started with, on every route:
/// where the helper becomes bubblewrap, it lowers its own to 0 (bubblewrap may die of the
/// command's signal), and the inner stage gives the command the original back.
#[test]
fn the_command_keeps_its_core_size_limit() {
    for route in routes() {
        for (leader, repository) in [(false, false), (false, true), (true, true)] {
            let (_dir, ws) = workspace(repository);
            for limit in ["0", "1234", "unlimited"] {
                let helper = helper(&ws, route, "ulimit -c");
                let output = with_core_limit(limit, &helper, &ws, leader)
                    .output()
                    .unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&output.stdout).trim(),
                    limit,
                    "{route} (own group: {leader}, repository: {repository}): {output:?}"
                );
            }
        }
    }
}

/// `helper` started by a shell in `ws` that first sets the soft core-size limit to `limit`
/// (`ulimit -c`), in a process group of its own when `leader`.
fn with_core_limit(limit: &str, helper: &Command, ws: &Path, leader: bool) -> Command {
    started_by_shell(&format!("ulimit -c {limit}"), helper, ws, leader)
}

/// `helper` started by a shell in `ws` that first runs `first` (and then execs the helper), in
/// a process group of its own when `leader`.
fn started_by_shell(first: &str, helper: &Command, ws: &Path, leader: bool) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new("sh");
    command
        .args(["-c", &format!("{first} && exec \"$@\""), "sh"])
        .arg(helper.get_program())
        .args(helper.get_args())
        .envs(helper.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(ws)
        .stdin(Stdio::null());
    if leader {
        command.process_group(0);
    }
    command
}

/// A helper started ignoring SIGHUP or SIGINT (as `nohup` starts its command ignoring SIGHUP,
/// and a shell its background jobs ignoring SIGINT) leaves it ignored: sent to the helper, it
/// stops nothing, on every route, whether the helper waits for the command (here, in a
/// workspace whose mount points it removes afterwards, or leading its own group) or not.
/// SIGTERM, which core's timeouts send, still stops the command where the helper waits (here
/// on the Landlock route; where the helper became the command, the command ignores it). Each
/// command waits for the test's word (a file) after the signal, so the signal always finds
/// it running.
#[test]
fn a_signal_the_helper_was_started_ignoring_stops_nothing_but_sigterm() {
    let mut running = Vec::new();
    for route in routes() {
        for signal in [libc::SIGHUP, libc::SIGINT, libc::SIGTERM] {
            if signal == libc::SIGTERM && !route.is_empty() {
                continue;
            }
            for (leader, repository) in [(false, false), (false, true), (true, true)] {
                let (dir, ws) = workspace(repository);
                let script =
                    "touch started; while [ ! -e go ]; do sleep 0.01; done; touch finished";
                let helper = helper(&ws, route, script);
                let command = started_by_shell(&format!("trap '' {signal}"), &helper, &ws, leader)
                    .spawn()
                    .unwrap();
                running.push((route, signal, leader, repository, dir, ws, command));
            }
        }
    }
    for (route, signal, _, _, _, ws, command) in &running {
        signal_once_started(route, ws, command, *signal);
    }
    // Time for a signal that stops the command to do so before it is told to go on.
    std::thread::sleep(Duration::from_millis(300));
    for (_, _, _, _, _, ws, _) in &running {
        std::fs::write(ws.join("go"), "").unwrap();
    }
    for (route, signal, leader, repository, _, ws, command) in &mut running {
        let status = command.wait().unwrap();
        let label = format!("{route} (own group: {leader}, repository: {repository})");
        let helper_waits = !*repository || *leader;
        if *signal == libc::SIGTERM && helper_waits {
            assert!(
                status.signal().is_some() && !ws.join("finished").exists(),
                "{label}: SIGTERM, ignored from the start, did not stop the command: {status:?}"
            );
        } else {
            assert!(
                status.success() && ws.join("finished").exists(),
                "{label}: signal {signal}, ignored, stopped the command: {status:?}"
            );
        }
    }
}

/// A command that dies of a signal the helper was started ignoring (it inherited it ignored,
/// and set it back to the default action) ends the helper by that signal too, on every route
/// where the helper becomes the command or waits for it. Where it becomes bubblewrap, which
/// ignores that signal too and so cannot die of it, the helper ends with exit code 128 + N:
/// the documented limit (waiting instead would cost every caller that ignores a signal).
#[test]
fn a_signal_the_helper_was_started_ignoring_ends_it_as_it_ended_the_command() {
    for route in routes() {
        for signal in [libc::SIGHUP, libc::SIGINT, libc::SIGUSR1] {
            for (leader, repository) in [(false, false), (false, true), (true, true)] {
                let (_dir, ws) = workspace(repository);
                let script = format!(
                    "exec {} -c 'import os, signal; signal.signal({signal}, signal.SIG_DFL); os.kill(os.getpid(), {signal})'",
                    super::conformance::PYTHON
                );
                let helper = helper(&ws, route, &script);
                let status = started_by_shell(&format!("trap '' {signal}"), &helper, &ws, leader)
                    .status()
                    .unwrap();
                let label = format!("{route} (own group: {leader}, repository: {repository})");
                // Without pidfds (Linux before 5.3) a helper with mount points waits.
                if route == "bubblewrap" && !leader && (repository || has_pidfd()) {
                    assert_eq!(status.code(), Some(128 + signal), "{label}: {status:?}");
                } else {
                    assert_eq!(status.signal(), Some(signal), "{label}: {status:?}");
                }
            }
        }
    }
}

/// Sends `signal` to the helper `helper` once its command has made the file `started` in `ws`.
fn signal_once_started(route: &str, ws: &Path, helper: &std::process::Child, signal: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ws.join("started").exists() {
        assert!(
            Instant::now() < deadline,
            "{route}: the command did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(helper.id().to_string())
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Whether the kernel has pidfds (`pidfd_open`, Linux 5.3).
fn has_pidfd() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0)) >= (5, 3)
}

/// A plain exit with a code above 128 stays an exit code (bubblewrap alone makes the two
/// look alike).
#[test]
fn an_exit_code_above_128_is_not_taken_for_a_signal() {
    for route in routes() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let status = helper(&ws, route, "exit 143").status().unwrap();
        assert_eq!(status.code(), Some(143), "{route}: {status:?}");
    }
}

/// SIGTERM, SIGINT or SIGHUP to the helper while it waits for the command (here: to remove
/// mount points afterwards) end the command at once, and the helper with it, on every route.
/// All at once (each command would go on for a second if not stopped).
#[test]
fn stopping_the_helper_stops_the_command() {
    let mut running = Vec::new();
    for route in routes() {
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            let dir = tempfile::tempdir().unwrap();
            let ws = std::fs::canonicalize(dir.path()).unwrap();
            let command = helper(&ws, route, "touch started; sleep 1; touch finished")
                .spawn()
                .unwrap();
            running.push((route, signal, dir, ws, command));
        }
    }
    for (route, signal, _, ws, command) in &running {
        signal_once_started(route, ws, command, *signal);
    }
    for (route, signal, _, _, command) in &mut running {
        let status = command.wait().unwrap();
        assert!(
            status.signal().is_some(),
            "{route}: signal {signal} to the helper did not stop it: {status:?}"
        );
    }
    std::thread::sleep(Duration::from_millis(1500));
    for (route, signal, _, ws, _) in &running {
        assert!(
            !ws.join("finished").exists(),
            "{route}: signal {signal} to the helper left the command running"
        );
        for name in [".git", ".codex", ".agents"] {
            assert!(
                gone_soon(&ws.join(name)),
                "{route}: signal {signal} to the helper left the mount point {name} behind"
            );
        }
    }
}

/// The command's exit code still passes through, and what it leaves behind is reaped and
/// ends with it.
#[test]
fn the_exit_code_passes_through_and_orphans_end_with_the_command() {
    for route in routes() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let started = Instant::now();
        let status = helper(&ws, route, "(sleep 5 &) ; exit 7")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(7), "{route}: {status:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{route}: the helper waited for the orphan"
        );
    }
}

/// On a terminal, `ttyname()` finds a name for it inside every namespace route (their `/dev`
/// has a private `pts`, without the host's terminals): bubblewrap binds it as
/// `/dev/console`, and so does the built-in executor. And the command may reopen it, as
/// `>/dev/stderr` does, on every route (Landlock, a second layer in the namespace routes,
/// mediates opening it). Run under `script`, which gives the helper a pseudo-terminal.
#[test]
fn a_terminal_has_a_name_inside_and_can_be_reopened() {
    if Command::new("script").arg("--version").output().is_err() {
        println!("SKIP: no script (util-linux) to give the helper a terminal");
        return;
    }
    let mut routes = routes();
    routes.push("no-namespaces");
    for route in routes {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let helper = format!(
            "{} --request '{}' -- sh -c 'tty && echo reopened >/dev/stderr'",
            env!("CARGO_BIN_EXE_codex-linux-sandbox"),
            workspace_write_request(&ws)
        );
        let output = Command::new("script")
            .args(["-qec", &helper, "/dev/null"])
            .env(codex_linux_sandbox::FORCE_ENV, route)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.starts_with("/dev/") && stdout.contains("\nreopened"),
            "{route}: {output:?}"
        );
    }
}
