//! Everyday use, end to end through the binary: finding subjects (`subjects`, hints for a
//! subject that matched nothing, `lookup` queries), one meaning of `-o`, message wording,
//! man pages.

mod common;

use common::{run, stderr, stdout, testdata, COMMANDS};
use std::path::{Path, PathBuf};

/// One ResponseComplete event of `user` at minute `minute` of 2026-11-02.
fn event(user: &str, verb: &str, uri: &str, ns: &str, minute: u32, code: u32) -> String {
    let object = if ns.is_empty() {
        r#""objectRef":{"resource":"nodes","apiVersion":"v1"}"#.to_string()
    } else {
        format!(r#""objectRef":{{"resource":"pods","namespace":"{ns}","apiVersion":"v1"}}"#)
    };
    let decision = if code == 403 { "forbid" } else { "allow" };
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{user}-{minute}","stage":"ResponseComplete","requestURI":"{uri}","verb":"{verb}","user":{{"username":"{user}","groups":["system:authenticated"]}},{object},"responseStatus":{{"code":{code}}},"requestReceivedTimestamp":"2026-11-02T09:{minute:02}:00.000000Z","stageTimestamp":"2026-11-02T09:{minute:02}:00.000000Z","annotations":{{"authorization.k8s.io/decision":"{decision}"}}}}"#
    )
}

/// A log with a user (one denial), a service account, a node and the anonymous user.
fn subjects_log(dir: &Path) -> String {
    let lines = [
        event(
            "alice@example.com",
            "list",
            "/api/v1/namespaces/dev/pods",
            "dev",
            1,
            200,
        ),
        event(
            "alice@example.com",
            "list",
            "/api/v1/namespaces/dev/pods",
            "dev",
            2,
            200,
        ),
        event(
            "alice@example.com",
            "get",
            "/api/v1/namespaces/dev/pods/web",
            "dev",
            3,
            200,
        ),
        event(
            "alice@example.com",
            "delete",
            "/api/v1/namespaces/prod/pods/web",
            "prod",
            4,
            403,
        ),
        event(
            "system:serviceaccount:ops:deployer",
            "list",
            "/api/v1/namespaces/ops/pods",
            "ops",
            5,
            200,
        ),
        event(
            "system:node:worker-1",
            "get",
            "/api/v1/nodes/worker-1",
            "",
            6,
            200,
        ),
        event("system:anonymous", "get", "/api/v1/nodes", "", 7, 403),
    ];
    let path = dir.join("subjects.log");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.display().to_string()
}

fn tmpdir(name: &str) -> PathBuf {
    common::scratch_dir(name)
}

