//! The default bootstrap roles every cluster has (semantics.md §2.4): what any authenticated
//! user (and, for issuer discovery, any service account) may already do. Requests they allow
//! need no generated rules; `check` assumes them too.

use crate::rbac::authorize::BoundRule;
use crate::rbac::{
    ClusterRole, ClusterRoleBinding, ObjectMeta, PolicyRule, RbacSet, RoleRef, Subject, RBAC_GROUP,
};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn url_rule(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: strings(verbs),
        non_resource_urls: strings(urls),
        ..PolicyRule::default()
    }
}

fn cluster_role(name: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    ClusterRole {
        metadata: ObjectMeta {
            name: name.to_string(),
            ..ObjectMeta::default()
        },
        rules,
        aggregation_rule: None,
    }
}

fn group_binding(name: &str, groups: &[&str]) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: ObjectMeta {
            name: name.to_string(),
            ..ObjectMeta::default()
        },
        role_ref: RoleRef {
            api_group: RBAC_GROUP.to_string(),
            kind: "ClusterRole".to_string(),
            name: name.to_string(),
        },
        subjects: groups
            .iter()
            .map(|g| Subject {
                kind: "Group".to_string(),
                api_group: RBAC_GROUP.to_string(),
                name: g.to_string(),
                namespace: String::new(),
            })
            .collect(),
    }
}

/// `system:discovery`, `system:public-info-viewer`, `system:basic-user` and
/// `system:service-account-issuer-discovery` with their default bindings.
pub fn bootstrap_rbac() -> RbacSet {
    let health = ["/livez", "/readyz", "/healthz", "/version", "/version/"];
    let mut discovery_urls: Vec<&str> = health.to_vec();
    discovery_urls.extend([
        "/openapi",
        "/openapi/*",
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
    ]);
    RbacSet {
        cluster_roles: vec![
            cluster_role(
                "system:discovery",
                vec![url_rule(&["get"], &discovery_urls)],
            ),
            cluster_role(
                "system:public-info-viewer",
                vec![url_rule(&["get"], &health)],
            ),
            cluster_role(
                "system:basic-user",
                vec![
                    PolicyRule {
                        verbs: strings(&["create"]),
                        api_groups: strings(&["authorization.k8s.io"]),
                        resources: strings(&[
                            "selfsubjectaccessreviews",
                            "selfsubjectrulesreviews",
                        ]),
                        ..PolicyRule::default()
                    },
                    PolicyRule {
                        verbs: strings(&["create"]),
                        api_groups: strings(&["authentication.k8s.io"]),
                        resources: strings(&["selfsubjectreviews"]),
                        ..PolicyRule::default()
                    },
                ],
            ),
            cluster_role(
                "system:service-account-issuer-discovery",
                vec![url_rule(
                    &["get"],
                    &[
                        "/.well-known/openid-configuration",
                        "/.well-known/openid-configuration/",
                        "/openid/v1/jwks",
                        "/openid/v1/jwks/",
                    ],
                )],
            ),
        ],
        cluster_role_bindings: vec![
            group_binding("system:discovery", &["system:authenticated"]),
            group_binding(
                "system:public-info-viewer",
                &["system:authenticated", "system:unauthenticated"],
            ),
            group_binding("system:basic-user", &["system:authenticated"]),
            group_binding(
                "system:service-account-issuer-discovery",
                &["system:serviceaccounts"],
            ),
        ],
        ..RbacSet::default()
    }
}

/// Whether `bound` is one of the grants every cluster gives: a rule reached through one of
/// the default ClusterRoleBindings above (`system:discovery`, `system:public-info-viewer`,
/// `system:basic-user`, `system:service-account-issuer-discovery`) of the ClusterRole of the
/// same name, granting nothing beyond what that default role grants. A default role that
/// was widened in the dump (another verb, a wildcard, another path) is not baseline: it is
/// scored like any other grant.
pub fn is_baseline(bound: &BoundRule) -> bool {
    let grant = &bound.grant;
    if grant.binding_kind != "ClusterRoleBinding"
        || grant.role_kind != "ClusterRole"
        || grant.binding_name != grant.role_name
    {
        return false;
    }
    /// Built once: diff asks for every grant of every subject.
    static DEFAULTS: std::sync::LazyLock<RbacSet> = std::sync::LazyLock::new(bootstrap_rbac);
    let Some(role) = DEFAULTS
        .cluster_roles
        .iter()
        .find(|r| r.metadata.name == grant.role_name)
    else {
        return false;
    };
    role.rules
        .iter()
        .any(|default| within(&bound.rule, default))
}

