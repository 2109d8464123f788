//! Without bubblewrap: a policy that needs a namespace view runs under the built-in executor
//! — and the policy still holds. The helper says nothing about it: core warns once, at session
//! start, through its event stream (checked in cli's `exec` suite), rather than in the output
//! of every command.

use super::conformance::{Tree, User, is_root, readable_root_profile};
use codex_protocol::FileSystemAccess;
use std::ffi::OsStr;
use std::process::Command;

#[test]
fn without_bubblewrap_the_builtin_executor_enforces_the_policy_quietly() {
    if !is_root() || Command::new("unshare").arg("--version").output().is_err() {
        println!("SKIP: hiding bwrap needs root and unshare (util-linux)");
        return;
    }
    let tree = Tree::new(User::Root);
    let marker = tree.ws().join("ran");
    let denied = tree.ws().join("a/new");
    let request = codex_linux_sandbox::SandboxRequest {
        policy_cwd: tree.ws(),
        command_cwd: tree.ws(),
        tty: false,
        selection: readable_root_profile(
            "split",
            &[
                (tree.ws(), FileSystemAccess::Write),
                (tree.ws().join("a"), FileSystemAccess::None),
            ],
        ),
    };
    // A private mount namespace in which every bwrap on PATH is an empty file.
    let script = "for b in /usr/bin/bwrap /usr/local/bin/bwrap; do [ -e \"$b\" ] && mount --bind /dev/null \"$b\"; done; exec \"$@\"";
    let output = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(env!("CARGO_BIN_EXE_codex-linux-sandbox"))
        .arg("--request")
        .arg(serde_json::to_string(&request).unwrap())
        .args(["--", "sh", "-c", "touch \"$0\"; touch \"$1\""])
        .arg(&marker)
        .arg(&denied)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the second touch fails: {stderr}"
    );
    assert!(marker.exists(), "the command ran");
    assert!(!denied.exists(), "the denied directory stayed denied");
    assert!(
        stderr.lines().all(|l| l.starts_with("touch: ")),
        "the command's own output only: {stderr}"
    );
}

/// A policy that denies the working directory: the helper refuses before anything runs, with
/// exit code 125 and a message that names the directory and what to do.
#[test]
fn a_denied_working_directory_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let ws = std::fs::canonicalize(dir.path()).unwrap();
    let hidden = ws.join("hidden");
    std::fs::create_dir(&hidden).unwrap();
    let request = codex_linux_sandbox::SandboxRequest {
        policy_cwd: ws.clone(),
        command_cwd: hidden.clone(),
        tty: false,
        selection: readable_root_profile("hide-cwd", &[(hidden.clone(), FileSystemAccess::None)]),
    };
    let marker = ws.join("ran");
    let output = Command::new(env!("CARGO_BIN_EXE_codex-linux-sandbox"))
        .arg("--request")
        .arg(serde_json::to_string(&request).unwrap())
        .args(["--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(!marker.exists(), "nothing ran");
    assert!(
        stderr.contains(&format!(
            "the working directory {} is not readable",
            hidden.display()
        )),
        "{stderr}"
    );
}

/// The built-in executor where no user namespace may be made (as `nobody` in a user namespace
/// that may hold no more): nothing runs, exit 125, and the message says which step failed
/// and why — not only an errno.
#[test]
fn a_builtin_failure_says_which_step_failed() {
    let Some(stderr) = refused_without_user_namespaces("builtin", &[]) else {
        return;
    };
    assert!(
        stderr.contains("could not be set up (unshare: ")
            && stderr.contains("user namespaces may be blocked on this host"),
        "{stderr}"
    );
}

/// The same under `/usr/bin/bwrap`: the helper has become bubblewrap, so bubblewrap's own
/// failure is its exit code 1, after its message.
#[test]
fn a_bubblewrap_failure_is_bubblewraps_own() {
    if !super::conformance::have("/usr/bin/bwrap") {
        println!("SKIP: no /usr/bin/bwrap");
        return;
    }
    let Some(stderr) = refused_without_user_namespaces("bubblewrap", &[]) else {
        return;
    };
    assert!(stderr.starts_with("bwrap: "), "{stderr}");
}

/// And where the helper waits for bubblewrap (it leads a process group of its own, so it
/// cannot become bubblewrap and give the command a session): exit 125, not the command's 1.
#[test]
fn a_bubblewrap_failure_is_exit_125_where_the_helper_waits() {
    if !super::conformance::have("/usr/bin/bwrap") || !super::conformance::have("/usr/bin/python3")
    {
        println!("SKIP: no /usr/bin/bwrap or /usr/bin/python3");
        return;
    }
    let leader = [
        OsStr::new("/usr/bin/python3"),
        OsStr::new("-c"),
        OsStr::new("import os, sys; os.setpgid(0, 0); os.execv(sys.argv[1], sys.argv[1:])"),
    ];
    let Some(stderr) = refused_without_user_namespaces("bubblewrap", &leader) else {
        return;
    };
    assert!(
        stderr.contains("bubblewrap could not set up the sandbox (it exited with code 1"),
        "{stderr}"
    );
}

/// The helper on route `force` (started through `wrapper`, a program and its arguments that
/// run the rest, when given), as `nobody` where no user namespace may be made, running `touch`
/// on a marker: it must refuse — exit 125, or bubblewrap's own 1 where the helper became
/// bubblewrap — with the marker not made. Its stderr, or `None` (after a `SKIP` line) where
/// nobody cannot be played.
pub(super) fn refused_without_user_namespaces(force: &str, wrapper: &[&OsStr]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let ws = std::fs::canonicalize(dir.path()).unwrap();
    let marker = ws.join("ran");
    let request = super::mount_points::workspace_write_request(&ws);
    let exe = env!("CARGO_BIN_EXE_codex-linux-sandbox");
    let words = [exe, "--request", &request, "--", "touch"];
    let argv: Vec<&OsStr> = wrapper
        .iter()
        .copied()
        .chain(words.iter().map(OsStr::new))
        .chain([marker.as_os_str()])
        .collect();
    let env = [(codex_linux_sandbox::FORCE_ENV, OsStr::new(force))];
    if is_root() {
        // Nobody's, so that a command that ran could leave its marker.
        std::os::unix::fs::chown(&ws, Some(65534), Some(65534)).unwrap();
    }
    let output = codex_test_support::users::as_nobody(true, &argv, &ws, &env)?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    // Where the helper waits for bubblewrap, it says so after bubblewrap's message.
    let became_bubblewrap = stderr.starts_with("bwrap: ")
        && !stderr.contains("bubblewrap could not set up the sandbox");
    let expected = if became_bubblewrap { 1 } else { 125 };
    assert_eq!(output.status.code(), Some(expected), "{force:?}: {stderr}");
    assert!(!marker.exists(), "{force:?}: the command ran");
    Some(stderr)
}
