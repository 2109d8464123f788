use super::*;

fn matcher<'a>(lines: &[&'a str]) -> Matcher<'a> {
    Matcher::new(lines.to_vec())
}

#[test]
fn exact_match_searches_forward_from_the_cursor() {
    let mut m = matcher(&["a", "b", "a", "b"]);
    assert_eq!(m.find(&["a", "b"], 0, false), Some(0));
    assert_eq!(m.find(&["a", "b"], 1, false), Some(2));
    assert_eq!(m.find(&["a", "b"], 3, false), None);
}

#[test]
fn each_level_forgives_a_little_more() {
    let mut m = matcher(&[
        "x",
        "  spaced  ",
        "tail   ",
        "em\u{2014}dash \u{201c}q\u{201d}",
    ]);
    assert_eq!(m.find(&["tail"], 0, false), Some(2), "trailing whitespace");
    assert_eq!(
        m.find(&["spaced"], 0, false),
        Some(1),
        "surrounding whitespace"
    );
    assert_eq!(m.find(&["em-dash \"q\""], 0, false), Some(3), "punctuation");
    assert_eq!(
        m.find(&["Em-dash \"q\""], 0, false),
        None,
        "case is never forgiven"
    );
}

#[test]
fn a_stricter_match_later_beats_a_lenient_one_earlier() {
    let mut m = matcher(&["foo  ", "bar", "foo", "bar"]);
    assert_eq!(m.find(&["foo", "bar"], 0, false), Some(2));
}

#[test]
fn inner_whitespace_is_never_forgiven() {
    let mut m = matcher(&["a  b", "a\tb"]);
    assert_eq!(m.find(&["a b"], 0, false), None);
}

#[test]
fn every_mapped_character_reads_as_ascii() {
    for c in [
        '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}',
    ] {
        assert_eq!(normalize(Level::Punctuation, &format!("a{c}b")), "a-b");
    }
    for c in ['\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'] {
        assert_eq!(normalize(Level::Punctuation, &format!("{c}x")), "'x");
    }
    for c in ['\u{201C}', '\u{201D}', '\u{201E}', '\u{201F}'] {
        assert_eq!(normalize(Level::Punctuation, &format!("x{c}")), "x\"");
    }
    for c in [
        '\u{00A0}', '\u{2002}', '\u{2005}', '\u{200A}', '\u{202F}', '\u{205F}', '\u{3000}',
    ] {
        assert_eq!(normalize(Level::Punctuation, &format!("a{c}b")), "a b");
    }
    for c in [
        '\u{2026}', '\u{200B}', '\u{2032}', '\u{00AB}', '\u{FF0D}', '\u{2000}',
    ] {
        let text = format!("a{c}b");
        assert_eq!(normalize(Level::Punctuation, &text), text, "{c:?} stays");
    }
}

#[test]
fn prefer_end_tries_the_last_lines_first_then_falls_back() {
    let mut m = matcher(&["x", "end", "y", "end"]);
    assert_eq!(m.find(&["end"], 0, true), Some(3));
    let mut m = matcher(&["x", "end", "y"]);
    assert_eq!(
        m.find(&["end"], 0, true),
        Some(1),
        "falls back to a forward search"
    );
    // The end position must not lie before the cursor.
    let mut m = matcher(&["a", "b"]);
    assert_eq!(m.find(&["b"], 2, true), None);
}

#[test]
fn empty_and_oversized_patterns() {
    let mut m = matcher(&["a", "b"]);
    assert_eq!(m.find(&[], 1, false), Some(1));
    assert_eq!(m.find(&[], 1, true), Some(2));
    assert_eq!(m.find(&["a", "b", "c"], 0, false), None);
}

/// Beyond the direct window the indexed search must give the same answers as a plain scan.
#[test]
fn indexed_search_agrees_with_a_plain_scan() {
    let lines: Vec<String> = (0..3000)
        .map(|i| match i % 7 {
            0 => format!("  item {}  ", i % 50),
            1 => "}".to_string(),
            2 => String::new(),
            _ => format!("item {}", i % 50),
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut m = matcher(&refs);
    let plain = |pattern: &[&str], from: usize| {
        LEVELS.iter().find_map(|&level| {
            (from..=refs.len().saturating_sub(pattern.len())).find(|&s| {
                pattern
                    .iter()
                    .zip(&refs[s..])
                    .all(|(p, l)| level_eq(level, p, l))
            })
        })
    };
    for (pattern, from) in [
        (vec!["item 3", "item 4"], 0),
        (vec!["item 3", "item 4"], 1000),
        (vec!["item 0", "}", ""], 500),
        (vec!["}", "", "item 3"], 2900),
        (vec!["item 49", "item 0"], 0),
        (vec!["nope"], 0),
    ] {
        assert_eq!(
            m.find(&pattern, from, false),
            plain(&pattern, from),
            "{pattern:?} from {from}"
        );
    }
}

#[test]
fn closest_candidate_prefers_the_most_agreeing_lines_after_the_cursor() {
    let m = matcher(&["fn a() {", "    one();", "}", "fn b() {", "    two();", "}"]);
    let candidate = m.closest(&["fn b() {", "    three();", "}"], 0).unwrap();
    assert_eq!(
        candidate,
        Candidate {
            start: 3,
            agreeing: 2,
            first_difference: Some(1)
        }
    );
    let before = m.closest(&["fn a() {", "    one();"], 3).unwrap();
    assert_eq!(
        before.start, 0,
        "falls back to candidates before the cursor"
    );
    assert_eq!(m.closest(&["zzz"], 0), None);
}
