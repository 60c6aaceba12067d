//! The who-can command: every subject named in an RBAC dump's bindings that the dump allows to
//! make one request, with the binding and role that grant it; with audit logs, whether and
//! when each of them made such a request, and who made one allowed only through a group.

use crate::cli::{InputArgs, ReportFormat, WhoCanArgs};
use crate::cmd::{dump_rbac, read_logs, write_table};
use audit2role::aggregate::{Aggregate, Evidence};
use audit2role::error::{Error, Result, EXIT_OK};
use audit2role::rbac::authorize::{subject_matches, Grant};
use audit2role::rbac::{Authorizer, RoleBinding, Subject};
use audit2role::request::{Request, ResourceTarget, Target, UserInfo};
use audit2role::time::format_rfc3339_micros;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// Built-in cluster-scoped resources (group, resource): a RoleBinding never grants them, and a
/// namespace given for them is ignored. Other resources (CRDs included) are taken as namespaced.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "componentstatuses"),
    ("", "namespaces"),
    ("", "nodes"),
    ("", "persistentvolumes"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
    (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicybindings",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("apiregistration.k8s.io", "apiservices"),
    ("authentication.k8s.io", "selfsubjectreviews"),
    ("authentication.k8s.io", "tokenreviews"),
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"),
    ("certificates.k8s.io", "certificatesigningrequests"),
    ("certificates.k8s.io", "clustertrustbundles"),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    (
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
    ),
    ("networking.k8s.io", "ingressclasses"),
    ("networking.k8s.io", "ipaddresses"),
    ("networking.k8s.io", "servicecidrs"),
    ("node.k8s.io", "runtimeclasses"),
    ("policy", "podsecuritypolicies"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("resource.k8s.io", "deviceclasses"),
    ("scheduling.k8s.io", "priorityclasses"),
    ("storage.k8s.io", "csidrivers"),
    ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "storageclasses"),
    ("storage.k8s.io", "volumeattachments"),
    ("storage.k8s.io", "volumeattributesclasses"),
];

/// Where the request is asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Scope {
    /// One namespace: ClusterRoleBindings and the RoleBindings of that namespace.
    Namespace(String),
    /// Cluster-wide: ClusterRoleBindings, plus RoleBindings of every namespace (each for its
    /// own namespace) when `namespaced`.
    Cluster { namespaced: bool },
}

/// The question: a request template (namespace filled per binding) and its scope.
#[derive(Clone, Debug)]
struct Query {
    request: Request,
    scope: Scope,
}

impl Query {
    /// The request as made in `namespace`.
    fn in_namespace(&self, namespace: &str) -> Request {
        let mut r = self.request.clone();
        if let Target::Resource(t) = &mut r.target {
            t.namespace = namespace.to_string();
        }
        r
    }

