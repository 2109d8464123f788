//! Test modules of the one test binary of this crate.

mod fixtures;
mod properties;
mod support;
