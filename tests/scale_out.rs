//! Scale-out: a log split into shards, each aggregated on its own (`audit2role aggregate`)
//! and merged by reading the partial aggregates, gives byte-identical `--all-subjects
//! --out-dir` output to the single run, whatever the order and grouping of the merge.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_audit2role");

fn run(args: &[&str]) -> Output {
    let o = Command::new(BIN).args(args).output().expect("binary runs");
    assert!(
        o.status.code() == Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn tmp(name: &str) -> PathBuf {
    common::scratch(name)
}

/// A log from the shared generator; the shipped log only where ../shared is missing outside
/// CI (see build.rs), where a missing generator fails instead.
fn source_log() -> String {
    if cfg!(shared_missing) {
        return Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/audit.log")
            .display()
            .to_string();
    }
    let tool = common::shared_dir().join("tools/gen_audit_log.py");
    let out = tmp("source.log");
    let status = Command::new("python3")
        .arg(&tool)
        .args(["--events", "6000", "--seed", "3", "--out"])
        .arg(&out)
        .status()
        .expect("python3 runs the shared generator");
    assert!(status.success(), "the generator failed: {status:?}");
    out.display().to_string()
}

/// Every file of an --out-dir run except summary.json, and summary.json's subjects.
fn outputs(dir: &Path) -> (Vec<(String, Vec<u8>)>, serde_json::Value) {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "summary.json")
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    (files, summary["subjects"].clone())
}

fn generate_all(inputs: &[&str], out: &str) -> (Vec<(String, Vec<u8>)>, serde_json::Value) {
    let dir = tmp(out);
    let _ = std::fs::remove_dir_all(&dir);
    let mut args = vec![
        "-q",
        "--all-subjects",
        "--evidence",
        "--out-dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(inputs);
    run(&args);
    outputs(&dir)
}

#[test]
fn sharded_aggregates_merge_to_the_single_run() {
    let log = source_log();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let n = 3;
    let per = lines.len().div_ceil(n);
    let mut aggs = Vec::new();
    for (i, chunk) in lines.chunks(per).enumerate() {
        let shard = tmp(&format!("shard-{i}.log"));
        std::fs::write(&shard, chunk.join("\n") + "\n").unwrap();
        let agg = tmp(&format!("shard-{i}.agg.gz"));
        run(&[
            "aggregate",
            "-q",
            "-o",
            agg.to_str().unwrap(),
            shard.to_str().unwrap(),
        ]);
        aggs.push(agg.display().to_string());
    }
    let single = generate_all(&[&log], "single");
    assert!(single.0.len() >= 3, "too few subjects: {}", single.0.len());

    let merged = generate_all(&[&aggs[0], &aggs[1], &aggs[2]], "merged");
    assert_eq!(merged.0, single.0, "per-subject files differ");
    assert_eq!(merged.1, single.1, "summary subjects differ");

    let reversed = generate_all(&[&aggs[2], &aggs[0], &aggs[1]], "reversed");
    assert_eq!(reversed.0, single.0, "merge order changed the output");

    // (a + b) + c: a partial aggregate of partial aggregates.
    let ab = tmp("ab.agg");
    run(&[
        "aggregate",
        "-q",
        "-o",
        ab.to_str().unwrap(),
        &aggs[0],
        &aggs[1],
    ]);
    let nested = generate_all(&[ab.to_str().unwrap(), &aggs[2]], "nested");
    assert_eq!(nested.0, single.0, "regrouping changed the output");

    // Logs and partial aggregates mix.
    let shard2 = tmp("shard-2.log");
    let mixed = generate_all(&[&aggs[0], &aggs[1], shard2.to_str().unwrap()], "mixed");
    assert_eq!(mixed.0, single.0);
}

#[test]
fn damaged_partial_aggregates_are_errors_with_file_and_line() {
    let agg = tmp("damaged.agg");
    std::fs::write(
        &agg,
        "{\"kind\":\"Audit2roleAggregate\",\"version\":1}\n{\"subject\":\"a\",\"groups\":[],\"verb\":\"get\",\"path\":\"/x\",\"received\":0,\"started\":0,\"completed\":\"many\",\"denied\":0}\n",
    )
    .unwrap();
    let o = Command::new(BIN)
        .args(["--all-subjects", agg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("damaged.agg:2:"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let future = tmp("future.agg");
    std::fs::write(
        &future,
        "{\"kind\":\"Audit2roleAggregate\",\"version\":99}\n",
    )
    .unwrap();
    let o = Command::new(BIN)
        .args(["--all-subjects", future.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("version"));
    let windowed = Command::new(BIN)
        .args([
            "--all-subjects",
            "--since",
            "1d",
            tmp("shard-0.agg.gz").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let _ = windowed; // the shard may not exist when this test runs alone; see the next check
    let ok = tmp("ok.agg");
    std::fs::write(&ok, "{\"kind\":\"Audit2roleAggregate\",\"version\":1}\n").unwrap();
    let o = Command::new(BIN)
        .args(["--all-subjects", "--since", "1d", ok.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--since"));
}

#[test]
fn version_1_partial_aggregates_give_the_same_output() {
    let log = source_log();
    let agg = tmp("current.agg");
    run(&["aggregate", "-q", "-o", agg.to_str().unwrap(), &log]);
    let text = std::fs::read_to_string(&agg).unwrap();
    assert!(text.starts_with("{\"kind\":\"Audit2roleAggregate\",\"version\":2}\n"));
    assert!(text.contains("\n{\"activity\":{"));
    // What an older audit2role wrote: version 1, no activity lines.
    let old: String = text
        .lines()
        .filter(|l| !l.starts_with("{\"activity\":"))
        .map(|l| {
            if l.starts_with("{\"kind\":") {
                "{\"kind\":\"Audit2roleAggregate\",\"version\":1}\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let v1 = tmp("old.agg");
    std::fs::write(&v1, old).unwrap();
    let single = generate_all(&[&log], "single-v1");
    let from_v1 = generate_all(&[v1.to_str().unwrap()], "from-v1");
    assert_eq!(from_v1.0, single.0, "per-subject files differ");
    assert_eq!(from_v1.1, single.1, "summary subjects differ");
    // And mixed with a version 2 file of the same events: counted twice, read alike.
    let both = generate_all(&[v1.to_str().unwrap(), agg.to_str().unwrap()], "v1-v2");
    let twice = generate_all(&[agg.to_str().unwrap(), agg.to_str().unwrap()], "v2-v2");
    assert_eq!(both.0, twice.0);
}

/// More subjects than one generation chunk (1,024): the stdout stream, the JSON list and
/// the out-dir files agree subject by subject across the chunk boundaries.
#[test]
fn subjects_past_a_chunk_boundary_are_written_alike_everywhere() {
    let log = tmp("many-subjects.log");
    let mut text = String::new();
    for i in 0..2_500 {
        text.push_str(&format!(
            "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"stage\":\"ResponseComplete\",\"verb\":\"get\",\"requestURI\":\"/api/v1/namespaces/ns-{n}/configmaps/cm-{i}\",\"user\":{{\"username\":\"user-{i:05}\"}},\"objectRef\":{{\"resource\":\"configmaps\",\"namespace\":\"ns-{n}\",\"name\":\"cm-{i}\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"code\":200}}}}\n",
            n = i % 7
        ));
    }
    std::fs::write(&log, text).unwrap();
    let log = log.display().to_string();
    let (files, summary) = generate_all(&[&log], "many-subjects-out");
    let subjects = summary.as_array().unwrap();
    assert_eq!(subjects.len(), 2_500);
    // The stream is the files, in subject order, one document each.
    let mut joined = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        let name = s["file"].as_str().unwrap();
        let (_, bytes) = files.iter().find(|(n, _)| n == name).unwrap();
        if i > 0 {
            joined.extend_from_slice(b"---\n");
        }
        joined.extend_from_slice(bytes);
    }
    let stream = run(&["-q", "--all-subjects", "--evidence", &log]);
    assert!(stream.stdout == joined, "stdout differs from the files");
    // The JSON list holds every subject's Role and RoleBinding, and every report.
    let json = run(&["-q", "--all-subjects", "--evidence", "-o", "json", &log]);
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 5_000);
    let reports = list["audit2role"]["subjects"].as_array().unwrap();
    assert_eq!(reports.len(), 2_500);
    assert_eq!(reports[1_024]["subject"], "user-01024");
    let plain = run(&["-q", "--all-subjects", "-o", "json", &log]);
    let plain: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(plain["items"], list["items"]);
}
