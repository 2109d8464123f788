//! `codex sandbox explain` and `codex sandbox macos --print-profile` against real directories
//! and a real `CODEX_HOME`.

use super::{codex, run, still_running, text, with_bwrap_hidden};
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `codex sandbox ARGS` with a scrubbed environment whose only Codex setting is
/// `CODEX_HOME=home`.
fn sandbox(home: &Path, args: &[&str]) -> Output {
    let mut command = Command::new("env");
    command.arg(format!("CODEX_HOME={}", home.display()));
    command.arg(codex()).arg("sandbox").args(args);
    run(command, b"")
}

/// A config whose default profile needs carve-outs: `a` denied under a writable workspace, and
/// `a/b` writable again.
const SPLIT_PROFILE: &str = "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = { \".\" = \"write\", \"a\" = \"deny\", \"a/b\" = \"write\" }\n";

struct Workspace {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    home: std::path::PathBuf,
}

fn workspace() -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap().join("ws");
    fs::create_dir_all(root.join(".git/hooks")).unwrap();
    fs::create_dir_all(root.join("a/b")).unwrap();
    fs::write(root.join("main.rs"), "fn main() {}\n").unwrap();
    let home = fs::canonicalize(dir.path()).unwrap().join("home");
    fs::create_dir_all(&home).unwrap();
    Workspace {
        _dir: dir,
        root,
        home,
    }
}

