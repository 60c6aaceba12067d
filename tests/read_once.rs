//! Every input is opened and read exactly once: a log (plain or gzipped) or a partial
//! aggregate given as a FIFO (what `<(zcat a.gz)` passes) or on standard input gives the
//! same RBAC as the same bytes in a regular file.

mod common;

use common::{run, stderr, stdout, testdata, BIN};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn tmpdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("read-once-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Runs the binary with `args` and then the path of a FIFO that a writer thread fills
/// with `bytes`, a few bytes at a time (as a pipe delivers them).
#[cfg(target_os = "linux")]
fn run_with_fifo(dir: &Path, args: &[&str], bytes: Vec<u8>) -> Output {
    let fifo = dir.join("input.fifo");
    let _ = std::fs::remove_file(&fifo);
    let status = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            // Opening blocks until the binary opens the other end.
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            for chunk in bytes.chunks(7) {
                if f.write_all(chunk).is_err() {
                    break;
                }
            }
        })
    };
    let mut all: Vec<&str> = args.to_vec();
    let path = fifo.display().to_string();
    all.push(&path);
    let out = Command::new(BIN).args(&all).output().expect("binary runs");
    writer.join().unwrap();
    out
}

fn run_with_stdin(args: &[&str], bytes: &[u8]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.push("-");
    let mut child = Command::new(BIN)
        .args(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut stdin = child.stdin.take().unwrap();
    let bytes = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        for chunk in bytes.chunks(7) {
            stdin.write_all(chunk).unwrap();
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn expect_alice(o: &Output, how: &str) {
    assert_eq!(o.status.code(), Some(0), "{how}: {}", stderr(o));
    let want = std::fs::read_to_string(testdata("expected/alice.yaml")).unwrap();
    assert_eq!(stdout(o), want, "{how}");
}

#[test]
fn logs_on_stdin_give_the_same_rbac() {
    let log = std::fs::read(testdata("audit.log")).unwrap();
    expect_alice(&run_with_stdin(&["--user", "alice"], &log), "stdin");
    expect_alice(
        &run_with_stdin(&["--user", "alice"], &gzip(&log)),
        "gzip on stdin",
    );
}

#[cfg(target_os = "linux")]
#[test]
fn logs_and_partial_aggregates_through_a_fifo_give_the_same_rbac() {
    let dir = tmpdir("fifo");
    let log = std::fs::read(testdata("audit.log")).unwrap();
    for threads in ["1", "2"] {
        let args = ["--user", "alice", "--threads", threads];
        expect_alice(&run_with_fifo(&dir, &args, log.clone()), "FIFO");
        expect_alice(&run_with_fifo(&dir, &args, gzip(&log)), "gzip FIFO");
    }
    // A partial aggregate is told from a log by its first bytes, read once.
    let agg = dir.join("alice.agg.gz");
    let o = run(&[
        "aggregate",
        "-q",
        "-o",
        agg.to_str().unwrap(),
        &testdata("audit.log"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let partial = std::fs::read(&agg).unwrap();
    expect_alice(
        &run_with_fifo(&dir, &["--user", "alice"], partial),
        "partial aggregate FIFO",
    );
}

/// A subject that matches nothing in a FIFO: the hints about close subjects would need a
/// second read, which a FIFO cannot give (opening it again waits for a writer that is
/// gone), so the run says no more than the message and ends.
#[cfg(target_os = "linux")]
#[test]
fn no_match_on_a_fifo_ends_without_reading_it_again() {
    let dir = tmpdir("no-match-fifo");
    let fifo = dir.join("input.fifo");
    let status = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let log = std::fs::read(testdata("audit.log")).unwrap();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            let _ = f.write_all(&log);
        })
    };
    let mut child = Command::new(BIN)
        .args(["--user", "nobody-at-all"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run waited on the FIFO after reading it");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    writer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No audit events matched user nobody-at-all"),
        "{}",
        stderr(&out)
    );
}
