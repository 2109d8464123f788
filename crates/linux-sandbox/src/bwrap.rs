//! Finding a usable bubblewrap: `/usr/bin/bwrap` first, then `bwrap` on `PATH` — never one that
//! lies inside a writable root (a sandboxed command could have planted it). A candidate must
//! offer every flag our plans use. Probing runs `bwrap --help`; the result is cached on disk per
//! binary (path, size, modification time, inode) so later runs start without it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Flags the plans need (`--perms` and `--ro-bind-data` came in bubblewrap 0.5), and
/// `--as-pid-1`, with which the inner stage is the namespace's init.
pub const REQUIRED_FLAGS: [&str; 8] = [
    "--as-pid-1",
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

type Probed =
    std::sync::Mutex<std::collections::HashMap<PathBuf, Option<Result<Bwrap, BwrapProblem>>>>;

/// Probe results of this process, by canonical path.
static PROBED: OnceLock<Probed> = OnceLock::new();

/// Candidate names in order of preference: `/usr/bin/bwrap`, then `bwrap` in each `PATH`
/// directory.
fn candidate_names() -> impl Iterator<Item = PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path: Vec<PathBuf> = std::env::split_paths(&path)
        .map(|dir| dir.join("bwrap"))
        .filter(|c| c.is_absolute())
        .collect();
    std::iter::once(PathBuf::from("/usr/bin/bwrap")).chain(on_path)
}

/// Where probe results are kept between runs: `$XDG_CACHE_HOME/codex` or `~/.cache/codex`.
/// A stale or tampered entry can at worst make us run a bubblewrap that then fails with an
/// error — never a weaker sandbox, since the plan itself does not depend on it.
fn cache_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("codex").join("bwrap-probe.txt"))
}

/// What identifies one build of a binary, and the flags it was checked for (a result
/// cached by a build of ours that needed fewer must not vouch for more).
fn identity(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(format!(
        "{}|{}|{}.{}|{}|{}",
        path.display(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino(),
        REQUIRED_FLAGS.join(",")
    ))
}

/// A cached probe: (the missing required flag or "", the version).
fn cached(key: &str) -> Option<(String, String)> {
    let text = std::fs::read_to_string(cache_file()?).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split('\t');
        (fields.next()? == key).then(|| {
            let missing = fields.next().unwrap_or_default().to_string();
            let version = fields.next().unwrap_or_default().to_string();
            (missing, version)
        })
    })
}

/// Records a probe (best effort, replacing the file atomically).
fn remember(key: &str, path: &Path, missing: &str, version: &str) {
    let Some(file) = cache_file() else { return };
    let prefix = format!("{}|", path.display());
    let mut lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    lines.push(format!("{key}\t{missing}\t{version}"));
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let temp = file.with_extension(format!("tmp.{}", std::process::id()));
    if std::fs::write(&temp, lines.join("\n") + "\n").is_ok() {
        let _ = std::fs::rename(&temp, &file);
    }
}

fn probe(path: &Path) -> Option<Result<Bwrap, BwrapProblem>> {
    let key = identity(path)?;
    let (missing, version) = match cached(&key) {
        Some(hit) => hit,
        None => {
            let help = Command::new(path).arg("--help").output().ok()?;
            let text = String::from_utf8_lossy(&help.stdout).into_owned()
                + &String::from_utf8_lossy(&help.stderr);
            let version = Command::new(path)
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            let missing = REQUIRED_FLAGS
                .iter()
                .find(|flag| !text.contains(*flag))
                .map_or("", |flag| *flag)
                .to_string();
            remember(&key, path, &missing, &version);
            (missing, version)
        }
    };
    Some(match REQUIRED_FLAGS.iter().find(|flag| **flag == missing) {
        Some(flag) => Err(BwrapProblem::TooOld {
            path: path.to_path_buf(),
            version,
            flag,
        }),
        None => Ok(Bwrap {
            path: path.to_path_buf(),
            version,
        }),
    })
}

/// The bubblewrap to use, skipping candidates under any of `untrusted` (the writable roots).
/// Candidates are resolved and probed lazily, in order, so the usual `/usr/bin/bwrap` costs
/// one lookup; one under an untrusted root is never even run to be probed.
pub fn find(untrusted: &[PathBuf]) -> Result<Bwrap, BwrapProblem> {
    let mut seen: Vec<PathBuf> = Vec::new();
    let probed = candidate_names()
        .filter_map(|name| std::fs::canonicalize(name).ok())
        .filter(|real| {
            let new = !seen.contains(real);
            if new {
                seen.push(real.clone());
            }
            new
        })
        .filter(|real| !untrusted.iter().any(|root| real.starts_with(root)))
        .filter_map(|real| probe_once(&real).map(|result| (real, result)));
    choose(probed, untrusted)
}

/// [`probe`], at most once per path and process.
fn probe_once(path: &Path) -> Option<Result<Bwrap, BwrapProblem>> {
    let mut probed = PROBED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(result) = probed.get(path) {
        return result.clone();
    }
    let result = probe(path);
    probed.insert(path.to_path_buf(), result.clone());
    result
}

/// The first usable candidate outside every untrusted root, else the first problem seen.
fn choose(
    probed: impl IntoIterator<Item = (PathBuf, Result<Bwrap, BwrapProblem>)>,
    untrusted: &[PathBuf],
) -> Result<Bwrap, BwrapProblem> {
    let mut first_problem = None;
    for (path, result) in probed {
        if untrusted.iter().any(|root| path.starts_with(root)) {
            continue;
        }
        match result {
            Ok(bwrap) => return Ok(bwrap),
            Err(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
    }
    Err(first_problem.unwrap_or(BwrapProblem::Missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usable(path: &str) -> (PathBuf, Result<Bwrap, BwrapProblem>) {
        let path = PathBuf::from(path);
        (
            path.clone(),
            Ok(Bwrap {
                path,
                version: "bubblewrap 0.8.0".into(),
            }),
        )
    }

    #[test]
    fn a_bwrap_inside_a_writable_root_is_never_used() {
        let probed = vec![usable("/ws/bin/bwrap"), usable("/usr/bin/bwrap")];
        let chosen = choose(probed.clone(), &[PathBuf::from("/ws")]).unwrap();
        assert_eq!(chosen.path, PathBuf::from("/usr/bin/bwrap"));
        assert_eq!(
            choose(probed[..1].to_vec(), &[PathBuf::from("/ws")]),
            Err(BwrapProblem::Missing)
        );
    }

    #[test]
    fn a_too_old_bwrap_is_reported_when_nothing_better_exists() {
        let old = (
            PathBuf::from("/usr/bin/bwrap"),
            Err(BwrapProblem::TooOld {
                path: PathBuf::from("/usr/bin/bwrap"),
                version: "bubblewrap 0.4.0".into(),
                flag: "--perms",
            }),
        );
        let error = choose(vec![old.clone()], &[]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("lacks --perms; install bubblewrap 0.5 or newer"),
            "{error}"
        );
        assert_eq!(
            choose(vec![old, usable("/opt/bin/bwrap")], &[])
                .unwrap()
                .path,
            PathBuf::from("/opt/bin/bwrap")
        );
    }
}