#[test]
fn explain_workspace_write_as_json() {
    let ws = workspace();
    let root = ws.root.to_str().unwrap();
    let output = sandbox(
        &ws.home,
        &[
            "explain",
            "-s",
            "workspace-write",
            "-C",
            root,
            "--json",
            "main.rs",
            ".git/hooks/pre-commit",
            "/etc/passwd",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let access: Vec<&str> = json["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["access"].as_str().unwrap())
        .collect();
    assert_eq!(access, ["write", "read", "read"]);
    assert_eq!(json["paths"][1]["origin"]["kind"], "protected");
    assert_eq!(json["linux"]["route"], "landlock");
    assert_eq!(json["network"], "restricted");
}

#[test]
fn explain_a_split_profile_from_config_uses_bubblewrap() {
    let ws = workspace();
    fs::write(ws.home.join("config.toml"), SPLIT_PROFILE).unwrap();
    let root = ws.root.to_str().unwrap();
    let output = sandbox(
        &ws.home,
        &["explain", "-C", root, "a/x", "a/b/y", "main.rs"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("a/x      none   policy entry ':workspace_roots/a'"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("a/b/y    write  policy entry ':workspace_roots/a/b'"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("main.rs  write  policy entry ':workspace_roots'"),
        "{stdout}"
    );
    assert!(
        stdout.contains("linux route: bubblewrap + seccomp"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("--perms 0111 --tmpfs {root}/a")),
        "{stdout}"
    );
}

#[test]
fn explain_shows_the_route_this_host_takes() {
    // What moves a run off the Landlock route (a kernel whose Landlock is too old, or the
    // operator's override) moves `explain` with it: it shows the plan that will run.
    let ws = workspace();
    let root = ws.root.to_str().unwrap();
    let explain = |force: &str| {
        let mut command = Command::new("env");
        command
            .arg(format!("CODEX_HOME={}", ws.home.display()))
            .arg(format!("CODEX_LINUX_SANDBOX_FORCE={force}"))
            .arg(codex())
            .args(["sandbox", "explain", "--full-auto", "-C", root, "main.rs"]);
        let output = run(command, b"");
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let forced = explain("builtin");
    assert!(
        forced.contains("linux route: bubblewrap + seccomp"),
        "{forced}"
    );
    assert!(
        forced.contains(&format!("--ro-bind {root}/.git {root}/.git")),
        "{forced}"
    );
    assert!(!forced.contains("landlock ReadWrite"), "{forced}");
    let native = explain("");
    assert!(native.contains("linux route: Landlock"), "{native}");
    assert!(!native.contains("Landlock + seccomp alone"), "{native}");
    // Without namespaces: the per-entry plan that runs instead, no mounts, and its limits.
    let per_entry = explain("no-namespaces");
    for shown in [
        "linux route: Landlock + seccomp alone (no mount namespace here)".to_string(),
        format!("landlock ReadWriteFile {root}/main.rs\n"),
        "warning: Codex's Linux sandbox: no mount namespace could be created".to_string(),
    ] {
        assert!(per_entry.contains(&shown), "{shown:?} in {per_entry}");
    }
    for absent in [
        format!("landlock ReadWrite {root}\n"),
        "  mount ".to_string(),
    ] {
        assert!(!per_entry.contains(&absent), "{absent:?} in {per_entry}");
    }
}

#[test]
fn config_errors_and_refusals_exit_1_with_the_reason() {
    let ws = workspace();
    let root = ws.root.to_str().unwrap();
    let output = sandbox(&ws.home, &["explain", "-P", "missing", "-C", root, "x"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).starts_with("Error: permission profile 'missing' is not defined"),
        "{}",
        text(&output.stderr)
    );

    std::os::unix::fs::symlink("/tmp", ws.root.join(".codex")).unwrap();
    let output = sandbox(&ws.home, &["explain", "--full-auto", "-C", root, "x"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot protect {root}/.codex: it is a symlink")),
        "{stderr}"
    );
}

#[test]
fn flags_conflict() {
    let ws = workspace();
    let output = sandbox(&ws.home, &["explain", "-s", "read-only", "-P", "x", "p"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn print_macos_profile_with_extensions() {
    let ws = workspace();
    fs::write(
        ws.home.join("config.toml"),
        "[permissions.mac]\nextends = \":workspace\"\nmacos_automation = [\"com.apple.Notes\"]\n",
    )
    .unwrap();
    let root = ws.root.to_str().unwrap();
    let output = sandbox(
        &ws.home,
        &["macos", "--print-profile", "-P", "mac", "-C", root],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let profile = text(&output.stdout);
    assert!(
        profile.contains("(appleevent-destination \"com.apple.Notes\")"),
        "{profile}"
    );
    assert!(
        profile.contains(&format!("; -DWRITABLE_ROOT_0={root}"))
            || profile.contains(&format!("={root}\n")),
        "{profile}"
    );
    assert!(
        !profile.contains("user-preference-read"),
        "a profile without a preferences grant adds none"
    );
    let legacy = sandbox(
        &ws.home,
        &["macos", "--print-profile", "-s", "read-only", "-C", root],
    );
    assert!(text(&legacy.stdout).contains("(allow user-preference-read)"));
}

#[test]
fn a_missing_bubblewrap_is_one_warning_with_its_fix() {
    if with_bwrap_hidden().is_none() {
        return;
    }
    let ws = workspace();
    let root = ws.root.to_str().unwrap();
    let explain = |mode: &[&str]| {
        let mut command = with_bwrap_hidden().expect("checked above");
        command
            .arg("env")
            .arg(format!("CODEX_HOME={}", ws.home.display()))
            .arg(codex())
            .args(["sandbox", "explain"])
            .args(mode)
            .args(["-C", root, "main.rs"]);
        run(command, b"")
    };
    let output = explain(&["--full-auto"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 1, "{stdout}");
    assert!(warnings[0].contains("apt install bubblewrap"), "{stdout}");
    let danger = explain(&["-s", "danger-full-access"]);
    assert!(
        !text(&danger.stdout).contains("warning:"),
        "no warning without a sandbox"
    );
    // Running a command on the namespace route, `codex sandbox linux` says once, before the
    // command's own output, that the built-in executor stands in.
    let mut command = with_bwrap_hidden().expect("checked above");
    command
        .arg("env")
        .arg(format!("CODEX_HOME={}", ws.home.display()))
        .arg("CODEX_LINUX_SANDBOX_FORCE=bubblewrap")
        .arg(codex())
        .args(["sandbox", "linux", "--full-auto", "-C", root])
        .args(["--", "sh", "-c", "echo ran >&2"]);
    let output = run(command, b"");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("codex sandbox: warning: bubblewrap was not found")
            && lines[0].contains("built-in"),
        "{stderr}"
    );
    assert_eq!(lines[1], "ran");
}

/// A `bwrap` in the workspace is never used, and never even run to be probed: probing runs
/// it outside any sandbox. Here the system's bubblewrap is hidden and the workspace's comes
/// first on PATH; the built-in executor runs the command.
#[test]
fn a_bwrap_in_the_workspace_is_never_run() {
    if with_bwrap_hidden().is_none() {
        return;
    }
    let ws = workspace();
    fs::write(ws.home.join("config.toml"), SPLIT_PROFILE).unwrap();
    let marker = ws.home.join("workspace-bwrap-ran");
    let fake = ws.root.join("bin/bwrap");
    fs::create_dir_all(fake.parent().unwrap()).unwrap();
    fs::write(
        &fake,
        format!("#!/bin/sh\ntouch {}\nexec /bin/true\n", marker.display()),
    )
    .unwrap();
    fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let root = ws.root.to_str().unwrap();
    for args in [
        vec!["explain", "-C", root, "main.rs"],
        vec!["linux", "-C", root, "--", "sh", "-c", "echo ran > a/b/out"],
    ] {
        let mut command = with_bwrap_hidden().expect("checked above");
        command
            .arg("env")
            .arg(format!("CODEX_HOME={}", ws.home.display()))
            .arg(format!(
                "PATH={}:/usr/bin:/bin",
                ws.root.join("bin").display()
            ))
            .arg("XDG_CACHE_HOME=/nonexistent")
            .arg(codex())
            .arg("sandbox")
            .args(&args);
        let output = run(command, b"");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    assert!(!marker.exists(), "the workspace's bwrap was run");
    assert_eq!(
        fs::read_to_string(ws.root.join("a/b/out")).unwrap(),
        "ran\n"
    );
}

#[test]
fn sandbox_linux_runs_commands_and_passes_their_exit_code_through() {
    if !Path::new("/usr/bin/bwrap").exists() {
        println!("SKIP: bubblewrap is not installed");
        return;
    }
    let ws = workspace();
    let root = ws.root.to_str().unwrap();
    let output = sandbox(
        &ws.home,
        &[
            "linux",
            "--full-auto",
            "-C",
            root,
            "--",
            "sh",
            "-c",
            "echo made > made.txt; touch .git/x; exit 3",
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert!(ws.root.join("made.txt").exists());
    assert!(!ws.root.join(".git/x").exists());
    assert!(
        text(&output.stderr).contains("Read-only file system"),
        "{}",
        text(&output.stderr)
    );
    let debug = {
        let mut command = Command::new("env");
        command
            .arg(format!("CODEX_HOME={}", ws.home.display()))
            .arg(codex());
        command.args([
            "debug",
            "landlock",
            "-s",
            "read-only",
            "-C",
            root,
            "--",
            "sh",
            "-c",
            "kill -TERM $$",
        ]);
        run(command, b"")
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        debug.status.signal(),
        Some(15),
        "the command's signal passes through"
    );
}

/// What a sandboxed command leaves running in the background ends with it, and stopping the
/// helper (SIGTERM) stops the command's whole group too.
#[test]
fn nothing_outlives_a_sandboxed_command() {
    let ws = workspace();
    let root = ws.root.to_str().unwrap();
    let started = std::time::Instant::now();
    // The background sleep keeps stdout open: the run only ends once it has been killed.
    let output = sandbox(
        &ws.home,
        &[
            "linux",
            "--full-auto",
            "-C",
            root,
            "--",
            "sh",
            "-c",
            "sleep 1000 & echo $!",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let pid = text(&output.stdout).trim().to_string();
    assert!(!still_running(&pid), "sleep {pid} still runs");
}

/// The user-namespace probe behind the startup warning tries what the sandbox does with a
/// namespace (map the ids, change the mounts), not only its creation: as `nobody` here it
/// works and nothing is said; as `nobody` where no user namespace may be made, the warning
/// names the limit, and a command still runs, on the Landlock-only plan.
#[test]
fn the_user_namespace_probe_as_an_unprivileged_user() {
    use codex_test_support::users::{as_nobody, is_root};
    use std::ffi::OsStr;
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        println!("SKIP: needs root (to run as nobody)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    let (home, ws) = (root.join("home"), root.join("ws"));
    for path in [&home, &ws, &ws.join("sub")] {
        fs::create_dir(path).unwrap();
        std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
    }
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
    let sandbox = |limited: bool, args: &[&str]| -> Option<Output> {
        let mut argv: Vec<&OsStr> = vec![codex().as_os_str(), OsStr::new("sandbox")];
        argv.extend(args.iter().map(OsStr::new));
        as_nobody(limited, &argv, &ws, &[("CODEX_HOME", home.as_os_str())])
    };
    let ws_arg = ws.to_str().unwrap();
    let explain = |limited| {
        let out = sandbox(limited, &["explain", "--full-auto", "-C", ws_arg, "x"])?;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        Some(text(&out.stdout))
    };
    let Some(free) = explain(false) else { return };
    let restricted = fs::read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
        .is_ok_and(|v| v.first() == Some(&b'1'));
    if restricted {
        // Ubuntu's AppArmor restriction: user namespaces are limited here already.
        assert!(free.contains("User namespaces are blocked"), "{free}");
    } else {
        assert!(!free.contains("User namespaces are blocked"), "{free}");
    }
    let limited = explain(true).unwrap();
    assert!(limited.contains("User namespaces are blocked"), "{limited}");
    assert!(limited.contains("Landlock + seccomp alone"), "{limited}");
    assert_eq!(
        free.contains("Landlock + seccomp alone"),
        restricted,
        "{free}"
    );
    // Into an existing directory: the Landlock-only plan makes no new entry directly in a
    // writable root (its stated limit).
    let script = "touch sub/made && echo wrote; mkdir .git 2>/dev/null || echo protected";
    for limited in [false, true] {
        let out = sandbox(
            limited,
            &[
                "linux",
                "--full-auto",
                "-C",
                ws_arg,
                "--",
                "sh",
                "-c",
                script,
            ],
        )
        .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            "wrote\nprotected\n",
            "limited: {limited}"
        );
        let stderr = text(&out.stderr);
        assert_eq!(
            stderr.contains("codex sandbox: warning: no mount namespace could be created"),
            limited || restricted,
            "{stderr}"
        );
        fs::remove_file(ws.join("sub/made")).unwrap();
    }
}

/// Root without CAP_SYS_ADMIN (a container's root) cannot make a mount namespace:
/// `codex sandbox linux` says so before the command, which runs on the Landlock-only plan.
#[test]
fn root_without_cap_sys_admin_is_told_of_the_landlock_only_plan() {
    if !codex_test_support::users::is_root() || !Path::new("/usr/bin/setpriv").exists() {
        println!("SKIP: needs root and setpriv");
        return;
    }
    let ws = workspace();
    fs::create_dir_all(ws.root.join("sub")).unwrap();
    // `codex sandbox ARGS` in the workspace, without CAP_SYS_ADMIN in the bounding set.
    let without_sys_admin = |args: &[&str]| {
        let mut command = Command::new("setpriv");
        command
            .args(["--bounding-set=-sys_admin", "--"])
            .arg(codex())
            .arg("sandbox")
            .args(args)
            .env("CODEX_HOME", &ws.home);
        run(command, b"")
    };
    let root = ws.root.to_str().unwrap();
    let out = without_sys_admin(&[
        "linux",
        "--full-auto",
        "-C",
        root,
        "--",
        "sh",
        "-c",
        "touch sub/made && echo wrote; mkdir .git/x 2>/dev/null || echo protected",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "wrote\nprotected\n");
    // `explain` there shows the plan that ran, and says why.
    let explained = text(&without_sys_admin(&["explain", "--full-auto", "-C", root, "sub"]).stdout);
    assert!(
        explained.contains("Landlock + seccomp alone") && explained.contains("warning: "),
        "{explained}"
    );
    assert!(
        text(&out.stderr)
            .starts_with("codex sandbox: warning: no mount namespace could be created"),
        "{}",
        text(&out.stderr)
    );
}
