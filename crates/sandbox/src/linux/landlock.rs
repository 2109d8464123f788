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

impl LandlockAccess {
    /// The Landlock filesystem rights this access means under `abi` (1–7), by their kernel
    /// names: read-only is execute + read file + read directory; read-write is every right the
    /// ABI can handle (REFER from 2, TRUNCATE from 3, IOCTL_DEV from 5).
    pub fn rights(self, abi: u8) -> Vec<&'static str> {
        const READ: [&str; 3] = ["EXECUTE", "READ_FILE", "READ_DIR"];
        const WRITE_V1: [&str; 10] = [
            "WRITE_FILE",
            "REMOVE_DIR",
            "REMOVE_FILE",
            "MAKE_CHAR",
            "MAKE_DIR",
            "MAKE_REG",
            "MAKE_SOCK",
            "MAKE_FIFO",
            "MAKE_BLOCK",
            "MAKE_SYM",
        ];
        let mut rights: Vec<&'static str> = READ.to_vec();
        if self == LandlockAccess::ReadWrite {
            rights.extend(WRITE_V1);
            for (since, right) in [(2, "REFER"), (3, "TRUNCATE"), (5, "IOCTL_DEV")] {
                if abi >= since {
                    rights.push(right);
                }
            }
        }
        rights
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_grow_with_the_abi() {
        assert_eq!(
            LandlockAccess::ReadOnly.rights(7),
            vec!["EXECUTE", "READ_FILE", "READ_DIR"]
        );
        assert_eq!(LandlockAccess::ReadWrite.rights(1).len(), 13);
        assert!(!LandlockAccess::ReadWrite.rights(1).contains(&"REFER"));
        assert!(LandlockAccess::ReadWrite.rights(2).contains(&"REFER"));
        assert!(!LandlockAccess::ReadWrite.rights(2).contains(&"TRUNCATE"));
        assert_eq!(LandlockAccess::ReadWrite.rights(5).len(), 16);
    }
}
