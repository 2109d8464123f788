//! The patch grammar: patch text in, [`Patch`] out, or a [`ParseError`] that names the line, the
//! text found there and what was expected.
//!
//! ```text
//! *** Begin Patch
//! [*** Environment ID: ID]
//! ( *** Add File: PATH      then lines '+TEXT'
//! | *** Delete File: PATH
//! | *** Update File: PATH   [*** Move to: PATH]
//!     chunks: ('@@' | '@@ CONTEXT')+ then lines ' TEXT' | '-TEXT' | '+TEXT' [*** End of File]
//!     (the first chunk may omit its '@@'; a blank line is an empty context line)
//! )+
//! *** End Patch
//! ```
//!
//! Leniency for what models really send: the text is trimmed, markers may carry surrounding
//! whitespace, CRLF line breaks are accepted, and a patch wrapped in a heredoc
//! (`<<'EOF'` … `EOF`, any delimiter) is unwrapped. Parsing never touches the disk.

use crate::error::ParseError;

pub(crate) const BEGIN_PATCH: &str = "*** Begin Patch";
pub(crate) const END_PATCH: &str = "*** End Patch";
const ADD_FILE: &str = "*** Add File: ";
const DELETE_FILE: &str = "*** Delete File: ";
const UPDATE_FILE: &str = "*** Update File: ";
const MOVE_TO: &str = "*** Move to: ";
const END_OF_FILE: &str = "*** End of File";
const ENVIRONMENT_ID: &str = "*** Environment ID:";

/// A parsed patch: the file operations in the order the patch lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// `*** Environment ID:` preamble, if present. The engine itself ignores it.
    pub environment_id: Option<String>,
    pub hunks: Vec<Hunk>,
}

/// One file operation. `path` is exactly as written in the patch; `line` is the 1-based line of
/// its header in the (trimmed, unwrapped) patch text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hunk {
    Add {
        path: String,
        contents: String,
        line: usize,
    },
    Delete {
        path: String,
        line: usize,
    },
    Update {
        path: String,
        move_to: Option<String>,
        chunks: Vec<Chunk>,
        line: usize,
    },
}

impl Hunk {
    /// The path the hunk's header names.
    pub fn path(&self) -> &str {
        match self {
            Hunk::Add { path, .. } | Hunk::Delete { path, .. } | Hunk::Update { path, .. } => path,
        }
    }
}

/// One `@@` section of an Update: where to look (`contexts`, each searched after the previous),
/// the lines, and whether the chunk is anchored at the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub contexts: Vec<String>,
    pub lines: Vec<ChunkLine>,
    pub end_of_file: bool,
    /// 1-based patch line of the chunk's first line (its `@@`, or its first body line).
    pub line: usize,
}

/// A body line of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkLine {
    /// ` TEXT` (or a blank line): must be in the file, stays.
    Context(String),
    /// `-TEXT`: must be in the file, goes.
    Remove(String),
    /// `+TEXT`: inserted.
    Add(String),
}

impl Chunk {
    /// The lines the chunk expects to find in the file, in order.
    pub fn old_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                ChunkLine::Context(t) | ChunkLine::Remove(t) => Some(t.as_str()),
                ChunkLine::Add(_) => None,
            })
            .collect()
    }

    /// The lines the chunk leaves in their place, in order.
    pub fn new_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                ChunkLine::Context(t) | ChunkLine::Add(t) => Some(t.as_str()),
                ChunkLine::Remove(_) => None,
            })
            .collect()
    }
}

/// Parses patch text. See the module documentation for the grammar and its leniencies.
pub fn parse_patch(text: &str) -> Result<Patch, ParseError> {
    let lines: Vec<&str> = text.trim().lines().collect();
    match parse_lines(&lines) {
        Ok(patch) => Ok(patch),
        Err(strict) => match unwrap_heredoc(&lines) {
            Some(inner) => parse_lines(inner),
            None => Err(heredoc_error(&lines).unwrap_or(strict)),
        },
    }
}

/// If `lines` is `[apply_patch ]<<DELIM` … `DELIM` (DELIM optionally single- or double-quoted),
/// returns the lines in between without leading and trailing blank lines.
fn unwrap_heredoc<'a, 'b>(lines: &'b [&'a str]) -> Option<&'b [&'a str]> {
    let (first, rest) = lines.split_first()?;
    let (last, inner) = rest.split_last()?;
    let delimiter = heredoc_delimiter(first)?;
    if last.trim() != delimiter {
        return None;
    }
    let start = inner.iter().position(|l| !l.trim().is_empty())?;
    let end = inner.iter().rposition(|l| !l.trim().is_empty())?;
    Some(&inner[start..=end])
}

