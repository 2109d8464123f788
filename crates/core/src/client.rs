//! The model client: one streamed Responses API request (`POST {base_url}/responses`), with
//! the provider's headers and query parameters, credentials, retries and an idle timeout.
//!
//! - Before the stream starts, HTTP 429, 5xx and transport errors are retried up to
//!   `request_max_retries` times, waiting 200 ms × 2^n (±10%) or what `Retry-After` says
//!   (capped at a minute). 400, 403 and other client errors are not retried.
//! - HTTP 401 with `codex login` credentials refreshes them once and retries once.
//! - Once streaming, a silent stream fails after `stream_idle_timeout`, and one that ends before
//!   `response.completed` is an error; the turn loop decides whether to run the request again
//!   (`stream_max_retries`), since it owns what was already shown.

use crate::chat::{self, ChatAccumulator};
use crate::config::ReasoningEffort;
use crate::provider::{ModelProviderInfo, WireApi};
use crate::sse::SseDecoder;
use codex_login::{AuthManager, RefreshWhen};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Where the bearer token comes from.
#[derive(Clone)]
pub enum ClientAuth {
    /// No Authorization header.
    None,
    /// A fixed key (a provider's `env_key`, or `CODEX_API_KEY`).
    ApiKey(String),
    /// `codex login` credentials, refreshed as needed.
    Login(Arc<AuthManager>),
}

/// One request: the whole history each time (nothing is stored server-side).
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    pub model: String,
    pub input: Vec<Value>,
    pub tools: Vec<Value>,
    pub reasoning_effort: Option<ReasoningEffort>,
    /// The thread id, so the service can reuse its prompt cache.
    pub prompt_cache_key: Option<String>,
    /// `--output-schema`: a JSON schema the final message must follow.
    pub output_schema: Option<Value>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub total_tokens: u64,
}

/// What the stream says, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseEvent {
    Created,
    OutputItemAdded(Value),
    OutputItemDone(Value),
    OutputTextDelta(String),
    ReasoningSummaryDelta(String),
    Completed {
        response_id: String,
        usage: Option<TokenUsage>,
    },
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClientError {
    #[error("Missing environment variable: `{var}`.{}", instructions.as_ref().map(|i| format!(" {i}")).unwrap_or_default())]
    MissingEnvKey {
        var: String,
        instructions: Option<String>,
    },
    #[error("not signed in: run `codex login`, or set CODEX_API_KEY")]
    NotSignedIn,
    #[error("{0}")]
    Auth(String),
    #[error("unexpected status {status}: {message}, url: {url}")]
    Status {
        status: u16,
        message: String,
        url: String,
    },
    #[error("the model service failed {attempts} times; last: {last}")]
    RetriesExhausted { attempts: u64, last: String },
    #[error("stream disconnected before completion: idle timeout waiting for SSE")]
    IdleTimeout,
    #[error("stream disconnected before completion: stream closed before response.completed")]
    ClosedEarly,
    #[error("stream disconnected before completion: {0}")]
    Transport(String),
    #[error("{0}")]
    ResponseFailed(String),
    #[error("the model service sent an event that is not JSON: {0}")]
    BadEvent(String),
}

impl ClientError {
    /// Whether running the same request again may succeed.
    pub fn is_retryable_stream_error(&self) -> bool {
        matches!(
            self,
            ClientError::IdleTimeout | ClientError::ClosedEarly | ClientError::Transport(_)
        )
    }
}

pub struct ModelClient {
    http: reqwest::Client,
    provider: ModelProviderInfo,
    auth: ClientAuth,
}

/// The events of one response; ends after `Completed` or an error.
pub struct ResponseStream {
    rx: mpsc::Receiver<Result<ResponseEvent, ClientError>>,
}

impl ResponseStream {
    pub async fn next(&mut self) -> Option<Result<ResponseEvent, ClientError>> {
        self.rx.recv().await
    }
}

