//! A sign-in service on 127.0.0.1 for the browser and device-code flows: it exchanges the code
//! `good-code` for tokens (recording the PKCE verifier it was sent), mints an API key from an
//! id_token, and confirms a device code after two polls.

use crate::token_server::read_request;
use serde_json::json;
use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct IssuerServer {
    /// `http://127.0.0.1:PORT`, for `CODEX_LOGIN_ISSUER`.
    pub url: String,
    /// The `code_verifier` of the last authorization-code exchange.
    pub verifier: Arc<Mutex<Option<String>>>,
    /// Device-code polls seen.
    pub polls: Arc<AtomicUsize>,
}

/// The id_token the service issues.
pub fn issued_id_token() -> String {
    codex_login::jwt::unsigned_jwt(&json!({
        "email": "me@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "plus", "chatgpt_account_id": "acc-7", "chatgpt_user_id": "user-7"}
    }))
}

impl IssuerServer {
    pub fn start() -> IssuerServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let verifier = Arc::new(Mutex::new(None));
        let polls = Arc::new(AtomicUsize::new(0));
        let (seen_verifier, seen_polls) = (verifier.clone(), polls.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some((path, body)) = read_request(&mut stream) else {
                    continue;
                };
                let form: std::collections::HashMap<String, String> =
                    String::from_utf8_lossy(&body)
                        .split('&')
                        .filter_map(|pair| pair.split_once('='))
                        .map(|(k, v)| (k.to_string(), percent_decode(v)))
                        .collect();
                let (status, answer) = match path.as_str() {
                    "/oauth/token" => match form.get("grant_type").map(String::as_str) {
                        Some("authorization_code")
                            if form.get("code").map(String::as_str) == Some("good-code") =>
                        {
                            *seen_verifier.lock().unwrap() = form.get("code_verifier").cloned();
                            (
                                200,
                                json!({"id_token": issued_id_token(), "access_token": crate::access_token(3600, "issued"), "refresh_token": "rt-issued"}),
                            )
                        }
                        Some("urn:ietf:params:oauth:grant-type:token-exchange") => {
                            (200, json!({"access_token": "sk-exchanged"}))
                        }
                        _ => (400, json!({"error": "invalid_grant"})),
                    },
                    "/api/accounts/deviceauth/usercode" => (
                        200,
                        json!({"device_auth_id": "dev-1", "user_code": "ABCD-1234", "interval": "1"}),
                    ),
                    "/api/accounts/deviceauth/token" => {
                        if seen_polls.fetch_add(1, Ordering::SeqCst) < 2 {
                            (403, json!({"error": "authorization_pending"}))
                        } else {
                            (
                                200,
                                json!({"authorization_code": "good-code", "code_challenge": "unused", "code_verifier": "device-verifier"}),
                            )
                        }
                    }
                    _ => (404, json!({})),
                };
                let answer = answer.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        IssuerServer {
            url,
            verifier,
            polls,
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` values.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
