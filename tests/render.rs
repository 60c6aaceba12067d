//! Tests of the YAML and JSON renderers: exact output, and round trips through
//! serde_norway / serde_json (including a property test over awkward strings).

use audit2role::rbac::types::{
    AggregationRule, ClusterRole, LabelSelector, LabelSelectorRequirement, ObjectMeta, PolicyRule,
    RbacSet, Role, RoleBinding, RoleRef, Subject, RBAC_GROUP,
};
use audit2role::render::{to_json_items, to_json_list, to_yaml, RuleComments};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: name.into(),
        namespace: namespace.into(),
        ..Default::default()
    }
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: strs(groups),
        resources: strs(resources),
        verbs: strs(verbs),
        ..Default::default()
    }
}

fn user(name: &str) -> Subject {
    Subject {
        kind: "User".into(),
        api_group: RBAC_GROUP.into(),
        name: name.into(),
        namespace: String::new(),
    }
}

/// Parses a YAML stream document by document into JSON values.
fn parse_yaml(yaml: &str) -> Vec<Value> {
    // An empty stream has no documents, but serde_norway yields one null document for it.
    if yaml.is_empty() {
        return Vec::new();
    }
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{e}\n---\n{yaml}")))
        .collect()
}

/// Rebuilds a typed set from parsed objects, by `kind`.
fn typed(values: &[Value]) -> RbacSet {
    let mut set = RbacSet::default();
    for v in values {
        assert_eq!(v["apiVersion"], "rbac.authorization.k8s.io/v1", "{v}");
        let kind = v["kind"].as_str().expect("kind");
        let v = v.clone();
        match kind {
            "Role" => set.roles.push(serde_json::from_value(v).unwrap()),
            "ClusterRole" => set.cluster_roles.push(serde_json::from_value(v).unwrap()),
            "RoleBinding" => set.role_bindings.push(serde_json::from_value(v).unwrap()),
            "ClusterRoleBinding" => set
                .cluster_role_bindings
                .push(serde_json::from_value(v).unwrap()),
            other => panic!("unexpected kind {other}"),
        }
    }
    set
}

fn sample() -> (RbacSet, RuleComments) {
    let mut role = Role {
        metadata: meta("pod-reader", "default"),
        rules: vec![
            rule(&[""], &["pods"], &["get", "list", "watch"]),
            PolicyRule {
                resource_names: strs(&["web"]),
                ..rule(&["apps"], &["deployments"], &["get"])
            },
        ],
    };
    role.metadata
        .labels
        .insert("app.kubernetes.io/managed-by".into(), "audit2role".into());
    let mut cluster_role = ClusterRole {
        metadata: meta("audit2role:alice", ""),
        rules: vec![
            PolicyRule {
                non_resource_urls: strs(&["/healthz", "/api/*"]),
                verbs: strs(&["get"]),
                ..Default::default()
            },
            rule(&["*"], &["*"], &["*"]),
        ],
        aggregation_rule: None,
    };
    cluster_role
        .metadata
        .annotations
        .insert("audit2role.io/note".into(), "generated: yes".into());
    let set = RbacSet {
        roles: vec![role],
        cluster_roles: vec![cluster_role],
        role_bindings: vec![RoleBinding {
            metadata: meta("pod-reader", "default"),
            role_ref: RoleRef {
                api_group: RBAC_GROUP.into(),
                kind: "Role".into(),
                name: "pod-reader".into(),
            },
            subjects: vec![user("alice")],
        }],
        cluster_role_bindings: vec![RoleBinding {
            metadata: meta("audit2role:alice", ""),
            role_ref: RoleRef {
                api_group: RBAC_GROUP.into(),
                kind: "ClusterRole".into(),
                name: "audit2role:alice".into(),
            },
            subjects: vec![Subject {
                kind: "ServiceAccount".into(),
                api_group: String::new(),
                name: "ci-bot".into(),
                namespace: "ci".into(),
            }],
        }],
    };
    let mut comments = RuleComments::new();
    comments.insert(
        ("Role".into(), "default".into(), "pod-reader".into(), 0),
        strs(&["observed 3 times", "first seen\n2024-01-01"]),
    );
    comments.insert(
        (
            "ClusterRole".into(),
            String::new(),
            "audit2role:alice".into(),
            1,
        ),
        strs(&["wildcard!"]),
    );
    (set, comments)
}

const SAMPLE_YAML: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  labels:
    app.kubernetes.io/managed-by: audit2role
  name: pod-reader
  namespace: default
