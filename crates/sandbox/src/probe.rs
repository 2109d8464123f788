//! Host facts the resolver needs, behind one small trait: what kind of thing is at a path,
//! where symlinks lead, what a `.git` pointer file says, which entries a directory has.
//!
//! [`HostFs`] asks the real filesystem; [`FakeFs`] answers from a map, so every rule of the
//! resolver and the plans is tested the same way on every OS.

use codex_protocol::FileSystemAccess;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// What is at a path, without following a final symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathKind {
    Missing,
    File,
    Dir,
    Symlink,
}

/// Read-only questions about the host.
pub trait FsProbe {
    /// The kind of `path` itself (a symlink is reported as such).
    fn kind(&self, path: &Path) -> PathKind;
    /// `path` with every symlink resolved, or `None` when it does not exist.
    fn canonicalize(&self, path: &Path) -> Option<PathBuf>;
    /// The contents of a small text file (a `.git` pointer file).
    fn read_text(&self, path: &Path) -> Option<String>;
    /// The names in a directory, sorted.
    fn list_dir(&self, path: &Path) -> Vec<String>;
    /// The names in a directory, sorted, each with its kind (a symlink as such). Names as
    /// they are, bytes that are not UTF-8 included: a plan grants entries by name.
    fn list_dir_kinds(&self, path: &Path) -> Vec<(OsString, PathKind)> {
        self.list_dir(path)
            .into_iter()
            .map(|name| {
                let kind = self.kind(&path.join(&name));
                (OsString::from(name), kind)
            })
            .collect()
    }
    /// Whether this process, with no sandbox, may read (`Read`) or write (`Write`) `path` by
    /// its modes and ownership; for a missing path, whether it may create it. `None` when
    /// that cannot be told (as here by default: asking is a system call this crate leaves to
    /// its callers, see core's `exec`).
    fn permits(&self, path: &Path, access: FileSystemAccess) -> Option<bool> {
        let _ = (path, access);
        None
    }
}

/// Where writing `path` is decided: the path itself, or its directory when it does not exist.
pub fn write_target(path: &Path, exists: bool) -> Option<&Path> {
    if exists { Some(path) } else { path.parent() }
}

/// The real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostFs;

impl FsProbe for HostFs {
    fn kind(&self, path: &Path) -> PathKind {
        match std::fs::symlink_metadata(path) {
            Err(_) => PathKind::Missing,
            Ok(m) if m.file_type().is_symlink() => PathKind::Symlink,
            Ok(m) if m.is_dir() => PathKind::Dir,
            Ok(_) => PathKind::File,
        }
    }

    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }

    fn read_text(&self, path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        // A pointer file is one short line; refuse to read anything large.
        if meta.len() > 64 * 1024 {
            return None;
        }
        std::fs::read_to_string(path).ok()
    }

    fn list_dir(&self, path: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// From the directory's own records (`d_type`), without a system call per entry where
    /// the filesystem fills them in.
    fn list_dir_kinds(&self, path: &Path) -> Vec<(OsString, PathKind)> {
        let mut entries: Vec<(OsString, PathKind)> = std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| {
                        let kind = match e.file_type() {
                            Ok(t) if t.is_symlink() => PathKind::Symlink,
                            Ok(t) if t.is_dir() => PathKind::Dir,
                            Ok(_) => PathKind::File,
                            Err(_) => self.kind(&e.path()),
                        };
                        (e.file_name(), kind)
                    })
                    .collect()
            })
            .unwrap_or_default();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }
}

/// An in-memory tree for tests: directories, files with text, and symlinks.
#[derive(Debug, Default, Clone)]
pub struct FakeFs {
    entries: BTreeMap<PathBuf, FakeEntry>,
    /// Paths whose modes let nobody but their owner in (and we are not it).
    locked: std::collections::BTreeSet<PathBuf>,
}

#[derive(Debug, Clone)]
enum FakeEntry {
    Dir,
    File(String),
    Symlink(PathBuf),
}

impl FakeFs {
    pub fn new() -> Self {
        let mut fs = FakeFs::default();
        fs.entries.insert(PathBuf::from("/"), FakeEntry::Dir);
        fs
    }

