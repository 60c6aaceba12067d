//! The diff command against a small hand-written dump (testdata/diff-rbac.yaml), with the
//! expected table worked out by hand in testdata/expected/diff-alice.txt: alice uses four
//! of the six scored rules bound to her (two through her group `devs`), never uses `get
//! services` and `list secrets`, and six of her requests are not allowed. The default
//! `system:discovery` grant every authenticated user has is shown apart, not scored.

mod common;

use common::{run, testdata};

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
    assert!(want.starts_with("subject alice: 4 of 6 granted rules used (score 67%), 6 of 13 observed requests not allowed, 1 default rule not scored\n"));
    assert!(want.contains("  default   ClusterRoleBinding/system:discovery -> ClusterRole/system:discovery rule 1 [cluster]: get /api,"));
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
    assert_eq!(alice["granted"], 6);
    assert_eq!(alice["used"], 4);
    assert_eq!(alice["score"], 66.7);
    let defaults = alice["defaultGrants"].as_array().unwrap();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["roleName"], "system:discovery");
    assert_eq!(defaults[0]["distinct"], 1);
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
            "subject system:serviceaccount:ops:reconciler: 0 of 0 granted rules used (score 100%), 6 of 6 observed requests not allowed, 1 default rule not scored"
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

/// One audit event line for user dana (group ops-team) at minute `m`.
fn dana(verb: &str, uri: &str, object: &str, m: u32) -> String {
    let object = if object.is_empty() {
        String::new()
    } else {
        format!(",\"objectRef\":{object}")
    };
    format!(
        "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"stage\":\"ResponseComplete\",\"verb\":\"{verb}\",\"requestURI\":\"{uri}\",\"user\":{{\"username\":\"dana\",\"groups\":[\"ops-team\",\"system:authenticated\"]}}{object},\"responseStatus\":{{\"code\":200}},\"requestReceivedTimestamp\":\"2026-11-03T10:{m:02}:00.000000Z\"}}\n"
    )
}

#[test]
fn aggregated_roles_of_the_kubeadm_dump_are_resolved() {
    // dana holds `admin` in ops through group ops-team; admin's rules are empty in the
    // dump and come from edit (itself aggregated) and system:aggregate-to-admin.
    let log = [
        dana("get", "/api", "", 0),
        dana("get", "/api/v1/namespaces/ops/secrets/db", r#"{"resource":"secrets","namespace":"ops","name":"db"}"#, 1),
        dana("list", "/api/v1/namespaces/ops/pods", r#"{"resource":"pods","namespace":"ops"}"#, 2),
        dana("create", "/api/v1/namespaces/ops/pods/web/exec", r#"{"resource":"pods","subresource":"exec","namespace":"ops","name":"web"}"#, 3),
        dana("create", "/apis/rbac.authorization.k8s.io/v1/namespaces/ops/rolebindings", r#"{"resource":"rolebindings","apiGroup":"rbac.authorization.k8s.io","namespace":"ops"}"#, 4),
        dana("patch", "/apis/apps/v1/namespaces/dev/deployments/web", r#"{"resource":"deployments","apiGroup":"apps","namespace":"dev","name":"web"}"#, 5),
    ]
    .concat();
    let path = common::scratch("dana.log");
    std::fs::write(&path, log).unwrap();
    let o = run(&[
        "diff",
        "-q",
        "--rbac",
        &testdata("cluster-rbac.yaml"),
        "--user",
        "dana",
        "-o",
        "json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &v["subjects"][0];
    // admin: 7 rules after aggregation. basic-user (2), discovery (1) and
    // public-info-viewer (1) are the defaults every cluster has: apart, not scored.
    assert_eq!(d["granted"], 7, "{d:#}");
    assert_eq!(d["used"], 4, "{d:#}");
    let defaults: Vec<(&str, bool)> = d["defaultGrants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["roleName"].as_str().unwrap(),
                g["distinct"].as_u64() > Some(0),
            )
        })
        .collect();
    assert_eq!(defaults.len(), 4, "{d:#}");
    assert!(defaults.contains(&("system:discovery", true)), "{d:#}");
    assert_eq!(
        defaults
            .iter()
            .filter(|(r, _)| *r == "system:basic-user")
            .count(),
        2
    );
    let used: Vec<(String, u64)> = d["usedGrants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["roleName"].as_str().unwrap().to_string(),
                g["ruleIndex"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        used,
        vec![
            ("admin".to_string(), 0),
            ("admin".to_string(), 1),
            ("admin".to_string(), 3),
            ("admin".to_string(), 6),
        ]
    );
    let missing: Vec<&str> = d["notAllowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["request"].as_str().unwrap())
        .collect();
    assert_eq!(missing, vec!["patch deployments.apps web -n dev"]);
    let unused_secret_risk = d["unusedGrants"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["risks"].as_array().is_some_and(|r| !r.is_empty()));
    assert!(
        unused_secret_risk,
        "unused admin rules with pods/exec or secrets carry risks"
    );
}
