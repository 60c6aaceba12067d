//! Writing one file per subject under `--out-dir`: file names that are safe (no path
//! separators, no `..`), stable for the same subjects, and distinct even when two subjects
//! sanitize alike; files written atomically and durably (temporary file, fsync, rename,
//! one fsync of the directory), many at once while the worker pool makes the next ones
//! ([`OutDir::write_each`]); the directory locked for
//! the run ([`OutDir`]), and SIGINT/SIGTERM turned into a clean stop ([`Interrupts`]).

use crate::error::{Error, Result};
use crate::generate::names::short_hash;
use crate::request::split_service_account;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The file written last, once every subject's file is in place.
pub const SUMMARY: &str = "summary.json";

/// Writer threads of [`OutDir::write_files`]. They mostly wait for fsync, not for a core:
/// their number is how many fsyncs are in flight, independent of `--threads`.
pub const WRITERS: usize = 16;

/// Rendered files that may wait for a writer (bounds the memory of a large run).
pub const PENDING: usize = 64;

/// The longest file-name stem before the hash suffix.
const MAX_STEM: usize = 180;

/// The file stem for one subject, and whether it loses information (case, characters,
/// length), in which case a hash of the subject is appended.
fn stem(subject: &str) -> (String, bool) {
    let (prefix, body) = match split_service_account(subject) {
        Some((ns, name)) => ("serviceaccount-", format!("{ns}-{name}")),
        None => ("user-", subject.to_string()),
    };
    let mut cleaned: String = body
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut lossy = cleaned != body;
    if cleaned.len() > MAX_STEM {
        cleaned.truncate(MAX_STEM);
        lossy = true;
    }
    (format!("{prefix}{cleaned}"), lossy)
}

/// File names (`user-alice.yaml`, `serviceaccount-ops-reconciler.yaml`) for `subjects`,
/// ending in `.extension`.
/// Lossy names always carry a hash of the subject, so a name never depends on which other
/// subjects there are; the one exception is two service accounts whose `NS-NAME` reads
/// alike (`a-b:c`, `a:b-c`), which then both carry a hash.
pub fn file_names(subjects: &[&str], extension: &str) -> BTreeMap<String, String> {
    let stems: Vec<(String, bool)> = subjects.iter().map(|s| stem(s)).collect();
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for (s, lossy) in &stems {
        if !lossy {
            *uses.entry(s.as_str()).or_default() += 1;
        }
    }
    subjects
        .iter()
        .zip(&stems)
        .map(|(subject, (s, lossy))| {
            let name = if *lossy || uses.get(s.as_str()).copied().unwrap_or(0) > 1 {
                format!("{s}-{}.{extension}", short_hash(subject))
            } else {
                format!("{s}.{extension}")
            };
            (subject.to_string(), name)
        })
        .collect()
}

/// Writes `bytes` to `dir/name` through a temporary file in the same directory, synced
/// before it is renamed over the target, so that an interrupted run never leaves a
/// half-written file. The temporary file is created exclusively under an unpredictable
/// name, so a link planted in the directory is never followed; it is removed on failure.
/// The rename is durable once [`sync_dir`] has run for `dir`.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    if name.contains('/') || name.contains('\\') || name == "." || name == ".." || name.is_empty() {
        return Err(Error::output_refused(format!(
            "refusing unsafe file name {name:?}"
        )));
    }
    let target = dir.join(name);
    let result = (|| {
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&target).map_err(|e| e.error)?;
        Ok(())
    })();
    result.map_err(|e: std::io::Error| Error::output_to(target.display(), e))
}

/// Makes the renames into `dir` durable (fsync of the directory), once for many files.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::output_to(dir.display(), e))
}

/// SIGINT and SIGTERM seen while writing: once [`Interrupts::watch`] has run, either
/// signal sets a flag instead of ending the process, and the writers stop at the next file,
/// removing their temporary files. A second signal of the same kind ends the process at
/// once (with 130 or 143), as a user pressing Ctrl-C twice expects.
#[derive(Clone, Debug, Default)]
pub struct Interrupts {
    int: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
}

impl Interrupts {
    /// Flags that no signal sets: for callers that handle signals themselves.
    pub fn none() -> Interrupts {
        Interrupts::default()
    }

