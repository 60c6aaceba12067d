//! `check` and `diff` read a subject's requests in place from the aggregate. This test
//! keeps the former owned path (every distinct request copied into an `OwnedObservation`,
//! sorted) as a helper that writes both reports the way the commands used to, and compares
//! the binary's output with it byte for byte, on a generated log of a few thousand names
//! made as several identities (group sets) of the same subjects, with an RBAC dump that
//! allows part of it for some identities only. The suggested RBAC is proven with the
//! authorizer (every observed request allowed).

mod common;

use audit2role::aggregate::{Aggregate, Evidence, SubjectAggregate};
use audit2role::generate::names::{
    object_name, parse_pairs, Pairs, DEFAULT_LABELS, DEFAULT_NAME_TEMPLATE,
};
use audit2role::generate::policy::{generate_from, Naming, Observations, Policy};
use audit2role::generate::review::describe_rule;
use audit2role::generate::risk::assess;
use audit2role::rbac::authorize::{rule_allows, BoundRule};
use audit2role::rbac::bootstrap::{bootstrap_rbac, is_baseline};
use audit2role::rbac::read::read_rbac_file;
use audit2role::rbac::Authorizer;
use audit2role::render;
use audit2role::request::{Request, UserInfo};
use audit2role::time::format_rfc3339_micros;
use common::{aggregate_of, run, stderr, stdout, uncovered};
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const NAMES: usize = 3000;

const RBAC: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-reader, namespace: ns0}
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: eve-cm, namespace: ns0}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: eve}
roleRef: {kind: Role, apiGroup: rbac.authorization.k8s.io, name: cm-reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-reader, namespace: ns1}
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: devs-cm, namespace: ns1}
subjects:
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: devs}
roleRef: {kind: Role, apiGroup: rbac.authorization.k8s.io, name: cm-reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pod-lister}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
- nonResourceURLs: ["/healthz"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-pods}
subjects:
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: ops}
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: trent}
roleRef: {kind: ClusterRole, apiGroup: rbac.authorization.k8s.io, name: pod-lister}
"#;

fn event(i: usize, user: &str, groups: &[&str], verb: &str, target: &str, code: u16) -> String {
    let ts = format!(
        "2026-11-02T{:02}:{:02}:{:02}.{:06}Z",
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60,
        i % 1000
    );
    let groups: Vec<String> = groups.iter().map(|g| format!("\"{g}\"")).collect();
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-{i}","stage":"ResponseComplete","verb":"{verb}","user":{{"username":"{user}","groups":[{}]}},{target},"responseStatus":{{"metadata":{{}},"code":{code}}},"requestReceivedTimestamp":"{ts}","stageTimestamp":"{ts}"}}"#,
        groups.join(",")
    )
}

fn configmap(ns: &str, name: &str) -> String {
    format!(
        r#""requestURI":"/api/v1/namespaces/{ns}/configmaps/{name}","objectRef":{{"resource":"configmaps","namespace":"{ns}","name":"{name}","apiVersion":"v1"}}"#
    )
}

