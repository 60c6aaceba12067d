//! The durable state: one aggregate per UTC day, kept in memory and on disk as a snapshot
//! (one partial-aggregate file per day, see [`crate::aggregate::partial`]) plus journals of
//! the batches stored since (see [`super::journal`]).
//!
//! On disk, in the state directory: `CURRENT` names the generation N of the snapshot,
//! `snapshot-N/` holds its day files (there is none for generation 0), and `journal-K` for
//! K ≥ N hold the records after it, in order. When the journal grows past its limit the
//! writer starts `journal-K+1` at once and a snapshot thread writes the state as it was
//! then (everything before `journal-K+1`) into a temporary directory, each file and the
//! directory synced, renames it to `snapshot-K+1`, and only then moves `CURRENT` to K+1
//! (written atomically) and removes the older files. A crash at any point leaves a
//! snapshot and the journals after it: recovery reads `snapshot-N` and replays every
//! `journal-K`, K ≥ N.
//!
//! One writer thread owns the journal. It takes every batch waiting in its bounded queue
//! at once, appends them, syncs once (group commit), applies them to the in-memory state
//! and only then answers each request: an acknowledged batch is on disk.

use super::ingest::{read_payload, DAY_MICROS};
use super::journal::{self, AppendError, Journal};
use super::metrics::Metrics;
use crate::aggregate::{partial, Aggregate, Filter, SubjectAggregate};
use crate::time::{format_rfc3339_micros, parse_rfc3339_micros};
use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The aggregates per UTC day (days since 1970-01-01).
#[derive(Clone, Debug, Default)]
pub struct Days {
    pub days: BTreeMap<i64, Aggregate>,
}

impl Days {
    /// Adds a batch's per-day aggregates.
    pub fn apply(&mut self, days: BTreeMap<i64, Aggregate>) {
        for (day, aggregate) in days {
            match self.days.get_mut(&day) {
                Some(mine) => mine.merge_owned(aggregate),
                None => {
                    self.days.insert(day, aggregate);
                }
            }
        }
    }

    /// Drops the days before `first_day`; returns how many were dropped.
    pub fn retain_from(&mut self, first_day: i64) -> usize {
        let kept = self.days.split_off(&first_day);
        let dropped = self.days.len();
        self.days = kept;
        dropped
    }

    /// Every subject of the days from `from_day` on (all days when `None`), merged.
    pub fn merged(&self, from_day: Option<i64>) -> Aggregate {
        let mut out = Aggregate::default();
        for (_, aggregate) in self.days.range(from_day.unwrap_or(i64::MIN)..) {
            out.merge(aggregate);
        }
        out
    }

    /// One subject over the days from `from_day` on, merged; `None` if it made no request.
    pub fn subject(&self, name: &str, from_day: Option<i64>) -> Option<Aggregate> {
        let mut merged: Option<SubjectAggregate> = None;
        for (_, aggregate) in self.days.range(from_day.unwrap_or(i64::MIN)..) {
            if let Some(sub) = aggregate.subjects.get(name) {
                match &mut merged {
                    Some(m) => m.merge(sub),
                    None => merged = Some(sub.clone()),
                }
            }
        }
        let mut out = Aggregate::default();
        out.subjects.insert(name.to_string(), merged?);
        Some(out)
    }
}

/// The name of a day's snapshot file: `YYYY-MM-DD.agg`.
pub fn day_file(day: i64) -> String {
    let text = format_rfc3339_micros(day * DAY_MICROS);
    format!("{}.agg", &text[..10.min(text.len())])
}

/// The day a snapshot file name stands for.
fn day_of_file(name: &str) -> Option<i64> {
    let date = name.strip_suffix(".agg")?;
    let micros = parse_rfc3339_micros(&format!("{date}T00:00:00Z"))?;
    Some(micros.div_euclid(DAY_MICROS))
}

/// Errors of the state directory, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: cannot {action}: {source}")]
    Io {
        path: String,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Damaged { path: String, reason: String },
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> StateError {
    let path = path.display().to_string();
    move |source| StateError::Io {
        path,
        action,
        source,
    }
}

/// What recovery found, for the start-up message.
#[derive(Debug, Default)]
pub struct Recovery {
    pub generation: u64,
    pub snapshot_days: usize,
    pub journal_records: usize,
    /// Bytes of a torn or damaged journal tail that were dropped.
    pub dropped_bytes: u64,
}

/// The state directory: where the generation's files are.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
    /// The generation `CURRENT` names: its snapshot is the base of the state.
    generation: u64,
    /// `LOCK`, held (flock) while the server runs: two servers never share a directory.
    _lock: Arc<std::fs::File>,
}

