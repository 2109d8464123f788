use super::*;
use crate::parser::parse_patch;

fn compute(dir: &Path, patch: &str) -> Result<ApplyPlan, ComputeError> {
    compute_plan(&parse_patch(patch).unwrap(), dir)
}

fn after(plan: &ApplyPlan, dir: &Path, name: &str) -> Option<String> {
    plan.files
        .iter()
        .find(|f| f.path == dir.join(name))
        .unwrap_or_else(|| panic!("{name} not in plan"))
        .after
        .clone()
}

#[test]
fn resolves_paths_lexically() {
    let cwd = Path::new("/w/repo");
    assert_eq!(
        resolve_path(cwd, "a/../b/./c.txt"),
        Path::new("/w/repo/b/c.txt")
    );
    assert_eq!(resolve_path(cwd, "../up.txt"), Path::new("/w/up.txt"));
    assert_eq!(resolve_path(cwd, "/abs/x"), Path::new("/abs/x"));
    assert_eq!(resolve_path(cwd, "dir/"), Path::new("/w/repo/dir"));
}

#[test]
fn later_hunks_see_earlier_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("m.txt"), "one\n").unwrap();
    let plan = compute(
        d,
        "*** Begin Patch\n*** Add File: f.txt\n+a\n*** Update File: f.txt\n@@\n-a\n+b\n*** Update File: m.txt\n*** Move to: n.txt\n@@\n-one\n+two\n*** Update File: n.txt\n@@\n-two\n+three\n*** End Patch",
    )
    .unwrap();
    assert_eq!(after(&plan, d, "f.txt").as_deref(), Some("b\n"));
    assert_eq!(after(&plan, d, "m.txt"), None);
    assert_eq!(after(&plan, d, "n.txt").as_deref(), Some("three\n"));
    assert_eq!(plan.summary.added, ["f.txt"]);
    assert_eq!(plan.summary.modified, ["f.txt", "n.txt", "n.txt"]);
}

#[test]
fn delete_then_add_and_add_then_delete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("x.txt"), "old\n").unwrap();
    let plan = compute(
        d,
        "*** Begin Patch\n*** Delete File: x.txt\n*** Add File: x.txt\n+fresh\n*** Add File: tmp.txt\n+t\n*** Delete File: tmp.txt\n*** End Patch",
    )
    .unwrap();
    assert_eq!(after(&plan, d, "x.txt").as_deref(), Some("fresh\n"));
    assert_eq!(after(&plan, d, "tmp.txt"), None);
    assert!(
        plan.files
            .iter()
            .find(|f| f.path == d.join("tmp.txt"))
            .unwrap()
            .is_noop()
    );
    assert_eq!(
        plan.summary.render(),
        "Success. Updated the following files:\nA x.txt\nA tmp.txt\nD x.txt\nD tmp.txt\n"
    );
}

#[test]
fn move_onto_itself_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), "x\n").unwrap();
    let plan = compute(
        dir.path(),
        "*** Begin Patch\n*** Update File: a.txt\n*** Move to: ./a.txt\n@@\n-x\n+y\n*** End Patch",
    )
    .unwrap();
    assert_eq!(after(&plan, dir.path(), "a.txt").as_deref(), Some("y\n"));
}

#[test]
fn errors_name_the_path_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("sub")).unwrap();
    fs::write(d.join("file"), "f\n").unwrap();
    fs::write(d.join("latin1"), b"caf\xe9\n").unwrap();
    let message = |patch: &str| compute(d, patch).unwrap_err().to_string();
    let p = |body: &str| format!("*** Begin Patch\n{body}\n*** End Patch");
    let root = d.display();
    assert_eq!(
        message(&p("*** Delete File: missing")),
        format!("Failed to delete file {root}/missing: No such file or directory (os error 2)")
    );
    assert_eq!(
        message(&p("*** Delete File: sub")),
        format!(
            "Failed to delete file {root}/sub: it is a directory; apply_patch deletes files only"
        )
    );
    assert_eq!(
        message(&p("*** Delete File: file\n*** Delete File: ./file")),
        format!(
            "Failed to delete file {root}/file: it was already deleted or moved away earlier in this patch (line 2)"
        )
    );
    assert_eq!(
        message(&p("*** Add File: sub\n+x")),
        format!("Failed to write file {root}/sub: it is a directory")
    );
    assert_eq!(
        message(&p("*** Add File: file/child\n+x")),
        format!("Failed to write file {root}/file/child: {root}/file is not a directory")
    );
    assert_eq!(
        message(&p("*** Add File: new\n+x\n*** Add File: new/child\n+y")),
        format!("Failed to write file {root}/new/child: {root}/new is not a directory")
    );
    assert!(message(&p("*** Update File: latin1\n@@\n-x\n+y")).contains("not valid UTF-8 text"));
    assert_eq!(
        message(&p(
            "*** Delete File: file\n*** Update File: file\n@@\n-f\n+g"
        )),
        format!(
            "Failed to read file to update {root}/file: it was deleted or moved away earlier in this patch (line 2)"
        )
    );
    assert_eq!(
        message("*** Begin Patch\n*** End Patch"),
        "No files were modified."
    );
}

