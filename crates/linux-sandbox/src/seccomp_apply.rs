//! Turns a seccomp plan into a classic BPF filter and installs it on the calling thread:
//! matched calls fail with `EPERM`, a foreign architecture's calls (e.g. i386 `int 0x80` on
//! x86_64) kill the process, everything else is allowed.
//!
//! The listed calls are found by a binary search rather than one comparison each, so an
//! allowed call runs a dozen instructions: the kernel runs the filter once per call number
//! when it loads it (to cache the calls it may always allow), a cost paid once per sandboxed
//! command that grows with the path an allowed call takes.

use codex_sandbox::linux::{SeccompPlan, SocketRule};

/// A compiled filter: the `sock_filter` array handed to the kernel.
pub type BpfProgram = Vec<libc::sock_filter>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeccompError {
    #[error("unsupported architecture for the seccomp filter (x86_64 and aarch64 are supported)")]
    Architecture,
    #[error("the seccomp plan names an unknown system call '{0}'")]
    UnknownSyscall(&'static str),
    #[error("the seccomp plan is too long for one filter ({0} denied calls)")]
    TooLong(usize),
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

/// The `AUDIT_ARCH_*` value of this architecture's native system calls.
fn audit_arch() -> Result<u32, SeccompError> {
    if cfg!(target_arch = "x86_64") {
        Ok(0xC000_003E)
    } else if cfg!(target_arch = "aarch64") {
        Ok(0xC000_00B7)
    } else {
        Err(SeccompError::Architecture)
    }
}

// Classic BPF, as `linux/filter.h` and `linux/seccomp.h` define it: BPF_LD|BPF_W|BPF_ABS,
// BPF_JMP|BPF_JEQ|BPF_K, BPF_JMP|BPF_JGE|BPF_K, BPF_RET|BPF_K.
const LD_W_ABS: u16 = 0x20;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
/// Offsets in `struct seccomp_data`: nr, arch, and the low 32 bits of args[0] (little-endian).
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const DATA_ARG0_LOW: u32 = 16;
/// x86_64 numbers with this bit set are the x32 ABI's: a second table of the same calls.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A conditional jump at `at` to `target` when true (falls through otherwise).
fn jump_to(code: u16, k: u32, at: usize, target: usize) -> Result<libc::sock_filter, SeccompError> {
    let jt = u8::try_from(target - at - 1).map_err(|_| SeccompError::TooLong(target))?;
    Ok(libc::sock_filter { code, jt, jf: 0, k })
}

/// Where a listed call number leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Deny,
    /// Allowed or denied by its socket family (the first argument).
    Socket,
}

/// Leaves of the search tree compare this many numbers one by one.
const LEAF: usize = 3;

/// Emits a search over `calls` (sorted by number) for the number in the accumulator: a
/// `jge` splits the list in halves down to leaves of at most [`LEAF`] `jeq`s, each jumping
/// to its verdict's label (patched in later, recorded in `fixups`) and ending in
/// `ret allow`. An allowed call thus runs about log2(n) + LEAF comparisons instead of one
/// per listed call, which matters because the kernel runs the filter once per system call
/// number when it loads it, to find the calls it can always allow without running it.
fn emit_search(
    calls: &[(u32, Verdict)],
    program: &mut BpfProgram,
    fixups: &mut Vec<(usize, Verdict)>,
) -> Result<(), SeccompError> {
    if calls.len() <= LEAF {
        for &(nr, verdict) in calls {
            fixups.push((program.len(), verdict));
            program.push(stmt(JMP_JEQ_K, nr));
        }
        program.push(stmt(RET_K, RET_ALLOW));
        return Ok(());
    }
    let (low, high) = calls.split_at(calls.len() / 2);
    let split = program.len();
    program.push(stmt(JMP_JGE_K, high[0].0));
    emit_search(low, program, fixups)?;
    // Taken (number >= the upper half's first): skip the lower half's instructions.
    program[split].jt =
        u8::try_from(program.len() - split - 1).map_err(|_| SeccompError::TooLong(calls.len()))?;
    emit_search(high, program, fixups)
}

/// Compiles the plan. Layout: check the architecture, load the call number, (x86_64) deny
/// x32 numbers, search the denied and socket calls ([`emit_search`]), then
/// `SOCKET: ld arg0; jeq family; ret allow; DENY: ret errno`.
pub fn compile(plan: &SeccompPlan) -> Result<BpfProgram, SeccompError> {
    let arch = audit_arch()?;
    let mut calls = plan
        .denied
        .iter()
        .map(|name| number(name).map(|n| (n as u32, Verdict::Deny)))
        .collect::<Result<Vec<_>, _>>()?;
    for call in [libc::SYS_socket, libc::SYS_socketpair] {
        if !calls.iter().any(|&(nr, _)| nr == call as u32) {
            calls.push((call as u32, Verdict::Socket));
        }
    }
    calls.sort_unstable_by_key(|&(nr, _)| nr);
    calls.dedup_by_key(|&mut (nr, _)| nr);
    let mut program: BpfProgram = vec![
        stmt(LD_W_ABS, DATA_ARCH),
        libc::sock_filter {
            code: JMP_JEQ_K,
            jt: 1,
            jf: 0,
            k: arch,
        },
        stmt(RET_K, RET_KILL_PROCESS),
        stmt(LD_W_ABS, DATA_NR),
    ];
    let x32_check = cfg!(target_arch = "x86_64").then(|| program.len());
    if x32_check.is_some() {
        program.push(stmt(JMP_JGE_K, X32_SYSCALL_BIT));
    }
    let mut fixups = Vec::new();
    emit_search(&calls, &mut program, &mut fixups)?;
    let socket = program.len();
    program.push(stmt(LD_W_ABS, DATA_ARG0_LOW));
    // The jump skips the `ret allow` that follows to reach DENY, or falls through to it.
    let (family, when_equal_deny) = match plan.sockets {
        SocketRule::UnixOnly => (libc::AF_UNIX as u32, false),
        SocketRule::AllButVsock => (libc::AF_VSOCK as u32, true),
    };
    program.push(libc::sock_filter {
        code: JMP_JEQ_K,
        jt: if when_equal_deny { 1 } else { 0 },
        jf: if when_equal_deny { 0 } else { 1 },
        k: family,
    });
    program.push(stmt(RET_K, RET_ALLOW));
    let deny = program.len();
    program.push(stmt(RET_K, RET_ERRNO | libc::EPERM as u32));
    if let Some(at) = x32_check {
        program[at] = jump_to(JMP_JGE_K, X32_SYSCALL_BIT, at, deny)?;
    }
    for (at, verdict) in fixups {
        let target = match verdict {
            Verdict::Deny => deny,
            Verdict::Socket => socket,
        };
        program[at] = jump_to(JMP_JEQ_K, program[at].k, at, target)?;
    }
    Ok(program)
}

/// A compiled filter as the hex of its `sock_filter` array in memory (the inner stage's
/// `--seccomp`).
pub fn to_hex(program: &BpfProgram) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(program.len() * 16);
    for instruction in program {
        let mut bytes = [0u8; 8];
        bytes[..2].copy_from_slice(&instruction.code.to_ne_bytes());
        bytes[2] = instruction.jt;
        bytes[3] = instruction.jf;
        bytes[4..].copy_from_slice(&instruction.k.to_ne_bytes());
        for b in bytes {
            hex.push(char::from(DIGITS[usize::from(b >> 4)]));
            hex.push(char::from(DIGITS[usize::from(b & 0xf)]));
        }
    }
    hex
}

