//! The block reader: cuts one input's decompressed bytes into large blocks of whole lines,
//! each with its input index and first line number. A block never ends inside a multi-line
//! document (the framing rule of [`crate::decode::framing`]), so any worker can decode any
//! block on its own. A byte order mark at the start of the input is dropped here, and only
//! here.

use crate::decode::framing::{self, Framing};
use crate::decode::{DecodeOptions, Decoder, FileReport, Sink};
use crate::error::Result;
use std::io::Read;

/// Size of a block handed to a worker (it grows for a longer line or document).
pub const BLOCK_SIZE: usize = 2 << 20;

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
            self.buf = self.take_buffer(0);
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
                    self.buf.resize(bigger, 0);
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
            // One line (or document) longer than the block: grow.
            let bigger = self.buf.len() * 2;
            self.buf.resize(bigger, 0);
        }
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
            if self.seq == 0 && self.scanned_lines == 0 {
                text = text.strip_prefix(BOM).unwrap_or(text);
            }
            self.framing.line(text);
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
        let tail = self.len - end;
        let mut next = self.take_buffer(tail);
        next[..tail].copy_from_slice(&self.buf[end..self.len]);
        let buf = std::mem::replace(&mut self.buf, next);
        let block = Block {
            input: self.input,
            seq: self.seq,
            first_line: self.next_line,
            lines,
            bytes: end as u64,
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

    /// A buffer of at least a block's size with room for `carried` bytes and more.
    fn take_buffer(&mut self, carried: usize) -> Vec<u8> {
        let mut b = self
            .spare
            .pop()
            .unwrap_or_else(|| vec![0u8; self.block_size]);
        if b.len() < carried + self.block_size / 2 {
            b.resize(carried + self.block_size, 0);
        }
        b
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
        decoder.decode_block(block.text(), block.first_line, &mut part, sink)?;
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
    fn decoded(text: &[u8], block_size: usize) -> (Vec<(String, u64)>, FileReport, u64) {
        let mut seen = Vec::new();
        let mut report = FileReport::default();
        let decoder = Decoder::new(DecodeOptions::default());
        let mut sink = crate::decode::sink_fn(|e, _, line| {
            seen.push((e.verb.as_deref().unwrap_or("").to_string(), line));
            Ok(())
        });
        let mut reader = BlockReader::new(text, 0, block_size);
        let mut blocks = 0;
        while let Some(block) = reader.next_block() {
            assert_eq!(block.first_line, report.lines + 1);
            let mut part = FileReport {
                lines: block.lines,
                bytes: block.bytes,
                ..FileReport::default()
            };
            decoder
                .decode_block(block.text(), block.first_line, &mut part, &mut sink)
                .unwrap();
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
            let whole = decoded(text.as_bytes(), 1 << 20);
            prop_assert!(whole.2 <= 1);
            let cut = decoded(text.as_bytes(), block_size);
            prop_assert_eq!(&cut.0, &whole.0);
            prop_assert_eq!(&cut.1, &whole.1);
            prop_assert_eq!(cut.1.bytes, text.len() as u64);
        }
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
