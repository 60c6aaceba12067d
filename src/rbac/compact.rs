//! Compaction: turns a set of permission atoms (one verb on one resource or URL, one name
//! or any) into few rules that grant exactly the same set. Every rule is a cross product
//! (groups × resources × names × verbs), so rules are only formed from complete products.

use super::types::PolicyRule;
use std::collections::{BTreeMap, BTreeSet};

/// One permission: a verb on a resource (with an optional name) or on a URL path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Atom {
    Resource {
        api_group: String,
        /// `resource` or `resource/subresource`.
        resource: String,
        /// `None`: any name.
        name: Option<String>,
        verb: String,
    },
    Url {
        path: String,
        verb: String,
    },
}

/// Groups a relation `x → {v}` into (xs, vs) products, trying both directions (items sharing
/// a verb set, or verbs sharing an item set) and keeping the one with fewer products.
fn products(relation: &BTreeMap<String, BTreeSet<String>>) -> Vec<(Vec<String>, Vec<String>)> {
    let by_items = group_by_value(relation);
    let mut transposed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (x, vs) in relation {
        for v in vs {
            transposed.entry(v.clone()).or_default().insert(x.clone());
        }
    }
    let by_verbs: Vec<(Vec<String>, Vec<String>)> = group_by_value(&transposed)
        .into_iter()
        .map(|(vs, xs)| (xs, vs))
        .collect();
    if by_verbs.len() < by_items.len() {
        by_verbs
    } else {
        by_items
    }
}

/// `x → set` grouped by identical sets: (sorted xs, sorted set).
fn group_by_value(
    relation: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<(Vec<String>, Vec<String>)> {
    let mut groups: BTreeMap<&BTreeSet<String>, Vec<String>> = BTreeMap::new();
    for (x, set) in relation {
        groups.entry(set).or_default().push(x.clone());
    }
    let mut out: Vec<(Vec<String>, Vec<String>)> = groups
        .into_iter()
        .map(|(set, xs)| (xs, set.iter().cloned().collect()))
        .collect();
    out.sort();
    out
}

/// Removes atoms that another atom of the same set already grants (a named atom when the
/// same verb is granted for any name).
pub fn without_redundant(atoms: &BTreeSet<Atom>) -> BTreeSet<Atom> {
    atoms
        .iter()
        .filter(|a| match a {
            Atom::Resource {
                api_group,
                resource,
                name: Some(_),
                verb,
            } => !atoms.contains(&Atom::Resource {
                api_group: api_group.clone(),
                resource: resource.clone(),
                name: None,
                verb: verb.clone(),
            }),
            _ => true,
        })
        .cloned()
        .collect()
}

/// The rules for one role: resource rules sorted by group, then URL rules.
pub fn compact(atoms: &BTreeSet<Atom>) -> Vec<PolicyRule> {
    let atoms = without_redundant(atoms);
    // group → resource → verbs (any name); group → resource → name → verbs; url → verbs.
    let mut unnamed: BTreeMap<&str, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut named: BTreeMap<&str, BTreeMap<&str, BTreeMap<String, BTreeSet<String>>>> =
        BTreeMap::new();
    let mut urls: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for atom in &atoms {
        match atom {
            Atom::Resource {
                api_group,
                resource,
                name: None,
                verb,
            } => {
                unnamed
                    .entry(api_group)
                    .or_default()
                    .entry(resource.clone())
                    .or_default()
                    .insert(verb.clone());
            }
            Atom::Resource {
                api_group,
                resource,
                name: Some(name),
                verb,
            } => {
                named
                    .entry(api_group)
                    .or_default()
                    .entry(resource)
                    .or_default()
                    .entry(name.clone())
                    .or_default()
                    .insert(verb.clone());
            }
            Atom::Url { path, verb } => {
                urls.entry(path.clone()).or_default().insert(verb.clone());
            }
        }
    }

    let mut rules = Vec::new();
    for (group, relation) in &unnamed {
        for (resources, verbs) in products(relation) {
            rules.push(PolicyRule {
                verbs,
                api_groups: vec![group.to_string()],
                resources,
                ..PolicyRule::default()
            });
        }
    }
    for (group, by_resource) in &named {
        // Per resource: names × verbs products; then resources sharing a product merge.
        let mut merged: BTreeMap<(Vec<String>, Vec<String>), Vec<String>> = BTreeMap::new();
        for (resource, relation) in by_resource {
            for (names, verbs) in products(relation) {
                merged
                    .entry((names, verbs))
                    .or_default()
                    .push(resource.to_string());
            }
        }
        for ((names, verbs), resources) in merged {
            rules.push(PolicyRule {
                verbs,
                api_groups: vec![group.to_string()],
                resources,
                resource_names: names,
                ..PolicyRule::default()
            });
        }
    }
    rules.sort_by(|a, b| {
        (&a.api_groups, &a.resources, &a.resource_names, &a.verbs).cmp(&(
            &b.api_groups,
            &b.resources,
            &b.resource_names,
            &b.verbs,
        ))
    });
    for (paths, verbs) in products(&urls) {
        rules.push(PolicyRule {
            verbs,
            non_resource_urls: paths,
            ..PolicyRule::default()
        });
    }
    rules
}

/// The atoms a rule grants (no wildcards expected; `*` is kept literally).
pub fn atoms_of(rule: &PolicyRule) -> BTreeSet<Atom> {
    let mut out = BTreeSet::new();
    for verb in &rule.verbs {
        for path in &rule.non_resource_urls {
            out.insert(Atom::Url {
                path: path.clone(),
                verb: verb.clone(),
            });
        }
        for group in &rule.api_groups {
            for resource in &rule.resources {
                if rule.resource_names.is_empty() {
                    out.insert(Atom::Resource {
                        api_group: group.clone(),
                        resource: resource.clone(),
                        name: None,
                        verb: verb.clone(),
                    });
                }
                for name in &rule.resource_names {
                    out.insert(Atom::Resource {
                        api_group: group.clone(),
                        resource: resource.clone(),
                        name: Some(name.clone()),
                        verb: verb.clone(),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(group: &str, resource: &str, name: Option<&str>, verb: &str) -> Atom {
        Atom::Resource {
            api_group: group.into(),
            resource: resource.into(),
            name: name.map(String::from),
            verb: verb.into(),
        }
    }

    #[test]
    fn compaction_is_exact_and_small() {
        let atoms: BTreeSet<Atom> = [
            res("", "pods", None, "get"),
            res("", "pods", None, "list"),
            res("", "configmaps", None, "get"),
            res("", "configmaps", None, "list"),
            res("", "secrets", Some("a"), "get"),
            res("", "secrets", Some("b"), "get"),
            res("", "secrets", Some("b"), "update"),
            res("", "secrets", Some("c"), "update"),
            res("", "pods", Some("x"), "get"),
            Atom::Url {
                path: "/a".into(),
                verb: "get".into(),
            },
            Atom::Url {
                path: "/b".into(),
                verb: "get".into(),
            },
        ]
        .into_iter()
        .collect();
        let rules = compact(&atoms);
        let mut granted = BTreeSet::new();
        for r in &rules {
            granted.extend(atoms_of(r));
        }
        assert_eq!(granted, without_redundant(&atoms));
        // pods+configmaps; secrets get [a,b]; secrets update [b,c]; URLs.
        assert_eq!(rules.len(), 4, "{rules:#?}");
    }
}