    /// Adds a directory and its missing parents.
    pub fn dir(mut self, path: &str) -> Self {
        self.add_parents(Path::new(path));
        self.entries.insert(PathBuf::from(path), FakeEntry::Dir);
        self
    }

    /// Makes the modes of `path` (added already) refuse reading and writing it to us.
    pub fn locked(mut self, path: &str) -> Self {
        self.locked.insert(PathBuf::from(path));
        self
    }

    /// Adds a file with `text` and its missing parent directories.
    pub fn file(mut self, path: &str, text: &str) -> Self {
        self.add_parents(Path::new(path));
        self.entries
            .insert(PathBuf::from(path), FakeEntry::File(text.to_string()));
        self
    }

    /// Adds a symlink at `path` pointing to `target` (absolute, or relative to its directory).
    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        self.add_parents(Path::new(path));
        self.entries.insert(
            PathBuf::from(path),
            FakeEntry::Symlink(PathBuf::from(target)),
        );
        self
    }

    fn add_parents(&mut self, path: &Path) {
        for parent in path.ancestors().skip(1) {
            if parent.as_os_str().is_empty() {
                break;
            }
            self.entries
                .entry(parent.to_path_buf())
                .or_insert(FakeEntry::Dir);
        }
    }

    /// Follows symlinks component by component (at most 40 hops).
    fn resolve(&self, path: &Path, hops: &mut usize) -> Option<PathBuf> {
        let mut current = PathBuf::from("/");
        for component in path.components() {
            match component {
                Component::RootDir | Component::Prefix(_) | Component::CurDir => continue,
                Component::ParentDir => {
                    current.pop();
                    continue;
                }
                Component::Normal(name) => current.push(name),
            }
            match self.entries.get(&current)? {
                FakeEntry::Symlink(target) => {
                    *hops += 1;
                    if *hops > 40 {
                        return None;
                    }
                    let base = current.parent().unwrap_or(Path::new("/")).to_path_buf();
                    current = self.resolve(&base.join(target), hops)?;
                }
                FakeEntry::Dir | FakeEntry::File(_) => {}
            }
        }
        Some(current)
    }
}

impl FsProbe for FakeFs {
    fn kind(&self, path: &Path) -> PathKind {
        let parent_resolved = match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) => self.resolve(parent, &mut 0).map(|p| p.join(name)),
            _ => Some(path.to_path_buf()),
        };
        match parent_resolved.and_then(|p| self.entries.get(&p).cloned()) {
            None => PathKind::Missing,
            Some(FakeEntry::Dir) => PathKind::Dir,
            Some(FakeEntry::File(_)) => PathKind::File,
            Some(FakeEntry::Symlink(_)) => PathKind::Symlink,
        }
    }

    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        self.resolve(path, &mut 0)
    }

    fn read_text(&self, path: &Path) -> Option<String> {
        match self.entries.get(&self.resolve(path, &mut 0)?)? {
            FakeEntry::File(text) => Some(text.clone()),
            _ => None,
        }
    }

    fn permits(&self, path: &Path, access: FileSystemAccess) -> Option<bool> {
        let exists = self.resolve(path, &mut 0).is_some();
        if access == FileSystemAccess::Read && !exists {
            return None;
        }
        let target = write_target(path, exists)?;
        let real = self.resolve(target, &mut 0)?;
        Some(!self.locked.contains(&real))
    }

    fn list_dir(&self, path: &Path) -> Vec<String> {
        let Some(dir) = self.resolve(path, &mut 0) else {
            return Vec::new();
        };
        self.entries
            .keys()
            .filter(|p| p.parent() == Some(dir.as_path()) && *p != &dir)
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect()
    }
}

/// Another probe's answers about kinds and symlinks, each asked once: resolving a policy and
/// choosing its route ask about the same paths (the workspace, its parents) several times,
/// and every question is a system call on the host. One snapshot is also the more consistent.
#[derive(Debug, Default)]
pub struct MemoFs<F> {
    inner: F,
    kinds: std::cell::RefCell<BTreeMap<PathBuf, PathKind>>,
    real: std::cell::RefCell<BTreeMap<PathBuf, Option<PathBuf>>>,
}

