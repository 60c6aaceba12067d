//! diff: for one subject, the permissions an RBAC dump grants it against the requests the
//! audit logs show it making: which grants were used (with evidence), which were never used
//! (with their risks), which observed requests the dump does not allow, and a score (the
//! default grants every cluster gives are shown apart and not scored); and
//! the least-privilege RBAC that would replace it ([`suggestion`]).

use crate::aggregate::{Activity, Evidence, SortedRequests, SubjectAggregate, Totals};
use crate::error::Result;
use crate::generate::names::{
    object_name, parse_pairs, Pairs, DEFAULT_LABELS, DEFAULT_NAME_TEMPLATE,
};
use crate::generate::policy::{generate_from, Naming, Observations, Policy, Users};
use crate::generate::risk::{assess, Risk};
use crate::rbac::authorize::{rule_allows, BoundRule, UserRules};
use crate::rbac::bootstrap::is_baseline;
use crate::rbac::{Authorizer, RbacSet};
use crate::request::{RequestRef, UserInfo};
use std::collections::HashMap;

/// One granted rule and how it was used.
#[derive(Clone, Debug)]
pub struct GrantUse {
    pub bound: BoundRule,
    /// The observed requests the rule allows, added up.
    pub evidence: Totals,
    pub risks: Vec<Risk>,
}

/// The comparison for one subject. The observed requests are read in place from the
/// subject's aggregate (one index per request), never copied.
pub struct SubjectDiff<'a> {
    pub subject: String,
    /// The granted rules that are scored: every grant but the baseline ones.
    pub grants: Vec<GrantUse>,
    /// The grants every cluster gives every authenticated user (or every service account),
    /// shown apart and left out of the score ([`is_baseline`]).
    pub baseline: Vec<GrantUse>,
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
    pub fn observations(&self) -> Observations<'a> {
        Observations {
            requests: &self.aggregate.requests,
            identities: self.identities.clone(),
        }
    }

    /// The subject's requests per UTC day.
    pub fn activity(&self) -> &'a Activity {
        &self.aggregate.activity
    }

    /// The observed requests, added up.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for (_, entries) in self.observed.iter() {
            totals.add(&entries.total());
        }
        totals
    }

    pub fn used(&self) -> usize {
        self.grants
            .iter()
            .filter(|g| g.evidence.distinct > 0)
            .count()
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
        baseline: Vec::new(),
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
    // The requests with their evidence, read out of the aggregate once for every grant,
    // and by namespace: a rule bound in one namespace looks at that namespace's only.
    let requests: Vec<(RequestRef<'_>, Evidence)> = aggregate
        .requests
        .iter()
        .map(|(request, entries)| (request, entries.total()))
        .collect();
    let mut in_namespace: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (request, _)) in requests.iter().enumerate() {
        in_namespace.entry(request.namespace()).or_default().push(i);
    }
    let (grants, baseline): (Vec<GrantUse>, Vec<GrantUse>) = bound
        .into_iter()
        .map(|b| {
            let mut evidence = Totals::default();
            let mut count = |(request, total): &(RequestRef<'_>, Evidence)| {
                if rule_allows(&b.rule, *request) {
                    evidence.add(total);
                }
            };
            if b.scope.is_empty() {
                requests.iter().for_each(&mut count);
            } else if let Some(indices) = in_namespace.get(b.scope.as_str()) {
                indices.iter().for_each(|&i| count(&requests[i]));
            }
            let risks = assess(&b.rule, &b.scope);
            GrantUse {
                bound: b,
                evidence,
                risks,
            }
        })
        .partition(|g| !is_baseline(&g.bound));
    diff.grants = grants;
    diff.baseline = baseline;
    let rules: Vec<UserRules> = diff
        .identities
        .iter()
        .map(|u| authorizer.user_rules(u))
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
            users.each_of(&rules).any(|r| !r.allows(*request))
        })
        .map(|(i, _)| i)
        .collect();
    diff
}

/// The least-privilege replacement for a subject (bootstrap roles assumed).
pub fn suggestion(subject: &str, observed: &Observations<'_>) -> Result<RbacSet> {
    let naming = Naming {
        name: object_name(DEFAULT_NAME_TEMPLATE, subject),
        labels: parse_pairs(DEFAULT_LABELS, subject, Pairs::Labels, "labels")?,
        annotations: Default::default(),
    };
    let existing = Authorizer::new(crate::rbac::bootstrap::bootstrap_rbac());
    Ok(generate_from(subject, observed, &existing, &Policy::default(), &naming).rbac)
}