/// Every value `rule` lists is listed by `default` (which has no wildcards), so `rule`
/// grants a subset of what `default` grants (resource names only narrow it further).
fn within(rule: &PolicyRule, default: &PolicyRule) -> bool {
    let subset = |part: &[String], whole: &[String]| part.iter().all(|v| whole.contains(v));
    !rule.verbs.is_empty()
        && subset(&rule.verbs, &default.verbs)
        && subset(&rule.api_groups, &default.api_groups)
        && subset(&rule.resources, &default.resources)
        && subset(&rule.non_resource_urls, &default.non_resource_urls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::Authorizer;
    use crate::request::{Request, UserInfo};

    #[test]
    fn exact_health_paths_and_prefix_discovery() {
        let a = Authorizer::new(bootstrap_rbac());
        let user = UserInfo::new("bob", &["system:authenticated"]);
        let allowed =
            |verb: &str, path: &str| a.allows(&user, Request::non_resource(verb, path).as_ref());
        assert!(allowed("get", "/api"));
        assert!(allowed("get", "/apis/apps/v1"));
        assert!(allowed("get", "/openapi/v3/apis/apps/v1"));
        assert!(allowed("get", "/healthz"));
        assert!(!allowed("get", "/healthz/ping"));
        assert!(!allowed("get", "/readyz/etcd"));
        assert!(!allowed("head", "/healthz"));
        assert!(!allowed("get", "/api-anything"));
        assert!(!allowed("get", "/.well-known/openid-configuration"));
        let sa = UserInfo::new(
            "system:serviceaccount:a:b",
            &["system:authenticated", "system:serviceaccounts"],
        );
        assert!(a.allows(
            &sa,
            Request::non_resource("get", "/openid/v1/jwks").as_ref()
        ));
    }

    /// `generate` folds names while reading only because whether these roles allow a
    /// request cannot depend on its name (`cmd::generate::fold_names_after`).
    #[test]
    fn no_rule_lists_resource_names() {
        let rbac = bootstrap_rbac();
        let rules = rbac
            .cluster_roles
            .iter()
            .flat_map(|r| &r.rules)
            .chain(rbac.roles.iter().flat_map(|r| &r.rules));
        let mut count = 0;
        for rule in rules {
            assert!(rule.resource_names.is_empty(), "{rule:?}");
            count += 1;
        }
        assert!(count >= 5);
    }

    fn bound(binding: &str, role: &str, rule: PolicyRule) -> BoundRule {
        BoundRule {
            grant: crate::rbac::authorize::Grant {
                binding_kind: "ClusterRoleBinding",
                binding_namespace: String::new(),
                binding_name: binding.to_string(),
                role_kind: "ClusterRole".to_string(),
                role_name: role.to_string(),
            },
            rule_index: 0,
            rule,
            scope: String::new(),
        }
    }

    #[test]
    fn baseline_is_a_default_binding_granting_no_more_than_the_default_role() {
        let discovery = |urls: &[&str], verbs: &[&str]| url_rule(verbs, urls);
        let cases: Vec<(&str, BoundRule, bool)> = vec![
            (
                "the default rule, another order",
                bound(
                    "system:discovery",
                    "system:discovery",
                    discovery(&["/version", "/api", "/healthz"], &["get"]),
                ),
                true,
            ),
            (
                "an older, narrower default",
                bound(
                    "system:public-info-viewer",
                    "system:public-info-viewer",
                    discovery(&["/healthz"], &["get"]),
                ),
                true,
            ),
            (
                "widened to every path",
                bound(
                    "system:discovery",
                    "system:discovery",
                    discovery(&["*"], &["get"]),
                ),
                false,
            ),
            (
                "widened to another verb",
                bound(
                    "system:discovery",
                    "system:discovery",
                    discovery(&["/api"], &["get", "post"]),
                ),
                false,
            ),
            (
                "a default role bound by another binding",
                bound(
                    "everyone-discovers",
                    "system:discovery",
                    discovery(&["/api"], &["get"]),
                ),
                false,
            ),
            (
                "basic-user widened to a resource it never had",
                bound(
                    "system:basic-user",
                    "system:basic-user",
                    PolicyRule {
                        verbs: strings(&["create"]),
                        api_groups: strings(&["authorization.k8s.io"]),
                        resources: strings(&["subjectaccessreviews"]),
                        ..PolicyRule::default()
                    },
                ),
                false,
            ),
            (
                "a role that is no default",
                bound("view", "view", discovery(&["/api"], &["get"])),
                false,
            ),
        ];
        for (what, b, want) in cases {
            assert_eq!(is_baseline(&b), want, "{what}");
        }
    }
}
