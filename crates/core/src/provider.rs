//! Model providers: the built-in `openai` and `oss` (a local server such as Ollama), and
//! `[model_providers.ID]` tables from config.toml (which replace a built-in of the same id).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Where ChatGPT sign-ins reach the models (`chatgpt_base_url` + `codex`).
const DEFAULT_CHATGPT_BASE_URL: &str = "https://chatgpt.com/backend-api/";
const DEFAULT_OSS_BASE_URL: &str = "http://localhost:11434/v1";
const DEFAULT_REQUEST_MAX_RETRIES: u64 = 4;
const DEFAULT_STREAM_MAX_RETRIES: u64 = 5;
const DEFAULT_STREAM_IDLE_TIMEOUT_MS: u64 = 300_000;
/// More retries than this is a mistake, not a policy.
const MAX_RETRIES: u64 = 100;

/// The wire protocol of a provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireApi {
    /// `POST {base_url}/responses`, streamed.
    #[default]
    Responses,
    /// `POST {base_url}/chat/completions`, streamed (Ollama, llama.cpp, vLLM…).
    Chat,
}

/// `[model_providers.ID]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelProviderToml {
    name: Option<String>,
    base_url: Option<String>,
    wire_api: Option<WireApi>,
    env_key: Option<String>,
    env_key_instructions: Option<String>,
    #[serde(default)]
    http_headers: BTreeMap<String, String>,
    #[serde(default)]
    env_http_headers: BTreeMap<String, String>,
    #[serde(default)]
    query_params: BTreeMap<String, String>,
    request_max_retries: Option<u64>,
    stream_max_retries: Option<u64>,
    stream_idle_timeout_ms: Option<u64>,
    #[serde(default)]
    requires_openai_auth: bool,
}

/// A provider ready to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelProviderInfo {
    pub name: String,
    /// Without a trailing slash.
    pub base_url: String,
    pub wire_api: WireApi,
    /// The environment variable holding the API key, if the provider takes one that way.
    pub env_key: Option<String>,
    pub env_key_instructions: Option<String>,
    pub http_headers: BTreeMap<String, String>,
    /// Header name → environment variable whose value (when set) is sent.
    pub env_http_headers: BTreeMap<String, String>,
    pub query_params: BTreeMap<String, String>,
    pub request_max_retries: u64,
    pub stream_max_retries: u64,
    pub stream_idle_timeout: Duration,
    /// Whether credentials come from `codex login` (auth.json) rather than `env_key`.
    pub requires_openai_auth: bool,
    /// The base URL used instead of `base_url` when the credentials are a ChatGPT sign-in:
    /// the built-in `openai` provider's, unless its base URL was set explicitly.
    pub chatgpt_base_url: Option<String>,
}

impl ModelProviderToml {
    /// Checks and completes an entry; the error says what is wrong with it.
    pub(crate) fn resolve(self, id: &str) -> Result<ModelProviderInfo, String> {
        let base_url = self
            .base_url
            .ok_or("`base_url` is required (like \"http://127.0.0.1:11434/v1\")")?;
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(format!(
                "`base_url` {base_url:?} must start with http:// or https://"
            ));
        }
        for (key, value) in [
            ("request_max_retries", self.request_max_retries),
            ("stream_max_retries", self.stream_max_retries),
        ] {
            if value.is_some_and(|v| v > MAX_RETRIES) {
                return Err(format!("`{key}` must be at most {MAX_RETRIES}"));
            }
        }
        if self.stream_idle_timeout_ms == Some(0) {
            return Err("`stream_idle_timeout_ms` must be more than 0".into());
        }
        Ok(ModelProviderInfo {
            name: self.name.unwrap_or_else(|| id.to_string()),
            base_url: base_url.trim_end_matches('/').to_string(),
            wire_api: self.wire_api.unwrap_or_default(),
            env_key: self.env_key,
            env_key_instructions: self.env_key_instructions,
            http_headers: self.http_headers,
            env_http_headers: self.env_http_headers,
            query_params: self.query_params,
            request_max_retries: self
                .request_max_retries
                .unwrap_or(DEFAULT_REQUEST_MAX_RETRIES),
            stream_max_retries: self
                .stream_max_retries
                .unwrap_or(DEFAULT_STREAM_MAX_RETRIES),
            stream_idle_timeout: Duration::from_millis(
                self.stream_idle_timeout_ms
                    .unwrap_or(DEFAULT_STREAM_IDLE_TIMEOUT_MS),
            ),
            requires_openai_auth: self.requires_openai_auth,
            chatgpt_base_url: None,
        })
    }
}

/// The built-in providers. `openai`'s base URL is `openai_base_url` from config, else
/// `OPENAI_BASE_URL`, else the public API (with a ChatGPT sign-in: `chatgpt_base_url`, by
/// default ChatGPT's backend, + `codex`); `oss`'s is `CODEX_OSS_BASE_URL`, else Ollama's
/// default port.
pub fn built_in_providers(
    openai_base_url: Option<&str>,
    chatgpt_base_url: Option<&str>,
) -> BTreeMap<String, ModelProviderInfo> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let entry = |name: &str, base_url: String, wire_api, requires_openai_auth| ModelProviderInfo {
        name: name.to_string(),
        base_url: base_url.trim_end_matches('/').to_string(),
        wire_api,
        env_key: None,
        env_key_instructions: None,
        http_headers: BTreeMap::new(),
        env_http_headers: BTreeMap::new(),
        query_params: BTreeMap::new(),
        request_max_retries: DEFAULT_REQUEST_MAX_RETRIES,
        stream_max_retries: DEFAULT_STREAM_MAX_RETRIES,
        stream_idle_timeout: Duration::from_millis(DEFAULT_STREAM_IDLE_TIMEOUT_MS),
        requires_openai_auth,
        chatgpt_base_url: None,
    };
    let explicit_openai_url = openai_base_url
        .map(str::to_string)
        .or_else(|| env("OPENAI_BASE_URL"));
    // A ChatGPT sign-in talks to ChatGPT's backend, unless a base URL was chosen explicitly.
    let chatgpt_url = explicit_openai_url.is_none().then(|| {
        format!(
            "{}/codex",
            chatgpt_base_url
                .unwrap_or(DEFAULT_CHATGPT_BASE_URL)
                .trim_end_matches('/')
        )
    });
    let openai_url = explicit_openai_url.unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.into());
    let oss_url = env("CODEX_OSS_BASE_URL").unwrap_or_else(|| DEFAULT_OSS_BASE_URL.into());
    BTreeMap::from([
        (
            "openai".to_string(),
            ModelProviderInfo {
                chatgpt_base_url: chatgpt_url,
                ..entry("OpenAI", openai_url, WireApi::Responses, true)
            },
        ),
        (
            "oss".to_string(),
            entry("gpt-oss (local)", oss_url, WireApi::Chat, false),
        ),
    ])
}
