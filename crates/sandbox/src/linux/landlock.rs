//! The legacy route's plan: Landlock rules (read-only `/`, full access to each writable root
//! and `/dev/null`) and read-only mounts for the protected paths under writable roots.
//!
//! Landlock grants are a union, so it cannot take write access back below a writable root;
//! that is what the read-only mounts are for (the executor makes them in a private mount
//! namespace, or refuses when it cannot).

use crate::probe::PathKind;
use crate::resolve::{ResolvedFs, ResolvedPolicy};
use codex_protocol::FileSystemAccess;
use std::path::PathBuf;

/// Access a Landlock rule grants beneath its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LandlockAccess {
    /// Execute, read files, read directories.
    ReadOnly,
    /// Everything Landlock can mediate.
    ReadWrite,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LandlockRule {
    pub path: PathBuf,
    pub access: LandlockAccess,
}

/// A path to make read-only with a bind mount (an empty read-only tmpfs when it does not
/// exist, so it cannot be created).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReadOnlyMount {
    pub path: PathBuf,
    pub exists: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LandlockPlan {
    pub rules: Vec<LandlockRule>,
    pub read_only_mounts: Vec<ReadOnlyMount>,
}

/// The plan for a policy on the legacy route (`None` for an unrestricted policy).
pub fn landlock_plan(policy: &ResolvedPolicy) -> Option<LandlockPlan> {
    let ResolvedFs::Restricted(rules) = &policy.fs else {
        return None;
    };
    let mut plan = LandlockPlan {
        rules: vec![LandlockRule {
            path: PathBuf::from("/"),
            access: LandlockAccess::ReadOnly,
        }],
        read_only_mounts: Vec::new(),
    };
    for rule in rules {
        match rule.access {
            FileSystemAccess::Write => plan.rules.push(LandlockRule {
                path: rule.path.clone(),
                access: LandlockAccess::ReadWrite,
            }),
            FileSystemAccess::Read if rule.path != std::path::Path::new("/") => {
                plan.read_only_mounts.push(ReadOnlyMount {
                    path: rule.path.clone(),
                    exists: rule.kind != PathKind::Missing,
                })
            }
            _ => {}
        }
    }
    plan.rules.push(LandlockRule {
        path: PathBuf::from("/dev/null"),
        access: LandlockAccess::ReadWrite,
    });
    Some(plan)
}
