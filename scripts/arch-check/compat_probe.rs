//! A 32-bit Arm (AArch32) program for `scripts/verify-arch`: an arm64 kernel built with
//! CONFIG_COMPAT runs it, and its system calls reach the seccomp filter with the AArch32
//! audit architecture, which the filter must answer by killing the process rather than by
//! reading the numbers as arm64 ones (a way around the filter otherwise). It calls
//! `process_vm_readv(0, NULL, 0, NULL, 0, 0)` (denied natively; unsandboxed it fails
//! harmlessly with ESRCH) and prints the raw result. Freestanding: no libc, built with rustc
//! and rust-lld alone, so no 32-bit Arm C toolchain is needed.
#![no_std]
#![no_main]

use core::arch::asm;

/// AArch32 EABI numbers.
const SYS_EXIT_GROUP: u32 = 248;
const SYS_WRITE: u32 = 4;
const SYS_PROCESS_VM_READV: u32 = 376;

/// A system call with up to four arguments; r7 (the number) is saved and restored around it,
/// as the compiler may keep its frame pointer there.
fn syscall(number: u32, a: [u32; 4]) -> i32 {
    let ret: i32;
    // SAFETY: the callers pass numbers and arguments the kernel reads as integers or as the
    // pointer and length of a live buffer.
    unsafe {
        asm!(
            "push {{r7}}",
            "mov r7, {number}",
            "svc 0",
            "pop {{r7}}",
            number = in(reg) number,
            inlateout("r0") a[0] => ret,
            in("r1") a[1],
            in("r2") a[2],
            in("r3") a[3],
            in("r4") 0u32,
            in("r5") 0u32,
        );
    }
    ret
}

fn exit(code: u32) -> ! {
    syscall(SYS_EXIT_GROUP, [code, 0, 0, 0]);
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(101)
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let result = syscall(SYS_PROCESS_VM_READV, [0, 0, 0, 0]);
    // The result in decimal, then a newline.
    let mut text = [0u8; 16];
    let mut at = text.len() - 1;
    text[at] = b'\n';
    let mut value = result.unsigned_abs();
    loop {
        at -= 1;
        text[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if result < 0 {
        at -= 1;
        text[at] = b'-';
    }
    let line = &text[at..];
    syscall(SYS_WRITE, [1, line.as_ptr() as u32, line.len() as u32, 0]);
    exit(0)
}
