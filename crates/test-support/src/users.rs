//! Running a test's command as `nobody`, optionally where user namespaces are exhausted — the
//! host a sandbox meets inside a container or under a distribution that limits them.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Whether this test process runs as root (needed to become `nobody` and to set limits).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:\t0\t")))
}

/// Runs `argv` as `nobody` (uid and gid 65534, no supplementary groups) in `cwd`, with `env`
/// added. `no_user_namespaces`: inside a user namespace of its own (every id mapped through)
/// in which no further user namespace may be made (`max_user_namespaces` = 0). `None`, after a
/// `SKIP` line, where this cannot be done: not root, or no `setpriv`, `unshare`, `nsenter`.
pub fn as_nobody(
    no_user_namespaces: bool,
    argv: &[&std::ffi::OsStr],
    cwd: &Path,
    env: &[(&str, &std::ffi::OsStr)],
) -> Option<Output> {
    let tools = ["/usr/bin/setpriv", "/usr/bin/unshare", "/usr/bin/nsenter"];
    if !is_root() || tools.iter().any(|t| !Path::new(t).exists()) {
        println!("SKIP: running as nobody needs root, setpriv, unshare and nsenter");
        return None;
    }
    // The shell waits for "go": by then the namespace is set up from here.
    let mut command = Command::new(if no_user_namespaces { "unshare" } else { "sh" });
    if no_user_namespaces {
        command.args(["--user", "sh"]);
    }
    command
        .args(["-c", "read go; exec \"$@\"", "sh", "setpriv"])
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "env"]);
    for (name, value) in env {
        let mut assignment = std::ffi::OsString::from(name);
        assignment.push("=");
        assignment.push(value);
        command.arg(assignment);
    }
    let mut child = command
        .args(argv)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if no_user_namespaces {
        let pid = child.id();
        let user_ns = |p: u32| std::fs::read_link(format!("/proc/{p}/ns/user")).ok();
        loop {
            if child.try_wait().unwrap().is_some() {
                println!("SKIP: unshare --user failed here");
                return None;
            }
            if user_ns(pid) != user_ns(std::process::id()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::fs::write(format!("/proc/{pid}/uid_map"), "0 0 65536\n").unwrap();
        std::fs::write(format!("/proc/{pid}/gid_map"), "0 0 65536\n").unwrap();
        // As root of that namespace (its creator could not: it has no capability left).
        let limit = Command::new("nsenter")
            .args(["--user", "--target", &pid.to_string(), "sh", "-c"])
            .arg("echo 0 > /proc/sys/user/max_user_namespaces")
            .status()
            .unwrap();
        assert!(limit.success(), "could not limit user namespaces");
    }
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    Some(child.wait_with_output().unwrap())
}
