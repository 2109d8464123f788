use super::*;

#[test]
fn history_and_tools_become_messages_and_functions() {
    let prompt = Prompt {
        model: "llama".into(),
        input: vec![
            json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "be brief"}]}),
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]}),
            json!({"type": "reasoning", "summary": []}),
            json!({"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"}),
            json!({"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** Begin Patch\n*** End Patch"}),
            json!({"type": "function_call_output", "call_id": "c1", "output": "file.txt"}),
            json!({"type": "custom_tool_call_output", "call_id": "c2", "output": {"content": "Done!"}}),
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "look"}, {"type": "input_image", "image_url": "data:image/png;base64,AA"}]}),
        ],
        tools: vec![
            json!({"type": "function", "name": "exec_command", "description": "run", "parameters": {"type": "object"}}),
            json!({"type": "custom", "name": "apply_patch", "description": "edit", "format": {"type": "grammar"}}),
            json!({"type": "web_search"}),
        ],
        ..Default::default()
    };
    let body = body(&prompt);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(
        messages[0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(messages[1], json!({"role": "user", "content": "a\nb"}));
    assert_eq!(messages[2]["role"], "assistant");
    let calls = messages[2]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "calls made together share one message");
    assert_eq!(calls[0]["function"]["arguments"], "{\"cmd\":\"ls\"}");
    assert_eq!(
        serde_json::from_str::<Value>(calls[1]["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"input": "*** Begin Patch\n*** End Patch"})
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "c1", "content": "file.txt"})
    );
    assert_eq!(
        messages[4],
        json!({"role": "tool", "tool_call_id": "c2", "content": "Done!"})
    );
    assert_eq!(
        messages[5]["content"][1]["image_url"]["url"],
        "data:image/png;base64,AA"
    );
    assert_eq!(messages.len(), 6);
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2, "hosted tools are dropped");
    assert_eq!(
        tools[1]["function"]["parameters"]["required"],
        json!(["input"])
    );
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[test]
fn chunks_become_the_responses_events() {
    let mut chat = ChatAccumulator::new(BTreeSet::from(["apply_patch".to_string()]));
    let mut events = Vec::new();
    for data in [
        r#"{"id":"chat-1","choices":[{"delta":{"role":"assistant","reasoning_content":"hm"}}]}"#,
        r#"{"id":"chat-1","choices":[{"delta":{"content":"Hel"}}]}"#,
        r#"{"id":"chat-1","choices":[{"delta":{"content":"lo"}}]}"#,
        r#"{"id":"chat-1","choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"exec_","arguments":"{\"cmd\""}}]}}]}"#,
        r#"{"id":"chat-1","choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"command","arguments":":\"ls\"}"}},{"index":1,"id":"call_b","function":{"name":"apply_patch","arguments":"{\"input\":\"P\"}"}}]}}]}"#,
        r#"{"id":"chat-1","choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        r#"{"id":"chat-1","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}"#,
        "[DONE]",
    ] {
        events.extend(chat.feed(data).unwrap());
    }
    assert_eq!(events[0], ResponseEvent::Created);
    assert_eq!(events[1], ResponseEvent::ReasoningSummaryDelta("hm".into()));
    assert_eq!(events[2], ResponseEvent::OutputTextDelta("Hel".into()));
    assert_eq!(events[3], ResponseEvent::OutputTextDelta("lo".into()));
    assert_eq!(
        events[4],
        ResponseEvent::OutputItemDone(
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]})
        )
    );
    assert_eq!(
        events[5],
        ResponseEvent::OutputItemDone(
            json!({"type": "function_call", "call_id": "call_a", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"})
        )
    );
    assert_eq!(
        events[6],
        ResponseEvent::OutputItemDone(
            json!({"type": "custom_tool_call", "call_id": "call_b", "name": "apply_patch", "input": "P"})
        )
    );
    assert_eq!(
        events[7],
        ResponseEvent::Completed {
            response_id: "chat-1".into(),
            usage: Some(TokenUsage {
                input_tokens: 10,
                output_tokens: 5,
                total_tokens: 15,
                ..Default::default()
            }),
        }
    );
    assert!(chat.is_done());
    assert_eq!(chat.finish().unwrap(), vec![], "nothing twice");
}

#[test]
fn the_end_of_a_stream() {
    let mut finished = ChatAccumulator::default();
    finished
        .feed(r#"{"id":"x","choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}"#)
        .unwrap();
    let events = finished.finish().unwrap();
    assert!(
        matches!(events.last(), Some(ResponseEvent::Completed { .. })),
        "no [DONE] but a finish_reason: complete"
    );

    let mut cut = ChatAccumulator::default();
    cut.feed(r#"{"id":"x","choices":[{"delta":{"content":"hi"}}]}"#)
        .unwrap();
    assert_eq!(cut.finish().unwrap_err(), ClientError::ClosedEarly);

    let mut failed = ChatAccumulator::default();
    assert_eq!(
        failed
            .feed(r#"{"error":{"message":"model not loaded"}}"#)
            .unwrap_err(),
        ClientError::ResponseFailed("model not loaded".into())
    );
}
