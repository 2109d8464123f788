//! `codex sandbox explain` and `codex sandbox macos --print-profile`: the policy the user's
//! config and flags select, resolved here, shown per path or as a Seatbelt profile.

use clap::{Args, Subcommand};
use codex_sandbox::config::{Overrides, SandboxConfig, SandboxMode, SandboxSelection};
use codex_sandbox::explain::{LinuxView, explain, render_text};
use codex_sandbox::linux::{LinuxRoute, PER_ENTRY_LIMIT};
use codex_sandbox::seatbelt::seatbelt_plan;
use codex_sandbox::{HostEnv, HostFs, ResolvedPolicy};
use std::path::PathBuf;

/// Environment variable naming the Codex home directory (default `~/.codex`).
pub const CODEX_HOME_ENV: &str = "CODEX_HOME";

#[derive(Debug, Subcommand, PartialEq)]
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
    /// Run COMMAND under the Linux sandbox (Landlock + seccomp, or bubblewrap for carve-outs).
    /// The command's exit code passes through; 125 means the sandbox could not be set up.
    Linux {
        #[command(flatten)]
        policy: PolicyArgs,
        /// The command and its arguments (after `--`).
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "COMMAND"
        )]
        command: Vec<std::ffi::OsString>,
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
#[derive(Debug, Args, PartialEq)]
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

/// `codex sandbox linux [-s MODE | -P PROFILE | --full-auto] [-C DIR] -- COMMAND…` read
/// without clap, which takes longer to build its parser than this whole function: the command
/// runs once per sandboxed command. Only the plain spellings are taken, each option at most
/// once and without conflicts, and `--` before the command; anything else (help, errors,
/// `-sMODE`, a command without `--`) is `None` and left to clap. `args` follow `linux`.
pub fn parse_linux_fast(args: &[std::ffi::OsString]) -> Option<SandboxCommand> {
    let mut policy = PolicyArgs {
        sandbox: None,
        profile: None,
        full_auto: false,
        cwd: None,
    };
    let mut i = 0;
    loop {
        let arg = args.get(i)?.to_str()?;
        if arg == "--" {
            break;
        }
        let value = || {
            let value = args.get(i + 1)?.to_str()?;
            (!value.starts_with('-')).then(|| value.to_owned())
        };
        match arg {
            "-s" | "--sandbox" if policy.sandbox.is_none() => policy.sandbox = Some(value()?),
            "-P" | "--permissions-profile" if policy.profile.is_none() => {
                policy.profile = Some(value()?)
            }
            "-C" | "--cd" if policy.cwd.is_none() => policy.cwd = Some(value()?.into()),
            "--full-auto" if !policy.full_auto => {
                policy.full_auto = true;
                i += 1;
                continue;
            }
            _ => return None,
        }
        i += 2;
    }
    let command = args[i + 1..].to_vec();
    let named = usize::from(policy.sandbox.is_some())
        + usize::from(policy.profile.is_some())
        + usize::from(policy.full_auto);
    (!command.is_empty() && named <= 1).then_some(SandboxCommand::Linux { policy, command })
}

/// A policy resolved for this host, what it was resolved from, and where.
struct Selected {
    policy: ResolvedPolicy,
    selection: SandboxSelection,
    cwd: PathBuf,
}

fn codex_home() -> Option<PathBuf> {
    std::env::var_os(CODEX_HOME_ENV)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".codex")))
}

/// The selection the config and flags make, and the directory to resolve it against.
fn select_unresolved(args: &PolicyArgs) -> Result<(SandboxSelection, PathBuf), String> {
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
    Ok((selection, cwd))
}

fn select(args: &PolicyArgs) -> Result<Selected, String> {
    let (selection, cwd) = select_unresolved(args)?;
    let policy = selection
        .resolve(&cwd, &HostEnv::from_process(), &HostFs)
        .map_err(|e| e.to_string())?;
    Ok(Selected {
        policy,
        selection,
        cwd,
    })
}

