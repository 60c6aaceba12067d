//! The block reader: cuts one input's decompressed bytes into large blocks of whole lines,
//! each with its input index and first line number. A block never ends inside a multi-line
//! document (the framing rule of [`crate::decode::framing`]), so any worker can decode any
//! block on its own. A byte order mark at the start of the input is dropped here, and only
//! here.
//!
//! A line (or multi-line document) longer than the line limit ([`MAX_LINE_BYTES`] unless
//! set) is not held: what is read of it is dropped up to its end, and it goes out as a
//! block of its own marked [`Block::too_long`], with no text, to be counted as skipped.
//! Buffers grow with `try_reserve`: a line that cannot be held ends the input with an
//! `OutOfMemory` read error instead of aborting the process.

use crate::decode::framing::{self, Framing};
use crate::decode::{DecodeOptions, Decoder, FileReport, Sink};
use crate::error::Result;
use std::io::Read;

/// Size of a block handed to a worker (it grows for a longer line or document).
pub const BLOCK_SIZE: usize = 2 << 20;

/// The default line limit: longer lines (and documents) are skipped and reported.
pub use crate::decode::MAX_LINE_BYTES;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whole lines of one input.
#[derive(Debug)]
pub struct Block {
    /// Index of the input among those read.
    pub input: usize,
    /// Number of the block in its input, from 0.
    pub seq: u64,
    /// Line number of the block's first line, from 1.
    pub first_line: u64,
    /// Lines in the block.
    pub lines: u64,
    /// Decompressed bytes the block stands for (a dropped byte order mark included).
    pub bytes: u64,
    /// `Some((limit, length))`: the block is one line or document of `length` bytes
    /// (its last `\n` not counted), longer than `limit`, dropped unread (its text is empty).
    pub too_long: Option<(usize, u64)>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Block {
    /// The lines.
    pub fn text(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The buffer, for the reader to fill again.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }
}

/// How an input ended.
#[derive(Debug, Default)]
pub struct ReadEnd {
    /// Blocks handed out.
    pub blocks: u64,
    /// The read error that cut it short, if any (whole lines before it were handed out).
    pub error: Option<std::io::Error>,
}

/// Reads one input into blocks (see the module comment).
pub struct BlockReader<R> {
    reader: R,
    input: usize,
    block_size: usize,
    /// Lines (and documents) longer than this are dropped, not held.
    max_line: usize,
    /// Buffers to fill: those given back, else new ones.
    spare: Vec<Vec<u8>>,
    buf: Vec<u8>,
    /// Where the next block starts in `buf` (after a BOM in the first).
    start: usize,
    /// Bytes read into `buf`.
    len: usize,
    /// Lines of `buf[start..scanned]` already classified, and the last point among them
    /// where no document is open.
    scanned: usize,
    scanned_lines: u64,
    cut: usize,
    cut_lines: u64,
    framing: Framing,
    next_line: u64,
    seq: u64,
    at_start: bool,
    end: Option<ReadEnd>,
}

impl<R: Read> BlockReader<R> {
    /// `block_size` 0 means [`BLOCK_SIZE`].
    pub fn new(reader: R, input: usize, block_size: usize) -> BlockReader<R> {
        let block_size = if block_size == 0 {
            BLOCK_SIZE
        } else {
            block_size
        };
        BlockReader {
            reader,
            input,
            block_size,
            max_line: MAX_LINE_BYTES,
            spare: Vec::new(),
            buf: Vec::new(),
            start: 0,
            len: 0,
            scanned: 0,
            scanned_lines: 0,
            cut: 0,
            cut_lines: 0,
            framing: Framing::default(),
            next_line: 1,
            seq: 0,
            at_start: true,
            end: None,
        }
    }

    /// Sets the line limit (0: [`MAX_LINE_BYTES`]).
    pub fn with_max_line(mut self, max_line: usize) -> BlockReader<R> {
        self.max_line = if max_line == 0 {
            MAX_LINE_BYTES
        } else {
            max_line
        };
        self
    }

    /// Gives a block's buffer back for reuse.
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        self.spare.push(buffer);
    }

