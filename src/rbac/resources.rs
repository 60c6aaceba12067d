//! What the API server knows about its resources: the built-in resources of Kubernetes
//! (plural, singular, short names, group, kind, whether namespaced, subresources), to which
//! custom resources can be added, and the resolution of a resource as kubectl names it
//! (`po`, `pod`, `pods`, `deploy`, `deployments.apps`, `pods/log`). Scope decides whether a
//! request is namespaced; resolution turns what a person typed into what RBAC matches.

use std::fmt;

/// One resource of the API.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiResource {
    /// The API group (`""` for the core group).
    pub group: String,
    /// The plural name RBAC rules use (`deployments`).
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub kind: String,
    pub namespaced: bool,
    /// Subresources (`status`, `scale`, `log`, ...).
    pub subresources: Vec<String>,
}

impl fmt::Display for ApiResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.plural)
        } else {
            write!(f, "{}.{}", self.plural, self.group)
        }
    }
}

/// A built-in resource: group, plural, short names, kind, namespaced, subresources.
type Builtin = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    bool,
    &'static [&'static str],
);

const NAMESPACED: bool = true;
const CLUSTER: bool = false;

/// The built-in resources of a current Kubernetes release (kube-apiserver's discovery,
/// `kubectl api-resources -o wide`), with their subresources.
const BUILTIN: &[Builtin] = &[
    ("", "bindings", &[], "Binding", NAMESPACED, &[]),
    (
        "",
        "componentstatuses",
        &["cs"],
        "ComponentStatus",
        CLUSTER,
        &[],
    ),
    ("", "configmaps", &["cm"], "ConfigMap", NAMESPACED, &[]),
    ("", "endpoints", &["ep"], "Endpoints", NAMESPACED, &[]),
    ("", "events", &["ev"], "Event", NAMESPACED, &[]),
    (
        "",
        "limitranges",
        &["limits"],
        "LimitRange",
        NAMESPACED,
        &[],
    ),
    (
        "",
        "namespaces",
        &["ns"],
        "Namespace",
        CLUSTER,
        &["finalize", "status"],
    ),
    ("", "nodes", &["no"], "Node", CLUSTER, &["proxy", "status"]),
    (
        "",
        "persistentvolumeclaims",
        &["pvc"],
        "PersistentVolumeClaim",
        NAMESPACED,
        &["status"],
    ),
    (
        "",
        "persistentvolumes",
        &["pv"],
        "PersistentVolume",
        CLUSTER,
        &["status"],
    ),
    (
        "",
        "pods",
        &["po"],
        "Pod",
        NAMESPACED,
        &[
            "attach",
            "binding",
            "ephemeralcontainers",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "resize",
            "status",
        ],
    ),
    ("", "podtemplates", &[], "PodTemplate", NAMESPACED, &[]),
    (
        "",
        "replicationcontrollers",
        &["rc"],
        "ReplicationController",
        NAMESPACED,
        &["scale", "status"],
    ),
    (
        "",
        "resourcequotas",
        &["quota"],
        "ResourceQuota",
        NAMESPACED,
        &["status"],
    ),
    ("", "secrets", &[], "Secret", NAMESPACED, &[]),
    (
        "",
        "serviceaccounts",
        &["sa"],
        "ServiceAccount",
        NAMESPACED,
        &["token"],
    ),
    (
        "",
        "services",
        &["svc"],
        "Service",
        NAMESPACED,
        &["proxy", "status"],
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicies",
        &[],
        "MutatingAdmissionPolicy",
        CLUSTER,
        &[],
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicybindings",
        &[],
        "MutatingAdmissionPolicyBinding",
        CLUSTER,
        &[],
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        &[],
        "MutatingWebhookConfiguration",
        CLUSTER,
        &[],
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        &[],
        "ValidatingAdmissionPolicy",
        CLUSTER,
        &["status"],
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
        &[],
        "ValidatingAdmissionPolicyBinding",
        CLUSTER,
        &[],
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        &[],
        "ValidatingWebhookConfiguration",
        CLUSTER,
        &[],
    ),
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        &["crd", "crds"],
        "CustomResourceDefinition",
        CLUSTER,
        &["status"],
    ),
    (
        "apiregistration.k8s.io",
        "apiservices",
        &[],
        "APIService",
        CLUSTER,
        &["status"],
    ),
    (
        "apps",
        "controllerrevisions",
        &[],
        "ControllerRevision",
        NAMESPACED,
        &[],
    ),
    (
        "apps",
        "daemonsets",
        &["ds"],
        "DaemonSet",
        NAMESPACED,
        &["status"],
    ),
    (
        "apps",
        "deployments",
        &["deploy"],
        "Deployment",
        NAMESPACED,
        &["scale", "status"],
    ),
    (
        "apps",
        "replicasets",
        &["rs"],
        "ReplicaSet",
        NAMESPACED,
        &["scale", "status"],
    ),
    (
        "apps",
        "statefulsets",
        &["sts"],
        "StatefulSet",
        NAMESPACED,
        &["scale", "status"],
    ),
    (
        "authentication.k8s.io",
        "selfsubjectreviews",
        &[],
        "SelfSubjectReview",
        CLUSTER,
        &[],
    ),
    (
        "authentication.k8s.io",
        "tokenreviews",
        &[],
        "TokenReview",
        CLUSTER,
        &[],
    ),
    (
        "authorization.k8s.io",
        "localsubjectaccessreviews",
        &[],
        "LocalSubjectAccessReview",
        NAMESPACED,
        &[],
    ),
    (
        "authorization.k8s.io",
        "selfsubjectaccessreviews",
        &[],
        "SelfSubjectAccessReview",
        CLUSTER,
        &[],
    ),
    (
        "authorization.k8s.io",
        "selfsubjectrulesreviews",
        &[],
        "SelfSubjectRulesReview",
        CLUSTER,
        &[],
    ),
    (
        "authorization.k8s.io",
        "subjectaccessreviews",
        &[],
        "SubjectAccessReview",
        CLUSTER,
        &[],
    ),
    (
        "autoscaling",
        "horizontalpodautoscalers",
        &["hpa"],
        "HorizontalPodAutoscaler",
        NAMESPACED,
        &["status"],
    ),
    (
        "batch",
        "cronjobs",
        &["cj"],
        "CronJob",
        NAMESPACED,
        &["status"],
    ),
    ("batch", "jobs", &[], "Job", NAMESPACED, &["status"]),
    (
        "certificates.k8s.io",
        "certificatesigningrequests",
        &["csr"],
        "CertificateSigningRequest",
        CLUSTER,
        &["approval", "status"],
    ),
    (
        "certificates.k8s.io",
        "clustertrustbundles",
        &[],
        "ClusterTrustBundle",
        CLUSTER,
        &[],
    ),
    (
        "coordination.k8s.io",
        "leasecandidates",
        &[],
        "LeaseCandidate",
        NAMESPACED,
        &[],
    ),
    (
        "coordination.k8s.io",
        "leases",
        &[],
        "Lease",
        NAMESPACED,
        &[],
    ),
    (
        "discovery.k8s.io",
        "endpointslices",
        &[],
        "EndpointSlice",
        NAMESPACED,
        &[],
    ),
    ("events.k8s.io", "events", &["ev"], "Event", NAMESPACED, &[]),
    (
        "flowcontrol.apiserver.k8s.io",
        "flowschemas",
        &[],
        "FlowSchema",
        CLUSTER,
        &["status"],
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
        &[],
        "PriorityLevelConfiguration",
        CLUSTER,
        &["status"],
    ),
    (
        "networking.k8s.io",
        "ingressclasses",
        &[],
        "IngressClass",
        CLUSTER,
        &[],
    ),
    (
        "networking.k8s.io",
        "ingresses",
        &["ing"],
        "Ingress",
        NAMESPACED,
        &["status"],
    ),
    (
        "networking.k8s.io",
        "ipaddresses",
        &["ip"],
        "IPAddress",
        CLUSTER,
        &[],
    ),
    (
        "networking.k8s.io",
        "networkpolicies",
        &["netpol"],
        "NetworkPolicy",
        NAMESPACED,
        &[],
    ),
    (
        "networking.k8s.io",
        "servicecidrs",
        &[],
        "ServiceCIDR",
        CLUSTER,
        &["status"],
    ),
    (
        "node.k8s.io",
        "runtimeclasses",
        &[],
        "RuntimeClass",
        CLUSTER,
        &[],
    ),
    (
        "policy",
        "poddisruptionbudgets",
        &["pdb"],
        "PodDisruptionBudget",
        NAMESPACED,
        &["status"],
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        &[],
        "ClusterRoleBinding",
        CLUSTER,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterroles",
        &[],
        "ClusterRole",
        CLUSTER,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "rolebindings",
        &[],
        "RoleBinding",
        NAMESPACED,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "roles",
        &[],
        "Role",
        NAMESPACED,
        &[],
    ),
    (
        "resource.k8s.io",
        "deviceclasses",
        &[],
        "DeviceClass",
        CLUSTER,
        &[],
    ),
    (
        "resource.k8s.io",
        "resourceclaims",
        &[],
        "ResourceClaim",
        NAMESPACED,
        &["status"],
    ),
    (
        "resource.k8s.io",
        "resourceclaimtemplates",
        &[],
        "ResourceClaimTemplate",
        NAMESPACED,
        &[],
    ),
    (
        "resource.k8s.io",
        "resourceslices",
        &[],
        "ResourceSlice",
        CLUSTER,
        &[],
    ),
    (
        "scheduling.k8s.io",
        "priorityclasses",
        &["pc"],
        "PriorityClass",
        CLUSTER,
        &[],
    ),
    (
        "storage.k8s.io",
        "csidrivers",
        &[],
        "CSIDriver",
        CLUSTER,
        &[],
    ),
    ("storage.k8s.io", "csinodes", &[], "CSINode", CLUSTER, &[]),
    (
        "storage.k8s.io",
        "csistoragecapacities",
        &[],
        "CSIStorageCapacity",
        NAMESPACED,
        &[],
    ),
    (
        "storage.k8s.io",
        "storageclasses",
        &["sc"],
        "StorageClass",
        CLUSTER,
        &[],
    ),
    (
        "storage.k8s.io",
        "volumeattachments",
        &[],
        "VolumeAttachment",
        CLUSTER,
        &["status"],
    ),
    (
        "storage.k8s.io",
        "volumeattributesclasses",
        &["vac"],
        "VolumeAttributesClass",
        CLUSTER,
        &[],
    ),
];

