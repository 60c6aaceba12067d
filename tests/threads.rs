//! Every thread count and block size gives the same result: aggregates (compared sorted,
//! as every output reads them), skip reports with their line numbers, read errors,
//! multi-line documents.

use audit2role::aggregate::Aggregate;
use audit2role::decode::FileReport;
use audit2role::read::expand_sources;
use audit2role::{read_inputs, ReadOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn event(i: usize) -> String {
    let users = ["alice", "bob", "system:serviceaccount:ops:robot", "a<b&c"];
    let user = users[i % users.len()];
    let user_json = user.replace('<', "\\u003c").replace('&', "\\u0026");
    let groups = ["\"g1\"", "\"g2\",\"g1\"", "\"system:authenticated\""][(i / 7) % 3];
    let verb = ["get", "list", "watch", "create", "delete"][(i / 3) % 5];
    let stage = ["ResponseComplete", "RequestReceived", "ResponseStarted"][i % 3];
    let code = if i % 11 == 0 { 403 } else { 200 };
    format!(
        "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"stage\":\"{stage}\",\"requestURI\":\"/api/v1/namespaces/ns{ns}/pods/p{name}?x=1\\u0026y=2\",\"verb\":\"{verb}\",\"user\":{{\"username\":\"{user_json}\",\"groups\":[{groups}]}},\"objectRef\":{{\"resource\":\"pods\",\"namespace\":\"ns{ns}\",\"name\":\"p{name}\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"code\":{code}}},\"requestObject\":{{\"pad\":\"{pad}\"}},\"stageTimestamp\":\"2024-05-01T08:00:{sec:02}.{us:06}Z\"}}",
        ns = i % 5,
        name = i % 13,
        pad = "x".repeat(i % 97),
        sec = i % 60,
        us = i * 37 % 1_000_000,
    )
}

/// A log with everything the line loop must get right, in many small blocks.
fn mixed_log() -> String {
    let mut out = String::from("\u{feff}");
    for i in 0..400 {
        out.push_str(&event(i));
        out.push_str(if i % 9 == 0 { "\r\n" } else { "\n" });
        match i {
            17 => out.push_str("not json at all\n"),
            33 => out.push_str("{\"verb\":5}\n"),
            50 => out.push_str("\n   \n"),
            61 => out.push_str("{\"kind\":\"Status\"}\n"),
            120 => {
                // A pretty-printed EventList spanning many blocks.
                out.push_str("{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n  \"items\": [\n");
                for j in 0..30 {
                    out.push_str("    ");
                    out.push_str(&event(1000 + j));
                    out.push_str(if j < 29 { ",\n" } else { "\n" });
                }
                out.push_str("  ]\n}\n");
            }
            200 => {
                // A broken document: its lines are tried one by one.
                out.push_str("[\n");
                out.push_str(&event(2000));
                out.push('\n');
            }
            300 => out.push_str("[\n  {\"verb\": \"get\", \"user\": {\"username\": \"alice\"}, \"requestURI\": \"/healthz2\"}\n]\n"),
            _ => {}
        }
    }
    out.push_str(&event(999)); // no final newline
    out
}

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("threads");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, bytes: &[u8]) -> String {
    let p = dir().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The aggregate in a comparable form, sorted (no output depends on the order of an
/// aggregate): per subject, its group sets, and every request with its evidence per group
/// set (named by its groups).
fn canonical(a: &Aggregate) -> Vec<String> {
    let mut out = Vec::new();
    for name in a.subject_names() {
        let s = &a.subjects[name];
        let mut sets = s.group_sets.clone();
        sets.sort();
        out.push(format!("{name} {sets:?}"));
        let sorted = s.requests.sorted();
        for (r, entries) in sorted.iter() {
            let mut per_set: Vec<String> = entries
                .map(|(g, e)| format!("{:?} {e:?}", s.group_sets[g as usize]))
                .collect();
            per_set.sort();
            out.push(format!("  {r:?} {per_set:?}"));
        }
    }
    out
}

fn read(
    paths: &[String],
    threads: usize,
    block_size: usize,
    users: &[&str],
) -> (Vec<String>, Vec<FileReport>) {
    let sources = expand_sources(paths).unwrap();
    let mut options = ReadOptions {
        threads,
        block_size,
        ..ReadOptions::default()
    };
    options.filter.users = users.iter().map(|u| u.to_string()).collect();
    let (a, r) = read_inputs(&sources, &options).unwrap();
    (canonical(&a), r)
}

#[test]
fn threads_and_block_sizes_agree() {
    let log = mixed_log();
    let plain = write("mixed.log", log.as_bytes());
    let gz = write("mixed.log.gz", &gzip(log.as_bytes()));
    let bytes = log.as_bytes();
    let mut truncated_gz = gzip(bytes);
    truncated_gz.truncate(truncated_gz.len() * 2 / 3);
    let truncated = write("truncated.log.gz", &truncated_gz);
    let paths = vec![plain, gz, truncated];
    let (want, want_reports) = read(&paths, 1, 0, &[]);
    assert!(want_reports[0].skipped_total() >= 4, "{want_reports:?}");
    assert!(want_reports[2].read_error.is_some());
    for threads in [2, 3, 8] {
        for block in [0, 100, 700, 4096, 20_000] {
            let (got, reports) = read(&paths, threads, block, &[]);
            assert_eq!(got, want, "threads {threads} block {block}");
            assert_eq!(reports, want_reports, "threads {threads} block {block}");
        }
    }
}

#[test]
fn subject_prefilter_keeps_every_event_of_the_subject() {
    let log = mixed_log();
    let plain = write("mixed-prefilter.log", log.as_bytes());
    let paths = vec![plain];
    let (all, _) = read(&paths, 1, 0, &[]);
    for user in ["alice", "a<b&c", "system:serviceaccount:ops:robot"] {
        let (want, want_reports) = read(&paths, 1, 0, &[user]);
        let expected: Vec<String> = {
            // The subject's part of the unfiltered aggregate.
            let mut v = Vec::new();
            let mut take = false;
            for l in &all {
                if !l.starts_with("  ") {
                    take = l.starts_with(&format!("{user} ["));
                }
                if take {
                    v.push(l.clone());
                }
            }
            v
        };
        assert_eq!(want, expected, "{user}");
        assert!(want_reports[0].prefiltered > 0);
        for threads in [2, 8] {
            for block in [0, 300] {
                let (got, reports) = read(&paths, threads, block, &[user]);
                assert_eq!(got, want, "{user} threads {threads} block {block}");
                assert_eq!(
                    reports, want_reports,
                    "{user} threads {threads} block {block}"
                );
            }
        }
    }
}

#[test]
fn cli_output_is_identical_for_1_2_and_8_threads() {
    let log = mixed_log();
    let gz = write("cli.log.gz", &gzip(log.as_bytes()));
    let run = |threads: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_audit2role"))
            .args(["--user", "alice", "--threads", threads, &gz])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (out.stdout, out.stderr)
    };
    let one = run("1");
    assert!(!one.0.is_empty());
    assert_eq!(run("2"), one);
    assert_eq!(run("8"), one);
}

#[test]
fn strict_input_stops_at_the_first_bad_line_whatever_the_threads() {
    let log = mixed_log();
    let good: String = (0..300).map(|i| event(i) + "\n").collect();
    let clean = write("strict-clean.log", good.as_bytes());
    let mixed = write("strict-mixed.log.gz", &gzip(log.as_bytes()));
    // The clean file first, then the mixed one: its line 19 is the first bad line.
    let paths = vec![clean, mixed.clone()];
    let sources = expand_sources(&paths).unwrap();
    for threads in [1, 2, 8] {
        for block in [0, 100, 4096] {
            let options = ReadOptions {
                threads,
                block_size: block,
                strict_input: true,
                ..ReadOptions::default()
            };
            let err = read_inputs(&sources, &options).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("{mixed}:19: invalid JSON")),
                "threads {threads} block {block}: {err}"
            );
        }
    }
}