/// Runs a `codex sandbox` subcommand; returns the exit code.
pub fn run(command: SandboxCommand) -> i32 {
    let result = match command {
        SandboxCommand::Explain {
            policy,
            json,
            paths,
        } => select(&policy).map(|selected| {
            let mut explanation =
                explain(&selected.policy, &paths, &HostEnv::from_process(), &HostFs);
            // The route this host takes (a kernel whose Landlock is too old, or the operator's
            // override, moves the Landlock route to a namespace view).
            let route = host_route(&selected);
            if route != explanation.linux.route {
                explanation.linux = LinuxView::new(&selected.policy, route);
            }
            // Where no mount namespace can be made (or the override says so), the plan that
            // runs instead, and its limits — also when only the override makes it so, which
            // the host's warning cannot know.
            let per_entry = route == LinuxRoute::Landlock && host_runs_per_entry_plan();
            if per_entry {
                explanation.linux = LinuxView::per_entry(&selected.policy, &HostFs);
            }
            let mut warning = host_warning(&selected);
            if per_entry
                && !warning
                    .as_deref()
                    .is_some_and(|w| w.contains(PER_ENTRY_LIMIT))
            {
                let limit = format!("Codex's Linux sandbox: {PER_ENTRY_LIMIT}.");
                warning = Some(match warning {
                    Some(host) => format!("{host} {limit}"),
                    None => limit,
                });
            }
            if json {
                let mut value = serde_json::to_value(&explanation).expect("explanations serialize");
                value["warning"] = serde_json::json!(warning);
                serde_json::to_string_pretty(&value).expect("values serialize") + "\n"
            } else {
                let mut text = render_text(&explanation);
                if let Some(warning) = warning {
                    text.push_str(&format!("warning: {warning}\n"));
                }
                text
            }
        }),
        SandboxCommand::Linux { policy, command } => return run_linux(&policy, &command),
        SandboxCommand::Macos { policy, .. } => select(&policy).map(|selected| {
            let home = HostEnv::from_process().home;
            let plan = seatbelt_plan(
                &selected.policy,
                selected.selection.macos(),
                home.as_deref(),
            );
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

#[cfg(target_os = "linux")]
fn run_linux(policy: &PolicyArgs, command: &[std::ffi::OsString]) -> i32 {
    // Resolved once, by the run itself (resolving walks every path of the policy).
    let (selection, cwd) = match select_unresolved(policy) {
        Ok(selected) => selected,
        Err(message) => {
            eprintln!("Error: {message}");
            return codex_linux_sandbox::EXIT_SANDBOX_ERROR;
        }
    };
    let request = codex_linux_sandbox::SandboxRequest {
        policy_cwd: cwd.clone(),
        command_cwd: cwd,
        selection,
        tty: false,
    };
    let warn = |warning: &str| eprintln!("codex sandbox: warning: {warning}");
    match codex_linux_sandbox::run(&request, command, Some(&warn)) {
        Err(codex_linux_sandbox::SandboxError::Policy(error)) => {
            eprintln!("Error: {error}");
            codex_linux_sandbox::EXIT_SANDBOX_ERROR
        }
        result => codex_linux_sandbox::finish(result),
    }
}

#[cfg(not(target_os = "linux"))]
fn run_linux(_: &PolicyArgs, _: &[std::ffi::OsString]) -> i32 {
    eprintln!("Error: codex sandbox linux runs on Linux only");
    codex_linux_sandbox::EXIT_SANDBOX_ERROR
}

/// The host's startup warning for this policy (Linux only).
#[cfg(target_os = "linux")]
fn host_warning(selected: &Selected) -> Option<String> {
    codex_linux_sandbox::startup_warning(&selected.selection, &selected.cwd).unwrap_or_default()
}

#[cfg(target_os = "linux")]
fn host_route(selected: &Selected) -> codex_sandbox::linux::LinuxRoute {
    codex_linux_sandbox::effective_route(&selected.policy)
}

#[cfg(target_os = "linux")]
fn host_runs_per_entry_plan() -> bool {
    codex_linux_sandbox::runs_per_entry_plan()
}

#[cfg(not(target_os = "linux"))]
fn host_runs_per_entry_plan() -> bool {
    false
}

#[cfg(not(target_os = "linux"))]
fn host_warning(_: &Selected) -> Option<String> {
    None
}

/// Elsewhere the Linux view is the policy's own.
#[cfg(not(target_os = "linux"))]
fn host_route(selected: &Selected) -> codex_sandbox::linux::LinuxRoute {
    codex_sandbox::linux::choose_route(&selected.policy, &HostEnv::from_process(), &HostFs)
}
