//! The turn loop: send the history, run every tool call of the answer (concurrently), append
//! the calls and their outputs, and ask again until an answer calls no tool. What happens is
//! reported as the `codex exec --json` events ([`ThreadEvent`]) on a channel.

use crate::client::{ClientError, ModelClient, Prompt, ResponseEvent, TokenUsage};
use crate::config::{ReasoningEffort, WebSearchMode};
use crate::exec::{self, CommandRequest, Confinement};
use crate::rollout::{LineKind, RolloutWriter};
use crate::unified_exec::{self, ProcessManager, Spawn};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How long a command may run before it is killed with its process group.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);
/// `max_output_tokens` when the model gives none; a token is counted as 4 bytes.
const DEFAULT_MAX_OUTPUT_TOKENS: usize = 10_000;

/// The `codex exec --json` stream, one JSON object per line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum ThreadEvent {
    #[serde(rename = "thread.started")]
    ThreadStarted { thread_id: String },
    #[serde(rename = "turn.started")]
    TurnStarted {},
    #[serde(rename = "item.started")]
    ItemStarted { item: Value },
    #[serde(rename = "item.updated")]
    ItemUpdated { item: Value },
    #[serde(rename = "item.completed")]
    ItemCompleted { item: Value },
    #[serde(rename = "turn.completed")]
    TurnCompleted { usage: Usage },
    #[serde(rename = "turn.failed")]
    TurnFailed { error: ErrorMessage },
    #[serde(rename = "error")]
    Error { message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorMessage {
    pub message: String,
}

/// Token usage as `turn.completed` reports it: the thread's running total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub cache_write_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
}

impl Usage {
    fn add(&mut self, usage: &TokenUsage) {
        self.input_tokens += usage.input_tokens;
        self.cached_input_tokens += usage.cached_input_tokens;
        self.output_tokens += usage.output_tokens;
        self.reasoning_output_tokens += usage.reasoning_output_tokens;
    }
}

/// What a session needs besides the client.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub model: String,
    pub cwd: PathBuf,
    /// The codex binary: the sandbox helper and the apply_patch CLI live in it.
    pub codex_exe: PathBuf,
    pub confinement: Confinement,
    /// The sandbox in words, for the model.
    pub permissions_text: String,
    /// The sandbox in a few words (`workspace-write, network off`), for the session file.
    pub sandbox_label: String,
    /// The environment commands get.
    pub command_env: BTreeMap<String, String>,
    /// AGENTS.md instructions, already collected.
    pub user_instructions: Option<String>,
    pub reasoning_effort: Option<ReasoningEffort>,
    pub output_schema: Option<Value>,
    pub stream_max_retries: u64,
    /// `model_auto_compact_token_limit`: past this many tokens in one request, the history is
    /// summarised before the next one.
    pub auto_compact_token_limit: Option<u64>,
    /// Where to keep the login-shell snapshot (`None`: run `$SHELL -lc` for every command).
    pub snapshot_dir: Option<PathBuf>,
    /// The hosted web search tool offered to the model (Responses API only).
    pub web_search: WebSearchMode,
}

/// What the model is asked when the history is compacted.
pub const COMPACT_PROMPT: &str = "Context checkpoint: the conversation is about to be shortened. Write a handoff summary for another model that will continue this task without seeing the history: the task, what has been done (files changed, commands run and their results), what is known, and what remains to do next. Be specific and brief.";

/// How the summary is introduced in the rebuilt history.
pub const SUMMARY_PREFIX: &str = "Another model worked on this task before you and left this summary of where things stand; continue from it:";

fn is_context_message(item: &Value) -> bool {
    if item["type"] != "message" {
        return false;
    }
    if item["role"] == "developer" || item["role"] == "system" {
        return true;
    }
    let text = item["content"][0]["text"].as_str().unwrap_or_default();
    item["role"] == "user"
        && (text.starts_with("<environment_context>")
            || text.starts_with("# AGENTS.md instructions"))
}

fn is_summary(item: &Value) -> bool {
    item["content"][0]["text"]
        .as_str()
        .is_some_and(|t| t.starts_with(SUMMARY_PREFIX))
}

