use super::*;
use crate::probe::FakeFs;
use crate::test_support::entry;
use codex_protocol::FileSystemAccess::{None as Deny, Read, Write};

fn env() -> HostEnv {
    HostEnv {
        tmpdir: Some(PathBuf::from("/var/tmp/me")),
        home: Some(PathBuf::from("/home/me")),
    }
}

fn rules_of(policy: &ResolvedPolicy) -> Vec<(String, FileSystemAccess)> {
    policy
        .rules()
        .iter()
        .map(|r| (r.path.display().to_string(), r.access))
        .collect()
}

fn split(entries: Vec<FileSystemSandboxEntry>) -> FileSystemSandboxPolicy {
    FileSystemSandboxPolicy::Restricted { entries }
}

#[test]
fn workspace_write_protects_names_under_every_writable_root() {
    let fs = FakeFs::new()
        .dir("/ws/.git")
        .dir("/ws/src")
        .dir("/tmp")
        .dir("/var/tmp/me");
    let policy = resolve_legacy(
        &SandboxPolicy::workspace_write(),
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(
        rules_of(&policy),
        vec![
            ("/".into(), Read),
            ("/tmp".into(), Write),
            ("/tmp/.agents".into(), Read),
            ("/tmp/.codex".into(), Read),
            ("/tmp/.git".into(), Read),
            ("/var/tmp/me".into(), Write),
            ("/var/tmp/me/.agents".into(), Read),
            ("/var/tmp/me/.codex".into(), Read),
            ("/var/tmp/me/.git".into(), Read),
            ("/ws".into(), Write),
            ("/ws/.agents".into(), Read),
            ("/ws/.codex".into(), Read),
            ("/ws/.git".into(), Read),
        ]
    );
    assert_eq!(policy.network, NetworkSandboxPolicy::Restricted);
}

#[test]
fn exclusions_and_network() {
    let fs = FakeFs::new().dir("/ws").dir("/tmp").dir("/extra");
    let policy = resolve_legacy(
        &SandboxPolicy::WorkspaceWrite {
            writable_roots: vec![PathBuf::from("/extra"), PathBuf::from("/gone")],
            network_access: true,
            exclude_tmpdir_env_var: true,
            exclude_slash_tmp: true,
            read_only_access: ReadOnlyAccess::FullAccess,
        },
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    let paths: Vec<String> = rules_of(&policy)
        .into_iter()
        .filter(|(_, a)| *a == Write)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(paths, vec!["/extra", "/ws"]);
    assert_eq!(policy.network, NetworkSandboxPolicy::Enabled);
    assert!(
        policy
            .notes
            .iter()
            .any(|n| n.contains("/gone: does not exist")),
        "{:?}",
        policy.notes
    );
}

#[test]
fn gitdir_pointer_targets_are_protected_even_in_another_writable_root() {
    let fs = FakeFs::new()
        .dir("/ws/gitmeta/wt")
        .file("/wt/.git", "gitdir: ../ws/gitmeta/wt\n")
        .dir("/tmp");
    let policy = resolve(
        &split(vec![
            entry(":root", Read),
            entry("/ws", Write),
            entry("/wt", Write),
        ]),
        NetworkSandboxPolicy::Restricted,
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    assert!(rules_of(&policy).contains(&("/ws/gitmeta/wt".into(), Read)));
    assert!(rules_of(&policy).contains(&("/wt/.git".into(), Read)));
}

#[test]
fn a_symlinked_protected_name_is_refused() {
    let fs = FakeFs::new()
        .dir("/ws")
        .dir("/elsewhere")
        .symlink("/ws/.codex", "/elsewhere");
    let error = resolve(
        &split(vec![entry(":root", Read), entry("/ws", Write)]),
        NetworkSandboxPolicy::Restricted,
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        ResolveError::ProtectedSymlink {
            path: PathBuf::from("/ws/.codex"),
            root: PathBuf::from("/ws")
        }
    );
    assert!(error.to_string().contains("Replace the symlink"));
}

#[test]
fn paths_are_canonical_and_tilde_and_relative_paths_expand() {
    let fs = FakeFs::new()
        .dir("/real/ws/sub")
        .symlink("/ws", "/real/ws")
        .dir("/home/me/cache");
    let policy = resolve(
        &split(vec![
            entry("/ws", Write),
            entry("sub", Deny),
            entry("~/cache", Read),
        ]),
        NetworkSandboxPolicy::Restricted,
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(policy.cwd, PathBuf::from("/real/ws"));
    let rules = rules_of(&policy);
    assert!(rules.contains(&("/real/ws".into(), Write)));
    assert!(rules.contains(&("/real/ws/sub".into(), Deny)));
    assert!(rules.contains(&("/home/me/cache".into(), Read)));
}

#[test]
fn git_commit_mode_opens_the_repository_but_not_its_code_paths() {
    let fs = FakeFs::new()
        .dir("/ws/.git/objects")
        .dir("/ws/.git/hooks")
        .file("/ws/.git/config", "");
    let policy = resolve(
        &split(vec![entry(":root", Read), entry("/ws", Write)]),
        NetworkSandboxPolicy::Restricted,
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions {
            git: GitMode::Commit,
            glob_scan_max_depth: None,
        },
    )
    .unwrap();
    let rules = rules_of(&policy);
    assert!(rules.contains(&("/ws/.git".into(), Write)));
    for name in GIT_CODE_PATHS {
        assert!(
            rules.contains(&(format!("/ws/.git/{name}"), Read)),
            "{name}"
        );
    }
}

#[test]
fn unknown_special_paths_are_ignored_with_a_note() {
    let value: FileSystemSandboxPolicy = serde_json::from_value(serde_json::json!({
        "type": "restricted",
        "entries": [
            {"path": {"type": "special", "value": {"kind": "root"}}, "access": "read"},
            {"path": {"type": "special", "value": {"kind": "galaxy"}}, "access": "write"}
        ]
    }))
    .unwrap();
    let policy = resolve(
        &value,
        NetworkSandboxPolicy::Restricted,
        Path::new("/ws"),
        &env(),
        &FakeFs::new().dir("/ws"),
        &ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(rules_of(&policy), vec![("/".into(), Read)]);
    assert!(policy.notes[0].contains("unknown special path kind 'galaxy'"));
}

#[test]
fn deny_globs_expand_to_the_matching_files() {
    let fs = FakeFs::new()
        .file("/ws/.env", "")
        .file("/ws/app/prod.env", "")
        .file("/ws/app/main.rs", "");
    let policy = resolve(
        &split(vec![
            entry(":root", Read),
            entry("/ws", Write),
            entry("/ws/**/*.env", Deny),
        ]),
        NetworkSandboxPolicy::Restricted,
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    let rules = rules_of(&policy);
    assert!(rules.contains(&("/ws/.env".into(), Deny)));
    assert!(rules.contains(&("/ws/app/prod.env".into(), Deny)));
    assert!(!rules.iter().any(|(p, _)| p.ends_with("main.rs")));
}

#[test]
fn same_path_keeps_the_strongest_rule() {
    let fs = FakeFs::new().dir("/ws/a");
    let policy = resolve(
        &split(vec![
            entry("/ws/a", Read),
            entry("/ws/a", Deny),
            entry("/ws/a", Write),
            entry("/ws", Write),
        ]),
        NetworkSandboxPolicy::Restricted,
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    assert!(rules_of(&policy).contains(&("/ws/a".into(), Deny)));
}

#[test]
fn legacy_restricted_read_lists_cwd_and_roots() {
    let (fs_policy, _) = split_from_legacy(&SandboxPolicy::ReadOnly {
        access: ReadOnlyAccess::Restricted {
            include_platform_defaults: true,
            readable_roots: vec![PathBuf::from("/data")],
        },
    });
    let FileSystemSandboxPolicy::Restricted { entries } = fs_policy else {
        panic!()
    };
    let described: Vec<String> = entries.iter().map(|e| describe(&e.path)).collect();
    assert_eq!(described, vec![":workspace_roots", ":minimal", "/data"]);
}
