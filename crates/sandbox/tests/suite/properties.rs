//! Random policies × paths: every plan, replayed in its model, gives the decision model's
//! answer for every path.

use super::landlock_model;
use super::mount_model::MountModel;
use super::seatbelt_eval::Profile;
use codex_protocol::{
    FileSystemAccess, FileSystemPath, FileSystemSandboxEntry, FileSystemSandboxPolicy,
    KnownSpecialPath, MissingPathBehavior, NetworkSandboxPolicy, SandboxPolicy, SpecialPath,
};
use codex_sandbox::linux::{bwrap_plan, landlock_plan};
use codex_sandbox::seatbelt::seatbelt_plan;
use codex_sandbox::{
    FakeFs, GitMode, HostEnv, ResolveOptions, ResolvedPolicy, resolve, resolve_legacy,
};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

const DIRS: [&str; 8] = [
    "/r", "/r/a", "/r/a/b", "/r/a/b/c", "/r/d", "/r/d/e", "/o", "/o/p",
];
const FILES: [&str; 3] = ["/r/f.txt", "/r/a/g.txt", "/r/d/e/h.txt"];
const RULE_PATHS: [&str; 14] = [
    "/",
    "/r",
    "/r/a",
    "/r/a/b",
    "/r/a/b/c",
    "/r/d",
    "/r/d/e",
    "/o",
    "/o/p",
    "/r/f.txt",
    "/r/a/g.txt",
    "/r/missing",
    "/r/a/missing",
    "/o/p/missing",
];

/// Host layouts: plain, with a `.git` directory, with a `.git` pointer file into /o/p, with a
/// `.codex` directory in a deeper root.
fn host(layout: u8) -> FakeFs {
    let mut fs = FakeFs::new();
    for dir in DIRS {
        fs = fs.dir(dir);
    }
    for file in FILES {
        fs = fs.file(file, "x");
    }
    match layout % 4 {
        1 => fs.dir("/r/.git/hooks"),
        2 => fs.file("/r/.git", "gitdir: /o/p\n").dir("/r/a/b/.git"),
        3 => fs.dir("/r/a/.codex").file("/r/d/.agents", ""),
        _ => fs,
    }
}

/// Paths to ask about: everything in the tree, a child of each directory, protected names.
fn queries() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = vec![PathBuf::from("/"), PathBuf::from("/nowhere")];
    for dir in DIRS {
        paths.push(PathBuf::from(dir));
        paths.push(Path::new(dir).join("new-file"));
        for name in [".git", ".codex", ".agents"] {
            paths.push(Path::new(dir).join(name));
            paths.push(Path::new(dir).join(name).join("inside"));
        }
    }
    paths.extend(FILES.iter().map(PathBuf::from));
    paths.extend(
        [
            "/r/missing",
            "/r/a/missing",
            "/o/p/missing",
            "/r/missing/deeper",
        ]
        .iter()
        .map(PathBuf::from),
    );
    paths
}

fn access() -> impl Strategy<Value = FileSystemAccess> {
    prop_oneof![
        Just(FileSystemAccess::Read),
        Just(FileSystemAccess::Write),
        Just(FileSystemAccess::None)
    ]
}

fn entries() -> impl Strategy<Value = Vec<FileSystemSandboxEntry>> {
    prop::collection::vec((0..RULE_PATHS.len(), access()), 0..7).prop_map(|picks| {
        picks
            .into_iter()
            .map(|(i, access)| FileSystemSandboxEntry {
                path: if RULE_PATHS[i] == "/" {
                    FileSystemPath::Special {
                        value: SpecialPath::Known(KnownSpecialPath::Root),
                    }
                } else {
                    FileSystemPath::Path {
                        path: PathBuf::from(RULE_PATHS[i]),
                    }
                },
                access,
                missing_path_behavior: MissingPathBehavior::Enforce,
            })
            .collect()
    })
}

fn git_mode() -> impl Strategy<Value = GitMode> {
    prop_oneof![Just(GitMode::ReadOnly), Just(GitMode::Commit)]
}

