//! `codex exec`: run the agent headless on one prompt. Human mode prints progress on stderr and
//! the final message on stdout; `--json` prints the event stream (one JSON object per line).
//! Exit code 1 whenever the turn failed.

use codex_core::client::ModelClient;
use codex_core::exec::Confinement;
use codex_core::rollout::{self, LineKind, RolloutWriter};
use codex_core::turn::{Session, SessionSettings, ThreadEvent};
use codex_core::{CliOverrides, Config};
use codex_protocol::{NetworkSandboxPolicy, SandboxPolicy};
use codex_sandbox::config::{Overrides, SandboxMode, SandboxSelection};
use serde_json::{Value, json};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The model when neither `-m` nor `model` says.
pub const DEFAULT_MODEL: &str = "gpt-5.5";

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct ExecArgs {
    #[command(subcommand)]
    resume: Option<ExecSubcommand>,
    /// Print the events as JSON lines on stdout.
    #[arg(long = "json", alias = "experimental-json", global = true)]
    json: bool,
    /// The model.
    #[arg(short = 'm', long = "model", global = true)]
    model: Option<String>,
    /// read-only, workspace-write or danger-full-access.
    #[arg(short = 's', long = "sandbox", value_name = "MODE", global = true)]
    sandbox: Option<String>,
    /// Shorthand for --sandbox workspace-write.
    #[arg(long, global = true)]
    full_auto: bool,
    /// No sandbox and no approvals. Only inside an environment that is itself a sandbox.
    #[arg(long = "dangerously-bypass-approvals-and-sandbox", global = true)]
    bypass: bool,
    /// The workspace (default: the current directory).
    #[arg(short = 'C', long = "cd", value_name = "DIR", global = true)]
    cwd: Option<PathBuf>,
    /// Run outside a git repository.
    #[arg(long, global = true)]
    skip_git_repo_check: bool,
    /// Override a config value: -c dotted.key=VALUE (TOML; otherwise a string).
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE", global = true)]
    config: Vec<String>,
    /// Layer $CODEX_HOME/NAME.config.toml over config.toml.
    #[arg(short = 'p', long = "profile", global = true)]
    profile: Option<String>,
    /// Write the last message of the agent to this file.
    #[arg(short = 'o', long = "output-last-message", global = true)]
    output_last_message: Option<PathBuf>,
    /// A JSON schema the final message must follow.
    #[arg(long = "output-schema", global = true)]
    output_schema: Option<PathBuf>,
    /// Attach an image to the prompt.
    #[arg(short = 'i', long = "image", global = true)]
    images: Vec<PathBuf>,
    /// Another writable directory besides the workspace (workspace-write only).
    #[arg(long = "add-dir", value_name = "DIR", global = true)]
    add_dir: Vec<PathBuf>,
    /// Save nothing under $CODEX_HOME/sessions.
    #[arg(long, global = true)]
    ephemeral: bool,
    /// Print the version.
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    /// Leave $CODEX_HOME/config.toml out.
    #[arg(long, global = true)]
    ignore_user_config: bool,
    /// An unknown key in the configuration is an error.
    #[arg(long, global = true)]
    strict_config: bool,
    /// Use the local `oss` provider (Ollama on localhost:11434, or CODEX_OSS_BASE_URL).
    #[arg(long, global = true)]
    oss: bool,
    /// Turn a feature on: -c features.NAME=true.
    #[arg(long = "enable", value_name = "FEATURE", global = true)]
    enable: Vec<String>,
    /// Turn a feature off: -c features.NAME=false.
    #[arg(long = "disable", value_name = "FEATURE", global = true)]
    disable: Vec<String>,
    /// Colour and terminal effects (the spinner) on stderr: auto (on a terminal), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"], global = true)]
    color: String,
    /// How a new thread is classified (kept in its session file as `source`).
    #[arg(long = "thread-source", value_name = "SOURCE", global = true)]
    thread_source: Option<String>,
    /// An experimental program of OpenAI's own service; accepted (the SDK may pass it) but not
    /// supported here, which a warning says.
    #[arg(long = "cyber-access-program", value_name = "PROGRAM", global = true)]
    cyber_access_program: Option<String>,
    /// The task; `-` or absent reads it from stdin.
    prompt: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum ExecSubcommand {
    /// Continue a saved session: `codex exec resume ID PROMPT` or `--last PROMPT`.
    Resume {
        /// The session id (or, with --last, the prompt).
        id: Option<String>,
        /// The prompt.
        prompt: Option<String>,
        /// The most recent session started in this directory (with --all: anywhere).
        #[arg(long)]
        last: bool,
        /// With --last: look at the sessions of every directory.
        #[arg(long)]
        all: bool,
    },
}

fn fail(json: bool, message: &str) -> i32 {
    if json {
        print_line(&json!({"type": "error", "message": message}));
        print_line(&json!({"type": "turn.failed", "error": {"message": message}}));
    } else {
        eprintln!("Error: {message}");
    }
    1
}

/// Writes one line on stdout; a closed stdout is not a crash.
fn print_line(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

pub fn exec(args: ExecArgs) -> i32 {
    let json = args.json;
    match prepare(args) {
        Ok(run) => run.go(),
        Err(message) => fail(json, &message),
    }
}

struct Run {
    warnings: Vec<String>,
    json: bool,
    /// Human mode's spinner line on stderr (see `--color`).
    spinner: bool,
    session: Session,
    events: tokio::sync::mpsc::UnboundedReceiver<ThreadEvent>,
    prompt: String,
    images: Vec<String>,
    output_last_message: Option<PathBuf>,
    header: String,
}

fn read_stdin() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("reading the prompt from stdin: {e}"))?;
    Ok(text)
}

