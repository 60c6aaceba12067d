//! Generation: the distinct requests of one subject → the RBAC objects that allow them,
//! under the chosen [`Policy`] (verb expansion, many namespaces → cluster-wide, many names →
//! any name; strict mode with none of these). [`generate_from`] runs small pure steps, each
//! with a table of cases in the tests below:
//!
//! 1. `allowed_for_every`: a request the existing RBAC allows for every identity it was made
//!    as needs nothing, and does not count for expansion.
//! 2. `ExpansionIndex::new`: the namespaces and names each operation still needed was seen
//!    with; `ExpansionIndex::widen` turns a request into the one to grant (cluster-wide, any
//!    name) when the policy expands it.
//! 3. `request_atoms`: the atoms (one verb on one resource or URL) that grant a widened
//!    request, with the verbs the policy adds (`granted_verbs`); URL paths ending in `*`
//!    are refused.
//! 4. `drop_covered`: atoms the existing RBAC grants, namespaced atoms the cluster scope
//!    grants and named atoms an any-name atom grants go.
//! 5. `build_objects`: a Role and RoleBinding per namespace, a ClusterRole and
//!    ClusterRoleBinding for the cluster scope, rules compacted; objects come out sorted.
//!
//! The observed requests are read in place from the subject's aggregate ([`Observations`]):
//! nothing is copied per request.

use crate::aggregate::{Evidence, RequestEntries, RequestIds, SubjectAggregate, Totals};
use crate::rbac::authorize::UserRules;
use crate::rbac::compact::{compact, drop_redundant, Atom};
use crate::rbac::{
    Authorizer, ClusterRole, ObjectMeta, RbacSet, Role, RoleBinding, RoleRef, Subject, RBAC_GROUP,
};
use crate::request::{
    split_service_account, Request, RequestRef, ResourceRef, TargetRef, UserInfo,
};
use foldhash::{HashMap, HashMapExt, HashSet};
use std::collections::{BTreeMap, BTreeSet};

/// Generation knobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Extra verbs granted with an observed verb (watch/list → get,list,watch; ...).
    pub verb_expansions: BTreeMap<String, Vec<String>>,
    /// Grant the `verb_expansions` of each observed verb.
    pub expand_verbs: bool,
    /// The same operation in several namespaces → cluster-wide.
    pub expand_multi_namespace: bool,
    /// The same operation on several names → any name.
    pub expand_multi_name: bool,
    /// Grant exactly what was observed (plus the implied checks the server makes).
    pub strict: bool,
}

impl Default for Policy {
    fn default() -> Self {
        let expansions = [
            ("watch", ["get", "list"]),
            ("list", ["get", "watch"]),
            ("update", ["get", "patch"]),
            ("patch", ["get", "update"]),
        ];
        Policy {
            verb_expansions: expansions
                .iter()
                .map(|(v, e)| (v.to_string(), e.iter().map(|s| s.to_string()).collect()))
                .collect(),
            expand_verbs: true,
            expand_multi_namespace: true,
            expand_multi_name: true,
            strict: false,
        }
    }
}

impl Policy {
    /// Strict mode: no expansion of any kind.
    pub fn strict() -> Policy {
        Policy {
            expand_verbs: false,
            expand_multi_namespace: false,
            expand_multi_name: false,
            strict: true,
            ..Policy::default()
        }
    }
}

/// Names, labels and annotations of the generated objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Naming {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// The identities one observed request was made as: the group sets of its aggregate
/// entries, indexing the subject's identities.
#[derive(Clone, Copy)]
pub struct Users<'a> {
    pub entries: RequestEntries<'a>,
    /// The identity of each group set index.
    pub identities: &'a [UserInfo],
}

impl<'a> Users<'a> {
    pub fn iter(self) -> impl Iterator<Item = &'a UserInfo> {
        self.each_of(self.identities)
    }

    /// What `per_identity` holds for each of these identities: `per_identity` is indexed
    /// like the subject's identities (their rules, say).
    pub fn each_of<'t, T>(
        self,
        per_identity: &'t [T],
    ) -> impl Iterator<Item = &'t T> + use<'t, 'a, T> {
        self.entries
            .filter_map(move |(g, _)| per_identity.get(g as usize))
    }
}

/// One observed request as generation and review read it, borrowed from the aggregate.
#[derive(Clone, Copy)]
pub struct Observation<'a> {
    pub request: RequestRef<'a>,
    pub users: Users<'a>,
}

impl Observation<'_> {
    /// The request's strings as the aggregate's ids.
    pub fn ids(&self) -> RequestIds {
        self.users.entries.ids()
    }

    /// What the log says about the request, summed over the identities it was made as.
    pub fn evidence(&self) -> Evidence {
        self.users.entries.total()
    }
}

/// The observed requests of one subject: its aggregate, read in place. Generation and
/// review only iterate over them, so memory stays the aggregate plus what the output needs.
pub struct Observations<'a> {
    pub requests: &'a crate::aggregate::Requests,
    /// The identity of each group set index.
    pub identities: Vec<UserInfo>,
}

impl<'a> Observations<'a> {
    /// The requests of subject `name` in `aggregate`, read in place.
    pub fn of_aggregate(name: &str, aggregate: &'a SubjectAggregate) -> Observations<'a> {
        Observations {
            requests: &aggregate.requests,
            identities: aggregate.user_infos(name),
        }
    }

    /// Every observed request, in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = Observation<'_>> + '_ {
        self.requests.iter().map(|(request, entries)| Observation {
            request,
            users: Users {
                entries,
                identities: &self.identities,
            },
        })
    }

    /// Number of distinct requests.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every identity any request was made as, sorted, without duplicates.
    pub fn all_users(&self) -> Vec<UserInfo> {
        let mut used = vec![false; self.identities.len()];
        for (_, entries) in self.requests.iter() {
            for (g, _) in entries {
                if let Some(slot) = used.get_mut(g as usize) {
                    *slot = true;
                }
            }
        }
        let mut users: Vec<UserInfo> = self
            .identities
            .iter()
            .zip(used)
            .filter(|(_, used)| *used)
            .map(|(u, _)| u.clone())
            .collect();
        users.sort();
        users.dedup();
        users
    }

