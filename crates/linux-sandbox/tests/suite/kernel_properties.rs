//! Random split policies × the probe paths: what the real kernel allows equals what the
//! decision model says, path by path — each policy on the route it takes (bubblewrap, or
//! Landlock when it happens to be legacy-equivalent) and again under the built-in executor;
//! the network on or off at random, checked with TCP and UDP to listeners on 127.0.0.1.

use super::conformance::{PYTHON, Route, Tree, User, check_selection, entry, have, is_root};
use codex_protocol::{
    FileSystemAccess, FileSystemPath, FileSystemSandboxPolicy, KnownSpecialPath,
    NetworkSandboxPolicy, SpecialPath,
};
use codex_sandbox::config::SandboxSelection;
use codex_sandbox::{GitMode, HostFs};

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
        let user = if seed % 2 == 0 {
            User::Root
        } else {
            User::Nobody
        };
        for route in [Route::Auto, Route::Builtin] {
            // A fresh tree for each run (the probes change it), the same policy in it.
            let tree = Tree::new(user);
            let selection = random_selection(seed, &tree);
            // A policy that hides the working directory cannot start the probe (the helper
            // refuses with a clear error, checked in `refusals`); nothing to compare then.
            let policy = selection.resolve(&tree.ws(), &tree.env(), &HostFs).unwrap();
            if policy.decide(&tree.ws()).access == FileSystemAccess::None {
                continue;
            }
            problems.extend(check_selection(
                user,
                route,
                &format!("seed {seed}"),
                &tree,
                selection,
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The random policy of `seed`, over the paths of `tree`.
fn random_selection(seed: u64, tree: &Tree) -> SandboxSelection {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
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
        let path = tree_path(tree, rng.pick(&PATHS));
        let access = rng.pick(&[
            FileSystemAccess::Read,
            FileSystemAccess::Write,
            FileSystemAccess::None,
        ]);
        entries.push(entry(FileSystemPath::Path { path }, access));
    }
    // The probes need the interpreter and the helper itself to be readable.
    for path in ["/usr", "/lib", "/lib64", "/etc"] {
        entries.push(entry(
            FileSystemPath::Path { path: path.into() },
            FileSystemAccess::Read,
        ));
    }
    for name in ["probe.py", "codex-linux-sandbox", "suid-id"] {
        entries.push(entry(
            FileSystemPath::Path {
                path: tree_path(tree, name),
            },
            FileSystemAccess::Read,
        ));
    }
    let network = rng.pick(&[
        NetworkSandboxPolicy::Restricted,
        NetworkSandboxPolicy::Enabled,
    ]);
    SandboxSelection::Profile {
        name: format!("random-{seed}"),
        filesystem: FileSystemSandboxPolicy::Restricted { entries },
        network,
        macos: Default::default(),
        glob_scan_max_depth: None,
        git: GitMode::ReadOnly,
    }
}

fn tree_path(tree: &Tree, relative: &str) -> std::path::PathBuf {
    if relative.is_empty() {
        tree.ws().parent().unwrap().to_path_buf()
    } else {
        tree.ws().parent().unwrap().join(relative)
    }
}
