//! `codex exec` end to end: the built binary against a scripted model server on 127.0.0.1,
//! checking both the JSONL it prints and the requests it sends.

use super::{codex, run, still_running, text, with_bwrap_hidden};
use codex_test_support::responses::{completed, function_call, message, patch_call};
use codex_test_support::{Reply, ResponsesServer};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

struct Workspace {
    home: tempfile::TempDir,
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let workspace = Workspace {
            home: tempfile::tempdir().unwrap(),
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(workspace.dir.path().join(".git")).unwrap();
        std::fs::write(
            workspace.dir.path().join(".git/HEAD"),
            "ref: refs/heads/main\n",
        )
        .unwrap();
        workspace
    }

    /// `env VAR=… codex exec …` as arguments, to run directly or under a wrapper.
    fn argv(&self, server: &ResponsesServer, args: &[&str]) -> Vec<String> {
        let mut argv: Vec<String> = vec![
            "env".into(),
            format!("CODEX_HOME={}", self.home.path().display()),
            "MOCK_KEY=sk-mock".into(),
            "SHELL=/bin/sh".into(),
            codex().display().to_string(),
            "exec".into(),
            "-C".into(),
            self.dir.path().display().to_string(),
            "-c".into(),
            "model_provider=mock".into(),
            "-c".into(),
            format!(
                "model_providers.mock={{name=\"mock\", base_url=\"{}\", env_key=\"MOCK_KEY\", request_max_retries=1, stream_max_retries=0, stream_idle_timeout_ms=5000}}",
                server.base_url
            ),
        ];
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    }

    fn exec(&self, server: &ResponsesServer, args: &[&str], stdin: &[u8]) -> Output {
        let argv = self.argv(server, args);
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        run(command, stdin)
    }
}

/// `--json --full-auto` with /tmp and $TMPDIR left out of the writable roots: the sandbox then
/// makes no mount points there, which the tests running alongside would see.
const FULL_AUTO_NO_SHARED_TMP: [&str; 6] = [
    "--json",
    "--full-auto",
    "-c",
    "sandbox_workspace_write.exclude_slash_tmp=true",
    "-c",
    "sandbox_workspace_write.exclude_tmpdir_env_var=true",
];

fn events(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e["item"]["type"].as_str() {
            Some(kind) => format!("{} {kind}", e["type"].as_str().unwrap()),
            None => e["type"].as_str().unwrap().to_string(),
        })
        .collect()
}

