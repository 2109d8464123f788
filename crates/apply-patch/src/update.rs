//! Applying one Update hunk's chunks to a file's text, in memory.
//!
//! Chunks are located in order, each searching forward from where the previous one ended.
//! Lines a chunk keeps (context) keep the file's own bytes and terminators; inserted lines get
//! the file's preferred terminator. A missing final newline stays missing unless lines are
//! appended after the old last line; a leading BOM stays.

use crate::error::ComputeError;
use crate::error::Shown;
use crate::parser::{Chunk, ChunkLine};
use crate::seek::{Candidate, Matcher};
use crate::text::{BOM, TextFile};
use std::path::Path;

/// What one located chunk does: replace `old_len` lines at `start` with `lines`.
struct Replacement<'c> {
    start: usize,
    old_len: usize,
    lines: Vec<Out<'c>>,
}

/// An output line: an original line kept (by index), or a line from the patch.
#[derive(Clone, Copy)]
enum Out<'c> {
    Kept(usize),
    Inserted(&'c str),
}

/// Returns `original` with the chunks of one Update hunk applied, in memory. `path` is only
/// used in error messages.
pub fn apply_chunks(path: &Path, original: &str, chunks: &[Chunk]) -> Result<String, ComputeError> {
    let file = TextFile::parse(original);
    let mut matcher = Matcher::new(file.lines.iter().map(|l| l.text).collect());
    let mut replacements = Vec::with_capacity(chunks.len());
    let mut cursor = 0;
    for chunk in chunks {
        for context in &chunk.contexts {
            match matcher.find(&[context.as_str()], cursor, false) {
                Some(at) => cursor = at + 1,
                None => {
                    return Err(ComputeError::ContextNotFound {
                        path: path.to_path_buf(),
                        context: context.clone(),
                        from: cursor + 1,
                        chunk_line: chunk.line,
                    });
                }
            }
        }
        let replacement = locate(path, &mut matcher, chunk, cursor)?;
        if replacement.old_len > 0 {
            cursor = replacement.start + replacement.old_len;
        }
        replacements.push(replacement);
    }
    // Located chunks are in file order except appended additions; a stable sort keeps the
    // patch order of insertions at one position.
    replacements.sort_by_key(|r| r.start);
    Ok(assemble(&file, &replacements))
}

/// Finds where `chunk` applies, searching from `cursor`.
fn locate<'c>(
    path: &Path,
    matcher: &mut Matcher<'_>,
    chunk: &'c Chunk,
    cursor: usize,
) -> Result<Replacement<'c>, ComputeError> {
    let mut lines: Vec<&'c ChunkLine> = chunk.lines.iter().collect();
    // The file's BOM is not part of its first line here, so not of a pattern line either.
    let mut old: Vec<&str> = chunk
        .old_lines()
        .into_iter()
        .map(|l| l.strip_prefix(BOM).unwrap_or(l))
        .collect();
    if old.is_empty() {
        // Pure addition: after the `@@` context line when there is one, else at the end.
        let start = if chunk.contexts.is_empty() || chunk.end_of_file {
            matcher.lines().len()
        } else {
            cursor
        };
        return Ok(Replacement {
            start,
            old_len: 0,
            lines: inserted(&lines),
        });
    }
    let mut found = matcher.find(&old, cursor, chunk.end_of_file);
    if found.is_none() && old.last() == Some(&"") {
        // A trailing blank line in a chunk is usually a separator the model added, not a line
        // of the file: retry without it (and without a matching blank added line).
        drop_trailing_blank(&mut lines);
        old.pop();
        found = matcher.find(&old, cursor, chunk.end_of_file);
    }
    let Some(start) = found else {
        return Err(not_found(path, matcher, chunk, &chunk.old_lines(), cursor));
    };
    let mut out = Vec::with_capacity(lines.len());
    let mut index = start;
    for line in &lines {
        match line {
            ChunkLine::Context(_) => {
                out.push(Out::Kept(index));
                index += 1;
            }
            ChunkLine::Remove(_) => index += 1,
            ChunkLine::Add(text) => out.push(Out::Inserted(text)),
        }
    }
    Ok(Replacement {
        start,
        old_len: old.len(),
        lines: out,
    })
}