/// Installs a compiled filter on the calling thread (no-new-privs must already be set).
pub fn install(program: &BpfProgram) -> Result<(), SeccompError> {
    crate::sys::install_seccomp_filter(program).map_err(|e| SeccompError::Install(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_protocol::NetworkSandboxPolicy;
    use codex_sandbox::linux::seccomp_plan;

    /// Runs `program` the way the kernel would for one call: (arch, nr, args[0]).
    fn decide(program: &BpfProgram, arch: u32, nr: u32, arg0: u64) -> u32 {
        run(program, arch, nr, arg0).0
    }

    /// The verdict and the number of instructions run to reach it.
    fn run(program: &BpfProgram, arch: u32, nr: u32, arg0: u64) -> (u32, usize) {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        data[16..24].copy_from_slice(&arg0.to_le_bytes());
        let (mut pc, mut acc, mut steps) = (0usize, 0u32, 0usize);
        loop {
            let insn = program[pc];
            pc += 1;
            steps += 1;
            match insn.code {
                LD_W_ABS => {
                    let at = insn.k as usize;
                    acc = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
                }
                JMP_JEQ_K | JMP_JGE_K => {
                    let taken = if insn.code == JMP_JEQ_K {
                        acc == insn.k
                    } else {
                        acc >= insn.k
                    };
                    pc += usize::from(if taken { insn.jt } else { insn.jf });
                }
                RET_K => return (insn.k, steps),
                other => panic!("unexpected instruction {other:#x}"),
            }
        }
    }

    #[test]
    fn the_filter_denies_what_the_plan_names_and_nothing_else() {
        let arch = audit_arch().unwrap();
        let eperm = RET_ERRNO | libc::EPERM as u32;
        for network in [
            NetworkSandboxPolicy::Restricted,
            NetworkSandboxPolicy::Enabled,
        ] {
            let plan = seccomp_plan(network);
            let program = compile(&plan).unwrap();
            for name in &plan.denied {
                let nr = number(name).unwrap() as u32;
                assert_eq!(decide(&program, arch, nr, 0), eperm, "{name}");
            }
            for nr in [
                libc::SYS_read,
                libc::SYS_write,
                libc::SYS_execve,
                libc::SYS_sendmsg,
            ] {
                assert_eq!(decide(&program, arch, nr as u32, 0), RET_ALLOW, "{nr}");
            }
            let restricted = network == NetworkSandboxPolicy::Restricted;
            for call in [libc::SYS_socket, libc::SYS_socketpair] {
                let call = call as u32;
                let family = |f: i32| decide(&program, arch, call, f as u64);
                assert_eq!(family(libc::AF_UNIX), RET_ALLOW);
                assert_eq!(family(libc::AF_VSOCK), eperm);
                let inet = if restricted { eperm } else { RET_ALLOW };
                assert_eq!(family(libc::AF_INET), inet);
                assert_eq!(family(libc::AF_INET6), inet);
                assert_eq!(family(libc::AF_NETLINK), inet);
                // The kernel reads the family as an int: high bits do not change it.
                let high = (1u64 << 32) | libc::AF_VSOCK as u64;
                assert_eq!(decide(&program, arch, call, high), eperm);
            }
            // Another architecture's calls (i386 through int 0x80) end the process.
            assert_eq!(decide(&program, 0x4000_0003, 0, 0), RET_KILL_PROCESS);
            if cfg!(target_arch = "x86_64") {
                // The x32 ABI's numbers reach the same calls: all denied.
                let x32_write = X32_SYSCALL_BIT | libc::SYS_write as u32;
                assert_eq!(decide(&program, arch, x32_write, 0), eperm);
            }
        }
    }

    #[test]
    fn every_call_number_gets_the_plans_verdict_in_a_short_path() {
        let arch = audit_arch().unwrap();
        let eperm = RET_ERRNO | libc::EPERM as u32;
        let sockets = [libc::SYS_socket as u32, libc::SYS_socketpair as u32];
        for network in [
            NetworkSandboxPolicy::Restricted,
            NetworkSandboxPolicy::Enabled,
        ] {
            let plan = seccomp_plan(network);
            let program = compile(&plan).unwrap();
            let denied: Vec<u32> = plan
                .denied
                .iter()
                .map(|name| number(name).unwrap() as u32)
                .collect();
            let mut longest_allowed = 0;
            for nr in 0..1024u32 {
                let (verdict, steps) = run(&program, arch, nr, libc::AF_UNIX as u64);
                let want = if denied.contains(&nr) {
                    eperm
                } else {
                    RET_ALLOW
                };
                assert_eq!(verdict, want, "call {nr} under {network:?}");
                if verdict == RET_ALLOW && !sockets.contains(&nr) {
                    longest_allowed = longest_allowed.max(steps);
                }
                if sockets.contains(&nr) {
                    let vsock = decide(&program, arch, nr, libc::AF_VSOCK as u64);
                    assert_eq!(vsock, eperm, "call {nr} with AF_VSOCK");
                }
            }
            // A straight list would take one comparison per listed call (over 20); the search
            // takes the head, log2 of the list in splits and a leaf.
            assert!(
                longest_allowed <= 12,
                "an allowed call runs {longest_allowed} instructions"
            );
        }
    }

    #[test]
    fn a_filter_is_written_as_the_bytes_of_its_instructions() {
        // `ret SECCOMP_RET_ALLOW`, as the inner stage's tests write it by hand.
        let allow = libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        };
        assert_eq!(to_hex(&vec![allow]), "060000000000ff7f");
        let program = compile(&seccomp_plan(NetworkSandboxPolicy::Restricted)).unwrap();
        assert_eq!(to_hex(&program).len(), program.len() * 16);
    }

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
