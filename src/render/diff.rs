//! diff reports as people and programs read them: a table per subject, and a JSON document
//! written as it is serialized (the not-allowed requests, which may be millions, one at a
//! time).

use crate::aggregate::Evidence;
use crate::audit::diff::{GrantUse, SubjectDiff};
use crate::generate::review::describe_rule;
use crate::rbac::authorize::BoundRule;
use crate::rbac::RbacSet;
use crate::render::terminal::printable;
use crate::render::words::plural;
use crate::request::RequestRef;
use crate::time::format_rfc3339_micros;
use serde_json::json;
use std::fmt::Write as _;

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

/// Where a granted rule applies, as the table shows it.
fn scope_text(b: &BoundRule) -> String {
    if b.scope.is_empty() {
        "cluster".to_string()
    } else {
        format!("ns {}", printable(&b.scope))
    }
}

fn time_text(t: Option<i64>) -> String {
    t.map(format_rfc3339_micros)
        .unwrap_or_else(|| "-".to_string())
}

/// The human table for one subject.
pub fn table(d: &SubjectDiff<'_>) -> String {
    let mut s = String::new();
    let defaults = match d.baseline.len() {
        0 => String::new(),
        1 => ", 1 default rule not scored".to_string(),
        n => format!(", {n} default rules not scored"),
    };
    let _ = writeln!(
        s,
        "subject {}: {} of {} granted rules used (score {:.0}%), {} of {} observed requests not allowed{defaults}",
        printable(&d.subject),
        d.used(),
        d.grants.len(),
        d.score(),
        d.not_allowed.len(),
        d.observed.len()
    );
    for g in &d.grants {
        let scope = scope_text(&g.bound);
        if g.evidence.distinct > 0 {
            let _ = writeln!(
                s,
                "  used      {} [{scope}]: {}: {} ({} distinct), last {}",
                printable(&binding_text(&g.bound)),
                printable(&describe_rule(&g.bound.rule)),
                plural(g.evidence.requests, "request"),
                g.evidence.distinct,
                time_text(g.evidence.last)
            );
        }
    }
    for g in &d.grants {
        let scope = scope_text(&g.bound);
        if g.evidence.distinct == 0 {
            let risk = g
                .risks
                .first()
                .map(|r| format!(" (risk {})", r))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  unused    {} [{scope}]: {}{risk}",
                printable(&binding_text(&g.bound)),
                printable(&describe_rule(&g.bound.rule))
            );
        }
    }
    for g in &d.baseline {
        let usage = if g.evidence.distinct > 0 {
            format!(
                "{} ({} distinct), last {}",
                plural(g.evidence.requests, "request"),
                g.evidence.distinct,
                time_text(g.evidence.last)
            )
        } else {
            "not used".to_string()
        };
        let _ = writeln!(
            s,
            "  default   {} [{}]: {}: {usage}",
            printable(&binding_text(&g.bound)),
            scope_text(&g.bound),
            printable(&describe_rule(&g.bound.rule))
        );
    }
    for (request, evidence) in d.not_allowed() {
        let _ = writeln!(
            s,
            "  missing   {}: {}, last {}",
            printable(&request.to_string()),
            plural(evidence.count(), "request"),
            time_text(evidence.last)
        );
    }
    s
}

/// The JSON form of one granted rule.
fn grant_json(g: &GrantUse) -> serde_json::Value {
    json!({
        "bindingKind": g.bound.grant.binding_kind,
        "bindingNamespace": g.bound.grant.binding_namespace,
        "bindingName": g.bound.grant.binding_name,
        "roleKind": g.bound.grant.role_kind,
        "roleName": g.bound.grant.role_name,
        "ruleIndex": g.bound.rule_index,
        "scope": g.bound.scope,
        "rule": serde_json::to_value(&g.bound.rule).unwrap_or_default(),
        "requests": g.evidence.requests,
        "distinct": g.evidence.distinct,
        "lastSeen": g.evidence.last.map(format_rfc3339_micros),
        "risks": g.risks.iter().map(|r| json!({"level": r.level.as_str(), "reason": r.reason})).collect::<Vec<_>>(),
    })
}

/// The JSON form of one observed request the dump does not allow.
fn not_allowed_json(request: &RequestRef<'_>, evidence: &Evidence) -> serde_json::Value {
    json!({
        "request": request.to_string(),
        "requests": evidence.count(),
        "denied": evidence.denied,
        "lastSeen": evidence.last.map(format_rfc3339_micros),
    })
}

/// One subject's JSON report, written as it is serialized: keys in the sorted order of
/// serde_json's own maps, and the not-allowed requests, which may be millions, turned into
/// JSON one at a time instead of all at once.
pub struct SubjectJson<'r, 'a> {
    pub diff: &'r SubjectDiff<'a>,
    pub suggested: Option<&'r RbacSet>,
}

impl serde::Serialize for SubjectJson<'_, '_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        /// A sequence serialized from an iterator made anew on demand.
        struct Lazy<F>(F);
        impl<F, I> serde::Serialize for Lazy<F>
        where
            F: Fn() -> I,
            I: Iterator<Item = serde_json::Value>,
        {
            fn serialize<S: serde::Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                serializer.collect_seq((self.0)())
            }
        }
        let d = self.diff;
        let grants = |used: bool| {
            Lazy(move || {
                d.grants
                    .iter()
                    .filter(move |g| (g.evidence.distinct > 0) == used)
                    .map(grant_json)
            })
        };
        // In the order serde_json's own maps keep their keys: sorted.
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("defaultGrants", &Lazy(|| d.baseline.iter().map(grant_json)))?;
        map.serialize_entry("granted", &d.grants.len())?;
        map.serialize_entry(
            "notAllowed",
            &Lazy(|| {
                d.not_allowed()
                    .map(|(request, evidence)| not_allowed_json(&request, &evidence))
            }),
        )?;
        map.serialize_entry("score", &json!((d.score() * 10.0).round() / 10.0))?;
        map.serialize_entry("subject", &d.subject)?;
        if let Some(set) = self.suggested {
            map.serialize_entry(
                "suggested",
                &json!({"apiVersion": "v1", "kind": "List", "items": crate::render::to_json_items(set)}),
            )?;
        }
        map.serialize_entry("unusedGrants", &grants(false))?;
        map.serialize_entry("used", &d.used())?;
        map.serialize_entry("usedGrants", &grants(true))?;
        map.end()
    }
}
