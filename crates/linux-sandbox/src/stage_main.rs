//! The inner stage as a freestanding program: no libc, no Rust runtime, no allocation. Built by
//! `build.rs` and embedded in the binary (see `stage.rs`); not part of the crate's module tree.
#![no_std]
#![no_main]

#[path = "stage.rs"]
mod stage;

// The kernel starts a static program at `_start` with the stack holding argc, the argv
// pointers, NULL, the envp pointers, NULL. Hand that stack pointer to `entry`.
#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "mov x29, xzr",
    "mov x30, xzr",
    "mov x0, sp",
    "bl {entry}",
    "brk #0",
    entry = sym entry,
);

/// # Safety
/// `stack` is the initial stack the kernel built (see above).
unsafe extern "C" fn entry(stack: *mut usize) -> ! {
    // SAFETY: the layout the kernel gives a new program: argc, then argc + 1 argv pointers
    // (NULL last), then the envp pointers. argv stays valid (and writable) for the process.
    let code = unsafe {
        let argc = *stack;
        let argv = stack.add(1) as *mut *const u8;
        let envp = argv.add(argc + 1) as *const *const u8;
        // The NULL after the last argument goes along as argv's end.
        let args = core::slice::from_raw_parts_mut(argv, argc);
        stage::run(args, envp)
    };
    stage::sys::exit(code)
}

// What the compiler may call for copies, fills and comparisons, which libc would provide.
// Volatile accesses keep these loops from being turned back into calls to themselves.

#[unsafe(no_mangle)]
unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller passes `n` valid bytes at each end, not overlapping.
    unsafe {
        for i in 0..n {
            core::ptr::write_volatile(dest.add(i), core::ptr::read_volatile(src.add(i)));
        }
    }
    dest
}

#[unsafe(no_mangle)]
unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller passes `n` valid bytes at each end; copying from the far end first
    // when `dest` is above `src` keeps overlapping bytes intact.
    unsafe {
        if (dest as usize) <= (src as usize) {
            return memcpy(dest, src, n);
        }
        for i in (0..n).rev() {
            core::ptr::write_volatile(dest.add(i), core::ptr::read_volatile(src.add(i)));
        }
    }
    dest
}

#[unsafe(no_mangle)]
unsafe extern "C" fn memset(dest: *mut u8, byte: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller passes `n` valid bytes at `dest`.
    unsafe {
        for i in 0..n {
            core::ptr::write_volatile(dest.add(i), byte as u8);
        }
    }
    dest
}

#[unsafe(no_mangle)]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the caller passes `n` valid bytes at each pointer.
    unsafe {
        for i in 0..n {
            let (x, y) = (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i)));
            if x != y {
                return i32::from(x) - i32::from(y);
            }
        }
    }
    0
}

#[unsafe(no_mangle)]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: as memcmp.
    unsafe { memcmp(a, b, n) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller passes a NUL-terminated string.
    unsafe {
        while core::ptr::read_volatile(s.add(n)) != 0 {
            n += 1;
        }
    }
    n
}

/// Referenced by the prebuilt `core`, never called: this program aborts on panic.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    stage::sys::exit(stage::EXIT_SETUP)
}
