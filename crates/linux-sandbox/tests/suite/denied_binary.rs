//! A policy that denies the directory of codex itself: the namespace routes execute their inner
//! stage through a descriptor, the embedded program's or this binary's
//! (`CODEX_LINUX_SANDBOX_INNER=binary`), so it runs either way and the binary stays denied
//! inside. (When the binary was executed by its path, it had to be shown inside — and under a
//! denied directory, unsearchable once capabilities are dropped, its exec failed.)

use super::conformance::readable_root_profile;
use super::signals::routes;
use codex_protocol::FileSystemAccess;
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn a_denied_codex_binary_stays_denied_and_the_stage_runs_either_way() {
    let exe = Path::new(env!("CARGO_BIN_EXE_codex-linux-sandbox"));
    // The namespace routes (the Landlock route has no inner stage).
    let routes: Vec<&str> = routes().into_iter().filter(|r| !r.is_empty()).collect();
    if codex_linux_sandbox::embedded_inner_stage().is_empty() {
        println!("SKIP: no embedded inner stage on this target");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ws = std::fs::canonicalize(dir.path()).unwrap();
    let request = codex_linux_sandbox::SandboxRequest {
        policy_cwd: ws.clone(),
        command_cwd: ws.clone(),
        tty: false,
        selection: readable_root_profile(
            "deny-codex",
            &[
                (ws.clone(), FileSystemAccess::Write),
                (exe.parent().unwrap().to_path_buf(), FileSystemAccess::None),
            ],
        ),
    };
    let request = serde_json::to_string(&request).unwrap();
    for route in routes {
        for stage in ["", "binary"] {
            let output = Command::new(exe)
                .arg("--request")
                .arg(&request)
                .args([
                    "--",
                    "sh",
                    "-c",
                    "head -c1 \"$0\" >/dev/null 2>&1 && echo shown || echo denied",
                ])
                .arg(exe)
                .env(codex_linux_sandbox::FORCE_ENV, route)
                .env(codex_linux_sandbox::INNER_STAGE_ENV, stage)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(output.status.success(), "{route} {stage}: {output:?}");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                "denied\n",
                "{route}, stage {stage:?}: {output:?}"
            );
        }
    }
}
