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
