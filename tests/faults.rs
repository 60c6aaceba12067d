//! Faults around a run (issue: hostile input and faults): output that goes away, and what
//! the user is told. Each test runs the binary.

mod common;

use common::BIN;
use std::io::Read;
use std::process::{Command, Stdio};

/// A log of `subjects` users, each getting one pod: enough YAML to fill any pipe buffer.
fn many_subjects_log(dir: &std::path::Path, subjects: usize) -> String {
    let mut text = String::new();
    for i in 0..subjects {
        text.push_str(&format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/dev/pods/p{i}","verb":"get","user":{{"username":"user-{i}"}},"objectRef":{{"resource":"pods","namespace":"dev","name":"p{i}","apiVersion":"v1"}},"responseStatus":{{"code":200}}}}"#
        ));
        text.push('\n');
    }
    let path = dir.join("audit.log");
    std::fs::write(&path, text).expect("log written");
    path.display().to_string()
}

#[test]
fn a_closed_pipe_ends_the_run_quietly_as_sigpipe_would() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = many_subjects_log(dir.path(), 3000);
    let commands: &[&[&str]] = &[
        &["--all-subjects", "-q", &log],
        &["--all-subjects", "-q", "-o", "json", &log],
    ];
    for args in commands {
        let mut child = Command::new(BIN)
            .args(*args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts");
        let mut first = [0u8; 16];
        child
            .stdout
            .take()
            .expect("stdout")
            .read_exact(&mut first)
            .expect("some output");
        // The reader goes away with most of the output unread.
        let out = child.wait_with_output().expect("binary ends");
        assert_eq!(out.status.code(), Some(141), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn names_from_the_log_cannot_drive_the_terminal_or_forge_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A user name with an escape sequence and a line break that would forge a risk line.
    let evil = r"eve\u001b[2J\nrisk: none: all is well";
    let line = format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/dev/secrets/s\u001b[31m","verb":"get","user":{{"username":"{evil}"}},"objectRef":{{"resource":"secrets","namespace":"dev","name":"s\u001b[31m","apiVersion":"v1"}},"responseStatus":{{"code":200}}}}"#
    );
    let log = dir.path().join("audit.log");
    std::fs::write(&log, line + "\n").unwrap();
    let log = log.display().to_string();
    let runs: Vec<Vec<&str>> = vec![
        vec!["--all-subjects", &log],
        vec!["--user", "nobody", &log],
        vec![
            "check",
            "--rbac",
            "/dev/null",
            "--user",
            "eve\u{1b}[2J\nrisk: none: all is well",
            &log,
        ],
    ];
    for args in &runs {
        let out = Command::new(BIN).args(args).output().expect("binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        for text in [&stderr, &stdout] {
            assert!(!text.contains('\u{1b}'), "{args:?}: raw escape in {text:?}");
            assert!(
                !text.lines().any(|l| l.starts_with("risk: none")),
                "{args:?}: forged line in {text:?}"
            );
        }
    }
}
