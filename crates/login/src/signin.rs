//! Signing in with ChatGPT: the browser flow (OAuth authorization code with PKCE, answered by a
//! callback server on 127.0.0.1) and the device-code flow (for machines without a browser).
//! Both end in the same code exchange and store the tokens in the credential store (auth.json by default).

use crate::jwt;
use crate::refresh::CLIENT_ID;
use crate::storage::{AuthDotJson, AuthMode, StorageError, TokenData};
use crate::store::Store;
use base64::Engine;
use serde::Deserialize;
use sha2::Digest;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The sign-in service.
pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";
/// Overrides [`DEFAULT_ISSUER`] (tests, proxies).
pub const ISSUER_ENV: &str = "CODEX_LOGIN_ISSUER";
/// The callback port registered for the CLI, and the one tried when it is taken.
pub const DEFAULT_PORT: u16 = 1455;
pub const FALLBACK_PORT: u16 = 1457;
/// How long the device-code flow waits for the user.
pub const DEVICE_CODE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

const SCOPE: &str = "openid profile email offline_access";

/// Why signing in failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    #[error(
        "cannot listen for the sign-in callback on 127.0.0.1 (ports {DEFAULT_PORT}, {FALLBACK_PORT} and any other): {0}"
    )]
    Listen(std::io::Error),
    #[error("the sign-in was cancelled")]
    Cancelled,
    #[error("the sign-in service refused: {0}")]
    Denied(String),
    #[error("exchanging the sign-in code failed: {0}")]
    Exchange(String),
    #[error(
        "device code sign-in is not enabled for this account or service; sign in with the browser instead (`codex login`)"
    )]
    DeviceCodeUnavailable,
    #[error("requesting a device code failed: {0}")]
    DeviceCode(String),
    #[error(
        "the device code was not confirmed within 15 minutes; run `codex login --device-auth` again"
    )]
    DeviceCodeExpired,
    #[error("{0}")]
    Https(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The sign-in service to use.
pub fn issuer() -> String {
    std::env::var(ISSUER_ENV)
        .unwrap_or_else(|_| DEFAULT_ISSUER.to_string())
        .trim_end_matches('/')
        .to_string()
}

fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the OS random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

/// A PKCE verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = random_token(64);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
    access_token: String,
    refresh_token: String,
}

/// Exchanges an authorization code for tokens.
async fn exchange_code(
    client: &reqwest::Client,
    issuer: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<TokenAnswer, SignInError> {
    let response = client
        .post(format!("{issuer}/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", CLIENT_ID),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .map_err(|e| SignInError::Exchange(format!("network: {e}")))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| SignInError::Exchange(e.to_string()))?;
    if !status.is_success() {
        return Err(SignInError::Exchange(format!(
            "HTTP {}: {}",
            status.as_u16(),
            body.chars().take(200).collect::<String>()
        )));
    }
    serde_json::from_str(&body)
        .map_err(|e| SignInError::Exchange(format!("unreadable answer: {e}")))
}

/// Best effort: an API key minted from the id_token (stored as `OPENAI_API_KEY`).
async fn exchange_api_key(
    client: &reqwest::Client,
    issuer: &str,
    id_token: &str,
) -> Option<String> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
    }
    let response = client
        .post(format!("{issuer}/oauth/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("client_id", CLIENT_ID),
            ("requested_token", "openai-api-key"),
            ("subject_token", id_token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
        ])
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json::<Answer>().await.ok().map(|a| a.access_token)
}

/// Stores freshly issued tokens.
fn persist(
    store: &Store,
    tokens: TokenAnswer,
    api_key: Option<String>,
) -> Result<AuthDotJson, SignInError> {
    let account_id = jwt::id_token_info(&tokens.id_token).account_id;
    let auth = AuthDotJson {
        auth_mode: Some(AuthMode::Chatgpt),
        openai_api_key: api_key,
        tokens: Some(TokenData {
            id_token: tokens.id_token,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            account_id,
            extra: Default::default(),
        }),
        last_refresh: Some(chrono::Utc::now()),
        ..Default::default()
    };
    store.write(&auth)?;
    Ok(auth)
}

