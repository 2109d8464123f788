//! Telling a sandbox denial from an ordinary failure: a command's error output names a path
//! and an errno (`EROFS`, `EACCES`, `EPERM`); when the policy does not allow what failed there,
//! the failure was the sandbox's doing, and the model can be told so instead of guessing.

use crate::probe::FsProbe;
use crate::resolve::{ResolvedPolicy, canonical};
use codex_protocol::{FileSystemAccess, NetworkSandboxPolicy};
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
            let explained = explained_by_policy(fs, &path, errno, allowed);
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

/// What network clients print when they cannot reach the network at all (the seccomp filter
/// refuses them a socket, so name lookups fail too).
const NETWORK_FAILURES: [&str; 8] = [
    "Could not resolve host",
    "Couldn't connect to server",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "connect EPERM",
    "getaddrinfo EAI_AGAIN",
    "urlopen error [Errno 1] Operation not permitted",
];

/// Whether a command's output shows it failed to reach the network while the policy keeps it
/// off: a client's own message (curl, git, node, Python's urllib), or "Operation not
/// permitted" naming no path in output that speaks of sockets (a traceback from `socket()`).
pub fn network_denied(policy: &ResolvedPolicy, output: &str) -> bool {
    if policy.network != NetworkSandboxPolicy::Restricted {
        return false;
    }
    // A call on a socket in a traceback or message: `socket.socket(`, `_socket.socket.__init__`.
    let lower = output.to_ascii_lowercase();
    let speaks_of_sockets = lower.contains("socket.") || lower.contains("socket(");
    output.lines().any(|line| {
        NETWORK_FAILURES.iter().any(|text| line.contains(text))
            || (speaks_of_sockets
                && line.contains("Operation not permitted")
                && path_candidates(line).is_empty())
    })
}

/// Whether a refusal with `errno` at `path`, where the policy allows `allowed`, is the
/// sandbox's doing. Every refusal a sandbox causes is of a write, or of a read where nothing
/// is allowed — so never where the policy allows writing. `EROFS` there is the sandbox's
/// read-only view. `EACCES` and `EPERM` are also what file modes say (`cat /etc/shadow` as a
/// user, where the policy lets it read): only when the modes would have allowed something the
/// policy refuses is the sandbox to blame.
fn explained_by_policy(
    fs: &dyn FsProbe,
    path: &Path,
    errno: &str,
    allowed: FileSystemAccess,
) -> bool {
    let modes_allow = |access| fs.permits(path, access) != Some(false);
    match allowed {
        FileSystemAccess::Write => false,
        _ if errno == "EROFS" => true,
        FileSystemAccess::Read => modes_allow(FileSystemAccess::Write),
        FileSystemAccess::None => {
            modes_allow(FileSystemAccess::Read) || modes_allow(FileSystemAccess::Write)
        }
    }
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

    /// `policy` resolved with `/ws` as the working directory.
    fn in_ws(policy: &SandboxPolicy, fs: &FakeFs) -> ResolvedPolicy {
        resolve_legacy(
            policy,
            Path::new("/ws"),
            &HostEnv::default(),
            fs,
            &ResolveOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn denials_from_real_error_messages() {
        let fs = FakeFs::new().dir("/ws/.git").dir("/ws/src").dir("/etc");
        let policy = in_ws(&SandboxPolicy::workspace_write(), &fs);
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

    /// Network failures are the sandbox's when the policy keeps the network off, and only then.
    #[test]
    fn network_failures_under_a_policy_without_network() {
        let fs = FakeFs::new().dir("/ws");
        let off = in_ws(&SandboxPolicy::workspace_write(), &fs);
        let on = in_ws(
            &SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![],
                network_access: true,
                exclude_tmpdir_env_var: false,
                exclude_slash_tmp: false,
                read_only_access: Default::default(),
            },
            &fs,
        );
        // As printed under this sandbox (`codex sandbox linux -s workspace-write`).
        let failures = [
            "curl: (6) Could not resolve host: example.com",
            "curl: (7) Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server",
            "fatal: unable to access 'https://github.com/x/y/': Could not resolve host: github.com",
            "  File \"/usr/lib/python3.11/socket.py\", line 232, in __init__\n    _socket.socket.__init__(self, family, type, proto, fileno)\nPermissionError: [Errno 1] Operation not permitted",
            "urllib.error.URLError: <urlopen error [Errno 1] Operation not permitted>",
        ];
        for output in failures {
            assert!(network_denied(&off, output), "{output}");
            assert!(!network_denied(&on, output), "{output}");
        }
        for other in [
            "kill: (1) - Operation not permitted",
            "chmod: changing permissions of '/etc/x': Operation not permitted",
            "error: could not compile `foo`",
            "connected to the websocket server\nkill: (1) - Operation not permitted",
        ] {
            assert!(!network_denied(&off, other), "{other}");
        }
    }

    /// A refusal the file modes explain on their own is not blamed on the sandbox: reading
    /// `/etc/shadow` as a user (the policy lets it read; writing it would fail anyway), or
    /// creating a file in a directory the user may not write.
    #[test]
    fn refusals_the_modes_explain_are_not_the_sandboxs() {
        let fs = FakeFs::new()
            .dir("/ws/src")
            .file("/etc/shadow", "")
            .file("/etc/hosts", "")
            .dir("/root")
            .locked("/etc/shadow")
            .locked("/root");
        let policy = in_ws(&SandboxPolicy::workspace_write(), &fs);
        let stderr = "\
cat: /etc/shadow: Permission denied
touch: cannot touch '/root/x': Permission denied
sh: 1: cannot create /etc/hosts: Permission denied
chmod: changing permissions of '/etc/shadow': Operation not permitted
";
        let denials = find_denials(&policy, stderr, Path::new("/ws"), &fs);
        let paths: Vec<String> = denials
            .iter()
            .map(|d| d.path.display().to_string())
            .collect();
        assert_eq!(paths, vec!["/etc/hosts"], "{denials:?}");
    }
}