    /// How the input ended, once [`BlockReader::next_block`] has returned `None`.
    pub fn end(&mut self) -> ReadEnd {
        self.end.take().unwrap_or_default()
    }

    /// The next block, or `None` at the end of the input (or after a read error).
    pub fn next_block(&mut self) -> Option<Block> {
        if self.end.is_some() {
            return None;
        }
        if self.buf.is_empty() {
            match self.take_buffer(0) {
                Ok(b) => self.buf = b,
                Err(e) => return self.fail(e),
            }
        }
        loop {
            let mut error = None;
            let mut eof = false;
            while self.len < self.buf.len() {
                match self.reader.read(&mut self.buf[self.len..]) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => self.len += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            let ended = eof || error.is_some();
            if self.at_start {
                if self.len < BOM.len() && !ended {
                    // Too small a buffer to tell a byte order mark yet.
                    let bigger = self.buf.len() * 2;
                    if let Err(e) = self.grow(bigger) {
                        return self.fail(e);
                    }
                    continue;
                }
                self.at_start = false;
                if self.buf[..self.len].starts_with(BOM) {
                    // The decoder never sees it; line 1 and the byte count keep it.
                    self.start = BOM.len();
                }
            }
            self.scan(eof);
            if ended {
                // At the end every line read goes out, even in an open document; after a
                // read error, only whole lines.
                let end = self.scanned;
                let lines = self.scanned_lines;
                let block = (lines > 0).then(|| self.cut_at(end, lines));
                self.end = Some(ReadEnd {
                    blocks: self.seq,
                    error,
                });
                return block;
            }
            if self.cut_lines > 0 {
                return Some(self.cut_at(self.cut, self.cut_lines));
            }
            // One line (or document) longer than the block: grow, up to the line limit
            // (room for a line of `max_line` bytes and its line end). The decoder skips a
            // line over the limit that a block holds, so what is dropped here is exactly
            // what it would skip, whatever the block size. A unit's last line end is not
            // part of its length: an open document that ends here may still fit.
            let held = self.len - self.start;
            let held = held - usize::from(held > 0 && self.buf[self.len - 1] == b'\n');
            if held > self.max_line {
                return Some(self.drop_too_long());
            }
            let room = self.start.saturating_add(self.max_line).saturating_add(2);
            let bigger = self.buf.len().saturating_mul(2).min(room).max(self.len + 1);
            if let Err(e) = self.grow(bigger) {
                return self.fail(e);
            }
        }
    }

    /// Ends the input with the read error `e`, handing out nothing more.
    fn fail(&mut self, e: std::io::Error) -> Option<Block> {
        self.end = Some(ReadEnd {
            blocks: self.seq,
            error: Some(e),
        });
        None
    }

    /// Grows the buffer to `len` bytes, or says that the line being read cannot be held.
    fn grow(&mut self, len: usize) -> std::io::Result<()> {
        let extra = len.saturating_sub(self.buf.len());
        if self.buf.try_reserve_exact(extra).is_err() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                format!(
                    "line {} cannot be held: out of memory for more than {} bytes of it (lower --max-line-bytes to skip such lines)",
                    self.next_line,
                    self.len - self.start
                ),
            ));
        }
        self.buf.resize(len, 0);
        Ok(())
    }

    /// The unit (a line, or a document and its lines) that starts the buffer has no end
    /// within the line limit: drops it up to its end, reading on through the same buffer,
    /// and returns a [`Block::too_long`] block standing for it.
    fn drop_too_long(&mut self) -> Block {
        let first_line = self.next_line;
        let bom = self.start as u64;
        let in_document = self.framing.in_document();
        // Whole lines of an open document were scanned already; the rest is a part line.
        let mut lines = self.scanned_lines;
        let mut bytes = self.scanned as u64;
        let mut pos = self.scanned;
        let mut error = None;
        // Bytes of a line whose end is not seen yet were dropped; what was scanned ends
        // with a line end.
        let mut in_line = false;
        let mut ends_line = lines > 0;
        loop {
            let data = &self.buf[pos..self.len];
            if let Some(i) = memchr::memchr(b'\n', data) {
                self.framing.document_part(&data[..i]);
                lines += 1;
                bytes += i as u64 + 1;
                pos += i + 1;
                in_line = false;
                ends_line = true;
                // A line ends; outside a document, or when the document closes, so does
                // the unit.
                let closes = matches!(
                    self.framing.line(b""),
                    framing::Frame::Document { closes: true, .. }
                );
                if !in_document || closes {
                    break;
                }
                continue;
            }
            self.framing.document_part(data);
            bytes += data.len() as u64;
            in_line |= !data.is_empty();
            ends_line &= data.is_empty();
            pos = 0;
            self.len = 0;
            let read = read_some(&mut self.reader, &mut self.buf);
            match read {
                Ok(n) if n > 0 => self.len = n,
                // The input ends inside the unit (or a read error ends it there).
                Ok(_) | Err(_) => {
                    error = read.err();
                    lines += u64::from(in_line);
                    self.framing = Framing::default();
                    break;
                }
            }
        }
        // What follows the unit starts the buffer.
        self.buf.copy_within(pos..self.len, 0);
        self.len -= pos;
        self.start = 0;
        self.scanned = 0;
        self.scanned_lines = 0;
        self.cut = 0;
        self.cut_lines = 0;
        let block = Block {
            input: self.input,
            seq: self.seq,
            first_line,
            lines,
            bytes,
            too_long: Some((self.max_line, bytes - bom - u64::from(ends_line))),
            buf: Vec::new(),
            start: 0,
            end: 0,
        };
        self.seq += 1;
        self.next_line += lines;
        if let Some(e) = error {
            self.end = Some(ReadEnd {
                blocks: self.seq,
                error: Some(e),
            });
        }
        block
    }

    /// Classifies the whole lines read but not yet seen (and at `eof` the last, partial
    /// one), noting the last point outside documents.
    fn scan(&mut self, eof: bool) {
        let data = &self.buf[self.scanned..self.len];
        for line in framing::lines(data) {
            let whole = line.last() == Some(&b'\n');
            if !whole && !eof {
                break;
            }
            let mut text = framing::strip_line_end(line);
            let mut length = crate::decode::line_length(line);
            if self.seq == 0 && self.scanned_lines == 0 && text.starts_with(BOM) {
                text = &text[BOM.len()..];
                length -= BOM.len() as u64;
            }
            // A line over the limit opens no document: the decoder skips it as a line.
            if self.framing.in_document() || length <= self.max_line as u64 {
                self.framing.line(text);
            }
            self.scanned += line.len();
            self.scanned_lines += 1;
            if !self.framing.in_document() {
                self.cut = self.scanned;
                self.cut_lines = self.scanned_lines;
            }
        }
    }

    /// Hands out `buf[start..end]` (`lines` lines) and moves what follows into a new buffer.
    fn cut_at(&mut self, end: usize, lines: u64) -> Block {
        let mut tail = self.len - end;
        let next = match self.take_buffer(tail) {
            Ok(mut next) => {
                next[..tail].copy_from_slice(&self.buf[end..self.len]);
                next
            }
            Err(e) => {
                // No room for what follows: the input ends after this block.
                self.end = Some(ReadEnd {
                    blocks: self.seq + 1,
                    error: Some(e),
                });
                tail = 0;
                Vec::new()
            }
        };
        let buf = std::mem::replace(&mut self.buf, next);
        let block = Block {
            input: self.input,
            seq: self.seq,
            first_line: self.next_line,
            lines,
            bytes: end as u64,
            too_long: None,
            buf,
            start: self.start,
            end,
        };
        self.seq += 1;
        self.next_line += lines;
        self.len = tail;
        self.scanned -= end;
        self.scanned_lines -= lines;
        self.cut = 0;
        self.cut_lines = 0;
        self.start = 0;
        block
    }

    /// A buffer of at least a block's size with room for `carried` bytes and more, or the
    /// error that says memory ran out.
    fn take_buffer(&mut self, carried: usize) -> std::io::Result<Vec<u8>> {
        let mut b = self.spare.pop().unwrap_or_default();
        let mut want = b.len().max(self.block_size);
        if want < carried.saturating_add(self.block_size / 2) {
            want = carried.saturating_add(self.block_size);
        }
        if b.len() < want {
            if b.try_reserve_exact(want - b.len()).is_err() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::OutOfMemory,
                    format!(
                        "out of memory for a block of {want} bytes after line {}",
                        self.next_line
                    ),
                ));
            }
            b.resize(want, 0);
        }
        Ok(b)
    }
}

