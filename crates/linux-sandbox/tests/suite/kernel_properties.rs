//! Random split policies × the probe paths: what the real kernel allows equals what the
//! decision model says, path by path (bubblewrap route, or Landlock when the random policy
//! happens to be legacy-equivalent).

use super::conformance::{PYTHON, Route, Tree, User, check_selection, entry, have, is_root};
use codex_protocol::{
    FileSystemAccess, FileSystemPath, FileSystemSandboxPolicy, KnownSpecialPath,
    NetworkSandboxPolicy, SpecialPath,
};
use codex_sandbox::config::SandboxSelection;
use codex_sandbox::{GitMode, HostEnv, HostFs};

/// A tiny deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const PATHS: [&str; 12] = [
    "",
    "ws",
    "ws/src",
    "ws/.git",
    "ws/a",
    "ws/a/b",
    "ws/gitmeta",
    "ws/gitmeta/wt",
    "ws/secret.env",
    "ws/notes.txt",
    "outside",
    "wt",
];

#[test]
fn random_split_policies_match_the_kernel() {
    if !is_root() || !have(PYTHON) || !have("/usr/bin/bwrap") || !have("/usr/bin/setpriv") {
        println!("SKIP: needs root, {PYTHON}, /usr/bin/bwrap and setpriv");
        return;
    }
    let mut problems = Vec::new();
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let user = if seed % 2 == 0 {
            User::Root
        } else {
            User::Nobody
        };
        let tree = Tree::new(user);
        let mut entries = vec![entry(
            FileSystemPath::Special {
                value: SpecialPath::Known(KnownSpecialPath::Root),
            },
            rng.pick(&[
                FileSystemAccess::Read,
                FileSystemAccess::Read,
                FileSystemAccess::None,
            ]),
        )];
        for _ in 0..(1 + rng.next() % 5) {
            let path = tree_path(&tree, rng.pick(&PATHS));
            let access = rng.pick(&[
                FileSystemAccess::Read,
                FileSystemAccess::Write,
                FileSystemAccess::None,
            ]);
            entries.push(entry(FileSystemPath::Path { path }, access));
        }
        // The probes need the interpreter and the helper itself to be readable.
        entries.push(entry(
            FileSystemPath::Path {
                path: "/usr".into(),
            },
            FileSystemAccess::Read,
        ));
        entries.push(entry(
            FileSystemPath::Path {
                path: "/lib".into(),
            },
            FileSystemAccess::Read,
        ));
        entries.push(entry(
            FileSystemPath::Path {
                path: "/lib64".into(),
            },
            FileSystemAccess::Read,
        ));
        entries.push(entry(
            FileSystemPath::Path {
                path: "/etc".into(),
            },
            FileSystemAccess::Read,
        ));
        entries.push(entry(
            FileSystemPath::Path {
                path: tree_path(&tree, "probe.py"),
            },
            FileSystemAccess::Read,
        ));
        entries.push(entry(
            FileSystemPath::Path {
                path: tree_path(&tree, "codex-linux-sandbox"),
            },
            FileSystemAccess::Read,
        ));
        let selection = SandboxSelection::Profile {
            name: format!("random-{seed}"),
            filesystem: FileSystemSandboxPolicy::Restricted { entries },
            network: NetworkSandboxPolicy::Restricted,
            macos: Default::default(),
            glob_scan_max_depth: None,
            git: GitMode::ReadOnly,
        };
        // A policy that hides the working directory cannot start the probe (the helper
        // refuses with a clear error, checked in `refusals`); nothing to compare then.
        let policy = selection
            .resolve(&tree.ws(), &HostEnv::default(), &HostFs)
            .unwrap();
        if policy.decide(&tree.ws()).access == FileSystemAccess::None {
            continue;
        }
        problems.extend(check_selection(
            user,
            Route::Auto,
            &format!("seed {seed}"),
            &tree,
            selection,
        ));
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn tree_path(tree: &Tree, relative: &str) -> std::path::PathBuf {
    if relative.is_empty() {
        tree.ws().parent().unwrap().to_path_buf()
    } else {
        tree.ws().parent().unwrap().join(relative)
    }
}
