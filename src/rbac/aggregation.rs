//! Aggregated ClusterRoles, resolved offline as kube-controller-manager's
//! clusterrole-aggregation controller resolves them.
//!
//! A ClusterRole with `aggregationRule.clusterRoleSelectors` gets as rules the union of the
//! rules of every other ClusterRole whose labels match any of the selectors: selectors in
//! order, within a selector the matching roles sorted by name, each rule once (exact
//! equality). A selector with neither `matchLabels` nor `matchExpressions` matches every
//! ClusterRole (`LabelSelectorAsSelector` gives "everything"); a selector that Kubernetes
//! rejects (unknown operator, `In`/`NotIn` without values, `Exists`/`DoesNotExist` with
//! values) makes the controller give up on that role, so its rules stay as they are.
//!
//! A dump normally carries the controller's last result; only aggregated roles whose rules
//! are empty in the dump (not yet filled, or written by hand) are resolved here.

use super::types::{ClusterRole, LabelSelector, LabelSelectorRequirement, PolicyRule, RbacSet};
use std::collections::{BTreeMap, HashSet};

/// Does `selector` match `labels`? `None` when Kubernetes would reject the selector.
pub fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Option<bool> {
    let mut matches = selector
        .match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    for requirement in &selector.match_expressions {
        matches &= requirement_matches(requirement, labels)?;
    }
    Some(matches)
}

fn requirement_matches(
    r: &LabelSelectorRequirement,
    labels: &BTreeMap<String, String>,
) -> Option<bool> {
    let value = labels.get(&r.key);
    match r.operator.as_str() {
        "In" if !r.values.is_empty() => Some(value.is_some_and(|v| r.values.contains(v))),
        // NotIn also matches when the label is absent.
        "NotIn" if !r.values.is_empty() => Some(!value.is_some_and(|v| r.values.contains(v))),
        "Exists" if r.values.is_empty() => Some(value.is_some()),
        "DoesNotExist" if r.values.is_empty() => Some(value.is_none()),
        _ => None,
    }
}

/// The rules the controller would give `roles[target]`, from the current rules of `roles`;
/// `None` when one of its selectors is invalid.
fn aggregated_rules(roles: &[ClusterRole], target: usize) -> Option<Vec<PolicyRule>> {
    let role = &roles[target];
    let selectors = &role.aggregation_rule.as_ref()?.cluster_role_selectors;
    let mut by_name: Vec<usize> = (0..roles.len()).collect();
    by_name.sort_by(|&a, &b| roles[a].metadata.name.cmp(&roles[b].metadata.name));
    let mut rules: Vec<PolicyRule> = Vec::new();
    for selector in selectors {
        for &i in &by_name {
            let other = &roles[i];
            if other.metadata.name == role.metadata.name
                || !selector_matches(selector, &other.metadata.labels)?
            {
                continue;
            }
            for rule in &other.rules {
                if !rules.contains(rule) {
                    rules.push(rule.clone());
                }
            }
        }
    }
    Some(rules)
}

