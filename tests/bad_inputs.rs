//! The bad-input matrix: each kind of damaged or unexpected input, with the exit code and
//! message asserted, and the good events around the bad part still used.

mod common;

use common::{run, stderr, testdata, BIN};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn tmp(name: &str) -> PathBuf {
    common::scratch(name)
}

/// A valid event line for `user`: get configmap `name` in namespace dev.
fn event(user: &str, name: &str) -> String {
    format!(
        "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"stage\":\"ResponseComplete\",\"verb\":\"get\",\"requestURI\":\"/api/v1/namespaces/dev/configmaps/{name}\",\"user\":{{\"username\":\"{user}\",\"groups\":[\"system:authenticated\"]}},\"objectRef\":{{\"resource\":\"configmaps\",\"namespace\":\"dev\",\"name\":\"{name}\"}},\"responseStatus\":{{\"code\":200}}}}"
    )
}

/// Names of the configmaps alice's generated Role grants, from the YAML output.
fn granted_names(o: &Output) -> Vec<String> {
    let set =
        audit2role::rbac::read::read_rbac_str(&String::from_utf8_lossy(&o.stdout), "out").unwrap();
    let mut names: Vec<String> = set
        .roles
        .iter()
        .flat_map(|r| r.rules.iter().flat_map(|x| x.resource_names.clone()))
        .collect();
    names.sort();
    names
}

