use super::*;
use crate::parser::parse_patch;
use crate::plan::compute_plan;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

thread_local! {
    /// Makes the swap loop fail before swapping the entry with this index.
    pub(super) static FAIL_SWAP_AT: Cell<Option<usize>> = const { Cell::new(None) };
}

fn plan(dir: &Path, patch: &str) -> ApplyPlan {
    compute_plan(&parse_patch(patch).unwrap(), dir).unwrap()
}

/// Every entry under `dir` (files with content, directories, symlinks with their target).
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(
                    name,
                    format!("-> {}", fs::read_link(&path).unwrap().display()),
                );
            } else if meta.is_dir() {
                out.insert(name, "dir".into());
                walk(root, &path, out);
            } else {
                let mode = meta.permissions().mode() & 0o7777;
                let content = String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned();
                out.insert(name, format!("{mode:o} {content}"));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

const MULTI: &str = "*** Begin Patch\n*** Add File: new/deep/n.txt\n+n\n*** Update File: a.txt\n@@\n-a\n+A\n*** Delete File: b.txt\n*** Update File: c.txt\n@@\n-c\n+C\n*** End Patch";

fn multi_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c"] {
        fs::write(dir.path().join(format!("{name}.txt")), format!("{name}\n")).unwrap();
    }
    dir
}

#[test]
fn commits_every_change_and_leaves_no_temporary_files() {
    let dir = multi_tree();
    let report = commit(&plan(dir.path(), MULTI)).unwrap();
    assert!(report.warnings.is_empty());
    let after = snapshot(dir.path());
    let names: Vec<&str> = after.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["a.txt", "c.txt", "new", "new/deep", "new/deep/n.txt"],
        "no backups or temporary files remain"
    );
    assert!(after["a.txt"].ends_with(" A\n"));
    assert!(after["new/deep/n.txt"].ends_with(" n\n"));
}

#[test]
fn a_failure_while_swapping_restores_everything() {
    for fail_at in 0..4 {
        let dir = multi_tree();
        let before = snapshot(dir.path());
        let inode = fs::metadata(dir.path().join("a.txt")).unwrap().ino();
        let the_plan = plan(dir.path(), MULTI);
        FAIL_SWAP_AT.with(|at| at.set(Some(fail_at)));
        let error = commit(&the_plan).unwrap_err();
        FAIL_SWAP_AT.with(|at| at.set(None));
        assert!(error.rollback_failures.is_empty(), "{error}");
        assert!(
            error.to_string().ends_with("no file was changed"),
            "{error}"
        );
        assert_eq!(snapshot(dir.path()), before, "failing at swap {fail_at}");
        assert_eq!(
            fs::metadata(dir.path().join("a.txt")).unwrap().ino(),
            inode,
            "the original file itself is back, not a copy"
        );
    }
}

#[test]
fn a_failure_while_preparing_restores_everything() {
    let dir = multi_tree();
    let the_plan = plan(
        dir.path(),
        "*** Begin Patch\n*** Add File: made/x.txt\n+x\n*** Add File: blocked/y.txt\n+y\n*** End Patch",
    );
    // The tree changes after verification: a file now stands where a directory must be created.
    fs::write(dir.path().join("blocked"), "in the way\n").unwrap();
    let before = snapshot(dir.path());
    let error = commit(&the_plan).unwrap_err();
    assert_eq!(error.path, dir.path().join("blocked/y.txt"));
    assert_eq!(
        snapshot(dir.path()),
        before,
        "created directory `made` is removed again"
    );
}

#[test]
fn permissions_are_kept_on_update_add_and_move() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("run.sh");
    fs::write(&script, "echo a\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o750)).unwrap();
    let secret = dir.path().join("secret");
    fs::write(&secret, "s\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    commit(&plan(
        dir.path(),
        "*** Begin Patch\n*** Update File: run.sh\n*** Move to: bin/run.sh\n@@\n-echo a\n+echo b\n*** Add File: secret\n+t\n*** End Patch",
    ))
    .unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("bin/run.sh")), 0o750);
    assert_eq!(mode(&secret), 0o600);
    assert!(!script.exists());
}

#[test]
fn writes_follow_symlinks_and_deletes_remove_the_link() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("real")).unwrap();
    fs::write(dir.path().join("real/t.txt"), "old\n").unwrap();
    symlink("real/t.txt", dir.path().join("link.txt")).unwrap();
    symlink(
        "real/target-of-dangling.txt",
        dir.path().join("dangling.txt"),
    )
    .unwrap();
    fs::write(dir.path().join("keep.txt"), "k\n").unwrap();
    symlink("keep.txt", dir.path().join("to-keep.txt")).unwrap();
    commit(&plan(
        dir.path(),
        "*** Begin Patch\n*** Update File: link.txt\n@@\n-old\n+new\n*** Add File: dangling.txt\n+d\n*** Delete File: to-keep.txt\n*** End Patch",
    ))
    .unwrap();
    let after = snapshot(dir.path());
    assert_eq!(after["link.txt"], "-> real/t.txt");
    assert!(after["real/t.txt"].ends_with(" new\n"));
    assert_eq!(after["dangling.txt"], "-> real/target-of-dangling.txt");
    assert!(after["real/target-of-dangling.txt"].ends_with(" d\n"));
    assert!(!after.contains_key("to-keep.txt"));
    assert!(after["keep.txt"].ends_with(" k\n"));
}

#[test]
fn unchanged_files_are_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("same.txt");
    fs::write(&path, "x\n").unwrap();
    let inode = fs::metadata(&path).unwrap().ino();
    commit(&plan(
        dir.path(),
        "*** Begin Patch\n*** Add File: same.txt\n+x\n*** End Patch",
    ))
    .unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
}

#[test]
fn long_file_names_can_be_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let name = "n".repeat(250);
    fs::write(dir.path().join(&name), "a\n").unwrap();
    commit(&plan(
        dir.path(),
        &format!("*** Begin Patch\n*** Update File: {name}\n@@\n-a\n+A\n*** End Patch"),
    ))
    .unwrap();
    assert_eq!(fs::read_to_string(dir.path().join(&name)).unwrap(), "A\n");
}

#[test]
fn a_file_changed_after_planning_stops_the_commit() {
    let dir = multi_tree();
    let the_plan = plan(dir.path(), MULTI);
    fs::write(dir.path().join("c.txt"), "edited meanwhile\n").unwrap();
    let before = snapshot(dir.path());
    let error = commit(&the_plan).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("changed after the patch was checked"),
        "{error}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn owner_and_permissions_survive_a_replace_when_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("owned");
    fs::write(&path, "a\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let is_root = std::os::unix::fs::chown(&path, Some(1234), Some(1234)).is_ok();
    commit(&plan(
        dir.path(),
        "*** Begin Patch\n*** Update File: owned\n@@\n-a\n+b\n*** End Patch",
    ))
    .unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    if is_root {
        assert_eq!((meta.uid(), meta.gid()), (1234, 1234));
    } else {
        println!("SKIP: owner check needs root");
    }
}