fn inserted<'c>(lines: &[&'c ChunkLine]) -> Vec<Out<'c>> {
    lines
        .iter()
        .filter_map(|l| match l {
            ChunkLine::Add(text) => Some(Out::Inserted(text.as_str())),
            _ => None,
        })
        .collect()
}

/// Removes the last line that the file must contain (it is blank), and a blank added line at
/// the very end of the new side.
fn drop_trailing_blank(lines: &mut Vec<&ChunkLine>) {
    let Some(pos) = lines.iter().rposition(|l| !matches!(l, ChunkLine::Add(_))) else {
        return;
    };
    // A blank context line was also the new side's last line: removing it is enough.
    if matches!(lines.remove(pos), ChunkLine::Context(_)) {
        return;
    }
    if let Some(pos) = lines
        .iter()
        .rposition(|l| !matches!(l, ChunkLine::Remove(_)))
        && matches!(lines[pos], ChunkLine::Add(text) if text.is_empty())
    {
        lines.remove(pos);
    }
}

fn not_found(
    path: &Path,
    matcher: &Matcher<'_>,
    chunk: &Chunk,
    old: &[&str],
    cursor: usize,
) -> ComputeError {
    let file_lines = matcher.lines();
    let hint = match matcher.closest(old, cursor) {
        Some(candidate) => describe_candidate(file_lines, chunk, old, cursor, candidate),
        None => match most_similar_line(file_lines, old[0], cursor) {
            Some(at) => format!(
                "\nNo line of this chunk occurs in the file. Closest match: line {}, which differs from the chunk's first line:\n  chunk: '{}'\n  file:  '{}'",
                at + 1,
                Shown(old[0]),
                Shown(file_lines[at])
            ),
            None => format!(
                "\nNo line of this chunk occurs in the file ({}); check the path and the chunk's lines.",
                plural(file_lines.len(), "line")
            ),
        },
    };
    ComputeError::LinesNotFound {
        path: path.to_path_buf(),
        expected: old.join("\n"),
        hint,
    }
}

fn describe_candidate(
    file_lines: &[&str],
    chunk: &Chunk,
    old: &[&str],
    cursor: usize,
    candidate: Candidate,
) -> String {
    let mut hint = format!(
        "\nClosest match: line {} of the file, where {} of the chunk's {} lines agree",
        candidate.start + 1,
        candidate.agreeing,
        old.len()
    );
    if candidate.start < cursor {
        let context_note = if chunk.contexts.is_empty() {
            ""
        } else {
            ", and an '@@ CONTEXT' line is not one of the chunk's lines"
        };
        hint.push_str(&format!(
            " (before line {}, where this chunk's search began: chunks must be in file order and must not overlap{context_note})",
            cursor + 1
        ));
    }
    match candidate.first_difference {
        Some(offset) => {
            let file_line = candidate.start + offset;
            let found = match file_lines.get(file_line) {
                Some(text) => format!("has '{}'", Shown(text)),
                None => "ends there".to_string(),
            };
            hint.push_str(&format!(
                ".\nFirst difference at line {}: the chunk expects '{}' but the file {found}.",
                file_line + 1,
                Shown(old[offset]),
            ));
        }
        None => hint.push('.'),
    }
    hint
}

