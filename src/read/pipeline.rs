//! The read pipeline, the one path for every thread count: each input is cut into blocks
//! by a [`BlockReader`]; each block is decoded, normalized and aggregated whole by one
//! worker, into that worker's aggregate; block reports are merged per input in block
//! order, so that counts and the first skipped lines come out as one pass gives them. The
//! workers' aggregates are merged at the end, in no particular order (no output depends on
//! the order of an aggregate, see [`crate::aggregate`]).
//!
//! With several workers, reader threads (one per input at a time, decompressing) queue the
//! blocks for worker threads. With one worker (`--threads 1`, and strict input, whose
//! first unusable line must be the one reported) the same blocks go through the same
//! steps in one thread, in input order: the worker decodes each block as it is cut.
//!
//! Memory: each reader has at most [`BUFFERS_PER_READER`] block buffers (two with one
//! worker: the block being decoded and the one its tail moves to), which come back to it
//! once decoded, so a run holds at most `readers × BUFFERS_PER_READER` blocks, whatever
//! the size of the log.

use super::blocks::{Block, BlockReader};
use super::members::{end_of_input, DamagePolicy};
use super::{Opened, ReadOptions};
use crate::aggregate::{Aggregate, Filter};
use crate::decode::native::EventDoc;
use crate::decode::{DecodeOptions, Decoder, FileReport, Sink, Unusable};
use crate::error::{Error, Result};
use crate::request::normalize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// Blocks per reader: being filled, queued or being decoded.
pub const BUFFERS_PER_READER: usize = 4;

/// Block size with one worker (and the default size asked for): it needs no large blocks
/// to keep busy, so memory stays near a line loop's.
const SINGLE_WORKER_BLOCK_SIZE: usize = 512 << 10;

/// Buffers a reader may have for `threads` workers (see the module comment).
fn buffers_per_reader(threads: usize) -> usize {
    BUFFERS_PER_READER.min(2 * threads)
}

/// A log to read: what messages call it, its size on disk when known, and the open input.
pub struct LogInput {
    pub name: String,
    pub size: Option<u64>,
    pub reader: Opened,
}

/// One input's block reports, merged in block order.
#[derive(Default)]
struct InputMerge {
    report: FileReport,
    next_seq: u64,
    pending: BTreeMap<u64, FileReport>,
    /// Set when the reader is done: how many blocks it made and the error that ended it.
    read_end: Option<(u64, Option<std::io::Error>)>,
    done: bool,
}

/// The first error of the run in input order: (input, block) where it happened, and what.
type FirstError = Mutex<Option<((usize, u64), Error)>>;

/// What the threads share.
struct Shared<'a> {
    filter: &'a Filter,
    /// Name folding of every worker's aggregate ([`ReadOptions::fold_names_after`]).
    fold_names_after: Option<u32>,
    decoder: Decoder<'a>,
    strict: bool,
    damage: DamagePolicy,
    names: Vec<String>,
    merges: Vec<Mutex<InputMerge>>,
    /// Where decoded blocks' buffers go back to their reader.
    pools: Vec<Sender<Vec<u8>>>,
    error: FirstError,
    /// Set at the first error: readers stop reading, workers stop decoding.
    stop: AtomicBool,
    /// Bytes per block (0: the default) and buffers per reader.
    block_size: usize,
    /// The line limit (0: the default).
    max_line: usize,
    buffers: usize,
}

impl Shared<'_> {
    fn fail(&self, at: (usize, u64), error: Error) {
        if let Ok(mut first) = self.error.lock() {
            if first.as_ref().is_none_or(|(seen, _)| at < *seen) {
                *first = Some((at, error));
            }
        }
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Adds block `seq`'s report of input `input` (`None`: the reader's end) and merges
    /// what is next in order; once every block is in, words the read error.
    fn merge(&self, input: usize, block: Option<(u64, FileReport)>) {
        let Ok(mut guard) = self.merges[input].lock() else {
            return;
        };
        let m = &mut *guard;
        if let Some((seq, report)) = block {
            m.pending.insert(seq, report);
        }
        while let Some(report) = m.pending.remove(&m.next_seq) {
            m.report.absorb(report);
            m.next_seq += 1;
        }
        let Some((blocks, error)) = &mut m.read_end else {
            return;
        };
        if m.done || m.next_seq < *blocks {
            return;
        }
        m.done = true;
        if let Some(e) = error.take() {
            match end_of_input(
                &m.report.name,
                m.report.lines,
                m.report.bytes,
                &e,
                self.damage,
            ) {
                Ok(message) => m.report.read_error = Some(message),
                Err(fail) => self.fail((input, *blocks), fail),
            }
        }
    }
}

