//! Session persistence: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`, one JSON
//! object per line (`{"timestamp", "type", "payload"}`), appended as the session goes, so the file
//! grows only by what is new and a crash loses at most the line being written. Reading
//! tolerates that torn last line; anything else that does not parse is an error naming the line.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The kinds of line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    SessionMeta,
    ResponseItem,
    EventMsg,
    TurnContext,
    Compacted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutLine {
    pub timestamp: String,
    #[serde(rename = "type")]
    pub kind: LineKind,
    pub payload: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error("cannot write the session file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the session file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: not a session line ({message})", path.display())]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: the first line is not the session's metadata", path.display())]
    NoMeta { path: PathBuf },
    #[error(
        "no session {0} under $CODEX_HOME/sessions; `codex exec resume --last` takes the latest"
    )]
    NotFound(String),
}

/// A new session id: a UUID v7 (time-ordered, so ids sort by creation).
pub fn new_session_id() -> String {
    let millis = Utc::now().timestamp_millis().max(0) as u64;
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Appends lines to one session file.
pub struct RolloutWriter {
    path: PathBuf,
    file: File,
}

impl RolloutWriter {
    /// Creates the file for a new session (with its metadata line).
    pub fn create(
        codex_home: &Path,
        id: &str,
        started: DateTime<Utc>,
        meta: Value,
    ) -> Result<Self, RolloutError> {
        let dir = codex_home
            .join("sessions")
            .join(started.format("%Y/%m/%d").to_string());
        let path = dir.join(format!(
            "rollout-{}-{id}.jsonl",
            started.format("%Y-%m-%dT%H-%M-%S")
        ));
        let error = |source| RolloutError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(error)?;
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(error)?;
        let mut writer = RolloutWriter { path, file };
        writer.append(LineKind::SessionMeta, meta)?;
        Ok(writer)
    }

    /// Continues an existing session file (resume).
    pub fn open(path: &Path) -> Result<Self, RolloutError> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| RolloutError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        let mut writer = RolloutWriter {
            path: path.to_path_buf(),
            file,
        };
        writer.end_torn_line()?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A crash may have left half a line; start the next one on a line of its own.
    fn end_torn_line(&mut self) -> Result<(), RolloutError> {
        let text = std::fs::read(&self.path).map_err(|source| RolloutError::Read {
            path: self.path.clone(),
            source,
        })?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            self.file
                .write_all(b"\n")
                .map_err(|source| RolloutError::Write {
                    path: self.path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Appends one line in a single write.
    pub fn append(&mut self, kind: LineKind, payload: Value) -> Result<(), RolloutError> {
        let line = RolloutLine {
            timestamp: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            kind,
            payload,
        };
        let mut text = serde_json::to_vec(&line).expect("a JSON value serializes");
        text.push(b'\n');
        self.file
            .write_all(&text)
            .map_err(|source| RolloutError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// Reads a session file: its metadata and every line after it.
pub fn read(path: &Path) -> Result<(Value, Vec<RolloutLine>), RolloutError> {
    let file = File::open(path).map_err(|source| RolloutError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines = Vec::new();
    let mut reader = BufReader::new(file);
    let mut number = 0;
    loop {
        let mut raw = Vec::new();
        let read = reader
            .read_until(b'\n', &mut raw)
            .map_err(|source| RolloutError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            break;
        }
        number += 1;
        let complete = raw.ends_with(b"\n");
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<RolloutLine>(&raw) {
            Ok(line) => lines.push(line),
            // A line cut short by a crash: the session ends before it. (A resumed session
            // writes on after it, so a torn line may also sit in the middle.)
            Err(_) if !complete || is_torn(&raw) => {}
            Err(e) => {
                return Err(RolloutError::Corrupt {
                    path: path.to_path_buf(),
                    line: number,
                    message: e.to_string(),
                });
            }
        }
    }
    let mut lines = lines.into_iter();
    match lines.next() {
        Some(first) if first.kind == LineKind::SessionMeta => Ok((first.payload, lines.collect())),
        _ => Err(RolloutError::NoMeta {
            path: path.to_path_buf(),
        }),
    }
}

/// A session file's metadata (its first line) without reading the rest.
pub fn meta(path: &Path) -> Option<Value> {
    let mut first = Vec::new();
    BufReader::new(File::open(path).ok()?)
        .read_until(b'\n', &mut first)
        .ok()?;
    let line: RolloutLine = serde_json::from_slice(&first).ok()?;
    (line.kind == LineKind::SessionMeta).then_some(line.payload)
}

/// The newest session started in `cwd` (any directory with `None`).
pub fn latest(codex_home: &Path, cwd: Option<&Path>) -> Option<PathBuf> {
    list(codex_home).into_iter().find(|path| match cwd {
        None => true,
        Some(cwd) => meta(path)
            .and_then(|m| m["cwd"].as_str().map(PathBuf::from))
            .is_some_and(|started| started == cwd),
    })
}

/// A prefix of a valid line: JSON that ended too early.
fn is_torn(raw: &[u8]) -> bool {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    matches!(
        serde_json::from_slice::<Value>(raw),
        Err(e) if e.is_eof()
    )
}

/// The session files, newest first.
pub fn list(codex_home: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if depth < 3 && path.is_dir() {
                walk(&path, depth + 1, out);
            } else if depth == 3
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("rollout-") && n.ends_with(".jsonl"))
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&codex_home.join("sessions"), 0, &mut out);
    // Paths are YYYY/MM/DD/rollout-<time>-<id>: their order is the sessions' order.
    out.sort();
    out.reverse();
    out
}

/// The file of session `id`.
pub fn find(codex_home: &Path, id: &str) -> Result<PathBuf, RolloutError> {
    let suffix = format!("-{}.jsonl", id.to_ascii_lowercase());
    list(codex_home)
        .into_iter()
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(&suffix))
        })
        .ok_or_else(|| RolloutError::NotFound(id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn write_read_resume() {
        let home = tempfile::tempdir().unwrap();
        let id = new_session_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "7", "a version 7 UUID");
        let started = Utc::now();
        let mut writer =
            RolloutWriter::create(home.path(), &id, started, json!({"id": id, "cwd": "/w"}))
                .unwrap();
        let expected_dir = home
            .path()
            .join("sessions")
            .join(started.format("%Y/%m/%d").to_string());
        assert_eq!(writer.path().parent().unwrap(), expected_dir);
        writer
            .append(LineKind::ResponseItem, json!({"type": "message", "n": 1}))
            .unwrap();
        writer
            .append(LineKind::EventMsg, json!({"type": "token_count"}))
            .unwrap();
        let size = std::fs::metadata(writer.path()).unwrap().len();
        writer
            .append(LineKind::ResponseItem, json!({"n": 2}))
            .unwrap();
        assert!(
            std::fs::metadata(writer.path()).unwrap().len() > size,
            "append only"
        );

        let path = find(home.path(), &id).unwrap();
        assert_eq!(path, writer.path());
        let (meta, lines) = read(&path).unwrap();
        assert_eq!(meta["cwd"], "/w");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].kind, LineKind::ResponseItem);

        // A crash mid-line: the torn line is ignored, and resuming writes on after it.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"timestamp\":\"2026-").unwrap();
        assert_eq!(read(&path).unwrap().1.len(), 3);
        let mut resumed = RolloutWriter::open(&path).unwrap();
        resumed
            .append(LineKind::ResponseItem, json!({"n": 3}))
            .unwrap();
        let (_, lines) = read(&path).unwrap();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[3].payload["n"], 3);
    }

    #[test]
    fn damage_is_reported_with_its_line_and_missing_sessions_by_id() {
        let home = tempfile::tempdir().unwrap();
        let id = new_session_id();
        let mut writer = RolloutWriter::create(home.path(), &id, Utc::now(), json!({})).unwrap();
        writer.append(LineKind::ResponseItem, json!({})).unwrap();
        let path = writer.path().to_path_buf();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(
            b"this is not json\n{\"timestamp\":\"t\",\"type\":\"event_msg\",\"payload\":{}}\n",
        )
        .unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(
            error.contains(&format!("{}:3: not a session line", path.display())),
            "{error}"
        );
        assert!(matches!(
            find(home.path(), "0190aaaa-0000-7000-8000-000000000000"),
            Err(RolloutError::NotFound(_))
        ));
    }

    #[test]
    fn newest_first() {
        let home = tempfile::tempdir().unwrap();
        let old = Utc::now() - chrono::Duration::days(40);
        let first = new_session_id();
        RolloutWriter::create(home.path(), &first, old, json!({})).unwrap();
        let second = new_session_id();
        RolloutWriter::create(home.path(), &second, Utc::now(), json!({})).unwrap();
        let all = list(home.path());
        assert_eq!(all.len(), 2);
        assert!(
            all[0]
                .to_str()
                .unwrap()
                .ends_with(&format!("{second}.jsonl"))
        );
    }
}
