//! The bubblewrap plan: the `bwrap` arguments that build a filesystem view in which every path
//! has exactly the access the decision model gives it.
//!
//! Rules are applied shallow to deep, each only where it changes what its parent gives:
//! - the root: `--ro-bind / /` (read), `--bind / /` (write), or, without a rule on `/`, an empty
//!   exec-only tmpfs (`--perms 0111 --tmpfs /`) that the readable paths are bound into;
//! - write: `--bind P P`; read: `--ro-bind P P`; a read-only path that does not exist yet gets an
//!   empty read-only tmpfs so it cannot be created (a *synthetic* mount target, which the
//!   executor removes from the host afterwards);
//! - none on a directory: an empty tmpfs, mode 000 — or 0111 (traversable, not listable) when a
//!   descendant is granted again, with 0111 placeholder directories on the way to it; none on a
//!   file: an empty mode-000 file (`--ro-bind-data FD P`, the executor supplies empty data on FD);
//! - the masking tmpfs mounts are made read-only last, after the re-granted descendants are
//!   mounted into them.
//!
//! Then `/dev` and `/proc` are private (`--dev`, `--proc`), user/pid/ipc namespaces are new
//! (net too when the network is off), the process gets a new session, dies with its parent and
//! keeps no capability.

use crate::decision::inherited_access;
use crate::probe::PathKind;
use crate::resolve::{ResolvedFs, ResolvedPolicy, Rule};
use codex_protocol::{FileSystemAccess, NetworkSandboxPolicy};
use std::path::{Path, PathBuf};

/// The first file descriptor used for `--ro-bind-data`.
pub const FIRST_DATA_FD: i32 = 3;

/// What `bwrap` must be run with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BwrapPlan {
    /// Arguments before `--` and the command.
    pub args: Vec<String>,
    /// Descriptors the executor must open on empty data before running bwrap (one per masked
    /// file, in order from [`FIRST_DATA_FD`]).
    pub empty_data_fds: Vec<i32>,
    /// Mount targets bwrap creates on the host (missing protected or denied paths); the
    /// executor removes them when the command ends.
    pub synthetic_targets: Vec<PathBuf>,
}

impl BwrapPlan {
    /// The full argv: `bwrap ARGS -- COMMAND…`.
    pub fn argv(&self, bwrap: &str, command: &[String]) -> Vec<String> {
        let mut argv = Vec::with_capacity(self.args.len() + command.len() + 2);
        argv.push(bwrap.to_string());
        argv.extend(self.args.iter().cloned());
        argv.push("--".to_string());
        argv.extend(command.iter().cloned());
        argv
    }
}

/// Host facts the plan depends on, gathered by the executor.
#[derive(Debug, Clone, Default)]
pub struct BwrapFacts {
    /// Missing paths the sandboxed user could not create anyway (no write permission on the
    /// parent): no mount point is made for them, since masking needs one and DAC already
    /// blocks their creation.
    pub uncreatable: Vec<PathBuf>,
}

/// Builds the plan for `policy`.
pub fn bwrap_plan(policy: &ResolvedPolicy) -> BwrapPlan {
    bwrap_plan_with(policy, &BwrapFacts::default())
}

/// Builds the plan for `policy` given host facts.
pub fn bwrap_plan_with(policy: &ResolvedPolicy, facts: &BwrapFacts) -> BwrapPlan {
    let mut builder = Builder {
        args: vec!["--new-session".into(), "--die-with-parent".into()],
        empty_data_fds: Vec::new(),
        synthetic_targets: Vec::new(),
        remount_later: Vec::new(),
        uncreatable: facts.uncreatable.clone(),
    };
    match &policy.fs {
        ResolvedFs::Unrestricted => builder.push(["--bind", "/", "/"]),
        ResolvedFs::Restricted(rules) => {
            builder.mount_rules(rules);
            builder.symlinks(rules);
        }
    }
    builder.push(["--dev", "/dev", "--proc", "/proc"]);
    for path in std::mem::take(&mut builder.remount_later).into_iter().rev() {
        builder.push_path("--remount-ro", &path);
    }
    builder.push(["--unshare-user", "--unshare-pid", "--unshare-ipc"]);
    if policy.network == NetworkSandboxPolicy::Restricted {
        builder.push(["--unshare-net"]);
    }
    builder.push(["--cap-drop", "ALL"]);
    BwrapPlan {
        args: builder.args,
        empty_data_fds: builder.empty_data_fds,
        synthetic_targets: builder.synthetic_targets,
    }
}

struct Builder {
    args: Vec<String>,
    empty_data_fds: Vec<i32>,
    synthetic_targets: Vec<PathBuf>,
    /// Masking tmpfs mounts to make read-only once everything inside them is mounted.
    remount_later: Vec<PathBuf>,
    uncreatable: Vec<PathBuf>,
}

