use super::*;
use crate::WireApi;
use std::time::Duration;

fn home_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(home.path().join(name), text).unwrap();
    }
    home
}

fn load(
    home: &tempfile::TempDir,
    profile: Option<&str>,
    config: &[&str],
) -> Result<Config, ConfigError> {
    Config::load(
        home.path(),
        &CliOverrides {
            profile: profile.map(str::to_string),
            config: config.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    )
}

#[test]
fn no_file_gives_the_defaults() {
    let home = home_with(&[]);
    let config = load(&home, None, &[]).unwrap();
    assert_eq!(config.model, None);
    assert_eq!(config.model_provider_id, "openai");
    assert_eq!(config.model_provider.wire_api, WireApi::Responses);
    assert!(config.model_provider.requires_openai_auth);
    assert_eq!(config.approval_policy, AskForApproval::OnRequest);
    assert_eq!(config.project_doc_max_bytes, DEFAULT_PROJECT_DOC_MAX_BYTES);
    assert_eq!(
        config.shell_environment_policy,
        ShellEnvironmentPolicy::default()
    );
    assert!(config.warnings.is_empty());
}

#[test]
fn every_key_a_user_needs() {
    let home = home_with(&[(
        "config.toml",
        r#"
model = "gpt-5.5"
model_provider = "local"
approval_policy = "never"
sandbox_mode = "workspace-write"
model_reasoning_effort = "high"
model_auto_compact_token_limit = 200000
project_doc_max_bytes = 1000

[sandbox_workspace_write]
network_access = true

[shell_environment_policy]
inherit = "core"
exclude = ["AWS_*"]
set = { CI = "1" }

[model_providers.local]
name = "llama.cpp"
base_url = "http://127.0.0.1:8080/v1/"
wire_api = "chat"
env_key = "LOCAL_KEY"
http_headers = { "X-Team" = "core" }
query_params = { "api-version" = "2025-04-01" }
request_max_retries = 2
stream_max_retries = 1
stream_idle_timeout_ms = 1500
"#,
    )]);
    let config = load(&home, None, &[]).unwrap();
    assert_eq!(config.model.as_deref(), Some("gpt-5.5"));
    assert_eq!(config.approval_policy, AskForApproval::Never);
    assert_eq!(config.model_reasoning_effort, Some(ReasoningEffort::High));
    assert_eq!(config.model_auto_compact_token_limit, Some(200_000));
    assert_eq!(config.project_doc_max_bytes, 1000);
    assert_eq!(config.shell_environment_policy.inherit, Inherit::Core);
    assert_eq!(config.shell_environment_policy.exclude, vec!["AWS_*"]);
    assert_eq!(config.shell_environment_policy.set["CI"], "1");
    let provider = &config.model_provider;
    assert_eq!(config.model_provider_id, "local");
    assert_eq!(provider.name, "llama.cpp");
    assert_eq!(provider.base_url, "http://127.0.0.1:8080/v1");
    assert_eq!(provider.wire_api, WireApi::Chat);
    assert_eq!(provider.env_key.as_deref(), Some("LOCAL_KEY"));
    assert_eq!(provider.http_headers["X-Team"], "core");
    assert_eq!(provider.query_params["api-version"], "2025-04-01");
    assert_eq!(provider.request_max_retries, 2);
    assert_eq!(provider.stream_max_retries, 1);
    assert_eq!(provider.stream_idle_timeout, Duration::from_millis(1500));
    assert!(!provider.requires_openai_auth);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    // The sandbox keys reach the sandbox crate.
    let selection = config
        .sandbox
        .select(&codex_sandbox::config::Overrides::default())
        .unwrap();
    assert!(
        format!("{selection:?}").contains("network_access: true"),
        "{selection:?}"
    );
}

#[test]
fn profile_then_overrides_layer_key_by_key() {
    let home = home_with(&[
        (
            "config.toml",
            "model = \"base\"\napproval_policy = \"never\"\n[shell_environment_policy]\ninherit = \"none\"\nexclude = [\"A\"]\n",
        ),
        (
            "work.config.toml",
            "model = \"from-profile\"\n[shell_environment_policy]\nexclude = [\"B\"]\n",
        ),
    ]);
    let config = load(&home, Some("work"), &[]).unwrap();
    assert_eq!(config.model.as_deref(), Some("from-profile"));
    assert_eq!(
        config.approval_policy,
        AskForApproval::Never,
        "kept from the base"
    );
    assert_eq!(
        config.shell_environment_policy.inherit,
        Inherit::None,
        "tables merge"
    );
    assert_eq!(
        config.shell_environment_policy.exclude,
        vec!["B"],
        "arrays are replaced"
    );

    let config = load(
        &home,
        Some("work"),
        &[
            "model=o3",
            "shell_environment_policy.set.X=\"1\"",
            "model_auto_compact_token_limit=5",
        ],
    )
    .unwrap();
    assert_eq!(
        config.model.as_deref(),
        Some("o3"),
        "an unparsable value is a string"
    );
    assert_eq!(config.shell_environment_policy.set["X"], "1");
    assert_eq!(config.shell_environment_policy.exclude, vec!["B"]);
    assert_eq!(config.model_auto_compact_token_limit, Some(5));
}

#[test]
fn openai_base_url_moves_the_built_in_provider() {
    let home = home_with(&[]);
    let config = load(&home, None, &["openai_base_url=\"http://127.0.0.1:9/v1\""]).unwrap();
    assert_eq!(config.model_provider.base_url, "http://127.0.0.1:9/v1");
    assert_eq!(config.model_provider.wire_api, WireApi::Responses);
}

#[test]
fn bad_values_name_the_file_the_line_and_the_key() {
    let home = home_with(&[(
        "config.toml",
        "model = \"m\"\n\n[model_providers.x]\nbase_url = \"http://127.0.0.1:1/v1\"\nwire_api = \"grpc\"\n",
    )]);
    let message = load(&home, None, &[]).unwrap_err().to_string();
    let file = home.path().join("config.toml");
    assert!(
        message.starts_with(&format!(
            "{}:5: `model_providers.x.wire_api`: ",
            file.display()
        )),
        "{message}"
    );
    assert!(
        message.contains("grpc") && message.contains("chat"),
        "{message}"
    );

    let home = home_with(&[("config.toml", "approval_policy = \"sometimes\"\n")]);
    let message = load(&home, None, &[]).unwrap_err().to_string();
    assert!(
        message.contains(":1: `approval_policy`: ") && message.contains("on-request"),
        "{message}"
    );

    let home = home_with(&[("config.toml", "model = \n")]);
    let message = load(&home, None, &[]).unwrap_err().to_string();
    assert!(
        message.contains("config.toml:1: "),
        "a syntax error has its line: {message}"
    );

    let home = home_with(&[]);
    let message = load(&home, None, &["project_doc_max_bytes=-3"])
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("-c project_doc_max_bytes=-3: `project_doc_max_bytes`: "),
        "{message}"
    );
    let message = load(&home, None, &["model"]).unwrap_err().to_string();
    assert!(message.contains("expected key=value"), "{message}");
    let message = load(&home, None, &["model_provider=nowhere"])
        .unwrap_err()
        .to_string();
    assert!(
        message
            .starts_with("-c model_provider=nowhere: `model_provider`: \"nowhere\" is not defined")
            && message.contains("openai"),
        "the error names where the value came from: {message}"
    );
    let message = load(&home, None, &["model_providers.p.wire_api=\"chat\""])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`model_providers.p`: `base_url` is required"),
        "{message}"
    );
}

