//! Resolving a policy against a cwd and the host: absolute canonical paths, special roots,
//! globs, and the protected names under every writable root.
//!
//! The result, [`ResolvedPolicy`], is a flat list of rules (path, access, where the rule came
//! from) that the decision model and every platform plan read. Rules on paths that do not exist
//! are kept only when they restrict (a read-only `.git` that is missing still cannot be
//! created); a grant on a missing path is dropped with a note, since there is nothing to grant.

use crate::probe::{FsProbe, PathKind};
use codex_protocol::{
    FileSystemAccess, FileSystemPath, FileSystemSandboxEntry, FileSystemSandboxPolicy,
    KnownSpecialPath, MissingPathBehavior, NetworkSandboxPolicy, ReadOnlyAccess, SandboxPolicy,
    SpecialPath,
};
use std::path::{Component, Path, PathBuf};

/// Names kept read-only under every writable root.
pub const PROTECTED_NAMES: [&str; 3] = [".git", ".codex", ".agents"];

/// Entries of a `.git` directory that stay read-only in [`GitMode::Commit`]: everything through
/// which git can be made to run code or read configuration from elsewhere.
pub const GIT_CODE_PATHS: [&str; 7] = [
    "config",
    "config.worktree",
    "hooks",
    "info",
    "modules",
    "commondir",
    "worktrees",
];

/// System directories the `:minimal` root stands for (those that exist).
pub const MINIMAL_DIRS: [&str; 9] = [
    "/bin",
    "/sbin",
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/nix/store",
];

/// How `.git` under a writable root is treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GitMode {
    /// All of `.git` is read-only.
    #[default]
    ReadOnly,
    /// The index, objects, refs and logs are writable (commits work); config, hooks and
    /// everything else that can make git run code stays read-only.
    Commit,
}

/// Facts about the process environment the resolver needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostEnv {
    /// `$TMPDIR`.
    pub tmpdir: Option<PathBuf>,
    /// `$HOME`, for `~`.
    pub home: Option<PathBuf>,
}

impl HostEnv {
    /// Reads `TMPDIR` and `HOME` from the process environment.
    pub fn from_process() -> Self {
        HostEnv {
            tmpdir: std::env::var_os("TMPDIR").map(PathBuf::from),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }
}

/// Options that are not part of the policy itself.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    pub git: GitMode,
    /// How deep `**` globs are expanded; `None` uses [`DEFAULT_GLOB_DEPTH`].
    pub glob_scan_max_depth: Option<usize>,
}

/// Depth of `**` expansion when the config does not say.
pub const DEFAULT_GLOB_DEPTH: usize = 8;

/// Where a rule came from, for `sandbox explain`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Entry `index` of the policy, as written.
    Entry { index: usize, written: String },
    /// A protected name under a writable root.
    Protected { root: PathBuf },
    /// The target of a `.git` pointer file under a writable root.
    GitDir { pointer: PathBuf },
    /// The writable `.git` of [`GitMode::Commit`].
    GitCommit { root: PathBuf },
}

/// One resolved rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// Absolute, symlinks resolved (for a missing path: its longest existing ancestor's).
    pub path: PathBuf,
    pub access: FileSystemAccess,
    pub origin: Origin,
    /// What is at `path` now.
    pub kind: PathKind,
    /// When the path was written through a symlink (`/lib64` → `/usr/lib64`): the symlink and
    /// what it resolves to, so a view without the link's parent can recreate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<(PathBuf, PathBuf)>,
}

/// The filesystem part of a resolved policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedFs {
    /// Everything may be read and written.
    Unrestricted,
    /// Only what the rules allow; no rule over a path means no access.
    Restricted(Vec<Rule>),
}

/// A policy resolved for one cwd on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPolicy {
    pub fs: ResolvedFs,
    pub network: NetworkSandboxPolicy,
    /// The caller is already sandboxed (`external-sandbox`): nothing is added.
    pub external: bool,
    pub cwd: PathBuf,
    pub git: GitMode,
    /// What was ignored or dropped, and why.
    pub notes: Vec<String>,
}

