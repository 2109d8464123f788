use super::*;
use crate::probe::FakeFs;
use crate::resolve::{HostEnv, ResolveOptions, resolve, resolve_legacy};
use crate::test_support::entry;
use codex_protocol::{FileSystemSandboxPolicy, SandboxPolicy};

fn env() -> HostEnv {
    HostEnv {
        tmpdir: None,
        home: None,
    }
}

fn args(plan: &BwrapPlan) -> String {
    plan.args.join(" ")
}

const TAIL: &str = "--dev /dev --proc /proc";
const NS: &str = "--unshare-user --unshare-pid --unshare-ipc";

#[test]
fn read_only_policy() {
    let fs = FakeFs::new().dir("/ws");
    let policy = resolve_legacy(
        &SandboxPolicy::read_only(),
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(
        args(&bwrap_plan(&policy)),
        format!(
            "--new-session --die-with-parent --ro-bind / / {TAIL} {NS} --unshare-net --cap-drop ALL"
        )
    );
}

#[test]
fn workspace_write_with_existing_and_missing_protected_names() {
    let fs = FakeFs::new().dir("/ws/.git").dir("/tmp");
    let mut policy_def = SandboxPolicy::workspace_write();
    if let SandboxPolicy::WorkspaceWrite {
        network_access,
        exclude_slash_tmp,
        ..
    } = &mut policy_def
    {
        *network_access = true;
        *exclude_slash_tmp = true;
    }
    let policy = resolve_legacy(
        &policy_def,
        Path::new("/ws"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    let plan = bwrap_plan(&policy);
    assert_eq!(
        args(&plan),
        format!(
            "--new-session --die-with-parent --ro-bind / / --bind /ws /ws \
             --perms 0555 --tmpfs /ws/.agents --remount-ro /ws/.agents \
             --perms 0555 --tmpfs /ws/.codex --remount-ro /ws/.codex \
             --ro-bind /ws/.git /ws/.git {TAIL} {NS} --cap-drop ALL"
        )
    );
    assert_eq!(
        plan.synthetic_targets,
        vec![PathBuf::from("/ws/.agents"), PathBuf::from("/ws/.codex")]
    );
}

#[test]
fn seed_split_policy_reopens_a_writable_grandchild() {
    let fs = FakeFs::new()
        .dir("/repo/a/b")
        .file("/repo/secret.env", "k")
        .dir("/repo/.git");
    let policy = resolve(
        &FileSystemSandboxPolicy::Restricted {
            entries: vec![
                entry(":root", FileSystemAccess::Read),
                entry("/repo", FileSystemAccess::Write),
                entry("/repo/a", FileSystemAccess::None),
                entry("/repo/a/b", FileSystemAccess::Write),
                entry("/repo/secret.env", FileSystemAccess::None),
            ],
        },
        NetworkSandboxPolicy::Restricted,
        Path::new("/repo"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    let plan = bwrap_plan(&policy);
    assert_eq!(
        args(&plan),
        format!(
            "--new-session --die-with-parent --ro-bind / / --bind /repo /repo \
             --perms 0555 --tmpfs /repo/.agents --remount-ro /repo/.agents \
             --perms 0555 --tmpfs /repo/.codex --remount-ro /repo/.codex \
             --ro-bind /repo/.git /repo/.git \
             --perms 0111 --tmpfs /repo/a \
             --perms 0000 --ro-bind-data 3 /repo/secret.env \
             --bind /repo/a/b /repo/a/b \
             --perms 0555 --tmpfs /repo/a/b/.agents --remount-ro /repo/a/b/.agents \
             --perms 0555 --tmpfs /repo/a/b/.codex --remount-ro /repo/a/b/.codex \
             --perms 0555 --tmpfs /repo/a/b/.git --remount-ro /repo/a/b/.git \
             {TAIL} --remount-ro /repo/a {NS} --unshare-net --cap-drop ALL"
        )
    );
    assert_eq!(plan.empty_data_fds, vec![3]);
}

#[test]
fn restricted_read_starts_from_an_empty_root() {
    let fs = FakeFs::new().dir("/usr").dir("/home/me/proj");
    let policy = resolve(
        &FileSystemSandboxPolicy::Restricted {
            entries: vec![
                entry("/usr", FileSystemAccess::Read),
                entry("/home/me/proj", FileSystemAccess::Read),
            ],
        },
        NetworkSandboxPolicy::Enabled,
        Path::new("/home/me/proj"),
        &env(),
        &fs,
        &ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(
        args(&bwrap_plan(&policy)),
        format!(
            "--new-session --die-with-parent --perms 0111 --tmpfs / \
             --ro-bind /usr /usr \
             --perms 0111 --dir /home --perms 0111 --dir /home/me --ro-bind /home/me/proj /home/me/proj \
             {TAIL} --remount-ro / {NS} --cap-drop ALL"
        )
    );
}

#[test]
fn argv_appends_the_command() {
    let plan = BwrapPlan {
        args: vec!["--ro-bind".into(), "/".into(), "/".into()],
        empty_data_fds: vec![],
        synthetic_targets: vec![],
    };
    assert_eq!(
        plan.argv("/usr/bin/bwrap", &["ls".to_string(), "-l".to_string()]),
        vec!["/usr/bin/bwrap", "--ro-bind", "/", "/", "--", "ls", "-l"]
    );
}
