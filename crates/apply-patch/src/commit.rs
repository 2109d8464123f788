//! Writing an [`ApplyPlan`] to disk so that it happens completely or not at all.
//!
//! 1. Prepare: every new content goes to a temporary file beside its destination (creating
//!    missing parent directories), with the permissions the plan names.
//! 2. Swap: each existing destination is renamed aside to a backup name, then the temporary file
//!    is renamed into place; a deletion is just the rename aside.
//! 3. Finish: backups are removed.
//!
//! Any failure in 1 or 2 undoes every step taken so far in reverse (renaming backups back,
//! removing placed files, temporary files and created directories), so the tree is as it was.
//! Writes go through symlinks to their final target, like an in-place write would; deleting a
//! symlink removes the link.

use crate::error::CommitError;
use crate::plan::{ApplyPlan, PlannedFile};
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Symlink hops followed before a write target is taken as is (Linux's own limit).
const MAX_SYMLINK_HOPS: usize = 40;

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

/// What a successful commit could not clean up (a backup it failed to remove, say).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CommitReport {
    pub warnings: Vec<String>,
}

/// One undoable step, recorded as it happens.
enum Step {
    CreatedDir(PathBuf),
    WroteTemp(PathBuf),
    MovedAside { original: PathBuf, backup: PathBuf },
    Placed(PathBuf),
}

#[derive(Default)]
struct Journal {
    steps: Vec<Step>,
}

impl Journal {
    fn fail(self, action: &'static str, path: &Path, source: io::Error) -> CommitError {
        CommitError {
            action,
            path: path.to_path_buf(),
            source,
            rollback_failures: self.undo(),
        }
    }

    /// Undoes every step in reverse; returns what could not be undone.
    fn undo(self) -> Vec<String> {
        let mut failures = Vec::new();
        for step in self.steps.into_iter().rev() {
            let result = match &step {
                Step::CreatedDir(dir) => fs::remove_dir(dir),
                Step::WroteTemp(temp) => match fs::remove_file(temp) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
                Step::MovedAside { original, backup } => fs::rename(backup, original),
                Step::Placed(path) => fs::remove_file(path),
            };
            if let Err(error) = result {
                failures.push(match step {
                    Step::CreatedDir(dir) => {
                        format!(
                            "could not remove created directory {}: {error}",
                            dir.display()
                        )
                    }
                    Step::WroteTemp(temp) => {
                        format!(
                            "could not remove temporary file {}: {error}",
                            temp.display()
                        )
                    }
                    Step::MovedAside { original, backup } => format!(
                        "could not move {} back to {}: {error}",
                        backup.display(),
                        original.display()
                    ),
                    Step::Placed(path) => {
                        format!("could not remove new file {}: {error}", path.display())
                    }
                });
            }
        }
        failures
    }
}

/// Writes `plan` to disk, all or nothing.
pub fn commit(plan: &ApplyPlan) -> Result<CommitReport, CommitError> {
    let mut journal = Journal::default();
    let mut prepared: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for file in plan.files.iter().filter(|f| !f.is_noop()) {
        let Some(content) = &file.after else {
            prepared.push((file.path.clone(), None));
            continue;
        };
        let target = write_target(&file.path);
        let temp = match prepare(&mut journal, &target, content, file) {
            Ok(temp) => temp,
            Err(error) => return Err(journal.fail("write file", &target, error)),
        };
        prepared.push((target, Some(temp)));
    }

    let mut backups = Vec::new();
    for (index, (target, temp)) in prepared.iter().enumerate() {
        #[cfg(test)]
        if tests::FAIL_SWAP_AT.with(|at| at.get()) == Some(index) {
            return Err(journal.fail("write file", target, io::Error::other("injected failure")));
        }
        #[cfg(not(test))]
        let _ = index;
        if fs::symlink_metadata(target).is_ok() {
            let backup = sibling(target, "bak");
            if let Err(error) = fs::rename(target, &backup) {
                let action = if temp.is_some() {
                    "replace file"
                } else {
                    "delete file"
                };
                return Err(journal.fail(action, target, error));
            }
            journal.steps.push(Step::MovedAside {
                original: target.clone(),
                backup: backup.clone(),
            });
            backups.push(backup);
        }
        if let Some(temp) = temp {
            if let Err(error) = fs::rename(temp, target) {
                return Err(journal.fail("write file", target, error));
            }
            journal.steps.push(Step::Placed(target.clone()));
        }
    }

    let mut report = CommitReport::default();
    for backup in backups {
        if let Err(error) = fs::remove_file(&backup) {
            report.warnings.push(format!(
                "the change is complete, but the backup {} could not be removed: {error}",
                backup.display()
            ));
        }
    }
    Ok(report)
}

/// Writes `content` to a new temporary file beside `target`, creating parent directories.
fn prepare(
    journal: &mut Journal,
    target: &Path,
    content: &str,
    file: &PlannedFile,
) -> io::Result<PathBuf> {
    if let Some(parent) = target.parent() {
        create_dirs(journal, parent)?;
    }
    let temp = sibling(target, "tmp");
    let mut handle = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    journal.steps.push(Step::WroteTemp(temp.clone()));
    handle.write_all(content.as_bytes())?;
    if let Some(permissions) = &file.permissions {
        handle.set_permissions(permissions.clone())?;
    }
    Ok(temp)
}

/// `create_dir_all` that records each directory it creates.
fn create_dirs(journal: &mut Journal, dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && fs::metadata(a).is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        match fs::create_dir(dir) {
            Ok(()) => journal.steps.push(Step::CreatedDir(dir.to_path_buf())),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The file a write to `path` lands in: `path` itself, or the end of its symlink chain (which
/// may not exist yet, for a dangling link).
fn write_target(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        let Ok(meta) = fs::symlink_metadata(&current) else {
            break;
        };
        if !meta.file_type().is_symlink() {
            break;
        }
        let Ok(link) = fs::read_link(&current) else {
            break;
        };
        current = match current.parent() {
            Some(parent) if link.is_relative() => parent.join(link),
            _ => link,
        };
    }
    current
}

/// A fresh name next to `path`: `.NAME.PID.N.apply-patch.KIND`.
fn sibling(path: &Path, kind: &str) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(
        ".{}.{}.apply-patch.{kind}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    ));
    path.with_file_name(name)
}

#[cfg(test)]
#[path = "commit_tests.rs"]
mod tests;