/// Why a policy cannot be resolved. Nothing runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    #[error(
        "cannot protect {}: it is a symlink inside the writable root {}; a symlinked protected path could redirect writes, so the sandbox refuses to run. Replace the symlink with the real directory or remove it",
        path.display(),
        root.display()
    )]
    ProtectedSymlink { path: PathBuf, root: PathBuf },
    #[error("the working directory {} must be an absolute path", .0.display())]
    RelativeCwd(PathBuf),
    #[error("policy entry {index} ('{written}'): '~' needs $HOME, which is not set")]
    NoHome { index: usize, written: String },
    #[error("policy entry {index} ('{written}'): invalid glob: {message}")]
    BadGlob {
        index: usize,
        written: String,
        message: String,
    },
}

/// The split policy a legacy policy means (before resolution).
pub fn split_from_legacy(
    policy: &SandboxPolicy,
) -> (FileSystemSandboxPolicy, NetworkSandboxPolicy) {
    let special = |kind: KnownSpecialPath, access| FileSystemSandboxEntry {
        path: FileSystemPath::Special {
            value: SpecialPath::Known(kind),
        },
        access,
        missing_path_behavior: MissingPathBehavior::Enforce,
    };
    let path = |p: &Path, access| FileSystemSandboxEntry {
        path: FileSystemPath::Path {
            path: p.to_path_buf(),
        },
        access,
        missing_path_behavior: MissingPathBehavior::Enforce,
    };
    let cwd = || KnownSpecialPath::CurrentWorkingDirectory { subpath: None };
    let reads = |access: &ReadOnlyAccess| match access {
        ReadOnlyAccess::FullAccess => vec![special(KnownSpecialPath::Root, FileSystemAccess::Read)],
        ReadOnlyAccess::Restricted {
            include_platform_defaults,
            readable_roots,
        } => {
            let mut entries = vec![special(cwd(), FileSystemAccess::Read)];
            if *include_platform_defaults {
                entries.push(special(KnownSpecialPath::Minimal, FileSystemAccess::Read));
            }
            entries.extend(
                readable_roots
                    .iter()
                    .map(|r| path(r, FileSystemAccess::Read)),
            );
            entries
        }
    };
    match policy {
        SandboxPolicy::DangerFullAccess => (
            FileSystemSandboxPolicy::Unrestricted,
            NetworkSandboxPolicy::Enabled,
        ),
        SandboxPolicy::ExternalSandbox { network_access } => {
            (FileSystemSandboxPolicy::Unrestricted, *network_access)
        }
        SandboxPolicy::ReadOnly { access } => (
            FileSystemSandboxPolicy::Restricted {
                entries: reads(access),
            },
            NetworkSandboxPolicy::Restricted,
        ),
        SandboxPolicy::WorkspaceWrite {
            writable_roots,
            network_access,
            exclude_tmpdir_env_var,
            exclude_slash_tmp,
            read_only_access,
        } => {
            let mut entries = reads(read_only_access);
            entries.push(special(cwd(), FileSystemAccess::Write));
            entries.extend(
                writable_roots
                    .iter()
                    .map(|r| path(r, FileSystemAccess::Write)),
            );
            if !exclude_slash_tmp {
                entries.push(special(KnownSpecialPath::SlashTmp, FileSystemAccess::Write));
            }
            if !exclude_tmpdir_env_var {
                entries.push(special(KnownSpecialPath::Tmpdir, FileSystemAccess::Write));
            }
            let network = if *network_access {
                NetworkSandboxPolicy::Enabled
            } else {
                NetworkSandboxPolicy::Restricted
            };
            (FileSystemSandboxPolicy::Restricted { entries }, network)
        }
    }
}

