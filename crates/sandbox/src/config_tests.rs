use super::*;

fn parse(text: &str) -> SandboxConfig {
    SandboxConfig::parse(text, Path::new("/home/me/.codex/config.toml")).unwrap()
}

fn select(text: &str) -> Result<SandboxSelection, ConfigError> {
    parse(text).select(&Overrides::default())
}

/// A config as people write it today: model settings, MCP servers, legacy sandbox keys.
const REAL_WORLD_LEGACY: &str = r#"
model = "gpt-5-codex"
model_reasoning_effort = "high"
approval_policy = "on-request"
sandbox_mode = "workspace-write"

[sandbox_workspace_write]
writable_roots = ["/home/me/.cache/pip", "~/scratch"]
network_access = true
exclude_slash_tmp = true

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-server"]

[tui]
notifications = true
"#;

#[test]
fn real_world_legacy_config() {
    assert_eq!(
        select(REAL_WORLD_LEGACY).unwrap(),
        SandboxSelection::Legacy {
            policy: SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![
                    PathBuf::from("/home/me/.cache/pip"),
                    PathBuf::from("~/scratch")
                ],
                network_access: true,
                exclude_tmpdir_env_var: false,
                exclude_slash_tmp: true,
                read_only_access: Default::default(),
            },
            git: GitMode::ReadOnly,
        }
    );
}

const REAL_WORLD_PROFILES: &str = r#"
model = "gpt-5"
default_permissions = "dev"

[permissions.dev]
extends = ":workspace"
macos_preferences = "readonly"
macos_automation = ["com.apple.Notes"]
git = "commit"

[permissions.dev.filesystem]
glob_scan_max_depth = 3
":root" = "read"
":workspace_roots" = { "." = "write", "secrets" = "deny", "secrets/public" = "read", "**/*.env" = "deny" }
"/opt/data" = "read"
":future_root" = "read"

[permissions.dev.network]
enabled = true

[permissions.locked]
extends = "dev"
[permissions.locked.filesystem]
":workspace_roots" = { "." = "read" }
[permissions.locked.network]
enabled = false
"#;

fn cwd_sub(sub: Option<&str>) -> FileSystemPath {
    FileSystemPath::Special {
        value: SpecialPath::Known(KnownSpecialPath::CurrentWorkingDirectory {
            subpath: sub.map(PathBuf::from),
        }),
    }
}

#[test]
fn real_world_profile_config() {
    let SandboxSelection::Profile {
        name,
        filesystem,
        network,
        macos,
        glob_scan_max_depth,
        git,
    } = select(REAL_WORLD_PROFILES).unwrap()
    else {
        panic!("expected a profile")
    };
    assert_eq!(name, "dev");
    assert_eq!(network, NetworkSandboxPolicy::Enabled);
    assert_eq!(glob_scan_max_depth, Some(3));
    assert_eq!(git, GitMode::Commit);
    assert_eq!(
        macos.macos_preferences,
        codex_protocol::MacOsPreferences::Readonly
    );
    assert_eq!(
        macos.macos_automation,
        codex_protocol::MacOsAutomation::BundleIds(vec!["com.apple.Notes".into()])
    );
    let FileSystemSandboxPolicy::Restricted { entries } = filesystem else {
        panic!()
    };
    let pairs: Vec<(FileSystemPath, FileSystemAccess)> =
        entries.into_iter().map(|e| (e.path, e.access)).collect();
    assert!(pairs.contains(&(cwd_sub(None), FileSystemAccess::Write)));
    assert!(pairs.contains(&(cwd_sub(Some("secrets")), FileSystemAccess::None)));
    assert!(pairs.contains(&(cwd_sub(Some("secrets/public")), FileSystemAccess::Read)));
    assert!(pairs.contains(&(cwd_sub(Some("**/*.env")), FileSystemAccess::None)));
    assert!(pairs.contains(&(
        FileSystemPath::Path {
            path: PathBuf::from("/opt/data")
        },
        FileSystemAccess::Read
    )));
    assert!(pairs.iter().any(|(p, _)| matches!(p, FileSystemPath::Special { value: SpecialPath::Unknown(u) } if u.kind == "future_root")));
    assert!(
        pairs.iter().any(|(p, a)| *a == FileSystemAccess::Write
            && matches!(
                p,
                FileSystemPath::Special {
                    value: SpecialPath::Known(KnownSpecialPath::SlashTmp)
                }
            )),
        "inherited from :workspace"
    );
}

