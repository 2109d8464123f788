//! The Chat Completions wire (`wire_api = "chat"`), for local servers such as Ollama,
//! llama.cpp and vLLM: the Responses-style history and tools translated into `messages` and
//! function tools, and the streamed chunks translated back into the same events the Responses
//! wire produces, so the turn loop never knows the difference.
//!
//! Chat has no custom (freeform) tools: such a tool is offered as a function taking one string
//! `input`, and a call to it comes back as a `custom_tool_call` item.

use crate::client::{ClientError, Prompt, ResponseEvent, TokenUsage};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The request body for `POST {base_url}/chat/completions`.
pub fn body(prompt: &Prompt) -> Value {
    let mut body = json!({
        "model": prompt.model,
        "messages": messages(&prompt.input),
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    let tools: Vec<Value> = prompt.tools.iter().filter_map(tool).collect();
    if !tools.is_empty() {
        body["tools"] = Value::Array(tools);
        body["tool_choice"] = json!("auto");
        body["parallel_tool_calls"] = json!(true);
    }
    if let Some(schema) = &prompt.output_schema {
        body["response_format"] = json!({"type": "json_schema", "json_schema": {
            "name": "codex_output_schema", "strict": true, "schema": schema,
        }});
    }
    body
}

/// The names of the custom tools in `tools` (their calls come back as custom calls).
pub fn custom_tool_names(tools: &[Value]) -> BTreeSet<String> {
    tools
        .iter()
        .filter(|t| t["type"] == "custom")
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

fn tool(tool: &Value) -> Option<Value> {
    match tool["type"].as_str()? {
        "function" => Some(json!({"type": "function", "function": {
            "name": tool["name"],
            "description": tool.get("description").cloned().unwrap_or(json!("")),
            "parameters": tool.get("parameters").cloned().unwrap_or(json!({"type": "object"})),
        }})),
        "custom" => Some(json!({"type": "function", "function": {
            "name": tool["name"],
            "description": tool.get("description").cloned().unwrap_or(json!("")),
            "parameters": {
                "type": "object",
                "properties": {"input": {"type": "string", "description": "The whole input, as plain text."}},
                "required": ["input"],
                "additionalProperties": false,
            },
        }})),
        // Hosted tools (web search…) have no Chat equivalent.
        _ => None,
    }
}

/// The text of a message's content parts, and its images.
fn content(item: &Value) -> Value {
    let Some(parts) = item["content"].as_array() else {
        return item["content"].clone();
    };
    let has_image = parts.iter().any(|p| p["type"] == "input_image");
    if !has_image {
        let text: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        return json!(text.join("\n"));
    }
    Value::Array(
        parts
            .iter()
            .filter_map(|p| match p["type"].as_str()? {
                "input_image" => {
                    Some(json!({"type": "image_url", "image_url": {"url": p["image_url"]}}))
                }
                _ => p["text"]
                    .as_str()
                    .map(|t| json!({"type": "text", "text": t})),
            })
            .collect(),
    )
}

fn output_text(output: &Value) -> Value {
    match output {
        Value::String(_) => output.clone(),
        Value::Object(o) => o
            .get("content")
            .filter(|c| c.is_string())
            .cloned()
            .unwrap_or_else(|| json!(output.to_string())),
        other => json!(other.to_string()),
    }
}

fn messages(input: &[Value]) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    for item in input {
        match item["type"].as_str().unwrap_or("message") {
            "message" => {
                let role = match item["role"].as_str().unwrap_or("user") {
                    "developer" | "system" => "system",
                    other => other,
                };
                messages.push(json!({"role": role, "content": content(item)}));
            }
            kind @ ("function_call" | "custom_tool_call") => {
                let arguments = if kind == "function_call" {
                    item["arguments"].clone()
                } else {
                    json!(json!({"input": item["input"]}).to_string())
                };
                let call = json!({"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": arguments}});
                // Calls made together travel in one assistant message.
                match messages.last_mut() {
                    Some(last) if last["role"] == "assistant" && last.get("tool_calls").is_some() => {
                        last["tool_calls"].as_array_mut().expect("an array").push(call);
                    }
                    _ => messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]})),
                }
            }
            "function_call_output" | "custom_tool_call_output" => messages.push(json!({
                "role": "tool", "tool_call_id": item["call_id"], "content": output_text(&item["output"]),
            })),
            // Reasoning and hosted-tool items mean nothing to a Chat server.
            _ => {}
        }
    }
    messages
}

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Turns streamed chunks into events; `finish` at `[DONE]` or the end of the stream.
#[derive(Debug, Default)]
pub struct ChatAccumulator {
    custom_tools: BTreeSet<String>,
    id: String,
    text: String,
    calls: BTreeMap<u64, PartialCall>,
    usage: Option<TokenUsage>,
    finished: bool,
    done: bool,
}

