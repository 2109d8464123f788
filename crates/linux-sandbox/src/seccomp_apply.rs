//! Turns a seccomp plan into a BPF filter (seccompiler) and installs it on the calling thread:
//! matched calls fail with `EPERM`, everything else is allowed.

use codex_sandbox::linux::{SeccompPlan, SocketRule};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeccompError {
    #[error("unsupported architecture for the seccomp filter (x86_64 and aarch64 are supported)")]
    Architecture,
    #[error("the seccomp plan names an unknown system call '{0}'")]
    UnknownSyscall(&'static str),
    #[error("building the seccomp filter failed: {0}")]
    Build(String),
    #[error("installing the seccomp filter failed: {0}")]
    Install(String),
}

fn number(name: &'static str) -> Result<i64, SeccompError> {
    let n = match name {
        "ptrace" => libc::SYS_ptrace,
        "process_vm_readv" => libc::SYS_process_vm_readv,
        "process_vm_writev" => libc::SYS_process_vm_writev,
        "io_uring_setup" => libc::SYS_io_uring_setup,
        "io_uring_enter" => libc::SYS_io_uring_enter,
        "io_uring_register" => libc::SYS_io_uring_register,
        "connect" => libc::SYS_connect,
        "accept" => libc::SYS_accept,
        "accept4" => libc::SYS_accept4,
        "bind" => libc::SYS_bind,
        "listen" => libc::SYS_listen,
        "sendto" => libc::SYS_sendto,
        "sendmmsg" => libc::SYS_sendmmsg,
        "recvmmsg" => libc::SYS_recvmmsg,
        "getsockopt" => libc::SYS_getsockopt,
        "setsockopt" => libc::SYS_setsockopt,
        "getpeername" => libc::SYS_getpeername,
        "getsockname" => libc::SYS_getsockname,
        "shutdown" => libc::SYS_shutdown,
        other => return Err(SeccompError::UnknownSyscall(other)),
    };
    Ok(n)
}

fn arch() -> Result<TargetArch, SeccompError> {
    if cfg!(target_arch = "x86_64") {
        Ok(TargetArch::x86_64)
    } else if cfg!(target_arch = "aarch64") {
        Ok(TargetArch::aarch64)
    } else {
        Err(SeccompError::Architecture)
    }
}

/// Compiles the plan.
pub fn compile(plan: &SeccompPlan) -> Result<BpfProgram, SeccompError> {
    fn build(e: impl std::fmt::Display) -> SeccompError {
        SeccompError::Build(e.to_string())
    }
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for name in &plan.denied {
        rules.insert(number(name)?, Vec::new());
    }
    let family = |op, value: i32| -> Result<Vec<SeccompRule>, SeccompError> {
        let condition =
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, op, value as u64).map_err(build)?;
        Ok(vec![SeccompRule::new(vec![condition]).map_err(build)?])
    };
    let socket_rules = match plan.sockets {
        SocketRule::UnixOnly => family(SeccompCmpOp::Ne, libc::AF_UNIX)?,
        SocketRule::AllButVsock => family(SeccompCmpOp::Eq, libc::AF_VSOCK)?,
    };
    rules.insert(libc::SYS_socket, socket_rules.clone());
    rules.insert(libc::SYS_socketpair, socket_rules);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch()?,
    )
    .map_err(build)?;
    filter.try_into().map_err(build)
}

/// A compiled filter as the hex of its `sock_filter` array in memory (the inner stage's
/// `--seccomp`).
pub fn to_hex(program: &BpfProgram) -> String {
    let mut hex = String::with_capacity(program.len() * 16);
    for instruction in program {
        let mut bytes = [0u8; 8];
        bytes[..2].copy_from_slice(&instruction.code.to_ne_bytes());
        bytes[2] = instruction.jt;
        bytes[3] = instruction.jf;
        bytes[4..].copy_from_slice(&instruction.k.to_ne_bytes());
        for b in bytes {
            hex.push_str(&format!("{b:02x}"));
        }
    }
    hex
}

/// Installs a compiled filter on the calling thread (no-new-privs must already be set).
pub fn install(program: &BpfProgram) -> Result<(), SeccompError> {
    seccompiler::apply_filter(program).map_err(|e| SeccompError::Install(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_protocol::NetworkSandboxPolicy;
    use codex_sandbox::linux::seccomp_plan;

    #[test]
    fn both_plans_compile() {
        for network in [
            NetworkSandboxPolicy::Restricted,
            NetworkSandboxPolicy::Enabled,
        ] {
            let program = compile(&seccomp_plan(network)).unwrap();
            assert!(!program.is_empty());
        }
    }
}
