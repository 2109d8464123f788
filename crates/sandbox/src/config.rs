//! The sandbox part of `config.toml`: the legacy `sandbox_mode` + `[sandbox_workspace_write]`,
//! and `[permissions.NAME]` profiles selected by `default_permissions` (or `-P NAME`).
//!
//! Legacy keys win when both are present (as in Codex). Unknown keys are ignored; a wrong value
//! is an error that names the file, the key and what is allowed.
//!
//! ```toml
//! default_permissions = "dev"
//! [permissions.dev]
//! extends = ":workspace"          # or ":read-only", ":danger-full-access", another profile
//! git = "commit"                  # optional: let the agent commit (see GitMode::Commit)
//! macos_preferences = "readonly"  # and the other macOS extension keys
//! [permissions.dev.filesystem]
//! glob_scan_max_depth = 3
//! ":root" = "read"
//! ":workspace_roots" = { "." = "write", "secrets" = "deny", "**/*.env" = "deny" }
//! "/data" = "read"
//! [permissions.dev.network]
//! enabled = true
//! ```

use crate::resolve::GitMode;
use codex_protocol::{
    FileSystemAccess, FileSystemPath, FileSystemSandboxEntry, FileSystemSandboxPolicy,
    KnownSpecialPath, MacOsExtensions, MissingPathBehavior, NetworkSandboxPolicy, SandboxPolicy,
    SpecialPath, UnknownSpecialPath,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// The built-in permission profiles.
pub const BUILTIN_PROFILES: [&str; 3] = [":read-only", ":workspace", ":danger-full-access"];

/// A wrong or unreadable sandbox setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{}: {message}", file.display())]
    Syntax { file: PathBuf, message: String },
    #[error("{}: `{key}`: {message}", file.display())]
    Value {
        file: PathBuf,
        key: String,
        message: String,
    },
    #[error(
        "permission profile '{name}' is not defined; define [permissions.{name}] in {} or use one of :read-only, :workspace, :danger-full-access",
        file.display()
    )]
    UnknownProfile { file: PathBuf, name: String },
    #[error("permission profile '{name}' extends itself (through {chain}); remove the cycle in {}", file.display())]
    ExtendsCycle {
        file: PathBuf,
        name: String,
        chain: String,
    },
}

/// The legacy modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
}

impl SandboxMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read-only" => Some(SandboxMode::ReadOnly),
            "workspace-write" => Some(SandboxMode::WorkspaceWrite),
            "danger-full-access" => Some(SandboxMode::DangerFullAccess),
            _ => None,
        }
    }
}

/// What the user chose, ready to resolve (and to hand to the sandbox helper as JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SandboxSelection {
    Legacy {
        policy: SandboxPolicy,
        git: GitMode,
    },
    Profile {
        name: String,
        filesystem: FileSystemSandboxPolicy,
        network: NetworkSandboxPolicy,
        macos: MacOsExtensions,
        glob_scan_max_depth: Option<usize>,
        git: GitMode,
    },
}

/// Command-line choices that override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub sandbox_mode: Option<SandboxMode>,
    pub profile: Option<String>,
}

/// The sandbox settings of one `config.toml`.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    file: PathBuf,
    table: Table,
}

