use super::*;
use ChunkLine::{Add, Context, Remove};

fn parse(text: &str) -> Patch {
    parse_patch(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn error(text: &str) -> ParseError {
    parse_patch(text).expect_err(text)
}

fn ctx(s: &str) -> ChunkLine {
    Context(s.into())
}
fn rem(s: &str) -> ChunkLine {
    Remove(s.into())
}
fn add(s: &str) -> ChunkLine {
    Add(s.into())
}

fn only_chunks(patch: &Patch) -> &[Chunk] {
    match &patch.hunks[..] {
        [Hunk::Update { chunks, .. }] => chunks,
        other => panic!("{other:?}"),
    }
}

#[test]
fn all_three_hunk_kinds_with_line_numbers() {
    let patch = parse(
        "*** Begin Patch\n*** Add File: new.txt\n+a\n+\n*** Delete File: old.txt\n*** Update File: src/x.rs\n*** Move to: src/y.rs\n@@ fn main\n-a\n+b\n*** End Patch\n",
    );
    assert_eq!(
        patch.hunks,
        vec![
            Hunk::Add {
                path: "new.txt".into(),
                contents: "a\n\n".into(),
                line: 2
            },
            Hunk::Delete {
                path: "old.txt".into(),
                line: 5
            },
            Hunk::Update {
                path: "src/x.rs".into(),
                move_to: Some("src/y.rs".into()),
                chunks: vec![Chunk {
                    contexts: vec!["fn main".into()],
                    lines: vec![rem("a"), add("b")],
                    end_of_file: false,
                    line: 8,
                }],
                line: 6
            },
        ]
    );
}

#[test]
fn first_chunk_may_omit_its_marker_later_ones_may_not() {
    let patch = parse("*** Begin Patch\n*** Update File: f\n a\n-b\n+c\n@@\n d\n+e\n*** End Patch");
    let chunks = only_chunks(&patch);
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].lines, vec![ctx("a"), rem("b"), add("c")]);
    assert!(chunks[0].contexts.is_empty());
    assert_eq!(chunks[1].lines, vec![ctx("d"), add("e")]);
    assert_eq!(
        error("*** Begin Patch\n*** Update File: f\n*** End of File\n-x\n*** End Patch"),
        ParseError::EmptyChunk { line: 3 }
    );
}

#[test]
fn blank_and_whitespace_lines_are_context() {
    let patch = parse("*** Begin Patch\n*** Update File: f\n@@\n a\n\n   \n-b\n*** End Patch");
    assert_eq!(
        only_chunks(&patch)[0].lines,
        vec![ctx("a"), ctx(""), ctx("  "), rem("b")]
    );
}

#[test]
fn end_of_file_marker_ends_the_chunk_and_blank_lines_after_it_are_skipped() {
    let patch = parse(
        "*** Begin Patch\n*** Update File: f\n@@\n-z\n+y\n*** End of File   \n\n@@\n-a\n+b\n*** End Patch",
    );
    let chunks = only_chunks(&patch);
    assert!(chunks[0].end_of_file);
    assert!(!chunks[1].end_of_file);
    assert_eq!(chunks[1].line, 8);
}

#[test]
fn stacked_context_markers_are_collected() {
    let patch = parse(
        "*** Begin Patch\n*** Update File: f\n@@ class A\n@@   def b  \n-x\n+y\n*** End Patch",
    );
    assert_eq!(only_chunks(&patch)[0].contexts, vec!["class A", "  def b"]);
}

#[test]
fn markers_tolerate_surrounding_whitespace_and_crlf() {
    let patch = parse(
        " \u{a0}*** Begin Patch \r\n  *** Add File: a.txt  \r\n+x\r\n*** End Patch\u{3000}\r\n",
    );
    assert_eq!(
        patch.hunks,
        vec![Hunk::Add {
            path: "a.txt".into(),
            contents: "x\n".into(),
            line: 2
        }]
    );
}

#[test]
fn environment_id_preamble() {
    let patch =
        parse("*** Begin Patch\n*** Environment ID:  dev-1 \n*** Delete File: a\n*** End Patch");
    assert_eq!(patch.environment_id.as_deref(), Some("dev-1"));
    assert_eq!(
        error("*** Begin Patch\n*** Environment ID: \n*** Delete File: a\n*** End Patch"),
        ParseError::EmptyEnvironmentId { line: 2 }
    );
    assert_eq!(
        error("*** Begin Patch\n*** Environment ID: a\n*** Environment ID: b\n*** End Patch"),
        ParseError::DuplicateEnvironmentId { line: 3 }
    );
}

#[test]
fn heredoc_wrappers_are_unwrapped() {
    let inner = "*** Begin Patch\n*** Delete File: a\n*** End Patch";
    for (open, close) in [
        ("<<EOF", "EOF"),
        ("<<'EOF'", "EOF"),
        ("<<\"PATCH\"", "PATCH"),
        ("apply_patch <<'END_OF_PATCH'", "END_OF_PATCH"),
        ("applypatch <<X", "  X  "),
    ] {
        let patch = parse(&format!("{open}\n{inner}\n\n{close}\n"));
        assert_eq!(patch.hunks.len(), 1, "{open}");
    }
    assert_eq!(
        error(&format!("<<EOF\n{inner}\nNOTEOF")),
        ParseError::UnterminatedHeredoc {
            opener: "<<EOF".into(),
            delimiter: "EOF".into(),
            last: "NOTEOF".into()
        }
    );
    // Line numbers inside a heredoc count from the inner `*** Begin Patch`.
    assert_eq!(
        error("<<EOF\n*** Begin Patch\n*** Nope\n*** End Patch\nEOF"),
        ParseError::InvalidHunkHeader {
            line: 2,
            found: "*** Nope".into()
        }
    );
}