rules:
# observed 3 times
# first seen 2024-01-01
- apiGroups:
  - ""
  resources:
  - pods
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - apps
  resourceNames:
  - web
  resources:
  - deployments
  verbs:
  - get
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  annotations:
    audit2role.io/note: "generated: yes"
  name: audit2role:alice
rules:
- nonResourceURLs:
  - /healthz
  - "/api/*"
  verbs:
  - get
# wildcard!
- apiGroups:
  - "*"
  resources:
  - "*"
  verbs:
  - "*"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: pod-reader
  namespace: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: pod-reader
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: alice
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: audit2role:alice
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: audit2role:alice
subjects:
- kind: ServiceAccount
  name: ci-bot
  namespace: ci
"#;

#[test]
fn exact_yaml() {
    let (set, comments) = sample();
    assert_eq!(to_yaml(&set, &comments), SAMPLE_YAML);
}

#[test]
fn exact_yaml_of_the_kubectl_example() {
    let mut cr = ClusterRole {
        metadata: meta("audit2role:alice", ""),
        rules: vec![rule(&[""], &["pods"], &["get", "list"])],
        aggregation_rule: None,
    };
    cr.metadata
        .labels
        .insert("app.kubernetes.io/managed-by".into(), "audit2role".into());
    let crb = RoleBinding {
        metadata: meta("audit2role:alice", ""),
        role_ref: RoleRef {
            api_group: RBAC_GROUP.into(),
            kind: "ClusterRole".into(),
            name: "audit2role:alice".into(),
        },
        subjects: vec![user("alice")],
    };
    let set = RbacSet {
        cluster_roles: vec![cr],
        cluster_role_bindings: vec![crb],
        ..Default::default()
    };
    let want = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  labels:
    app.kubernetes.io/managed-by: audit2role
  name: audit2role:alice
rules:
- apiGroups:
  - \"\"
  resources:
  - pods
  verbs:
  - get
  - list
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: audit2role:alice
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: audit2role:alice
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: alice
";
    assert_eq!(to_yaml(&set, &RuleComments::new()), want);
}

#[test]
fn empty_set_is_empty_output() {
    let set = RbacSet::default();
    assert_eq!(to_yaml(&set, &RuleComments::new()), "");
    assert!(to_json_items(&set).is_empty());
    assert_eq!(
        to_json_list(&set),
        "{\n  \"apiVersion\": \"v1\",\n  \"items\": [],\n  \"kind\": \"List\"\n}\n"
    );
}

#[test]
fn empty_parts() {
    let set = RbacSet {
        roles: vec![Role::default()],
        cluster_roles: vec![ClusterRole {
            metadata: meta("agg", ""),
            rules: vec![PolicyRule::default()],
            aggregation_rule: Some(AggregationRule {
                cluster_role_selectors: vec![
                    LabelSelector {
                        match_labels: [(
                            "rbac.example.com/aggregate-to-view".into(),
                            "true".into(),
                        )]
                        .into(),
                        match_expressions: vec![LabelSelectorRequirement {
                            key: "tier".into(),
                            operator: "In".into(),
                            values: strs(&["a", "b"]),
                        }],
                    },
                    LabelSelector::default(),
                ],
            }),
        }],
        role_bindings: vec![RoleBinding::default()],
        cluster_role_bindings: vec![RoleBinding {
            metadata: meta("x", ""),
            subjects: vec![Subject::default()],
            ..Default::default()
        }],
    };
    let mut comments = RuleComments::new();
    comments.insert(
        ("ClusterRole".into(), "".into(), "agg".into(), 0),
        strs(&["empty"]),
    );
    let want = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: agg
aggregationRule:
  clusterRoleSelectors:
  - matchExpressions:
    - key: tier
      operator: In
      values:
      - a
      - b
    matchLabels:
      rbac.example.com/aggregate-to-view: \"true\"
  - {}
rules:
# empty
- {}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {}
roleRef:
  apiGroup: \"\"
  kind: \"\"
  name: \"\"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: x
roleRef:
  apiGroup: \"\"
  kind: \"\"
  name: \"\"
subjects:
- {}
";
    let yaml = to_yaml(&set, &comments);
    assert_eq!(yaml, want);
    let parsed = parse_yaml(&yaml);
    assert_eq!(parsed, to_json_items(&set));
    assert_eq!(typed(&parsed), set);
}

#[test]
fn long_label_keys_use_explicit_keys() {
    let long = "k".repeat(1500);
    let mut role = Role {
        metadata: meta("r", "ns"),
        rules: vec![],
    };
    role.metadata.labels.insert(long.clone(), "v".into());
    role.metadata
        .annotations
        .insert(format!("{long}:"), "x\ny".into());
    let set = RbacSet {
        roles: vec![role],
        ..Default::default()
    };
    let yaml = to_yaml(&set, &RuleComments::new());
    assert!(yaml.contains(&format!("    ? {long}\n    : v\n")), "{yaml}");
    assert!(
        yaml.contains(&format!("    ? \"{long}:\"\n    : \"x\\ny\"\n")),
        "{yaml}"
    );
    assert_eq!(typed(&parse_yaml(&yaml)), set);
}

