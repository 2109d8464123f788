//! Shared data types of the Codex agent: what front ends, the core and the leaf engines exchange.
//!
//! Plain serde data with no I/O and no async, so every crate can depend on it. Wire spellings
//! follow the protocol Codex clients already speak (`snake_case` tags, `type` discriminators).

pub mod app_server;
mod file_change;
mod sandbox;

pub use file_change::FileChange;
pub use sandbox::{
    FileSystemAccess, FileSystemPath, FileSystemSandboxEntry, FileSystemSandboxPolicy,
    KnownSpecialPath, MacOsAutomation, MacOsContacts, MacOsExtensions, MacOsPreferences,
    MissingPathBehavior, NetworkSandboxPolicy, ReadOnlyAccess, SandboxPolicy, SpecialPath,
    UnknownSpecialPath,
};
