//! The `codex` command line itself: version, help, exit codes.

use super::{codex, run, text};
use std::process::Command;

#[test]
fn version_names_the_package() {
    let mut command = Command::new(codex());
    command.arg("--version");
    let output = run(command, b"");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        format!("codex-cli {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_commands() {
    let mut command = Command::new(codex());
    command.arg("--help");
    let output = run(command, b"");
    assert_eq!(output.status.code(), Some(0));
    let help = text(&output.stdout);
    assert!(help.contains("Usage: codex"), "{help}");
    assert!(help.contains("apply-patch"), "{help}");
}

#[test]
fn unknown_arguments_are_usage_errors() {
    let mut command = Command::new(codex());
    command.arg("--no-such-flag");
    let output = run(command, b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--no-such-flag"));
}
