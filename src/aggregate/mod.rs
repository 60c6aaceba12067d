//! Aggregation: `subject → distinct request → Evidence`. Memory grows with distinct requests,
//! never with events. Aggregates merge associatively and commutatively, so files, threads
//! and machines can each build one and combine them.
//!
//! Order: group sets and requests are kept in the order recorded or merged, which with
//! several read workers is no particular order. No output depends on it: every reader of
//! an aggregate sorts (subjects, requests, records of a partial aggregate), sums, or asks
//! order-free questions (whether all identities are allowed, whether two values exist).
//!
//! Name folding (opt-in, set once for a whole read: [`Aggregate::folding_names_after`]):
//! once an operation (verb, group, resource, subresource, namespace) of a subject has K
//! distinct names, requests on further new names are counted in one "many names" entry of
//! that operation instead, so that memory
//! stays bounded by the operations, not the names. Only `generate` asks for it, and only
//! when its output cannot depend on which names were folded (see `cmd::generate`).

pub mod activity;
pub mod partial;

pub use activity::{Activity, DayCount};

use crate::request::normalize::{with_implied_groups, Normalized, Stage};
use crate::request::{Request, RequestRef, ResourceRef, TargetRef, UserInfo};
use hashbrown::{HashMap, HashTable};
use rayon::prelude::*;

/// What several distinct requests add up to: each request's own count summed (one request
/// logged at several stages counts once, [`Evidence::count`]), how many were distinct,
/// denials, and first and last seen. Merging the per-stage counts of different requests
/// instead would count a request logged only at RequestReceived and another logged only at
/// ResponseComplete as one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub requests: u64,
    pub distinct: usize,
    pub denied: u64,
    pub first: Option<i64>,
    pub last: Option<i64>,
}

impl Totals {
    /// Adds one distinct request's evidence.
    pub fn add(&mut self, e: &Evidence) {
        self.requests += e.count();
        self.distinct += 1;
        self.denied += e.denied;
        widen_window((&mut self.first, &mut self.last), e.first, e.last);
    }
}

/// Widens the time window `(first, last)` to take in `first_seen` and `last_seen`.
fn widen_window(
    (first, last): (&mut Option<i64>, &mut Option<i64>),
    first_seen: Option<i64>,
    last_seen: Option<i64>,
) {
    if let Some(t) = first_seen {
        *first = Some(first.map_or(t, |f| f.min(t)));
    }
    if let Some(t) = last_seen {
        *last = Some(last.map_or(t, |l| l.max(t)));
    }
}

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
        widen_window((&mut self.first, &mut self.last), time, time);
    }

    pub fn merge(&mut self, other: &Evidence) {
        self.received += other.received;
        self.started += other.started;
        self.completed += other.completed;
        self.denied += other.denied;
        widen_window((&mut self.first, &mut self.last), other.first, other.last);
    }
}

