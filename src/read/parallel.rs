//! The parallel read path: one reader thread per input (decompressing when needed) cuts the
//! stream into large blocks of whole lines; worker threads decode, normalize and aggregate
//! them. Each worker adds the events of plain JSON-lines blocks to an aggregate of its own,
//! noting where each request and group set was first seen; the workers' aggregates are
//! merged at the end and put back in the order read. Block reports are merged in input
//! order, so that aggregates, skip counts and the first skipped lines come out exactly as
//! the sequential loop makes them.
//!
//! Multi-line documents (a line that is exactly `{` or `[`): the reader marks the block
//! with such a line, and every later block of that input, as not lines-only; those blocks
//! get an aggregate each, merged in input order. A worker stops at the opening line and the
//! merger decodes from there on sequentially, through the following blocks (whose own
//! worker results are dropped) until the document has closed at a block boundary.
//!
//! Memory: each reader owns a few block buffers that come back to it once merged, so a run
//! holds at most `readers × BUFFERS_PER_READER` blocks, whatever the size of the log.

use crate::aggregate::{Aggregate, Filter, Position};
use crate::decode::native::EventDoc;
use crate::decode::{read_error_message, FileReport, LineDecoder, Prefilter, Unusable};
use crate::error::Result;
use crate::read::{self, Source};
use crate::request::normalize;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

/// Size of a block handed to a worker (it grows for a longer line).
pub const BLOCK_SIZE: usize = 2 << 20;
/// Blocks in flight per reader: being filled, queued, decoded, or waiting to be merged.
const BUFFERS_PER_READER: usize = 4;

/// A block of whole lines of one input.
struct Block {
    file: usize,
    seq: u64,
    buf: Vec<u8>,
    len: usize,
    /// No line of this block, nor of any block before it in the input, can open a
    /// multi-line document: its events can go straight into the worker's own aggregate.
    lines_only: bool,
}

/// What a worker made of one block: line numbers in `report` are relative to the block.
struct BlockResult {
    block: Block,
    report: FileReport,
    /// The block's own aggregate; `None` for a lines-only block, whose events went into
    /// the worker's aggregate.
    aggregate: Option<Aggregate>,
    /// Lines in the block.
    lines: u64,
    /// Where a multi-line document opens: byte offset and (relative) line number; the
    /// block is decoded only up to there.
    document_at: Option<(usize, u64)>,
}

/// In-order merging of one input's block results.
struct FileMerge<'a> {
    report: FileReport,
    aggregate: Aggregate,
    next_seq: u64,
    pending: BTreeMap<u64, BlockResult>,
    /// Sequential decoder, used from a document opener on.
    document: Option<LineDecoder<'a>>,
    pool: Sender<Vec<u8>>,
    /// Set when the reader is done: how many blocks it sent and the error that ended it.
    read_end: Option<(u64, Option<String>)>,
    /// Handed on to the global merge.
    finished: bool,
}

/// Files merged into one aggregate in input order, each as soon as it is complete, so that
/// memory holds one aggregate (plus the few files still being read), not one per file.
struct Global {
    aggregate: Aggregate,
    reports: Vec<FileReport>,
    done: BTreeMap<usize, (Aggregate, FileReport)>,
}

/// What the pipeline shares between threads.
struct Shared<'a> {
    filter: &'a Filter,
    prefilter: Option<&'a Prefilter>,
    files: Vec<Mutex<FileMerge<'a>>>,
    global: Mutex<Global>,
    /// Block aggregates emptied after merging, for workers to fill again.
    spare: Mutex<Vec<Aggregate>>,
}

/// Block aggregates kept for reuse.
const SPARE_AGGREGATES: usize = 4;

