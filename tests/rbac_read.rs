//! Tests for reading RBAC objects from YAML and JSON (`audit2role::rbac::read`).

use audit2role::rbac::read::{read_rbac_file, read_rbac_str};
use audit2role::rbac::{
    AggregationRule, ClusterRole, LabelSelector, ObjectMeta, PolicyRule, RbacSet, Role,
    RoleBinding, RoleRef, Subject,
};
use std::collections::BTreeMap;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: name.into(),
        namespace: namespace.into(),
        ..ObjectMeta::default()
    }
}

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: strings(verbs),
        api_groups: strings(groups),
        resources: strings(resources),
        resource_names: strings(names),
        non_resource_urls: vec![],
    }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: "rbac.authorization.k8s.io".into(),
        kind: kind.into(),
        name: name.into(),
    }
}

fn subject(kind: &str, name: &str, namespace: &str) -> Subject {
    Subject {
        kind: kind.into(),
        api_group: if kind == "ServiceAccount" {
            String::new()
        } else {
            "rbac.authorization.k8s.io".into()
        },
        name: name.into(),
        namespace: namespace.into(),
    }
}

fn read_err(text: &str, origin: &str) -> String {
    match read_rbac_str(text, origin) {
        Ok(set) => panic!("expected an error for {origin}, got {set:?}"),
        Err(e) => e.to_string(),
    }
}

/// What `kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml` prints
/// (abridged), with server-side fields that must be ignored.
const KUBECTL_LIST: &str = r#"apiVersion: v1
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata:
    creationTimestamp: "2024-05-01T10:00:00Z"
    name: pod-reader
    namespace: dev
    resourceVersion: "1234"
    uid: 6d1c0a1e-8f0b-4a5e-9a4e-1f2d3c4b5a69
    managedFields:
    - apiVersion: rbac.authorization.k8s.io/v1
      fieldsType: FieldsV1
      fieldsV1:
        f:rules: {}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2024-05-01T10:00:00Z"
  rules:
  - apiGroups:
    - ""
    resources:
    - pods
    - pods/log
    verbs:
    - get
    - list
    - watch
  - apiGroups: [""]
    resources: [configmaps]
    resourceNames: [app-config]
    verbs: [get]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata:
    name: empty
    namespace: prod
    uid: 0f1e2d3c-0000-4000-8000-000000000001
  rules: null
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding"}
    creationTimestamp: "2024-05-01T10:00:01Z"
    name: read-pods
    namespace: dev
    resourceVersion: "1235"
    uid: 7e2d1b2f-9a1c-4b6f-8b5f-2e3d4c5b6a7a
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: Role
    name: pod-reader
  subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: jane
  - kind: ServiceAccount
    name: builder
    namespace: ci
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata:
    name: view-prod
    namespace: prod
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: ClusterRole
    name: view
  subjects: null
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    annotations:
      rbac.authorization.kubernetes.io/autoupdate: "true"
    creationTimestamp: "2024-04-01T00:00:00Z"
    labels:
      kubernetes.io/bootstrapping: rbac-defaults
    name: view
    resourceVersion: "42"
    uid: 11111111-2222-4333-8444-555555555555
  aggregationRule:
    clusterRoleSelectors:
    - matchLabels:
        rbac.authorization.k8s.io/aggregate-to-view: "true"
  rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: metrics-reader
  rules:
  - nonResourceURLs: [/metrics, "/healthz*"]
    verbs: [get]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata:
    name: cluster-admin
    uid: 22222222-2222-4333-8444-555555555555
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: ClusterRole
    name: cluster-admin
  subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:masters
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata:
    name: metrics
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: ClusterRole
    name: metrics-reader
  subjects:
  - kind: ServiceAccount
    name: prometheus
    namespace: monitoring
kind: List
metadata:
  resourceVersion: ""
"#;