/// Everything seen for one subject (user name).
#[derive(Clone, Debug, Default)]
pub struct SubjectAggregate {
    /// The distinct group sets the subject was seen with, as logged (sorted).
    pub group_sets: Vec<Vec<String>>,
    /// Distinct (request, group set index) → evidence.
    pub requests: Requests,
    /// Requests per UTC day (for the report's activity chart).
    pub activity: Activity,
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
        self.requests
            .evidence_mut(request, g)
            .record(stage, time, denied);
        self.activity.record(stage, time, denied);
    }

    /// Adds evidence gathered elsewhere (a partial aggregate) for `request` with `groups`.
    pub fn add_evidence(&mut self, request: RequestRef<'_>, groups: &[&str], evidence: &Evidence) {
        let g = self.group_set_index(groups);
        self.requests.evidence_mut(request, g).merge(evidence);
    }

    /// Total evidence of each distinct request, across group sets, sorted by request.
    pub fn evidence_by_request(&self) -> Vec<(Request, Evidence)> {
        let mut out: Vec<(Request, Evidence)> = self
            .requests
            .iter()
            .map(|(r, entries)| (r.to_owned_request(), entries.total()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
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

    /// Empties the aggregate, keeping its allocations.
    fn clear(&mut self) {
        self.group_sets.clear();
        self.requests.clear();
        self.activity.clear();
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
        self.requests.merge(&other.requests, &remap);
        self.activity.merge(&other.activity);
    }

    /// [`SubjectAggregate::merge`], taking `other` by value (taken over whole when this one
    /// is empty).
    pub fn merge_owned(&mut self, other: SubjectAggregate) {
        if self.group_sets.is_empty() && self.requests.is_empty() && self.activity.is_empty() {
            *self = other;
            return;
        }
        self.merge(&other);
    }
}

/// No entry / no id.
const NONE: u32 = u32::MAX;
/// In a merge: a string of the other aggregate that this one does not have.
const ABSENT: u32 = u32::MAX - 1;
/// The `api_group` id of a non-resource request (its path is kept as `resource`).
const NON_RESOURCE: u32 = u32::MAX;
/// The `name` id of a "many names" entry: no string has it, so no logged name can collide.
const FOLDED: u32 = u32::MAX - 2;

/// How a "many names" entry presents its name to readers ([`Requests::iter`]). Any non-empty
/// name does for generation: a folded entry exists only beside K ≥ 2 real names of its
/// operation, so name expansion applies to it and to them whatever this name is. Lookups of
/// logged requests never match a folded entry, even one naming this.
pub const FOLDED_NAME: &str = "(many names)";

/// The fewest distinct names an operation keeps before folding (expansion needs two).
const MIN_FOLD_AFTER: u32 = 2;

/// An operation as string ids: verb, group, resource, subresource, namespace.
type Operation = [u32; 5];

/// The table hash of the "many names" entry of an operation (the same in every aggregate of
/// a run, like request hashes).
fn folded_hash(verb: &str, group: &str, resource: &str, subresource: &str, namespace: &str) -> u32 {
    hash_of(&(
        "\0many-names",
        verb,
        group,
        resource,
        subresource,
        namespace,
    )) as u32
}

/// The hasher of request keys and strings: the same in every aggregate of a run (so that a
/// stored hash can be reused when merging), seeded at random once per process.
fn hasher() -> foldhash::fast::FixedState {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0x6175_6469_7432_726fu64)
    });
    foldhash::fast::FixedState::with_seed(seed)
}

fn hash_of<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    use std::hash::BuildHasher;
    hasher().hash_one(value)
}

/// The 32-bit hash of a logged request: its strings' bytes, one `write` each, without the
/// terminators and variant tag of the derived `Hash` (fewer rounds per event). Strings that
/// split differently may collide; lookups compare every string, so that costs only a probe.
fn request_hash(request: &RequestRef<'_>) -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = hasher().build_hasher();
    h.write(request.verb.as_bytes());
    match request.target {
        TargetRef::Resource(r) => {
            for field in [r.api_group, r.resource, r.subresource, r.namespace, r.name] {
                h.write(field.as_bytes());
            }
        }
        TargetRef::NonResource { path } => h.write(path.as_bytes()),
    }
    h.finish() as u32
}

/// A 32-bit request hash as a table hash: low bits pick the bucket, high bits tag it.
fn table_hash(h: u32) -> u64 {
    u64::from(h) | (u64::from(h) << 32)
}

/// Interned strings: each distinct string once, named by a `u32` id.
#[derive(Clone, Default)]
struct Strings {
    text: String,
    /// End offset in `text` of each string; string `i` starts where `i - 1` ends.
    ends: Vec<usize>,
    index: HashTable<u32>,
}

/// Where string `id` is in the text: it starts where string `id - 1` ends.
#[inline]
fn span(ends: &[usize], id: u32) -> std::ops::Range<usize> {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    start..ends[i]
}

fn string_at<'a>(text: &'a str, ends: &[usize], id: u32) -> &'a str {
    &text[span(ends, id)]
}

/// String `id` as bytes: what comparisons need, without the char boundary checks of
/// [`string_at`].
#[inline]
fn bytes_at<'a>(text: &'a str, ends: &[usize], id: u32) -> &'a [u8] {
    &text.as_bytes()[span(ends, id)]
}

impl Strings {
    fn get(&self, id: u32) -> &str {
        string_at(&self.text, &self.ends, id)
    }

    /// Whether string `id` is `s`.
    #[inline]
    fn is(&self, id: u32, s: &str) -> bool {
        bytes_at(&self.text, &self.ends, id) == s.as_bytes()
    }

