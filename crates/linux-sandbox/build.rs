//! Compiles the inner stage (`src/stage_main.rs`) into a freestanding program of a few kilobytes
//! that the crate embeds (`$OUT_DIR/inner-stage`). Only for Linux on x86_64 and aarch64, the
//! architectures the seccomp filter supports; elsewhere, or if the compile fails (with a
//! warning), the file is empty and the full binary runs the stage instead.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=src/stage.rs");
    println!("cargo:rerun-if-changed=src/stage_main.rs");
    println!("cargo:rerun-if-changed=stage_rustc.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let program = out.join("inner-stage");
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    let supported = target.contains("-linux-")
        && (target.starts_with("x86_64-") || target.starts_with("aarch64-"));
    if !supported || !build(&target, &program) {
        std::fs::write(&program, b"").expect("OUT_DIR is writable");
    }
}

include!("stage_rustc.rs");

fn build(target: &str, program: &Path) -> bool {
    let mut command = stage_rustc(target, Path::new("src/stage_main.rs"), program);
    if let Some(linker) = std::env::var_os("RUSTC_LINKER") {
        let mut flag = std::ffi::OsString::from("linker=");
        flag.push(linker);
        command.arg("-C").arg(flag);
    }
    match command.output() {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            for line in stderr.lines().take(20) {
                println!("cargo:warning=inner stage: {line}");
            }
            println!(
                "cargo:warning=the freestanding inner stage did not build; the full binary runs it instead (slower)"
            );
            false
        }
        Err(e) => {
            println!("cargo:warning=could not run rustc for the inner stage: {e}");
            false
        }
    }
}