/// The built-in cluster-scoped resources as (group, plural), sorted (a test compares it
/// with the table). Looked up through [`CLUSTER_SCOPED_SET`] for every event.
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
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("resource.k8s.io", "deviceclasses"),
    ("resource.k8s.io", "resourceslices"),
    ("scheduling.k8s.io", "priorityclasses"),
    ("storage.k8s.io", "csidrivers"),
    ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "storageclasses"),
    ("storage.k8s.io", "volumeattachments"),
    ("storage.k8s.io", "volumeattributesclasses"),
];

/// Whether `resource` of `group` is a built-in cluster-scoped resource. Unknown resources
/// (custom ones) are not: their scope is what the event says.
pub fn is_builtin_cluster_scoped(group: &str, resource: &str) -> bool {
    let set: &foldhash::HashSet<(&str, &str)> = &CLUSTER_SCOPED_SET;
    set.contains(&(group, resource))
}

/// [`CLUSTER_SCOPED`] as a hash set: one hash of two short strings per event, where a
/// binary search compared strings seven times (9 % of a one-thread run's samples).
static CLUSTER_SCOPED_SET: std::sync::LazyLock<foldhash::HashSet<(&str, &str)>> =
    std::sync::LazyLock::new(|| CLUSTER_SCOPED.iter().copied().collect());