    /// `s` interned, trying `hint` (any id, even none) first: the id `s` had in a request
    /// just seen, which saves hashing and probing when it is again the same string.
    #[inline]
    fn intern_hinted(&mut self, hint: u32, s: &str) -> u32 {
        if (hint as usize) < self.ends.len() && self.is(hint, s) {
            hint
        } else {
            self.intern(s)
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn find(&self, s: &str) -> Option<u32> {
        self.index.find(hash_of(s), |&id| self.is(id, s)).copied()
    }

    fn intern(&mut self, s: &str) -> u32 {
        let Strings { text, ends, index } = self;
        let h = hash_of(s);
        let found = index
            .find(h, |&id| bytes_at(text, ends, id) == s.as_bytes())
            .copied();
        if let Some(id) = found {
            return id;
        }
        let id = u32::try_from(ends.len())
            .ok()
            .filter(|&id| id < FOLDED)
            .expect("fewer than 2^32 - 3 distinct strings per subject");
        text.push_str(s);
        ends.push(text.len());
        index.insert_unique(h, id, |&i| hash_of(string_at(text, ends, i)));
        id
    }
}

/// A distinct request as string ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    verb: u32,
    /// [`NON_RESOURCE`] for a non-resource request.
    api_group: u32,
    /// The resource, or the path of a non-resource request.
    resource: u32,
    subresource: u32,
    namespace: u32,
    /// [`FOLDED`] for the "many names" entry of the operation.
    name: u32,
}

impl Default for Key {
    /// No request: every id [`NONE`].
    fn default() -> Key {
        Key {
            verb: NONE,
            api_group: NONE,
            resource: NONE,
            subresource: NONE,
            namespace: NONE,
            name: NONE,
        }
    }
}

impl Key {
    fn operation(&self) -> Operation {
        [
            self.verb,
            self.api_group,
            self.resource,
            self.subresource,
            self.namespace,
        ]
    }

    /// A resource request with a name, other than impersonation: what may fold.
    fn is_named_resource(&self, strings: &Strings) -> bool {
        self.api_group != NON_RESOURCE
            && self.name != FOLDED
            && self.name != NONE
            && !strings.get(self.name).is_empty()
            // Impersonation is granted by name: its names never fold.
            && strings.get(self.verb) != "impersonate"
    }
}

/// One (request, group set) pair with its evidence.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: Key,
    /// The request's hash (low 32 bits).
    hash: u32,
    group_set: u32,
    /// The next entry of the same request (another group set), or [`NONE`].
    next: u32,
    evidence: Evidence,
}

/// The distinct requests of one subject: strings interned per subject, one entry per
/// (request, group set) pair, entries of a request chained in the order recorded.
#[derive(Clone, Default)]
pub struct Requests {
    strings: Strings,
    entries: Vec<Entry>,
    /// The first entry of each distinct request, in the order recorded.
    heads: Vec<u32>,
    /// Head entries by request hash.
    index: HashTable<u32>,
    /// K when names fold (see the module comment), else 0.
    fold_after: u32,
    /// With folding: distinct non-empty names recorded (not folded) per operation. Never
    /// more than the real count, so a folded entry always has K real names beside it.
    names_per_operation: HashMap<Operation, u32>,
    /// The key of the request last recorded: hints for interning the next new one, whose
    /// verb, group, resource or namespace are often the same (see [`Strings::intern_hinted`]).
    last: Key,
}

impl std::fmt::Debug for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Requests {
    /// Number of distinct requests.
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    fn clear(&mut self) {
        self.strings.text.clear();
        self.strings.ends.clear();
        self.strings.index.clear();
        self.entries.clear();
        self.heads.clear();
        self.index.clear();
        self.fold_after = 0;
        self.names_per_operation.clear();
        self.last = Key::default();
    }

    /// Folds new names of an operation once it has `after` distinct names (at least two).
    fn set_fold(&mut self, after: Option<u32>) {
        if let Some(k) = after {
            self.fold_after = k.max(MIN_FOLD_AFTER);
        }
    }

    /// Number of "many names" entries (one per operation that folded names).
    pub fn folded(&self) -> usize {
        self.heads
            .iter()
            .filter(|&&h| self.entries[h as usize].key.name == FOLDED)
            .count()
    }

