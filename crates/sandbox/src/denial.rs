//! Telling a sandbox denial from an ordinary failure: a command's error output names a path
//! and an errno (`EROFS`, `EACCES`, `EPERM`); when the policy does not allow what failed there,
//! the failure was the sandbox's doing, and the model can be told so instead of guessing.

use crate::probe::FsProbe;
use crate::resolve::{ResolvedPolicy, canonical};
use codex_protocol::FileSystemAccess;
use std::path::{Path, PathBuf};

/// A failure the policy explains.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Denial {
    /// The path as the command printed it, resolved against its working directory.
    pub path: PathBuf,
    /// `EROFS`, `EACCES` or `EPERM`.
    pub errno: &'static str,
    /// What the policy allows there.
    pub allowed: FileSystemAccess,
}

/// The error texts of the errnos a sandbox causes, as libc prints them.
const ERRNO_TEXTS: [(&str, &str); 3] = [
    ("Read-only file system", "EROFS"),
    ("Permission denied", "EACCES"),
    ("Operation not permitted", "EPERM"),
];

/// Finds the denials the policy explains in a command's stderr (`cwd` is where it ran).
pub fn find_denials(
    policy: &ResolvedPolicy,
    stderr: &str,
    cwd: &Path,
    fs: &dyn FsProbe,
) -> Vec<Denial> {
    let mut found = Vec::new();
    for line in stderr.lines() {
        let Some((_, errno)) = ERRNO_TEXTS.iter().find(|(text, _)| line.contains(text)) else {
            continue;
        };
        for candidate in path_candidates(line) {
            let path = canonical(fs, &cwd.join(&candidate));
            let allowed = policy.decide(&path).access;
            // The command was refused something at a path where the policy allows less than
            // writing (every refusal a sandbox causes is a write, or a read where nothing is
            // allowed, which is also "less than writing").
            let explained = allowed != FileSystemAccess::Write;
            if explained && !found.iter().any(|d: &Denial| d.path == path) {
                found.push(Denial {
                    path,
                    errno,
                    allowed,
                });
            }
        }
    }
    found
}

/// Path-like tokens of an error line: quoted ones ('x', ‘x’, "x", `x'), and `cannot create
/// PATH:` / `PATH: error` forms.
fn path_candidates(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [('\'', '\''), ('‘', '’'), ('"', '"'), ('`', '\'')] {
        let mut rest = line;
        while let Some(start) = rest.find(open) {
            let after = &rest[start + open.len_utf8()..];
            let Some(end) = after.find(close) else { break };
            let token = &after[..end];
            if looks_like_path(token) {
                out.push(token.to_string());
            }
            rest = &after[end + close.len_utf8()..];
        }
    }
    if out.is_empty() {
        // `sh: 1: cannot create /etc/x: Read-only file system`, `rm: /x: Permission denied`
        for piece in line.split(": ") {
            let piece = piece
                .trim()
                .trim_start_matches("cannot create ")
                .trim_start_matches("can't create ");
            if looks_like_path(piece) && !ERRNO_TEXTS.iter().any(|(t, _)| piece == *t) {
                out.push(piece.to_string());
            } else if let Some(last) = piece.rsplit(' ').next()
                && last.starts_with('/')
                && looks_like_path(last)
            {
                // `Failed to write file /x/y: Read-only file system` (apply_patch and others
                // that put the path last in a sentence): absolute paths only, to stay sure.
                out.push(last.to_string());
            }
        }
    }
    out
}

fn looks_like_path(token: &str) -> bool {
    !token.is_empty() && !token.contains(' ') && (token.contains('/') || token.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::FakeFs;
    use crate::resolve::{HostEnv, ResolveOptions, resolve_legacy};
    use codex_protocol::SandboxPolicy;

    #[test]
    fn denials_from_real_error_messages() {
        let fs = FakeFs::new().dir("/ws/.git").dir("/ws/src").dir("/etc");
        let policy = resolve_legacy(
            &SandboxPolicy::workspace_write(),
            Path::new("/ws"),
            &HostEnv::default(),
            &fs,
            &ResolveOptions::default(),
        )
        .unwrap();
        let stderr = "\
touch: cannot touch '.git/z': Read-only file system
mkdir: cannot create directory ‘.codex/d’: Read-only file system
sh: 1: cannot create /etc/x: Read-only file system
cp: cannot create regular file 'src/ok.txt': Permission denied
error: could not compile `foo`
Failed to write file /etc/y.conf: Read-only file system (os error 30); no file was changed
";
        let denials = find_denials(&policy, stderr, Path::new("/ws"), &fs);
        let paths: Vec<(String, &str)> = denials
            .iter()
            .map(|d| (d.path.display().to_string(), d.errno))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("/ws/.git/z".to_string(), "EROFS"),
                ("/ws/.codex/d".to_string(), "EROFS"),
                ("/etc/x".to_string(), "EROFS"),
                ("/etc/y.conf".to_string(), "EROFS"),
            ],
            "src/ok.txt is writable: that failure is not the sandbox's"
        );
        assert_eq!(denials[0].allowed, FileSystemAccess::Read);
    }
}
