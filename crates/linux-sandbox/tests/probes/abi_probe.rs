//! Built and run by `tests/suite/foreign_abis.rs` (x86_64 only): makes one `process_vm_readv`
//! call through another system-call ABI and prints its raw result (0 or -errno). Asked about
//! pid 0 with null pointers and zero lengths, the call touches no memory; unsandboxed it fails
//! harmlessly (ESRCH or EINVAL), or with ENOSYS where the kernel lacks that ABI.
//!
//! `abi_probe i386`: through `int 0x80` (the i386 number, 347). `abi_probe x32`: through
//! `syscall` with the x32 bit (0x4000_0000 | 539).

use std::arch::asm;

fn i386() -> i64 {
    let ret: u32;
    // SAFETY: `int 0x80` with eax = the call's i386 number and null pointers with zero lengths
    // (the flags argument is ebp, which cannot be set here; any value only changes the
    // error). ebx is reserved by LLVM, so it is swapped in and out through a scratch register.
    unsafe {
        asm!(
            "xchg {pid:e}, ebx",
            "int 0x80",
            "xchg {pid:e}, ebx",
            pid = inout(reg) 0u32 => _,
            inlateout("eax") 347u32 => ret,
            in("ecx") 0u32,
            in("edx") 0u32,
            in("esi") 0u32,
            in("edi") 0u32,
        );
    }
    i64::from(ret as i32)
}

fn x32() -> i64 {
    let ret: i64;
    // SAFETY: a system call with null pointers and zero lengths; rcx and r11 are clobbered by
    // `syscall` itself.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") 0x4000_0000i64 | 539 => ret,
            in("rdi") 0u64,
            in("rsi") 0u64,
            in("rdx") 0u64,
            in("r10") 0u64,
            in("r8") 0u64,
            in("r9") 0u64,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}

fn main() {
    let result = match std::env::args().nth(1).as_deref() {
        Some("i386") => i386(),
        Some("x32") => x32(),
        other => {
            eprintln!("abi_probe: unknown ABI {other:?} (i386 or x32)");
            std::process::exit(2);
        }
    };
    println!("{result}");
}
