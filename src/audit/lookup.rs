//! lookup: every binding in an RBAC dump that names a subject, directly or through the
//! groups every such identity has, with the rules of the role it refers to; and the
//! subjects the bindings name, found by substring or regular expression, each with its
//! bindings.

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

/// The kinds of subject a binding names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
}

impl Target {
    /// The kind of subject this is.
    pub fn subject_kind(&self) -> SubjectKind {
        match self {
            Target::User(_) => SubjectKind::User,
            Target::Group(_) => SubjectKind::Group,
            Target::ServiceAccount { .. } => SubjectKind::ServiceAccount,
        }
    }

    /// Parses `text` as a subject of `kind` (`-k`): a name, or NAMESPACE:NAME for a service
    /// account; a prefixed form (`group:x`) must agree with the kind.
    pub fn parse_as(text: &str, kind: SubjectKind) -> Result<Target> {
        let target = if Target::is_prefixed(text) {
            Target::parse(text)?
        } else {
            match kind {
                SubjectKind::User => Target::parse(&format!("user:{text}"))?,
                SubjectKind::Group => Target::parse(&format!("group:{text}"))?,
                SubjectKind::ServiceAccount => Target::parse(&format!("sa:{text}"))?,
            }
        };
        if target.subject_kind() != kind {
            return Err(Error::Usage(format!(
                "lookup: subject {text:?} is a {}, not a {kind:?} (--kind)",
                target.kind()
            )));
        }
        Ok(target)
    }

    /// Whether `text` names its kind (`user:`, `group:`, `sa:`, ...).
    pub fn is_prefixed(text: &str) -> bool {
        [
            "user:",
            "group:",
            "sa:",
            "serviceaccount:",
            "system:serviceaccount:",
        ]
        .iter()
        .any(|p| text.starts_with(p))
    }

    /// The texts a query is matched against: the name, and for a service account also
    /// `NS:NAME` and `system:serviceaccount:NS:NAME`.
    fn names(&self) -> Vec<String> {
        match self {
            Target::User(n) | Target::Group(n) => vec![n.clone()],
            Target::ServiceAccount { namespace, name } => vec![
                format!("{namespace}:{name}"),
                format!("system:serviceaccount:{namespace}:{name}"),
            ],
        }
    }
}

/// Which subjects a list lookup keeps.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Names containing this text (case ignored); every name when `None`.
    pub contains: Option<String>,
    /// Names matching this regular expression.
    pub regex: Option<regex::Regex>,
    /// Subjects of this kind only.
    pub kind: Option<SubjectKind>,
}

impl Query {
    /// Whether `target` is kept.
    pub fn matches(&self, target: &Target) -> bool {
        if self.kind.is_some_and(|k| k != target.subject_kind()) {
            return false;
        }
        let names = target.names();
        let contains = self.contains.as_ref().is_none_or(|q| {
            let q = q.to_lowercase();
            names.iter().any(|n| n.to_lowercase().contains(&q))
        });
        let regex = self
            .regex
            .as_ref()
            .is_none_or(|re| names.iter().any(|n| re.is_match(n)));
        contains && regex
    }
}

/// Every subject the bindings of `set` name (users, groups, service accounts; other kinds
/// are not subjects the authorizer matches), sorted by kind then name, without repeats.
pub fn named_subjects(set: &RbacSet) -> Vec<Target> {
    let all = set.cluster_role_bindings.iter().map(|b| (b, "")).chain(
        set.role_bindings
            .iter()
            .map(|b| (b, b.metadata.namespace.as_str())),
    );
    let mut out: Vec<Target> = Vec::new();
    for (binding, binding_ns) in all {
        for s in &binding.subjects {
            let target = match s.kind.as_str() {
                "User" if !s.name.is_empty() => Target::User(s.name.clone()),
                "Group" if !s.name.is_empty() => Target::Group(s.name.clone()),
                "ServiceAccount" if !s.name.is_empty() => {
                    let namespace = if s.namespace.is_empty() {
                        binding_ns
                    } else {
                        s.namespace.as_str()
                    };
                    if namespace.is_empty() {
                        continue;
                    }
                    Target::ServiceAccount {
                        namespace: namespace.to_string(),
                        name: s.name.clone(),
                    }
                }
                _ => continue,
            };
            out.push(target);
        }
    }
    let key = |t: &Target| (t.subject_kind() as u8, t.names());
    out.sort_by_key(key);
    out.dedup();
    out
}

