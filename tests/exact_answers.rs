//! Answers that must be exact for the authorizer (issue: trustworthy answers): each test
//! runs the binary on a small log written here and asserts what a cluster would see.

mod common;

use common::{run, stdout};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One ResponseComplete event of `user` as a JSON line.
fn event(user: &str, verb: &str, uri: &str, object_ref: &str, code: u16) -> String {
    let object_ref = if object_ref.is_empty() {
        String::new()
    } else {
        format!(r#""objectRef":{object_ref},"#)
    };
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete","requestURI":"{uri}","verb":"{verb}","user":{{"username":"{user}","groups":["system:authenticated"]}},{object_ref}"responseStatus":{{"code":{code}}},"requestReceivedTimestamp":"2026-11-01T10:00:00.000000Z","stageTimestamp":"2026-11-01T10:00:00.100000Z"}}"#
    )
}

fn write_log(dir: &Path, lines: &[String]) -> String {
    let path = dir.join("audit.log");
    std::fs::write(&path, lines.join("\n") + "\n").expect("log written");
    path.display().to_string()
}

/// The YAML documents of `text` as (kind, name, the whole document).
fn documents(text: &str) -> Vec<(String, String, serde_norway::Value)> {
    text.split("\n---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| {
            let v: serde_norway::Value = serde_norway::from_str(d).expect("valid YAML");
            let kind = v["kind"].as_str().unwrap_or_default().to_string();
            let name = v["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (kind, name, v)
        })
        .collect()
}

#[test]
fn subjects_that_sanitize_alike_get_their_own_objects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let subjects = [
        "Alice",
        "alice",
        "a.b",
        "a_b",
        "system:serviceaccount:ns:my.sa",
        "system:serviceaccount:ns:my-sa",
    ];
    let lines: Vec<String> = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| {
            event(
                s,
                "get",
                &format!("/api/v1/namespaces/dev/pods/p{i}"),
                &format!(
                    r#"{{"resource":"pods","namespace":"dev","name":"p{i}","apiVersion":"v1"}}"#
                ),
                200,
            )
        })
        .collect();
    let log = write_log(dir.path(), &lines);
    for extra in [&[][..], &["--generate-name", "team:{subject}"][..]] {
        let mut args = vec!["-q", "--all-subjects", &log];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let docs = documents(&stdout(&out));
        let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (kind, name, _) in &docs {
            assert!(
                names.entry(kind.clone()).or_default().insert(name.clone()),
                "{kind} {name} is written twice"
            );
        }
        assert_eq!(names["Role"].len(), subjects.len(), "{names:?}");
        assert_eq!(names["RoleBinding"].len(), subjects.len(), "{names:?}");
        // Each binding names one subject and the role that holds that subject's pod.
        for (kind, _, doc) in &docs {
            if kind != "RoleBinding" {
                continue;
            }
            let role = doc["roleRef"]["name"].as_str().expect("roleRef");
            let subject = &doc["subjects"][0];
            let user = match subject["kind"].as_str() {
                Some("ServiceAccount") => format!(
                    "system:serviceaccount:{}:{}",
                    subject["namespace"].as_str().unwrap_or_default(),
                    subject["name"].as_str().unwrap_or_default()
                ),
                _ => subject["name"].as_str().unwrap_or_default().to_string(),
            };
            let i = subjects
                .iter()
                .position(|s| *s == user)
                .expect("known subject");
            let role_doc = docs
                .iter()
                .find(|(k, n, _)| k == "Role" && n == role)
                .expect("bound role exists");
            let names = &role_doc.2["rules"][0]["resourceNames"];
            assert_eq!(names[0].as_str(), Some(format!("p{i}").as_str()), "{user}");
        }
    }
}

/// The documents of a `--user alice` run on `lines`, and its exit code and stderr.
fn alice(
    lines: &[String],
    extra: &[&str],
) -> (Vec<(String, String, serde_norway::Value)>, i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = write_log(dir.path(), lines);
    let mut args = vec!["--user", "alice"];
    args.extend_from_slice(extra);
    args.push(&log);
    let out = run(&args);
    (
        documents(&stdout(&out)),
        out.status.code().unwrap_or(-1),
        common::stderr(&out),
    )
}

