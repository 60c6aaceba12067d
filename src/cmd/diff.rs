//! The diff command: for each subject, the permissions an RBAC dump grants it against the
//! requests the audit logs show it making: which grants were used (with evidence), which
//! were never used (with their risks), which observed requests the dump does not allow,
//! and a score. `--suggest` adds the least-privilege replacement.

use crate::cli::{DiffArgs, ReportFormat};
use crate::cmd::{no_match_message, read_logs, subject_name};
use audit2role::aggregate::{Evidence, SortedRequests, SubjectAggregate};
use audit2role::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK};
use audit2role::generate::names::{
    object_name, parse_pairs, Pairs, DEFAULT_LABELS, DEFAULT_NAME_TEMPLATE,
};
use audit2role::generate::policy::{generate_from, Naming, Observations, Policy, Users};
use audit2role::generate::review::describe_rule;
use audit2role::generate::risk::{assess, Risk};
use audit2role::rbac::authorize::{rule_allows, BoundRule};
use audit2role::rbac::read::read_rbac_file;
use audit2role::rbac::{Authorizer, RbacSet};
use audit2role::render;
use audit2role::request::{RequestRef, UserInfo};
use audit2role::time::format_rfc3339_micros;
use serde_json::json;
use std::fmt::Write as _;
use std::io::Write;

/// One granted rule and how it was used.
#[derive(Clone, Debug)]
pub struct GrantUse {
    pub bound: BoundRule,
    pub evidence: Evidence,
    pub distinct: usize,
    pub risks: Vec<Risk>,
}

/// The comparison for one subject. The observed requests are read in place from the
/// subject's aggregate (one index per request), never copied.
pub struct SubjectDiff<'a> {
    pub subject: String,
    pub grants: Vec<GrantUse>,
    /// The observed requests, in request order.
    pub observed: SortedRequests<'a>,
    /// Positions in `observed` of the requests the dump does not allow.
    pub not_allowed: Vec<usize>,
    aggregate: &'a SubjectAggregate,
    /// The identity of each of the subject's group sets.
    identities: Vec<UserInfo>,
}

impl<'a> SubjectDiff<'a> {
    /// The requests the dump does not allow, in request order, with their evidence.
    pub fn not_allowed(&self) -> impl Iterator<Item = (RequestRef<'a>, Evidence)> + '_ {
        self.not_allowed
            .iter()
            .filter_map(|&i| self.observed.get(i))
            .map(|(request, entries)| (request, entries.total()))
    }

    /// The observed requests as generation reads them.
    fn observations(&self) -> Observations<'a> {
        Observations {
            requests: &self.aggregate.requests,
            identities: self.identities.clone(),
        }
    }

    pub fn used(&self) -> usize {
        self.grants.iter().filter(|g| g.distinct > 0).count()
    }

    /// Used grants / granted, as a percentage (100 when nothing is granted).
    pub fn score(&self) -> f64 {
        if self.grants.is_empty() {
            100.0
        } else {
            100.0 * self.used() as f64 / self.grants.len() as f64
        }
    }
}

/// Compares what `authorizer` grants `subject` with what it was observed doing, as its
/// aggregate `aggregate` records it.
pub fn diff_subject<'a>(
    subject: &str,
    aggregate: &'a SubjectAggregate,
    authorizer: &Authorizer,
) -> SubjectDiff<'a> {
    let identities = aggregate.user_infos(subject);
    let observed = aggregate.requests.sorted();
    let mut diff = SubjectDiff {
        subject: subject.to_string(),
        grants: Vec::new(),
        observed,
        not_allowed: Vec::new(),
        aggregate,
        identities,
    };
    let mut bound: Vec<BoundRule> = Vec::new();
    for identity in &diff.observations().all_users() {
        for b in authorizer.bound_rules(identity) {
            if !bound.contains(&b) {
                bound.push(b);
            }
        }
    }
    diff.grants = bound
        .into_iter()
        .map(|b| {
            let mut evidence = Evidence::default();
            let mut distinct = 0;
            for (request, entries) in aggregate.requests.iter() {
                let in_scope = b.scope.is_empty() || request.namespace() == b.scope;
                if in_scope && rule_allows(&b.rule, request) {
                    evidence.merge(&entries.total());
                    distinct += 1;
                }
            }
            let risks = assess(&b.rule, &b.scope);
            GrantUse {
                bound: b,
                evidence,
                distinct,
                risks,
            }
        })
        .collect();
    diff.not_allowed = diff
        .observed
        .iter()
        .enumerate()
        .filter(|(_, (request, entries))| {
            let users = Users {
                entries: *entries,
                identities: &diff.identities,
            };
            users.iter().any(|u| !authorizer.allows(u, *request))
        })
        .map(|(i, _)| i)
        .collect();
    diff
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

fn time_text(t: Option<i64>) -> String {
    t.map(format_rfc3339_micros)
        .unwrap_or_else(|| "-".to_string())
}