#[test]
fn a_plain_answer() {
    let server = ResponsesServer::start(vec![Reply::Events(vec![
        message("Hello from the mock!"),
        completed("r1", 120, 7),
    ])]);
    let ws = Workspace::new();
    let out = ws.exec(&server, &["--json", "-m", "gpt-test", "say hello"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = events(&out);
    assert_eq!(
        types(&events),
        [
            "thread.started",
            "turn.started",
            "item.completed agent_message",
            "turn.completed"
        ]
    );
    assert_eq!(events[2]["item"]["text"], "Hello from the mock!");
    assert_eq!(events[2]["item"]["id"], "item_0");
    assert_eq!(events[3]["usage"]["input_tokens"], 120);
    assert_eq!(events[3]["usage"]["output_tokens"], 7);

    let request = &server.requests()[0];
    assert_eq!(request.path, "/v1/responses");
    assert_eq!(request.header("authorization"), Some("Bearer sk-mock"));
    let body = &request.body;
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(body["prompt_cache_key"], events[0]["thread_id"]);
    let input = body["input"].as_array().unwrap();
    assert_eq!(input[0]["role"], "developer");
    assert!(
        input[1]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("network off")
    );
    assert!(
        input[2]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("<environment_context>")
    );
    assert_eq!(input.last().unwrap()["content"][0]["text"], "say hello");
    let tools: Vec<&str> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().or(t["type"].as_str()).unwrap())
        .collect();
    let search = body["tools"].as_array().unwrap().last().unwrap();
    assert_eq!(
        search["external_web_access"], false,
        "web_search defaults to cached: {search}"
    );
    assert_eq!(
        tools,
        [
            "exec_command",
            "write_stdin",
            "apply_patch",
            "view_image",
            "update_plan",
            "web_search"
        ]
    );

    // The session was saved, and the human mode prints the answer on stdout.
    let thread = events[0]["thread_id"].as_str().unwrap();
    let sessions = ws.home.path().join("sessions");
    assert!(
        walk(&sessions)
            .iter()
            .any(|p| p.ends_with(&format!("{thread}.jsonl")))
    );
    let server = ResponsesServer::start(vec![Reply::Events(vec![
        message("Plain."),
        completed("r", 1, 1),
    ])]);
    let out = ws.exec(&server, &["--ephemeral", "again"], b"");
    assert_eq!(text(&out.stdout), "Plain.\n");
    assert!(
        text(&out.stderr).contains("sandbox: read-only"),
        "{}",
        text(&out.stderr)
    );
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn a_command_in_the_sandbox_then_an_answer() {
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call(
                "call_1",
                "exec_command",
                &json!({"cmd": "echo hello-from-shell; pwd; touch denied.txt"}),
            ),
            completed("r1", 100, 10),
        ]),
        Reply::Events(vec![message("Done."), completed("r2", 200, 5)]),
    ]);
    let ws = Workspace::new();
    let out = ws.exec(&server, &["--json", "-s", "read-only", "run it"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = events(&out);
    assert_eq!(
        types(&events),
        [
            "thread.started",
            "turn.started",
            "item.started command_execution",
            "item.completed command_execution",
            "item.completed agent_message",
            "turn.completed"
        ]
    );
    let done = &events[3]["item"];
    assert_eq!(
        done["command"],
        "/bin/sh -lc 'echo hello-from-shell; pwd; touch denied.txt'"
    );
    assert_eq!(
        done["status"], "failed",
        "the read-only sandbox refused the write: {done}"
    );
    assert_ne!(done["exit_code"], 0);
    let output = done["aggregated_output"].as_str().unwrap();
    assert!(output.contains("hello-from-shell"), "{output}");
    assert!(
        output.contains(ws.dir.path().canonicalize().unwrap().to_str().unwrap()),
        "{output}"
    );
    assert!(!ws.dir.path().join("denied.txt").exists());
    assert_eq!(
        events[5]["usage"]["input_tokens"], 300,
        "usage adds up over the turn"
    );

    let second = &server.requests()[1].body["input"];
    let items = second.as_array().unwrap();
    let call = &items[items.len() - 2];
    let result = &items[items.len() - 1];
    assert_eq!(call["type"], "function_call");
    assert_eq!(result["type"], "function_call_output");
    assert_eq!(result["call_id"], "call_1");
    let text_out = result["output"].as_str().unwrap();
    assert!(
        text_out.contains("Process exited with code") && text_out.contains("hello-from-shell"),
        "{text_out}"
    );
}

#[test]
fn a_patch_then_an_answer() {
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Add File: hello.txt\n+hi there\n*** End Patch\n",
            ),
            completed("r1", 10, 10),
        ]),
        // A patch whose context is not in the file: answered, no item (as the reference).
        Reply::Events(vec![
            patch_call(
                "p2",
                "*** Begin Patch\n*** Update File: hello.txt\n@@\n-not in the file\n+x\n*** End Patch\n",
            ),
            completed("r2", 10, 10),
        ]),
        Reply::Events(vec![message("Added hello.txt."), completed("r3", 10, 5)]),
    ]);
    let ws = Workspace::new();
    let out = ws.exec(&server, &["--json", "--full-auto", "add a file"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = events(&out);
    assert_eq!(
        types(&events)[2..5],
        [
            "item.started file_change",
            "item.completed file_change",
            "item.completed agent_message"
        ]
    );
    let change = &events[3]["item"];
    assert_eq!(change["status"], "completed", "{change}");
    assert_eq!(change["changes"][0]["kind"], "add");
    assert_eq!(
        std::fs::read_to_string(ws.dir.path().join("hello.txt")).unwrap(),
        "hi there\n"
    );
    let items = server.requests()[1].body["input"]
        .as_array()
        .unwrap()
        .clone();
    let result = items.last().unwrap();
    assert_eq!(result["type"], "custom_tool_call_output");
    assert!(
        result["output"].as_str().unwrap().contains("hello.txt"),
        "{result}"
    );
    let items = server.requests()[2].body["input"]
        .as_array()
        .unwrap()
        .clone();
    let refused = items.last().unwrap();
    assert_eq!(refused["call_id"], "p2");
    let refused = refused["output"].as_str().unwrap();
    assert!(
        refused.starts_with("apply_patch verification failed: ")
            && refused.contains("not in the file"),
        "{refused}"
    );
    assert_eq!(
        events[4]["item"]["id"], "item_1",
        "no item id is used up by the refused patch"
    );
}

#[test]
fn failures_and_resume() {
    let ws = Workspace::new();
    let server = ResponsesServer::start(vec![Reply::Status(
        400,
        "{\"error\":{\"message\":\"bad model\"}}".into(),
        vec![],
    )]);
    let out = ws.exec(&server, &["--json", "hi"], b"");
    assert_eq!(out.status.code(), Some(1));
    let events = events(&out);
    assert_eq!(
        types(&events),
        ["thread.started", "turn.started", "error", "turn.failed"]
    );
    assert!(
        events[3]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bad model")
    );

    // Not a git repository: refused unless asked.
    std::fs::remove_dir_all(ws.dir.path().join(".git")).unwrap();
    let out = ws.exec(&server, &["hi"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--skip-git-repo-check"),
        "{}",
        text(&out.stderr)
    );

    // The prompt on stdin, then a resumed session carrying the whole history.
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![message("first answer"), completed("r1", 1, 1)]),
        Reply::Events(vec![message("second answer"), completed("r2", 1, 1)]),
    ]);
    let out = ws.exec(
        &server,
        &["--json", "--skip-git-repo-check"],
        b"prompt from stdin",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let thread = self::events(&out)[0]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = ws.exec(
        &server,
        &[
            "--json",
            "--skip-git-repo-check",
            "resume",
            &thread,
            "and now?",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(self::events(&out)[0]["thread_id"], thread.as_str());
    let input = server.requests()[1].body["input"]
        .as_array()
        .unwrap()
        .clone();
    let texts: Vec<String> = input
        .iter()
        .map(|i| {
            i["content"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(
        texts.contains(&"prompt from stdin".to_string()),
        "{texts:?}"
    );
    assert!(texts.contains(&"first answer".to_string()), "{texts:?}");
    assert_eq!(texts.last().unwrap(), "and now?");
}

/// With bubblewrap missing, a policy that needs it gets one warning, through the event stream,
/// saying how to fix it; danger-full-access gets none.
#[test]
fn a_missing_bubblewrap_is_one_warning_in_the_event_stream() {
    if with_bwrap_hidden().is_none() {
        return;
    }
    let ws = Workspace::new();
    let hidden = |args: &[&str]| {
        let server = ResponsesServer::start(vec![Reply::Events(vec![
            message("ok"),
            completed("r", 1, 1),
        ])]);
        let mut command = with_bwrap_hidden().expect("checked above");
        command.args(ws.argv(&server, args));
        let out = run(command, b"");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        events(&out)
            .into_iter()
            .filter(|e| e["item"]["type"] == "error")
            .map(|e| e["item"]["message"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let warnings = hidden(&["--json", "--full-auto", "hi"]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("apt install bubblewrap"),
        "{warnings:?}"
    );
    assert!(hidden(&["--json", "-s", "danger-full-access", "hi"]).is_empty());
}

/// On a kernel without Landlock (a seccomp filter answering ENOSYS to its calls, as some
/// container runtimes do: `crates/linux-sandbox/tests/no_landlock.py`), the session starts
/// with one warning saying so, and commands still run sandboxed, in a namespace view (the
/// command is pid 2 of its pid namespace), writing inside the workspace only.
#[test]
fn without_landlock_one_warning_and_commands_run_in_a_namespace_view() {
    let python = Path::new("/usr/bin/python3");
    if !python.exists() {
        println!("SKIP: no /usr/bin/python3");
        return;
    }
    let wrapper =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../linux-sandbox/tests/no_landlock.py");
    let ws = Workspace::new();
    let outside = tempfile::tempdir().unwrap();
    let cmd = format!(
        "echo pid=$$; touch made; touch {}/x 2>/dev/null || echo outside-denied",
        outside.path().display()
    );
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call("c1", "exec_command", &json!({"cmd": cmd})),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![message("Done."), completed("r2", 1, 1)]),
    ]);
    let mut command = Command::new(python);
    command.arg(&wrapper).args(ws.argv(
        &server,
        &[FULL_AUTO_NO_SHARED_TMP.as_slice(), &["go"]].concat(),
    ));
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = events(&out);
    let warnings: Vec<&str> = events
        .iter()
        .filter(|e| e["item"]["type"] == "error")
        .filter_map(|e| e["item"]["message"].as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("Landlock ABI 0 is too old"),
        "{warnings:?}"
    );
    let done = events
        .iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
        .expect("the command ran");
    let output = done["item"]["aggregated_output"].as_str().unwrap();
    assert_eq!(output, "pid=2\noutside-denied\n", "{done}");
    assert!(ws.dir.path().join("made").exists());
    assert!(!outside.path().join("x").exists());
}

/// Ctrl-C ends the run at once with exit code 1, and nothing the command started survives.
#[test]
fn an_interrupt_kills_the_running_command_and_its_children() {
    use std::io::BufRead;
    let ws = Workspace::new();
    let pidfile = ws.dir.path().join("child.pid");
    let cmd = format!(
        "sh -c 'echo $$ > {}; sleep 1000' & sleep 1000",
        pidfile.display()
    );
    let server = ResponsesServer::start(vec![Reply::Events(vec![
        function_call("c1", "exec_command", &json!({"cmd": cmd})),
        completed("r1", 1, 1),
    ])]);
    let argv = ws.argv(
        &server,
        &[FULL_AUTO_NO_SHARED_TMP.as_slice(), &["wait"]].concat(),
    );
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("\"item.started\""));
    assert!(started, "the command started");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !pidfile.exists() || std::fs::read_to_string(&pidfile).unwrap().trim().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the grandchild wrote its pid"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let grandchild: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let interrupted_at = std::time::Instant::now();
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(interrupted_at.elapsed() < std::time::Duration::from_secs(5));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(!rest.iter().any(|l| l.contains("turn.failed")), "{rest:?}");
    assert!(
        !still_running(&grandchild.to_string()),
        "the command's child {grandchild} was killed"
    );
}

/// Past `model_auto_compact_token_limit`, the history is summarised (a request without tools)
/// and rebuilt around the summary; the session file records one line for it, and a resumed
/// session gets the same rebuilt history.
#[test]
fn auto_compaction_mid_turn_and_on_resume() {
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call("c1", "exec_command", &json!({"cmd": "echo step-one"})),
            completed("r1", 5000, 10),
        ]),
        Reply::Events(vec![
            message("SUMMARY: ran step one"),
            completed("r2", 100, 10),
        ]),
        Reply::Events(vec![message("finished"), completed("r3", 50, 5)]),
        Reply::Events(vec![message("resumed fine"), completed("r4", 50, 5)]),
    ]);
    let ws = Workspace::new();
    let out = ws.exec(
        &server,
        &[
            "--json",
            "-c",
            "model_auto_compact_token_limit=1000",
            "do the task",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = events(&out);
    assert_eq!(events.last().unwrap()["type"], "turn.completed");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let compaction = &requests[1].body;
    assert_eq!(compaction["tools"], json!([]));
    let last = compaction["input"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Context checkpoint")
    );
    let texts = |body: &Value| -> Vec<String> {
        body["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                format!(
                    "{} {}",
                    i["type"].as_str().unwrap_or(""),
                    i["content"][0]["text"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let after = texts(&requests[2].body);
    assert!(after.iter().any(|t| t.contains("do the task")), "{after:?}");
    assert!(
        after.last().unwrap().contains("SUMMARY: ran step one"),
        "{after:?}"
    );
    assert!(
        !after.iter().any(|t| t.starts_with("function_call")),
        "the calls were folded into the summary: {after:?}"
    );

    let thread = events[0]["thread_id"].as_str().unwrap().to_string();
    let out = ws.exec(&server, &["--json", "resume", &thread, "and then?"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let resumed = texts(&server.requests()[3].body);
    assert!(
        !resumed.iter().any(|t| t.starts_with("function_call")),
        "{resumed:?}"
    );
    assert!(
        resumed.iter().any(|t| t.contains("SUMMARY: ran step one")),
        "{resumed:?}"
    );
    assert!(
        resumed.iter().any(|t| t.contains("finished")),
        "{resumed:?}"
    );
    assert!(resumed.last().unwrap().contains("and then?"));
}

/// With bash, the login shell's setup runs once per session: its exported variables and
/// functions reach every command, and its noise reaches none.
#[test]
fn the_login_shell_runs_once_per_session() {
    if !Path::new("/bin/bash").exists() {
        println!("SKIP: no /bin/bash");
        return;
    }
    let ws = Workspace::new();
    let home = ws.dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(
        home.join(".bash_profile"),
        "echo run >> \"$HOME/profile-runs\"\nexport FROM_PROFILE=yes\ngreet() { echo \"hello $1\"; }\necho profile-noise >&2\n",
    )
    .unwrap();
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call(
                "c1",
                "exec_command",
                &json!({"cmd": "echo \"var=$FROM_PROFILE\"; greet one"}),
            ),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![
            function_call("c2", "exec_command", &json!({"cmd": "greet two"})),
            completed("r2", 1, 1),
        ]),
        Reply::Events(vec![message("done"), completed("r3", 1, 1)]),
    ]);
    let mut argv = ws.argv(&server, &["--json", "--full-auto", "go"]);
    for arg in argv.iter_mut() {
        if arg == "SHELL=/bin/sh" {
            *arg = "SHELL=/bin/bash".into();
        }
    }
    argv.insert(1, format!("HOME={}", home.display()));
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let outputs: Vec<String> = events(&out)
        .iter()
        .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
        .map(|e| e["item"]["aggregated_output"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outputs, ["var=yes\nhello one\n", "hello two\n"]);
    assert_eq!(
        std::fs::read_to_string(home.join("profile-runs")).unwrap(),
        "run\n",
        "the profile ran once"
    );
    assert!(
        std::fs::read_dir(ws.home.path().join("shell_snapshots"))
            .unwrap()
            .next()
            .is_none(),
        "the snapshot is removed with the session"
    );
}

/// `--add-dir` makes one more directory writable, under workspace-write only.
#[test]
fn add_dir_extends_workspace_write() {
    let ws = Workspace::new();
    let extra = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let cmd = format!(
        "touch {}/ok; touch {}/no",
        extra.path().display(),
        other.path().display()
    );
    let script = || {
        ResponsesServer::start(vec![
            Reply::Events(vec![
                function_call("c1", "exec_command", &json!({"cmd": cmd})),
                completed("r1", 1, 1),
            ]),
            Reply::Events(vec![message("done"), completed("r2", 1, 1)]),
        ])
    };
    let extra_dir = extra.path().to_str().unwrap();
    // /tmp itself is writable under workspace-write; take it out so only --add-dir counts.
    let args = [
        FULL_AUTO_NO_SHARED_TMP.as_slice(),
        &["--add-dir", extra_dir, "go"],
    ]
    .concat();
    let out = ws.exec(&script(), &args, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        extra.path().join("ok").exists(),
        "the added directory is writable"
    );
    assert!(!other.path().join("no").exists(), "others are not");
    let refused = ws.exec(
        &script(),
        &["-s", "read-only", "--add-dir", extra_dir, "go"],
        b"",
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("--add-dir"),
        "{}",
        text(&refused.stderr)
    );
}

/// A prompt argument plus piped input: the input comes after it in a <stdin> block; a pipe
/// left open and silent is not waited for.
#[test]
fn a_prompt_with_piped_input_and_an_open_silent_stdin() {
    let ws = Workspace::new();
    let server = ResponsesServer::start(vec![Reply::Events(vec![
        message("ok"),
        completed("r", 1, 1),
    ])]);
    // From a file: ready at once, so the outcome does not race the writer.
    let piped = ws.home.path().join("piped.txt");
    std::fs::write(&piped, "error: it broke\n").unwrap();
    let argv = ws.argv(&server, &["--json", "explain this"]);
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::fs::File::open(&piped).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let input = server.requests()[0].body["input"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        input.last().unwrap()["content"][0]["text"],
        "explain this\n\n<stdin>\nerror: it broke\n</stdin>"
    );

    let server = ResponsesServer::start(vec![Reply::Events(vec![
        message("ok"),
        completed("r", 1, 1),
    ])]);
    let argv = ws.argv(&server, &["--json", "no stdin needed"]);
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::piped()) // kept open, never written
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _open_stdin = child.stdin.take();
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "codex exec waited on an open stdin it did not need"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let input = server.requests()[0].body["input"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        input.last().unwrap()["content"][0]["text"],
        "no stdin needed"
    );
}

/// `view_image` attaches a workspace image for the next request; a path the sandbox denies is
/// refused without being read.
#[test]
fn view_image_attaches_and_respects_the_sandbox() {
    let ws = Workspace::new();
    // A 1×1 PNG.
    let png: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ];
    std::fs::write(ws.dir.path().join("shot.png"), png).unwrap();
    std::fs::create_dir(ws.dir.path().join("secret")).unwrap();
    std::fs::write(ws.dir.path().join("secret/hidden.png"), png).unwrap();
    std::fs::write(
        ws.home.path().join("config.toml"),
        "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = { \".\" = \"write\", \"secret\" = \"deny\" }\n",
    )
    .unwrap();
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call("v1", "view_image", &json!({"path": "shot.png"})),
            function_call("v2", "view_image", &json!({"path": "secret/hidden.png"})),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![message("seen"), completed("r2", 1, 1)]),
    ]);
    let out = ws.exec(&server, &["--json", "look"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let input = server.requests()[1].body["input"]
        .as_array()
        .unwrap()
        .clone();
    let output_of = |id: &str| {
        input
            .iter()
            .find(|i| i["type"] == "function_call_output" && i["call_id"] == id)
            .map(|i| i["output"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(output_of("v1"), "attached the image");
    assert!(
        output_of("v2").starts_with("Blocked by the sandbox"),
        "{}",
        output_of("v2")
    );
    let images: Vec<&Value> = input
        .iter()
        .filter(|i| i["content"][1]["type"] == "input_image")
        .collect();
    assert_eq!(images.len(), 1);
    assert!(
        images[0]["content"][1]["image_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBORw0KGgo")
    );
}

/// The session id in the last tool output of a request, as a model would read it.
fn session_id_in(body: &Value) -> u64 {
    let outputs: Vec<&str> = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .filter_map(|i| i["output"].as_str())
        .collect();
    let last = outputs.last().expect("a tool output");
    let digits: String = last
        .split("session ID ")
        .nth(1)
        .unwrap_or_else(|| panic!("no session id in {last}"))
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

fn answer_with_input(body: &Value) -> Vec<Value> {
    let id = session_id_in(body);
    vec![
        function_call(
            "call_2",
            "write_stdin",
            &json!({"session_id": id, "chars": "codex\n", "yield_time_ms": 10000}),
        ),
        function_call(
            "call_3",
            "write_stdin",
            &json!({"session_id": 7, "chars": "x"}),
        ),
        completed("r2", 10, 10),
    ]
}

#[test]
fn a_pty_session_continued_with_write_stdin_on_every_route() {
    for route in ["landlock", "bubblewrap", "builtin"] {
        let server = ResponsesServer::start(vec![
            Reply::Events(vec![
                function_call(
                    "call_1",
                    "exec_command",
                    &json!({"cmd": "printf 'name? '; read n; echo \"hi-$n\"; test -t 0 && test -t 1 && echo on-a-terminal", "tty": true, "yield_time_ms": 700}),
                ),
                completed("r1", 10, 10),
            ]),
            Reply::FromRequest(answer_with_input),
            Reply::Events(vec![message("Done."), completed("r3", 10, 5)]),
        ]);
        let ws = Workspace::new();
        let mut argv = ws.argv(
            &server,
            &[FULL_AUTO_NO_SHARED_TMP.as_slice(), &["greet"]].concat(),
        );
        argv.insert(1, format!("CODEX_LINUX_SANDBOX_FORCE={route}"));
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        let out = run(command, b"");
        assert_eq!(out.status.code(), Some(0), "{route}: {}", text(&out.stderr));
        let events = events(&out);
        assert_eq!(
            types(&events),
            [
                "thread.started",
                "turn.started",
                "item.started command_execution",
                "item.completed command_execution",
                "item.completed agent_message",
                "turn.completed"
            ],
            "{route}"
        );
        let done = &events[3]["item"];
        assert_eq!(done["exit_code"], 0, "{route}: {done}");
        let aggregated = done["aggregated_output"].as_str().unwrap();
        assert!(aggregated.contains("name? "), "{route}: {aggregated}");
        assert!(aggregated.contains("hi-codex"), "{route}: {aggregated}");
        assert!(
            aggregated.contains("on-a-terminal"),
            "{route}: {aggregated}"
        );

        let requests = server.requests();
        assert_eq!(requests.len(), 3, "{route}");
        let first = requests[1].body["input"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["output"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            first.contains("Process running with session ID "),
            "{route}: {first}"
        );
        assert!(first.contains("name? "), "{route}: {first}");
        let outputs: Vec<&Value> = requests[2].body["input"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "function_call_output")
            .collect();
        let (written, unknown) = (&outputs[outputs.len() - 2], &outputs[outputs.len() - 1]);
        assert_eq!(written["call_id"], "call_2");
        let written = written["output"].as_str().unwrap();
        assert!(
            written.contains("Process exited with code 0"),
            "{route}: {written}"
        );
        assert!(written.contains("hi-codex"), "{route}: {written}");
        assert_eq!(
            unknown["output"], "write_stdin failed: Unknown process id 7",
            "{route}"
        );
    }
}

#[test]
fn web_search_modes_and_the_search_item() {
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            json!({"type": "response.output_item.done", "item": {"type": "web_search_call", "id": "ws_1",
                "status": "completed", "action": {"type": "search", "query": "rust landlock abi"}}}),
            message("Found it."),
            completed("r1", 10, 5),
        ]),
        Reply::Events(vec![message("no search"), completed("r2", 10, 5)]),
    ]);
    let ws = Workspace::new();
    let out = ws.exec(
        &server,
        &["--json", "-c", "web_search=\"live\"", "search"],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = events(&out);
    assert_eq!(
        types(&events),
        [
            "thread.started",
            "turn.started",
            "item.started web_search",
            "item.completed web_search",
            "item.completed agent_message",
            "turn.completed"
        ]
    );
    assert_eq!(events[3]["item"]["query"], "rust landlock abi");
    let tools = server.requests()[0].body["tools"].clone();
    let search = tools.as_array().unwrap().last().unwrap();
    assert_eq!(search["type"], "web_search");
    assert_eq!(search["external_web_access"], true);

    let out = ws.exec(
        &server,
        &["--json", "-c", "web_search=\"disabled\"", "hi"],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        types(&self::events(&out)),
        [
            "thread.started",
            "turn.started",
            "item.completed agent_message",
            "turn.completed"
        ],
        "no warning for a supported setting"
    );
    let tools = server.requests()[1].body["tools"].clone();
    assert!(
        tools
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["type"] != "web_search")
    );

    let out = ws.exec(
        &server,
        &["--json", "-c", "web_search=\"sometimes\"", "hi"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let failed = self::events(&out);
    assert_eq!(failed.last().unwrap()["type"], "turn.failed");
    let message = failed.last().unwrap()["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`web_search`") && message.contains("live"),
        "{message}"
    );
}

/// A session file grows only with new content: an attached image and a large command output
/// are written once, and a resumed turn adds its own few lines (the history is not written
/// again).
#[test]
fn a_session_file_holds_each_large_thing_once() {
    let ws = Workspace::new();
    let mut png = vec![0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    let mut state: u32 = 12345;
    png.extend((0..300_000).map(|_| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (state >> 16) as u8
    }));
    std::fs::write(ws.dir.path().join("big.png"), &png).unwrap();
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call(
                "c1",
                "exec_command",
                &json!({"cmd": "i=0; while [ $i -lt 2000 ]; do echo \"line-$i-of-the-big-output\"; i=$((i+1)); done"}),
            ),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![message("looked"), completed("r2", 1, 1)]),
        Reply::Events(vec![message("again"), completed("r3", 1, 1)]),
    ]);
    let image = ws.dir.path().join("big.png").display().to_string();
    let out = ws.exec(&server, &["--json", "-i", &image, "look and count"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let thread = events(&out)[0]["thread_id"].as_str().unwrap().to_string();
    let files = walk(&ws.home.path().join("sessions"));
    assert_eq!(files.len(), 1, "{files:?}");
    let file = std::path::PathBuf::from(&files[0]);
    let first = std::fs::read_to_string(&file).unwrap();
    let base64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&png)
    };
    let probe = &base64[100_000..100_200];
    assert_eq!(first.matches(probe).count(), 1, "the image is written once");
    assert_eq!(
        first.matches("line-1999-of-the-big-output").count(),
        1,
        "the command's output is written once"
    );
    let payload = base64.len() + 2000 * 26;
    assert!(
        first.len() < payload + 64 * 1024,
        "{} bytes for {payload} bytes of content",
        first.len()
    );
    // The model saw the image in both requests of the turn; the file still holds it once.
    for request in &server.requests() {
        assert!(request.body.to_string().contains(probe));
    }

    let out = ws.exec(&server, &["--json", "resume", &thread, "and again?"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let second = std::fs::read_to_string(&file).unwrap();
    assert!(second.starts_with(&first), "appended, not rewritten");
    assert!(
        second.len() - first.len() < 4096,
        "a resumed turn adds {} bytes",
        second.len() - first.len()
    );
    assert_eq!(second.matches(probe).count(), 1);
    let kinds: Vec<String> = second
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds[0], "session_meta");
    assert_eq!(
        kinds.iter().filter(|k| *k == "turn_context").count(),
        2,
        "one per turn"
    );
    assert!(
        second.contains("\"task_complete\"") && second.contains("\"last_agent_message\":\"again\"")
    );
    assert!(
        server.requests()[2].body.to_string().contains(probe),
        "resume sent the image"
    );
}

/// Human mode on a terminal: a spinner line says what is running, and is erased before the
/// next line; with stderr not a terminal, nothing of it appears.
#[test]
fn human_mode_shows_a_spinner_on_a_terminal_only() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIP: util-linux's script is not installed");
        return;
    }
    let replies = || {
        vec![
            Reply::Events(vec![
                function_call("c1", "exec_command", &json!({"cmd": "sleep 1; echo slept"})),
                completed("r1", 1, 1),
            ]),
            Reply::Events(vec![message("All done."), completed("r2", 1, 1)]),
        ]
    };
    let ws = Workspace::new();
    let server = ResponsesServer::start(replies());
    let argv = ws.argv(&server, &["--full-auto", "wait a bit"]);
    let quoted: Vec<String> = argv
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let out = Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let screen = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(
        screen.contains("running /bin/sh -lc 'sleep 1; echo slept'"),
        "{screen}"
    );
    assert!(
        screen.contains("\r\x1b[K"),
        "the spinner line is erased: {screen:?}"
    );
    assert!(screen.contains("All done."), "{screen}");

    let server = ResponsesServer::start(replies());
    let out = ws.exec(&server, &["--full-auto", "wait a bit"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains('\x1b') && !stderr.contains("running /bin"),
        "{stderr:?}"
    );
}

/// Two commands of one response run at the same time: each waits for the other's file, so
/// both succeed only when they run concurrently. Their outputs go back in call order.
#[test]
fn parallel_calls_run_concurrently() {
    let wait_for = |mine: &str, theirs: &str| {
        format!(
            "touch {mine}; i=0; while [ ! -f {theirs} ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; test -f {theirs} && echo {mine}-saw-{theirs}"
        )
    };
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call("a", "exec_command", &json!({"cmd": wait_for("a", "b")})),
            function_call("b", "exec_command", &json!({"cmd": wait_for("b", "a")})),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![message("both"), completed("r2", 1, 1)]),
    ]);
    let ws = Workspace::new();
    let out = ws.exec(&server, &["--json", "--full-auto", "both"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = events(&out);
    let finished: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
        .collect();
    assert_eq!(finished.len(), 2);
    assert!(
        finished.iter().all(|e| e["item"]["exit_code"] == 0),
        "{finished:?}"
    );
    let input = server.requests()[1].body["input"]
        .as_array()
        .unwrap()
        .clone();
    let outputs: Vec<(&str, &str)> = input
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .map(|i| {
            (
                i["call_id"].as_str().unwrap(),
                i["output"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(outputs.len(), 2);
    assert_eq!((outputs[0].0, outputs[1].0), ("a", "b"), "call order");
    assert!(
        outputs[0].1.contains("a-saw-b") && outputs[1].1.contains("b-saw-a"),
        "{outputs:?}"
    );
}

/// A 500 is retried and the turn goes on; a stream that goes silent fails the turn after the
/// provider's idle timeout, with a message saying so.
#[test]
fn a_server_error_is_retried_and_a_stalled_stream_times_out() {
    let server = ResponsesServer::start(vec![
        Reply::Status(
            500,
            "{\"error\":{\"message\":\"overloaded\"}}".into(),
            vec![],
        ),
        Reply::Events(vec![message("after a retry"), completed("r1", 1, 1)]),
    ]);
    let ws = Workspace::new();
    let out = ws.exec(&server, &["--json", "hi"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let events = events(&out);
    assert_eq!(events[2]["item"]["text"], "after a retry");
    assert_eq!(server.requests().len(), 2);

    let server = ResponsesServer::start(vec![Reply::Stall(
        vec![json!({"type": "response.created", "response": {"id": "r"}})],
        std::time::Duration::from_secs(5),
    )]);
    let started = std::time::Instant::now();
    let out = ws.exec(
        &server,
        &[
            "--json",
            "-c",
            "model_providers.mock.stream_idle_timeout_ms=300",
            "hi",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "the idle timeout ended it"
    );
    let events = self::events(&out);
    assert_eq!(events.last().unwrap()["type"], "turn.failed");
    let message = events.last().unwrap()["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("idle") || message.contains("timed out"),
        "{message}"
    );
}

/// Signed in with ChatGPT: requests go to ChatGPT's backend (`chatgpt_base_url` + `codex`)
/// with the account header; an expired token is refreshed first, and a 401 refreshes once
/// more and retries.
#[test]
fn a_chatgpt_sign_in_uses_its_backend_and_refreshes_on_401() {
    use codex_test_support::{Script, TokenServer, write_stale_auth};
    let tokens = TokenServer::start(Script::Rotating);
    let ws = Workspace::new();
    write_stale_auth(ws.home.path(), "rt-0");
    let server = ResponsesServer::start(vec![
        Reply::Status(
            401,
            "{\"error\":{\"message\":\"token revoked\"}}".into(),
            vec![],
        ),
        Reply::Events(vec![message("signed in"), completed("r1", 1, 1)]),
    ]);
    let backend = server.base_url.trim_end_matches("/v1").to_string() + "/backend-api/";
    let out = Command::new(codex())
        .env("CODEX_HOME", ws.home.path())
        .env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", &tokens.url)
        .env_remove("CODEX_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .args(["exec", "--json", "-C"])
        .arg(ws.dir.path())
        .args(["-c", &format!("chatgpt_base_url=\"{backend}\""), "hi"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(events(&out)[2]["item"]["text"], "signed in");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/backend-api/codex/responses");
    assert_eq!(requests[0].header("chatgpt-account-id"), Some("acc-1"));
    assert_ne!(
        requests[0].header("authorization"),
        requests[1].header("authorization"),
        "the retry carries the refreshed token"
    );
    assert_eq!(
        tokens.count(),
        2,
        "one refresh for the expired token, one for the 401"
    );
    let stored = std::fs::read_to_string(ws.home.path().join("auth.json")).unwrap();
    assert!(
        stored.contains("\"rt-2\""),
        "the rotated refresh token is saved: {stored}"
    );
}

/// `wire_api = "chat"`: a Chat Completions server (Ollama, llama.cpp, vLLM) drives the same
/// turn loop: a tool call, its result sent back as a `tool` message, then the answer.
#[test]
fn the_chat_completions_wire_end_to_end() {
    let chunk = |value: Value| format!("data: {value}\n\n");
    let first = [
        chunk(json!({"id": "c1", "choices": [{"delta": {"tool_calls": [{"index": 0, "id": "t1", "function": {"name": "exec_command", "arguments": ""}}]}}]})),
        chunk(json!({"id": "c1", "choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"cmd\": \"echo from-chat\"}"}}]}, "finish_reason": "tool_calls"}]})),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let second = [
        chunk(json!({"id": "c2", "choices": [{"delta": {"content": "The command "}}]})),
        chunk(json!({"id": "c2", "choices": [{"delta": {"content": "said from-chat."}, "finish_reason": "stop"}]})),
        chunk(json!({"id": "c2", "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 6, "total_tokens": 36}})),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let server = ResponsesServer::start(vec![Reply::RawSse(first), Reply::RawSse(second)]);
    let ws = Workspace::new();
    let out = ws.exec(
        &server,
        &[
            "--json",
            "-c",
            "model_providers.mock.wire_api=\"chat\"",
            "run it",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let events = events(&out);
    assert_eq!(
        types(&events),
        [
            "thread.started",
            "turn.started",
            "item.started command_execution",
            "item.completed command_execution",
            "item.completed agent_message",
            "turn.completed"
        ]
    );
    assert_eq!(events[4]["item"]["text"], "The command said from-chat.");
    assert_eq!(events[5]["usage"]["output_tokens"], 6);
    let requests = server.requests();
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].body["stream"], true);
    let messages = requests[1].body["messages"].as_array().unwrap();
    let tool = messages
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("a tool message");
    assert_eq!(tool["tool_call_id"], "t1");
    assert!(
        tool["content"].as_str().unwrap().contains("from-chat"),
        "{tool}"
    );
}

/// A reader that goes away (`codex exec --json | head -0`) does not crash the run: it ends
/// normally and the session is saved, resumable.
#[test]
fn a_closed_stdout_is_not_a_crash() {
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call("c1", "exec_command", &json!({"cmd": "echo still-ran"})),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![message("finished"), completed("r2", 1, 1)]),
    ]);
    let ws = Workspace::new();
    let argv = ws.argv(&server, &["--json", "work"]);
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(server.requests().len(), 2, "the turn went on to the end");
    let sessions = walk(&ws.home.path().join("sessions"));
    assert_eq!(sessions.len(), 1);
    let saved = std::fs::read_to_string(&sessions[0]).unwrap();
    assert!(saved.contains("finished"), "the answer is saved");
}

/// Core starts the sandbox helper as itself through `/proc/self/exe`: with its binary deleted
/// after start (an upgrade replacing it mid-session), commands still run sandboxed.
#[test]
fn the_helper_is_this_binary_even_once_its_file_is_gone() {
    let ws = Workspace::new();
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call(
                "c1",
                "exec_command",
                &json!({"cmd": "echo sandboxed > out.txt"}),
            ),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![message("done"), completed("r2", 1, 1)]),
    ]);
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("codex");
    std::fs::copy(codex(), &copy).unwrap();
    let argv = ws.argv(
        &server,
        &[FULL_AUTO_NO_SHARED_TMP.as_slice(), &["go"]].concat(),
    );
    // argv is `env VAR=… codex exec …`: run the copy itself, so that it has started (spawn
    // returns once it is executing) before its file goes.
    let codex_at = argv
        .iter()
        .position(|a| a == &codex().display().to_string())
        .unwrap();
    let mut command = Command::new(&copy);
    for assignment in &argv[1..codex_at] {
        let (name, value) = assignment.split_once('=').unwrap();
        command.env(name, value);
    }
    let child = command
        .args(&argv[codex_at + 1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::remove_file(&copy).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(ws.dir.path().join("out.txt")).unwrap(),
        "sandboxed\n",
        "{}",
        text(&out.stdout)
    );
}

/// A command that cannot reach the network because the policy keeps it off: the model is
/// told it was the sandbox; with the network on, the same failure is the command's own.
#[test]
fn a_network_failure_under_a_policy_without_network_is_the_sandboxs() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nothing listens: with the network on, the connection is refused
    let cmd =
        format!("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}))'");
    let note = |network: &str| {
        let ws = Workspace::new();
        let server = ResponsesServer::start(vec![
            Reply::Events(vec![
                function_call("c1", "exec_command", &json!({"cmd": cmd})),
                completed("r1", 1, 1),
            ]),
            Reply::Events(vec![message("done"), completed("r2", 1, 1)]),
        ]);
        let setting = format!("sandbox_workspace_write.network_access={network}");
        let out = ws.exec(
            &server,
            &[FULL_AUTO_NO_SHARED_TMP.as_slice(), &["-c", &setting, "go"]].concat(),
            b"",
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let input = server.requests()[1].body["input"]
            .as_array()
            .unwrap()
            .clone();
        input.last().unwrap()["output"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let off = note("false");
    assert!(
        off.contains("Blocked by the sandbox, not by the command: network access"),
        "{off}"
    );
    let on = note("true");
    assert!(on.contains("Connection refused"), "{on}");
    assert!(!on.contains("Blocked by the sandbox"), "{on}");
}

/// A patch that writes outside the writable roots is stopped by the sandbox, changes
/// nothing, and the model is told it was the sandbox.
#[test]
fn a_patch_outside_the_workspace_is_refused_by_the_sandbox() {
    let ws = Workspace::new();
    let outside = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let target = outside.path().join("escape.txt");
    let patch = format!(
        "*** Begin Patch\n*** Add File: {}\n+should not exist\n*** End Patch\n",
        target.display()
    );
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![patch_call("p1", &patch), completed("r1", 1, 1)]),
        Reply::Events(vec![message("refused"), completed("r2", 1, 1)]),
    ]);
    let out = ws.exec(
        &server,
        &[FULL_AUTO_NO_SHARED_TMP.as_slice(), &["escape"]].concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        !target.exists(),
        "the sandbox kept the file from being written"
    );
    let events = events(&out);
    let change = events
        .iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "file_change")
        .expect("a file_change item");
    assert_eq!(change["item"]["status"], "failed");
    let input = server.requests()[1].body["input"]
        .as_array()
        .unwrap()
        .clone();
    let output = input.last().unwrap()["output"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        output.starts_with("Blocked by the sandbox, not by the command:"),
        "{output}"
    );
}

/// Two patches in one response run in call order: the second edits what the first wrote.
#[test]
fn patches_of_one_response_apply_in_order() {
    let add = "*** Begin Patch\n*** Add File: notes.txt\n+one\n*** End Patch\n";
    let update =
        "*** Begin Patch\n*** Update File: notes.txt\n@@\n-one\n+one\n+two\n*** End Patch\n";
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            patch_call("p1", add),
            patch_call("p2", update),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![message("edited"), completed("r2", 1, 1)]),
    ]);
    let ws = Workspace::new();
    let out = ws.exec(&server, &["--json", "--full-auto", "edit"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read_to_string(ws.dir.path().join("notes.txt")).unwrap(),
        "one\ntwo\n"
    );
    let changes: Vec<Value> = events(&out)
        .into_iter()
        .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "file_change")
        .map(|e| e["item"].clone())
        .collect();
    assert_eq!(changes.len(), 2);
    assert!(
        changes.iter().all(|c| c["status"] == "completed"),
        "{changes:?}"
    );
    assert_eq!(changes[0]["changes"][0]["kind"], "add");
}

