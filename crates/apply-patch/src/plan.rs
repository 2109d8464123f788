//! From a parsed patch to an [`ApplyPlan`]: the final state of every path the patch touches,
//! computed in memory against what is on disk, before anything is written.
//!
//! Hunks apply in order to an in-memory overlay of the tree, so later hunks see earlier ones
//! (Add then Update of one file, two Updates, an Update of a Move's destination). Reading is
//! the only disk access here; [`crate::commit`] does the writing.

use crate::error::ComputeError;
use crate::parser::{Hunk, Patch};
use crate::update::apply_chunks;
use codex_protocol::FileChange;
use rustc_hash::FxHashMap;
use std::fs::{self, Permissions};
use std::io;
use std::path::{Component, Path, PathBuf};

/// The verified effect of a patch: the final state of every touched path, and the summary the
/// CLI prints.
#[derive(Debug, Clone)]
pub struct ApplyPlan {
    /// One entry per touched path, in the order the patch first touches them.
    pub files: Vec<PlannedFile>,
    pub summary: Summary,
    moves: Vec<(PathBuf, PathBuf)>,
}

/// One path's state before and after the patch.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// Absolute and lexically normalised (`a/../b` is `b`; symlinks are not resolved).
    pub path: PathBuf,
    /// The bytes on disk when the plan was computed; `None` when the path did not exist.
    pub before: Option<Vec<u8>>,
    /// The content after the patch; `None` when the patch removes the path.
    pub after: Option<String>,
    /// Permissions the written file gets: its own for an existing file, the source's for the
    /// destination of a move, `None` (the process default) for a new file.
    pub permissions: Option<Permissions>,
    /// Owner and group to keep (Unix), taken with the permissions.
    pub owner: Option<(u32, u32)>,
}

impl PlannedFile {
    /// Whether committing this entry changes nothing on disk.
    pub fn is_noop(&self) -> bool {
        match (&self.before, &self.after) {
            (None, None) => true,
            (Some(before), Some(after)) => before == after.as_bytes(),
            _ => false,
        }
    }
}

/// The paths as written in the patch, grouped the way the CLI reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub deleted: Vec<String>,
}

impl Summary {
    /// `Success. Updated the following files:` and one `A`/`M`/`D` line per hunk.
    pub fn render(&self) -> String {
        let mut out = String::from("Success. Updated the following files:\n");
        for (tag, paths) in [
            ('A', &self.added),
            ('M', &self.modified),
            ('D', &self.deleted),
        ] {
            for path in paths {
                out.push_str(&format!("{tag} {path}\n"));
            }
        }
        out
    }
}

impl ApplyPlan {
    /// The patch as per-path changes against the current disk state, for showing to a user:
    /// a move is one `Update` at its source with `move_path` set.
    pub fn changes(&self) -> Vec<(PathBuf, PatchChange)> {
        let by_path: FxHashMap<&Path, &PlannedFile> =
            self.files.iter().map(|f| (f.path.as_path(), f)).collect();
        let mut shown_as_move: Vec<&Path> = Vec::new();
        let mut changes = Vec::new();
        for (source, dest) in &self.moves {
            let (Some(src), Some(dst)) =
                (by_path.get(source.as_path()), by_path.get(dest.as_path()))
            else {
                continue;
            };
            if let (Some(before), None, None, Some(after)) =
                (&src.before, &src.after, &dst.before, &dst.after)
            {
                changes.push((
                    source.clone(),
                    PatchChange::Update {
                        unified_diff: unified_diff(&String::from_utf8_lossy(before), after),
                        move_path: Some(dest.clone()),
                        new_content: after.clone(),
                    },
                ));
                shown_as_move.extend([source.as_path(), dest.as_path()]);
            }
        }
        for file in &self.files {
            if shown_as_move.contains(&file.path.as_path()) || file.is_noop() {
                continue;
            }
            let change = match (&file.before, &file.after) {
                (None, Some(after)) => PatchChange::Add {
                    content: after.clone(),
                },
                (Some(before), None) => PatchChange::Delete {
                    content: String::from_utf8_lossy(before).into_owned(),
                },
                (Some(before), Some(after)) => PatchChange::Update {
                    unified_diff: unified_diff(&String::from_utf8_lossy(before), after),
                    move_path: None,
                    new_content: after.clone(),
                },
                (None, None) => continue,
            };
            changes.push((file.path.clone(), change));
        }
        changes
    }
}

/// What a patch does to one path, against the disk as it was when the plan was computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchChange {
    /// The path is created (or replaced) with `content`.
    Add { content: String },
    /// The path is removed; `content` is what it held (lossily decoded when not UTF-8).
    Delete { content: String },
    /// The file is edited, and moved to `move_path` when set.
    Update {
        unified_diff: String,
        move_path: Option<PathBuf>,
        new_content: String,
    },
}

impl From<PatchChange> for FileChange {
    /// The wire form carries the diff, not the new content.
    fn from(change: PatchChange) -> Self {
        match change {
            PatchChange::Add { content } => FileChange::Add { content },
            PatchChange::Delete { content } => FileChange::Delete { content },
            PatchChange::Update {
                unified_diff,
                move_path,
                ..
            } => FileChange::Update {
                unified_diff,
                move_path,
            },
        }
    }
}

