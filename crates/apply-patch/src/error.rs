//! Errors of the apply_patch engine, one enum per stage: parsing the text, computing the changes
//! against the files, and committing them to disk.
//!
//! Messages start like the reference implementation's (models are used to them) and then add
//! what it leaves out: the offending text, where it is, and what to do about it.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Characters that do not show as themselves: controls, whitespace other than the ASCII
/// space, and zero-width or direction marks.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Shows a line from a patch or file with control characters escaped (`\t`, `\u{1f}`), so
/// invisible differences are visible in an error message.
pub(crate) struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '\t' => f.write_str("\\t")?,
                '\r' => f.write_str("\\r")?,
                c if is_invisible(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => write!(f, "{c}")?,
            }
        }
        Ok(())
    }
}

/// The patch text does not follow the grammar. `line` is 1-based, counted from the
/// `*** Begin Patch` line of the trimmed (and, for a heredoc, unwrapped) text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error(
        "Invalid patch: The patch is empty; it must start with '*** Begin Patch' and end with '*** End Patch'"
    )]
    Empty,
    #[error(
        "Invalid patch: The first line of the patch must be '*** Begin Patch', but line 1 is '{}'", Shown(.found)
    )]
    MissingBegin { found: String },
    #[error(
        "Invalid patch: The last line of the patch must be '*** End Patch', but line {line} is '{}'", Shown(.found)
    )]
    MissingEnd { line: usize, found: String },
    #[error(
        "Invalid patch hunk on line {line}: '{}' follows '*** End Patch' on line {end_line}; remove it or move it before the end marker", Shown(.found)
    )]
    TextAfterEnd {
        line: usize,
        found: String,
        end_line: usize,
    },
    #[error(
        "Invalid patch hunk on line {line}: '{}' is not a valid hunk header. Valid hunk headers: '*** Add File: {{path}}', '*** Delete File: {{path}}', '*** Update File: {{path}}'", Shown(.found)
    )]
    InvalidHunkHeader { line: usize, found: String },
    #[error("Invalid patch hunk on line {line}: Update file hunk for path '{path}' is empty")]
    EmptyUpdate { line: usize, path: String },
    #[error(
        "Invalid patch hunk on line {line}: Update hunk does not contain any lines; a chunk needs at least one ' ', '-' or '+' line"
    )]
    EmptyChunk { line: usize },
    #[error(
        "Invalid patch hunk on line {line}: Expected update hunk to start with a @@ context marker, got: '{}'", Shown(.found)
    )]
    MissingChunkMarker { line: usize, found: String },
    #[error(
        "Invalid patch hunk on line {line}: '{}' is not a valid chunk marker; expected '@@' alone or '@@ ' followed by a line of the file", Shown(.found)
    )]
    InvalidChunkMarker { line: usize, found: String },
    #[error(
        "Invalid patch hunk on line {line}: Unexpected line found in update hunk: '{}'. Every line should start with ' ' (context line), '+' (added line), or '-' (removed line)", Shown(.found)
    )]
    UnexpectedLine { line: usize, found: String },
    #[error("Invalid patch hunk on line {line}: '*** Move to: ' must be followed by a path")]
    EmptyMoveTarget { line: usize },
    #[error("Invalid patch: apply_patch environment_id cannot be empty (line {line})")]
    EmptyEnvironmentId { line: usize },
    #[error(
        "Invalid patch: apply_patch environment_id cannot be specified more than once (line {line})"
    )]
    DuplicateEnvironmentId { line: usize },
    #[error(
        "Invalid patch: the heredoc that starts with '{}' on line 1 must end with a line that is exactly '{delimiter}', but the last line is '{}'", Shown(.opener), Shown(.last)
    )]
    UnterminatedHeredoc {
        opener: String,
        delimiter: String,
        last: String,
    },
}

/// A well-formed patch that cannot be applied to the files as they are. Nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComputeError {
    #[error("No files were modified.")]
    NoHunks,
    #[error("Failed to read file to update {}: {source}", path.display())]
    ReadUpdate { path: PathBuf, source: io::Error },
    #[error("Failed to read file to update {}: the file is not valid UTF-8 text ({detail})", path.display())]
    NotUtf8 { path: PathBuf, detail: String },
    #[error("Failed to read file to update {}: it was deleted or moved away earlier in this patch (line {line})", path.display())]
    RemovedEarlier { path: PathBuf, line: usize },
    #[error("Failed to delete file {}: {source}", path.display())]
    ReadDelete { path: PathBuf, source: io::Error },
    #[error("Failed to delete file {}: it is a directory; apply_patch deletes files only", path.display())]
    DeleteDirectory { path: PathBuf },
    #[error("Failed to delete file {}: it was already deleted or moved away earlier in this patch (line {line})", path.display())]
    DeletedTwice { path: PathBuf, line: usize },
    #[error("Failed to write file {}: it is a directory", path.display())]
    WriteDirectory { path: PathBuf },
    #[error("Failed to write file {}: {} is not a directory", path.display(), parent.display())]
    ParentNotDirectory { path: PathBuf, parent: PathBuf },
    #[error("Failed to write file {}: it must stay a directory for {}, written earlier in this patch", path.display(), child.display())]
    NeededAsDirectory { path: PathBuf, child: PathBuf },
    #[error("Failed to write file {}: too many levels of symbolic links", path.display())]
    SymlinkLoop { path: PathBuf },
    #[error("Failed to find context '{context}' in {} (searched from line {from} on, for the chunk at patch line {chunk_line})", path.display())]
    ContextNotFound {
        path: PathBuf,
        context: String,
        from: usize,
        chunk_line: usize,
    },
    #[error("Failed to find expected lines in {}:\n{expected}{hint}", path.display())]
    LinesNotFound {
        path: PathBuf,
        /// The chunk's old lines joined with `\n`.
        expected: String,
        /// Where the closest candidate is and how it differs (starts with a newline).
        hint: String,
    },
}

/// Writing the computed changes failed. Every change already made was undone unless
/// `rollback_failures` says otherwise.
#[derive(Debug, thiserror::Error)]
#[error("Failed to {action} {}: {source}; {}", path.display(), rollback_summary(.rollback_failures))]
pub struct CommitError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
    /// Steps of the undo that failed, each naming what is left where. Empty when the tree is
    /// exactly as it was before.
    pub rollback_failures: Vec<String>,
}

fn rollback_summary(failures: &[String]) -> String {
    if failures.is_empty() {
        "no file was changed".to_string()
    } else {
        format!(
            "restoring the previous state failed, fix these by hand: {}",
            failures.join("; ")
        )
    }
}

/// Any failure of the engine: parse, compute or commit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyPatchError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Compute(#[from] ComputeError),
    #[error(transparent)]
    Commit(#[from] CommitError),
}
