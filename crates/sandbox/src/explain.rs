//! `codex sandbox explain`: for each path, what a sandboxed command may do there and which rule
//! decided; plus the route and plan this host would use, and every note (ignored entries,
//! dropped grants, limits). As text for people, as JSON for tools.

use crate::linux::{
    BwrapPlan, LandlockAccess, LandlockPlan, LinuxRoute, SeccompPlan, bwrap_plan, choose_route,
    landlock_plan, landlock_plan_per_entry, seccomp_plan,
};
use crate::probe::FsProbe;
use crate::resolve::{HostEnv, Origin, ResolvedPolicy, canonical};
use codex_protocol::{FileSystemAccess, NetworkSandboxPolicy};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub cwd: PathBuf,
    pub network: NetworkSandboxPolicy,
    pub paths: Vec<PathAnswer>,
    pub linux: LinuxView,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathAnswer {
    /// As asked.
    pub path: PathBuf,
    /// Absolute, symlinks resolved.
    pub resolved: PathBuf,
    pub access: FileSystemAccess,
    /// Why, in words.
    pub because: String,
    /// The deciding rule's path, if a rule decided.
    pub rule_path: Option<PathBuf>,
    pub origin: Option<Origin>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinuxView {
    pub route: LinuxRoute,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landlock: Option<LandlockPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bwrap: Option<BwrapPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompPlan>,
    /// The Landlock route without a mount namespace: `landlock` is the per-entry plan.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub per_entry: bool,
}

impl LinuxView {
    /// The plans `route` runs `policy` with.
    pub fn new(policy: &ResolvedPolicy, route: LinuxRoute) -> LinuxView {
        LinuxView {
            route,
            landlock: (route == LinuxRoute::Landlock)
                .then(|| landlock_plan(policy))
                .flatten(),
            bwrap: (route == LinuxRoute::Bubblewrap).then(|| bwrap_plan(policy)),
            seccomp: (route != LinuxRoute::Unsandboxed).then(|| seccomp_plan(policy.network)),
            per_entry: false,
        }
    }

    /// The Landlock route's plans where no mount namespace can be made: each writable root
    /// granted entry by entry (as the host's `fs` lists them now), no mounts.
    pub fn per_entry(policy: &ResolvedPolicy, fs: &dyn FsProbe) -> LinuxView {
        LinuxView {
            landlock: landlock_plan_per_entry(policy, fs),
            per_entry: true,
            ..LinuxView::new(policy, LinuxRoute::Landlock)
        }
    }
}

/// Entries of one directory that the text lists one by one; more are told as a count.
const LISTED_ENTRIES: usize = 10;

/// Explains `paths` (relative ones against the policy's cwd).
pub fn explain(
    policy: &ResolvedPolicy,
    paths: &[PathBuf],
    env: &HostEnv,
    fs: &dyn FsProbe,
) -> Explanation {
    let answers = paths
        .iter()
        .map(|asked| {
            let resolved = canonical(fs, &policy.cwd.join(asked));
            let decision = policy.decide(&resolved);
            let because = match (&decision.rule, policy.rules().is_empty()) {
                (Some(rule), _) => describe_origin(&rule.origin, &rule.path),
                (None, true) => "the policy does not restrict the filesystem".to_string(),
                (None, false) => "no rule covers this path".to_string(),
            };
            PathAnswer {
                path: asked.clone(),
                resolved,
                access: decision.access,
                because,
                rule_path: decision.rule.as_ref().map(|r| r.path.clone()),
                origin: decision.rule.map(|r| r.origin),
            }
        })
        .collect();
    let linux = LinuxView::new(policy, choose_route(policy, env, fs));
    let mut notes = policy.notes.clone();
    if policy.rules().iter().any(|r| matches!(&r.origin, Origin::Entry { written, .. } if crate::glob::is_glob(Path::new(written)))) {
        notes.push("glob rules cover the files that match now; files created later are not covered".into());
    }
    Explanation {
        cwd: policy.cwd.clone(),
        network: policy.network,
        paths: answers,
        linux,
        notes,
    }
}

/// A rule's origin in words.
pub fn describe_origin(origin: &Origin, path: &Path) -> String {
    match origin {
        Origin::Entry { written, .. } => format!("policy entry '{written}' ({})", path.display()),
        Origin::Protected { root } => format!(
            "{} is protected under the writable root {}",
            path.display(),
            root.display()
        ),
        Origin::GitDir { pointer } => format!(
            "{} is the git directory named by {}",
            path.display(),
            pointer.display()
        ),
        Origin::GitCommit { root } => format!(
            "git = \"commit\": the repository {} under {} is writable",
            path.display(),
            root.display()
        ),
    }
}

fn access_word(access: FileSystemAccess) -> &'static str {
    match access {
        FileSystemAccess::Read => "read",
        FileSystemAccess::Write => "write",
        FileSystemAccess::None => "none",
    }
}