    /// All requests added up.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for o in self.iter() {
            totals.add(&o.evidence());
        }
        totals
    }
}

/// Atoms per scope: a namespace, or `""` for the ClusterRole.
pub type ScopedAtoms = BTreeMap<String, BTreeSet<Atom>>;

/// What generation produced for one subject.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    pub rbac: RbacSet,
    /// Atoms granted per scope, after removing what is covered.
    pub atoms: ScopedAtoms,
    /// Observed requests the existing RBAC already allowed.
    pub already_allowed: usize,
    /// Observed requests that no rule can grant without a wildcard (a URL path ending in
    /// `*`): left out, to be reviewed by hand.
    pub refused: Vec<Request>,
}

/// The binding subject for a user name.
pub fn binding_subject(username: &str) -> Subject {
    match split_service_account(username) {
        Some((namespace, name)) => Subject {
            kind: "ServiceAccount".to_string(),
            api_group: String::new(),
            name: name.to_string(),
            namespace: namespace.to_string(),
        },
        None => Subject {
            kind: "User".to_string(),
            api_group: RBAC_GROUP.to_string(),
            name: username.to_string(),
            namespace: String::new(),
        },
    }
}

/// Generates RBAC for `subject` from its observed requests: the steps of the module
/// comment, in order.
pub fn generate_from(
    subject: &str,
    observed: &Observations<'_>,
    existing: &Authorizer,
    policy: &Policy,
    naming: &Naming,
) -> Generated {
    // Only what the existing RBAC does not allow yet counts for expansion: a request allowed
    // in one namespace must not make its twin in another cluster-wide.
    let rules: Vec<UserRules> = observed
        .identities
        .iter()
        .map(|u| existing.user_rules(u))
        .collect();
    let (allowed, needed): (Vec<_>, Vec<_>) = observed
        .iter()
        .partition(|o| allowed_for_every(o.users.each_of(&rules), o.request));
    let already_allowed = allowed.len();
    let index = ExpansionIndex::new(needed.iter().map(|o| (o.request, o.ids())), policy);
    // Atoms are gathered borrowed, in a hash set (many requests widen to the same atom),
    // and become owned and ordered once, at the end.
    let mut wanted: HashSet<(&str, AtomKey<'_>)> = HashSet::default();
    // Resource requests that widen alike grant alike: each widened request (as ids) once.
    let mut widened_seen: HashSet<WidenedIds> = HashSet::default();
    let mut refused = Vec::new();
    for o in &needed {
        let ids = o.ids();
        let widened = index.widen(o.request, &ids);
        if let TargetRef::Resource(r) = widened.target {
            if !widened_seen.insert(WidenedIds::of(&ids, &r)) {
                continue;
            }
        }
        match request_atom_keys(widened, policy) {
            RequestAtoms::Grant { scope, atoms } => {
                wanted.extend(atoms.into_iter().map(|a| (scope, a)))
            }
            RequestAtoms::Refused => refused.push(o.request.to_owned_request()),
        }
    }
    // In request order, whatever order the aggregate first saw them in.
    refused.sort();
    let atoms = drop_covered(scoped_atoms(wanted), existing, &observed.all_users());
    Generated {
        rbac: build_objects(subject, &atoms, naming),
        atoms,
        already_allowed,
        refused,
    }
}

/// An operation (verb, group, resource, subresource) as ids, with a name or a namespace id
/// when it is kept apart by that (see `ExpansionIndex::keys`): what must match for
/// namespace and name expansion.
type OperationKey = ([u32; 4], Option<u32>);

/// A widened resource request as ids: its operation, and its namespace and name ids, `None`
/// where widening made them any. Equal keys are equal widened requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct WidenedIds {
    operation: [u32; 4],
    namespace: Option<u32>,
    name: Option<u32>,
}

impl WidenedIds {
    /// The key of `widened`, the widening of the request with `ids`.
    fn of(ids: &RequestIds, widened: &ResourceRef<'_>) -> WidenedIds {
        WidenedIds {
            operation: ids.operation,
            namespace: (!widened.namespace.is_empty()).then_some(ids.namespace),
            name: (!widened.name.is_empty()).then_some(ids.name),
        }
    }
}

/// Up to two distinct ids of non-empty values: enough to answer "was another one seen?".
#[derive(Debug, Default)]
struct Distinct([Option<u32>; 2]);

impl Distinct {
    fn add(&mut self, id: u32, value: &str) {
        if value.is_empty() || self.0.contains(&Some(id)) {
            return;
        }
        if let Some(slot) = self.0.iter_mut().find(|s| s.is_none()) {
            *slot = Some(id);
        }
    }

    /// Whether a non-empty value other than the one of `id` was seen.
    fn has_other_than(&self, id: u32) -> bool {
        self.0.iter().flatten().any(|v| *v != id)
    }
}

/// Step 1: what the expansions ask of the other requests of the same operation, as at most
/// two distinct values per key, so that each question takes constant time: the namespaces
/// an operation (or, without name expansion, an operation on one name) was seen in, and the
/// names it was seen on (anywhere, or, without namespace expansion, in one namespace).
/// Keyed by the aggregate's string ids: hashing and comparing numbers, not strings.
#[derive(Debug)]
struct ExpansionIndex {
    expand_multi_namespace: bool,
    expand_multi_name: bool,
    namespaces_of: HashMap<OperationKey, Distinct>,
    names_of: HashMap<OperationKey, Distinct>,
}