/// The history after compaction: the initial context, the user's own messages, then the
/// summary. (The same rule rebuilds it when a session file is read back, so compaction writes
/// one line instead of rewriting the history.)
pub fn compacted_history(history: &[Value], summary: &str) -> Vec<Value> {
    let context = history.iter().take_while(|item| is_context_message(item));
    let user_messages = history.iter().filter(|item| {
        item["type"] == "message"
            && item["role"] == "user"
            && !is_context_message(item)
            && !is_summary(item)
    });
    context
        .chain(user_messages)
        .cloned()
        .chain(std::iter::once(
            json!({"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": format!("{SUMMARY_PREFIX}\n{summary}")}
            ]}),
        ))
        .collect()
}

/// The history a session file holds: its response items, with each `compacted` line applied.
pub fn history_from_rollout(lines: &[crate::rollout::RolloutLine]) -> Vec<Value> {
    let mut history = Vec::new();
    for line in lines {
        match line.kind {
            LineKind::ResponseItem => history.push(line.payload.clone()),
            LineKind::Compacted => {
                let summary = line.payload["message"].as_str().unwrap_or_default();
                history = compacted_history(&history, summary);
            }
            _ => {}
        }
    }
    history
}

pub struct Session {
    client: ModelClient,
    settings: SessionSettings,
    thread_id: String,
    history: Vec<Value>,
    usage: Usage,
    /// Input + output tokens of the last request, for auto-compaction.
    last_request_tokens: Option<u64>,
    /// Images `view_image` attached, added to the history after the call outputs.
    pending_images: Vec<Value>,
    /// The login-shell snapshot: not tried yet (`None`), none possible, or its file.
    snapshot: Option<Option<PathBuf>>,
    /// The `item_N` counter, shared with tool tasks that decide late whether they make an item.
    next_item: Arc<AtomicU64>,
    rollout: Option<RolloutWriter>,
    events: UnboundedSender<ThreadEvent>,
    /// Commands still running between calls (`write_stdin`); all killed when the session ends.
    processes: Arc<ProcessManager>,
}

/// The model's standing instructions (the first `developer` message).
pub const BASE_INSTRUCTIONS: &str = "You are a coding agent working in the user's workspace \
through tools. Read before you change; keep changes small and focused on the task; run the \
project's own checks when you can. Use `exec_command` for shell commands and `apply_patch` to \
edit files. When you are done, reply with a short summary of what you did and anything the \
user should know.";

impl Session {
    pub fn new(
        client: ModelClient,
        settings: SessionSettings,
        thread_id: String,
        history: Vec<Value>,
        rollout: Option<RolloutWriter>,
        events: UnboundedSender<ThreadEvent>,
    ) -> Session {
        Session {
            client,
            settings,
            thread_id,
            history,
            usage: Usage::default(),
            last_request_tokens: None,
            snapshot: None,
            pending_images: Vec::new(),
            next_item: Arc::new(AtomicU64::new(0)),
            rollout,
            events,
            processes: Arc::new(ProcessManager::default()),
        }
    }

    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    fn emit(&self, event: ThreadEvent) {
        let _ = self.events.send(event);
    }

    fn item_id(&mut self) -> String {
        next_item_id(&self.next_item)
    }

    fn record(&mut self, kind: LineKind, payload: Value) {
        if let Some(rollout) = self.rollout.as_mut()
            && let Err(e) = rollout.append(kind, payload)
        {
            let message = format!("{e}; the session is no longer being saved");
            self.rollout = None;
            self.emit(ThreadEvent::Error { message });
        }
    }

    fn push_history(&mut self, item: Value) {
        self.record(LineKind::ResponseItem, item.clone());
        self.history.push(item);
    }

    /// A warning for the user (an `error` item: the reference's form for non-fatal problems).
    pub fn warn(&mut self, message: &str) {
        let id = self.item_id();
        self.emit(ThreadEvent::ItemCompleted {
            item: json!({"id": id, "type": "error", "message": message}),
        });
    }

    /// The context a new thread starts with.
    pub fn initial_context(settings: &SessionSettings) -> Vec<Value> {
        let mut items = vec![
            developer(BASE_INSTRUCTIONS),
            developer(&settings.permissions_text),
        ];
        let mut context = Vec::new();
        if let Some(instructions) = &settings.user_instructions {
            context.push(crate::project_doc::instructions_message(
                &settings.cwd,
                instructions,
            ));
        }
        let shell = exec::shell();
        context.push(format!(
            "<environment_context>\n  <cwd>{}</cwd>\n  <shell>{}</shell>\n  <current_date>{}</current_date>\n</environment_context>",
            settings.cwd.display(),
            Path::new(&shell).file_name().and_then(|n| n.to_str()).unwrap_or("bash"),
            chrono::Local::now().format("%Y-%m-%d"),
        ));
        items.push(json!({"type": "message", "role": "user", "content":
            context.iter().map(|t| json!({"type": "input_text", "text": t})).collect::<Vec<_>>()}));
        items
    }

