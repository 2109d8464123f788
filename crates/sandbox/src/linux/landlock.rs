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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandlockAccess {
    /// Execute, read files, read directories.
    ReadOnly,
    /// Everything Landlock can mediate.
    ReadWrite,
    /// What a rule on a file can carry of read-write: execute, read, write and truncate the
    /// file (and device ioctls). The per-entry plan gives it to the entries it listed as
    /// files, so the executor needs no second try to learn that directory rights do not fit;
    /// an entry that has become a directory since gets only these rights beneath it, less
    /// than the policy's, never more.
    ReadWriteFile,
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
        if self == LandlockAccess::ReadWriteFile {
            let mut rights = vec!["EXECUTE", "READ_FILE", "WRITE_FILE"];
            for (since, right) in [(3, "TRUNCATE"), (5, "IOCTL_DEV")] {
                if abi >= since {
                    rights.push(right);
                }
            }
            return rights;
        }
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

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
        assert_eq!(
            LandlockAccess::ReadWriteFile.rights(5),
            vec![
                "EXECUTE",
                "READ_FILE",
                "WRITE_FILE",
                "TRUNCATE",
                "IOCTL_DEV"
            ]
        );
    }
}

/// Why the no-namespace Landlock plan is weaker than the mount-based one, in words for
/// `sandbox explain` and the startup warning.
pub const PER_ENTRY_LIMIT: &str = "no mount namespace could be created (user namespaces are blocked), so only Landlock and seccomp enforce the policy: protected paths are kept read-only by granting write access to each existing entry of a writable root instead of the root itself (new files and directories can be created inside existing subdirectories, but not directly in a writable root, and its top-level entries cannot be renamed or deleted), and Landlock does not mediate chmod, chown, utimes or extended attributes on files outside the writable roots that the user owns";

/// The legacy route's plan for a host without mount namespaces: no mounts; every writable
/// root is granted entry by entry, skipping the protected paths (and descending into entries
/// that contain one), so nothing protected is writable — at the cost of [`PER_ENTRY_LIMIT`].
pub fn landlock_plan_per_entry(
    policy: &ResolvedPolicy,
    fs: &dyn crate::probe::FsProbe,
) -> Option<LandlockPlan> {
    let ResolvedFs::Restricted(rules) = &policy.fs else {
        return None;
    };
    let protected: Vec<&std::path::Path> = rules
        .iter()
        .filter(|r| r.access == FileSystemAccess::Read && r.path != std::path::Path::new("/"))
        .map(|r| r.path.as_path())
        .collect();
    let mut plan = LandlockPlan {
        rules: vec![LandlockRule {
            path: PathBuf::from("/"),
            access: LandlockAccess::ReadOnly,
        }],
        read_only_mounts: Vec::new(),
    };
    let roots: Vec<&std::path::Path> = rules
        .iter()
        .filter(|r| r.access == FileSystemAccess::Write)
        .map(|r| r.path.as_path())
        .collect();
    for (i, root) in roots.iter().enumerate() {
        // A root inside another one (a workspace under `/tmp`) is granted as part of it, unless
        // a protected path lies between them: then only its own plan reaches it.
        let covered = roots.iter().enumerate().any(|(j, outer)| {
            let inside = if outer == root {
                j < i
            } else {
                root.starts_with(outer)
            };
            inside
                && !protected
                    .iter()
                    .any(|p| root.starts_with(p) && p.starts_with(outer))
        });
        if !covered {
            grant_around(root, &protected, fs, &mut plan.rules);
        }
    }
    plan.rules.push(LandlockRule {
        path: PathBuf::from("/dev/null"),
        access: LandlockAccess::ReadWrite,
    });
    Some(plan)
}