    /// Counts a new distinct request of ours for folding.
    fn note_new(&mut self, key: &Key) {
        if self.fold_after > 0 && key.is_named_resource(&self.strings) {
            *self.names_per_operation.entry(key.operation()).or_default() += 1;
        }
    }

    /// Whether a new name of `operation` folds.
    fn folds(&self, operation: &Operation) -> bool {
        self.fold_after > 0
            && self
                .names_per_operation
                .get(operation)
                .is_some_and(|&n| n >= self.fold_after)
    }

    /// The "many names" entry of `operation` for `group_set`, created when missing.
    fn folded_entry(&mut self, operation: &Operation, hash: u32, group_set: u32) -> u32 {
        let [verb, api_group, resource, subresource, namespace] = *operation;
        let key = Key {
            verb,
            api_group,
            resource,
            subresource,
            namespace,
            name: FOLDED,
        };
        let head = self
            .index
            .find(table_hash(hash), |&e| self.entries[e as usize].key == key)
            .copied();
        match head {
            None => self.push(key, hash, group_set, None),
            Some(h) => match self.in_chain(h, group_set) {
                Ok(at) => at,
                Err(tail) => self.push(key, hash, group_set, Some(tail)),
            },
        }
    }

    fn request_at(&self, entry: u32) -> RequestRef<'_> {
        let k = &self.entries[entry as usize].key;
        let s = |id| self.strings.get(id);
        RequestRef {
            verb: s(k.verb),
            target: if k.api_group == NON_RESOURCE {
                TargetRef::NonResource {
                    path: s(k.resource),
                }
            } else {
                TargetRef::Resource(ResourceRef {
                    api_group: s(k.api_group),
                    resource: s(k.resource),
                    subresource: s(k.subresource),
                    namespace: s(k.namespace),
                    name: if k.name == FOLDED {
                        FOLDED_NAME
                    } else {
                        s(k.name)
                    },
                })
            },
        }
    }

    /// Every distinct request with its entries, in the order recorded (see the module
    /// comment: no output depends on it).
    pub fn iter(&self) -> impl Iterator<Item = (RequestRef<'_>, RequestEntries<'_>)> + '_ {
        self.heads.iter().map(move |&h| {
            (
                self.request_at(h),
                RequestEntries {
                    requests: self,
                    at: h,
                },
            )
        })
    }

    /// Every distinct request, sorted by request (as `Request` orders), read in place: the
    /// only copy is one index per request.
    pub fn sorted(&self) -> SortedRequests<'_> {
        let mut heads = self.heads.clone();
        // Stable, so that requests comparing equal keep the order recorded; each request is
        // read out of the aggregate once, not at every comparison.
        heads.sort_by_cached_key(|&h| self.request_at(h));
        SortedRequests {
            requests: self,
            heads,
        }
    }

    /// Every distinct request, in the order recorded.
    pub fn keys(&self) -> impl Iterator<Item = RequestRef<'_>> + '_ {
        self.heads.iter().map(move |&h| self.request_at(h))
    }

    fn find(&self, request: &RequestRef<'_>, hash: u32) -> Option<u32> {
        self.index
            .find(table_hash(hash), |&e| {
                let entry = &self.entries[e as usize];
                entry.hash == hash && self.is(&entry.key, request)
            })
            .copied()
    }

    /// Whether `key` is the logged `request` (never a "many names" entry): field by field,
    /// as bytes, without building the request.
    #[inline]
    fn is(&self, key: &Key, request: &RequestRef<'_>) -> bool {
        let s = &self.strings;
        match request.target {
            TargetRef::Resource(r) => {
                key.api_group != NON_RESOURCE
                    && key.name != FOLDED
                    && s.is(key.name, r.name)
                    && s.is(key.resource, r.resource)
                    && s.is(key.namespace, r.namespace)
                    && s.is(key.verb, request.verb)
                    && s.is(key.api_group, r.api_group)
                    && s.is(key.subresource, r.subresource)
            }
            TargetRef::NonResource { path } => {
                key.api_group == NON_RESOURCE
                    && s.is(key.resource, path)
                    && s.is(key.verb, request.verb)
            }
        }
    }

    /// The entries of `request`, when seen.
    pub fn get(&self, request: RequestRef<'_>) -> Option<RequestEntries<'_>> {
        let at = self.find(&request, request_hash(&request))?;
        Some(RequestEntries { requests: self, at })
    }

    /// Appends an entry (linked after `tail` when the request is known, else a new head).
    fn push(&mut self, key: Key, hash: u32, group_set: u32, tail: Option<u32>) -> u32 {
        let id = u32::try_from(self.entries.len())
            .ok()
            .filter(|&id| id != NONE)
            .expect("fewer than 2^32 - 1 distinct requests per subject");
        self.entries.push(Entry {
            key,
            hash,
            group_set,
            next: NONE,
            evidence: Evidence::default(),
        });
        match tail {
            Some(t) => self.entries[t as usize].next = id,
            None => {
                self.heads.push(id);
                let entries = &self.entries;
                self.index.insert_unique(table_hash(hash), id, |&e| {
                    table_hash(entries[e as usize].hash)
                });
            }
        }
        id
    }

    /// The entry for `group_set` in the chain starting at `head`, or its last entry.
    fn in_chain(&self, head: u32, group_set: u32) -> Result<u32, u32> {
        let mut at = head;
        loop {
            let e = &self.entries[at as usize];
            if e.group_set == group_set {
                return Ok(at);
            }
            if e.next == NONE {
                return Err(at);
            }
            at = e.next;
        }
    }

    /// `request` as ids, interning its strings (hinted by the last key recorded).
    fn intern_key(&mut self, request: &RequestRef<'_>) -> Key {
        let last = self.last;
        let strings = &mut self.strings;
        let verb = strings.intern_hinted(last.verb, request.verb);
        match request.target {
            TargetRef::Resource(ResourceRef {
                api_group,
                resource,
                subresource,
                namespace,
                name,
            }) => Key {
                verb,
                api_group: strings.intern_hinted(last.api_group, api_group),
                resource: strings.intern_hinted(last.resource, resource),
                subresource: strings.intern_hinted(last.subresource, subresource),
                namespace: strings.intern_hinted(last.namespace, namespace),
                name: strings.intern_hinted(last.name, name),
            },
            TargetRef::NonResource { path } => Key {
                verb,
                api_group: NON_RESOURCE,
                resource: strings.intern_hinted(last.resource, path),
                subresource: NONE,
                namespace: NONE,
                name: NONE,
            },
        }
    }

    fn evidence_mut(&mut self, request: RequestRef<'_>, group_set: u32) -> &mut Evidence {
        let hash = request_hash(&request);
        let at = match self.find(&request, hash) {
            Some(head) => match self.in_chain(head, group_set) {
                Ok(at) => at,
                Err(tail) => {
                    let key = self.entries[head as usize].key;
                    self.push(key, hash, group_set, Some(tail))
                }
            },
            None => match self.fold_target(&request) {
                Some((operation, hash)) => self.folded_entry(&operation, hash, group_set),
                None => {
                    let key = self.intern_key(&request);
                    self.last = key;
                    self.note_new(&key);
                    self.push(key, hash, group_set, None)
                }
            },
        };
        &mut self.entries[at as usize].evidence
    }

    /// For a request not recorded yet: its operation and folded hash when it folds.
    fn fold_target(&self, request: &RequestRef<'_>) -> Option<(Operation, u32)> {
        if self.fold_after == 0 {
            return None;
        }
        let TargetRef::Resource(ResourceRef {
            api_group,
            resource,
            subresource,
            namespace,
            name,
        }) = request.target
        else {
            return None;
        };
        // Impersonation is always granted by name, so its names never fold.
        if name.is_empty() || request.verb == "impersonate" {
            return None;
        }
        let id = |s: &str| self.strings.find(s);
        let operation = [
            id(request.verb)?,
            id(api_group)?,
            id(resource)?,
            id(subresource)?,
            id(namespace)?,
        ];
        self.folds(&operation).then(|| {
            let hash = folded_hash(request.verb, api_group, resource, subresource, namespace);
            (operation, hash)
        })
    }

    /// Adds `other`'s entries, its group set `g` taken as `remap[g]`. Strings are looked up
    /// once per distinct string of `other`, so requests compare as ids.
    fn merge(&mut self, other: &Requests, remap: &[u32]) {
        // Our id for each of other's strings: NONE when not looked up yet, ABSENT when we
        // do not have it (then no request of ours uses it).
        let mut ids = vec![NONE; other.strings.len()];
        self.fold_after = self.fold_after.max(other.fold_after);
        for &head in &other.heads {
            let first = &other.entries[head as usize];
            let mut hash = first.hash;
            let mapped = self.mapped_key(&first.key, other, &mut ids);
            let mut mine = mapped.and_then(|key| {
                self.index
                    .find(table_hash(hash), |&e| self.entries[e as usize].key == key)
                    .copied()
            });
            // A name new to us, of an operation that already has K names here: folded.
            let mut folded_into = None;
            if mine.is_none() && self.fold_after > 0 && first.key.is_named_resource(&other.strings)
            {
                let operation = Key {
                    name: NONE,
                    ..first.key
                };
                if let Some(op) = self.mapped_key(&operation, other, &mut ids) {
                    let operation = op.operation();
                    if self.folds(&operation) {
                        let s = |id| other.strings.get(id);
                        let k = &first.key;
                        hash = folded_hash(
                            s(k.verb),
                            s(k.api_group),
                            s(k.resource),
                            s(k.subresource),
                            s(k.namespace),
                        );
                        folded_into = Some(operation);
                    }
                }
            }
            let mut at = head;
            while at != NONE {
                let theirs = &other.entries[at as usize];
                let g = remap[theirs.group_set as usize];
                let target = match (folded_into, mine) {
                    (Some(operation), _) => self.folded_entry(&operation, hash, g),
                    (None, None) => {
                        let key = self.interned_key(&theirs.key, other, &mut ids);
                        self.note_new(&key);
                        let id = self.push(key, hash, g, None);
                        mine = Some(id);
                        id
                    }
                    (None, Some(h)) => match self.in_chain(h, g) {
                        Ok(id) => id,
                        Err(tail) => {
                            let key = self.entries[h as usize].key;
                            self.push(key, hash, g, Some(tail))
                        }
                    },
                };
                let entry = &mut self.entries[target as usize];
                entry.evidence.merge(&theirs.evidence);
                at = theirs.next;
            }
        }
    }

    /// `key` of `other` in our ids, or `None` when we lack one of its strings.
    fn mapped_key(&self, key: &Key, other: &Requests, ids: &mut [u32]) -> Option<Key> {
        let mut map = |id: u32| -> Option<u32> {
            if id == NONE || id == FOLDED {
                return Some(id);
            }
            let slot = &mut ids[id as usize];
            if *slot == NONE {
                *slot = self.strings.find(other.strings.get(id)).unwrap_or(ABSENT);
            }
            (*slot != ABSENT).then_some(*slot)
        };
        Some(Key {
            verb: map(key.verb)?,
            api_group: map(key.api_group)?,
            resource: map(key.resource)?,
            subresource: map(key.subresource)?,
            namespace: map(key.namespace)?,
            name: map(key.name)?,
        })
    }

    /// `key` of `other` in our ids, interning the strings we lack.
    fn interned_key(&mut self, key: &Key, other: &Requests, ids: &mut [u32]) -> Key {
        let mut map = |id: u32| -> u32 {
            if id == NONE || id == FOLDED {
                return id;
            }
            let slot = &mut ids[id as usize];
            if *slot == NONE || *slot == ABSENT {
                *slot = self.strings.intern(other.strings.get(id));
            }
            *slot
        };
        Key {
            verb: map(key.verb),
            api_group: map(key.api_group),
            resource: map(key.resource),
            subresource: map(key.subresource),
            namespace: map(key.namespace),
            name: map(key.name),
        }
    }
}