#[cfg(unix)]
fn stdin_ready() -> bool {
    codex_core::stdin_ready()
}

#[cfg(not(unix))]
fn stdin_ready() -> bool {
    false
}

/// Whether `dir` is in a git work tree (see [`codex_core::project_doc::is_git_root`]).
fn in_git_repo(dir: &Path) -> bool {
    dir.ancestors().any(codex_core::project_doc::is_git_root)
}

/// What the sandbox allows, in words (for the header and the model).
fn describe(selection: &SandboxSelection) -> (String, bool) {
    match selection {
        SandboxSelection::Legacy { policy, .. } => match policy {
            SandboxPolicy::DangerFullAccess => ("danger-full-access (no sandbox)".into(), false),
            SandboxPolicy::ReadOnly { .. } => ("read-only, network off".into(), true),
            SandboxPolicy::WorkspaceWrite { network_access, .. } => (
                format!(
                    "workspace-write, network {}",
                    if *network_access { "on" } else { "off" }
                ),
                !network_access,
            ),
            SandboxPolicy::ExternalSandbox { network_access } => {
                let on = *network_access == NetworkSandboxPolicy::Enabled;
                (
                    format!(
                        "an outside sandbox, network {}",
                        if on { "on" } else { "off" }
                    ),
                    !on,
                )
            }
        },
        SandboxSelection::Profile { name, network, .. } => {
            let on = *network == NetworkSandboxPolicy::Enabled;
            (
                format!(
                    "permission profile {name}, network {}",
                    if on { "on" } else { "off" }
                ),
                !on,
            )
        }
    }
}