/// One read into `buf` (retried when interrupted).
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Reads and decodes every line of `reader` in this thread, in order, block by block as the
/// pipeline does: for tests, benchmarks and fuzzing. A read error ends the input and is
/// noted in `report`, as in a run; a damaged compressed member is an error (as in a run
/// without `--keep-damaged`).
pub fn decode_stream(
    reader: impl Read,
    options: &DecodeOptions<'_>,
    report: &mut FileReport,
    sink: &mut dyn Sink,
) -> Result<()> {
    let decoder = Decoder::new(*options);
    let mut blocks = BlockReader::new(reader, 0, 0);
    while let Some(block) = blocks.next_block() {
        let mut part = FileReport {
            name: report.name.clone(),
            lines: block.lines,
            bytes: block.bytes,
            ..FileReport::default()
        };
        match block.too_long {
            Some((limit, length)) => {
                decoder.too_long(block.first_line, block.lines, length, limit, &mut part)?
            }
            None => decoder.decode_block(block.text(), block.first_line, &mut part, sink)?,
        }
        report.absorb(part);
        blocks.recycle(block.into_buffer());
    }
    if let Some(e) = blocks.end().error {
        let policy = super::members::DamagePolicy {
            strict: options.strict,
            keep_damaged: false,
        };
        let message =
            super::members::end_of_input(&report.name, report.lines, report.bytes, &e, policy)?;
        report.read_error = Some(message);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Events (verb and line) and report of `text` decoded block by block.
    fn decoded(
        text: &[u8],
        block_size: usize,
        max_line: usize,
    ) -> (Vec<(String, u64)>, FileReport, u64) {
        let mut seen = Vec::new();
        let mut report = FileReport::default();
        let decoder = Decoder::new(DecodeOptions {
            max_line,
            ..DecodeOptions::default()
        });
        let mut sink = crate::decode::sink_fn(|e, _, line| {
            seen.push((e.verb.as_deref().unwrap_or("").to_string(), line));
            Ok(())
        });
        let mut reader = BlockReader::new(text, 0, block_size).with_max_line(max_line);
        let mut blocks = 0;
        while let Some(block) = reader.next_block() {
            assert_eq!(block.first_line, report.lines + 1);
            let mut part = FileReport {
                lines: block.lines,
                bytes: block.bytes,
                ..FileReport::default()
            };
            match block.too_long {
                Some((limit, length)) => decoder
                    .too_long(block.first_line, block.lines, length, limit, &mut part)
                    .unwrap(),
                None => decoder
                    .decode_block(block.text(), block.first_line, &mut part, &mut sink)
                    .unwrap(),
            }
            report.absorb(part);
            blocks += 1;
        }
        (seen, report, blocks)
    }

    proptest! {
        /// Blocks of any size decode to what one block of the whole input decodes to: no
        /// block ends inside a document, lines are numbered from the input's start, the
        /// BOM is dropped once.
        #[test]
        fn any_block_size_decodes_as_one_block(
            lines in prop::collection::vec(prop::collection::vec(prop::sample::select(vec![
                "{", "[", "]", "}", " ", "\r", "\u{feff}", "\"", "\"a\":1", ",", "{\"k\":[1,",
                "{\"verb\":\"get\"}", "x", "\"verb\":\"list\"",
            ]), 0..6), 0..30),
            bom in any::<bool>(),
            final_newline in any::<bool>(),
            block_size in 1usize..64,
            max_line in prop::sample::select(vec![0usize, 1, 5, 12, 30]),
        ) {
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            let joined: Vec<String> = lines.iter().map(|l| l.concat()).collect();
            text.push_str(&joined.join("\n"));
            if final_newline {
                text.push('\n');
            }
            let whole = decoded(text.as_bytes(), 1 << 20, max_line);
            prop_assert!(whole.2 <= 1);
            let cut = decoded(text.as_bytes(), block_size, max_line);
            prop_assert_eq!(&cut.0, &whole.0);
            prop_assert_eq!(&cut.1, &whole.1);
            prop_assert_eq!(cut.1.bytes, text.len() as u64);
        }
    }

    /// (first line, lines, bytes, too long, text) of every block of `text`.
    type Cut = (u64, u64, u64, bool, Vec<u8>);

    fn cut(text: &[u8], block_size: usize, max_line: usize) -> Vec<Cut> {
        let mut reader = BlockReader::new(text, 0, block_size).with_max_line(max_line);
        let mut blocks = Vec::new();
        while let Some(b) = reader.next_block() {
            let t = b.text().to_vec();
            blocks.push((b.first_line, b.lines, b.bytes, b.too_long.is_some(), t));
        }
        assert!(reader.end().error.is_none());
        blocks
    }

    #[test]
    fn a_line_over_the_limit_is_dropped_unread_and_counted() {
        let long = "x".repeat(5000);
        let text = format!("a\n{long}\nb\n{long}");
        for block_size in [4, 64, 1 << 20] {
            let blocks = cut(text.as_bytes(), block_size, 100);
            let dropped: Vec<(u64, u64, u64)> = blocks
                .iter()
                .filter(|b| b.3)
                .map(|b| (b.0, b.1, b.2))
                .collect();
            if block_size == 1 << 20 {
                // The whole input fits one block: nothing grows, nothing is dropped.
                assert!(dropped.is_empty());
                continue;
            }
            assert_eq!(
                dropped,
                [(2, 1, 5001), (4, 1, 5000)],
                "block size {block_size}"
            );
            let kept: Vec<u8> = blocks.iter().flat_map(|b| b.4.clone()).collect();
            assert_eq!(kept, b"a\nb\n", "block size {block_size}");
            let bytes: u64 = blocks.iter().map(|b| b.2).sum();
            assert_eq!(bytes, text.len() as u64);
            let lines: u64 = blocks.iter().map(|b| b.1).sum();
            assert_eq!(lines, 4);
        }
    }

    #[test]
    fn a_document_over_the_limit_is_dropped_to_its_end() {
        let item = format!("{{\"verb\":\"{}\"}},\n", "y".repeat(300));
        let text = format!(
            "{{\"a\":1}}\n{{\n\"items\": [\n{}{{}}]\n}}\n{{\"b\":2}}\n",
            item.repeat(10)
        );
        let blocks = cut(text.as_bytes(), 64, 1000);
        let dropped: Vec<(u64, u64)> = blocks.iter().filter(|b| b.3).map(|b| (b.0, b.1)).collect();
        // The document: `{`, `"items": [`, ten items, `{}]`, `}`.
        assert_eq!(dropped, [(2, 14)]);
        let kept: Vec<u8> = blocks.iter().flat_map(|b| b.4.clone()).collect();
        assert_eq!(kept, b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(blocks.last().map(|b| b.0), Some(16));
    }

    #[test]
    fn a_document_stays_in_one_block() {
        let text = b"{\"verb\":\"a\"}\n{\n\"verb\": \"b\"\n}\n{\"verb\":\"c\"}\n";
        let mut reader = BlockReader::new(&text[..], 0, 4);
        let mut blocks = Vec::new();
        while let Some(b) = reader.next_block() {
            blocks.push((b.first_line, b.lines, b.text().to_vec()));
        }
        assert_eq!(
            blocks,
            [
                (1, 1, b"{\"verb\":\"a\"}\n".to_vec()),
                (2, 3, b"{\n\"verb\": \"b\"\n}\n".to_vec()),
                (5, 1, b"{\"verb\":\"c\"}\n".to_vec()),
            ]
        );
        assert!(reader.end().error.is_none());
    }
}
