//! A kernel without Landlock (here: a seccomp filter answering ENOSYS to its calls, as some
//! container runtimes' profiles do, inherited by the helper). The legacy route cannot be
//! enforced then, so every route, even one forced to avoid namespaces, runs the policy in a
//! namespace view instead, and the policy holds; where no namespace can be made either,
//! nothing runs.

use super::conformance::{have, is_root};
use super::mount_points::helper;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn wrapper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/no_landlock.py")
}

/// `command` (program, arguments, environment) started through the wrapper.
fn without_landlock(command: &Command) -> Command {
    let mut wrapped = Command::new("/usr/bin/python3");
    wrapped
        .arg(wrapper())
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(name, value),
            None => wrapped.env_remove(name),
        };
    }
    wrapped
}

#[test]
fn without_landlock_every_route_enforces_the_policy_in_a_namespace_view() {
    if !have("/usr/bin/python3") {
        println!("SKIP: no /usr/bin/python3");
        return;
    }
    // The wrapper does take Landlock away (else this test would prove nothing).
    let check = Command::new("/usr/bin/python3")
        .arg(wrapper())
        .args([
            "/usr/bin/python3",
            "-c",
            "import ctypes; l = ctypes.CDLL(None, use_errno=True); print(l.syscall(444, 0, 0, 1), ctypes.get_errno())",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        "-1 38\n",
        "{check:?}"
    );

    let mut routes = vec!["", "no-namespaces"];
    if have("/usr/bin/bwrap") {
        routes.push("bubblewrap");
    }
    if is_root() || Path::new("/proc/sys/kernel/unprivileged_userns_clone").exists() {
        routes.push("builtin");
    }
    for force in routes {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        // The command is pid 2 of a pid namespace (its init is pid 1) on the namespace routes.
        let script = "echo pid=$$; touch ok && echo wrote-inside; touch \"$0/x\" 2>/dev/null && echo wrote-outside; touch .git/config 2>/dev/null && echo wrote-git; echo done";
        let mut command = helper(&ws, force, script);
        command.arg(elsewhere.path());
        let output = without_landlock(&command).output().unwrap();
        assert!(output.status.success(), "{force:?}: {output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "pid=2\nwrote-inside\ndone\n",
            "{force:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!elsewhere.path().join("x").exists(), "{force:?}");
    }
}

/// No Landlock and no user namespace (as `nobody` in a user namespace that may hold no more):
/// no route can enforce the policy, so nothing runs (exit 125, or bubblewrap's 1), with the
/// reason.
#[test]
fn without_landlock_or_namespaces_nothing_runs() {
    if !have("/usr/bin/python3") {
        println!("SKIP: no /usr/bin/python3");
        return;
    }
    let wrapper = wrapper();
    let prefix = [OsStr::new("/usr/bin/python3"), wrapper.as_os_str()];
    for force in ["", "no-namespaces"] {
        let Some(stderr) = super::refusals::refused_without_user_namespaces(force, &prefix) else {
            return;
        };
        assert!(
            stderr.contains("could not set up") || stderr.starts_with("bwrap: "),
            "{force:?}: {stderr}"
        );
    }
}
