//! Applies a Landlock rule list to the calling thread (inherited by everything it executes).
//! Fails closed: the ABI must mediate truncation (3+), or the policy's read-only files could be
//! emptied, and the kernel must report the ruleset as enforced.

use codex_sandbox::linux::{LandlockAccess, LandlockRule};
use landlock::{
    ABI, Access, AccessFs, CompatLevel, Compatible, PathBeneath, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus,
};

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
pub fn apply(rules: &[LandlockRule], abi: u8) -> Result<(), LandlockError> {
    if abi < MIN_ABI {
        return Err(LandlockError::AbiTooOld { found: abi });
    }
    let abi = abi_enum(abi);
    let all = AccessFs::from_all(abi);
    let err = |e: landlock::RulesetError| LandlockError::Ruleset(e.to_string());
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(all)
        .map_err(err)?
        .create()
        .map_err(err)?;
    for rule in rules {
        // Whether it is a directory is told by what was opened: the rule is on that.
        let Ok((fd, is_dir)) = crate::sys::open_rule_path(&rule.path) else {
            // A path that vanished since planning grants nothing.
            continue;
        };
        let mut access = match rule.access {
            LandlockAccess::ReadOnly => AccessFs::from_read(abi),
            LandlockAccess::ReadWrite => all,
        };
        if !is_dir {
            // Directory-only rights (make, remove, read dir, refer) cannot go on a file rule.
            access &= AccessFs::from_file(abi);
        }
        ruleset = ruleset
            .set_compatibility(CompatLevel::BestEffort)
            .add_rule(PathBeneath::new(fd, access))
            .map_err(err)?;
    }
    let status = ruleset.restrict_self().map_err(err)?;
    match status.ruleset {
        RulesetStatus::FullyEnforced => Ok(()),
        RulesetStatus::PartiallyEnforced | RulesetStatus::NotEnforced => {
            Err(LandlockError::NotEnforced)
        }
    }
}
