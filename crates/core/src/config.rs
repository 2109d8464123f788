//! Configuration: `$CODEX_HOME/config.toml`, then `-p NAME` (`$CODEX_HOME/NAME.config.toml`
//! layered on top), then each `-c dotted.key=VALUE` (a TOML value; one that does not parse is
//! taken as a string), later layers winning key by key (tables merge, everything else is
//! replaced).
//!
//! Every layer is checked on its own, so a bad value is reported where it was written: the
//! file, the line and the dotted key, or the `-c` argument. Unknown keys are ignored with a
//! warning (a typo must not stop anyone, but must not go unnoticed either).

use crate::provider::{ModelProviderInfo, ModelProviderToml, built_in_providers};
use codex_sandbox::config::SandboxConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// `project_doc_max_bytes` when unset: AGENTS.md files beyond 32 KiB are cut.
pub const DEFAULT_PROJECT_DOC_MAX_BYTES: usize = 32 * 1024;

/// What the command line says about configuration.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    /// `-p NAME`.
    pub profile: Option<String>,
    /// Each `-c dotted.key=VALUE`, as typed.
    pub config: Vec<String>,
    /// `--ignore-user-config`: leave `$CODEX_HOME/config.toml` out (credentials still come
    /// from `$CODEX_HOME`).
    pub ignore_user_config: bool,
    /// `--strict-config`: an unknown key is an error, not a warning.
    pub strict: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    File {
        file: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("-c {argument}: {message}")]
    Override { argument: String, message: String },
    /// A value that is well-formed but does not fit with the rest; `origin` is the file or
    /// the `-c` argument it came from.
    #[error("{origin}: {message}")]
    Setting { origin: String, message: String },
}

/// `approval_policy`: when the agent asks before running a command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AskForApproval {
    /// Ask for everything but known-safe reads.
    Untrusted,
    /// Run in the sandbox; ask only to retry a failure outside it.
    OnFailure,
    /// The model decides when to ask.
    #[default]
    OnRequest,
    /// Never ask; failures go back to the model.
    Never,
}

/// `model_reasoning_effort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
}

/// `web_search`: the Responses API's hosted search tool, off, from the index only (`cached`,
/// the default) or live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebSearchMode {
    Disabled,
    #[default]
    Cached,
    Live,
}

/// `shell_environment_policy.inherit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Inherit {
    /// The whole environment of codex.
    #[default]
    All,
    /// Only HOME, PATH, SHELL, USER, LOGNAME, TMPDIR, LANG, LC_*, TERM and the like.
    Core,
    /// Nothing.
    None,
}

/// `[shell_environment_policy]`: the environment commands get.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellEnvironmentPolicy {
    #[serde(default)]
    pub inherit: Inherit,
    /// Keep variables whose names contain KEY, SECRET or TOKEN (withheld by default).
    #[serde(default)]
    pub ignore_default_excludes: bool,
    /// Name patterns (`*` and `?`) to remove.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Variables to set.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// When not empty, only names matching one of these patterns stay.
    #[serde(default)]
    pub include_only: Vec<String>,
}

/// The file format. Keys other crates interpret are declared loosely so they are known (no
/// warning) and left to their owners.
#[derive(Debug, Default, Deserialize)]
struct ConfigToml {
    model: Option<String>,
    model_provider: Option<String>,
    #[serde(default)]
    model_providers: BTreeMap<String, ModelProviderToml>,
    openai_base_url: Option<String>,
    chatgpt_base_url: Option<String>,
    approval_policy: Option<AskForApproval>,
    model_reasoning_effort: Option<ReasoningEffort>,
    model_auto_compact_token_limit: Option<i64>,
    project_doc_max_bytes: Option<usize>,
    shell_environment_policy: Option<ShellEnvironmentPolicy>,
    web_search: Option<WebSearchMode>,
    // The sandbox crate's keys (it checks them when the policy is selected).
    #[allow(dead_code)]
    sandbox_mode: Option<Value>,
    #[allow(dead_code)]
    sandbox_workspace_write: Option<Value>,
    #[allow(dead_code)]
    permissions: Option<Value>,
    #[allow(dead_code)]
    default_permissions: Option<Value>,
    #[allow(dead_code)]
    profile: Option<Value>,
    #[allow(dead_code)]
    profiles: Option<Value>,
    // The login crate's.
    #[allow(dead_code)]
    cli_auth_credentials_store: Option<Value>,
}

