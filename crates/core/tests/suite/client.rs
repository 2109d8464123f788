//! The model client against a scripted Responses API on 127.0.0.1: what it sends, what it
//! makes of the stream, and how it retries.

use codex_core::client::{ClientAuth, ClientError, ModelClient, Prompt, ResponseEvent, TokenUsage};
use codex_core::provider::{ModelProviderInfo, WireApi};
use codex_test_support::responses::{completed, created, function_call, message};
use codex_test_support::{Reply, ResponsesServer};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn provider(server: &ResponsesServer) -> ModelProviderInfo {
    ModelProviderInfo {
        name: "mock".into(),
        base_url: server.base_url.clone(),
        wire_api: WireApi::Responses,
        env_key: None,
        env_key_instructions: None,
        http_headers: BTreeMap::from([("x-team".to_string(), "core".to_string())]),
        env_http_headers: BTreeMap::new(),
        query_params: BTreeMap::from([("api-version".to_string(), "7".to_string())]),
        request_max_retries: 2,
        stream_max_retries: 0,
        stream_idle_timeout: Duration::from_millis(400),
        requires_openai_auth: false,
        chatgpt_base_url: None,
    }
}

fn prompt() -> Prompt {
    Prompt {
        model: "gpt-test".into(),
        input: vec![
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}),
        ],
        tools: vec![
            json!({"type": "function", "name": "exec_command", "parameters": {"type": "object"}}),
        ],
        prompt_cache_key: Some("thread-1".into()),
        ..Default::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every event of one response, or the error that ended it.
fn collect(client: &ModelClient) -> Result<Vec<ResponseEvent>, ClientError> {
    runtime().block_on(async {
        let mut stream = client.stream(&prompt()).await?;
        let mut events = Vec::new();
        while let Some(event) = stream.next().await {
            events.push(event?);
        }
        Ok(events)
    })
}

#[test]
fn a_streamed_answer_and_the_request_that_asked_for_it() {
    let server = ResponsesServer::start(vec![Reply::Events(vec![
        created(),
        json!({"type": "response.output_text.delta", "delta": "Hel"}),
        json!({"type": "response.reasoning_summary_text.delta", "delta": "thinking"}),
        message("Hello"),
        function_call("c1", "exec_command", &json!({"cmd": "ls"})),
        json!({"type": "response.something_new", "x": 1}),
        completed("resp-9", 120, 30),
        message("after completed: never read"),
    ])]);
    let client = ModelClient::new(provider(&server), ClientAuth::ApiKey("sk-test".into())).unwrap();
    let events = collect(&client).unwrap();
    assert_eq!(events[0], ResponseEvent::Created);
    assert_eq!(events[1], ResponseEvent::OutputTextDelta("Hel".into()));
    assert_eq!(
        events[2],
        ResponseEvent::ReasoningSummaryDelta("thinking".into())
    );
    assert!(
        matches!(&events[3], ResponseEvent::OutputItemDone(item) if item["content"][0]["text"] == "Hello")
    );
    assert!(matches!(&events[4], ResponseEvent::OutputItemDone(item) if item["call_id"] == "c1"));
    assert_eq!(
        events[5],
        ResponseEvent::Completed {
            response_id: "resp-9".into(),
            usage: Some(TokenUsage {
                input_tokens: 120,
                output_tokens: 30,
                total_tokens: 150,
                ..Default::default()
            }),
        }
    );
    assert_eq!(
        events.len(),
        6,
        "unknown events are skipped; nothing after completed"
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/v1/responses?api-version=7");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("accept"), Some("text/event-stream"));
    assert_eq!(request.header("x-team"), Some("core"));
    let body = &request.body;
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(body["stream"], true);
    assert_eq!(body["store"], false);
    assert_eq!(body["prompt_cache_key"], "thread-1");
    assert_eq!(body["tools"][0]["name"], "exec_command");
    assert_eq!(body["input"][0]["content"][0]["text"], "hi");
}

#[test]
fn server_errors_are_retried_with_backoff_and_retry_after() {
    let server = ResponsesServer::start(vec![
        Reply::Status(
            500,
            "{\"error\":{\"message\":\"overloaded\"}}".into(),
            vec![],
        ),
        Reply::Status(
            429,
            "{}".into(),
            vec![("retry-after".into(), "0.05".into())],
        ),
        Reply::Events(vec![message("ok"), completed("r", 1, 1)]),
    ]);
    let client = ModelClient::new(provider(&server), ClientAuth::None).unwrap();
    let started = Instant::now();
    let events = collect(&client).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(server.requests().len(), 3);
    // 180–220 ms of backoff after the 500, 50 ms as the 429 asked.
    assert!(
        started.elapsed() >= Duration::from_millis(220),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        server.requests()[0].header("authorization"),
        None,
        "no credentials, no header"
    );
}

#[test]
fn retries_run_out() {
    let busy = || Reply::Status(503, "{\"error\":{\"message\":\"busy\"}}".into(), vec![]);
    let server = ResponsesServer::start(vec![busy(), busy(), busy(), busy()]);
    let client = ModelClient::new(provider(&server), ClientAuth::None).unwrap();
    let error = collect(&client).unwrap_err();
    assert_eq!(
        error,
        ClientError::RetriesExhausted {
            attempts: 3,
            last: "HTTP 503: busy".into()
        }
    );
    assert_eq!(server.requests().len(), 3, "1 + request_max_retries");
}

#[test]
fn client_errors_are_not_retried() {
    for status in [400, 401, 403, 404] {
        let server = ResponsesServer::start(vec![Reply::Status(
            status,
            "{\"error\":{\"message\":\"bad request body\"}}".into(),
            vec![],
        )]);
        let client = ModelClient::new(provider(&server), ClientAuth::ApiKey("k".into())).unwrap();
        let error = collect(&client).unwrap_err();
        assert_eq!(server.requests().len(), 1, "HTTP {status}");
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "unexpected status {status}: bad request body, url: {}/responses",
                server.base_url
            )),
            "{text}"
        );
    }
}