/// The human table for one subject.
pub fn table(d: &SubjectDiff<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "subject {}: {} of {} granted rules used (score {:.0}%), {} of {} observed requests not allowed",
        d.subject,
        d.used(),
        d.grants.len(),
        d.score(),
        d.not_allowed.len(),
        d.observed.len()
    );
    for g in &d.grants {
        let scope = if g.bound.scope.is_empty() {
            "cluster".to_string()
        } else {
            format!("ns {}", g.bound.scope)
        };
        if g.distinct > 0 {
            let _ = writeln!(
                s,
                "  used      {} [{scope}]: {}: {} requests ({} distinct), last {}",
                binding_text(&g.bound),
                describe_rule(&g.bound.rule),
                g.evidence.count(),
                g.distinct,
                time_text(g.evidence.last)
            );
        }
    }
    for g in &d.grants {
        let scope = if g.bound.scope.is_empty() {
            "cluster".to_string()
        } else {
            format!("ns {}", g.bound.scope)
        };
        if g.distinct == 0 {
            let risk = g
                .risks
                .first()
                .map(|r| format!(" (risk {})", r))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  unused    {} [{scope}]: {}{risk}",
                binding_text(&g.bound),
                describe_rule(&g.bound.rule)
            );
        }
    }
    for (request, evidence) in d.not_allowed() {
        let _ = writeln!(
            s,
            "  missing   {request}: {} requests, last {}",
            evidence.count(),
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
        "requests": g.evidence.count(),
        "distinct": g.distinct,
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
struct SubjectJson<'r, 'a> {
    diff: &'r SubjectDiff<'a>,
    suggested: Option<&'r RbacSet>,
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
                    .filter(move |g| (g.distinct > 0) == used)
                    .map(grant_json)
            })
        };
        // In the order serde_json's own maps keep their keys: sorted.
        let mut map = serializer.serialize_map(None)?;
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
                &json!({"apiVersion": "v1", "kind": "List", "items": render::to_json_items(set)}),
            )?;
        }
        map.serialize_entry("unusedGrants", &grants(false))?;
        map.serialize_entry("used", &d.used())?;
        map.serialize_entry("usedGrants", &grants(true))?;
        map.end()
    }
}

/// The least-privilege replacement for a subject (bootstrap roles assumed).
fn suggestion(subject: &str, observed: &Observations<'_>) -> Result<RbacSet> {
    let naming = Naming {
        name: object_name(DEFAULT_NAME_TEMPLATE, subject),
        labels: parse_pairs(DEFAULT_LABELS, subject, Pairs::Labels, "labels")?,
        annotations: Default::default(),
    };
    let existing = Authorizer::new(audit2role::rbac::bootstrap::bootstrap_rbac());
    Ok(generate_from(subject, observed, &existing, &Policy::default(), &naming).rbac)
}

pub fn run(args: &DiffArgs) -> Result<i32> {
    let subjects: Vec<String> = if args.all_subjects {
        if !args.subject.user.is_empty() || !args.subject.serviceaccount.is_empty() {
            return Err(Error::Usage(
                "--all-subjects cannot be combined with --user or --serviceaccount".to_string(),
            ));
        }
        Vec::new()
    } else {
        vec![subject_name(&args.subject)?]
    };
    let mut dump = RbacSet::default();
    for f in &args.rbac {
        dump.extend(read_rbac_file(f)?);
    }
    audit2role::rbac::aggregation::resolve_aggregation(&mut dump);
    let authorizer = Authorizer::new(dump);
    let (aggregate, _) = read_logs(&args.input, subjects.clone(), &args.subject.window)?;
    let names: Vec<String> = if subjects.is_empty() {
        aggregate
            .subject_names()
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        subjects
    };
    let mut results = Vec::new();
    for name in &names {
        match aggregate.subjects.get(name).filter(|s| s.distinct() > 0) {
            Some(sub) => results.push(diff_subject(name, sub, &authorizer)),
            None => {
                eprintln!(
                    "{}",
                    no_match_message(name, args.subject.window.namespace.as_deref())
                );
                return Ok(EXIT_NOT_FOUND);
            }
        }
    }
    if results.is_empty() {
        eprintln!("No audit events matched any subject");
        return Ok(EXIT_NOT_FOUND);
    }
    // Written as it is made, through a buffer: the report is never whole in memory.
    let mut writer = std::io::BufWriter::new(std::io::stdout().lock());
    let output_error = |e: std::io::Error| Error::Output(e.to_string());
    match args.output {
        ReportFormat::Json => {
            let suggested = if args.suggest {
                let sets: Result<Vec<RbacSet>> = results
                    .iter()
                    .map(|d| suggestion(&d.subject, &d.observations()))
                    .collect();
                Some(sets?)
            } else {
                None
            };
            let subjects: Vec<SubjectJson<'_, '_>> = results
                .iter()
                .enumerate()
                .map(|(i, diff)| SubjectJson {
                    diff,
                    suggested: suggested.as_ref().and_then(|s| s.get(i)),
                })
                .collect();
            let mut report = std::collections::BTreeMap::new();
            report.insert("subjects", subjects);
            serde_json::to_writer_pretty(&mut writer, &report)
                .map_err(std::io::Error::from)
                .and_then(|_| writer.write_all(b"\n"))
                .map_err(output_error)?;
        }
        ReportFormat::Table => {
            for d in &results {
                writer
                    .write_all(table(d).as_bytes())
                    .map_err(output_error)?;
            }
            if args.suggest {
                for d in &results {
                    let set = suggestion(&d.subject, &d.observations())?;
                    let mut text = format!(
                        "---\n# suggested least-privilege RBAC for {}\n",
                        d.subject.replace(['\n', '\r'], " ")
                    );
                    text.push_str(&render::to_yaml(&set, &render::RuleComments::new()));
                    writer.write_all(text.as_bytes()).map_err(output_error)?;
                }
            }
        }
    }
    writer.flush().map_err(output_error)?;
    Ok(EXIT_OK)
}
