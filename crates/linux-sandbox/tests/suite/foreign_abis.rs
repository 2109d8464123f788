//! The seccomp filter on x86_64 cannot be stepped around through the kernel's other system-call
//! ABIs: an i386 call (`int 0x80`) ends the process, and an x32 call (numbers with bit 30 set)
//! fails with EPERM — on every route, with `process_vm_readv` (denied natively; unsandboxed,
//! asked about pid 0, it harmlessly fails with ESRCH or EINVAL) as the call tried. The probe is this test binary itself, run again inside the sandbox with only
//! [`abi_probe`] selected.

#![allow(unsafe_code)] // the probe's two raw system calls; see the SAFETY notes.

use super::conformance::{have, is_root};
use codex_protocol::SandboxPolicy;
use codex_sandbox::GitMode;
use codex_sandbox::config::SandboxSelection;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};

const PROBE_ENV: &str = "CODEX_TEST_ABI_PROBE";
const RESULT: &str = "abi-probe-result:";
/// `process_vm_readv` in the i386 table, and in the x32 one (with the x32 bit).
const I386_PROCESS_VM_READV: u32 = 347;
const X32_PROCESS_VM_READV: libc::c_long = 0x4000_0000 | 539;
const SIGSYS: i32 = 31;

/// i386 `process_vm_readv(0, NULL, 0, NULL, 0, ?)` through `int 0x80`: 0 or -errno. (The
/// flags argument is ebp, which cannot be set here; any value only changes the error.)
fn i386_process_vm_readv() -> i64 {
    let ret: u32;
    // SAFETY: `int 0x80` with eax = the call's i386 number and null pointers with zero
    // lengths, so the kernel reads and writes no memory of ours. ebx is reserved by LLVM, so
    // it is swapped in and out through a scratch register.
    unsafe {
        std::arch::asm!(
            "xchg {pid:e}, ebx",
            "int 0x80",
            "xchg {pid:e}, ebx",
            pid = inout(reg) 0u32 => _,
            inlateout("eax") I386_PROCESS_VM_READV => ret,
            in("ecx") 0u32,
            in("edx") 0u32,
            in("esi") 0u32,
            in("edi") 0u32,
        );
    }
    i64::from(ret as i32)
}

/// x32 `process_vm_readv(0, NULL, 0, NULL, 0, 0)` through `syscall`: 0 or -errno.
fn x32_process_vm_readv() -> i64 {
    // SAFETY: null pointers with zero lengths: the kernel touches no memory of ours.
    let ret = unsafe { libc::syscall(X32_PROCESS_VM_READV, 0, 0, 0, 0, 0, 0) };
    if ret == -1 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        ret
    }
}

/// The entry point of the probe (run with `--ignored`; does nothing unless [`PROBE_ENV`] names
/// the call to make).
#[test]
#[ignore = "the probe that other_system_call_abis_do_not_get_past_the_filter runs"]
fn abi_probe() {
    let Ok(call) = std::env::var(PROBE_ENV) else {
        return;
    };
    let result = match call.as_str() {
        "i386" => i386_process_vm_readv(),
        "x32" => x32_process_vm_readv(),
        other => panic!("unknown probe call {other}"),
    };
    println!("{RESULT}{result}");
}

/// Runs the probe making `call`, unsandboxed or under the helper with `force`.
fn probe(call: &str, sandbox: Option<&str>) -> (ExitStatus, Option<i64>) {
    let test_binary = std::env::current_exe().unwrap();
    let probe_args = [
        test_binary.to_str().unwrap(),
        "--exact",
        "suite::foreign_abis::abi_probe",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ];
    let mut command = match sandbox {
        None => Command::new(probe_args[0]),
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
                .args(["--", probe_args[0]])
                .env(codex_linux_sandbox::FORCE_ENV, force);
            command
        }
    };
    command.args(&probe_args[1..]);
    let output = command
        .env(PROBE_ENV, call)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout
        .lines()
        .find_map(|l| l.split_once(RESULT).map(|(_, value)| value))
        .map(|v| v.trim().parse().unwrap());
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
    // Unsandboxed, the i386 call must reach the kernel (or the check below would prove
    // nothing), and the x32 one must not fail with EPERM (x32 is often disabled: ENOSYS).
    let eperm = -i64::from(libc::EPERM);
    let (status, i386) = probe("i386", None);
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
    let (_, x32) = probe("x32", None);
    let x32 = x32.expect("the unsandboxed x32 probe reports");
    assert_ne!(
        x32, eperm,
        "x32 process_vm_readv fails with EPERM unsandboxed"
    );
    for force in routes {
        let route = if force.is_empty() { "landlock" } else { force };
        let (status, result) = probe("i386", Some(force));
        assert!(
            killed_by_sigsys(status) && result.is_none(),
            "{route}: an i386 call must end the process: {status:?}, {result:?}"
        );
        let (status, result) = probe("x32", Some(force));
        assert_eq!(result, Some(eperm), "{route}: x32 call ({status:?})");
    }
}