/// The subjects the bindings name that `query` keeps, each with the bindings that name it
/// directly.
pub fn find<'a>(set: &'a RbacSet, query: &Query) -> Vec<(Target, Vec<Entry<'a>>)> {
    named_subjects(set)
        .into_iter()
        .filter(|t| query.matches(t))
        .map(|t| {
            let direct: Vec<Entry<'a>> = entries(set, &t)
                .into_iter()
                .filter(|e| e.via_group.is_none())
                .collect();
            (t, direct)
        })
        .filter(|(_, e)| !e.is_empty())
        .collect()
}

/// What `lookup` is asked: a text (a subject, a substring, or with `regex` a regular
/// expression), or nothing (every subject); and a kind to keep.
#[derive(Clone, Debug, Default)]
pub struct Question {
    pub text: Option<String>,
    pub regex: bool,
    pub kind: Option<SubjectKind>,
}

/// The answer to a [`Question`].
#[derive(Clone, Debug)]
pub enum Answer<'a> {
    /// One subject, named exactly: every binding naming it or its implied groups; `direct`
    /// when some binding names the subject itself.
    One {
        target: Target,
        entries: Vec<Entry<'a>>,
        direct: bool,
    },
    /// The subjects the bindings name that the question keeps, each with the bindings
    /// naming it directly (possibly none matched).
    Many(Vec<(Target, Vec<Entry<'a>>)>),
}

/// Answers `question` over `set`. A text no binding names directly, given as a plain name,
/// is searched for as a substring; when nothing contains it either, the exact subject's
/// answer stands (its group bindings, `direct` false). A plain text that is no subject of the
/// asked kind (`-k serviceaccount ops`) is only searched for; a malformed prefixed subject
/// (`sa:ops`) or a bad regular expression is a usage error.
pub fn answer<'a>(set: &'a RbacSet, question: &Question) -> Result<Answer<'a>> {
    let text = question.text.as_deref();
    let exact = match (text, question.regex) {
        (Some(text), false) => match question.kind {
            Some(k) => match Target::parse_as(text, k) {
                Ok(t) => Some(t),
                Err(_) if !Target::is_prefixed(text) => None,
                Err(e) => return Err(e),
            },
            None => Some(Target::parse(text)?),
        },
        _ => None,
    };
    let regex = match (text, question.regex) {
        (Some(re), true) => Some(
            regex::Regex::new(re)
                .map_err(|e| Error::Usage(format!("lookup --regex {re:?}: {e}")))?,
        ),
        (None, true) => {
            return Err(Error::Usage(
                "lookup --regex needs a QUERY, the regular expression".to_string(),
            ))
        }
        _ => None,
    };
    if let Some(target) = &exact {
        let found = entries(set, target);
        let direct = found.iter().any(|e| e.via_group.is_none());
        // A prefixed form (`user:x`, `group:x`) names one subject and is not searched for.
        let plain = text == Some(target.display().as_str());
        if direct || !plain {
            return Ok(Answer::One {
                target: target.clone(),
                entries: found,
                direct,
            });
        }
        let query = Query {
            contains: text.map(String::from),
            regex: None,
            kind: question.kind,
        };
        let listed = find(set, &query);
        if listed.is_empty() {
            return Ok(Answer::One {
                target: target.clone(),
                entries: found,
                direct,
            });
        }
        return Ok(Answer::Many(listed));
    }
    let query = Query {
        contains: text.filter(|_| !question.regex).map(String::from),
        regex,
        kind: question.kind,
    };
    Ok(Answer::Many(find(set, &query)))
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

    #[test]
    fn queries_by_kind_substring_and_regex() {
        assert_eq!(
            Target::parse_as("ops:x", SubjectKind::ServiceAccount).unwrap(),
            Target::ServiceAccount {
                namespace: "ops".into(),
                name: "x".into()
            }
        );
        assert_eq!(
            Target::parse_as("devs", SubjectKind::Group).unwrap(),
            Target::Group("devs".into())
        );
        assert!(Target::parse_as("group:devs", SubjectKind::User).is_err());
        let sa = Target::parse("sa:ops:deployer").unwrap();
        let by_text = Query {
            contains: Some("SERVICEACCOUNT:OPS".into()),
            ..Query::default()
        };
        assert!(by_text.matches(&sa));
        assert!(!by_text.matches(&Target::User("ops".into())));
        let by_regex = Query {
            regex: Some(regex::Regex::new("^ops:d").unwrap()),
            kind: Some(SubjectKind::ServiceAccount),
            ..Query::default()
        };
        assert!(by_regex.matches(&sa));
        assert!(!by_regex.matches(&Target::Group("ops:d".into())));
    }
}
