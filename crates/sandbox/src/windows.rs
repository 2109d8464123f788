//! The Windows plan: which backend runs a policy and what it grants, or why it refuses.
//!
//! - The **elevated** runner (dedicated sandbox user, ACLs) supports full read and restricted
//!   read: the explicit readable roots plus the command's cwd, the writable roots stay readable
//!   under workspace-write, and `include_platform_defaults` adds the system roots.
//! - The **unelevated restricted-token** backend supports full read only; it refuses a
//!   restricted-read policy rather than run with weaker read enforcement.
//! - A split policy runs only when it means exactly what a legacy policy means; otherwise both
//!   backends refuse and say why.

use crate::probe::FsProbe;
use crate::resolve::{HostEnv, ResolvedPolicy};
use codex_protocol::{ReadOnlyAccess, SandboxPolicy};
use std::path::PathBuf;

/// System roots the elevated backend adds with `include_platform_defaults = true`.
pub const PLATFORM_READ_ROOTS: [&str; 4] = [
    r"C:\Windows",
    r"C:\Program Files",
    r"C:\Program Files (x86)",
    r"C:\ProgramData",
];

/// The Windows sandbox backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowsBackend {
    Elevated,
    RestrictedToken,
}

/// What may be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowsRead {
    Full,
    Roots(Vec<PathBuf>),
}

/// What a backend will grant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WindowsPlan {
    pub backend: WindowsBackend,
    /// `None` for `danger-full-access` / `external-sandbox`: no sandbox.
    pub read: Option<WindowsRead>,
    pub writable_roots: Vec<PathBuf>,
    pub network: bool,
}

/// Why a policy cannot run on a backend. Nothing runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowsRefusal {
    #[error(
        "the unelevated Windows sandbox can only allow reading everything; this policy restricts reads. Use the elevated sandbox ([windows] sandbox = \"elevated\") or allow full read"
    )]
    RestrictedReadUnsupported,
    #[error(
        "this permission profile cannot be enforced on Windows: it is not equivalent to read-only or workspace-write (carve-outs such as a denied or read-only path under a writable one need the Linux or macOS sandbox). Simplify the profile or use a legacy sandbox_mode"
    )]
    NotLegacyEquivalent,
}

/// Plans a legacy policy for `backend`. `cwd` is the command's working directory.
pub fn windows_plan(
    policy: &SandboxPolicy,
    backend: WindowsBackend,
    cwd: &std::path::Path,
) -> Result<WindowsPlan, WindowsRefusal> {
    let (read_access, writable_roots, network) = match policy {
        SandboxPolicy::DangerFullAccess | SandboxPolicy::ExternalSandbox { .. } => {
            return Ok(WindowsPlan {
                backend,
                read: None,
                writable_roots: Vec::new(),
                network: true,
            });
        }
        SandboxPolicy::ReadOnly { access } => (access, Vec::new(), false),
        SandboxPolicy::WorkspaceWrite {
            writable_roots,
            network_access,
            read_only_access,
            ..
        } => {
            let mut roots = vec![cwd.to_path_buf()];
            for root in writable_roots {
                if !roots.contains(root) {
                    roots.push(root.clone());
                }
            }
            (read_only_access, roots, *network_access)
        }
    };
    let read = match read_access {
        ReadOnlyAccess::FullAccess => WindowsRead::Full,
        ReadOnlyAccess::Restricted {
            include_platform_defaults,
            readable_roots,
        } => {
            if backend == WindowsBackend::RestrictedToken {
                return Err(WindowsRefusal::RestrictedReadUnsupported);
            }
            let mut roots = readable_roots.clone();
            roots.push(cwd.to_path_buf());
            roots.extend(writable_roots.iter().cloned());
            if *include_platform_defaults {
                roots.extend(PLATFORM_READ_ROOTS.iter().map(PathBuf::from));
            }
            let mut unique: Vec<PathBuf> = Vec::new();
            for root in roots {
                if !unique.contains(&root) {
                    unique.push(root);
                }
            }
            WindowsRead::Roots(unique)
        }
    };
    Ok(WindowsPlan {
        backend,
        read: Some(read),
        writable_roots,
        network,
    })
}