#[test]
fn a_silent_stream_times_out_and_an_early_end_is_an_error() {
    let server = ResponsesServer::start(vec![
        Reply::Stall(vec![created()], Duration::from_secs(3)),
        Reply::Events(vec![created(), message("cut off")]),
        Reply::Events(vec![
            json!({"type": "response.failed", "response": {"error": {"message": "context too long"}}}),
        ]),
        Reply::Events(vec![json!("not an object"), completed("r", 1, 1)]),
    ]);
    let client = ModelClient::new(provider(&server), ClientAuth::None).unwrap();
    let started = Instant::now();
    let error = collect(&client).unwrap_err();
    assert_eq!(error, ClientError::IdleTimeout);
    assert!(error.is_retryable_stream_error());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the idle timeout, not the server, ended it"
    );
    assert_eq!(
        error.to_string(),
        "stream disconnected before completion: idle timeout waiting for SSE"
    );
    let error = collect(&client).unwrap_err();
    assert_eq!(error, ClientError::ClosedEarly);
    assert_eq!(
        collect(&client).unwrap_err(),
        ClientError::ResponseFailed("context too long".into())
    );
    // A JSON value that is not an event is skipped like an unknown event.
    assert_eq!(collect(&client).unwrap().len(), 1);
}

#[test]
fn a_missing_env_key_is_named() {
    let server = ResponsesServer::start(vec![]);
    let mut with_key = provider(&server);
    with_key.env_key = Some("CODEX_CORE_TEST_KEY_THAT_IS_NOT_SET".into());
    with_key.env_key_instructions = Some("Create one at example.test.".into());
    let error = match ModelClient::auth_for(&with_key, || None) {
        Err(error) => error,
        Ok(_) => panic!("the variable is not set"),
    };
    assert_eq!(
        error.to_string(),
        "Missing environment variable: `CODEX_CORE_TEST_KEY_THAT_IS_NOT_SET`. Create one at example.test."
    );
    assert!(matches!(
        ModelClient::auth_for(&provider(&server), || None),
        Ok(ClientAuth::None)
    ));
}

#[test]
fn a_rejected_sign_in_token_is_refreshed_once_and_the_request_retried() {
    use codex_test_support::{Script, TokenServer, access_token, stale_auth};
    let tokens = TokenServer::start(Script::Rotating);
    let home = tempfile::tempdir().unwrap();
    let mut auth = stale_auth("rt-0");
    let first = access_token(3600, "revoked-early");
    auth.tokens.as_mut().unwrap().access_token = first.clone();
    codex_login::storage::write(home.path(), &auth).unwrap();
    let manager = std::sync::Arc::new(
        codex_login::AuthManager::with_token_url(home.path(), &tokens.url).unwrap(),
    );

    let server = ResponsesServer::start(vec![
        Reply::Status(
            401,
            "{\"error\":{\"message\":\"token revoked\"}}".into(),
            vec![],
        ),
        Reply::Events(vec![message("ok"), completed("r", 1, 1)]),
        Reply::Status(401, "{\"error\":{\"message\":\"still no\"}}".into(), vec![]),
        Reply::Status(401, "{\"error\":{\"message\":\"still no\"}}".into(), vec![]),
    ]);
    let client = ModelClient::new(provider(&server), ClientAuth::Login(manager.clone())).unwrap();
    assert_eq!(collect(&client).unwrap().len(), 2);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {first}").as_str())
    );
    assert_eq!(requests[0].header("chatgpt-account-id"), Some("acc-1"));
    let renewed = manager
        .snapshot()
        .unwrap()
        .auth
        .tokens
        .clone()
        .unwrap()
        .access_token;
    assert_ne!(renewed, first);
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Bearer {renewed}").as_str())
    );
    assert_eq!(tokens.count(), 1);

    // A second 401 after the refresh is an error, not a loop.
    let error = collect(&client).unwrap_err();
    assert!(
        matches!(error, ClientError::Status { status: 401, .. }),
        "{error}"
    );
    assert_eq!(tokens.count(), 2, "one refresh per request, at most");
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn the_chat_completions_wire() {
    let server = ResponsesServer::start(vec![Reply::RawSse(
        [
            r#"data: {"id":"c-1","choices":[{"delta":{"content":"Hi"}}]}"#,
            r#"data: {"id":"c-1","choices":[{"delta":{"tool_calls":[{"index":0,"id":"t1","function":{"name":"exec_command","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#,
            r#"data: {"id":"c-1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
            "data: [DONE]",
            "",
        ]
        .join("\n\n"),
    )]);
    let mut chat = provider(&server);
    chat.wire_api = WireApi::Chat;
    let client = ModelClient::new(chat, ClientAuth::ApiKey("local".into())).unwrap();
    let events = collect(&client).unwrap();
    assert!(
        matches!(&events[2], ResponseEvent::OutputItemDone(item) if item["content"][0]["text"] == "Hi")
    );
    assert!(
        matches!(&events[3], ResponseEvent::OutputItemDone(item) if item["type"] == "function_call" && item["call_id"] == "t1")
    );
    assert!(
        matches!(&events[4], ResponseEvent::Completed { usage: Some(u), .. } if u.total_tokens == 5)
    );
    let request = &server.requests()[0];
    assert_eq!(request.path, "/v1/chat/completions?api-version=7");
    assert_eq!(
        request.body["messages"][0],
        json!({"role": "user", "content": "hi"})
    );
    assert_eq!(request.body["tools"][0]["function"]["name"], "exec_command");
}
