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
        reason: "reads secrets: list and watch return every secret in scope, service-account tokens included" },
    Entry { groups: &[""], resources: &["pods/exec", "pods/attach", "pods/portforward"], verbs: &["create", "get"], level: Level::High, scope_raises: true,
        reason: "runs commands in or connects to running pods, and so acts with their service accounts" },
    Entry { groups: &[""], resources: &["pods/ephemeralcontainers"], verbs: &["update", "patch"], level: Level::High, scope_raises: true,
        reason: "adds containers to running pods, and so runs code with their service accounts" },
    Entry { groups: &[""], resources: &["pods"], verbs: &["create"], level: Level::Medium, scope_raises: true,
        reason: "creates pods: can mount any secret and run as any service account in scope" },
    Entry { groups: &["apps", "batch", ""], resources: WORKLOADS, verbs: WRITE, level: Level::Medium, scope_raises: true,
        reason: "creates or changes workloads: can run pods with any secret and service account in scope" },
    Entry { groups: &[""], resources: &["nodes/proxy"], verbs: &["get", "create", "update", "patch", "delete"], level: Level::Critical, scope_raises: false,
        reason: "reaches the kubelet API: exec into any pod on the node, bypassing audit and admission" },
    Entry { groups: &["rbac.authorization.k8s.io"], resources: &["roles", "clusterroles"], verbs: &["escalate", "bind"], level: Level::Critical, scope_raises: false,
        reason: "escalate/bind: grants permissions the holder does not have, up to cluster-admin" },
    Entry { groups: &["rbac.authorization.k8s.io"], resources: &["roles", "rolebindings", "clusterroles", "clusterrolebindings"], verbs: WRITE, level: Level::High, scope_raises: true,
        reason: "writes RBAC: changes who may do what" },
    Entry { groups: &["", "authentication.k8s.io"], resources: &["users", "groups", "serviceaccounts", "uids", "userextras/*"], verbs: &["impersonate"], level: Level::High, scope_raises: true,
        reason: "impersonates other identities, with their permissions" },
    Entry { groups: &[""], resources: &["serviceaccounts/token"], verbs: &["create"], level: Level::High, scope_raises: true,
        reason: "mints tokens for service accounts, and so acts as them" },
    Entry { groups: &["certificates.k8s.io"], resources: &["signers"], verbs: &["approve", "sign"], level: Level::Critical, scope_raises: false,
        reason: "approves or signs certificates: can issue client certificates for any identity" },
    Entry { groups: &["certificates.k8s.io"], resources: &["certificatesigningrequests/approval", "certificatesigningrequests/status"], verbs: &["update", "patch"], level: Level::High, scope_raises: false,
        reason: "approves or signs certificate requests (with approve/sign on a signer: any identity)" },
    Entry { groups: &["admissionregistration.k8s.io"], resources: &["validatingwebhookconfigurations", "mutatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"], verbs: WRITE_DELETE, level: Level::Critical, scope_raises: false,
        reason: "changes admission control: can intercept or alter every object written, or disable security checks" },
    Entry { groups: &[""], resources: &["persistentvolumes"], verbs: &["create"], level: Level::High, scope_raises: false,
        reason: "creates persistent volumes: a hostPath volume gives access to the node's filesystem" },
    Entry { groups: &["storage.k8s.io"], resources: &["storageclasses"], verbs: WRITE, level: Level::Medium, scope_raises: false,
        reason: "changes storage classes, which decide how volumes are provisioned" },
    Entry { groups: &[""], resources: &["nodes", "nodes/status"], verbs: &["update", "patch"], level: Level::Medium, scope_raises: false,
        reason: "changes nodes: labels and taints attract workloads to a node" },
    Entry { groups: &[""], resources: &["namespaces"], verbs: &["update", "patch"], level: Level::Medium, scope_raises: true,
        reason: "changes namespaces, including the Pod Security labels that allow privileged pods" },
    Entry { groups: &["apiextensions.k8s.io", "apiregistration.k8s.io"], resources: &["customresourcedefinitions", "apiservices"], verbs: WRITE, level: Level::High, scope_raises: false,
        reason: "extends or redirects the API: an aggregated API server can intercept requests" },
    Entry { groups: &[""], resources: &["services/proxy", "pods/proxy"], verbs: &["get", "create", "update", "patch", "delete"], level: Level::Medium, scope_raises: true,
        reason: "proxies to internal endpoints from the API server's network position" },
    Entry { groups: &[""], resources: &["serviceaccounts"], verbs: WRITE, level: Level::Low, scope_raises: true,
        reason: "creates or changes service accounts (with pod creation: token automount)" },
    Entry { groups: &["authentication.k8s.io", "authorization.k8s.io"], resources: &["tokenreviews", "subjectaccessreviews"], verbs: &["create"], level: Level::Low, scope_raises: false,
        reason: "reviews tokens or access of others: information disclosure" },
    Entry { groups: &["policy", "extensions"], resources: &["podsecuritypolicies"], verbs: &["use"], level: Level::Medium, scope_raises: false,
        reason: "uses a pod security policy, possibly a privileged one" },
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
            out.push(Risk {
                level,
                reason: format!("{}{suffix}", entry.reason),
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