/// Plans a resolved (possibly split) policy: only when it round-trips through the legacy model.
pub fn windows_plan_for_resolved(
    policy: &ResolvedPolicy,
    backend: WindowsBackend,
    env: &HostEnv,
    fs: &dyn FsProbe,
) -> Result<WindowsPlan, WindowsRefusal> {
    let legacy = policy
        .legacy_equivalent(env, fs)
        .ok_or(WindowsRefusal::NotLegacyEquivalent)?;
    windows_plan(&legacy, backend, &policy.cwd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn restricted(include_platform_defaults: bool) -> ReadOnlyAccess {
        ReadOnlyAccess::Restricted {
            include_platform_defaults,
            readable_roots: vec![PathBuf::from(r"D:\data")],
        }
    }

    #[test]
    fn elevated_restricted_read_lists_roots_cwd_writable_roots_and_platform_defaults() {
        let policy = SandboxPolicy::WorkspaceWrite {
            writable_roots: vec![PathBuf::from(r"D:\out")],
            network_access: false,
            exclude_tmpdir_env_var: false,
            exclude_slash_tmp: false,
            read_only_access: restricted(true),
        };
        let plan = windows_plan(&policy, WindowsBackend::Elevated, Path::new(r"C:\ws")).unwrap();
        let expected: Vec<PathBuf> = [
            r"D:\data",
            r"C:\ws",
            r"D:\out",
            r"C:\Windows",
            r"C:\Program Files",
            r"C:\Program Files (x86)",
            r"C:\ProgramData",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(plan.read, Some(WindowsRead::Roots(expected)));
        assert_eq!(
            plan.writable_roots,
            vec![PathBuf::from(r"C:\ws"), PathBuf::from(r"D:\out")]
        );
    }

    #[test]
    fn platform_defaults_are_optional() {
        let policy = SandboxPolicy::ReadOnly {
            access: restricted(false),
        };
        let plan = windows_plan(&policy, WindowsBackend::Elevated, Path::new(r"C:\ws")).unwrap();
        assert_eq!(
            plan.read,
            Some(WindowsRead::Roots(vec![
                PathBuf::from(r"D:\data"),
                PathBuf::from(r"C:\ws")
            ]))
        );
    }

    #[test]
    fn restricted_token_refuses_restricted_read_but_runs_full_read() {
        let policy = SandboxPolicy::ReadOnly {
            access: restricted(true),
        };
        assert_eq!(
            windows_plan(
                &policy,
                WindowsBackend::RestrictedToken,
                Path::new(r"C:\ws")
            ),
            Err(WindowsRefusal::RestrictedReadUnsupported)
        );
        let plan = windows_plan(
            &SandboxPolicy::workspace_write(),
            WindowsBackend::RestrictedToken,
            Path::new(r"C:\ws"),
        )
        .unwrap();
        assert_eq!(plan.read, Some(WindowsRead::Full));
    }

    #[test]
    fn split_policies_need_a_legacy_equivalent() {
        use crate::probe::FakeFs;
        use crate::resolve::{ResolveOptions, resolve};
        use codex_protocol::*;
        let fs = FakeFs::new().dir("/repo/a/b");
        let env = HostEnv::default();
        let entry = |p: &str, access| FileSystemSandboxEntry {
            path: FileSystemPath::Path {
                path: PathBuf::from(p),
            },
            access,
            missing_path_behavior: MissingPathBehavior::Enforce,
        };
        let seed = resolve(
            &FileSystemSandboxPolicy::Restricted {
                entries: vec![
                    entry("/", FileSystemAccess::Read),
                    entry("/repo", FileSystemAccess::Write),
                    entry("/repo/a", FileSystemAccess::None),
                ],
            },
            NetworkSandboxPolicy::Restricted,
            Path::new("/repo"),
            &env,
            &fs,
            &ResolveOptions::default(),
        )
        .unwrap();
        assert_eq!(
            windows_plan_for_resolved(&seed, WindowsBackend::Elevated, &env, &fs),
            Err(WindowsRefusal::NotLegacyEquivalent)
        );
        let simple = resolve(
            &FileSystemSandboxPolicy::Restricted {
                entries: vec![
                    entry("/", FileSystemAccess::Read),
                    entry("/repo", FileSystemAccess::Write),
                ],
            },
            NetworkSandboxPolicy::Restricted,
            Path::new("/repo"),
            &env,
            &fs,
            &ResolveOptions::default(),
        )
        .unwrap();
        let plan =
            windows_plan_for_resolved(&simple, WindowsBackend::RestrictedToken, &env, &fs).unwrap();
        assert_eq!(plan.writable_roots, vec![PathBuf::from("/repo")]);
    }
}
