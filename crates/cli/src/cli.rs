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

/// `codex sandbox …` on its own. `codex sandbox linux` runs once per sandboxed command, and
/// building the parser of the whole command line (every subcommand's options) would cost it
/// more than the rest of its argument handling; this parser knows only the sandbox commands
/// and prints the same help and errors.
#[derive(Debug, Parser)]
#[command(name = "codex-sandbox", bin_name = "codex sandbox")]
#[command(
    about = "Inspect the sandbox: which policy applies, what it allows where, and how it is enforced"
)]
#[command(arg_required_else_help = true)]
struct SandboxCli {
    #[command(subcommand)]
    command: crate::sandbox_cmd::SandboxCommand,
}

/// Runs the CLI and returns the process exit code.
pub fn run(argv: Vec<OsString>) -> i32 {
    if argv.get(1).is_some_and(|a| a == "sandbox") {
        let fast = argv
            .get(2)
            .filter(|a| *a == "linux")
            .and_then(|_| crate::sandbox_cmd::parse_linux_fast(&argv[3..]));
        if let Some(command) = fast {
            return crate::sandbox_cmd::run(command);
        }
        return match SandboxCli::try_parse_from(&argv[1..]) {
            Ok(cli) => crate::sandbox_cmd::run(cli.command),
            Err(error) => {
                let _ = error.print();
                error.exit_code()
            }
        };
    }
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

#[cfg(test)]
mod sandbox_parser_tests {
    use super::*;

    #[test]
    fn the_sandbox_parser_says_what_the_full_one_would() {
        let cases: [&[&str]; 9] = [
            &[],
            &["--help"],
            &["--version"],
            &["help", "linux"],
            &["linux", "--help"],
            &["explain", "--help"],
            &["bogus"],
            &["linux", "-s", "read-only"],
            &["linux", "-s", "read-only", "-P", "x", "--", "true"],
        ];
        for case in cases {
            let full = Cli::try_parse_from(["codex", "sandbox"].iter().chain(case)).unwrap_err();
            let alone = SandboxCli::try_parse_from(["sandbox"].iter().chain(case)).unwrap_err();
            assert_eq!(alone.to_string(), full.to_string(), "{case:?}");
            assert_eq!(alone.exit_code(), full.exit_code(), "{case:?}");
        }
        let parsed = SandboxCli::try_parse_from(["sandbox", "linux", "--full-auto", "--", "true"]);
        assert!(matches!(
            parsed.unwrap().command,
            crate::sandbox_cmd::SandboxCommand::Linux { .. }
        ));
    }

    #[test]
    fn the_fast_sandbox_linux_parse_agrees_with_clap_or_leaves_it_to_clap() {
        let cases: &[&[&str]] = &[
            &["-s", "read-only", "--", "true"],
            &["--sandbox", "workspace-write", "--", "a", "b"],
            &["-P", "split", "--", "true"],
            &["--permissions-profile", ":workspace", "--", "x"],
            &["--full-auto", "--", "true", "--", "-x"],
            &["-C", "dir", "-s", "read-only", "--", "true"],
            &["--cd", "/a", "--full-auto", "--", "t"],
            &["--", "true"],
            &["-s", "read-only", "-P", "x", "--", "true"],
            &["--full-auto", "-s", "read-only", "--", "t"],
            &["-P", "a", "--full-auto", "--", "t"],
            &["-s", "a", "-s", "b", "--", "t"],
            &["--full-auto", "--full-auto", "--", "t"],
            &["-C", "d", "-C", "e", "--", "t"],
            &["--"],
            &[],
            &["-s"],
            &["-s", "--", "true"],
            &["-s", "-P", "--", "t"],
            &["--bogus", "--", "t"],
            &["-s", "read-only", "true"],
            &["-sread-only", "--", "t"],
            &["--sandbox=read-only", "--", "t"],
            &["-h"],
            &["--help", "--", "t"],
        ];
        let mut fast_count = 0;
        for case in cases {
            let args: Vec<OsString> = case.iter().map(OsString::from).collect();
            let fast = crate::sandbox_cmd::parse_linux_fast(&args);
            let clap = SandboxCli::try_parse_from(["sandbox", "linux"].iter().chain(*case));
            match (fast, clap) {
                (Some(fast), Ok(clap)) => {
                    assert_eq!(fast, clap.command, "{case:?}");
                    fast_count += 1;
                }
                (Some(fast), Err(e)) => panic!("{case:?}: fast {fast:?}, clap refuses: {e}"),
                (None, _) => {}
            }
        }
        assert_eq!(fast_count, 8, "the plain spellings take the fast path");
    }
}
