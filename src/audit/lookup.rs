//! lookup: every binding in an RBAC dump that names a subject, directly or through the
//! groups every such identity has, with the rules of the role it refers to.

use crate::error::{Error, Result};
use crate::rbac::authorize::subject_matches;
use crate::rbac::{PolicyRule, RbacSet, RoleBinding};
use crate::request::{split_service_account, UserInfo};

/// Who is looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    User(String),
    Group(String),
    ServiceAccount { namespace: String, name: String },
}

impl Target {
    /// Parses `alice`, `user:alice`, `group:devs`, `sa:NS:NAME`, `serviceaccount:NS:NAME` and
    /// `system:serviceaccount:NS:NAME`. Any other text is a user name, as logged.
    pub fn parse(text: &str) -> Result<Target> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "lookup: subject {text:?}: {why} (expected NAME, user:NAME, group:NAME or sa:NAMESPACE:NAME)"
            ))
        };
        let sa = ["system:serviceaccount:", "serviceaccount:", "sa:"]
            .iter()
            .find_map(|p| text.strip_prefix(p));
        if let Some(rest) = sa {
            let username = format!("system:serviceaccount:{rest}");
            let (namespace, name) = split_service_account(&username).ok_or_else(|| {
                bad("a service account needs NAMESPACE:NAME, a DNS label and a DNS subdomain")
            })?;
            return Ok(Target::ServiceAccount {
                namespace: namespace.to_string(),
                name: name.to_string(),
            });
        }
        if let Some(group) = text.strip_prefix("group:") {
            if group.is_empty() {
                return Err(bad("the group name is empty"));
            }
            return Ok(Target::Group(group.to_string()));
        }
        let user = text.strip_prefix("user:").unwrap_or(text);
        if user.is_empty() {
            return Err(bad("the user name is empty"));
        }
        Ok(Target::User(user.to_string()))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Target::User(_) => "User",
            Target::Group(_) => "Group",
            Target::ServiceAccount { .. } => "ServiceAccount",
        }
    }

    /// The identity as the authorizer sees it, without groups; `None` for a group.
    pub fn bare_user(&self) -> Option<UserInfo> {
        match self {
            Target::User(name) => Some(UserInfo {
                name: name.clone(),
                groups: vec![],
            }),
            Target::ServiceAccount { namespace, name } => Some(UserInfo {
                name: format!("system:serviceaccount:{namespace}:{name}"),
                groups: vec![],
            }),
            Target::Group(_) => None,
        }
    }

    /// The groups every such identity has (the server adds them), or the group itself.
    pub fn groups(&self) -> Vec<String> {
        match self {
            Target::User(name) if name == "system:anonymous" => {
                vec!["system:unauthenticated".to_string()]
            }
            Target::User(_) => vec!["system:authenticated".to_string()],
            Target::ServiceAccount { namespace, .. } => vec![
                "system:authenticated".to_string(),
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{namespace}"),
            ],
            Target::Group(g) => vec![g.clone()],
        }
    }

    /// `alice`, `devs`, `ops:reconciler`.
    pub fn display(&self) -> String {
        match self {
            Target::User(n) | Target::Group(n) => n.clone(),
            Target::ServiceAccount { namespace, name } => format!("{namespace}:{name}"),
        }
    }
}

/// One binding that names the subject.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub binding_kind: &'static str,
    pub binding: &'a RoleBinding,
    /// `None` when the binding names the subject itself; else the group.
    pub via_group: Option<String>,
    /// The role's rules; `None` when the role does not exist (or cannot be referred to).
    pub rules: Option<&'a [PolicyRule]>,
}

impl Entry<'_> {
    pub fn scope(&self) -> &str {
        if self.binding_kind == "RoleBinding" {
            &self.binding.metadata.namespace
        } else {
            "*"
        }
    }
}

/// The rules `binding` refers to, looked up as the authorizer does (first object of the
/// name); `None` when missing or when the binding cannot refer to it.
fn role_rules<'a>(
    set: &'a RbacSet,
    binding: &RoleBinding,
    cluster: bool,
) -> Option<&'a [PolicyRule]> {
    let r = &binding.role_ref;
    match r.kind.as_str() {
        "ClusterRole" => set
            .cluster_roles
            .iter()
            .find(|c| c.metadata.name == r.name)
            .map(|c| c.rules.as_slice()),
        "Role" if !cluster => set
            .roles
            .iter()
            .find(|x| {
                x.metadata.name == r.name && x.metadata.namespace == binding.metadata.namespace
            })
            .map(|x| x.rules.as_slice()),
        _ => None,
    }
}

/// Every binding of `set` that names `target`, directly or through its groups: direct
/// ones first, cluster-wide before namespaced.
pub fn entries<'a>(set: &'a RbacSet, target: &Target) -> Vec<Entry<'a>> {
    let bare = target.bare_user();
    let groups = target.groups();
    let mut out = Vec::new();
    let all = set
        .cluster_role_bindings
        .iter()
        .map(|b| ("ClusterRoleBinding", b))
        .chain(set.role_bindings.iter().map(|b| ("RoleBinding", b)));
    for (kind, binding) in all {
        let ns = if kind == "RoleBinding" {
            binding.metadata.namespace.as_str()
        } else {
            ""
        };
        let direct = bare.as_ref().is_some_and(|user| {
            binding
                .subjects
                .iter()
                .any(|s| subject_matches(s, user, ns))
        });
        let via_group = if direct {
            None
        } else {
            // For a group lookup the group is the subject itself: "direct".
            let found = groups.iter().find(|g| {
                binding
                    .subjects
                    .iter()
                    .any(|s| s.kind == "Group" && &s.name == *g)
            });
            match (found, target) {
                (None, _) => continue,
                (Some(_), Target::Group(_)) => None,
                (Some(g), _) => Some(g.clone()),
            }
        };
        out.push(Entry {
            binding_kind: kind,
            binding,
            via_group,
            rules: role_rules(set, binding, kind == "ClusterRoleBinding"),
        });
    }
    out.sort_by(|a, b| {
        let key = |e: &Entry| {
            (
                e.via_group.clone(),
                e.binding_kind != "ClusterRoleBinding",
                e.binding.metadata.namespace.clone(),
                e.binding.metadata.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_forms() {
        assert_eq!(
            Target::parse("alice").unwrap(),
            Target::User("alice".into())
        );
        assert_eq!(
            Target::parse("system:kube-scheduler").unwrap(),
            Target::User("system:kube-scheduler".into())
        );
        assert_eq!(
            Target::parse("user:group:x").unwrap(),
            Target::User("group:x".into())
        );
        assert_eq!(
            Target::parse("group:devs").unwrap(),
            Target::Group("devs".into())
        );
        let sa = Target::ServiceAccount {
            namespace: "ops".into(),
            name: "reconciler".into(),
        };
        for form in [
            "sa:ops:reconciler",
            "serviceaccount:ops:reconciler",
            "system:serviceaccount:ops:reconciler",
        ] {
            assert_eq!(Target::parse(form).unwrap(), sa, "{form}");
        }
        for bad in [
            "",
            "group:",
            "user:",
            "sa:ops",
            "sa:ops:a:b",
            "sa:Ops:x",
            "sa::x",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
    }
}
