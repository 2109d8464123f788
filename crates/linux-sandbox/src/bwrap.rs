//! Finding a usable bubblewrap: `/usr/bin/bwrap` first, then `bwrap` on `PATH` — never one that
//! lies inside a writable root (a sandboxed command could have planted it). A candidate must
//! offer every flag our plans use; the probe runs once per process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Flags the plans need (`--perms` and `--ro-bind-data` came in bubblewrap 0.5).
pub const REQUIRED_FLAGS: [&str; 7] = [
    "--perms",
    "--ro-bind-data",
    "--remount-ro",
    "--dir",
    "--cap-drop",
    "--die-with-parent",
    "--new-session",
];

/// A bubblewrap that supports our plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bwrap {
    pub path: PathBuf,
    pub version: String,
}

/// Why no bubblewrap can be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BwrapProblem {
    #[error(
        "bubblewrap was not found (looked for /usr/bin/bwrap and bwrap on PATH); install it with your package manager (Debian/Ubuntu: apt install bubblewrap)"
    )]
    Missing,
    #[error(
        "{} ({version}) is too old: it lacks {flag}; install bubblewrap 0.5 or newer",
        path.display()
    )]
    TooOld {
        path: PathBuf,
        version: String,
        flag: &'static str,
    },
}

static PROBED: OnceLock<Vec<(PathBuf, Result<Bwrap, BwrapProblem>)>> = OnceLock::new();

fn candidates() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("/usr/bin/bwrap")];
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("bwrap");
            if candidate.is_absolute() && !out.contains(&candidate) {
                out.push(candidate);
            }
        }
    }
    out
}

fn probe(path: &Path) -> Option<Result<Bwrap, BwrapProblem>> {
    let help = Command::new(path).arg("--help").output().ok()?;
    let text =
        String::from_utf8_lossy(&help.stdout).into_owned() + &String::from_utf8_lossy(&help.stderr);
    let version = Command::new(path)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    Some(
        match REQUIRED_FLAGS.iter().find(|flag| !text.contains(*flag)) {
            Some(flag) => Err(BwrapProblem::TooOld {
                path: path.to_path_buf(),
                version,
                flag,
            }),
            None => Ok(Bwrap {
                path: path.to_path_buf(),
                version,
            }),
        },
    )
}

/// The bubblewrap to use, skipping candidates under any of `untrusted` (the writable roots).
pub fn find(untrusted: &[PathBuf]) -> Result<Bwrap, BwrapProblem> {
    let probed = PROBED.get_or_init(|| {
        candidates()
            .into_iter()
            .filter_map(|c| {
                let real = std::fs::canonicalize(&c).ok()?;
                probe(&real).map(|result| (real, result))
            })
            .collect()
    });
    let mut first_problem = None;
    for (path, result) in probed {
        if untrusted.iter().any(|root| path.starts_with(root)) {
            continue;
        }
        match result {
            Ok(bwrap) => return Ok(bwrap.clone()),
            Err(problem) => {
                first_problem.get_or_insert_with(|| problem.clone());
            }
        }
    }
    Err(first_problem.unwrap_or(BwrapProblem::Missing))
}
