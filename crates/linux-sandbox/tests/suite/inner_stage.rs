//! The inner stage on its own, both ways it runs: the embedded freestanding program, and this
//! binary with `--codex-linux-sandbox-inner`. Each check runs both and expects the same.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

include!("../../stage_rustc.rs");

/// Landlock ABI 1 masks (every Landlock kernel accepts them): all 13 rights handled; read =
/// execute, read file, read dir; on a file = execute, write file, read file.
const ABI1_MASKS: [&str; 3] = ["8191", "13", "7"];

/// A filter that allows everything: `ret SECCOMP_RET_ALLOW`, as a `sock_filter` in hex.
const ALLOW_ALL: &str = "060000000000ff7f";

struct Stages {
    _dir: tempfile::TempDir,
    root: PathBuf,
    embedded: PathBuf,
}

impl Stages {
    fn new() -> Stages {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        let embedded = root.join("stage");
        fs::write(&embedded, codex_linux_sandbox::embedded_inner_stage()).unwrap();
        fs::set_permissions(&embedded, fs::Permissions::from_mode(0o755)).unwrap();
        Stages {
            _dir: dir,
            root,
            embedded,
        }
    }

    /// The stage's argv prefixes, both ways.
    fn commands(&self) -> Vec<Vec<String>> {
        let mut commands = vec![vec![
            env!("CARGO_BIN_EXE_codex-linux-sandbox").to_owned(),
            codex_linux_sandbox::INNER_FLAG.to_owned(),
        ]];
        if !codex_linux_sandbox::embedded_inner_stage().is_empty() {
            commands.push(vec![self.embedded.to_str().unwrap().to_owned()]);
        }
        commands
    }

    /// [`Stages::commands`], and the stage built for the other architecture under qemu when
    /// that can be had: for checks that need neither Landlock nor seccomp, which qemu's
    /// user-mode emulator may not offer.
    fn commands_everywhere(&self) -> Vec<Vec<String>> {
        let mut commands = self.commands();
        commands.extend(cross_stage().map(<[String]>::to_vec));
        commands
    }

    /// Runs the stage with `args` both ways: (stage, output) pairs.
    fn run(&self, args: &[&str], env: &[(&str, &Path)]) -> Vec<(String, Output)> {
        self.run_with(self.commands(), args, env)
    }

    /// [`Stages::run`] over [`Stages::commands_everywhere`].
    fn run_everywhere(&self, args: &[&str], env: &[(&str, &Path)]) -> Vec<(String, Output)> {
        self.run_with(self.commands_everywhere(), args, env)
    }

