//! End-to-end tests of the binary: exact output on the shipped log, determinism, YAML that
//! parses back to the same objects, inputs (stdin, gzip members, directories), flags, and
//! the documented exit codes.

mod common;

use common::{run, stderr, stdout, testdata, BIN};

use audit2role::rbac::read::read_rbac_str;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn tmpdir(name: &str) -> PathBuf {
    common::scratch_dir(name)
}

#[test]
fn golden_outputs_for_the_shipped_log() {
    let log = testdata("audit.log");
    for (args, expected) in [
        (vec!["--user", "alice"], "expected/alice.yaml"),
        (
            vec!["--user", "alice", "--strict"],
            "expected/alice-strict.yaml",
        ),
        (
            vec!["--serviceaccount", "ops:reconciler"],
            "expected/ops-reconciler.yaml",
        ),
    ] {
        let mut all = args.clone();
        all.push(&log);
        let o = run(&all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let want = std::fs::read_to_string(testdata(expected)).unwrap();
        assert_eq!(stdout(&o), want, "{args:?} differs from {expected}");
    }
}

#[test]
fn output_is_deterministic_and_parses_back() {
    let log = testdata("audit.log");
    let a = run(&["--user", "alice", &log]);
    let b = run(&["--user", "alice", &log]);
    assert_eq!(a.stdout, b.stdout);
    let yaml = read_rbac_str(&stdout(&a), "yaml output").unwrap();
    let json_out = run(&["--user", "alice", "-o", "json", &log]);
    assert_eq!(json_out.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    let json = read_rbac_str(&stdout(&json_out), "json output").unwrap();
    assert_eq!(yaml, json);
    assert_eq!(yaml.roles.len(), 1);
    assert_eq!(yaml.cluster_roles.len(), 1);
}

#[test]
fn generated_rbac_passes_check_and_missing_rules_fail_it() {
    let dir = tmpdir("check");
    let log = testdata("audit.log");
    let o = run(&["--user", "alice", &log]);
    let rbac = dir.join("alice.yaml");
    std::fs::write(&rbac, &o.stdout).unwrap();
    let ok = run(&[
        "check",
        "--rbac",
        rbac.to_str().unwrap(),
        "--user",
        "alice",
        &log,
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}{}", stdout(&ok), stderr(&ok));
    assert_eq!(stdout(&ok), "");

    // Drop the namespaced Role: its requests must be reported, and exit 1.
    let text = stdout(&o);
    let without_role: Vec<&str> = text
        .split("---\n")
        .filter(|d| !d.contains("kind: Role\n"))
        .collect();
    std::fs::write(&rbac, without_role.join("---\n")).unwrap();
    let bad = run(&[
        "check",
        "--rbac",
        rbac.to_str().unwrap(),
        "--user",
        "alice",
        &log,
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let report = stdout(&bad);
    assert!(
        report.contains("not allowed: get secrets db-password -n dev"),
        "{report}"
    );
    assert!(
        report.contains("not allowed: create pods/exec web-0 -n dev")
            || report.contains("not allowed: get pods/exec web-0 -n dev"),
        "{report}"
    );
    assert!(
        !report.contains("/api "),
        "discovery is allowed by the bootstrap roles: {report}"
    );
}

#[test]
fn stdin_gzip_members_and_directories_read_alike() {
    let log = testdata("audit.log");
    let plain = run(&["--user", "alice", &log]);
    let bytes = std::fs::read(&log).unwrap();

    let from_stdin = run_stdin(&["--user", "alice", "-"], &bytes);
    assert_eq!(from_stdin.stdout, plain.stdout);

    // Two gzip members concatenated (as `cat a.gz b.gz` makes): both must be read.
    let cut = bytes.len() / 2
        + bytes[bytes.len() / 2..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    let mut gz = Vec::new();
    for part in [&bytes[..cut], &bytes[cut..]] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(part).unwrap();
        gz.extend(enc.finish().unwrap());
    }
    let dir = tmpdir("inputs");
    let gz_path = dir.join("audit.log.1");
    std::fs::write(&gz_path, &gz).unwrap();
    let from_gz = run(&["--user", "alice", gz_path.to_str().unwrap()]);
    assert_eq!(from_gz.stdout, plain.stdout, "{}", stderr(&from_gz));

    // A directory: every file below it; split across two files gives the same result.
    let split = dir.join("split");
    std::fs::create_dir_all(split.join("sub")).unwrap();
    std::fs::write(split.join("a.log"), &bytes[..cut]).unwrap();
    std::fs::write(split.join("sub/b.log"), &bytes[cut..]).unwrap();
    let from_dir = run(&["--user", "alice", split.to_str().unwrap()]);
    assert_eq!(from_dir.stdout, plain.stdout);
    let with_f = run(&[
        "--user",
        "alice",
        "-f",
        split.join("a.log").to_str().unwrap(),
        "-f",
        split.join("sub/b.log").to_str().unwrap(),
    ]);
    assert_eq!(with_f.stdout, plain.stdout);
}

#[test]
fn exit_codes() {
    let log = testdata("audit.log");
    let none = run(&["--user", "nobody", &log]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("No audit events matched user nobody"));
    assert_eq!(none.stdout, b"");

    let ns = run(&["--user", "alice", "-n", "kube-system", &log]);
    assert_eq!(ns.status.code(), Some(1));
    assert!(stderr(&ns).contains("in namespace kube-system"));

    for args in [
        vec!["--user", "alice"],
        vec![log.as_str()],
        vec!["--user", "", log.as_str()],
        vec![
            "check",
            "--rbac",
            log.as_str(),
            "--user",
            "a",
            "--user",
            "b",
            log.as_str(),
        ],
        vec!["--serviceaccount", "nocolon", log.as_str()],
        vec!["--user", "alice", "/no/such/file"],
        vec!["--user", "alice", "--no-such-flag", log.as_str()],
        vec![
            "--user",
            "alice",
            "--generate-labels",
            "rbac.authorization.k8s.io/aggregate-to-admin=true",
            log.as_str(),
        ],
        vec!["check", "--user", "alice", log.as_str()],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
        assert_eq!(o.stdout, b"", "{args:?}");
    }
    let missing = run(&["--user", "alice", "/no/such/file"]);
    assert!(stderr(&missing).contains("/no/such/file"));
}

#[test]
fn bad_lines_are_reported_with_file_and_line_or_fail_in_strict_input() {
    let log = testdata("audit.log");
    let o = run(&["--user", "alice", &log]);
    assert!(
        stderr(&o).contains("audit.log:15: invalid JSON"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("skipped 1 of 23 lines"));
    let strict = run(&["--user", "alice", "--strict-input", &log]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        stderr(&strict).contains("audit.log:15:"),
        "{}",
        stderr(&strict)
    );
    let quiet = run(&["--user", "alice", "-q", &log]);
    assert_eq!(stderr(&quiet), "");
}

#[test]
fn namespace_filter_and_existing_rbac() {
    let log = testdata("audit.log");
    let o = run(&["--user", "alice", "-n", "dev", &log]);
    assert_eq!(o.status.code(), Some(0));
    let set = read_rbac_str(&stdout(&o), "out").unwrap();
    assert!(set.roles.iter().all(|r| r.metadata.namespace == "dev"));
    assert!(set
        .cluster_roles
        .iter()
        .all(|r| r.rules.iter().all(|rule| rule.non_resource_urls.is_empty())));

    // RBAC already in place allows the secret read and configmap create: they are not generated.
    let dir = tmpdir("existing");
    let existing = dir.join("existing.yaml");
    std::fs::write(
        &existing,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: dev-reader\n  namespace: dev\nrules:\n- apiGroups: [\"\"]\n  resources: [secrets, configmaps]\n  verbs: [get, create]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: devs\n  namespace: dev\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: dev-reader\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: devs\n",
    )
    .unwrap();
    let o = run(&[
        "--user",
        "alice",
        "--existing",
        existing.to_str().unwrap(),
        &log,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains("db-password"), "{out}");
    assert!(
        !out.contains("- create\n- apiGroups:\n  - \"\"\n  resourceNames:\n  - app-config"),
        "{out}"
    );
    let full = std::fs::read_to_string(testdata("expected/alice.yaml")).unwrap();
    assert!(full.contains("db-password"));
    // Together with the existing RBAC, the output still allows everything.
    let combined = dir.join("combined.yaml");
    std::fs::write(
        &combined,
        format!(
            "{}---\n{}",
            std::fs::read_to_string(&existing).unwrap(),
            out
        ),
    )
    .unwrap();
    let check = run(&[
        "check",
        "--rbac",
        combined.to_str().unwrap(),
        "--user",
        "alice",
        &log,
    ]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
}

#[test]
fn expansion_flags_and_naming_flags() {
    let log = testdata("audit.log");
    let o = run(&["--user", "alice", "--expand-multi-namespace=false", &log]);
    let set = read_rbac_str(&stdout(&o), "out").unwrap();
    assert!(
        set.roles.iter().any(|r| r.metadata.namespace == "staging"),
        "pods list stays in staging"
    );
    let o = run(&["--user", "alice", "--expand-verbs=false", &log]);
    assert!(
        !stdout(&o).contains("- patch"),
        "update alone without verb expansion"
    );
    let o = run(&[
        "--user",
        "alice",
        "--generate-name",
        "team-{subject}",
        "--generate-labels",
        "owner=platform",
        "--generate-annotations",
        "note=from audit of {subject}",
        &log,
    ]);
    let set = read_rbac_str(&stdout(&o), "out").unwrap();
    let meta = &set.cluster_roles[0].metadata;
    assert_eq!(meta.name, "team-alice");
    assert_eq!(
        meta.labels.get("owner").map(String::as_str),
        Some("platform")
    );
    assert_eq!(
        meta.annotations.get("note").map(String::as_str),
        Some("from audit of alice")
    );
    assert_eq!(set.cluster_role_bindings[0].role_ref.name, "team-alice");
}

#[test]
fn impersonator_gets_impersonate_rules() {
    let o = run(&["--user", "admin", &testdata("audit.log")]);
    assert_eq!(o.status.code(), Some(0));
    let set = read_rbac_str(&stdout(&o), "out").unwrap();
    let rules = &set.cluster_roles[0].rules;
    assert!(rules.iter().any(|r| r.resources == ["users"]
        && r.resource_names == ["alice"]
        && r.verbs == ["impersonate"]));
    assert!(rules
        .iter()
        .any(|r| r.resources == ["groups"] && r.resource_names == ["devs"]));
    assert!(!rules
        .iter()
        .any(|r| r.resource_names.iter().any(|n| n == "system:authenticated")));
    assert!(stderr(&o).contains("system:masters"));
}

#[test]
fn every_subject_of_the_shipped_log_is_covered_and_strict_is_exact() {
    let (subjects, failures) = common::check_all_subjects(&[testdata("audit.log")]);
    assert_eq!(subjects, 4, "alice, bob, admin and the reconciler");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn evidence_comments_and_risk_gating() {
    let log = testdata("audit.log");
    let plain = run(&["--user", "alice", &log]);
    let with = run(&["--user", "alice", "--evidence", &log]);
    assert_eq!(with.status.code(), Some(0));
    let text = stdout(&with);
    assert_eq!(
        text,
        std::fs::read_to_string(testdata("expected/alice-evidence.yaml")).unwrap()
    );
    // Comments change nothing in the objects.
    assert_eq!(
        read_rbac_str(&text, "evidence").unwrap(),
        read_rbac_str(&stdout(&plain), "plain").unwrap()
    );
    assert!(text.contains("# evidence: 1 request (1 distinct), first 2026-11-02T09:10:00Z, last 2026-11-02T09:10:00Z, 1 denied\n# risk: high: reads the secret db-password"), "{text}");
    assert!(
        text.contains("# cluster-wide: seen in namespaces dev, staging\n"),
        "{text}"
    );
    assert!(
        stderr(&with).contains(
            "risk: high: Role dev/audit2role:alice rule 6: get secrets (core) names db-password"
        ),
        "{}",
        stderr(&with)
    );

    let gate_high = run(&["--user", "alice", "--fail-on-risk", "high", &log]);
    assert_eq!(gate_high.status.code(), Some(3));
    assert_eq!(gate_high.stdout, plain.stdout, "the RBAC is still written");
    let gate_critical = run(&["--user", "alice", "--fail-on-risk", "critical", &log]);
    assert_eq!(gate_critical.status.code(), Some(0));
    let bad_level = run(&["--user", "alice", "--fail-on-risk", "severe", &log]);
    assert_eq!(bad_level.status.code(), Some(2));

    let json = run(&["--user", "alice", "--evidence", "-o", "json", &log]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["kind"], "List");
    let rules = v["audit2role"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 8);
    let secret = rules
        .iter()
        .find(|r| r["rule"]["resources"][0] == "secrets")
        .unwrap();
    assert_eq!(secret["denied"], 1);
    assert_eq!(secret["risks"][0]["level"], "high");
    assert_eq!(secret["lastSeen"], "2026-11-02T09:10:00Z");
}

#[test]
fn a_bare_date_bounds_the_window_at_the_start_of_that_day() {
    let log = testdata("audit.log");
    let by_date = run(&["-q", "--user", "alice", "--until", "2026-11-02", &log]);
    let by_time = run(&[
        "-q",
        "--user",
        "alice",
        "--until",
        "2026-11-02T00:00:00Z",
        &log,
    ]);
    assert_eq!(by_date.status.code(), by_time.status.code());
    assert_eq!(stdout(&by_date), stdout(&by_time));
    let since = run(&["-q", "--user", "alice", "--since", "2026-11-02", &log]);
    assert_eq!(
        stdout(&since),
        stdout(&run(&[
            "-q",
            "--user",
            "alice",
            "--since",
            "2026-11-02T00:00:00Z",
            &log
        ]))
    );
    assert!(!stdout(&since).is_empty());
}

#[test]
fn boolean_flags_read_as_audit2rbac_reads_them() {
    let log = testdata("audit.log");
    let with = |flag: &str| stdout(&run(&["-q", "--user", "alice", flag, &log]));
    let on = with("--expand-multi-namespace");
    let off = with("--expand-multi-namespace=false");
    assert_ne!(on, off);
    for value in ["1", "t", "T", "TRUE", "true", "True"] {
        assert_eq!(
            with(&format!("--expand-multi-namespace={value}")),
            on,
            "{value}"
        );
    }
    for value in ["0", "f", "F", "FALSE", "false", "False"] {
        assert_eq!(
            with(&format!("--expand-multi-namespace={value}")),
            off,
            "{value}"
        );
    }
    // A bare flag never takes the next argument as its value.
    let bare = run(&["-q", "--user", "alice", "--expand-multi-name", &log]);
    assert_eq!(bare.status.code(), Some(0), "{}", stderr(&bare));
    let bad = run(&["-q", "--user", "alice", "--expand-verbs=maybe", &log]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn version_is_substituted_in_annotations() {
    let out = run(&[
        "-q",
        "--user",
        "alice",
        "--generate-annotations",
        "audit2rbac.liggitt.net/version=${version}",
        &testdata("audit.log"),
    ]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "audit2rbac.liggitt.net/version: \"{}\"\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(!text.contains("${version}"));
}

#[test]
fn a_mistyped_subcommand_is_named_as_one() {
    let out = run(&["chek", "--rbac", "x.yaml", "--user", "alice"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("'chek'") && err.contains("did you mean check?"),
        "{err}"
    );
    // A file of that name is an input, as before.
    let dir = common::scratch_dir("chek-dir");
    let file = dir.join("chek");
    std::fs::copy(testdata("audit.log"), &file).unwrap();
    let cwd_run = Command::new(BIN)
        .current_dir(&dir)
        .args(["-q", "chek", "--user", "alice"])
        .output()
        .unwrap();
    assert_eq!(cwd_run.status.code(), Some(0), "{}", stderr(&cwd_run));
    let _ = std::fs::remove_dir_all(&dir);
}