/// A unified diff (no file header) from `old` to `new`.
pub fn unified_diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .to_string()
}

/// Resolves `path` against `cwd` lexically: `.` and `..` are folded without touching the disk,
/// so `ln/../x` is `x` even when `ln` is a symlink.
pub fn resolve_path(cwd: &Path, path: &str) -> PathBuf {
    let joined = cwd.join(path);
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Symlink hops followed before giving up (Linux's own limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// How much of a path's symlinks [`identity`] follows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Follow {
    /// Only the parent directories (a delete removes a link, not its target).
    Parents,
    /// The parents and the final component (writes land in the link's target).
    Final,
}

/// The file `path` stands for, so two spellings of one file share one overlay entry: existing
/// parent directories resolved, and with [`Follow::Final`] a final symlink chain followed.
fn identity(path: &Path, follow: Follow) -> Result<PathBuf, ComputeError> {
    let mut current = with_real_parent(path);
    if follow == Follow::Parents {
        return Ok(current);
    }
    for _ in 0..MAX_SYMLINK_HOPS {
        let is_link = fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            return Ok(current);
        }
        let Ok(target) = fs::read_link(&current) else {
            return Ok(current);
        };
        let base = current.parent().unwrap_or(Path::new("/"));
        current = with_real_parent(&resolve_path(base, &target.to_string_lossy()));
    }
    Err(ComputeError::SymlinkLoop {
        path: path.to_path_buf(),
    })
}

/// `path` with its parent directory canonicalized when the parent exists.
fn with_real_parent(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => fs::canonicalize(parent)
            .map(|real| real.join(name))
            .unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

#[cfg(unix)]
fn owner_of(meta: &fs::Metadata) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.uid(), meta.gid()))
}

#[cfg(not(unix))]
fn owner_of(_: &fs::Metadata) -> Option<(u32, u32)> {
    None
}

/// A touched path in the overlay.
struct Slot {
    before: Option<Vec<u8>>,
    current: Option<String>,
    permissions: Option<Permissions>,
    owner: Option<(u32, u32)>,
    /// Patch line of the hunk that last removed the path, for error messages.
    removed_at: usize,
}

#[derive(Default)]
struct Overlay {
    order: Vec<PathBuf>,
    slots: FxHashMap<PathBuf, Slot>,
}

impl Overlay {
    /// The slot for `path`, loading what is on disk on first touch. A path that exists but is
    /// not a readable file loads as absent; callers check the kind they need first.
    fn slot(&mut self, path: &Path) -> &mut Slot {
        if !self.slots.contains_key(path) {
            // Only regular files are read: a FIFO or device would block or never end.
            let regular = fs::metadata(path).is_ok_and(|m| m.is_file());
            self.load(path, regular.then(|| fs::read(path).ok()).flatten());
        }
        self.slots.get_mut(path).expect("slot inserted above")
    }

    /// Records `path` as first seen with `before` on disk.
    fn load(&mut self, path: &Path, before: Option<Vec<u8>>) {
        let meta = before.as_ref().and_then(|_| fs::metadata(path).ok());
        let permissions = meta.as_ref().map(|m| m.permissions());
        let owner = meta.as_ref().and_then(owner_of);
        let current = before
            .as_ref()
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::to_owned);
        self.order.push(path.to_path_buf());
        self.slots.insert(
            path.to_path_buf(),
            Slot {
                before,
                current,
                permissions,
                owner,
                removed_at: 0,
            },
        );
    }

    fn touched(&self, path: &Path) -> Option<&Slot> {
        self.slots.get(path)
    }

    /// Errors unless a file can be written at `path`: it is not a directory and no ancestor is a
    /// file (on disk, or in the overlay).
    fn check_writable(&self, path: &Path) -> Result<(), ComputeError> {
        if let Some(child) = self
            .slots
            .iter()
            .find(|(p, s)| s.current.is_some() && p.starts_with(path) && p.as_path() != path)
        {
            return Err(ComputeError::NeededAsDirectory {
                path: path.to_path_buf(),
                child: child.0.clone(),
            });
        }
        if self.touched(path).is_none() && fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(ComputeError::WriteDirectory {
                path: path.to_path_buf(),
            });
        }
        for parent in path.ancestors().skip(1) {
            if self.touched(parent).is_some_and(|s| s.current.is_some()) {
                return Err(ComputeError::ParentNotDirectory {
                    path: path.to_path_buf(),
                    parent: parent.to_path_buf(),
                });
            }
            match fs::metadata(parent) {
                Ok(meta) if meta.is_dir() => return Ok(()),
                Ok(_) => {
                    return Err(ComputeError::ParentNotDirectory {
                        path: path.to_path_buf(),
                        parent: parent.to_path_buf(),
                    });
                }
                Err(_) => continue,
            }
        }
        Ok(())
    }

    /// The current text of a file to update, from the overlay or the disk.
    fn text_for_update(&mut self, path: &Path) -> Result<&str, ComputeError> {
        if self.touched(path).is_none() {
            let read = match fs::metadata(path) {
                Ok(meta) if meta.is_dir() => Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "it is a directory",
                )),
                Ok(meta) if !meta.is_file() => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file",
                )),
                _ => fs::read(path),
            };
            let bytes = read.map_err(|source| ComputeError::ReadUpdate {
                path: path.to_path_buf(),
                source,
            })?;
            self.load(path, Some(bytes));
        }
        let slot = &self.slots[path];
        match (&slot.before, &slot.current) {
            (_, Some(text)) => Ok(text),
            (_, None) if slot.removed_at > 0 => Err(ComputeError::RemovedEarlier {
                path: path.to_path_buf(),
                line: slot.removed_at,
            }),
            (Some(bytes), None) => Err(ComputeError::NotUtf8 {
                path: path.to_path_buf(),
                detail: std::str::from_utf8(bytes)
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
            }),
            (None, None) => Err(read_error(path)),
        }
    }
}

