//! The `codex` binary. Helper programs (apply_patch) are dispatched on argv before anything
//! else starts; everything else is the command line in [`cli`].

mod cli;
mod exec_cmd;
mod login_cmd;
mod sandbox_cmd;

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = codex_arg0::run_helper(&argv) {
        std::process::exit(code);
    }
    std::process::exit(cli::run(argv));
}
