//! The RBAC authorizer: decides whether a set of RBAC objects allows a request for a user,
//! with the API server's rules (rule matching, RoleBinding scope, ClusterRoleBindings,
//! User/Group/ServiceAccount subjects). Pure functions plus an indexed `Authorizer`, and
//! `UserRules`, the rules bound to one user, for asking about many requests of that user.

use super::types::*;
use crate::request::{RequestRef, ResourceRef, TargetRef, UserInfo};
use std::collections::HashMap;

/// Does `rule` allow `request`? Subject and namespace are not considered here.
pub fn rule_allows(rule: &PolicyRule, request: RequestRef<'_>) -> bool {
    if !has_or_star(&rule.verbs, request.verb) {
        return false;
    }
    match request.target {
        TargetRef::Resource(ResourceRef {
            api_group,
            resource,
            subresource,
            name,
            ..
        }) => {
            has_or_star(&rule.api_groups, api_group)
                && resource_matches(&rule.resources, resource, subresource)
                && (rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name))
        }
        TargetRef::NonResource { path } => {
            rule.non_resource_urls.iter().any(|u| url_matches(u, path))
        }
    }
}

fn has_or_star(items: &[String], wanted: &str) -> bool {
    items.iter().any(|i| i == "*" || i == wanted)
}

fn resource_matches(rule_resources: &[String], resource: &str, subresource: &str) -> bool {
    rule_resources.iter().any(|rr| {
        if rr == "*" {
            return true;
        }
        if subresource.is_empty() {
            return rr == resource;
        }
        // `resource/subresource` exactly, or `*/subresource`.
        match rr.split_once('/') {
            Some((res, sub)) => sub == subresource && (res == resource || res == "*"),
            None => false,
        }
    })
}

/// Non-resource URL matching: `*`, exact, or a trailing-`*` prefix.
pub fn url_matches(rule_url: &str, path: &str) -> bool {
    if rule_url == "*" || rule_url == path {
        return true;
    }
    if let Some(prefix) = rule_url.strip_suffix('*') {
        return path.starts_with(prefix.trim_end_matches('*'));
    }
    false
}

/// Does binding subject `subject` name `user`? `binding_namespace` is the RoleBinding's
/// namespace (`""` for ClusterRoleBindings), the default for ServiceAccount subjects.
pub fn subject_matches(subject: &Subject, user: &UserInfo, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => subject.name == user.name,
        "Group" => user.groups.contains(&subject.name),
        "ServiceAccount" => {
            let ns = if subject.namespace.is_empty() {
                binding_namespace
            } else {
                subject.namespace.as_str()
            };
            if ns.is_empty() || subject.name.is_empty() {
                return false;
            }
            user.name
                .strip_prefix("system:serviceaccount:")
                .and_then(|rest| rest.strip_prefix(ns))
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|name| name == subject.name)
        }
        _ => false,
    }
}

/// Which binding and role granted a request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// `RoleBinding` or `ClusterRoleBinding`.
    pub binding_kind: &'static str,
    pub binding_namespace: String,
    pub binding_name: String,
    /// `Role` or `ClusterRole`.
    pub role_kind: String,
    pub role_name: String,
}

/// A rule together with the binding that makes it apply and where it applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundRule {
    pub grant: Grant,
    /// Position of the rule in its role.
    pub rule_index: usize,
    pub rule: PolicyRule,
    /// Namespace the rule applies in; `""` = every namespace and cluster scope.
    pub scope: String,
}

/// The rules bound to one user ([`Authorizer::user_rules`]): those of its
/// ClusterRoleBindings, which apply everywhere, and those of its RoleBindings by namespace.
#[derive(Debug, Default)]
pub struct UserRules<'a> {
    cluster: Vec<&'a PolicyRule>,
    by_namespace: HashMap<&'a str, Vec<&'a PolicyRule>>,
}

impl UserRules<'_> {
    /// Does the RBAC allow `request` for the user? The same answer as
    /// [`Authorizer::allows`].
    pub fn allows(&self, request: RequestRef<'_>) -> bool {
        let namespace = request.namespace();
        self.cluster.iter().any(|rule| rule_allows(rule, request))
            || (!namespace.is_empty()
                && self
                    .by_namespace
                    .get(namespace)
                    .is_some_and(|rules| rules.iter().any(|rule| rule_allows(rule, request))))
    }
}

/// An authorizer over one set of RBAC objects, indexed for repeated questions.
#[derive(Clone, Debug, Default)]
pub struct Authorizer {
    set: RbacSet,
    roles: HashMap<(String, String), usize>,
    cluster_roles: HashMap<String, usize>,
    role_bindings_by_namespace: HashMap<String, Vec<usize>>,
}

