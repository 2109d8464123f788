//! Applies a Landlock rule list to the calling thread (inherited by everything it executes).
//! Fails closed: the ABI must mediate truncation (3+), or the policy's read-only files could be
//! emptied, every right the ruleset handles must be one the kernel handles (so an enforced
//! ruleset is enforced in full), and every rule whose path can be opened must be accepted (a
//! path gone since planning grants nothing).

use codex_sandbox::linux::{LandlockAccess, LandlockRule};
use landlock::{ABI, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr};
use std::os::fd::AsFd;

/// The lowest ABI that mediates everything a read-only path needs (TRUNCATE came in 3).
pub const MIN_ABI: u8 = 3;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LandlockError {
    #[error(
        "Landlock ABI {found} is too old (need {MIN_ABI}+, Linux 6.2 or newer) to keep read-only files from being truncated; use a newer kernel or a policy that runs under bubblewrap"
    )]
    AbiTooOld { found: u8 },
    #[error("Landlock could not be set up: {0}")]
    Ruleset(String),
    #[error("the kernel did not enforce the Landlock ruleset; refusing to run unsandboxed")]
    NotEnforced,
}

fn abi_enum(abi: u8) -> ABI {
    match abi {
        0..=1 => ABI::V1,
        2 => ABI::V2,
        3 => ABI::V3,
        4 => ABI::V4,
        // Later ABIs add no filesystem right (6 adds scopes for abstract Unix sockets and
        // signals; with the network off the seccomp filter already refuses connect()).
        _ => ABI::V5,
    }
}

/// The access masks of `abi` (at least [`MIN_ABI`]) for the inner stage's `--landlock`: the
/// rights a ruleset handles, those of a read-only path, and those a rule on a file may carry.
pub fn masks(abi: u8) -> [u64; 3] {
    let abi = abi_enum(abi);
    [
        AccessFs::from_all(abi).bits(),
        AccessFs::from_read(abi).bits(),
        AccessFs::from_file(abi).bits(),
    ]
}

/// Restricts the calling thread to `rules`. `abi` is the kernel's (see `sys::landlock_abi`).
/// No-new-privileges must be set already. The crate makes the ruleset, refusing any right this
/// kernel cannot handle; the rules are added and the ruleset enforced by the system calls
/// themselves, since the crate asks the kernel (`fstat`) whether each path is a directory, a
/// call per rule that a per-entry plan of hundreds of rules feels (see `sys::RulePaths`).
pub fn apply(rules: &[LandlockRule], abi: u8) -> Result<(), LandlockError> {
    if abi < MIN_ABI {
        return Err(LandlockError::AbiTooOld { found: abi });
    }
    let abi = abi_enum(abi);
    let all = AccessFs::from_all(abi);
    let err = |e: landlock::RulesetError| LandlockError::Ruleset(e.to_string());
    let ruleset: Option<std::os::fd::OwnedFd> = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(all)
        .map_err(err)?
        .create()
        .map_err(err)?
        .into();
    // No descriptor: the kernel has no Landlock (a hard requirement makes that an error first).
    let ruleset = ruleset.ok_or(LandlockError::NotEnforced)?;
    let file = AccessFs::from_file(abi).bits();
    let mut paths = crate::sys::RulePaths::default();
    for (i, rule) in rules.iter().enumerate() {
        let next = rules.get(i + 1).map(|r| r.path.as_path());
        let Ok(fd) = paths.open(&rule.path, next) else {
            // A path that vanished since planning grants nothing.
            continue;
        };
        let access = match rule.access {
            LandlockAccess::ReadOnly => AccessFs::from_read(abi),
            LandlockAccess::ReadWrite => all,
            LandlockAccess::ReadWriteFile => AccessFs::from_file(abi),
        };
        crate::sys::landlock_add_path_rule(
            ruleset.as_fd(),
            fd.as_fd(),
            [access.bits(), all.bits(), file],
        )
        .map_err(|e| LandlockError::Ruleset(format!("a rule for {}: {e}", rule.path.display())))?;
    }
    crate::sys::landlock_restrict_self(ruleset.as_fd())
        .map_err(|e| LandlockError::Ruleset(format!("enforcing the ruleset: {e}")))
}