fn strict_alice(path: &Path) -> Output {
    run(&["--user", "alice", "--strict", path.to_str().unwrap()])
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn truncated_gzip_keeps_the_events_before_the_cut() {
    let mut text = format!("{}\n{}\n", event("alice", "a"), event("alice", "b"));
    for i in 0..3000 {
        text.push_str(&event("bob", &format!("filler-{i}")));
        text.push('\n');
    }
    let gz = gzip(text.as_bytes());
    let path = tmp("truncated.log.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let o = strict_alice(&path);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(granted_names(&o), vec!["a", "b"]);
    let err = stderr(&o);
    assert!(
        err.contains("truncated.log.gz") && err.contains("ends early after line"),
        "{err}"
    );
    let strict = run(&["--user", "alice", "--strict-input", path.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(2));
}

#[test]
fn gzip_followed_by_garbage_and_concatenated_members() {
    let a = format!("{}\n", event("alice", "a"));
    let b = format!("{}\n", event("alice", "b"));
    let mut bytes = gzip(a.as_bytes());
    bytes.extend(gzip(b.as_bytes()));
    let members = tmp("members.gz");
    std::fs::write(&members, &bytes).unwrap();
    let o = strict_alice(&members);
    assert_eq!(granted_names(&o), vec!["a", "b"]);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));

    bytes.extend_from_slice(b"this is not gzip at all\n\x00\x01");
    let garbage = tmp("garbage.gz");
    std::fs::write(&garbage, &bytes).unwrap();
    let o = strict_alice(&garbage);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(granted_names(&o), vec!["a", "b"]);
    let err = stderr(&o);
    assert!(
        err.contains("garbage.gz") && err.contains("ends early after line 2"),
        "{err}"
    );
}

#[test]
fn empty_and_random_files_beside_a_good_one() {
    let empty = tmp("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let o = strict_alice(&empty);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("No audit events matched user alice"));

    let random = tmp("random.bin");
    let mut state: u64 = 0x9e3779b97f4a7c15;
    let bytes: Vec<u8> = (0..20000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let good = tmp("good.log");
    std::fs::write(&good, format!("{}\n", event("alice", "a"))).unwrap();
    let o = run(&[
        "--user",
        "alice",
        random.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(granted_names(&o), vec!["a"]);
    let err = stderr(&o);
    assert!(err.contains("random.bin: skipped"), "{err}");
}

#[test]
fn yaml_instead_of_json_is_named_as_such() {
    let path = tmp("events.yaml");
    std::fs::write(
        &path,
        "apiVersion: audit.k8s.io/v1\nkind: Event\nverb: get\nuser:\n  username: alice\n",
    )
    .unwrap();
    let o = strict_alice(&path);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("events.yaml:1:") && err.contains("YAML"),
        "{err}"
    );
}

#[test]
fn json_array_crlf_bom_and_no_final_newline_read_alike() {
    let lines = [event("alice", "a"), event("alice", "b")];
    let plain = tmp("plain.log");
    std::fs::write(&plain, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
    let want = strict_alice(&plain);
    assert_eq!(granted_names(&want), vec!["a", "b"]);
    let variants = [
        ("array.json", format!("[{},\n{}]\n", lines[0], lines[1])),
        ("crlf.log", format!("{}\r\n{}\r\n", lines[0], lines[1])),
        ("bom.log", format!("\u{feff}{}\n{}\n", lines[0], lines[1])),
        ("nofinal.log", format!("{}\n{}", lines[0], lines[1])),
        (
            "pretty.json",
            format!("[\n  {},\n  {}\n]\n", lines[0], lines[1]),
        ),
    ];
    for (name, text) in variants {
        let path = tmp(name);
        std::fs::write(&path, text).unwrap();
        let o = strict_alice(&path);
        assert_eq!(o.stdout, want.stdout, "{name}: {}", stderr(&o));
        assert!(!stderr(&o).contains("skipped"), "{name}: {}", stderr(&o));
    }
}

#[test]
fn invalid_lines_are_skipped_with_their_line_and_reason() {
    let mut text = String::new();
    text.push_str(&event("alice", "a"));
    text.push('\n');
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"{\"verb\":\"get\",\"user\":{\"username\":\"al\xffice\"}}\n"); // line 2
    let mut rest = String::new();
    rest.push_str("{\"verb\":5,\"user\":{\"username\":\"alice\"}}\n"); // line 3: wrong type
    rest.push_str("{\"verb\":\"get\",\"requestURI\":\"/x\"}\n"); // line 4: no user
    rest.push_str("{\"user\":{\"username\":\"alice\"},\"requestURI\":\"/x\"}\n"); // line 5: no verb
    rest.push_str(&format!("{}{}\n", "[".repeat(100_000), "]".repeat(100_000))); // line 6: deep
    rest.push_str(&event("alice", "b"));
    rest.push('\n');
    bytes.extend_from_slice(rest.as_bytes());
    let path = tmp("mixed.log");
    std::fs::write(&path, &bytes).unwrap();
    // Every line is decoded when subjects are chosen by pattern.
    let o = run(&[
        "--subject-regex",
        "^alice$",
        "--strict",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(granted_names(&o), vec!["a", "b"]);
    let err = stderr(&o);
    for want in [
        "mixed.log: skipped 5 of 7 lines",
        "mixed.log:2: invalid UTF-8",
        "mixed.log:3: wrong field type",
        "mixed.log:4: event has no user",
        "mixed.log:5: event has no verb",
        "mixed.log:6:",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
    let strict = run(&["--user", "alice", "--strict-input", path.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        stderr(&strict).contains("mixed.log:2:"),
        "{}",
        stderr(&strict)
    );
}

#[test]
fn a_line_of_64_mib_is_read() {
    let body = "x".repeat(64 << 20);
    let big = format!(
        "{{\"kind\":\"Event\",\"verb\":\"get\",\"requestURI\":\"/api/v1/namespaces/dev/configmaps/big\",\"user\":{{\"username\":\"alice\"}},\"objectRef\":{{\"resource\":\"configmaps\",\"namespace\":\"dev\",\"name\":\"big\"}},\"requestObject\":{{\"data\":\"{body}\"}}}}\n"
    );
    let path = tmp("big.log");
    std::fs::write(&path, format!("{big}{}\n", event("alice", "a"))).unwrap();
    let o = strict_alice(&path);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(granted_names(&o), vec!["a", "big"]);
}

#[test]
fn directory_with_an_unreadable_file_and_a_missing_file() {
    let dir = tmp("dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.log"), format!("{}\n", event("alice", "a"))).unwrap();
    // A dangling link cannot be opened, even by root (links are read with --follow).
    let _ = std::fs::remove_file(dir.join("b.log"));
    std::os::unix::fs::symlink(dir.join("does-not-exist"), dir.join("b.log")).unwrap();
    std::fs::write(dir.join("c.log"), format!("{}\n", event("alice", "c"))).unwrap();
    let o = run(&[
        "--user",
        "alice",
        "--strict",
        "--follow",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(granted_names(&o), vec!["a", "c"]);
    assert!(
        stderr(&o).contains("b.log") && stderr(&o).contains("cannot open"),
        "{}",
        stderr(&o)
    );

    let missing = run(&["--user", "alice", "/no/such/audit.log"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("/no/such/audit.log: cannot open"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn stdin_closed_early_keeps_complete_events() {
    let text = format!("{}\n{}", event("alice", "a"), &event("alice", "b")[..60]);
    let mut child = Command::new(BIN)
        .args(["--user", "alice", "--strict", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(granted_names(&o), vec!["a"]);
    assert!(
        stderr(&o).contains("<stdin>:2: invalid JSON"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_shipped_log_still_reads() {
    let o = run(&["-q", "--user", "alice", &testdata("audit.log")]);
    assert_eq!(o.status.code(), Some(0));
}

/// A body that is not valid JSON but whose strings close and brackets balance: by default
/// the unread body is only skipped by its structure, so the event counts; `--strict-input`
/// validates bodies token by token and stops at that line. A body whose brackets do not
/// balance is a bad line either way.
#[test]
fn damaged_bodies_are_checked_by_structure_unless_strict_input() {
    let with_body = |name: &str, body: &str| {
        event("alice", name).replacen(
            "\"responseStatus\"",
            &format!("\"requestObject\":{body},\"responseStatus\""),
            1,
        )
    };
    let text = format!(
        "{}\n{}\n{}\n",
        with_body("a", r#"{"spec":{"replicas":tru,"x":[1 2]}}"#),
        with_body("b", r#"{"spec":{"replicas":1,"x":[1,2]}"#),
        with_body("c", r#"{"spec":{"x":"]}\"}"}}"#),
    );
    let path = tmp("bodies.log");
    std::fs::write(&path, text).unwrap();
    for threads in ["1", "2"] {
        let o = run(&[
            "--user",
            "alice",
            "--strict",
            "--threads",
            threads,
            path.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(granted_names(&o), vec!["a", "c"]);
        let err = stderr(&o);
        assert!(err.contains("bodies.log:2: invalid JSON"), "{err}");
    }
    let strict = run(&["--user", "alice", "--strict-input", path.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(2));
    let err = stderr(&strict);
    assert!(err.contains("bodies.log:1:"), "{err}");
}
