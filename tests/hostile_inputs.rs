//! Inputs built to mislead or exhaust the reader (issue: hostile input and faults): damaged
//! compressed members, huge lines, a decompression bomb under a memory limit, a full disk
//! for the output. Each test runs the binary and asserts its exit code and message.

mod common;

use common::{run, stderr, stdout};
use std::io::Write;
use std::path::Path;

/// Get configmap `name` in namespace `ns` by alice.
fn event(ns: &str, name: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/{ns}/configmaps/{name}","verb":"get","user":{{"username":"alice"}},"objectRef":{{"resource":"configmaps","namespace":"{ns}","name":"{name}","apiVersion":"v1"}},"responseStatus":{{"code":200}}}}"#
    ) + "\n"
}

fn gzip(bytes: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), level);
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Namespaces of the Roles in a generated YAML stream.
fn role_namespaces(yaml: &str) -> Vec<String> {
    let set = audit2role::rbac::read::read_rbac_str(yaml, "out").unwrap();
    let mut ns: Vec<String> = set
        .roles
        .iter()
        .map(|r| r.metadata.namespace.clone())
        .collect();
    ns.sort();
    ns
}

/// A log of two gzip members: 20 events in `dev`, then 20 in `ops` stored uncompressed, in
/// which one byte of a namespace is changed after compression (`ops` → `kps`), so the
/// second member fails its CRC32 check (one of its lines would
/// otherwise ask for a Role in a namespace nobody used).
fn damaged_gzip(dir: &Path) -> String {
    let first: String = (0..20).map(|i| event("dev", &format!("a{i}"))).collect();
    let second: String = (0..20).map(|i| event("ops", &format!("b{i}"))).collect();
    let mut gz = gzip(first.as_bytes(), flate2::Compression::default());
    let mut bad = gzip(second.as_bytes(), flate2::Compression::none());
    let at = bad
        .windows(17)
        .position(|w| w == br#""namespace":"ops""#)
        .expect("stored data is visible")
        + 13;
    bad[at] = b'k';
    gz.extend(bad);
    let path = dir.join("damaged.log.gz");
    std::fs::write(&path, gz).unwrap();
    path.display().to_string()
}

#[test]
fn a_gzip_member_that_fails_its_checksum_fails_the_run_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = damaged_gzip(dir.path());
    for threads in ["1", "2"] {
        let out = run(&["--user", "alice", "--threads", threads, &log]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "threads {threads}: {err}");
        assert_eq!(stdout(&out), "", "nothing is output from damaged data");
        assert!(
            err.contains(&format!(
                "{log}: gzip member 2 fails its checksum (corrupt gzip stream does not have a matching checksum): the data is damaged after line 20"
            )) && err.contains("lines 21 to 40 came from it")
                && err.contains("--keep-damaged"),
            "threads {threads}: {err}"
        );
        // The same with --all-subjects, and strict input refuses too.
        let all = run(&["--all-subjects", "--threads", threads, &log]);
        assert_eq!(all.status.code(), Some(2), "{}", stderr(&all));
        let strict = run(&["--user", "alice", "--strict-input", &log]);
        assert_eq!(strict.status.code(), Some(2));
        assert!(stderr(&strict).contains("fails its checksum"));
    }
}