    fn run_with(
        &self,
        commands: Vec<Vec<String>>,
        args: &[&str],
        env: &[(&str, &Path)],
    ) -> Vec<(String, Output)> {
        commands
            .into_iter()
            .map(|stage| {
                let mut command = Command::new(&stage[0]);
                command.args(&stage[1..]).args(args).current_dir(&self.root);
                for (name, value) in env {
                    command.env(name, value);
                }
                (stage.join(" "), command.output().unwrap())
            })
            .collect()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The inner stage built for the other architecture the sandbox supports (aarch64 on an x86_64
/// host, and the reverse), as the argv prefix that runs it under qemu's user-mode emulator: its
/// entry code, system-call numbers and argument handling, which no native run reaches. `None`
/// without that Rust target, a cross linker or qemu (`rustup target add`, Debian's
/// `gcc-aarch64-linux-gnu` and `qemu-user-static`; `scripts/test` installs them).
fn cross_stage() -> Option<&'static [String]> {
    static STAGE: OnceLock<Option<(tempfile::TempDir, Vec<String>)>> = OnceLock::new();
    STAGE
        .get_or_init(build_cross_stage)
        .as_ref()
        .map(|(_, argv)| argv.as_slice())
}

fn build_cross_stage() -> Option<(tempfile::TempDir, Vec<String>)> {
    let (arch, gnu) = if cfg!(target_arch = "x86_64") {
        ("aarch64", "aarch64-linux-gnu")
    } else if cfg!(target_arch = "aarch64") {
        ("x86_64", "x86_64-linux-gnu")
    } else {
        return None;
    };
    let on_path = |name: &str| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    };
    let qemu =
        on_path(&format!("qemu-{arch}-static")).or_else(|| on_path(&format!("qemu-{arch}")))?;
    let linker = on_path(&format!("{gnu}-gcc"))?;
    let target = format!("{arch}-unknown-linux-gnu");
    let libdir = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", &target])
        .output()
        .ok()?;
    if !Path::new(text(&libdir.stdout).trim()).is_dir() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join(format!("stage-{arch}"));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/stage_main.rs");
    let output = stage_rustc(&target, &source, &program)
        .arg("-C")
        .arg(format!("linker={}", linker.display()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the inner stage did not build for {target}: {}",
        text(&output.stderr)
    );
    let argv = [qemu.as_path(), program.as_path()].map(|p| p.to_str().unwrap().to_owned());
    Some((dir, argv.to_vec()))
}

#[test]
fn the_embedded_stage_is_built_where_the_sandbox_runs() {
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        let program = codex_linux_sandbox::embedded_inner_stage();
        assert!(
            program.starts_with(b"\x7fELF"),
            "no embedded stage was built"
        );
        assert!(program.len() < 64 * 1024, "{} bytes", program.len());
    }
}

#[test]
fn landlock_rules_bound_what_the_command_may_write() {
    if codex_linux_sandbox::host_facts(&[]).landlock_abi == 0 {
        println!("SKIP: Landlock is not enabled on this kernel");
        return;
    }
    let stages = Stages::new();
    let (w, r) = (stages.root.join("w"), stages.root.join("r"));
    fs::create_dir_all(&w).unwrap();
    fs::create_dir_all(&r).unwrap();
    fs::write(r.join("file"), "kept\n").unwrap();
    fs::write(r.join("open"), "").unwrap();
    fs::create_dir_all(r.join("dir")).unwrap();
    fs::write(r.join("dir/e"), "").unwrap();
    let script = "echo x > w/new && echo wrote; (echo y > r/new) 2>/dev/null || echo denied; \
                  cat r/file; (echo z >> r/file) 2>/dev/null || echo denied; \
                  echo q >> r/open && echo appended; \
                  echo a >> r/dir/e && echo appended; (echo b > r/dir/new) 2>/dev/null || echo denied";
    let mut args = vec!["--landlock"];
    args.extend(ABI1_MASKS);
    let (w_text, missing, open) = (
        w.to_str().unwrap().to_owned(),
        stages.root.join("missing").to_str().unwrap().to_owned(),
        r.join("open").to_str().unwrap().to_owned(),
    );
    args.extend(["--read", "/", "--write", &w_text, "--write", &missing]);
    // A rule on a file carries only the rights a file can have; `--write-file` gives those
    // alone, also to a directory (files in it can be written, none created).
    let dir = r.join("dir").to_str().unwrap().to_owned();
    args.extend(["--write", &open, "--write-file", &dir]);
    args.extend(["--", "sh", "-c", script]);
    for (label, output) in stages.run(&args, &[]) {
        assert_eq!(
            text(&output.stdout),
            "wrote\ndenied\nkept\ndenied\nappended\nappended\ndenied\n",
            "{label}: {}",
            text(&output.stderr)
        );
        assert!(output.status.success(), "{label}");
    }
    assert_eq!(fs::read_to_string(r.join("file")).unwrap(), "kept\n");
    assert!(!r.join("new").exists());
    assert!(!r.join("dir/new").exists());
}

#[test]
fn the_command_runs_without_privileges_or_inherited_descriptors() {
    let stages = Stages::new();
    let script = "grep -E '^(NoNewPrivs|Seccomp|CapEff|CapPrm|CapAmb):' /proc/self/status; \
                  ls /proc/self/fd | tr '\\n' ' '";
    // Descriptor 7 is open when the stage starts; the command must not get it.
    let wrapper = "exec 7</etc/hostname; exec \"$@\"";
    for stage in stages.commands() {
        let mut command = Command::new("sh");
        command.args(["-c", wrapper, "sh"]).args(&stage);
        command.args(["--seccomp", ALLOW_ALL, "--", "sh", "-c", script]);
        let output = command.output().unwrap();
        let stdout = text(&output.stdout);
        for line in [
            "NoNewPrivs:\t1",
            "Seccomp:\t2",
            "CapEff:\t0000000000000000",
            "CapPrm:\t0000000000000000",
            "CapAmb:\t0000000000000000",
        ] {
            assert!(stdout.contains(line), "{stage:?}: no {line:?} in {stdout}");
        }
        // 0-2, and the directory `ls` itself opens.
        assert_eq!(stdout.lines().last(), Some("0 1 2 3 "), "{stage:?}");
    }
}

#[test]
fn commands_are_found_and_run_the_way_execvp_runs_them() {
    let stages = Stages::new();
    let bin = stages.root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    // No `#!`: the kernel cannot run it, so it runs under /bin/sh.
    let script = bin.join("script");
    fs::write(&script, "echo script \"$0\" \"$@\"\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let path = Path::new(&path);
    let script_text = script.to_str().unwrap();
    let cases: Vec<(Vec<&str>, i32, String, &str)> = vec![
        (vec!["--", "sh", "-c", "exit 3"], 3, String::new(), ""),
        (
            vec!["--", "script", "a b"],
            0,
            format!("script {script_text} a b\n"),
            "",
        ),
        (
            vec!["--", script_text, "c"],
            0,
            format!("script {script_text} c\n"),
            "",
        ),
        (
            vec!["--", "no-such-command-here"],
            127,
            String::new(),
            "codex-linux-sandbox: could not run no-such-command-here: No such file or directory (os error 2)\n",
        ),
    ];
    for (args, code, stdout, stderr) in &cases {
        for (label, output) in stages.run_everywhere(args, &[("PATH", path)]) {
            assert_eq!(output.status.code(), Some(*code), "{label} {args:?}");
            assert_eq!(&text(&output.stdout), stdout, "{label} {args:?}");
            assert_eq!(text(&output.stderr), *stderr, "{label} {args:?}");
        }
    }
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    // Without an execute bit, not even root may execute it.
    for (label, output) in stages.run_everywhere(&["--", script_text], &[]) {
        assert_eq!(output.status.code(), Some(127), "{label}");
        assert!(
            text(&output.stderr).ends_with("Permission denied (os error 13)\n"),
            "{label}: {}",
            text(&output.stderr)
        );
    }
}

#[test]
fn bad_arguments_are_refused_before_anything_runs() {
    let stages = Stages::new();
    let marker = stages.root.join("ran");
    let marker_text = marker.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--bogus", "--"], "unexpected argument --bogus"),
        (
            &["--landlock", "1", "x", "3", "--"],
            "--landlock needs three decimal masks",
        ),
        (
            &["--seccomp", "zz", "--"],
            "--seccomp is not a whole filter in hex",
        ),
        (
            &["--seccomp", "0600", "--"],
            "--seccomp is not a whole filter in hex",
        ),
        (&["--read"], "missing value after --read"),
    ];
    for (args, message) in cases {
        let mut args = args.to_vec();
        if args.last() == Some(&"--") {
            args.extend(["touch", marker_text]);
        }
        for (label, output) in stages.run_everywhere(&args, &[]) {
            assert_eq!(output.status.code(), Some(125), "{label} {args:?}");
            assert_eq!(
                text(&output.stderr),
                format!("codex-linux-sandbox: {message}\n"),
                "{label} {args:?}"
            );
            assert!(!marker.exists(), "{label} {args:?} ran the command");
        }
    }
    for (label, output) in stages.run_everywhere(&["--"], &[]) {
        assert_eq!(output.status.code(), Some(125), "{label}");
        assert_eq!(
            text(&output.stderr),
            "codex-linux-sandbox: no command given\n"
        );
    }
}

/// Where memfds may not be executed (`vm.memfd_noexec = 2`, set here in a pid namespace of
/// its own so the host keeps its setting), the binary runs the stage and the sandbox works.
#[test]
fn where_memfds_cannot_be_executed_the_binary_runs_the_stage() {
    use super::conformance::{have, is_root};
    if !is_root() || !have("/usr/bin/unshare") || !have("/usr/bin/bwrap") {
        println!("SKIP: needs root, unshare(1) and bubblewrap");
        return;
    }
    if !Path::new("/proc/sys/vm/memfd_noexec").exists() {
        println!("SKIP: this kernel has no vm.memfd_noexec (before Linux 6.3)");
        return;
    }
    let host_setting = fs::read_to_string("/proc/sys/vm/memfd_noexec").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = fs::canonicalize(dir.path()).unwrap();
    fs::create_dir_all(ws.join(".git")).unwrap();
    fs::write(ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let output = Command::new("/usr/bin/unshare")
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c"])
        .arg("echo 2 > /proc/sys/vm/memfd_noexec && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_codex-linux-sandbox"))
        .arg("--request")
        .arg(super::mount_points::workspace_write_request(&ws))
        .args([
            "--",
            "sh",
            "-c",
            "touch made; grep '^Seccomp:' /proc/self/status",
        ])
        .env(codex_linux_sandbox::FORCE_ENV, "bubblewrap")
        .current_dir(&ws)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "Seccomp:\t2\n", "{output:?}");
    assert!(ws.join("made").exists());
    let now = fs::read_to_string("/proc/sys/vm/memfd_noexec").unwrap();
    assert_eq!(now, host_setting, "the host's setting changed");
}