    /// Catches SIGINT and SIGTERM from now on for the life of the process.
    pub fn watch() -> Result<Interrupts> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let i = Interrupts::default();
        let register = || -> std::io::Result<()> {
            // The order matters: the shutdown is armed by the first signal, which the
            // second registration records.
            signal_hook::flag::register_conditional_shutdown(SIGINT, 130, i.int.clone())?;
            signal_hook::flag::register_conditional_shutdown(SIGTERM, 143, i.term.clone())?;
            signal_hook::flag::register(SIGINT, i.int.clone())?;
            signal_hook::flag::register(SIGTERM, i.term.clone())?;
            Ok(())
        };
        register().map_err(|e| Error::output_to("installing the SIGINT/SIGTERM handler", e))?;
        Ok(i)
    }

    /// The signal seen, if any: its name and the exit code for it (128 + its number).
    pub fn seen(&self) -> Option<(&'static str, i32)> {
        if self.int.load(Ordering::Relaxed) {
            Some(("SIGINT", 130))
        } else if self.term.load(Ordering::Relaxed) {
            Some(("SIGTERM", 143))
        } else {
            None
        }
    }

    /// An error when a signal was seen, for a stop at `dir`.
    fn check(&self, dir: &Path) -> Result<()> {
        match self.seen() {
            Some((signal, code)) => Err(Error::Interrupted {
                signal,
                code,
                path: dir.display().to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Records `signal` as seen, as the handler would (for tests).
    pub fn raise(&self, term: bool) {
        let flag = if term { &self.term } else { &self.int };
        flag.store(true, Ordering::Relaxed);
    }
}

/// An output directory held for one run: created if missing and locked (an advisory
/// `flock` on the directory itself, so no lock file is left behind), so that a second run
/// on it fails at once instead of interleaving its files with this one's. The lock goes
/// with the process, however it ends.
pub struct OutDir {
    path: PathBuf,
    /// Open for the lock and for the fsync of the directory.
    handle: std::fs::File,
}

/// One file for [`OutDir::write_files`]: its name in the directory and how to make its
/// bytes (called on a worker).
pub trait OutFile: Sync {
    fn name(&self) -> &str;
    fn render(&self) -> Result<Vec<u8>>;
}

impl OutDir {
    /// Creates `dir` if needed and locks it; fails with a message naming it when another
    /// run holds it.
    pub fn open(dir: &Path) -> Result<OutDir> {
        let not_a_directory = |why: &str| {
            Error::output_to(
                dir.display(),
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, why.to_string()),
            )
        };
        match (std::fs::symlink_metadata(dir), std::fs::metadata(dir)) {
            (Ok(_), Ok(m)) if !m.is_dir() => {
                return Err(not_a_directory("exists and is not a directory"))
            }
            (Ok(l), Err(_)) if l.file_type().is_symlink() => {
                return Err(not_a_directory(
                    "is a symbolic link to nothing (a dangling link), not a directory",
                ))
            }
            _ => {}
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::output_to(dir.display(), e))?;
        let handle = std::fs::File::open(dir).map_err(|e| Error::output_to(dir.display(), e))?;
        let is_dir = handle
            .metadata()
            .map_err(|e| Error::output_to(dir.display(), e))?
            .is_dir();
        if !is_dir {
            return Err(Error::output_to(
                dir.display(),
                std::io::Error::other("not a directory"),
            ));
        }
        lock(&handle).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                Error::output_to(
                    dir.display(),
                    std::io::Error::new(
                        e.kind(),
                        "another audit2role run is writing to this directory; wait for it to end or choose another --out-dir",
                    ),
                )
            } else {
                Error::output_to(dir.display(), e)
            }
        })?;
        Ok(OutDir {
            path: dir.to_path_buf(),
            handle,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes every file of `files`: [`OutDir::write_each`] with each file's own name and
    /// bytes.
    pub fn write_files<F: OutFile>(&self, files: &[F], interrupts: &Interrupts) -> Result<()> {
        let make = |f: &F| Ok((Some((f.name().to_string(), f.render()?)), ()));
        self.write_each(files, make, interrupts).map(|_| ())
    }

    /// Makes something of each of `items` on the worker pool with `make`, which also says
    /// what file, if any, the item gets (name and bytes); writes each such file atomically
    /// and synced, then makes the renames durable with one fsync of the directory. Returns
    /// what `make` made, in the order of `items`.
    ///
    /// Files are written by [`WRITERS`] writer threads while the workers go on making the
    /// next items, so that many fsyncs are in flight at once (the file system commits them
    /// together) and none is waited for before the work that follows it; at most
    /// [`PENDING`] made files wait for a writer. A summary of an earlier run is removed
    /// first, so that an interrupted run leaves none that disagrees with the files;
    /// [`OutDir::write_summary`] writes the new one. Stops at the first failure or signal,
    /// with no temporary file left.
    pub fn write_each<T, R, M>(
        &self,
        items: &[T],
        make: M,
        interrupts: &Interrupts,
    ) -> Result<Vec<R>>
    where
        T: Sync,
        R: Send,
        M: Fn(&T) -> Result<(Option<(String, Vec<u8>)>, R)> + Sync,
    {
        interrupts.check(&self.path)?;
        match std::fs::remove_file(self.path.join(SUMMARY)) {
            Ok(()) => self.sync()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::output_to(self.path.join(SUMMARY).display(), e)),
        }
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let fail = |e: Error| {
            failed.store(true, Ordering::Relaxed);
            let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(e);
        };
        let stopped = || failed.load(Ordering::Relaxed) || interrupts.seen().is_some();
        let (sender, receiver) = std::sync::mpsc::sync_channel::<(String, Vec<u8>)>(PENDING);
        let receiver = Mutex::new(receiver);
        let made = std::thread::scope(|scope| {
            for _ in 0..WRITERS.min(items.len()) {
                scope.spawn(|| loop {
                    let next = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((name, bytes)) = next else { break };
                    // After a failure or a signal, what is queued is dropped unwritten.
                    if stopped() {
                        continue;
                    }
                    if let Err(e) = write_atomic(&self.path, &name, &bytes) {
                        fail(e);
                    }
                });
            }
            // Stops early (with `Err(())`) after a failure or a signal, recorded above.
            let made: std::result::Result<Vec<R>, ()> = items
                .par_iter()
                .map_with(sender, |sender, item| {
                    if stopped() {
                        return Err(());
                    }
                    match make(item) {
                        Ok((file, made)) => {
                            if let Some(file) = file {
                                sender.send(file).map_err(|_| ())?;
                            }
                            Ok(made)
                        }
                        Err(e) => {
                            fail(e);
                            Err(())
                        }
                    }
                })
                .collect();
            // The senders are gone: the writers end once the queue is empty.
            made
        });
        interrupts.check(&self.path)?;
        if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let made = made.map_err(|()| {
            Error::output_to(
                self.path.display(),
                std::io::Error::other("the writer threads ended early"),
            )
        })?;
        self.sync()?;
        Ok(made)
    }

    /// Writes [`SUMMARY`], last, and makes it durable, unless a signal came first.
    pub fn write_summary(&self, bytes: &[u8], interrupts: &Interrupts) -> Result<()> {
        interrupts.check(&self.path)?;
        write_atomic(&self.path, SUMMARY, bytes)?;
        self.sync()
    }

    fn sync(&self) -> Result<()> {
        self.handle
            .sync_all()
            .map_err(|e| Error::output_to(self.path.display(), e))
    }
}

/// An exclusive advisory lock on `file`, failing with `WouldBlock` when it is held.
#[cfg(target_os = "linux")]
fn lock(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor the File owns; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere the directory is not locked.
#[cfg(not(target_os = "linux"))]
fn lock(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        // Links at every name an older release would have used.
        for pid in [std::process::id(), 1, 2] {
            let _ =
                std::os::unix::fs::symlink(&victim, dir.path().join(format!(".a.yaml.tmp-{pid}")));
        }
        write_atomic(dir.path(), "a.yaml", b"new").unwrap();
        sync_dir(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.yaml")).unwrap(),
            "new"
        );
        assert!(!std::fs::symlink_metadata(dir.path().join("a.yaml"))
            .unwrap()
            .file_type()
            .is_symlink());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    struct File(&'static str, &'static str);

    impl OutFile for File {
        fn name(&self) -> &str {
            self.0
        }
        fn render(&self) -> Result<Vec<u8>> {
            Ok(self.1.as_bytes().to_vec())
        }
    }

    fn listing(dir: &Path) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn files_then_summary_and_an_interrupt_stops_before_any() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let out = OutDir::open(&dir).unwrap();
        let files = [File("a.yaml", "A"), File("b.yaml", "B")];
        out.write_files(&files, &Interrupts::none()).unwrap();
        out.write_summary(b"S", &Interrupts::none()).unwrap();
        let want = |a: &str, b: &str| {
            vec![
                ("a.yaml".to_string(), a.to_string()),
                ("b.yaml".to_string(), b.to_string()),
                ("summary.json".to_string(), "S".to_string()),
            ]
        };
        assert_eq!(listing(&dir), want("A", "B"));

        // A second lock on the same directory fails while the first is held.
        let again = OutDir::open(&dir).err().expect("held");
        assert_eq!(again.exit_code(), crate::error::EXIT_OUTPUT);
        assert!(
            again.chain().contains("another audit2role run"),
            "{}",
            again.chain()
        );

        let signalled = Interrupts::none();
        signalled.raise(true);
        let files = [File("a.yaml", "A2"), File("b.yaml", "B2")];
        let err = out.write_files(&files, &signalled).expect_err("stopped");
        assert_eq!(err.exit_code(), 143);
        assert_eq!(listing(&dir), want("A", "B"), "untouched");
        let err = out.write_summary(b"S2", &signalled).expect_err("stopped");
        assert_eq!(err.exit_code(), 143);

        // Writing again first removes the old summary, which only the end writes back.
        out.write_files(&files, &Interrupts::none()).unwrap();
        assert_eq!(
            listing(&dir),
            vec![
                ("a.yaml".to_string(), "A2".to_string()),
                ("b.yaml".to_string(), "B2".to_string()),
            ]
        );
        drop(out);
        assert!(OutDir::open(&dir).is_ok(), "released with the OutDir");
    }

    #[test]
    fn a_regular_file_or_a_dangling_link_is_no_out_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let err = OutDir::open(&file).err().expect("refused");
        assert_eq!(err.exit_code(), crate::error::EXIT_OUTPUT);
        assert!(
            err.chain().ends_with("f: exists and is not a directory"),
            "{}",
            err.chain()
        );
        let link = tmp.path().join("l");
        std::os::unix::fs::symlink(tmp.path().join("nothing"), &link).unwrap();
        let err = OutDir::open(&link).err().expect("refused");
        assert!(
            err.chain().contains("l: is a symbolic link to nothing"),
            "{}",
            err.chain()
        );
        assert!(!tmp.path().join("nothing").exists(), "nothing created");
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails.
        std::fs::create_dir(dir.path().join("a.yaml")).unwrap();
        std::fs::write(dir.path().join("a.yaml/x"), "x").unwrap();
        assert!(write_atomic(dir.path(), "a.yaml", b"new").is_err());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.yaml"]);
    }

    #[test]
    fn names_are_safe_stable_and_distinct() {
        let subjects = [
            "alice",
            "system:serviceaccount:ops:reconciler",
            "Alice",
            "../../etc/passwd",
            "a/b",
            "a-b",
            "system:serviceaccount:a-b:c",
            "system:serviceaccount:a:b-c",
        ];
        let names = file_names(&subjects, "yaml");
        assert_eq!(names["alice"], "user-alice.yaml");
        assert_eq!(
            names["system:serviceaccount:ops:reconciler"],
            "serviceaccount-ops-reconciler.yaml"
        );
        assert_eq!(names["a-b"], "user-a-b.yaml");
        let all: std::collections::BTreeSet<&String> = names.values().collect();
        assert_eq!(all.len(), subjects.len(), "{names:?}");
        for n in names.values() {
            assert!(
                !n.contains('/') && !n.starts_with('.') && n.len() < 255,
                "{n}"
            );
        }
        assert_ne!(
            names["system:serviceaccount:a-b:c"],
            names["system:serviceaccount:a:b-c"]
        );
        assert_eq!(file_names(&subjects, "yaml"), names, "stable");
    }
}