#[test]
fn heredoc_delimiter_recognition() {
    assert_eq!(heredoc_delimiter("<<EOF"), Some("EOF"));
    assert_eq!(heredoc_delimiter("  << 'E-O.F_1' "), Some("E-O.F_1"));
    assert_eq!(heredoc_delimiter("apply_patch <<\"X\""), Some("X"));
    assert_eq!(heredoc_delimiter("<<'EOF\""), None);
    assert_eq!(heredoc_delimiter("<<"), None);
    assert_eq!(heredoc_delimiter("cat <<EOF"), None);
    assert_eq!(heredoc_delimiter("<<EOF extra"), None);
}

#[test]
fn envelope_errors() {
    assert_eq!(error(""), ParseError::Empty);
    assert_eq!(error(" \n\t "), ParseError::Empty);
    assert_eq!(
        error("*** Add File: a\n+x\n*** End Patch"),
        ParseError::MissingBegin {
            found: "*** Add File: a".into()
        }
    );
    assert_eq!(
        error("*** Begin Patch"),
        ParseError::MissingEnd {
            line: 1,
            found: "*** Begin Patch".into()
        }
    );
    assert_eq!(
        error(
            "*** Begin Patch\n*** Delete File: a\n*** End Patch\n*** Delete File: b\n*** End Patch"
        ),
        ParseError::TextAfterEnd {
            line: 4,
            found: "*** Delete File: b".into(),
            end_line: 3
        }
    );
    parse("*** Begin Patch\n*** Delete File: a\n*** End Patch\n\n*** End Patch\n*** End Patch");
}

#[test]
fn hunk_and_chunk_errors_name_line_and_text() {
    let cases: Vec<(&str, ParseError)> = vec![
        (
            "*** Begin Patch\n\n*** Delete File: a\n*** End Patch",
            ParseError::InvalidHunkHeader {
                line: 2,
                found: "".into(),
            },
        ),
        (
            "*** Begin Patch\n*** Update File: a\n*** End Patch",
            ParseError::EmptyUpdate {
                line: 2,
                path: "a".into(),
            },
        ),
        (
            "*** Begin Patch\n*** Update File: a\n@@\n*** End Patch",
            ParseError::EmptyChunk { line: 4 },
        ),
        (
            "*** Begin Patch\n*** Update File: a\n-x\n*** Nope\n*** End Patch",
            ParseError::MissingChunkMarker {
                line: 4,
                found: "*** Nope".into(),
            },
        ),
        (
            "*** Begin Patch\n*** Update File: a\n@@def x\n-x\n*** End Patch",
            ParseError::InvalidChunkMarker {
                line: 3,
                found: "@@def x".into(),
            },
        ),
        (
            "*** Begin Patch\n*** Update File: a\nx = 1\n*** End Patch",
            ParseError::UnexpectedLine {
                line: 3,
                found: "x = 1".into(),
            },
        ),
        (
            "*** Begin Patch\n*** Update File: a\n*** Move to: \n-x\n*** End Patch",
            ParseError::EmptyMoveTarget { line: 3 },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(error(text), expected, "{text:?}");
    }
}

#[test]
fn messages_show_invisible_characters() {
    let message = error("\u{1f}*** Begin Patch\n*** End Patch").to_string();
    assert!(message.contains("'\\u{1f}*** Begin Patch'"), "{message}");
    let message =
        error("*** Begin Patch\n*** Update File: a\n@@\tx\n-x\n*** End Patch").to_string();
    assert!(message.contains("'@@\\tx'"), "{message}");
}

#[test]
fn add_lines_may_look_like_markers() {
    let patch = parse("*** Begin Patch\n*** Add File: a\n+*** End Patch\n+@@\n*** End Patch");
    assert_eq!(
        patch.hunks,
        vec![Hunk::Add {
            path: "a".into(),
            contents: "*** End Patch\n@@\n".into(),
            line: 2
        }]
    );
}

#[test]
fn indented_header_inside_a_chunk_is_context() {
    let patch = parse("*** Begin Patch\n*** Update File: a\n-x\n *** Add File: z\n*** End Patch");
    assert_eq!(
        only_chunks(&patch)[0].lines,
        vec![rem("x"), ctx("*** Add File: z")]
    );
}

#[test]
fn old_and_new_lines() {
    let chunk = Chunk {
        contexts: vec![],
        lines: vec![ctx("a"), rem("b"), add("c"), ctx("d")],
        end_of_file: false,
        line: 1,
    };
    assert_eq!(chunk.old_lines(), vec!["a", "b", "d"]);
    assert_eq!(chunk.new_lines(), vec!["a", "c", "d"]);
}
