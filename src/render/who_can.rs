//! who-can answers as people and programs read them: the tables, the JSON document, and
//! their labels and values.

use crate::aggregate::Totals;
use crate::audit::who_can::{GroupRow, Query, Row, Scope, Who};
use crate::rbac::authorize::Grant;
use crate::request::Target;
use crate::time::format_rfc3339_micros;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A subject as JSON: kind, name and (for a service account) namespace.
pub fn who_json(who: &Who) -> Value {
    let mut v = json!({"kind": who.kind, "name": who.name});
    if !who.namespace.is_empty() {
        v["namespace"] = json!(who.namespace);
    }
    v
}

pub fn binding_label(grant: &Grant) -> String {
    if grant.binding_kind == "RoleBinding" {
        format!(
            "RoleBinding/{}/{}",
            grant.binding_namespace, grant.binding_name
        )
    } else {
        format!("ClusterRoleBinding/{}", grant.binding_name)
    }
}

pub fn role_label(grant: &Grant) -> String {
    format!("{}/{}", grant.role_kind, grant.role_name)
}

pub fn grant_json(grant: &Grant) -> (Value, Value) {
    let mut binding = json!({"kind": grant.binding_kind, "name": grant.binding_name});
    if grant.binding_kind == "RoleBinding" {
        binding["namespace"] = json!(grant.binding_namespace);
    }
    (
        binding,
        json!({"kind": grant.role_kind, "name": grant.role_name}),
    )
}

/// When the requests were last seen: `never`, a time, or `seen (no time)`.
pub fn last_seen_cell(e: &Totals) -> String {
    match (e.requests, e.last) {
        (0, _) => "never".to_string(),
        (_, Some(t)) => format_rfc3339_micros(t),
        (_, None) => "seen (no time)".to_string(),
    }
}

/// How many requests and when the last, as JSON.
pub fn evidence_json(e: &Totals) -> Value {
    json!({
        "requests": e.requests,
        "lastSeen": e.last.filter(|_| e.requests > 0).map(format_rfc3339_micros),
    })
}

pub fn request_json(query: &Query) -> Value {
    match &query.request.target {
        Target::NonResource { path } => json!({"verb": query.request.verb, "nonResourceURL": path}),
        Target::Resource(t) => json!({
            "verb": query.request.verb,
            "apiGroup": t.api_group,
            "resource": t.resource,
            "subresource": t.subresource,
            "name": t.name,
            "namespace": match &query.scope {
                Scope::Namespace(ns) => Value::from(ns.clone()),
                Scope::Cluster { .. } => Value::Null,
            },
        }),
    }
}

/// The whole answer as one JSON document: the request, every subject allowed (with when
/// each made such a request, when logs were read: `seen[i]` for `rows[i]`), and, with logs,
/// those allowed only through a group.
pub fn document(
    query: &Query,
    rows: &[Row],
    seen: &[Option<Totals>],
    through_groups: Option<&BTreeMap<GroupRow, Totals>>,
) -> Value {
    let subjects: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (binding, role) = grant_json(&row.grant);
            let mut v = json!({
                "subject": who_json(&row.who),
                "namespaceScope": row.scope,
                "binding": binding,
                "role": role,
            });
            if let Some(e) = seen.get(i).copied().flatten() {
                v["seen"] = evidence_json(&e);
            }
            v
        })
        .collect();
    let mut doc = json!({"request": request_json(query), "subjects": subjects});
    if let Some(through_groups) = through_groups {
        doc["seenThroughGroups"] = through_groups
            .iter()
            .map(|(row, e)| {
                let (binding, role) = grant_json(&row.grant);
                json!({
                    "subject": who_json(&row.who),
                    "group": row.group,
                    "namespaceScope": row.scope,
                    "binding": binding,
                    "role": role,
                    "seen": evidence_json(e),
                })
            })
            .collect();
    }
    doc
}

/// The table of subjects allowed, header first; `wide` adds the user name and, with logs
/// (`seen` given), the request count.
pub fn table(rows: &[Row], seen: Option<&[Option<Totals>]>, wide: bool) -> Vec<Vec<String>> {
    let mut header: Vec<String> = [
        "SUBJECT KIND",
        "SUBJECT",
        "NAMESPACE-SCOPE",
        "BINDING",
        "ROLE",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if wide {
        header.push("USERNAME".to_string());
    }
    if seen.is_some() {
        header.push("LAST-SEEN".to_string());
        if wide {
            header.push("REQUESTS".to_string());
        }
    }
    let mut table = vec![header];
    for (i, row) in rows.iter().enumerate() {
        let mut cells = vec![
            row.who.kind.clone(),
            row.who.display(),
            row.scope.clone(),
            binding_label(&row.grant),
            role_label(&row.grant),
        ];
        if wide {
            cells.push(row.who.username().unwrap_or_else(|| "-".to_string()));
        }
        if let Some(seen) = seen {
            let e = seen.get(i).copied().flatten();
            cells.push(e.map_or("-".to_string(), |e| last_seen_cell(&e)));
            if wide {
                cells.push(e.map_or("-".to_string(), |e| e.requests.to_string()));
            }
        }
        table.push(cells);
    }
    table
}

/// The table of subjects seen in the logs that are allowed only through a group.
pub fn through_groups_table(through_groups: &BTreeMap<GroupRow, Totals>) -> Vec<Vec<String>> {
    let header = [
        "SUBJECT KIND",
        "SUBJECT",
        "GROUP",
        "NAMESPACE-SCOPE",
        "BINDING",
        "ROLE",
        "LAST-SEEN",
    ];
    let mut table = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for (row, e) in through_groups {
        table.push(vec![
            row.who.kind.clone(),
            row.who.display(),
            row.group.clone(),
            row.scope.clone(),
            binding_label(&row.grant),
            role_label(&row.grant),
            last_seen_cell(e),
        ]);
    }
    table
}
