//! `codex login --with-api-key`, `codex login status`, `codex logout`, and `codex app-server`.

use clap::{Args, Subcommand};
use codex_login::{AuthManager, AuthMode};
use std::io::Read;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, arg_required_else_help = true)]
pub struct LoginArgs {
    /// Read an API key from stdin and store it.
    #[arg(long)]
    with_api_key: bool,
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
    let result = match (args.with_api_key, args.action) {
        (true, _) => login_with_api_key(),
        (false, Some(LoginAction::Status)) => return status(),
        (false, None) => Err("choose --with-api-key or `status`".to_string()),
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