/// When every block of file `index` is merged, decodes what is left of an open document,
/// words the read error, and hands the file to the global merge.
fn finish_if_complete(index: usize, merge: &mut FileMerge<'_>, shared: &Shared<'_>) {
    let Some((blocks, error)) = &merge.read_end else {
        return;
    };
    if merge.finished || merge.next_seq < *blocks {
        return;
    }
    merge.finished = true;
    if let Some(mut decoder) = merge.document.take() {
        // After every block of the input.
        let mut on_event = add_to(&mut merge.aggregate, shared.filter, index, u64::MAX, 0);
        let _ = decoder.finish(&mut merge.report, false, &mut on_event);
    }
    if let Some(e) = error {
        merge.report.read_error = Some(read_error_message(
            merge.report.lines,
            merge.report.bytes,
            e,
        ));
    }
    let aggregate = std::mem::take(&mut merge.aggregate);
    let report = std::mem::take(&mut merge.report);
    if let Ok(mut global) = shared.global.lock() {
        global.done.insert(index, (aggregate, report));
        loop {
            let next = global.reports.len();
            let Some((aggregate, report)) = global.done.remove(&next) else {
                break;
            };
            global.aggregate.merge_owned(aggregate);
            global.reports.push(report);
        }
    }
}

/// Calls for each line of `data` (split at `\n`, the line end kept): `f(offset, line)`;
/// stops early when `f` returns false. Returns the number of lines visited.
fn for_each_line(data: &[u8], mut f: impl FnMut(usize, &[u8]) -> bool) -> u64 {
    let mut start = 0;
    let mut n = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i + 1);
        n += 1;
        if !f(start, &data[start..end]) {
            break;
        }
        start = end;
    }
    n
}

fn count_lines(data: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
    newlines + u64::from(data.last().is_some_and(|&c| c != b'\n'))
}

/// The per-event step: normalize and add to `aggregate`, as read at line `line - line_base`
/// of block `block` of input `input`.
fn add_to<'f>(
    aggregate: &'f mut Aggregate,
    filter: &'f Filter,
    input: usize,
    block: u64,
    line_base: u64,
) -> impl FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable> + 'f {
    // Twelve bytes per distinct request: counts beyond 2^32 (blocks of an input, lines of a
    // block) saturate, which could only reorder requests first seen past that point.
    let saturated = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    let at = Position {
        input: u32::try_from(input).unwrap_or(u32::MAX),
        block: saturated(block),
        line: 0,
    };
    move |event, version, line| {
        let n = normalize::normalize(event, version)?;
        let at = Position {
            line: saturated(line.wrapping_sub(line_base)),
            ..at
        };
        aggregate.add_at(&n, filter, at);
        Ok(())
    }
}

/// Whether a line of `data` could open a multi-line document (see `opens_document` in
/// decode): one that, trimmed, starts with `[` or is exactly `{`. Errs on the side of yes;
/// `first_input_line` says `data` starts the input (a BOM may come first).
fn may_open_document(data: &[u8], first_input_line: bool) -> bool {
    let suspicious = |line: &[u8]| {
        if line.len() >= 2 && line[0] == b'{' && line[1] == b'"' {
            return false;
        }
        let trimmed = line.trim_ascii();
        trimmed.first() == Some(&b'[') || trimmed == b"{"
    };
    let mut start = 0;
    let mut first = first_input_line;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let mut line = &data[start..end];
        if first {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            first = false;
        }
        if suspicious(line) {
            return true;
        }
        start = end + 1;
    }
    false
}

fn decode_block(block: Block, shared: &Shared<'_>, own: &mut Aggregate) -> BlockResult {
    let mut report = FileReport::default();
    // Lines-only blocks go into the worker's aggregate; the others into one of their own,
    // merged in input order (a document may make the merger decode them again).
    let mut block_aggregate = (!block.lines_only).then(|| {
        shared
            .spare
            .lock()
            .ok()
            .and_then(|mut s| s.pop())
            .unwrap_or_default()
    });
    let aggregate = block_aggregate.as_mut().unwrap_or(own);
    let mut document_at = None;
    let data = &block.buf[..block.len];
    let filter = shared.filter;
    let mut decoder = LineDecoder::new(shared.prefilter);
    // Only line 1 of an input may start with a BOM (`feed` strips it from line number 1):
    // lines of later blocks are numbered far from 1 while decoding, then shifted back.
    let line_offset = if block.seq == 0 { 0 } else { 1 << 40 };
    let mut on_event = add_to(aggregate, filter, block.file, block.seq, line_offset);
    let visited = for_each_line(data, |offset, line| {
        let rel = report.lines + 1;
        // Errors only come back in strict mode, which takes the sequential path.
        let consumed = decoder
            .feed(
                line,
                rel + line_offset,
                &mut report,
                false,
                true,
                &mut on_event,
            )
            .unwrap_or(true);
        if !consumed {
            document_at = Some((offset, rel));
            return false;
        }
        report.lines += 1;
        true
    });
    drop(on_event);
    let lines = match document_at {
        Some((offset, rel)) => rel - 1 + count_lines(&data[offset..]),
        None => visited,
    };
    // Undo the offset used to keep the BOM rule to line 1.
    for ex in &mut report.examples {
        ex.0 -= line_offset;
    }
    report.lines = 0;
    BlockResult {
        block,
        report,
        aggregate: block_aggregate,
        lines,
        document_at,
    }
}

