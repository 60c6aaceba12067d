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
