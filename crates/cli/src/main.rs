//! The `codex` binary. Helper programs (apply_patch) are dispatched on argv before anything
//! else starts; everything else is the command line in [`cli`].

mod cli;
mod exec_cmd;
mod login_cmd;
mod sandbox_cmd;

use std::ffi::{OsStr, OsString};

#[global_allocator]
static ALLOCATOR: codex_linux_sandbox::arena::HelperArena = codex_linux_sandbox::arena::HelperArena;

fn main() {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if sets_up_one_sandboxed_command(&argv) {
        codex_linux_sandbox::arena::enable();
    }
    if let Some(code) = codex_arg0::run_helper(&argv) {
        std::process::exit(code);
    }
    std::process::exit(cli::run(argv));
}

/// The sandbox helper, its inner stage, and `codex sandbox …` / `codex debug landlock …`: a
/// process that sets up one command and then execs it or waits, so its allocations need never
/// be given back (see `codex_linux_sandbox::arena`). Not apply_patch, which may allocate and free
/// a lot for a large patch.
fn sets_up_one_sandboxed_command(argv: &[OsString]) -> bool {
    let arg = |i: usize| argv.get(i).map(OsString::as_os_str);
    let helper = matches!(
        codex_arg0::route(arg(0).unwrap_or_default(), arg(1)),
        codex_arg0::Entry::LinuxSandbox | codex_arg0::Entry::LinuxSandboxInner
    );
    helper
        || arg(1) == Some(OsStr::new("sandbox"))
        || (arg(1) == Some(OsStr::new("debug")) && arg(2) == Some(OsStr::new("landlock")))
}
