//! Commands the model runs as sessions: `exec_command` starts one and waits up to its yield
//! time; a command still running then is kept, under a session id, and `write_stdin` writes to
//! it (when it has a PTY) and collects what it printed since. When the command ends, its whole
//! process group is killed, and so is every session still running when the manager goes (the
//! end of the thread): nothing the model started outlives it.
//!
//! Output not yet handed to the model is kept within a budget (head and tail), so a chatty
//! background process cannot grow memory without bound.

use crate::exec::{Budget, Confinement, confined_command, kill_group};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

/// Output kept for one session between two polls, and for its item (head and tail).
const PENDING_BUDGET: usize = 1 << 20;
/// Sessions kept at once; starting one more ends the oldest.
const MAX_SESSIONS: usize = 64;

/// `exec_command`'s yield when the model gives none, and its bounds.
pub const DEFAULT_EXEC_YIELD: Duration = Duration::from_millis(10_000);
/// `write_stdin`'s yield when the model gives none.
pub const DEFAULT_WRITE_YIELD: Duration = Duration::from_millis(250);
const MIN_YIELD: Duration = Duration::from_millis(250);
const MAX_YIELD: Duration = Duration::from_millis(30_000);
/// An empty `write_stdin` only waits for output, so it may wait longer.
const MAX_POLL_YIELD: Duration = Duration::from_millis(300_000);

/// What to start.
#[derive(Debug, Clone)]
pub struct Spawn {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    /// Run in a PTY (stdin stays open for `write_stdin`); else stdin is closed and stdout and
    /// stderr are pipes.
    pub tty: bool,
}

/// How a command ended, as its item reports it.
#[derive(Debug, Clone)]
pub struct Ended {
    /// `None`: ended by a signal.
    pub exit_code: Option<i32>,
    /// All its output (head and tail within the budget).
    pub aggregated_output: String,
}

/// One answer to the model: what the command printed during the call.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub output: String,
    /// Bytes printed during the call, before truncation.
    pub original_bytes: usize,
    pub wall: Duration,
    /// `Some` once the command has ended (its session is gone then).
    pub exit: Option<Option<i32>>,
    pub session_id: u32,
}

impl Chunk {
    /// The text the model gets.
    pub fn render(&self) -> String {
        let status = match self.exit {
            Some(Some(code)) => format!("Process exited with code {code}"),
            Some(None) => "Process was killed by a signal".to_string(),
            None => format!("Process running with session ID {}", self.session_id),
        };
        format!(
            "Chunk ID: {}\nWall time: {:.4} seconds\n{status}\nOriginal token count: {}\nOutput:\n{}",
            chunk_id(),
            self.wall.as_secs_f64(),
            self.original_bytes.div_ceil(4),
            self.output
        )
    }
}

