//! The decision model: for any absolute path, may a sandboxed command read it, write it, or
//! neither — and which rule decided.
//!
//! The most specific rule (most path components) over the path wins; at equal specificity
//! `none` beats `write` beats `read`. No rule over a path means no access. So `/repo`=write,
//! `/repo/a`=none, `/repo/a/b`=write makes `/repo/a/b/c` writable and `/repo/a/x` unreachable.
//! Every platform plan is tested against this function.

use crate::probe::FsProbe;
use crate::resolve::{
    HostEnv, Origin, ResolveOptions, ResolvedFs, ResolvedPolicy, Rule, resolve_legacy,
};
use codex_protocol::{FileSystemAccess, NetworkSandboxPolicy, SandboxPolicy};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The answer for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `None` means no access at all.
    pub access: FileSystemAccess,
    /// The rule that decided (`None` when no rule covers the path, or the policy is
    /// unrestricted).
    pub rule: Option<Rule>,
}

impl ResolvedPolicy {
    /// What may happen to `path` (absolute; symlinks already resolved by the caller).
    pub fn decide(&self, path: &Path) -> Decision {
        match &self.fs {
            ResolvedFs::Unrestricted => Decision {
                access: FileSystemAccess::Write,
                rule: None,
            },
            ResolvedFs::Restricted(rules) => match most_specific(rules, path, false) {
                Some(rule) => Decision {
                    access: rule.access,
                    rule: Some(rule.clone()),
                },
                None => Decision {
                    access: FileSystemAccess::None,
                    rule: None,
                },
            },
        }
    }

    /// The rules (empty when unrestricted).
    pub fn rules(&self) -> &[Rule] {
        match &self.fs {
            ResolvedFs::Unrestricted => &[],
            ResolvedFs::Restricted(rules) => rules,
        }
    }

    /// Whether [`Self::legacy_equivalent`] finds a legacy policy.
    pub fn is_legacy_equivalent(&self, env: &HostEnv, fs: &dyn FsProbe) -> bool {
        self.legacy_equivalent(env, fs).is_some()
    }

    /// The legacy policy this one means exactly, if any: the same rules after resolution, and
    /// expressible by Landlock plus read-only mounts (full read, no `none` rule, nothing
    /// writable beneath a read-only path). This decides the Linux route.
    pub fn legacy_equivalent(&self, env: &HostEnv, fs: &dyn FsProbe) -> Option<SandboxPolicy> {
        let ResolvedFs::Restricted(rules) = &self.fs else {
            return (self.network == NetworkSandboxPolicy::Enabled)
                .then_some(SandboxPolicy::DangerFullAccess);
        };
        if !landlock_expressible(rules) {
            return None;
        }
        let writable: Vec<PathBuf> = rules
            .iter()
            .filter(|r| {
                r.access == FileSystemAccess::Write && matches!(r.origin, Origin::Entry { .. })
            })
            .map(|r| r.path.clone())
            .collect();
        let candidate = if writable.is_empty() {
            if self.network == NetworkSandboxPolicy::Enabled {
                return None;
            }
            SandboxPolicy::read_only()
        } else {
            SandboxPolicy::WorkspaceWrite {
                writable_roots: writable,
                network_access: self.network == NetworkSandboxPolicy::Enabled,
                exclude_tmpdir_env_var: true,
                exclude_slash_tmp: true,
                read_only_access: codex_protocol::ReadOnlyAccess::FullAccess,
            }
        };
        let options = ResolveOptions {
            git: self.git,
            glob_scan_max_depth: None,
        };
        let resolved = resolve_legacy(&candidate, &self.cwd, env, fs, &options).ok()?;
        (rule_set(resolved.rules()) == rule_set(rules)).then_some(candidate)
    }
}

/// Full read, no `none` rule, and no writable rule beneath a read-only one.
fn landlock_expressible(rules: &[Rule]) -> bool {
    let root_read = rules
        .iter()
        .any(|r| r.path == Path::new("/") && r.access != FileSystemAccess::None);
    let no_deny = rules.iter().all(|r| r.access != FileSystemAccess::None);
    let no_write_under_read = rules.iter().all(|w| {
        w.access != FileSystemAccess::Write
            || !rules.iter().any(|r| {
                r.access == FileSystemAccess::Read
                    && r.path != Path::new("/")
                    && w.path.starts_with(&r.path)
                    && w.path != r.path
            })
    });
    root_read && no_deny && no_write_under_read
}

fn rule_set(rules: &[Rule]) -> BTreeSet<(PathBuf, FileSystemAccess)> {
    rules.iter().map(|r| (r.path.clone(), r.access)).collect()
}

/// The most specific rule at or above `path` (strictly above when `strict`).
pub(crate) fn most_specific<'r>(rules: &'r [Rule], path: &Path, strict: bool) -> Option<&'r Rule> {
    rules
        .iter()
        .filter(|r| path.starts_with(&r.path) && !(strict && r.path == path))
        .max_by(|a, b| {
            a.path
                .components()
                .count()
                .cmp(&b.path.components().count())
                .then(a.access.cmp(&b.access))
        })
}

/// The access `path` would have from the rules above it (excluding a rule at `path`).
pub(crate) fn inherited_access(rules: &[Rule], path: &Path) -> FileSystemAccess {
    most_specific(rules, path, true).map_or(FileSystemAccess::None, |r| r.access)
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
