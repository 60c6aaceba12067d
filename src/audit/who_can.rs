//! who-can: every subject named in an RBAC dump's bindings that the dump allows to make one
//! request, with the binding and role that grant it ([`answer`]); with an aggregate of audit
//! logs, whether and when each of them made such a request ([`seen`]), and who made one
//! allowed only through a group ([`seen_through_groups`]).

use crate::aggregate::{Aggregate, Totals};
use crate::error::{Error, Result};
use crate::rbac::authorize::{subject_matches, Grant};
use crate::rbac::resources::{is_builtin_cluster_scoped, ResourceTable};
use crate::rbac::{Authorizer, RoleBinding, Subject};
use crate::request::normalize::authorized_name;
use crate::request::{Request, ResourceTarget, Target, UserInfo};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// A who-can question as a person asks it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Question {
    pub verb: String,
    /// `RESOURCE[.GROUP][/SUBRESOURCE]`, or a URL path for a non-resource request.
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub group: Option<String>,
    /// The resources names are resolved against: the built-in ones, and a cluster's own
    /// (custom resources) when given ([`ResourceTable::add_api_resources`]).
    pub resources: ResourceTable,
}

/// Where the request is asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One namespace: ClusterRoleBindings and the RoleBindings of that namespace.
    Namespace(String),
    /// Cluster-wide: ClusterRoleBindings, plus RoleBindings of every namespace (each for its
    /// own namespace) when `namespaced`.
    Cluster { namespaced: bool },
}

/// The question: a request template (namespace filled per binding) and its scope.
#[derive(Clone, Debug)]
pub struct Query {
    pub request: Request,
    pub scope: Scope,
}

impl Query {
    /// The request as made in `namespace`.
    pub fn in_namespace(&self, namespace: &str) -> Request {
        let mut r = self.request.clone();
        if let Target::Resource(t) = &mut r.target {
            t.namespace = namespace.to_string();
        }
        r
    }

    /// Is `observed` (from a log) an instance of the question, made in `scope` ("*" = any)?
    pub fn covers(&self, observed: &Request, scope: &str) -> bool {
        if observed.verb != self.request.verb {
            return false;
        }
        match (&self.request.target, &observed.target) {
            (Target::NonResource { path: want }, Target::NonResource { path }) => want == path,
            (Target::Resource(want), Target::Resource(seen)) => {
                want.api_group == seen.api_group
                    && want.resource == seen.resource
                    && want.subresource == seen.subresource
                    && (want.name.is_empty() || want.name == seen.name)
                    && match &self.scope {
                        Scope::Namespace(ns) => &seen.namespace == ns,
                        Scope::Cluster { namespaced: false } => seen.namespace.is_empty(),
                        Scope::Cluster { namespaced: true } => true,
                    }
                    && (scope == "*" || seen.namespace == scope)
            }
            _ => false,
        }
    }
}

fn usage(message: impl Into<String>) -> Error {
    Error::Usage(message.into())
}

/// The resource a person typed (`po`, `deploy`, `deployments.apps`, `hpa.autoscaling`) as
/// RBAC matches it: group, plural and subresource, resolved against the built-in resources
/// as kubectl resolves them. A group the table does not know (a custom resource's the
/// table was not given) is taken as written. In kubectl-who-can's `TYPE/NAME` form the part after the slash is a name
/// when it is no subresource of the type: it comes back as the fourth value.
fn resolve_resource<'t>(
    table: &ResourceTable,
    resource: &str,
    api_group: &str,
    subresource: &'t str,
    group_given: bool,
) -> Result<(String, String, &'t str, Option<&'t str>)> {
    if group_given
        && !table.from_server
        && !table
            .iter()
            .any(|r| r.group == api_group || r.group.starts_with(&format!("{api_group}.")))
    {
        return Ok((
            api_group.to_string(),
            resource.to_string(),
            subresource,
            None,
        ));
    }
    let typed = if group_given {
        format!("{resource}.{api_group}")
    } else {
        resource.to_string()
    };
    let resolved = table
        .resolve(&typed)
        .map_err(|e| usage(format!("who-can: {e}")))?;
    let known = resolved
        .resource
        .subresources
        .iter()
        .any(|s| s == subresource);
    let (subresource, name) = if subresource.is_empty() || known {
        (subresource, None)
    } else {
        ("", Some(subresource))
    };
    Ok((
        resolved.resource.group.clone(),
        resolved.resource.plural.clone(),
        subresource,
        name,
    ))
}