/// Keys Codex knows that this implementation does not act on yet: a warning says so, rather
/// than calling them unknown.
const NOT_YET_SUPPORTED: &[&str] = &[
    "mcp_servers",
    "features",
    "history",
    "notify",
    "instructions",
    "developer_instructions",
    "model_instructions_file",
    "compact_prompt",
    "tool_output_token_limit",
    "model_reasoning_summary",
    "model_verbosity",
    "model_context_window",
    "model_catalog_json",
    "project_doc_fallback_filenames",
    "tools",
    "hooks",
    "plugins",
    "otel",
    "tui",
    "file_opener",
    "hide_agent_reasoning",
    "show_raw_agent_reasoning",
];

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub codex_home: PathBuf,
    /// `model`; `None` leaves the choice to the front end's default.
    pub model: Option<String>,
    pub model_provider_id: String,
    pub model_provider: ModelProviderInfo,
    pub approval_policy: AskForApproval,
    pub model_reasoning_effort: Option<ReasoningEffort>,
    pub model_auto_compact_token_limit: Option<i64>,
    pub project_doc_max_bytes: usize,
    pub shell_environment_policy: ShellEnvironmentPolicy,
    pub web_search: WebSearchMode,
    /// The layered table's sandbox keys, for `SandboxConfig::select`.
    pub sandbox: SandboxConfig,
    /// Unknown or not yet supported keys, one line each, to show the user.
    pub warnings: Vec<String>,
}

/// Where a layer came from, for messages.
enum Source<'a> {
    File { path: &'a Path, text: &'a str },
    Override(&'a str),
}