/// The entries of one distinct request: `(group set index, evidence)` in the order
/// recorded.
#[derive(Clone, Copy)]
pub struct RequestEntries<'a> {
    requests: &'a Requests,
    at: u32,
}

/// A resource request's strings as ids of its subject's aggregate: within one subject, equal
/// ids are equal strings, so they can be hashed and compared as numbers. The "many names"
/// entry has a name id of its own, which no logged name shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestIds {
    /// Verb, API group, resource, subresource.
    pub operation: [u32; 4],
    pub namespace: u32,
    pub name: u32,
}

impl RequestEntries<'_> {
    /// The ids of the request these entries belong to.
    pub fn ids(&self) -> RequestIds {
        let k = match self.requests.entries.get(self.at as usize) {
            Some(e) => e.key,
            None => Key::default(),
        };
        RequestIds {
            operation: [k.verb, k.api_group, k.resource, k.subresource],
            namespace: k.namespace,
            name: k.name,
        }
    }

    /// The evidence summed over group sets.
    pub fn total(&self) -> Evidence {
        let mut total = Evidence::default();
        for e in self.chain() {
            total.merge(&e.evidence);
        }
        total
    }

    fn chain(&self) -> impl Iterator<Item = &Entry> + '_ {
        let entries = &self.requests.entries;
        let mut at = self.at;
        std::iter::from_fn(move || {
            let e = entries.get(at as usize)?;
            at = e.next;
            Some(e)
        })
    }
}

