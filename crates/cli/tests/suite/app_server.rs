//! `codex app-server` and `codex login`/`logout` end to end, against a token server on
//! 127.0.0.1: no refresh storm, one new attempt after auth.json changes, retries after
//! transient failures, one refresh for two servers sharing a CODEX_HOME, and a protocol that
//! keeps serving after bad input.

use super::{codex, run, text};
use codex_login::storage;
use codex_test_support::{Script, TokenServer, write_stale_auth};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

struct AppServer {
    child: Child,
    stdin: ChildStdin,
    messages: mpsc::Receiver<Value>,
    notifications: Vec<Value>,
}

impl AppServer {
    fn start(home: &Path, server: &TokenServer) -> AppServer {
        AppServer::start_with_env(
            home,
            &[
                ("CODEX_REFRESH_TOKEN_URL_OVERRIDE", &server.url),
                ("CODEX_REVOKE_TOKEN_URL_OVERRIDE", &server.revoke_url),
            ],
        )
    }

    /// A server with a clean environment: PATH, CODEX_HOME and `env`.
    fn start_with_env(home: &Path, env: &[(&str, &str)]) -> AppServer {
        let mut child = Command::new(codex())
            .arg("app-server")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CODEX_HOME", home)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                assert!(
                    value.get("jsonrpc").is_none(),
                    "Codex framing has no jsonrpc field"
                );
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        AppServer {
            child,
            stdin,
            messages,
            notifications: Vec::new(),
        }
    }

    fn send_line(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, message: Value) {
        self.send_line(&message.to_string());
    }

    /// The reply to `id`; notifications on the way are kept.
    fn reply(&mut self, id: Value) -> Value {
        loop {
            let message = self
                .messages
                .recv_timeout(Duration::from_secs(30))
                .expect("a reply in time");
            if message.get("id") == Some(&id) {
                return message;
            }
            self.notifications.push(message);
        }
    }

    fn call(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({"id": id, "method": method, "params": params}));
        self.reply(json!(id))
    }

    fn initialize(&mut self) {
        let reply = self.call(
            1,
            "initialize",
            json!({"clientInfo": {"name": "tests", "version": "1.0"}}),
        );
        assert!(
            reply["result"]["userAgent"]
                .as_str()
                .unwrap()
                .starts_with("tests/"),
            "{reply}"
        );
        self.send(json!({"method": "initialized"}));
    }
}

impl Drop for AppServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn auth_status(server: &mut AppServer, id: i64) -> Value {
    let reply = server.call(
        id,
        "getAuthStatus",
        json!({"includeToken": true, "refreshToken": true}),
    );
    reply["result"].clone()
}

#[test]
fn no_refresh_storm_after_a_permanent_failure() {
    let tokens = TokenServer::start(Script::Fixed(
        401,
        r#"{"error":{"code":"refresh_token_reused"}}"#.into(),
    ));
    let home = tempfile::tempdir().unwrap();
    write_stale_auth(home.path(), "rt-0");
    let mut server = AppServer::start(home.path(), &tokens);
    server.initialize();
    for id in 10..30 {
        assert_eq!(
            auth_status(&mut server, id),
            json!({"authMethod": "chatgpt", "authToken": null, "requiresOpenaiAuth": true})
        );
    }
    assert_eq!(tokens.count(), 1, "exactly one token request for 20 polls");
    let read = server.call(40, "account/read", json!({"refreshToken": true}));
    assert_eq!(
        read["result"]["account"],
        Value::Null,
        "poisoned credentials are hidden"
    );
    assert_eq!(tokens.count(), 1);

    // New credentials on disk: exactly one new attempt, then quiet again.
    write_stale_auth(home.path(), "rt-new");
    for id in 50..60 {
        assert_eq!(auth_status(&mut server, id)["authToken"], Value::Null);
    }
    assert_eq!(tokens.count(), 2);
}

#[test]
fn transient_failures_are_retried_and_the_old_token_is_handed_out() {
    let tokens = TokenServer::start(Script::Fixed(503, "busy".into()));
    let home = tempfile::tempdir().unwrap();
    write_stale_auth(home.path(), "rt-0");
    let old = storage::read(home.path())
        .unwrap()
        .unwrap()
        .0
        .tokens
        .unwrap()
        .access_token;
    let mut server = AppServer::start(home.path(), &tokens);
    server.initialize();
    for id in 10..15 {
        assert_eq!(auth_status(&mut server, id)["authToken"], json!(old));
    }
    assert_eq!(tokens.count(), 5, "retried on every call");
}

