//! The apply_patch command line, reached two ways through the one `codex` binary:
//! `codex --codex-run-as-apply-patch PATCH` (what the agent core runs under the sandbox), and
//! a program named `apply_patch`/`applypatch` (argv[0]), which also reads the patch from stdin.
//!
//! Exit codes: 0 applied; 1 the patch was rejected (nothing changed); 2 usage error.

use crate::apply_patch;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;

/// Exit code of a successful run.
pub const EXIT_OK: i32 = 0;
/// Exit code when the patch is invalid or does not apply; the tree is unchanged.
pub const EXIT_REJECTED: i32 = 1;
/// Exit code of a usage error.
pub const EXIT_USAGE: i32 = 2;

const USAGE: &str = "Usage: apply_patch 'PATCH'\n       echo 'PATCH' | apply_patch\n";

/// Applies `patch` in `cwd`, reporting on `stdout`/`stderr` like the reference tool: the
/// summary on success, one error message on failure (stdout stays empty).
pub fn run_patch(patch: &str, cwd: &Path, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    match apply_patch(patch, cwd) {
        Ok(outcome) => {
            let _ = stdout.write_all(outcome.summary.render().as_bytes());
            for warning in &outcome.warnings {
                let _ = writeln!(stderr, "warning: {warning}");
            }
            EXIT_OK
        }
        Err(error) => {
            let _ = writeln!(stderr, "{error}");
            EXIT_REJECTED
        }
    }
}

/// `codex --codex-run-as-apply-patch PATCH [ignored…]`: `args` are the arguments after the
/// flag. The patch must be an argument; stdin is never read.
pub fn run_from_flag(
    args: &[OsString],
    cwd: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match args.first().and_then(|a| a.to_str()) {
        Some(patch) => run_patch(patch, cwd, out, err),
        None => {
            let _ = writeln!(
                err,
                "Error: --codex-run-as-apply-patch requires a UTF-8 PATCH argument."
            );
            EXIT_REJECTED
        }
    }
}

/// `apply_patch [PATCH]` (argv[0] dispatch): `args` are the arguments after argv[0]. Without
/// one, the patch is read from `stdin`.
pub fn run_as_argv0(
    args: &[OsString],
    stdin: &mut dyn Read,
    cwd: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match args {
        [] => {
            let mut bytes = Vec::new();
            if let Err(error) = stdin.read_to_end(&mut bytes) {
                let _ = writeln!(err, "Error: Failed to read PATCH from stdin.\n{error}");
                return EXIT_REJECTED;
            }
            let Ok(patch) = String::from_utf8(bytes) else {
                let _ = writeln!(
                    err,
                    "Error: Failed to read PATCH from stdin.\nstream did not contain valid UTF-8"
                );
                return EXIT_REJECTED;
            };
            if patch.is_empty() {
                let _ = err.write_all(USAGE.as_bytes());
                return EXIT_USAGE;
            }
            run_patch(&patch, cwd, out, err)
        }
        [flag] if flag == "-h" || flag == "--help" => {
            let _ = out.write_all(USAGE.as_bytes());
            EXIT_OK
        }
        [patch] => match patch.to_str() {
            Some(patch) => run_patch(patch, cwd, out, err),
            None => {
                let _ = writeln!(err, "Error: apply_patch requires a UTF-8 PATCH argument.");
                EXIT_REJECTED
            }
        },
        _ => {
            let _ = writeln!(err, "Error: apply_patch accepts exactly one argument.");
            EXIT_USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_argv0(args: &[&str], stdin: &[u8], cwd: &Path) -> (i32, String, String) {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_as_argv0(&args, &mut &stdin[..], cwd, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn reads_patch_from_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let patch = b"*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n";
        let (code, out, err) = run_argv0(&[], patch, dir.path());
        assert_eq!((code, err.as_str()), (0, ""));
        assert_eq!(out, "Success. Updated the following files:\nA a.txt\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "hi\n"
        );
    }

    #[test]
    fn empty_stdin_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let (code, out, err) = run_argv0(&[], b"", dir.path());
        assert_eq!((code, out.as_str(), err.as_str()), (2, "", USAGE));
    }

    #[test]
    fn non_utf8_stdin_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let (code, _, err) = run_argv0(&[], b"\xff\xfe", dir.path());
        assert_eq!(code, 1);
        assert!(err.contains("stream did not contain valid UTF-8"), "{err}");
    }

    #[test]
    fn two_arguments_are_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let (code, _, err) = run_argv0(&["a", "b"], b"", dir.path());
        assert_eq!(code, 2);
        assert_eq!(err, "Error: apply_patch accepts exactly one argument.\n");
    }

    #[test]
    fn help_prints_usage() {
        let dir = tempfile::tempdir().unwrap();
        let (code, out, _) = run_argv0(&["--help"], b"", dir.path());
        assert_eq!((code, out.as_str()), (0, USAGE));
    }

    #[test]
    fn flag_form_requires_an_argument_and_ignores_extras() {
        let dir = tempfile::tempdir().unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run_from_flag(&[], dir.path(), &mut out, &mut err), 1);
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "Error: --codex-run-as-apply-patch requires a UTF-8 PATCH argument.\n"
        );
        let args: Vec<OsString> = vec![
            "*** Begin Patch\n*** Add File: b.txt\n+x\n*** End Patch".into(),
            "extra".into(),
        ];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run_from_flag(&args, dir.path(), &mut out, &mut err), 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Success. Updated the following files:\nA b.txt\n"
        );
    }

    #[test]
    fn failure_keeps_stdout_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (code, out, err) = run_argv0(&["*** Begin Patch\n*** End Patch"], b"", dir.path());
        assert_eq!((code, out.as_str()), (1, ""));
        assert_eq!(err, "No files were modified.\n");
    }
}
