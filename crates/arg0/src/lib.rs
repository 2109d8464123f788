//! One binary, several programs: `argv[0]` and `argv[1]` decide which one runs.
//!
//! - `argv[1] == --codex-run-as-apply-patch`: the apply_patch virtual CLI; `argv[2]` is the patch.
//!   The agent core re-invokes the current executable this way to apply a patch under the sandbox.
//! - `argv[0]` basename `apply_patch` or `applypatch` (a symlink to the binary, or `exec -a`):
//!   the apply_patch command; the patch is `argv[1]`, or stdin when absent.
//! - argv[0] basename `codex-linux-sandbox`: the Linux sandbox helper (core re-executes
//!   `/proc/self/exe` under that name, so no helper file needs installing).
//! - `argv[1] == --codex-linux-sandbox-inner`: the helper's last stage inside the namespaces
//!   (no-new-privs, Landlock, seccomp, exec), when the small program embedded for it cannot run.
//! - anything else: the `codex` command line proper.
//!
//! [`route`] is pure and decides; [`run_helper`] runs the chosen helper. Call both first thing
//! in `main`, before any thread or async runtime exists.

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// The flag that turns the binary into the apply_patch virtual CLI.
pub const APPLY_PATCH_FLAG: &str = "--codex-run-as-apply-patch";
/// Program names (argv[0] basenames) that run apply_patch.
pub const APPLY_PATCH_NAMES: [&str; 2] = ["apply_patch", "applypatch"];

/// Which program this invocation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// `codex --codex-run-as-apply-patch PATCH`.
    ApplyPatchFlag,
    /// `apply_patch [PATCH]` through argv[0].
    ApplyPatchArgv0,
    /// The Linux sandbox helper (argv[0] `codex-linux-sandbox`).
    LinuxSandbox,
    /// The sandbox helper's stage inside bubblewrap.
    LinuxSandboxInner,
    /// The `codex` CLI.
    Codex,
}

/// argv[1] of the sandbox helper's inner stage.
pub const LINUX_SANDBOX_INNER_FLAG: &str = "--codex-linux-sandbox-inner";

/// Decides the entry point from argv[0] and argv[1]. Pure.
pub fn route(argv0: &OsStr, argv1: Option<&OsStr>) -> Entry {
    let name = Path::new(argv0).file_name().and_then(OsStr::to_str);
    if name.is_some_and(|n| APPLY_PATCH_NAMES.contains(&n)) {
        Entry::ApplyPatchArgv0
    } else if name == Some(codex_linux_sandbox::HELPER_ARGV0) {
        Entry::LinuxSandbox
    } else if argv1 == Some(OsStr::new(APPLY_PATCH_FLAG)) {
        Entry::ApplyPatchFlag
    } else if argv1 == Some(OsStr::new(LINUX_SANDBOX_INNER_FLAG)) {
        Entry::LinuxSandboxInner
    } else {
        Entry::Codex
    }
}

/// Runs the helper `argv` asks for and returns its exit code, or `None` when the caller should
/// go on as the `codex` CLI.
pub fn run_helper(argv: &[OsString]) -> Option<i32> {
    let argv0 = argv.first().map(OsString::as_os_str).unwrap_or_default();
    let entry = route(argv0, argv.get(1).map(OsString::as_os_str));
    if entry == Entry::Codex {
        return None;
    }
    match entry {
        Entry::LinuxSandbox => return Some(linux_sandbox(&argv[1..])),
        Entry::LinuxSandboxInner => return Some(linux_sandbox(&argv[1..])),
        _ => {}
    }
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(error) => {
            eprintln!("Error: cannot determine the current directory: {error}");
            return Some(codex_apply_patch::standalone::EXIT_REJECTED);
        }
    };
    let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
    let code = match entry {
        Entry::ApplyPatchFlag => {
            codex_apply_patch::standalone::run_from_flag(&argv[2..], &cwd, &mut stdout, &mut stderr)
        }
        Entry::ApplyPatchArgv0 => codex_apply_patch::standalone::run_as_argv0(
            &argv[1..],
            &mut std::io::stdin().lock(),
            &cwd,
            &mut stdout,
            &mut stderr,
        ),
        Entry::Codex | Entry::LinuxSandbox | Entry::LinuxSandboxInner => {
            unreachable!("handled above")
        }
    };
    Some(code)
}

#[cfg(target_os = "linux")]
fn linux_sandbox(args: &[OsString]) -> i32 {
    codex_linux_sandbox::helper_main(args)
}

#[cfg(not(target_os = "linux"))]
fn linux_sandbox(_: &[OsString]) -> i32 {
    eprintln!("codex-linux-sandbox runs on Linux only");
    codex_linux_sandbox::EXIT_SANDBOX_ERROR
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_of(argv0: &str, argv1: Option<&str>) -> Entry {
        route(OsStr::new(argv0), argv1.map(OsStr::new))
    }

    #[test]
    fn routes() {
        let table = [
            ("codex", Some(APPLY_PATCH_FLAG), Entry::ApplyPatchFlag),
            (
                "/usr/bin/codex",
                Some(APPLY_PATCH_FLAG),
                Entry::ApplyPatchFlag,
            ),
            ("codex", None, Entry::Codex),
            ("codex", Some("--help"), Entry::Codex),
            ("codex", Some("exec"), Entry::Codex),
            ("apply_patch", None, Entry::ApplyPatchArgv0),
            ("/tmp/x/applypatch", Some("PATCH"), Entry::ApplyPatchArgv0),
            (
                "apply_patch",
                Some(APPLY_PATCH_FLAG),
                Entry::ApplyPatchArgv0,
            ),
            ("apply-patch", None, Entry::Codex),
            (
                "codex-linux-sandbox",
                Some("--request"),
                Entry::LinuxSandbox,
            ),
            (
                "/proc/self/exe",
                Some(LINUX_SANDBOX_INNER_FLAG),
                Entry::LinuxSandboxInner,
            ),
            (
                "codex",
                Some(LINUX_SANDBOX_INNER_FLAG),
                Entry::LinuxSandboxInner,
            ),
            ("apply_patch.sh", None, Entry::Codex),
            ("", None, Entry::Codex),
        ];
        for (argv0, argv1, expected) in table {
            assert_eq!(route_of(argv0, argv1), expected, "{argv0} {argv1:?}");
        }
    }

    #[test]
    fn the_flag_counts_only_as_the_first_argument() {
        assert_eq!(
            route(OsStr::new("codex"), Some(OsStr::new("exec"))),
            Entry::Codex
        );
        assert_eq!(
            run_helper(&["codex".into(), "exec".into(), APPLY_PATCH_FLAG.into()]),
            None
        );
    }
}
