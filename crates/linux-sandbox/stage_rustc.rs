// How rustc turns src/stage_main.rs into the freestanding inner stage. Included (`include!`) by
// build.rs, which embeds the stage for the target being built, and by the test suite, which
// also builds it for the other supported architecture and runs it under qemu.

/// A `rustc` command (the program named by $RUSTC, else `rustc`) that compiles `source` into
/// the inner stage `output` for `target`; the caller adds a linker when it needs one.
fn stage_rustc(
    target: &str,
    source: &std::path::Path,
    output: &std::path::Path,
) -> std::process::Command {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut command = std::process::Command::new(rustc);
    command
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "bin",
            "--target",
            target,
        ])
        .args([
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "strip=symbols",
        ])
        // A fixed address: the stage lives microseconds before it execs the command, which
        // gets a fresh, randomised image, so there is nothing to relocate at start.
        .args([
            "-C",
            "relocation-model=static",
            "-C",
            "target-feature=+crt-static",
        ])
        .args(["-C", "link-arg=-nostartfiles", "-C", "link-arg=-nostdlib"])
        .args([
            "-C",
            "link-arg=-static",
            "-C",
            "link-arg=-Wl,--build-id=none",
        ])
        .arg("-o")
        .arg(output)
        .arg(source);
    if target.contains("-musl") {
        // Rust links its own C runtime for musl (crt1.o and libc.a) whatever the link
        // arguments say; the stage has its own `_start` and no libc. (Not for glibc targets,
        // where the same flag would also turn off the linker Rust brings.)
        command.args(["-C", "link-self-contained=no"]);
    }
    command
}
