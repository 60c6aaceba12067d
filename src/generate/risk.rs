//! The catalogue of risky permissions (semantics.md §6): which rules amount to reading
//! secrets, running code in pods, escalating privileges and the like, each with a level and
//! a one-line reason. Used for `# risk:` notes, `--fail-on-risk`, and `diff`.

use crate::rbac::PolicyRule;
use std::fmt;

/// How dangerous a permission is. Ordered: `Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    /// One level up (cluster-wide scope of a namespaced risk), capped at critical.
    pub fn raised(self) -> Level {
        match self {
            Level::Low => Level::Medium,
            Level::Medium => Level::High,
            Level::High | Level::Critical => Level::Critical,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the catalogue: any of `verbs` on any of `resources` in any of `groups`.
struct Entry {
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
    level: Level,
    /// Whether cluster-wide scope (a ClusterRole bound cluster-wide) raises the level.
    scope_raises: bool,
    reason: &'static str,
    /// Words the reason for the rule as written, when the fixed reason would overstate it.
    describe: Option<fn(&PolicyRule) -> String>,
}

/// What a rule on secrets reads: every secret in scope (list, watch), any secret whose name
/// is known (get), or only the secrets it names.
fn secrets_reason(rule: &PolicyRule) -> String {
    if !rule.resource_names.is_empty() {
        let names: Vec<&str> = rule.resource_names.iter().map(String::as_str).collect();
        return format!(
            "reads {} {}: whatever {} hold, tokens included",
            if names.len() == 1 {
                "the secret"
            } else {
                "the secrets"
            },
            names_listed(&names),
            if names.len() == 1 {
                "it may"
            } else {
                "they may"
            },
        );
    }
    if covers(&rule.verbs, "list") || covers(&rule.verbs, "watch") {
        "reads secrets: list and watch return every secret in scope, service-account tokens included"
            .to_string()
    } else {
        "reads secrets: any secret in scope whose name is known, service-account tokens included"
            .to_string()
    }
}

/// At most three of `names`, and how many more there are.
fn names_listed(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let shown = names[..names.len().min(SHOWN)].join(", ");
    match names.len().saturating_sub(SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

const WORKLOADS: &[&str] = &[
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "replicationcontrollers",
    "jobs",
    "cronjobs",
];
const WRITE: &[&str] = &["create", "update", "patch"];
const WRITE_DELETE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

const CATALOGUE: &[Entry] = &[
    Entry { groups: &[""], resources: &["secrets"], verbs: &["get", "list", "watch"], level: Level::High, scope_raises: true,
        reason: "reads secrets", describe: Some(secrets_reason) },
    Entry { groups: &[""], resources: &["pods/exec", "pods/attach", "pods/portforward"], verbs: &["create", "get"], level: Level::High, scope_raises: true,
        reason: "runs commands in or connects to running pods, and so acts with their service accounts", describe: None },
    Entry { groups: &[""], resources: &["pods/ephemeralcontainers"], verbs: &["update", "patch"], level: Level::High, scope_raises: true,
        reason: "adds containers to running pods, and so runs code with their service accounts", describe: None },
    Entry { groups: &[""], resources: &["pods"], verbs: &["create"], level: Level::Medium, scope_raises: true,
        reason: "creates pods: can mount any secret and run as any service account in scope", describe: None },
    Entry { groups: &["apps", "batch", ""], resources: WORKLOADS, verbs: WRITE, level: Level::Medium, scope_raises: true,
        reason: "creates or changes workloads: can run pods with any secret and service account in scope", describe: None },
    Entry { groups: &[""], resources: &["nodes/proxy"], verbs: &["get", "create", "update", "patch", "delete"], level: Level::Critical, scope_raises: false,
        reason: "reaches the kubelet API: exec into any pod on the node, bypassing audit and admission", describe: None },
    Entry { groups: &["rbac.authorization.k8s.io"], resources: &["roles", "clusterroles"], verbs: &["escalate", "bind"], level: Level::Critical, scope_raises: false,
        reason: "escalate/bind: grants permissions the holder does not have, up to cluster-admin", describe: None },
    Entry { groups: &["rbac.authorization.k8s.io"], resources: &["roles", "rolebindings", "clusterroles", "clusterrolebindings"], verbs: WRITE, level: Level::High, scope_raises: true,
        reason: "writes RBAC: changes who may do what", describe: None },
    Entry { groups: &["", "authentication.k8s.io"], resources: &["users", "groups", "serviceaccounts", "uids", "userextras/*"], verbs: &["impersonate"], level: Level::High, scope_raises: true,
        reason: "impersonates other identities, with their permissions", describe: None },
    Entry { groups: &[""], resources: &["serviceaccounts/token"], verbs: &["create"], level: Level::High, scope_raises: true,
        reason: "mints tokens for service accounts, and so acts as them", describe: None },
    Entry { groups: &["certificates.k8s.io"], resources: &["signers"], verbs: &["approve", "sign"], level: Level::Critical, scope_raises: false,
        reason: "approves or signs certificates: can issue client certificates for any identity", describe: None },
    Entry { groups: &["certificates.k8s.io"], resources: &["certificatesigningrequests/approval", "certificatesigningrequests/status"], verbs: &["update", "patch"], level: Level::High, scope_raises: false,
        reason: "approves or signs certificate requests (with approve/sign on a signer: any identity)", describe: None },
    Entry { groups: &["admissionregistration.k8s.io"], resources: &["validatingwebhookconfigurations", "mutatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"], verbs: WRITE_DELETE, level: Level::Critical, scope_raises: false,
        reason: "changes admission control: can intercept or alter every object written, or disable security checks", describe: None },
    Entry { groups: &[""], resources: &["persistentvolumes"], verbs: &["create"], level: Level::High, scope_raises: false,
        reason: "creates persistent volumes: a hostPath volume gives access to the node's filesystem", describe: None },
    Entry { groups: &["storage.k8s.io"], resources: &["storageclasses"], verbs: WRITE, level: Level::Medium, scope_raises: false,
        reason: "changes storage classes, which decide how volumes are provisioned", describe: None },
    Entry { groups: &[""], resources: &["nodes", "nodes/status"], verbs: &["update", "patch"], level: Level::Medium, scope_raises: false,
        reason: "changes nodes: labels and taints attract workloads to a node", describe: None },
    Entry { groups: &[""], resources: &["namespaces"], verbs: &["update", "patch"], level: Level::Medium, scope_raises: true,
        reason: "changes namespaces, including the Pod Security labels that allow privileged pods", describe: None },
    Entry { groups: &["apiextensions.k8s.io", "apiregistration.k8s.io"], resources: &["customresourcedefinitions", "apiservices"], verbs: WRITE, level: Level::High, scope_raises: false,
        reason: "extends or redirects the API: an aggregated API server can intercept requests", describe: None },
    Entry { groups: &[""], resources: &["services/proxy", "pods/proxy"], verbs: &["get", "create", "update", "patch", "delete"], level: Level::Medium, scope_raises: true,
        reason: "proxies to internal endpoints from the API server's network position", describe: None },
    Entry { groups: &[""], resources: &["serviceaccounts"], verbs: WRITE, level: Level::Low, scope_raises: true,
        reason: "creates or changes service accounts (with pod creation: token automount)", describe: None },
    Entry { groups: &["authentication.k8s.io", "authorization.k8s.io"], resources: &["tokenreviews", "subjectaccessreviews"], verbs: &["create"], level: Level::Low, scope_raises: false,
        reason: "reviews tokens or access of others: information disclosure", describe: None },
    Entry { groups: &["policy", "extensions"], resources: &["podsecuritypolicies"], verbs: &["use"], level: Level::Medium, scope_raises: false,
        reason: "uses a pod security policy, possibly a privileged one", describe: None },
];

/// A risk found in a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Risk {
    pub level: Level,
    pub reason: String,
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.level, self.reason)
    }
}

fn covers(items: &[String], wanted: &str) -> bool {
    items.iter().any(|i| i == "*" || i == wanted)
}

fn covers_resource(items: &[String], wanted: &str) -> bool {
    items.iter().any(|i| {
        if i == "*" || i == wanted {
            return true;
        }
        // `*/sub` covers `x/sub`; a catalogue `userextras/*` covers any `userextras/k`.
        match (i.split_once('/'), wanted.split_once('/')) {
            (Some(("*", sub)), Some((_, wsub))) => sub == wsub,
            (Some((res, _)), Some((wres, "*"))) => res == wres,
            _ => false,
        }
    })
}

/// The risks of `rule` where it applies: in namespace `scope`, or cluster-wide when `scope`
/// is `""` (a ClusterRole, or a ClusterRoleBinding's scope).
pub fn assess(rule: &PolicyRule, scope: &str) -> Vec<Risk> {
    let cluster_wide = scope.is_empty();
    let mut out = Vec::new();
    let wildcard = rule.verbs.iter().any(|v| v == "*")
        || rule.resources.iter().any(|r| r == "*")
        || rule.api_groups.iter().any(|g| g == "*")
        || rule.non_resource_urls.iter().any(|u| u == "*");
    if wildcard {
        out.push(Risk {
            level: if cluster_wide {
                Level::Critical
            } else {
                Level::High
            },
            reason: "wildcard: covers every verb or resource, now and in the future".to_string(),
        });
    }
    for entry in CATALOGUE {
        let hit = entry.groups.iter().any(|g| covers(&rule.api_groups, g))
            && entry
                .resources
                .iter()
                .any(|r| covers_resource(&rule.resources, r))
            && entry.verbs.iter().any(|v| covers(&rule.verbs, v));
        if hit {
            let level = if cluster_wide && entry.scope_raises {
                entry.level.raised()
            } else {
                entry.level
            };
            let suffix = if cluster_wide && entry.scope_raises {
                " (cluster-wide)"
            } else {
                ""
            };
            let reason = match entry.describe {
                Some(describe) => describe(rule),
                None => entry.reason.to_string(),
            };
            out.push(Risk {
                level,
                reason: format!("{reason}{suffix}"),
            });
        }
    }
    if covers(&rule.verbs, "impersonate")
        && covers_resource(&rule.resources, "groups")
        && (rule.resource_names.is_empty()
            || rule.resource_names.iter().any(|n| n == "system:masters"))
    {
        out.push(Risk {
            level: Level::Critical,
            reason: "impersonates group system:masters, which bypasses RBAC".to_string(),
        });
    }
    out.sort_by(|a, b| b.cmp(a));
    out.dedup();
    out
}

/// The highest level among `risks`.
pub fn highest(risks: &[Risk]) -> Option<Level> {
    risks.iter().map(|r| r.level).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_reasons_say_what_the_rule_reads() {
        let reason = |verbs: &[&str], names: &[&str]| {
            let rule = PolicyRule::resource_rule(verbs, &[""], &["secrets"], names);
            let risks = assess(&rule, "ns");
            assert_eq!(risks.len(), 1, "{risks:?}");
            risks[0].reason.clone()
        };
        let cases: &[(&[&str], &[&str], &str)] = &[
            (&["get"], &["db"], "reads the secret db: whatever it may hold, tokens included"),
            (
                &["get", "list"],
                &["a", "b", "c", "d"],
                "reads the secrets a, b, c and 1 more: whatever they may hold, tokens included",
            ),
            (
                &["get"],
                &[],
                "reads secrets: any secret in scope whose name is known, service-account tokens included",
            ),
            (
                &["watch"],
                &[],
                "reads secrets: list and watch return every secret in scope, service-account tokens included",
            ),
            (
                &["*"],
                &[],
                "reads secrets: list and watch return every secret in scope, service-account tokens included",
            ),
        ];
        for (verbs, names, want) in cases {
            if verbs.contains(&"*") {
                let rule = PolicyRule::resource_rule(verbs, &[""], &["secrets"], names);
                assert!(assess(&rule, "ns").iter().any(|r| r.reason == *want));
            } else {
                assert_eq!(reason(verbs, names), *want, "{verbs:?} {names:?}");
            }
        }
    }

    #[test]
    fn levels_follow_the_catalogue_and_scope() {
        let secrets = PolicyRule::resource_rule(&["get"], &[""], &["secrets"], &["db"]);
        assert_eq!(highest(&assess(&secrets, "ns")), Some(Level::High));
        assert_eq!(highest(&assess(&secrets, "")), Some(Level::Critical));
        let configmaps = PolicyRule::resource_rule(&["get", "list"], &[""], &["configmaps"], &[]);
        assert!(assess(&configmaps, "").is_empty());
        let exec = PolicyRule::resource_rule(&["get", "create"], &[""], &["pods/exec"], &["p"]);
        assert_eq!(highest(&assess(&exec, "ns")), Some(Level::High));
        let escalate = PolicyRule::resource_rule(
            &["escalate"],
            &["rbac.authorization.k8s.io"],
            &["clusterroles"],
            &[],
        );
        assert_eq!(highest(&assess(&escalate, "ns")), Some(Level::Critical));
        let deploy = PolicyRule::resource_rule(&["patch"], &["apps"], &["deployments"], &["web"]);
        assert_eq!(highest(&assess(&deploy, "ns")), Some(Level::Medium));
        let extras = PolicyRule::resource_rule(
            &["impersonate"],
            &["authentication.k8s.io"],
            &["userextras/scopes"],
            &[],
        );
        assert_eq!(highest(&assess(&extras, "ns")), Some(Level::High));
        let masters =
            PolicyRule::resource_rule(&["impersonate"], &[""], &["groups"], &["system:masters"]);
        assert_eq!(highest(&assess(&masters, "")), Some(Level::Critical));
        let star = PolicyRule::resource_rule(&["*"], &["*"], &["*"], &[]);
        assert_eq!(highest(&assess(&star, "")), Some(Level::Critical));
        assert!(Level::Low < Level::Medium && Level::High < Level::Critical);
    }
}
