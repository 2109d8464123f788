//! Credentials for the Codex agent.
//!
//! - [`storage`]: `$CODEX_HOME/auth.json` in the Codex format, atomic 0600 writes, unknown fields
//!   kept, corrupt files reported and never overwritten.
//! - [`jwt`]: identity facts from the id_token; when an access token is stale.
//! - [`refresh`]: the refresh request and the permanent/transient classification.
//! - [`manager`]: [`AuthManager`] — snapshots, refresh with poisoning, single flight in a
//!   process and an advisory lock across processes.

pub mod jwt;
pub mod manager;
pub mod refresh;
pub mod signin;
pub mod storage;
pub mod store;

pub use manager::{AuthError, AuthManager, AuthStatus, RefreshWhen, Snapshot};
pub use storage::{AuthDotJson, AuthMode, TokenData};
pub use store::{Store, StoreKind};

/// Environment variable naming the Codex home directory.
pub const CODEX_HOME_ENV: &str = "CODEX_HOME";

/// `$CODEX_HOME`, or `~/.codex`.
pub fn codex_home() -> Option<std::path::PathBuf> {
    std::env::var_os(CODEX_HOME_ENV)
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".codex")))
}
