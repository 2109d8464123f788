//! apply_patch through both entry points of the binary: the `--codex-run-as-apply-patch` flag
//! and an argv[0] of `apply_patch`/`applypatch`, plus the `codex apply-patch` subcommand.

use super::{codex, run, text};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

const PATCH: &str = "*** Begin Patch\n*** Add File: dir/new.txt\n+hello\n*** Update File: old.txt\n@@\n-one\n+ONE\n*** Delete File: gone.txt\n*** End Patch\n";
const SUMMARY: &str =
    "Success. Updated the following files:\nA dir/new.txt\nM old.txt\nD gone.txt\n";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("old.txt"), "one\ntwo\n").unwrap();
    fs::write(dir.path().join("gone.txt"), "bye\n").unwrap();
    dir
}

fn assert_applied(dir: &Path) {
    assert_eq!(
        fs::read_to_string(dir.join("dir/new.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("old.txt")).unwrap(),
        "ONE\ntwo\n"
    );
    assert!(!dir.join("gone.txt").exists());
}

#[test]
fn flag_entry_applies_in_the_cwd() {
    let dir = tree();
    let mut command = Command::new(codex());
    command
        .current_dir(dir.path())
        .args(["--codex-run-as-apply-patch", PATCH]);
    let output = run(command, b"");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), SUMMARY);
    assert_eq!(text(&output.stderr), "");
    assert_applied(dir.path());
}

#[test]
fn flag_entry_rejects_a_bad_patch_without_touching_anything() {
    let dir = tree();
    let patch = PATCH.replace("-one", "-uno");
    let mut command = Command::new(codex());
    command
        .current_dir(dir.path())
        .args(["--codex-run-as-apply-patch", &patch]);
    let output = run(command, b"");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "Failed to find expected lines in {}/old.txt:\nuno\n",
            dir.path().display()
        )),
        "{stderr}"
    );
    assert!(
        !dir.path().join("dir").exists(),
        "the Add before the failure was not applied"
    );
    assert!(dir.path().join("gone.txt").exists());
}

#[test]
fn flag_entry_without_patch_is_an_error_and_ignores_stdin() {
    let dir = tree();
    let mut command = Command::new(codex());
    command
        .current_dir(dir.path())
        .arg("--codex-run-as-apply-patch");
    let output = run(command, PATCH.as_bytes());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "Error: --codex-run-as-apply-patch requires a UTF-8 PATCH argument.\n"
    );
    assert!(dir.path().join("gone.txt").exists());
}

#[test]
fn argv0_entry_takes_an_argument_or_stdin() {
    for name in ["apply_patch", "applypatch"] {
        let bin = tempfile::tempdir().unwrap();
        let link = bin.path().join(name);
        symlink(codex(), &link).unwrap();

        let dir = tree();
        let mut command = Command::new(&link);
        command.current_dir(dir.path()).arg(PATCH);
        let output = run(command, b"");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stdout), SUMMARY);
        assert_applied(dir.path());

        let dir = tree();
        let mut command = Command::new(&link);
        command.current_dir(dir.path());
        let output = run(command, PATCH.as_bytes());
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name} (stdin): {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stdout), SUMMARY);
        assert_applied(dir.path());
    }
}

#[test]
fn argv0_entry_usage_errors_exit_2() {
    let bin = tempfile::tempdir().unwrap();
    let link = bin.path().join("apply_patch");
    symlink(codex(), &link).unwrap();
    let output = run(Command::new(&link), b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).starts_with("Usage: apply_patch 'PATCH'"));
    let mut command = Command::new(&link);
    command.args(["a", "b"]);
    let output = run(command, b"");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "Error: apply_patch accepts exactly one argument.\n"
    );
}

#[test]
fn subcommand_applies_in_the_given_directory() {
    let dir = tree();
    let mut command = Command::new(codex());
    command.args(["apply-patch", "-C"]).arg(dir.path());
    let output = run(command, PATCH.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), SUMMARY);
    assert_applied(dir.path());
}

/// Every case of the apply-patch fixture corpus, through the real binary and the flag entry
/// point (the corpus runner is `scripts/compare-apply-patch-reference`).
#[test]
fn fixture_corpus_through_the_binary() {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/compare-apply-patch-reference");
    let Ok(status) = Command::new("python3").arg("--version").output() else {
        println!("SKIP: python3 is not installed; the corpus runner needs it");
        return;
    };
    assert!(status.status.success());
    let output = Command::new("python3")
        .arg(&script)
        .args(["--ours", "--bin"])
        .arg(codex())
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("# ") && last.ends_with(" match") && !last.contains(','),
        "every case must match: {last}"
    );
}