/// Merges every result that is next in line for input `index`: straight into the run's
/// aggregate when every input before it is merged there (no aggregate of its own to merge
/// again later), else into the input's own aggregate.
fn merge_ready<'a>(index: usize, merge: &mut FileMerge<'a>, shared: &Shared<'a>) {
    if !merge.pending.contains_key(&merge.next_seq) {
        return;
    }
    let mut global = shared
        .global
        .lock()
        .ok()
        .filter(|g| g.reports.len() == index);
    let target = match global.as_mut() {
        Some(g) => {
            if !merge.aggregate.subjects.is_empty() {
                g.aggregate
                    .merge_owned(std::mem::take(&mut merge.aggregate));
            }
            &mut g.aggregate
        }
        None => &mut merge.aggregate,
    };
    let (filter, prefilter, spare) = (shared.filter, shared.prefilter, &shared.spare);
    while let Some(result) = merge.pending.remove(&merge.next_seq) {
        merge.next_seq += 1;
        let base = merge.report.lines;
        let data = &result.block.buf[..result.block.len];
        let sequential_from = if merge.document.is_some() {
            Some((0, 1))
        } else {
            merge.report.absorb(result.report, base);
            match result.aggregate {
                Some(block) if target.subjects.is_empty() => target.merge_owned(block),
                Some(mut block) => {
                    target.merge(&block);
                    if let Ok(mut spare) = spare.lock() {
                        if spare.len() < SPARE_AGGREGATES {
                            block.recycle();
                            spare.push(block);
                        }
                    }
                }
                None => {}
            }
            result.document_at
        };
        if let Some((offset, rel)) = sequential_from {
            let decoder = merge
                .document
                .get_or_insert_with(|| LineDecoder::new(prefilter));
            let report = &mut merge.report;
            // Positions by the input's line numbers, which come after the block-relative
            // ones a worker gave the lines of this block before the document.
            let mut on_event = add_to(target, filter, index, result.block.seq, 0);
            let mut line_no = base + rel - 1;
            for_each_line(&data[offset..], |_, line| {
                line_no += 1;
                let _ = decoder.feed(line, line_no, report, false, false, &mut on_event);
                true
            });
            if !decoder.in_document() {
                merge.document = None;
            }
        }
        merge.report.lines = base + result.lines;
        merge.report.bytes += result.block.len as u64;
        let _ = merge.pool.send(result.block.buf);
    }
}

