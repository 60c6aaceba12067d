//! Lines and documents: the one line splitter, and the rule for where a multi-line document
//! (a pretty-printed EventList, List or array) opens and closes. The reader follows the
//! same rule to cut blocks only between documents; the decoder follows it to collect them.

/// The lines of `data`, split after each `\n` (kept); a last line without one comes last.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

/// `line` without its line end (`\n`, `\r\n`, and any run of them).
pub fn strip_line_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    line
}

/// Whether `line` (line end stripped) opens a multi-line document: a line that is exactly
/// `{` or `[`, or an array that starts on this line and goes on past it (`[{...},`). A
/// cut-off object line does not open one: it is reported and skipped.
pub fn opens_document(line: &[u8]) -> bool {
    // The common line, an event object, answers at its first two bytes.
    if line.starts_with(b"{\"") {
        return false;
    }
    let trimmed = line.trim_ascii();
    if trimmed == b"{" || trimmed == b"[" {
        return true;
    }
    trimmed.first() == Some(&b'[')
        && std::str::from_utf8(trimmed)
            .ok()
            .is_some_and(|t| super::record::parse(t).err().is_some_and(|e| e.is_eof()))
}

/// What one line is to the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Empty or whitespace, outside a document.
    Blank,
    /// A line decoded on its own.
    Line,
    /// A line of a multi-line document: whether it opens it, and whether it closes it.
    Document { opens: bool, closes: bool },
}

/// The state between lines: whether a document is open, and how deep its brackets are.
#[derive(Clone, Debug, Default)]
pub struct Framing {
    open: Option<Brackets>,
}

impl Framing {
    /// Classifies the next line (line end stripped) and moves the state past it.
    pub fn line(&mut self, line: &[u8]) -> Frame {
        if let Some(brackets) = self.open.as_mut() {
            brackets.push(line);
            let closes = brackets.closed();
            if closes {
                self.open = None;
            }
            return Frame::Document {
                opens: false,
                closes,
            };
        }
        if line.trim_ascii().is_empty() {
            return Frame::Blank;
        }
        if !opens_document(line) {
            return Frame::Line;
        }
        let mut brackets = Brackets::default();
        brackets.push(line);
        let closes = brackets.closed();
        if !closes {
            self.open = Some(brackets);
        }
        Frame::Document {
            opens: true,
            closes,
        }
    }

    /// Part of a line of an open document, for a line too long to be held whole: the
    /// brackets move past it; [`Framing::line`] of an empty text then ends the line (and
    /// says whether the document closes). Outside a document it does nothing.
    pub fn document_part(&mut self, part: &[u8]) {
        if let Some(brackets) = self.open.as_mut() {
            brackets.push(part);
        }
    }

    /// True while a document is open: a block may not end here (except at the input's end).
    pub fn in_document(&self) -> bool {
        self.open.is_some()
    }
}

/// Bracket depth of a JSON text read line by line, strings and escapes skipped.
#[derive(Clone, Debug, Default)]
struct Brackets {
    depth: i64,
    in_string: bool,
    escaped: bool,
    seen_open: bool,
}

impl Brackets {
    fn push(&mut self, line: &[u8]) {
        let mut i = 0;
        while i < line.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                // Inside a string only a quote or a backslash matters.
                let Some(k) = memchr::memchr2(b'"', b'\\', &line[i..]) else {
                    return;
                };
                i += k;
                if line[i] == b'\\' {
                    self.escaped = true;
                } else {
                    self.in_string = false;
                }
                i += 1;
                continue;
            }
            match line[i] {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    self.seen_open = true;
                }
                b'}' | b']' => self.depth -= 1,
                _ => {}
            }
            i += 1;
        }
    }

    fn closed(&self) -> bool {
        self.seen_open && self.depth <= 0 && !self.in_string
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_ends_and_the_last_line() {
        let got: Vec<&[u8]> = lines(b"a\nb\r\n\nc").collect();
        assert_eq!(got, [&b"a\n"[..], b"b\r\n", b"\n", b"c"]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(strip_line_end(b"x\r\n"), b"x");
    }

    #[test]
    fn documents_open_and_close() {
        let mut f = Framing::default();
        let frames: Vec<Frame> = [
            "{\"verb\":\"get\"}",
            " ",
            "{",
            "  \"items\": [",
            "\"}\"]",
            "}",
            "x",
        ]
        .iter()
        .map(|l| f.line(l.as_bytes()))
        .collect();
        let doc = |opens, closes| Frame::Document { opens, closes };
        assert_eq!(
            frames,
            [
                Frame::Line,
                Frame::Blank,
                doc(true, false),
                doc(false, false),
                doc(false, false),
                doc(false, true),
                Frame::Line
            ]
        );
        assert!(opens_document(b"[{\"verb\":\"get\"},"));
        assert!(!opens_document(b"[{\"verb\":\"get\"}]"));
        assert!(!opens_document(b"{\"verb\":"));
    }
}
