//! Test modules of the one test binary of this crate.

mod conformance;
mod inner_stage;
mod kernel_properties;
mod mount_points;
mod refusals;
