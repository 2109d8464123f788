//! The macOS plan: a Seatbelt profile for `/usr/bin/sandbox-exec -p PROFILE -DKEY=VAL -- CMD`.
//!
//! The profile denies by default and allows what a shell needs (processes, sysctl reads, ptys),
//! then file reads and writes per rule, the network when enabled, and the grants of a
//! permission profile's macOS extensions. Paths never appear in the profile text: each is a
//! named parameter (`(param "WRITABLE_ROOT_0")`), passed with `-D`.
//!
//! Reads: one clause per readable rule, `(subpath R)` minus every denied path below it.
//! Writes: one clause per writable rule, `(subpath W)` minus every read-only or denied path
//! below it, each excluded as `literal` and `subpath` so it cannot be created either. A path
//! re-granted below an exclusion has its own clause. Seatbelt allows when any clause matches,
//! which is exactly the decision model's "most specific rule wins" for these shapes.

use crate::resolve::{ResolvedFs, ResolvedPolicy, Rule};
use codex_protocol::{
    FileSystemAccess, MacOsAutomation, MacOsContacts, MacOsExtensions, MacOsPreferences,
    NetworkSandboxPolicy,
};
use std::fmt::Write as _;
use std::path::Path;

/// Where the profile is run.
pub const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

/// A profile and the parameters it refers to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeatbeltPlan {
    pub profile: String,
    /// `(name, value)`, passed as `-Dname=value`.
    pub params: Vec<(String, String)>,
}

impl SeatbeltPlan {
    /// `sandbox-exec -p PROFILE -DK=V… -- COMMAND…`.
    pub fn argv(&self, command: &[String]) -> Vec<String> {
        let mut argv = vec![
            SANDBOX_EXEC.to_string(),
            "-p".to_string(),
            self.profile.clone(),
        ];
        argv.extend(self.params.iter().map(|(k, v)| format!("-D{k}={v}")));
        argv.push("--".to_string());
        argv.extend(command.iter().cloned());
        argv
    }
}

const BASE: &str = r#"(version 1)
(deny default)

; processes: run and signal programs inside this sandbox only
(allow process-exec)
(allow process-fork)
(allow signal (target same-sandbox))
(allow process-info* (target same-sandbox))

