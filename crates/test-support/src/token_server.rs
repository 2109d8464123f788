//! A token endpoint on 127.0.0.1 that counts requests and answers as scripted: fixed answers,
//! or rotating refresh tokens that reject reuse (as the real issuer does). Requests to a path
//! ending in `/revoke` are counted apart and answered `{}`.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the server answers.
#[derive(Clone)]
pub enum Script {
    /// Always this status and body.
    Fixed(u16, String),
    /// Accept only the current refresh token; answer new tokens (`rt-N`, an access token valid
    /// for an hour) and reject any older token with `refresh_token_reused`.
    Rotating,
}

pub struct TokenServer {
    pub url: String,
    pub requests: Arc<AtomicUsize>,
    pub reused: Arc<AtomicUsize>,
    pub revoked: Arc<AtomicUsize>,
    /// The URL of the revocation endpoint.
    pub revoke_url: String,
}

/// An access token whose `exp` is `seconds` from now.
pub fn access_token(seconds: i64, tag: &str) -> String {
    let exp = chrono::Utc::now().timestamp() + seconds;
    codex_login::jwt::unsigned_jwt(&json!({"exp": exp, "tag": tag}))
}

impl TokenServer {
    pub fn start(script: Script) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/oauth/token", listener.local_addr().unwrap());
        let revoke_url = format!("http://{}/oauth/revoke", listener.local_addr().unwrap());
        let revoked = Arc::new(AtomicUsize::new(0));
        let revokes = revoked.clone();
        let requests = Arc::new(AtomicUsize::new(0));
        let reused = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(Mutex::new(script));
        let valid = Arc::new(Mutex::new("rt-0".to_string()));
        let (count, reuse, answers) = (requests.clone(), reused.clone(), script);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Some((path, body)) = read_request(&mut stream) else {
                    continue;
                };
                if path.ends_with("/revoke") {
                    revokes.fetch_add(1, Ordering::SeqCst);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                    );
                    continue;
                }
                count.fetch_add(1, Ordering::SeqCst);
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let (status, answer) = match answers.lock().unwrap().clone() {
                    Script::Fixed(status, body) => (status, body),
                    Script::Rotating => {
                        let mut current = valid.lock().unwrap();
                        let presented = request["refresh_token"].as_str().unwrap_or_default();
                        if presented == *current {
                            let next: u32 = current
                                .trim_start_matches("rt-")
                                .parse::<u32>()
                                .unwrap_or(0)
                                + 1;
                            *current = format!("rt-{next}");
                            // A slow issuer: the window in which a second refresh would collide.
                            std::thread::sleep(Duration::from_millis(150));
                            (200, json!({"access_token": access_token(3600, &format!("new-{next}")), "refresh_token": *current, "id_token": codex_login::jwt::unsigned_jwt(&json!({"email": "me@example.com"}))}).to_string())
                        } else {
                            reuse.fetch_add(1, Ordering::SeqCst);
                            (
                                400,
                                json!({"error": {"code": "refresh_token_reused"}}).to_string(),
                            )
                        }
                    }
                };
                let reason = if status == 200 { "OK" } else { "Error" };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        TokenServer {
            url,
            requests,
            reused,
            revoked,
            revoke_url,
        }
    }

    pub fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Reads one request: its path and body.
pub(crate) fn read_request(stream: &mut impl std::io::Read) -> Option<(String, Vec<u8>)> {
    read_request_with_headers(stream).map(|(path, _, body)| (path, body))
}

/// Header names (lowercased) and values, in order.
pub(crate) type Headers = Vec<(String, String)>;

/// Reads one request: its path, its headers and its body.
pub(crate) fn read_request_with_headers(
    stream: &mut impl std::io::Read,
) -> Option<(String, Headers, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line.split_whitespace().nth(1)?.to_string();
    let mut length = 0usize;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if name == "content-length" {
                length = value.trim().parse().ok()?;
            }
            headers.push((name, value.trim().to_string()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, headers, body))
}
