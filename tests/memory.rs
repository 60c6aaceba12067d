//! One subject with thousands of distinct names or paths: generation read in place from the
//! aggregate is proven by the authorizer (every observed request allowed; in strict mode
//! nothing more; every rule rests on observed requests), the output stays one small rule
//! when names expand, and very large output (strict mode, many URLs) is warned about with
//! its size.

mod common;

use audit2role::aggregate::Aggregate;
use audit2role::generate::policy::{generate_from, Naming, Observations, Policy};
use audit2role::generate::review::{comments, review_from, CommentOptions};
use audit2role::generate::LARGE_OBJECT;
use audit2role::rbac::bootstrap::bootstrap_rbac;
use audit2role::rbac::read::read_rbac_file;
use audit2role::rbac::Authorizer;
use common::{aggregate_of, beyond_observed, run, stderr, stdout, uncovered};
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    common::scratch(name)
}

/// One audit event line of `user` (with `groups`) reading configmap `name` in `ns`.
fn get_configmap(i: usize, user: &str, groups: &str, ns: &str, name: &str, code: u16) -> String {
    format!(
        concat!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"m-{i}","#,
            r#""stage":"ResponseComplete","requestURI":"/api/v1/namespaces/{ns}/configmaps/{name}","#,
            r#""verb":"get","user":{{"username":"{user}","groups":[{groups}]}},"#,
            r#""objectRef":{{"resource":"configmaps","namespace":"{ns}","name":"{name}","apiVersion":"v1"}},"#,
            r#""responseStatus":{{"metadata":{{}},"code":{code}}},"#,
            r#""requestReceivedTimestamp":"2026-11-02T{h:02}:{m:02}:{s:02}.000000Z","#,
            r#""stageTimestamp":"2026-11-02T{h:02}:{m:02}:{s:02}.000000Z"}}"#,
            "\n"
        ),
        i = i,
        ns = ns,
        name = name,
        user = user,
        groups = groups,
        code = code,
        h = (i / 3600) % 24,
        m = (i / 60) % 60,
        s = i % 60,
    )
}

/// A log where mallory reads `names` distinct configmaps, spread over `namespaces`
/// namespaces, some twice, some denied, as two identities; plus one request of bob.
fn many_names_log(file: &str, names: usize, namespaces: usize) -> String {
    let mut text = String::new();
    for i in 0..names {
        let ns = format!("ns{}", i % namespaces);
        let name = format!("cm-{i:07}");
        let groups = if i % 7 == 0 {
            r#""system:authenticated","auditors""#
        } else {
            r#""system:authenticated""#
        };
        let code = if i % 11 == 0 { 403 } else { 200 };
        text.push_str(&get_configmap(i, "mallory", groups, &ns, &name, code));
        if i % 5 == 0 {
            text.push_str(&get_configmap(i + 1, "mallory", groups, &ns, &name, 200));
        }
    }
    text.push_str(&get_configmap(
        0,
        "bob",
        r#""system:authenticated""#,
        "ns0",
        "x",
        200,
    ));
    let path = tmp(file);
    std::fs::write(&path, text).expect("log written");
    path.display().to_string()
}

/// A log where mallory gets `paths` distinct non-resource URLs.
fn many_paths_log(file: &str, paths: usize) -> String {
    let mut text = String::new();
    for i in 0..paths {
        text.push_str(&format!(
            concat!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"p-{i}","#,
                r#""stage":"ResponseComplete","requestURI":"/metrics/probe-{i:07}","verb":"get","#,
                r#""user":{{"username":"mallory","groups":["system:authenticated"]}},"#,
                r#""responseStatus":{{"metadata":{{}},"code":200}},"#,
                r#""requestReceivedTimestamp":"2026-11-02T09:00:00.000000Z","#,
                r#""stageTimestamp":"2026-11-02T09:00:00.000000Z"}}"#,
                "\n"
            ),
            i = i
        ));
    }
    let path = tmp(file);
    std::fs::write(&path, text).expect("log written");
    path.display().to_string()
}

