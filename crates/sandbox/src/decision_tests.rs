use super::*;
use crate::probe::FakeFs;
use crate::resolve::{GitMode, resolve};
use crate::test_support::entry;
use codex_protocol::FileSystemAccess::{None as Deny, Read, Write};
use codex_protocol::{FileSystemSandboxEntry, FileSystemSandboxPolicy};

fn env() -> HostEnv {
    HostEnv {
        tmpdir: None,
        home: None,
    }
}

fn policy(entries: Vec<FileSystemSandboxEntry>, fs: &FakeFs) -> ResolvedPolicy {
    resolve(
        &FileSystemSandboxPolicy::Restricted { entries },
        NetworkSandboxPolicy::Restricted,
        Path::new("/repo"),
        &env(),
        fs,
        &ResolveOptions::default(),
    )
    .unwrap()
}

#[test]
fn the_most_specific_rule_wins_and_a_writable_child_reopens_under_a_denied_parent() {
    let fs = FakeFs::new()
        .dir("/repo/a/b/c")
        .dir("/repo/a/x")
        .dir("/other");
    let p = policy(
        vec![
            entry(":root", Read),
            entry("/repo", Write),
            entry("/repo/a", Deny),
            entry("/repo/a/b", Write),
        ],
        &fs,
    );
    for (path, expected) in [
        ("/repo", Write),
        ("/repo/new.txt", Write),
        ("/repo/a", Deny),
        ("/repo/a/x", Deny),
        ("/repo/a/b", Write),
        ("/repo/a/b/c", Write),
        ("/repo/a/b/.git", Read),
        ("/repo/.git", Read),
        ("/repo/.git/hooks/pre-commit", Read),
        ("/repo/.codex/config.toml", Read),
        ("/other", Read),
        ("/", Read),
    ] {
        assert_eq!(p.decide(Path::new(path)).access, expected, "{path}");
    }
    assert_eq!(
        p.decide(Path::new("/repo/a/x")).rule.unwrap().path,
        PathBuf::from("/repo/a")
    );
}

#[test]
fn no_rule_means_no_access() {
    let fs = FakeFs::new().dir("/repo").dir("/etc");
    let p = policy(vec![entry("/repo", Read)], &fs);
    assert_eq!(p.decide(Path::new("/etc/passwd")).access, Deny);
    assert!(p.decide(Path::new("/etc/passwd")).rule.is_none());
    assert_eq!(p.decide(Path::new("/repo/x")).access, Read);
}

#[test]
fn equal_specificity_deny_beats_write_beats_read() {
    let rules = vec![
        Rule {
            path: PathBuf::from("/a"),
            access: Read,
            origin: Origin::Protected {
                root: PathBuf::from("/"),
            },
            kind: crate::PathKind::Dir,
            alias: None,
        },
        Rule {
            path: PathBuf::from("/a"),
            access: Write,
            origin: Origin::Protected {
                root: PathBuf::from("/"),
            },
            kind: crate::PathKind::Dir,
            alias: None,
        },
    ];
    assert_eq!(
        most_specific(&rules, Path::new("/a/b"), false)
            .unwrap()
            .access,
        Write
    );
}

#[test]
fn legacy_policies_are_legacy_equivalent() {
    let fs = FakeFs::new().dir("/repo/.git").dir("/tmp");
    let env = HostEnv {
        tmpdir: None,
        home: None,
    };
    for legacy in [SandboxPolicy::read_only(), SandboxPolicy::workspace_write()] {
        let resolved = resolve_legacy(
            &legacy,
            Path::new("/repo"),
            &env,
            &fs,
            &ResolveOptions::default(),
        )
        .unwrap();
        assert!(
            resolved.legacy_equivalent(&env, &fs).is_some(),
            "{legacy:?}"
        );
    }
}

#[test]
fn carve_outs_are_not_legacy_equivalent() {
    let fs = FakeFs::new().dir("/repo/a/b").dir("/data");
    let env = env();
    let seed = policy(
        vec![
            entry(":root", Read),
            entry("/repo", Write),
            entry("/repo/a", Deny),
            entry("/repo/a/b", Write),
        ],
        &fs,
    );
    assert_eq!(seed.legacy_equivalent(&env, &fs), None);
    let same_as_legacy = policy(vec![entry(":root", Read), entry("/repo", Write)], &fs);
    assert!(same_as_legacy.legacy_equivalent(&env, &fs).is_some());
    let not_cwd = policy(vec![entry(":root", Read), entry("/data", Write)], &fs);
    assert_eq!(
        not_cwd.legacy_equivalent(&env, &fs),
        None,
        "legacy always makes the cwd writable"
    );
    let restricted_read = policy(vec![entry("/repo", Write)], &fs);
    assert_eq!(restricted_read.legacy_equivalent(&env, &fs), None);
}

#[test]
fn git_commit_mode_stays_on_the_legacy_route() {
    let fs = FakeFs::new().dir("/repo/.git/hooks");
    let env = env();
    let options = ResolveOptions {
        git: GitMode::Commit,
        glob_scan_max_depth: None,
    };
    let resolved = resolve_legacy(
        &SandboxPolicy::WorkspaceWrite {
            writable_roots: vec![],
            network_access: false,
            exclude_tmpdir_env_var: true,
            exclude_slash_tmp: true,
            read_only_access: codex_protocol::ReadOnlyAccess::FullAccess,
        },
        Path::new("/repo"),
        &env,
        &fs,
        &options,
    )
    .unwrap();
    assert_eq!(
        resolved.decide(Path::new("/repo/.git/objects/ab")).access,
        Write
    );
    assert_eq!(
        resolved
            .decide(Path::new("/repo/.git/hooks/pre-commit"))
            .access,
        Read
    );
    assert!(resolved.legacy_equivalent(&env, &fs).is_some());
}
