//! Running one shell command for the model: `$SHELL -lc CMD` (bash when SHELL is unset) in a
//! directory, under the session's sandbox, with an environment built from the policy, a time
//! limit, and output kept within a budget (head and tail, the middle elided).
//!
//! The command runs in its own process group; on timeout the whole group is killed, so nothing
//! it started is left running.

use codex_sandbox::config::SandboxSelection;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// How commands are confined.
#[derive(Debug, Clone)]
pub enum Confinement {
    /// `danger-full-access`: run directly.
    None,
    /// Through the Linux sandbox helper: `helper` (the codex binary) run as
    /// `codex-linux-sandbox --request JSON -- COMMAND`.
    LinuxHelper {
        helper: PathBuf,
        policy_cwd: PathBuf,
        selection: SandboxSelection,
    },
}

#[derive(Debug, Clone)]
pub struct CommandRequest {
    /// The program and its arguments (see [`shell_argv`]).
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    /// Output beyond this many bytes keeps its head and tail.
    pub max_output_bytes: usize,
    /// Whether stderr joins the output (else it is discarded).
    pub capture_stderr: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// `None` when killed (timeout) or ended by a signal.
    pub exit_code: Option<i32>,
    /// stdout and stderr, interleaved as they came, within the budget.
    pub output: String,
    pub wall: Duration,
    pub timed_out: bool,
}

/// The user's shell: `$SHELL` when it is an absolute path, else bash.
pub fn shell() -> String {
    std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty() && Path::new(s).is_absolute())
        .unwrap_or_else(|| "/bin/bash".into())
}

/// The shell and its arguments for `command` (a login shell).
pub fn shell_argv(command: &str) -> Vec<String> {
    vec![shell(), "-lc".into(), command.to_string()]
}

/// What the snapshot keeps of a login shell: its exported variables (not the ones bash owns or
/// that describe the snapshot's own process) and its functions.
const SNAPSHOT_SCRIPT: &str = r#"for v in $(compgen -e); do case $v in PWD|OLDPWD|SHLVL|_|BASHOPTS|SHELLOPTS|BASH_*) continue;; esac; printf 'export %s=%q\n' "$v" "${!v}"; done; declare -f"#;

/// A bash login shell's setup (profile files) costs tens to hundreds of milliseconds per
/// command. Run it once instead, under the same confinement, and keep what it produced; each
/// command then sources that (see [`snapshot_argv`]). `None` for shells other than bash, or
/// when the login shell fails.
pub async fn capture_shell_snapshot(
    shell: &str,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    confinement: &Confinement,
) -> Option<String> {
    if Path::new(shell).file_name().and_then(|n| n.to_str()) != Some("bash") {
        return None;
    }
    let request = CommandRequest {
        argv: vec![shell.to_string(), "-lc".into(), SNAPSHOT_SCRIPT.into()],
        cwd: cwd.to_path_buf(),
        env: env.clone(),
        timeout: Duration::from_secs(10),
        max_output_bytes: 8 << 20,
        capture_stderr: false,
    };
    let output = run(&request, confinement).await.ok()?;
    (output.exit_code == Some(0) && !output.output.contains("bytes omitted …]"))
        .then_some(output.output)
}

/// `shell -c '. SNAPSHOT; COMMAND'`: the login shell's setup without running it again. A
/// snapshot the sandbox cannot read is skipped silently and the command still runs.
pub fn snapshot_argv(shell: &str, snapshot: &Path, command: &str) -> Vec<String> {
    let quoted = format!(
        "'{}'",
        snapshot.display().to_string().replace('\'', "'\\''")
    );
    vec![
        shell.to_string(),
        "-c".into(),
        format!(". {quoted} 2>/dev/null\n{command}"),
    ]
}

