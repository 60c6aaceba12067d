//! `--out-dir` writes around faults: SIGINT and SIGTERM in the middle of the writes leave no
//! temporary file and no summary.json that disagrees with the files, and a second run on a
//! directory another run holds fails at once, naming it. Each test runs the binary.

mod common;

use audit2role::render::outdir::OutDir;
use common::BIN;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A log of `subjects` users with three requests each: thousands of files to write.
fn many_subjects_log(dir: &Path, subjects: usize) -> String {
    let mut text = String::new();
    for i in 0..subjects {
        for verb in ["get", "list", "delete"] {
            text.push_str(&format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/dev/pods/p{i}","verb":"{verb}","user":{{"username":"user-{i}"}},"objectRef":{{"resource":"pods","namespace":"dev","name":"p{i}","apiVersion":"v1"}},"responseStatus":{{"code":200}},"stageTimestamp":"2026-11-02T09:00:00.000000Z"}}"#
            ));
            text.push('\n');
        }
    }
    let path = dir.join("audit.log");
    std::fs::write(&path, text).expect("log written");
    path.display().to_string()
}

/// The files of `dir` by name, with their bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("out dir listed")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("file read"),
            )
        })
        .collect()
}

fn generate(log: &str, out: &Path, extra: &[&str]) {
    let o = Command::new(BIN)
        .args(["-q", "--all-subjects", "--out-dir"])
        .arg(out)
        .args(extra)
        .arg(log)
        .output()
        .expect("binary runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Starts a run that rewrites `out` (whose earlier run wrote summary.json), waits until
/// it has begun writing (it removes the old summary.json first), sends `signal` and
/// returns the exit code and stderr. The run may have ended before the signal came.
fn interrupted_run(log: &str, out: &Path, signal: &str) -> (Option<i32>, String) {
    assert!(out.join("summary.json").exists());
    let child = Command::new(BIN)
        .args(["-q", "--all-subjects", "--out-dir"])
        .arg(out)
        .arg(log)
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let start = Instant::now();
    while out.join("summary.json").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run never began writing"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // Fails only when the run has already ended.
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    let o = child.wait_with_output().expect("run ends");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_signal_while_writing_leaves_no_temporary_file_and_no_stale_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = many_subjects_log(dir.path(), 1500);
    // What a finished run writes, and what an earlier run (with evidence) left.
    let complete = dir.path().join("complete");
    generate(&log, &complete, &[]);
    let new = files(&complete);
    let previous = dir.path().join("previous");
    generate(&log, &previous, &["--evidence"]);
    let old = files(&previous);
    assert_eq!(new.len(), 1501);
    assert_eq!(
        new.keys().collect::<Vec<_>>(),
        old.keys().collect::<Vec<_>>()
    );

    for (signal, code, name) in [("-INT", 130, "SIGINT"), ("-TERM", 143, "SIGTERM")] {
        let out = dir.path().join(format!("out{signal}"));
        let mut interrupted = false;
        // A fast disk may finish the writes before the signal lands: then the directory
        // must be the finished run's, and the signal is tried again.
        for _attempt in 0..5 {
            generate(&log, &out, &["--evidence"]);
            let (status, stderr) = interrupted_run(&log, &out, signal);
            let now = files(&out);
            let hidden: Vec<&String> = now
                .keys()
                .filter(|n| n.starts_with('.') || n.ends_with(".tmp"))
                .collect();
            assert!(
                hidden.is_empty(),
                "{name}: temporary files left: {hidden:?}"
            );
            if status == Some(0) {
                assert_eq!(now, new, "{name}: a finished run");
                continue;
            }
            assert_eq!(status, Some(code), "{name}: {stderr}");
            assert!(
                stderr.contains(&format!("interrupted by {name}")) && stderr.contains("out"),
                "{name}: {stderr}"
            );
            assert!(
                !now.contains_key("summary.json"),
                "{name}: a summary.json that disagrees with the files"
            );
            // Every file is whole: this run's or the earlier run's, never a mix.
            for (file, bytes) in &now {
                if new.get(file) != Some(bytes) {
                    assert_eq!(old.get(file), Some(bytes), "{name}: {file} is damaged");
                }
            }
            interrupted = true;
            break;
        }
        assert!(interrupted, "{name}: every run ended before the signal");
        // The next run completes the directory.
        generate(&log, &out, &[]);
        assert_eq!(files(&out), new, "{name}");
    }
}

#[test]
fn a_second_run_on_a_held_directory_fails_at_once_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = many_subjects_log(dir.path(), 3);
    let out = dir.path().join("held");
    // Held here as a run holds it, for as long as `held` lives.
    let held = OutDir::open(&out).expect("first lock");
    let start = Instant::now();
    let o = Command::new(BIN)
        .args(["-q", "--all-subjects", "--out-dir"])
        .arg(&out)
        .arg(&log)
        .output()
        .expect("binary runs");
    assert!(start.elapsed() < Duration::from_secs(20), "it waited");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains(&out.display().to_string())
            && stderr.contains("another audit2role run is writing to this directory"),
        "{stderr}"
    );
    assert!(files(&out).is_empty(), "nothing written");
    // Once released, the directory is written as usual.
    drop(held);
    generate(&log, &out, &[]);
    assert_eq!(files(&out).len(), 4);
    // The lock is on the directory itself: no lock file stays behind.
    assert!(files(&out).keys().all(|n| !n.starts_with('.')));
}

/// Files are made on the workers and written by writer threads as they come: whatever
/// the thread count, the directory holds the same files, byte for byte, summary.json
/// included, in YAML and in JSON.
#[test]
fn one_two_and_eight_threads_write_the_same_files_and_summary() {
    let dir = common::scratch_dir("threads-alike");
    // The shipped log's varied subjects and requests, and enough others (300) that files
    // wait for writers and the workers run ahead of them.
    let mut text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/audit.log"))
            .expect("testdata/audit.log is readable");
    text.push_str(&std::fs::read_to_string(many_subjects_log(&dir, 300)).expect("log read"));
    let log = dir.join("mixed.log");
    std::fs::write(&log, text).expect("log written");
    let log = log.display().to_string();
    for format in ["yaml", "json"] {
        let out = |threads: &str| {
            let out = dir.join(format!("out-{format}-{threads}"));
            generate(
                &log,
                &out,
                &["--evidence", "-o", format, "--threads", threads],
            );
            files(&out)
        };
        let want = out("1");
        assert!(
            want.contains_key("summary.json"),
            "{format}: no summary.json"
        );
        assert!(want.len() > 300, "{format}: {} files", want.len());
        for threads in ["2", "8"] {
            assert_eq!(out(threads), want, "{format}, {threads} threads");
        }
    }
}
