//! Generation: distinct requests of one subject → the RBAC objects that allow them, under
//! the chosen policy (verb expansion, many namespaces → cluster-wide, many names → any
//! name; strict mode with none of these). Requests the existing RBAC already allows produce
//! nothing. Rules are compacted per role; objects come out sorted.

use crate::aggregate::{Evidence, RequestEntries, SubjectAggregate};
use crate::rbac::compact::{compact, drop_redundant, Atom};
use crate::rbac::{
    Authorizer, ClusterRole, ObjectMeta, RbacSet, Role, RoleBinding, RoleRef, Subject, RBAC_GROUP,
};
use crate::request::{
    split_service_account, Request, RequestRef, ResourceRef, ResourceTarget, TargetRef, UserInfo,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Generation knobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Extra verbs granted with an observed verb (watch/list → get,list,watch; ...).
    pub verb_expansions: BTreeMap<String, Vec<String>>,
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
        let identities = self.identities;
        self.entries
            .filter_map(move |(g, _)| identities.get(g as usize))
    }
}

/// One observed request as generation and review read it, borrowed from the aggregate.
#[derive(Clone, Copy)]
pub struct Seen<'a> {
    pub request: RequestRef<'a>,
    pub users: Users<'a>,
    pub evidence: Evidence,
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
    pub fn iter(&self) -> impl Iterator<Item = Seen<'_>> + '_ {
        self.requests.iter().map(|(request, entries)| Seen {
            request,
            users: Users {
                entries,
                identities: &self.identities,
            },
            evidence: entries.total(),
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

    /// The evidence of all requests together, and the number of requests made.
    pub fn totals(&self) -> (Evidence, u64) {
        let mut total = Evidence::default();
        let mut count = 0;
        for o in self.iter() {
            total.merge(&o.evidence);
            count += o.evidence.count();
        }
        (total, count)
    }
}

/// What generation produced for one subject.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    pub rbac: RbacSet,
    /// Atoms granted per scope (`""` = the ClusterRole), after removing redundancy.
    pub atoms: BTreeMap<String, BTreeSet<Atom>>,
    /// Observed requests the existing RBAC already allowed.
    pub already_allowed: usize,
    /// Observed requests that no rule can grant without a wildcard (a URL path ending in
    /// `*`): left out, to be reviewed by hand.
    pub refused: Vec<Request>,
}

/// Subresources whose WebSocket form (`get`) is also checked as `create` by the server.
fn is_streaming(resource: &ResourceRef<'_>) -> bool {
    resource.api_group.is_empty()
        && resource.resource == "pods"
        && matches!(resource.subresource, "exec" | "attach" | "portforward")
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

/// (verb, group, resource, subresource): what must match for namespace and name expansion.
type OperationKey<'a> = (&'a str, &'a str, &'a str, &'a str);

/// The keys under which expansion looks for other namespaces and other names of the same
/// operation: namespaces per operation (and name, without name expansion); names per
/// operation (and namespace, without namespace expansion).
fn expansion_keys<'a>(
    verb: &'a str,
    r: &ResourceRef<'a>,
    policy: &Policy,
) -> ((OperationKey<'a>, &'a str), (OperationKey<'a>, &'a str)) {
    let op = (verb, r.api_group, r.resource, r.subresource);
    let name_scope = if policy.expand_multi_name { "" } else { r.name };
    let namespace_scope = if policy.expand_multi_namespace {
        ""
    } else {
        r.namespace
    };
    ((op, name_scope), (op, namespace_scope))
}

/// Up to two distinct non-empty values: enough to answer "was another one seen?".
#[derive(Default)]
struct Distinct<'a>([Option<&'a str>; 2]);

impl<'a> Distinct<'a> {
    fn add(&mut self, value: &'a str) {
        if value.is_empty() || self.0.contains(&Some(value)) {
            return;
        }
        if let Some(slot) = self.0.iter_mut().find(|s| s.is_none()) {
            *slot = Some(value);
        }
    }

    /// Whether a non-empty value other than `value` was seen.
    fn has_other_than(&self, value: &str) -> bool {
        self.0.iter().flatten().any(|v| *v != value)
    }
}