/// A started browser sign-in: open [`BrowserSignIn::auth_url`], then [`BrowserSignIn::finish`].
pub struct BrowserSignIn {
    listener: TcpListener,
    client: reqwest::Client,
    pkce: Pkce,
    state: String,
    issuer: String,
    redirect_uri: String,
    pub auth_url: String,
}

impl BrowserSignIn {
    /// Listens on 127.0.0.1 (port 1455, else 1457, else any free port) and builds the URL.
    pub async fn start(issuer: &str, originator: &str) -> Result<Self, SignInError> {
        // Before anyone is sent to the browser: the exchange afterwards needs HTTPS.
        let client = crate::refresh::http_client().map_err(SignInError::Https)?;
        let mut listener = None;
        let mut last_error = None;
        for port in [DEFAULT_PORT, FALLBACK_PORT, 0] {
            match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(bound) => {
                    listener = Some(bound);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let listener =
            listener.ok_or_else(|| SignInError::Listen(last_error.expect("a bind error")))?;
        let port = listener.local_addr().map_err(SignInError::Listen)?.port();
        let redirect_uri = format!("http://127.0.0.1:{port}/auth/callback");
        let pkce = Pkce::new();
        let state = random_token(32);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &state)
            .append_pair("scope", SCOPE)
            .append_pair("id_token_add_organizations", "true")
            .append_pair("codex_cli_simplified_flow", "true")
            .append_pair("originator", originator)
            .finish();
        Ok(BrowserSignIn {
            auth_url: format!("{issuer}/oauth/authorize?{query}"),
            listener,
            client,
            pkce,
            state,
            issuer: issuer.to_string(),
            redirect_uri,
        })
    }

    /// Serves the callback until the sign-in completes, fails or is cancelled (`/cancel`).
    pub async fn finish(self, store: &Store) -> Result<AuthDotJson, SignInError> {
        let client = &self.client;
        loop {
            let Ok((mut stream, _)) = self.listener.accept().await else {
                continue;
            };
            let Some(target) = read_request_target(&mut stream).await else {
                continue;
            };
            let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
            let params: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect();
            match path {
                "/auth/callback" => {
                    if let Some(error) = params.get("error") {
                        let detail = params.get("error_description").cloned().unwrap_or_default();
                        respond(
                            &mut stream,
                            400,
                            &format!("Sign-in failed: {error} {detail}"),
                        )
                        .await;
                        return Err(SignInError::Denied(
                            format!("{error} {detail}").trim().to_string(),
                        ));
                    }
                    if params.get("state") != Some(&self.state) {
                        respond(&mut stream, 400, "State mismatch").await;
                        continue;
                    }
                    let Some(code) = params.get("code") else {
                        respond(&mut stream, 400, "Missing authorization code").await;
                        continue;
                    };
                    let result = async {
                        let tokens = exchange_code(
                            client,
                            &self.issuer,
                            code,
                            &self.redirect_uri,
                            &self.pkce.verifier,
                        )
                        .await?;
                        let api_key =
                            exchange_api_key(client, &self.issuer, &tokens.id_token).await;
                        persist(store, tokens, api_key)
                    }
                    .await;
                    match &result {
                        Ok(_) => {
                            respond(
                                &mut stream,
                                200,
                                "Signed in to Codex. You can close this tab.",
                            )
                            .await
                        }
                        Err(e) => respond(&mut stream, 500, &format!("Sign-in failed: {e}")).await,
                    }
                    return result;
                }
                "/cancel" => {
                    respond(&mut stream, 200, "Sign-in cancelled.").await;
                    return Err(SignInError::Cancelled);
                }
                _ => respond(&mut stream, 404, "Not found").await,
            }
        }
    }
}

async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") && buffer.len() < 16 * 1024 {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let head = String::from_utf8_lossy(&buffer);
    let mut parts = head.lines().next()?.split_whitespace();
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_string)
}