/// The line most like `wanted` (at least half of their character pairs shared), preferring
/// lines at or after `from`. Only for error messages, so the work is bounded: linear in the
/// characters compared, long lines cut, at most [`MAX_LINES`] lines looked at.
fn most_similar_line(lines: &[&str], wanted: &str, from: usize) -> Option<usize> {
    const MAX_LINES: usize = 50_000;
    const MIN_SIMILARITY: f32 = 0.5;
    let wanted = bigrams(wanted);
    if wanted.is_empty() {
        return None;
    }
    let best = |range: std::ops::Range<usize>| {
        range
            .take(MAX_LINES)
            .map(|i| (similarity(&wanted, &bigrams(lines[i])), i))
            .filter(|(score, _)| *score >= MIN_SIMILARITY)
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, i)| i)
    };
    let from = from.min(lines.len());
    best(from..lines.len()).or_else(|| best(0..from))
}

/// The sorted character pairs of a trimmed line (its first 256 characters); a short line
/// (under 16 characters) is compared by single characters instead, paired with a space.
fn bigrams(line: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = line.trim().chars().take(256).collect();
    let mut pairs: Vec<(char, char)> = if chars.len() < 16 {
        chars.iter().map(|c| (*c, ' ')).collect()
    } else {
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    pairs.sort_unstable();
    pairs
}

/// Dice coefficient of two sorted lists.
fn similarity(a: &[(char, char)], b: &[(char, char)]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * shared as f32 / (a.len() + b.len()) as f32
}

/// `1 line`, `2 lines`.
pub(crate) fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Builds the new content from the original lines and the sorted replacements, streaming
/// straight into the output (large files stay cheap).
fn assemble(file: &TextFile<'_>, replacements: &[Replacement<'_>]) -> String {
    let original = &file.lines;
    let last_index = original.len().checked_sub(1);
    let mut writer = Writer {
        file,
        out: String::with_capacity(original.iter().map(|l| l.text.len() + 2).sum::<usize>() + 3),
        last: None,
    };
    if file.bom {
        writer.out.push(BOM);
    }
    let mut next = 0;
    // Which replacement removed the old last line, if one did.
    let mut last_removed_by = None;
    for (index, r) in replacements.iter().enumerate() {
        (next..r.start).for_each(|i| writer.push(Out::Kept(i), None));
        if let Some(last) = last_index
            && (r.start..r.start + r.old_len).contains(&last)
            && !r
                .lines
                .iter()
                .any(|o| matches!(o, Out::Kept(i) if *i == last))
        {
            last_removed_by = Some(index);
        }
        r.lines.iter().for_each(|o| writer.push(*o, Some(index)));
        next = r.start + r.old_len;
    }
    (next..original.len()).for_each(|i| writer.push(Out::Kept(i), None));

    // Every line was written terminated; the last one may have to lose its terminator: a kept
    // line that had none keeps having none, and lines that replaced an unterminated old last
    // line at the end stay unterminated.
    let strip = match writer.last {
        Some((Out::Kept(i), _)) => original[i].terminator.is_empty(),
        Some((Out::Inserted(_), from)) => {
            from.is_some() && from == last_removed_by && file.missing_final_newline()
        }
        None => false,
    };
    let mut out = writer.out;
    if strip {
        out.truncate(out.len() - file.preferred.len());
    }
    out
}

/// Appends output lines, each with a terminator (its own, or the file's preferred one).
struct Writer<'f, 'a, 'c> {
    file: &'f TextFile<'a>,
    out: String,
    /// The last line written, and the replacement it came from.
    last: Option<(Out<'c>, Option<usize>)>,
}

impl<'c> Writer<'_, '_, 'c> {
    fn push(&mut self, line: Out<'c>, from: Option<usize>) {
        let (text, terminator) = match line {
            Out::Kept(i) => {
                let kept = self.file.lines[i];
                match kept.terminator {
                    "" => (kept.text, self.file.preferred),
                    own => (kept.text, own),
                }
            }
            Out::Inserted(text) => (text, self.file.preferred),
        };
        self.out.push_str(text);
        self.out.push_str(terminator);
        self.last = Some((line, from));
    }
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