/// Takes the exclusive lock of the state directory, or says who holds it.
fn lock(dir: &Path) -> Result<std::fs::File, StateError> {
    let path = dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error(&path, "open"))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            return Err(StateError::Damaged {
                path: dir.display().to_string(),
                reason: "another audit2role serve uses this state directory".to_string(),
            });
        }
    }
    Ok(file)
}

/// The journal generations present in `dir` from `from` on, sorted.
fn journals_from(dir: &Path, from: u64) -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    name.strip_prefix("journal-")?.parse::<u64>().ok()
                })
                .filter(|g| *g >= from)
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out
}

impl Store {
    fn journal_path(&self, generation: u64) -> PathBuf {
        self.dir.join(format!("journal-{generation}"))
    }

    fn snapshot_path(&self, generation: u64) -> PathBuf {
        self.dir.join(format!("snapshot-{generation}"))
    }

    /// Opens `dir` (created if missing) and recovers its state: the snapshot of the current
    /// generation, then every whole record of its journal and of the later ones (written
    /// while a snapshot was being made); a torn tail is cut off and reported. Returns the
    /// journal to append to and its generation.
    pub fn open(dir: &Path) -> Result<(Store, Journal, u64, Days, Recovery), StateError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir, "create the state directory"))?;
        let current = dir.join("CURRENT");
        let generation = match std::fs::read_to_string(&current) {
            Ok(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|_| StateError::Damaged {
                    path: current.display().to_string(),
                    reason: format!("not a generation number: {:?}", text.trim()),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io_error(&current, "read")(e)),
        };
        let store = Store {
            dir: dir.to_path_buf(),
            generation,
            _lock: Arc::new(lock(dir)?),
        };
        let mut days = Days::default();
        let mut recovery = Recovery {
            generation,
            ..Recovery::default()
        };
        if generation > 0 {
            let snap = store.snapshot_path(generation);
            let entries = std::fs::read_dir(&snap).map_err(io_error(&snap, "read the snapshot"))?;
            for entry in entries {
                let entry = entry.map_err(io_error(&snap, "read the snapshot"))?;
                let name = entry.file_name().to_string_lossy().to_string();
                let Some(day) = day_of_file(&name) else {
                    continue;
                };
                let path = entry.path();
                let file = std::fs::File::open(&path).map_err(io_error(&path, "open"))?;
                let reader = std::io::BufReader::with_capacity(1 << 20, file);
                let aggregate = days.days.entry(day).or_default();
                partial::read_from(
                    reader,
                    &path.display().to_string(),
                    &Filter::default(),
                    aggregate,
                )
                .map_err(|e| StateError::Damaged {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                recovery.snapshot_days += 1;
            }
        }
        let mut generations = journals_from(dir, generation);
        if generations.is_empty() {
            generations.push(generation);
        }
        let mut active = None;
        for g in generations {
            let jpath = store.journal_path(g);
            let (journal, recovered) =
                Journal::open(&jpath).map_err(io_error(&jpath, "open the journal"))?;
            recovery.dropped_bytes += recovered.dropped;
            for (i, record) in recovered.records.iter().enumerate() {
                let batch = read_payload(record).ok_or_else(|| StateError::Damaged {
                    path: jpath.display().to_string(),
                    reason: format!("record {} passed its checksum but cannot be read", i + 1),
                })?;
                days.apply(batch);
            }
            recovery.journal_records += recovered.records.len();
            active = Some((journal, g));
        }
        let (journal, journal_generation) = active.ok_or_else(|| StateError::Damaged {
            path: dir.display().to_string(),
            reason: "no journal".to_string(),
        })?;
        store.remove_older();
        Ok((store, journal, journal_generation, days, recovery))
    }

    /// Removes what older generations (and interrupted snapshots) left.
    fn remove_older(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let stale = if let Some(g) = name.strip_prefix("journal-") {
                g.parse::<u64>().is_ok_and(|g| g < self.generation)
            } else if let Some(g) = name.strip_prefix("snapshot-") {
                g.parse::<u64>().is_ok_and(|g| g != self.generation)
            } else {
                name.starts_with(".snapshot-")
            };
            if !stale {
                continue;
            }
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }

    /// Starts journal `generation` (empty), durably: the writer appends there from now on.
    pub fn rotate(&self, generation: u64) -> Result<Journal, StateError> {
        let jpath = self.journal_path(generation);
        let _ = std::fs::remove_file(&jpath);
        let (journal, _) = Journal::open(&jpath).map_err(io_error(&jpath, "create"))?;
        journal::sync_dir(&self.dir).map_err(io_error(&self.dir, "sync"))?;
        Ok(journal)
    }

    /// Writes `days` (everything in the journals before `generation`) as snapshot
    /// `generation` and moves `CURRENT` to it; then the older files go. Returns the
    /// snapshot's bytes. On failure the current generation stays as it was.
    pub fn snapshot(&mut self, generation: u64, days: &Days) -> Result<u64, StateError> {
        let tmp = self.dir.join(format!(".snapshot-{generation}.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp).map_err(io_error(&tmp, "create"))?;
        let mut bytes = 0u64;
        for (day, aggregate) in &days.days {
            let path = tmp.join(day_file(*day));
            let file = std::fs::File::create(&path).map_err(io_error(&path, "create"))?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            partial::write(aggregate, &[], &mut out).map_err(io_error(&path, "write"))?;
            let file = out
                .into_inner()
                .map_err(|e| io_error(&path, "write")(e.into_error()))?;
            file.sync_all().map_err(io_error(&path, "sync"))?;
            bytes += file.metadata().map(|m| m.len()).unwrap_or(0);
        }
        journal::sync_dir(&tmp).map_err(io_error(&tmp, "sync"))?;
        let snap = self.snapshot_path(generation);
        let _ = std::fs::remove_dir_all(&snap);
        std::fs::rename(&tmp, &snap).map_err(io_error(&snap, "rename into place"))?;
        journal::write_atomic(&self.dir, "CURRENT", format!("{generation}\n").as_bytes())
            .map_err(io_error(&self.dir.join("CURRENT"), "write"))?;
        self.generation = generation;
        self.remove_older();
        Ok(bytes)
    }

    /// The bytes of the current snapshot.
    pub fn snapshot_bytes(&self) -> u64 {
        let Ok(entries) = std::fs::read_dir(self.snapshot_path(self.generation)) else {
            return 0;
        };
        entries
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    }
}

/// Why a batch was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStored {
    /// The write or sync failed (disk full or failing); nothing of it is on disk.
    Failed(String),
    /// The server is shutting down.
    Closing,
}

/// One batch for the writer: its per-day effect, the journal payload that records it,
/// and where the answer goes.
pub struct Job {
    pub days: BTreeMap<i64, Aggregate>,
    pub payload: Vec<u8>,
    pub events: u64,
    pub skipped: u64,
    pub reply: oneshot::Sender<Result<(), NotStored>>,
}

/// What the writer's queue carries.
pub enum Message {
    Batch(Job),
    /// Store what came before, then stop.
    Stop,
}

/// How the writer works.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Compact into a snapshot once the journal has this many bytes.
    pub snapshot_bytes: u64,
    /// Keep this many UTC days (today included); `None` keeps every day.
    pub retain_days: Option<i64>,
    /// At most this many batches per group.
    pub max_group: usize,
}

/// What the writer shares with the request handlers.
pub struct Shared {
    pub days: RwLock<Days>,
    pub metrics: Metrics,
    /// False once the journal is broken (a failed write could not be undone).
    pub healthy: AtomicBool,
}

/// The first day kept by a retention of `retain` days at time `now` (µs).
pub fn first_kept_day(retain: i64, now: i64) -> i64 {
    now.div_euclid(DAY_MICROS) - retain.max(1) + 1
}

/// Updates the subject and distinct-request gauges from the whole state.
pub fn count_state(shared: &Shared) {
    let days = shared.days.read().unwrap_or_else(|e| e.into_inner());
    let names: std::collections::BTreeSet<&str> = days
        .days
        .values()
        .flat_map(|a| a.subjects.keys().map(String::as_str))
        .collect();
    // One subject merged at a time, so that counting never holds a second copy of the state.
    let distinct: usize = names
        .iter()
        .filter_map(|name| days.subject(name, None))
        .map(|a| a.subjects.values().map(|s| s.distinct()).sum::<usize>())
        .sum();
    shared.metrics.subjects.set(names.len() as i64);
    shared.metrics.distinct_requests.set(distinct as i64);
}

/// The writer thread's loop (see the module comment); returns when told to stop or when
/// every sender is gone, after the last group is synced.
pub fn writer(
    store: Store,
    mut journal: Journal,
    mut journal_generation: u64,
    rx: Receiver<Message>,
    shared: Arc<Shared>,
    options: WriterOptions,
) {
    let store = Arc::new(std::sync::Mutex::new(store));
    let mut snapshotting: Option<std::thread::JoinHandle<()>> = None;
    let mut framed = Vec::new();
    let mut group: Vec<Job> = Vec::new();
    let mut next_compaction = options.snapshot_bytes;
    let mut broken = false;
    let mut stop = false;
    let mut last_retention = Instant::now();
    while !stop {
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                if last_retention.elapsed() > Duration::from_secs(60) {
                    last_retention = Instant::now();
                    apply_retention(&shared, &options);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match first {
            Message::Batch(job) => group.push(job),
            Message::Stop => stop = true,
        }
        while !stop && group.len() < options.max_group {
            match rx.try_recv() {
                Ok(Message::Batch(job)) => group.push(job),
                Ok(Message::Stop) => stop = true,
                Err(_) => break,
            }
        }
        if group.is_empty() {
            continue;
        }
        if broken {
            for job in group.drain(..) {
                let _ = job.reply.send(Err(NotStored::Failed(
                    "the journal is damaged; restart the server".to_string(),
                )));
            }
            continue;
        }
        framed.clear();
        for job in &group {
            journal::frame(&job.payload, &mut framed);
        }
        let started = Instant::now();
        let result = journal.append_sync(&framed);
        shared
            .metrics
            .fsync_seconds
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(()) => {
                shared.metrics.group_batches.observe(group.len() as f64);
                let mut days = shared.days.write().unwrap_or_else(|e| e.into_inner());
                let mut replies = Vec::with_capacity(group.len());
                for job in group.drain(..) {
                    days.apply(job.days);
                    shared.metrics.events.inc_by(job.events);
                    shared.metrics.skipped_lines.inc_by(job.skipped);
                    shared.metrics.batches.inc();
                    replies.push(job.reply);
                }
                drop(days);
                for reply in replies {
                    let _ = reply.send(Ok(()));
                }
                shared.metrics.journal_bytes.set(journal.len() as i64);
            }
            Err(e) => {
                if matches!(e, AppendError::Broken(_)) {
                    broken = true;
                    shared.healthy.store(false, Ordering::SeqCst);
                }
                eprintln!("audit2role serve: {e}");
                for job in group.drain(..) {
                    let _ = job.reply.send(Err(NotStored::Failed(e.to_string())));
                }
            }
        }
        if snapshotting.as_ref().is_some_and(|t| t.is_finished()) {
            if let Some(t) = snapshotting.take() {
                let _ = t.join();
            }
        }
        if !broken && snapshotting.is_none() && journal.len() >= next_compaction {
            // The journal moves to the next generation at once; the snapshot of everything
            // before it is written beside the writer, which goes on appending.
            match store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .rotate(journal_generation + 1)
            {
                Ok(fresh) => {
                    journal = fresh;
                    journal_generation += 1;
                    next_compaction = options.snapshot_bytes;
                    shared.metrics.journal_bytes.set(0);
                    apply_retention(&shared, &options);
                    let copy = {
                        let days = shared.days.read().unwrap_or_else(|e| e.into_inner());
                        days.clone()
                    };
                    let (store, shared, generation) =
                        (store.clone(), shared.clone(), journal_generation);
                    snapshotting = std::thread::Builder::new()
                        .name("snapshot".to_string())
                        .spawn(move || {
                            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                            match store.snapshot(generation, &copy) {
                                Ok(bytes) => {
                                    shared.metrics.snapshot_bytes.set(bytes as i64);
                                }
                                // The journals stay until a later snapshot succeeds.
                                Err(e) => eprintln!("audit2role serve: snapshot failed: {e}"),
                            }
                        })
                        .ok();
                }
                Err(e) => {
                    eprintln!("audit2role serve: cannot start a new journal: {e}");
                    next_compaction = journal.len() + options.snapshot_bytes;
                }
            }
        }
    }
    if let Some(t) = snapshotting.take() {
        let _ = t.join();
    }
    // Whatever was acknowledged is already synced; answer what is still queued.
    while let Ok(m) = rx.try_recv() {
        if let Message::Batch(job) = m {
            let _ = job.reply.send(Err(NotStored::Closing));
        }
    }
}

/// Drops the days the retention no longer keeps (from memory; the next snapshot leaves
/// them out, and recovery applies the retention again).
pub fn apply_retention(shared: &Shared, options: &WriterOptions) {
    if let Some(retain) = options.retain_days {
        let first = first_kept_day(retain, crate::request::select::now_micros());
        let mut days = shared.days.write().unwrap_or_else(|e| e.into_inner());
        days.retain_from(first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The distinct requests of every subject, all days merged, as partial-aggregate text.
    fn text_of(days: &Days) -> String {
        let mut out = Vec::new();
        partial::write(&days.merged(None), &[], &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn batch(user: &str, name: &str) -> BTreeMap<i64, Aggregate> {
        let line = format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/dev/pods/{name}","verb":"get","user":{{"username":"{user}"}},"objectRef":{{"resource":"pods","namespace":"dev","name":"{name}"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"2026-11-02T10:00:00Z","stageTimestamp":"2026-11-02T10:00:00Z"}}"#
        );
        super::super::ingest::decode(line.as_bytes(), 0)
            .unwrap()
            .days
    }

    fn append(journal: &mut Journal, days: &BTreeMap<i64, Aggregate>) {
        let mut framed = Vec::new();
        journal::frame(&super::super::ingest::payload(days).unwrap(), &mut framed);
        journal.append_sync(&framed).unwrap();
    }

    #[test]
    fn a_crash_at_any_step_of_a_snapshot_leaves_the_whole_state() {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = Days::default();
        let (store, mut journal, generation, _, _) = Store::open(dir.path()).unwrap();
        assert_eq!(generation, 0);
        for name in ["a", "b"] {
            append(&mut journal, &batch("alice", name));
            expected.apply(batch("alice", name));
        }
        // The journal rotates; a crash before the snapshot is written: both journals count.
        let copy = expected.clone();
        let mut next = store.rotate(1).unwrap();
        append(&mut next, &batch("bob", "c"));
        expected.apply(batch("bob", "c"));
        drop((store, journal, next));
        let (store, mut journal, generation, days, recovery) = Store::open(dir.path()).unwrap();
        assert_eq!((generation, recovery.generation), (1, 0));
        assert_eq!(recovery.journal_records, 3);
        assert_eq!(text_of(&days), text_of(&expected));
        // The snapshot written, CURRENT moved: the snapshot and the later journal count.
        let mut store = store;
        store.snapshot(1, &copy).unwrap();
        append(&mut journal, &batch("bob", "d"));
        expected.apply(batch("bob", "d"));
        drop((store, journal));
        assert!(!dir.path().join("journal-0").exists());
        assert!(!dir.path().join("snapshot-0").exists());
        let (store, _journal, generation, days, recovery) = Store::open(dir.path()).unwrap();
        assert_eq!((generation, recovery.generation), (1, 1));
        assert_eq!((recovery.snapshot_days, recovery.journal_records), (1, 2));
        assert_eq!(text_of(&days), text_of(&expected));
        // A snapshot interrupted before its rename leaves a temporary directory: ignored
        // and removed.
        drop(store);
        std::fs::create_dir(dir.path().join(".snapshot-2.tmp")).unwrap();
        let (_store, _journal, _, days, _) = Store::open(dir.path()).unwrap();
        assert_eq!(text_of(&days), text_of(&expected));
        assert!(!dir.path().join(".snapshot-2.tmp").exists());
    }

    #[test]
    fn a_second_server_is_refused_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap();
        let second = Store::open(dir.path()).unwrap_err();
        assert!(
            second.to_string().contains("another audit2role serve"),
            "{second}"
        );
        drop(first);
        assert!(Store::open(dir.path()).is_ok());
    }

    #[test]
    fn day_files_name_their_day() {
        let day = parse_rfc3339_micros("2026-11-02T13:00:00Z").unwrap() / DAY_MICROS;
        assert_eq!(day_file(day), "2026-11-02.agg");
        assert_eq!(day_of_file("2026-11-02.agg"), Some(day));
        assert_eq!(day_of_file("notes.txt"), None);
    }

    #[test]
    fn retention_keeps_today_and_the_days_before() {
        let now = parse_rfc3339_micros("2026-11-10T08:00:00Z").unwrap();
        let today = now / DAY_MICROS;
        assert_eq!(first_kept_day(1, now), today);
        assert_eq!(first_kept_day(90, now), today - 89);
        let mut days = Days::default();
        for d in today - 5..=today {
            days.days.insert(d, Aggregate::default());
        }
        assert_eq!(days.retain_from(today - 2), 3);
        assert_eq!(days.days.len(), 3);
    }
}
