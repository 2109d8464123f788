//! Conformance: for each policy, route and user, real probes run inside the sandbox (a Python
//! script, through a shell, so as a grandchild of the helper) and every filesystem outcome is
//! compared with what the decision model allows; the kernel-level checks (TCP and UDP to
//! listeners on 127.0.0.1, vsock, raw sockets, io_uring, ptrace, mount, inherited descriptors,
//! no-new-privs, a set-user-ID program) are checked against the policy's network setting.
//! Scenarios: read-only, workspace-write with the network off and on, and with `/tmp` and
//! `$TMPDIR` writable, and two split policies with carve-outs.
//!
//! Needs root (to also run as `nobody` through `setpriv`), `/usr/bin/python3` and bubblewrap;
//! each missing piece prints `SKIP: …` (CI installs them all, so CI never skips).

use codex_protocol::{
    FileSystemAccess, FileSystemPath, FileSystemSandboxEntry, FileSystemSandboxPolicy,
    KnownSpecialPath, MissingPathBehavior, NetworkSandboxPolicy, SandboxPolicy, SpecialPath,
};
use codex_sandbox::config::SandboxSelection;
use codex_sandbox::linux::{LandlockAccess, landlock_plan_per_entry};
use codex_sandbox::{GitMode, HostEnv, HostFs, ResolvedPolicy};
use std::fs;
use std::os::unix::fs::{PermissionsExt, chown, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) const PYTHON: &str = "/usr/bin/python3";
const NOBODY: u32 = 65534;

/// Makes names under the shared `/tmp` unique per probe run.
static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum User {
    Root,
    Nobody,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Route {
    Auto,
    Bubblewrap,
    /// Bubblewrap, with the inner stage run by the full binary instead of the embedded one.
    BubblewrapBinaryStage,
    Builtin,
    NoNamespaces,
}

pub(super) fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

pub(super) fn have(program: &str) -> bool {
    Path::new(program).exists()
}

/// The tree every scenario runs in, owned by the user the sandbox runs as.
pub(super) struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    bin: PathBuf,
    probe: PathBuf,
    /// A root-owned set-user-ID copy of `id`, where the filesystem honours set-user-ID.
    setuid: Option<PathBuf>,
}