impl ExpansionIndex {
    /// The index of `requests`, each with its ids.
    fn new<'a>(
        requests: impl IntoIterator<Item = (RequestRef<'a>, RequestIds)>,
        policy: &Policy,
    ) -> Self {
        let mut index = ExpansionIndex {
            expand_multi_namespace: policy.expand_multi_namespace,
            expand_multi_name: policy.expand_multi_name,
            namespaces_of: HashMap::new(),
            names_of: HashMap::new(),
        };
        for (request, ids) in requests {
            if let TargetRef::Resource(r) = request.target {
                let (namespaces_key, names_key) = index.keys(&ids);
                index
                    .namespaces_of
                    .entry(namespaces_key)
                    .or_default()
                    .add(ids.namespace, r.namespace);
                index
                    .names_of
                    .entry(names_key)
                    .or_default()
                    .add(ids.name, r.name);
            }
        }
        index
    }

    /// The keys of `namespaces_of` and `names_of` for a request with `ids`.
    fn keys(&self, ids: &RequestIds) -> (OperationKey, OperationKey) {
        let name_scope = (!self.expand_multi_name).then_some(ids.name);
        let namespace_scope = (!self.expand_multi_namespace).then_some(ids.namespace);
        (
            (ids.operation, name_scope),
            (ids.operation, namespace_scope),
        )
    }

    /// The request to grant for `request` (with `ids`): cluster-wide when the same
    /// operation was seen in another namespace, on any name when it was seen on another
    /// name (each when the policy expands it). Non-resource requests are granted as they
    /// are, and so is impersonation, whatever the policy: taking on another identity is
    /// granted for that user, group, uid or extra value, and a service account in its own
    /// namespace.
    fn widen<'a>(&self, request: RequestRef<'a>, ids: &RequestIds) -> RequestRef<'a> {
        let TargetRef::Resource(mut r) = request.target else {
            return request;
        };
        if request.verb == "impersonate" {
            return request;
        }
        let (namespaces_key, names_key) = self.keys(ids);
        let seen_another = |values: Option<&Distinct>, id: u32, value: &str| {
            !value.is_empty() && values.is_some_and(|d| d.has_other_than(id))
        };
        if self.expand_multi_namespace
            && seen_another(
                self.namespaces_of.get(&namespaces_key),
                ids.namespace,
                r.namespace,
            )
        {
            r.namespace = "";
        }
        if self.expand_multi_name && seen_another(self.names_of.get(&names_key), ids.name, r.name) {
            r.name = "";
        }
        RequestRef {
            verb: request.verb,
            target: TargetRef::Resource(r),
        }
    }
}

/// Step 2: does the existing RBAC allow `request` for every one of the users whose `rules`
/// these are (and is there at least one)?
fn allowed_for_every<'u, 'r: 'u>(
    rules: impl IntoIterator<Item = &'u UserRules<'r>>,
    request: RequestRef<'_>,
) -> bool {
    let mut any = false;
    for user_rules in rules {
        if !user_rules.allows(request) {
            return false;
        }
        any = true;
    }
    any
}

/// What granting one request takes; `A`, the atom, borrowed ([`AtomKey`]) or owned.
#[derive(Debug, PartialEq, Eq)]
enum RequestAtoms<'a, A = Atom> {
    /// These atoms in `scope` (a namespace; `""` = the cluster scope).
    Grant { scope: &'a str, atoms: Vec<A> },
    /// A URL path ending in `*`: a trailing `*` in a rule is a prefix wildcard, so granting
    /// the path literally would grant every path it prefixes.
    Refused,
}

/// An [`Atom`] borrowed from the request (and policy) it comes from: hashed and compared
/// without allocating. Two keys are equal when their atoms are (a resource name can hold no
/// `/`, so `resource` and `subresource` apart say what `resource/subresource` says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum AtomKey<'a> {
    Resource {
        api_group: &'a str,
        resource: &'a str,
        subresource: &'a str,
        /// `""`: any name.
        name: &'a str,
        verb: &'a str,
    },
    Url {
        path: &'a str,
        verb: &'a str,
    },
}

impl AtomKey<'_> {
    fn to_atom(self) -> Atom {
        match self {
            AtomKey::Url { path, verb } => Atom::Url {
                path: path.to_string(),
                verb: verb.to_string(),
            },
            AtomKey::Resource {
                api_group,
                resource,
                subresource,
                name,
                verb,
            } => Atom::Resource {
                api_group: api_group.to_string(),
                resource: if subresource.is_empty() {
                    resource.to_string()
                } else {
                    format!("{resource}/{subresource}")
                },
                name: (!name.is_empty()).then(|| name.to_string()),
                verb: verb.to_string(),
            },
        }
    }
}

/// The gathered atoms, owned and ordered per scope (one sort per scope; a key that repeats
/// another's atom adds nothing).
fn scoped_atoms(wanted: HashSet<(&str, AtomKey<'_>)>) -> ScopedAtoms {
    let mut by_scope: HashMap<&str, Vec<Atom>> = HashMap::default();
    for (scope, key) in wanted {
        by_scope.entry(scope).or_default().push(key.to_atom());
    }
    by_scope
        .into_iter()
        .map(|(scope, atoms)| (scope.to_string(), atoms.into_iter().collect()))
        .collect()
}

/// Step 3: the atoms that grant `request` (already widened): one per granted verb, on the
/// request's name (`None` when it has none), in the request's namespace.
#[cfg(test)]
fn request_atoms<'a>(request: RequestRef<'a>, policy: &'a Policy) -> RequestAtoms<'a> {
    match request_atom_keys(request, policy) {
        RequestAtoms::Grant { scope, atoms } => RequestAtoms::Grant {
            scope,
            atoms: atoms.into_iter().map(AtomKey::to_atom).collect(),
        },
        RequestAtoms::Refused => RequestAtoms::Refused,
    }
}

/// Step 3 as generation runs it, with borrowed atoms, in verb order.
fn request_atom_keys<'a>(
    request: RequestRef<'a>,
    policy: &'a Policy,
) -> RequestAtoms<'a, AtomKey<'a>> {
    let verb = request.verb;
    match request.target {
        TargetRef::NonResource { path } if path.ends_with('*') => RequestAtoms::Refused,
        TargetRef::NonResource { path } => RequestAtoms::Grant {
            scope: "",
            atoms: vec![AtomKey::Url { path, verb }],
        },
        TargetRef::Resource(r) => {
            let atoms = granted_verbs(verb, &r, policy)
                .into_iter()
                .map(|verb| AtomKey::Resource {
                    api_group: r.api_group,
                    resource: r.resource,
                    subresource: r.subresource,
                    name: r.name,
                    verb,
                })
                .collect();
            RequestAtoms::Grant {
                scope: r.namespace,
                atoms,
            }
        }
    }
}