/// Resolves a legacy policy.
pub fn resolve_legacy(
    policy: &SandboxPolicy,
    cwd: &Path,
    env: &HostEnv,
    fs: &dyn FsProbe,
    options: &ResolveOptions,
) -> Result<ResolvedPolicy, ResolveError> {
    let (filesystem, network) = split_from_legacy(policy);
    let mut resolved = resolve(&filesystem, network, cwd, env, fs, options)?;
    resolved.external = matches!(policy, SandboxPolicy::ExternalSandbox { .. });
    Ok(resolved)
}

/// Resolves a split policy against `cwd`.
pub fn resolve(
    filesystem: &FileSystemSandboxPolicy,
    network: NetworkSandboxPolicy,
    cwd: &Path,
    env: &HostEnv,
    fs: &dyn FsProbe,
    options: &ResolveOptions,
) -> Result<ResolvedPolicy, ResolveError> {
    if !cwd.is_absolute() {
        return Err(ResolveError::RelativeCwd(cwd.to_path_buf()));
    }
    let cwd = canonical(fs, cwd);
    let mut resolved = ResolvedPolicy {
        fs: ResolvedFs::Unrestricted,
        network,
        external: false,
        cwd: cwd.clone(),
        git: options.git,
        notes: Vec::new(),
    };
    let FileSystemSandboxPolicy::Restricted { entries } = filesystem else {
        return Ok(resolved);
    };
    let mut rules = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let written = describe(&entry.path);
        let origin = Origin::Entry {
            index,
            written: written.clone(),
        };
        for written_path in entry_paths(entry, index, &cwd, env, fs, options, &mut resolved.notes)?
        {
            let path = canonical(fs, &written_path);
            let kind = fs.kind(&path);
            if kind == PathKind::Missing && entry.missing_path_behavior == MissingPathBehavior::Skip
            {
                resolved.notes.push(format!(
                    "{written}: {} does not exist; rule skipped",
                    path.display()
                ));
                continue;
            }
            rules.push(Rule {
                alias: symlink_alias(fs, &written_path),
                path,
                access: entry.access,
                origin: origin.clone(),
                kind,
            });
        }
    }
    dedup(&mut rules);
    add_protected(&mut rules, fs, options.git)?;
    dedup(&mut rules);
    drop_missing_grants(&mut rules, &mut resolved.notes);
    resolved.fs = ResolvedFs::Restricted(rules);
    Ok(resolved)
}

/// The paths one entry stands for.
fn entry_paths(
    entry: &FileSystemSandboxEntry,
    index: usize,
    cwd: &Path,
    env: &HostEnv,
    fs: &dyn FsProbe,
    options: &ResolveOptions,
    notes: &mut Vec<String>,
) -> Result<Vec<PathBuf>, ResolveError> {
    let written = describe(&entry.path);
    let paths = match &entry.path {
        FileSystemPath::Special { value } => match value {
            SpecialPath::Known(KnownSpecialPath::Root) => vec![PathBuf::from("/")],
            SpecialPath::Known(KnownSpecialPath::Minimal) => MINIMAL_DIRS
                .iter()
                .map(PathBuf::from)
                .filter(|p| fs.kind(p) != PathKind::Missing)
                .collect(),
            SpecialPath::Known(KnownSpecialPath::CurrentWorkingDirectory { subpath }) => {
                vec![match subpath {
                    Some(sub) => normalize(&cwd.join(sub)),
                    None => cwd.to_path_buf(),
                }]
            }
            SpecialPath::Known(KnownSpecialPath::Tmpdir) => match &env.tmpdir {
                Some(dir) if dir.is_absolute() => vec![dir.clone()],
                _ => {
                    notes.push(format!(
                        "{written}: $TMPDIR is not set to an absolute path; rule ignored"
                    ));
                    vec![]
                }
            },
            SpecialPath::Known(KnownSpecialPath::SlashTmp) => {
                if fs
                    .canonicalize(Path::new("/tmp"))
                    .is_some_and(|p| fs.kind(&p) == PathKind::Dir)
                {
                    vec![PathBuf::from("/tmp")]
                } else {
                    notes.push(format!("{written}: /tmp is not a directory; rule ignored"));
                    vec![]
                }
            }
            SpecialPath::Unknown(unknown) => {
                notes.push(format!(
                    "{written}: unknown special path kind '{}' ignored",
                    unknown.kind
                ));
                vec![]
            }
        },
        FileSystemPath::Path { path } => {
            let text = path.to_string_lossy();
            let expanded = match text.strip_prefix('~') {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    let Some(home) = &env.home else {
                        return Err(ResolveError::NoHome { index, written });
                    };
                    home.join(rest.trim_start_matches('/'))
                }
                _ => path.clone(),
            };
            vec![normalize(&cwd.join(expanded))]
        }
    };
    let mut expanded = Vec::with_capacity(paths.len());
    for path in paths {
        if crate::glob::is_glob(&path) {
            let depth = options.glob_scan_max_depth.unwrap_or(DEFAULT_GLOB_DEPTH);
            let matches =
                crate::glob::expand(&path, depth, fs).map_err(|message| ResolveError::BadGlob {
                    index,
                    written: written.clone(),
                    message,
                })?;
            if matches.is_empty() {
                notes.push(format!("{written}: the pattern matches nothing now; files created later are not covered"));
            }
            expanded.extend(matches);
        } else {
            expanded.push(path);
        }
    }
    Ok(expanded)
}