    /// Is `observed` (from a log) an instance of the question, made in `scope` ("*" = any)?
    fn covers(&self, observed: &Request, scope: &str) -> bool {
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

/// Builds the question from the arguments; warnings go to `warn`.
fn parse_query(args: &WhoCanArgs, warn: &mut dyn FnMut(String)) -> Result<Query> {
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
    let name = args.name.clone().unwrap_or_default();
    let cluster_scoped = CLUSTER_SCOPED.contains(&(api_group.as_str(), resource));
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
struct Who {
    kind: String,
    /// Name; for a ServiceAccount its namespace is in `namespace`.
    name: String,
    namespace: String,
}

impl Who {
    fn display(&self) -> String {
        if self.kind == "ServiceAccount" {
            format!("{}:{}", self.namespace, self.name)
        } else {
            self.name.clone()
        }
    }

    /// The user name a User or ServiceAccount authenticates as.
    fn username(&self) -> Option<String> {
        match self.kind.as_str() {
            "User" => Some(self.name.clone()),
            "ServiceAccount" => Some(format!(
                "system:serviceaccount:{}:{}",
                self.namespace, self.name
            )),
            _ => None,
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"kind": self.kind, "name": self.name});
        if !self.namespace.is_empty() {
            v["namespace"] = json!(self.namespace);
        }
        v
    }
}

/// A subject of `binding` (in `binding_namespace`, "" for ClusterRoleBindings) and an identity
/// that matches it and nothing else the subject does not; `None` when it can never match.
fn identity(subject: &Subject, binding_namespace: &str) -> Option<(Who, UserInfo)> {
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

fn scope_of(grant: &Grant) -> String {
    if grant.binding_kind == "RoleBinding" {
        grant.binding_namespace.clone()
    } else {
        "*".to_string()
    }
}

fn binding_label(grant: &Grant) -> String {
    if grant.binding_kind == "RoleBinding" {
        format!(
            "RoleBinding/{}/{}",
            grant.binding_namespace, grant.binding_name
        )
    } else {
        format!("ClusterRoleBinding/{}", grant.binding_name)
    }
}

fn role_label(grant: &Grant) -> String {
    format!("{}/{}", grant.role_kind, grant.role_name)
}

fn grant_json(grant: &Grant) -> (Value, Value) {
    let mut binding = json!({"kind": grant.binding_kind, "name": grant.binding_name});
    if grant.binding_kind == "RoleBinding" {
        binding["namespace"] = json!(grant.binding_namespace);
    }
    (
        binding,
        json!({"kind": grant.role_kind, "name": grant.role_name}),
    )
}

/// One answer: a subject and the binding that allows it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    who: Who,
    scope: String,
    grant: Grant,
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
fn answer(authorizer: &Authorizer, query: &Query) -> Vec<Row> {
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
fn seen(aggregate: &Aggregate, username: &str, query: &Query, scope: &str) -> Evidence {
    let mut total = Evidence::default();
    if let Some(sub) = aggregate.subjects.get(username) {
        for (request, evidence) in sub.evidence_by_request() {
            if query.covers(&request, scope) {
                total.merge(&evidence);
            }
        }
    }
    total
}

/// A user seen in the log making the request, allowed only through a group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct GroupRow {
    who: Who,
    group: String,
    scope: String,
    grant: Grant,
}

/// Users seen making a covered request that no binding naming them allows, with the group
/// bindings that do (groups as logged, plus the implied ones).
fn seen_through_groups(
    authorizer: &Authorizer,
    aggregate: &Aggregate,
    query: &Query,
) -> BTreeMap<GroupRow, Evidence> {
    let set = authorizer.rbac();
    let mut out: BTreeMap<GroupRow, Evidence> = BTreeMap::new();
    for name in aggregate.subject_names() {
        let sub = &aggregate.subjects[name];
        let infos = sub.user_infos(name);
        let bare = UserInfo {
            name: name.to_string(),
            groups: vec![],
        };
        let who = match audit2role::request::split_service_account(name) {
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
                    .merge(&evidence);
                }
            }
        }
    }
    out
}

fn last_seen_cell(e: &Evidence) -> String {
    match (e.count(), e.last) {
        (0, _) => "never".to_string(),
        (_, Some(t)) => format_rfc3339_micros(t),
        (_, None) => "seen (no time)".to_string(),
    }
}

fn evidence_json(e: &Evidence) -> Value {
    json!({
        "requests": e.count(),
        "lastSeen": e.last.filter(|_| e.count() > 0).map(format_rfc3339_micros),
    })
}

fn request_json(query: &Query) -> Value {
    match &query.request.target {
        Target::NonResource { path } => json!({"verb": query.request.verb, "nonResourceURL": path}),
        Target::Resource(t) => json!({
            "verb": query.request.verb,
            "apiGroup": t.api_group,
            "resource": t.resource,
            "subresource": t.subresource,
            "name": t.name,
            "namespace": match &query.scope {
                Scope::Namespace(ns) => Value::from(ns.clone()),
                Scope::Cluster { .. } => Value::Null,
            },
        }),
    }
}

pub fn run(args: &WhoCanArgs) -> Result<i32> {
    let quiet = args.quiet;
    let query = parse_query(args, &mut |w| {
        if !quiet {
            eprintln!("{w}");
        }
    })?;
    let authorizer = Authorizer::new(dump_rbac(&args.rbac)?);
    let rows = answer(&authorizer, &query);
    let logs = if args.logs.is_empty() {
        None
    } else {
        let input = InputArgs {
            files: args.logs.clone(),
            quiet,
            ..InputArgs::default()
        };
        Some(read_logs(&input, vec![], &Default::default())?.0)
    };
    let evidence = |row: &Row| -> Option<Evidence> {
        let aggregate = logs.as_ref()?;
        let username = row.who.username()?;
        Some(seen(aggregate, &username, &query, &row.scope))
    };
    let through_groups = logs
        .as_ref()
        .map(|a| seen_through_groups(&authorizer, a, &query))
        .unwrap_or_default();

    let mut stdout = std::io::stdout().lock();
    match args.output {
        ReportFormat::Json => {
            let subjects: Vec<Value> = rows
                .iter()
                .map(|row| {
                    let (binding, role) = grant_json(&row.grant);
                    let mut v = json!({
                        "subject": row.who.to_json(),
                        "namespaceScope": row.scope,
                        "binding": binding,
                        "role": role,
                    });
                    if let Some(e) = evidence(row) {
                        v["seen"] = evidence_json(&e);
                    }
                    v
                })
                .collect();
            let mut doc = json!({"request": request_json(&query), "subjects": subjects});
            if logs.is_some() {
                doc["seenThroughGroups"] = through_groups
                    .iter()
                    .map(|(row, e)| {
                        let (binding, role) = grant_json(&row.grant);
                        json!({
                            "subject": row.who.to_json(),
                            "group": row.group,
                            "namespaceScope": row.scope,
                            "binding": binding,
                            "role": role,
                            "seen": evidence_json(e),
                        })
                    })
                    .collect();
            }
            let text = serde_json::to_string_pretty(&doc)?;
            writeln!(stdout, "{text}").map_err(Error::output)?;
        }
        ReportFormat::Table => {
            if rows.is_empty() {
                writeln!(stdout, "No subject is allowed to {}.", query.request)
                    .map_err(Error::output)?;
            } else {
                let mut header = vec![
                    "SUBJECT KIND".to_string(),
                    "SUBJECT".to_string(),
                    "NAMESPACE-SCOPE".to_string(),
                    "BINDING".to_string(),
                    "ROLE".to_string(),
                ];
                if logs.is_some() {
                    header.push("LAST-SEEN".to_string());
                }
                let mut table = vec![header];
                for row in &rows {
                    let mut cells = vec![
                        row.who.kind.clone(),
                        row.who.display(),
                        row.scope.clone(),
                        binding_label(&row.grant),
                        role_label(&row.grant),
                    ];
                    if logs.is_some() {
                        cells.push(evidence(row).map_or("-".to_string(), |e| last_seen_cell(&e)));
                    }
                    table.push(cells);
                }
                write_table(&mut stdout, &table)?;
            }
            if !through_groups.is_empty() {
                writeln!(stdout, "\nSeen in the logs, allowed only through a group:")
                    .map_err(Error::output)?;
                let mut table = vec![[
                    "SUBJECT KIND",
                    "SUBJECT",
                    "GROUP",
                    "NAMESPACE-SCOPE",
                    "BINDING",
                    "ROLE",
                    "LAST-SEEN",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()];
                for (row, e) in &through_groups {
                    table.push(vec![
                        row.who.kind.clone(),
                        row.who.display(),
                        row.group.clone(),
                        row.scope.clone(),
                        binding_label(&row.grant),
                        role_label(&row.grant),
                        last_seen_cell(e),
                    ]);
                }
                write_table(&mut stdout, &table)?;
            }
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(verb: &str, resource: &str) -> WhoCanArgs {
        WhoCanArgs {
            verb: verb.into(),
            resource: resource.into(),
            rbac: vec!["x".into()],
            ..WhoCanArgs::default()
        }
    }

    fn parse(a: &WhoCanArgs) -> Result<Query> {
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
