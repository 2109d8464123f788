//! The Linux sandbox executor: applies `codex-sandbox`'s plans to real processes.
//!
//! Reached through the one `codex` binary — argv[0] `codex-linux-sandbox` runs [`helper_main`]
//! (core re-executes `/proc/self/exe` under that name), argv[1] `--codex-linux-sandbox-inner`
//! runs the stage inside bubblewrap (when the freestanding copy of it, embedded by `build.rs`,
//! cannot run) — and through `codex sandbox linux -- CMD`.
//!
//! Exit codes: the command's own (or, killed by a signal, the same signal is re-raised);
//! [`EXIT_SANDBOX_ERROR`] when the sandbox could not be set up and nothing ran.

pub mod arena;
#[cfg(target_os = "linux")]
mod builtin;
#[cfg(target_os = "linux")]
mod bwrap;
#[cfg(target_os = "linux")]
mod landlock_apply;
#[cfg(target_os = "linux")]
mod mount_points;
#[cfg(target_os = "linux")]
pub mod procs;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
mod seccomp_apply;
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod stage;
#[cfg(target_os = "linux")]
mod sys;

#[cfg(target_os = "linux")]
pub use bwrap::{Bwrap, BwrapProblem};
#[cfg(target_os = "linux")]
pub use run::{
    FORCE_ENV, INNER_FLAG, INNER_STAGE_ENV, Outcome, SandboxError, SandboxRequest, effective_route,
    embedded_inner_stage, exit_code, host_facts, inner_main, run, runs_per_entry_plan,
    startup_warning,
};

/// argv[0] that selects the helper.
pub const HELPER_ARGV0: &str = "codex-linux-sandbox";

/// Exit code when the sandbox could not be set up (nothing ran).
pub const EXIT_SANDBOX_ERROR: i32 = 125;

/// `codex-linux-sandbox --request JSON -- COMMAND…`: runs COMMAND under the request's policy
/// and exits the way it did. `args` are the arguments after argv[0].
#[cfg(target_os = "linux")]
pub fn helper_main(args: &[std::ffi::OsString]) -> i32 {
    if args.first().is_some_and(|a| a == INNER_FLAG) {
        return inner_main(&args[1..]);
    }
    let (request, command) = match args {
        [flag, json, dashes, command @ ..] if flag == "--request" && dashes == "--" => {
            match serde_json::from_str::<SandboxRequest>(&json.to_string_lossy()) {
                Ok(request) => (request, command),
                Err(e) => {
                    eprintln!("codex-linux-sandbox: --request is not a valid request: {e}");
                    return EXIT_SANDBOX_ERROR;
                }
            }
        }
        _ => {
            eprintln!("usage: codex-linux-sandbox --request JSON -- COMMAND [ARGS…]");
            return EXIT_SANDBOX_ERROR;
        }
    };
    // No warnings here: what limits this host puts on the sandbox, core has said once at
    // session start; printed here it would land in every command's output.
    finish(run(&request, command, None))
}

/// Reports the outcome of [`run`] the way a wrapper should: an error on stderr, the
/// command's exit code, or its fatal signal re-raised.
#[cfg(target_os = "linux")]
pub fn finish(result: Result<Outcome, SandboxError>) -> i32 {
    match result {
        Ok(outcome) => match exit_code(outcome.status) {
            Ok(code) => code,
            Err(signal) => die_by_signal(signal),
        },
        Err(error) => {
            eprintln!("codex-linux-sandbox: {error}");
            EXIT_SANDBOX_ERROR
        }
    }
}

#[cfg(target_os = "linux")]
fn die_by_signal(signal: i32) -> ! {
    sys::die_by_signal(signal)
}
