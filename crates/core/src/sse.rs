//! Server-sent events: bytes in, `data` payloads out. Pure, so every framing case is tested
//! without a network: `\n`, `\r\n` and `\r` line ends, multi-line data, comments, and chunks
//! that split a line (or a UTF-8 character) anywhere.

/// An incremental SSE decoder.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The data lines of the current event.
    data: Vec<String>,
    has_data: bool,
    /// The last byte fed was a `\r`: a `\n` right after it ends nothing new.
    after_cr: bool,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the data of each event they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        for &byte in bytes {
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.end_line(&line) {
                        events.push(event);
                    }
                }
                _ => self.line.push(byte),
            }
        }
        events
    }

    fn end_line(&mut self, line: &[u8]) -> Option<String> {
        if line.is_empty() {
            if !self.has_data {
                return None;
            }
            self.has_data = false;
            return Some(std::mem::take(&mut self.data).join("\n"));
        }
        if line[0] == b':' {
            return None; // a comment (keep-alive)
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        if field == "data" {
            self.data.push(value.to_string());
            self.has_data = true;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<String> {
        let mut decoder = SseDecoder::new();
        chunks.iter().flat_map(|c| decoder.feed(c)).collect()
    }

    #[test]
    fn events_and_framing() {
        let text =
            b"event: response.created\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: x\ndata: y\n\n";
        assert_eq!(all(&[text]), vec!["{\"a\":1}", "x\ny"]);
        assert_eq!(
            all(&[b"data: a\r\n\r\ndata:b\r\rdata: c\n\n"]),
            vec!["a", "b", "c"]
        );
        assert_eq!(all(&[b"data: unfinished\n"]), Vec::<String>::new());
        assert_eq!(all(&[b"id: 1\nretry: 5\n\n"]), Vec::<String>::new());
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let text = "data: {\"t\":\"h\u{e9}llo \u{1F600}\"}\r\n\r\n: c\ndata: 2\n\n".as_bytes();
        let whole = all(&[text]);
        assert_eq!(whole.len(), 2);
        for i in 0..text.len() {
            for j in i..text.len() {
                assert_eq!(
                    all(&[&text[..i], &text[i..j], &text[j..]]),
                    whole,
                    "split at {i},{j}"
                );
            }
        }
    }
}