#[test]
fn keep_damaged_uses_what_was_read_and_says_it_is_suspect() {
    let dir = tempfile::tempdir().unwrap();
    let log = damaged_gzip(dir.path());
    let out = run(&["--user", "alice", "--strict", "--keep-damaged", &log]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // The damaged namespace is there, because the user asked to keep it.
    assert_eq!(role_namespaces(&stdout(&out)), ["dev", "kps", "ops"]);
    assert!(
        err.contains("warning: ")
            && err.contains("gzip member 2 fails its checksum")
            && err.contains("lines 21 to 40 came from it and were used (--keep-damaged)"),
        "{err}"
    );
}

#[test]
fn damage_of_a_member_far_into_a_stream_of_many_is_reported_at_its_first_line() {
    // About 4 MB in 41 members cut every 100,003 bytes (inside lines), so that members
    // start in blocks read long before the damage shows, whatever the thread count.
    let text: String = (0..12_000)
        .map(|i| event(["dev", "ops"][i % 2], &format!("m{i}")))
        .collect();
    let text = text.as_bytes();
    let cut = 100_003;
    let damaged = 30;
    let mut gz = Vec::new();
    for (i, part) in text.chunks(cut).enumerate() {
        let mut member = gzip(part, flate2::Compression::fast());
        if i + 1 == damaged {
            let n = member.len();
            member[n - 8] ^= 1; // its CRC32
        }
        gz.extend(member);
    }
    let log = common::scratch("many.log.gz");
    std::fs::write(&log, gz).unwrap();
    let log = log.display().to_string();
    let lines_before = |at: usize| text[..at].iter().filter(|&&b| b == b'\n').count();
    let start = (damaged - 1) * cut;
    let after = lines_before(start);
    // The damaged member's data is handed out before its check fails: its whole lines are read.
    let read = lines_before(damaged * cut);
    let what = format!(
        "gzip member {damaged} fails its checksum (corrupt gzip stream does not have a matching checksum): the data is damaged after line {after} (byte {start} of the decompressed stream); lines {} to {read} came from it",
        after + 1
    );
    for threads in ["1", "2"] {
        let out = run(&["--all-subjects", "--threads", threads, &log]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "threads {threads}: {err}");
        assert!(
            err.contains(&format!(
                "{log}: {what}, so nothing is output; pass --keep-damaged to use what was read"
            )),
            "threads {threads}: {err}"
        );
        let kept = run(&[
            "--all-subjects",
            "--keep-damaged",
            "--threads",
            threads,
            &log,
        ]);
        let err = stderr(&kept);
        assert_eq!(kept.status.code(), Some(0), "threads {threads}: {err}");
        assert!(
            err.contains(&format!(
                "{what} and were used (--keep-damaged); input ends after line {read}"
            )),
            "threads {threads}: {err}"
        );
    }
}

#[test]
fn a_truncated_gzip_stream_still_ends_early_and_is_not_called_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..2000).map(|i| event("dev", &format!("c{i}"))).collect();
    let gz = gzip(text.as_bytes(), flate2::Compression::default());
    let path = dir.path().join("cut.log.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let out = run(&["--user", "alice", path.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("input ends early after line"), "{err}");
    assert!(!err.contains("damaged"), "{err}");
}

/// `bytes` as zstd frames of at most `frame` bytes each, with content checksums.
fn zstd(bytes: &[u8], frame: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in bytes.chunks(frame) {
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.include_checksum(true).unwrap();
        enc.write_all(chunk).unwrap();
        out.extend(enc.finish().unwrap());
    }
    out
}

#[test]
fn zstd_input_reads_as_the_plain_log_does() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..300)
        .map(|i| event(["dev", "ops", "qa"][i % 3], &format!("z{i}")))
        .collect();
    let plain = dir.path().join("audit.log");
    std::fs::write(&plain, &text).unwrap();
    let plain = plain.display().to_string();
    let expected = run(&["--all-subjects", "--strict", &plain]);
    assert_eq!(expected.status.code(), Some(0));
    // One frame, and frames cut in the middle of lines.
    for frame in [1 << 20, 1000] {
        let z = dir.path().join(format!("audit-{frame}.log.zst"));
        std::fs::write(&z, zstd(text.as_bytes(), frame)).unwrap();
        let z = z.display().to_string();
        for threads in ["1", "2"] {
            let out = run(&["--all-subjects", "--strict", "--threads", threads, &z]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            assert_eq!(stdout(&out), stdout(&expected), "frame {frame}");
            assert_eq!(stderr(&out), stderr(&expected).replace(&plain, &z));
        }
    }
}

