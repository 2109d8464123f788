//! The sandbox policy model and the plans that enforce it.
//!
//! - [`resolve`]: a policy + cwd + host facts → [`ResolvedPolicy`], a flat rule list with
//!   canonical paths and the protected names (`.git`, its `gitdir:` target, `.codex`,
//!   `.agents`) under every writable root.
//! - [`decision`]: [`ResolvedPolicy::decide`] answers "read, write or nothing?" for any path;
//!   [`ResolvedPolicy::legacy_equivalent`] says whether the legacy (Landlock) route can enforce
//!   it exactly.
//! - [`linux`], [`seatbelt`], [`windows`]: the plans for each OS, pure data tested on any OS.
//! - [`config`]: `sandbox_mode`, `[sandbox_workspace_write]` and `[permissions.NAME]` profiles
//!   from `config.toml`.
//! - [`explain`]: per-path decisions plus route and plan, for `codex sandbox explain`.
//!
//! Nothing here changes the system; the only reads go through [`probe::FsProbe`].

pub mod config;
pub mod decision;
pub mod denial;
pub mod explain;
pub mod glob;
pub mod linux;
pub mod probe;
pub mod resolve;
pub mod seatbelt;
#[cfg(test)]
mod test_support;
pub mod windows;

pub use decision::Decision;
pub use probe::{FakeFs, FsProbe, HostFs, MemoFs, PathKind};
pub use resolve::{
    GitMode, HostEnv, Origin, ResolveError, ResolveOptions, ResolvedFs, ResolvedPolicy, Rule,
    resolve, resolve_legacy, split_from_legacy,
};