/// Reads `src` into blocks of whole lines and queues them; returns the read error, if any.
fn read_blocks(
    file: usize,
    mut reader: Box<dyn Read + Send>,
    pool: Receiver<Vec<u8>>,
    queue: &SyncSender<Block>,
    block_size: usize,
) -> (u64, Option<String>) {
    let mut allocated = 1;
    let mut cur = vec![0u8; block_size];
    let mut len = 0;
    let mut seq = 0;
    let mut lines_only = true;
    let take_buffer = |allocated: &mut usize| -> Vec<u8> {
        if let Ok(b) = pool.try_recv() {
            return b;
        }
        if *allocated < BUFFERS_PER_READER {
            *allocated += 1;
            return vec![0u8; block_size];
        }
        pool.recv().unwrap_or_else(|_| vec![0u8; block_size])
    };
    loop {
        let mut error = None;
        let mut eof = false;
        while len < cur.len() {
            match reader.read(&mut cur[len..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if eof || error.is_some() {
            // At a read error only whole lines count, as in the sequential loop.
            if error.is_some() {
                len = memchr::memrchr(b'\n', &cur[..len]).map_or(0, |i| i + 1);
            }
            if len > 0 {
                lines_only = lines_only && !may_open_document(&cur[..len], seq == 0);
                let block = Block {
                    file,
                    seq,
                    buf: cur,
                    len,
                    lines_only,
                };
                if queue.send(block).is_err() {
                    return (seq, None);
                }
                seq += 1;
            }
            return (seq, error.map(|e| e.to_string()));
        }
        match memchr::memrchr(b'\n', &cur[..len]) {
            None => {
                // One line longer than the block: grow.
                let bigger = cur.len() * 2;
                cur.resize(bigger, 0);
            }
            Some(i) => {
                let cut = i + 1;
                let mut next = take_buffer(&mut allocated);
                let tail = len - cut;
                if next.len() < tail + block_size / 2 {
                    next.resize(tail + block_size, 0);
                }
                next[..tail].copy_from_slice(&cur[cut..len]);
                lines_only = lines_only && !may_open_document(&cur[..cut], seq == 0);
                let block = Block {
                    file,
                    seq,
                    buf: cur,
                    len: cut,
                    lines_only,
                };
                seq += 1;
                if queue.send(block).is_err() {
                    return (seq, None);
                }
                cur = next;
                len = tail;
            }
        }
    }
}

/// Counts the bytes read from the underlying input, for the progress line.
struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads every source with `threads` workers; results are identical to the sequential path.
pub fn read_parallel(
    sources: &[Source],
    filter: &Filter,
    prefilter: Option<&Prefilter>,
    threads: usize,
    progress: bool,
    block_size: usize,
) -> Result<(Aggregate, Vec<FileReport>)> {
    let block_size = if block_size == 0 {
        BLOCK_SIZE
    } else {
        block_size
    };
    // Open every source first so that errors come in input order, as sequentially.
    let counter = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::with_capacity(sources.len());
    for src in sources {
        let raw = read::open_raw(src)?;
        let counting = Counting {
            inner: raw,
            counter: Arc::clone(&counter),
        };
        readers.push(Mutex::new(Some(read::decompress(src, counting)?)));
    }
    let total: u64 = sources.iter().filter_map(|s| s.size()).sum();
    let mut pools = Vec::with_capacity(sources.len());
    let mut files = Vec::with_capacity(sources.len());
    for src in sources {
        let (tx, rx) = mpsc::channel();
        pools.push(Mutex::new(Some(rx)));
        files.push(Mutex::new(FileMerge {
            report: FileReport {
                name: src.name.clone(),
                ..FileReport::default()
            },
            aggregate: Aggregate::default(),
            next_seq: 0,
            pending: BTreeMap::new(),
            document: None,
            pool: tx,
            read_end: None,
            finished: false,
        }));
    }
    let shared = Shared {
        filter,
        prefilter,
        files,
        global: Mutex::new(Global {
            aggregate: Aggregate::default(),
            reports: Vec::with_capacity(sources.len()),
            done: BTreeMap::new(),
        }),
        spare: Mutex::new(Vec::new()),
    };
    let (queue_tx, queue_rx) = mpsc::sync_channel::<Block>(threads * 2);
    let queue_rx = Mutex::new(queue_rx);
    let next_file = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let workers = std::thread::scope(|scope| {
        let n_readers = threads.min(sources.len()).max(1);
        let mut reader_handles = Vec::new();
        for _ in 0..n_readers {
            let queue_tx = queue_tx.clone();
            let (readers, pools, shared, next_file) = (&readers, &pools, &shared, &next_file);
            reader_handles.push(scope.spawn(move || loop {
                let i = next_file.fetch_add(1, Ordering::Relaxed);
                if i >= readers.len() {
                    break;
                }
                let reader = readers[i].lock().ok().and_then(|mut r| r.take());
                let pool = pools[i].lock().ok().and_then(|mut p| p.take());
                if let (Some(reader), Some(pool)) = (reader, pool) {
                    let end = read_blocks(i, reader, pool, &queue_tx, block_size);
                    if let Ok(mut merge) = shared.files[i].lock() {
                        merge.read_end = Some(end);
                        finish_if_complete(i, &mut merge, shared);
                    }
                }
            }));
        }
        drop(queue_tx);
        let mut worker_handles = Vec::new();
        for _ in 0..threads {
            let (queue_rx, shared) = (&queue_rx, &shared);
            worker_handles.push(scope.spawn(move || {
                yield_to_readers();
                let mut own = Aggregate::default();
                loop {
                    let block = match queue_rx.lock() {
                        Ok(rx) => match rx.recv() {
                            Ok(b) => b,
                            Err(_) => break,
                        },
                        Err(_) => break,
                    };
                    let file = block.file;
                    let seq = block.seq;
                    let result = decode_block(block, shared, &mut own);
                    if let Ok(mut merge) = shared.files[file].lock() {
                        merge.pending.insert(seq, result);
                        merge_ready(file, &mut merge, shared);
                        finish_if_complete(file, &mut merge, shared);
                    }
                }
                own
            }));
        }
        if progress {
            let (counter, done) = (&counter, &done);
            scope.spawn(move || show_progress(counter, total, done));
        }
        for h in reader_handles {
            let _ = h.join();
        }
        // The progress thread is told to stop once the readers are done.
        done.store(true, Ordering::Relaxed);
        // Workers end when the queue is drained and closed.
        worker_handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<Vec<_>>()
    });
    let mut global = shared
        .global
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    for own in workers {
        global.aggregate.merge_owned(own);
    }
    // Blocks were aggregated out of order: put everything back in the order read.
    global.aggregate.order_as_read();
    Ok((global.aggregate, global.reports))
}

/// Lowers the calling worker thread's priority a little (Linux: nice +5, this thread only).
/// A reader inflating a gzip stream is the run's critical path; with as many workers as
/// cores plus the reader, equal priorities would give it two thirds of a core. Lighter
/// workers let the scheduler keep a core for it, and they still get every cycle it leaves.
fn yield_to_readers() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take no pointers; if setpriority fails, the priority
    // stays as it was, which is only slower.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 5);
    }
}

/// Prints `bytes done / total, MB/s` on stderr about twice a second until `done`.
fn show_progress(counter: &AtomicU64, total: u64, done: &AtomicBool) {
    use std::io::Write;
    let start = std::time::Instant::now();
    let mut shown = false;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed < 0.5 || (elapsed * 10.0) as u64 % 5 != 0 {
            continue;
        }
        let read = counter.load(Ordering::Relaxed) as f64 / 1e6;
        let line = if total > 0 {
            format!(
                "\r{read:.0} / {:.0} MB ({:.0}%), {:.0} MB/s ",
                total as f64 / 1e6,
                100.0 * read * 1e6 / total as f64,
                read / elapsed
            )
        } else {
            format!("\r{read:.0} MB, {:.0} MB/s ", read / elapsed)
        };
        let _ = std::io::stderr().write_all(line.as_bytes());
        shown = true;
    }
    if shown {
        let _ = std::io::stderr().write_all(b"\r\x1b[K");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every line the decoder would open a document at is caught by the reader's check,
        /// so no lines-only block ever holds one (the decoder strips the BOM of line 1 and
        /// the line end first).
        #[test]
        fn reader_catches_every_document_opener(
            parts in prop::collection::vec(prop::sample::select(vec![
                "{", "[", "]", "}", " ", "\t", "\r", "\u{feff}", "\"", "\"a\":1", ",", "{\"k\":[1,", "x",
            ]), 0..8),
            first in any::<bool>(),
        ) {
            let line: String = parts.concat();
            let mut stripped = line.as_bytes();
            if first {
                stripped = stripped.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(stripped);
            }
            while let [rest @ .., b'\r'] = stripped {
                stripped = rest;
            }
            if crate::decode::opens_document(stripped) {
                let block = format!("{line}\n");
                prop_assert!(may_open_document(block.as_bytes(), first), "{line:?}");
                // Also as a later line of a block.
                let block = format!("{{\"kind\":\"Event\"}}\n{line}\n");
                prop_assert!(may_open_document(block.as_bytes(), false) || first, "{line:?}");
            }
        }
    }

    #[test]
    fn event_lines_are_not_taken_for_openers() {
        let block = b"{\"kind\":\"Event\"}\n{\"a\":[1]}\r\n\n  \n";
        assert!(!may_open_document(block, true));
        assert!(may_open_document(b"{\"a\":1}\n[\n", false));
        assert!(may_open_document(b"\xEF\xBB\xBF{\n", true));
        assert!(may_open_document(b" {  \r\n", false));
    }
}
