//! Review aids for generated RBAC: per rule, the evidence that justified it (requests,
//! first/last seen, denials, what an expansion widened) and the risks it carries, as YAML
//! comments, a JSON report, and a list on stderr.

use crate::aggregate::{Evidence, Totals};
use crate::generate::policy::Observations;
use crate::generate::risk::{assess, highest, Level, Risk};
use crate::rbac::authorize::rule_allows;
use crate::rbac::{PolicyRule, RbacSet};
use crate::render::RuleComments;
use crate::request::{RequestRef, ResourceRef, TargetRef};
use crate::time::format_rfc3339_micros;
use serde_json::json;
use std::collections::BTreeSet;

/// How many namespaces or names a note lists before it says how many more there are.
const LISTED: usize = 5;

/// What one generated rule rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleReport {
    /// `Role` or `ClusterRole`.
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub index: usize,
    pub rule: PolicyRule,
    /// The observed requests the rule allows, added up.
    pub evidence: Totals,
    /// What expansion widened: namespaces, names, verbs.
    pub notes: Vec<String>,
    pub risks: Vec<Risk>,
}

impl RuleReport {
    pub fn highest_risk(&self) -> Option<Level> {
        highest(&self.risks)
    }

    /// `Role dev/name rule 3` or `ClusterRole name rule 1` (1-based).
    pub fn location(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {} rule {}", self.kind, self.name, self.index + 1)
        } else {
            format!(
                "{} {}/{} rule {}",
                self.kind,
                self.namespace,
                self.name,
                self.index + 1
            )
        }
    }
}

/// `items` sorted, without duplicates.
fn sorted_distinct(mut items: Vec<&str>) -> Vec<&str> {
    items.sort_unstable();
    items.dedup();
    items
}

/// The first few of `items` (sorted, distinct) and how many more there are.
fn listed(items: &[&str]) -> String {
    let shown: Vec<&str> = items.iter().take(LISTED).copied().collect();
    let more = items.len().saturating_sub(LISTED);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// A short human form of a rule for stderr lists.
pub fn describe_rule(rule: &PolicyRule) -> String {
    if !rule.non_resource_urls.is_empty() {
        return format!(
            "{} {}",
            rule.verbs.join(","),
            rule.non_resource_urls.join(",")
        );
    }
    let groups: Vec<String> = rule
        .api_groups
        .iter()
        .map(|g| {
            if g.is_empty() {
                "core".to_string()
            } else {
                g.clone()
            }
        })
        .collect();
    let mut s = format!(
        "{} {} ({})",
        rule.verbs.join(","),
        rule.resources.join(","),
        groups.join(",")
    );
    if !rule.resource_names.is_empty() {
        s.push_str(&format!(" names {}", rule.resource_names.join(",")));
    }
    s
}

/// Does the rule, in a role of `namespace` (`""` = cluster-wide), allow `request`?
fn in_scope(namespace: &str, request: &RequestRef<'_>) -> bool {
    namespace.is_empty() || request.namespace() == namespace
}

/// `rule_allows`, with the rule's names in a hash set: generated rules can list many names
/// (strict mode), and every observed request is tested against every rule.
struct RuleMatcher<'a> {
    rule: &'a PolicyRule,
    without_names: PolicyRule,
    names: std::collections::HashSet<&'a str>,
    /// The rule's URLs when none is a wildcard (generated rules never have one).
    exact_urls: Option<std::collections::HashSet<&'a str>>,
}