/// Fills the rules of every aggregated ClusterRole whose rules are empty in `set`, following
/// chains (admin ← edit ← view) to a fixed point. Roles with rules keep them. Cycles end:
/// every pass can only add rules to a role, and there are finitely many rules.
pub fn resolve_aggregation(set: &mut RbacSet) {
    let roles = &mut set.cluster_roles;
    let pending: Vec<usize> = (0..roles.len())
        .filter(|&i| {
            roles[i].rules.is_empty()
                && roles[i]
                    .aggregation_rule
                    .as_ref()
                    .is_some_and(|a| !a.cluster_role_selectors.is_empty())
        })
        .collect();
    if pending.is_empty() {
        return;
    }
    // Monotone growth bounds the passes by the number of distinct rules; the cap is a guard.
    let distinct: HashSet<&PolicyRule> = roles.iter().flat_map(|r| &r.rules).collect();
    let max_passes = distinct.len() * pending.len() + 2;
    for _ in 0..max_passes {
        let mut changed = false;
        for &i in &pending {
            let Some(rules) = aggregated_rules(roles, i) else {
                continue;
            };
            let grew = rules.len() != roles[i].rules.len()
                || rules.iter().any(|r| !roles[i].rules.contains(r));
            if grew {
                changed = true;
            }
            roles[i].rules = rules;
        }
        if !changed {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::types::{AggregationRule, ObjectMeta};

    fn rule(verb: &str, resource: &str) -> PolicyRule {
        PolicyRule {
            verbs: vec![verb.to_string()],
            api_groups: vec![String::new()],
            resources: vec![resource.to_string()],
            ..PolicyRule::default()
        }
    }

    fn role(name: &str, labels: &[(&str, &str)], rules: Vec<PolicyRule>) -> ClusterRole {
        ClusterRole {
            metadata: ObjectMeta {
                name: name.to_string(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..ObjectMeta::default()
            },
            rules,
            aggregation_rule: None,
        }
    }

    fn by_label(key: &str) -> LabelSelector {
        LabelSelector {
            match_labels: [(key.to_string(), "true".to_string())].into(),
            match_expressions: vec![],
        }
    }

    fn aggregated(
        name: &str,
        labels: &[(&str, &str)],
        selectors: Vec<LabelSelector>,
    ) -> ClusterRole {
        let mut r = role(name, labels, vec![]);
        r.aggregation_rule = Some(AggregationRule {
            cluster_role_selectors: selectors,
        });
        r
    }

    fn expr(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.to_string(),
            operator: operator.to_string(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn rules_of<'a>(set: &'a RbacSet, name: &str) -> &'a [PolicyRule] {
        &set.cluster_roles
            .iter()
            .find(|r| r.metadata.name == name)
            .unwrap()
            .rules
    }

    #[test]
    fn chains_resolve_to_a_fixed_point_in_any_order() {
        // admin aggregates edit, which aggregates view; listed so that one pass is not enough.
        let mut set = RbacSet {
            cluster_roles: vec![
                aggregated("admin", &[], vec![by_label("to-admin")]),
                aggregated("edit", &[("to-admin", "true")], vec![by_label("to-edit")]),
                aggregated("view", &[("to-edit", "true")], vec![by_label("to-view")]),
                role(
                    "feed-admin",
                    &[("to-admin", "true")],
                    vec![rule("create", "roles")],
                ),
                role(
                    "feed-edit",
                    &[("to-edit", "true")],
                    vec![rule("create", "pods")],
                ),
                role(
                    "feed-view",
                    &[("to-view", "true")],
                    vec![rule("get", "pods"), rule("list", "pods")],
                ),
            ],
            ..RbacSet::default()
        };
        resolve_aggregation(&mut set);
        assert_eq!(
            rules_of(&set, "view"),
            [rule("get", "pods"), rule("list", "pods")]
        );
        assert_eq!(
            rules_of(&set, "edit"),
            [
                rule("create", "pods"),
                rule("get", "pods"),
                rule("list", "pods")
            ]
        );
        // Sorted by name: edit, then feed-admin.
        assert_eq!(
            rules_of(&set, "admin"),
            [
                rule("create", "pods"),
                rule("get", "pods"),
                rule("list", "pods"),
                rule("create", "roles")
            ]
        );
    }

    #[test]
    fn existing_rules_are_kept_and_duplicates_dropped() {
        let mut set = RbacSet {
            cluster_roles: vec![
                {
                    let mut r = aggregated("kept", &[], vec![by_label("x")]);
                    r.rules = vec![rule("delete", "nodes")];
                    r
                },
                aggregated("agg", &[], vec![by_label("x"), by_label("y")]),
                role(
                    "b",
                    &[("x", "true"), ("y", "true")],
                    vec![rule("get", "pods")],
                ),
                role(
                    "a",
                    &[("y", "true")],
                    vec![rule("get", "pods"), rule("get", "svc")],
                ),
            ],
            ..RbacSet::default()
        };
        resolve_aggregation(&mut set);
        assert_eq!(rules_of(&set, "kept"), [rule("delete", "nodes")]);
        // Selector x: b. Selector y: a, b (by name); duplicates once.
        assert_eq!(
            rules_of(&set, "agg"),
            [rule("get", "pods"), rule("get", "svc")]
        );
    }

    #[test]
    fn match_expressions_and_labels_are_anded() {
        let labels: BTreeMap<String, String> = [("tier", "web"), ("env", "prod")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sel = |labels: &[(&str, &str)], exprs: Vec<LabelSelectorRequirement>| LabelSelector {
            match_labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            match_expressions: exprs,
        };
        let m = |s: LabelSelector| selector_matches(&s, &labels);
        assert_eq!(m(sel(&[], vec![])), Some(true));
        assert_eq!(m(sel(&[("tier", "web")], vec![])), Some(true));
        assert_eq!(m(sel(&[("tier", "db")], vec![])), Some(false));
        assert_eq!(
            m(sel(&[], vec![expr("env", "In", &["prod", "stage"])])),
            Some(true)
        );
        assert_eq!(m(sel(&[], vec![expr("env", "In", &["dev"])])), Some(false));
        assert_eq!(
            m(sel(&[], vec![expr("env", "NotIn", &["dev"])])),
            Some(true)
        );
        assert_eq!(
            m(sel(&[], vec![expr("missing", "NotIn", &["x"])])),
            Some(true)
        );
        assert_eq!(
            m(sel(&[], vec![expr("env", "NotIn", &["prod"])])),
            Some(false)
        );
        assert_eq!(m(sel(&[], vec![expr("env", "Exists", &[])])), Some(true));
        assert_eq!(m(sel(&[], vec![expr("nope", "Exists", &[])])), Some(false));
        assert_eq!(
            m(sel(&[], vec![expr("nope", "DoesNotExist", &[])])),
            Some(true)
        );
        assert_eq!(
            m(sel(
                &[("tier", "web")],
                vec![expr("env", "DoesNotExist", &[])]
            )),
            Some(false)
        );
        // Rejected by Kubernetes.
        assert_eq!(m(sel(&[], vec![expr("env", "In", &[])])), None);
        assert_eq!(m(sel(&[], vec![expr("env", "Exists", &["x"])])), None);
        assert_eq!(m(sel(&[], vec![expr("env", "Gt", &["1"])])), None);
    }

    #[test]
    fn expressions_select_roles() {
        let mut set = RbacSet {
            cluster_roles: vec![
                aggregated(
                    "agg",
                    &[],
                    vec![LabelSelector {
                        match_labels: BTreeMap::new(),
                        match_expressions: vec![
                            expr("team", "In", &["a", "b"]),
                            expr("deprecated", "DoesNotExist", &[]),
                        ],
                    }],
                ),
                role("r1", &[("team", "a")], vec![rule("get", "pods")]),
                role(
                    "r2",
                    &[("team", "b"), ("deprecated", "true")],
                    vec![rule("get", "secrets")],
                ),
                role("r3", &[("team", "c")], vec![rule("get", "nodes")]),
            ],
            ..RbacSet::default()
        };
        resolve_aggregation(&mut set);
        assert_eq!(rules_of(&set, "agg"), [rule("get", "pods")]);
    }

    #[test]
    fn empty_selector_takes_every_other_role_and_cycles_end() {
        let mut set = RbacSet {
            cluster_roles: vec![
                aggregated("all", &[], vec![LabelSelector::default()]),
                aggregated("a", &[("c", "true")], vec![by_label("c")]),
                aggregated("b", &[("c", "true")], vec![by_label("c")]),
                role("base", &[("c", "true")], vec![rule("get", "pods")]),
            ],
            ..RbacSet::default()
        };
        resolve_aggregation(&mut set);
        for name in ["all", "a", "b"] {
            assert_eq!(rules_of(&set, name), [rule("get", "pods")], "{name}");
        }
    }

    #[test]
    fn invalid_selectors_leave_the_role_alone() {
        let mut set = RbacSet {
            cluster_roles: vec![
                aggregated(
                    "bad",
                    &[],
                    vec![
                        by_label("x"),
                        LabelSelector {
                            match_labels: BTreeMap::new(),
                            match_expressions: vec![expr("x", "Bogus", &[])],
                        },
                    ],
                ),
                role("feed", &[("x", "true")], vec![rule("get", "pods")]),
            ],
            ..RbacSet::default()
        };
        resolve_aggregation(&mut set);
        assert!(rules_of(&set, "bad").is_empty());
    }
}