#[test]
fn yaml_round_trip() {
    let (set, comments) = sample();
    for c in [&comments, &RuleComments::new()] {
        let parsed = parse_yaml(&to_yaml(&set, c));
        assert_eq!(parsed, to_json_items(&set));
        assert_eq!(typed(&parsed), set);
    }
}

#[test]
fn json_round_trip() {
    let (set, _) = sample();
    let json = to_json_list(&set);
    assert!(json.ends_with("}\n"));
    assert!(json.starts_with("{\n  \"apiVersion\": \"v1\",\n"));
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["apiVersion"], "v1");
    assert_eq!(v["kind"], "List");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items, &to_json_items(&set));
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]
    );
    assert_eq!(typed(items), set);
}

// ---------------------------------------------------------------------------------------
// Property test

const AWKWARD: &[&str] = &[
    "",
    " ",
    "*",
    "~",
    "null",
    "Null",
    "NULL",
    "true",
    "True",
    "FALSE",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "N",
    "123",
    "-1",
    "+1",
    "017",
    "0o17",
    "0x1F",
    "0b101",
    "1:20",
    "1_000",
    "1.5",
    ".5",
    "1e3",
    "1E-3",
    "1.",
    ".inf",
    "-.Inf",
    "+.INF",
    ".nan",
    ".NaN",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "<<",
    "=",
    ":",
    "-",
    "-x",
    "- x",
    "? x",
    "@x",
    "%x",
    "!x",
    "&x",
    "*x",
    "|",
    ">",
    "'q'",
    "\"",
    "\\",
    "#comment",
    "a #b",
    "a: b",
    "a:",
    "---",
    "...",
    "[a]",
    "{a: b}",
    "a,b",
    "ünïcode",
    "🦀",
    "\u{85}",
    "\u{2028}",
    "\u{feff}",
    "\u{ffff}",
    "\0",
    "\t",
    "\n",
    "\r\n",
    "audit2role:alice",
    "system:serviceaccount:ns:sa",
    "/api/*",
    "inf",
    "nan",
    "infinity",
    "0",
    "00",
    "0.0",
    "1-",
    "10.0.0.1",
    "!!str",
];

const PIECES: &[&str] = &[
    "0", "1", "9", "x", "o", "b", "e", "E", "_", ".", ":", "-", "+", " ", "#", "t", "Z", "inf",
    "nan", "true", "null", "y", "~", "*", "&", "!", "?", "%", "@", "'", "\"", "\\", "\n", "\t",
    "a", "é", "\u{2029}", "<", "=", "/", ",", "[", "{",
];

const CHARS: &[char] = &[
    ' ', '\t', '\n', '\r', '\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}',
    '\u{2029}', '\u{feff}', '\u{fffe}', '\u{ffff}', '-', '?', ':', ',', '[', ']', '{', '}', '#',
    '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '\\', '~', '.', '/', '_', '+', '=', '<',
    '0', '1', 'e', 'x', 'y', 'n', 'é', '🦀',
];

fn any_string() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        3 => prop::sample::select(CHARS),
        2 => prop::char::range('a', 'z'),
        1 => any::<char>(),
    ];
    prop_oneof![
        prop::sample::select(AWKWARD).prop_map(String::from),
        prop::collection::vec(prop::sample::select(PIECES), 1..6).prop_map(|v| v.concat()),
        prop::collection::vec(ch, 0..10).prop_map(|v| v.into_iter().collect()),
    ]
}

fn string_list() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(any_string(), 0..3)
}

fn string_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(any_string(), any_string(), 0..3)
}

fn object_meta() -> impl Strategy<Value = ObjectMeta> {
    (any_string(), any_string(), string_map(), string_map()).prop_map(
        |(name, namespace, labels, annotations)| ObjectMeta {
            name,
            namespace,
            labels,
            annotations,
        },
    )
}

fn policy_rule() -> impl Strategy<Value = PolicyRule> {
    (
        string_list(),
        string_list(),
        string_list(),
        string_list(),
        string_list(),
    )
        .prop_map(
            |(verbs, api_groups, resources, resource_names, non_resource_urls)| PolicyRule {
                verbs,
                api_groups,
                resources,
                resource_names,
                non_resource_urls,
            },
        )
}