impl<'a> RuleMatcher<'a> {
    fn new(rule: &'a PolicyRule) -> RuleMatcher<'a> {
        RuleMatcher {
            rule,
            without_names: PolicyRule {
                resource_names: Vec::new(),
                ..rule.clone()
            },
            names: rule.resource_names.iter().map(String::as_str).collect(),
            exact_urls: (!rule.non_resource_urls.iter().any(|u| u.contains('*')))
                .then(|| rule.non_resource_urls.iter().map(String::as_str).collect()),
        }
    }

    fn allows(&self, request: &RequestRef<'_>) -> bool {
        if let (TargetRef::NonResource { path }, Some(urls)) = (request.target, &self.exact_urls) {
            return self
                .rule
                .verbs
                .iter()
                .any(|v| v == "*" || *v == request.verb)
                && urls.contains(path);
        }
        if self.rule.resource_names.len() < 8 {
            return rule_allows(self.rule, *request);
        }
        rule_allows(&self.without_names, *request)
            && matches!(request.target, TargetRef::Resource(ResourceRef { name, .. }) if self.names.contains(name))
    }
}

/// What the observed requests a rule allows add up to.
#[derive(Default)]
struct Matched<'a> {
    evidence: Totals,
    verbs: BTreeSet<&'a str>,
    namespaces: Vec<&'a str>,
    names: Vec<&'a str>,
}

/// The observed requests with their evidence, read out of the aggregate once for every
/// rule of a subject and ordered by namespace, so that a Role's rules look only at the
/// requests of its namespace. Nothing a report holds depends on the order of requests.
struct Seen<'a> {
    requests: Vec<(RequestRef<'a>, Evidence)>,
}

impl<'a> Seen<'a> {
    fn new(observed: &'a Observations<'_>) -> Seen<'a> {
        let mut requests: Vec<(RequestRef<'a>, Evidence)> =
            observed.iter().map(|o| (o.request, o.evidence())).collect();
        requests.sort_unstable_by(|a, b| a.0.namespace().cmp(b.0.namespace()));
        Seen { requests }
    }

