//! End-to-end tests of the built `codex` binary.

mod suite;