; terminals and the null device
(allow pseudo-tty)
(allow file-read* file-write* file-ioctl (literal "/dev/ptmx"))
(allow file-read* file-write* file-ioctl (regex #"^/dev/ttys[0-9]+$"))
(allow file-write-data (require-all (literal "/dev/null") (vnode-type CHARACTER-DEVICE)))

; system information that shells, compilers and runtimes query
(allow sysctl-read
  (sysctl-name-prefix "hw.")
  (sysctl-name-prefix "kern.")
  (sysctl-name-prefix "machdep.cpu.")
  (sysctl-name-prefix "sysctl.proc_")
  (sysctl-name "vm.loadavg")
  (sysctl-name "vm.footprint_suspend"))
(allow mach-lookup (global-name "com.apple.system.opendirectoryd.libinfo"))
(allow ipc-posix-sem)
"#;

const PREFERENCES_READ: &str = r#"(allow ipc-posix-shm-read* (ipc-posix-name-prefix "apple.cfprefs."))
(allow mach-lookup
  (global-name "com.apple.cfprefsd.daemon")
  (global-name "com.apple.cfprefsd.agent")
  (local-name "com.apple.cfprefsd.agent"))
(allow user-preference-read)
"#;

const PREFERENCES_WRITE: &str = r#"(allow user-preference-write)
(allow ipc-posix-shm-write-data (ipc-posix-name-prefix "apple.cfprefs."))
(allow ipc-posix-shm-write-create (ipc-posix-name-prefix "apple.cfprefs."))
"#;

const NETWORK: &str = r#"(allow network-outbound)
(allow network-inbound)
(allow system-socket)
(allow mach-lookup
  (global-name "com.apple.SystemConfiguration.configd")
  (global-name "com.apple.SystemConfiguration.DNSConfiguration")
  (global-name "com.apple.networkd")
  (global-name "com.apple.trustd.agent")
  (global-name "com.apple.ocspd"))
(allow sysctl-read (sysctl-name-prefix "net.routetable"))
"#;

/// Builds the profile. `extensions` is the permission profile's macOS block; `None` means no
/// permission profile, which keeps the legacy read access to preferences.
/// `home` locates the Address Book for the contacts grant.
pub fn seatbelt_plan(
    policy: &ResolvedPolicy,
    extensions: Option<&MacOsExtensions>,
    home: Option<&Path>,
) -> SeatbeltPlan {
    let mut profile = String::from(BASE);
    let mut params = Vec::new();
    profile.push_str("\n; file reads\n");
    profile.push_str(&file_clauses(policy, Direction::Read, &mut params));
    profile.push_str("\n; file writes\n");
    profile.push_str(&file_clauses(policy, Direction::Write, &mut params));
    if policy.network == NetworkSandboxPolicy::Enabled {
        profile.push_str("\n; network\n");
        profile.push_str(NETWORK);
    }
    match extensions {
        None => {
            profile.push_str("\n; preferences (no permission profile: read access, as before)\n");
            profile.push_str(PREFERENCES_READ);
        }
        Some(extensions) => {
            let text = extension_clauses(extensions, home, &mut params);
            if !text.is_empty() {
                profile.push_str("\n; macOS permission profile extensions\n");
                profile.push_str(&text);
            }
        }
    }
    SeatbeltPlan { profile, params }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Read,
    Write,
}

fn file_clauses(
    policy: &ResolvedPolicy,
    direction: Direction,
    params: &mut Vec<(String, String)>,
) -> String {
    let rules = match &policy.fs {
        ResolvedFs::Unrestricted => {
            return match direction {
                Direction::Read => "(allow file-read*)\n".into(),
                Direction::Write => "(allow file-write* (regex #\"^/\"))\n".into(),
            };
        }
        ResolvedFs::Restricted(rules) => rules,
    };
    let (operation, prefix) = match direction {
        Direction::Read => ("file-read*", "READABLE_ROOT"),
        Direction::Write => ("file-write*", "WRITABLE_ROOT"),
    };
    let granted = |r: &Rule| match direction {
        Direction::Read => r.access != FileSystemAccess::None,
        Direction::Write => r.access == FileSystemAccess::Write,
    };
    let full_read = direction == Direction::Read
        && rules.iter().all(|r| r.access != FileSystemAccess::None)
        && rules.iter().any(|r| r.path == Path::new("/"));
    if full_read {
        return "(allow file-read*)\n".into();
    }
    let mut text = String::new();
    for (index, rule) in rules.iter().filter(|r| granted(r)).enumerate() {
        let name = format!("{prefix}_{index}");
        params.push((name.clone(), path_param(&rule.path)));
        let excluded: Vec<&Rule> = rules
            .iter()
            .filter(|x| x.path.starts_with(&rule.path) && x.path != rule.path && !granted(x))
            .collect();
        if excluded.is_empty() {
            let _ = writeln!(text, "(allow {operation} (subpath (param \"{name}\")))");
            continue;
        }
        let _ = writeln!(
            text,
            "(allow {operation} (require-all (subpath (param \"{name}\"))"
        );
        for (j, x) in excluded.iter().enumerate() {
            let excluded_name = format!("{name}_EXCLUDED_{j}");
            params.push((excluded_name.clone(), path_param(&x.path)));
            let _ = writeln!(
                text,
                "  (require-not (literal (param \"{excluded_name}\")))"
            );
            let _ = writeln!(
                text,
                "  (require-not (subpath (param \"{excluded_name}\")))"
            );
        }
        text.push_str("))\n");
    }
    text
}

fn path_param(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The clauses for a permission profile's macOS extensions, in a fixed order.
fn extension_clauses(
    ext: &MacOsExtensions,
    home: Option<&Path>,
    params: &mut Vec<(String, String)>,
) -> String {
    let mut text = String::new();
    match ext.macos_preferences {
        MacOsPreferences::None => {}
        MacOsPreferences::Readonly => text.push_str(PREFERENCES_READ),
        MacOsPreferences::Readwrite => {
            text.push_str(PREFERENCES_READ);
            text.push_str(PREFERENCES_WRITE);
        }
    }
    let apple_events = "(allow mach-lookup (global-name \"com.apple.coreservices.appleevents\"))\n";
    match &ext.macos_automation {
        MacOsAutomation::All(true) => {
            text.push_str(apple_events);
            text.push_str("(allow appleevent-send)\n");
        }
        MacOsAutomation::BundleIds(ids) => {
            let ids = valid_bundle_ids(ids);
            if !ids.is_empty() {
                text.push_str(apple_events);
                text.push_str("(allow appleevent-send");
                for id in ids {
                    let _ = write!(text, "\n  (appleevent-destination \"{id}\")");
                }
                text.push_str(")\n");
            }
        }
        MacOsAutomation::All(false) => {}
    }
    if ext.macos_launch_services {
        text.push_str(
            "(allow mach-lookup\n  (global-name \"com.apple.coreservices.launchservicesd\")\n  (global-name \"com.apple.lsd.mapdb\")\n  (global-name \"com.apple.lsd.modifydb\")\n  (global-name \"com.apple.coreservices.quarantine-resolver\"))\n(allow lsopen)\n",
        );
    }
    if ext.macos_accessibility {
        text.push_str("(allow mach-lookup (local-name \"com.apple.axserver\"))\n");
    }
    if ext.macos_calendar {
        text.push_str("(allow mach-lookup (global-name \"com.apple.CalendarAgent\"))\n");
    }
    if ext.macos_contacts != MacOsContacts::None {
        let operations = match ext.macos_contacts {
            MacOsContacts::ReadWrite => "file-read* file-write*",
            _ => "file-read* file-test-existence",
        };
        let _ = write!(
            text,
            "(allow {operations}\n  (subpath \"/System/Library/Address Book Plug-Ins\")"
        );
        // Seatbelt does not expand `~`: the Address Book is named only when HOME is known.
        if let Some(home) = home {
            let book = home.join("Library/Application Support/AddressBook");
            params.push(("ADDRESSBOOK_DIR".into(), path_param(&book)));
            text.push_str("\n  (subpath (param \"ADDRESSBOOK_DIR\"))");
        }
        text.push_str(")\n");
        text.push_str(
            "(allow mach-lookup\n  (global-name \"com.apple.tccd\")\n  (global-name \"com.apple.tccd.system\")\n  (global-name \"com.apple.contactsd.persistence\")\n  (global-name \"com.apple.AddressBook.ContactsAccountsService\")\n  (global-name \"com.apple.contacts.account-caching\")\n  (global-name \"com.apple.accountsd.accountmanager\"))\n",
        );
        if ext.macos_contacts == MacOsContacts::ReadWrite {
            text.push_str(
                "(allow file-read* file-write* (subpath \"/private/var/folders\"))\n(allow mach-lookup (global-name \"com.apple.securityd.xpc\"))\n",
            );
        }
    }
    text
}

/// Bundle ids that are safe to put in the profile: trimmed, deduplicated, at least three
/// characters with a dot, only `A-Za-z0-9._-`.
pub fn valid_bundle_ids(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids.iter().map(|i| i.trim()) {
        let valid = id.len() >= 3
            && id.contains('.')
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if valid && !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

/// Whether `id` would be accepted by [`valid_bundle_ids`].
pub fn is_valid_bundle_id(id: &str) -> bool {
    !valid_bundle_ids(&[id.to_string()]).is_empty()
}
