//! The one startup warning about how well this host can enforce the policy, built from host
//! facts the executor gathers. Core shows it through its normal event path; the helper never
//! prints it. Nothing is said when nothing is wrong, or when the policy needs no sandbox.

use super::LinuxRoute;
use super::landlock::PER_ENTRY_LIMIT;

/// What the executor found out about the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// `Err(reason)` when no usable bubblewrap exists (missing, too old).
    pub bubblewrap: Result<(), String>,
    /// Whether a user + mount namespace can be created.
    pub user_namespaces: bool,
    /// The kernel's Landlock ABI (0: none).
    pub landlock_abi: u8,
}

/// Lowest Landlock ABI the Landlock route runs with.
pub const MIN_LANDLOCK_ABI: u8 = 3;

/// The warning for `route` on a host with `facts`, if any.
pub fn startup_warning(route: LinuxRoute, facts: &HostFacts) -> Option<String> {
    if route == LinuxRoute::Unsandboxed {
        return None;
    }
    let mut parts = Vec::new();
    if let Err(reason) = &facts.bubblewrap {
        parts.push(format!(
            "{reason}. Until then, policies with carve-outs (a read-only or denied path under a writable one) run under Codex's built-in namespace sandbox, which enforces the same plan."
        ));
    }
    if !facts.user_namespaces {
        parts.push(format!(
            "User namespaces are blocked on this host (Ubuntu 24.04's AppArmor restriction, a container's seccomp profile, or kernel.unprivileged_userns_clone=0), so policies with carve-outs cannot run at all and the others run with limits: {PER_ENTRY_LIMIT}. To lift them, allow user namespaces (on Ubuntu: an AppArmor profile for bwrap, or sysctl kernel.apparmor_restrict_unprivileged_userns=0)."
        ));
    }
    if facts.landlock_abi < MIN_LANDLOCK_ABI {
        parts.push(format!(
            "Landlock ABI {} is too old (need {MIN_LANDLOCK_ABI}, Linux 6.2+), so every sandboxed command runs in a namespace view (bubblewrap or the built-in executor) without Landlock as a second layer.",
            facts.landlock_abi
        ));
    }
    (!parts.is_empty()).then(|| format!("Codex's Linux sandbox: {}", parts.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(bubblewrap: bool, user_namespaces: bool, landlock_abi: u8) -> HostFacts {
        HostFacts {
            bubblewrap: if bubblewrap {
                Ok(())
            } else {
                Err("bubblewrap was not found; install it (apt install bubblewrap)".into())
            },
            user_namespaces,
            landlock_abi,
        }
    }

    #[test]
    fn a_healthy_host_or_an_unsandboxed_policy_gets_no_warning() {
        assert_eq!(
            startup_warning(LinuxRoute::Landlock, &facts(true, true, 7)),
            None
        );
        assert_eq!(
            startup_warning(LinuxRoute::Unsandboxed, &facts(false, false, 0)),
            None
        );
    }

    #[test]
    fn each_problem_is_named_with_its_fix() {
        let missing = startup_warning(LinuxRoute::Landlock, &facts(false, true, 7)).unwrap();
        assert!(missing.contains("apt install bubblewrap"), "{missing}");
        let userns = startup_warning(LinuxRoute::Bubblewrap, &facts(true, false, 7)).unwrap();
        assert!(userns.contains("User namespaces are blocked"), "{userns}");
        assert!(
            userns.contains("apparmor_restrict_unprivileged_userns"),
            "{userns}"
        );
        let old = startup_warning(LinuxRoute::Landlock, &facts(true, true, 1)).unwrap();
        assert!(old.contains("Landlock ABI 1 is too old"), "{old}");
    }
}