fn chunk_id() -> String {
    let mut bytes = [0u8; 3];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Clamps a requested yield (milliseconds) to what a call may wait.
pub fn yield_for(requested: Option<u64>, default: Duration, polling: bool) -> Duration {
    let max = if polling { MAX_POLL_YIELD } else { MAX_YIELD };
    requested
        .map(Duration::from_millis)
        .unwrap_or(default)
        .clamp(MIN_YIELD, max)
}

struct Output {
    /// Printed since the model last saw this session's output.
    pending: Budget,
    /// Everything, for the item.
    all: Budget,
}

struct Process {
    /// The command's process group (its pid) until it has been killed: a group id is not
    /// signalled again once its processes are gone (the number may be reused).
    group: Arc<Mutex<Option<u32>>>,
    /// Whether the command leads a session of its own here (a PTY without the sandbox
    /// helper, which otherwise does this): its jobs, in groups of their own, die with it.
    own_session: bool,
    output: Arc<Mutex<Output>>,
    /// `Some(exit code)` once it ended.
    exit: watch::Receiver<Option<Option<i32>>>,
    /// The PTY master (non-blocking), for `write_stdin` (`None` without a PTY).
    stdin: Option<Arc<std::fs::File>>,
    /// One `write_stdin` at a time, so input arrives in the order it was sent.
    writing: tokio::sync::Mutex<()>,
    started: Instant,
}

impl Process {
    /// Kills the command's group (and session, when it leads one), once.
    fn kill(&self) {
        let group = self.group.lock().map(|mut g| g.take()).unwrap_or(None);
        end(group, self.own_session);
    }
}

/// Kills a command's group, and its session when it led one; `None`: already done.
fn end(group: Option<u32>, own_session: bool) {
    kill_group(group);
    if let (Some(leader), true) = (group, own_session) {
        crate::sys::kill_session(leader);
    }
}

/// What a command that has exited left running: SIGKILL at once, while its zombie still holds
/// the group and session ids (no grace: the command itself is gone, and a delayed signal could
/// reach a group that reused the id).
fn kill_leftovers(group: Option<u32>, own_session: bool) {
    let Some(leader) = group else { return };
    crate::sys::kill_group_now(leader);
    if own_session {
        crate::sys::kill_session(leader);
    }
}

/// The sessions of one thread.
#[derive(Default)]
pub struct ProcessManager {
    processes: Mutex<HashMap<u32, Arc<Process>>>,
}

impl ProcessManager {
    /// Starts `spawn` under `confinement`; `on_end` runs (once) when it ends, before any call
    /// can report the end. Returns the session id, or why it could not start.
    pub fn start(
        &self,
        spawn: Spawn,
        confinement: &Confinement,
        on_end: impl FnOnce(Ended) + Send + 'static,
    ) -> Result<u32, String> {
        if spawn.argv.is_empty() {
            return Err("no command given".into());
        }
        let mut command =
            confined_command(&spawn.argv, &spawn.cwd, &spawn.env, confinement, spawn.tty);
        let (tx, rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let mut master = None;
        if spawn.tty {
            let pty_error = |e: std::io::Error| format!("cannot open a PTY: {e}");
            let (pty, slave) = crate::sys::open_pty().map_err(pty_error)?;
            // Non-blocking: a write to a command that does not read can then give up.
            crate::sys::set_nonblocking(&pty).map_err(pty_error)?;
            let clone = |fd: &std::os::fd::OwnedFd| fd.try_clone().map_err(pty_error);
            command
                .stdin(Stdio::from(clone(&slave)?))
                .stdout(Stdio::from(clone(&slave)?))
                .stderr(Stdio::from(slave));
            // Both ends of the master ready before the command starts: nothing can fail
            // between its start and its supervision.
            let master_file = std::fs::File::from(pty);
            let reader = master_file.try_clone().map_err(pty_error)?;
            master = Some((master_file, reader));
        } else {
            command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", spawn.argv[0]))?;
        // The command's copies of the PTY's slave are closed with `command`: once the command
        // and everything it started are gone, reading the master ends.
        drop(command);
        let group = Arc::new(Mutex::new(child.id()));
        let own_session = spawn.tty && matches!(confinement, Confinement::None);
        let stdin = match master {
            Some((master, reader)) => {
                let tx = tx.clone();
                // A blocking read on its own thread: a PTY master is not a pipe tokio polls.
                std::thread::spawn(move || read_blocking(reader, tx));
                Some(Arc::new(master))
            }
            None => {
                for pipe in [
                    child.stdout.take().map(|p| Box::new(p) as Box<Read>),
                    child.stderr.take().map(|p| Box::new(p) as Box<Read>),
                ]
                .into_iter()
                .flatten()
                {
                    tokio::spawn(read_async(pipe, tx.clone()));
                }
                None
            }
        };
        drop(tx);
        let output = Arc::new(Mutex::new(Output {
            pending: Budget::new(PENDING_BUDGET),
            all: Budget::new(PENDING_BUDGET),
        }));
        let pump = tokio::spawn(pump(rx, output.clone()));
        let (exit_tx, exit) = watch::channel(None);
        let watched = output.clone();
        let watched_group = group.clone();
        let pid = child.id();
        tokio::spawn(async move {
            // Whatever it left running in its group (and session) goes with it, while its
            // zombie still holds those ids; then the pipes (or the PTY) close and the last
            // output arrives.
            if let Some(pid) = pid {
                let _ = tokio::task::spawn_blocking(move || {
                    crate::sys::wait_exited_keeping_zombie(pid)
                })
                .await;
            }
            kill_leftovers(
                watched_group.lock().expect("group lock").take(),
                own_session,
            );
            let status = child.wait().await.ok();
            let _ = tokio::time::timeout(Duration::from_millis(500), pump).await;
            let exit_code = status.and_then(|s| s.code());
            let aggregated_output = watched.lock().expect("output lock").all.text();
            on_end(Ended {
                exit_code,
                aggregated_output,
            });
            let _ = exit_tx.send(Some(exit_code));
        });
        let process = Arc::new(Process {
            group,
            own_session,
            output,
            exit,
            stdin,
            writing: tokio::sync::Mutex::new(()),
            started: Instant::now(),
        });
        let mut processes = self.processes.lock().expect("process table lock");
        if processes.len() >= MAX_SESSIONS {
            // Ends the oldest.
            if let Some(oldest) = processes
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(id, _)| *id)
                && let Some(evicted) = processes.remove(&oldest)
            {
                // Killed now, even if a call is still collecting from it.
                evicted.kill();
            }
        }
        let id = loop {
            let mut bytes = [0u8; 4];
            let _ = getrandom::fill(&mut bytes);
            let id = 1000 + u32::from_le_bytes(bytes) % 99_000;
            if !processes.contains_key(&id) {
                break id;
            }
        };
        processes.insert(id, process);
        Ok(id)
    }

    /// Waits until session `id` ends or `wait` passes, and hands over what it printed
    /// meanwhile (at most about `max_bytes`). An ended session is forgotten.
    pub async fn collect(
        &self,
        id: u32,
        wait: Duration,
        max_bytes: usize,
    ) -> Result<Chunk, String> {
        let started = Instant::now();
        let process = self.get(id)?;
        let mut exit = process.exit.clone();
        let ended = tokio::select! {
            ended = exit.wait_for(Option::is_some) => ended.ok().and_then(|e| *e),
            _ = tokio::time::sleep(wait) => None,
        };
        let (output, original_bytes) = {
            let mut output = process.output.lock().expect("output lock");
            let text = output.pending.text_within(max_bytes);
            let total = output.pending.total();
            output.pending = Budget::new(PENDING_BUDGET);
            (text, total)
        };
        if ended.is_some() {
            self.processes
                .lock()
                .expect("process table lock")
                .remove(&id);
        }
        Ok(Chunk {
            output,
            original_bytes,
            wall: started.elapsed(),
            exit: ended,
            session_id: id,
        })
    }

    /// Writes `chars` to session `id`'s terminal, waiting at most `wait` for the command to
    /// take them (a command that does not read its input cannot hold the call up).
    pub async fn write(&self, id: u32, chars: &str, wait: Duration) -> Result<(), String> {
        let process = self.get(id)?;
        if chars.is_empty() {
            return Ok(());
        }
        let Some(stdin) = process.stdin.clone() else {
            return Err(format!(
                "session {id} has no terminal (it was started without tty), so its stdin is closed; start the command again with exec_command and tty: true to write to it"
            ));
        };
        let _turn = process.writing.lock().await;
        if process.exit.borrow().is_some() {
            // It has ended: nothing reads any more; the next collect reports how it ended.
            return Ok(());
        }
        let bytes = chars.as_bytes().to_vec();
        let total = bytes.len();
        let written = tokio::task::spawn_blocking(move || write_within(&stdin, &bytes, wait))
            .await
            .map_err(|e| e.to_string())?;
        match written {
            Ok(n) if n == total => Ok(()),
            Ok(n) => Err(format!(
                "session {id} took only {n} of {total} bytes within {} ms: the command is not reading its input",
                wait.as_millis()
            )),
            // EIO: the terminal has no process left (it is ending); the collect that follows
            // reports how it ended.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(()),
            Err(e) => Err(format!("writing to session {id}: {e}")),
        }
    }

    fn get(&self, id: u32) -> Result<Arc<Process>, String> {
        self.processes
            .lock()
            .expect("process table lock")
            .get(&id)
            .cloned()
            .ok_or_else(|| format!("Unknown process id {id}"))
    }
}

type Read = dyn tokio::io::AsyncRead + Unpin + Send;

async fn read_async(mut pipe: Box<Read>, tx: mpsc::UnboundedSender<Vec<u8>>) {
    let mut buffer = vec![0u8; 8192];
    while let Ok(n) = pipe.read(&mut buffer).await {
        if n == 0 || tx.send(buffer[..n].to_vec()).is_err() {
            break;
        }
    }
}

/// Reads the PTY master until the terminal is gone (EIO once no process holds it).
fn read_blocking(mut master: std::fs::File, tx: mpsc::UnboundedSender<Vec<u8>>) {
    use std::io::Read as _;
    let mut buffer = vec![0u8; 8192];
    loop {
        match master.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                if tx.send(buffer[..n].to_vec()).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                crate::sys::poll_fd(&master, libc::POLLIN, None);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

/// Writes `bytes` to the (non-blocking) PTY master within `wait`; how many it took.
fn write_within(master: &std::fs::File, bytes: &[u8], wait: Duration) -> std::io::Result<usize> {
    use std::io::Write as _;
    let deadline = Instant::now() + wait;
    let mut done = 0;
    while done < bytes.len() {
        match (&*master).write(&bytes[done..]) {
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !crate::sys::poll_fd(master, libc::POLLOUT, Some(left)) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

async fn pump(mut rx: mpsc::UnboundedReceiver<Vec<u8>>, output: Arc<Mutex<Output>>) {
    while let Some(bytes) = rx.recv().await {
        let mut output = output.lock().expect("output lock");
        output.pending.push(&bytes);
        output.all.push(&bytes);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Drop for ProcessManager {
    /// The end of the thread (often of the whole program): every command still running is
    /// ended before this returns — SIGTERM, a short grace, then SIGKILL — since a SIGKILL left
    /// for later might never be sent.
    fn drop(&mut self) {
        let Ok(mut processes) = self.processes.lock() else {
            return;
        };
        let mut groups = Vec::new();
        for process in processes.values() {
            if let Some(group) = process.group.lock().ok().and_then(|mut g| g.take()) {
                groups.push((group, process.own_session));
            }
        }
        crate::sys::end_groups_now(&groups.iter().map(|(g, _)| *g).collect::<Vec<_>>());
        for (leader, _) in groups.iter().filter(|(_, own)| *own) {
            crate::sys::kill_session(*leader);
        }
        processes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn(script: &str, tty: bool) -> Spawn {
        Spawn {
            argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: [(
                "PATH".to_string(),
                std::env::var("PATH").unwrap_or_default(),
            )]
            .into_iter()
            .collect(),
            tty,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_quick_command_ends_within_its_yield() {
        runtime().block_on(async {
            let manager = ProcessManager::default();
            let (tx, rx) = tokio::sync::oneshot::channel();
            let id = manager
                .start(
                    spawn("echo out; echo err >&2; exit 4", false),
                    &Confinement::None,
                    |e| {
                        let _ = tx.send(e);
                    },
                )
                .unwrap();
            let chunk = manager
                .collect(id, Duration::from_secs(10), 1000)
                .await
                .unwrap();
            assert_eq!(chunk.exit, Some(Some(4)));
            assert!(
                chunk.output.contains("out\n") && chunk.output.contains("err\n"),
                "{chunk:?}"
            );
            assert!(chunk.wall < Duration::from_secs(5));
            let ended = rx.await.unwrap();
            assert_eq!(ended.exit_code, Some(4));
            let text = chunk.render();
            assert!(
                text.contains("\nProcess exited with code 4\nOriginal token count: "),
                "{text}"
            );
            assert!(
                manager
                    .collect(id, MIN_YIELD, 1000)
                    .await
                    .unwrap_err()
                    .contains("Unknown process id")
            );
        });
    }

    #[test]
    fn a_pty_session_echoes_input_and_ends_on_request() {
        runtime().block_on(async {
            let manager = ProcessManager::default();
            let id = manager
                .start(
                    spawn("read line; echo \"got:$line\"; tty", true),
                    &Confinement::None,
                    |_| {},
                )
                .unwrap();
            let first = manager
                .collect(id, Duration::from_millis(300), 1000)
                .await
                .unwrap();
            assert_eq!(first.exit, None, "still waiting for input: {first:?}");
            assert!(
                first
                    .render()
                    .contains(&format!("Process running with session ID {id}"))
            );
            manager
                .write(id, "hello\n", Duration::from_secs(5))
                .await
                .unwrap();
            let second = manager
                .collect(id, Duration::from_secs(10), 1000)
                .await
                .unwrap();
            assert_eq!(second.exit, Some(Some(0)), "{second:?}");
            // The terminal echoes the input; the command saw it on a real terminal.
            assert!(second.output.contains("got:hello"), "{second:?}");
            assert!(second.output.contains("/dev/pts/"), "{second:?}");
        });
    }

    #[test]
    fn ctrl_c_written_to_the_pty_interrupts_the_command() {
        runtime().block_on(async {
            let manager = ProcessManager::default();
            let id = manager
                .start(spawn("sleep 100", true), &Confinement::None, |_| {})
                .unwrap();
            let chunk = manager
                .collect(id, Duration::from_millis(300), 1000)
                .await
                .unwrap();
            assert_eq!(chunk.exit, None);
            manager
                .write(id, "\u{3}", Duration::from_secs(5))
                .await
                .unwrap();
            let chunk = manager
                .collect(id, Duration::from_secs(10), 1000)
                .await
                .unwrap();
            assert!(
                chunk.exit.is_some(),
                "SIGINT from the terminal ended it: {chunk:?}"
            );
            assert!(chunk.wall < Duration::from_secs(5));
        });
    }

    #[test]
    fn writing_to_a_session_that_has_ended_reports_its_end() {
        runtime().block_on(async {
            let manager = ProcessManager::default();
            let id = manager
                .start(
                    spawn("sleep 0.3; echo bye", true),
                    &Confinement::None,
                    |_| {},
                )
                .unwrap();
            tokio::time::sleep(Duration::from_millis(1200)).await;
            manager
                .write(id, "too late\n", Duration::from_secs(5))
                .await
                .unwrap();
            let chunk = manager
                .collect(id, Duration::from_secs(5), 1000)
                .await
                .unwrap();
            assert_eq!(chunk.exit, Some(Some(0)), "{chunk:?}");
            assert!(chunk.output.contains("bye"), "{chunk:?}");
        });
    }

    #[test]
    fn a_command_that_does_not_read_cannot_hold_up_a_write() {
        runtime().block_on(async {
            let manager = ProcessManager::default();
            // Raw mode: the terminal keeps what it is given (canonical mode would drop the
            // excess of a line), so an unread flood fills it up.
            let id = manager
                .start(
                    spawn("stty raw -echo; sleep 100", true),
                    &Confinement::None,
                    |_| {},
                )
                .unwrap();
            manager
                .collect(id, Duration::from_millis(300), 100)
                .await
                .unwrap();
            let started = Instant::now();
            let flood = "x".repeat(1 << 20);
            let error = manager
                .write(id, &flood, Duration::from_millis(500))
                .await
                .unwrap_err();
            assert!(error.contains("not reading its input"), "{error}");
            assert!(started.elapsed() < Duration::from_secs(5));
        });
    }

    #[test]
    fn without_a_tty_stdin_is_closed_and_writing_says_so() {
        runtime().block_on(async {
            let manager = ProcessManager::default();
            let id = manager
                .start(spawn("sleep 100", false), &Confinement::None, |_| {})
                .unwrap();
            let error = manager
                .write(id, "x", Duration::from_secs(5))
                .await
                .unwrap_err();
            assert!(error.contains("tty: true"), "{error}");
        });
    }

    #[test]
    fn output_between_polls_is_kept_head_and_tail() {
        runtime().block_on(async {
            let manager = ProcessManager::default();
            let id = manager
                .start(
                    spawn("seq 1 100000; sleep 100", false),
                    &Confinement::None,
                    |_| {},
                )
                .unwrap();
            let chunk = manager
                .collect(id, Duration::from_millis(1500), 100)
                .await
                .unwrap();
            assert_eq!(chunk.exit, None);
            assert!(chunk.output.starts_with("1\n2\n"), "{}", chunk.output);
            assert!(
                chunk.output.ends_with("99999\n100000\n"),
                "{}",
                chunk.output
            );
            assert_eq!(chunk.original_bytes, 588_895);
            // Nothing new since.
            let again = manager.collect(id, MIN_YIELD, 100).await.unwrap();
            assert_eq!(again.output, "");
        });
    }

    #[test]
    fn dropping_the_manager_kills_every_session_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        runtime().block_on(async {
            let manager = ProcessManager::default();
            let script = format!("(sleep 1; touch {}) & sleep 100", marker.display());
            manager
                .start(spawn(&script, false), &Confinement::None, |_| {})
                .unwrap();
            manager
                .start(spawn(&script, true), &Confinement::None, |_| {})
                .unwrap();
            // With job control the background job has a process group of its own; it is in
            // the command's session, and dies with it.
            let job_control = format!("set -m; {script}");
            manager
                .start(spawn(&job_control, true), &Confinement::None, |_| {})
                .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(manager);
        });
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "a background child outlived the thread");
    }
}