/// How an entry's path was written, for messages.
pub fn describe(path: &FileSystemPath) -> String {
    match path {
        FileSystemPath::Path { path } => path.display().to_string(),
        FileSystemPath::Special { value } => match value {
            SpecialPath::Known(KnownSpecialPath::Root) => ":root".into(),
            SpecialPath::Known(KnownSpecialPath::Minimal) => ":minimal".into(),
            SpecialPath::Known(KnownSpecialPath::CurrentWorkingDirectory { subpath: None }) => {
                ":workspace_roots".into()
            }
            SpecialPath::Known(KnownSpecialPath::CurrentWorkingDirectory { subpath: Some(s) }) => {
                format!(":workspace_roots/{}", s.display())
            }
            SpecialPath::Known(KnownSpecialPath::Tmpdir) => ":tmpdir".into(),
            SpecialPath::Known(KnownSpecialPath::SlashTmp) => ":slash_tmp".into(),
            SpecialPath::Unknown(u) => format!(":{}", u.kind),
        },
    }
}

/// Folds `.` and `..` without touching the disk.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
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

/// `path` with symlinks resolved; for a missing path, its longest existing ancestor resolved
/// and the rest appended.
pub fn canonical(fs: &dyn FsProbe, path: &Path) -> PathBuf {
    let path = normalize(path);
    if let Some(real) = fs.canonicalize(&path) {
        return real;
    }
    let mut missing = Vec::new();
    let mut current = path.as_path();
    while let Some(parent) = current.parent() {
        missing.push(current.file_name().unwrap_or_default().to_os_string());
        if let Some(real) = fs.canonicalize(parent) {
            let mut out = real;
            for name in missing.iter().rev() {
                out.push(name);
            }
            return out;
        }
        current = parent;
    }
    path
}

/// The deepest symlink on the way to `written`, and where it leads (`None` without one).
fn symlink_alias(fs: &dyn FsProbe, written: &Path) -> Option<(PathBuf, PathBuf)> {
    let written = normalize(written);
    written
        .ancestors()
        .find(|a| fs.kind(a) == PathKind::Symlink)
        .and_then(|link| {
            fs.canonicalize(link)
                .map(|target| (link.to_path_buf(), target))
        })
}

/// Keeps one rule per path: the one that wins at equal specificity (none > write > read).
fn dedup(rules: &mut Vec<Rule>) {
    rules.sort_by(|a, b| a.path.cmp(&b.path).then(b.access.cmp(&a.access)));
    rules.dedup_by(|later, first| later.path == first.path);
}