/// The human form.
pub fn render_text(explanation: &Explanation) -> String {
    let mut out = String::new();
    let width = explanation
        .paths
        .iter()
        .map(|p| p.path.display().to_string().len())
        .max()
        .unwrap_or(0);
    for answer in &explanation.paths {
        let _ = writeln!(
            out,
            "{:<width$}  {:<5}  {}",
            answer.path.display().to_string(),
            access_word(answer.access),
            answer.because
        );
    }
    let network = match explanation.network {
        NetworkSandboxPolicy::Enabled => "on",
        NetworkSandboxPolicy::Restricted => "off",
    };
    let _ = writeln!(out, "\nnetwork: {network}");
    let route = match explanation.linux.route {
        LinuxRoute::Unsandboxed => {
            "none (the policy restricts nothing, or the caller is already sandboxed)"
        }
        LinuxRoute::Landlock if explanation.linux.per_entry => {
            "Landlock + seccomp alone (no mount namespace here), each entry of a writable root granted on its own"
        }
        LinuxRoute::Landlock => "Landlock + seccomp, read-only mounts for protected paths",
        LinuxRoute::Bubblewrap => "bubblewrap + seccomp",
    };
    let _ = writeln!(out, "linux route: {route}");
    if let Some(plan) = &explanation.linux.landlock {
        // A per-entry plan holds a rule for every entry of a writable root (hundreds, for a
        // busy `/tmp`): a long run of them in one directory is told as a count (`--json`
        // lists each).
        let mut rest = &plan.rules[..];
        while let Some(first) = rest.first() {
            let parent = first.path.parent();
            let run = rest
                .iter()
                .take_while(|r| r.access != LandlockAccess::ReadOnly && r.path.parent() == parent)
                .count();
            if run > LISTED_ENTRIES {
                let _ = writeln!(
                    out,
                    "  landlock ReadWrite each of {run} entries of {} (ReadWriteFile on files; --json lists them)",
                    parent.unwrap_or(std::path::Path::new("/")).display()
                );
                rest = &rest[run..];
                continue;
            }
            let _ = writeln!(
                out,
                "  landlock {:?} {}",
                first.access,
                first.path.display()
            );
            rest = &rest[1..];
        }
        for mount in &plan.read_only_mounts {
            let how = if mount.exists {
                "read-only bind"
            } else {
                "read-only empty dir (missing)"
            };
            let _ = writeln!(out, "  mount {how} {}", mount.path.display());
        }
    }
    if let Some(plan) = &explanation.linux.bwrap {
        let _ = writeln!(out, "  bwrap {}", plan.args.join(" "));
    }
    if let Some(seccomp) = &explanation.linux.seccomp {
        let _ = writeln!(
            out,
            "  seccomp denies: {}; sockets: {:?}",
            seccomp.denied.join(" "),
            seccomp.sockets
        );
    }
    for note in &explanation.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::FakeFs;
    use crate::resolve::{ResolveOptions, resolve_legacy};
    use codex_protocol::SandboxPolicy;

    #[test]
    fn explains_paths_route_and_plan() {
        let fs = FakeFs::new().dir("/ws/.git").dir("/ws/src").dir("/tmp");
        let env = HostEnv::default();
        let policy = resolve_legacy(
            &SandboxPolicy::workspace_write(),
            Path::new("/ws"),
            &env,
            &fs,
            &ResolveOptions::default(),
        )
        .unwrap();
        let explanation = explain(
            &policy,
            &[
                PathBuf::from("src/main.rs"),
                PathBuf::from(".git/config"),
                PathBuf::from("/etc/passwd"),
            ],
            &env,
            &fs,
        );
        let accesses: Vec<FileSystemAccess> = explanation.paths.iter().map(|p| p.access).collect();
        assert_eq!(
            accesses,
            vec![
                FileSystemAccess::Write,
                FileSystemAccess::Read,
                FileSystemAccess::Read
            ]
        );
        assert_eq!(explanation.linux.route, LinuxRoute::Landlock);
        let text = render_text(&explanation);
        assert!(
            text.contains("src/main.rs  write  policy entry ':workspace_roots' (/ws)"),
            "{text}"
        );
        assert!(
            text.contains(".git/config  read   /ws/.git is protected under the writable root /ws"),
            "{text}"
        );
        assert!(text.contains("linux route: Landlock"), "{text}");
        assert!(text.contains("network: off"), "{text}");
        let json = serde_json::to_value(&explanation).unwrap();
        assert_eq!(json["paths"][1]["access"], "read");
        assert_eq!(json["paths"][1]["origin"]["kind"], "protected");
        assert_eq!(json["linux"]["route"], "landlock");
    }
}