/// Grants `dir` read-write, or — when a protected path lies at or below it — each of its
/// entries except the protected ones, recursively. Each level passes on only the protected
/// paths below it, and tells the entries that lead to one by name: a writable root such as
/// `/tmp` may hold hundreds of entries, and comparing each with every protected path, component
/// by component, cost more than the rest of the planning.
fn grant_around(
    dir: &std::path::Path,
    protected: &[&std::path::Path],
    fs: &dyn crate::probe::FsProbe,
    out: &mut Vec<LandlockRule>,
) {
    let below: Vec<&std::path::Path> = protected
        .iter()
        .copied()
        .filter(|p| p.starts_with(dir))
        .collect();
    if below.is_empty() {
        out.push(LandlockRule {
            path: dir.to_path_buf(),
            access: LandlockAccess::ReadWrite,
        });
        return;
    }
    if below.contains(&dir) {
        return;
    }
    // The first component below `dir` of each protected path.
    let leading: Vec<&std::ffi::OsStr> = below
        .iter()
        .filter_map(|p| p.strip_prefix(dir).ok()?.components().next())
        .map(|c| c.as_os_str())
        .collect();
    for (name, kind) in fs.list_dir_kinds(dir) {
        if kind == PathKind::Symlink {
            // A rule on a symlink would apply to its target; leave it read-only.
            continue;
        }
        let path = dir.join(&name);
        if leading.contains(&name.as_os_str()) {
            grant_around(&path, &below, fs, out);
        } else {
            out.push(LandlockRule {
                path,
                access: if kind == PathKind::File {
                    LandlockAccess::ReadWriteFile
                } else {
                    LandlockAccess::ReadWrite
                },
            });
        }
    }
}

#[cfg(test)]
mod per_entry_tests {
    use super::*;
    use crate::probe::FakeFs;
    use crate::resolve::{HostEnv, ResolveOptions, resolve_legacy};
    use codex_protocol::SandboxPolicy;
    use std::path::Path;

    /// The writable rules of the per-entry plan of workspace-write in `/ws` with the extra
    /// `writable_roots`, on `fs`, in plan order; the plan has no mounts.
    fn writable_rules(fs: &FakeFs, writable_roots: &[&str]) -> Vec<(String, LandlockAccess)> {
        let policy = resolve_legacy(
            &SandboxPolicy::WorkspaceWrite {
                writable_roots: writable_roots.iter().map(PathBuf::from).collect(),
                network_access: false,
                exclude_tmpdir_env_var: true,
                exclude_slash_tmp: true,
                read_only_access: Default::default(),
            },
            Path::new("/ws"),
            &HostEnv::default(),
            fs,
            &ResolveOptions::default(),
        )
        .unwrap();
        let plan = landlock_plan_per_entry(&policy, fs).unwrap();
        assert!(plan.read_only_mounts.is_empty());
        plan.rules
            .iter()
            .filter(|r| r.access != LandlockAccess::ReadOnly)
            .map(|r| (r.path.display().to_string(), r.access))
            .collect()
    }

    #[test]
    fn writable_roots_are_granted_around_protected_paths() {
        let fs = FakeFs::new()
            .dir("/ws/.git/objects")
            .dir("/ws/src")
            .file("/ws/README.md", "")
            .dir("/ws/gitmeta/wt")
            .dir("/ws/gitmeta/other")
            // Names that begin like a protected path's components but are other entries.
            .dir("/ws/gitmeta-old/wt")
            .file("/ws/.gitignore", "")
            .symlink("/ws/link", "/etc")
            .file("/wt/.git", "gitdir: /ws/gitmeta/wt\n")
            .file("/wt/x", "");
        let writable = writable_rules(&fs, &["/wt"]);
        // Entries listed as files get the rights a file's rule can carry, so the executor
        // adds each with one call.
        let file = LandlockAccess::ReadWriteFile;
        let all = LandlockAccess::ReadWrite;
        let expected: Vec<(String, LandlockAccess)> = [
            ("/ws/.gitignore", file),
            ("/ws/README.md", file),
            ("/ws/gitmeta/other", all),
            ("/ws/gitmeta-old", all),
            ("/ws/src", all),
            ("/wt/x", file),
            ("/dev/null", all),
        ]
        .into_iter()
        .map(|(p, a)| (p.to_string(), a))
        .collect();
        assert_eq!(writable, expected);
    }

    #[test]
    fn a_root_inside_another_is_granted_once_unless_a_protected_path_parts_them() {
        let fs = FakeFs::new()
            .file("/ws/.git/hooks/pre-commit", "")
            .file("/ws/.git/HEAD", "")
            .dir("/ws/src/lib")
            .file("/ws/src/main.rs", "")
            .file("/ws/notes", "");
        let mut writable: Vec<String> = writable_rules(&fs, &["/ws/src", "/ws/.git/hooks", "/ws"])
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        writable.sort();
        // `/ws/src`'s entries come once, with `/ws` (which descends into it for its own
        // protected names); the hooks, under the protected `.git`, by their own root's plan.
        assert_eq!(
            writable,
            vec![
                "/dev/null",
                "/ws/.git/hooks/pre-commit",
                "/ws/notes",
                "/ws/src/lib",
                "/ws/src/main.rs"
            ]
        );
    }
}
