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

/// A relation `x → {v}`: each set a sorted list without duplicates (a list, not a tree:
/// strict output can relate a million names to one verb each).
type Relation<'a> = BTreeMap<&'a str, Vec<&'a str>>;

/// Groups a relation `x → {v}` into (xs, vs) products, trying both directions (items sharing
/// a verb set, or verbs sharing an item set) and keeping the one with fewer products.
fn products<'a>(relation: &Relation<'a>) -> Vec<(Vec<&'a str>, Vec<&'a str>)> {
    let by_items = group_by_value(relation);
    let mut transposed: Relation<'a> = BTreeMap::new();
    for (x, vs) in relation {
        for v in vs {
            // Items come in order, so each list stays sorted.
            transposed.entry(v).or_default().push(x);
        }
    }
    let by_verbs: Vec<(Vec<&str>, Vec<&str>)> = group_by_value(&transposed)
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
fn group_by_value<'a>(relation: &Relation<'a>) -> Vec<(Vec<&'a str>, Vec<&'a str>)> {
    let mut groups: BTreeMap<&Vec<&str>, Vec<&str>> = BTreeMap::new();
    for (x, set) in relation {
        groups.entry(set).or_default().push(x);
    }
    let mut out: Vec<(Vec<&str>, Vec<&str>)> = groups
        .into_iter()
        .map(|(set, xs)| (xs, set.clone()))
        .collect();
    out.sort();
    out
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Removes atoms that another atom of the same set already grants (a named atom when the
/// same verb is granted for any name).
pub fn drop_redundant(atoms: &mut BTreeSet<Atom>) {
    let redundant: Vec<Atom> = atoms
        .iter()
        .filter(|a| match a {
            Atom::Resource {
                api_group,
                resource,
                name: Some(_),
                verb,
            } => atoms.contains(&Atom::Resource {
                api_group: api_group.clone(),
                resource: resource.clone(),
                name: None,
                verb: verb.clone(),
            }),
            _ => false,
        })
        .cloned()
        .collect();
    for a in &redundant {
        atoms.remove(a);
    }
}

/// The rules for one role: resource rules sorted by group, then URL rules.
pub fn compact(atoms: &BTreeSet<Atom>) -> Vec<PolicyRule> {
    // group → resource → verbs (any name); group → resource → name → verbs; url → verbs.
    // Atoms come sorted by group, resource, name (any name first), verb: every list below
    // is filled in order, and a named atom comes after the any-name atoms that make it
    // redundant.
    let mut unnamed: BTreeMap<&str, Relation<'_>> = BTreeMap::new();
    let mut named: BTreeMap<&str, BTreeMap<&str, Relation<'_>>> = BTreeMap::new();
    let mut urls: Relation<'_> = BTreeMap::new();
    for atom in atoms {
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
                    .entry(resource)
                    .or_default()
                    .push(verb);
            }
            Atom::Resource {
                api_group,
                resource,
                name: Some(name),
                verb,
            } => {
                let redundant = unnamed
                    .get(api_group.as_str())
                    .and_then(|r| r.get(resource.as_str()))
                    .is_some_and(|verbs| verbs.contains(&verb.as_str()));
                if !redundant {
                    named
                        .entry(api_group)
                        .or_default()
                        .entry(resource)
                        .or_default()
                        .entry(name)
                        .or_insert_with(|| Vec::with_capacity(1))
                        .push(verb);
                }
            }
            Atom::Url { path, verb } => {
                urls.entry(path)
                    .or_insert_with(|| Vec::with_capacity(1))
                    .push(verb);
            }
        }
    }

    let mut rules = Vec::new();
    for (group, relation) in &unnamed {
        for (resources, verbs) in products(relation) {
            rules.push(PolicyRule {
                verbs: owned(&verbs),
                api_groups: vec![group.to_string()],
                resources: owned(&resources),
                ..PolicyRule::default()
            });
        }
    }
    for (group, by_resource) in &named {
        // Per resource: names × verbs products; then resources sharing a product merge.
        let mut merged: BTreeMap<(Vec<&str>, Vec<&str>), Vec<&str>> = BTreeMap::new();
        for (resource, relation) in by_resource {
            for (names, verbs) in products(relation) {
                merged.entry((names, verbs)).or_default().push(resource);
            }
        }
        for ((names, verbs), resources) in merged {
            rules.push(PolicyRule {
                verbs: owned(&verbs),
                api_groups: vec![group.to_string()],
                resources: owned(&resources),
                resource_names: owned(&names),
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
            verbs: owned(&verbs),
            non_resource_urls: owned(&paths),
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
        let mut atoms = atoms;
        drop_redundant(&mut atoms);
        assert_eq!(granted, atoms);
        // pods+configmaps; secrets get [a,b]; secrets update [b,c]; URLs.
        assert_eq!(rules.len(), 4, "{rules:#?}");
    }
}
