//! Recognising an apply_patch call inside a command the model asked to run, for the agent core.
//!
//! Accepted forms (anything else is [`MaybeApplyPatch::NotApplyPatch`] and runs as an ordinary
//! command):
//! - `["apply_patch" | "applypatch", PATCH]` (any directory prefix on the program);
//! - `[SHELL, FLAG, SCRIPT]` with `bash`/`zsh`/`sh` and `-c`/`-lc`, `pwsh`/`powershell` with
//!   `-Command` (optionally after `-NoProfile`), or `cmd` with `/c`, where SCRIPT is exactly one
//!   statement: `apply_patch <<DELIM … DELIM`, optionally preceded by `cd DIR &&`.
//!
//! The script is parsed with the tree-sitter bash grammar and the tree is checked node by node:
//! no other commands, arguments, assignments, pipes or redirections, a literal `cd` target (a
//! plain word or a quoted string without expansions), and a plain `<<` heredoc. The heredoc
//! body is taken literally, as the model wrote it.
//!
//! [`maybe_parse_apply_patch_verified`] then computes the full effect against the disk
//! (without writing) so a caller can show and approve exact changes.

use crate::error::{ApplyPatchError, ParseError};
use crate::parser::{Hunk, parse_patch};
use crate::plan::{ApplyPlan, PatchChange, compute_plan, resolve_path};
use std::path::{Path, PathBuf};
use tree_sitter::Node;

/// Program names that are apply_patch.
const APPLY_PATCH_NAMES: [&str; 2] = ["apply_patch", "applypatch"];

/// A patch found in a command, parsed but not checked against the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyPatchArgs {
    /// The patch text as given (heredoc body without its trailing newlines).
    pub patch: String,
    pub hunks: Vec<Hunk>,
    /// The `cd` target of `cd DIR && apply_patch …`, as written.
    pub workdir: Option<String>,
}

/// The outcome of looking for a patch in a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaybeApplyPatch {
    Body(ApplyPatchArgs),
    /// The command is an apply_patch call, but its patch does not parse.
    PatchParseError(ParseError),
    /// The shell script could not be parsed at all.
    ShellParseError(String),
    NotApplyPatch,
}

/// Why a recognised apply_patch call cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorrectnessError {
    /// A bare patch (or a shell script that is only a patch) without the apply_patch command.
    #[error(
        "patch detected without explicit call to apply_patch. Rerun as [\"apply_patch\", \"<patch>\"]"
    )]
    ImplicitInvocation,
    #[error(transparent)]
    Patch(#[from] ApplyPatchError),
}

/// A verified patch: what it will do to each path, against the disk as it is now.
#[derive(Debug, Clone)]
pub struct ApplyPatchAction {
    /// Per-path changes, in patch order; a move is one `Update` at its source.
    pub changes: Vec<(PathBuf, PatchChange)>,
    /// The patch text to hand to `codex --codex-run-as-apply-patch`.
    pub patch: String,
    /// The directory the patch applies in (the call's cwd joined with any `cd` target).
    pub cwd: PathBuf,
    /// The computed plan, which [`crate::commit`] can write directly.
    pub plan: ApplyPlan,
}

/// The outcome of [`maybe_parse_apply_patch_verified`].
#[derive(Debug)]
pub enum MaybeApplyPatchVerified {
    Body(ApplyPatchAction),
    CorrectnessError(CorrectnessError),
    ShellParseError(String),
    NotApplyPatch,
}

/// Looks for an apply_patch call in `argv`; pure.
pub fn maybe_parse_apply_patch(argv: &[String]) -> MaybeApplyPatch {
    let found = match argv {
        [program, body] if is_apply_patch_program(program) => Found {
            patch: body.clone(),
            workdir: None,
        },
        _ => match shell_script(argv) {
            Some(script) => match find_in_script(script) {
                Ok(Some(found)) => found,
                Ok(None) => return MaybeApplyPatch::NotApplyPatch,
                Err(message) => return MaybeApplyPatch::ShellParseError(message),
            },
            None => return MaybeApplyPatch::NotApplyPatch,
        },
    };
    match parse_patch(&found.patch) {
        Ok(patch) => MaybeApplyPatch::Body(ApplyPatchArgs {
            patch: found.patch,
            hunks: patch.hunks,
            workdir: found.workdir,
        }),
        Err(error) => MaybeApplyPatch::PatchParseError(error),
    }
}

