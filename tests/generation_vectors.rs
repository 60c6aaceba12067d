//! The generation vectors (tests/vectors/generation.json, from audit2rbac's test cases):
//! our output must grant exactly what audit2rbac's expected output grants, with the same
//! objects and bindings, in no more rules. Also the event → attributes conversions.

use audit2role::aggregate::SubjectAggregate;
use audit2role::decode::record::parse_events as parse_value;
use audit2role::generate::policy::{generate_from, Naming, Observations, Policy};
use audit2role::rbac::compact::{atoms_of, drop_redundant, Atom};
use audit2role::rbac::{Authorizer, ClusterRole, RbacSet, Role, RoleBinding};
use audit2role::request::normalize::normalize;
use audit2role::request::{Request, RequestRef, ResourceRef, ResourceTarget, TargetRef, UserInfo};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/generation.json");
    let text = std::fs::read_to_string(path).expect("tests/vectors/generation.json is readable");
    serde_json::from_str(&text).expect("generation.json is JSON")
}

fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

fn rbac_set(v: &Value) -> RbacSet {
    let list = |key: &str| v.get(key).cloned().unwrap_or(Value::Array(vec![]));
    RbacSet {
        roles: serde_json::from_value::<Vec<Role>>(list("roles")).unwrap(),
        cluster_roles: serde_json::from_value::<Vec<ClusterRole>>(list("clusterRoles")).unwrap(),
        role_bindings: serde_json::from_value::<Vec<RoleBinding>>(list("roleBindings")).unwrap(),
        cluster_role_bindings: serde_json::from_value::<Vec<RoleBinding>>(list(
            "clusterRoleBindings",
        ))
        .unwrap(),
    }
}

fn request_of(v: &Value) -> (Request, UserInfo) {
    let user = v.get("user").cloned().unwrap_or(Value::Null);
    let groups: Vec<String> = user
        .get("groups")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|g| g.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let info = UserInfo {
        name: s(&user, "name"),
        groups,
    };
    let request = if v["resourceRequest"].as_bool() == Some(true) {
        Request::resource(
            &s(v, "verb"),
            ResourceTarget {
                api_group: s(v, "apiGroup"),
                resource: s(v, "resource"),
                subresource: s(v, "subresource"),
                namespace: s(v, "namespace"),
                name: s(v, "name"),
            },
        )
    } else {
        Request::non_resource(&s(v, "verb"), &s(v, "path"))
    };
    (request, info)
}

/// What each role grants: scope ("" = ClusterRole) → atoms, redundancy removed.
fn grants(set: &RbacSet) -> BTreeMap<String, BTreeSet<Atom>> {
    let mut out: BTreeMap<String, BTreeSet<Atom>> = BTreeMap::new();
    for r in &set.roles {
        let e = out.entry(r.metadata.namespace.clone()).or_default();
        r.rules.iter().for_each(|rule| e.extend(atoms_of(rule)));
    }
    for r in &set.cluster_roles {
        let e = out.entry(String::new()).or_default();
        r.rules.iter().for_each(|rule| e.extend(atoms_of(rule)));
    }
    out.into_iter()
        .map(|(k, mut v)| {
            drop_redundant(&mut v);
            (k, v)
        })
        .collect()
}

fn policy_of(options: &Value) -> Policy {
    let mut p = Policy {
        expand_multi_name: options["expandMultipleNamesToUnnamed"]
            .as_bool()
            .unwrap_or(true),
        expand_multi_namespace: options["expandMultipleNamespacesToClusterScoped"]
            .as_bool()
            .unwrap_or(true),
        ..Policy::default()
    };
    if let Some(map) = options.get("verbExpansions").and_then(Value::as_object) {
        p.verb_expansions = map
            .iter()
            .map(|(k, v)| {
                let verbs = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string());
                (k.clone(), verbs.collect())
            })
            .collect();
    }
    p
}