fn kubectl_list_expected() -> RbacSet {
    RbacSet {
        roles: vec![
            Role {
                metadata: meta("pod-reader", "dev"),
                rules: vec![
                    rule(
                        &["get", "list", "watch"],
                        &[""],
                        &["pods", "pods/log"],
                        &[],
                    ),
                    rule(&["get"], &[""], &["configmaps"], &["app-config"]),
                ],
            },
            Role {
                metadata: meta("empty", "prod"),
                rules: vec![],
            },
        ],
        cluster_roles: vec![
            ClusterRole {
                metadata: ObjectMeta {
                    labels: BTreeMap::from([(
                        "kubernetes.io/bootstrapping".to_string(),
                        "rbac-defaults".to_string(),
                    )]),
                    annotations: BTreeMap::from([(
                        "rbac.authorization.kubernetes.io/autoupdate".to_string(),
                        "true".to_string(),
                    )]),
                    ..meta("view", "")
                },
                rules: vec![rule(&["get", "list", "watch"], &[""], &["pods"], &[])],
                aggregation_rule: Some(AggregationRule {
                    cluster_role_selectors: vec![LabelSelector {
                        match_labels: BTreeMap::from([(
                            "rbac.authorization.k8s.io/aggregate-to-view".to_string(),
                            "true".to_string(),
                        )]),
                        match_expressions: vec![],
                    }],
                }),
            },
            ClusterRole {
                metadata: meta("metrics-reader", ""),
                rules: vec![PolicyRule {
                    verbs: strings(&["get"]),
                    non_resource_urls: strings(&["/metrics", "/healthz*"]),
                    ..PolicyRule::default()
                }],
                aggregation_rule: None,
            },
        ],
        role_bindings: vec![
            RoleBinding {
                metadata: ObjectMeta {
                    annotations: BTreeMap::from([(
                        "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                        "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\"}\n"
                            .to_string(),
                    )]),
                    ..meta("read-pods", "dev")
                },
                role_ref: role_ref("Role", "pod-reader"),
                subjects: vec![
                    subject("User", "jane", ""),
                    subject("ServiceAccount", "builder", "ci"),
                ],
            },
            RoleBinding {
                metadata: meta("view-prod", "prod"),
                role_ref: role_ref("ClusterRole", "view"),
                subjects: vec![],
            },
        ],
        cluster_role_bindings: vec![
            RoleBinding {
                metadata: meta("cluster-admin", ""),
                role_ref: role_ref("ClusterRole", "cluster-admin"),
                subjects: vec![subject("Group", "system:masters", "")],
            },
            RoleBinding {
                metadata: meta("metrics", ""),
                role_ref: role_ref("ClusterRole", "metrics-reader"),
                subjects: vec![subject("ServiceAccount", "prometheus", "monitoring")],
            },
        ],
    }
}

#[test]
fn kubectl_yaml_list() {
    let set = read_rbac_str(KUBECTL_LIST, "dump.yaml").unwrap();
    assert_eq!(set, kubectl_list_expected());
}

#[test]
fn kubectl_list_as_json_is_the_same() {
    // The same list, as `-o json` prints it.
    let value: serde_json::Value = serde_norway::from_str(KUBECTL_LIST).unwrap();
    let json = serde_json::to_string_pretty(&value).unwrap();
    assert!(json.starts_with('{'));
    let set = read_rbac_str(&json, "dump.json").unwrap();
    assert_eq!(set, kubectl_list_expected());
}

#[test]
fn json_array_of_objects() {
    let value: serde_json::Value = serde_norway::from_str(KUBECTL_LIST).unwrap();
    let json = serde_json::to_string(&value["items"]).unwrap();
    assert!(json.starts_with('['));
    let set = read_rbac_str(&json, "items.json").unwrap();
    assert_eq!(set, kubectl_list_expected());
}

#[test]
fn single_json_object_and_concatenated_json() {
    let one = r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
        "metadata":{"name":"c"},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["nodes"]}]}"#;
    let set = read_rbac_str(one, "one.json").unwrap();
    assert_eq!(
        set.cluster_roles,
        vec![ClusterRole {
            metadata: meta("c", ""),
            rules: vec![rule(&["get"], &[""], &["nodes"], &[])],
            aggregation_rule: None,
        }]
    );
    let two = format!("{one}\n{one}\n");
    assert_eq!(
        read_rbac_str(&two, "two.json").unwrap().cluster_roles.len(),
        2
    );
}