fn resolved(
    entries: Vec<FileSystemSandboxEntry>,
    fs: &FakeFs,
    git: GitMode,
) -> Option<ResolvedPolicy> {
    resolve(
        &FileSystemSandboxPolicy::Restricted { entries },
        NetworkSandboxPolicy::Restricted,
        Path::new("/r"),
        &HostEnv::default(),
        fs,
        &ResolveOptions {
            git,
            glob_scan_max_depth: None,
        },
    )
    .ok()
}

/// Paths below a file cannot exist; they are not compared.
fn comparable(path: &Path) -> bool {
    !FILES
        .iter()
        .any(|f| path.starts_with(f) && path != Path::new(f))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn bwrap_plan_enforces_the_decision_model(entries in entries(), layout in 0u8..4, git in git_mode()) {
        let fs = host(layout);
        let Some(policy) = resolved(entries, &fs, git) else { return Ok(()) };
        let plan = bwrap_plan(&policy);
        let model = MountModel::replay(&plan.args);
        for path in queries().iter().filter(|p| comparable(p)) {
            prop_assert_eq!(
                model.access(path),
                policy.decide(path).access,
                "{} with rules {:#?}\nbwrap {}",
                path.display(),
                policy.rules(),
                plan.args.join(" ")
            );
        }
    }

    #[test]
    fn seatbelt_profile_enforces_the_decision_model(entries in entries(), layout in 0u8..4, git in git_mode()) {
        let fs = host(layout);
        let Some(policy) = resolved(entries, &fs, git) else { return Ok(()) };
        let plan = seatbelt_plan(&policy, None, None);
        let profile = Profile::new(&plan.profile, &plan.params);
        for path in queries() {
            prop_assert_eq!(
                profile.access(&path),
                policy.decide(&path).access,
                "{} with rules {:#?}\nprofile:\n{}",
                path.display(),
                policy.rules(),
                plan.profile
            );
        }
    }

    #[test]
    fn legacy_equivalent_policies_get_the_same_answers_from_the_landlock_plan(
        entries in entries(),
        layout in 0u8..4,
        git in git_mode(),
    ) {
        let fs = host(layout);
        let Some(policy) = resolved(entries, &fs, git) else { return Ok(()) };
        if policy.legacy_equivalent(&HostEnv::default(), &fs).is_none() {
            return Ok(());
        }
        let plan = landlock_plan(&policy).expect("restricted policy");
        for path in queries().iter().filter(|p| comparable(p)) {
            prop_assert_eq!(landlock_model::access(&plan, path), policy.decide(path).access, "{}", path.display());
        }
    }

    #[test]
    fn legacy_policies_round_trip_and_their_landlock_plan_matches(
        roots in prop::collection::vec(0..DIRS.len(), 0..3),
        read_only in any::<bool>(),
        network in any::<bool>(),
        layout in 0u8..4,
        git in git_mode(),
    ) {
        let fs = host(layout);
        let env = HostEnv::default();
        let legacy = if read_only {
            SandboxPolicy::read_only()
        } else {
            SandboxPolicy::WorkspaceWrite {
                writable_roots: roots.iter().map(|i| PathBuf::from(DIRS[*i])).collect(),
                network_access: network,
                exclude_tmpdir_env_var: true,
                exclude_slash_tmp: true,
                read_only_access: Default::default(),
            }
        };
        let policy = resolve_legacy(&legacy, Path::new("/r"), &env, &fs, &ResolveOptions { git, glob_scan_max_depth: None }).unwrap();
        let writable_under_protected = policy.rules().iter().any(|w| {
            w.access == FileSystemAccess::Write
                && policy.rules().iter().any(|r| r.access == FileSystemAccess::Read && r.path != Path::new("/") && w.path.starts_with(&r.path) && w.path != r.path)
        });
        prop_assume!(!writable_under_protected);
        prop_assert!(policy.legacy_equivalent(&env, &fs).is_some(), "{:?}", legacy);
        let plan = landlock_plan(&policy).unwrap();
        for path in queries().iter().filter(|p| comparable(p)) {
            prop_assert_eq!(landlock_model::access(&plan, path), policy.decide(path).access, "{}", path.display());
        }
    }
}
