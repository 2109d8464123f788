//! codex-core: the agent's business logic. This first part is configuration; the model
//! client, turn loop, tools and persistence come with issue 6.

pub mod config;
pub mod provider;

pub use config::{CliOverrides, Config, ConfigError};
pub use provider::{ModelProviderInfo, WireApi};
