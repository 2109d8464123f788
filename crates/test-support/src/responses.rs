//! A model API on 127.0.0.1: answers each request (`…/responses` or `…/chat/completions`) with
//! the next scripted reply
//! and records every request (path, headers, JSON body) for the test to check.

use crate::token_server::read_request_with_headers;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with these SSE events, then the connection closes.
    Events(Vec<Value>),
    /// 200 with these events, then silence for the duration, then close.
    Stall(Vec<Value>, Duration),
    /// 200 with this exact event-stream text, then close.
    RawSse(String),
    /// This status, body and extra headers.
    Status(u16, String, Vec<(String, String)>),
    /// 200 with the events this function makes from the request body (e.g. a call that uses
    /// a session id from an earlier output), then close.
    FromRequest(fn(&Value) -> Vec<Value>),
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct ResponsesServer {
    /// `http://127.0.0.1:PORT/v1`: what goes in `base_url`.
    pub base_url: String,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl ResponsesServer {
    pub fn start(replies: Vec<Reply>) -> ResponsesServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (queue, log) = (replies.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (queue, log) = (queue.clone(), log.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let Some((path, headers, body)) = read_request_with_headers(&mut stream) else {
                        return;
                    };
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    log.lock().unwrap().push(RecordedRequest {
                        path,
                        headers,
                        body: body.clone(),
                    });
                    let reply = queue.lock().unwrap().pop_front().unwrap_or_else(|| {
                        Reply::Status(
                            500,
                            "{\"error\":{\"message\":\"no reply scripted\"}}".into(),
                            vec![],
                        )
                    });
                    let sse_head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                    match reply {
                        Reply::FromRequest(make) => {
                            let _ = stream.write_all(sse_head.as_bytes());
                            for event in make(&body) {
                                let _ = write!(stream, "data: {event}\n\n");
                            }
                        }
                        Reply::Events(events) => {
                            let _ = stream.write_all(sse_head.as_bytes());
                            for event in events {
                                let _ = write!(stream, "data: {event}\n\n");
                            }
                        }
                        Reply::RawSse(text) => {
                            let _ = stream.write_all(sse_head.as_bytes());
                            let _ = stream.write_all(text.as_bytes());
                        }
                        Reply::Stall(events, pause) => {
                            let _ = stream.write_all(sse_head.as_bytes());
                            for event in events {
                                let _ = write!(stream, "data: {event}\n\n");
                            }
                            let _ = stream.flush();
                            std::thread::sleep(pause);
                        }
                        Reply::Status(status, body, extra) => {
                            let mut head = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                                body.len()
                            );
                            for (name, value) in extra {
                                head.push_str(&format!("{name}: {value}\r\n"));
                            }
                            let _ = write!(stream, "{head}\r\n{body}");
                        }
                    }
                });
            }
        });
        ResponsesServer {
            base_url,
            replies,
            requests,
        }
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Replies not used yet.
    pub fn pending(&self) -> usize {
        self.replies.lock().unwrap().len()
    }
}

/// `response.created`.
pub fn created() -> Value {
    json!({"type": "response.created", "response": {"id": "resp-1"}})
}

/// An assistant message, as `response.output_item.done`.
pub fn message(text: &str) -> Value {
    json!({"type": "response.output_item.done", "item": {
        "type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": text}],
    }})
}

/// A function call, as `response.output_item.done`.
pub fn function_call(call_id: &str, name: &str, arguments: &Value) -> Value {
    json!({"type": "response.output_item.done", "item": {
        "type": "function_call", "call_id": call_id, "name": name,
        "arguments": arguments.to_string(),
    }})
}

/// A call of the freeform `apply_patch` tool, as `response.output_item.done`.
pub fn patch_call(call_id: &str, patch: &str) -> Value {
    json!({"type": "response.output_item.done", "item": {
        "type": "custom_tool_call", "call_id": call_id, "name": "apply_patch", "input": patch,
    }})
}

/// `response.completed` with usage.
pub fn completed(id: &str, input_tokens: u64, output_tokens: u64) -> Value {
    json!({"type": "response.completed", "response": {"id": id, "usage": {
        "input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }}})
}