impl<F: FsProbe> MemoFs<F> {
    pub fn new(inner: F) -> MemoFs<F> {
        MemoFs {
            inner,
            kinds: Default::default(),
            real: Default::default(),
        }
    }
}

impl<F: FsProbe> FsProbe for MemoFs<F> {
    fn kind(&self, path: &Path) -> PathKind {
        if let Some(kind) = self.kinds.borrow().get(path) {
            return *kind;
        }
        let kind = self.inner.kind(path);
        self.kinds.borrow_mut().insert(path.to_path_buf(), kind);
        kind
    }

    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        if let Some(real) = self.real.borrow().get(path) {
            return real.clone();
        }
        let real = self.inner.canonicalize(path);
        self.real
            .borrow_mut()
            .insert(path.to_path_buf(), real.clone());
        real
    }

    fn read_text(&self, path: &Path) -> Option<String> {
        self.inner.read_text(path)
    }

    fn list_dir(&self, path: &Path) -> Vec<String> {
        self.inner.list_dir(path)
    }

    fn list_dir_kinds(&self, path: &Path) -> Vec<(OsString, PathKind)> {
        self.inner.list_dir_kinds(path)
    }

    fn permits(&self, path: &Path, access: FileSystemAccess) -> Option<bool> {
        self.inner.permits(path, access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the questions that reach the probe underneath.
    struct Counting(FakeFs, std::cell::Cell<usize>);

    impl FsProbe for Counting {
        fn kind(&self, path: &Path) -> PathKind {
            self.1.set(self.1.get() + 1);
            self.0.kind(path)
        }
        fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
            self.1.set(self.1.get() + 1);
            self.0.canonicalize(path)
        }
        fn read_text(&self, path: &Path) -> Option<String> {
            self.0.read_text(path)
        }
        fn list_dir(&self, path: &Path) -> Vec<String> {
            self.0.list_dir(path)
        }
    }

    #[test]
    fn memo_fs_asks_each_question_once_and_answers_the_same() {
        let fake = FakeFs::new().dir("/real/sub").symlink("/link", "/real");
        let memo = MemoFs::new(Counting(fake.clone(), std::cell::Cell::new(0)));
        for _ in 0..3 {
            assert_eq!(memo.kind(Path::new("/link")), fake.kind(Path::new("/link")));
            assert_eq!(memo.kind(Path::new("/nope")), PathKind::Missing);
            assert_eq!(
                memo.canonicalize(Path::new("/link/sub")),
                fake.canonicalize(Path::new("/link/sub"))
            );
            assert_eq!(memo.canonicalize(Path::new("/nope")), None);
        }
        assert_eq!(memo.inner.1.get(), 4);
    }

    #[test]
    fn fake_fs_follows_symlinks_like_the_kernel() {
        let fs = FakeFs::new()
            .dir("/real/sub")
            .symlink("/link", "real")
            .symlink("/real/up", "../real/sub")
            .file("/real/f", "x");
        assert_eq!(fs.kind(Path::new("/link")), PathKind::Symlink);
        assert_eq!(fs.kind(Path::new("/link/sub")), PathKind::Dir);
        assert_eq!(
            fs.canonicalize(Path::new("/link/up")),
            Some(PathBuf::from("/real/sub"))
        );
        assert_eq!(fs.canonicalize(Path::new("/nope")), None);
        assert_eq!(fs.read_text(Path::new("/link/f")).as_deref(), Some("x"));
        assert_eq!(fs.list_dir(Path::new("/real")), vec!["f", "sub", "up"]);
    }

    #[test]
    fn host_fs_reports_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("f"), "gitdir: x\n").unwrap();
        assert_eq!(HostFs.kind(root), PathKind::Dir);
        assert_eq!(HostFs.kind(&root.join("f")), PathKind::File);
        assert_eq!(HostFs.kind(&root.join("missing")), PathKind::Missing);
        assert_eq!(
            HostFs.read_text(&root.join("f")).as_deref(),
            Some("gitdir: x\n")
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("f", root.join("l")).unwrap();
            assert_eq!(HostFs.kind(&root.join("l")), PathKind::Symlink);
        }
    }
}