/// When the text opens like a heredoc but does not close like one, says so: the plain
/// "first line" error would hide what is wrong.
fn heredoc_error(lines: &[&str]) -> Option<ParseError> {
    let first = lines.first()?;
    let delimiter = heredoc_delimiter(first)?;
    let last = lines.last()?;
    (lines.len() < 2 || last.trim() != delimiter).then(|| ParseError::UnterminatedHeredoc {
        opener: first.trim().to_string(),
        delimiter: delimiter.to_string(),
        last: last.to_string(),
    })
}

/// The delimiter word of a heredoc opener such as `<<'EOF'` or `apply_patch <<EOF`.
pub(crate) fn heredoc_delimiter(line: &str) -> Option<&str> {
    let mut rest = line.trim();
    for command in ["apply_patch", "applypatch"] {
        if let Some(after) = rest.strip_prefix(command)
            && after.starts_with(char::is_whitespace)
        {
            rest = after.trim_start();
            break;
        }
    }
    let rest = rest.strip_prefix("<<")?.trim_start();
    let word = match rest.chars().next()? {
        quote @ ('\'' | '"') => rest.strip_prefix(quote)?.strip_suffix(quote)?,
        _ => rest,
    };
    let valid = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    valid.then_some(word)
}

fn parse_lines(lines: &[&str]) -> Result<Patch, ParseError> {
    let Some(first) = lines.first() else {
        return Err(ParseError::Empty);
    };
    if first.trim() != BEGIN_PATCH {
        return Err(ParseError::MissingBegin {
            found: first.to_string(),
        });
    }
    let last = lines[lines.len() - 1];
    if lines.len() < 2 || last.trim() != END_PATCH {
        return Err(ParseError::MissingEnd {
            line: lines.len(),
            found: last.to_string(),
        });
    }
    let mut parser = BodyParser {
        body: &lines[1..lines.len() - 1],
        next: 0,
    };
    parser.parse()
}

/// Cursor over the lines between `*** Begin Patch` and the final `*** End Patch`.
struct BodyParser<'a, 'b> {
    body: &'b [&'a str],
    next: usize,
}