/// RBAC already in place: mallory may read two of the configmaps by name in ns0, and
/// everything in ns1.
fn existing_rbac() -> String {
    let yaml = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: some
  namespace: ns0
rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [cm-0000000, cm-0000010]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: some
  namespace: ns0
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: some}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: mallory}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: all
  namespace: ns1
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: all
  namespace: ns1
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: all}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: auditors}
"#;
    let path = tmp("existing.yaml");
    std::fs::write(&path, yaml).expect("rbac written");
    path.display().to_string()
}

fn naming() -> Naming {
    Naming {
        name: "audit2role:mallory".into(),
        ..Naming::default()
    }
}

/// Generates for mallory from the aggregate read in place and proves the output with the
/// authorizer: every observed request is allowed by the existing and the generated RBAC, in
/// strict mode nothing beyond the observed requests is granted, and every rule's review
/// rests on observed requests. Returns the YAML with evidence comments.
fn generate_proven(aggregate: &Aggregate, existing: &Authorizer, policy: &Policy) -> String {
    let sub = &aggregate.subjects["mallory"];
    let observed = Observations::of_aggregate("mallory", sub);
    let generated = generate_from("mallory", &observed, existing, policy, &naming());
    assert_eq!(
        uncovered("mallory", sub, existing.rbac(), &generated.rbac),
        Vec::<String>::new(),
        "{policy:?}"
    );
    if policy.strict {
        assert_eq!(beyond_observed(sub, &generated.rbac), Vec::<String>::new());
    }
    assert!(generated.refused.is_empty());
    let reports = review_from(&generated.rbac, &observed);
    assert_eq!(reports.len(), generated.rbac.rule_count());
    for r in &reports {
        assert!(
            r.evidence.distinct > 0,
            "{} rests on no request",
            r.location()
        );
    }
    audit2role::render::to_yaml(
        &generated.rbac,
        &comments(&reports, &CommentOptions { evidence: true }),
    )
}

#[test]
fn in_place_generation_is_proven_by_the_authorizer() {
    let log = many_names_log("equal.log", 2_000, 3);
    let aggregate = aggregate_of(&[log]);
    assert_eq!(aggregate.subjects["mallory"].distinct(), 2_000);
    let bootstrap = Authorizer::new(bootstrap_rbac());
    let mut with_existing = bootstrap_rbac();
    with_existing.extend(read_rbac_file(&existing_rbac()).expect("rbac reads"));
    let with_existing = Authorizer::new(with_existing);
    let no_name_expansion = Policy {
        expand_multi_name: false,
        ..Policy::default()
    };
    let no_namespace_expansion = Policy {
        expand_multi_namespace: false,
        ..Policy::default()
    };
    for existing in [&bootstrap, &with_existing] {
        for policy in [
            Policy::default(),
            Policy::strict(),
            no_name_expansion.clone(),
            no_namespace_expansion.clone(),
        ] {
            let yaml = generate_proven(&aggregate, existing, &policy);
            assert!(yaml.contains("resources:\n  - configmaps"), "{yaml}");
        }
    }
    // Names expand whatever the existing RBAC allows by name; ns1 is allowed only for the
    // identity with the auditors group, so every namespace still needs the rule.
    let yaml = generate_proven(&aggregate, &with_existing, &Policy::default());
    assert!(!yaml.contains("resourceNames"), "{yaml}");
}