#[test]
fn two_servers_sharing_a_codex_home_refresh_once() {
    let tokens = TokenServer::start(Script::Rotating);
    let home = tempfile::tempdir().unwrap();
    write_stale_auth(home.path(), "rt-0");
    let mut first = AppServer::start(home.path(), &tokens);
    let mut second = AppServer::start(home.path(), &tokens);
    first.initialize();
    second.initialize();
    let request = json!({"id": 7, "method": "getAuthStatus", "params": {"includeToken": true, "refreshToken": true}});
    first.send(request.clone());
    second.send(request);
    // auth.json stays valid while they refresh.
    for _ in 0..200 {
        assert!(
            storage::read(home.path()).is_ok(),
            "auth.json invalid during the refresh"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let a = first.reply(json!(7))["result"]["authToken"].clone();
    let b = second.reply(json!(7))["result"]["authToken"].clone();
    assert!(a.is_string(), "{a}");
    assert_eq!(a, b, "both use the new token");
    assert_eq!(tokens.count(), 1, "one refresh request for two processes");
    assert_eq!(tokens.reused.load(Ordering::SeqCst), 0);
    assert_eq!(
        storage::read(home.path())
            .unwrap()
            .unwrap()
            .0
            .tokens
            .unwrap()
            .refresh_token,
        "rt-1"
    );
}

#[test]
fn bad_input_gets_errors_and_the_server_keeps_serving() {
    let tokens = TokenServer::start(Script::Fixed(500, "".into()));
    let home = tempfile::tempdir().unwrap();
    let mut server = AppServer::start(home.path(), &tokens);
    let early = server.call(0, "getAuthStatus", json!({}));
    assert_eq!(
        early["error"],
        json!({"code": -32600, "message": "Not initialized"})
    );
    server.initialize();
    server.send_line("{not json");
    let parse = server.reply(Value::Null);
    assert_eq!(parse["error"]["code"], -32700);
    let wrong = server.call(2, "getAuthStatus", json!({"includeToken": "yes"}));
    assert_eq!(wrong["error"]["code"], -32600);
    assert!(
        wrong["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expected a boolean"),
        "{wrong}"
    );
    let unknown = server.call(3, "no/such/method", json!({}));
    assert_eq!(unknown["error"]["code"], -32600);
    let again = server.call(4, "initialize", json!({"clientInfo": {"name": "x"}}));
    assert_eq!(again["error"]["message"], "Already initialized");
    let signed_out = server.call(5, "getAuthStatus", json!({"includeToken": true}));
    assert_eq!(
        signed_out["result"],
        json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": true})
    );
}

#[test]
fn api_key_login_and_logout_with_revocation() {
    let tokens = TokenServer::start(Script::Rotating);
    let home = tempfile::tempdir().unwrap();
    write_stale_auth(home.path(), "rt-0");
    let mut server = AppServer::start(home.path(), &tokens);
    server.initialize();
    let logout = server.call(2, "account/logout", json!({}));
    assert_eq!(logout["result"], json!({}));
    assert_eq!(
        tokens.revoked.load(Ordering::SeqCst),
        1,
        "the refresh token is revoked"
    );
    assert!(!storage::auth_file(home.path()).exists());
    let login = server.call(
        3,
        "account/login/start",
        json!({"type": "apiKey", "apiKey": "sk-abc"}),
    );
    assert_eq!(login["result"], json!({"type": "apiKey"}));
    let status = server.call(4, "getAuthStatus", json!({"includeToken": true}));
    assert_eq!(
        status["result"],
        json!({"authMethod": "apikey", "authToken": "sk-abc", "requiresOpenaiAuth": true})
    );
    let methods: Vec<&str> = server
        .notifications
        .iter()
        .filter_map(|n| n["method"].as_str())
        .collect();
    assert_eq!(
        methods,
        [
            "account/updated",
            "account/login/completed",
            "account/updated"
        ]
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(storage::auth_file(home.path())).unwrap()).unwrap();
    assert_eq!(saved["auth_mode"], "apikey");
    assert_eq!(saved["OPENAI_API_KEY"], "sk-abc");
}

#[test]
fn login_status_and_logout_from_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    let cli = |args: &[&str], stdin: &[u8]| codex_in(home.path(), args, stdin);
    let status = cli(&["login", "status"], b"");
    assert_eq!(status.status.code(), Some(1));
    assert_eq!(text(&status.stdout), "Not signed in.\n");
    let login = cli(&["login", "--with-api-key"], b"sk-test-123456789\n");
    assert_eq!(login.status.code(), Some(0), "{}", text(&login.stderr));
    let status = cli(&["login", "status"], b"");
    assert_eq!(status.status.code(), Some(0));
    assert_eq!(
        text(&status.stdout),
        "Signed in with an API key (sk-t…6789).\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(storage::auth_file(home.path()))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    let empty = cli(&["login", "--with-api-key"], b"");
    assert_eq!(empty.status.code(), Some(1));
    let logout = cli(&["logout"], b"");
    assert_eq!(text(&logout.stdout), "Signed out.\n");
    assert_eq!(cli(&["login", "status"], b"").status.code(), Some(1));
}

/// `codex ARGS` with CODEX_HOME=home and `stdin`.
fn codex_in(home: &Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut command = Command::new("env");
    command
        .arg(format!("CODEX_HOME={}", home.display()))
        .arg(codex())
        .args(args);
    run(command, stdin)
}

/// A `codex login …` process whose stdout is read line by line.
fn spawn_login(home: &Path, issuer: &str, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(codex())
        .arg("login")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CODEX_HOME", home)
        .env("CODEX_LOGIN_ISSUER", issuer)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines)
}

/// A plain HTTP GET to 127.0.0.1; returns the status line and body.
fn http_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    response
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    url_decode(
        query
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap(),
    )
}

