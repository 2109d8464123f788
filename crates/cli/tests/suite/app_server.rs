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
        let mut child = Command::new(codex())
            .arg("app-server")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CODEX_HOME", home)
            .env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", &server.url)
            .env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", &server.revoke_url)
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
    let cli = |args: &[&str], stdin: &[u8]| {
        let mut command = Command::new("env");
        command
            .arg(format!("CODEX_HOME={}", home.path().display()))
            .arg(codex())
            .args(args);
        run(command, stdin)
    };
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
