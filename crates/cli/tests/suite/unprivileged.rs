//! What the kernel refuses an unprivileged user: a patch whose second file may not be replaced
//! must leave the first file as it was. Needs root (to set up files of two owners) and
//! `setpriv`; the patch itself runs as `nobody`.

use super::{codex, text};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};
use std::path::Path;
use std::process::Command;

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_refused_rename_rolls_back_earlier_files() {
    if !is_root() {
        println!("SKIP: needs root to create files owned by two users");
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        println!("SKIP: setpriv (util-linux) is not installed");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    // A copy of the binary that `nobody` can execute wherever the target dir lives.
    let bin = root.join("codex");
    fs::copy(codex(), &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();

    let mine = root.join("mine");
    fs::create_dir(&mine).unwrap();
    fs::write(mine.join("a.txt"), "a\n").unwrap();
    chown(&mine, Some(NOBODY), Some(NOBODY)).unwrap();
    chown(mine.join("a.txt"), Some(NOBODY), Some(NOBODY)).unwrap();
    // World-writable and sticky, like /tmp: nobody may create files here but not rename
    // root's file.
    let shared = root.join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    fs::write(shared.join("b.txt"), "b\n").unwrap();
    fs::set_permissions(shared.join("b.txt"), fs::Permissions::from_mode(0o666)).unwrap();
    let inode = fs::metadata(mine.join("a.txt")).unwrap().ino();

    let patch = "*** Begin Patch\n*** Update File: mine/a.txt\n@@\n-a\n+A\n*** Update File: shared/b.txt\n@@\n-b\n+B\n*** End Patch";
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .args(["--codex-run-as-apply-patch", patch])
        .current_dir(root)
        .env_clear()
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        stderr,
        format!(
            "Failed to replace file {}/shared/b.txt: Operation not permitted (os error 1); no file was changed\n",
            root.display()
        )
    );
    assert_eq!(fs::read_to_string(mine.join("a.txt")).unwrap(), "a\n");
    assert_eq!(fs::metadata(mine.join("a.txt")).unwrap().ino(), inode);
    assert_eq!(fs::read_to_string(shared.join("b.txt")).unwrap(), "b\n");
    assert_eq!(
        names(&mine),
        ["a.txt"],
        "no backup or temporary file is left"
    );
    assert_eq!(names(&shared), ["b.txt"], "no temporary file is left");
}