#[test]
fn a_missing_profile_is_an_error_that_names_the_file() {
    let home = home_with(&[]);
    let message = load(&home, Some("work"), &[]).unwrap_err().to_string();
    assert!(
        message.contains("work.config.toml") && message.contains("does not exist"),
        "{message}"
    );
    let message = load(&home, Some("../etc"), &[]).unwrap_err().to_string();
    assert!(message.contains("not a profile name"), "{message}");
}

#[test]
fn unknown_keys_are_warnings() {
    let home = home_with(&[(
        "config.toml",
        "modle = \"typo\"\nmcp_servers = {}\n[shell_environment_policy]\ninherit = \"all\"\n",
    )]);
    let config = load(&home, None, &["also.unknown=1"]).unwrap();
    let warnings = config.warnings.join("\n");
    assert!(
        warnings.contains("unknown key `modle` ignored"),
        "{warnings}"
    );
    assert!(
        warnings.contains("`mcp_servers` is not supported by this Codex yet"),
        "{warnings}"
    );
    assert!(
        warnings.contains("-c also.unknown=1: unknown key `also`"),
        "{warnings}"
    );
    assert_eq!(config.warnings.len(), 3, "{warnings}");
}

#[test]
fn a_mistyped_key_inside_a_strict_table_is_an_error() {
    // Inside tables whose every key is ours, a typo would silently drop a setting; say so.
    let home = home_with(&[(
        "config.toml",
        "[shell_environment_policy]\ninherits = \"core\"\n",
    )]);
    let message = load(&home, None, &[]).unwrap_err().to_string();
    assert!(
        message.contains(":2: ") && message.contains("inherits"),
        "{message}"
    );
}