/// Builds the query from the question; warnings go to `warn`.
pub fn parse_query(args: &Question, warn: &mut dyn FnMut(String)) -> Result<Query> {
    let verb = args.verb.trim();
    if verb.is_empty() {
        return Err(usage("who-can: VERB is empty"));
    }
    if args.resource.starts_with('/') {
        if args.namespace.is_some() || args.name.is_some() || args.group.is_some() {
            return Err(usage(format!(
                "who-can: {} is a URL path (a non-resource request): -n, --name and --group do not apply",
                args.resource
            )));
        }
        if args.resource.contains('?') {
            return Err(usage(format!(
                "who-can: {}: give the URL path without a query string",
                args.resource
            )));
        }
        return Ok(Query {
            request: Request::non_resource(verb, &args.resource),
            scope: Scope::Cluster { namespaced: false },
        });
    }
    let (head, subresource) = match args.resource.split_once('/') {
        Some((h, s)) if !s.is_empty() && !s.contains('/') => (h, s),
        Some(_) => {
            return Err(usage(format!(
                "who-can: {:?}: expected RESOURCE[.GROUP][/SUBRESOURCE]",
                args.resource
            )))
        }
        None => (args.resource.as_str(), ""),
    };
    let (resource, api_group) = match (head.split_once('.'), &args.group) {
        (Some(_), Some(_)) => {
            return Err(usage(format!(
                "who-can: {:?} already names a group; drop --group or the .GROUP suffix",
                args.resource
            )))
        }
        (Some((r, g)), None) => (r, g.to_string()),
        (None, g) => (head, g.clone().unwrap_or_default()),
    };
    if resource.is_empty() {
        return Err(usage(format!(
            "who-can: {:?}: the resource is empty",
            args.resource
        )));
    }
    let (api_group, resource, subresource, name_in_type) = resolve_resource(
        &args.resources,
        resource,
        &api_group,
        subresource,
        head.contains('.') || args.group.is_some(),
    )?;
    let resource = resource.as_str();
    let given = match (name_in_type, &args.name) {
        (Some(n), Some(_)) => {
            return Err(usage(format!(
                "who-can: {:?} names the object {n:?} and --name names another: give one",
                args.resource
            )))
        }
        (Some(n), None) => n.to_string(),
        (None, n) => n.clone().unwrap_or_default(),
    };
    let name = authorized_name(verb, subresource, &given).to_string();
    if name != given {
        warn(format!(
            "warning: the authorizer sees no name on a {verb} of {resource}: --name {given} is ignored (RBAC cannot restrict {verb} by name)"
        ));
    }
    let cluster_scoped = match args.resources.get(&api_group, resource) {
        Some(known) => !known.namespaced,
        None => is_builtin_cluster_scoped(&api_group, resource),
    };
    // A request on one namespace object is made in that namespace (semantics §1).
    let namespace_object = api_group.is_empty() && resource == "namespaces" && !name.is_empty();
    let scope = if namespace_object {
        if args.namespace.as_ref().is_some_and(|ns| *ns != name) {
            warn(format!(
                "warning: a request on namespace {name} is made in namespace {name}; -n is ignored"
            ));
        }
        Scope::Namespace(name.clone())
    } else if cluster_scoped {
        if args.namespace.is_some() {
            warn(format!(
                "warning: {resource} is cluster-scoped; -n is ignored and RoleBindings do not apply"
            ));
        }
        Scope::Cluster { namespaced: false }
    } else {
        match &args.namespace {
            Some(ns) if ns.is_empty() => return Err(usage("who-can: -n needs a namespace")),
            Some(ns) => Scope::Namespace(ns.clone()),
            None => Scope::Cluster { namespaced: true },
        }
    };
    let namespace = match &scope {
        Scope::Namespace(ns) => ns.clone(),
        Scope::Cluster { .. } => String::new(),
    };
    Ok(Query {
        request: Request::resource(
            verb,
            ResourceTarget {
                api_group,
                resource: resource.to_string(),
                subresource: subresource.to_string(),
                namespace,
                name,
            },
        ),
        scope,
    })
}

