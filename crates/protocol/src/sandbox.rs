//! Sandbox policies as users and clients state them: the legacy [`SandboxPolicy`], the split
//! [`FileSystemSandboxPolicy`] + [`NetworkSandboxPolicy`], and the macOS permission-profile
//! extensions. JSON spellings follow Codex's (`{"type": "workspace-write", …}`,
//! `{"type": "special", "value": {"kind": "root"}}`); unknown special paths are kept, not
//! rejected, so newer configs still load.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The legacy policy: one of four modes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SandboxPolicy {
    /// No restrictions at all.
    DangerFullAccess,
    /// Read (everything, or the restricted set), write nothing, no network.
    ReadOnly {
        #[serde(default, skip_serializing_if = "ReadOnlyAccess::is_full")]
        access: ReadOnlyAccess,
    },
    /// The caller is already sandboxed by something else; we add nothing.
    ExternalSandbox {
        #[serde(default)]
        network_access: NetworkSandboxPolicy,
    },
    /// Read everything, write the cwd, the writable roots and (unless excluded) the temp dirs.
    WorkspaceWrite {
        #[serde(default)]
        writable_roots: Vec<PathBuf>,
        #[serde(default)]
        network_access: bool,
        #[serde(default)]
        exclude_tmpdir_env_var: bool,
        #[serde(default)]
        exclude_slash_tmp: bool,
        #[serde(default, skip_serializing_if = "ReadOnlyAccess::is_full")]
        read_only_access: ReadOnlyAccess,
    },
}

impl SandboxPolicy {
    /// The default `workspace-write` policy (cwd and temp dirs writable, network off).
    pub fn workspace_write() -> Self {
        SandboxPolicy::WorkspaceWrite {
            writable_roots: Vec::new(),
            network_access: false,
            exclude_tmpdir_env_var: false,
            exclude_slash_tmp: false,
            read_only_access: ReadOnlyAccess::FullAccess,
        }
    }

    pub fn read_only() -> Self {
        SandboxPolicy::ReadOnly {
            access: ReadOnlyAccess::FullAccess,
        }
    }
}

/// What a read-only or workspace-write policy may read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ReadOnlyAccess {
    /// Every path.
    #[default]
    FullAccess,
    /// Only these roots (plus the command's cwd, and the platform's system roots when
    /// `include_platform_defaults`).
    Restricted {
        #[serde(default)]
        include_platform_defaults: bool,
        #[serde(default)]
        readable_roots: Vec<PathBuf>,
    },
}

impl ReadOnlyAccess {
    pub fn is_full(&self) -> bool {
        matches!(self, ReadOnlyAccess::FullAccess)
    }
}

/// Whether sandboxed commands may use the network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkSandboxPolicy {
    #[default]
    Restricted,
    Enabled,
}

/// The split filesystem policy: per-path access, the most specific path winning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileSystemSandboxPolicy {
    Unrestricted,
    Restricted {
        entries: Vec<FileSystemSandboxEntry>,
    },
}

/// One rule: what may happen at and below `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSystemSandboxEntry {
    pub path: FileSystemPath,
    pub access: FileSystemAccess,
    #[serde(default, skip_serializing_if = "MissingPathBehavior::is_default")]
    pub missing_path_behavior: MissingPathBehavior,
}

/// Access at a path. At equal specificity `none` beats `write` beats `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileSystemAccess {
    Read,
    Write,
    #[serde(alias = "deny")]
    None,
}

/// What a rule does when its path does not exist when the policy is resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingPathBehavior {
    /// The rule still holds: a read-only or denied path cannot be created either.
    #[default]
    Enforce,
    /// The rule is dropped.
    Skip,
}

impl MissingPathBehavior {
    pub fn is_default(&self) -> bool {
        *self == MissingPathBehavior::Enforce
    }
}

/// An absolute (or `~`/relative, resolved against the cwd) path, or a special root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileSystemPath {
    Path { path: PathBuf },
    Special { value: SpecialPath },
}

/// Special roots. Unknown kinds (from newer configs) are kept and ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SpecialPath {
    Known(KnownSpecialPath),
    Unknown(UnknownSpecialPath),
}