/// A log where eve reads `NAMES` config maps in ns0..ns4 as three identities, lists pods
/// and probes URLs; trent does a little of the same.
fn write_log(dir: &Path) -> PathBuf {
    let identities: [&[&str]; 3] = [
        &["system:authenticated"],
        &["system:authenticated", "devs"],
        &["system:authenticated", "ops"],
    ];
    let mut lines = Vec::new();
    let mut i = 0;
    for n in 0..NAMES {
        let ns = format!("ns{}", n % 5);
        let name = format!("cm-{n:05}");
        // Every seventh name is read again as another identity, some denied.
        let mut as_ = vec![n % 3];
        if n % 7 == 0 {
            as_.push((n + 1) % 3);
        }
        for g in as_ {
            let code = if n % 11 == 0 { 403 } else { 200 };
            lines.push(event(
                i,
                "eve",
                identities[g],
                "get",
                &configmap(&ns, &name),
                code,
            ));
            i += 1;
        }
    }
    for n in 0..40 {
        let ns = format!("ns{}", n % 4);
        let target = format!(
            r#""requestURI":"/api/v1/namespaces/{ns}/pods","objectRef":{{"resource":"pods","namespace":"{ns}","apiVersion":"v1"}}"#
        );
        lines.push(event(i, "eve", identities[n % 3], "list", &target, 200));
        i += 1;
        let path = ["/healthz", "/metrics", "/version"][n % 3];
        let target = format!(r#""requestURI":"{path}""#);
        lines.push(event(
            i,
            "eve",
            identities[(n + 2) % 3],
            "get",
            &target,
            200,
        ));
        lines.push(event(i + 1, "trent", &[], "get", &target, 200));
        i += 2;
        lines.push(event(
            i,
            "trent",
            &["system:authenticated"],
            "get",
            &configmap("ns1", &format!("t-{n}")),
            200,
        ));
        i += 1;
    }
    let path = dir.join("audit.log");
    std::fs::write(&path, lines.join("\n") + "\n").expect("log written");
    path
}

// The former owned path, as check and diff wrote their reports from it.

/// One distinct request with every identity it was made as and its evidence: an owned copy.
struct OwnedObservation {
    request: Request,
    users: Vec<UserInfo>,
    evidence: Evidence,
}

/// The distinct requests of one subject, copied and sorted.
fn owned_observations(name: &str, aggregate: &SubjectAggregate) -> Vec<OwnedObservation> {
    let users = aggregate.user_infos(name);
    let mut out: Vec<OwnedObservation> = aggregate
        .requests
        .iter()
        .map(|(request, entries)| OwnedObservation {
            request: request.to_owned_request(),
            users: entries.map(|(g, _)| users[g as usize].clone()).collect(),
            evidence: entries.total(),
        })
        .collect();
    out.sort_by(|a, b| a.request.cmp(&b.request));
    out
}

fn time_text(t: Option<i64>) -> String {
    t.map(format_rfc3339_micros)
        .unwrap_or_else(|| "-".to_string())
}

fn old_check(observed: &[OwnedObservation], authorizer: &Authorizer) -> (String, usize) {
    let mut out = String::new();
    let mut denied = 0;
    for o in observed {
        if o.users
            .iter()
            .all(|u| authorizer.allows(u, o.request.as_ref()))
        {
            continue;
        }
        denied += 1;
        let _ = writeln!(
            out,
            "not allowed: {} (seen {}, last {})",
            o.request,
            audit2role::render::words::times(o.evidence.count()),
            time_text(o.evidence.last)
        );
    }
    (out, denied)
}

struct OldGrant {
    bound: BoundRule,
    evidence: Evidence,
    distinct: usize,
}

fn old_grants(observed: &[OwnedObservation], authorizer: &Authorizer) -> Vec<OldGrant> {
    let mut identities: Vec<_> = observed
        .iter()
        .flat_map(|o| o.users.iter().cloned())
        .collect();
    identities.sort();
    identities.dedup();
    let mut bound: Vec<BoundRule> = Vec::new();
    for identity in &identities {
        for b in authorizer.bound_rules(identity) {
            if !bound.contains(&b) {
                bound.push(b);
            }
        }
    }
    bound
        .into_iter()
        .map(|b| {
            let mut evidence = Evidence::default();
            let mut distinct = 0;
            for o in observed {
                let in_scope = b.scope.is_empty() || o.request.namespace() == b.scope;
                if in_scope && rule_allows(&b.rule, o.request.as_ref()) {
                    evidence.merge(&o.evidence);
                    distinct += 1;
                }
            }
            OldGrant {
                bound: b,
                evidence,
                distinct,
            }
        })
        .collect()
}

fn binding_text(b: &BoundRule) -> String {
    let g = &b.grant;
    let binding = if g.binding_namespace.is_empty() {
        format!("{}/{}", g.binding_kind, g.binding_name)
    } else {
        format!(
            "{}/{}/{}",
            g.binding_kind, g.binding_namespace, g.binding_name
        )
    };
    format!(
        "{binding} -> {}/{} rule {}",
        g.role_kind,
        g.role_name,
        b.rule_index + 1
    )
}

fn scope_text(b: &BoundRule) -> String {
    if b.scope.is_empty() {
        "cluster".to_string()
    } else {
        format!("ns {}", b.scope)
    }
}

fn old_not_allowed<'a>(
    observed: &'a [OwnedObservation],
    authorizer: &Authorizer,
) -> Vec<&'a OwnedObservation> {
    observed
        .iter()
        .filter(|o| {
            o.users
                .iter()
                .any(|u| !authorizer.allows(u, o.request.as_ref()))
        })
        .collect()
}

