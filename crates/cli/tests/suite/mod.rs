//! Test modules of the one test binary of this crate.

mod app_server;
mod apply_patch;
mod cli;
mod exec;
mod sandbox;
mod unprivileged;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn codex() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_codex"))
}

/// Runs `command` with a scrubbed environment and the given stdin; returns its output.
pub fn run(mut command: Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    // The child may exit without reading its input (that is what some tests check).
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A command line that runs the rest of its arguments with bubblewrap hidden (its usual paths
/// bind-mounted over with /dev/null in a private mount namespace), or `None` (with a SKIP
/// line) when that needs what this run lacks: root and util-linux's `unshare`.
pub fn with_bwrap_hidden() -> Option<Command> {
    let is_root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !is_root || Command::new("unshare").arg("--version").output().is_err() {
        println!("SKIP: hiding bwrap needs root and unshare (util-linux)");
        return None;
    }
    let script = "for b in /usr/bin/bwrap /usr/local/bin/bwrap; do [ -e \"$b\" ] && mount --bind /dev/null \"$b\"; done; exec \"$@\"";
    let mut command = Command::new("unshare");
    command.args(["-m", "--propagation", "private", "sh", "-c", script, "sh"]);
    Some(command)
}

/// Whether process `pid` still runs (a zombie waiting to be reaped does not), after giving it
/// up to two seconds to finish dying.
pub fn still_running(pid: &str) -> bool {
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit(')')
                    .next()
                    .map(|rest| rest.trim_start().starts_with('Z'))
            })
            .is_some_and(|zombie| !zombie)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while running() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    running()
}
