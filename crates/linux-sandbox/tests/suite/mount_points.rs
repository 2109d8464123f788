//! Mount points shared by commands running at once: a command that ends must not remove the
//! mount point another one is still using (which would detach the mount in that command's
//! namespace and let it create the protected path for real), and the last one leaves nothing
//! behind. And while the helper waits to clean up, nothing the command started outlives it.

use super::conformance::{have, is_root};
use codex_protocol::SandboxPolicy;
use codex_sandbox::GitMode;
use codex_sandbox::config::SandboxSelection;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Workspace-write in `ws` (network off, no `/tmp` or `$TMPDIR`), as the helper's `--request`.
pub(super) fn workspace_write_request(ws: &Path) -> String {
    let request = codex_linux_sandbox::SandboxRequest {
        policy_cwd: ws.to_path_buf(),
        command_cwd: ws.to_path_buf(),
        tty: false,
        selection: SandboxSelection::Legacy {
            policy: SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![],
                network_access: false,
                exclude_tmpdir_env_var: true,
                exclude_slash_tmp: true,
                read_only_access: Default::default(),
            },
            git: GitMode::ReadOnly,
        },
    };
    serde_json::to_string(&request).unwrap()
}

/// The helper running `sh -c SCRIPT` under workspace-write in `ws`, on route `force`.
pub(super) fn helper(ws: &Path, force: &str, script: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_codex-linux-sandbox"));
    command
        .arg("--request")
        .arg(workspace_write_request(ws))
        .args(["--", "sh", "-c", script])
        .env(codex_linux_sandbox::FORCE_ENV, force)
        .stdin(Stdio::null());
    command
}

#[test]
fn a_mount_point_outlives_every_command_that_uses_it_and_no_longer() {
    let mut routes = vec![("", "landlock")];
    if have("/usr/bin/bwrap") {
        routes.push(("bubblewrap", "bubblewrap"));
    } else {
        println!("SKIP: the bubblewrap route (no /usr/bin/bwrap)");
    }
    if is_root() || Path::new("/proc/sys/kernel/unprivileged_userns_clone").exists() {
        routes.push(("builtin", "built-in executor"));
    }
    for (force, route) in routes {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let git = ws.join(".git");
        let first = helper(&ws, force, "sleep 0.5").spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !git.exists() {
            assert!(
                Instant::now() < deadline,
                "{route}: no mount point was made"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // Still running when the first one ends and cleans up.
        let second = helper(
            &ws,
            force,
            "sleep 1.2; mkdir .git 2>/dev/null && echo made .git; touch .git/config 2>/dev/null && echo wrote .git/config; echo done",
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
        let first = first.wait_with_output().unwrap();
        assert!(first.status.success(), "{route}: {first:?}");
        assert!(
            git.is_dir(),
            "{route}: the mount point went while another command used it"
        );
        let second = second.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&second.stdout);
        assert_eq!(
            stdout, "done\n",
            "{route}: .git was not protected to the end"
        );
        for name in [".git", ".codex", ".agents"] {
            assert!(gone_soon(&ws.join(name)), "{route}: {name} was left behind");
        }
    }
}

/// While the helper waits (here: to remove the mount point afterwards), nothing the command
/// started outlives it, not even a daemon in a session of its own: the helper is the
/// subreaper of the command's descendants.
#[test]
fn a_daemon_does_not_outlive_its_command_on_the_landlock_route() {
    let dir = tempfile::tempdir().unwrap();
    let ws = std::fs::canonicalize(dir.path()).unwrap();
    let marker = ws.join("survived");
    let output = helper(
        &ws,
        "",
        "setsid sh -c 'sleep 0.7; touch survived' </dev/null >/dev/null 2>&1 & sleep 0.2; echo started",
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "started\n");
    std::thread::sleep(Duration::from_millis(1000));
    assert!(!marker.exists(), "the daemon outlived its command");
    assert!(
        gone_soon(&ws.join(".git")),
        "the mount point was left behind"
    );
}

/// A command that dies of a signal that dumps core: the helper dies of it too, and its
/// mount points still go (dumping core would end a janitor sharing the helper's memory on
/// kernels before 5.16, so the helper lets it finish first).
#[test]
fn mount_points_go_when_the_command_dumps_core() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let ws = std::fs::canonicalize(dir.path()).unwrap();
    let status = helper(&ws, "", "kill -ABRT $$").status().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGABRT), "{status:?}");
    for name in [".git", ".codex", ".agents"] {
        assert!(gone_soon(&ws.join(name)), "{name} was left behind");
    }
}

