//! AuthManager against a real token server: no storm after a permanent failure, a new attempt
//! after auth.json changes, retries after transient failures, single flight in one process.

use codex_login::storage::{self, AuthMode};
use codex_login::{AuthManager, RefreshWhen};
use codex_test_support::{Script, TokenServer, write_stale_auth};
use std::sync::Arc;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_permanent_failure_is_asked_once_then_never_again() {
    let permanent = [
        (401, "{}".to_string()),
        (
            400,
            r#"{"error":{"code":"refresh_token_expired"}}"#.to_string(),
        ),
        (400, r#"{"error":"refresh_token_reused"}"#.to_string()),
        (
            403,
            r#"{"error":{"code":"refresh_token_invalidated"}}"#.to_string(),
        ),
        (400, r#"{"error":"invalid_grant"}"#.to_string()),
    ];
    for (status, body) in permanent {
        let server = TokenServer::start(Script::Fixed(status, body.clone()));
        let home = tempfile::tempdir().unwrap();
        write_stale_auth(home.path(), "rt-0");
        let manager = AuthManager::with_token_url(home.path(), &server.url).unwrap();
        runtime().block_on(async {
            for _ in 0..20 {
                let status = manager.status(true, true).await.unwrap();
                assert_eq!(
                    status.auth_method,
                    Some(AuthMode::Chatgpt),
                    "the method stays visible"
                );
                assert_eq!(status.auth_token, None, "never the stale token");
            }
        });
        assert_eq!(
            server.count(),
            1,
            "{status} {body}: exactly one token request"
        );
        assert!(manager.poisoned().is_some());
    }
}

#[test]
fn a_changed_auth_file_gets_one_new_attempt() {
    let server = TokenServer::start(Script::Fixed(401, "{}".into()));
    let home = tempfile::tempdir().unwrap();
    write_stale_auth(home.path(), "rt-0");
    let manager = AuthManager::with_token_url(home.path(), &server.url).unwrap();
    let rt = runtime();
    rt.block_on(async {
        for _ in 0..5 {
            manager.status(true, true).await.unwrap();
        }
    });
    assert_eq!(server.count(), 1);
    // Another process (or the user) signs in again: new content on disk.
    write_stale_auth(home.path(), "rt-other");
    rt.block_on(async {
        for _ in 0..5 {
            manager.status(true, true).await.unwrap();
        }
    });
    assert_eq!(
        server.count(),
        2,
        "one new attempt for the new credentials, then quiet again"
    );
}

#[test]
fn transient_failures_are_retried_and_keep_handing_out_the_old_token() {
    for (status, body) in [
        (503, "<html>busy</html>"),
        (429, "{}"),
        (400, r#"{"error":"invalid_request"}"#),
        (200, "not json"),
    ] {
        let server = TokenServer::start(Script::Fixed(status, body.to_string()));
        let home = tempfile::tempdir().unwrap();
        write_stale_auth(home.path(), "rt-0");
        let old = storage::read(home.path())
            .unwrap()
            .unwrap()
            .0
            .tokens
            .unwrap()
            .access_token;
        let manager = AuthManager::with_token_url(home.path(), &server.url).unwrap();
        runtime().block_on(async {
            for _ in 0..3 {
                let reply = manager.status(true, true).await.unwrap();
                assert_eq!(reply.auth_token.as_deref(), Some(old.as_str()), "{status}");
            }
        });
        assert_eq!(server.count(), 3, "{status} {body}: retried on every call");
        assert!(manager.poisoned().is_none());
    }
}

#[test]
fn a_successful_refresh_rotates_and_stores_the_tokens() {
    let server = TokenServer::start(Script::Rotating);
    let home = tempfile::tempdir().unwrap();
    write_stale_auth(home.path(), "rt-0");
    let manager = AuthManager::with_token_url(home.path(), &server.url).unwrap();
    let token = runtime()
        .block_on(manager.token(RefreshWhen::IfStale))
        .unwrap()
        .unwrap();
    let stored = storage::read(home.path()).unwrap().unwrap().0;
    let tokens = stored.tokens.unwrap();
    assert_eq!(tokens.access_token, token);
    assert_eq!(tokens.refresh_token, "rt-1");
    assert_eq!(
        tokens.account_id.as_deref(),
        Some("acc-1"),
        "fields the answer lacks are kept"
    );
    assert!(stored.last_refresh.unwrap() > chrono::Utc::now() - chrono::Duration::minutes(1));
    // Fresh now: no more requests.
    runtime().block_on(async {
        for _ in 0..5 {
            assert_eq!(
                manager
                    .token(RefreshWhen::IfStale)
                    .await
                    .unwrap()
                    .as_deref(),
                Some(token.as_str())
            );
        }
    });
    assert_eq!(server.count(), 1);
    // A 401 from the model API with an old token does not refresh again…
    runtime()
        .block_on(manager.token(RefreshWhen::Rejected {
            rejected: "some-older-token",
        }))
        .unwrap();
    assert_eq!(server.count(), 1);
    // …but with the current one it does, once.
    runtime()
        .block_on(manager.token(RefreshWhen::Rejected { rejected: &token }))
        .unwrap();
    assert_eq!(server.count(), 2);
    assert_eq!(server.reused.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn eight_concurrent_tasks_share_one_refresh() {
    let server = TokenServer::start(Script::Rotating);
    let home = tempfile::tempdir().unwrap();
    write_stale_auth(home.path(), "rt-0");
    let manager = Arc::new(AuthManager::with_token_url(home.path(), &server.url).unwrap());
    let tokens: Vec<String> = runtime().block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let manager = manager.clone();
                tokio::spawn(
                    async move { manager.token(RefreshWhen::IfStale).await.unwrap().unwrap() },
                )
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    });
    assert_eq!(server.count(), 1, "one HTTP call for eight callers");
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(server.reused.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn api_keys_login_and_logout() {
    let home = tempfile::tempdir().unwrap();
    let manager = AuthManager::with_token_url(home.path(), "http://127.0.0.1:9/unused").unwrap();
    let rt = runtime();
    assert_eq!(
        rt.block_on(manager.status(true, false))
            .unwrap()
            .auth_method,
        None
    );
    manager.login_with_api_key("sk-test").unwrap();
    let status = rt.block_on(manager.status(true, true)).unwrap();
    assert_eq!(status.auth_method, Some(AuthMode::Apikey));
    assert_eq!(status.auth_token.as_deref(), Some("sk-test"));
    assert!(manager.logout().unwrap());
    assert!(!storage::auth_file(home.path()).exists());
    assert_eq!(
        rt.block_on(manager.status(true, false)).unwrap().auth_token,
        None
    );
}