/// A job started with job control in a PTY session (a process group of its own) does not
/// outlive its command, under the sandbox helper too.
#[test]
fn a_background_job_of_a_pty_command_dies_with_it() {
    let ws = Workspace::new();
    let marker = ws.dir.path().join("survived");
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call(
                "c1",
                "exec_command",
                &json!({"cmd": format!("set -m; (sleep 1; touch {}) & echo started", marker.display()), "tty": true}),
            ),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![message("started it"), completed("r2", 1, 1)]),
    ]);
    let out = ws.exec(
        &server,
        &[FULL_AUTO_NO_SHARED_TMP.as_slice(), &["go"]].concat(),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let output = server.requests()[1].body["input"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["output"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(output.contains("started"), "{output}");
    std::thread::sleep(std::time::Duration::from_millis(1800));
    assert!(!marker.exists(), "the job outlived its command");
}

/// `resume --last` takes the newest session started in this directory; `--all`, the newest
/// from anywhere.
#[test]
fn resume_last_is_per_directory_unless_all() {
    let first = Workspace::new();
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir(other.path().join(".git")).unwrap();
    std::fs::write(other.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let server = ResponsesServer::start(
        (0..4)
            .map(|n| Reply::Events(vec![message(&format!("answer {n}")), completed("r", 1, 1)]))
            .collect(),
    );
    let here = first.exec(&server, &["--json", "started here"], b"");
    let here_id = events(&here)[0]["thread_id"].as_str().unwrap().to_string();
    // The same CODEX_HOME, another directory, a later session.
    let mut argv = first.argv(&server, &["--json", "started elsewhere"]);
    let at = argv.iter().position(|a| a == "-C").unwrap();
    argv[at + 1] = other.path().display().to_string();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let elsewhere = run(
        {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        },
        b"",
    );
    let elsewhere_id = events(&elsewhere)[0]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(here_id, elsewhere_id);

    let out = first.exec(&server, &["--json", "resume", "--last", "again"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        events(&out)[0]["thread_id"],
        here_id.as_str(),
        "this directory's"
    );
    let out = first.exec(
        &server,
        &["--json", "resume", "--last", "--all", "again"],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        events(&out)[0]["thread_id"],
        elsewhere_id.as_str(),
        "the newest anywhere"
    );
}

/// The reference's configuration switches: `--oss` (the local provider, over Chat
/// Completions), `--ignore-user-config`, `--strict-config`, `--enable`, `--color never`.
#[test]
fn oss_and_the_configuration_switches() {
    let ws = Workspace::new();
    std::fs::write(
        ws.home.path().join("config.toml"),
        "model = \"from-file\"\nmystery = 1\n",
    )
    .unwrap();
    let chat = [
        r#"data: {"id":"c","choices":[{"delta":{"content":"local answer"},"finish_reason":"stop"}]}"#,
        "data: [DONE]",
        "",
    ]
    .join("\n\n");
    let server = ResponsesServer::start(vec![Reply::RawSse(chat.clone()), Reply::RawSse(chat)]);
    let oss = |extra: &[&str]| {
        let mut command = Command::new(codex());
        command
            .env("CODEX_HOME", ws.home.path())
            .env("CODEX_OSS_BASE_URL", &server.base_url)
            .args(["exec", "--json", "--oss", "--color", "never", "-C"])
            .arg(ws.dir.path())
            .args(extra)
            .stdin(std::process::Stdio::null());
        command.output().unwrap()
    };
    let out = oss(&["-m", "qwen3", "hi"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let events = events(&out);
    assert!(
        events.iter().any(|e| e["item"]["type"] == "error"
            && e["item"]["message"]
                .as_str()
                .unwrap()
                .contains("unknown key `mystery`")),
        "an unknown key is a warning: {events:?}"
    );
    assert_eq!(events.last().unwrap()["type"], "turn.completed");
    let request = &server.requests()[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.body["model"], "qwen3");

    let out = oss(&["--strict-config", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("--strict-config"),
        "{}",
        text(&out.stdout)
    );

    let out = oss(&[
        "--strict-config",
        "--ignore-user-config",
        "--enable",
        "x",
        "-m",
        "m2",
        "hi",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(server.requests()[1].body["model"], "m2");
}

/// As an unprivileged user (the sandbox then needs a user namespace, or does without), a PTY
/// session works on every route: input reaches the command through its terminal.
#[test]
fn a_pty_session_as_an_unprivileged_user() {
    use std::os::unix::fs::{PermissionsExt, chown};
    let root = Command::new("id").arg("-u").output().unwrap();
    if text(&root.stdout).trim() != "0"
        || Command::new("setpriv").arg("--version").output().is_err()
    {
        println!("SKIP: needs root and setpriv to run as nobody");
        return;
    }
    const NOBODY: u32 = 65534;
    for route in ["landlock", "bubblewrap", "builtin", "no-namespaces"] {
        let ws = Workspace::new();
        let bin_dir = tempfile::tempdir().unwrap();
        let bin = bin_dir.path().join("codex");
        std::fs::copy(codex(), &bin).unwrap();
        for dir in [bin_dir.path(), ws.home.path(), ws.dir.path()] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            chown(dir, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        for entry in walk(ws.dir.path()) {
            chown(&entry, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        chown(ws.dir.path().join(".git"), Some(NOBODY), Some(NOBODY)).unwrap();
        let server = ResponsesServer::start(vec![
            Reply::Events(vec![
                function_call(
                    "call_1",
                    "exec_command",
                    &json!({"cmd": "printf 'name? '; read n; echo \"hi-$n\"; id -u", "tty": true, "yield_time_ms": 700}),
                ),
                completed("r1", 10, 10),
            ]),
            Reply::FromRequest(answer_with_input),
            Reply::Events(vec![message("Done."), completed("r3", 10, 5)]),
        ]);
        let mut argv = ws.argv(
            &server,
            &[FULL_AUTO_NO_SHARED_TMP.as_slice(), &["greet"]].concat(),
        );
        argv.insert(1, format!("CODEX_LINUX_SANDBOX_FORCE={route}"));
        let at = argv
            .iter()
            .position(|a| a == codex().to_str().unwrap())
            .unwrap();
        argv[at] = bin.display().to_string();
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
            .args(&argv);
        let out = run(command, b"");
        assert_eq!(out.status.code(), Some(0), "{route}: {}", text(&out.stdout));
        let done = self::events(&out)
            .into_iter()
            .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
            .unwrap_or_else(|| panic!("{route}: {}", text(&out.stdout)));
        let output = done["item"]["aggregated_output"].as_str().unwrap();
        assert!(output.contains("hi-codex"), "{route}: {output}");
        assert!(output.contains("65534"), "{route}: ran as nobody: {output}");
        assert_eq!(done["item"]["exit_code"], 0, "{route}");
    }
}

/// Under the read-only sandbox (nothing for the helper to clean up afterwards) the helper
/// becomes the command instead of waiting for it as an extra process: the command's parent is
/// `codex exec` itself, and the command still leads a session of its own.
#[test]
fn the_sandbox_helper_becomes_the_command_when_it_has_nothing_to_clean_up() {
    let server = ResponsesServer::start(vec![
        Reply::Events(vec![
            function_call(
                "c1",
                "exec_command",
                &json!({"cmd": "echo parent: $(tr '\\0' ' ' < /proc/$PPID/cmdline); echo pid $$ session $(cut -d' ' -f6 /proc/$$/stat)"}),
            ),
            completed("r1", 1, 1),
        ]),
        Reply::Events(vec![message("done"), completed("r2", 1, 1)]),
    ]);
    let ws = Workspace::new();
    let out = ws.exec(&server, &["--json", "-s", "read-only", "go"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = events(&out);
    let output = events
        .iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
        .unwrap()["item"]["aggregated_output"]
        .as_str()
        .unwrap()
        .to_string();
    let parent = output.lines().next().unwrap();
    assert!(
        parent.contains(" exec ") && !parent.contains("codex-linux-sandbox"),
        "{output}"
    );
    let ids: Vec<&str> = output.lines().nth(1).unwrap().split(' ').collect();
    assert_eq!(
        ids[1], ids[3],
        "the command leads its own session: {output}"
    );
}
