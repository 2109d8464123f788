//! Property tests: generated patches apply back exactly; arbitrary input never panics.

use super::support::update_patch;
use codex_apply_patch::{apply_patch, parse_patch};
use proptest::prelude::*;
use std::fs;

/// Lines from a small alphabet, so files repeat themselves and differ only in whitespace:
/// the hard cases for locating chunks.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("a ".to_string()),
        Just("  a".to_string()),
        Just("b".to_string()),
        Just(String::new()),
        Just("}".to_string()),
        Just("fn x() {".to_string()),
        Just("caf\u{e9} \u{2014} \u{201c}q\u{201d}".to_string()),
        "[a-z ]{0,12}",
    ]
}

fn file() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(line(), 0..60)
}

/// A random edit of `old`: each line kept, dropped or replaced, with insertions between.
fn edited(old: Vec<String>) -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    let n = old.len();
    (
        prop::collection::vec((0u8..6, prop::collection::vec(line(), 0..3)), n + 1),
        Just(old),
    )
        .prop_map(|(edits, old)| {
            let mut new = Vec::new();
            for (i, (action, inserted)) in edits.into_iter().enumerate() {
                if action == 0 {
                    new.extend(inserted.iter().cloned());
                }
                if let Some(line) = old.get(i) {
                    match action {
                        1 => {}
                        2 => new.push(format!("{line}!")),
                        _ => new.push(line.clone()),
                    }
                }
            }
            (old, new)
        })
}

fn joined(lines: &[String], ending: &str) -> String {
    lines.iter().map(|l| format!("{l}{ending}")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn generated_patch_applies_back_exactly((old, new) in file().prop_flat_map(edited), crlf in any::<bool>()) {
        prop_assume!(old != new);
        let ending = if crlf { "\r\n" } else { "\n" };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, joined(&old, ending)).unwrap();
        let patch = update_patch("f.txt", &old, &new);
        let outcome = apply_patch(&patch, dir.path());
        prop_assert!(outcome.is_ok(), "{:?}\npatch:\n{}", outcome.err(), patch);
        let expected = if old.is_empty() { joined(&new, "\n") } else { joined(&new, ending) };
        prop_assert_eq!(fs::read_to_string(&path).unwrap(), expected, "patch:\n{}", patch);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in ".{0,400}") {
        let _ = parse_patch(&text);
        let _ = parse_patch(&format!("*** Begin Patch\n{text}\n*** End Patch"));
    }

    #[test]
    fn arbitrary_chunks_never_panic_the_engine(
        content in prop::collection::vec(line(), 0..20),
        body in prop::collection::vec(
            prop_oneof![
                line().prop_map(|l| format!(" {l}")),
                line().prop_map(|l| format!("-{l}")),
                line().prop_map(|l| format!("+{l}")),
                line().prop_map(|l| format!("@@ {l}")),
                Just("@@".to_string()),
                Just("*** End of File".to_string()),
                Just(String::new()),
            ],
            0..16,
        ),
        final_newline in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut text = content.join("\n");
        if final_newline { text.push('\n'); }
        fs::write(dir.path().join("f.txt"), &text).unwrap();
        let patch = format!("*** Begin Patch\n*** Update File: f.txt\n{}\n*** End Patch", body.join("\n"));
        if apply_patch(&patch, dir.path()).is_err() {
            prop_assert_eq!(fs::read_to_string(dir.path().join("f.txt")).unwrap(), text);
        }
    }
}
