//! A text file as lines that remember their own terminators, so an edit can keep CRLF, mixed
//! endings, a missing final newline and a leading BOM exactly as they were.

pub(crate) const BOM: char = '\u{feff}';

/// One line: its text (what matching sees) and its terminator (`"\n"`, `"\r\n"`, `"\r"`, or
/// `""` for a last line without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    pub text: &'a str,
    pub terminator: &'a str,
}

/// A file split into lines. A lone `\r` counts as a terminator, like CRLF and LF.
#[derive(Debug)]
pub(crate) struct TextFile<'a> {
    pub bom: bool,
    pub lines: Vec<Line<'a>>,
    /// The terminator new lines get: the file's first one, or `\n` when it has none.
    pub preferred: &'a str,
}

impl<'a> TextFile<'a> {
    pub fn parse(content: &'a str) -> Self {
        let (bom, body) = match content.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, content),
        };
        let bytes = body.as_bytes();
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(offset) = memchr::memchr2(b'\n', b'\r', &bytes[start..]) {
            let i = start + offset;
            let terminator_len = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            lines.push(Line {
                text: &body[start..i],
                terminator: &body[i..i + terminator_len],
            });
            start = i + terminator_len;
        }
        if start < body.len() {
            lines.push(Line {
                text: &body[start..],
                terminator: "",
            });
        }
        let preferred = lines
            .iter()
            .map(|l| l.terminator)
            .find(|t| !t.is_empty())
            .unwrap_or("\n");
        TextFile {
            bom,
            lines,
            preferred,
        }
    }

    /// Whether the last line lacks a terminator (false for an empty file).
    pub fn missing_final_newline(&self) -> bool {
        self.lines.last().is_some_and(|l| l.terminator.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(content: &str) -> Vec<(&str, &str)> {
        TextFile::parse(content)
            .lines
            .iter()
            .map(|l| (l.text, l.terminator))
            .collect()
    }

    #[test]
    fn splits_on_every_terminator_kind() {
        assert_eq!(
            shape("a\r\nb\nc\rd"),
            vec![("a", "\r\n"), ("b", "\n"), ("c", "\r"), ("d", "")]
        );
    }

    #[test]
    fn final_newline_does_not_make_an_extra_line() {
        assert_eq!(shape("a\n"), vec![("a", "\n")]);
        assert_eq!(shape("a\n\n"), vec![("a", "\n"), ("", "\n")]);
        assert!(shape("").is_empty());
    }

    #[test]
    fn preferred_terminator_is_the_first_one() {
        assert_eq!(TextFile::parse("a\rb\nc\n").preferred, "\r");
        assert_eq!(TextFile::parse("a\r\nb\n").preferred, "\r\n");
        assert_eq!(TextFile::parse("no newline").preferred, "\n");
    }

    #[test]
    fn bom_is_split_off_and_rejoined() {
        let file = TextFile::parse("\u{feff}first\n");
        assert!(file.bom);
        assert_eq!(file.lines[0].text, "first");
    }

    #[test]
    fn missing_final_newline_is_detected() {
        assert!(TextFile::parse("a\nb").missing_final_newline());
        assert!(!TextFile::parse("a\nb\n").missing_final_newline());
        assert!(!TextFile::parse("").missing_final_newline());
    }
}
