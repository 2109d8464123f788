//! The seccomp filter on x86_64 cannot be stepped around through the kernel's other system-call
//! ABIs: an i386 call (`int 0x80`) ends the process, and an x32 call (numbers with bit 30 set)
//! fails with EPERM — on every route, with `process_vm_readv` (denied natively) as the call
//! tried. The probe, `tests/probes/abi_probe.rs`, is built with rustc for the test.

use super::conformance::{have, is_root};
use codex_protocol::SandboxPolicy;
use codex_sandbox::GitMode;
use codex_sandbox::config::SandboxSelection;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

const SIGSYS: i32 = 31;

/// Builds the probe into `dir`; `None` when rustc cannot be run.
fn build_probe(dir: &Path) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probes/abi_probe.rs");
    let program = dir.join("abi_probe");
    let output = Command::new("rustc")
        .args(["--edition", "2021", "-O", "-o"])
        .arg(&program)
        .arg(&source)
        .output()
        .ok()?;
    assert!(
        output.status.success(),
        "building {}: {}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(program)
}

/// Runs the probe for `abi`, unsandboxed or under the helper with `force`; its exit status
/// and the result it printed.
fn probe(program: &Path, abi: &str, sandbox: Option<&str>) -> (ExitStatus, Option<i64>) {
    let mut command = match sandbox {
        None => Command::new(program),
        Some(force) => {
            let cwd = std::env::temp_dir();
            let request = codex_linux_sandbox::SandboxRequest {
                policy_cwd: cwd.clone(),
                command_cwd: cwd,
                tty: false,
                selection: SandboxSelection::Legacy {
                    policy: SandboxPolicy::ReadOnly {
                        access: Default::default(),
                    },
                    git: GitMode::ReadOnly,
                },
            };
            let mut command = Command::new(env!("CARGO_BIN_EXE_codex-linux-sandbox"));
            command
                .arg("--request")
                .arg(serde_json::to_string(&request).unwrap())
                .arg("--")
                .arg(program)
                .env(codex_linux_sandbox::FORCE_ENV, force);
            command
        }
    };
    let output = command.arg(abi).stdin(Stdio::null()).output().unwrap();
    let result = String::from_utf8_lossy(&output.stdout).trim().parse().ok();
    (output.status, result)
}

/// Killed by SIGSYS: directly (the command was exec'd in place), or as reported by a parent
/// that waited for it (128 + the signal).
fn killed_by_sigsys(status: ExitStatus) -> bool {
    status.signal() == Some(SIGSYS) || status.code() == Some(128 + SIGSYS)
}

#[test]
fn other_system_call_abis_do_not_get_past_the_filter() {
    let mut routes = vec![""];
    if have("/usr/bin/bwrap") {
        routes.push("bubblewrap");
    } else {
        println!("SKIP: the bubblewrap route (no /usr/bin/bwrap)");
    }
    if is_root() || std::path::Path::new("/proc/sys/kernel/unprivileged_userns_clone").exists() {
        routes.push("builtin");
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(program) = build_probe(dir.path()) else {
        println!("SKIP: rustc cannot be run to build the probe");
        return;
    };
    // Unsandboxed, the i386 call must reach the kernel (or the check below would prove
    // nothing), and the x32 one must not fail with EPERM (x32 is often disabled: ENOSYS).
    let eperm = -i64::from(libc::EPERM);
    let (status, i386) = probe(&program, "i386", None);
    match i386 {
        Some(result) if result != -i64::from(libc::ENOSYS) => {
            assert_ne!(
                result, eperm,
                "i386 process_vm_readv fails with EPERM unsandboxed"
            );
        }
        _ => {
            println!("SKIP: i386 system calls do not work here ({status:?}, {i386:?})");
            return;
        }
    }
    let (_, x32) = probe(&program, "x32", None);
    let x32 = x32.expect("the unsandboxed x32 probe reports");
    assert_ne!(
        x32, eperm,
        "x32 process_vm_readv fails with EPERM unsandboxed"
    );
    for force in routes {
        let route = if force.is_empty() { "landlock" } else { force };
        let (status, result) = probe(&program, "i386", Some(force));
        assert!(
            killed_by_sigsys(status) && result.is_none(),
            "{route}: an i386 call must end the process: {status:?}, {result:?}"
        );
        let (status, result) = probe(&program, "x32", Some(force));
        assert_eq!(result, Some(eperm), "{route}: x32 call ({status:?})");
    }
}