/// The per-event step: normalize and add to the worker's aggregate, counting the events
/// whose request came from `requestURI` rather than the objectRef.
struct AddTo<'a> {
    aggregate: &'a mut Aggregate,
    filter: &'a Filter,
    from_uri: u64,
    from_uri_example: Option<(u64, String)>,
}

impl Sink for AddTo<'_> {
    fn event(
        &mut self,
        event: &EventDoc<'_>,
        list_version: Option<&str>,
        line: u64,
    ) -> std::result::Result<(), Unusable> {
        let n = normalize::normalize(event, list_version)?;
        if let Some(note) = &n.from_uri {
            self.from_uri += 1;
            if self.from_uri_example.is_none() {
                self.from_uri_example = Some((line, note.clone()));
            }
        }
        self.aggregate.add(&n, self.filter);
        Ok(())
    }
}

/// Decodes one block into `own`; its report goes to the input's merge, its buffer back.
fn decode(block: Block, shared: &Shared<'_>, own: &mut Aggregate) {
    let (input, seq) = (block.input, block.seq);
    if !shared.stop.load(Ordering::Relaxed) {
        let mut report = FileReport {
            // Only strict errors name the file.
            name: if shared.strict {
                shared.names[input].clone()
            } else {
                String::new()
            },
            lines: block.lines,
            bytes: block.bytes,
            ..FileReport::default()
        };
        let mut sink = AddTo {
            aggregate: own,
            filter: shared.filter,
            from_uri: 0,
            from_uri_example: None,
        };
        let decoded = match block.too_long {
            Some((limit, length)) => {
                shared
                    .decoder
                    .too_long(block.first_line, block.lines, length, limit, &mut report)
            }
            None => {
                shared
                    .decoder
                    .decode_block(block.text(), block.first_line, &mut report, &mut sink)
            }
        };
        report.from_uri = sink.from_uri;
        report.from_uri_example = sink.from_uri_example;
        match decoded {
            Ok(()) => shared.merge(input, Some((seq, report))),
            Err(e) => shared.fail((input, seq), e),
        }
    }
    let _ = shared.pools[input].send(block.into_buffer());
}

/// Reads input `input` into blocks and hands each to `deliver` (which says whether to go
/// on) until it ends or the run stops.
fn read_input(
    input: usize,
    reader: Opened,
    pool: &Receiver<Vec<u8>>,
    deliver: &mut dyn FnMut(Block) -> bool,
    shared: &Shared<'_>,
) {
    let mut blocks =
        BlockReader::new(reader, input, shared.block_size).with_max_line(shared.max_line);
    let mut in_flight = 0usize;
    loop {
        while let Ok(buffer) = pool.try_recv() {
            blocks.recycle(buffer);
            in_flight = in_flight.saturating_sub(1);
        }
        // The reader holds one buffer; the others are out.
        if in_flight + 1 >= shared.buffers {
            match pool.recv() {
                Ok(buffer) => {
                    blocks.recycle(buffer);
                    in_flight = in_flight.saturating_sub(1);
                }
                Err(_) => break,
            }
        }
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let Some(block) = blocks.next_block() else {
            break;
        };
        in_flight += 1;
        if !deliver(block) {
            break;
        }
    }
    let end = blocks.end();
    if let Ok(mut m) = shared.merges[input].lock() {
        m.read_end = Some((end.blocks, end.error));
    }
    shared.merge(input, None);
}

/// Reads every log with the options' threads into one aggregate, with a report per log in
/// input order. The result is the same for every thread count and block size.
pub fn read_logs(
    inputs: Vec<LogInput>,
    options: &ReadOptions,
) -> Result<(Aggregate, Vec<FileReport>)> {
    let threads = options.effective_threads().max(1);
    let prefilter = options.prefilter();
    let decoder = Decoder::new(DecodeOptions {
        strict: options.strict_input,
        prefilter: prefilter.as_ref(),
        max_line: options.max_line_bytes,
    });
    let total: u64 = inputs.iter().filter_map(|i| i.size).sum();
    let counters: Vec<Arc<AtomicU64>> = inputs.iter().map(|i| i.reader.raw_read()).collect();
    let mut pools = Vec::with_capacity(inputs.len());
    let mut pool_receivers = Vec::with_capacity(inputs.len());
    let mut merges = Vec::with_capacity(inputs.len());
    let mut readers = Vec::with_capacity(inputs.len());
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    for input in inputs {
        let (tx, rx) = mpsc::channel();
        pools.push(tx);
        pool_receivers.push(Mutex::new(Some(rx)));
        merges.push(Mutex::new(InputMerge {
            report: FileReport {
                name: input.name,
                ..FileReport::default()
            },
            ..InputMerge::default()
        }));
        readers.push(Mutex::new(Some(input.reader)));
    }
    let shared = Shared {
        filter: &options.filter,
        fold_names_after: options.fold_names_after,
        decoder,
        strict: options.strict_input,
        damage: options.damage_policy(),
        names,
        merges,
        pools,
        error: Mutex::new(None),
        stop: AtomicBool::new(false),
        block_size: match (options.block_size, threads) {
            (0, 1) => SINGLE_WORKER_BLOCK_SIZE,
            (size, _) => size,
        },
        buffers: buffers_per_reader(threads),
        max_line: options.max_line_bytes,
    };
    let done = AtomicBool::new(false);
    let workers = std::thread::scope(|scope| {
        if options.progress {
            let (counters, done) = (&counters, &done);
            scope.spawn(move || show_progress(counters, total, done));
        }
        let workers = if threads == 1 {
            vec![read_and_decode(&readers, &pool_receivers, &shared)]
        } else {
            read_and_decode_on_threads(threads, &readers, &pool_receivers, &shared)
        };
        // The progress thread is told to stop once the inputs are read.
        done.store(true, Ordering::Relaxed);
        workers
    });
    let error = shared.error.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some((_, e)) = error {
        return Err(e);
    }
    let mut aggregate = Aggregate::folding_names_after(options.fold_names_after);
    for own in workers {
        aggregate.merge_owned(own);
    }
    let reports = shared
        .merges
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()).report)
        .collect();
    Ok((aggregate, reports))
}

