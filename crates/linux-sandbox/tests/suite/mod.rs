//! Test modules of the one test binary of this crate.

mod conformance;
mod denied_binary;
// The i386 and x32 system-call ABIs exist on x86_64 only.
#[cfg(target_arch = "x86_64")]
mod foreign_abis;
mod inner_stage;
mod kernel_properties;
mod mount_points;
mod no_landlock;
mod refusals;
mod signals;