/// Looks for an apply_patch call in `argv` run in `cwd` and, when there is one, computes its
/// effect against the disk (read-only).
pub fn maybe_parse_apply_patch_verified(argv: &[String], cwd: &Path) -> MaybeApplyPatchVerified {
    if is_implicit_invocation(argv) {
        return MaybeApplyPatchVerified::CorrectnessError(CorrectnessError::ImplicitInvocation);
    }
    match maybe_parse_apply_patch(argv) {
        MaybeApplyPatch::Body(args) => {
            let lexical = match &args.workdir {
                Some(dir) => resolve_path(cwd, dir),
                None => cwd.to_path_buf(),
            };
            // The process that applies the patch resolves `..` from its real directory, so
            // the plan must too (`cd link && …` then `../x`).
            let effective_cwd = std::fs::canonicalize(&lexical).unwrap_or(lexical);
            let patch = crate::parser::Patch {
                environment_id: None,
                hunks: args.hunks,
            };
            match compute_plan(&patch, &effective_cwd) {
                Ok(plan) => MaybeApplyPatchVerified::Body(ApplyPatchAction {
                    changes: plan.changes(),
                    patch: args.patch,
                    cwd: effective_cwd,
                    plan,
                }),
                Err(error) => {
                    MaybeApplyPatchVerified::CorrectnessError(ApplyPatchError::from(error).into())
                }
            }
        }
        MaybeApplyPatch::PatchParseError(error) => {
            MaybeApplyPatchVerified::CorrectnessError(ApplyPatchError::from(error).into())
        }
        MaybeApplyPatch::ShellParseError(message) => {
            MaybeApplyPatchVerified::ShellParseError(message)
        }
        MaybeApplyPatch::NotApplyPatch => MaybeApplyPatchVerified::NotApplyPatch,
    }
}

/// A patch passed as the whole command, or as a whole shell script, without `apply_patch`.
fn is_implicit_invocation(argv: &[String]) -> bool {
    match argv {
        [only] => parse_patch(only).is_ok(),
        _ => shell_script(argv).is_some_and(|script| parse_patch(script).is_ok()),
    }
}

fn is_apply_patch_program(program: &str) -> bool {
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    APPLY_PATCH_NAMES.contains(&name)
}

/// The script of `[SHELL, FLAG, SCRIPT]` for the shells we understand.
fn shell_script(argv: &[String]) -> Option<&str> {
    let stem = |program: &str| {
        Path::new(program)
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_ascii_lowercase)
    };
    match argv {
        [shell, flag, script] => {
            let ok = match stem(shell)?.as_str() {
                "bash" | "zsh" | "sh" => flag == "-c" || flag == "-lc",
                "pwsh" | "powershell" => flag.eq_ignore_ascii_case("-command"),
                "cmd" => flag.eq_ignore_ascii_case("/c"),
                _ => false,
            };
            ok.then_some(script.as_str())
        }
        [shell, no_profile, flag, script] => {
            let ok = matches!(stem(shell)?.as_str(), "pwsh" | "powershell")
                && no_profile.eq_ignore_ascii_case("-noprofile")
                && flag.eq_ignore_ascii_case("-command");
            ok.then_some(script.as_str())
        }
        _ => None,
    }
}

struct Found {
    patch: String,
    workdir: Option<String>,
}

