//! Input trees built to mislead a directory walk (issue: hostile input and faults): link
//! loops, links out of the tree, dangling links. Links met while walking are passed over
//! unless `--follow` is given; with it, a loop is reported once and every file read once.

mod common;

use common::{run, stderr, stdout};
use std::path::Path;

fn event(name: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/dev/configmaps/{name}","verb":"get","user":{{"username":"alice"}},"objectRef":{{"resource":"configmaps","namespace":"dev","name":"{name}","apiVersion":"v1"}},"responseStatus":{{"code":200}}}}"#
    ) + "\n"
}

/// The `evidence:` comment of the one rule: how many requests were read.
fn requests_read(yaml: &str) -> String {
    yaml.lines()
        .find(|l| l.starts_with("# evidence:"))
        .unwrap_or_default()
        .to_string()
}

fn tree(root: &Path) -> String {
    let logs = root.join("logs");
    std::fs::create_dir_all(logs.join("sub")).unwrap();
    std::fs::write(logs.join("a.log"), event("a")).unwrap();
    std::fs::write(logs.join("sub/b.log"), event("a")).unwrap();
    // A loop back to the top, and a link to a file outside the tree.
    std::os::unix::fs::symlink("..", logs.join("sub/up")).unwrap();
    std::fs::write(root.join("outside.log"), event("outside")).unwrap();
    std::os::unix::fs::symlink(root.join("outside.log"), logs.join("outside.log")).unwrap();
    logs.display().to_string()
}

#[test]
fn links_met_while_walking_are_not_followed() {
    let root = tempfile::tempdir().unwrap();
    let logs = tree(root.path());
    let out = run(&["--user", "alice", "--evidence", &logs]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let yaml = stdout(&out);
    assert!(!yaml.contains("outside"), "{yaml}");
    // Each of the two files once, not again through the loop.
    assert!(
        requests_read(&yaml).starts_with("# evidence: 2 requests (1 distinct)"),
        "{yaml}"
    );
}

#[test]
fn follow_reads_links_and_reports_a_loop_once() {
    let root = tempfile::tempdir().unwrap();
    let logs = tree(root.path());
    let out = run(&["--user", "alice", "--evidence", "--follow", &logs]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let yaml = stdout(&out);
    // Both files and the linked one, each once: the loop adds nothing.
    assert!(
        requests_read(&yaml).starts_with("# evidence: 3 requests (2 distinct)"),
        "{yaml}"
    );
    assert!(yaml.contains("seen for a, outside"), "{yaml}");
    let err = stderr(&out);
    assert_eq!(err.matches("symbolic link loop").count(), 1, "{err}");
}