    /// The requests in `namespace`'s scope (every request for `""`, the cluster scope).
    fn in_scope(&self, namespace: &str) -> &[(RequestRef<'a>, Evidence)] {
        if namespace.is_empty() {
            return &self.requests;
        }
        let start = self
            .requests
            .partition_point(|(r, _)| r.namespace() < namespace);
        let end = self
            .requests
            .partition_point(|(r, _)| r.namespace() <= namespace);
        &self.requests[start..end]
    }
}

impl<'a> Matched<'a> {
    /// Sums the requests of `seen` in `namespace`'s scope that `allows` accepts.
    fn of(
        seen: &Seen<'a>,
        namespace: &str,
        allows: impl Fn(&RequestRef<'_>) -> bool,
    ) -> Matched<'a> {
        let mut m = Matched::default();
        for (request, evidence) in seen.in_scope(namespace) {
            debug_assert!(in_scope(namespace, request));
            if !allows(request) {
                continue;
            }
            m.evidence.add(evidence);
            m.verbs.insert(request.verb);
            if let TargetRef::Resource(ResourceRef {
                namespace, name, ..
            }) = request.target
            {
                if !namespace.is_empty() {
                    m.namespaces.push(namespace);
                }
                if !name.is_empty() {
                    m.names.push(name);
                }
            }
        }
        m
    }
}

fn report_rule(
    kind: &'static str,
    namespace: &str,
    name: &str,
    index: usize,
    rule: &PolicyRule,
    seen: &Seen<'_>,
) -> RuleReport {
    let matcher = RuleMatcher::new(rule);
    let mut matched = Matched::of(seen, namespace, |r| matcher.allows(r));
    let mut notes = Vec::new();
    if matched.evidence.distinct == 0 {
        // A rule of expanded verbs only: credit the requests it was expanded from.
        let any_verb = PolicyRule {
            verbs: vec!["*".to_string()],
            ..rule.clone()
        };
        matched = Matched::of(seen, namespace, |r| rule_allows(&any_verb, *r));
    }
    let added: Vec<&str> = rule
        .verbs
        .iter()
        .map(String::as_str)
        .filter(|v| !matched.verbs.contains(v))
        .collect();
    if namespace.is_empty() && rule.non_resource_urls.is_empty() {
        let namespaces = sorted_distinct(std::mem::take(&mut matched.namespaces));
        if !namespaces.is_empty() {
            notes.push(format!(
                "cluster-wide: seen in namespaces {}",
                listed(&namespaces)
            ));
        }
    }
    if rule.resource_names.is_empty() {
        let names = sorted_distinct(std::mem::take(&mut matched.names));
        if !names.is_empty() {
            notes.push(format!("any name: seen for {}", listed(&names)));
        }
    }
    if !added.is_empty() {
        notes.push(format!(
            "verbs not observed, added by expansion: {}",
            added.join(", ")
        ));
    }
    RuleReport {
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
        index,
        rule: rule.clone(),
        evidence: matched.evidence,
        notes,
        risks: assess(rule, namespace),
    }
}

/// A report for every rule of the generated roles, in output order, from the observed
/// requests read in place.
pub fn review_from(rbac: &RbacSet, observed: &Observations<'_>) -> Vec<RuleReport> {
    let seen = Seen::new(observed);
    let mut out = Vec::new();
    for role in &rbac.roles {
        for (i, rule) in role.rules.iter().enumerate() {
            out.push(report_rule(
                "Role",
                &role.metadata.namespace,
                &role.metadata.name,
                i,
                rule,
                &seen,
            ));
        }
    }
    for role in &rbac.cluster_roles {
        for (i, rule) in role.rules.iter().enumerate() {
            out.push(report_rule(
                "ClusterRole",
                "",
                &role.metadata.name,
                i,
                rule,
                &seen,
            ));
        }
    }
    out
}

fn time_or_dash(t: Option<i64>) -> String {
    t.map(format_rfc3339_micros)
        .unwrap_or_else(|| "-".to_string())
}

/// The one-line evidence summary.
pub fn evidence_line(r: &RuleReport) -> String {
    let e = &r.evidence;
    let count = e.requests;
    let mut s = format!(
        "evidence: {count} request{} ({} distinct), first {}, last {}",
        if count == 1 { "" } else { "s" },
        e.distinct,
        time_or_dash(e.first),
        time_or_dash(e.last)
    );
    if e.denied > 0 {
        s.push_str(&format!(", {} denied", e.denied));
    }
    s
}

/// What the YAML comments above each rule say besides the risks, which are always there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommentOptions {
    /// The evidence line and the notes on what expansion widened.
    pub evidence: bool,
}

/// YAML comments above each rule: risks always; evidence and notes when asked for.
pub fn comments(reports: &[RuleReport], options: &CommentOptions) -> RuleComments {
    let mut out = RuleComments::new();
    for r in reports {
        let mut lines = Vec::new();
        if options.evidence {
            lines.push(evidence_line(r));
            lines.extend(r.notes.iter().cloned());
        }
        lines.extend(r.risks.iter().map(|risk| format!("risk: {risk}")));
        if !lines.is_empty() {
            out.insert(
                (
                    r.kind.to_string(),
                    r.namespace.clone(),
                    r.name.clone(),
                    r.index,
                ),
                lines,
            );
        }
    }
    out
}

/// The report as JSON, one entry per rule.
pub fn report_json(subject: &str, reports: &[RuleReport]) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            json!({
                "kind": r.kind,
                "namespace": r.namespace,
                "name": r.name,
                "index": r.index,
                "rule": serde_json::to_value(&r.rule).unwrap_or_default(),
                "requests": r.evidence.requests,
                "distinct": r.evidence.distinct,
                "denied": r.evidence.denied,
                "firstSeen": r.evidence.first.map(format_rfc3339_micros),
                "lastSeen": r.evidence.last.map(format_rfc3339_micros),
                "notes": r.notes,
                "risks": r.risks.iter().map(|k| json!({"level": k.level.as_str(), "reason": k.reason})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"subject": subject, "rules": rules})
}