impl Config {
    /// Loads `$CODEX_HOME/config.toml` (missing: empty) and the command line's layers.
    pub fn load(codex_home: &Path, cli: &CliOverrides) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        let mut origins = Origins::default();
        let main_file = codex_home.join("config.toml");
        let mut merged = if cli.ignore_user_config {
            Table::new()
        } else {
            read_layer(&main_file, false, &mut warnings)?.unwrap_or_default()
        };
        origins.record(&merged, &main_file.display().to_string());
        if let Some(name) = &cli.profile {
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                return Err(ConfigError::File {
                    file: codex_home.to_path_buf(),
                    line: None,
                    message: format!(
                        "-p {name:?} is not a profile name; use a plain name like `work` for {}",
                        codex_home.join("work.config.toml").display()
                    ),
                });
            }
            let file = codex_home.join(format!("{name}.config.toml"));
            let layer = read_layer(&file, true, &mut warnings)?.unwrap_or_default();
            origins.record(&layer, &file.display().to_string());
            merge(&mut merged, layer);
        }
        for argument in &cli.config {
            let layer = parse_override(argument)?;
            check(&layer, Source::Override(argument), &mut warnings)?;
            origins.record(&layer, &format!("-c {argument}"));
            merge(&mut merged, layer);
        }
        // The older form of profiles: `profile = "NAME"` applies `[profiles.NAME]` over the
        // top level (the reference now refuses it; configs written for it keep working here).
        if let Some(value) = merged.get("profile").cloned() {
            let name = value.as_str().ok_or_else(|| ConfigError::Setting {
                origin: origins.of("profile"),
                message: "`profile` must be a string naming a [profiles.NAME] table".into(),
            })?;
            let overlay = merged
                .get("profiles")
                .and_then(|p| p.get(name))
                .and_then(Value::as_table)
                .cloned()
                .ok_or_else(|| ConfigError::Setting {
                    origin: origins.of("profile"),
                    message: format!("`profile`: no [profiles.{name}] table is defined"),
                })?;
            merge(&mut merged, overlay);
        }
        if cli.strict {
            let unknown: Vec<&String> = warnings
                .iter()
                .filter(|w| w.contains("unknown key"))
                .collect();
            if !unknown.is_empty() {
                return Err(ConfigError::Setting {
                    origin: "--strict-config".into(),
                    message: unknown
                        .iter()
                        .map(|w| w.replace(" ignored", ""))
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
        }
        let parsed: ConfigToml =
            ConfigToml::deserialize(Value::Table(merged.clone())).map_err(|e| {
                ConfigError::File {
                    file: main_file.clone(),
                    line: None,
                    message: e.to_string(),
                }
            })?;
        Self::resolve(codex_home, parsed, merged, &main_file, &origins, warnings)
    }

    fn resolve(
        codex_home: &Path,
        parsed: ConfigToml,
        merged: Table,
        main_file: &Path,
        origins: &Origins,
        warnings: Vec<String>,
    ) -> Result<Config, ConfigError> {
        let mut providers = built_in_providers(
            parsed.openai_base_url.as_deref(),
            parsed.chatgpt_base_url.as_deref(),
        );
        for (id, entry) in parsed.model_providers {
            let key = format!("model_providers.{id}");
            let info = entry.resolve(&id).map_err(|message| ConfigError::Setting {
                origin: origins.of(&key),
                message: format!("`{key}`: {message}"),
            })?;
            providers.insert(id, info);
        }
        let model_provider_id = parsed.model_provider.unwrap_or_else(|| "openai".into());
        let model_provider = providers.get(&model_provider_id).cloned().ok_or_else(|| {
            ConfigError::Setting {
                origin: origins.of("model_provider"),
                message: format!(
                    "`model_provider`: {model_provider_id:?} is not defined; define [model_providers.{model_provider_id}] or use one of: {}",
                    providers.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            }
        })?;
        Ok(Config {
            codex_home: codex_home.to_path_buf(),
            model: parsed.model,
            model_provider_id,
            model_provider,
            approval_policy: parsed.approval_policy.unwrap_or_default(),
            model_reasoning_effort: parsed.model_reasoning_effort,
            model_auto_compact_token_limit: parsed.model_auto_compact_token_limit,
            project_doc_max_bytes: parsed
                .project_doc_max_bytes
                .unwrap_or(DEFAULT_PROJECT_DOC_MAX_BYTES),
            shell_environment_policy: parsed.shell_environment_policy.unwrap_or_default(),
            web_search: parsed.web_search.unwrap_or_default(),
            sandbox: SandboxConfig::from_table(merged, main_file),
            warnings,
        })
    }
}

/// Which layer last set each top-level key (and each `model_providers.ID`): where a value
/// that does not fit came from.
#[derive(Default)]
struct Origins(BTreeMap<String, String>);

impl Origins {
    fn record(&mut self, layer: &Table, origin: &str) {
        for (key, value) in layer {
            self.0.insert(key.clone(), origin.to_string());
            if key == "model_providers"
                && let Some(providers) = value.as_table()
            {
                for id in providers.keys() {
                    self.0.insert(format!("{key}.{id}"), origin.to_string());
                }
            }
        }
    }

    fn of(&self, key: &str) -> String {
        self.0
            .get(key)
            .cloned()
            .unwrap_or_else(|| "config".to_string())
    }
}

/// Reads and checks one file; `None` when it does not exist and need not.
fn read_layer(
    file: &Path,
    required: bool,
    warnings: &mut Vec<String>,
) -> Result<Option<Table>, ConfigError> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => {
            return Err(ConfigError::File {
                file: file.to_path_buf(),
                line: None,
                message: if e.kind() == std::io::ErrorKind::NotFound {
                    "the profile's file does not exist; create it or drop -p".into()
                } else {
                    format!("cannot read: {e}")
                },
            });
        }
    };
    let table: Table = toml::from_str(&text).map_err(|e| ConfigError::File {
        file: file.to_path_buf(),
        line: e.span().map(|span| line_of(&text, span.start)),
        message: e.message().trim_end().to_string(),
    })?;
    check(
        &table,
        Source::File {
            path: file,
            text: &text,
        },
        warnings,
    )?;
    Ok(Some(table))
}