/// Generates RBAC for `subject` from its observed requests, read in place.
pub fn generate_from(
    subject: &str,
    observed: &Observations<'_>,
    existing: &Authorizer,
    policy: &Policy,
    naming: &Naming,
) -> Generated {
    let allowed_for_all = |users: &mut dyn Iterator<Item = &UserInfo>, request: RequestRef<'_>| {
        let mut any = false;
        for u in users {
            if !existing.allows(u, request) {
                return false;
            }
            any = true;
        }
        any
    };
    let all_users = observed.all_users();

    // What the expansions ask of the other requests of the same operation, as at most two
    // distinct values per key, so that each question takes constant time: the namespaces
    // an operation (or an operation on one name) was seen in, the names it was seen on
    // (anywhere, or in one namespace).
    let mut namespaces_of: HashMap<(OperationKey<'_>, &str), Distinct<'_>> = HashMap::new();
    let mut names_of: HashMap<(OperationKey<'_>, &str), Distinct<'_>> = HashMap::new();
    for o in observed.iter() {
        if let TargetRef::Resource(r) = o.request.target {
            let (namespaces_key, names_key) = expansion_keys(o.request.verb, &r, policy);
            namespaces_of
                .entry(namespaces_key)
                .or_default()
                .add(r.namespace);
            names_of.entry(names_key).or_default().add(r.name);
        }
    }

    let mut atoms: BTreeMap<String, BTreeSet<Atom>> = BTreeMap::new();
    let mut already_allowed = 0;
    let mut refused = Vec::new();
    for o in observed.iter() {
        if allowed_for_all(&mut o.users.iter(), o.request) {
            already_allowed += 1;
            continue;
        }
        let verb = o.request.verb;
        if let TargetRef::NonResource { path } = o.request.target {
            if path.ends_with('*') {
                // A trailing `*` in a rule is a prefix wildcard: granting this path
                // literally would grant every path it prefixes.
                refused.push(o.request.to_owned_request());
            } else {
                atoms.entry(String::new()).or_default().insert(Atom::Url {
                    path: path.to_string(),
                    verb: verb.to_string(),
                });
            }
            continue;
        }
        let TargetRef::Resource(r) = o.request.target else {
            continue;
        };
        let (namespaces_key, names_key) = expansion_keys(verb, &r, policy);
        let mut namespace = r.namespace;
        let mut name = r.name;
        if policy.expand_multi_namespace
            && !namespace.is_empty()
            && namespaces_of
                .get(&namespaces_key)
                .is_some_and(|d| d.has_other_than(namespace))
        {
            namespace = "";
        }
        if policy.expand_multi_name
            && !r.name.is_empty()
            && names_of
                .get(&names_key)
                .is_some_and(|d| d.has_other_than(r.name))
        {
            name = "";
        }
        let mut verbs: BTreeSet<&str> = BTreeSet::new();
        verbs.insert(verb);
        if policy.expand_verbs {
            if let Some(extra) = policy.verb_expansions.get(verb) {
                verbs.extend(extra.iter().map(|s| s.as_str()));
            }
        }
        if is_streaming(&r) && matches!(verb, "get" | "create") {
            // The WebSocket upgrade is checked as create too; outside strict mode
            // both transports (get over WebSocket, create over SPDY) are granted.
            verbs.insert("create");
            if !policy.strict {
                verbs.insert("get");
            }
        }
        let resource = r.combined_resource();
        let scope = match atoms.get_mut(namespace) {
            Some(scope) => scope,
            None => atoms.entry(namespace.to_string()).or_default(),
        };
        for verb in verbs {
            let atom = Atom::Resource {
                api_group: r.api_group.to_string(),
                resource: resource.clone(),
                name: (!name.is_empty()).then(|| name.to_string()),
                verb: verb.to_string(),
            };
            scope.insert(atom);
        }
    }
    // In the order of the requests (as a sorted list of observations gives them).
    refused.sort();

    // Drop atoms the existing RBAC grants, and namespaced atoms the cluster scope covers.
    let atom_request = |scope: &str, atom: &Atom| -> Request {
        match atom {
            Atom::Url { path, verb } => Request::non_resource(verb, path),
            Atom::Resource {
                api_group,
                resource,
                name,
                verb,
            } => {
                let (res, sub) = resource.split_once('/').unwrap_or((resource, ""));
                Request::resource(
                    verb,
                    ResourceTarget {
                        api_group: api_group.clone(),
                        resource: res.to_string(),
                        subresource: sub.to_string(),
                        namespace: scope.to_string(),
                        name: name.clone().unwrap_or_default(),
                    },
                )
            }
        }
    };
    let allowed_atom = |scope: &str, atom: &Atom| {
        let request = atom_request(scope, atom);
        allowed_for_all(&mut all_users.iter(), request.as_ref())
    };
    let covered_by_cluster = |cluster: &BTreeSet<Atom>, atom: &Atom| match atom {
        Atom::Resource {
            api_group,
            resource,
            name,
            verb,
        } => {
            let any = Atom::Resource {
                api_group: api_group.clone(),
                resource: resource.clone(),
                name: None,
                verb: verb.clone(),
            };
            cluster.contains(&any) || (name.is_some() && cluster.contains(atom))
        }
        Atom::Url { .. } => false,
    };
    // Sets are filtered in place (strict output can hold an atom per observed request).
    // Namespaced atoms are compared with the cluster scope before it is filtered itself.
    let mut cluster = atoms.remove("").unwrap_or_default();
    let mut kept: BTreeMap<String, BTreeSet<Atom>> = BTreeMap::new();
    for (scope, mut set) in atoms {
        set.retain(|a| !covered_by_cluster(&cluster, a) && !allowed_atom(&scope, a));
        drop_redundant(&mut set);
        if !set.is_empty() {
            kept.insert(scope, set);
        }
    }
    cluster.retain(|a| !allowed_atom("", a));
    drop_redundant(&mut cluster);
    if !cluster.is_empty() {
        kept.insert(String::new(), cluster);
    }

    let rbac = build_objects(subject, &kept, naming);
    Generated {
        rbac,
        atoms: kept,
        already_allowed,
        refused,
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

/// One Role + RoleBinding per namespace and one ClusterRole + ClusterRoleBinding, sorted.
fn build_objects(
    subject: &str,
    atoms: &BTreeMap<String, BTreeSet<Atom>>,
    naming: &Naming,
) -> RbacSet {
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

    fn scoped(scopes: &[(&str, &[Atom])]) -> BTreeMap<String, BTreeSet<Atom>> {
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
