//! `codex app-server`: JSON-RPC 2.0 over stdio, one JSON object per line, in Codex's framing
//! (replies carry no `"jsonrpc"` field; one sent by a client is ignored).
//!
//! Today it serves the auth slice: `initialize` / `initialized`, `getAuthStatus`,
//! `account/read`, `account/login/start` (API key), `account/logout`, and the notifications
//! `account/login/completed` and `account/updated`. Requests before `initialize` get -32600
//! "Not initialized". Malformed JSON (-32700), unknown methods and wrong parameters (-32600)
//! get an error reply and the server keeps serving.

use codex_login::{AuthManager, AuthStatus};
use codex_protocol::app_server::{
    Account, AccountReadParams, AccountReadResponse, AccountUpdatedNotification, AuthMode,
    GetAuthStatusParams, GetAuthStatusResponse, InitializeParams, InitializeResponse,
    LoginCompletedNotification, LoginStartParams, LoginStartResponse, error_codes,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The methods this server knows.
pub const METHODS: [&str; 6] = [
    "initialize",
    "getAuthStatus",
    "account/read",
    "account/login/start",
    "account/logout",
    "initialized",
];

/// A JSON-RPC error reply.
struct RpcError {
    code: i64,
    message: String,
}

impl RpcError {
    fn invalid(message: impl Into<String>) -> Self {
        RpcError {
            code: error_codes::INVALID_REQUEST,
            message: message.into(),
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        RpcError {
            code: error_codes::INTERNAL_ERROR,
            message: message.into(),
        }
    }
}

/// One connection's state.
pub struct Server {
    codex_home: PathBuf,
    auth: Arc<AuthManager>,
    revoke_url: String,
    client_name: Option<String>,
    /// Messages to send (replies and notifications), in order.
    outbox: Vec<Value>,
}

fn convert_mode(mode: codex_login::AuthMode) -> AuthMode {
    match mode {
        codex_login::AuthMode::Apikey => AuthMode::Apikey,
        codex_login::AuthMode::Chatgpt => AuthMode::Chatgpt,
    }
}

fn params<T: DeserializeOwned + Default>(value: Option<Value>) -> Result<T, RpcError> {
    match value {
        None | Some(Value::Null) => Ok(T::default()),
        Some(value) => serde_json::from_value(value)
            .map_err(|e| RpcError::invalid(format!("Invalid request: {e}"))),
    }
}

fn required_params<T: DeserializeOwned>(value: Option<Value>) -> Result<T, RpcError> {
    serde_json::from_value(value.unwrap_or(Value::Null))
        .map_err(|e| RpcError::invalid(format!("Invalid request: {e}")))
}

impl Server {
    /// A server for `codex_home`, with the token and revocation endpoints given.
    pub fn new(codex_home: PathBuf, auth: Arc<AuthManager>, revoke_url: String) -> Self {
        Server {
            codex_home,
            auth,
            revoke_url,
            client_name: None,
            outbox: Vec::new(),
        }
    }

    fn notify(&mut self, method: &str, params: impl serde::Serialize) {
        self.outbox
            .push(json!({"method": method, "params": params}));
    }

    /// Handles one line; returns the messages to write.
    pub async fn handle_line(&mut self, line: &str) -> Vec<Value> {
        if line.trim().is_empty() {
            return Vec::new();
        }
        let message: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(e) => {
                return vec![
                    json!({"id": null, "error": {"code": error_codes::PARSE_ERROR, "message": format!("Parse error: {e}")}}),
                ];
            }
        };
        let id = message.get("id").cloned();
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(method) = method else {
            // A reply from the client (to a server request we never send yet), or garbage.
            return match id {
                Some(id) if message.get("result").is_none() && message.get("error").is_none() => {
                    vec![
                        json!({"id": id, "error": {"code": error_codes::INVALID_REQUEST, "message": "Invalid request: missing method"}}),
                    ]
                }
                _ => Vec::new(),
            };
        };
        let params = message.get("params").cloned();
        let result = self.dispatch(&method, params).await;
        let mut out = Vec::new();
        if let Some(id) = id {
            out.push(match result {
                Ok(result) => json!({"id": id, "result": result}),
                Err(error) => {
                    json!({"id": id, "error": {"code": error.code, "message": error.message}})
                }
            });
        }
        out.append(&mut self.outbox);
        out
    }

    async fn dispatch(&mut self, method: &str, params: Option<Value>) -> Result<Value, RpcError> {
        if method == "initialize" {
            if self.client_name.is_some() {
                return Err(RpcError::invalid("Already initialized"));
            }
            let params: InitializeParams = required_params(params)?;
            let name = params.client_info.name.clone();
            let version = params.client_info.version.clone().unwrap_or_default();
            self.client_name = Some(name.clone());
            let response = InitializeResponse {
                user_agent: format!(
                    "{name}/{} ({} {}) ({name}; {version})",
                    env!("CARGO_PKG_VERSION"),
                    std::env::consts::OS,
                    std::env::consts::ARCH
                ),
                codex_home: self.codex_home.display().to_string(),
                platform_family: std::env::consts::FAMILY.to_string(),
                platform_os: std::env::consts::OS.to_string(),
            };
            return Ok(serde_json::to_value(response).expect("serializes"));
        }
        if method == "initialized" {
            return Ok(Value::Null);
        }
        if !METHODS.contains(&method) {
            return Err(RpcError::invalid(format!(
                "Invalid request: unknown method `{method}`; known methods: {}",
                METHODS.join(", ")
            )));
        }
        if self.client_name.is_none() {
            return Err(RpcError::invalid("Not initialized"));
        }
        match method {
            "getAuthStatus" => {
                let params: GetAuthStatusParams = params_default(params)?;
                let status = self
                    .auth
                    .status(
                        params.include_token.unwrap_or(false),
                        params.refresh_token.unwrap_or(false),
                    )
                    .await
                    .map_err(|e| RpcError::internal(e.to_string()))?;
                Ok(serde_json::to_value(auth_status_response(status)).expect("serializes"))
            }
            "account/read" => {
                let params: AccountReadParams = params_default(params)?;
                if params.refresh_token.unwrap_or(false) {
                    let _ = self.auth.token(codex_login::RefreshWhen::IfStale).await;
                }
                self.auth
                    .reload()
                    .map_err(|e| RpcError::internal(e.to_string()))?;
                Ok(serde_json::to_value(self.account()).expect("serializes"))
            }
            "account/login/start" => {
                let LoginStartParams::ApiKey { api_key } = required_params(params)?;
                if api_key.trim().is_empty() {
                    return Err(RpcError::invalid(
                        "Invalid request: apiKey must not be empty",
                    ));
                }
                self.auth
                    .login_with_api_key(api_key.trim())
                    .map_err(|e| RpcError::internal(e.to_string()))?;
                self.notify(
                    "account/login/completed",
                    LoginCompletedNotification {
                        login_id: None,
                        success: true,
                        error: None,
                        onboarding_entrypoint: None,
                    },
                );
                self.notify(
                    "account/updated",
                    AccountUpdatedNotification {
                        auth_mode: Some(AuthMode::Apikey),
                        plan_type: None,
                        reason: None,
                    },
                );
                Ok(serde_json::to_value(LoginStartResponse::ApiKey).expect("serializes"))
            }
            "account/logout" => {
                let _: Value = params_default(params)?;
                self.auth
                    .logout_and_revoke(&self.revoke_url)
                    .await
                    .map_err(|e| RpcError::internal(e.to_string()))?;
                self.notify(
                    "account/updated",
                    AccountUpdatedNotification {
                        auth_mode: None,
                        plan_type: None,
                        reason: None,
                    },
                );
                Ok(json!({}))
            }
            _ => Err(RpcError::invalid(format!(
                "Invalid request: unknown method `{method}`"
            ))),
        }
    }

    /// `account/read`: hidden entirely for poisoned credentials.
    fn account(&self) -> AccountReadResponse {
        let snapshot = self.auth.snapshot();
        let poisoned = self.auth.poisoned().is_some();
        let (account, user_id) = match snapshot.as_ref().and_then(|s| s.mode().map(|m| (s, m))) {
            Some((_, codex_login::AuthMode::Apikey)) => (Some(Account::ApiKey), None),
            Some((snapshot, codex_login::AuthMode::Chatgpt)) if !poisoned => {
                let info = snapshot
                    .auth
                    .tokens
                    .as_ref()
                    .map(|t| codex_login::jwt::id_token_info(&t.id_token))
                    .unwrap_or_default();
                (
                    Some(Account::Chatgpt {
                        email: info.email,
                        plan_type: info.plan_type,
                    }),
                    info.user_id,
                )
            }
            _ => (None, None),
        };
        AccountReadResponse {
            account,
            user_id,
            requires_openai_auth: true,
            workspace_routing: None,
        }
    }
}

fn params_default<T: DeserializeOwned + Default>(value: Option<Value>) -> Result<T, RpcError> {
    params(value)
}

fn auth_status_response(status: AuthStatus) -> GetAuthStatusResponse {
    GetAuthStatusResponse {
        auth_method: status.auth_method.map(convert_mode),
        auth_token: status.auth_token,
        requires_openai_auth: Some(status.requires_openai_auth),
    }
}

/// Serves stdin/stdout until stdin closes.
pub async fn run_stdio(codex_home: PathBuf) -> Result<(), String> {
    let auth = AuthManager::new(&codex_home).map_err(|e| e.to_string())?;
    let mut server = Server::new(
        codex_home,
        Arc::new(auth),
        codex_login::refresh::revoke_url(),
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|e| format!("reading stdin: {e}"))?
    {
        for message in server.handle_line(&line).await {
            let mut text = serde_json::to_string(&message).expect("messages serialize");
            text.push('\n');
            stdout
                .write_all(text.as_bytes())
                .await
                .map_err(|e| format!("writing stdout: {e}"))?;
        }
        stdout
            .flush()
            .await
            .map_err(|e| format!("writing stdout: {e}"))?;
    }
    Ok(())
}