fn url_decode(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn browser_sign_in_with_pkce() {
    use base64::Engine;
    use sha2::Digest;
    let issuer = codex_test_support::IssuerServer::start();
    let home = tempfile::tempdir().unwrap();
    let (child, lines) = spawn_login(home.path(), &issuer.url, &[]);
    let auth_url = lines
        .iter()
        .find_map(|l| l.trim().starts_with("http").then(|| l.trim().to_string()))
        .expect("the sign-in URL is printed");
    assert!(
        auth_url.starts_with(&format!("{}/oauth/authorize?", issuer.url)),
        "{auth_url}"
    );
    let redirect = query_param(&auth_url, "redirect_uri");
    let state = query_param(&auth_url, "state");
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/auth/callback"),
        "{redirect}"
    );
    assert_eq!(query_param(&auth_url, "code_challenge_method"), "S256");

    let forged = http_get(&format!("{redirect}?code=good-code&state=forged"));
    assert!(
        forged.starts_with("HTTP/1.1 400") && forged.contains("State mismatch"),
        "{forged}"
    );
    let ok = http_get(&format!("{redirect}?code=good-code&state={state}"));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        lines.iter().last().as_deref(),
        Some("Signed in with ChatGPT as me@example.com.")
    );

    let verifier = issuer
        .verifier
        .lock()
        .unwrap()
        .clone()
        .expect("the code was exchanged");
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(
        challenge,
        query_param(&auth_url, "code_challenge"),
        "the verifier matches the challenge"
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(storage::auth_file(home.path())).unwrap()).unwrap();
    assert_eq!(saved["auth_mode"], "chatgpt");
    assert_eq!(saved["OPENAI_API_KEY"], "sk-exchanged");
    assert_eq!(saved["tokens"]["refresh_token"], "rt-issued");
    assert_eq!(saved["tokens"]["account_id"], "acc-7");
}

#[test]
fn browser_sign_in_can_be_cancelled() {
    let issuer = codex_test_support::IssuerServer::start();
    let home = tempfile::tempdir().unwrap();
    let (child, lines) = spawn_login(home.path(), &issuer.url, &[]);
    let auth_url = lines
        .iter()
        .find_map(|l| l.trim().starts_with("http").then(|| l.trim().to_string()))
        .unwrap();
    let redirect = query_param(&auth_url, "redirect_uri");
    let cancel = redirect.replace("/auth/callback", "/cancel");
    assert!(http_get(&cancel).starts_with("HTTP/1.1 200"));
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("cancelled"),
        "{}",
        text(&output.stderr)
    );
    assert!(!storage::auth_file(home.path()).exists());
}

#[test]
fn device_code_sign_in() {
    let issuer = codex_test_support::IssuerServer::start();
    let home = tempfile::tempdir().unwrap();
    let (child, lines) = spawn_login(home.path(), &issuer.url, &["--device-auth"]);
    let first = lines.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(
        first,
        format!(
            "Open {}/codex/device and enter this code: ABCD-1234",
            issuer.url
        )
    );
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        issuer.polls.load(Ordering::SeqCst),
        3,
        "polled until confirmed"
    );
    let saved = storage::read(home.path()).unwrap().unwrap().0;
    assert_eq!(saved.tokens.unwrap().refresh_token, "rt-issued");
    assert_eq!(
        issuer.verifier.lock().unwrap().as_deref(),
        Some("device-verifier")
    );
}