#[test]
fn multi_document_yaml_stream() {
    let text = r#"---
# a comment-only document
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: r1
rules:
- verbs: ["create"]
  apiGroups: [""]
  resources: ["pods/exec"]
---
---
apiVersion: rbac.authorization.k8s.io/v1beta1
kind: RoleBinding
metadata:
  name: b1
  namespace: ns1
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: r1
subjects:
- kind: Group
  apiGroup: rbac.authorization.k8s.io
  name: devs
---
apiVersion: rbac.authorization.k8s.io/v1alpha1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: User, name: alice}]
...
"#;
    let set = read_rbac_str(text, "stream.yaml").unwrap();
    assert_eq!(
        set.roles,
        vec![Role {
            // No namespace in metadata: accepted, namespace "".
            metadata: meta("r1", ""),
            rules: vec![rule(&["create"], &[""], &["pods/exec"], &[])],
        }]
    );
    assert_eq!(
        set.role_bindings,
        vec![RoleBinding {
            metadata: meta("b1", "ns1"),
            role_ref: role_ref("Role", "r1"),
            subjects: vec![subject("Group", "devs", "")],
        }]
    );
    assert_eq!(
        set.cluster_role_bindings,
        vec![RoleBinding {
            metadata: meta("crb", ""),
            role_ref: role_ref("ClusterRole", "view"),
            subjects: vec![Subject {
                kind: "User".into(),
                name: "alice".into(),
                ..Subject::default()
            }],
        }]
    );
    assert!(set.cluster_roles.is_empty());
}

#[test]
fn empty_inputs_give_an_empty_set() {
    for text in [
        "",
        "\n",
        "---\n",
        "# nothing\n",
        "---\n---\n",
        "null\n",
        "[]",
        "{\"kind\":\"List\",\"items\":[]}",
    ] {
        assert!(read_rbac_str(text, "e").unwrap().is_empty(), "{text:?}");
    }
}

#[test]
fn other_kinds_are_skipped() {
    let text = r#"apiVersion: v1
kind: Namespace
metadata:
  name: dev
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: dev}
data:
  rules: "not RBAC"
---
apiVersion: iam.example.com/v1
kind: Role
metadata: {name: not-rbac}
rules: "a different API group's Role"
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: sa, namespace: dev}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata: {name: r, namespace: dev}
  rules: []
"#;
    let set = read_rbac_str(text, "mixed.yaml").unwrap();
    assert_eq!(
        set,
        RbacSet {
            roles: vec![Role {
                metadata: meta("r", "dev"),
                rules: vec![],
            }],
            ..RbacSet::default()
        }
    );
}

#[test]
fn typed_lists_hand_their_kind_to_items() {
    // API responses (`GET .../roles`) carry kind and apiVersion on the list only.
    let text = r#"{"kind":"RoleList","apiVersion":"rbac.authorization.k8s.io/v1",
      "metadata":{"resourceVersion":"9"},
      "items":[{"metadata":{"name":"a","namespace":"x"},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}]},
               {"metadata":{"name":"b","namespace":"y"}}]}"#;
    let set = read_rbac_str(text, "roles.json").unwrap();
    assert_eq!(
        set.roles,
        vec![
            Role {
                metadata: meta("a", "x"),
                rules: vec![rule(&["get"], &[""], &["pods"], &[])],
            },
            Role {
                metadata: meta("b", "y"),
                rules: vec![],
            },
        ]
    );
    assert_eq!(set.len(), 2);

    let crbs = "kind: ClusterRoleBindingList\napiVersion: rbac.authorization.k8s.io/v1\nitems:\n\
                - metadata: {name: x}\n  roleRef: {kind: ClusterRole, name: y}\n";
    let set = read_rbac_str(crbs, "crbs.yaml").unwrap();
    assert_eq!(set.cluster_role_bindings.len(), 1);
    assert_eq!(set.cluster_role_bindings[0].role_ref.name, "y");

    for (list, kind) in [("ClusterRoleList", "cr"), ("RoleBindingList", "rb")] {
        let text = format!("kind: {list}\nitems:\n- metadata: {{name: {kind}}}\n");
        let set = read_rbac_str(&text, "l.yaml").unwrap();
        assert_eq!(set.len(), 1, "{list}");
    }
}