/// Adds the protected names (and gitdir targets) under every writable root.
fn add_protected(
    rules: &mut Vec<Rule>,
    fs: &dyn FsProbe,
    git: GitMode,
) -> Result<(), ResolveError> {
    let roots: Vec<PathBuf> = rules
        .iter()
        .filter(|r| r.access == FileSystemAccess::Write && r.kind == PathKind::Dir)
        .map(|r| r.path.clone())
        .collect();
    for root in roots {
        for name in PROTECTED_NAMES {
            let path = root.join(name);
            let kind = fs.kind(&path);
            if kind == PathKind::Symlink {
                return Err(ResolveError::ProtectedSymlink { path, root });
            }
            let commit = git == GitMode::Commit && name == ".git" && kind == PathKind::Dir;
            if commit {
                protect_git_for_commit(rules, fs, &root, &path)?;
                continue;
            }
            if name == ".git"
                && kind == PathKind::File
                && let Some(target) = gitdir_target(fs, &path)
            {
                let target_kind = fs.kind(&target);
                if git == GitMode::Commit && target_kind == PathKind::Dir {
                    protect_git_for_commit(rules, fs, &root, &target)?;
                } else {
                    rules.push(Rule {
                        alias: None,
                        path: target,
                        access: FileSystemAccess::Read,
                        origin: Origin::GitDir {
                            pointer: path.clone(),
                        },
                        kind: target_kind,
                    });
                }
            }
            rules.push(Rule {
                alias: None,
                path,
                access: FileSystemAccess::Read,
                origin: Origin::Protected { root: root.clone() },
                kind,
            });
        }
    }
    Ok(())
}

/// `.git` writable, the entries that can make git run code read-only.
fn protect_git_for_commit(
    rules: &mut Vec<Rule>,
    fs: &dyn FsProbe,
    root: &Path,
    git_dir: &Path,
) -> Result<(), ResolveError> {
    rules.push(Rule {
        alias: None,
        path: git_dir.to_path_buf(),
        access: FileSystemAccess::Write,
        origin: Origin::GitCommit {
            root: root.to_path_buf(),
        },
        kind: PathKind::Dir,
    });
    for name in GIT_CODE_PATHS {
        let path = git_dir.join(name);
        let kind = fs.kind(&path);
        if kind == PathKind::Symlink {
            return Err(ResolveError::ProtectedSymlink {
                path,
                root: root.to_path_buf(),
            });
        }
        rules.push(Rule {
            alias: None,
            path,
            access: FileSystemAccess::Read,
            origin: Origin::Protected {
                root: root.to_path_buf(),
            },
            kind,
        });
    }
    Ok(())
}

/// The resolved target of a `gitdir: X` pointer file.
fn gitdir_target(fs: &dyn FsProbe, pointer: &Path) -> Option<PathBuf> {
    let text = fs.read_text(pointer)?;
    let target = text.lines().next()?.strip_prefix("gitdir:")?.trim();
    if target.is_empty() {
        return None;
    }
    let base = pointer.parent()?;
    Some(canonical(fs, &base.join(target)))
}

/// How much a rule allows, for comparing grants: none < read < write.
pub fn permissiveness(access: FileSystemAccess) -> u8 {
    match access {
        FileSystemAccess::None => 0,
        FileSystemAccess::Read => 1,
        FileSystemAccess::Write => 2,
    }
}

/// Drops rules on missing paths that would grant more than their parent does.
fn drop_missing_grants(rules: &mut Vec<Rule>, notes: &mut Vec<String>) {
    loop {
        let position = rules.iter().position(|rule| {
            rule.kind == PathKind::Missing && {
                let inherited = crate::decision::inherited_access(rules, &rule.path);
                permissiveness(rule.access) > permissiveness(inherited)
            }
        });
        let Some(position) = position else { break };
        let rule = rules.remove(position);
        notes.push(format!(
            "{}: does not exist; nothing to grant, rule dropped",
            rule.path.display()
        ));
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