impl Iterator for RequestEntries<'_> {
    type Item = (u32, Evidence);

    fn next(&mut self) -> Option<(u32, Evidence)> {
        let e = self.requests.entries.get(self.at as usize)?;
        self.at = e.next;
        Some((e.group_set, e.evidence))
    }
}

impl std::fmt::Debug for RequestEntries<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(*self).finish()
    }
}

/// The distinct requests of one subject in request order (see [`Requests::sorted`]).
pub struct SortedRequests<'a> {
    requests: &'a Requests,
    heads: Vec<u32>,
}

impl<'a> SortedRequests<'a> {
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// The request at `position` in the order, with its entries.
    pub fn get(&self, position: usize) -> Option<(RequestRef<'a>, RequestEntries<'a>)> {
        let h = *self.heads.get(position)?;
        Some(self.at(h))
    }

    /// Every request with its entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (RequestRef<'a>, RequestEntries<'a>)> + '_ {
        self.heads.iter().map(|&h| self.at(h))
    }

    fn at(&self, head: u32) -> (RequestRef<'a>, RequestEntries<'a>) {
        let requests: &'a Requests = self.requests;
        (
            requests.request_at(head),
            RequestEntries { requests, at: head },
        )
    }
}

pub use crate::request::select::Filter;

/// Subject name → aggregate.
#[derive(Clone, Debug, Default)]
pub struct Aggregate {
    pub subjects: HashMap<String, SubjectAggregate>,
    /// Emptied subject aggregates, reused for new subjects (see [`Aggregate::recycle`]).
    spare: Vec<SubjectAggregate>,
    /// Name folding for every subject of this aggregate (see the module comment), set once.
    fold_names_after: Option<u32>,
}

