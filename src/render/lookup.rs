//! lookup answers as people and programs read them.

use crate::audit::lookup::{Entry, Target};
use crate::rbac::PolicyRule;
use serde_json::{json, Value};

/// The subject looked up, as JSON.
pub fn target_json(target: &Target) -> Value {
    match target {
        Target::User(n) | Target::Group(n) => json!({"kind": target.kind(), "name": n}),
        Target::ServiceAccount { namespace, name } => {
            json!({"kind": "ServiceAccount", "namespace": namespace, "name": name})
        }
    }
}

/// `RoleBinding/NS/NAME` or `ClusterRoleBinding/NAME`.
pub fn binding_label(entry: &Entry<'_>) -> String {
    if entry.binding_kind == "RoleBinding" {
        format!(
            "RoleBinding/{}/{}",
            entry.binding.metadata.namespace, entry.binding.metadata.name
        )
    } else {
        format!("ClusterRoleBinding/{}", entry.binding.metadata.name)
    }
}

/// `KIND/NAME` of the role, `(missing)` when it does not exist.
pub fn role_label(entry: &Entry<'_>) -> String {
    let r = &entry.binding.role_ref;
    let label = format!("{}/{}", r.kind, r.name);
    if entry.rules.is_some() {
        label
    } else {
        format!("{label} (missing)")
    }
}

/// `direct`, or `group NAME`.
pub fn via(entry: &Entry<'_>) -> String {
    match &entry.via_group {
        None => "direct".to_string(),
        Some(g) => format!("group {g}"),
    }
}

/// A rule on one line: `verbs=[get list] apiGroups=[""] resources=[pods]`.
pub fn rule_line(rule: &PolicyRule) -> String {
    let list = |items: &[String]| {
        let shown: Vec<String> = items
            .iter()
            .map(|i| {
                if i.is_empty() {
                    "\"\"".to_string()
                } else {
                    i.clone()
                }
            })
            .collect();
        format!("[{}]", shown.join(" "))
    };
    let mut parts = vec![format!("verbs={}", list(&rule.verbs))];
    for (name, items) in [
        ("apiGroups", &rule.api_groups),
        ("resources", &rule.resources),
        ("resourceNames", &rule.resource_names),
        ("nonResourceURLs", &rule.non_resource_urls),
    ] {
        if !items.is_empty() {
            parts.push(format!("{name}={}", list(items)));
        }
    }
    parts.join(" ")
}

/// One binding of a lookup as JSON: the binding, its role, scope and group; with `rules`,
/// the role's rules.
pub fn entry_json(e: &Entry<'_>, rules: bool) -> Value {
    let mut binding = json!({"kind": e.binding_kind, "name": e.binding.metadata.name});
    if e.binding_kind == "RoleBinding" {
        binding["namespace"] = json!(e.binding.metadata.namespace);
    }
    let mut v = json!({
        "binding": binding,
        "role": {
            "kind": e.binding.role_ref.kind,
            "name": e.binding.role_ref.name,
            "missing": e.rules.is_none(),
        },
        "namespaceScope": e.scope(),
        "viaGroup": e.via_group,
    });
    if rules {
        v["rules"] = serde_json::to_value(e.rules.unwrap_or_default()).unwrap_or(Value::Null);
    }
    v
}

/// The lookup of one subject as JSON: the subject, its implied groups and its bindings.
pub fn lookup_json(target: &Target, found: &[Entry<'_>], rules: bool) -> Value {
    json!({
        "subject": target_json(target),
        "impliedGroups": match target { Target::Group(_) => vec![], _ => target.groups() },
        "bindings": found.iter().map(|e| entry_json(e, rules)).collect::<Vec<_>>(),
    })
}

/// A list lookup as JSON: `{"subjects": [{"subject", "bindings"}]}` (direct bindings).
pub fn list_json(found: &[(Target, Vec<Entry<'_>>)], rules: bool) -> Value {
    let subjects: Vec<Value> = found
        .iter()
        .map(|(t, entries)| {
            json!({
                "subject": target_json(t),
                "bindings": entries.iter().map(|e| entry_json(e, rules)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "subjects": subjects })
}

/// The number of rules of the entry's role, `-` when the role is missing.
fn rule_count(e: &Entry<'_>) -> String {
    e.rules
        .map(|r| r.len().to_string())
        .unwrap_or_else(|| "-".to_string())
}

fn header(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// The table of one subject's bindings: BINDING, ROLE, NAMESPACE-SCOPE, VIA (and RULES when
/// `wide`), the header first.
pub fn lookup_rows(found: &[Entry<'_>], wide: bool) -> Vec<Vec<String>> {
    let mut cells = vec!["BINDING", "ROLE", "NAMESPACE-SCOPE", "VIA"];
    if wide {
        cells.push("RULES");
    }
    let mut table = vec![header(&cells)];
    for e in found {
        let mut row = vec![
            binding_label(e),
            role_label(e),
            e.scope().to_string(),
            via(e),
        ];
        if wide {
            row.push(rule_count(e));
        }
        table.push(row);
    }
    table
}

/// `User/alice`, `Group/devs`, `ServiceAccount/ops:reconciler`.
pub fn subject_label(target: &Target) -> String {
    format!("{}/{}", target.kind(), target.display())
}

/// The table of a list lookup, one line per subject and binding: SUBJECT, BINDING, ROLE,
/// NAMESPACE-SCOPE (and RULES when `wide`), the header first.
pub fn list_rows(found: &[(Target, Vec<Entry<'_>>)], wide: bool) -> Vec<Vec<String>> {
    let mut cells = vec!["SUBJECT", "BINDING", "ROLE", "NAMESPACE-SCOPE"];
    if wide {
        cells.push("RULES");
    }
    let mut table = vec![header(&cells)];
    for (t, entries) in found {
        for e in entries {
            let mut row = vec![
                subject_label(t),
                binding_label(e),
                role_label(e),
                e.scope().to_string(),
            ];
            if wide {
                row.push(rule_count(e));
            }
            table.push(row);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_print_on_one_line() {
        let r = PolicyRule {
            verbs: vec!["get".into(), "list".into()],
            api_groups: vec!["".into()],
            resources: vec!["pods".into()],
            ..PolicyRule::default()
        };
        assert_eq!(
            rule_line(&r),
            "verbs=[get list] apiGroups=[\"\"] resources=[pods]"
        );
    }
}