/// A log of many subjects (users, service accounts, one in system:masters), each with its
/// own mix of resources, namespaces, names and verbs, so that per-subject work has
/// something to differ on.
fn many_subjects_log() -> String {
    let mut out = String::new();
    let resources = [
        ("", "v1", "pods"),
        ("", "v1", "secrets"),
        ("apps", "apps/v1", "deployments"),
        ("batch", "batch/v1", "jobs"),
        ("", "v1", "configmaps"),
    ];
    for i in 0..3000usize {
        let s = i % 47;
        let user = if s % 3 == 0 {
            format!("system:serviceaccount:ns{}:sa{s}", s % 4)
        } else {
            format!("user{s}")
        };
        let groups = if s == 5 {
            "\"system:masters\""
        } else {
            "\"system:authenticated\""
        };
        let (group, version, resource) = resources[(i / 47 + s) % resources.len()];
        let prefix = if group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{version}")
        };
        let verb = ["get", "list", "watch", "create", "delete", "patch"][(i * 7 + s) % 6];
        let ns = format!("ns{}", (i + s) % 6);
        let name = format!("o{}", (i * 13 + s) % 29);
        let code = if i % 17 == 0 { 403 } else { 200 };
        if i % 23 == 0 {
            out.push_str(&format!(
                "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/metrics/x{}\",\"verb\":\"get\",\"user\":{{\"username\":\"{user}\",\"groups\":[{groups}]}},\"responseStatus\":{{\"code\":200}},\"stageTimestamp\":\"2024-05-0{}T08:{:02}:00.000000Z\"}}\n",
                i % 5,
                1 + i % 7,
                i % 60
            ));
            continue;
        }
        out.push_str(&format!(
            "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"stage\":\"ResponseComplete\",\"requestURI\":\"{prefix}/namespaces/{ns}/{resource}/{name}\",\"verb\":\"{verb}\",\"user\":{{\"username\":\"{user}\",\"groups\":[{groups}]}},\"objectRef\":{{\"resource\":\"{resource}\",\"namespace\":\"{ns}\",\"name\":\"{name}\",\"apiGroup\":\"{group}\",\"apiVersion\":\"{version}\"}},\"responseStatus\":{{\"code\":{code}}},\"stageTimestamp\":\"2024-05-0{}T08:{:02}:{:02}.000000Z\"}}\n",
            1 + i % 7,
            i % 60,
            (i / 60) % 60
        ));
    }
    out
}

