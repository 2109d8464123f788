//! codex-core: the agent's business logic. So far: configuration and the model client; the
//! turn loop, tools and persistence come with issue 6.

pub mod chat;
pub mod client;
pub mod config;
pub mod exec;
pub mod image;
pub mod project_doc;
pub mod provider;
pub mod rollout;
pub mod shell_env;
pub mod sse;
#[cfg(unix)]
mod sys;

/// How long a stopped command gets between SIGTERM and SIGKILL; a front end that exits right
/// after interrupting a turn waits this long first, so the SIGKILL is sent.
#[cfg(unix)]
pub const KILL_GRACE: std::time::Duration = sys::GRACE;

/// Whether stdin holds input that can be read without waiting (see `sys::stdin_ready`).
#[cfg(unix)]
pub fn stdin_ready() -> bool {
    sys::stdin_ready()
}
pub mod turn;
pub mod unified_exec;

pub use config::{CliOverrides, Config, ConfigError};
pub use provider::{ModelProviderInfo, WireApi};