/// A helper killed outright (SIGKILL) under `/usr/bin/bwrap`, where it has become bubblewrap:
/// the command dies with it (its namespaces end), and the mount points still go, removed by
/// the janitor that watched bubblewrap.
#[test]
fn mount_points_go_when_a_helper_that_became_bubblewrap_is_killed() {
    if !have("/usr/bin/bwrap") {
        println!("SKIP: no /usr/bin/bwrap");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ws = std::fs::canonicalize(dir.path()).unwrap();
    let mut command = helper(&ws, "bubblewrap", "touch started; sleep 1; touch finished")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ws.join("started").exists() {
        assert!(Instant::now() < deadline, "the command did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    let exe = std::fs::read_link(format!("/proc/{}/exe", command.id())).unwrap();
    assert_eq!(
        exe,
        Path::new("/usr/bin/bwrap"),
        "the helper did not become bubblewrap"
    );
    command.kill().unwrap();
    command.wait().unwrap();
    for name in [".git", ".codex", ".agents"] {
        assert!(gone_soon(&ws.join(name)), "{name} was left behind");
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !ws.join("finished").exists(),
        "the command outlived the helper"
    );
}

/// Whether `path` is gone, now or within a few seconds: the helper hands the removal of its
/// mount points to a janitor process and exits without waiting for it.
pub(super) fn gone_soon(path: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while path.symlink_metadata().is_ok() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

/// A mount the host has read-only, beneath a writable root, stays read-only inside on every
/// route, as root and as `nobody`: making the tree read-only and a writable root writable
/// again must not clear what the host set (as root nothing else would stop the write).
#[test]
fn a_read_only_host_mount_under_a_writable_root_stays_read_only() {
    if !is_root() || !have("/usr/bin/unshare") || !have("/usr/bin/setpriv") {
        println!("SKIP: needs root, unshare and setpriv (it makes a read-only mount)");
        return;
    }
    let mut routes = vec![("", "landlock"), ("builtin", "built-in executor")];
    if have("/usr/bin/bwrap") {
        routes.push(("bubblewrap", "bubblewrap"));
    } else {
        println!("SKIP: the bubblewrap route (no /usr/bin/bwrap)");
    }
    for user in ["root", "nobody"] {
        for (force, route) in &routes {
            let dir = tempfile::tempdir().unwrap();
            let ws = std::fs::canonicalize(dir.path()).unwrap();
            for sub in ["frozen", "open"] {
                std::fs::create_dir(ws.join(sub)).unwrap();
            }
            // Writable by both users: root in the sandbox has no capability to override modes.
            for path in [ws.clone(), ws.join("frozen"), ws.join("open")] {
                std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
                let mode = std::os::unix::fs::PermissionsExt::from_mode(0o777);
                std::fs::set_permissions(&path, mode).unwrap();
            }
            let mut as_user = vec![];
            if user == "nobody" {
                as_user = vec![
                    "setpriv",
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                ];
            }
            let inner = helper(
                &ws,
                force,
                "touch frozen/f 2>/dev/null && echo wrote frozen; touch open/f && echo wrote open",
            );
            // A private mount namespace of the test's own, so the host is left as it was.
            let output = Command::new("unshare")
                .args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg(
                    "mount --bind \"$FROZEN\" \"$FROZEN\" && mount -o remount,bind,ro \"$FROZEN\" && exec \"$@\"",
                )
                .arg("sh")
                .args(as_user)
                .arg(inner.get_program())
                .args(inner.get_args())
                .env("FROZEN", ws.join("frozen"))
                .env(codex_linux_sandbox::FORCE_ENV, force)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(output.status.success(), "{user}, {route}: {output:?}");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                "wrote open\n",
                "{user}, {route}: {output:?}"
            );
        }
    }
}
