//! Linux plans: which route enforces a policy, and what each route applies.
//!
//! - [`LinuxRoute::Landlock`] when the policy means exactly what a legacy policy means
//!   ([`ResolvedPolicy::legacy_equivalent`]): Landlock rules plus read-only mounts of the
//!   protected names ([`landlock_plan`]).
//! - [`LinuxRoute::Bubblewrap`] for everything else that restricts the filesystem or the
//!   network ([`bwrap_plan`]).
//! - [`LinuxRoute::Unsandboxed`] for `danger-full-access` and `external-sandbox`.
//!
//! Every route adds the seccomp plan ([`seccomp_plan`]).

mod bwrap;
mod landlock;
mod seccomp;
mod warning;

pub use bwrap::{BwrapFacts, BwrapPlan, FIRST_DATA_FD, bwrap_plan, bwrap_plan_with};
pub use landlock::{
    LandlockAccess, LandlockPlan, LandlockRule, PER_ENTRY_LIMIT, ReadOnlyMount, landlock_plan,
    landlock_plan_per_entry,
};
pub use seccomp::{SeccompPlan, SocketRule, seccomp_plan};
pub use warning::{HostFacts, MIN_LANDLOCK_ABI, startup_warning};

use crate::probe::FsProbe;
use crate::resolve::{HostEnv, ResolvedFs, ResolvedPolicy};
use codex_protocol::NetworkSandboxPolicy;

/// How a policy is enforced on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinuxRoute {
    /// Nothing to enforce (`danger-full-access`) or someone else does (`external-sandbox`).
    Unsandboxed,
    /// Landlock + seccomp, read-only mounts for protected names.
    Landlock,
    /// A bubblewrap filesystem view + seccomp.
    Bubblewrap,
}

/// Chooses the route for `policy`.
pub fn choose_route(policy: &ResolvedPolicy, env: &HostEnv, fs: &dyn FsProbe) -> LinuxRoute {
    let unrestricted = matches!(policy.fs, ResolvedFs::Unrestricted);
    if policy.external || (unrestricted && policy.network == NetworkSandboxPolicy::Enabled) {
        LinuxRoute::Unsandboxed
    } else if !unrestricted && policy.legacy_equivalent(env, fs).is_some() {
        LinuxRoute::Landlock
    } else {
        LinuxRoute::Bubblewrap
    }
}