/// Subresources whose WebSocket form (`get`) is also checked as `create` by the server.
fn is_streaming(resource: &ResourceRef<'_>) -> bool {
    resource.api_group.is_empty()
        && resource.resource == "pods"
        && matches!(resource.subresource, "exec" | "attach" | "portforward")
}

/// The verbs granted for a request of `verb` on `resource`: the verb, the verbs the policy
/// adds to it, and for exec, attach and portforward both `create` (which the server checks
/// for the WebSocket `get` too) and, outside strict mode, `get`, so that both transports
/// (get over WebSocket, create over SPDY) work.
fn granted_verbs<'v>(
    verb: &'v str,
    resource: &ResourceRef<'_>,
    policy: &'v Policy,
) -> BTreeSet<&'v str> {
    let mut verbs = BTreeSet::from([verb]);
    if policy.expand_verbs {
        if let Some(extra) = policy.verb_expansions.get(verb) {
            verbs.extend(extra.iter().map(String::as_str));
        }
    }
    if is_streaming(resource) && matches!(verb, "get" | "create") {
        verbs.insert("create");
        if !policy.strict {
            verbs.insert("get");
        }
    }
    verbs
}

/// Step 4: `wanted` without what need not be granted again: atoms the existing RBAC grants
/// every one of `users`, namespaced atoms the cluster scope grants, and named atoms an
/// any-name atom of the same scope grants. Scopes left empty go.
fn drop_covered(mut wanted: ScopedAtoms, existing: &Authorizer, users: &[UserInfo]) -> ScopedAtoms {
    let rules: Vec<UserRules> = users.iter().map(|u| existing.user_rules(u)).collect();
    let allowed = |scope: &str, atom: &Atom| allowed_for_every(&rules, atom_request(scope, atom));
    // Sets are filtered in place (strict output can hold an atom per observed request).
    // Namespaced atoms are compared with the cluster scope before it is filtered itself.
    let mut cluster = wanted.remove("").unwrap_or_default();
    let mut kept = ScopedAtoms::new();
    for (scope, mut set) in wanted {
        set.retain(|a| !covered_by_cluster(&cluster, a) && !allowed(&scope, a));
        drop_redundant(&mut set);
        if !set.is_empty() {
            kept.insert(scope, set);
        }
    }
    cluster.retain(|a| !allowed("", a));
    drop_redundant(&mut cluster);
    if !cluster.is_empty() {
        kept.insert(String::new(), cluster);
    }
    kept
}

/// The request `atom` grants in `scope`.
fn atom_request<'a>(scope: &'a str, atom: &'a Atom) -> RequestRef<'a> {
    match atom {
        Atom::Url { path, verb } => RequestRef {
            verb,
            target: TargetRef::NonResource { path },
        },
        Atom::Resource {
            api_group,
            resource,
            name,
            verb,
        } => {
            let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
            RequestRef {
                verb,
                target: TargetRef::Resource(ResourceRef {
                    api_group,
                    resource,
                    subresource,
                    namespace: scope,
                    name: name.as_deref().unwrap_or(""),
                }),
            }
        }
    }
}

/// Does the cluster scope's `cluster` already grant the namespaced `atom` (the same atom,
/// or the same verb on the resource for any name)?
fn covered_by_cluster(cluster: &BTreeSet<Atom>, atom: &Atom) -> bool {
    match atom {
        Atom::Resource {
            api_group,
            resource,
            name,
            verb,
        } => {
            let any_name = Atom::Resource {
                api_group: api_group.clone(),
                resource: resource.clone(),
                name: None,
                verb: verb.clone(),
            };
            cluster.contains(&any_name) || (name.is_some() && cluster.contains(atom))
        }
        Atom::Url { .. } => false,
    }
}

fn meta(naming: &Naming, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: naming.name.clone(),
        namespace: namespace.to_string(),
        labels: naming.labels.clone(),
        annotations: naming.annotations.clone(),
    }
}