/// The error for a path that is in the overlay without content it can read.
fn read_error(path: &Path) -> ComputeError {
    ComputeError::ReadUpdate {
        path: path.to_path_buf(),
        source: fs::read(path).err().unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "not a readable text file")
        }),
    }
}

/// Computes the effect of `patch` applied in `cwd`, reading (never writing) the disk.
pub fn compute_plan(patch: &Patch, cwd: &Path) -> Result<ApplyPlan, ComputeError> {
    if patch.hunks.is_empty() {
        return Err(ComputeError::NoHunks);
    }
    let mut overlay = Overlay::default();
    let mut summary = Summary::default();
    let mut moves = Vec::new();
    for hunk in &patch.hunks {
        match hunk {
            Hunk::Add { path, contents, .. } => {
                let key = identity(&resolve_path(cwd, path), Follow::Final)?;
                overlay.check_writable(&key)?;
                overlay.slot(&key).current = Some(contents.clone());
                summary.added.push(path.clone());
            }
            Hunk::Delete { path, line } => {
                let key = identity(&resolve_path(cwd, path), Follow::Parents)?;
                delete(&mut overlay, &key, *line)?;
                summary.deleted.push(path.clone());
            }
            Hunk::Update {
                path,
                move_to,
                chunks,
                line,
            } => {
                let lexical = resolve_path(cwd, path);
                let source = identity(&lexical, Follow::Final)?;
                let new_text = apply_chunks(&source, overlay.text_for_update(&source)?, chunks)?;
                let dest = match move_to {
                    Some(dest) => Some(identity(&resolve_path(cwd, dest), Follow::Final)?),
                    None => None,
                };
                match dest {
                    Some(dest) if dest != source => {
                        overlay.check_writable(&dest)?;
                        let source_slot = overlay.slot(&source);
                        let (permissions, owner) =
                            (source_slot.permissions.clone(), source_slot.owner);
                        // Moving a symlink removes the link; its target stays.
                        let link = identity(&lexical, Follow::Parents)?;
                        let removed = overlay.slot(&link);
                        removed.current = None;
                        removed.removed_at = *line;
                        let target = overlay.slot(&dest);
                        target.current = Some(new_text);
                        target.permissions = permissions;
                        target.owner = owner;
                        moves.push((link, dest));
                    }
                    _ => overlay.slot(&source).current = Some(new_text),
                }
                summary
                    .modified
                    .push(move_to.clone().unwrap_or_else(|| path.clone()));
            }
        }
    }
    let Overlay { order, mut slots } = overlay;
    let files = order
        .into_iter()
        .map(|path| {
            let slot = slots.remove(&path).expect("every ordered path has a slot");
            PlannedFile {
                path,
                before: slot.before,
                after: slot.current,
                permissions: slot.permissions,
                owner: slot.owner,
            }
        })
        .collect();
    Ok(ApplyPlan {
        files,
        summary,
        moves,
    })
}

fn delete(overlay: &mut Overlay, path: &Path, line: usize) -> Result<(), ComputeError> {
    match overlay.touched(path) {
        Some(slot) if slot.removed_at > 0 && slot.current.is_none() => {
            return Err(ComputeError::DeletedTwice {
                path: path.to_path_buf(),
                line: slot.removed_at,
            });
        }
        Some(_) => {}
        None => match fs::symlink_metadata(path) {
            Err(source) => {
                return Err(ComputeError::ReadDelete {
                    path: path.to_path_buf(),
                    source,
                });
            }
            Ok(meta) if meta.is_dir() => {
                return Err(ComputeError::DeleteDirectory {
                    path: path.to_path_buf(),
                });
            }
            Ok(_) => {}
        },
    }
    let slot = overlay.slot(path);
    if slot.before.is_none() && fs::symlink_metadata(path).is_ok() {
        // A dangling symlink or unreadable file is still removed; record that it existed.
        slot.before = Some(Vec::new());
    }
    slot.current = None;
    slot.removed_at = line;
    Ok(())
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