#[test]
fn wrong_field_type_names_origin_document_and_field() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n\
                apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n\
                metadata: {name: bad, namespace: ns}\nrules: get pods\n";
    let err = read_err(text, "roles.yaml");
    assert!(err.starts_with("roles.yaml: document 2: "), "{err}");
    assert!(err.contains("Role \"bad\""), "{err}");
    assert!(err.contains("rules: invalid type: string"), "{err}");
}

#[test]
fn nested_wrong_field_type_is_located() {
    let text = r#"kind: List
apiVersion: v1
items:
- kind: ClusterRole
  apiVersion: rbac.authorization.k8s.io/v1
  metadata: {name: ok}
- kind: ClusterRole
  apiVersion: rbac.authorization.k8s.io/v1
  metadata: {name: broken}
  rules:
  - verbs: [get]
    apiGroups: [""]
    resources: [pods]
  - verbs: [get]
    apiGroups: 7
    resources: [pods]
"#;
    let err = read_err(text, "dump.yaml");
    assert!(
        err.starts_with("dump.yaml: document 1, items[1]: "),
        "{err}"
    );
    assert!(
        err.contains("ClusterRole \"broken\": rules[1].apiGroups: invalid type: integer"),
        "{err}"
    );

    let err = read_err(
        "kind: RoleBinding\nmetadata: {name: b, labels: [x]}\n",
        "b.yaml",
    );
    assert!(
        err.contains("b.yaml: document 1: RoleBinding \"b\": metadata.labels: "),
        "{err}"
    );

    let err = read_err(
        "kind: RoleBinding\nmetadata: {name: b}\nsubjects: [{kind: User, name: [a]}]\n",
        "s.yaml",
    );
    assert!(
        err.contains("subjects[0].name: invalid type: sequence"),
        "{err}"
    );
}

#[test]
fn invalid_yaml_names_origin_and_line() {
    let text = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n---\nkind: Role\nmetadata:\n  name: x\n   bad: [\n";
    let err = read_err(text, "broken.yaml");
    assert!(
        err.starts_with("broken.yaml:7: document 2: invalid YAML"),
        "{err}"
    );

    let err = read_err("kind: Role\nrules: [a, b\n", "unclosed.yaml");
    assert!(err.starts_with("unclosed.yaml:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
}

#[test]
fn invalid_json_names_origin_and_line() {
    let text = "{\"kind\": \"Role\",\n \"metadata\": {\"name\": \"a\"},\n \"rules\": [}\n";
    let err = read_err(text, "bad.json");
    assert!(err.starts_with("bad.json:3: invalid JSON"), "{err}");

    // Flow-style YAML starts like JSON; its content errors are reported as such.
    let set = read_rbac_str("{kind: Role, metadata: {name: a}}", "flow.yaml").unwrap();
    assert_eq!(set.roles[0].metadata.name, "a");
    let err = read_err("{kind: Role, metadata: {name: a}, rules: 3}", "flow.yaml");
    assert!(
        err.starts_with("flow.yaml: document 1: Role \"a\": rules: "),
        "{err}"
    );
}

#[test]
fn top_level_must_be_an_object() {
    let err = read_err("just a string\n", "s.yaml");
    assert_eq!(
        err,
        "s.yaml: document 1: expected a mapping (a Kubernetes object), found a string"
    );
    let err = read_err("kind: Role\nmetadata: {name: a}\n---\n42\n", "n.yaml");
    assert_eq!(
        err,
        "n.yaml: document 2: expected a mapping (a Kubernetes object), found a number"
    );
    let err = read_err("[1]", "a.json");
    assert_eq!(
        err,
        "a.json: document 1, [0]: expected a mapping (a Kubernetes object), found a number"
    );
    let err = read_err("kind: List\nitems: [true]\n", "l.yaml");
    assert_eq!(
        err,
        "l.yaml: document 1, items[0]: expected a mapping (a Kubernetes object), found a boolean"
    );
    let err = read_err("kind: List\nitems: {a: 1}\n", "l.yaml");
    assert_eq!(
        err,
        "l.yaml: document 1: items: expected a list, found a mapping"
    );
}

#[test]
fn kind_and_api_version_errors() {
    let err = read_err("metadata: {name: a}\n", "k.yaml");
    assert_eq!(err, "k.yaml: document 1: object has no `kind`");
    let err = read_err("kind: [Role]\n", "k.yaml");
    assert_eq!(
        err,
        "k.yaml: document 1: kind: expected a string, found a list"
    );
    let err = read_err(
        "apiVersion: rbac.authorization.k8s.io/v2\nkind: Role\nmetadata: {name: a}\n",
        "v.yaml",
    );
    assert!(
        err.starts_with("v.yaml: document 1: Role: unsupported apiVersion"),
        "{err}"
    );
}

#[test]
fn files_are_read_and_named_in_errors() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let good = dir.join("good.yaml");
    std::fs::write(&good, KUBECTL_LIST).unwrap();
    let good = good.to_str().unwrap().to_string();
    assert_eq!(read_rbac_file(&good).unwrap(), kubectl_list_expected());

    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "kind: Role\nrules: 3\n").unwrap();
    let bad = bad.to_str().unwrap().to_string();
    let err = read_rbac_file(&bad).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{bad}: document 1: Role: rules: ")),
        "{err}"
    );

    let binary = dir.join("binary.yaml");
    std::fs::write(&binary, b"kind: Role\n\xff\n").unwrap();
    let binary = binary.to_str().unwrap().to_string();
    let err = read_rbac_file(&binary).unwrap_err().to_string();
    assert_eq!(err, format!("{binary}:2: input is not valid UTF-8"));

    let missing = dir.join("missing.yaml");
    let missing = missing.to_str().unwrap().to_string();
    let err = read_rbac_file(&missing).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{missing}: cannot read")), "{err}");

    assert!(read_rbac_file("-").is_err());
}