impl SandboxConfig {
    /// Parses `text`, read from `file` (used in messages).
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                file: file.to_path_buf(),
                message: e.to_string().trim_end().to_string(),
            })?;
        Ok(SandboxConfig {
            file: file.to_path_buf(),
            table,
        })
    }

    /// A table already parsed (and layered) by the caller; `file` is named in messages.
    pub fn from_table(table: Table, file: &Path) -> Self {
        SandboxConfig {
            file: file.to_path_buf(),
            table,
        }
    }

    /// An empty config (no file).
    pub fn empty() -> Self {
        SandboxConfig {
            file: PathBuf::from("config.toml"),
            table: Table::new(),
        }
    }

    /// Reads `$CODEX_HOME/config.toml` (a missing file is an empty config).
    pub fn load(codex_home: &Path) -> Result<Self, ConfigError> {
        let file = codex_home.join("config.toml");
        match std::fs::read_to_string(&file) {
            Ok(text) => Self::parse(&text, &file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SandboxConfig {
                file,
                table: Table::new(),
            }),
            Err(e) => Err(ConfigError::Syntax {
                file,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Value {
            file: self.file.clone(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// The top-level table, with `[profiles.NAME]` applied when `profile = "NAME"` is set.
    fn effective(&self) -> Result<Table, ConfigError> {
        let mut table = self.table.clone();
        let Some(name) = self.table.get("profile") else {
            return Ok(table);
        };
        let name = name.as_str().ok_or_else(|| {
            self.error("profile", "must be a string naming a [profiles.NAME] table")
        })?;
        let overlay = self
            .table
            .get("profiles")
            .and_then(|p| p.get(name))
            .and_then(Value::as_table)
            .ok_or_else(|| {
                self.error("profile", format!("no [profiles.{name}] table is defined"))
            })?;
        for (key, value) in overlay {
            table.insert(key.clone(), value.clone());
        }
        Ok(table)
    }

    /// Decides the policy: `-s`, then `sandbox_mode`, then `-P`, then `default_permissions`,
    /// else read-only.
    pub fn select(&self, overrides: &Overrides) -> Result<SandboxSelection, ConfigError> {
        let table = self.effective()?;
        let mode = match overrides.sandbox_mode {
            Some(mode) => Some(mode),
            None => match table.get("sandbox_mode") {
                None => None,
                Some(value) => Some(value.as_str().and_then(SandboxMode::parse).ok_or_else(|| {
                    self.error(
                        "sandbox_mode",
                        format!("{value} is not a sandbox mode; use \"read-only\", \"workspace-write\" or \"danger-full-access\""),
                    )
                })?),
            },
        };
        let profile = match (&overrides.profile, mode) {
            (Some(name), None) => Some(name.clone()),
            (None, None) => match table.get("default_permissions") {
                None => None,
                Some(v) => Some(
                    v.as_str()
                        .ok_or_else(|| self.error("default_permissions", "must be a profile name"))?
                        .to_string(),
                ),
            },
            _ => None,
        };
        if let Some(name) = profile {
            return self.profile(&name);
        }
        let workspace = table
            .get("sandbox_workspace_write")
            .and_then(Value::as_table);
        let git = match workspace.and_then(|w| w.get("git")) {
            None => GitMode::ReadOnly,
            Some(v) => self.git_mode(v, "sandbox_workspace_write.git")?,
        };
        let policy = match mode.unwrap_or(SandboxMode::ReadOnly) {
            SandboxMode::ReadOnly => SandboxPolicy::read_only(),
            SandboxMode::DangerFullAccess => SandboxPolicy::DangerFullAccess,
            SandboxMode::WorkspaceWrite => {
                let w = workspace.cloned().unwrap_or_default();
                let key = |k: &str| format!("sandbox_workspace_write.{k}");
                let flag = |k: &str| -> Result<bool, ConfigError> {
                    match w.get(k) {
                        None => Ok(false),
                        Some(v) => v
                            .as_bool()
                            .ok_or_else(|| self.error(&key(k), "must be true or false")),
                    }
                };
                let writable_roots = match w.get("writable_roots") {
                    None => Vec::new(),
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|i| {
                            i.as_str().map(PathBuf::from).ok_or_else(|| {
                                self.error(&key("writable_roots"), "must be a list of path strings")
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(_) => {
                        return Err(
                            self.error(&key("writable_roots"), "must be a list of path strings")
                        );
                    }
                };
                SandboxPolicy::WorkspaceWrite {
                    writable_roots,
                    network_access: flag("network_access")?,
                    exclude_tmpdir_env_var: flag("exclude_tmpdir_env_var")?,
                    exclude_slash_tmp: flag("exclude_slash_tmp")?,
                    read_only_access: Default::default(),
                }
            }
        };
        Ok(SandboxSelection::Legacy { policy, git })
    }

    fn git_mode(&self, value: &Value, key: &str) -> Result<GitMode, ConfigError> {
        match value.as_str() {
            Some("commit") => Ok(GitMode::Commit),
            Some("read-only") | Some("readonly") => Ok(GitMode::ReadOnly),
            _ => Err(self.error(
                key,
                format!("{value} is not a git mode; use \"read-only\" (default) or \"commit\""),
            )),
        }
    }

    /// Resolves profile `name` through its `extends` chain.
    pub fn profile(&self, name: &str) -> Result<SandboxSelection, ConfigError> {
        let mut chain = Vec::new();
        let merged = self.merged_profile(name, &mut chain)?;
        let filesystem = if merged.unrestricted {
            FileSystemSandboxPolicy::Unrestricted
        } else {
            FileSystemSandboxPolicy::Restricted {
                entries: merged.filesystem.into_values().collect(),
            }
        };
        Ok(SandboxSelection::Profile {
            name: name.to_string(),
            filesystem,
            network: merged.network,
            macos: merged.macos,
            glob_scan_max_depth: merged.glob_scan_max_depth,
            git: merged.git,
        })
    }

    fn merged_profile(
        &self,
        name: &str,
        chain: &mut Vec<String>,
    ) -> Result<MergedProfile, ConfigError> {
        if chain.iter().any(|n| n == name) {
            chain.push(name.to_string());
            return Err(ConfigError::ExtendsCycle {
                file: self.file.clone(),
                name: chain[0].clone(),
                chain: chain.join(" -> "),
            });
        }
        chain.push(name.to_string());
        if let Some(builtin) = builtin_profile(name) {
            return Ok(builtin);
        }
        let table = self
            .table
            .get("permissions")
            .and_then(|p| p.get(name))
            .and_then(Value::as_table)
            .ok_or_else(|| ConfigError::UnknownProfile {
                file: self.file.clone(),
                name: name.to_string(),
            })?;
        let prefix = format!("permissions.{name}");
        let mut merged = match table.get("extends") {
            None => MergedProfile::default(),
            Some(parent) => {
                let parent = parent.as_str().ok_or_else(|| {
                    self.error(&format!("{prefix}.extends"), "must be a profile name")
                })?;
                self.merged_profile(parent, chain)?
            }
        };
        if let Some(v) = table.get("git") {
            merged.git = self.git_mode(v, &format!("{prefix}.git"))?;
        }
        self.merge_macos(table, &prefix, &mut merged.macos)?;
        if let Some(enabled) = table.get("network").and_then(|n| n.get("enabled")) {
            let enabled = enabled.as_bool().ok_or_else(|| {
                self.error(
                    &format!("{prefix}.network.enabled"),
                    "must be true or false",
                )
            })?;
            merged.network = if enabled {
                NetworkSandboxPolicy::Enabled
            } else {
                NetworkSandboxPolicy::Restricted
            };
        }
        if let Some(filesystem) = table.get("filesystem") {
            let filesystem = filesystem.as_table().ok_or_else(|| {
                self.error(
                    &format!("{prefix}.filesystem"),
                    "must be a table of path = access",
                )
            })?;
            merged.unrestricted = false;
            for (key, value) in filesystem {
                let full_key = format!("{prefix}.filesystem.\"{key}\"");
                if key == "glob_scan_max_depth" {
                    let depth = value.as_integer().filter(|d| *d >= 1).ok_or_else(|| {
                        self.error(&full_key, "must be a whole number of at least 1")
                    })?;
                    merged.glob_scan_max_depth = Some(depth as usize);
                    continue;
                }
                match value {
                    Value::Table(sub) => {
                        for (subkey, subvalue) in sub {
                            let key_path = format!("{full_key}.\"{subkey}\"");
                            let access = self.access(subvalue, &key_path)?;
                            let path = self.entry_path(key, Some(subkey), &key_path)?;
                            // `"." = …` is the key itself, so it replaces a parent's plain entry.
                            let merged_key = match subkey.as_str() {
                                "." | "" => key.clone(),
                                sub => format!("{key}/{sub}"),
                            };
                            merged.filesystem.insert(merged_key, entry(path, access));
                        }
                    }
                    other => {
                        let access = self.access(other, &full_key)?;
                        let path = self.entry_path(key, None, &full_key)?;
                        merged.filesystem.insert(key.clone(), entry(path, access));
                    }
                }
            }
        }
        if let Some(roots) = table.get("workspace_roots").and_then(Value::as_table) {
            let inherited: Vec<(String, FileSystemSandboxEntry)> = merged
                .filesystem
                .iter()
                .filter(|(k, _)| k.starts_with(":workspace_roots"))
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect();
            for (root, enabled) in roots {
                if enabled.as_bool() != Some(true) {
                    continue;
                }
                for (key, e) in &inherited {
                    let sub = match &e.path {
                        FileSystemPath::Special {
                            value:
                                SpecialPath::Known(KnownSpecialPath::CurrentWorkingDirectory {
                                    subpath,
                                }),
                        } => subpath.clone(),
                        _ => None,
                    };
                    let path = match sub {
                        Some(sub) => PathBuf::from(root).join(sub),
                        None => PathBuf::from(root),
                    };
                    merged.filesystem.insert(
                        format!("{root}{}", key.trim_start_matches(":workspace_roots")),
                        entry(FileSystemPath::Path { path }, e.access),
                    );
                }
            }
        }
        Ok(merged)
    }

    fn access(&self, value: &Value, key: &str) -> Result<FileSystemAccess, ConfigError> {
        match value.as_str() {
            Some("read") => Ok(FileSystemAccess::Read),
            Some("write") => Ok(FileSystemAccess::Write),
            Some("deny") | Some("none") => Ok(FileSystemAccess::None),
            _ => Err(self.error(
                key,
                format!("{value} is not an access; use \"read\", \"write\" or \"deny\""),
            )),
        }
    }

    fn entry_path(
        &self,
        key: &str,
        sub: Option<&str>,
        key_path: &str,
    ) -> Result<FileSystemPath, ConfigError> {
        let sub = sub
            .filter(|s| *s != "." && !s.is_empty())
            .map(PathBuf::from);
        let Some(token) = key.strip_prefix(':') else {
            let mut path = PathBuf::from(key);
            if let Some(sub) = sub {
                path.push(sub);
            }
            return Ok(FileSystemPath::Path { path });
        };
        let known = match token {
            "root" => KnownSpecialPath::Root,
            "minimal" => KnownSpecialPath::Minimal,
            "workspace_roots" | "project_roots" | "cwd" => {
                return Ok(FileSystemPath::Special {
                    value: SpecialPath::Known(KnownSpecialPath::CurrentWorkingDirectory {
                        subpath: sub,
                    }),
                });
            }
            "tmpdir" => KnownSpecialPath::Tmpdir,
            "slash_tmp" => KnownSpecialPath::SlashTmp,
            other => {
                return Ok(FileSystemPath::Special {
                    value: SpecialPath::Unknown(UnknownSpecialPath {
                        kind: other.to_string(),
                        rest: BTreeMap::new(),
                    }),
                });
            }
        };
        if sub.is_some() {
            return Err(self.error(
                key_path,
                "subpaths are supported under :workspace_roots and absolute paths; write the full path instead",
            ));
        }
        Ok(FileSystemPath::Special {
            value: SpecialPath::Known(known),
        })
    }

    fn merge_macos(
        &self,
        table: &Table,
        prefix: &str,
        macos: &mut MacOsExtensions,
    ) -> Result<(), ConfigError> {
        let mut current = serde_json::to_value(&*macos).expect("extensions serialize");
        let mut touched = false;
        for key in [
            "macos_preferences",
            "macos_automation",
            "macos_launch_services",
            "macos_accessibility",
            "macos_calendar",
            "macos_contacts",
        ] {
            if let Some(value) = table.get(key) {
                current[key] = serde_json::to_value(value).expect("toml values serialize");
                touched = true;
                let single: Result<MacOsExtensions, _> =
                    serde_json::from_value(serde_json::json!({ key: current[key].clone() }));
                if let Err(e) = single {
                    return Err(self.error(
                        &format!("{prefix}.{key}"),
                        format!("invalid value {value}: {e}"),
                    ));
                }
                if key == "macos_automation"
                    && let Some(ids) = value.as_array()
                {
                    for id in ids {
                        let valid = id.as_str().is_some_and(crate::seatbelt::is_valid_bundle_id);
                        if !valid {
                            return Err(self.error(
                                &format!("{prefix}.{key}"),
                                format!("{id} is not a bundle id (like \"com.apple.Notes\")"),
                            ));
                        }
                    }
                }
            }
        }
        if touched {
            *macos = serde_json::from_value(current).expect("validated above");
        }
        Ok(())
    }
}

/// A profile after `extends` is applied; filesystem entries keyed by how they were written so
/// a child's entry replaces its parent's.
#[derive(Debug, Clone, Default)]
struct MergedProfile {
    unrestricted: bool,
    filesystem: BTreeMap<String, FileSystemSandboxEntry>,
    network: NetworkSandboxPolicy,
    macos: MacOsExtensions,
    glob_scan_max_depth: Option<usize>,
    git: GitMode,
}

fn entry(path: FileSystemPath, access: FileSystemAccess) -> FileSystemSandboxEntry {
    FileSystemSandboxEntry {
        path,
        access,
        missing_path_behavior: MissingPathBehavior::Enforce,
    }
}

fn builtin_profile(name: &str) -> Option<MergedProfile> {
    let special = |kind| FileSystemPath::Special {
        value: SpecialPath::Known(kind),
    };
    let mut profile = MergedProfile::default();
    match name {
        ":read-only" => {
            profile.filesystem.insert(
                ":root".into(),
                entry(special(KnownSpecialPath::Root), FileSystemAccess::Read),
            );
        }
        ":workspace" => {
            profile.filesystem.insert(
                ":root".into(),
                entry(special(KnownSpecialPath::Root), FileSystemAccess::Read),
            );
            profile.filesystem.insert(
                ":workspace_roots".into(),
                entry(
                    special(KnownSpecialPath::CurrentWorkingDirectory { subpath: None }),
                    FileSystemAccess::Write,
                ),
            );
            profile.filesystem.insert(
                ":slash_tmp".into(),
                entry(special(KnownSpecialPath::SlashTmp), FileSystemAccess::Write),
            );
            profile.filesystem.insert(
                ":tmpdir".into(),
                entry(special(KnownSpecialPath::Tmpdir), FileSystemAccess::Write),
            );
        }
        ":danger-full-access" => {
            profile.unrestricted = true;
            profile.network = NetworkSandboxPolicy::Enabled;
        }
        _ => return None,
    }
    Some(profile)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

impl SandboxSelection {
    /// Resolves the selection against `cwd` on this host.
    pub fn resolve(
        &self,
        cwd: &Path,
        env: &crate::HostEnv,
        fs: &dyn crate::FsProbe,
    ) -> Result<crate::ResolvedPolicy, crate::ResolveError> {
        match self {
            SandboxSelection::Legacy { policy, git } => {
                let options = crate::ResolveOptions {
                    git: *git,
                    glob_scan_max_depth: None,
                };
                crate::resolve_legacy(policy, cwd, env, fs, &options)
            }
            SandboxSelection::Profile {
                filesystem,
                network,
                glob_scan_max_depth,
                git,
                ..
            } => {
                let options = crate::ResolveOptions {
                    git: *git,
                    glob_scan_max_depth: *glob_scan_max_depth,
                };
                crate::resolve(filesystem, *network, cwd, env, fs, &options)
            }
        }
    }

    /// The macOS extensions of a permission profile (`None` for a legacy policy).
    pub fn macos(&self) -> Option<&MacOsExtensions> {
        match self {
            SandboxSelection::Legacy { .. } => None,
            SandboxSelection::Profile { macos, .. } => Some(macos),
        }
    }
}
