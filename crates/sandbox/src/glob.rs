//! `**`/`*`/`?`/`[..]` patterns in filesystem rules, expanded on the host into the paths they
//! match now (up to a depth limit). Paths created later are not covered — a known limit, stated
//! in `sandbox explain`.

use crate::probe::{FsProbe, PathKind};
use std::path::{Path, PathBuf};

/// Whether `path` contains glob syntax.
pub fn is_glob(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '['])
}

/// The existing paths matching `pattern` (absolute), scanning at most `max_depth` directory
/// levels below its literal prefix.
pub fn expand(pattern: &Path, max_depth: usize, fs: &dyn FsProbe) -> Result<Vec<PathBuf>, String> {
    let mut base = PathBuf::from("/");
    let mut rest = Vec::new();
    for component in pattern.components().skip(1) {
        let text = component.as_os_str().to_string_lossy().into_owned();
        if rest.is_empty() && !text.contains(['*', '?', '[']) {
            base.push(&text);
        } else {
            rest.push(text);
        }
    }
    let matcher = globset::GlobBuilder::new(&rest.join("/"))
        .literal_separator(true)
        .build()
        .map_err(|e| e.to_string())?
        .compile_matcher();
    let mut found = Vec::new();
    let mut frontier = vec![(base.clone(), 0usize)];
    while let Some((dir, depth)) = frontier.pop() {
        if depth >= max_depth {
            continue;
        }
        for name in fs.list_dir(&dir) {
            let path = dir.join(&name);
            let relative = path.strip_prefix(&base).unwrap_or(&path);
            if matcher.is_match(relative) {
                found.push(path.clone());
            }
            if fs.kind(&path) == PathKind::Dir {
                frontier.push((path, depth + 1));
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::FakeFs;

    #[test]
    fn expands_star_and_double_star() {
        let fs = FakeFs::new()
            .file("/ws/.env", "")
            .file("/ws/a/b/prod.env", "")
            .file("/ws/a/keep.txt", "")
            .file("/ws/deep/1/2/3/4/x.env", "");
        assert_eq!(
            expand(Path::new("/ws/**/*.env"), 8, &fs).unwrap(),
            vec![
                PathBuf::from("/ws/.env"),
                PathBuf::from("/ws/a/b/prod.env"),
                PathBuf::from("/ws/deep/1/2/3/4/x.env")
            ]
        );
        assert_eq!(
            expand(Path::new("/ws/**/*.env"), 3, &fs).unwrap(),
            vec![PathBuf::from("/ws/.env"), PathBuf::from("/ws/a/b/prod.env")],
            "depth limits the scan"
        );
        assert_eq!(
            expand(Path::new("/ws/*.txt"), 8, &fs).unwrap(),
            Vec::<PathBuf>::new()
        );
        assert!(is_glob(Path::new("/a/*.rs")));
        assert!(!is_glob(Path::new("/a/b.rs")));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(expand(Path::new("/ws/[a"), 2, &FakeFs::new()).is_err());
    }
}