impl Tree {
    pub(super) fn new(user: User) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        let ws = root.join("ws");
        for d in ["src", ".git/hooks", "a/b", "gitmeta/wt", "victims"] {
            fs::create_dir_all(ws.join(d)).unwrap();
        }
        for (f, text) in [
            ("src/main.rs", "fn main() {}\n"),
            ("notes.txt", "notes\n"),
            (".git/config", "[core]\n"),
            (".git/hooks/pre-commit", "#!/bin/sh\n"),
            ("a/secret.txt", "secret\n"),
            ("a/b/data.txt", "data\n"),
            ("secret.env", "KEY=1\n"),
            ("gitmeta/wt/HEAD", "ref\n"),
        ] {
            fs::write(ws.join(f), text).unwrap();
        }
        for victim in ["victims/v1", "victims/v2", "a/b/v3", "notes-victim"] {
            fs::write(ws.join(victim), "v\n").unwrap();
        }
        fs::create_dir_all(root.join("outside")).unwrap();
        fs::write(root.join("outside/file.txt"), "outside\n").unwrap();
        fs::create_dir_all(root.join("wt")).unwrap();
        fs::write(
            root.join("wt/.git"),
            format!("gitdir: {}\n", ws.join("gitmeta/wt").display()),
        )
        .unwrap();
        fs::write(root.join("wt/work.txt"), "w\n").unwrap();
        symlink(root.join("outside/file.txt"), ws.join("link-out")).unwrap();
        fs::create_dir_all(root.join("home")).unwrap();
        fs::create_dir_all(root.join("tmpdir")).unwrap();
        let setuid = root.join("suid-id");
        fs::copy("/usr/bin/id", &setuid).unwrap();
        fs::set_permissions(&setuid, fs::Permissions::from_mode(0o4755)).unwrap();
        let bin = root.join("codex-linux-sandbox");
        fs::copy(env!("CARGO_BIN_EXE_codex-linux-sandbox"), &bin).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        let probe = root.join("probe.py");
        fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe.py"),
            &probe,
        )
        .unwrap();
        if user == User::Nobody {
            for path in walk(&root) {
                let keep_root_owned = path == bin
                    || path == probe
                    || path == setuid
                    || path.starts_with(root.join("outside"));
                if !keep_root_owned {
                    let _ = std::os::unix::fs::lchown(&path, Some(NOBODY), Some(NOBODY));
                }
            }
            chown(&root, Some(0), Some(0)).unwrap();
        }
        // Only a probe that can gain privilege outside proves anything inside.
        let gains_outside = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&setuid)
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if !gains_outside {
            println!(
                "SKIP: the set-user-ID probe ({} does not run as root here)",
                setuid.display()
            );
        }
        Tree {
            _dir: dir,
            root,
            bin,
            probe,
            setuid: gains_outside.then_some(setuid),
        }
    }

    /// The environment the helper runs with, as the decision model sees it.
    pub(super) fn env(&self) -> HostEnv {
        HostEnv {
            tmpdir: Some(self.root.join("tmpdir")),
            home: Some(self.root.join("home")),
        }
    }

    pub(super) fn ws(&self) -> PathBuf {
        self.root.join("ws")
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub(super) fn entry(path: FileSystemPath, access: FileSystemAccess) -> FileSystemSandboxEntry {
    FileSystemSandboxEntry {
        path,
        access,
        missing_path_behavior: MissingPathBehavior::Enforce,
    }
}

/// A split profile that reads `/` and gives each of `paths` its access, the network off.
pub(super) fn readable_root_profile(
    name: &str,
    paths: &[(PathBuf, FileSystemAccess)],
) -> SandboxSelection {
    let mut entries = vec![entry(
        FileSystemPath::Special {
            value: SpecialPath::Known(KnownSpecialPath::Root),
        },
        FileSystemAccess::Read,
    )];
    entries.extend(
        paths
            .iter()
            .map(|(path, access)| entry(FileSystemPath::Path { path: path.clone() }, *access)),
    );
    SandboxSelection::Profile {
        name: name.into(),
        filesystem: FileSystemSandboxPolicy::Restricted { entries },
        network: NetworkSandboxPolicy::Restricted,
        macos: Default::default(),
        glob_scan_max_depth: None,
        git: GitMode::ReadOnly,
    }
}

fn scenarios(tree: &Tree) -> Vec<(&'static str, SandboxSelection)> {
    let legacy = |policy| SandboxSelection::Legacy {
        policy,
        git: GitMode::ReadOnly,
    };
    let ww = |network_access, exclude_tmp| SandboxPolicy::WorkspaceWrite {
        writable_roots: vec![tree.root.join("wt")],
        network_access,
        exclude_tmpdir_env_var: exclude_tmp,
        exclude_slash_tmp: exclude_tmp,
        read_only_access: Default::default(),
    };
    let path = |p: PathBuf| FileSystemPath::Path { path: p };
    let split = readable_root_profile(
        "split",
        &[
            (tree.ws(), FileSystemAccess::Write),
            (tree.ws().join("a"), FileSystemAccess::None),
            (tree.ws().join("a/b"), FileSystemAccess::Write),
            (tree.ws().join("secret.env"), FileSystemAccess::None),
        ],
    );
    let read = |p: &str| entry(path(PathBuf::from(p)), FileSystemAccess::Read);
    // Nothing readable but the system and the probe; a read-only workspace with writable and
    // denied carve-outs; the network on.
    let split_narrow = SandboxSelection::Profile {
        name: "split-narrow".into(),
        filesystem: FileSystemSandboxPolicy::Restricted {
            entries: vec![
                entry(
                    FileSystemPath::Special {
                        value: SpecialPath::Known(KnownSpecialPath::Root),
                    },
                    FileSystemAccess::None,
                ),
                read("/usr"),
                read("/lib"),
                read("/lib64"),
                read("/bin"),
                read("/etc"),
                entry(path(tree.probe.clone()), FileSystemAccess::Read),
                entry(path(tree.bin.clone()), FileSystemAccess::Read),
                entry(path(tree.root.join("suid-id")), FileSystemAccess::Read),
                entry(path(tree.ws()), FileSystemAccess::Read),
                entry(path(tree.ws().join("src")), FileSystemAccess::Write),
                entry(path(tree.ws().join("a")), FileSystemAccess::None),
                entry(path(tree.ws().join("a/b")), FileSystemAccess::Read),
                entry(path(tree.root.join("wt")), FileSystemAccess::Write),
            ],
        },
        network: NetworkSandboxPolicy::Enabled,
        macos: Default::default(),
        glob_scan_max_depth: None,
        git: GitMode::ReadOnly,
    };
    vec![
        ("read-only", legacy(SandboxPolicy::read_only())),
        ("workspace-write", legacy(ww(false, true))),
        ("workspace-write+network", legacy(ww(true, true))),
        ("workspace-write+tmp", legacy(ww(false, false))),
        ("split", split),
        ("split-narrow", split_narrow),
    ]
}

/// One filesystem probe and the path whose access decides it.
struct FsOp {
    json: serde_json::Value,
    /// (path, access needed) pairs that must all hold.
    needs: Vec<(PathBuf, FileSystemAccess)>,
    /// For the per-entry Landlock model: the paths that must be under a read-write rule.
    landlock_writes: Vec<PathBuf>,
}

fn fs_ops(tree: &Tree) -> Vec<FsOp> {
    let ws = tree.ws();
    let root = &tree.root;
    let read = |p: PathBuf| FsOp {
        json: serde_json::json!({"op": "read", "path": p}),
        needs: vec![(p, FileSystemAccess::Read)],
        landlock_writes: vec![],
    };
    let on_file = |op: &str, p: PathBuf| FsOp {
        json: serde_json::json!({"op": op, "path": p}),
        needs: vec![(p.clone(), FileSystemAccess::Write)],
        landlock_writes: vec![p],
    };
    let create = |op: &str, p: PathBuf| FsOp {
        json: serde_json::json!({"op": op, "path": p}),
        needs: vec![(p.clone(), FileSystemAccess::Write)],
        landlock_writes: vec![p.parent().unwrap().to_path_buf()],
    };
    let mut ops = Vec::new();
    let files = [
        ws.join("src/main.rs"),
        ws.join("notes.txt"),
        ws.join(".git/config"),
        ws.join(".git/hooks/pre-commit"),
        ws.join("a/secret.txt"),
        ws.join("a/b/data.txt"),
        ws.join("secret.env"),
        ws.join("gitmeta/wt/HEAD"),
        root.join("outside/file.txt"),
        root.join("wt/work.txt"),
        root.join("wt/.git"),
    ];
    for file in &files {
        ops.push(read(file.clone()));
        for op in ["write", "chmod", "truncate"] {
            ops.push(on_file(op, file.clone()));
        }
    }
    for dir in [
        ws.clone(),
        ws.join(".git"),
        ws.join("a"),
        ws.join("a/b"),
        root.join("outside"),
    ] {
        ops.push(read(dir));
    }
    for (i, dir) in [
        ws.clone(),
        ws.join("src"),
        ws.join(".git"),
        ws.join("a"),
        ws.join("a/b"),
        ws.join("gitmeta/wt"),
        root.join("outside"),
        root.join("wt"),
    ]
    .iter()
    .enumerate()
    {
        ops.push(create("create", dir.join(format!("new-file-{i}"))));
        ops.push(create("mkdir", dir.join(format!("new-dir-{i}"))));
    }
    for name in [".codex", ".agents"] {
        ops.push(create("mkdir", ws.join(name)));
    }
    // /tmp as the policy says.
    let tmp = PathBuf::from(format!(
        "/tmp/codex-conformance-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    ops.push(create("create", tmp));
    ops.push(create("create", root.join("tmpdir/new-file")));
    ops.push(FsOp {
        json: serde_json::json!({"op": "write", "path": ws.join("link-out")}),
        needs: vec![(root.join("outside/file.txt"), FileSystemAccess::Write)],
        landlock_writes: vec![root.join("outside/file.txt")],
    });
    ops.push(FsOp {
        json: serde_json::json!({"op": "hardlink", "path": root.join("outside/file.txt"), "to": ws.join("src/hl")}),
        needs: vec![(root.join("outside/file.txt"), FileSystemAccess::Write), (ws.join("src/hl"), FileSystemAccess::Write)],
        landlock_writes: vec![root.join("outside"), ws.join("src")],
    });
    ops.push(FsOp {
        json: serde_json::json!({"op": "rename", "path": ws.join("victims/v1"), "to": ws.join("victims/v1-renamed")}),
        needs: vec![(ws.join("victims/v1"), FileSystemAccess::Write)],
        landlock_writes: vec![ws.join("victims")],
    });
    for victim in [
        ws.join("victims/v2"),
        ws.join("a/b/v3"),
        ws.join("notes-victim"),
    ] {
        ops.push(FsOp {
            json: serde_json::json!({"op": "unlink", "path": victim}),
            needs: vec![(victim.clone(), FileSystemAccess::Write)],
            landlock_writes: vec![victim.parent().unwrap().to_path_buf()],
        });
    }
    ops
}

/// Escapes by new namespaces and remounting: they must fail wherever writing is denied (run
/// last, since a successful `unshare` changes the probe process).
fn escape_ops(tree: &Tree) -> Vec<(PathBuf, serde_json::Value)> {
    [
        tree.ws().join(".git/config"),
        tree.ws().join("notes.txt"),
        tree.root.join("outside/file.txt"),
    ]
    .into_iter()
    .map(|target| {
        (
            target.clone(),
            serde_json::json!({"op": "escape", "path": target}),
        )
    })
    .collect()
}

fn allowed(policy: &ResolvedPolicy, needs: &[(PathBuf, FileSystemAccess)]) -> bool {
    needs.iter().all(|(path, need)| {
        let has = policy.decide(path).access;
        match need {
            FileSystemAccess::Read => has != FileSystemAccess::None,
            FileSystemAccess::Write => has == FileSystemAccess::Write,
            FileSystemAccess::None => true,
        }
    })
}

/// Runs the probes for one named scenario; returns a description of every mismatch.
fn check(
    user: User,
    route: Route,
    name: &str,
    make: fn(&Tree) -> Vec<(&'static str, SandboxSelection)>,
) -> Vec<String> {
    let tree = Tree::new(user);
    let (_, selection) = make(&tree).into_iter().find(|(n, _)| *n == name).unwrap();
    check_selection(user, route, name, &tree, selection)
}

/// Runs the probes for `selection` in `tree`.
pub(super) fn check_selection(
    user: User,
    route: Route,
    name: &str,
    tree: &Tree,
    selection: SandboxSelection,
) -> Vec<String> {
    let policy = selection.resolve(&tree.ws(), &tree.env(), &HostFs).unwrap();
    let fs = fs_ops(tree);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            drop(stream);
        }
    });
    let echo = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = echo.local_addr().unwrap().port();
    echo.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    // Echoes until this run is over, however long the probes take to get to it.
    let echoing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let still = echoing.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        while still.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((n, from)) = echo.recv_from(&mut buf) {
                let _ = echo.send_to(&buf[..n], from);
            }
        }
    });
    // A service of the host's on an abstract Unix socket (no file: only a network namespace,
    // or Landlock's scope, keeps it out of reach).
    let abstract_name = format!(
        "codex-conformance-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let _abstract = {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&abstract_name).unwrap();
        std::os::unix::net::UnixListener::bind_addr(&addr).unwrap()
    };
    let mut victim = Command::new("sleep").arg("20").spawn().unwrap();
    let shm = PathBuf::from(format!(
        "/dev/shm/codex-conformance-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut ops: Vec<serde_json::Value> = fs.iter().map(|o| o.json.clone()).collect();
    let kernel_ops = [
        ("tcp", serde_json::json!({"op": "tcp", "port": port})),
        ("udp", serde_json::json!({"op": "udp", "port": udp_port})),
        ("unix", serde_json::json!({"op": "unix"})),
        (
            "abstract unix socket",
            serde_json::json!({"op": "abstract", "name": abstract_name}),
        ),
        ("vsock", serde_json::json!({"op": "vsock"})),
        ("raw", serde_json::json!({"op": "raw"})),
        ("io_uring", serde_json::json!({"op": "io_uring"})),
        (
            "ptrace",
            serde_json::json!({"op": "ptrace", "pid": victim.id()}),
        ),
        (
            "mount",
            serde_json::json!({"op": "mount", "path": tree.ws().join("src")}),
        ),
        ("inherited fd 7", serde_json::json!({"op": "fd", "fd": 7})),
        ("no_new_privs", serde_json::json!({"op": "nnp"})),
        // Without any namespace an unprivileged user has no capability, but cannot shrink the
        // bounding set either (that takes CAP_SETPCAP); with no-new-privs, exec cannot gain
        // from it.
        (
            "no capabilities",
            serde_json::json!({"op": "caps", "bounding": !(route == Route::NoNamespaces && user == User::Nobody)}),
        ),
        (
            "/dev/shm",
            serde_json::json!({"op": "create", "path": shm.clone()}),
        ),
        (
            "set-user-ID program",
            match &tree.setuid {
                Some(path) => serde_json::json!({"op": "setuid", "path": path}),
                None => serde_json::json!({"op": "skip"}),
            },
        ),
    ];
    ops.extend(kernel_ops.iter().map(|(_, op)| op.clone()));
    let escapes = escape_ops(tree);
    ops.extend(escapes.iter().map(|(_, op)| op.clone()));
    let request = codex_linux_sandbox::SandboxRequest {
        policy_cwd: tree.ws(),
        command_cwd: tree.ws(),
        selection,
        tty: false,
    };
    let script = "exec 7</etc/hostname; exec \"$@\"";
    let mut command = Command::new("setpriv");
    match user {
        User::Root => command.args(["--reuid=0", "--regid=0", "--keep-groups"]),
        User::Nobody => command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]),
    };
    command
        .args(["--", "sh", "-c", script, "sh"])
        .arg(&tree.bin)
        .arg("--request")
        .arg(serde_json::to_string(&request).unwrap())
        .args(["--", "sh", "-c", "exec \"$0\" \"$@\""])
        .arg(PYTHON)
        .arg(&tree.probe)
        .arg(serde_json::to_string(&ops).unwrap())
        .current_dir(tree.ws())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", tree.root.join("home"))
        .env("TMPDIR", tree.root.join("tmpdir"));
    match route {
        Route::Auto => {}
        Route::Bubblewrap => {
            command.env(codex_linux_sandbox::FORCE_ENV, "bubblewrap");
        }
        Route::BubblewrapBinaryStage => {
            command.env(codex_linux_sandbox::FORCE_ENV, "bubblewrap");
            command.env(codex_linux_sandbox::INNER_STAGE_ENV, "binary");
        }
        Route::Builtin => {
            command.env(codex_linux_sandbox::FORCE_ENV, "builtin");
        }
        Route::NoNamespaces => {
            command.env(codex_linux_sandbox::FORCE_ENV, "no-namespaces");
        }
    }
    let output = command.output().unwrap();
    echoing.store(false, std::sync::atomic::Ordering::Relaxed);
    // What a policy with a writable /tmp let the probe make there is not left behind.
    for op in &fs {
        if let Some(path) = op.json["path"].as_str()
            && path.starts_with("/tmp/codex-conformance-")
        {
            let _ = fs::remove_file(path);
        }
    }
    let _ = victim.kill();
    let _ = victim.wait();
    let label = format!("{name} / {route:?} / {user:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Ok(results) = serde_json::from_str::<Vec<String>>(stdout.trim()) else {
        return vec![format!(
            "{label}: the probe did not report (exit {:?}): {stdout}{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )];
    };
    let per_entry = (route == Route::NoNamespaces)
        .then(|| landlock_plan_per_entry(&policy, &HostFs))
        .flatten();
    let mut problems = Vec::new();
    // A sandbox never grants more than file permissions do: `outside/` is root's, so nobody
    // cannot write there whatever the policy says.
    let dac_denies = |op: &FsOp| {
        user == User::Nobody
            && op.needs.iter().any(|(p, a)| {
                *a == FileSystemAccess::Write && p.starts_with(tree.root.join("outside"))
            })
    };
    for (op, result) in fs.iter().zip(&results) {
        if per_entry.is_some() && op.json["op"] == "chmod" {
            // The stated limit of the no-namespace mode (PER_ENTRY_LIMIT): Landlock does not
            // mediate chmod, so it is not compared there.
            continue;
        }
        let policy_allows = allowed(&policy, &op.needs);
        let model = policy_allows && !dac_denies(op);
        let expected = match &per_entry {
            // Exact but limited: what the per-entry Landlock plan allows, which must never be
            // more than the model allows.
            Some(plan) => {
                let landlock = op.landlock_writes.iter().all(|p| {
                    plan.rules
                        .iter()
                        .any(|r| r.access != LandlockAccess::ReadOnly && p.starts_with(&r.path))
                }) && allowed(
                    &policy,
                    &op.needs
                        .iter()
                        .map(|(p, _)| (p.clone(), FileSystemAccess::Read))
                        .collect::<Vec<_>>(),
                );
                if landlock && !policy_allows {
                    problems.push(format!(
                        "{label}: per-entry plan allows more than the model: {}",
                        op.json
                    ));
                }
                landlock && model
            }
            None => model,
        };
        if (result == "ok") != expected {
            problems.push(format!(
                "{label}: {} gave {result}, model says {}",
                op.json,
                if expected { "allowed" } else { "denied" }
            ));
        }
    }
    let network = policy.network == NetworkSandboxPolicy::Enabled;
    let escape_results = &results[fs.len() + kernel_ops.len()..];
    for ((target, op), result) in escapes.iter().zip(escape_results) {
        if result == "ok" && policy.decide(target).access != FileSystemAccess::Write {
            problems.push(format!(
                "{label}: {op} escaped: a denied path became writable"
            ));
        }
    }
    for ((what, _), result) in kernel_ops.iter().zip(&results[fs.len()..]) {
        if *what == "/dev/shm" {
            // A private /dev (namespace routes) or read-only (Landlock route): either way
            // nothing reaches the host's /dev/shm.
            if shm.exists() {
                let _ = fs::remove_file(&shm);
                problems.push(format!(
                    "{label}: a file created in /dev/shm reached the host"
                ));
            }
            continue;
        }
        if *what == "set-user-ID program" {
            // It must run, as the caller: for root that says nothing, and without a probe that
            // gains root outside, nothing either.
            if user == User::Nobody && tree.setuid.is_some() && result != "NoGain" {
                problems.push(format!(
                    "{label}: the set-user-ID program gave {result}, expected it to run without gaining"
                ));
            }
            continue;
        }
        let expected_ok = match *what {
            "tcp" | "udp" => network,
            // A network namespace keeps it out on the namespace routes; on the Landlock route,
            // the filter's refusal of connect() with the network off.
            "abstract unix socket" => network,
            "unix" | "no_new_privs" | "no capabilities" => true,
            _ => false,
        };
        if (result == "ok") != expected_ok {
            problems.push(format!(
                "{label}: {what} gave {result}, expected {}",
                if expected_ok { "ok" } else { "a denial" }
            ));
        }
    }
    problems
}

fn run_matrix(user: User) {
    if !is_root() {
        println!("SKIP: the conformance suite needs root (it also runs as nobody through setpriv)");
        return;
    }
    for tool in [PYTHON, "/usr/bin/setpriv", "/usr/bin/bwrap"] {
        if !have(tool) {
            println!("SKIP: {tool} is not installed");
            return;
        }
    }
    let mut problems = Vec::new();
    for name in [
        "read-only",
        "workspace-write",
        "workspace-write+network",
        "workspace-write+tmp",
    ] {
        for route in [
            Route::Auto,
            Route::Bubblewrap,
            Route::Builtin,
            Route::NoNamespaces,
        ] {
            problems.extend(check(user, route, name, scenarios));
        }
    }
    for name in ["split", "split-narrow"] {
        problems.extend(check(user, Route::Auto, name, scenarios));
        problems.extend(check(user, Route::Builtin, name, scenarios));
    }
    for name in ["workspace-write", "split"] {
        problems.extend(check(user, Route::BubblewrapBinaryStage, name, scenarios));
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn conformance_as_root() {
    run_matrix(User::Root);
}

#[test]
fn conformance_as_nobody() {
    run_matrix(User::Nobody);
}

/// Entries whose names are not UTF-8 are granted as the policy says, on every route: the
/// per-entry plan grants a writable root's entries one by one, by their names as bytes (the
/// probe's JSON cannot carry such a path, so this is its own test).
#[test]
fn entries_whose_names_are_not_utf8_are_granted_like_any_other() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let mut routes = super::signals::routes();
    routes.push("no-namespaces");
    for route in routes {
        let dir = tempfile::tempdir().unwrap();
        let ws = fs::canonicalize(dir.path()).unwrap();
        let file = ws.join(OsStr::from_bytes(b"caf\xe9.txt"));
        let subdir = ws.join(OsStr::from_bytes(b"d\xff"));
        fs::write(&file, "x").unwrap();
        fs::create_dir(&subdir).unwrap();
        let output = super::mount_points::helper(&ws, route, "echo y >> \"$0\" && : > \"$1/new\"")
            .arg(&file)
            .arg(&subdir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{route}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(fs::read_to_string(&file).unwrap(), "xy\n", "{route}");
        assert!(subdir.join("new").exists(), "{route}");
    }
}
