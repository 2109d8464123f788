use super::*;

const PATCH: &str = "*** Begin Patch\n*** Add File: a.txt\n+hello\n*** End Patch";

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn body(script: &str) -> ApplyPatchArgs {
    match maybe_parse_apply_patch(&argv(&["bash", "-lc", script])) {
        MaybeApplyPatch::Body(args) => args,
        other => panic!("{script:?}: expected a patch, got {other:?}"),
    }
}

fn not_a_patch(script: &str) {
    assert_eq!(
        maybe_parse_apply_patch(&argv(&["bash", "-lc", script])),
        MaybeApplyPatch::NotApplyPatch,
        "{script:?}"
    );
}

#[test]
fn direct_argv_forms() {
    for program in ["apply_patch", "applypatch", "/usr/local/bin/apply_patch"] {
        match maybe_parse_apply_patch(&argv(&[program, PATCH])) {
            MaybeApplyPatch::Body(args) => {
                assert_eq!(args.patch, PATCH);
                assert_eq!(args.hunks.len(), 1);
                assert_eq!(args.workdir, None);
            }
            other => panic!("{program}: {other:?}"),
        }
    }
}

#[test]
fn heredoc_with_each_quoting_style() {
    for opener in ["<<'EOF'", "<<\"EOF\"", "<<EOF", "<<'PATCH'"] {
        let delimiter = opener.trim_start_matches("<<").trim_matches(['\'', '"']);
        let script = format!("apply_patch {opener}\n{PATCH}\n{delimiter}\n");
        let args = body(&script);
        assert_eq!(args.patch, PATCH, "{opener}");
        assert_eq!(args.workdir, None);
    }
}

#[test]
fn body_is_literal_and_loses_only_trailing_newlines() {
    let patch = "*** Begin Patch\n*** Add File: s.sh\n+echo \"$HOME\" `id` \\n\n*** End Patch";
    let args = body(&format!("apply_patch <<'EOF'\n{patch}\n\n\nEOF"));
    assert_eq!(args.patch, patch);
}

#[test]
fn cd_prefix_sets_workdir() {
    for (cd, dir) in [
        ("cd sub", "sub"),
        ("cd 'a b'", "a b"),
        ("cd \"x/y\"", "x/y"),
        ("cd ../up", "../up"),
    ] {
        let args = body(&format!("{cd} && apply_patch <<'EOF'\n{PATCH}\nEOF\n"));
        assert_eq!(args.workdir.as_deref(), Some(dir), "{cd}");
        assert_eq!(args.patch, PATCH);
    }
}

#[test]
fn anything_more_is_not_a_patch() {
    let heredoc = format!("<<'EOF'\n{PATCH}\nEOF");
    for script in [
        format!("echo hi; apply_patch {heredoc}"),
        format!("apply_patch {heredoc}\necho done"),
        format!("cd a || apply_patch {heredoc}"),
        format!("cd a; apply_patch {heredoc}"),
        format!("cd a && cd b && apply_patch {heredoc}"),
        format!("cd $HOME && apply_patch {heredoc}"),
        format!("cd \"$HOME\" && apply_patch {heredoc}"),
        format!("cd ~/x && apply_patch {heredoc}"),
        format!("cd a b && apply_patch {heredoc}"),
        format!("apply_patch extra {heredoc}"),
        format!("FOO=1 apply_patch {heredoc}"),
        format!("(apply_patch {heredoc})"),
        format!("apply_patch {heredoc} | cat"),
        format!("apply_patch {heredoc} > out"),
        format!("apply_patch <<-'EOF'\n{PATCH}\nEOF"),
        format!("patch {heredoc}"),
        "apply_patch < patch.txt".to_string(),
        "apply_patch".to_string(),
        "ls -la".to_string(),
    ] {
        not_a_patch(&script);
    }
}

#[test]
fn shells_and_flags() {
    let script = format!("apply_patch <<'EOF'\n{PATCH}\nEOF");
    for prefix in [
        vec!["bash", "-lc"],
        vec!["/bin/bash", "-c"],
        vec!["zsh", "-lc"],
        vec!["sh", "-c"],
        vec!["pwsh", "-Command"],
        vec!["powershell.exe", "-NoProfile", "-command"],
        vec!["cmd", "/c"],
    ] {
        let mut command = argv(&prefix);
        command.push(script.clone());
        assert!(
            matches!(maybe_parse_apply_patch(&command), MaybeApplyPatch::Body(_)),
            "{prefix:?}"
        );
    }
    for prefix in [vec!["bash", "-x"], vec!["fish", "-c"], vec!["bash"]] {
        let mut command = argv(&prefix);
        command.push(script.clone());
        assert_eq!(
            maybe_parse_apply_patch(&command),
            MaybeApplyPatch::NotApplyPatch,
            "{prefix:?}"
        );
    }
}

#[test]
fn bad_patch_in_a_real_call_is_a_parse_error() {
    let result = maybe_parse_apply_patch(&argv(&["apply_patch", "*** Begin Patch\nfoo"]));
    assert!(
        matches!(
            result,
            MaybeApplyPatch::PatchParseError(ParseError::MissingEnd { .. })
        ),
        "{result:?}"
    );
}