impl<'a> BodyParser<'a, '_> {
    /// 1-based patch line number of body index `index` (line 1 is `*** Begin Patch`).
    fn line_number(index: usize) -> usize {
        index + 2
    }

    fn peek(&self) -> Option<&'a str> {
        self.body.get(self.next).copied()
    }

    fn parse(&mut self) -> Result<Patch, ParseError> {
        let environment_id = self.parse_environment_id()?;
        let mut hunks = Vec::new();
        while let Some(raw) = self.peek() {
            let line = Self::line_number(self.next);
            let trimmed = raw.trim();
            if trimmed == END_PATCH {
                self.check_nothing_after_end(line)?;
                break;
            }
            self.next += 1;
            if let Some(path) = trimmed.strip_prefix(ADD_FILE) {
                let contents = self.parse_add_lines();
                hunks.push(Hunk::Add {
                    path: path.trim().to_string(),
                    contents,
                    line,
                });
            } else if let Some(path) = trimmed.strip_prefix(DELETE_FILE) {
                hunks.push(Hunk::Delete {
                    path: path.trim().to_string(),
                    line,
                });
            } else if let Some(path) = trimmed.strip_prefix(UPDATE_FILE) {
                hunks.push(self.parse_update(path.trim(), line)?);
            } else {
                return Err(ParseError::InvalidHunkHeader {
                    line,
                    found: trimmed.to_string(),
                });
            }
        }
        Ok(Patch {
            environment_id,
            hunks,
        })
    }

    fn parse_environment_id(&mut self) -> Result<Option<String>, ParseError> {
        let Some(rest) = self
            .peek()
            .and_then(|l| l.trim().strip_prefix(ENVIRONMENT_ID))
        else {
            return Ok(None);
        };
        let line = Self::line_number(self.next);
        let id = rest.trim();
        if id.is_empty() {
            return Err(ParseError::EmptyEnvironmentId { line });
        }
        self.next += 1;
        if let Some(again) = self.peek()
            && again.trim().starts_with(ENVIRONMENT_ID)
        {
            return Err(ParseError::DuplicateEnvironmentId {
                line: Self::line_number(self.next),
            });
        }
        Ok(Some(id.to_string()))
    }

    /// After an inner `*** End Patch` only blank lines and further End lines may follow.
    fn check_nothing_after_end(&self, end_line: usize) -> Result<(), ParseError> {
        for (index, raw) in self.body.iter().enumerate().skip(self.next + 1) {
            let trimmed = raw.trim();
            if !trimmed.is_empty() && trimmed != END_PATCH {
                return Err(ParseError::TextAfterEnd {
                    line: Self::line_number(index),
                    found: raw.to_string(),
                    end_line,
                });
            }
        }
        Ok(())
    }

    fn parse_add_lines(&mut self) -> String {
        let mut contents = String::new();
        while let Some(text) = self.peek().and_then(|l| l.strip_prefix('+')) {
            contents.push_str(text);
            contents.push('\n');
            self.next += 1;
        }
        contents
    }

    fn parse_update(&mut self, path: &str, line: usize) -> Result<Hunk, ParseError> {
        let mut move_to = None;
        if let Some(dest) = self.peek().and_then(|l| l.strip_prefix(MOVE_TO)) {
            let dest = dest.trim();
            if dest.is_empty() {
                return Err(ParseError::EmptyMoveTarget {
                    line: Self::line_number(self.next),
                });
            }
            move_to = Some(dest.to_string());
            self.next += 1;
        }
        let mut chunks: Vec<Chunk> = Vec::new();
        while let Some(raw) = self.peek() {
            if is_hunk_boundary(raw) {
                break;
            }
            // Blank lines after an `*** End of File` line separate chunks; everywhere else a
            // blank line is an empty context line of the chunk it is in (or starts).
            let after_end_of_file = chunks.last().is_some_and(|c: &Chunk| c.end_of_file);
            if after_end_of_file && raw.is_empty() {
                self.next += 1;
                continue;
            }
            let chunk = self.parse_chunk(chunks.is_empty())?;
            chunks.push(chunk);
        }
        if chunks.is_empty() {
            return Err(ParseError::EmptyUpdate {
                line,
                path: path.to_string(),
            });
        }
        Ok(Hunk::Update {
            path: path.to_string(),
            move_to,
            chunks,
            line,
        })
    }

    fn parse_chunk(&mut self, first_in_hunk: bool) -> Result<Chunk, ParseError> {
        let start = Self::line_number(self.next);
        let mut contexts = Vec::new();
        let mut saw_marker = false;
        while let Some(raw) = self.peek() {
            if raw.trim_end() == "@@" {
                saw_marker = true;
            } else if let Some(context) = raw.strip_prefix("@@ ") {
                contexts.push(context.trim_end().to_string());
                saw_marker = true;
            } else {
                break;
            }
            self.next += 1;
        }
        if let Some(raw) = self.peek() {
            let line = Self::line_number(self.next);
            if raw.starts_with("@@") {
                return Err(ParseError::InvalidChunkMarker {
                    line,
                    found: raw.to_string(),
                });
            }
            if !saw_marker && !first_in_hunk {
                return Err(ParseError::MissingChunkMarker {
                    line,
                    found: raw.to_string(),
                });
            }
        }

        let body_start = Self::line_number(self.next);
        let mut lines = Vec::new();
        let mut end_of_file = false;
        while let Some(raw) = self.peek() {
            if raw.trim_end() == END_OF_FILE {
                end_of_file = true;
                self.next += 1;
                break;
            }
            let parsed = match raw.chars().next() {
                None => ChunkLine::Context(String::new()),
                Some(' ') => ChunkLine::Context(raw[1..].to_string()),
                Some('-') => ChunkLine::Remove(raw[1..].to_string()),
                Some('+') => ChunkLine::Add(raw[1..].to_string()),
                Some(_) if lines.is_empty() && !is_hunk_boundary(raw) => {
                    return Err(ParseError::UnexpectedLine {
                        line: Self::line_number(self.next),
                        found: raw.to_string(),
                    });
                }
                Some(_) => break,
            };
            lines.push(parsed);
            self.next += 1;
        }
        if lines.is_empty() {
            return Err(ParseError::EmptyChunk { line: body_start });
        }
        Ok(Chunk {
            contexts,
            lines,
            end_of_file,
            line: start,
        })
    }
}

/// Whether `raw` ends an Update hunk: another hunk header or `*** End Patch`.
fn is_hunk_boundary(raw: &str) -> bool {
    let trimmed = raw.trim();
    trimmed == END_PATCH
        || [ADD_FILE, DELETE_FILE, UPDATE_FILE]
            .iter()
            .any(|prefix| trimmed.starts_with(prefix))
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