/// Every nonResourceURL granted in `docs`.
fn granted_urls(docs: &[(String, String, serde_norway::Value)]) -> Vec<String> {
    let mut urls = Vec::new();
    for (_, _, doc) in docs {
        for rule in doc["rules"].as_sequence().into_iter().flatten() {
            for url in rule["nonResourceURLs"].as_sequence().into_iter().flatten() {
                urls.push(url.as_str().unwrap_or_default().to_string());
            }
        }
    }
    urls
}

#[test]
fn non_resource_paths_are_granted_decoded() {
    let (docs, code, err) = alice(&[event("alice", "get", "/logs/a%20b?x=1", "", 200)], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(granted_urls(&docs), vec!["/logs/a b"]);
    // The generated RBAC allows the request, as `check` (the project's authorizer) says.
    let dir = tempfile::tempdir().expect("temp dir");
    let log = write_log(
        dir.path(),
        &[event("alice", "get", "/logs/a%20b?x=1", "", 200)],
    );
    let generated = run(&["-q", "--user", "alice", &log]);
    let rbac = dir.path().join("rbac.yaml");
    std::fs::write(&rbac, &generated.stdout).unwrap();
    let check = run(&[
        "check",
        "--rbac",
        rbac.to_str().unwrap(),
        "--user",
        "alice",
        &log,
    ]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
}

#[test]
fn a_decoded_star_is_refused_like_a_literal_one() {
    let (docs, _, err) = alice(&[event("alice", "get", "/logs/%2A", "", 200)], &[]);
    assert!(
        granted_urls(&docs).iter().all(|u| !u.contains('*')),
        "{docs:?}"
    );
    assert!(err.contains("/logs/*"), "{err}");
    let (literal_docs, _, literal_err) = alice(&[event("alice", "get", "/logs/*", "", 200)], &[]);
    assert_eq!(granted_urls(&docs), granted_urls(&literal_docs));
    assert_eq!(err, literal_err);
}

#[test]
fn a_malformed_escape_is_reported_not_granted() {
    let (docs, code, err) = alice(
        &[
            event("alice", "get", "/logs/%zz", "", 200),
            event("alice", "get", "/healthz/ping", "", 200),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(granted_urls(&docs), vec!["/healthz/ping"]);
    assert!(err.contains("not a valid percent-encoded path"), "{err}");
}

#[test]
fn creates_of_cluster_scoped_resources_are_cluster_scoped() {
    let lines = [
        event(
            "alice",
            "create",
            "/api/v1/namespaces",
            r#"{"resource":"namespaces","namespace":"team-a","name":"team-a","apiVersion":"v1"}"#,
            201,
        ),
        event(
            "alice",
            "create",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            r#"{"resource":"clusterroles","namespace":"team-a","name":"r","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"}"#,
            201,
        ),
        // A cluster-scoped custom resource: the objectRef takes a namespace from the body,
        // the URL the authorizer saw has none.
        event(
            "alice",
            "create",
            "/apis/example.com/v1/widgets",
            r#"{"resource":"widgets","namespace":"team-a","name":"w","apiGroup":"example.com","apiVersion":"v1"}"#,
            201,
        ),
        // Reading one namespace is a request in that namespace.
        event(
            "alice",
            "get",
            "/api/v1/namespaces/team-b",
            r#"{"resource":"namespaces","name":"team-b","apiVersion":"v1"}"#,
            200,
        ),
    ];
    let (docs, code, err) = alice(&lines, &["--strict"]);
    assert_eq!(code, 0, "{err}");
    let kinds: Vec<(&str, &str)> = docs
        .iter()
        .map(|(k, _, d)| {
            (
                k.as_str(),
                d["metadata"]["namespace"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("Role", "team-b"),
            ("ClusterRole", ""),
            ("RoleBinding", "team-b"),
            ("ClusterRoleBinding", "")
        ],
        "{docs:?}"
    );
    let cluster_role = &docs[1].2;
    let resources: Vec<&str> = cluster_role["rules"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|r| r["resources"].as_sequence().into_iter().flatten())
        .filter_map(|r| r.as_str())
        .collect();
    assert_eq!(
        resources,
        vec!["namespaces", "widgets", "clusterroles"],
        "{cluster_role:?}"
    );
}

#[test]
fn unauthenticated_requests_give_no_rules() {
    let lines = [event(
        "alice",
        "get",
        "/api/v1/namespaces/dev/secrets/db",
        r#"{"resource":"secrets","namespace":"dev","name":"db","apiVersion":"v1"}"#,
        401,
    )];
    let (docs, code, err) = alice(&lines, &[]);
    assert!(docs.is_empty(), "{docs:?}");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("401"), "{err}");
}

#[test]
fn aggregated_cluster_roles_count_for_check_and_existing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dump = dir.path().join("dump.yaml");
    std::fs::write(
        &dump,
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: view
aggregationRule:
  clusterRoleSelectors:
  - matchLabels:
      rbac.example.com/aggregate-to-view: "true"
rules: null
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: view-pods
  labels:
    rbac.example.com/aggregate-to-view: "true"
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: alice-view
  namespace: dev
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: alice
"#,
    )
    .unwrap();
    let log = write_log(
        dir.path(),
        &[event(
            "alice",
            "get",
            "/api/v1/namespaces/dev/pods/web",
            r#"{"resource":"pods","namespace":"dev","name":"web","apiVersion":"v1"}"#,
            200,
        )],
    );
    let dump = dump.to_str().unwrap();
    let check = run(&["check", "--rbac", dump, "--user", "alice", &log]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    let who = run(&["who-can", "get", "pods", "-n", "dev", "--rbac", dump]);
    assert!(stdout(&who).contains("alice"), "{}", stdout(&who));
    let existing = run(&["-q", "--user", "alice", "--existing", dump, &log]);
    assert_eq!(
        stdout(&existing),
        "",
        "already allowed: nothing to generate"
    );
}

#[test]
fn impersonation_is_granted_by_name_whatever_the_expansions() {
    let impersonating = |target: &str, ns_of_sa: Option<&str>| {
        let target_user = match ns_of_sa {
            Some(ns) => format!("system:serviceaccount:{ns}:{target}"),
            None => target.to_string(),
        };
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/dev/pods","verb":"list","user":{{"username":"alice","groups":["system:authenticated"]}},"impersonatedUser":{{"username":"{target_user}"}},"objectRef":{{"resource":"pods","namespace":"dev","apiVersion":"v1"}},"responseStatus":{{"code":200}}}}"#
        )
    };
    let lines = [
        impersonating("bob", None),
        impersonating("carol", None),
        impersonating("sa", Some("a")),
        impersonating("sa", Some("b")),
    ];
    let (docs, code, err) = alice(&lines, &[]);
    assert_eq!(code, 0, "{err}");
    let mut impersonate_rules = Vec::new();
    for (kind, _, doc) in &docs {
        for rule in doc["rules"].as_sequence().into_iter().flatten() {
            let verbs = serde_norway::to_string(&rule["verbs"]).unwrap();
            if verbs.contains("impersonate") {
                impersonate_rules.push((
                    kind.clone(),
                    doc["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    serde_norway::to_string(&rule["resources"]).unwrap(),
                    serde_norway::to_string(&rule["resourceNames"]).unwrap(),
                ));
            }
        }
    }
    impersonate_rules.sort();
    assert_eq!(
        impersonate_rules,
        vec![
            (
                "ClusterRole".to_string(),
                "".to_string(),
                "- users\n".to_string(),
                "- bob\n- carol\n".to_string()
            ),
            (
                "Role".to_string(),
                "a".to_string(),
                "- serviceaccounts\n".to_string(),
                "- sa\n".to_string()
            ),
            (
                "Role".to_string(),
                "b".to_string(),
                "- serviceaccounts\n".to_string(),
                "- sa\n".to_string()
            ),
        ],
        "{docs:?}"
    );
}

#[test]
fn evidence_counts_each_request_once_and_never_fewer_than_distinct() {
    // Three requests, each logged at one stage only (as policies and long-running requests
    // do): three requests, not one.
    let staged = |name: &str, stage: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"{stage}","requestURI":"/api/v1/namespaces/dev/configmaps/{name}","verb":"get","user":{{"username":"alice"}},"objectRef":{{"resource":"configmaps","namespace":"dev","name":"{name}","apiVersion":"v1"}},"responseStatus":{{"code":200}}}}"#
        )
    };
    let lines = [
        staged("a", "RequestReceived"),
        staged("b", "ResponseStarted"),
        staged("c", "ResponseComplete"),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let log = write_log(dir.path(), &lines);
    let out = run(&["-q", "--user", "alice", "--evidence", &log]);
    let yaml = stdout(&out);
    assert!(
        yaml.contains("# evidence: 3 requests (3 distinct)"),
        "{yaml}"
    );
    let json = run(&["-q", "--user", "alice", "--evidence", "-o", "json", &log]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rule = &doc["audit2role"]["rules"][0];
    assert_eq!(
        (rule["requests"].as_u64(), rule["distinct"].as_u64()),
        (Some(3), Some(3))
    );
}

#[test]
fn who_can_create_with_a_name_lists_only_who_the_authorizer_allows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dump = dir.path().join("dump.yaml");
    let role = |name: &str, names: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {name}\n  namespace: dev\nrules:\n- apiGroups: [\"\"]\n  resources: [\"configmaps\"]\n  verbs: [\"create\"]\n{names}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {name}\n  namespace: dev\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {name}\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: {name}\n---\n"
        )
    };
    std::fs::write(
        &dump,
        role("alice", "  resourceNames: [\"x\"]\n") + &role("bob", ""),
    )
    .unwrap();
    let dump = dump.to_str().unwrap();
    let out = run(&[
        "who-can",
        "create",
        "configmaps",
        "--name",
        "x",
        "-n",
        "dev",
        "--rbac",
        dump,
    ]);
    let table = stdout(&out);
    assert!(table.contains(" bob "), "{table}");
    assert!(!table.contains(" alice "), "{table}");
    assert!(common::stderr(&out).contains("--name x is ignored"));
    // Without --name the answer is the same: only a rule without names allows a create.
    let get = stdout(&run(&[
        "who-can",
        "create",
        "configmaps",
        "-n",
        "dev",
        "--rbac",
        dump,
    ]));
    assert!(get.contains(" bob ") && !get.contains(" alice "), "{get}");
}

#[test]
fn who_can_resolves_resources_as_kubectl_does() {
    let dump = common::testdata("cluster-rbac.yaml");
    let ask = |args: &[&str]| {
        let mut all = vec!["who-can"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--rbac", &dump]);
        run(&all)
    };
    let full = stdout(&ask(&["get", "deployments.apps", "-n", "dev"]));
    assert!(full.contains("dev:deployer"), "{full}");
    for short in ["deploy", "deployment", "Deployment", "deployments"] {
        assert_eq!(stdout(&ask(&["get", short, "-n", "dev"])), full, "{short}");
    }
    assert_eq!(
        stdout(&ask(&["get", "po", "-n", "dev"])),
        stdout(&ask(&["get", "pods", "-n", "dev"]))
    );
    let typo = ask(&["get", "pdos"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        common::stderr(&typo).contains("did you mean pods"),
        "{}",
        common::stderr(&typo)
    );
    // kubectl-who-can's TYPE/NAME, where NAME is no subresource.
    assert_eq!(
        stdout(&ask(&["get", "pods/web-0", "-n", "dev"])),
        stdout(&ask(&["get", "pods", "--name", "web-0", "-n", "dev"]))
    );
    // A custom resource's group is taken as written.
    assert_eq!(
        ask(&["get", "certificates.cert-manager.io"]).status.code(),
        Some(0)
    );
}

/// `--api-resources` (kubectl api-resources -o wide) makes a cluster's custom resources
/// resolvable like built-in ones: short names, kinds and scope; with the server's own list
/// given, a resource it does not serve is unknown, not taken literally.
#[test]
fn who_can_resolves_custom_resources_from_api_resources() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dump = dir.path().join("dump.yaml");
    std::fs::write(
        &dump,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: certs\nrules:\n- apiGroups: [\"cert-manager.io\"]\n  resources: [\"certificates\", \"clusterissuers\"]\n  verbs: [\"get\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: certs\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: certs\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: carol\n",
    )
    .unwrap();
    let dump = dump.to_str().unwrap();
    let resources = common::testdata("api-resources.txt");
    let ask = |args: &[&str]| {
        let mut all = vec!["who-can"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--rbac", dump, "--api-resources", &resources, "-o", "json"]);
        run(&all)
    };
    let json = |args: &[&str]| -> serde_json::Value {
        let out = ask(args);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let full = json(&["get", "certificates.cert-manager.io", "-n", "dev"]);
    assert_eq!(full["request"]["resource"], "certificates", "{full:#}");
    assert_eq!(full["request"]["apiGroup"], "cert-manager.io", "{full:#}");
    assert!(full["subjects"].to_string().contains("carol"), "{full:#}");
    for short in ["cert", "certs", "Certificate", "certificate"] {
        assert_eq!(json(&["get", short, "-n", "dev"]), full, "{short}");
    }
    // A cluster-scoped custom resource is asked about cluster-wide, whatever -n says.
    let issuers = json(&["get", "ciss", "-n", "dev"]);
    assert_eq!(
        issuers["request"]["resource"], "clusterissuers",
        "{issuers:#}"
    );
    assert_eq!(
        issuers["request"]["namespace"],
        serde_json::Value::Null,
        "{issuers:#}"
    );
    assert!(
        issuers["subjects"].to_string().contains("carol"),
        "{issuers:#}"
    );
    // The server's own list is complete: a group it does not serve is unknown (exit 2).
    let unknown = ask(&["get", "widgets.example.com"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        common::stderr(&unknown).contains("doesn't have a resource type"),
        "{}",
        common::stderr(&unknown)
    );
    // Without the list, such a group is taken as written (a custom resource).
    let literal = run(&["who-can", "get", "widgets.example.com", "--rbac", dump]);
    assert_eq!(literal.status.code(), Some(0));
    // A file that is not api-resources output is an error naming it.
    let bad = dir.path().join("bad.txt");
    std::fs::write(
        &bad,
        "NAME   SHORTNAMES   APIVERSION   NAMESPACED   KIND\npods   po           v1           maybe        Pod\n",
    )
    .unwrap();
    let out = run(&[
        "who-can",
        "get",
        "pods",
        "--rbac",
        dump,
        "--api-resources",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("bad.txt") && err.contains("bad.txt:2:") && err.contains("NAMESPACED"),
        "{err}"
    );
}

#[test]
fn expansion_looks_only_at_what_the_existing_rbac_does_not_allow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let existing = dir.path().join("existing.yaml");
    std::fs::write(
        &existing,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: db\n  namespace: b\nrules:\n- apiGroups: [\"\"]\n  resources: [\"secrets\"]\n  resourceNames: [\"db\"]\n  verbs: [\"get\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: db\n  namespace: b\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: db\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: alice\n",
    )
    .unwrap();
    let get_db = |ns: &str| {
        event(
            "alice",
            "get",
            &format!("/api/v1/namespaces/{ns}/secrets/db"),
            &format!(
                r#"{{"resource":"secrets","namespace":"{ns}","name":"db","apiVersion":"v1"}}"#
            ),
            200,
        )
    };
    let (docs, code, err) = alice(
        &[get_db("a"), get_db("b")],
        &["--existing", existing.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let objects: Vec<(String, String)> = docs
        .iter()
        .map(|(k, _, d)| {
            (
                k.clone(),
                d["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        objects,
        vec![
            ("Role".to_string(), "a".to_string()),
            ("RoleBinding".to_string(), "a".to_string())
        ],
        "{docs:?}"
    );
}