/// Runs the command; an error means it could not be started.
pub async fn run(
    request: &CommandRequest,
    confinement: &Confinement,
) -> Result<CommandOutput, String> {
    let argv = &request.argv;
    if argv.is_empty() {
        return Err("no command given".into());
    }
    let mut command = confined_command(argv, &request.cwd, &request.env, confinement, false);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if request.capture_stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let pid = child.id();
    // Dropped when this future is (an interrupted turn) or at the end: the group dies either way.
    let mut _group = GroupGuard(pid);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut pipe = pipe;
            let mut buffer = vec![0u8; 8192];
            while let Ok(n) = pipe.read(&mut buffer).await {
                if n == 0 || tx.send(buffer[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut collected = Budget::new(request.max_output_bytes);
    let deadline = tokio::time::sleep(request.timeout);
    tokio::pin!(deadline);
    let mut timed_out = false;
    // Its end, seen without reaping it (unix): the zombie holds the group id while what the
    // command left running is killed at once.
    let exited = async {
        // (`pid` is known until the child is reaped, which only happens below.)
        #[cfg(unix)]
        if let Some(pid) = pid {
            let _ =
                tokio::task::spawn_blocking(move || crate::sys::wait_exited_keeping_zombie(pid))
                    .await;
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    };
    tokio::pin!(exited);
    let status = loop {
        tokio::select! {
            Some(bytes) = rx.recv() => collected.push(&bytes),
            () = &mut exited => {
                #[cfg(unix)]
                if let Some(pid) = _group.0.take() {
                    crate::sys::kill_group_now(pid);
                }
                break child.wait().await.ok();
            }
            status = child.wait(), if !cfg!(unix) => break status.ok(),
            _ = &mut deadline, if !timed_out => {
                timed_out = true;
                kill_group(pid);
            }
        }
    };
    // What the pipes still hold (a killed group closes them).
    while let Ok(Some(bytes)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
        collected.push(&bytes);
    }
    // Nothing is left behind: background children of the command died with their group.
    Ok(CommandOutput {
        exit_code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        output: collected.text(),
        wall: started.elapsed(),
        timed_out,
    })
}

/// `argv` as it runs under `confinement`, in `cwd` with exactly `env`, in a process group of
/// its own (killed as a whole, see [`kill_group`]). With `tty`, standard input is a PTY made
/// for this command alone, which becomes its controlling terminal.
///
/// Spawn it from a thread that outlives the command (a runtime's worker or main thread, never
/// a `spawn_blocking` or short-lived thread): the sandbox helper may become the command, which
/// then keeps the helper's death signal, and Linux sends that when the spawning *thread* ends.
pub(crate) fn confined_command(
    argv: &[String],
    cwd: &Path,
    env: &BTreeMap<String, String>,
    confinement: &Confinement,
    tty: bool,
) -> tokio::process::Command {
    let mut command = match confinement {
        Confinement::None => {
            let mut command = tokio::process::Command::new(&argv[0]);
            command.args(&argv[1..]);
            command
        }
        Confinement::LinuxHelper {
            helper,
            policy_cwd,
            selection,
        } => {
            let mut sandbox_request = json!({
                "policy_cwd": policy_cwd,
                "command_cwd": cwd,
                "selection": selection,
            });
            if tty {
                sandbox_request["tty"] = json!(true);
            }
            let mut command = tokio::process::Command::new(helper);
            #[cfg(unix)]
            command.arg0("codex-linux-sandbox");
            command
                .arg("--request")
                .arg(sandbox_request.to_string())
                .arg("--")
                .args(argv);
            command
        }
    };
    command
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        // Not SIGKILL on drop: the group guard asks first (SIGTERM), so the sandbox helper can
        // kill the command's own group and remove the mount points it made.
        .kill_on_drop(false);
    #[cfg(unix)]
    match confinement {
        // A session of its own (so also a group of its own) with the PTY as its terminal.
        Confinement::None if tty => crate::sys::lead_session_on_stdin_tty(&mut command),
        Confinement::None => {
            command.process_group(0);
        }
        // A session of its own without a terminal: the helper gives the command its session
        // (and claims the PTY for it with `tty`), becoming the command where it can.
        Confinement::LinuxHelper { .. } => crate::sys::lead_new_session(&mut command),
    }
    command
}

/// Kills the command's process group when dropped.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

pub(crate) fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid {
        crate::sys::kill_process_group(pid);
    }
}

/// Keeps the first and last halves of the budget.
pub(crate) struct Budget {
    max: usize,
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: usize,
}

impl Budget {
    pub(crate) fn new(max: usize) -> Self {
        Budget {
            max,
            head: Vec::new(),
            tail: std::collections::VecDeque::new(),
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len();
        let head_room = (self.max / 2).saturating_sub(self.head.len());
        let (to_head, rest) = bytes.split_at(head_room.min(bytes.len()));
        self.head.extend_from_slice(to_head);
        self.tail.extend(rest);
        let tail_max = self.max - self.max / 2;
        while self.tail.len() > tail_max {
            self.tail.pop_front();
        }
    }

    /// Everything pushed, or its head and tail with the middle elided.
    pub(crate) fn text(&self) -> String {
        self.text_within(self.max)
    }

    /// Bytes pushed so far.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// The head and tail within `max` bytes (at most the budget's own).
    pub(crate) fn text_within(&self, max: usize) -> String {
        let max = max.min(self.max);
        let (head_max, tail_max) = (max / 2, max - max / 2);
        let (head, tail): (Vec<u8>, Vec<u8>) = if self.head.len() + self.tail.len() >= self.total {
            // Nothing elided yet: cut the whole text afresh.
            let all: Vec<u8> = self.head.iter().chain(&self.tail).copied().collect();
            if all.len() <= max {
                (all, Vec::new())
            } else {
                (
                    all[..head_max].to_vec(),
                    all[all.len() - tail_max..].to_vec(),
                )
            }
        } else {
            let tail_len = self.tail.len().min(tail_max);
            (
                self.head[..self.head.len().min(head_max)].to_vec(),
                self.tail
                    .iter()
                    .skip(self.tail.len() - tail_len)
                    .copied()
                    .collect(),
            )
        };
        let kept = head.len() + tail.len();
        let (head, tail) = (
            String::from_utf8_lossy(&head),
            String::from_utf8_lossy(&tail),
        );
        if kept >= self.total {
            format!("{head}{tail}")
        } else {
            format!("{head}\n[… {} bytes omitted …]\n{tail}", self.total - kept)
        }
    }
}

/// When a command under the sandbox failed at a path the policy does not let it write (or
/// read), a note that says so — so the model knows it was the sandbox, not the command.
pub fn sandbox_note(
    confinement: &Confinement,
    exit_code: Option<i32>,
    output: &str,
    cwd: &Path,
) -> Option<String> {
    let Confinement::LinuxHelper {
        policy_cwd,
        selection,
        ..
    } = confinement
    else {
        return None;
    };
    if exit_code == Some(0) {
        return None;
    }
    let policy = selection
        .resolve(
            policy_cwd,
            &codex_sandbox::HostEnv::from_process(),
            &codex_sandbox::HostFs,
        )
        .ok()?;
    let denials = codex_sandbox::denial::find_denials(&policy, output, cwd, &HostModes);
    let network = codex_sandbox::denial::network_denied(&policy, output);
    if denials.is_empty() && !network {
        return None;
    }
    let list: Vec<String> = denials
        .iter()
        .map(|d| {
            let allowed = match d.allowed {
                codex_protocol::FileSystemAccess::Read => "read-only",
                codex_protocol::FileSystemAccess::Write => "writable",
                _ => "not accessible",
            };
            format!(
                "{} ({}; {allowed} in this sandbox)",
                d.path.display(),
                d.errno
            )
        })
        .collect();
    let mut blocked = list.join(", ");
    if network {
        if !blocked.is_empty() {
            blocked.push_str("; ");
        }
        blocked.push_str("network access (off in this sandbox)");
    }
    let within = match (denials.is_empty(), network) {
        (false, false) => "within the writable directories",
        (true, _) => "without the network",
        (false, true) => "within the writable directories and without the network",
    };
    Some(format!(
        "Blocked by the sandbox, not by the command: {blocked}. Work {within}, or tell the user which permission the task needs."
    ))
}

/// The host's filesystem, with what its modes let this process do (the sandbox crate makes
/// no system calls of its own): a refusal the modes explain is not the sandbox's.
struct HostModes;

impl codex_sandbox::FsProbe for HostModes {
    fn kind(&self, path: &Path) -> codex_sandbox::PathKind {
        codex_sandbox::HostFs.kind(path)
    }

    fn canonicalize(&self, path: &Path) -> Option<std::path::PathBuf> {
        codex_sandbox::HostFs.canonicalize(path)
    }

    fn read_text(&self, path: &Path) -> Option<String> {
        codex_sandbox::HostFs.read_text(path)
    }

    fn list_dir(&self, path: &Path) -> Vec<String> {
        codex_sandbox::HostFs.list_dir(path)
    }

    fn permits(&self, path: &Path, access: codex_protocol::FileSystemAccess) -> Option<bool> {
        use codex_protocol::FileSystemAccess;
        let exists = path.symlink_metadata().is_ok();
        match access {
            FileSystemAccess::None => Some(true),
            FileSystemAccess::Read if exists => crate::sys::modes_permit(path, false),
            FileSystemAccess::Read => None,
            FileSystemAccess::Write => {
                let target = codex_sandbox::probe::write_target(path, exists)?;
                crate::sys::modes_permit(target, true)
            }
        }
    }
}

/// Whether the sandbox lets commands read every one of `paths` (always, without one). Files
/// codex reads for the model itself (view_image, checking a patch) are held to the same
/// policy. The policy is resolved once for all of them.
pub fn may_read<'a>(confinement: &Confinement, paths: impl IntoIterator<Item = &'a Path>) -> bool {
    let Confinement::LinuxHelper {
        policy_cwd,
        selection,
        ..
    } = confinement
    else {
        return true;
    };
    let Ok(policy) = selection.resolve(
        policy_cwd,
        &codex_sandbox::HostEnv::from_process(),
        &codex_sandbox::HostFs,
    ) else {
        return false;
    };
    paths.into_iter().all(|path| {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        matches!(
            policy.decide(&path).access,
            codex_protocol::FileSystemAccess::Read | codex_protocol::FileSystemAccess::Write
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(command: &str, dir: &Path) -> CommandRequest {
        CommandRequest {
            // Not a login shell: the machine's profile would talk into the output.
            argv: vec!["/bin/sh".into(), "-c".into(), command.into()],
            capture_stderr: true,
            cwd: dir.to_path_buf(),
            env: [(
                "PATH".to_string(),
                std::env::var("PATH").unwrap_or_default(),
            )]
            .into_iter()
            .collect(),
            timeout: Duration::from_secs(10),
            max_output_bytes: 10_000,
        }
    }

    fn run_now(request: &CommandRequest) -> CommandOutput {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(request, &Confinement::None))
            .unwrap()
    }

    /// What the modes let a user do, asked as that user: this test runs itself again as
    /// `nobody` (through `setpriv`), where a root-only file and directory refuse it while the
    /// policy alone would not.
    #[test]
    fn host_modes_tell_refusals_by_modes() {
        use codex_protocol::FileSystemAccess::{Read, Write};
        use codex_sandbox::FsProbe;
        use std::os::unix::fs::PermissionsExt;
        const DIR: &str = "CODEX_TEST_MODES_DIR";
        if let Ok(dir) = std::env::var(DIR) {
            let dir = Path::new(&dir);
            let (private, open) = (dir.join("private"), dir.join("open"));
            assert_eq!(HostModes.permits(&private, Read), Some(false));
            assert_eq!(HostModes.permits(&private, Write), Some(false));
            assert_eq!(
                HostModes.permits(&dir.join("locked/new"), Write),
                Some(false)
            );
            assert_eq!(HostModes.permits(&open, Read), Some(true));
            assert_eq!(HostModes.permits(&open, Write), Some(true));
            assert_eq!(HostModes.permits(&dir.join("new"), Write), Some(true));
            return;
        }
        if effective_uid() != 0 || !Path::new("/usr/bin/setpriv").exists() {
            println!("SKIP: needs root and setpriv (to ask as nobody)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mode = |path: &Path, mode| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        std::fs::write(root.join("private"), "").unwrap();
        mode(&root.join("private"), 0o600);
        std::fs::write(root.join("open"), "").unwrap();
        mode(&root.join("open"), 0o666);
        std::fs::create_dir(root.join("locked")).unwrap();
        mode(&root.join("locked"), 0o755);
        mode(root, 0o777);
        let status = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "exec::tests::host_modes_tell_refusals_by_modes"])
            .env(DIR, root)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&status.stdout);
        assert!(
            status.status.success() && stdout.contains("1 passed"),
            "{stdout}{}",
            String::from_utf8_lossy(&status.stderr)
        );
    }

    fn effective_uid() -> u32 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("Uid:"))?.to_string();
                line.split_whitespace().nth(2)?.parse().ok()
            })
            .unwrap_or(u32::MAX)
    }

    #[test]
    fn output_exit_code_cwd_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let mut req = request(
            "echo out; echo err >&2; pwd; echo \"[$ONLY]\"; exit 3",
            dir.path(),
        );
        req.env.insert("ONLY".into(), "this".into());
        let out = run_now(&req);
        assert_eq!(out.exit_code, Some(3));
        assert!(
            out.output.contains("out\n") && out.output.contains("err\n"),
            "{out:?}"
        );
        let canonical = dir.path().canonicalize().unwrap();
        assert!(out.output.contains(canonical.to_str().unwrap()), "{out:?}");
        assert!(out.output.contains("[this]"));
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let mut req = request(
            &format!("(sleep 1; touch {}) & sleep 30", marker.display()),
            dir.path(),
        );
        req.timeout = Duration::from_millis(300);
        let out = run_now(&req);
        assert!(out.timed_out);
        assert_eq!(out.exit_code, None);
        assert!(out.wall < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "the background child was killed too");
    }

    #[test]
    fn what_a_finished_command_left_running_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let req = request(
            &format!(
                "(sleep 1; touch {}) >/dev/null 2>&1 & echo done",
                marker.display()
            ),
            dir.path(),
        );
        let out = run_now(&req);
        assert_eq!(out.exit_code, Some(0));
        assert!(out.output.contains("done"));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            !marker.exists(),
            "the background child outlived the command"
        );
    }

    #[test]
    fn long_output_keeps_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut req = request("seq 1 100000", dir.path());
        req.max_output_bytes = 100;
        let out = run_now(&req);
        assert!(out.output.starts_with("1\n2\n3\n"), "{}", out.output);
        assert!(out.output.ends_with("99999\n100000\n"), "{}", out.output);
        assert!(out.output.contains("bytes omitted"));
        assert!(out.output.len() < 200);
    }
}
