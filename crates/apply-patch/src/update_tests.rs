use super::*;
use crate::parser::{Hunk, parse_patch};

/// Applies the chunks of an Update hunk written as chunk text (everything after the header).
fn apply(original: &str, chunk_text: &str) -> Result<String, ComputeError> {
    let patch = parse_patch(&format!(
        "*** Begin Patch\n*** Update File: f.txt\n{chunk_text}\n*** End Patch"
    ))
    .unwrap();
    let Hunk::Update { chunks, .. } = &patch.hunks[0] else {
        panic!("not an update");
    };
    apply_chunks(Path::new("/w/f.txt"), original, chunks)
}

fn ok(original: &str, chunk_text: &str) -> String {
    apply(original, chunk_text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn replaces_matched_lines() {
    assert_eq!(ok("a\nb\nc\n", "@@\n a\n-b\n+B\n c"), "a\nB\nc\n");
}

#[test]
fn keeps_crlf_and_mixed_endings() {
    assert_eq!(
        ok("a\r\nb\r\nc\r\n", "@@\n a\n-b\n+B\n+B2"),
        "a\r\nB\r\nB2\r\nc\r\n"
    );
    assert_eq!(ok("a\nb\r\nc\n", "@@\n-c\n+C"), "a\nb\r\nC\n");
    assert_eq!(ok("a\rb\nc\n", "@@\n-b\n+B"), "a\rB\rc\n");
}

#[test]
fn context_lines_keep_the_file_bytes() {
    assert_eq!(ok("  x  \r\ny\n", "@@\n x\n-y\n+z"), "  x  \r\nz\r\n");
    assert_eq!(
        ok("a \u{2014} b\nold\n", "@@\n a - b\n-old\n+new"),
        "a \u{2014} b\nnew\n"
    );
}

#[test]
fn missing_final_newline_stays_missing_unless_lines_are_appended() {
    assert_eq!(ok("a\nb", "@@\n-a\n+A"), "A\nb");
    assert_eq!(ok("a\nb", "@@\n a\n-b\n+B"), "a\nB");
    assert_eq!(ok("a\nb", "@@\n b\n+c"), "a\nb\nc\n");
    assert_eq!(ok("a\nb", "@@\n+c"), "a\nb\nc\n");
    assert_eq!(ok("a\r\nb", "@@\n b\n+c"), "a\r\nb\r\nc\r\n");
    assert_eq!(ok("a\nb", "@@\n a\n-b"), "a\n");
    assert_eq!(ok("", "@@\n+first"), "first\n");
}

#[test]
fn deleting_every_line_leaves_an_empty_file() {
    assert_eq!(ok("a\nb\n", "@@\n-a\n-b"), "");
}

#[test]
fn bom_is_ignored_for_matching_and_kept() {
    assert_eq!(
        ok("\u{feff}first\nsecond\n", "@@\n-first\n+FIRST"),
        "\u{feff}FIRST\nsecond\n"
    );
}

#[test]
fn pure_addition_goes_after_its_context_or_at_the_end() {
    assert_eq!(ok("a\nb\nc\n", "@@ a\n+after a"), "a\nafter a\nb\nc\n");
    assert_eq!(ok("a\nb\n", "@@\n+end"), "a\nb\nend\n");
    assert_eq!(ok("a\nb\n", "@@ a\n+x\n*** End of File"), "a\nb\nx\n");
    // Two appends keep patch order; a later chunk may still edit earlier lines.
    assert_eq!(ok("a\nb\n", "@@\n+1\n@@\n+2\n@@\n-a\n+A"), "A\nb\n1\n2\n");
}

#[test]
fn context_markers_narrow_the_search() {
    let file = "class A:\n  def f():\n    x\nclass B:\n  def f():\n    x\n";
    assert_eq!(
        ok(file, "@@ class B:\n@@   def f():\n-    x\n+    y"),
        "class A:\n  def f():\n    x\nclass B:\n  def f():\n    y\n"
    );
}

#[test]
fn repeated_blocks_are_taken_in_order() {
    assert_eq!(ok("x\nx\nx\n", "@@\n-x\n+1\n@@\n-x\n+2"), "1\n2\nx\n");
}

#[test]
fn end_of_file_prefers_the_last_occurrence() {
    assert_eq!(ok("x\ny\nx\n", "@@\n-x\n+z\n*** End of File"), "x\ny\nz\n");
    assert_eq!(ok("x\ny\n", "@@\n-x\n+z\n*** End of File"), "z\ny\n");
}

#[test]
fn a_trailing_blank_chunk_line_not_in_the_file_is_dropped() {
    assert_eq!(ok("a\nb\n", "@@\n-a\n+A\n"), "A\nb\n");
    assert_eq!(ok("a\n\nb\n", "@@\n-a\n \n+A"), "\nA\nb\n");
}

#[test]
fn not_found_names_the_closest_place_and_first_difference() {
    let error = apply(
        "fn a() {\n    one();\n}\n",
        "@@\n fn a() {\n-    two();\n+    three();",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        error,
        "Failed to find expected lines in /w/f.txt:\nfn a() {\n    two();\nClosest match: line 1 of the file, where 1 of the chunk's 2 lines agree.\nFirst difference at line 2: the chunk expects '    two();' but the file has '    one();'."
    );
}

#[test]
fn not_found_without_any_agreeing_line_shows_the_most_similar_line() {
    let error = apply(
        "let x = compute(1);\nother\n",
        "@@\n-let x = compute(2);\n+y",
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("Closest match: line 1, which differs"),
        "{error}"
    );
    assert!(error.contains("file:  'let x = compute(1);'"), "{error}");
}

#[test]
fn out_of_order_chunks_are_explained() {
    let error = apply("a\nb\nc\n", "@@\n-c\n+C\n@@\n-a\n+A")
        .unwrap_err()
        .to_string();
    assert!(error.contains("chunks must be in file order"), "{error}");
}

#[test]
fn missing_context_is_reported() {
    let error = apply("a\n", "@@ nothing\n-a\n+b").unwrap_err();
    assert!(
        matches!(error, ComputeError::ContextNotFound { ref context, from: 1, .. } if context == "nothing")
    );
}

#[test]
fn a_blank_first_line_of_an_update_is_context() {
    assert_eq!(ok("x\nfoo\n\nx\n", "\n-x\n+X"), "x\nfoo\n\nX\n");
    assert_eq!(ok("x\nfoo\n  \nx\n", "   \n-x\n+X"), "x\nfoo\n  \nX\n");
}

#[test]
fn the_blank_retry_keeps_an_added_blank_line() {
    assert_eq!(ok("x\ny\n", "@@\n x\n+\n"), "x\n\ny\n");
}

#[test]
fn a_bom_in_the_patch_matches_the_files_bom() {
    assert_eq!(
        ok("\u{feff}first\n", "@@\n-\u{feff}first\n+second"),
        "\u{feff}second\n"
    );
}

#[test]
fn appending_after_a_replaced_unterminated_last_line_terminates_it() {
    assert_eq!(ok("a\nb", "@@\n a\n-b\n+B\n@@\n+c"), "a\nB\nc\n");
}

#[test]
fn a_huge_unmatched_line_fails_with_a_hint() {
    let long = "x".repeat(40_000);
    let error = apply(&format!("{long}y\nother\n"), &format!("@@\n-{long}z\n+w"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Closest match: line 1"),
        "{}",
        &error[error.len() - 200..]
    );
}