fn prepare(args: ExecArgs) -> Result<Run, String> {
    let home =
        codex_login::codex_home().ok_or("cannot find the Codex home: set CODEX_HOME or HOME")?;
    // --oss and --enable/--disable are shorthands for -c settings, applied before the -c ones.
    let mut config: Vec<String> = Vec::new();
    if args.oss {
        config.push("model_provider=\"oss\"".into());
    }
    for feature in &args.enable {
        config.push(format!("features.{feature}=true"));
    }
    for feature in &args.disable {
        config.push(format!("features.{feature}=false"));
    }
    config.extend(args.config.iter().cloned());
    let config = Config::load(
        &home,
        &CliOverrides {
            profile: args.profile.clone(),
            config,
            ignore_user_config: args.ignore_user_config,
            strict: args.strict_config,
        },
    )
    .map_err(|e| e.to_string())?;
    let mut warnings = config.warnings.clone();
    if let Some(program) = &args.cyber_access_program {
        warnings.push(format!(
            "--cyber-access-program {program}: not supported by this Codex; the turn runs without it"
        ));
    }
    let cwd = match &args.cwd {
        Some(dir) => dir
            .canonicalize()
            .map_err(|e| format!("-C {}: {e}", dir.display()))?,
        None => std::env::current_dir().map_err(|e| format!("the current directory: {e}"))?,
    };
    if !args.skip_git_repo_check && !in_git_repo(&cwd) {
        return Err(format!(
            "{} is not inside a git repository; run codex exec in one, or pass --skip-git-repo-check",
            cwd.display()
        ));
    }
    let mut resume_anywhere = false;
    let (resume, prompt_arg) = match args.resume {
        Some(ExecSubcommand::Resume {
            id,
            prompt,
            last,
            all,
        }) => {
            if last {
                // `resume --last PROMPT`: the one positional is the prompt.
                resume_anywhere = all;
                (Some(None), prompt.or(id))
            } else {
                let id = id.ok_or("resume needs a session id, or --last")?;
                (Some(Some(id)), prompt)
            }
        }
        None => (None, args.prompt),
    };
    let prompt = match prompt_arg.as_deref() {
        None | Some("-") => {
            if prompt_arg.is_none() && std::io::stdin().is_terminal() {
                return Err("no prompt: give it as an argument, or pipe it on stdin".into());
            }
            read_stdin()?
        }
        // A prompt and piped input: the input follows in a <stdin> block — when it is already
        // there. An open pipe that stays silent is not waited for.
        Some(text) => {
            let piped = !std::io::stdin().is_terminal() && stdin_ready();
            let input = if piped { read_stdin()? } else { String::new() };
            if input.trim().is_empty() {
                text.to_string()
            } else {
                format!("{text}\n\n<stdin>\n{}\n</stdin>", input.trim_end())
            }
        }
    };
    if prompt.trim().is_empty() {
        return Err("the prompt is empty".into());
    }
    let images = args
        .images
        .iter()
        .map(|p| codex_core::image::data_url(p))
        .collect::<Result<Vec<_>, _>>()?;
    let output_schema = match &args.output_schema {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("--output-schema {}: {e}", path.display()))
                .and_then(|t| {
                    serde_json::from_str::<Value>(&t)
                        .map_err(|e| format!("--output-schema {}: not JSON: {e}", path.display()))
                })?,
        ),
        None => None,
    };

    let sandbox_mode = match (&args.sandbox, args.full_auto, args.bypass) {
        (_, _, true) => Some(SandboxMode::DangerFullAccess),
        (Some(mode), _, _) => Some(SandboxMode::parse(mode).ok_or_else(|| {
            format!("'{mode}' is not a sandbox mode; use read-only, workspace-write or danger-full-access")
        })?),
        (None, true, _) => Some(SandboxMode::WorkspaceWrite),
        (None, false, false) => None,
    };
    let mut selection = config
        .sandbox
        .select(&Overrides {
            sandbox_mode,
            profile: None,
        })
        .map_err(|e| e.to_string())?;
    if !args.add_dir.is_empty() {
        let SandboxSelection::Legacy {
            policy: SandboxPolicy::WorkspaceWrite { writable_roots, .. },
            ..
        } = &mut selection
        else {
            return Err(
                "--add-dir makes more directories writable, which needs --sandbox workspace-write (or --full-auto)"
                    .into(),
            );
        };
        for dir in &args.add_dir {
            let dir = dir
                .canonicalize()
                .map_err(|e| format!("--add-dir {}: {e}", dir.display()))?;
            writable_roots.push(dir);
        }
    }
    let (sandbox_text, network_disabled) = describe(&selection);
    let codex_exe =
        std::env::current_exe().map_err(|e| format!("cannot find the codex binary: {e}"))?;
    let confinement = match &selection {
        SandboxSelection::Legacy {
            policy: SandboxPolicy::DangerFullAccess,
            ..
        } => Confinement::None,
        _ if cfg!(target_os = "linux") => Confinement::LinuxHelper {
            // This very binary, whatever happens to its path during the session (an upgrade
            // replacing it, a deleted build): the helper and this process always match.
            helper: PathBuf::from("/proc/self/exe"),
            policy_cwd: cwd.clone(),
            selection: selection.clone(),
        },
        _ => {
            return Err(
                "codex exec sandboxes commands on Linux only so far; pass --sandbox danger-full-access to run unsandboxed"
                    .into(),
            );
        }
    };

    let provider = config.model_provider.clone();
    let auth = ModelClient::auth_for(&provider, || {
        codex_login::AuthManager::new(&home).ok().map(Arc::new)
    })
    .map_err(|e| e.to_string())?;
    let client = ModelClient::new(provider.clone(), auth).map_err(|e| e.to_string())?;
    let model = args
        .model
        .or(config.model.clone())
        .unwrap_or_else(|| DEFAULT_MODEL.to_string());
    let (user_instructions, doc_warnings) =
        codex_core::project_doc::user_instructions(&home, &cwd, config.project_doc_max_bytes);
    warnings.extend(doc_warnings);
    // Missing or too old bubblewrap, blocked user namespaces: said once, at the start.
    #[cfg(target_os = "linux")]
    if let Confinement::LinuxHelper { selection, .. } = &confinement {
        match codex_linux_sandbox::startup_warning(selection, &cwd) {
            Ok(Some(warning)) => warnings.push(warning),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    let mut command_env = codex_core::shell_env::command_env(
        &config.shell_environment_policy,
        std::env::vars(),
        network_disabled,
    );
    for (name, value) in [
        ("PAGER", "cat"),
        ("GIT_PAGER", "cat"),
        ("NO_COLOR", "1"),
        ("CODEX_CI", "1"),
    ] {
        command_env
            .entry(name.into())
            .or_insert_with(|| value.into());
    }
    let settings = SessionSettings {
        model: model.clone(),
        cwd: cwd.clone(),
        codex_exe,
        confinement,
        permissions_text: format!(
            "<permissions instructions>\nCommands run in a sandbox: {sandbox_text}. Approval policy: never — nothing is asked; a command the sandbox blocks fails, and its output says so.\n</permissions instructions>"
        ),
        sandbox_label: sandbox_text.clone(),
        command_env,
        user_instructions,
        reasoning_effort: config.model_reasoning_effort,
        output_schema,
        stream_max_retries: provider.stream_max_retries,
        auto_compact_token_limit: config
            .model_auto_compact_token_limit
            .and_then(|limit| u64::try_from(limit).ok())
            .filter(|limit| *limit > 0),
        snapshot_dir: Some(home.join("shell_snapshots")),
        web_search: config.web_search,
    };

    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let (thread_id, history, rollout) = match resume {
        Some(which) => {
            let path = match which {
                Some(id) => rollout::find(&home, &id).map_err(|e| e.to_string())?,
                None => rollout::latest(&home, (!resume_anywhere).then_some(cwd.as_path()))
                    .ok_or_else(|| {
                        if resume_anywhere {
                            "no saved session to resume under $CODEX_HOME/sessions".to_string()
                        } else {
                            format!(
                                "no saved session started in {}; `resume --last --all` takes the latest from any directory",
                                cwd.display()
                            )
                        }
                    })?,
            };
            let (meta, lines) = rollout::read(&path).map_err(|e| e.to_string())?;
            let id = meta["id"].as_str().unwrap_or_default().to_string();
            let history = codex_core::turn::history_from_rollout(&lines);
            let writer = if args.ephemeral {
                None
            } else {
                Some(RolloutWriter::open(&path).map_err(|e| e.to_string())?)
            };
            (id, history, writer)
        }
        None => {
            let id = rollout::new_session_id();
            let history = Session::initial_context(&settings);
            let writer = if args.ephemeral {
                None
            } else {
                let mut writer = RolloutWriter::create(
                    &home,
                    &id,
                    chrono::Utc::now(),
                    json!({"id": id, "cwd": cwd, "originator": "codex_exec",
                        "cli_version": env!("CARGO_PKG_VERSION"), "model_provider": config.model_provider_id,
                        "source": args.thread_source.as_deref().unwrap_or("exec")}),
                )
                .map_err(|e| e.to_string())?;
                for item in &history {
                    writer
                        .append(LineKind::ResponseItem, item.clone())
                        .map_err(|e| e.to_string())?;
                }
                Some(writer)
            };
            (id, history, writer)
        }
    };
    let header = format!(
        "codex exec — model {model} ({}), workdir {}\nsandbox: {sandbox_text}\nsession {thread_id}",
        config.model_provider_id,
        cwd.display()
    );
    let session = Session::new(client, settings, thread_id, history, rollout, tx);
    Ok(Run {
        warnings,
        json: args.json,
        spinner: !args.json
            && match args.color.as_str() {
                "never" => false,
                "always" => true,
                _ => std::io::stderr().is_terminal(),
            },
        session,
        events,
        prompt,
        images,
        output_last_message: args.output_last_message,
        header,
    })
}

impl Run {
    fn go(mut self) -> i32 {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime starts");
        let json = self.json;
        let show_spinner = self.spinner;
        if json {
            print_line(&json!({"type": "thread.started", "thread_id": self.session.thread_id()}));
        } else {
            eprintln!("{}", self.header);
        }
        let mut events = self.events;
        let printer = runtime.spawn(async move {
            let mut last_message = None;
            // Human mode on a terminal: a spinner line says what is going on between events.
            let mut spinner = show_spinner.then(Spinner::default);
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(120));
            loop {
                let event = tokio::select! {
                    event = events.recv() => event,
                    _ = tick.tick() => {
                        if let Some(spinner) = spinner.as_mut() {
                            spinner.draw();
                        }
                        continue;
                    }
                };
                let Some(event) = event else { break };
                if let ThreadEvent::ItemCompleted { item } = &event
                    && item["type"] == "agent_message"
                {
                    last_message = item["text"].as_str().map(str::to_string);
                }
                if json {
                    print_line(&serde_json::to_value(&event).expect("events serialize"));
                } else {
                    if let Some(spinner) = spinner.as_mut() {
                        spinner.clear();
                        spinner.follow(&event);
                    }
                    human(&event);
                }
            }
            if let Some(spinner) = spinner.as_mut() {
                spinner.clear();
            }
            last_message
        });
        let prompt = std::mem::take(&mut self.prompt);
        let images = std::mem::take(&mut self.images);
        let mut session = self.session;
        let warnings = std::mem::take(&mut self.warnings);
        let result = runtime.block_on(async move {
            for warning in &warnings {
                session.warn(warning);
            }
            // Ctrl-C (or SIGTERM) ends the turn at once: dropping it kills every running
            // command's process group. As the reference does, no turn.failed follows.
            let interrupted = tokio::select! {
                result = session.run_turn(&prompt, &images) => Some(result),
                _ = interrupt() => None,
            };
            drop(session); // closes the event channel
            interrupted
        });
        let last_message = runtime.block_on(printer).ok().flatten();
        let Some(result) = result else {
            eprintln!("interrupted");
            // The stopped commands get their SIGTERM-to-SIGKILL grace before this process ends.
            #[cfg(unix)]
            std::thread::sleep(codex_core::KILL_GRACE + std::time::Duration::from_millis(50));
            return 1;
        };
        if let (Some(path), Some(text)) = (&self.output_last_message, &last_message)
            && let Err(e) = std::fs::write(path, text)
        {
            eprintln!("Error: writing {}: {e}", path.display());
            return 1;
        }
        if !json && let Some(text) = last_message {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        }
        i32::from(result.is_err())
    }
}

