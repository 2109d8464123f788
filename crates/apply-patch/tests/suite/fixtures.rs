//! Runs every case of `tests/fixtures/` (see its README) through the standalone entry point and
//! compares the resulting tree, stdout, stderr and exit code.
//!
//! `BLESS=1 cargo test -p codex-apply-patch --test all fixtures` writes each case's `stderr`
//! from what the engine printed, for review in the diff.

use super::support::{copy_tree, read_tree};
use codex_apply_patch::standalone::run_from_flag;
use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// The corpus must keep at least this many cases.
const MIN_CASES: usize = 80;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_optional(path: &Path) -> Option<String> {
    fs::read(path)
        .ok()
        .map(|b| String::from_utf8(b).expect("fixture text files are UTF-8"))
}

/// Runs one case; returns a description of every difference.
fn run_case(case: &Path, bless: bool) -> Vec<String> {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    fs::create_dir(&root).unwrap();
    if case.join("input").is_dir() {
        copy_tree(&case.join("input"), &root);
    }
    let patch = fs::read(case.join("patch.txt")).expect("patch.txt");
    // Exact bytes: a few cases pass a patch that is not UTF-8.
    let patch = OsString::from_vec(patch);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_from_flag(&[patch], &root, &mut out, &mut err);
    let out = String::from_utf8(out).unwrap();
    let err = String::from_utf8(err)
        .unwrap()
        .replace(root.to_str().unwrap(), "{cwd}");

    let mut problems = Vec::new();
    let expected_code: i32 = read_optional(&case.join("exit_code"))
        .map(|s| s.trim().parse().expect("exit_code is a number"))
        .unwrap_or(0);
    if code != expected_code {
        problems.push(format!(
            "exit code {code}, expected {expected_code}; stderr: {err}"
        ));
    }
    let expected_out = read_optional(&case.join("stdout")).unwrap_or_default();
    if out != expected_out {
        problems.push(format!("stdout {out:?}, expected {expected_out:?}"));
    }
    let expected_tree = if case.join("expected").is_dir() {
        read_tree(&case.join("expected"))
    } else {
        Default::default()
    };
    let actual_tree = read_tree(&root);
    if actual_tree != expected_tree {
        let mut keys: Vec<_> = actual_tree.keys().chain(expected_tree.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let (a, e) = (actual_tree.get(key), expected_tree.get(key));
            if a != e {
                problems.push(format!(
                    "file {key}: got {:?}, expected {:?}",
                    a.map(|b| String::from_utf8_lossy(b).into_owned()),
                    e.map(|b| String::from_utf8_lossy(b).into_owned())
                ));
            }
        }
    }
    let stderr_file = case.join("stderr");
    if bless {
        fs::write(&stderr_file, &err).unwrap();
    } else {
        match read_optional(&stderr_file) {
            Some(expected_err) if expected_err != err => {
                problems.push(format!("stderr {err:?}, expected {expected_err:?}"))
            }
            Some(_) => {}
            None => problems.push(format!("no stderr file; got {err:?} (bless with BLESS=1)")),
        }
    }
    problems
}

#[test]
fn fixture_corpus() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("patch.txt").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= MIN_CASES,
        "only {} fixture cases",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let problems = run_case(case, bless);
        if !problems.is_empty() {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixture cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
