//! The lookup command: every binding in an RBAC dump that names a subject, directly or through
//! the groups every such identity has, with the role it refers to (and its rules).

use crate::cli::{LookupArgs, ReportFormat};
use crate::cmd::{dump_rbac, table_lines};
use audit2role::error::{Error, Result, EXIT_OK};
use audit2role::rbac::authorize::subject_matches;
use audit2role::rbac::{PolicyRule, RbacSet, RoleBinding};
use audit2role::request::{split_service_account, UserInfo};
use serde_json::{json, Value};
use std::io::Write;

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

    fn kind(&self) -> &'static str {
        match self {
            Target::User(_) => "User",
            Target::Group(_) => "Group",
            Target::ServiceAccount { .. } => "ServiceAccount",
        }
    }

    /// The identity as the authorizer sees it, without groups; `None` for a group.
    fn bare_user(&self) -> Option<UserInfo> {
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
    fn groups(&self) -> Vec<String> {
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

    fn to_json(&self) -> Value {
        match self {
            Target::User(n) | Target::Group(n) => json!({"kind": self.kind(), "name": n}),
            Target::ServiceAccount { namespace, name } => {
                json!({"kind": "ServiceAccount", "namespace": namespace, "name": name})
            }
        }
    }
}

/// One binding that names the subject.
#[derive(Clone, Debug)]
struct Entry<'a> {
    binding_kind: &'static str,
    binding: &'a RoleBinding,
    /// `None` when the binding names the subject itself; else the group.
    via_group: Option<String>,
    /// The role's rules; `None` when the role does not exist (or cannot be referred to).
    rules: Option<&'a [PolicyRule]>,
}

impl Entry<'_> {
    fn scope(&self) -> &str {
        if self.binding_kind == "RoleBinding" {
            &self.binding.metadata.namespace
        } else {
            "*"
        }
    }

    fn binding_label(&self) -> String {
        if self.binding_kind == "RoleBinding" {
            format!(
                "RoleBinding/{}/{}",
                self.binding.metadata.namespace, self.binding.metadata.name
            )
        } else {
            format!("ClusterRoleBinding/{}", self.binding.metadata.name)
        }
    }

    fn role_label(&self) -> String {
        let r = &self.binding.role_ref;
        let label = format!("{}/{}", r.kind, r.name);
        if self.rules.is_some() {
            label
        } else {
            format!("{label} (missing)")
        }
    }

    fn via(&self) -> String {
        match &self.via_group {
            None => "direct".to_string(),
            Some(g) => format!("group {g}"),
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

fn entries<'a>(set: &'a RbacSet, target: &Target) -> Vec<Entry<'a>> {
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

/// A rule on one line: `verbs=[get list] apiGroups=[""] resources=[pods]`.
pub fn rule_line(rule: &PolicyRule) -> String {
    let list = |items: &[String]| {
        let shown: Vec<String> = items
            .iter()
            .map(|i| {
                if i.is_empty() {
                    "\"\"".to_string()
                } else {
                    i.clone()
                }
            })
            .collect();
        format!("[{}]", shown.join(" "))
    };
    let mut parts = vec![format!("verbs={}", list(&rule.verbs))];
    for (name, items) in [
        ("apiGroups", &rule.api_groups),
        ("resources", &rule.resources),
        ("resourceNames", &rule.resource_names),
        ("nonResourceURLs", &rule.non_resource_urls),
    ] {
        if !items.is_empty() {
            parts.push(format!("{name}={}", list(items)));
        }
    }
    parts.join(" ")
}

fn io(e: std::io::Error) -> Error {
    Error::output(e)
}

pub fn run(args: &LookupArgs) -> Result<i32> {
    let target = Target::parse(&args.subject)?;
    let set = dump_rbac(&args.rbac)?;
    let found = entries(&set, &target);
    let mut stdout = std::io::stdout().lock();
    match args.output {
        ReportFormat::Json => {
            let bindings: Vec<Value> = found
                .iter()
                .map(|e| {
                    let mut binding =
                        json!({"kind": e.binding_kind, "name": e.binding.metadata.name});
                    if e.binding_kind == "RoleBinding" {
                        binding["namespace"] = json!(e.binding.metadata.namespace);
                    }
                    let mut v = json!({
                        "binding": binding,
                        "role": {
                            "kind": e.binding.role_ref.kind,
                            "name": e.binding.role_ref.name,
                            "missing": e.rules.is_none(),
                        },
                        "namespaceScope": e.scope(),
                        "viaGroup": e.via_group,
                    });
                    if args.rules {
                        v["rules"] = serde_json::to_value(e.rules.unwrap_or_default())
                            .unwrap_or(Value::Null);
                    }
                    v
                })
                .collect();
            let doc = json!({
                "subject": target.to_json(),
                "impliedGroups": match target { Target::Group(_) => vec![], _ => target.groups() },
                "bindings": bindings,
            });
            let text = serde_json::to_string_pretty(&doc)?;
            writeln!(stdout, "{text}").map_err(io)?;
        }
        ReportFormat::Table => {
            if found.is_empty() {
                writeln!(
                    stdout,
                    "No binding names {} {}.",
                    target.kind(),
                    target.display()
                )
                .map_err(io)?;
                return Ok(EXIT_OK);
            }
            let header: Vec<String> = ["BINDING", "ROLE", "NAMESPACE-SCOPE", "VIA"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let mut table = vec![header];
            for e in &found {
                table.push(vec![
                    e.binding_label(),
                    e.role_label(),
                    e.scope().to_string(),
                    e.via(),
                ]);
            }
            let lines = table_lines(&table);
            writeln!(stdout, "{}", lines[0]).map_err(io)?;
            // With --rules, each role's rules are indented right below its binding.
            for (line, e) in lines[1..].iter().zip(&found) {
                writeln!(stdout, "{line}").map_err(io)?;
                if !args.rules {
                    continue;
                }
                match e.rules {
                    None => writeln!(stdout, "    (role not found: no rules)").map_err(io)?,
                    Some([]) => writeln!(stdout, "    (no rules)").map_err(io)?,
                    Some(rules) => {
                        for r in rules {
                            writeln!(stdout, "    {}", rule_line(r)).map_err(io)?;
                        }
                    }
                }
            }
        }
    }
    Ok(EXIT_OK)
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
    fn rules_print_on_one_line() {
        let r = PolicyRule {
            verbs: vec!["get".into(), "list".into()],
            api_groups: vec!["".into()],
            resources: vec!["pods".into()],
            ..PolicyRule::default()
        };
        assert_eq!(
            rule_line(&r),
            "verbs=[get list] apiGroups=[\"\"] resources=[pods]"
        );
    }
}
