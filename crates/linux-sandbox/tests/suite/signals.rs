//! Signals reach the command on every route. The init of a pid namespace ignores every
//! signal it has no handler for (even from inside), so the command must not be it: a command
//! that is sent SIGTERM or SIGINT, by itself or by anyone, must end as it would outside the
//! sandbox, and the helper must end the same way — except under `/usr/bin/bwrap`, which
//! reports a command's death by signal N as exit code 128 + N, as a shell does.

use super::conformance::{have, is_root};
use super::mount_points::{helper, workspace_write_request};
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

#[test]
fn a_signal_ends_the_command_as_it_would_outside() {
    for route in routes() {
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            let dir = tempfile::tempdir().unwrap();
            let ws = std::fs::canonicalize(dir.path()).unwrap();
            let started = Instant::now();
            let script = format!("kill -{signal} $$; sleep 3; echo ignored");
            let output = helper(&ws, route, &script).output().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                "",
                "{route}: signal {signal} was ignored"
            );
            if route == "bubblewrap" {
                assert_eq!(
                    output.status.code(),
                    Some(128 + signal),
                    "{route}: {output:?}"
                );
            } else {
                assert_eq!(output.status.signal(), Some(signal), "{route}: {output:?}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{route}: waited"
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
