//! Many subjects in one run: `--all-subjects`, `--subject-regex`, `--exclude-subject`,
//! repeated `--user`, and `--out-dir` with one file per subject and summary.json.

mod common;

use common::{run, testdata, BIN};

use audit2role::rbac::read::read_rbac_str;
use std::path::PathBuf;
use std::process::Command;

fn tmpdir(name: &str) -> PathBuf {
    let dir = common::scratch(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn binding_subjects(yaml: &str) -> Vec<String> {
    let set = read_rbac_str(yaml, "out").unwrap();
    let mut names: Vec<String> = set
        .role_bindings
        .iter()
        .chain(&set.cluster_role_bindings)
        .flat_map(|b| b.subjects.iter().map(|s| s.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn all_subjects_to_stdout_is_one_stream_of_every_subjects_objects() {
    let log = testdata("audit.log");
    let o = run(&["-q", "--all-subjects", &log]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        binding_subjects(&text),
        vec!["admin", "alice", "bob", "reconciler"]
    );
    // Each subject's part is what a single run for it writes.
    let alice = run(&["-q", "--user", "alice", &log]);
    assert!(text.contains(&String::from_utf8(alice.stdout).unwrap()));
}

#[test]
fn regex_exclusions_and_repeated_users_combine() {
    let log = testdata("audit.log");
    let o = run(&[
        "-q",
        "--all-subjects",
        "--exclude-subject",
        "^system:",
        "--exclude-subject",
        "^admin$",
        &log,
    ]);
    assert_eq!(
        binding_subjects(&String::from_utf8(o.stdout).unwrap()),
        vec!["alice", "bob"]
    );
    let o = run(&[
        "-q",
        "--subject-regex",
        "^system:serviceaccount:ops:",
        "--user",
        "bob",
        &log,
    ]);
    assert_eq!(
        binding_subjects(&String::from_utf8(o.stdout).unwrap()),
        vec!["bob", "reconciler"]
    );
    let o = run(&["--user", "alice", "--user", "nobody", &log]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("warning: No audit events matched user nobody")
    );
    let o = run(&["--subject-regex", "^zzz", &log]);
    assert_eq!(o.status.code(), Some(1));
    let o = run(&["--subject-regex", "(", &log]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn out_dir_writes_one_file_per_subject_and_a_summary() {
    let log = testdata("audit.log");
    let dir = tmpdir("out");
    let o = run(&[
        "-q",
        "--all-subjects",
        "--out-dir",
        dir.to_str().unwrap(),
        &log,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.stdout, b"");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![
            "serviceaccount-ops-reconciler.yaml",
            "summary.json",
            "user-admin.yaml",
            "user-alice.yaml",
            "user-bob.yaml"
        ]
    );
    let alice = std::fs::read_to_string(dir.join("user-alice.yaml")).unwrap();
    assert_eq!(
        alice,
        std::fs::read_to_string(testdata("expected/alice.yaml")).unwrap()
    );

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["inputs"]["events"], 22);
    assert_eq!(summary["inputs"]["skipped"]["invalid JSON"], 1);
    let subjects = summary["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 4);
    let alice = subjects.iter().find(|s| s["subject"] == "alice").unwrap();
    assert_eq!(alice["kind"], "User");
    assert_eq!(alice["requests"], 13);
    assert_eq!(alice["distinctRequests"], 13);
    assert_eq!(alice["denied"], 1);
    assert_eq!(alice["firstSeen"], "2026-11-02T09:00:00Z");
    assert_eq!(alice["lastSeen"], "2026-11-02T09:18:00Z");
    assert_eq!(alice["objects"], 4);
    assert_eq!(alice["rules"], 8);
    assert_eq!(alice["file"], "user-alice.yaml");
    let sa = subjects
        .iter()
        .find(|s| s["kind"] == "ServiceAccount")
        .unwrap();
    assert_eq!(sa["file"], "serviceaccount-ops-reconciler.yaml");

    // A second run gives the same bytes.
    let again = tmpdir("again");
    run(&[
        "-q",
        "--all-subjects",
        "--out-dir",
        again.to_str().unwrap(),
        &log,
    ]);
    for f in &files {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn completions_man_page_and_kubectl_plugin_name() {
    for shell in ["bash", "zsh", "fish"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(
            text.contains("serviceaccount") && text.contains("out-dir"),
            "{shell}"
        );
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
    let man = run(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(
        page.starts_with(".ie") && page.contains(".TH audit2role 1"),
        "{page}"
    );
    assert!(page.contains("serviceaccount"));

    // Installed as kubectl-audit2role, help speaks of `kubectl audit2role`.
    let dir = tmpdir("plugin");
    std::fs::create_dir_all(&dir).unwrap();
    let plugin = dir.join("kubectl-audit2role");
    // A link, not a copy: a freshly written executable can be "busy" while other test
    // threads fork.
    let _ = std::fs::remove_file(&plugin);
    std::os::unix::fs::symlink(BIN, &plugin).unwrap();
    let help = Command::new(&plugin).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl audit2role"));
    let gen = Command::new(&plugin)
        .args(["-q", "--user", "alice", &testdata("audit.log")])
        .output()
        .unwrap();
    assert_eq!(
        gen.stdout,
        std::fs::read(testdata("expected/alice.yaml")).unwrap()
    );

    for sub in [
        "check",
        "diff",
        "generate",
        "who-can",
        "lookup",
        "aggregate",
        "stats",
        "completions",
        "man",
    ] {
        let o = run(&[sub, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{sub}");
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.contains("Example"), "{sub} --help has examples");
    }
}

#[test]
fn time_window_and_namespace_regex() {
    let log = testdata("audit.log");
    let o = run(&[
        "-q",
        "--user",
        "alice",
        "--strict",
        "--since",
        "2026-11-02T09:10:00Z",
        "--until",
        "2026-11-02T09:12:00Z",
        &log,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let set = read_rbac_str(&String::from_utf8(o.stdout).unwrap(), "out").unwrap();
    let granted: Vec<(String, Vec<String>)> = set.roles[0]
        .rules
        .iter()
        .map(|r| (r.resources.join(","), r.resource_names.clone()))
        .collect();
    assert_eq!(
        granted,
        vec![
            ("namespaces".to_string(), vec!["dev".to_string()]),
            ("secrets".to_string(), vec!["db-password".to_string()])
        ]
    );
    assert!(set.cluster_roles.is_empty());

    let o = run(&["-q", "--user", "alice", "--namespace-regex", "^stag", &log]);
    let set = read_rbac_str(&String::from_utf8(o.stdout).unwrap(), "out").unwrap();
    assert_eq!(set.roles.len(), 1);
    assert_eq!(set.roles[0].metadata.namespace, "staging");

    // A window in the future matches nothing; durations are accepted; bad values are usage errors.
    assert_eq!(
        run(&["--user", "alice", "--since", "1d", &log])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["--user", "alice", "--until", "1d", &log])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["--user", "alice", "--since", "yesterday", &log])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&[
            "--user",
            "alice",
            "--since",
            "2026-11-03T00:00:00Z",
            "--until",
            "2026-11-02T00:00:00Z",
            &log
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        run(&["--user", "alice", "--namespace-regex", "(", &log])
            .status
            .code(),
        Some(2)
    );
}