fn score(grants: &[OldGrant]) -> f64 {
    let used = grants.iter().filter(|g| g.distinct > 0).count();
    if grants.is_empty() {
        100.0
    } else {
        100.0 * used as f64 / grants.len() as f64
    }
}

/// The scored grants and, apart, the defaults every cluster gives.
fn scored_and_default(grants: Vec<OldGrant>) -> (Vec<OldGrant>, Vec<OldGrant>) {
    grants.into_iter().partition(|g| !is_baseline(&g.bound))
}

fn old_table(subject: &str, observed: &[OwnedObservation], authorizer: &Authorizer) -> String {
    let (grants, defaults) = scored_and_default(old_grants(observed, authorizer));
    assert!(defaults.is_empty(), "the fixture binds no default role");
    let missing = old_not_allowed(observed, authorizer);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "subject {subject}: {} of {} granted rules used (score {:.0}%), {} of {} observed requests not allowed",
        grants.iter().filter(|g| g.distinct > 0).count(),
        grants.len(),
        score(&grants),
        missing.len(),
        observed.len()
    );
    for g in grants.iter().filter(|g| g.distinct > 0) {
        let _ = writeln!(
            s,
            "  used      {} [{}]: {}: {} ({} distinct), last {}",
            binding_text(&g.bound),
            scope_text(&g.bound),
            describe_rule(&g.bound.rule),
            audit2role::render::words::plural(g.evidence.count(), "request"),
            g.distinct,
            time_text(g.evidence.last)
        );
    }
    for g in grants.iter().filter(|g| g.distinct == 0) {
        let risk = assess(&g.bound.rule, &g.bound.scope)
            .first()
            .map(|r| format!(" (risk {})", r))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  unused    {} [{}]: {}{risk}",
            binding_text(&g.bound),
            scope_text(&g.bound),
            describe_rule(&g.bound.rule)
        );
    }
    for o in missing {
        let _ = writeln!(
            s,
            "  missing   {}: {}, last {}",
            o.request,
            audit2role::render::words::plural(o.evidence.count(), "request"),
            time_text(o.evidence.last)
        );
    }
    s
}

/// What `diff --suggest` suggests (the library's generation, read in place).
fn suggestion(subject: &str, aggregate: &Aggregate) -> audit2role::rbac::RbacSet {
    let naming = Naming {
        name: object_name(DEFAULT_NAME_TEMPLATE, subject),
        labels: parse_pairs(DEFAULT_LABELS, subject, Pairs::Labels, "labels")
            .expect("default labels"),
        annotations: Default::default(),
    };
    let existing = Authorizer::new(bootstrap_rbac());
    let observed = Observations::of_aggregate(subject, &aggregate.subjects[subject]);
    generate_from(subject, &observed, &existing, &Policy::default(), &naming).rbac
}

fn old_json(
    subject: &str,
    observed: &[OwnedObservation],
    aggregate: &Aggregate,
    authorizer: &Authorizer,
) -> serde_json::Value {
    let (grants, defaults) = scored_and_default(old_grants(observed, authorizer));
    let grant = |g: &OldGrant| {
        json!({
            "bindingKind": g.bound.grant.binding_kind,
            "bindingNamespace": g.bound.grant.binding_namespace,
            "bindingName": g.bound.grant.binding_name,
            "roleKind": g.bound.grant.role_kind,
            "roleName": g.bound.grant.role_name,
            "ruleIndex": g.bound.rule_index,
            "scope": g.bound.scope,
            "rule": serde_json::to_value(&g.bound.rule).expect("rule serializes"),
            "requests": g.evidence.count(),
            "distinct": g.distinct,
            "lastSeen": g.evidence.last.map(format_rfc3339_micros),
            "risks": assess(&g.bound.rule, &g.bound.scope).iter().map(|r| json!({"level": r.level.as_str(), "reason": r.reason})).collect::<Vec<_>>(),
        })
    };
    let set = suggestion(subject, aggregate);
    json!({
        "subject": subject,
        "defaultGrants": defaults.iter().map(grant).collect::<Vec<_>>(),
        "granted": grants.len(),
        "used": grants.iter().filter(|g| g.distinct > 0).count(),
        "score": (score(&grants) * 10.0).round() / 10.0,
        "usedGrants": grants.iter().filter(|g| g.distinct > 0).map(grant).collect::<Vec<_>>(),
        "unusedGrants": grants.iter().filter(|g| g.distinct == 0).map(grant).collect::<Vec<_>>(),
        "notAllowed": old_not_allowed(observed, authorizer).iter().map(|o| json!({
            "request": o.request.to_string(),
            "requests": o.evidence.count(),
            "denied": o.evidence.denied,
            "lastSeen": o.evidence.last.map(format_rfc3339_micros),
        })).collect::<Vec<_>>(),
        "suggested": {"apiVersion": "v1", "kind": "List", "items": render::to_json_items(&set)},
    })
}

