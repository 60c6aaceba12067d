//! Generated RBAC as people, kubectl and programs read it: the YAML of one subject (with
//! risk and evidence comments), the JSON `v1 List` of several, `--out-dir`'s summary.json,
//! and the lines of the run's summary on stderr.

use crate::decode::FileReport;
use crate::generate::policy::Policy;
use crate::generate::review::{comments, describe_rule, report_json, CommentOptions};
use crate::generate::{size_warning, SubjectOutput};
use crate::render::words::plural;
use crate::request::split_service_account;
use crate::time::format_rfc3339_micros;
use serde_json::json;
use std::collections::BTreeMap;

/// One subject's objects as YAML, with risk notes (and evidence, when asked for).
pub fn yaml_of(out: &SubjectOutput<'_>, evidence: bool) -> String {
    crate::render::to_yaml(
        &out.generated.rbac,
        &comments(&out.reports, &CommentOptions { evidence }),
    )
}

/// Several subjects' objects as one JSON `v1 List`, with the evidence report beside the
/// items when asked for.
pub fn json_of(outputs: &[&SubjectOutput<'_>], evidence: bool) -> String {
    let items: Vec<serde_json::Value> = outputs
        .iter()
        .flat_map(|o| crate::render::to_json_items(&o.generated.rbac))
        .collect();
    let mut list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    if evidence {
        let reports: Vec<serde_json::Value> = outputs
            .iter()
            .map(|o| report_json(&o.subject, &o.reports))
            .collect();
        list["audit2role"] = if reports.len() == 1 {
            reports[0].clone()
        } else {
            json!({ "subjects": reports })
        };
    }
    format!(
        "{}\n",
        serde_json::to_string_pretty(&list).unwrap_or_default()
    )
}

fn time_value(t: Option<i64>) -> serde_json::Value {
    t.map(|t| json!(format_rfc3339_micros(t)))
        .unwrap_or(serde_json::Value::Null)
}

/// DIR/summary.json: the inputs and, per subject, what was seen and written.
pub fn summary_json(
    reports: &[FileReport],
    outputs: &[SubjectOutput<'_>],
    files: &BTreeMap<String, String>,
) -> serde_json::Value {
    let mut skipped_total: BTreeMap<&str, u64> = BTreeMap::new();
    for r in reports {
        for (reason, n) in &r.skipped {
            *skipped_total.entry(reason).or_default() += n;
        }
    }
    let subjects: Vec<serde_json::Value> = outputs
        .iter()
        .map(|o| {
            let total = o.observed.totals();
            let requests = total.requests;
            let mut entry = json!({
                "subject": o.subject,
                "kind": if split_service_account(&o.subject).is_some() { "ServiceAccount" } else { "User" },
                "requests": requests,
                "distinctRequests": o.observed.len(),
                "firstSeen": time_value(total.first),
                "lastSeen": time_value(total.last),
                "denied": total.denied,
                "objects": o.generated.rbac.len(),
                "rules": o.generated.rbac.rule_count(),
                "file": files.get(&o.subject),
            });
            if !files.contains_key(&o.subject) && !crate::render::stale::gets_file(o) {
                entry["noFile"] = json!(crate::render::stale::NO_FILE_REASON);
            }
            entry
        })
        .collect();
    json!({
        "inputs": {
            "files": reports.iter().map(|r| json!({
                "name": r.name,
                "bytes": r.bytes,
                "lines": r.lines,
                "events": r.events,
                "skipped": r.skipped,
                "readError": r.read_error,
            })).collect::<Vec<_>>(),
            "bytes": reports.iter().map(|r| r.bytes).sum::<u64>(),
            "events": reports.iter().map(|r| r.events).sum::<u64>(),
            "requests": outputs.iter().map(|o| o.observed.totals().requests).sum::<u64>(),
            "skipped": skipped_total,
        },
        "subjects": subjects,
    })
}

/// The lines the run prints on stderr for one subject: what was read and written (to `file`,
/// when it went to one), each risk, size and refusal warnings, and notes.
pub fn subject_summary(o: &SubjectOutput<'_>, file: Option<&str>, policy: &Policy) -> Vec<String> {
    let mut lines = Vec::new();
    let requests = o.observed.totals().requests;
    let file = file.map(|f| format!(" to {f}")).unwrap_or_default();
    lines.push(format!(
        "{}: {}, {} distinct; {} already allowed; wrote {} with {}{file}",
        o.subject,
        plural(requests, "request"),
        o.observed.len(),
        o.generated.already_allowed,
        plural(o.generated.rbac.len() as u64, "object"),
        plural(o.reports.len() as u64, "rule")
    ));
    for r in o.reports.iter().filter(|r| !r.risks.is_empty()) {
        for risk in &r.risks {
            lines.push(format!(
                "risk: {}: {}: {}: {}",
                risk.level,
                r.location(),
                describe_rule(&r.rule),
                risk.reason
            ));
        }
    }
    if let Some(w) = size_warning(&o.subject, &o.generated.rbac, policy) {
        lines.push(w);
    }
    for r in &o.generated.refused {
        lines.push(format!("warning: {}: not granted: {r}: a URL ending in * would be a wildcard rule; grant it by hand if needed", o.subject));
    }
    if o.masters {
        lines.push(format!("note: {} is in system:masters, which bypasses RBAC; the generated RBAC is what it would need without that group", o.subject));
    }
    if o.generated.rbac.is_empty() {
        lines.push(format!(
            "note: everything {} did is already allowed; nothing to generate",
            o.subject
        ));
    }
    lines
}
