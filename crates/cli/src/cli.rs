//! The `codex` command line: clap types, and the one function that turns them into an exit code.

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

/// The top-level command line.
#[derive(Debug, Parser)]
#[command(name = "codex-cli", bin_name = "codex", version)]
#[command(about = "Codex: a coding agent that edits files and runs commands inside an OS sandbox.")]
#[command(arg_required_else_help = true, disable_version_flag = true)]
struct Cli {
    /// Print version
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent on one task, headless: `codex exec "fix the failing test"`.
    #[command(version)]
    Exec(Box<crate::exec_cmd::ExecArgs>),
    /// Inspect the sandbox: which policy applies, what it allows where, and how it is enforced.
    #[command(subcommand)]
    Sandbox(crate::sandbox_cmd::SandboxCommand),
    /// Sign in: `--with-api-key` (key on stdin), or `status`.
    Login(crate::login_cmd::LoginArgs),
    /// Sign out: revoke the refresh token and delete the stored credentials.
    Logout,
    /// JSON-RPC over stdio for IDE clients.
    AppServer,
    /// Debugging tools (`codex debug landlock -- CMD` is `codex sandbox linux -- CMD`).
    #[command(subcommand)]
    Debug(DebugCommand),
    /// Apply a patch in the `*** Begin Patch` format to the files under a directory.
    ///
    /// All files change or none does. Reads the patch from stdin when PATCH is omitted.
    /// Exit codes: 0 applied, 1 rejected (nothing changed), 2 usage error.
    ApplyPatch {
        /// The patch text.
        patch: Option<OsString>,
        /// Directory the patch's relative paths start from (default: the current directory).
        #[arg(short = 'C', long = "cd", value_name = "DIR")]
        cwd: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DebugCommand {
    /// The legacy name of `codex sandbox linux`.
    Landlock {
        #[command(flatten)]
        policy: crate::sandbox_cmd::PolicyArgs,
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "COMMAND"
        )]
        command: Vec<OsString>,
    },
}

/// Runs the CLI and returns the process exit code.
pub fn run(argv: Vec<OsString>) -> i32 {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return error.exit_code();
        }
    };
    match cli.command {
        Some(Command::ApplyPatch { patch, cwd }) => {
            if patch.is_none() && std::io::stdin().is_terminal() {
                eprintln!(
                    "Error: no patch given. Pass it as an argument or pipe it in: codex apply-patch < change.patch"
                );
                return codex_apply_patch::standalone::EXIT_USAGE;
            }
            let cwd = match cwd.map_or_else(std::env::current_dir, Ok) {
                Ok(cwd) => cwd,
                Err(error) => {
                    eprintln!("Error: cannot determine the current directory: {error}");
                    return codex_apply_patch::standalone::EXIT_REJECTED;
                }
            };
            codex_apply_patch::standalone::run_as_argv0(
                &patch.into_iter().collect::<Vec<_>>(),
                &mut std::io::stdin().lock(),
                &cwd,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            )
        }
        Some(Command::Sandbox(command)) => crate::sandbox_cmd::run(command),
        Some(Command::Exec(args)) => crate::exec_cmd::exec(*args),
        Some(Command::Login(args)) => crate::login_cmd::login(args),
        Some(Command::Logout) => crate::login_cmd::logout(),
        Some(Command::AppServer) => crate::login_cmd::app_server(),
        Some(Command::Debug(DebugCommand::Landlock { policy, command })) => {
            crate::sandbox_cmd::run(crate::sandbox_cmd::SandboxCommand::Linux { policy, command })
        }
        None => 2,
    }
}
