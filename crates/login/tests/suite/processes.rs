//! Several processes sharing one CODEX_HOME, and processes killed mid-write. The test binary
//! re-runs itself as the child process (`child_process_entry`, selected by an environment
//! variable; on its own it does nothing).

use codex_login::storage::{self, AuthDotJson};
use codex_login::{AuthManager, RefreshWhen};
use codex_test_support::{Script, TokenServer, write_stale_auth};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "CODEX_LOGIN_TEST_CHILD";
const URL_ENV: &str = "CODEX_LOGIN_TEST_URL";

fn spawn_child(role: &str, home: &Path, url: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "suite::processes::child_process_entry",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, role)
        .env("CODEX_HOME", home)
        .env(URL_ENV, url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The child side: `refresh` gets a token once; `writer` rewrites auth.json forever.
#[test]
fn child_process_entry() {
    let Ok(role) = std::env::var(CHILD_ENV) else {
        return;
    };
    let home = std::path::PathBuf::from(std::env::var("CODEX_HOME").unwrap());
    match role.as_str() {
        "refresh" => {
            let manager =
                AuthManager::with_token_url(&home, &std::env::var(URL_ENV).unwrap()).unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let token = runtime
                .block_on(manager.token(RefreshWhen::IfStale))
                .unwrap()
                .unwrap();
            println!("TOKEN={token}");
        }
        "writer" => {
            let (a, b) = versions();
            loop {
                storage::write(&home, &a).unwrap();
                storage::write(&home, &b).unwrap();
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

/// Two distinct complete contents (B is large, so a torn write would show).
fn versions() -> (AuthDotJson, AuthDotJson) {
    let a = AuthDotJson {
        openai_api_key: Some("sk-version-a".into()),
        ..Default::default()
    };
    let b = AuthDotJson {
        openai_api_key: Some(format!("sk-version-b-{}", "x".repeat(64 * 1024))),
        ..Default::default()
    };
    (a, b)
}

#[test]
fn two_processes_spend_the_refresh_token_once() {
    let server = TokenServer::start(Script::Rotating);
    let home = tempfile::tempdir().unwrap();
    write_stale_auth(home.path(), "rt-0");
    let mut children = [
        spawn_child("refresh", home.path(), &server.url),
        spawn_child("refresh", home.path(), &server.url),
    ];
    // auth.json must be valid at every moment while they run.
    let started = Instant::now();
    let mut checks = 0;
    while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        assert!(
            storage::read(home.path()).is_ok(),
            "auth.json was invalid while the processes ran"
        );
        checks += 1;
        assert!(started.elapsed() < Duration::from_secs(60), "children hung");
    }
    assert!(checks > 0);
    let tokens: Vec<String> = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            stdout
                .lines()
                .find_map(|l| l.split("TOKEN=").nth(1))
                .map(str::to_string)
                .unwrap_or_else(|| panic!("no token: {stdout}"))
        })
        .collect();
    assert_eq!(server.count(), 1, "exactly one refresh request");
    assert_eq!(
        server.reused.load(Ordering::SeqCst),
        0,
        "no refresh_token_reused"
    );
    assert_eq!(tokens[0], tokens[1], "both processes use the new token");
    let stored = storage::read(home.path())
        .unwrap()
        .unwrap()
        .0
        .tokens
        .unwrap();
    assert_eq!(stored.access_token, tokens[0]);
    assert_eq!(stored.refresh_token, "rt-1");
}

#[test]
fn a_process_killed_while_writing_leaves_a_complete_file() {
    let home = tempfile::tempdir().unwrap();
    let (a, b) = versions();
    storage::write(home.path(), &a).unwrap();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for round in 0..25 {
        let mut child = spawn_child("writer", home.path(), "unused");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(20 + seed % 40));
        child.kill().unwrap();
        child.wait().unwrap();
        let (stored, _) = storage::read(home.path())
            .unwrap_or_else(|e| panic!("round {round}: {e}"))
            .unwrap_or_else(|| panic!("round {round}: auth.json vanished"));
        assert!(
            stored == a || stored == b,
            "round {round}: neither the old nor the new content"
        );
    }
}
