//! The default bootstrap roles every cluster has (semantics.md §2.4): what any authenticated
//! user (and, for issuer discovery, any service account) may already do. Requests they allow
//! need no generated rules; `check` assumes them too.

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
}
