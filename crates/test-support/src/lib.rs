//! Helpers for end-to-end tests: servers on 127.0.0.1 that count and check what they receive,
//! and fixtures of credentials.

pub mod issuer;
pub mod responses;
pub mod tls;
pub mod token_server;
pub mod users;

pub use issuer::IssuerServer;
pub use responses::{RecordedRequest, Reply, ResponsesServer};
pub use tls::TlsTokenServer;
pub use token_server::{Script, TokenServer, access_token};

use codex_login::storage::{self, AuthDotJson, AuthMode, TokenData};
use std::path::Path;

/// Signed-in ChatGPT credentials whose access token expired a minute ago.
pub fn write_stale_auth(home: &Path, refresh_token: &str) {
    storage::write(home, &stale_auth(refresh_token)).unwrap();
}

/// ChatGPT credentials whose access token expired a minute ago.
pub fn stale_auth(refresh_token: &str) -> AuthDotJson {
    AuthDotJson {
        auth_mode: Some(AuthMode::Chatgpt),
        tokens: Some(TokenData {
            id_token: codex_login::jwt::unsigned_jwt(&serde_json::json!({
                "email": "me@example.com",
                "https://api.openai.com/auth": {"chatgpt_plan_type": "plus", "chatgpt_user_id": "user-1"}
            })),
            access_token: access_token(-60, "old"),
            refresh_token: refresh_token.to_string(),
            account_id: Some("acc-1".into()),
            extra: Default::default(),
        }),
        last_refresh: Some(chrono::Utc::now() - chrono::Duration::days(1)),
        ..Default::default()
    }
}