impl Aggregate {
    /// An empty aggregate whose subjects fold names once an operation has `after` distinct
    /// ones (`None`: every name is kept). Only for output that cannot depend on the names
    /// folded (see the module comment).
    pub fn folding_names_after(after: Option<u32>) -> Aggregate {
        Aggregate {
            fold_names_after: after,
            ..Aggregate::default()
        }
    }

    fn subject_mut(&mut self, name: &str) -> &mut SubjectAggregate {
        let Aggregate {
            subjects,
            spare,
            fold_names_after,
        } = self;
        subjects.entry_ref(name).or_insert_with(|| {
            let mut sub = spare.pop().unwrap_or_default();
            sub.requests.set_fold(*fold_names_after);
            sub
        })
    }

    /// Empties the aggregate for reuse, keeping its subjects' tables allocated (so that a
    /// worker aggregating block after block does not allocate them again).
    pub fn recycle(&mut self) {
        let Aggregate {
            subjects, spare, ..
        } = self;
        for (_, mut sub) in subjects.drain() {
            sub.clear();
            spare.push(sub);
        }
    }

    /// Adds one normalized event: its request for the subject, and its impersonation checks
    /// for the impersonator, each when the filter wants it.
    pub fn add(&mut self, event: &Normalized<'_>, filter: &Filter) {
        if !filter.wants_time(event.time) {
            return;
        }
        let request = event.request();
        if filter.wants_subject(event.subject) && filter.wants_request(&request) {
            let sub = self.subject_mut(event.subject);
            sub.record(
                request,
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
                        let sub = self.subject_mut(impersonator);
                        sub.record(r, groups, event.stage, event.time, false);
                    }
                }
            }
        }
    }

    pub fn merge(&mut self, other: &Aggregate) {
        for (name, sub) in &other.subjects {
            match self.subjects.get_mut(name) {
                Some(mine) => mine.merge(sub),
                None => {
                    self.subjects.insert(name.clone(), sub.clone());
                }
            }
        }
    }

    /// [`Aggregate::merge`], taking `other` by value to move its keys. Subjects both have
    /// are merged in parallel on the worker pool: each merge is the subject's own.
    pub fn merge_owned(&mut self, other: Aggregate) {
        if self.subjects.is_empty() {
            *self = other;
            return;
        }
        let mut both: Vec<(String, SubjectAggregate, SubjectAggregate)> = Vec::new();
        for (name, sub) in other.subjects {
            match self.subjects.remove(&name) {
                Some(mine) => both.push((name, mine, sub)),
                None => {
                    self.subjects.insert(name, sub);
                }
            }
        }
        both.par_iter_mut()
            .for_each(|(_, mine, theirs)| mine.merge_owned(std::mem::take(theirs)));
        self.subjects
            .extend(both.into_iter().map(|(name, mine, _)| (name, mine)));
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

    #[test]
    fn merged_entries_keep_the_order_first_seen() {
        let x = Request::non_resource("get", "/x");
        let y = Request::non_resource("get", "/y");
        let events: [(&Request, &str, i64); 5] = [
            (&x, "a", 1),
            (&y, "b", 2),
            (&y, "a", 3),
            (&x, "c", 4),
            (&y, "b", 5),
        ];
        let mut whole = SubjectAggregate::default();
        for (r, g, t) in events {
            whole.record(r.as_ref(), &[g], Stage::Completed, Some(t), false);
        }
        for cut in 0..=events.len() {
            let mut a = SubjectAggregate::default();
            let mut b = SubjectAggregate::default();
            for (i, (r, g, t)) in events.into_iter().enumerate() {
                let part = if i < cut { &mut a } else { &mut b };
                part.record(r.as_ref(), &[g], Stage::Completed, Some(t), false);
            }
            a.merge_owned(b);
            assert_eq!(a.group_sets, whole.group_sets);
            assert_eq!(format!("{:?}", a.requests), format!("{:?}", whole.requests));
        }
        let y_entries: Vec<(u32, Evidence)> = whole.requests.get(y.as_ref()).unwrap().collect();
        assert_eq!(y_entries.len(), 2);
        assert_eq!(
            (y_entries[0].0, y_entries[0].1.first, y_entries[0].1.last),
            (1, Some(2), Some(5))
        );
    }

    #[test]
    fn evidence_with_one_time_only_round_trips() {
        let e = Evidence {
            completed: 2,
            first: Some(7),
            ..Evidence::default()
        };
        let mut s = SubjectAggregate::default();
        s.add_evidence(Request::non_resource("get", "/x").as_ref(), &[], &e);
        assert_eq!(s.evidence_by_request()[0].1, e);
    }

    #[test]
    fn sorted_requests_come_in_request_order_with_their_entries() {
        let paths = ["/z", "/a", "/m", "/b"];
        let mut s = SubjectAggregate::default();
        for (i, p) in paths.iter().enumerate() {
            let r = Request::non_resource("get", p);
            s.record(r.as_ref(), &["g"], Stage::Completed, Some(i as i64), false);
            if i % 2 == 0 {
                s.record(r.as_ref(), &["h"], Stage::Completed, Some(10), false);
            }
        }
        let sorted = s.requests.sorted();
        assert_eq!(sorted.len(), paths.len());
        let seen: Vec<(String, usize, u64)> = sorted
            .iter()
            .map(|(r, e)| (r.to_string(), e.count(), e.total().count()))
            .collect();
        assert_eq!(
            seen,
            [
                ("get /a".to_string(), 1, 1),
                ("get /b".to_string(), 1, 1),
                ("get /m".to_string(), 2, 2),
                ("get /z".to_string(), 2, 2),
            ]
        );
        assert_eq!(
            sorted.get(3).map(|(r, _)| r.to_string()),
            Some("get /z".into())
        );
        assert!(sorted.get(4).is_none());
    }
}