#[test]
fn hostile_yaml_is_an_error_not_a_panic() {
    for text in [
        "a: &a [*a]\n",
        "a: *unknown\n",
        &"[".repeat(10_000),
        &"{\"a\":".repeat(10_000),
        "kind: Role\nrules: [{verbs: !!binary aGVsbG8=}]\n",
        "? [complex, key]\n: value\n",
        "kind: Role\nmetadata: {name: 1e999}\n",
        "\t- tab\n",
    ] {
        let _ = read_rbac_str(text, "h.yaml");
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn on_arbitrary_text(text in "\\PC{0,200}") {
            let _ = read_rbac_str(&text, "p");
        }

        #[test]
        fn on_mutated_dumps(cut in 0usize..4000, insert in "[\\[\\]{}:,\\-\"' \n\t#&*!|>a-z0-9]{0,6}") {
            let mut text = KUBECTL_LIST.to_string();
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, &insert);
            let _ = read_rbac_str(&text, "p");
            if let Ok(value) = serde_norway::from_str::<serde_json::Value>(&text) {
                let _ = read_rbac_str(&value.to_string(), "p");
            }
        }
    }
}

#[test]
fn repeated_keys_are_refused_with_their_line() {
    let yaml = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: x\n  namespace: dev\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: r\nsubjects:\n- kind: User\n  name: alice\nsubjects:\n- kind: User\n  name: bob\n";
    let err = read_rbac_str(yaml, "dump.yaml").unwrap_err().to_string();
    assert!(
        err.starts_with("dump.yaml:13: ") && err.contains("duplicate key \"subjects\""),
        "{err}"
    );
    let json = r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r","namespace":"a","namespace":"b"},"rules":[]}"#;
    let err = read_rbac_str(json, "dump.json").unwrap_err().to_string();
    assert!(
        err.starts_with("dump.json:1: ") && err.contains("duplicate key \"namespace\""),
        "{err}"
    );
}

#[test]
fn nesting_beyond_any_rbac_object_is_refused_before_parsing() {
    let deep = format!("rules: {}", "[".repeat(100_000));
    let err = read_rbac_str(&deep, "deep.yaml").unwrap_err().to_string();
    assert_eq!(
        err,
        "deep.yaml:1: nesting deeper than 64 levels: not an RBAC dump"
    );
    // A real dump nests far less and still reads.
    let ok = r#"{"kind":"List","apiVersion":"v1","items":[{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"x"},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}]}]}"#;
    assert_eq!(read_rbac_str(ok, "ok.json").unwrap().cluster_roles.len(), 1);
}