    /// Runs one turn for `prompt`; `Err` carries the message `turn.failed` reported.
    pub async fn run_turn(&mut self, prompt: &str, images: &[String]) -> Result<(), String> {
        self.emit(ThreadEvent::TurnStarted {});
        // What this turn runs under, for whoever reads the session file later.
        self.record(
            LineKind::TurnContext,
            json!({"cwd": self.settings.cwd, "model": self.settings.model, "approval_policy": "never",
                "sandbox": self.settings.sandbox_label, "effort": self.settings.reasoning_effort}),
        );
        let mut content = vec![json!({"type": "input_text", "text": prompt})];
        content.extend(
            images
                .iter()
                .map(|url| json!({"type": "input_image", "image_url": url})),
        );
        self.push_history(json!({"type": "message", "role": "user", "content": content}));
        let mut plan_item: Option<Value> = None;
        let result = loop {
            let items = match self.request().await {
                Ok(items) => items,
                Err(message) => break Err(message),
            };
            let mut calls = Vec::new();
            for item in items {
                self.push_history(item.clone());
                match item["type"].as_str().unwrap_or_default() {
                    "message" => {
                        let text: String = item["content"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|c| c["text"].as_str())
                            .collect();
                        let id = self.item_id();
                        self.emit(ThreadEvent::ItemCompleted {
                            item: json!({"id": id, "type": "agent_message", "text": text}),
                        });
                    }
                    "reasoning" => {
                        let text: Vec<&str> = item["summary"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|s| s["text"].as_str())
                            .collect();
                        if !text.is_empty() {
                            let id = self.item_id();
                            self.emit(ThreadEvent::ItemCompleted {
                                item: json!({"id": id, "type": "reasoning", "text": text.join("\n\n")}),
                            });
                        }
                    }
                    "function_call" | "custom_tool_call" => calls.push(item),
                    "web_search_call" => {
                        // The search ran on the model's side; it starts and ends here.
                        let id = self.item_id();
                        let query = item["action"]["query"]
                            .as_str()
                            .or_else(|| item["action"]["queries"][0].as_str())
                            .unwrap_or_default();
                        let search = json!({"id": id, "type": "web_search", "query": query, "action": item["action"]});
                        self.emit(ThreadEvent::ItemStarted {
                            item: search.clone(),
                        });
                        self.emit(ThreadEvent::ItemCompleted { item: search });
                    }
                    _ => {}
                }
            }
            if calls.is_empty() {
                break Ok(());
            }
            let outputs = self.run_calls(calls, &mut plan_item).await;
            for output in outputs {
                self.push_history(output);
            }
            for image in std::mem::take(&mut self.pending_images) {
                self.push_history(image);
            }
            let over_limit = matches!(
                (self.settings.auto_compact_token_limit, self.last_request_tokens),
                (Some(limit), Some(used)) if used >= limit
            );
            if over_limit && let Err(message) = self.compact().await {
                break Err(message);
            }
        };
        if let Some(mut plan) = plan_item {
            plan["status"] = json!("completed");
            self.emit(ThreadEvent::ItemCompleted {
                item: strip_status(plan),
            });
        }
        let last_message = if result.is_ok() {
            self.history
                .iter()
                .rev()
                .find(|item| item["type"] == "message" && item["role"] == "assistant")
                .map(|item| item["content"][0]["text"].clone())
        } else {
            None
        };
        self.record(
            LineKind::EventMsg,
            json!({"type": "task_complete", "last_agent_message": last_message, "error": result.as_ref().err()}),
        );
        match result {
            Ok(()) => {
                self.emit(ThreadEvent::TurnCompleted { usage: self.usage });
                Ok(())
            }
            Err(message) => {
                self.emit(ThreadEvent::Error {
                    message: message.clone(),
                });
                self.emit(ThreadEvent::TurnFailed {
                    error: ErrorMessage {
                        message: message.clone(),
                    },
                });
                Err(message)
            }
        }
    }

    /// Summarises the history and replaces it (see [`compacted_history`]).
    async fn compact(&mut self) -> Result<(), String> {
        let mut input = self.history.clone();
        input.push(json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": COMPACT_PROMPT}]}));
        // No tools, and no output schema: the answer is a plain summary.
        let items = self.request_with(input, Vec::new(), None).await?;
        let summary: String = items
            .iter()
            .filter(|item| item["type"] == "message")
            .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["text"].as_str().map(str::to_string))
            .collect();
        self.history = compacted_history(&self.history, &summary);
        self.record(LineKind::Compacted, json!({"message": summary}));
        Ok(())
    }

