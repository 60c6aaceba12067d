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
