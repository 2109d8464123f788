//! codex-core against local servers on 127.0.0.1.

mod suite;