#[test]
fn thousands_of_names_give_one_rule_with_the_full_evidence() {
    let log = many_names_log("names.log", 5_000, 3);
    let out = run(&["--user", "mallory", "--evidence", &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  labels:
    app.kubernetes.io/managed-by: audit2role
    audit2role/subject: mallory
  name: audit2role:mallory
rules:
# evidence: 6000 requests (5000 distinct), first 2026-11-02T00:00:00Z, last 2026-11-02T01:23:19Z, 455 denied
# cluster-wide: seen in namespaces ns0, ns1, ns2
# any name: seen for cm-0000000, cm-0000001, cm-0000002, cm-0000003, cm-0000004 and 4995 more
- apiGroups:
  - \"\"
  resources:
  - configmaps
  verbs:
  - get
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  labels:
    app.kubernetes.io/managed-by: audit2role
    audit2role/subject: mallory
  name: audit2role:mallory
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: audit2role:mallory
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: mallory
";
    assert_eq!(stdout(&out), expected);
    assert!(
        stderr(&out).contains("mallory: 6000 requests, 5000 distinct"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("very large output"));

    // The counts are those of the whole aggregate.
    let aggregate = aggregate_of(std::slice::from_ref(&log));
    let by_request = aggregate.subjects["mallory"].evidence_by_request();
    let requests: u64 = by_request.iter().map(|(_, e)| e.count()).sum();
    let denied: u64 = by_request.iter().map(|(_, e)| e.denied).sum();
    assert_eq!((by_request.len(), requests, denied), (5_000, 6_000, 455));

    let json = run(&["--user", "mallory", "--evidence", "-o", "json", &log]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON output");
    let rule = &value["audit2role"]["rules"][0];
    assert_eq!(
        (&rule["requests"], &rule["distinct"], &rule["denied"]),
        (
            &serde_json::json!(6000),
            &serde_json::json!(5000),
            &serde_json::json!(455)
        )
    );
}

#[test]
fn every_observed_request_is_allowed_by_the_in_place_output() {
    let log = many_names_log("covered.log", 4_000, 2);
    let aggregate = aggregate_of(&[log]);
    let sub = &aggregate.subjects["mallory"];
    let existing = Authorizer::new(bootstrap_rbac());
    for policy in [Policy::default(), Policy::strict()] {
        let in_place = Observations::of_aggregate("mallory", sub);
        let generated = generate_from("mallory", &in_place, &existing, &policy, &naming());
        assert_eq!(
            uncovered("mallory", sub, existing.rbac(), &generated.rbac),
            Vec::<String>::new()
        );
        let rules = generated
            .rbac
            .roles
            .iter()
            .flat_map(|r| &r.rules)
            .chain(generated.rbac.cluster_roles.iter().flat_map(|r| &r.rules));
        let names: usize = rules.map(|r| r.resource_names.len()).sum();
        // Strict: every name listed once; default: any name.
        let expected = if policy.strict { 4_000 } else { 0 };
        assert_eq!(names, expected, "{policy:?}");
    }
}

#[test]
fn strict_output_of_many_names_is_warned_about_with_its_size() {
    let names = LARGE_OBJECT + 500;
    let log = many_names_log("strict.log", names, 1);
    let out = run(&["--user", "mallory", "--strict", &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: mallory: very large output: Role ns0/audit2role:mallory lists {names} resource names and 0 URLs"
        )),
        "{err}"
    );
    assert!(err.contains("drop --strict"), "{err}");
    assert!(err.contains("--namespace"), "{err}");
    assert_eq!(stdout(&out).matches("  - cm-").count(), names);

    // Names collapse without --strict: no warning. -q silences the warning.
    let out = run(&["--user", "mallory", &log]);
    assert!(
        !stderr(&out).contains("very large output"),
        "{}",
        stderr(&out)
    );
    let out = run(&["-q", "--user", "mallory", "--strict", &log]);
    assert_eq!(stderr(&out), "");
}

#[test]
fn many_urls_are_warned_about_and_listed_exactly() {
    let paths = LARGE_OBJECT + 1;
    let log = many_paths_log("paths.log", paths);
    let out = run(&["--user", "mallory", &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "ClusterRole audit2role:mallory lists 0 resource names and {paths} URLs"
        )),
        "{err}"
    );
    assert!(err.contains("URL prefix"), "{err}");
    assert!(!err.contains("drop --strict"), "{err}");
    assert!(
        err.contains("narrow the input with --since or --until"),
        "{err}"
    );
    assert_eq!(stdout(&out).matches("  - /metrics/probe-").count(), paths);

    // One URL fewer than the threshold... is not large.
    let log = many_paths_log("paths-small.log", LARGE_OBJECT);
    let out = run(&["--user", "mallory", &log]);
    assert!(
        !stderr(&out).contains("very large output"),
        "{}",
        stderr(&out)
    );
}