/// A binding subject as a row shows it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Who {
    pub kind: String,
    /// Name; for a ServiceAccount its namespace is in `namespace`.
    pub name: String,
    pub namespace: String,
}

impl Who {
    pub fn display(&self) -> String {
        if self.kind == "ServiceAccount" {
            format!("{}:{}", self.namespace, self.name)
        } else {
            self.name.clone()
        }
    }

    /// The user name a User or ServiceAccount authenticates as.
    pub fn username(&self) -> Option<String> {
        match self.kind.as_str() {
            "User" => Some(self.name.clone()),
            "ServiceAccount" => Some(format!(
                "system:serviceaccount:{}:{}",
                self.namespace, self.name
            )),
            _ => None,
        }
    }
}

/// A subject of `binding` (in `binding_namespace`, "" for ClusterRoleBindings) and an identity
/// that matches it and nothing else the subject does not; `None` when it can never match.
pub fn identity(subject: &Subject, binding_namespace: &str) -> Option<(Who, UserInfo)> {
    match subject.kind.as_str() {
        "User" if !subject.name.is_empty() => Some((
            Who {
                kind: "User".into(),
                name: subject.name.clone(),
                namespace: String::new(),
            },
            UserInfo {
                name: subject.name.clone(),
                groups: vec![],
            },
        )),
        "Group" if !subject.name.is_empty() => Some((
            Who {
                kind: "Group".into(),
                name: subject.name.clone(),
                namespace: String::new(),
            },
            UserInfo {
                name: String::new(),
                groups: vec![subject.name.clone()],
            },
        )),
        "ServiceAccount" if !subject.name.is_empty() => {
            let ns = if subject.namespace.is_empty() {
                binding_namespace
            } else {
                &subject.namespace
            };
            if ns.is_empty() {
                return None;
            }
            Some((
                Who {
                    kind: "ServiceAccount".into(),
                    name: subject.name.clone(),
                    namespace: ns.to_string(),
                },
                UserInfo {
                    name: format!("system:serviceaccount:{ns}:{}", subject.name),
                    groups: vec![],
                },
            ))
        }
        _ => None,
    }
}

pub fn scope_of(grant: &Grant) -> String {
    if grant.binding_kind == "RoleBinding" {
        grant.binding_namespace.clone()
    } else {
        "*".to_string()
    }
}

/// One answer: a subject and the binding that allows it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub who: Who,
    pub scope: String,
    pub grant: Grant,
}

fn grant_for(binding: &RoleBinding, kind: &'static str, grants: &[Grant]) -> Option<Grant> {
    grants
        .iter()
        .find(|g| {
            g.binding_kind == kind
                && g.binding_name == binding.metadata.name
                && (kind == "ClusterRoleBinding"
                    || g.binding_namespace == binding.metadata.namespace)
        })
        .cloned()
}

