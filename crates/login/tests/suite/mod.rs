//! Test modules of the one test binary of this crate.

mod manager;
mod processes;