#[test]
fn damaged_and_truncated_zstd_are_handled_as_gzip_is() {
    let dir = tempfile::tempdir().unwrap();
    // Two frames of 20 lines each.
    let first: String = (0..20).map(|i| event("dev", &format!("y{i}"))).collect();
    let second: String = (0..20).map(|i| event("ops", &format!("y{i}"))).collect();
    let mut z = zstd(first.as_bytes(), 1 << 20);
    z.extend(zstd(second.as_bytes(), 1 << 20));
    let good = z.clone();
    let n = z.len();
    z[n - 1] ^= 0x10; // the second frame's content checksum
    let damaged = dir.path().join("damaged.log.zst");
    std::fs::write(&damaged, &z).unwrap();
    let damaged = damaged.display().to_string();
    let out = run(&["--user", "alice", &damaged]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(stdout(&out), "");
    assert!(
        err.contains(&format!(
            "{damaged}: zstd frame 2 fails its checksum (Restored data doesn't match checksum): the data is damaged after line 20"
        )),
        "{err}"
    );
    // libzstd gives no data of the block whose checksum fails (here the whole frame).
    let kept = run(&["--user", "alice", "--strict", "--keep-damaged", &damaged]);
    assert_eq!(kept.status.code(), Some(0), "{}", stderr(&kept));
    assert_eq!(role_namespaces(&stdout(&kept)), ["dev"]);
    assert!(
        stderr(&kept).contains("no whole line came from it (--keep-damaged)"),
        "{}",
        stderr(&kept)
    );
    // Truncated inside the second frame: the first frame's events are used.
    let cut = dir.path().join("cut.log.zst");
    std::fs::write(&cut, &good[..good.len() - 10]).unwrap();
    let out = run(&["--user", "alice", "--strict", cut.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("input ends early after line") && err.contains("incomplete zstd frame"),
        "{err}"
    );
    assert!(role_namespaces(&stdout(&out)).contains(&"dev".to_string()));
}

/// Runs the binary with its address space limited to `mib` MiB (`prlimit --as`).
fn run_limited(mib: u64, args: &[&str]) -> std::process::Output {
    std::process::Command::new("prlimit")
        .arg(format!("--as={}", mib << 20))
        .arg("--")
        .arg(common::BIN)
        .args(args)
        .output()
        .expect("prlimit runs")
}

#[test]
fn a_line_over_the_limit_is_skipped_and_reported_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!(
        r#"{{"kind":"Event","verb":"get","user":{{"username":"alice"}},"requestObject":"{}"}}"#,
        "x".repeat(3 << 20)
    );
    let text = format!("{}{long}\n{}", event("dev", "a"), event("dev", "b"));
    let path = dir.path().join("long.log");
    std::fs::write(&path, &text).unwrap();
    let log = path.display().to_string();
    for threads in ["1", "2"] {
        let out = run(&[
            "--user",
            "alice",
            "--strict",
            "--max-line-bytes",
            "1M",
            "--threads",
            threads,
            &log,
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(
            err.contains("skipped 1 of 3 lines (1 line too long)")
                && err.contains(&format!(
                    "{log}:2: a line of {} bytes is longer than the line limit (1048576 bytes, --max-line-bytes)",
                    long.len()
                )),
            "{err}"
        );
        let set = audit2role::rbac::read::read_rbac_str(&stdout(&out), "out").unwrap();
        let names: Vec<&String> = set
            .roles
            .iter()
            .flat_map(|r| r.rules.iter().flat_map(|x| x.resource_names.iter()))
            .collect();
        assert_eq!(names, ["a", "b"], "the lines around it are read");
    }
    // Under the default limit the line is read.
    let out = run(&["--user", "alice", "-q", &log]);
    assert_eq!(out.status.code(), Some(0));
    // Strict input refuses it, naming the line.
    let strict = run(&[
        "--user",
        "alice",
        "--strict-input",
        "--max-line-bytes",
        "1M",
        &log,
    ]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        stderr(&strict).contains(&format!("{log}:2: a line of")),
        "{}",
        stderr(&strict)
    );
    // A limit that is not a size is a usage error.
    let bad = run(&["--user", "alice", "--max-line-bytes", "0", &log]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_gzip_bomb_under_a_memory_limit_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    // 96 MiB of one byte and no line end, as 96 gzip members of 1 MiB (100 KB on disk),
    // between two good events; the address space is limited to 64 MiB.
    let member = gzip(&vec![b'a'; 1 << 20], flate2::Compression::default());
    let mut bomb = gzip(event("dev", "a").as_bytes(), flate2::Compression::default());
    for _ in 0..96 {
        bomb.extend_from_slice(&member);
    }
    bomb.extend(gzip(
        format!("\n{}", event("dev", "b")).as_bytes(),
        flate2::Compression::default(),
    ));
    let path = dir.path().join("bomb.log.gz");
    std::fs::write(&path, &bomb).unwrap();
    let log = path.display().to_string();
    // The default line limit (128 MiB) is more than the memory allowed.
    let out = run_limited(64, &["--user", "alice", "--threads", "1", &log]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{log}: input ends early after line 1"))
            && err.contains("line 2 cannot be held: out of memory")
            && err.contains("--max-line-bytes"),
        "{err}"
    );
}

#[test]
fn a_zstd_bomb_below_the_line_limit_is_skipped_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    // 256 MiB of one byte and no line end as 256 zstd frames (a few KB on disk).
    let frame = zstd(&vec![b'a'; 1 << 20], 1 << 20);
    let mut bomb = zstd(event("dev", "a").as_bytes(), 1 << 20);
    for _ in 0..256 {
        bomb.extend_from_slice(&frame);
    }
    bomb.extend(zstd(format!("\n{}", event("dev", "b")).as_bytes(), 1 << 20));
    let path = dir.path().join("bomb.log.zst");
    std::fs::write(&path, &bomb).unwrap();
    let log = path.display().to_string();
    let out = run_limited(
        64,
        &[
            "--user",
            "alice",
            "--strict",
            "--max-line-bytes",
            "4M",
            &log,
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("{log}:2: a line of {} bytes", 256 << 20)),
        "{err}"
    );
    let set = audit2role::rbac::read::read_rbac_str(&stdout(&out), "out").unwrap();
    assert_eq!(set.roles.len(), 1);
}

#[test]
fn a_full_disk_for_stdout_is_an_output_error_from_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, event("dev", "a")).unwrap();
    let log = path.display().to_string();
    let rbac = common::testdata("cluster-rbac.yaml");
    let runs: Vec<Vec<&str>> = vec![
        vec!["--user", "alice", &log],
        vec!["--all-subjects", "-o", "json", &log],
        vec!["stats", &log],
        vec!["check", "--rbac", "/dev/null", "--user", "alice", &log],
        vec!["diff", "--rbac", &rbac, "--user", "alice", &log],
        vec!["who-can", "get", "configmaps", "-n", "dev", "--rbac", &rbac],
        vec!["lookup", "alice", "--rbac", &rbac],
        vec!["aggregate", "-o", "-", &log],
        vec!["completions", "bash"],
    ];
    for args in &runs {
        // Writes to /dev/full fail with ENOSPC, as on a full file system.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = std::process::Command::new(common::BIN)
            .args(args)
            .stdout(full)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {err}");
        assert!(
            err.contains("writing output: No space left on device") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_damaged_line_gets_one_reason_whichever_path_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        ("[".repeat(100_000), "a JSON array of arrays"),
        ("[[[1]]]".to_string(), "a JSON array of arrays"),
        ("[1,2]".to_string(), "a JSON array of numbers"),
        ("{\"verb\":".to_string(), "invalid JSON"),
        ("key: value".to_string(), "this looks like YAML"),
    ];
    for (i, (line, reason)) in lines.iter().enumerate() {
        let path = dir.path().join(format!("bad-{i}.log"));
        std::fs::write(&path, format!("{line}\n{}", event("dev", "a"))).unwrap();
        let log = path.display().to_string();
        let reasons: Vec<String> = [
            vec!["--all-subjects", &log],
            vec!["--user", "alice", &log],
            vec!["--user", "bob", &log],
            vec!["stats", &log],
        ]
        .iter()
        .map(|args| {
            let err = stderr(&run(args));
            err.lines()
                .find(|l| l.starts_with(&format!("  {log}:1: ")))
                .unwrap_or_else(|| panic!("{args:?}: no reason in {err}"))
                .to_string()
        })
        .collect();
        assert!(reasons[0].contains(reason), "{reasons:?}");
        assert!(reasons.iter().all(|r| r == &reasons[0]), "{reasons:?}");
    }
}

#[test]
fn an_out_dir_that_is_a_file_or_a_dangling_link_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, event("dev", "a")).unwrap();
    let log = path.display().to_string();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let link = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
    let cases = [
        (&file, "exists and is not a directory".to_string()),
        (
            &link,
            format!(
                "is a symbolic link to {}, which does not exist",
                dir.path().join("nowhere").display()
            ),
        ),
    ];
    for (out_dir, reason) in cases {
        let out = run(&[
            "--user",
            "alice",
            "--out-dir",
            out_dir.to_str().unwrap(),
            &log,
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(4), "{err}");
        assert!(
            err.contains(&format!("writing output: {}: {reason}", out_dir.display()))
                && !err.contains("os error 17"),
            "{err}"
        );
    }
}

#[test]
fn an_object_ref_that_is_null_or_incomplete_gives_the_request_of_the_uri_and_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let line = |uri: &str, object: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","requestURI":"{uri}","verb":"get","user":{{"username":"alice"}},"objectRef":{object},"responseStatus":{{"code":200}}}}"#
        ) + "\n"
    };
    let text = [
        event("dev", "good"),
        line("/api/v1/namespaces/dev/configmaps/n1", "null"),
        line(
            "/api/v1/namespaces/dev/configmaps/n2",
            r#"{"resource":null}"#,
        ),
        line(
            "/api/v1/namespaces/dev/configmaps/n3",
            r#"{"resource":"configmaps","namespace":null,"name":"n3"}"#,
        ),
    ]
    .concat();
    let path = dir.path().join("refs.log");
    std::fs::write(&path, text).unwrap();
    let log = path.display().to_string();
    let out = run(&["--user", "alice", "--strict", &log]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // One Role in dev with the four names: nothing cluster-wide, no non-resource URL.
    assert_eq!(role_namespaces(&stdout(&out)), ["dev"]);
    let set = audit2role::rbac::read::read_rbac_str(&stdout(&out), "out").unwrap();
    assert!(set.cluster_roles.is_empty(), "{}", stdout(&out));
    let mut names: Vec<&String> = set.roles[0]
        .rules
        .iter()
        .flat_map(|r| r.resource_names.iter())
        .collect();
    names.sort();
    assert_eq!(names, ["good", "n1", "n2", "n3"]);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("requestURI")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].starts_with(&format!("warning: {log}: 3 events' objectRef"))
            && warnings[0].contains(&format!("(first: {log}:2: objectRef is missing or names no resource; requestURI says configmaps n1 in dev)")),
        "{err}"
    );
}