impl Builder {
    fn push<const N: usize>(&mut self, items: [&str; N]) {
        self.args.extend(items.iter().map(|s| s.to_string()));
    }

    fn push_path(&mut self, flag: &str, path: &Path) {
        self.args.push(flag.to_string());
        self.args.push(path_arg(path));
    }

    fn bind(&mut self, flag: &str, path: &Path) {
        self.args.push(flag.to_string());
        self.args.push(path_arg(path));
        self.args.push(path_arg(path));
    }

    fn mount_rules(&mut self, rules: &[Rule]) {
        let mut ordered: Vec<&Rule> = rules.iter().collect();
        ordered.sort_by_key(|r| (r.path.components().count(), r.path.clone()));
        let root = Path::new("/");
        match ordered.iter().find(|r| r.path == root).map(|r| r.access) {
            Some(FileSystemAccess::Write) => self.bind("--bind", root),
            Some(FileSystemAccess::Read) => self.bind("--ro-bind", root),
            Some(FileSystemAccess::None) | None => {
                self.push(["--perms", "0111", "--tmpfs", "/"]);
                self.remount_later.push(root.to_path_buf());
            }
        }
        for rule in ordered.iter().filter(|r| r.path != root) {
            let inherited = inherited_access(rules, &rule.path);
            if inherited == rule.access {
                continue;
            }
            if rule.kind == PathKind::Missing && self.uncreatable.contains(&rule.path) {
                continue;
            }
            if inherited == FileSystemAccess::None {
                self.placeholders(rules, &rule.path);
            }
            match (rule.access, rule.kind) {
                (FileSystemAccess::Write, PathKind::Missing) => {}
                (FileSystemAccess::Write, _) => self.bind("--bind", &rule.path),
                (FileSystemAccess::Read, PathKind::Missing) => {
                    self.push(["--perms", "0555"]);
                    self.push_path("--tmpfs", &rule.path);
                    self.push_path("--remount-ro", &rule.path);
                    self.synthetic_targets.push(rule.path.clone());
                }
                (FileSystemAccess::Read, _) => self.bind("--ro-bind", &rule.path),
                (FileSystemAccess::None, PathKind::File) => {
                    let fd = FIRST_DATA_FD + self.empty_data_fds.len() as i32;
                    self.empty_data_fds.push(fd);
                    self.push(["--perms", "0000", "--ro-bind-data"]);
                    self.args.push(fd.to_string());
                    self.args.push(path_arg(&rule.path));
                }
                (FileSystemAccess::None, kind) => {
                    let regranted = rules.iter().any(|r| {
                        r.path.starts_with(&rule.path)
                            && r.path != rule.path
                            && r.access != FileSystemAccess::None
                    });
                    self.push(["--perms", if regranted { "0111" } else { "0000" }]);
                    self.push_path("--tmpfs", &rule.path);
                    self.remount_later.push(rule.path.clone());
                    if kind == PathKind::Missing {
                        self.synthetic_targets.push(rule.path.clone());
                    }
                }
            }
        }
    }

    /// Recreates the symlinks rules were written through (`/lib64` → `/usr/lib64`) where the
    /// view would not show them, so programs find their libraries by the usual names.
    fn symlinks(&mut self, rules: &[Rule]) {
        let mut made: Vec<&Path> = Vec::new();
        for (link, target) in rules.iter().filter_map(|r| r.alias.as_ref()) {
            let hidden = crate::decision::most_specific(rules, link, false)
                .is_none_or(|r| r.access == FileSystemAccess::None);
            if !hidden || made.contains(&link.as_path()) {
                continue;
            }
            made.push(link);
            self.placeholders(rules, link);
            self.args.push("--symlink".to_string());
            self.args.push(path_arg(target));
            self.args.push(path_arg(link));
        }
    }

    /// Traversable, unlistable directories on the way from the nearest mask above `path` down
    /// to `path`, so a re-granted path is reachable but nothing else shows.
    fn placeholders(&mut self, rules: &[Rule], path: &Path) {
        let mask = rules
            .iter()
            .filter(|r| path.starts_with(&r.path) && r.path != path)
            .max_by_key(|r| r.path.components().count())
            .map(|r| r.path.clone())
            .unwrap_or_else(|| PathBuf::from("/"));
        let between: Vec<&Path> = path
            .ancestors()
            .skip(1)
            .take_while(|a| *a != mask)
            .collect();
        for dir in between.into_iter().rev() {
            let covered = rules.iter().any(|r| r.path == dir);
            if !covered {
                self.push(["--perms", "0111"]);
                self.push_path("--dir", dir);
            }
        }
    }
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
#[path = "bwrap_tests.rs"]
mod tests;