/// Type-checks one layer on its own and collects its unknown keys.
fn check(table: &Table, source: Source<'_>, warnings: &mut Vec<String>) -> Result<(), ConfigError> {
    let where_ = match &source {
        Source::File { path, .. } => path.display().to_string(),
        Source::Override(argument) => format!("-c {argument}"),
    };
    // Type errors, with the dotted path of the key and, in a file, its line.
    let typed: Result<ConfigToml, _> = match &source {
        Source::File { text, .. } => {
            let deserializer = toml::de::Deserializer::parse(text).map_err(|e| e.to_string());
            match deserializer {
                Ok(deserializer) => serde_path_to_error::deserialize(deserializer).map_err(|e| {
                    let line = e.inner().span().map(|span| line_of(text, span.start));
                    (e.path().to_string(), line, e.inner().message().to_string())
                }),
                Err(message) => Err((String::new(), None, message)),
            }
        }
        Source::Override(_) => serde_path_to_error::deserialize(Value::Table(table.clone()))
            .map_err(|e| (e.path().to_string(), None, e.inner().to_string())),
    };
    if let Err((key, line, message)) = typed {
        let message = if key.is_empty() || key == "." {
            message
        } else {
            format!("`{key}`: {message}")
        };
        return Err(match source {
            Source::File { path, .. } => ConfigError::File {
                file: path.to_path_buf(),
                line,
                message,
            },
            Source::Override(argument) => ConfigError::Override {
                argument: argument.to_string(),
                message,
            },
        });
    }
    // Unknown keys.
    let _: Result<ConfigToml, _> =
        serde_ignored::deserialize(Value::Table(table.clone()), |path| {
            let path = path.to_string();
            let top = path.split('.').next().unwrap_or_default();
            if NOT_YET_SUPPORTED.contains(&top) {
                warnings.push(format!(
                    "{where_}: `{path}` is not supported by this Codex yet; ignored"
                ));
            } else {
                warnings.push(format!("{where_}: unknown key `{path}` ignored"));
            }
        });
    Ok(())
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// `-c a.b.c=VALUE` as a one-key table; VALUE is TOML, or a plain string when it is not.
fn parse_override(argument: &str) -> Result<Table, ConfigError> {
    let error = |message: &str| ConfigError::Override {
        argument: argument.to_string(),
        message: message.to_string(),
    };
    let (key, raw) = argument
        .split_once('=')
        .ok_or_else(|| error("expected key=value, like -c model=\"o3\""))?;
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(error("the key is empty or has an empty part"));
    }
    let raw = raw.trim();
    let value = match toml::from_str::<Table>(&format!("value = {raw}")) {
        Ok(mut table) => table.remove("value").unwrap_or(Value::String(raw.into())),
        Err(_) => Value::String(raw.to_string()),
    };
    let Some((last, parents)) = parts.split_last() else {
        return Err(error("the key is empty"));
    };
    let mut table = Table::new();
    table.insert(last.to_string(), value);
    for part in parents.iter().rev() {
        let mut outer = Table::new();
        outer.insert(part.to_string(), Value::Table(table));
        table = outer;
    }
    Ok(table)
}

/// Layers `top` onto `base`: tables merge key by key, anything else is replaced.
fn merge(base: &mut Table, top: Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(below)), Value::Table(above)) => merge(below, above),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