/// `cli_auth_credentials_store = "keyring"`: credentials live in the OS keyring (the kernel's
/// user keyring here) and never touch auth.json, through login, refresh, status and logout.
#[test]
fn keyring_credential_store() {
    use codex_login::{Store, StoreKind};
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "cli_auth_credentials_store = \"keyring\"\n",
    )
    .unwrap();
    let keyring = Store::new(StoreKind::Keyring, home.path());
    keyring
        .write(&codex_test_support::stale_auth("rt-0"))
        .unwrap();

    let tokens = TokenServer::start(Script::Rotating);
    let mut server = AppServer::start(home.path(), &tokens);
    server.initialize();
    let status = auth_status(&mut server, 10);
    assert_eq!(status["authMethod"], "chatgpt", "{status}");
    assert_eq!(tokens.count(), 1);
    let stored = keyring.read().unwrap().unwrap().0.tokens.unwrap();
    assert_eq!(
        stored.refresh_token, "rt-1",
        "the refresh went to the keyring"
    );
    assert_eq!(status["authToken"], json!(stored.access_token));
    assert!(!storage::auth_file(home.path()).exists());
    drop(server);

    let cli = |args: &[&str], stdin: &[u8]| codex_in(home.path(), args, stdin);
    let login = cli(&["login", "--with-api-key"], b"sk-keyring-123456\n");
    assert_eq!(login.status.code(), Some(0), "{}", text(&login.stderr));
    assert_eq!(
        text(&cli(&["login", "status"], b"").stdout),
        "Signed in with an API key (sk-k…3456).\n"
    );
    assert_eq!(
        keyring.read().unwrap().unwrap().0.openai_api_key.as_deref(),
        Some("sk-keyring-123456")
    );
    assert!(!storage::auth_file(home.path()).exists());
    assert_eq!(text(&cli(&["logout"], b"").stdout), "Signed out.\n");
    assert!(keyring.read().unwrap().is_none());
    assert_eq!(cli(&["login", "status"], b"").status.code(), Some(1));

    // A value that names no store is an error that says where and what to write instead.
    std::fs::write(
        home.path().join("config.toml"),
        "cli_auth_credentials_store = \"vault\"\n",
    )
    .unwrap();
    let bad = cli(&["login", "status"], b"");
    assert_eq!(bad.status.code(), Some(1));
    let message = text(&bad.stderr);
    assert!(
        message.contains("config.toml")
            && message.contains("\"vault\"")
            && message.contains("\"file\""),
        "{message}"
    );
}

/// Token requests go over HTTPS with the OS trust store, and `SSL_CERT_FILE` replaces it (a
/// corporate TLS proxy's CA): a server whose certificate is only in that file is reached with
/// it and refused without it.
#[test]
fn ssl_cert_file_is_trusted_for_token_requests() {
    let tokens = codex_test_support::TlsTokenServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("proxy-ca.pem");
    std::fs::write(&cert, &tokens.cert_pem).unwrap();

    let home = tempfile::tempdir().unwrap();
    write_stale_auth(home.path(), "rt-0");
    let old = storage::read(home.path())
        .unwrap()
        .unwrap()
        .0
        .tokens
        .unwrap();
    let mut untrusting = AppServer::start_with_env(
        home.path(),
        &[("CODEX_REFRESH_TOKEN_URL_OVERRIDE", &tokens.url)],
    );
    untrusting.initialize();
    let status = auth_status(&mut untrusting, 10);
    assert_eq!(
        status["authToken"],
        json!(old.access_token),
        "an untrusted certificate is a transient failure: {status}"
    );
    assert_eq!(tokens.count(), 0, "no request got past the handshake");
    drop(untrusting);

    let mut trusting = AppServer::start_with_env(
        home.path(),
        &[
            ("CODEX_REFRESH_TOKEN_URL_OVERRIDE", &tokens.url),
            ("SSL_CERT_FILE", cert.to_str().unwrap()),
        ],
    );
    trusting.initialize();
    let status = auth_status(&mut trusting, 10);
    assert_eq!(tokens.count(), 1);
    let stored = storage::read(home.path())
        .unwrap()
        .unwrap()
        .0
        .tokens
        .unwrap();
    assert_eq!(stored.refresh_token, "rt-tls");
    assert_eq!(status["authToken"], json!(stored.access_token), "{status}");
    drop(trusting);

    // A trust store with no usable certificate is reported, with where it came from, not a crash.
    let broken = dir.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let mut command = Command::new("env");
    command
        .arg(format!("CODEX_HOME={}", home.path().display()))
        .arg(format!("SSL_CERT_FILE={}", broken.display()))
        .arg(codex())
        .args(["login", "--device-auth"]);
    let login = run(command, b"");
    assert_eq!(login.status.code(), Some(1));
    let message = text(&login.stderr);
    assert!(
        message.contains("cannot set up HTTPS") && message.contains("broken.pem"),
        "{message}"
    );
    let mut server =
        AppServer::start_with_env(home.path(), &[("SSL_CERT_FILE", broken.to_str().unwrap())]);
    server.initialize();
    let status = server.call(
        20,
        "getAuthStatus",
        json!({"includeToken": true, "refreshToken": true}),
    );
    assert_eq!(status["result"]["authMethod"], "chatgpt", "{status}");
}