/// Why a resource as typed could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// Nothing is called that; the closest known names, if any; whether the table was the
    /// server's own list.
    Unknown {
        typed: String,
        closest: Vec<String>,
        from_server: bool,
    },
    /// Several resources answer to that name (in different groups).
    Ambiguous {
        typed: String,
        candidates: Vec<String>,
    },
    /// The resource exists but has no such subresource.
    NoSubresource {
        resource: String,
        subresource: String,
        known: Vec<String>,
    },
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unresolved::Unknown {
                typed,
                closest,
                from_server: false,
            } if closest.is_empty() => write!(
                f,
                "the server doesn't have a resource type {typed:?} (custom resources: give --api-resources FILE)"
            ),
            Unresolved::Unknown { typed, closest, .. } if closest.is_empty() => write!(
                f,
                "the server doesn't have a resource type {typed:?}"
            ),
            Unresolved::Unknown { typed, closest, .. } => write!(
                f,
                "the server doesn't have a resource type {typed:?}; did you mean {}?",
                closest.join(", ")
            ),
            Unresolved::Ambiguous { typed, candidates } => write!(
                f,
                "resource {typed:?} is ambiguous: name the group, one of {}",
                candidates.join(", ")
            ),
            Unresolved::NoSubresource {
                resource,
                subresource,
                known,
            } if known.is_empty() => write!(f, "{resource} has no subresource {subresource:?}"),
            Unresolved::NoSubresource {
                resource,
                subresource,
                known,
            } => write!(
                f,
                "{resource} has no subresource {subresource:?} (it has {})",
                known.join(", ")
            ),
        }
    }
}

