//! who-can answers as people and programs read them: labels for tables, JSON values.

use crate::aggregate::Totals;
use crate::audit::who_can::{Query, Scope, Who};
use crate::rbac::authorize::Grant;
use crate::request::Target;
use crate::time::format_rfc3339_micros;
use serde_json::{json, Value};

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
