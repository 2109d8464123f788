//! `codex sandbox explain` and `codex sandbox macos --print-profile`: the policy the user's
//! config and flags select, resolved here, shown per path or as a Seatbelt profile.

use clap::{Args, Subcommand};
use codex_sandbox::config::{Overrides, SandboxConfig, SandboxMode, SandboxSelection};
use codex_sandbox::explain::{explain, render_text};
use codex_sandbox::seatbelt::seatbelt_plan;
use codex_sandbox::{HostEnv, HostFs, ResolveOptions, ResolvedPolicy, resolve, resolve_legacy};
use std::path::PathBuf;

/// Environment variable naming the Codex home directory (default `~/.codex`).
pub const CODEX_HOME_ENV: &str = "CODEX_HOME";

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Show what a sandboxed command may do at each PATH, which rule decided, and the plan.
    Explain {
        #[command(flatten)]
        policy: PolicyArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Paths to explain (relative ones start at the working directory).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// macOS Seatbelt: show the profile sandbox-exec would run with (works on any OS).
    Macos {
        #[command(flatten)]
        policy: PolicyArgs,
        /// Print the profile and its parameters.
        #[arg(long, required = true)]
        print_profile: bool,
    },
}

/// Which policy: the config's, or one named on the command line.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// A legacy mode: read-only, workspace-write or danger-full-access.
    #[arg(short = 's', long = "sandbox", value_name = "MODE", conflicts_with_all = ["profile", "full_auto"])]
    sandbox: Option<String>,
    /// A permission profile from config.toml ([permissions.NAME]) or a built-in
    /// (:read-only, :workspace, :danger-full-access).
    #[arg(
        short = 'P',
        long = "permissions-profile",
        value_name = "PROFILE",
        conflicts_with = "full_auto"
    )]
    profile: Option<String>,
    /// Shorthand for --sandbox workspace-write.
    #[arg(long)]
    full_auto: bool,
    /// The working directory the policy is resolved against (default: the current one).
    #[arg(short = 'C', long = "cd", value_name = "DIR")]
    cwd: Option<PathBuf>,
}

/// A policy resolved for this host, and the macOS extensions a profile carries.
struct Selected {
    policy: ResolvedPolicy,
    macos: Option<codex_protocol::MacOsExtensions>,
}

fn codex_home() -> Option<PathBuf> {
    std::env::var_os(CODEX_HOME_ENV)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".codex")))
}

fn select(args: &PolicyArgs) -> Result<Selected, String> {
    let sandbox_mode = match (&args.sandbox, args.full_auto) {
        (Some(mode), _) => Some(SandboxMode::parse(mode).ok_or_else(|| {
            format!("'{mode}' is not a sandbox mode; use read-only, workspace-write or danger-full-access")
        })?),
        (None, true) => Some(SandboxMode::WorkspaceWrite),
        (None, false) => None,
    };
    let config = match codex_home() {
        Some(home) => SandboxConfig::load(&home).map_err(|e| e.to_string())?,
        None => SandboxConfig::empty(),
    };
    let selection = config
        .select(&Overrides {
            sandbox_mode,
            profile: args.profile.clone(),
        })
        .map_err(|e| e.to_string())?;
    let cwd = match &args.cwd {
        Some(dir) => std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?,
        None => std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?,
    };
    let env = HostEnv::from_process();
    match selection {
        SandboxSelection::Legacy { policy, git } => {
            let options = ResolveOptions {
                git,
                glob_scan_max_depth: None,
            };
            let policy = resolve_legacy(&policy, &cwd, &env, &HostFs, &options)
                .map_err(|e| e.to_string())?;
            Ok(Selected {
                policy,
                macos: None,
            })
        }
        SandboxSelection::Profile {
            filesystem,
            network,
            macos,
            glob_scan_max_depth,
            git,
            ..
        } => {
            let options = ResolveOptions {
                git,
                glob_scan_max_depth,
            };
            let policy = resolve(&filesystem, network, &cwd, &env, &HostFs, &options)
                .map_err(|e| e.to_string())?;
            Ok(Selected {
                policy,
                macos: Some(macos),
            })
        }
    }
}

/// Runs a `codex sandbox` subcommand; returns the exit code.
pub fn run(command: SandboxCommand) -> i32 {
    let result = match command {
        SandboxCommand::Explain {
            policy,
            json,
            paths,
        } => select(&policy).map(|selected| {
            let explanation = explain(&selected.policy, &paths, &HostEnv::from_process(), &HostFs);
            if json {
                serde_json::to_string_pretty(&explanation).expect("explanations serialize") + "\n"
            } else {
                render_text(&explanation)
            }
        }),
        SandboxCommand::Macos { policy, .. } => select(&policy).map(|selected| {
            let home = HostEnv::from_process().home;
            let plan = seatbelt_plan(&selected.policy, selected.macos.as_ref(), home.as_deref());
            let mut out = String::from("; sandbox-exec parameters:\n");
            for (key, value) in &plan.params {
                out.push_str(&format!("; -D{key}={value}\n"));
            }
            out + &plan.profile
        }),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(message) => {
            eprintln!("Error: {message}");
            1
        }
    }
}