struct Fixture {
    log: String,
    rbac: String,
    authorizer: Authorizer,
    aggregate: Aggregate,
    eve: Vec<OwnedObservation>,
    trent: Vec<OwnedObservation>,
}

fn fixture() -> Fixture {
    let dir = common::scratch_dir("fixture");
    let log = write_log(&dir).display().to_string();
    let rbac = dir.join("rbac.yaml");
    std::fs::write(&rbac, RBAC).expect("rbac written");
    let rbac = rbac.display().to_string();
    let aggregate = aggregate_of(std::slice::from_ref(&log));
    let eve = owned_observations("eve", &aggregate.subjects["eve"]);
    let trent = owned_observations("trent", &aggregate.subjects["trent"]);
    let mut dump = read_rbac_file(&rbac).expect("rbac reads");
    audit2role::rbac::aggregation::resolve_aggregation(&mut dump);
    Fixture {
        log,
        rbac,
        authorizer: Authorizer::new(dump),
        aggregate,
        eve,
        trent,
    }
}

#[test]
fn check_writes_what_the_owned_path_wrote() {
    let f = fixture();
    assert_eq!(f.eve.len(), NAMES + 4 + 3);
    // check assumes the bootstrap roles (discovery URLs for authenticated users).
    let mut assumed = read_rbac_file(&f.rbac).expect("rbac reads");
    assumed.extend(audit2role::rbac::bootstrap::bootstrap_rbac());
    let assumed = Authorizer::new(assumed);
    let (want, denied) = old_check(&f.eve, &assumed);
    // Allowed for every identity: ns0 (eve by name), ns1 only when always made as devs,
    // pods only when always made as ops, /healthz as ops, /version as anyone.
    assert!(denied > NAMES / 2 && denied < NAMES, "{denied}");
    let o = run(&["check", "--rbac", &f.rbac, "--user", "eve", &f.log]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), want);
    assert_eq!(
        stderr(&o),
        format!(
            "eve: {} of {} distinct requests allowed\n",
            f.eve.len() - denied,
            f.eve.len()
        )
    );
}

#[test]
fn diff_writes_what_the_owned_path_wrote() {
    let f = fixture();
    let o = run(&[
        "diff",
        "-q",
        "--rbac",
        &f.rbac,
        "--user",
        "eve",
        "--suggest",
        &f.log,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let mut want = old_table("eve", &f.eve, &f.authorizer);
    let _ = writeln!(want, "---\n# suggested least-privilege RBAC for eve");
    let suggested = suggestion("eve", &f.aggregate);
    let eve = &f.aggregate.subjects["eve"];
    assert_eq!(
        uncovered("eve", eve, &bootstrap_rbac(), &suggested),
        Vec::<String>::new()
    );
    want.push_str(&render::to_yaml(&suggested, &render::RuleComments::new()));
    let got = stdout(&o);
    assert_eq!(got, want);
    assert!(got.contains("  unused    RoleBinding/ns1/devs-cm -> Role/cm-reader rule 2"));
    // cm-00006 in ns1 was read without devs, cm-00001 as devs.
    assert!(got.contains("  missing   get configmaps cm-00006 -n ns1: 1 request,"));
    assert!(!got.contains("cm-00001"));

    let o = run(&[
        "diff",
        "-q",
        "--rbac",
        &f.rbac,
        "--all-subjects",
        "--suggest",
        "-o",
        "json",
        &f.log,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let want = json!({"subjects": [
        old_json("eve", &f.eve, &f.aggregate, &f.authorizer),
        old_json("trent", &f.trent, &f.aggregate, &f.authorizer),
    ]});
    let want = format!(
        "{}\n",
        serde_json::to_string_pretty(&want).expect("JSON serializes")
    );
    assert_eq!(stdout(&o), want);
}
