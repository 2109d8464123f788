//! Helpers shared by the test modules: trees on disk as maps, and a patch writer.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Copies the regular files and directories under `from` into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every regular file under `root`, by relative path, with its bytes.
pub fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    collect(root, root, &mut files);
    files
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            collect(root, &path, files);
        } else if kind.is_file() {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.insert(relative, fs::read(&path).unwrap());
        }
    }
}

/// Writes an `*** Update File` patch that turns `old` into `new`, the way a careful model
/// would: chunks with up to three lines of context, each grown backwards until the first place
/// its old lines occur (searching from the end of the previous chunk) is the intended one.
pub fn update_patch(path: &str, old: &[String], new: &[String]) -> String {
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, old, new);
    let mut out = format!("*** Begin Patch\n*** Update File: {path}\n");
    let mut cursor = 0;
    for group in similar::group_diff_ops(ops, 3) {
        let mut lines: Vec<String> = Vec::new();
        let mut old_start = None;
        let mut old_end = 0;
        for op in &group {
            for change in op.iter_changes(old, new) {
                let text = change.value();
                match change.tag() {
                    similar::ChangeTag::Equal => lines.push(format!(" {text}")),
                    similar::ChangeTag::Delete => lines.push(format!("-{text}")),
                    similar::ChangeTag::Insert => lines.push(format!("+{text}")),
                }
            }
            let range = op.old_range();
            old_start.get_or_insert(range.start);
            old_end = range.end;
        }
        let mut start = old_start.unwrap_or(0);
        loop {
            let pattern: Vec<&str> = lines
                .iter()
                .filter(|l| !l.starts_with('+'))
                .map(|l| &l[1..])
                .collect();
            if pattern.is_empty() || first_exact(old, &pattern, cursor) == Some(start) {
                break;
            }
            start -= 1;
            lines.insert(0, format!(" {}", old[start]));
        }
        out.push_str("@@\n");
        for line in &lines {
            out.push_str(line);
            out.push('\n');
        }
        cursor = old_end;
    }
    out.push_str("*** End Patch\n");
    out
}

fn first_exact(haystack: &[String], pattern: &[&str], from: usize) -> Option<usize> {
    (from..=haystack.len().checked_sub(pattern.len())?)
        .find(|&s| pattern.iter().zip(&haystack[s..]).all(|(p, l)| p == l))
}