    /// One model request (retried on stream failures); the items of the answer.
    async fn request(&mut self) -> Result<Vec<Value>, String> {
        let schema = self.settings.output_schema.clone();
        self.request_with(
            self.history.clone(),
            tool_specs(self.settings.web_search),
            schema,
        )
        .await
    }

    async fn request_with(
        &mut self,
        input: Vec<Value>,
        tools: Vec<Value>,
        output_schema: Option<Value>,
    ) -> Result<Vec<Value>, String> {
        let prompt = Prompt {
            model: self.settings.model.clone(),
            input,
            tools,
            reasoning_effort: self.settings.reasoning_effort,
            prompt_cache_key: Some(self.thread_id.clone()),
            output_schema,
        };
        let mut attempt = 0;
        loop {
            match self.stream_once(&prompt).await {
                Ok((items, usage)) => {
                    self.last_request_tokens = usage.map(|u| u.input_tokens + u.output_tokens);
                    if let Some(usage) = usage {
                        self.usage.add(&usage);
                        self.record(
                            LineKind::EventMsg,
                            json!({"type": "token_count", "usage": self.usage}),
                        );
                    }
                    return Ok(items);
                }
                Err(e)
                    if e.is_retryable_stream_error()
                        && attempt < self.settings.stream_max_retries =>
                {
                    attempt += 1;
                    self.emit(ThreadEvent::Error {
                        message: format!(
                            "Reconnecting... {attempt}/{} ({e})",
                            self.settings.stream_max_retries
                        ),
                    });
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    async fn stream_once(
        &self,
        prompt: &Prompt,
    ) -> Result<(Vec<Value>, Option<TokenUsage>), ClientError> {
        let mut stream = self.client.stream(prompt).await?;
        let mut items = Vec::new();
        while let Some(event) = stream.next().await {
            match event? {
                ResponseEvent::OutputItemDone(item) => items.push(item),
                ResponseEvent::Completed { usage, .. } => return Ok((items, usage)),
                _ => {}
            }
        }
        Err(ClientError::ClosedEarly)
    }

    /// The snapshot file, made on first use (see [`exec::capture_shell_snapshot`]).
    async fn shell_snapshot(&mut self) -> Option<PathBuf> {
        if let Some(done) = &self.snapshot {
            return done.clone();
        }
        let made = match &self.settings.snapshot_dir {
            None => None,
            Some(dir) => {
                let shell = exec::shell();
                let text = exec::capture_shell_snapshot(
                    &shell,
                    &self.settings.cwd,
                    &self.settings.command_env,
                    &self.settings.confinement,
                )
                .await;
                text.and_then(|text| {
                    let path = dir.join(format!("{}.sh", self.thread_id));
                    std::fs::create_dir_all(dir).ok()?;
                    std::fs::write(&path, text).ok()?;
                    Some(path)
                })
            }
        };
        self.snapshot = Some(made.clone());
        made
    }

    /// Runs the calls concurrently; their outputs, in call order.
    async fn run_calls(&mut self, calls: Vec<Value>, plan_item: &mut Option<Value>) -> Vec<Value> {
        let snapshot = if calls.iter().any(|c| c["name"] == "exec_command") {
            self.shell_snapshot().await
        } else {
            None
        };
        let mut tasks = tokio::task::JoinSet::new();
        let mut outputs: Vec<Option<Value>> = vec![None; calls.len()];
        // Patches run one after another, in call order (a later one may edit what an earlier
        // one wrote); each waits for the one before it.
        let mut previous_patch: Option<tokio::sync::oneshot::Receiver<()>> = None;
        for (index, call) in calls.iter().enumerate() {
            let call_id = call["call_id"].as_str().unwrap_or_default().to_string();
            let name = call["name"].as_str().unwrap_or_default().to_string();
            let custom = call["type"] == "custom_tool_call";
            match name.as_str() {
                "exec_command" if !custom => {
                    let args: ExecArgs = match parse_args(call) {
                        Ok(args) => args,
                        Err(text) => {
                            outputs[index] = Some(function_output(&call_id, &text));
                            continue;
                        }
                    };
                    let id = self.item_id();
                    let shown = shown_command(&args.cmd);
                    self.emit(ThreadEvent::ItemStarted { item: json!({"id": id, "type": "command_execution",
                        "command": shown, "aggregated_output": "", "exit_code": null, "status": "in_progress"}) });
                    let argv = match &snapshot {
                        Some(path) => exec::snapshot_argv(&exec::shell(), path, &args.cmd),
                        None => exec::shell_argv(&args.cmd),
                    };
                    let cwd = args
                        .workdir
                        .map(|w| self.settings.cwd.join(w))
                        .unwrap_or_else(|| self.settings.cwd.clone());
                    let spawn = Spawn {
                        argv,
                        cwd: cwd.clone(),
                        env: self.settings.command_env.clone(),
                        tty: args.tty,
                    };
                    // The item completes when the command ends, whichever call sees it (or in
                    // the background); a weak sender, so a session that ends is not held open.
                    let events = self.events.downgrade();
                    let (item_id, item_command) = (id.clone(), shown.clone());
                    let on_end = move |ended: unified_exec::Ended| {
                        let status = if ended.exit_code == Some(0) {
                            "completed"
                        } else {
                            "failed"
                        };
                        if let Some(events) = events.upgrade() {
                            let _ = events.send(ThreadEvent::ItemCompleted { item: json!({"id": item_id, "type": "command_execution",
                                "command": item_command, "aggregated_output": ended.aggregated_output,
                                "exit_code": ended.exit_code, "status": status}) });
                        }
                    };
                    let session = match self.processes.start(
                        spawn,
                        &self.settings.confinement,
                        on_end,
                    ) {
                        Ok(session) => session,
                        Err(e) => {
                            self.emit(ThreadEvent::ItemCompleted { item: json!({"id": id, "type": "command_execution",
                                "command": shown, "aggregated_output": e, "exit_code": null, "status": "failed"}) });
                            outputs[index] = Some(function_output(
                                &call_id,
                                &format!("exec_command failed: {e}"),
                            ));
                            continue;
                        }
                    };
                    let wait = unified_exec::yield_for(
                        args.yield_time_ms,
                        unified_exec::DEFAULT_EXEC_YIELD,
                        false,
                    );
                    let max_bytes = output_bytes(args.max_output_tokens);
                    let processes = self.processes.clone();
                    let confinement = self.settings.confinement.clone();
                    tasks.spawn(async move {
                        let text = match processes.collect(session, wait, max_bytes).await {
                            Ok(chunk) => render_chunk(&chunk, &confinement, &cwd),
                            Err(e) => format!("exec_command failed: {e}"),
                        };
                        (index, function_output(&call_id, &text))
                    });
                }
                "write_stdin" if !custom => {
                    let args: WriteStdinArgs = match parse_args(call) {
                        Ok(args) => args,
                        Err(text) => {
                            outputs[index] = Some(function_output(&call_id, &text));
                            continue;
                        }
                    };
                    let wait = unified_exec::yield_for(
                        args.yield_time_ms,
                        unified_exec::DEFAULT_WRITE_YIELD,
                        args.chars.is_empty(),
                    );
                    let max_bytes = output_bytes(args.max_output_tokens);
                    let processes = self.processes.clone();
                    let confinement = self.settings.confinement.clone();
                    let cwd = self.settings.cwd.clone();
                    tasks.spawn(async move {
                        let result = async {
                            processes.write(args.session_id, &args.chars, wait).await?;
                            processes.collect(args.session_id, wait, max_bytes).await
                        };
                        let text = match result.await {
                            Ok(chunk) => render_chunk(&chunk, &confinement, &cwd),
                            Err(e) => format!("write_stdin failed: {e}"),
                        };
                        (index, function_output(&call_id, &text))
                    });
                }
                "apply_patch" => {
                    let patch = if custom {
                        call["input"].as_str().unwrap_or_default().to_string()
                    } else {
                        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap_or("{}"))
                            .ok()
                            .and_then(|v| v["input"].as_str().map(str::to_string))
                            .unwrap_or_default()
                    };
                    let changes = patch_changes(&patch, &self.settings.cwd);
                    let request = CommandRequest {
                        argv: vec![
                            self.settings.codex_exe.display().to_string(),
                            "--codex-run-as-apply-patch".into(),
                            patch.clone(),
                        ],
                        cwd: self.settings.cwd.clone(),
                        env: self.settings.command_env.clone(),
                        timeout: COMMAND_TIMEOUT,
                        max_output_bytes: DEFAULT_MAX_OUTPUT_TOKENS * 4,
                        capture_stderr: true,
                    };
                    let confinement = self.settings.confinement.clone();
                    let events = self.events.clone();
                    let ids = self.next_item.clone();
                    let after = previous_patch.take();
                    let (done, next) = tokio::sync::oneshot::channel::<()>();
                    previous_patch = Some(next);
                    tasks.spawn(async move {
                        // Dropped (so the next patch may go) however this task ends.
                        let _done = done;
                        if let Some(before) = after {
                            let _ = before.await;
                        }
                        let wrap = |text: String| {
                            if custom {
                                json!({"type": "custom_tool_call_output", "call_id": call_id, "output": text})
                            } else {
                                function_output(&call_id, &text)
                            }
                        };
                        // Checked when it runs, after the patches before it in this response.
                        let (cwd, held) = (request.cwd.clone(), confinement.clone());
                        let checked = tokio::task::spawn_blocking(move || verify_patch(&patch, &cwd, &held))
                            .await
                            .unwrap_or_else(|e| Err(e.to_string()));
                        if let Err(text) = checked {
                            return (index, wrap(text));
                        }
                        let id = next_item_id(&ids);
                        let _ = events.send(ThreadEvent::ItemStarted { item: json!({"id": id, "type": "file_change", "changes": changes, "status": "in_progress"}) });
                        let result = exec::run(&request, &confinement).await;
                        let (text, ok) = match &result {
                            Ok(out) => {
                                let text = format!("Exit code: {}\nWall time: {:.1} seconds\nOutput:\n{}",
                                    out.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "none".into()),
                                    out.wall.as_secs_f64(), out.output);
                                // A write the sandbox refused is said to be the sandbox's doing.
                                let text = match exec::sandbox_note(&confinement, out.exit_code, &out.output, &request.cwd) {
                                    Some(note) => format!("{note}\n{text}"),
                                    None => text,
                                };
                                (text, out.exit_code == Some(0))
                            }
                            Err(e) => (format!("apply_patch failed: {e}"), false),
                        };
                        let status = if ok { "completed" } else { "failed" };
                        let _ = events.send(ThreadEvent::ItemCompleted { item: json!({"id": id, "type": "file_change", "changes": changes, "status": status}) });
                        (index, wrap(text))
                    });
                }
                "view_image" if !custom => {
                    let path =
                        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap_or("{}"))
                            .ok()
                            .and_then(|v| v["path"].as_str().map(|p| self.settings.cwd.join(p)));
                    let text = match path {
                        None => "failed to parse function arguments: `path` (a string) is required"
                            .to_string(),
                        Some(path)
                            if !exec::may_read(&self.settings.confinement, [path.as_path()]) =>
                        {
                            format!("Blocked by the sandbox: {} may not be read", path.display())
                        }
                        Some(path) => match crate::image::data_url(&path) {
                            Ok(url) => {
                                self.pending_images.push(json!({"type": "message", "role": "user", "content": [
                                    {"type": "input_text", "text": format!("<image path=\"{}\">", path.display())},
                                    {"type": "input_image", "image_url": url},
                                    {"type": "input_text", "text": "</image>"},
                                ]}));
                                "attached the image".to_string()
                            }
                            Err(e) => e,
                        },
                    };
                    outputs[index] = Some(function_output(&call_id, &text));
                }
                "update_plan" if !custom => {
                    let text = match serde_json::from_str::<Value>(call["arguments"].as_str().unwrap_or("{}")) {
                        Ok(args) if args["plan"].is_array() => {
                            let items: Vec<Value> = args["plan"].as_array().into_iter().flatten().map(|step| json!({
                                "text": step["step"].as_str().unwrap_or_default(),
                                "completed": step["status"] == "completed",
                            })).collect();
                            match plan_item {
                                Some(plan) => {
                                    plan["items"] = json!(items);
                                    self.emit(ThreadEvent::ItemUpdated { item: strip_status(plan.clone()) });
                                }
                                None => {
                                    let plan = json!({"id": self.item_id(), "type": "todo_list", "items": items});
                                    self.emit(ThreadEvent::ItemStarted { item: plan.clone() });
                                    *plan_item = Some(plan);
                                }
                            }
                            "Plan updated".to_string()
                        }
                        Ok(_) => "failed to parse function arguments: `plan` must be a list of {step, status}".to_string(),
                        Err(e) => format!("failed to parse function arguments: {e}"),
                    };
                    outputs[index] = Some(function_output(&call_id, &text));
                }
                other => {
                    let text = format!("unsupported call: {other}");
                    outputs[index] = Some(if custom {
                        json!({"type": "custom_tool_call_output", "call_id": call_id, "output": text})
                    } else {
                        function_output(&call_id, &text)
                    });
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok((index, output)) = done {
                outputs[index] = Some(output);
            }
        }
        calls
            .iter()
            .zip(outputs)
            .map(|(call, output)| {
                output.unwrap_or_else(|| {
                    function_output(
                        call["call_id"].as_str().unwrap_or_default(),
                        "the tool stopped without an answer",
                    )
                })
            })
            .collect()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(Some(path)) = &self.snapshot {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn strip_status(mut item: Value) -> Value {
    if let Some(map) = item.as_object_mut() {
        map.remove("status");
    }
    item
}

#[derive(serde::Deserialize)]
struct ExecArgs {
    cmd: String,
    workdir: Option<String>,
    #[serde(default)]
    tty: bool,
    yield_time_ms: Option<u64>,
    max_output_tokens: Option<usize>,
}

#[derive(serde::Deserialize)]
struct WriteStdinArgs {
    session_id: u32,
    #[serde(default)]
    chars: String,
    yield_time_ms: Option<u64>,
    max_output_tokens: Option<usize>,
}

/// A function call's JSON arguments, or the text that tells the model what is wrong.
fn parse_args<T: serde::de::DeserializeOwned>(call: &Value) -> Result<T, String> {
    serde_json::from_str(call["arguments"].as_str().unwrap_or("{}"))
        .map_err(|e| format!("failed to parse function arguments: {e}"))
}

/// The output budget in bytes for `max_output_tokens` (a token counted as 4 bytes).
fn output_bytes(max_output_tokens: Option<usize>) -> usize {
    max_output_tokens
        .unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS)
        .saturating_mul(4)
}

/// A chunk as the model reads it, after a note when the sandbox is what stopped the command.
fn render_chunk(chunk: &unified_exec::Chunk, confinement: &Confinement, cwd: &Path) -> String {
    let text = chunk.render();
    match chunk
        .exit
        .and_then(|code| exec::sandbox_note(confinement, code, &chunk.output, cwd))
    {
        Some(note) => format!("{note}\n{text}"),
        None => text,
    }
}

fn next_item_id(counter: &AtomicU64) -> String {
    format!("item_{}", counter.fetch_add(1, Ordering::Relaxed))
}

/// Checks a patch before it runs: one that cannot apply (it does not parse, or its context is
/// not in the file) is answered with the reason and makes no `file_change` item, as in the
/// reference. Files the sandbox does not let commands read are not read here; such a patch
/// runs (and fails, if it must) in the sandbox.
fn verify_patch(patch: &str, cwd: &Path, confinement: &Confinement) -> Result<(), String> {
    let parsed = codex_apply_patch::parse_patch(patch)
        .map_err(|e| format!("apply_patch verification failed: {e}"))?;
    let paths: Vec<PathBuf> = parsed
        .hunks
        .iter()
        .map(|hunk| match hunk {
            codex_apply_patch::Hunk::Add { path, .. }
            | codex_apply_patch::Hunk::Delete { path, .. }
            | codex_apply_patch::Hunk::Update { path, .. } => {
                codex_apply_patch::resolve_path(cwd, path)
            }
        })
        .collect();
    if exec::may_read(confinement, paths.iter().map(PathBuf::as_path)) {
        codex_apply_patch::compute_plan(&parsed, cwd)
            .map_err(|e| format!("apply_patch verification failed: {e}"))?;
    }
    Ok(())
}

fn developer(text: &str) -> Value {
    json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": text}]})
}

fn function_output(call_id: &str, text: &str) -> Value {
    json!({"type": "function_call_output", "call_id": call_id, "output": text})
}

/// `/bin/bash -lc 'cmd'`, as the item shows it.
fn shown_command(cmd: &str) -> String {
    format!("{} -lc '{}'", exec::shell(), cmd.replace('\'', "'\\''"))
}

/// The files a patch touches, for the `file_change` item.
fn patch_changes(patch: &str, cwd: &Path) -> Vec<Value> {
    let Ok(parsed) = codex_apply_patch::parse_patch(patch) else {
        return Vec::new();
    };
    parsed
        .hunks
        .iter()
        .map(|hunk| {
            let (path, kind) = match hunk {
                codex_apply_patch::Hunk::Add { path, .. } => (path, "add"),
                codex_apply_patch::Hunk::Delete { path, .. } => (path, "delete"),
                codex_apply_patch::Hunk::Update { path, .. } => (path, "update"),
            };
            json!({"path": cwd.join(path), "kind": kind})
        })
        .collect()
}

/// The tools offered to the model.
pub fn tool_specs(web_search: WebSearchMode) -> Vec<Value> {
    let mut tools = vec![
        json!({"type": "function", "name": "exec_command", "strict": false,
        "description": "Runs a shell command (`$SHELL -lc CMD`) in the workspace, inside the sandbox. Returns its output and exit code, or, if it is still running when the yield time is up, a session ID: continue it with write_stdin.",
        "parameters": {"type": "object", "additionalProperties": false, "required": ["cmd"], "properties": {
            "cmd": {"type": "string", "description": "The shell command to run."},
            "workdir": {"type": "string", "description": "Directory to run in, relative to the workspace (default: the workspace)."},
            "tty": {"type": "boolean", "description": "Run in a terminal (PTY) whose input write_stdin can send: for interactive programs. Default false (stdin closed)."},
            "yield_time_ms": {"type": "number", "description": "How long to wait for the command before returning (250-30000, default 10000); it keeps running afterwards."},
            "max_output_tokens": {"type": "number", "description": "Keep at most about this many tokens of output (head and tail)."},
        }}}),
        json!({"type": "function", "name": "write_stdin", "strict": false,
        "description": "Writes characters to a running exec_command session (started with tty: true) and returns the output since the last call. Empty chars just waits for more output.",
        "parameters": {"type": "object", "additionalProperties": false, "required": ["session_id"], "properties": {
            "session_id": {"type": "number", "description": "The session ID exec_command returned."},
            "chars": {"type": "string", "description": "What to type; \\n for Enter, \\u0003 for Ctrl-C. May be empty."},
            "yield_time_ms": {"type": "number", "description": "How long to wait for output (default 250; up to 300000 when chars is empty)."},
            "max_output_tokens": {"type": "number", "description": "Keep at most about this many tokens of output (head and tail)."},
        }}}),
        json!({"type": "custom", "name": "apply_patch",
            "description": "Edits files. Input is a patch: `*** Begin Patch`, then `*** Add File: PATH` (lines prefixed `+`), `*** Delete File: PATH`, or `*** Update File: PATH` (optional `*** Move to: PATH`) with `@@` chunks of context ` `, removed `-` and added `+` lines, then `*** End Patch`.",
            "format": {"type": "grammar", "syntax": "lark", "definition": APPLY_PATCH_GRAMMAR}}),
        json!({"type": "function", "name": "view_image", "strict": false,
        "description": "Attaches a local image file (PNG, JPEG, GIF, WebP) so you can look at it.",
        "parameters": {"type": "object", "additionalProperties": false, "required": ["path"], "properties": {
            "path": {"type": "string", "description": "The image file, relative to the workspace or absolute."},
        }}}),
        json!({"type": "function", "name": "update_plan", "strict": false,
        "description": "Records the plan for the task as steps with a status; call it again as steps progress.",
        "parameters": {"type": "object", "additionalProperties": false, "required": ["plan"], "properties": {
            "explanation": {"type": "string"},
            "plan": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["step", "status"], "properties": {
                "step": {"type": "string"},
                "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
            }}},
        }}}),
    ];
    if web_search != WebSearchMode::Disabled {
        // Searches run on the model's side; `cached` keeps to its index, `live` goes online.
        tools.push(
            json!({"type": "web_search", "external_web_access": web_search == WebSearchMode::Live,
            "search_content_types": ["text", "image"]}),
        );
    }
    tools
}

/// The patch format as a Lark grammar, for models that constrain their output to it.
pub const APPLY_PATCH_GRAMMAR: &str = r#"start: begin_patch hunk+ end_patch
begin_patch: "*** Begin Patch" LF
end_patch: "*** End Patch" LF?
hunk: add_hunk | delete_hunk | update_hunk
add_hunk: "*** Add File: " filename LF add_line+
delete_hunk: "*** Delete File: " filename LF
update_hunk: "*** Update File: " filename LF change_move? change?
filename: /(.+)/
add_line: "+" /(.*)/ LF -> line
change_move: "*** Move to: " filename LF
change: (change_context | change_line)+ eof_line?
change_context: ("@@" | "@@ " /(.+)/) LF
change_line: ("+" | "-" | " ") /(.*)/ LF
eof_line: "*** End of File" LF
%import common.LF
"#;
