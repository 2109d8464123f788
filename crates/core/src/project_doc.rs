//! Instructions from `AGENTS.md` files: `$CODEX_HOME/AGENTS.md` (the user's own), then every
//! directory from the git root down to the cwd, each contributing its `AGENTS.override.md` when
//! there is one, else its `AGENTS.md`. The project part is capped at `project_doc_max_bytes`
//! (0 turns it off); deeper files come later, so on conflict the more specific one is read last.

use std::path::{Path, PathBuf};

pub const FILE: &str = "AGENTS.md";
pub const OVERRIDE_FILE: &str = "AGENTS.override.md";
/// Between the user's own instructions and the project's.
pub const SEPARATOR: &str = "\n\n--- project-doc ---\n\n";

/// The instructions that apply in `cwd`, or `None` when there are none; also a warning for
/// each file that could not be read.
pub fn user_instructions(
    codex_home: &Path,
    cwd: &Path,
    max_bytes: usize,
) -> (Option<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let global = read_dir_doc(codex_home, &mut warnings);
    let mut project = String::new();
    if max_bytes > 0 {
        for dir in dirs_from_root(cwd) {
            if let Some(text) = read_dir_doc(&dir, &mut warnings) {
                if !project.is_empty() {
                    project.push_str("\n\n");
                }
                project.push_str(&text);
            }
        }
        if project.len() > max_bytes {
            warnings.push(format!(
                "AGENTS.md files under {} add up to {} bytes; only the first {max_bytes} are used (project_doc_max_bytes)",
                cwd.display(),
                project.len()
            ));
            let mut end = max_bytes;
            while !project.is_char_boundary(end) {
                end -= 1;
            }
            project.truncate(end);
        }
    }
    let text = match (global, project.is_empty()) {
        (None, true) => None,
        (Some(global), true) => Some(global),
        (None, false) => Some(project),
        (Some(global), false) => Some(format!("{global}{SEPARATOR}{project}")),
    };
    (text, warnings)
}

/// The model-facing message that carries them.
pub fn instructions_message(cwd: &Path, instructions: &str) -> String {
    format!(
        "# AGENTS.md instructions for {}\n\n<INSTRUCTIONS>\n{instructions}\n</INSTRUCTIONS>",
        cwd.display()
    )
}

/// Whether `dir` is the top of a git work tree: its `.git` is a directory with a `HEAD`, or a
/// file pointing elsewhere (`gitdir: …`). An empty `.git` does not count (nor does git count
/// it): a sandboxed command holds one as a mount point in a shared directory such as `/tmp`
/// while it runs.
pub fn is_git_root(dir: &Path) -> bool {
    let git = dir.join(".git");
    git.join("HEAD").is_file()
        || (git.is_file() && std::fs::read_to_string(&git).is_ok_and(|t| t.starts_with("gitdir:")))
}

/// The directories from the git root (the nearest ancestor that [`is_git_root`]) down to
/// `cwd`; just `cwd` outside a repository.
fn dirs_from_root(cwd: &Path) -> Vec<PathBuf> {
    let mut chain: Vec<PathBuf> = Vec::new();
    for dir in cwd.ancestors() {
        chain.push(dir.to_path_buf());
        if is_git_root(dir) {
            chain.reverse();
            return chain;
        }
    }
    vec![cwd.to_path_buf()]
}

fn read_dir_doc(dir: &Path, warnings: &mut Vec<String>) -> Option<String> {
    for name in [OVERRIDE_FILE, FILE] {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).trim().to_string();
                // An empty override still wins: it is how a directory says "nothing here".
                return (!text.is_empty()).then_some(text);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {}
            Err(e) => warnings.push(format!("cannot read {}: {e}; skipped", path.display())),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn root_to_cwd_with_overrides_and_the_users_own() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let repo = tmp.path().join("outside/repo");
        let cwd = repo.join("a/b");
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        write(&repo.join(".git/HEAD"), "ref: refs/heads/main\n");
        write(
            &tmp.path().join("outside/AGENTS.md"),
            "above the repo: never read",
        );
        write(&repo.join("AGENTS.md"), "root rules\n");
        write(&repo.join("a/AGENTS.md"), "a: replaced");
        write(&repo.join("a/AGENTS.override.md"), "a override");
        write(&cwd.join("AGENTS.md"), "b rules");
        write(&home.join("AGENTS.md"), "my own");
        let (text, warnings) = user_instructions(&home, &cwd, 1000);
        assert_eq!(
            text.unwrap(),
            format!("my own{SEPARATOR}root rules\n\na override\n\nb rules")
        );
        assert!(warnings.is_empty());

        // The cap applies to the project part, on a character boundary.
        write(&cwd.join("AGENTS.md"), "b rules é");
        let (text, warnings) = user_instructions(
            &home,
            &cwd,
            "root rules\n\na override\n\nb rules ".len() + 1,
        );
        assert!(text.unwrap().ends_with("b rules "));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // 0 turns project docs off; the user's own stay.
        assert_eq!(user_instructions(&home, &cwd, 0).0.unwrap(), "my own");
        // A .git file (worktree) marks the root too.
        std::fs::remove_dir_all(repo.join(".git")).unwrap();
        std::fs::write(repo.join("a/.git"), "gitdir: /elsewhere").unwrap();
        let (text, _) = user_instructions(&tmp.path().join("nohome"), &cwd, 1000);
        assert_eq!(text.unwrap(), "a override\n\nb rules é");
    }

    #[test]
    fn an_empty_git_directory_is_no_repository() {
        // As a sandboxed command's mount point for a missing `.git` looks, in `/tmp` say.
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path().join("x/y");
        std::fs::create_dir_all(tmp.path().join("x/.git")).unwrap();
        write(&tmp.path().join("x/AGENTS.md"), "parent");
        write(&cwd.join("AGENTS.md"), "here");
        assert!(!is_git_root(&tmp.path().join("x")));
        let (text, _) = user_instructions(&tmp.path().join("home"), &cwd, 1000);
        assert_eq!(text.unwrap(), "here");
        write(&tmp.path().join("x/.git/HEAD"), "ref: refs/heads/main\n");
        let (text, _) = user_instructions(&tmp.path().join("home"), &cwd, 1000);
        assert_eq!(text.unwrap(), "parent\n\nhere");
    }

    #[test]
    fn outside_a_repository_only_the_cwd_counts() {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path().join("x/y");
        write(&tmp.path().join("x/AGENTS.md"), "parent");
        write(&cwd.join("AGENTS.md"), "here");
        let (text, _) = user_instructions(&tmp.path().join("home"), &cwd, 1000);
        assert_eq!(text.unwrap(), "here");
        assert_eq!(
            instructions_message(&cwd, "here"),
            format!(
                "# AGENTS.md instructions for {}\n\n<INSTRUCTIONS>\nhere\n</INSTRUCTIONS>",
                cwd.display()
            )
        );
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert_eq!(user_instructions(&empty, &empty, 1000).0, None);
    }
}
