//! Aggregation: `subject → distinct request → Evidence`. Memory grows with distinct requests,
//! never with events. Aggregates merge associatively and commutatively, so files, threads
//! and machines can each build one and combine them.

use crate::normalize::{with_implied_groups, Normalized, Stage};
use crate::request::{Request, RequestRef, UserInfo};
use hashbrown::HashMap;

/// What the log says about one distinct request of one subject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Events logged at RequestReceived.
    pub received: u64,
    /// Events logged at ResponseStarted.
    pub started: u64,
    /// Events logged at ResponseComplete or Panic (or with no stage).
    pub completed: u64,
    /// Completed events that the authorizer denied.
    pub denied: u64,
    /// Earliest and latest timestamp seen (µs since the epoch), when any.
    pub first: Option<i64>,
    pub last: Option<i64>,
}

impl Evidence {
    /// How many requests were made: each request is logged once per stage, so the count of
    /// the most-logged stage (policies may omit stages, long-running requests add one).
    pub fn count(&self) -> u64 {
        self.received.max(self.started).max(self.completed)
    }

    pub fn record(&mut self, stage: Stage, time: Option<i64>, denied: bool) {
        match stage {
            Stage::RequestReceived => self.received += 1,
            Stage::ResponseStarted => self.started += 1,
            Stage::Completed => self.completed += 1,
        }
        if denied {
            self.denied += 1;
        }
        if let Some(t) = time {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    pub fn merge(&mut self, other: &Evidence) {
        self.received += other.received;
        self.started += other.started;
        self.completed += other.completed;
        self.denied += other.denied;
        if let Some(t) = other.first {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
        }
        if let Some(t) = other.last {
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
}

/// Everything seen for one subject (user name).
#[derive(Clone, Debug, Default)]
pub struct SubjectAggregate {
    /// The distinct group sets the subject was seen with, as logged (sorted).
    pub group_sets: Vec<Vec<String>>,
    /// Distinct (request, group set index) → evidence.
    pub requests: HashMap<Request, Vec<(u32, Evidence)>>,
}

impl SubjectAggregate {
    fn group_set_index(&mut self, groups: &[&str]) -> u32 {
        if let Some(i) = self
            .group_sets
            .iter()
            .position(|g| g.len() == groups.len() && g.iter().zip(groups).all(|(a, b)| a == b))
        {
            return i as u32;
        }
        self.group_sets
            .push(groups.iter().map(|g| g.to_string()).collect());
        (self.group_sets.len() - 1) as u32
    }

    fn evidence_mut(&mut self, request: RequestRef<'_>, group_set: u32) -> &mut Evidence {
        if !self.requests.contains_key(&request) {
            self.requests.insert(request.to_owned_request(), Vec::new());
        }
        let entries = self
            .requests
            .get_mut(&request)
            .expect("inserted above when missing");
        let pos = match entries.iter().position(|(g, _)| *g == group_set) {
            Some(p) => p,
            None => {
                entries.push((group_set, Evidence::default()));
                entries.len() - 1
            }
        };
        &mut entries[pos].1
    }

    /// Adds one observation of `request` by this subject with `groups`.
    pub fn record(
        &mut self,
        request: RequestRef<'_>,
        groups: &[&str],
        stage: Stage,
        time: Option<i64>,
        denied: bool,
    ) {
        let g = self.group_set_index(groups);
        // One lookup for a request seen before (the common case).
        if let Some(entries) = self.requests.get_mut(&request) {
            match entries.iter_mut().find(|(x, _)| *x == g) {
                Some((_, e)) => e.record(stage, time, denied),
                None => {
                    let mut e = Evidence::default();
                    e.record(stage, time, denied);
                    entries.push((g, e));
                }
            }
            return;
        }
        let mut e = Evidence::default();
        e.record(stage, time, denied);
        self.requests
            .insert(request.to_owned_request(), vec![(g, e)]);
    }

    /// Adds evidence gathered elsewhere (a partial aggregate) for `request` with `groups`.
    pub fn add_evidence(&mut self, request: RequestRef<'_>, groups: &[&str], evidence: &Evidence) {
        let g = self.group_set_index(groups);
        self.evidence_mut(request, g).merge(evidence);
    }

    /// Total evidence of each distinct request, across group sets.
    pub fn evidence_by_request(&self) -> Vec<(&Request, Evidence)> {
        let mut out: Vec<(&Request, Evidence)> = self
            .requests
            .iter()
            .map(|(r, entries)| {
                let mut total = Evidence::default();
                for (_, e) in entries {
                    total.merge(e);
                }
                (r, total)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// The identity (with implied groups) for each group set index.
    pub fn user_infos(&self, name: &str) -> Vec<UserInfo> {
        self.group_sets
            .iter()
            .map(|g| {
                let raw: Vec<&str> = g.iter().map(|s| s.as_str()).collect();
                UserInfo {
                    name: name.to_string(),
                    groups: with_implied_groups(name, &raw),
                }
            })
            .collect()
    }

    /// Number of distinct requests.
    pub fn distinct(&self) -> usize {
        self.requests.len()
    }

    pub fn merge(&mut self, other: &SubjectAggregate) {
        let remap: Vec<u32> = other
            .group_sets
            .iter()
            .map(|g| {
                let raw: Vec<&str> = g.iter().map(|s| s.as_str()).collect();
                self.group_set_index(&raw)
            })
            .collect();
        for (request, entries) in &other.requests {
            for (g, e) in entries {
                self.evidence_mut(request.as_ref(), remap[*g as usize])
                    .merge(e);
            }
        }
    }
}

impl SubjectAggregate {
    /// [`SubjectAggregate::merge`], taking `other` by value to move its keys.
    pub fn merge_owned(&mut self, other: SubjectAggregate) {
        let remap: Vec<u32> = other
            .group_sets
            .iter()
            .map(|g| {
                let raw: Vec<&str> = g.iter().map(|s| s.as_str()).collect();
                self.group_set_index(&raw)
            })
            .collect();
        for (request, entries) in other.requests {
            match self.requests.get_mut(&request) {
                Some(mine) => {
                    for (g, e) in entries {
                        let g = remap[g as usize];
                        match mine.iter_mut().find(|(x, _)| *x == g) {
                            Some((_, m)) => m.merge(&e),
                            None => mine.push((g, e)),
                        }
                    }
                }
                None => {
                    let entries = entries
                        .into_iter()
                        .map(|(g, e)| (remap[g as usize], e))
                        .collect();
                    self.requests.insert(request, entries);
                }
            }
        }
    }
}

pub use crate::filter::Filter;

/// Subject name → aggregate.
#[derive(Clone, Debug, Default)]
pub struct Aggregate {
    pub subjects: HashMap<String, SubjectAggregate>,
}

impl Aggregate {
    fn subject_mut(&mut self, name: &str) -> &mut SubjectAggregate {
        self.subjects.entry_ref(name).or_default()
    }

    /// Adds one normalized event: its request for the subject, and its impersonation checks
    /// for the impersonator, each when the filter wants it.
    pub fn add(&mut self, event: &Normalized<'_>, filter: &Filter) {
        if !filter.wants_time(event.time) {
            return;
        }
        if filter.wants_subject(event.subject) && filter.wants_request(&event.request) {
            self.subject_mut(event.subject).record(
                event.request,
                &event.groups,
                event.stage,
                event.time,
                event.denied,
            );
        }
        if let Some((impersonator, groups)) = &event.impersonator {
            if filter.wants_subject(impersonator) {
                for check in &event.impersonations {
                    let r = check.as_ref();
                    if filter.wants_request(&r) {
                        self.subject_mut(impersonator).record(
                            r,
                            groups,
                            event.stage,
                            event.time,
                            false,
                        );
                    }
                }
            }
        }
    }

    pub fn merge(&mut self, other: &Aggregate) {
        for (name, sub) in &other.subjects {
            self.subject_mut(name).merge(sub);
        }
    }

    /// [`Aggregate::merge`], taking `other` by value to move its keys.
    pub fn merge_owned(&mut self, other: Aggregate) {
        if self.subjects.is_empty() {
            *self = other;
            return;
        }
        for (name, sub) in other.subjects {
            match self.subjects.get_mut(&name) {
                Some(mine) => mine.merge_owned(sub),
                None => {
                    self.subjects.insert(name, sub);
                }
            }
        }
    }

    /// Subject names, sorted.
    pub fn subject_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.subjects.keys().map(|s| s.as_str()).collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_logged_at_several_stages_counts_once() {
        let mut e = Evidence::default();
        e.record(Stage::RequestReceived, Some(5), false);
        e.record(Stage::ResponseStarted, Some(6), false);
        e.record(Stage::Completed, Some(9), true);
        assert_eq!(e.count(), 1);
        assert_eq!((e.first, e.last, e.denied), (Some(5), Some(9), 1));
    }

    #[test]
    fn merge_is_order_independent() {
        let r = Request::non_resource("get", "/x");
        let mut a = SubjectAggregate::default();
        a.record(r.as_ref(), &["g1"], Stage::Completed, Some(1), false);
        let mut b = SubjectAggregate::default();
        b.record(r.as_ref(), &["g2"], Stage::Completed, Some(3), true);
        b.record(r.as_ref(), &["g1"], Stage::Completed, Some(2), false);
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab.evidence_by_request(), ba.evidence_by_request());
        assert_eq!(ab.evidence_by_request()[0].1.count(), 3);
    }
}
