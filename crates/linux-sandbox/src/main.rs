//! The helper as its own program (the `codex` binary reaches the same code through argv[0]).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    #[cfg(target_os = "linux")]
    std::process::exit(codex_linux_sandbox::helper_main(&args));
    #[cfg(not(target_os = "linux"))]
    {
        let _ = args;
        eprintln!("codex-linux-sandbox runs on Linux only");
        std::process::exit(codex_linux_sandbox::EXIT_SANDBOX_ERROR);
    }
}