#[test]
fn a_child_profile_replaces_its_parents_entries() {
    let config = parse(REAL_WORLD_PROFILES);
    let SandboxSelection::Profile {
        filesystem,
        network,
        ..
    } = config
        .select(&Overrides {
            sandbox_mode: None,
            profile: Some("locked".into()),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(network, NetworkSandboxPolicy::Restricted);
    let FileSystemSandboxPolicy::Restricted { entries } = filesystem else {
        panic!()
    };
    let workspace: Vec<FileSystemAccess> = entries
        .iter()
        .filter(|e| e.path == cwd_sub(None))
        .map(|e| e.access)
        .collect();
    assert_eq!(workspace, vec![FileSystemAccess::Read]);
}

#[test]
fn legacy_keys_win_over_profiles() {
    let text = format!("sandbox_mode = \"read-only\"\n{REAL_WORLD_PROFILES}");
    assert_eq!(
        select(&text).unwrap(),
        SandboxSelection::Legacy {
            policy: SandboxPolicy::read_only(),
            git: GitMode::ReadOnly
        }
    );
    let from_flag = parse(REAL_WORLD_PROFILES)
        .select(&Overrides {
            sandbox_mode: Some(SandboxMode::DangerFullAccess),
            profile: None,
        })
        .unwrap();
    assert_eq!(
        from_flag,
        SandboxSelection::Legacy {
            policy: SandboxPolicy::DangerFullAccess,
            git: GitMode::ReadOnly
        }
    );
}

#[test]
fn builtin_profiles() {
    let config = SandboxConfig::empty();
    for name in BUILTIN_PROFILES {
        assert!(config.profile(name).is_ok(), "{name}");
    }
    let SandboxSelection::Profile {
        filesystem,
        network,
        ..
    } = config.profile(":danger-full-access").unwrap()
    else {
        panic!()
    };
    assert_eq!(filesystem, FileSystemSandboxPolicy::Unrestricted);
    assert_eq!(network, NetworkSandboxPolicy::Enabled);
}

#[test]
fn config_profiles_overlay_the_top_level() {
    let text = "sandbox_mode = \"read-only\"\nprofile = \"work\"\n[profiles.work]\nsandbox_mode = \"workspace-write\"\n";
    assert!(matches!(
        select(text).unwrap(),
        SandboxSelection::Legacy {
            policy: SandboxPolicy::WorkspaceWrite { .. },
            ..
        }
    ));
}

#[test]
fn errors_name_the_file_the_key_and_the_fix() {
    let cases = [
        (
            "sandbox_mode = \"yolo\"",
            "/home/me/.codex/config.toml: `sandbox_mode`: \"yolo\" is not a sandbox mode; use \"read-only\", \"workspace-write\" or \"danger-full-access\"",
        ),
        (
            "sandbox_mode = \"workspace-write\"\n[sandbox_workspace_write]\nnetwork_access = \"yes\"",
            "/home/me/.codex/config.toml: `sandbox_workspace_write.network_access`: must be true or false",
        ),
        (
            "default_permissions = \"p\"\n[permissions.p.filesystem]\n\"/x\" = \"rw\"",
            "/home/me/.codex/config.toml: `permissions.p.filesystem.\"/x\"`: \"rw\" is not an access; use \"read\", \"write\" or \"deny\"",
        ),
        (
            "default_permissions = \"nope\"",
            "permission profile 'nope' is not defined; define [permissions.nope] in /home/me/.codex/config.toml or use one of :read-only, :workspace, :danger-full-access",
        ),
        (
            "default_permissions = \"a\"\n[permissions.a]\nextends = \"b\"\n[permissions.b]\nextends = \"a\"",
            "permission profile 'a' extends itself (through a -> b -> a); remove the cycle in /home/me/.codex/config.toml",
        ),
        (
            "default_permissions = \"a\"\n[permissions.a]\nmacos_automation = [\"not a bundle\"]",
            "/home/me/.codex/config.toml: `permissions.a.macos_automation`: \"not a bundle\" is not a bundle id (like \"com.apple.Notes\")",
        ),
        (
            "default_permissions = \"a\"\n[permissions.a.filesystem]\n\":tmpdir\" = { \"x\" = \"deny\" }",
            "/home/me/.codex/config.toml: `permissions.a.filesystem.\":tmpdir\".\"x\"`: subpaths are supported under :workspace_roots and absolute paths; write the full path instead",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(select(text).unwrap_err().to_string(), expected, "{text}");
    }
    let syntax = SandboxConfig::parse("sandbox_mode = ", Path::new("/c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        syntax.starts_with("/c.toml: ") && syntax.contains("line 1"),
        "{syntax}"
    );
}

#[test]
fn no_config_means_read_only() {
    assert_eq!(
        SandboxConfig::empty()
            .select(&Overrides::default())
            .unwrap(),
        SandboxSelection::Legacy {
            policy: SandboxPolicy::read_only(),
            git: GitMode::ReadOnly
        }
    );
}