impl ModelClient {
    pub fn new(provider: ModelProviderInfo, auth: ClientAuth) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Transport(format!("cannot set up HTTP: {e}")))?;
        Ok(ModelClient {
            http,
            provider,
            auth,
        })
    }

    /// The credentials a provider calls for: its `env_key`, else (`requires_openai_auth`)
    /// `CODEX_API_KEY` or `codex login`, else none.
    pub fn auth_for(
        provider: &ModelProviderInfo,
        manager: impl FnOnce() -> Option<Arc<AuthManager>>,
    ) -> Result<ClientAuth, ClientError> {
        if let Some(var) = &provider.env_key {
            return match std::env::var(var) {
                Ok(value) if !value.trim().is_empty() => Ok(ClientAuth::ApiKey(value)),
                _ => Err(ClientError::MissingEnvKey {
                    var: var.clone(),
                    instructions: provider.env_key_instructions.clone(),
                }),
            };
        }
        if !provider.requires_openai_auth {
            return Ok(ClientAuth::None);
        }
        if let Ok(key) = std::env::var("CODEX_API_KEY")
            && !key.trim().is_empty()
        {
            return Ok(ClientAuth::ApiKey(key));
        }
        manager()
            .map(ClientAuth::Login)
            .ok_or(ClientError::NotSignedIn)
    }

    /// The provider's base URL, or its ChatGPT one when the credentials are a ChatGPT sign-in.
    fn base_url(&self) -> &str {
        if let (Some(chatgpt), ClientAuth::Login(manager)) =
            (&self.provider.chatgpt_base_url, &self.auth)
            && manager.snapshot().and_then(|s| s.mode()) == Some(codex_login::AuthMode::Chatgpt)
        {
            return chatgpt;
        }
        &self.provider.base_url
    }

    fn url(&self) -> String {
        let endpoint = match self.provider.wire_api {
            WireApi::Responses => "responses",
            WireApi::Chat => "chat/completions",
        };
        let mut url = format!("{}/{endpoint}", self.base_url());
        if !self.provider.query_params.is_empty() {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&self.provider.query_params)
                .finish();
            url = format!("{url}?{query}");
        }
        url
    }

    /// The request body.
    pub fn body(prompt: &Prompt) -> Value {
        let mut body = json!({
            "model": prompt.model,
            "input": prompt.input,
            "tools": prompt.tools,
            "tool_choice": "auto",
            "parallel_tool_calls": true,
            "store": false,
            "stream": true,
            "include": [],
        });
        if let Some(effort) = prompt.reasoning_effort {
            body["reasoning"] = json!({ "effort": effort });
            body["include"] = json!(["reasoning.encrypted_content"]);
        }
        if let Some(key) = &prompt.prompt_cache_key {
            body["prompt_cache_key"] = json!(key);
        }
        if let Some(schema) = &prompt.output_schema {
            body["text"] = json!({"format": {
                "type": "json_schema", "strict": true, "name": "codex_output_schema", "schema": schema,
            }});
        }
        body
    }

    async fn token(&self, when: RefreshWhen<'_>) -> Result<Option<String>, ClientError> {
        match &self.auth {
            ClientAuth::None => Ok(None),
            ClientAuth::ApiKey(key) => Ok(Some(key.clone())),
            ClientAuth::Login(manager) => match manager.token(when).await {
                Ok(Some(token)) => Ok(Some(token)),
                Ok(None) => Err(ClientError::NotSignedIn),
                Err(e) => Err(ClientError::Auth(e.to_string())),
            },
        }
    }

    /// Sends the request (retrying as the module says) and streams the answer.
    pub async fn stream(&self, prompt: &Prompt) -> Result<ResponseStream, ClientError> {
        let (body, chat) = match self.provider.wire_api {
            WireApi::Responses => (Self::body(prompt), None),
            WireApi::Chat => (
                chat::body(prompt),
                Some(ChatAccumulator::new(chat::custom_tool_names(&prompt.tools))),
            ),
        };
        let mut token = self.token(RefreshWhen::IfStale).await?;
        // After the token: which backend depends on the kind of sign-in just loaded.
        let url = self.url();
        let mut refreshed = false;
        let mut attempt: u64 = 0;
        loop {
            let mut request = self
                .http
                .post(&url)
                .header("accept", "text/event-stream")
                .header("originator", originator())
                .json(&body);
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            if let ClientAuth::Login(manager) = &self.auth
                && let Some(account) = manager
                    .snapshot()
                    .and_then(|s| s.auth.tokens.as_ref().and_then(|t| t.account_id.clone()))
            {
                request = request.header("chatgpt-account-id", account);
            }
            for (name, value) in &self.provider.http_headers {
                request = request.header(name, value);
            }
            for (name, var) in &self.provider.env_http_headers {
                if let Ok(value) = std::env::var(var)
                    && !value.is_empty()
                {
                    request = request.header(name, value);
                }
            }
            let (retry_after, last) = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    return Ok(self.spawn_reader(response, chat));
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .map(|s| Duration::from_secs_f64(s).min(MAX_RETRY_AFTER));
                    let text = response.text().await.unwrap_or_default();
                    let message = error_message(&text);
                    if status == 401
                        && !refreshed
                        && let ClientAuth::Login(_) = &self.auth
                    {
                        refreshed = true;
                        let rejected = token.clone().unwrap_or_default();
                        token = self
                            .token(RefreshWhen::Rejected {
                                rejected: &rejected,
                            })
                            .await?;
                        continue;
                    }
                    if !(status == 429 || status >= 500) {
                        return Err(ClientError::Status {
                            status,
                            message,
                            url: url.clone(),
                        });
                    }
                    (retry_after, format!("HTTP {status}: {message}"))
                }
                Err(e) => (None, format!("network: {e}")),
            };
            if attempt >= self.provider.request_max_retries {
                return Err(ClientError::RetriesExhausted {
                    attempts: attempt + 1,
                    last,
                });
            }
            tokio::time::sleep(retry_after.unwrap_or_else(|| backoff(attempt))).await;
            attempt += 1;
        }
    }

    /// Reads the stream in a task; `chat` translates Chat Completions chunks.
    fn spawn_reader(
        &self,
        mut response: reqwest::Response,
        mut chat: Option<ChatAccumulator>,
    ) -> ResponseStream {
        let (tx, rx) = mpsc::channel(64);
        let idle = self.provider.stream_idle_timeout;
        tokio::spawn(async move {
            let mut decoder = SseDecoder::new();
            loop {
                let chunk = match tokio::time::timeout(idle, response.chunk()).await {
                    Err(_) => {
                        let _ = tx.send(Err(ClientError::IdleTimeout)).await;
                        return;
                    }
                    Ok(Err(e)) => {
                        let _ = tx.send(Err(ClientError::Transport(e.to_string()))).await;
                        return;
                    }
                    Ok(Ok(None)) => {
                        let last = match chat.as_mut() {
                            Some(chat) => chat.finish(),
                            None => Err(ClientError::ClosedEarly),
                        };
                        match last {
                            Ok(events) => {
                                for event in events {
                                    let _ = tx.send(Ok(event)).await;
                                }
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                            }
                        }
                        return;
                    }
                    Ok(Ok(Some(chunk))) => chunk,
                };
                for data in decoder.feed(&chunk) {
                    if let Some(chat) = chat.as_mut() {
                        match chat.feed(&data) {
                            Ok(events) => {
                                for event in events {
                                    if tx.send(Ok(event)).await.is_err() {
                                        return;
                                    }
                                }
                                if chat.is_done() {
                                    return;
                                }
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                                return;
                            }
                        }
                        continue;
                    }
                    match parse_event(&data) {
                        Ok(None) => {}
                        Ok(Some(event)) => {
                            let done = matches!(event, ResponseEvent::Completed { .. });
                            if tx.send(Ok(event)).await.is_err() || done {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    }
                }
            }
        });
        ResponseStream { rx }
    }
}

/// 200 ms × 2^attempt, ±10%.
fn backoff(attempt: u64) -> Duration {
    let base = BASE_BACKOFF.saturating_mul(1u32 << attempt.min(10));
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    let factor = 0.9 + 0.2 * (f64::from(byte[0]) / 255.0);
    base.mul_f64(factor)
}

/// The `error.message` of a JSON error body, else the body itself (shortened).
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    if let Some(message) = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message").or_else(|| v.get("message")))
        .and_then(Value::as_str)
    {
        return message.to_string();
    }
    let trimmed = body.trim();
    if trimmed.chars().count() > 300 {
        format!("{}…", trimmed.chars().take(300).collect::<String>())
    } else {
        trimmed.to_string()
    }
}

