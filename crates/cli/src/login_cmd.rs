//! `codex login --with-api-key`, `codex login status`, `codex logout`, and `codex app-server`.

use clap::{Args, Subcommand};
use codex_login::{AuthManager, AuthMode};
use std::io::Read;

/// Without options: sign in with ChatGPT in the browser (a callback server on 127.0.0.1:1455).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LoginArgs {
    /// Read an API key from stdin and store it.
    #[arg(long, conflicts_with = "device_auth")]
    with_api_key: bool,
    /// Sign in with ChatGPT using a device code (for machines without a browser).
    #[arg(long)]
    device_auth: bool,
    #[command(subcommand)]
    action: Option<LoginAction>,
}

#[derive(Debug, Subcommand)]
enum LoginAction {
    /// Show how you are signed in (exit 1 when signed out).
    Status,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

fn manager() -> Result<AuthManager, String> {
    let home =
        codex_login::codex_home().ok_or("cannot find the Codex home: set CODEX_HOME or HOME")?;
    AuthManager::new(&home).map_err(|e| e.to_string())
}

/// `codex login …`.
pub fn login(args: LoginArgs) -> i32 {
    let result = match (args.with_api_key, args.device_auth, args.action) {
        (_, _, Some(LoginAction::Status)) => return status(),
        (true, _, None) => login_with_api_key(),
        (false, true, None) => runtime().block_on(login_with_device_code()),
        (false, false, None) => runtime().block_on(login_with_browser()),
    };
    match result {
        Ok(message) => {
            println!("{message}");
            0
        }
        Err(message) => {
            eprintln!("Error: {message}");
            1
        }
    }
}

fn login_with_api_key() -> Result<String, String> {
    let mut key = String::new();
    std::io::stdin()
        .read_to_string(&mut key)
        .map_err(|e| format!("reading the API key from stdin: {e}"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(
            "no API key on stdin; pipe it in: printenv OPENAI_API_KEY | codex login --with-api-key"
                .into(),
        );
    }
    manager()?
        .login_with_api_key(key)
        .map_err(|e| e.to_string())?;
    Ok("Signed in with an API key.".into())
}

fn signed_in_message(auth: &codex_login::AuthDotJson) -> String {
    let info = auth
        .tokens
        .as_ref()
        .map(|t| codex_login::jwt::id_token_info(&t.id_token))
        .unwrap_or_default();
    format!(
        "Signed in with ChatGPT as {}.",
        info.email.unwrap_or_else(|| "an unknown account".into())
    )
}

/// The credential store config.toml chooses (checked before any sign-in starts).
fn store() -> Result<codex_login::Store, String> {
    let home = codex_login::codex_home()
        .ok_or_else(|| "cannot find the Codex home: set CODEX_HOME or HOME".to_string())?;
    let kind = codex_login::StoreKind::from_config(&home)?;
    Ok(codex_login::Store::new(kind, &home))
}

async fn login_with_browser() -> Result<String, String> {
    use std::io::{IsTerminal, Write};
    let store = store()?;
    let issuer = codex_login::signin::issuer();
    let flow = codex_login::signin::BrowserSignIn::start(&issuer, "codex_cli_rs")
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Open this URL in your browser to sign in:\n  {}",
        flow.auth_url
    );
    let _ = std::io::stdout().flush();
    if std::io::stdout().is_terminal() {
        // Best effort; the URL above works whatever happens here.
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        let _ = std::process::Command::new(opener)
            .arg(&flow.auth_url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    let auth = flow.finish(&store).await.map_err(|e| e.to_string())?;
    Ok(signed_in_message(&auth))
}

async fn login_with_device_code() -> Result<String, String> {
    use std::io::Write;
    let store = store()?;
    let issuer = codex_login::signin::issuer();
    let code = codex_login::signin::request_device_code(&issuer)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Open {} and enter this code: {}",
        code.verification_url, code.user_code
    );
    let _ = std::io::stdout().flush();
    let auth = codex_login::signin::finish_device_code(&issuer, &code, &store)
        .await
        .map_err(|e| e.to_string())?;
    Ok(signed_in_message(&auth))
}

fn status() -> i32 {
    let manager = match manager() {
        Ok(manager) => manager,
        Err(message) => {
            eprintln!("Error: {message}");
            return 1;
        }
    };
    let Some(snapshot) = manager.snapshot() else {
        println!("Not signed in.");
        return 1;
    };
    match snapshot.mode() {
        Some(AuthMode::Apikey) => {
            let key = snapshot.auth.openai_api_key.clone().unwrap_or_default();
            let shown = if key.len() > 8 {
                format!("{}…{}", &key[..4], &key[key.len() - 4..])
            } else {
                "…".into()
            };
            println!("Signed in with an API key ({shown}).");
            0
        }
        Some(AuthMode::Chatgpt) => {
            let info = snapshot
                .auth
                .tokens
                .as_ref()
                .map(|t| codex_login::jwt::id_token_info(&t.id_token))
                .unwrap_or_default();
            let who = info.email.unwrap_or_else(|| "unknown account".into());
            let plan = info
                .plan_type
                .map(|p| format!(", plan {p}"))
                .unwrap_or_default();
            println!("Signed in with ChatGPT as {who}{plan}.");
            0
        }
        None => {
            println!("Not signed in.");
            1
        }
    }
}

/// `codex logout`: revokes the refresh token, then deletes the stored credentials.
pub fn logout() -> i32 {
    let manager = match manager() {
        Ok(manager) => manager,
        Err(message) => {
            eprintln!("Error: {message}");
            return 1;
        }
    };
    match runtime().block_on(manager.logout_and_revoke(&codex_login::refresh::revoke_url())) {
        Ok((removed, problem)) => {
            if let Some(problem) = problem {
                eprintln!(
                    "warning: revoking the sign-in failed ({problem}); it was removed from this machine anyway"
                );
            }
            println!(
                "{}",
                if removed {
                    "Signed out."
                } else {
                    "Not signed in."
                }
            );
            0
        }
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

/// `codex app-server`.
pub fn app_server() -> i32 {
    let Some(home) = codex_login::codex_home() else {
        eprintln!("Error: cannot find the Codex home: set CODEX_HOME or HOME");
        return 1;
    };
    match runtime().block_on(codex_app_server::run_stdio(home)) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("Error: {message}");
            1
        }
    }
}
