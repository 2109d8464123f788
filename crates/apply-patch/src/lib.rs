//! The apply_patch engine: the `*** Begin Patch` format that models emit, applied safely.
//!
//! Three stages, each usable on its own:
//! - [`parse_patch`]: text → [`Patch`] (pure; errors name the line).
//! - [`compute_plan`]: patch + cwd → [`ApplyPlan`], the final state of every touched path,
//!   computed in memory against the files on disk (reads only).
//! - [`commit`]: writes a plan all-or-nothing (temporary files, renames, rollback).
//!
//! [`apply_patch`] runs all three; [`standalone`] is the `apply_patch` command line;
//! [`invocation`] recognises patches inside shell commands (`bash -lc "apply_patch <<'EOF' …"`)
//! for the agent core, without touching the disk.
//!
//! ```no_run
//! let cwd = std::env::current_dir().unwrap();
//! let patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch";
//! let outcome = codex_apply_patch::apply_patch(patch, &cwd).unwrap();
//! print!("{}", outcome.summary.render());
//! ```

mod commit;
mod error;
pub mod invocation;
mod parser;
mod plan;
mod seek;
pub mod standalone;
mod text;
mod update;

pub use commit::{CommitReport, commit};
pub use error::{ApplyPatchError, CommitError, ComputeError, ParseError};
pub use parser::{Chunk, ChunkLine, Hunk, Patch, parse_patch};
pub use plan::{
    ApplyPlan, PatchChange, PlannedFile, Summary, compute_plan, resolve_path, unified_diff,
};
pub use update::apply_chunks as apply_update;

use std::path::Path;

/// The result of a successful [`apply_patch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub summary: Summary,
    /// Problems that did not stop the change (a leftover backup file, say).
    pub warnings: Vec<String>,
}

/// Parses `patch` and applies it in `cwd`: every file changes, or none does.
pub fn apply_patch(patch: &str, cwd: &Path) -> Result<ApplyOutcome, ApplyPatchError> {
    let parsed = parse_patch(patch)?;
    let plan = compute_plan(&parsed, cwd)?;
    let report = commit(&plan)?;
    Ok(ApplyOutcome {
        summary: plan.summary,
        warnings: report.warnings,
    })
}