impl Authorizer {
    pub fn new(set: RbacSet) -> Authorizer {
        let mut roles = HashMap::new();
        for (i, r) in set.roles.iter().enumerate() {
            roles
                .entry((r.metadata.namespace.clone(), r.metadata.name.clone()))
                .or_insert(i);
        }
        let mut cluster_roles = HashMap::new();
        for (i, r) in set.cluster_roles.iter().enumerate() {
            cluster_roles.entry(r.metadata.name.clone()).or_insert(i);
        }
        let mut role_bindings_by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, b) in set.role_bindings.iter().enumerate() {
            role_bindings_by_namespace
                .entry(b.metadata.namespace.clone())
                .or_default()
                .push(i);
        }
        Authorizer {
            set,
            roles,
            cluster_roles,
            role_bindings_by_namespace,
        }
    }

    /// The objects this authorizer decides with.
    pub fn rbac(&self) -> &RbacSet {
        &self.set
    }

    /// Does the RBAC allow `request` for `user`?
    pub fn allows(&self, user: &UserInfo, request: RequestRef<'_>) -> bool {
        let mut allowed = false;
        self.visit_rules(user, request.namespace(), |_, rule| {
            allowed = rule_allows(rule, request);
            !allowed
        });
        allowed
    }

    /// The rules bound to `user`, gathered once, for asking about many requests of the same
    /// user: [`UserRules::allows`] answers what [`Authorizer::allows`] answers, without
    /// matching every binding's subjects again for every request.
    pub fn user_rules(&self, user: &UserInfo) -> UserRules<'_> {
        let mut rules = UserRules::default();
        self.visit_cluster_rules(user, |_, rule| {
            rules.cluster.push(rule);
            true
        });
        for namespace in self.role_bindings_by_namespace.keys() {
            let mut in_namespace = Vec::new();
            self.visit_namespace_rules(user, namespace, |_, rule| {
                in_namespace.push(rule);
                true
            });
            if !in_namespace.is_empty() {
                rules.by_namespace.insert(namespace.as_str(), in_namespace);
            }
        }
        rules
    }

    /// The first binding (ClusterRoleBindings first, then RoleBindings of the request's
    /// namespace, each in input order) whose role allows the request.
    pub fn first_grant(&self, user: &UserInfo, request: RequestRef<'_>) -> Option<Grant> {
        let mut found = None;
        self.visit_rules(user, request.namespace(), |grant, rule| {
            if rule_allows(rule, request) {
                found = Some(grant());
                false
            } else {
                true
            }
        });
        found
    }

    /// Every binding whose role allows the request (for who-can style answers).
    pub fn all_grants(&self, user: &UserInfo, request: RequestRef<'_>) -> Vec<Grant> {
        let mut grants: Vec<Grant> = Vec::new();
        self.visit_rules(user, request.namespace(), |grant, rule| {
            if rule_allows(rule, request) {
                let g = grant();
                if !grants.contains(&g) {
                    grants.push(g);
                }
            }
            true
        });
        grants
    }

    /// Every rule that applies to `user` anywhere: through ClusterRoleBindings (scope `""`,
    /// every namespace) and through RoleBindings (scope = the binding's namespace).
    pub fn bound_rules(&self, user: &UserInfo) -> Vec<BoundRule> {
        let mut out = Vec::new();
        let mut namespaces: Vec<&String> = self.role_bindings_by_namespace.keys().collect();
        namespaces.sort();
        // In a namespace only its RoleBindings are visited: the ClusterRoleBindings, kept
        // once with scope "", have their own rule counters.
        let collect = |namespace: &str, out: &mut Vec<BoundRule>| {
            let mut index_in_role: HashMap<Grant, usize> = HashMap::new();
            let visit = |grant: &dyn Fn() -> Grant, rule: &PolicyRule| {
                let g = grant();
                let counter = index_in_role.entry(g.clone()).or_insert(0);
                let scope = if g.binding_kind == "RoleBinding" {
                    namespace
                } else {
                    ""
                };
                // ClusterRoleBindings are visited for every namespace; keep them once.
                if namespace.is_empty() || g.binding_kind == "RoleBinding" {
                    out.push(BoundRule {
                        grant: g,
                        rule_index: *counter,
                        rule: rule.clone(),
                        scope: scope.to_string(),
                    });
                }
                *counter += 1;
                true
            };
            if namespace.is_empty() {
                self.visit_cluster_rules(user, visit);
            } else {
                self.visit_namespace_rules(user, namespace, visit);
            }
        };
        collect("", &mut out);
        for ns in namespaces {
            collect(ns, &mut out);
        }
        out
    }

    /// Calls `visit(grant, rule)` for every rule reachable for `user` in `namespace`, until
    /// `visit` returns false. `grant` builds the description of the binding lazily.
    fn visit_rules<'s, F>(&'s self, user: &UserInfo, namespace: &str, mut visit: F)
    where
        F: FnMut(&dyn Fn() -> Grant, &'s PolicyRule) -> bool,
    {
        if !self.visit_cluster_rules(user, &mut visit) || namespace.is_empty() {
            return;
        }
        self.visit_namespace_rules(user, namespace, visit);
    }

    /// The ClusterRoleBinding part of [`Authorizer::visit_rules`]; false when `visit` stopped it.
    fn visit_cluster_rules<'s, F>(&'s self, user: &UserInfo, mut visit: F) -> bool
    where
        F: FnMut(&dyn Fn() -> Grant, &'s PolicyRule) -> bool,
    {
        for binding in &self.set.cluster_role_bindings {
            if binding.role_ref.kind != "ClusterRole"
                || !binding
                    .subjects
                    .iter()
                    .any(|s| subject_matches(s, user, ""))
            {
                continue;
            }
            let Some(&role) = self.cluster_roles.get(&binding.role_ref.name) else {
                continue;
            };
            let grant = || Grant {
                binding_kind: "ClusterRoleBinding",
                binding_namespace: String::new(),
                binding_name: binding.metadata.name.clone(),
                role_kind: "ClusterRole".to_string(),
                role_name: binding.role_ref.name.clone(),
            };
            for rule in &self.set.cluster_roles[role].rules {
                if !visit(&grant, rule) {
                    return false;
                }
            }
        }
        true
    }

    /// The RoleBinding part of [`Authorizer::visit_rules`]: the bindings of `namespace`.
    fn visit_namespace_rules<'s, F>(&'s self, user: &UserInfo, namespace: &str, mut visit: F)
    where
        F: FnMut(&dyn Fn() -> Grant, &'s PolicyRule) -> bool,
    {
        let Some(bindings) = self.role_bindings_by_namespace.get(namespace) else {
            return;
        };
        for &b in bindings {
            let binding = &self.set.role_bindings[b];
            if !binding
                .subjects
                .iter()
                .any(|s| subject_matches(s, user, namespace))
            {
                continue;
            }
            let rules: &[PolicyRule] = match binding.role_ref.kind.as_str() {
                "Role" => match self
                    .roles
                    .get(&(namespace.to_string(), binding.role_ref.name.clone()))
                {
                    Some(&i) => &self.set.roles[i].rules,
                    None => continue,
                },
                "ClusterRole" => match self.cluster_roles.get(&binding.role_ref.name) {
                    Some(&i) => &self.set.cluster_roles[i].rules,
                    None => continue,
                },
                _ => continue,
            };
            let grant = || Grant {
                binding_kind: "RoleBinding",
                binding_namespace: namespace.to_string(),
                binding_name: binding.metadata.name.clone(),
                role_kind: binding.role_ref.kind.clone(),
                role_name: binding.role_ref.name.clone(),
            };
            for rule in rules {
                if !visit(&grant, rule) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Request, ResourceTarget};

    fn pods(verb: &str, sub: &str, name: &str) -> Request {
        Request::resource(
            verb,
            ResourceTarget {
                api_group: "".into(),
                resource: "pods".into(),
                subresource: sub.into(),
                namespace: "a".into(),
                name: name.into(),
            },
        )
    }

    #[test]
    fn rules_allow_requests() {
        let rule = |resources: &[&str], names: &[&str]| {
            PolicyRule::resource_rule(&["get", "list"], &[""], resources, names)
        };
        let cases = [
            (
                "a subresource is not its resource",
                rule(&["pods"], &[]),
                pods("get", "log", "p"),
                false,
            ),
            (
                "resource/subresource",
                rule(&["pods/log"], &[]),
                pods("get", "log", "p"),
                true,
            ),
            (
                "*/subresource",
                rule(&["*/log"], &[]),
                pods("get", "log", "p"),
                true,
            ),
            (
                "resource/* is no wildcard",
                rule(&["pods/*"], &[]),
                pods("get", "log", "p"),
                false,
            ),
            (
                "a resource is not its subresource",
                rule(&["pods/log"], &[]),
                pods("get", "", "p"),
                false,
            ),
            (
                "another verb",
                rule(&["pods"], &[]),
                pods("delete", "", "p"),
                false,
            ),
            (
                "the name listed",
                rule(&["pods"], &["p"]),
                pods("get", "", "p"),
                true,
            ),
            (
                "another name",
                rule(&["pods"], &["p"]),
                pods("get", "", "q"),
                false,
            ),
            (
                "an empty name never matches a named rule",
                rule(&["pods"], &["p"]),
                pods("list", "", ""),
                false,
            ),
            (
                "any resource",
                rule(&["*"], &[]),
                pods("get", "exec", "p"),
                true,
            ),
        ];
        for (name, rule, request, want) in cases {
            assert_eq!(rule_allows(&rule, request.as_ref()), want, "{name}");
        }
    }

    #[test]
    fn url_prefixes() {
        assert!(url_matches("/logs*", "/logsxyz"));
        assert!(url_matches("/api/*", "/api/v1"));
        assert!(!url_matches("/api/*", "/api"));
        assert!(!url_matches("/healthz", "/healthz/ping"));
        assert!(!url_matches("/a*b", "/axb"));
    }
}