/// One SSE payload; `None` for events we do not use.
fn parse_event(data: &str) -> Result<Option<ResponseEvent>, ClientError> {
    let event: Value =
        serde_json::from_str(data).map_err(|e| ClientError::BadEvent(format!("{e}: {data}")))?;
    let text = |key: &str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(
        match event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "response.created" => Some(ResponseEvent::Created),
            "response.output_item.added" => event
                .get("item")
                .cloned()
                .map(ResponseEvent::OutputItemAdded),
            "response.output_item.done" => event
                .get("item")
                .cloned()
                .map(ResponseEvent::OutputItemDone),
            "response.output_text.delta" => Some(ResponseEvent::OutputTextDelta(text("delta"))),
            "response.reasoning_summary_text.delta" => {
                Some(ResponseEvent::ReasoningSummaryDelta(text("delta")))
            }
            "response.completed" => {
                let response = event.get("response").cloned().unwrap_or(Value::Null);
                let usage = response.get("usage").map(|u| {
                    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
                    TokenUsage {
                        input_tokens: n("/input_tokens"),
                        cached_input_tokens: n("/input_tokens_details/cached_tokens"),
                        output_tokens: n("/output_tokens"),
                        reasoning_output_tokens: n("/output_tokens_details/reasoning_tokens"),
                        total_tokens: n("/total_tokens"),
                    }
                });
                Some(ResponseEvent::Completed {
                    response_id: response
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    usage,
                })
            }
            "response.failed" => {
                let message = event
                    .pointer("/response/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("the model service reported a failure without a message");
                return Err(ClientError::ResponseFailed(message.to_string()));
            }
            _ => None,
        },
    )
}

/// The `originator` header: `codex_exec`, or what an embedding client names itself through
/// `CODEX_INTERNAL_ORIGINATOR_OVERRIDE` (the TypeScript SDK sends `codex_sdk_ts`).
fn originator() -> String {
    std::env::var("CODEX_INTERNAL_ORIGINATOR_OVERRIDE")
        .ok()
        .filter(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "codex_exec".to_string())
}