#[test]
fn binary_files_can_be_deleted_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("blob"), b"\x00\xff\xfe").unwrap();
    let plan = compute(
        dir.path(),
        "*** Begin Patch\n*** Delete File: blob\n*** End Patch",
    )
    .unwrap();
    assert_eq!(plan.files[0].before.as_deref(), Some(&b"\x00\xff\xfe"[..]));
    let plan = compute(
        dir.path(),
        "*** Begin Patch\n*** Add File: blob\n+text\n*** End Patch",
    )
    .unwrap();
    assert_eq!(plan.files[0].after.as_deref(), Some("text\n"));
}

#[test]
fn changes_describe_the_net_effect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.txt"), "1\n2\n").unwrap();
    let plan = compute(
        d,
        "*** Begin Patch\n*** Update File: a.txt\n@@\n-2\n+two\n*** Add File: b.txt\n+b\n*** End Patch",
    )
    .unwrap();
    assert_eq!(
        plan.changes(),
        vec![
            (
                d.join("a.txt"),
                PatchChange::Update {
                    unified_diff: "@@ -1,2 +1,2 @@\n 1\n-2\n+two\n".into(),
                    move_path: None,
                    new_content: "1\ntwo\n".into(),
                }
            ),
            (
                d.join("b.txt"),
                PatchChange::Add {
                    content: "b\n".into()
                }
            ),
        ]
    );
}

#[test]
fn wire_form_carries_the_diff_not_the_new_content() {
    let change = PatchChange::Update {
        unified_diff: "@@ -1 +1 @@\n-a\n+b\n".into(),
        move_path: Some(PathBuf::from("/w/b")),
        new_content: "b\n".into(),
    };
    assert_eq!(
        FileChange::from(change),
        FileChange::Update {
            unified_diff: "@@ -1 +1 @@\n-a\n+b\n".into(),
            move_path: Some(PathBuf::from("/w/b")),
        }
    );
}

#[test]
fn a_path_needed_as_a_directory_cannot_become_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("x"), "1\n").unwrap();
    let message = |patch: &str| compute(d, patch).unwrap_err().to_string();
    assert_eq!(
        message("*** Begin Patch\n*** Add File: a/b\n+1\n*** Add File: a\n+2\n*** End Patch"),
        format!(
            "Failed to write file {0}/a: it must stay a directory for {0}/a/b, written earlier in this patch",
            d.display()
        )
    );
    assert!(message("*** Begin Patch\n*** Update File: x\n*** Move to: d/y\n@@\n-1\n+2\n*** Add File: d\n+3\n*** End Patch").contains("must stay a directory"));
}

#[test]
fn symlink_spellings_of_one_file_share_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), "a\nb\n").unwrap();
    std::os::unix::fs::symlink("f", d.join("l")).unwrap();
    fs::create_dir(d.join("real")).unwrap();
    std::os::unix::fs::symlink("real", d.join("dirlink")).unwrap();
    let plan = compute(
        d,
        "*** Begin Patch\n*** Update File: f\n@@\n-a\n+A\n*** Update File: l\n@@\n-b\n+B\n*** Add File: dirlink/n\n+n\n*** Update File: real/n\n@@\n-n\n+N\n*** End Patch",
    )
    .unwrap();
    assert_eq!(after(&plan, d, "f").as_deref(), Some("A\nB\n"));
    assert_eq!(after(&plan, d, "real/n").as_deref(), Some("N\n"));
    assert_eq!(plan.files.len(), 2);
    let error = compute(
        d,
        "*** Begin Patch\n*** Delete File: f\n*** Update File: l\n@@\n-a\n+A\n*** End Patch",
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("deleted or moved away earlier"),
        "{error}"
    );
}

#[test]
fn a_symlink_loop_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("b", dir.path().join("a")).unwrap();
    std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
    let error = compute(
        dir.path(),
        "*** Begin Patch\n*** Add File: a\n+x\n*** End Patch",
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("too many levels of symbolic links"),
        "{error}"
    );
}

#[test]
fn special_files_are_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("p");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !status.is_ok_and(|s| s.success()) {
        println!("SKIP: mkfifo is not available");
        return;
    }
    let plan = compute(
        dir.path(),
        "*** Begin Patch\n*** Delete File: p\n*** End Patch",
    )
    .unwrap();
    crate::commit(&plan).unwrap();
    assert!(!fifo.exists());
    let error = compute(
        dir.path(),
        "*** Begin Patch\n*** Update File: p\n@@\n-a\n+b\n*** End Patch",
    );
    assert!(error.is_err());
}
