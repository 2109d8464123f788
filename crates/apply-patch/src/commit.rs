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
//! Paths arrive resolved (writes land in a symlink's target; deleting a symlink removes the
//! link). A file that is a mount point cannot be renamed: it is written in place, its old bytes
//! kept to undo.

use crate::error::CommitError;
use crate::plan::{ApplyPlan, PlannedFile};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

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
    WroteInPlace { path: PathBuf, original: Vec<u8> },
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
                Step::WroteInPlace { path, original } => fs::write(path, original),
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
                    Step::WroteInPlace { path, .. } => {
                        format!(
                            "could not restore the old content of {}: {error}",
                            path.display()
                        )
                    }
                });
            }
        }
        failures
    }
}

/// Writes `plan` to disk, all or nothing. A file that changed since the plan was computed
/// stops the commit before anything is written.
pub fn commit(plan: &ApplyPlan) -> Result<CommitReport, CommitError> {
    let mut journal = Journal::default();
    let mut prepared: Vec<(&PlannedFile, Option<PathBuf>)> = Vec::new();
    for file in plan.files.iter().filter(|f| !f.is_noop()) {
        if let Err(error) = unchanged_since_plan(file) {
            return Err(journal.fail("write file", &file.path, error));
        }
        let Some(content) = &file.after else {
            prepared.push((file, None));
            continue;
        };
        let temp = match prepare(&mut journal, content, file) {
            Ok(temp) => temp,
            Err(error) => return Err(journal.fail("write file", &file.path, error)),
        };
        prepared.push((file, Some(temp)));
    }

    let mut backups = Vec::new();
    for (index, (file, temp)) in prepared.iter().enumerate() {
        let target = &file.path;
        #[cfg(test)]
        if tests::FAIL_SWAP_AT.with(|at| at.get()) == Some(index) {
            return Err(journal.fail("write file", target, io::Error::other("injected failure")));
        }
        #[cfg(not(test))]
        let _ = index;
        let action = if temp.is_some() {
            "replace file"
        } else {
            "delete file"
        };
        if let Ok(meta) = fs::symlink_metadata(target) {
            if meta.is_dir() {
                let error = io::Error::new(io::ErrorKind::IsADirectory, "it is a directory");
                return Err(journal.fail(action, target, error));
            }
            let backup = sibling(target, "bak");
            match fs::rename(target, &backup) {
                Ok(()) => {
                    journal.steps.push(Step::MovedAside {
                        original: target.clone(),
                        backup: backup.clone(),
                    });
                    backups.push(backup);
                }
                // A mount point (a bind-mounted file, as Docker does with /etc/hosts) cannot be
                // renamed: write it in place instead, keeping its old bytes to undo.
                Err(error) if is_busy(&error) && temp.is_some() && file.before.is_some() => {
                    let temp = temp.as_ref().expect("checked above");
                    if let Err(error) = write_in_place(&mut journal, file, temp) {
                        return Err(journal.fail(action, target, error));
                    }
                    continue;
                }
                Err(error) => return Err(journal.fail(action, target, error)),
            }
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

fn is_busy(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::ResourceBusy
}

/// Copies the prepared content into the existing file itself.
fn write_in_place(journal: &mut Journal, file: &PlannedFile, temp: &Path) -> io::Result<()> {
    let content = fs::read(temp)?;
    let original = file.before.clone().unwrap_or_default();
    journal.steps.push(Step::WroteInPlace {
        path: file.path.clone(),
        original,
    });
    fs::write(&file.path, content)?;
    fs::remove_file(temp)
}

/// Errors when the file on disk is no longer what the plan was computed from.
fn unchanged_since_plan(file: &PlannedFile) -> io::Result<()> {
    let now = match fs::metadata(&file.path) {
        Ok(meta) if meta.is_file() => Some(fs::read(&file.path)?),
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let same = match (&file.before, &now) {
        (Some(before), Some(now)) => before == now,
        (None, None) => true,
        // A dangling link or special file planned as existing-but-unreadable.
        (Some(before), None) => before.is_empty() && fs::symlink_metadata(&file.path).is_ok(),
        (None, Some(_)) => false,
    };
    if same {
        Ok(())
    } else {
        Err(io::Error::other(
            "it changed after the patch was checked; check the patch again against the new content",
        ))
    }
}

/// Writes `content` to a new temporary file beside `file.path`, creating parent directories,
/// with the planned permissions (and owner, where the process may set it).
fn prepare(journal: &mut Journal, content: &str, file: &PlannedFile) -> io::Result<PathBuf> {
    if let Some(parent) = file.path.parent() {
        create_dirs(journal, parent)?;
    }
    let temp = sibling(&file.path, "tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if file.permissions.is_some() {
        // Private until the planned permissions are set: the old content may be secret.
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut handle = options.open(&temp)?;
    journal.steps.push(Step::WroteTemp(temp.clone()));
    handle.write_all(content.as_bytes())?;
    #[cfg(unix)]
    if let Some((uid, gid)) = file.owner {
        // Only root may give a file away; anyone else keeps ownership of what they write.
        let _ = std::os::unix::fs::fchown(&handle, Some(uid), Some(gid));
    }
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

/// A fresh name next to `path`: `.apply-patch.PID.N.KIND` (short, so it fits wherever the
/// file's own name fits).
fn sibling(path: &Path, kind: &str) -> PathBuf {
    path.with_file_name(format!(
        ".apply-patch.{}.{}.{kind}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    ))
}

#[cfg(test)]
#[path = "commit_tests.rs"]
mod tests;