/// The special roots this implementation understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KnownSpecialPath {
    /// `/`.
    Root,
    /// The system directories a shell needs to run (`/bin`, `/usr`, `/lib`, `/etc`, …).
    Minimal,
    /// The command's working directory (`:workspace_roots` in config), optionally a subpath.
    #[serde(alias = "workspace_roots", alias = "project_roots")]
    CurrentWorkingDirectory {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subpath: Option<PathBuf>,
    },
    /// `$TMPDIR`, when set to an absolute path.
    Tmpdir,
    /// `/tmp`, when it is a directory.
    SlashTmp,
}

/// A special root we do not know; preserved verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownSpecialPath {
    pub kind: String,
    #[serde(flatten)]
    pub rest: BTreeMap<String, serde_json::Value>,
}

/// `macos_preferences`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MacOsPreferences {
    #[default]
    None,
    #[serde(alias = "read_only")]
    Readonly,
    #[serde(alias = "read_write")]
    Readwrite,
}

/// `macos_automation`: `false`/`true`, or the bundle ids Apple Events may be sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MacOsAutomation {
    /// `true`: any destination; `false` (the default): none.
    All(bool),
    BundleIds(Vec<String>),
}

impl Default for MacOsAutomation {
    fn default() -> Self {
        MacOsAutomation::All(false)
    }
}

/// `macos_contacts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MacOsContacts {
    #[default]
    None,
    ReadOnly,
    ReadWrite,
}

/// Grants a permission profile adds to the macOS Seatbelt profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MacOsExtensions {
    pub macos_preferences: MacOsPreferences,
    pub macos_automation: MacOsAutomation,
    pub macos_launch_services: bool,
    pub macos_accessibility: bool,
    pub macos_calendar: bool,
    pub macos_contacts: MacOsContacts,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn legacy_policy_json() {
        let policy: SandboxPolicy = serde_json::from_value(json!({
            "type": "workspace-write",
            "writable_roots": ["/extra"],
            "network_access": true
        }))
        .unwrap();
        assert_eq!(
            policy,
            SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![PathBuf::from("/extra")],
                network_access: true,
                exclude_tmpdir_env_var: false,
                exclude_slash_tmp: false,
                read_only_access: ReadOnlyAccess::FullAccess,
            }
        );
        assert_eq!(
            serde_json::to_value(SandboxPolicy::read_only()).unwrap(),
            json!({"type": "read-only"})
        );
        assert_eq!(
            serde_json::to_value(SandboxPolicy::DangerFullAccess).unwrap(),
            json!({"type": "danger-full-access"})
        );
    }

    #[test]
    fn split_policy_json_matches_codex_and_keeps_unknown_kinds() {
        let value = json!({"type": "restricted", "entries": [
            {"path": {"type": "special", "value": {"kind": "root"}}, "access": "read"},
            {"path": {"type": "path", "path": "/ws"}, "access": "write"},
            {"path": {"type": "path", "path": "/ws/.git"}, "access": "read", "missing_path_behavior": "skip"},
            {"path": {"type": "special", "value": {"kind": "future_thing", "x": 1}}, "access": "none"}
        ]});
        let policy: FileSystemSandboxPolicy = serde_json::from_value(value.clone()).unwrap();
        let FileSystemSandboxPolicy::Restricted { entries } = &policy else {
            panic!("{policy:?}")
        };
        assert_eq!(
            entries[0].path,
            FileSystemPath::Special {
                value: SpecialPath::Known(KnownSpecialPath::Root)
            }
        );
        assert!(matches!(
            &entries[3].path,
            FileSystemPath::Special { value: SpecialPath::Unknown(u) } if u.kind == "future_thing"
        ));
        assert_eq!(serde_json::to_value(&policy).unwrap(), value);
    }

    #[test]
    fn deny_is_an_alias_of_none() {
        let access: FileSystemAccess = serde_json::from_value(json!("deny")).unwrap();
        assert_eq!(access, FileSystemAccess::None);
        assert!(FileSystemAccess::None > FileSystemAccess::Write);
        assert!(FileSystemAccess::Write > FileSystemAccess::Read);
    }

    #[test]
    fn automation_forms() {
        let all: MacOsAutomation = serde_json::from_value(json!(true)).unwrap();
        assert_eq!(all, MacOsAutomation::All(true));
        let ids: MacOsAutomation = serde_json::from_value(json!(["com.apple.Notes"])).unwrap();
        assert_eq!(
            ids,
            MacOsAutomation::BundleIds(vec!["com.apple.Notes".into()])
        );
    }
}