/// Every (subject, binding) the RBAC allows to make the request.
pub fn answer(authorizer: &Authorizer, query: &Query) -> Vec<Row> {
    let set = authorizer.rbac();
    let mut rows = BTreeSet::new();
    let cluster_request = query.in_namespace(query.request.namespace());
    for binding in &set.cluster_role_bindings {
        for subject in &binding.subjects {
            let Some((who, user)) = identity(subject, "") else {
                continue;
            };
            let grants = authorizer.all_grants(&user, cluster_request.as_ref());
            if let Some(grant) = grant_for(binding, "ClusterRoleBinding", &grants) {
                rows.insert(Row {
                    who,
                    scope: "*".to_string(),
                    grant,
                });
            }
        }
    }
    let applies = |ns: &str| match &query.scope {
        Scope::Namespace(want) => ns == want,
        Scope::Cluster { namespaced } => *namespaced,
    };
    for binding in &set.role_bindings {
        let ns = binding.metadata.namespace.as_str();
        if ns.is_empty() || !applies(ns) {
            continue;
        }
        let request = query.in_namespace(ns);
        for subject in &binding.subjects {
            let Some((who, user)) = identity(subject, ns) else {
                continue;
            };
            let grants = authorizer.all_grants(&user, request.as_ref());
            if let Some(grant) = grant_for(binding, "RoleBinding", &grants) {
                rows.insert(Row {
                    who,
                    scope: ns.to_string(),
                    grant,
                });
            }
        }
    }
    rows.into_iter().collect()
}

/// Evidence of the requests `username` made that the query covers within `scope`.
pub fn seen(aggregate: &Aggregate, username: &str, query: &Query, scope: &str) -> Totals {
    let mut total = Totals::default();
    if let Some(sub) = aggregate.subjects.get(username) {
        for (request, evidence) in sub.evidence_by_request() {
            if query.covers(&request, scope) {
                total.add(&evidence);
            }
        }
    }
    total
}

/// A user seen in the log making the request, allowed only through a group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupRow {
    pub who: Who,
    pub group: String,
    pub scope: String,
    pub grant: Grant,
}

/// Users seen making a covered request that no binding naming them allows, with the group
/// bindings that do (groups as logged, plus the implied ones).
pub fn seen_through_groups(
    authorizer: &Authorizer,
    aggregate: &Aggregate,
    query: &Query,
) -> BTreeMap<GroupRow, Totals> {
    // The subjects' maps, made on the worker pool. Every row names its subject (`who`
    // follows from the user name and tells it apart), so no two maps share a key and
    // their union is the map one thread would make.
    let per_subject: Vec<BTreeMap<GroupRow, Totals>> = aggregate
        .subject_names()
        .into_par_iter()
        .map(|name| through_groups_of(authorizer, aggregate, name, query))
        .collect();
    let mut out: BTreeMap<GroupRow, Totals> = BTreeMap::new();
    for map in per_subject {
        out.extend(map);
    }
    out
}