impl ChatAccumulator {
    pub fn new(custom_tools: BTreeSet<String>) -> Self {
        ChatAccumulator {
            custom_tools,
            ..Default::default()
        }
    }

    /// Whether `[DONE]` arrived (nothing more to read).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// One chunk's data; returns the events it makes (the final ones at `[DONE]`).
    pub fn feed(&mut self, data: &str) -> Result<Vec<ResponseEvent>, ClientError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(self.complete());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| ClientError::BadEvent(format!("{e}: {data}")))?;
        if let Some(message) = chunk.pointer("/error/message").and_then(Value::as_str) {
            return Err(ClientError::ResponseFailed(message.to_string()));
        }
        let mut events = Vec::new();
        if self.id.is_empty()
            && let Some(id) = chunk["id"].as_str()
        {
            self.id = id.to_string();
            events.push(ResponseEvent::Created);
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            let n = |p: &str| usage.pointer(p).and_then(Value::as_u64).unwrap_or(0);
            self.usage = Some(TokenUsage {
                input_tokens: n("/prompt_tokens"),
                cached_input_tokens: n("/prompt_tokens_details/cached_tokens"),
                output_tokens: n("/completion_tokens"),
                reasoning_output_tokens: n("/completion_tokens_details/reasoning_tokens"),
                total_tokens: n("/total_tokens"),
            });
        }
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            let delta = &choice["delta"];
            for key in ["reasoning_content", "reasoning"] {
                if let Some(text) = delta[key].as_str().filter(|t| !t.is_empty()) {
                    events.push(ResponseEvent::ReasoningSummaryDelta(text.to_string()));
                }
            }
            if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                self.text.push_str(text);
                events.push(ResponseEvent::OutputTextDelta(text.to_string()));
            }
            for (position, call) in delta["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let index = call["index"].as_u64().unwrap_or(position as u64);
                let partial = self.calls.entry(index).or_default();
                if let Some(id) = call["id"].as_str() {
                    partial.id = id.to_string();
                }
                if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                    partial.name.push_str(name);
                }
                if let Some(arguments) = call.pointer("/function/arguments").and_then(Value::as_str)
                {
                    partial.arguments.push_str(arguments);
                }
            }
            if choice["finish_reason"].is_string() {
                self.finished = true;
            }
        }
        Ok(events)
    }

    /// The end of the stream without `[DONE]`: complete if a choice finished, else an error.
    pub fn finish(&mut self) -> Result<Vec<ResponseEvent>, ClientError> {
        if self.done {
            return Ok(Vec::new());
        }
        if !self.finished {
            return Err(ClientError::ClosedEarly);
        }
        self.done = true;
        Ok(self.complete())
    }

    fn complete(&mut self) -> Vec<ResponseEvent> {
        let mut events = Vec::new();
        if !self.text.is_empty() {
            events.push(ResponseEvent::OutputItemDone(json!({
                "type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": std::mem::take(&mut self.text)}],
            })));
        }
        for (index, call) in std::mem::take(&mut self.calls) {
            let call_id = if call.id.is_empty() {
                format!("call_{index}")
            } else {
                call.id
            };
            let item = if self.custom_tools.contains(&call.name) {
                let input = serde_json::from_str::<Value>(&call.arguments)
                    .ok()
                    .and_then(|v| v["input"].as_str().map(str::to_string))
                    .unwrap_or(call.arguments);
                json!({"type": "custom_tool_call", "call_id": call_id, "name": call.name, "input": input})
            } else {
                json!({"type": "function_call", "call_id": call_id, "name": call.name, "arguments": call.arguments})
            };
            events.push(ResponseEvent::OutputItemDone(item));
        }
        events.push(ResponseEvent::Completed {
            response_id: std::mem::take(&mut self.id),
            usage: self.usage.take(),
        });
        events
    }
}

#[cfg(test)]
#[path = "chat_tests.rs"]
mod tests;