/// SIGINT or SIGTERM.
async fn interrupt() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The spinner of human mode: one line on stderr, redrawn in place, saying what the agent is
/// waiting for (the model, or the commands it runs) and for how long.
#[derive(Default)]
struct Spinner {
    /// What is being waited for; `None` draws nothing.
    label: Option<String>,
    since: Option<std::time::Instant>,
    running: Vec<(String, String)>,
    frame: usize,
    drawn: bool,
}

impl Spinner {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

    fn follow(&mut self, event: &ThreadEvent) {
        match event {
            ThreadEvent::ItemStarted { item } if item["type"] == "command_execution" => {
                let id = item["id"].as_str().unwrap_or_default().to_string();
                let command = item["command"].as_str().unwrap_or_default().to_string();
                self.running.push((id, command));
            }
            ThreadEvent::ItemCompleted { item } if item["type"] == "command_execution" => {
                self.running
                    .retain(|(id, _)| item["id"].as_str() != Some(id.as_str()));
            }
            _ => {}
        }
        let label = match event {
            ThreadEvent::TurnCompleted { .. } | ThreadEvent::TurnFailed { .. } => None,
            _ => Some(match self.running.last() {
                Some((_, command)) => format!("running {command}"),
                None => "thinking".to_string(),
            }),
        };
        if label != self.label {
            self.since = Some(std::time::Instant::now());
            self.label = label;
        }
    }