/// The inputs, each taken once, and the receivers of their buffers.
type Inputs = [Mutex<Option<Opened>>];
type Pools = [Mutex<Option<Receiver<Vec<u8>>>>];

/// Takes input `i` and its buffer pool (once).
fn take_input(readers: &Inputs, pools: &Pools, i: usize) -> Option<(Opened, Receiver<Vec<u8>>)> {
    let reader = readers[i].lock().ok().and_then(|mut r| r.take())?;
    let pool = pools[i].lock().ok().and_then(|mut p| p.take())?;
    Some((reader, pool))
}

/// One worker: this thread reads the inputs in order and decodes each block as it is cut
/// (no hand-over between threads, no block waiting in a queue).
fn read_and_decode(readers: &Inputs, pools: &Pools, shared: &Shared<'_>) -> Aggregate {
    let mut own = Aggregate::folding_names_after(shared.fold_names_after);
    for i in 0..readers.len() {
        if let Some((reader, pool)) = take_input(readers, pools, i) {
            let mut deliver = |block: Block| {
                decode(block, shared, &mut own);
                true
            };
            read_input(i, reader, &pool, &mut deliver, shared);
        }
    }
    own
}

/// `threads` worker threads fed by reader threads, one input each at a time; returns the
/// workers' aggregates.
fn read_and_decode_on_threads(
    threads: usize,
    readers: &Inputs,
    pools: &Pools,
    shared: &Shared<'_>,
) -> Vec<Aggregate> {
    let (queue_tx, queue_rx) = mpsc::sync_channel::<Block>(threads * 2);
    let queue_rx = Mutex::new(queue_rx);
    let next_input = AtomicUsize::new(0);
    let n_readers = threads.min(readers.len()).max(1);
    // Only when readers and workers together outnumber the cores do workers give way.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let give_way = threads + n_readers > cores;
    std::thread::scope(|scope| {
        let mut reader_handles = Vec::new();
        for _ in 0..n_readers {
            let queue_tx = queue_tx.clone();
            let next_input = &next_input;
            reader_handles.push(scope.spawn(move || loop {
                let i = next_input.fetch_add(1, Ordering::Relaxed);
                if i >= readers.len() {
                    break;
                }
                if let Some((reader, pool)) = take_input(readers, pools, i) {
                    let mut deliver = |block: Block| queue_tx.send(block).is_ok();
                    read_input(i, reader, &pool, &mut deliver, shared);
                }
            }));
        }
        drop(queue_tx);
        let queue_rx = &queue_rx;
        let work = move || {
            let mut own = Aggregate::folding_names_after(shared.fold_names_after);
            while let Some(block) = queue_rx.lock().ok().and_then(|rx| rx.recv().ok()) {
                decode(block, shared, &mut own);
            }
            own
        };
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    if give_way {
                        yield_to_readers();
                    }
                    work()
                })
            })
            .collect();
        for h in reader_handles {
            let _ = h.join();
        }
        // Workers end when the queue is drained and closed.
        workers
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<Vec<_>>()
    })
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
fn show_progress(counters: &[Arc<AtomicU64>], total: u64, done: &AtomicBool) {
    use std::io::Write;
    let start = std::time::Instant::now();
    let mut shown = false;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed < 0.5 || (elapsed * 10.0) as u64 % 5 != 0 {
            continue;
        }
        let read_bytes: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        let read = read_bytes as f64 / 1e6;
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