/// A resource as RBAC matches it: group, plural and subresource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved<'t> {
    pub resource: &'t ApiResource,
    /// Empty when none was asked for.
    pub subresource: String,
}

/// The resources of one API server: the built-in ones and any custom resources added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceTable {
    resources: Vec<ApiResource>,
    /// The table holds a server's own list (`kubectl api-resources`): what it does not
    /// know, that server does not serve.
    pub from_server: bool,
}

impl Default for ResourceTable {
    fn default() -> ResourceTable {
        ResourceTable::builtin()
    }
}

impl ResourceTable {
    /// The built-in resources of Kubernetes.
    pub fn builtin() -> ResourceTable {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        let resources = BUILTIN
            .iter()
            .map(
                |&(group, plural, short, kind, namespaced, subresources)| ApiResource {
                    group: group.to_string(),
                    plural: plural.to_string(),
                    singular: kind.to_lowercase(),
                    short_names: strings(short),
                    kind: kind.to_string(),
                    namespaced,
                    subresources: strings(subresources),
                },
            )
            .collect();
        ResourceTable {
            resources,
            from_server: false,
        }
    }

    /// Adds (or replaces, by group and plural) a resource, such as a custom resource.
    pub fn add(&mut self, resource: ApiResource) {
        match self
            .resources
            .iter_mut()
            .find(|r| r.group == resource.group && r.plural == resource.plural)
        {
            Some(existing) => *existing = resource,
            None => self.resources.push(resource),
        }
    }