    fn draw(&mut self) {
        let (Some(label), Some(since)) = (&self.label, self.since) else {
            return;
        };
        self.frame = (self.frame + 1) % Self::FRAMES.len();
        let width = 70;
        let shown: String = label.chars().take(width).collect();
        let more = if label.chars().count() > width {
            "…"
        } else {
            ""
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[K{} {shown}{more} ({}s)",
            Self::FRAMES[self.frame],
            since.elapsed().as_secs()
        );
        let _ = err.flush();
        self.drawn = true;
    }

    /// Erases the line, so an event prints on a clean one.
    fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

/// Progress on stderr.
fn human(event: &ThreadEvent) {
    match event {
        ThreadEvent::ItemStarted { item } if item["type"] == "command_execution" => {
            eprintln!("exec {}", item["command"].as_str().unwrap_or_default());
        }
        ThreadEvent::ItemCompleted { item } if item["type"] == "command_execution" => {
            eprintln!("  exit {}", item["exit_code"]);
        }
        ThreadEvent::ItemCompleted { item } if item["type"] == "file_change" => {
            for change in item["changes"].as_array().into_iter().flatten() {
                eprintln!(
                    "{} {} ({})",
                    change["kind"].as_str().unwrap_or_default(),
                    change["path"].as_str().unwrap_or_default(),
                    item["status"].as_str().unwrap_or_default()
                );
            }
        }
        ThreadEvent::ItemCompleted { item } if item["type"] == "reasoning" => {
            eprintln!("thinking: {}", item["text"].as_str().unwrap_or_default());
        }
        ThreadEvent::ItemCompleted { item } if item["type"] == "error" => {
            eprintln!("warning: {}", item["message"].as_str().unwrap_or_default());
        }
        ThreadEvent::Error { message } => eprintln!("error: {message}"),
        ThreadEvent::TurnCompleted { usage } => eprintln!(
            "tokens used: {} in, {} out",
            usage.input_tokens, usage.output_tokens
        ),
        _ => {}
    }
}
