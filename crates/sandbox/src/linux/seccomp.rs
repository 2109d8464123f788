//! The seccomp plan: which system calls fail with `EPERM`.
//!
//! Always denied: `ptrace`, `process_vm_readv`/`process_vm_writev` (reading other processes),
//! `io_uring_*` (a second, unfiltered syscall path) and `AF_VSOCK` sockets (host services).
//! With the network off also: every call that connects, accepts, binds, sends to an address or
//! inspects a socket, and `socket`/`socketpair` for any family but `AF_UNIX`. `read`, `write`,
//! `sendmsg`/`recvmsg` and `recvfrom` stay allowed (build tools use them on pipes and Unix
//! sockets).

use codex_protocol::NetworkSandboxPolicy;

/// Calls denied in every sandboxed mode.
pub const ALWAYS_DENIED: [&str; 6] = [
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
];

/// Calls denied when the network is off.
pub const NETWORK_DENIED: [&str; 13] = [
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "sendto",
    "sendmmsg",
    "recvmmsg",
    "getsockopt",
    "setsockopt",
    "getpeername",
    "getsockname",
    "shutdown",
];

/// Which socket families `socket` and `socketpair` may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketRule {
    /// Only `AF_UNIX`.
    UnixOnly,
    /// Any family but `AF_VSOCK`.
    AllButVsock,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeccompPlan {
    /// Denied outright (by name; the executor maps names to numbers per architecture).
    pub denied: Vec<&'static str>,
    pub sockets: SocketRule,
}

pub fn seccomp_plan(network: NetworkSandboxPolicy) -> SeccompPlan {
    let mut denied: Vec<&'static str> = ALWAYS_DENIED.to_vec();
    let sockets = match network {
        NetworkSandboxPolicy::Restricted => {
            denied.extend(NETWORK_DENIED);
            SocketRule::UnixOnly
        }
        NetworkSandboxPolicy::Enabled => SocketRule::AllButVsock,
    };
    SeccompPlan { denied, sockets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_off_denies_socket_calls_and_keeps_unix_sockets() {
        let plan = seccomp_plan(NetworkSandboxPolicy::Restricted);
        assert_eq!(plan.sockets, SocketRule::UnixOnly);
        for name in [
            "connect",
            "sendto",
            "getsockopt",
            "ptrace",
            "io_uring_setup",
        ] {
            assert!(plan.denied.contains(&name), "{name}");
        }
        for name in ["sendmsg", "recvmsg", "recvfrom", "write"] {
            assert!(!plan.denied.contains(&name), "{name}");
        }
    }

    #[test]
    fn network_on_still_denies_ptrace_io_uring_and_vsock() {
        let plan = seccomp_plan(NetworkSandboxPolicy::Enabled);
        assert_eq!(plan.sockets, SocketRule::AllButVsock);
        assert_eq!(plan.denied, ALWAYS_DENIED.to_vec());
    }
}
