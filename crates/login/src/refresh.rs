//! Spending a refresh token: the request, and what a failure means.
//!
//! Permanent failures (the refresh token can never work again) are HTTP 401 with any body, one
//! of the known codes at any status, or 400 `invalid_grant`. Everything else — 429, 5xx,
//! network errors, unreadable bodies, other 400s — is transient and may be retried.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://auth.openai.com/oauth/token";
/// Overrides [`DEFAULT_TOKEN_URL`] (tests, proxies).
pub const TOKEN_URL_ENV: &str = "CODEX_REFRESH_TOKEN_URL_OVERRIDE";
/// The OAuth client id of the Codex CLI (a public identifier).
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// Why a refresh token can never work again. Each has its own advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PermanentReason {
    Expired,
    Reused,
    Invalidated,
    Unauthorized,
    InvalidGrant,
}

impl PermanentReason {
    /// What to tell the user.
    pub fn message(self) -> &'static str {
        match self {
            PermanentReason::Expired => {
                "Your sign-in has expired. Run `codex login` to sign in again."
            }
            PermanentReason::Reused => {
                "Your sign-in was refreshed elsewhere (another Codex on this account may have used the same token). Run `codex login` to sign in again."
            }
            PermanentReason::Invalidated => {
                "Your sign-in was revoked (signed out elsewhere or the password changed). Run `codex login` to sign in again."
            }
            PermanentReason::Unauthorized => {
                "The sign-in service no longer accepts your credentials. Run `codex login` to sign in again."
            }
            PermanentReason::InvalidGrant => {
                "Your refresh token is no longer valid. Run `codex login` to sign in again."
            }
        }
    }
}

/// A failed refresh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    #[error("{}", .0.message())]
    Permanent(PermanentReason),
    #[error("refreshing the sign-in failed for now ({0}); it will be retried")]
    Transient(String),
}

impl RefreshError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, RefreshError::Permanent(_))
    }
}

/// The token endpoint's answer; a missing field keeps the old value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RefreshResponse {
    pub id_token: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
}

#[derive(Serialize)]
struct RefreshRequest<'a> {
    client_id: &'a str,
    grant_type: &'a str,
    refresh_token: &'a str,
}

/// Classifies a non-success answer.
pub fn classify(status: u16, body: &str) -> RefreshError {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let code = json.as_ref().and_then(|v| {
        let error = v.get("error")?;
        error.as_str().map(str::to_string).or_else(|| {
            error
                .get("code")
                .and_then(|c| c.as_str())
                .map(str::to_string)
        })
    });
    let code = code.or_else(|| {
        json.as_ref()
            .and_then(|v| v.get("code")?.as_str().map(str::to_string))
    });
    let code = code.map(|c| c.to_ascii_lowercase());
    match code.as_deref() {
        Some("refresh_token_expired") => return RefreshError::Permanent(PermanentReason::Expired),
        Some("refresh_token_reused") => return RefreshError::Permanent(PermanentReason::Reused),
        Some("refresh_token_invalidated") => {
            return RefreshError::Permanent(PermanentReason::Invalidated);
        }
        Some("invalid_grant") if status == 400 => {
            return RefreshError::Permanent(PermanentReason::InvalidGrant);
        }
        _ => {}
    }
    if status == 401 {
        return RefreshError::Permanent(PermanentReason::Unauthorized);
    }
    RefreshError::Transient(format!("HTTP {status}"))
}

/// The HTTP client for auth: the OS trust store plus `SSL_CERT_FILE`, bounded timeouts.
///
/// Fails when the trust store has certificates but none usable (a wrong `SSL_CERT_FILE`, say);
/// the error says so, and callers report it when they first need the network.
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| {
            let cert_file = match std::env::var_os("SSL_CERT_FILE") {
                Some(path) => format!("SSL_CERT_FILE={}", std::path::Path::new(&path).display()),
                None => "the system certificates".to_string(),
            };
            format!("cannot set up HTTPS: {e}; check {cert_file}")
        })
}

/// The revocation endpoint.
pub const DEFAULT_REVOKE_URL: &str = "https://auth.openai.com/oauth/revoke";
/// Overrides [`DEFAULT_REVOKE_URL`].
pub const REVOKE_URL_ENV: &str = "CODEX_REVOKE_TOKEN_URL_OVERRIDE";

/// The revocation endpoint to use (the override, or the default).
pub fn revoke_url() -> String {
    std::env::var(REVOKE_URL_ENV).unwrap_or_else(|_| DEFAULT_REVOKE_URL.to_string())
}

/// Revokes a refresh token (best effort: sign-out goes on whatever the answer).
pub async fn revoke(
    client: &reqwest::Client,
    url: &str,
    refresh_token: &str,
) -> Result<(), String> {
    let response = client
        .post(url)
        .json(&serde_json::json!({
            "token": refresh_token,
            "token_type_hint": "refresh_token",
            "client_id": CLIENT_ID,
        }))
        .send()
        .await
        .map_err(|e| format!("network: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status().as_u16()))
    }
}

/// The token endpoint to use (the override, or the default).
pub fn token_url() -> String {
    std::env::var(TOKEN_URL_ENV).unwrap_or_else(|_| DEFAULT_TOKEN_URL.to_string())
}

/// Spends `refresh_token` once.
pub async fn request(
    client: &reqwest::Client,
    url: &str,
    refresh_token: &str,
) -> Result<RefreshResponse, RefreshError> {
    let response = client
        .post(url)
        .json(&RefreshRequest {
            client_id: CLIENT_ID,
            grant_type: "refresh_token",
            refresh_token,
        })
        .send()
        .await
        .map_err(|e| RefreshError::Transient(format!("network: {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| RefreshError::Transient(format!("reading the answer: {e}")))?;
    if !(200..300).contains(&status) {
        return Err(classify(status, &body));
    }
    serde_json::from_str(&body)
        .map_err(|e| RefreshError::Transient(format!("unreadable answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        use PermanentReason::*;
        let cases: [(u16, &str, RefreshError); 11] = [
            (401, "", RefreshError::Permanent(Unauthorized)),
            (
                401,
                "{\"error\":\"whatever\"}",
                RefreshError::Permanent(Unauthorized),
            ),
            (
                400,
                "{\"error\":{\"code\":\"refresh_token_expired\"}}",
                RefreshError::Permanent(Expired),
            ),
            (
                403,
                "{\"error\":\"refresh_token_reused\"}",
                RefreshError::Permanent(Reused),
            ),
            (
                500,
                "{\"code\":\"refresh_token_invalidated\"}",
                RefreshError::Permanent(Invalidated),
            ),
            (
                400,
                "{\"error\":\"invalid_grant\"}",
                RefreshError::Permanent(InvalidGrant),
            ),
            (
                403,
                "{\"error\":\"invalid_grant\"}",
                RefreshError::Transient("HTTP 403".into()),
            ),
            (
                400,
                "{\"error\":\"invalid_request\"}",
                RefreshError::Transient("HTTP 400".into()),
            ),
            (429, "slow down", RefreshError::Transient("HTTP 429".into())),
            (503, "<html>", RefreshError::Transient("HTTP 503".into())),
            (400, "not json", RefreshError::Transient("HTTP 400".into())),
        ];
        for (status, body, expected) in cases {
            assert_eq!(classify(status, body), expected, "{status} {body}");
        }
        assert!(
            RefreshError::Permanent(Reused)
                .to_string()
                .contains("codex login")
        );
    }
}