/// Every file of a directory with its bytes, sorted by name.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn run_ok(args: &[&str], env: Option<(&str, &str)>) -> (Vec<u8>, Vec<u8>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_audit2role"));
    command.args(args);
    if let Some((k, v)) = env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.stdout, out.stderr)
}

#[test]
fn every_subject_gives_the_same_bytes_for_1_2_and_8_threads() {
    let log = write("many.log", many_subjects_log().as_bytes());
    let rbac = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cluster-rbac.yaml");
    let mut trees = Vec::new();
    let mut streams = Vec::new();
    for threads in ["1", "2", "8"] {
        // --out-dir, YAML with evidence and JSON: every file and summary.json.
        for (format, evidence) in [("yaml", true), ("json", false)] {
            let out = dir().join(format!("many-out-{format}-{threads}"));
            let _ = std::fs::remove_dir_all(&out);
            let out_arg = out.display().to_string();
            let mut args = vec![
                "--all-subjects",
                "--threads",
                threads,
                "-o",
                format,
                "--out-dir",
                &out_arg,
                &log,
            ];
            if evidence {
                args.push("--evidence");
            }
            let (_, stderr) = run_ok(&args, None);
            trees.push((format, tree(&out), stderr));
        }
        // Stdout: the YAML stream, diff tables with suggestions, diff JSON.
        let stream = vec![
            run_ok(&["--all-subjects", "--threads", threads, &log], None),
            run_ok(
                &[
                    "diff",
                    "--rbac",
                    rbac,
                    "--all-subjects",
                    "--suggest",
                    "--threads",
                    threads,
                    &log,
                ],
                None,
            ),
            run_ok(
                &[
                    "diff",
                    "--rbac",
                    rbac,
                    "--all-subjects",
                    "-o",
                    "json",
                    "--threads",
                    threads,
                    &log,
                ],
                None,
            ),
            // who-can has no --threads flag: the pool's size comes from RAYON_NUM_THREADS.
            run_ok(
                &["who-can", "get", "pods", "--rbac", rbac, "--log", &log],
                Some(("RAYON_NUM_THREADS", threads)),
            ),
            run_ok(
                &[
                    "who-can", "list", "secrets", "--rbac", rbac, "--log", &log, "-o", "json",
                ],
                Some(("RAYON_NUM_THREADS", threads)),
            ),
        ];
        streams.push(stream);
    }
    // The runs did something worth comparing.
    let (_, yaml_tree, _) = &trees[0];
    assert!(yaml_tree.len() > 40, "{}", yaml_tree.len());
    assert!(yaml_tree.iter().any(|(n, _)| n == "summary.json"));
    assert!(yaml_tree
        .iter()
        .any(|(n, _)| n.starts_with("serviceaccount-ns1-sa")));
    let yaml_stream = &streams[0][0].0;
    assert!(yaml_stream.windows(4).filter(|w| w == b"---\n").count() > 40);
    assert!(String::from_utf8_lossy(&streams[0][1].0)
        .contains("suggested least-privilege RBAC for user7"));
    assert!(!streams[0][3].0.is_empty() && !streams[0][4].0.is_empty());
    for (i, threads) in [(1, "2"), (2, "8")] {
        assert_eq!(streams[i], streams[0], "threads {threads}");
        for f in 0..2 {
            let (format, files, stderr) = &trees[2 * i + f];
            let (_, want, want_stderr) = &trees[f];
            assert_eq!(
                files.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                want.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                "{format} threads {threads}"
            );
            for ((name, got), (_, want)) in files.iter().zip(want) {
                assert!(got == want, "{format} threads {threads}: {name} differs");
            }
            assert_eq!(stderr, want_stderr, "{format} threads {threads}");
        }
    }
}