/// Parses `script` and, if it is exactly `[cd DIR &&] apply_patch <<DELIM … DELIM`, returns the
/// heredoc body and the cd target.
fn find_in_script(script: &str) -> Result<Option<Found>, String> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .map_err(|e| format!("loading the bash grammar failed: {e}"))?;
    let tree = parser
        .parse(script, None)
        .ok_or_else(|| "the bash parser gave up on the script".to_string())?;
    let root = tree.root_node();
    if root.has_error() {
        return Ok(None);
    }
    let source = script.as_bytes();
    let text = |node: Node<'_>| node.utf8_text(source).unwrap_or_default();
    let [statement] = named_children(root)[..] else {
        return Ok(None);
    };
    if statement.kind() != "redirected_statement" {
        return Ok(None);
    }
    let (Some(body), Some(redirect)) = (
        statement.child_by_field_name("body"),
        statement.child_by_field_name("redirect"),
    ) else {
        return Ok(None);
    };
    if named_children(statement).len() != 2 {
        return Ok(None);
    }
    let Some(patch) = heredoc_body(redirect, script, &text) else {
        return Ok(None);
    };
    let workdir = match body.kind() {
        "command" if is_bare_apply_patch(body, &text) => None,
        "list" => {
            let [cd, apply] = named_children(body)[..] else {
                return Ok(None);
            };
            let operator_is_and = (0..body.child_count())
                .filter_map(|i| body.child(i))
                .any(|c| !c.is_named() && c.kind() == "&&");
            if !operator_is_and || !is_bare_apply_patch(apply, &text) {
                return Ok(None);
            }
            match cd_target(cd, &text) {
                Some(dir) => Some(dir),
                None => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(Found { patch, workdir }))
}

fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// `apply_patch` or `applypatch` with no arguments, assignments or other parts.
fn is_bare_apply_patch<'s>(command: Node<'_>, text: &impl Fn(Node<'_>) -> &'s str) -> bool {
    let children = named_children(command);
    command.kind() == "command"
        && children.len() == 1
        && children[0].kind() == "command_name"
        && APPLY_PATCH_NAMES.contains(&text(children[0]))
}

/// The directory of `cd DIR`, when DIR is a literal: a plain word, `'raw'` or `"plain"`.
fn cd_target<'s>(command: Node<'_>, text: &impl Fn(Node<'_>) -> &'s str) -> Option<String> {
    let children = named_children(command);
    let [name, argument] = children[..] else {
        return None;
    };
    if command.kind() != "command" || name.kind() != "command_name" || text(name) != "cd" {
        return None;
    }
    let dir = match argument.kind() {
        "word" => {
            let word = text(argument);
            // `cd -`, `cd -P` and friends are options, not directories.
            let literal = !word.starts_with('-')
                && !word.contains(['$', '`', '\\', '~', '*', '?', '[', '{', '\'', '"']);
            literal.then(|| word.to_string())?
        }
        "raw_string" => {
            let quoted = text(argument);
            quoted.strip_prefix('\'')?.strip_suffix('\'')?.to_string()
        }
        "string" => {
            let parts = named_children(argument);
            match parts[..] {
                [content] if content.kind() == "string_content" => {
                    let literal = text(content);
                    (!literal.contains(['$', '`', '\\'])).then(|| literal.to_string())?
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    (!dir.is_empty()).then_some(dir)
}

/// The body of a plain `<<DELIM` heredoc whose end line is DELIM, without trailing newlines.
fn heredoc_body<'s>(
    redirect: Node<'_>,
    source: &'s str,
    text: &impl Fn(Node<'_>) -> &'s str,
) -> Option<String> {
    if redirect.kind() != "heredoc_redirect" {
        return None;
    }
    let children = named_children(redirect);
    let [start, body, end] = children[..] else {
        return None;
    };
    if start.kind() != "heredoc_start"
        || body.kind() != "heredoc_body"
        || end.kind() != "heredoc_end"
    {
        return None;
    }
    let operator = redirect.child(0).map(text);
    if operator != Some("<<") {
        return None;
    }
    let raw = text(start);
    let delimiter = raw
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
        .unwrap_or(raw);
    if delimiter.is_empty() || text(end) != delimiter || line_of(source, end) != delimiter {
        return None;
    }
    let body = text(body);
    // Where bash would end the heredoc earlier than the parser did (an expansion spanning
    // lines), the script is not what it seems: not a patch.
    if body.lines().any(|line| line == delimiter) {
        return None;
    }
    Some(body.trim_end_matches('\n').to_string())
}

/// The whole source line a node sits on (bash needs the end line to be the delimiter alone).
fn line_of<'s>(source: &'s str, node: Node<'_>) -> &'s str {
    let start = source[..node.start_byte()].rfind('\n').map_or(0, |i| i + 1);
    let end = source[node.end_byte()..]
        .find('\n')
        .map_or(source.len(), |i| node.end_byte() + i);
    &source[start..end]
}

#[cfg(test)]
#[path = "invocation_tests.rs"]
mod tests;
