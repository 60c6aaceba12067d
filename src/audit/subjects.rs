//! Who is in the logs: every subject of an aggregate with its kind (user, service account,
//! node, anonymous) and what it did in total (requests, distinct requests, first and last
//! seen, denials), sorted by name; and the subjects closest to a name that matched nothing.

use crate::aggregate::{Aggregate, SubjectAggregate, Totals};
use crate::request::split_service_account;

/// What kind of identity a user name is, as the API server's authenticators name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubjectKind {
    User,
    /// `system:serviceaccount:NS:NAME`.
    ServiceAccount,
    /// `system:node:NAME` (the node authorizer's identities).
    Node,
    /// `system:anonymous`.
    Anonymous,
}

impl SubjectKind {
    /// The kind of the user name `name`.
    pub fn of(name: &str) -> SubjectKind {
        if name == "system:anonymous" {
            SubjectKind::Anonymous
        } else if split_service_account(name).is_some() {
            SubjectKind::ServiceAccount
        } else if name
            .strip_prefix("system:node:")
            .is_some_and(|n| !n.is_empty())
        {
            SubjectKind::Node
        } else {
            SubjectKind::User
        }
    }

    /// The kind as the table and JSON write it.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::ServiceAccount => "serviceaccount",
            SubjectKind::Node => "node",
            SubjectKind::Anonymous => "anonymous",
        }
    }
}

impl std::fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One subject of the logs and its totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectRow {
    pub name: String,
    pub kind: SubjectKind,
    /// Requests, distinct requests, denials, first and last seen.
    pub totals: Totals,
}

/// The totals of one subject's aggregate.
pub fn totals_of(sub: &SubjectAggregate) -> Totals {
    let mut totals = Totals::default();
    for (_, entries) in sub.requests.iter() {
        totals.add(&entries.total());
    }
    totals
}

/// Every subject of `aggregate` that `wants` keeps and that made a request, sorted by name.
pub fn subjects(aggregate: &Aggregate, wants: impl Fn(&str) -> bool) -> Vec<SubjectRow> {
    aggregate
        .subject_names()
        .into_iter()
        .filter(|name| wants(name))
        .filter_map(|name| {
            let totals = totals_of(&aggregate.subjects[name]);
            (totals.distinct > 0).then(|| SubjectRow {
                name: name.to_string(),
                kind: SubjectKind::of(name),
                totals,
            })
        })
        .collect()
}

/// Up to `limit` subject names of `names` closest to `typed`: the ones within a third of its
/// length in edits (at least two), then the ones that contain it or that it contains (case
/// ignored), closest first.
pub fn closest_subjects<'n>(
    typed: &str,
    names: impl IntoIterator<Item = &'n str>,
    limit: usize,
) -> Vec<&'n str> {
    let names: Vec<&str> = names.into_iter().filter(|n| *n != typed).collect();
    let max = (typed.chars().count() / 3).max(2);
    let mut out = crate::similar::closest(typed, names.iter().copied(), max, limit);
    let lower = typed.to_lowercase();
    let mut containing: Vec<(usize, &str)> = names
        .iter()
        .filter(|n| {
            let n = n.to_lowercase();
            !lower.is_empty() && (n.contains(&lower) || lower.contains(&n))
        })
        .map(|n| (crate::similar::edit_distance(typed, n), *n))
        .collect();
    containing.sort();
    for (_, n) in containing {
        if out.len() < limit && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_user_names() {
        assert_eq!(SubjectKind::of("alice"), SubjectKind::User);
        assert_eq!(
            SubjectKind::of("system:serviceaccount:ops:deployer"),
            SubjectKind::ServiceAccount
        );
        assert_eq!(SubjectKind::of("system:node:worker-1"), SubjectKind::Node);
        assert_eq!(SubjectKind::of("system:node:"), SubjectKind::User);
        assert_eq!(SubjectKind::of("system:anonymous"), SubjectKind::Anonymous);
        assert_eq!(SubjectKind::of("system:kube-scheduler"), SubjectKind::User);
    }

    #[test]
    fn closest_subjects_by_edits_and_by_containing() {
        let names = ["alice@example.com", "bob", "alicia", "system:node:a"];
        assert_eq!(
            closest_subjects("alice", names, 3),
            vec!["alicia", "alice@example.com"]
        );
        assert_eq!(closest_subjects("bbo", names, 3), vec!["bob"]);
        assert!(closest_subjects("zzzzzz", names, 3).is_empty());
    }
}