/// The stage built for the other architecture, under qemu: no privileges or inherited
/// descriptors left, and Landlock either enforced or refused (qemu may not pass its system
/// calls through: then the stage must fail closed, not run the command unconfined).
#[test]
fn the_stage_for_the_other_architecture_runs_under_qemu() {
    let Some(stage) = cross_stage() else {
        println!("SKIP: no Rust target, cross linker or qemu for the other architecture");
        return;
    };
    let script = "grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd):' /proc/self/status; \
                  ls /proc/self/fd | tr '\\n' ' '";
    let wrapper = "exec 7</etc/hostname; exec \"$@\"";
    let output = Command::new("sh")
        .args(["-c", wrapper, "sh"])
        .args(stage)
        .args(["--", "sh", "-c", script])
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout} {}", text(&output.stderr));
    for line in [
        "NoNewPrivs:\t1",
        "CapEff:\t0000000000000000",
        "CapPrm:\t0000000000000000",
        "CapBnd:\t0000000000000000",
    ] {
        assert!(stdout.contains(line), "no {line:?} in {stdout}");
    }
    assert_eq!(stdout.lines().last(), Some("0 1 2 3 "));

    let stages = Stages::new();
    let w = stages.root.join("w");
    fs::create_dir_all(&w).unwrap();
    let w_text = w.to_str().unwrap();
    let mut args: Vec<&str> = stage.iter().map(String::as_str).skip(1).collect();
    args.push("--landlock");
    args.extend(ABI1_MASKS);
    args.extend(["--read", "/", "--write", w_text, "--", "sh", "-c"]);
    args.push("echo x > w/in && (echo y > outside) 2>/dev/null; echo done");
    let output = Command::new(&stage[0])
        .args(&args)
        .current_dir(&stages.root)
        .output()
        .unwrap();
    match output.status.code() {
        Some(0) => {
            assert_eq!(text(&output.stdout), "done\n");
            assert!(w.join("in").exists() && !stages.root.join("outside").exists());
        }
        Some(125) => {
            let stderr = text(&output.stderr);
            assert!(stderr.contains("Landlock"), "{stderr}");
            assert!(!w.join("in").exists(), "refused, yet the command ran");
        }
        code => panic!("{code:?}: {}", text(&output.stderr)),
    }
}