    /// The resource `plural` of `group`, if known.
    pub fn get(&self, group: &str, plural: &str) -> Option<&ApiResource> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.plural == plural)
    }

    /// Every known resource.
    pub fn iter(&self) -> impl Iterator<Item = &ApiResource> {
        self.resources.iter()
    }

    /// Resolves `typed` as kubectl does: `NAME[.GROUP][/SUBRESOURCE]`, where NAME is a
    /// plural, singular, short name or kind (any case), and GROUP may be given in full or
    /// as its first labels (`deployments.apps`, `hpa.autoscaling`). Among several matches,
    /// one in the core group wins, as in kubectl; other ties are ambiguous.
    pub fn resolve(&self, typed: &str) -> Result<Resolved<'_>, Unresolved> {
        let (head, subresource) = typed.split_once('/').unwrap_or((typed, ""));
        let lower = head.to_lowercase();
        let matches_name = |r: &ApiResource, name: &str| {
            r.plural == name
                || r.singular == name
                || r.kind.to_lowercase() == name
                || r.short_names.iter().any(|s| s == name)
        };
        let mut found: Vec<&ApiResource> = self
            .resources
            .iter()
            .filter(|r| matches_name(r, &lower))
            .collect();
        if found.is_empty() {
            // NAME.GROUP, the group possibly shortened to its first labels.
            if let Some((name, group)) = lower.split_once('.') {
                found = self
                    .resources
                    .iter()
                    .filter(|r| {
                        matches_name(r, name)
                            && (r.group == group || r.group.starts_with(&format!("{group}.")))
                    })
                    .collect();
            }
        }
        if found.len() > 1 {
            let core: Vec<&ApiResource> = found
                .iter()
                .copied()
                .filter(|r| r.group.is_empty())
                .collect();
            if core.len() == 1 {
                found = core;
            }
        }
        let resource = match found.as_slice() {
            [one] => *one,
            [] => {
                return Err(Unresolved::Unknown {
                    typed: head.to_string(),
                    closest: self.closest(&lower),
                    from_server: self.from_server,
                })
            }
            several => {
                let mut candidates: Vec<String> = several.iter().map(|r| r.to_string()).collect();
                candidates.sort();
                return Err(Unresolved::Ambiguous {
                    typed: head.to_string(),
                    candidates,
                });
            }
        };
        if !subresource.is_empty() && !resource.subresources.iter().any(|s| s == subresource) {
            return Err(Unresolved::NoSubresource {
                resource: resource.to_string(),
                subresource: subresource.to_string(),
                known: resource.subresources.clone(),
            });
        }
        Ok(Resolved {
            resource,
            subresource: subresource.to_string(),
        })
    }

    /// Adds the resources listed in `text`, the output of `kubectl api-resources` (with or
    /// without `-o wide`): the custom resources of a cluster, and its built-in ones as that
    /// server serves them. `origin` names the text in errors. Columns are found by the
    /// header's names (NAME, SHORTNAMES, APIVERSION, NAMESPACED, KIND), as kubectl aligns
    /// them. kubectl does not list subresources: a resource already known keeps its own; a
    /// new one (a custom resource) may have the two a CustomResourceDefinition can declare,
    /// `status` and `scale`. Returns how many resources were read.
    pub fn add_api_resources(&mut self, text: &str, origin: &str) -> crate::error::Result<usize> {
        use crate::error::Error;
        let mut lines = text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((header_at, header)) = lines.next() else {
            return Err(Error::input(
                origin,
                None,
                "empty: expected the output of `kubectl api-resources`",
            ));
        };
        let column = |name: &str| {
            header
                .match_indices(name)
                .find(|(at, _)| {
                    let before = header[..*at].chars().next_back();
                    let after = header[at + name.len()..].chars().next();
                    before.is_none_or(|c| c == ' ') && after.is_none_or(|c| c == ' ')
                })
                .map(|(at, _)| at)
        };
        let header_error = || {
            Error::input(
                origin,
                Some(header_at as u64 + 1),
                "expected the header of `kubectl api-resources` (NAME SHORTNAMES APIVERSION NAMESPACED KIND)",
            )
        };
        let (Some(name_at), Some(short_at), Some(version_at), Some(namespaced_at), Some(kind_at)) = (
            column("NAME"),
            column("SHORTNAMES"),
            column("APIVERSION"),
            column("NAMESPACED"),
            column("KIND"),
        ) else {
            return Err(header_error());
        };
        if !(name_at < short_at
            && short_at < version_at
            && version_at < namespaced_at
            && namespaced_at < kind_at)
        {
            return Err(header_error());
        }
        let mut count = 0;
        for (i, line) in lines {
            let number = i as u64 + 1;
            let cell = |from: usize, to: Option<usize>| -> &str {
                let end = to.unwrap_or(line.len()).min(line.len());
                line.get(from.min(end)..end).unwrap_or("").trim()
            };
            let kind_end = line
                .get(kind_at..)
                .and_then(|rest| rest.find(' '))
                .map(|n| n + kind_at);
            let fields = (
                cell(name_at, Some(short_at)),
                cell(short_at, Some(version_at)),
                cell(version_at, Some(namespaced_at)),
                cell(namespaced_at, Some(kind_at)),
                cell(kind_at, kind_end),
            );
            let (plural, short, api_version, namespaced, kind) = fields;
            let bad = |what: &str| {
                Error::input(
                    origin,
                    Some(number),
                    format!("{what} (columns as the header aligns them)"),
                )
            };
            if plural.is_empty() || plural.contains(' ') || kind.is_empty() {
                return Err(bad("expected NAME and KIND"));
            }
            let namespaced = match namespaced {
                "true" => true,
                "false" => false,
                other => {
                    return Err(bad(&format!(
                        "NAMESPACED is {other:?}, expected true or false"
                    )))
                }
            };
            let group = match api_version.split_once('/') {
                Some((group, _version)) => group,
                None if !api_version.is_empty() && !api_version.contains(' ') => "",
                None => return Err(bad("expected APIVERSION (v1, apps/v1, ...)")),
            };
            let subresources = match self.get(group, plural) {
                Some(known) => known.subresources.clone(),
                None => vec!["scale".to_string(), "status".to_string()],
            };
            self.add(ApiResource {
                group: group.to_string(),
                plural: plural.to_string(),
                singular: kind.to_lowercase(),
                short_names: short
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                kind: kind.to_string(),
                namespaced,
                subresources,
            });
            count += 1;
        }
        self.from_server = true;
        Ok(count)
    }

    /// Known resources within two edits of `name`, closest first.
    fn closest(&self, name: &str) -> Vec<String> {
        let names: Vec<String> = self.resources.iter().map(|r| r.to_string()).collect();
        let plurals = self.resources.iter().map(|r| r.plural.as_str());
        crate::similar::closest(name, plurals, 2, 3)
            .into_iter()
            .filter_map(|plural| {
                let i = self.resources.iter().position(|r| r.plural == plural)?;
                Some(names[i].clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_scoped_list_is_sorted_and_agrees_with_the_table() {
        let mut sorted = CLUSTER_SCOPED.to_vec();
        sorted.sort();
        assert_eq!(
            sorted, CLUSTER_SCOPED,
            "kept sorted, to be read and compared"
        );
        let from_table: Vec<(&str, &str)> = {
            let mut v: Vec<(&str, &str)> = BUILTIN
                .iter()
                .filter(|b| !b.4)
                .map(|b| (b.0, b.1))
                .collect();
            v.sort();
            v
        };
        assert_eq!(from_table, CLUSTER_SCOPED);
        assert!(is_builtin_cluster_scoped("", "namespaces"));
        assert!(!is_builtin_cluster_scoped("", "pods"));
        assert!(!is_builtin_cluster_scoped("example.com", "widgets"));
    }

    #[test]
    fn resolves_names_as_kubectl_does() {
        let table = ResourceTable::builtin();
        let cases: &[(&str, &str, &str, &str)] = &[
            ("pods", "", "pods", ""),
            ("po", "", "pods", ""),
            ("pod", "", "pods", ""),
            ("Pod", "", "pods", ""),
            ("deploy", "apps", "deployments", ""),
            ("deployments.apps", "apps", "deployments", ""),
            ("deployment.apps", "apps", "deployments", ""),
            ("hpa", "autoscaling", "horizontalpodautoscalers", ""),
            ("pods/log", "", "pods", "log"),
            ("po/exec", "", "pods", "exec"),
            ("deploy/scale", "apps", "deployments", "scale"),
            ("ev", "", "events", ""),
            ("events.events.k8s.io", "events.k8s.io", "events", ""),
            ("events.events", "events.k8s.io", "events", ""),
            (
                "csr",
                "certificates.k8s.io",
                "certificatesigningrequests",
                "",
            ),
            (
                "clusterroles",
                "rbac.authorization.k8s.io",
                "clusterroles",
                "",
            ),
            (
                "clusterroles.rbac",
                "rbac.authorization.k8s.io",
                "clusterroles",
                "",
            ),
        ];
        for (typed, group, plural, sub) in cases {
            let got = table
                .resolve(typed)
                .unwrap_or_else(|e| panic!("{typed}: {e}"));
            assert_eq!(
                (
                    got.resource.group.as_str(),
                    got.resource.plural.as_str(),
                    got.subresource.as_str()
                ),
                (*group, *plural, *sub),
                "{typed}"
            );
        }
    }

    #[test]
    fn unknown_ambiguous_and_bad_subresources_say_why() {
        let table = ResourceTable::builtin();
        match table.resolve("pdos") {
            Err(Unresolved::Unknown { closest, .. }) => {
                assert_eq!(closest.first().map(String::as_str), Some("pods"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            table.resolve("widgets"),
            Err(Unresolved::Unknown { closest, .. }) if closest.is_empty()
        ));
        assert!(matches!(
            table.resolve("pods/fly"),
            Err(Unresolved::NoSubresource { .. })
        ));
        let mut with_crd = ResourceTable::builtin();
        with_crd.add(ApiResource {
            group: "example.com".into(),
            plural: "deployments".into(),
            singular: "deployment".into(),
            short_names: vec![],
            kind: "Deployment".into(),
            namespaced: true,
            subresources: vec![],
        });
        match with_crd.resolve("deployments") {
            Err(Unresolved::Ambiguous { candidates, .. }) => assert_eq!(
                candidates,
                vec!["deployments.apps", "deployments.example.com"]
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            with_crd
                .resolve("deployments.example.com")
                .map(|r| r.resource.group.clone()),
            Ok("example.com".to_string())
        );
    }

    #[test]
    fn api_resources_output_adds_custom_resources_by_column() {
        let text = "NAME          SHORTNAMES   APIVERSION            NAMESPACED   KIND\n\
                    bindings                   v1                    true         Binding\n\
                    deployments   deploy       apps/v1               true         Deployment\n\
                    widgets       wd,wdg       example.com/v1beta1   false        Widget\n";
        let mut table = ResourceTable::builtin();
        assert_eq!(table.add_api_resources(text, "api.txt").unwrap(), 3);
        assert!(table.from_server);
        let widget = table.get("example.com", "widgets").unwrap();
        assert_eq!(widget.short_names, vec!["wd", "wdg"]);
        assert_eq!(widget.singular, "widget");
        assert!(!widget.namespaced);
        assert_eq!(widget.subresources, vec!["scale", "status"]);
        assert_eq!(table.resolve("wdg").unwrap().resource.plural, "widgets");
        // A built-in resource keeps the subresources kubectl does not list.
        let deployments = table.get("apps", "deployments").unwrap();
        assert!(deployments.subresources.contains(&"scale".to_string()));
        assert!(table.get("", "bindings").unwrap().short_names.is_empty());

        for (bad, why) in [
            ("", "empty"),
            ("pods po v1 true Pod\n", "header"),
            ("NAME   SHORTNAMES   APIVERSION   NAMESPACED   KIND\npods   po           v1           yes          Pod\n", "NAMESPACED"),
            ("NAME   SHORTNAMES   APIVERSION   NAMESPACED   KIND\npödß  po\n", "NAME and KIND"),
        ] {
            let err = ResourceTable::builtin()
                .add_api_resources(bad, "api.txt")
                .unwrap_err()
                .to_string();
            assert!(err.contains("api.txt") && err.contains(why), "{bad:?}: {err}");
        }
    }
}