#[test]
fn generation_cases_grant_the_same_in_no_more_rules() {
    let v = vectors();
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 14, "expected the 14 generation cases");
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for case in cases {
        let name = s(case, "name");
        let existing = rbac_set(&v["existing"][s(case, "existing")]);
        let authorizer = Authorizer::new(existing);
        let mut aggregate = SubjectAggregate::default();
        let mut subject = String::new();
        for r in case["requests"].as_array().unwrap() {
            let (request, user) = request_of(r);
            subject = user.name.clone();
            let groups: Vec<&str> = user.groups.iter().map(String::as_str).collect();
            aggregate.add_evidence(request.as_ref(), &groups, &Default::default());
        }
        // The identities are the vectors' users (whose groups imply no other).
        let observed = Observations::of_aggregate(&subject, &aggregate);
        let naming = Naming {
            name: s(&case["options"], "name"),
            ..Naming::default()
        };
        let got = generate_from(
            &subject,
            &observed,
            &authorizer,
            &policy_of(&case["options"]),
            &naming,
        )
        .rbac;
        let want = rbac_set(&case["expected"]);

        if grants(&got) != grants(&want) {
            failures.push(format!(
                "{name}: grants differ\n got {:?}\nwant {:?}",
                grants(&got),
                grants(&want)
            ));
        }
        let names = |set: &RbacSet| {
            let roles: Vec<_> = set
                .roles
                .iter()
                .map(|r| (r.metadata.namespace.clone(), r.metadata.name.clone()))
                .collect();
            let croles: Vec<_> = set
                .cluster_roles
                .iter()
                .map(|r| r.metadata.name.clone())
                .collect();
            (roles, croles)
        };
        if names(&got) != names(&want) {
            failures.push(format!(
                "{name}: role objects differ: {:?} vs {:?}",
                names(&got),
                names(&want)
            ));
        }
        if got.role_bindings != want.role_bindings
            || got.cluster_role_bindings != want.cluster_role_bindings
        {
            failures.push(format!(
                "{name}: bindings differ:\n got {:?} {:?}\nwant {:?} {:?}",
                got.role_bindings,
                got.cluster_role_bindings,
                want.role_bindings,
                want.cluster_role_bindings
            ));
        }
        if got.rule_count() > want.rule_count() {
            failures.push(format!(
                "{name}: {} rules, audit2rbac {}",
                got.rule_count(),
                want.rule_count()
            ));
        }
        table.push(format!(
            "| {name} | {} | {} |",
            want.rule_count(),
            got.rule_count()
        ));
    }
    println!(
        "| case | audit2rbac rules | audit2role rules |\n|---|---|---|\n{}",
        table.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn attributes_match(event: &Value, expected: &Value) -> Result<(), String> {
    let mut event = event.clone();
    if event.get("user").is_none() {
        event["user"] = serde_json::json!({"username": "someone"});
    }
    let text = event.to_string();
    let docs = parse_value(&text).map_err(|e| e.to_string())?;
    let n = normalize(&docs[0], None).map_err(|u| u.detail)?;
    let want_resource = expected["resourceRequest"].as_bool() == Some(true);
    match (n.request(), want_resource) {
        (
            RequestRef {
                verb,
                target:
                    TargetRef::Resource(ResourceRef {
                        api_group,
                        resource,
                        subresource,
                        namespace,
                        name,
                    }),
            },
            true,
        ) => {
            let got = [verb, api_group, resource, subresource, namespace, name];
            let want = [
                "verb",
                "apiGroup",
                "resource",
                "subresource",
                "namespace",
                "name",
            ]
            .map(|k| s(expected, k));
            if got.iter().zip(&want).any(|(g, w)| g != w) {
                return Err(format!("got {got:?}, want {want:?}"));
            }
        }
        (
            RequestRef {
                verb,
                target: TargetRef::NonResource { path },
            },
            false,
        ) => {
            if verb != s(expected, "verb") || path != s(expected, "path") {
                return Err(format!("got {verb} {path}"));
            }
        }
        (other, _) => return Err(format!("wrong kind of request: {other:?}")),
    }
    let want_user = expected
        .get("user")
        .map(|u| s(u, "name"))
        .unwrap_or_default();
    if !want_user.is_empty() && n.subject != want_user {
        return Err(format!("subject {} want {want_user}", n.subject));
    }
    if let Some(groups) = expected
        .get("user")
        .and_then(|u| u.get("groups"))
        .and_then(Value::as_array)
    {
        let want: Vec<&str> = groups.iter().filter_map(Value::as_str).collect();
        let mut want_sorted = want.clone();
        want_sorted.sort_unstable();
        if n.groups != want_sorted {
            return Err(format!("groups {:?} want {want_sorted:?}", n.groups));
        }
    }
    Ok(())
}

#[test]
fn event_to_attribute_conversions() {
    let v = vectors();
    let mut count = 0;
    let mut failures = Vec::new();
    for key in ["event_to_attributes", "event_to_attributes_audit2role"] {
        for case in v[key].as_array().expect(key) {
            count += 1;
            if let Err(e) = attributes_match(&case["event"], &case["expected"]) {
                failures.push(format!("{}: {e}", s(case, "name")));
            }
        }
    }
    assert!(count >= 7);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cli_naming_examples_keep_audit2rbac_names() {
    let v = vectors();
    for case in v["cli_naming_examples"].as_array().unwrap() {
        let user = s(case, "user");
        // audit2rbac's name where sanitising keeps the subject as it is; where it loses
        // information (case, `@`, `_`), the same name and a hash of the subject, so that
        // subjects that sanitize alike do not share objects.
        let sanitized = audit2role::generate::names::name_part(&user);
        let expected = if sanitized == user {
            s(case, "name")
        } else {
            format!(
                "{}-{}",
                s(case, "name"),
                audit2role::generate::names::short_hash(&user)
            )
        };
        assert_eq!(
            audit2role::generate::names::object_name("audit2rbac:${user}", &user),
            expected,
            "{user}"
        );
        assert_eq!(
            audit2role::generate::names::label_value(&user),
            s(&case["labels"], "audit2rbac.liggitt.net/user")
        );
        if let Some(subject) = case.get("binding_subject") {
            let got = audit2role::generate::policy::binding_subject(&user);
            assert_eq!(
                (got.kind.as_str(), got.name.as_str(), got.namespace.as_str()),
                (
                    s(subject, "kind").as_str(),
                    s(subject, "name").as_str(),
                    s(subject, "namespace").as_str()
                )
            );
        }
    }
}