/// Step 5: one Role + RoleBinding per namespace and one ClusterRole + ClusterRoleBinding
/// for the cluster scope, sorted, each role's atoms compacted into rules.
fn build_objects(subject: &str, atoms: &ScopedAtoms, naming: &Naming) -> RbacSet {
    let mut set = RbacSet::default();
    let binding = |namespace: &str, kind: &str| RoleBinding {
        metadata: meta(naming, namespace),
        role_ref: RoleRef {
            api_group: RBAC_GROUP.to_string(),
            kind: kind.to_string(),
            name: naming.name.clone(),
        },
        subjects: vec![binding_subject(subject)],
    };
    for (scope, scope_atoms) in atoms {
        let rules = compact(scope_atoms);
        if scope.is_empty() {
            set.cluster_roles.push(ClusterRole {
                metadata: meta(naming, ""),
                rules,
                aggregation_rule: None,
            });
            set.cluster_role_bindings.push(binding("", "ClusterRole"));
        } else {
            set.roles.push(Role {
                metadata: meta(naming, scope),
                rules,
            });
            set.role_bindings.push(binding(scope, "Role"));
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ResourceTarget;

    fn resource(verb: &str, group: &str, res: &str, ns: &str, name: &str) -> Request {
        let (resource, subresource) = res.split_once('/').unwrap_or((res, ""));
        Request::resource(
            verb,
            ResourceTarget {
                api_group: group.into(),
                resource: resource.into(),
                subresource: subresource.into(),
                namespace: ns.into(),
                name: name.into(),
            },
        )
    }

    fn pods(verb: &str, ns: &str, name: &str) -> Request {
        resource(verb, "", "pods", ns, name)
    }

    fn atom(group: &str, res: &str, name: &str, verb: &str) -> Atom {
        Atom::Resource {
            api_group: group.into(),
            resource: res.into(),
            name: (!name.is_empty()).then(|| name.into()),
            verb: verb.into(),
        }
    }

    fn url(path: &str, verb: &str) -> Atom {
        Atom::Url {
            path: path.into(),
            verb: verb.into(),
        }
    }

    fn scoped(scopes: &[(&str, &[Atom])]) -> ScopedAtoms {
        scopes
            .iter()
            .map(|(scope, atoms)| (scope.to_string(), atoms.iter().cloned().collect()))
            .collect()
    }

    const ALICE: &str = "alice";
    const GROUPS: &[&str] = &["system:authenticated"];

    /// The aggregate of `requests` made by alice.
    fn aggregate_of(requests: &[Request]) -> SubjectAggregate {
        let mut aggregate = SubjectAggregate::default();
        for r in requests {
            aggregate.add_evidence(r.as_ref(), GROUPS, &Evidence::default());
        }
        aggregate
    }

    fn alice() -> UserInfo {
        UserInfo::new(ALICE, GROUPS)
    }

    /// An authorizer granting alice `rules` in `namespace` (`""`: cluster-wide).
    fn granting(namespace: &str, rules: Vec<crate::rbac::PolicyRule>) -> Authorizer {
        let meta = |namespace: &str| ObjectMeta {
            name: "existing".into(),
            namespace: namespace.into(),
            ..ObjectMeta::default()
        };
        let kind = if namespace.is_empty() {
            "ClusterRole"
        } else {
            "Role"
        };
        let binding = RoleBinding {
            metadata: meta(namespace),
            role_ref: RoleRef {
                api_group: RBAC_GROUP.into(),
                kind: kind.into(),
                name: "existing".into(),
            },
            subjects: vec![binding_subject(ALICE)],
        };
        let mut set = RbacSet::default();
        if namespace.is_empty() {
            set.cluster_roles.push(ClusterRole {
                metadata: meta(""),
                rules,
                aggregation_rule: None,
            });
            set.cluster_role_bindings.push(binding);
        } else {
            set.roles.push(Role {
                metadata: meta(namespace),
                rules,
            });
            set.role_bindings.push(binding);
        }
        Authorizer::new(set)
    }

    fn get_pods_rule() -> crate::rbac::PolicyRule {
        crate::rbac::PolicyRule::resource_rule(&["get"], &[""], &["pods"], &[])
    }

    fn naming() -> Naming {
        Naming {
            name: "n".into(),
            ..Naming::default()
        }
    }

    fn no_namespace_expansion() -> Policy {
        Policy {
            expand_multi_namespace: false,
            ..Policy::default()
        }
    }

    fn no_name_expansion() -> Policy {
        Policy {
            expand_multi_name: false,
            ..Policy::default()
        }
    }

    #[test]
    fn widen() {
        struct Case {
            name: &'static str,
            policy: Policy,
            /// The request to widen first, then the others seen.
            seen: Vec<Request>,
            want: Request,
        }
        let cases = [
            Case {
                name: "alone: as it is",
                policy: Policy::default(),
                seen: vec![pods("get", "a", "p")],
                want: pods("get", "a", "p"),
            },
            Case {
                name: "another namespace: cluster-wide",
                policy: Policy::default(),
                seen: vec![pods("get", "a", "p"), pods("get", "b", "p")],
                want: pods("get", "", "p"),
            },
            Case {
                name: "another name: any name",
                policy: Policy::default(),
                seen: vec![pods("get", "a", "p"), pods("get", "a", "q")],
                want: pods("get", "a", ""),
            },
            Case {
                name: "another namespace and name: both",
                policy: Policy::default(),
                seen: vec![pods("get", "a", "p"), pods("get", "b", "q")],
                want: pods("get", "", ""),
            },
            Case {
                name: "another verb is another operation",
                policy: Policy::default(),
                seen: vec![pods("get", "a", "p"), pods("delete", "b", "q")],
                want: pods("get", "a", "p"),
            },
            Case {
                name: "another subresource is another operation",
                policy: Policy::default(),
                seen: vec![
                    pods("get", "a", "p"),
                    resource("get", "", "pods/log", "b", "q"),
                ],
                want: pods("get", "a", "p"),
            },
            Case {
                name: "another group is another operation",
                policy: Policy::default(),
                seen: vec![
                    pods("get", "a", "p"),
                    resource("get", "x.io", "pods", "b", "q"),
                ],
                want: pods("get", "a", "p"),
            },
            Case {
                name: "a cluster-scoped request is no other namespace",
                policy: Policy::default(),
                seen: vec![pods("get", "a", "p"), pods("get", "", "p")],
                want: pods("get", "a", "p"),
            },
            Case {
                name: "a collection is no other name",
                policy: Policy::default(),
                seen: vec![pods("get", "a", "p"), pods("get", "a", "")],
                want: pods("get", "a", "p"),
            },
            Case {
                name: "strict: nothing widens",
                policy: Policy::strict(),
                seen: vec![pods("get", "a", "p"), pods("get", "b", "q")],
                want: pods("get", "a", "p"),
            },
            Case {
                name: "without namespace expansion: names count per namespace",
                policy: no_namespace_expansion(),
                seen: vec![pods("get", "a", "p"), pods("get", "b", "q")],
                want: pods("get", "a", "p"),
            },
            Case {
                name: "without namespace expansion: other names in the namespace",
                policy: no_namespace_expansion(),
                seen: vec![pods("get", "a", "p"), pods("get", "a", "q")],
                want: pods("get", "a", ""),
            },
            Case {
                name: "without name expansion: namespaces count per name",
                policy: no_name_expansion(),
                seen: vec![pods("get", "a", "p"), pods("get", "b", "q")],
                want: pods("get", "a", "p"),
            },
            Case {
                name: "without name expansion: the name in other namespaces",
                policy: no_name_expansion(),
                seen: vec![pods("get", "a", "p"), pods("get", "b", "p")],
                want: pods("get", "", "p"),
            },
            Case {
                name: "URLs as they are",
                policy: Policy::default(),
                seen: vec![Request::non_resource("get", "/a")],
                want: Request::non_resource("get", "/a"),
            },
            Case {
                name: "impersonated users by name, however many",
                policy: Policy::default(),
                seen: vec![
                    resource("impersonate", "", "users", "", "bob"),
                    resource("impersonate", "", "users", "", "carol"),
                ],
                want: resource("impersonate", "", "users", "", "bob"),
            },
            Case {
                name: "extra values by value",
                policy: Policy::default(),
                seen: vec![
                    resource(
                        "impersonate",
                        "authentication.k8s.io",
                        "userextras/scopes",
                        "",
                        "a",
                    ),
                    resource(
                        "impersonate",
                        "authentication.k8s.io",
                        "userextras/scopes",
                        "",
                        "b",
                    ),
                ],
                want: resource(
                    "impersonate",
                    "authentication.k8s.io",
                    "userextras/scopes",
                    "",
                    "a",
                ),
            },
            Case {
                name: "a service account in its own namespace only",
                policy: Policy::default(),
                seen: vec![
                    resource("impersonate", "", "serviceaccounts", "a", "sa"),
                    resource("impersonate", "", "serviceaccounts", "b", "sa"),
                ],
                want: resource("impersonate", "", "serviceaccounts", "a", "sa"),
            },
        ];
        for case in cases {
            let aggregate = aggregate_of(&case.seen);
            let observed = Observations::of_aggregate(ALICE, &aggregate);
            let index =
                ExpansionIndex::new(observed.iter().map(|o| (o.request, o.ids())), &case.policy);
            let first = observed.iter().next().expect("a first request");
            assert_eq!(first.request, case.seen[0].as_ref(), "{}", case.name);
            assert_eq!(
                index.widen(first.request, &first.ids()),
                case.want.as_ref(),
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn allowed_for_every_identity() {
        let ops = UserInfo::new(ALICE, &["system:authenticated", "ops"]);
        // Pods for alice; configmaps for the ops group only.
        let mut ops_only = granting("", vec![get_pods_rule()]).rbac().clone();
        ops_only.cluster_roles.push(ClusterRole {
            metadata: ObjectMeta {
                name: "ops".into(),
                ..ObjectMeta::default()
            },
            rules: vec![crate::rbac::PolicyRule::resource_rule(
                &["get"],
                &[""],
                &["configmaps"],
                &[],
            )],
            aggregation_rule: None,
        });
        ops_only.cluster_role_bindings.push(RoleBinding {
            metadata: ObjectMeta {
                name: "ops".into(),
                ..ObjectMeta::default()
            },
            role_ref: RoleRef {
                api_group: RBAC_GROUP.into(),
                kind: "ClusterRole".into(),
                name: "ops".into(),
            },
            subjects: vec![Subject {
                kind: "Group".into(),
                api_group: RBAC_GROUP.into(),
                name: "ops".into(),
                namespace: String::new(),
            }],
        });
        let existing = Authorizer::new(ops_only);
        let configmap = resource("get", "", "configmaps", "a", "c");
        struct Case {
            name: &'static str,
            users: Vec<UserInfo>,
            request: Request,
            want: bool,
        }
        let cases = [
            Case {
                name: "no identity: not allowed",
                users: vec![],
                request: pods("get", "a", "p"),
                want: false,
            },
            Case {
                name: "allowed for the one identity",
                users: vec![alice()],
                request: pods("get", "a", "p"),
                want: true,
            },
            Case {
                name: "allowed for every identity",
                users: vec![alice(), ops.clone()],
                request: pods("get", "a", "p"),
                want: true,
            },
            Case {
                name: "not allowed",
                users: vec![alice()],
                request: pods("delete", "a", "p"),
                want: false,
            },
            Case {
                name: "allowed through a group only some identities have",
                users: vec![ops.clone()],
                request: configmap.clone(),
                want: true,
            },
            Case {
                name: "not allowed for one of the identities",
                users: vec![ops.clone(), alice()],
                request: configmap.clone(),
                want: false,
            },
        ];
        for case in cases {
            assert_eq!(
                allowed_for_every(
                    &case
                        .users
                        .iter()
                        .map(|u| existing.user_rules(u))
                        .collect::<Vec<_>>(),
                    case.request.as_ref()
                ),
                case.want,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn granted_verbs_of_a_request() {
        struct Case {
            name: &'static str,
            policy: Policy,
            request: Request,
            want: &'static [&'static str],
        }
        let cases = [
            Case {
                name: "a verb without expansion",
                policy: Policy::default(),
                request: pods("delete", "a", "p"),
                want: &["delete"],
            },
            Case {
                name: "list adds get and watch",
                policy: Policy::default(),
                request: pods("list", "a", ""),
                want: &["get", "list", "watch"],
            },
            Case {
                name: "update adds get and patch",
                policy: Policy::default(),
                request: pods("update", "a", "p"),
                want: &["get", "patch", "update"],
            },
            Case {
                name: "no verb expansion",
                policy: Policy {
                    expand_verbs: false,
                    ..Policy::default()
                },
                request: pods("list", "a", ""),
                want: &["list"],
            },
            Case {
                name: "strict: the verb only",
                policy: Policy::strict(),
                request: pods("watch", "a", ""),
                want: &["watch"],
            },
            Case {
                name: "exec over WebSocket: create too",
                policy: Policy::default(),
                request: resource("get", "", "pods/exec", "a", "p"),
                want: &["create", "get"],
            },
            Case {
                name: "attach over SPDY: get too",
                policy: Policy::default(),
                request: resource("create", "", "pods/attach", "a", "p"),
                want: &["create", "get"],
            },
            Case {
                name: "strict portforward over WebSocket: get and create",
                policy: Policy::strict(),
                request: resource("get", "", "pods/portforward", "a", "p"),
                want: &["create", "get"],
            },
            Case {
                name: "strict exec over SPDY: create only",
                policy: Policy::strict(),
                request: resource("create", "", "pods/exec", "a", "p"),
                want: &["create"],
            },
            Case {
                name: "logs are no stream",
                policy: Policy::default(),
                request: resource("get", "", "pods/log", "a", "p"),
                want: &["get"],
            },
            Case {
                name: "exec of another group is no stream",
                policy: Policy::default(),
                request: resource("get", "x.io", "pods/exec", "a", "p"),
                want: &["get"],
            },
        ];
        for case in cases {
            let r = case.request.as_ref();
            let TargetRef::Resource(target) = r.target else {
                panic!("{}: a resource request", case.name);
            };
            let got: Vec<&str> = granted_verbs(r.verb, &target, &case.policy)
                .into_iter()
                .collect();
            assert_eq!(got, case.want, "{}", case.name);
        }
    }

    #[test]
    fn request_atoms_of_a_widened_request() {
        struct Case {
            name: &'static str,
            policy: Policy,
            request: Request,
            want: RequestAtoms<'static>,
        }
        let cases = [
            Case {
                name: "a URL, cluster-wide",
                policy: Policy::default(),
                request: Request::non_resource("get", "/healthz"),
                want: RequestAtoms::Grant {
                    scope: "",
                    atoms: vec![url("/healthz", "get")],
                },
            },
            Case {
                name: "a URL ending in a star is refused",
                policy: Policy::default(),
                request: Request::non_resource("get", "/logs*"),
                want: RequestAtoms::Refused,
            },
            Case {
                name: "a named request in its namespace",
                policy: Policy::default(),
                request: resource("delete", "apps", "deployments", "a", "d"),
                want: RequestAtoms::Grant {
                    scope: "a",
                    atoms: vec![atom("apps", "deployments", "d", "delete")],
                },
            },
            Case {
                name: "a collection: any name, expanded verbs",
                policy: Policy::default(),
                request: pods("list", "", ""),
                want: RequestAtoms::Grant {
                    scope: "",
                    atoms: vec![
                        atom("", "pods", "", "get"),
                        atom("", "pods", "", "list"),
                        atom("", "pods", "", "watch"),
                    ],
                },
            },
            Case {
                name: "a subresource as resource/subresource",
                policy: Policy::strict(),
                request: resource("get", "", "pods/exec", "a", "p"),
                want: RequestAtoms::Grant {
                    scope: "a",
                    atoms: vec![
                        atom("", "pods/exec", "p", "create"),
                        atom("", "pods/exec", "p", "get"),
                    ],
                },
            },
        ];
        for case in cases {
            assert_eq!(
                request_atoms(case.request.as_ref(), &case.policy),
                case.want,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn atom_requests() {
        let cases = [
            ("a", atom("", "pods", "p", "get"), pods("get", "a", "p")),
            ("", atom("", "pods", "", "list"), pods("list", "", "")),
            (
                "b",
                atom("apps", "deployments/scale", "d", "patch"),
                resource("patch", "apps", "deployments/scale", "b", "d"),
            ),
            ("", url("/x", "get"), Request::non_resource("get", "/x")),
        ];
        for (scope, atom, want) in cases {
            assert_eq!(atom_request(scope, &atom), want.as_ref(), "{atom:?}");
        }
    }

    #[test]
    fn covered_by_the_cluster_scope() {
        let cluster: BTreeSet<Atom> = [
            atom("", "pods", "", "get"),
            atom("", "secrets", "s", "get"),
            url("/x", "get"),
        ]
        .into_iter()
        .collect();
        let cases = [
            (
                "the same verb for any name",
                atom("", "pods", "", "get"),
                true,
            ),
            (
                "a name, any name granted",
                atom("", "pods", "p", "get"),
                true,
            ),
            ("another verb", atom("", "pods", "p", "list"), false),
            ("the same name", atom("", "secrets", "s", "get"), true),
            ("another name", atom("", "secrets", "t", "get"), false),
            (
                "any name, one granted",
                atom("", "secrets", "", "get"),
                false,
            ),
            ("another group", atom("x.io", "pods", "", "get"), false),
            ("URLs have no namespace", url("/x", "get"), false),
        ];
        for (name, atom, want) in cases {
            assert_eq!(covered_by_cluster(&cluster, &atom), want, "{name}");
        }
    }

    #[test]
    fn drop_what_is_covered() {
        struct Case {
            name: &'static str,
            existing: Authorizer,
            wanted: ScopedAtoms,
            want: ScopedAtoms,
        }
        let cases = [
            Case {
                name: "nothing covered",
                existing: Authorizer::default(),
                wanted: scoped(&[("a", &[atom("", "pods", "p", "get")])]),
                want: scoped(&[("a", &[atom("", "pods", "p", "get")])]),
            },
            Case {
                name: "a namespaced atom the cluster scope grants",
                existing: Authorizer::default(),
                wanted: scoped(&[
                    ("", &[atom("", "pods", "", "get")]),
                    (
                        "a",
                        &[
                            atom("", "pods", "p", "get"),
                            atom("", "pods", "p", "delete"),
                        ],
                    ),
                    ("b", &[atom("", "pods", "", "get")]),
                ]),
                want: scoped(&[
                    ("", &[atom("", "pods", "", "get")]),
                    ("a", &[atom("", "pods", "p", "delete")]),
                ]),
            },
            Case {
                name: "a named atom next to any name",
                existing: Authorizer::default(),
                wanted: scoped(&[(
                    "a",
                    &[atom("", "pods", "p", "get"), atom("", "pods", "", "get")],
                )]),
                want: scoped(&[("a", &[atom("", "pods", "", "get")])]),
            },
            Case {
                name: "granted by an existing ClusterRole",
                existing: granting("", vec![get_pods_rule()]),
                wanted: scoped(&[
                    ("", &[atom("", "pods", "", "get"), url("/x", "get")]),
                    ("a", &[atom("", "pods", "p", "get")]),
                ]),
                want: scoped(&[("", &[url("/x", "get")])]),
            },
            Case {
                name: "granted by an existing Role in its namespace only",
                existing: granting("a", vec![get_pods_rule()]),
                wanted: scoped(&[
                    ("a", &[atom("", "pods", "p", "get")]),
                    ("b", &[atom("", "pods", "p", "get")]),
                ]),
                want: scoped(&[("b", &[atom("", "pods", "p", "get")])]),
            },
        ];
        for case in cases {
            assert_eq!(
                drop_covered(case.wanted, &case.existing, &[alice()]),
                case.want,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn objects_per_scope() {
        let naming = Naming {
            name: "n".into(),
            labels: [("l".to_string(), "v".to_string())].into(),
            annotations: BTreeMap::new(),
        };
        struct Case {
            name: &'static str,
            subject: &'static str,
            atoms: ScopedAtoms,
            roles: &'static [&'static str],
            cluster_roles: usize,
            binding_subject: (&'static str, &'static str, &'static str),
        }
        let cases = [
            Case {
                name: "nothing",
                subject: "alice",
                atoms: ScopedAtoms::new(),
                roles: &[],
                cluster_roles: 0,
                binding_subject: ("User", "alice", ""),
            },
            Case {
                name: "cluster scope only",
                subject: "alice",
                atoms: scoped(&[("", &[url("/x", "get")])]),
                roles: &[],
                cluster_roles: 1,
                binding_subject: ("User", "alice", ""),
            },
            Case {
                name: "namespaces sorted, and the cluster scope",
                subject: "system:serviceaccount:ns:sa",
                atoms: scoped(&[
                    ("b", &[atom("", "pods", "p", "get")]),
                    ("", &[url("/x", "get")]),
                    ("a", &[atom("", "pods", "p", "get")]),
                ]),
                roles: &["a", "b"],
                cluster_roles: 1,
                binding_subject: ("ServiceAccount", "sa", "ns"),
            },
        ];
        for case in cases {
            let set = build_objects(case.subject, &case.atoms, &naming);
            let roles: Vec<&str> = set
                .roles
                .iter()
                .map(|r| r.metadata.namespace.as_str())
                .collect();
            let bound: Vec<&str> = set
                .role_bindings
                .iter()
                .map(|b| b.metadata.namespace.as_str())
                .collect();
            assert_eq!(roles, case.roles, "{}", case.name);
            assert_eq!(bound, case.roles, "{}", case.name);
            assert_eq!(set.cluster_roles.len(), case.cluster_roles, "{}", case.name);
            assert_eq!(
                set.cluster_role_bindings.len(),
                case.cluster_roles,
                "{}",
                case.name
            );
            for b in set.role_bindings.iter().chain(&set.cluster_role_bindings) {
                let s = &b.subjects[0];
                assert_eq!(
                    (s.kind.as_str(), s.name.as_str(), s.namespace.as_str()),
                    case.binding_subject,
                    "{}",
                    case.name
                );
                assert_eq!(b.metadata.labels, naming.labels, "{}", case.name);
                assert_eq!(b.role_ref.name, "n", "{}", case.name);
            }
            let namespaced = case.atoms.iter().filter(|(scope, _)| !scope.is_empty());
            for (role, (scope, atoms)) in set.roles.iter().zip(namespaced) {
                assert_eq!(&role.metadata.namespace, scope, "{}", case.name);
                assert_eq!(role.rules, compact(atoms), "{}", case.name);
            }
        }
    }

    fn generate(requests: &[Request], existing: &Authorizer, policy: &Policy) -> Generated {
        let aggregate = aggregate_of(requests);
        let observed = Observations::of_aggregate(ALICE, &aggregate);
        generate_from(ALICE, &observed, existing, policy, &naming())
    }

    #[test]
    fn urls_ending_in_a_star_are_refused_not_granted() {
        let g = generate(
            &[
                Request::non_resource("get", "/logs*"),
                Request::non_resource("get", "/x"),
            ],
            &Authorizer::default(),
            &Policy::default(),
        );
        assert_eq!(g.refused, vec![Request::non_resource("get", "/logs*")]);
        let urls: Vec<&String> = g.rbac.cluster_roles[0]
            .rules
            .iter()
            .flat_map(|r| &r.non_resource_urls)
            .collect();
        assert_eq!(urls, vec!["/x"]);
    }

    #[test]
    fn websocket_exec_gets_create_and_strict_stays_minimal() {
        let requests = [
            resource("get", "", "pods/exec", "a", "p"),
            resource("create", "", "pods/attach", "a", "p"),
        ];
        let strict = generate(&requests, &Authorizer::default(), &Policy::strict());
        let atoms = &strict.atoms["a"];
        let has = |verb: &str, res: &str| atoms.contains(&atom("", res, "p", verb));
        assert!(has("get", "pods/exec") && has("create", "pods/exec"));
        assert!(has("create", "pods/attach") && !has("get", "pods/attach"));
        let default = generate(&requests, &Authorizer::default(), &Policy::default());
        assert_eq!(default.atoms["a"].len(), 4);
    }

    #[test]
    fn namespaced_atoms_covered_by_the_cluster_role_are_dropped() {
        let g = generate(
            &[pods("list", "", ""), pods("get", "a", "p")],
            &Authorizer::default(),
            &Policy::default(),
        );
        assert!(g.rbac.roles.is_empty(), "{:?}", g.rbac.roles);
        assert_eq!(
            g.rbac.cluster_roles[0].rules[0].verbs,
            vec!["get", "list", "watch"]
        );
    }

    #[test]
    fn requests_already_allowed_are_counted_not_granted() {
        let g = generate(
            &[pods("get", "a", "p"), pods("delete", "a", "p")],
            &granting("", vec![get_pods_rule()]),
            &Policy::strict(),
        );
        assert_eq!(g.already_allowed, 1);
        assert_eq!(
            g.atoms,
            scoped(&[("a", &[atom("", "pods", "p", "delete")])])
        );
    }
}
