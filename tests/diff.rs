//! The diff command against a small hand-written dump (testdata/diff-rbac.yaml), with the
//! expected table worked out by hand in testdata/expected/diff-alice.txt: alice uses five
//! of the seven rules bound to her (two through her group `devs`), never uses `get
//! services` and `list secrets`, and six of her requests are not allowed.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_audit2role");

fn testdata(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("binary runs")
}

#[test]
fn table_matches_the_hand_worked_expectation() {
    let o = run(&[
        "diff",
        "-q",
        "--rbac",
        &testdata("diff-rbac.yaml"),
        "--user",
        "alice",
        &testdata("audit.log"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let want = std::fs::read_to_string(testdata("expected/diff-alice.txt")).unwrap();
    assert_eq!(String::from_utf8(o.stdout).unwrap(), want);
    assert!(want.starts_with("subject alice: 5 of 7 granted rules used (score 71%), 6 of 13 observed requests not allowed\n"));
    assert!(want.contains("unused    RoleBinding/dev/alice-secrets -> Role/secret-reader rule 2 [ns dev]: list secrets (core) (risk high"));
    assert!(want.contains("missing   get pods/log web-0 -n dev"));
}

#[test]
fn json_report_and_suggestion() {
    let o = run(&[
        "diff",
        "-q",
        "--rbac",
        &testdata("diff-rbac.yaml"),
        "--user",
        "alice",
        "--suggest",
        "-o",
        "json",
        &testdata("audit.log"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let alice = &v["subjects"][0];
    assert_eq!(alice["subject"], "alice");
    assert_eq!(alice["granted"], 7);
    assert_eq!(alice["used"], 5);
    assert_eq!(alice["score"], 71.4);
    assert_eq!(alice["unusedGrants"].as_array().unwrap().len(), 2);
    assert_eq!(alice["notAllowed"].as_array().unwrap().len(), 6);
    let pods = &alice["usedGrants"][0];
    assert_eq!(pods["roleName"], "view-pods");
    assert_eq!(pods["distinct"], 3);
    // The suggestion is what generate writes.
    let generated = run(&[
        "-q",
        "--user",
        "alice",
        "-o",
        "json",
        &testdata("audit.log"),
    ]);
    let g: serde_json::Value = serde_json::from_slice(&generated.stdout).unwrap();
    assert_eq!(alice["suggested"]["items"], g["items"]);
}

#[test]
fn all_subjects_and_usage_errors() {
    let o = run(&[
        "diff",
        "-q",
        "--rbac",
        &testdata("diff-rbac.yaml"),
        "--all-subjects",
        &testdata("audit.log"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    let subjects: Vec<&str> = text.lines().filter(|l| l.starts_with("subject ")).collect();
    assert_eq!(subjects.len(), 4, "{text}");
    assert!(
        text.contains(
            "subject system:serviceaccount:ops:reconciler: 0 of 1 granted rules used (score 0%), 6 of 6 observed requests not allowed"
        ),
        "{text}"
    );
    let both = run(&[
        "diff",
        "--rbac",
        &testdata("diff-rbac.yaml"),
        "--all-subjects",
        "--user",
        "alice",
        &testdata("audit.log"),
    ]);
    assert_eq!(both.status.code(), Some(2));
    let no_rbac = run(&["diff", "--user", "alice", &testdata("audit.log")]);
    assert_eq!(no_rbac.status.code(), Some(2));
    let nobody = run(&[
        "diff",
        "--rbac",
        &testdata("diff-rbac.yaml"),
        "--user",
        "nobody",
        &testdata("audit.log"),
    ]);
    assert_eq!(nobody.status.code(), Some(1));
}