#[test]
fn a_legacy_profile_table_applies_over_the_top_level() {
    let home = home_with(&[(
        "config.toml",
        "model = \"base\"\nprofile = \"work\"\n[profiles.work]\nmodel = \"o3\"\nmodel_reasoning_effort = \"high\"\n[profiles.home]\nmodel = \"other\"\n",
    )]);
    let config = load(&home, None, &[]).unwrap();
    assert_eq!(config.model.as_deref(), Some("o3"));
    assert_eq!(config.model_reasoning_effort, Some(ReasoningEffort::High));
    let config = load(&home, None, &["profile=\"home\""]).unwrap();
    assert_eq!(config.model.as_deref(), Some("other"), "-c picks another");
    let error = load(&home, None, &["profile=\"gone\""])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("-c profile=\"gone\"") && error.contains("[profiles.gone]"),
        "{error}"
    );
}

#[test]
fn chatgpt_sign_ins_get_the_chatgpt_backend_unless_a_base_url_is_chosen() {
    let home = home_with(&[]);
    let config = load(&home, None, &[]).unwrap();
    assert_eq!(
        config.model_provider.chatgpt_base_url.as_deref(),
        Some("https://chatgpt.com/backend-api/codex")
    );
    let config = load(
        &home,
        None,
        &["chatgpt_base_url=\"http://127.0.0.1:9/backend-api/\""],
    )
    .unwrap();
    assert_eq!(
        config.model_provider.chatgpt_base_url.as_deref(),
        Some("http://127.0.0.1:9/backend-api/codex")
    );
    let config = load(&home, None, &["openai_base_url=\"http://127.0.0.1:9/v1\""]).unwrap();
    assert_eq!(config.model_provider.chatgpt_base_url, None);
}

#[test]
fn ignore_user_config_and_strict_config() {
    let home = home_with(&[("config.toml", "model = \"mine\"\nmystery = 1\n")]);
    let config = load(&home, None, &[]).unwrap();
    assert_eq!(config.model.as_deref(), Some("mine"));
    let strict = |ignore_user_config| {
        Config::load(
            home.path(),
            &CliOverrides {
                strict: true,
                ignore_user_config,
                ..Default::default()
            },
        )
    };
    let error = strict(false).unwrap_err().to_string();
    assert!(
        error.starts_with("--strict-config: ") && error.contains("`mystery`"),
        "{error}"
    );
    let config = strict(true).unwrap();
    assert_eq!(config.model, None, "config.toml was left out");
}