#[test]
fn subjects_lists_every_subject_with_kind_and_totals() {
    let dir = tmpdir("subjects");
    let log = subjects_log(&dir);
    let out = run(&["subjects", &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "\
SUBJECT                             KIND            REQUESTS  DISTINCT  FIRST-SEEN            LAST-SEEN             DENIED
alice@example.com                   user            4         3         2026-11-02T09:01:00Z  2026-11-02T09:04:00Z  1
system:anonymous                    anonymous       1         1         2026-11-02T09:07:00Z  2026-11-02T09:07:00Z  1
system:node:worker-1                node            1         1         2026-11-02T09:06:00Z  2026-11-02T09:06:00Z  0
system:serviceaccount:ops:deployer  serviceaccount  1         1         2026-11-02T09:05:00Z  2026-11-02T09:05:00Z  0
"
    );

    let out = run(&["subjects", "-o", "json", "-n", "dev", &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"subjects": [{
            "subject": "alice@example.com", "kind": "user", "requests": 3,
            "distinctRequests": 2, "firstSeen": "2026-11-02T09:01:00Z",
            "lastSeen": "2026-11-02T09:03:00Z", "denied": 0
        }]})
    );

    // The time window and subject filters of every command.
    let out = run(&[
        "subjects",
        "--since",
        "2026-11-02T09:05:00Z",
        "--until",
        "2026-11-02T09:07:00Z",
        "--exclude-subject",
        "^system:node:",
        &log,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names: Vec<String> = stdout(&out)
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(names, ["system:serviceaccount:ops:deployer"]);

    let out = run(&["subjects", "--subject-regex", "^bob$", &log]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("No subject"), "{}", stderr(&out));
}

#[test]
fn a_subject_that_matches_nothing_names_the_closest_and_every_filter() {
    let dir = tmpdir("nomatch");
    let log = subjects_log(&dir);
    let out = run(&["--user", "alice", &log]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "No audit events matched user alice\n  closest subjects in the logs: alice@example.com (`audit2role subjects` lists them all)\n"
    );

    // Present in the logs, but not with the filters: every filter is named.
    let out = run(&[
        "check",
        "--rbac",
        &testdata("cluster-rbac.yaml"),
        "--user",
        "alice@example.com",
        "-n",
        "dev",
        "--namespace-regex",
        "^d",
        "--since",
        "2026-11-03",
        "--until",
        "2026-11-04",
        &log,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "No audit events matched user alice@example.com in namespace dev with --namespace-regex ^d, --since 2026-11-03, --until 2026-11-04\n  alice@example.com made 4 requests in the logs, none with these filters\n"
    );

    // diff, and a service account named as a user; with several subjects, a warning each.
    let out = run(&[
        "diff",
        "--rbac",
        &testdata("cluster-rbac.yaml"),
        "--user",
        "ops:deployer",
        &log,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("closest subjects in the logs: system:serviceaccount:ops:deployer"),
        "{}",
        stderr(&out)
    );
    // Left out by --exclude-subject: that is what it says.
    let out = run(&[
        "--user",
        "alice@example.com",
        "--exclude-subject",
        "@example",
        &log,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "No output for user alice@example.com: --exclude-subject @example leaves it out\n"
    );
    let out = run(&["--user", "alice@example.com", "--user", "zzzzzzzz", &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: No audit events matched user zzzzzzzz\n  no subject in the logs has a similar name (4 in all;"),
        "{}",
        stderr(&out)
    );
}

/// `lookup ARGS --rbac cluster-rbac.yaml`: (exit code, stdout, stderr).
fn lookup(args: &[&str]) -> (Option<i32>, String, String) {
    let dump = testdata("cluster-rbac.yaml");
    let mut all = vec!["lookup"];
    all.extend(args);
    all.extend(["--rbac", &dump]);
    let o = run(&all);
    (o.status.code(), stdout(&o), stderr(&o))
}

#[test]
fn lookup_by_substring_regex_kind_or_everything() {
    // No exact subject "ops": every subject whose name contains it, with its direct bindings.
    let (code, out, _) = lookup(&["ops", "-o", "wide"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "\
SUBJECT                        BINDING                             ROLE                       NAMESPACE-SCOPE  RULES
Group/ops-team                 RoleBinding/ops/ops-admins          ClusterRole/admin          ops              7
ServiceAccount/ops:reconciler  ClusterRoleBinding/ops-nodes        ClusterRole/node-reader    *                1
ServiceAccount/ops:reconciler  RoleBinding/ops/reconciler-secrets  ClusterRole/secret-reader  ops              1
"
    );
    let (code, out, _) = lookup(&["ops", "-k", "serviceaccount"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out.lines()
            .skip(1)
            .map(|l| l.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        [
            "ServiceAccount/ops:reconciler",
            "ServiceAccount/ops:reconciler"
        ]
    );
    let (code, _, _) = lookup(&["sa:ops", "-k", "serviceaccount"]);
    assert_eq!(code, Some(2), "a malformed prefixed subject is an error");
    let (code, out, _) = lookup(&["ops", "-k", "group"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "\
SUBJECT         BINDING                     ROLE               NAMESPACE-SCOPE
Group/ops-team  RoleBinding/ops/ops-admins  ClusterRole/admin  ops
"
    );

    // A regular expression, as JSON and as YAML (the same document).
    let (code, json, _) = lookup(&[
        "--regex",
        "^(dev|ops):",
        "-k",
        "serviceaccount",
        "-o",
        "json",
    ]);
    assert_eq!(code, Some(0));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<String> = doc["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                s["subject"]["namespace"].as_str().unwrap(),
                s["subject"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["dev:deployer", "ops:reconciler"]);
    assert_eq!(
        doc["subjects"][0]["bindings"][0]["binding"],
        serde_json::json!({"kind": "RoleBinding", "name": "deployer-edit", "namespace": "dev"})
    );
    let (code, yaml, _) = lookup(&["--regex", "^(dev|ops):", "-k", "sa", "-o", "yaml"]);
    assert_eq!(code, Some(0));
    let from_yaml: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(from_yaml, doc);

    // No query: every subject the bindings name, each binding on a line.
    let (code, out, _) = lookup(&[]);
    assert_eq!(code, Some(0));
    let subjects: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert!(subjects.contains(&"User/alice") && subjects.contains(&"User/carol"));
    assert!(subjects.contains(&"Group/system:masters"));
    assert!(subjects.contains(&"ServiceAccount/kube-system:deployment-controller"));
    let (_, users, _) = lookup(&["-k", "user"]);
    assert_eq!(
        users
            .lines()
            .skip(1)
            .map(|l| l.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        ["User/alice", "User/carol"]
    );

    // An exact name keeps the classic view; -o wide adds the rule counts.
    let (code, out, _) = lookup(&["group:devs", "-o", "wide"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "\
BINDING                     ROLE             NAMESPACE-SCOPE  VIA     RULES
RoleBinding/dev/app-reader  Role/app-reader  dev              direct  2
"
    );

    // Named by no binding directly: the group bindings still show, and it says so (exit 1).
    let (code, out, err) = lookup(&["bob"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("group system:authenticated"), "{out}");
    assert_eq!(
        err,
        "note: no binding names User bob directly; the bindings listed apply through its groups\n"
    );
    let (code, out, _) = lookup(&["--regex", "^nobody$"]);
    assert_eq!(
        (code, out.as_str()),
        (Some(1), "No binding names a subject that matches.\n")
    );
    let (code, _, err) = lookup(&["--regex", "("]);
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn check_prints_json_and_checks_every_subject() {
    let log = testdata("audit.log");
    let rbac = testdata("diff-rbac.yaml");
    let out = run(&["check", "--rbac", &rbac, "--all-subjects", "-q", &log]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "alice: not allowed: create configmaps -n dev (seen once, last 2026-11-02T09:05:00Z)\n"
        ),
        "{text}"
    );
    assert!(text.contains("system:serviceaccount:ops:reconciler: not allowed: list deployments.apps (cluster) (seen once,"));
    assert!(!text.contains("bob:"), "{text}");

    let out = run(&[
        "check",
        "--rbac",
        &rbac,
        "--all-subjects",
        "-o",
        "json",
        "-q",
        &log,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["allAllowed"], false);
    let subjects: Vec<&str> = doc["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "admin",
            "alice",
            "bob",
            "system:serviceaccount:ops:reconciler"
        ]
    );
    let alice = &doc["subjects"][1];
    assert_eq!(alice["distinctRequests"], 13);
    assert_eq!(alice["allowed"], 7);
    assert_eq!(
        alice["notAllowed"][0],
        serde_json::json!({"request": "create configmaps -n dev", "requests": 1, "denied": 0,
            "firstSeen": "2026-11-02T09:05:00Z", "lastSeen": "2026-11-02T09:05:00Z"})
    );

    let out = run(&[
        "check", "--rbac", &rbac, "--user", "bob", "-o", "json", &log,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"allAllowed": true, "subjects": [{"subject": "bob",
            "distinctRequests": 1, "allowed": 1, "notAllowed": []}]})
    );
    let out = run(&[
        "check",
        "--rbac",
        &rbac,
        "--user",
        "bob",
        "--all-subjects",
        &log,
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn who_can_prints_yaml_and_wide() {
    let rbac = testdata("cluster-rbac.yaml");
    let log = testdata("audit.log");
    let base = [
        "who-can", "get", "pods", "-n", "dev", "--rbac", &rbac, "-q", "--log", &log,
    ];
    let json = run(&[&base[..], &["-o", "json"]].concat());
    let yaml = run(&[&base[..], &["-o", "yaml"]].concat());
    assert_eq!(yaml.status.code(), Some(0), "{}", stderr(&yaml));
    let from_json: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let from_yaml: serde_json::Value = serde_norway::from_str(&stdout(&yaml)).unwrap();
    assert_eq!(from_json, from_yaml);
    assert!(stdout(&yaml).starts_with("request:\n  apiGroup: ''\n"));

    let wide = run(&[&base[..], &["-o", "wide"]].concat());
    assert_eq!(wide.status.code(), Some(0));
    let text = stdout(&wide);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "SUBJECT",
            "KIND",
            "SUBJECT",
            "NAMESPACE-SCOPE",
            "BINDING",
            "ROLE",
            "USERNAME",
            "LAST-SEEN",
            "REQUESTS"
        ]
    );
    let deployer = lines
        .iter()
        .find(|l| l.contains("dev:deployer"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>();
    assert_eq!(
        deployer,
        [
            "ServiceAccount",
            "dev:deployer",
            "dev",
            "RoleBinding/dev/deployer-edit",
            "ClusterRole/edit",
            "system:serviceaccount:dev:deployer",
            "never",
            "0"
        ]
    );
}

#[test]
fn aggregate_writes_to_out_file_creating_directories() {
    let dir = tmpdir("aggregate");
    let log = testdata("audit.log");
    let part = dir.join("parts/day-1/a.agg.gz");
    let out = run(&[
        "aggregate",
        "-q",
        "--out-file",
        part.to_str().unwrap(),
        &log,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    // The old -o FILE still works, with a deprecation warning, into a new directory too.
    let old = dir.join("old/b.agg.gz");
    let out = run(&["aggregate", "-o", old.to_str().unwrap(), &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("warning: aggregate -o FILE is deprecated"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(&part).unwrap().len(),
        std::fs::read(&old).unwrap().len()
    );
    // The part reads back as the log does.
    let from_part = run(&["subjects", part.to_str().unwrap()]);
    let from_log = run(&["subjects", &log]);
    assert_eq!(stdout(&from_part), stdout(&from_log));
    let out = run(&["aggregate", &log]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn counts_in_the_right_number_and_one_wording_of_a_bad_line() {
    let log = testdata("audit.log");
    let out = run(&["--user", "bob", "--user", "admin", &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "bob: 1 request, 1 distinct; 0 already allowed; wrote 2 objects with 1 rule\n"
        ),
        "{err}"
    );
    assert!(err.contains(" in 1 file: 4 objects, 3 rules\n"), "{err}");

    let dir = tmpdir("words");
    let one = dir.join("one.log");
    std::fs::write(
        &one,
        "{\"kind\":\"Event\",\"verb\":\"get\",\"user\":{\"username\":\"x\"\n",
    )
    .unwrap();
    let one = one.display().to_string();
    // The same bad line in the same words, whether one subject is read (generate, which
    // passes over other subjects' lines unparsed) or every subject (who-can --log, stats).
    let problem = |o: &std::process::Output| -> Vec<String> {
        stderr(o)
            .lines()
            .filter(|l| l.contains("skipped") || l.contains("invalid JSON"))
            .map(String::from)
            .collect()
    };
    let generate = run(&["--user", "alice", &one]);
    let who_can = run(&[
        "who-can",
        "get",
        "pods",
        "--rbac",
        &testdata("cluster-rbac.yaml"),
        "--log",
        &one,
    ]);
    let stats = run(&["stats", &one]);
    let want = [
        format!("warning: {one}: skipped 1 of 1 line (1 invalid JSON)"),
        format!("  {one}:1: invalid JSON: EOF while parsing an object at line 1 column 51"),
    ];
    assert_eq!(problem(&generate), want, "{}", stderr(&generate));
    assert_eq!(problem(&who_can), want);
    assert_eq!(problem(&stats), want);
    // The line of the shipped log that is not JSON, with and without a subject.
    let alice = run(&["--user", "alice", &log]);
    let all = run(&["stats", &log]);
    assert_eq!(problem(&alice), problem(&all));
    assert_eq!(problem(&alice).len(), 2);

    let check = run(&[
        "check",
        "--rbac",
        &testdata("diff-rbac.yaml"),
        "--user",
        "alice",
        &log,
    ]);
    assert!(
        stdout(&check).contains("(seen once, last "),
        "{}",
        stdout(&check)
    );
    let aggregate = run(&[
        "aggregate",
        "--out-file",
        dir.join("a.agg").to_str().unwrap(),
        &log,
    ]);
    assert!(
        stderr(&aggregate)
            .contains("aggregated 22 events from 1 input: 4 subjects, 22 distinct requests\n"),
        "{}",
        stderr(&aggregate)
    );
}

#[test]
fn man_pages_one_per_command_with_exit_status() {
    let dir = tmpdir("man").join("new/man1");
    let out = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let commands = COMMANDS;
    let mut want: Vec<String> = commands
        .iter()
        .map(|c| format!("audit2role-{c}.1"))
        .collect();
    want.push("audit2role.1".to_string());
    want.sort();
    assert_eq!(names, want);
    let main = std::fs::read_to_string(dir.join("audit2role.1")).unwrap();
    for c in commands {
        // The main page refers to each command's page, and that page exists.
        let roff_name = c.replace('-', "\\-");
        assert!(
            main.contains(&format!("audit2role\\-{roff_name}(1)")),
            "{c}"
        );
        let page = std::fs::read_to_string(dir.join(format!("audit2role-{c}.1"))).unwrap();
        assert!(page.starts_with(".ie"), "{c}");
        assert!(page.contains(&format!(".TH audit2role-{c} 1 ")), "{c}");
        assert!(page.contains(".SH \"EXIT STATUS\""), "{c}");
        assert!(page.contains("\\fBaudit2role\\fR(1)"), "{c}");
        // `man COMMAND` prints the same page.
        assert_eq!(stdout(&run(&["man", c])), page, "{c}");
    }
    assert!(main.contains(".SH \"EXIT STATUS\""));
    assert_eq!(stdout(&run(&["man"])), main);
    let check = std::fs::read_to_string(dir.join("audit2role-check.1")).unwrap();
    assert!(check.contains("Some requests are not allowed"));
    assert!(check.contains("\\-\\-all\\-subjects"));
    let lookup = std::fs::read_to_string(dir.join("audit2role-lookup.1")).unwrap();
    assert!(lookup.contains("No binding names the subject directly"));
    let out = run(&["man", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
}

fn dir_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn out_dir_over_an_earlier_run_warns_of_stale_files_and_prunes_them() {
    let log = testdata("audit.log");
    let dir = tmpdir("stale").join("rbac");
    let d = dir.to_str().unwrap();
    let out = run(&["--all-subjects", "-q", "--out-dir", d, &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        dir_files(&dir),
        [
            "serviceaccount-ops-reconciler.yaml",
            "summary.json",
            "user-admin.yaml",
            "user-alice.yaml",
            "user-bob.yaml"
        ]
    );
    // A file that is not this tool's stays out of it, whatever its name.
    std::fs::write(dir.join("kustomization.yaml"), "resources: []\n").unwrap();

    // Fewer subjects: the others' files are stale, listed, and kept in summary.json.
    let out = run(&["--user", "alice", "--user", "bob", "--out-dir", d, &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = format!(
        "warning: {d}: 2 files from an earlier run are for subjects this run did not write (kubectl apply -f {d} would still apply them); --prune removes them:\n  serviceaccount-ops-reconciler.yaml\n  user-admin.yaml\n"
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    assert_eq!(dir_files(&dir).len(), 6);
    assert_eq!(
        summary(&dir)["staleFiles"],
        serde_json::json!(["serviceaccount-ops-reconciler.yaml", "user-admin.yaml"])
    );

    // The next run still knows them (from staleFiles); alice's requests are all allowed by
    // her own generated RBAC, so she gets no file, and summary.json says why.
    let existing = testdata("expected/alice.yaml");
    let out = run(&[
        "--user",
        "alice",
        "--existing",
        &existing,
        "--out-dir",
        d,
        "--prune",
        &log,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{d}: removed 4 stale files from an earlier run (--prune):\n  serviceaccount-ops-reconciler.yaml\n  user-admin.yaml\n  user-alice.yaml\n  user-bob.yaml\n")),
        "{err}"
    );
    assert!(
        err.contains(
            "alice: 13 requests, 13 distinct; 13 already allowed; wrote 0 objects with 0 rules\n"
        ),
        "{err}"
    );
    assert_eq!(dir_files(&dir), ["kustomization.yaml", "summary.json"]);
    let s = summary(&dir);
    assert_eq!(s["subjects"][0]["file"], serde_json::Value::Null);
    assert_eq!(
        s["subjects"][0]["noFile"],
        "everything it did is already allowed: nothing to grant"
    );
    assert_eq!(s.get("staleFiles"), None);

    // A summary.json edited to point outside the folder removes nothing there.
    let outside = dir.parent().unwrap().join("outside.yaml");
    std::fs::write(&outside, "x").unwrap();
    std::fs::write(
        dir.join("summary.json"),
        r#"{"subjects": [{"file": "../outside.yaml"}], "staleFiles": ["/etc/hostname", "summary.json"]}"#,
    )
    .unwrap();
    let out = run(&["--user", "bob", "--out-dir", d, "--prune", "-q", &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(outside.exists());
    assert_eq!(
        dir_files(&dir),
        ["kustomization.yaml", "summary.json", "user-bob.yaml"]
    );

    let out = run(&["--user", "bob", "--prune", &log]);
    assert_eq!(out.status.code(), Some(2), "--prune needs --out-dir");
}
