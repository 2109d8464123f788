//! Test modules of the one test binary of this crate.

mod golden;
mod landlock_model;
mod mount_model;
mod properties;
mod seatbelt_eval;
