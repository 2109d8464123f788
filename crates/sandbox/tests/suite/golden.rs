//! Golden Seatbelt profiles: one file per scenario and extension combination under
//! `tests/golden/seatbelt/`, reviewed by hand. `BLESS=1` rewrites them from the current output.

use codex_protocol::{
    FileSystemAccess, FileSystemPath, FileSystemSandboxEntry, FileSystemSandboxPolicy,
    MacOsAutomation, MacOsContacts, MacOsExtensions, MacOsPreferences, MissingPathBehavior,
    NetworkSandboxPolicy, SandboxPolicy,
};
use codex_sandbox::seatbelt::seatbelt_plan;
use codex_sandbox::{FakeFs, HostEnv, ResolveOptions, ResolvedPolicy, resolve, resolve_legacy};
use std::path::{Path, PathBuf};

fn fs() -> FakeFs {
    FakeFs::new()
        .dir("/Users/me/ws/.git")
        .dir("/Users/me/ws/secrets/public")
        .dir("/private/tmp")
}

fn legacy(policy: SandboxPolicy) -> ResolvedPolicy {
    let env = HostEnv {
        tmpdir: None,
        home: Some(PathBuf::from("/Users/me")),
    };
    resolve_legacy(
        &policy,
        Path::new("/Users/me/ws"),
        &env,
        &fs(),
        &ResolveOptions::default(),
    )
    .unwrap()
}

fn split() -> ResolvedPolicy {
    let entry = |p: &str, access| FileSystemSandboxEntry {
        path: FileSystemPath::Path {
            path: PathBuf::from(p),
        },
        access,
        missing_path_behavior: MissingPathBehavior::Enforce,
    };
    resolve(
        &FileSystemSandboxPolicy::Restricted {
            entries: vec![
                entry("/", FileSystemAccess::Read),
                entry("/Users/me/ws", FileSystemAccess::Write),
                entry("/Users/me/ws/secrets", FileSystemAccess::None),
                entry("/Users/me/ws/secrets/public", FileSystemAccess::Read),
            ],
        },
        NetworkSandboxPolicy::Restricted,
        Path::new("/Users/me/ws"),
        &HostEnv::default(),
        &fs(),
        &ResolveOptions::default(),
    )
    .unwrap()
}

fn check(
    name: &str,
    policy: &ResolvedPolicy,
    extensions: Option<&MacOsExtensions>,
) -> Option<String> {
    let plan = seatbelt_plan(policy, extensions, Some(Path::new("/Users/me")));
    let mut text = String::new();
    for (key, value) in &plan.params {
        text.push_str(&format!("; -D{key}={value}\n"));
    }
    text.push_str(&plan.profile);
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/seatbelt")
        .join(format!("{name}.sb"));
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&file, &text).unwrap();
        return None;
    }
    match std::fs::read_to_string(&file) {
        Ok(expected) if expected == text => None,
        Ok(_) => Some(format!(
            "{name}: profile differs from {} (review, then BLESS=1)",
            file.display()
        )),
        Err(_) => Some(format!(
            "{name}: {} is missing (BLESS=1 writes it)",
            file.display()
        )),
    }
}

#[test]
fn seatbelt_profiles_match_their_golden_files() {
    let ext = |f: fn(&mut MacOsExtensions)| {
        let mut e = MacOsExtensions::default();
        f(&mut e);
        e
    };
    let ww = legacy(SandboxPolicy::workspace_write());
    let mut ww_net_policy = SandboxPolicy::workspace_write();
    if let SandboxPolicy::WorkspaceWrite { network_access, .. } = &mut ww_net_policy {
        *network_access = true;
    }
    let cases: Vec<(&str, ResolvedPolicy, Option<MacOsExtensions>)> = vec![
        ("read_only_legacy", legacy(SandboxPolicy::read_only()), None),
        ("workspace_write_legacy", ww.clone(), None),
        ("workspace_write_network", legacy(ww_net_policy), None),
        ("split_carve_outs", split(), None),
        (
            "danger_full_access",
            legacy(SandboxPolicy::DangerFullAccess),
            None,
        ),
        (
            "profile_without_grants",
            ww.clone(),
            Some(MacOsExtensions::default()),
        ),
        (
            "preferences_readonly",
            ww.clone(),
            Some(ext(|e| e.macos_preferences = MacOsPreferences::Readonly)),
        ),
        (
            "preferences_readwrite",
            ww.clone(),
            Some(ext(|e| e.macos_preferences = MacOsPreferences::Readwrite)),
        ),
        (
            "automation_all",
            ww.clone(),
            Some(ext(|e| e.macos_automation = MacOsAutomation::All(true))),
        ),
        (
            "automation_bundle_ids",
            ww.clone(),
            Some(ext(|e| {
                e.macos_automation = MacOsAutomation::BundleIds(vec![
                    "com.apple.Notes".into(),
                    " com.apple.Notes ".into(),
                    "com.apple.Reminders".into(),
                    "bad\"id".into(),
                ])
            })),
        ),
        (
            "launch_services",
            ww.clone(),
            Some(ext(|e| e.macos_launch_services = true)),
        ),
        (
            "accessibility",
            ww.clone(),
            Some(ext(|e| e.macos_accessibility = true)),
        ),
        (
            "calendar",
            ww.clone(),
            Some(ext(|e| e.macos_calendar = true)),
        ),
        (
            "contacts_read_only",
            ww.clone(),
            Some(ext(|e| e.macos_contacts = MacOsContacts::ReadOnly)),
        ),
        (
            "contacts_read_write",
            ww.clone(),
            Some(ext(|e| e.macos_contacts = MacOsContacts::ReadWrite)),
        ),
        (
            "all_extensions",
            ww,
            Some(ext(|e| {
                e.macos_preferences = MacOsPreferences::Readwrite;
                e.macos_automation = MacOsAutomation::All(true);
                e.macos_launch_services = true;
                e.macos_accessibility = true;
                e.macos_calendar = true;
                e.macos_contacts = MacOsContacts::ReadWrite;
            })),
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, policy, ext)| check(name, policy, ext.as_ref()))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