fn rules() -> impl Strategy<Value = Vec<PolicyRule>> {
    prop::collection::vec(policy_rule(), 0..3)
}

fn aggregation_rule() -> impl Strategy<Value = Option<AggregationRule>> {
    let req = (any_string(), any_string(), string_list()).prop_map(|(key, operator, values)| {
        LabelSelectorRequirement {
            key,
            operator,
            values,
        }
    });
    let sel = (string_map(), prop::collection::vec(req, 0..2)).prop_map(
        |(match_labels, match_expressions)| LabelSelector {
            match_labels,
            match_expressions,
        },
    );
    prop::option::weighted(
        0.3,
        prop::collection::vec(sel, 0..3).prop_map(|cluster_role_selectors| AggregationRule {
            cluster_role_selectors,
        }),
    )
}

fn binding() -> impl Strategy<Value = RoleBinding> {
    let subject = (any_string(), any_string(), any_string(), any_string()).prop_map(
        |(kind, api_group, name, namespace)| Subject {
            kind,
            api_group,
            name,
            namespace,
        },
    );
    (
        object_meta(),
        (any_string(), any_string(), any_string()),
        prop::collection::vec(subject, 0..3),
    )
        .prop_map(
            |(metadata, (api_group, kind, name), subjects)| RoleBinding {
                metadata,
                role_ref: RoleRef {
                    api_group,
                    kind,
                    name,
                },
                subjects,
            },
        )
}

fn rbac_set() -> impl Strategy<Value = RbacSet> {
    let role = (object_meta(), rules()).prop_map(|(metadata, rules)| Role { metadata, rules });
    let cluster_role = (object_meta(), rules(), aggregation_rule()).prop_map(
        |(metadata, rules, aggregation_rule)| ClusterRole {
            metadata,
            rules,
            aggregation_rule,
        },
    );
    (
        prop::collection::vec(role, 0..3),
        prop::collection::vec(cluster_role, 0..3),
        prop::collection::vec(binding(), 0..3),
        prop::collection::vec(binding(), 0..3),
    )
        .prop_map(
            |(roles, cluster_roles, role_bindings, cluster_role_bindings)| RbacSet {
                roles,
                cluster_roles,
                role_bindings,
                cluster_role_bindings,
            },
        )
}

/// Comments (random text, including line breaks) on every rule of every role.
fn comments_for(set: &RbacSet, texts: &[String]) -> RuleComments {
    let mut out = RuleComments::new();
    let roles = set
        .roles
        .iter()
        .map(|r| ("Role", &r.metadata, r.rules.len()));
    let cluster_roles = set
        .cluster_roles
        .iter()
        .map(|r| ("ClusterRole", &r.metadata, r.rules.len()));
    for (kind, m, n) in roles.chain(cluster_roles) {
        for i in 0..n {
            out.insert(
                (kind.to_string(), m.namespace.clone(), m.name.clone(), i),
                texts.to_vec(),
            );
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn yaml_round_trips(set in rbac_set(), texts in prop::collection::vec(any_string(), 0..3)) {
        let want = to_json_items(&set);
        let plain = to_yaml(&set, &RuleComments::new());
        let parsed = parse_yaml(&plain);
        prop_assert_eq!(&parsed, &want);
        prop_assert_eq!(typed(&parsed), set.clone());

        let commented = to_yaml(&set, &comments_for(&set, &texts));
        prop_assert_eq!(parse_yaml(&commented), want);
    }

    #[test]
    fn json_round_trips(set in rbac_set()) {
        let v: Value = serde_json::from_str(&to_json_list(&set)).unwrap();
        let items = v["items"].as_array().unwrap();
        prop_assert_eq!(items, &to_json_items(&set));
        prop_assert_eq!(typed(items), set);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Every scalar reads back as the same string, as a value, a sequence item and a key.
    #[test]
    fn scalars_round_trip(s in any_string()) {
        let q = audit2role::render::yaml_scalar(&s);
        let plain = q == s;
        if plain {
            prop_assert!(s.is_ascii() && !s.is_empty());
        }
        let doc = format!("v: {q}\nl:\n- {q}\n{q}: k\n");
        let parsed = parse_yaml(&doc);
        let mut want = serde_json::Map::new();
        want.insert("v".into(), Value::String(s.clone()));
        want.insert("l".into(), Value::Array(vec![Value::String(s.clone())]));
        want.insert(s.clone(), Value::String("k".into()));
        // A key equal to "v" or "l" replaces those entries; duplicate keys are an error.
        prop_assume!(s != "v" && s != "l");
        prop_assert_eq!(parsed, vec![Value::Object(want)]);
    }
}