/// [`seen_through_groups`] for the subject `name`.
fn through_groups_of(
    authorizer: &Authorizer,
    aggregate: &Aggregate,
    name: &str,
    query: &Query,
) -> BTreeMap<GroupRow, Totals> {
    let set = authorizer.rbac();
    let mut out: BTreeMap<GroupRow, Totals> = BTreeMap::new();
    {
        let sub = &aggregate.subjects[name];
        let infos = sub.user_infos(name);
        let bare = UserInfo {
            name: name.to_string(),
            groups: vec![],
        };
        let who = match crate::request::split_service_account(name) {
            Some((ns, sa)) => Who {
                kind: "ServiceAccount".into(),
                name: sa.to_string(),
                namespace: ns.to_string(),
            },
            None => Who {
                kind: "User".into(),
                name: name.to_string(),
                namespace: String::new(),
            },
        };
        for (request, entries) in sub.requests.iter() {
            let request = &request.to_owned_request();
            if !query.covers(request, "*") {
                continue;
            }
            // Directly allowed (as a User or ServiceAccount subject): not through a group.
            if authorizer.allows(&bare, request.as_ref()) {
                continue;
            }
            for (group_set, evidence) in entries {
                let user = &infos[group_set as usize];
                for grant in authorizer.all_grants(user, request.as_ref()) {
                    let binding = if grant.binding_kind == "RoleBinding" {
                        set.role_bindings.iter().find(|b| {
                            b.metadata.name == grant.binding_name
                                && b.metadata.namespace == grant.binding_namespace
                        })
                    } else {
                        set.cluster_role_bindings
                            .iter()
                            .find(|b| b.metadata.name == grant.binding_name)
                    };
                    let Some(binding) = binding else { continue };
                    let ns = grant.binding_namespace.as_str();
                    let groups: Vec<&str> = binding
                        .subjects
                        .iter()
                        .filter(|s| s.kind == "Group" && subject_matches(s, user, ns))
                        .map(|s| s.name.as_str())
                        .collect();
                    let Some(group) = groups.first() else {
                        continue;
                    };
                    out.entry(GroupRow {
                        who: who.clone(),
                        group: group.to_string(),
                        scope: scope_of(&grant),
                        grant: grant.clone(),
                    })
                    .or_default()
                    .add(&evidence);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(verb: &str, resource: &str) -> Question {
        Question {
            verb: verb.into(),
            resource: resource.into(),
            ..Question::default()
        }
    }

    fn parse(a: &Question) -> Result<Query> {
        parse_query(a, &mut |_| {})
    }

    #[test]
    fn resources_groups_and_subresources() {
        let q = parse(&args("patch", "deployments.apps/scale")).unwrap();
        let t = q.request.resource_target().unwrap();
        assert_eq!(
            (
                t.api_group.as_str(),
                t.resource.as_str(),
                t.subresource.as_str()
            ),
            ("apps", "deployments", "scale")
        );
        assert_eq!(q.scope, Scope::Cluster { namespaced: true });
        let q = parse(&args("get", "certificates.cert-manager.io")).unwrap();
        assert_eq!(
            q.request.resource_target().unwrap().api_group,
            "cert-manager.io"
        );
        let mut a = args("get", "deployments");
        a.group = Some("apps".into());
        a.namespace = Some("dev".into());
        let q = parse(&a).unwrap();
        assert_eq!(q.request.namespace(), "dev");
        assert_eq!(q.request.resource_target().unwrap().api_group, "apps");
        a.resource = "deployments.apps".into();
        assert!(parse(&a).is_err());
        assert!(parse(&args("get", "pods/log/x")).is_err());
        assert!(parse(&args("get", ".apps")).is_err());
        assert!(parse(&args("", "pods")).is_err());
    }

    #[test]
    fn cluster_scoped_and_non_resource_requests() {
        let mut a = args("list", "nodes");
        a.namespace = Some("ops".into());
        let q = parse(&a).unwrap();
        assert_eq!(q.scope, Scope::Cluster { namespaced: false });
        assert_eq!(q.request.namespace(), "");
        let mut a = args("delete", "namespaces");
        a.name = Some("dev".into());
        assert_eq!(parse(&a).unwrap().scope, Scope::Namespace("dev".into()));
        let q = parse(&args("get", "/healthz")).unwrap();
        assert_eq!(q.request, Request::non_resource("get", "/healthz"));
        let mut a = args("get", "/healthz");
        a.namespace = Some("x".into());
        assert!(parse(&a).is_err());
        assert!(parse(&args("get", "/healthz?verbose")).is_err());
    }

    #[test]
    fn covered_requests_respect_name_and_scope() {
        let mut a = args("get", "pods");
        a.namespace = Some("dev".into());
        a.name = Some("web-0".into());
        let q = parse(&a).unwrap();
        let req = |ns: &str, name: &str| {
            Request::resource(
                "get",
                ResourceTarget {
                    resource: "pods".into(),
                    namespace: ns.into(),
                    name: name.into(),
                    ..ResourceTarget::default()
                },
            )
        };
        assert!(q.covers(&req("dev", "web-0"), "*"));
        assert!(q.covers(&req("dev", "web-0"), "dev"));
        assert!(!q.covers(&req("dev", "web-1"), "*"));
        assert!(!q.covers(&req("ops", "web-0"), "*"));
        let q = parse(&args("get", "pods")).unwrap();
        assert!(q.covers(&req("ops", "x"), "*"));
        assert!(!q.covers(&req("ops", "x"), "dev"));
    }
}