#[test]
fn implicit_invocation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for command in [argv(&[PATCH]), argv(&["bash", "-lc", PATCH])] {
        assert!(matches!(
            maybe_parse_apply_patch_verified(&command, dir.path()),
            MaybeApplyPatchVerified::CorrectnessError(CorrectnessError::ImplicitInvocation)
        ));
    }
}

#[test]
fn verified_reports_changes_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/old.txt"), "one\ntwo\n").unwrap();
    std::fs::write(dir.path().join("sub/gone.txt"), "bye\n").unwrap();
    let patch = "*** Begin Patch\n*** Add File: new.txt\n+n\n*** Delete File: gone.txt\n*** Update File: old.txt\n*** Move to: moved.txt\n@@\n one\n-two\n+2\n*** End Patch";
    let script = format!("cd sub && apply_patch <<'EOF'\n{patch}\nEOF\n");
    let action =
        match maybe_parse_apply_patch_verified(&argv(&["bash", "-lc", &script]), dir.path()) {
            MaybeApplyPatchVerified::Body(action) => action,
            other => panic!("{other:?}"),
        };
    let sub = dir.path().join("sub");
    assert_eq!(action.cwd, sub);
    assert_eq!(action.patch, patch);
    assert_eq!(
        action.changes,
        vec![
            (
                sub.join("old.txt"),
                PatchChange::Update {
                    unified_diff: "@@ -1,2 +1,2 @@\n one\n-two\n+2\n".into(),
                    move_path: Some(sub.join("moved.txt")),
                    new_content: "one\n2\n".into(),
                }
            ),
            (
                sub.join("new.txt"),
                PatchChange::Add {
                    content: "n\n".into()
                }
            ),
            (
                sub.join("gone.txt"),
                PatchChange::Delete {
                    content: "bye\n".into()
                }
            ),
        ]
    );
    assert!(!sub.join("new.txt").exists());
    assert!(sub.join("gone.txt").exists());
    assert_eq!(
        std::fs::read_to_string(sub.join("old.txt")).unwrap(),
        "one\ntwo\n"
    );
}

#[test]
fn verification_sees_earlier_hunks_of_the_same_patch() {
    let dir = tempfile::tempdir().unwrap();
    let patch = "*** Begin Patch\n*** Add File: f.txt\n+a\n*** Update File: f.txt\n@@\n-a\n+b\n*** End Patch";
    match maybe_parse_apply_patch_verified(&argv(&["apply_patch", patch]), dir.path()) {
        MaybeApplyPatchVerified::Body(action) => assert_eq!(
            action.changes,
            vec![(
                dir.path().join("f.txt"),
                PatchChange::Add {
                    content: "b\n".into()
                }
            )]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn verification_errors_come_back_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), "x\n").unwrap();
    let patch = "*** Begin Patch\n*** Add File: new.txt\n+n\n*** Update File: f.txt\n@@\n-nope\n+y\n*** End Patch";
    match maybe_parse_apply_patch_verified(&argv(&["apply_patch", patch]), dir.path()) {
        MaybeApplyPatchVerified::CorrectnessError(CorrectnessError::Patch(error)) => {
            assert!(
                error
                    .to_string()
                    .starts_with("Failed to find expected lines in"),
                "{error}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(!dir.path().join("new.txt").exists());
}

#[test]
fn scripts_bash_would_read_differently_are_not_patches() {
    // bash ends this heredoc at the first `+X`, then runs `touch`.
    not_a_patch(
        "apply_patch <<+X\n*** Begin Patch\n*** Update File: f\n@@\n+${x:-\n+X\n touch /tmp/pwned\n+}\n*** End Patch\n+X",
    );
    // bash needs the end line to be the delimiter alone.
    not_a_patch(&format!("apply_patch <<'EOF'\n{PATCH}\n  EOF"));
    not_a_patch(&format!("apply_patch <<'EOF'\n{PATCH}\nEOF "));
    // `cd -` goes to $OLDPWD, `cd -P` is an option.
    not_a_patch(&format!("cd - && apply_patch <<'EOF'\n{PATCH}\nEOF"));
    not_a_patch(&format!("cd -P && apply_patch <<'EOF'\n{PATCH}\nEOF"));
}

#[test]
fn the_workdir_is_resolved_physically() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("real/sub")).unwrap();
    std::os::unix::fs::symlink("real/sub", dir.path().join("ln")).unwrap();
    let patch = "*** Begin Patch\n*** Add File: ../x.txt\n+x\n*** End Patch";
    let script = format!("cd ln && apply_patch <<'EOF'\n{patch}\nEOF");
    match maybe_parse_apply_patch_verified(&argv(&["bash", "-lc", &script]), dir.path()) {
        MaybeApplyPatchVerified::Body(action) => {
            let real = std::fs::canonicalize(dir.path()).unwrap();
            assert_eq!(action.cwd, real.join("real/sub"));
            assert_eq!(action.changes[0].0, real.join("real/x.txt"));
        }
        other => panic!("{other:?}"),
    }
}