async fn respond(stream: &mut TcpStream, status: u16, text: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>Codex</title><p>{}</p>",
        html_escape(text)
    );
    let _ = stream
        .write_all(format!("HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes())
        .await;
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A device code to show the user.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub verification_url: String,
    pub user_code: String,
    device_auth_id: String,
    interval: Duration,
}

/// Asks for a device code.
pub async fn request_device_code(issuer: &str) -> Result<DeviceCode, SignInError> {
    #[derive(Deserialize)]
    struct Answer {
        device_auth_id: String,
        #[serde(alias = "usercode")]
        user_code: String,
        #[serde(default)]
        interval: Option<serde_json::Value>,
    }
    let client = crate::refresh::http_client().map_err(SignInError::Https)?;
    let response = client
        .post(format!("{issuer}/api/accounts/deviceauth/usercode"))
        .json(&serde_json::json!({"client_id": CLIENT_ID}))
        .send()
        .await
        .map_err(|e| SignInError::DeviceCode(format!("network: {e}")))?;
    if response.status().as_u16() == 404 {
        return Err(SignInError::DeviceCodeUnavailable);
    }
    if !response.status().is_success() {
        return Err(SignInError::DeviceCode(format!(
            "HTTP {}",
            response.status().as_u16()
        )));
    }
    let answer: Answer = response
        .json()
        .await
        .map_err(|e| SignInError::DeviceCode(format!("unreadable answer: {e}")))?;
    let seconds = match &answer.interval {
        Some(serde_json::Value::String(s)) => s.parse().unwrap_or(5),
        Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(5),
        _ => 5,
    };
    Ok(DeviceCode {
        verification_url: format!("{issuer}/codex/device"),
        user_code: answer.user_code,
        device_auth_id: answer.device_auth_id,
        interval: Duration::from_secs(seconds.clamp(1, 60)),
    })
}

/// Polls until the user confirmed `code` (or 15 minutes pass), then stores the tokens.
pub async fn finish_device_code(
    issuer: &str,
    code: &DeviceCode,
    store: &Store,
) -> Result<AuthDotJson, SignInError> {
    #[derive(Deserialize)]
    struct Answer {
        authorization_code: String,
        code_verifier: String,
    }
    let client = crate::refresh::http_client().map_err(SignInError::Https)?;
    let deadline = tokio::time::Instant::now() + DEVICE_CODE_TIMEOUT;
    loop {
        if tokio::time::Instant::now() > deadline {
            return Err(SignInError::DeviceCodeExpired);
        }
        let response = client
            .post(format!("{issuer}/api/accounts/deviceauth/token"))
            .json(&serde_json::json!({"device_auth_id": code.device_auth_id, "user_code": code.user_code}))
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => {
                let answer: Answer = response
                    .json()
                    .await
                    .map_err(|e| SignInError::DeviceCode(format!("unreadable answer: {e}")))?;
                let redirect_uri = format!("{issuer}/deviceauth/callback");
                let tokens = exchange_code(
                    &client,
                    issuer,
                    &answer.authorization_code,
                    &redirect_uri,
                    &answer.code_verifier,
                )
                .await?;
                return persist(store, tokens, None);
            }
            Ok(response) if matches!(response.status().as_u16(), 403 | 404) => {}
            Ok(response) => {
                return Err(SignInError::DeviceCode(format!(
                    "HTTP {}",
                    response.status().as_u16()
                )));
            }
            Err(_) => {}
        }
        tokio::time::sleep(code.interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_the_s256_of_the_verifier() {
        let pkce = Pkce::new();
        assert!(pkce.verifier.len() >= 43);
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(pkce.verifier.as_bytes()));
        assert_eq!(pkce.challenge, expected);
        assert_ne!(Pkce::new().verifier, pkce.verifier);
    }
}
