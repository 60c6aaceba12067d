//! The one data type of the pipeline: a request, what the Kubernetes authorizer sees for one
//! API call (verb plus a resource or non-resource target), and `UserInfo`, who made it.
//! A request has two forms: `RequestRef` borrows its strings (decoding, the aggregate and
//! the authorizer work on it, without allocating) and `Request` owns them (for what is kept
//! beside the aggregate: refused requests, who-can queries, test cases). `as_ref` and
//! `to_owned_request` convert; both forms hash, order and print alike.
//! Normalization from audit events into requests lives in `normalize.rs`.

pub mod normalize;
pub mod select;

use std::fmt;
use std::hash::{Hash, Hasher};

/// A resource request target: what `objectRef` names, after normalization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceTarget {
    /// API group; `""` is the core group.
    pub api_group: String,
    /// Plural resource name, e.g. `pods`.
    pub resource: String,
    /// Subresource, e.g. `exec`; empty when none.
    pub subresource: String,
    /// Namespace; empty for cluster-scoped requests.
    pub namespace: String,
    /// Object name as the authorizer saw it; empty for collections.
    pub name: String,
}

impl ResourceTarget {
    /// `resource` or `resource/subresource`, as RBAC rules spell it.
    pub fn combined_resource(&self) -> String {
        self.as_ref().combined_resource()
    }

    pub fn as_ref(&self) -> ResourceRef<'_> {
        ResourceRef {
            api_group: &self.api_group,
            resource: &self.resource,
            subresource: &self.subresource,
            namespace: &self.namespace,
            name: &self.name,
        }
    }
}

/// What a request acts on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A request for an API resource (`objectRef` present).
    Resource(ResourceTarget),
    /// A request for a plain URL path (no query string).
    NonResource { path: String },
}

/// One authorization request: verb and target. The subject is kept beside it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Request {
    pub verb: String,
    pub target: Target,
}

impl Request {
    /// A resource request.
    pub fn resource(verb: &str, target: ResourceTarget) -> Request {
        Request {
            verb: verb.to_string(),
            target: Target::Resource(target),
        }
    }

    /// A non-resource request.
    pub fn non_resource(verb: &str, path: &str) -> Request {
        Request {
            verb: verb.to_string(),
            target: Target::NonResource {
                path: path.to_string(),
            },
        }
    }

    /// The namespace the request is made in (`""` for cluster scope and non-resource URLs).
    pub fn namespace(&self) -> &str {
        match &self.target {
            Target::Resource(r) => &r.namespace,
            Target::NonResource { .. } => "",
        }
    }

    /// The resource target, when this is a resource request.
    pub fn resource_target(&self) -> Option<&ResourceTarget> {
        match &self.target {
            Target::Resource(r) => Some(r),
            Target::NonResource { .. } => None,
        }
    }
}

impl Request {
    /// The borrowed form, for look-ups without allocating.
    pub fn as_ref(&self) -> RequestRef<'_> {
        RequestRef {
            verb: &self.verb,
            target: match &self.target {
                Target::Resource(r) => TargetRef::Resource(r.as_ref()),
                Target::NonResource { path } => TargetRef::NonResource { path },
            },
        }
    }
}

/// A request with borrowed strings: what decoding produces per event, before it is known
/// whether the request is new. Hashes and orders like the owned `Request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestRef<'a> {
    pub verb: &'a str,
    pub target: TargetRef<'a>,
}

/// The borrowed form of `Target` (variants and fields in the same order, so that the
/// derived orders agree).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetRef<'a> {
    Resource(ResourceRef<'a>),
    NonResource { path: &'a str },
}

/// The borrowed form of `ResourceTarget` (fields in the same order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResourceRef<'a> {
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

impl ResourceRef<'_> {
    /// `resource` or `resource/subresource`, as RBAC rules spell it.
    pub fn combined_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

impl RequestRef<'_> {
    pub fn to_owned_request(&self) -> Request {
        Request {
            verb: self.verb.to_string(),
            target: match self.target {
                TargetRef::Resource(ResourceRef {
                    api_group,
                    resource,
                    subresource,
                    namespace,
                    name,
                }) => Target::Resource(ResourceTarget {
                    api_group: api_group.to_string(),
                    resource: resource.to_string(),
                    subresource: subresource.to_string(),
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                }),
                TargetRef::NonResource { path } => Target::NonResource {
                    path: path.to_string(),
                },
            },
        }
    }

    pub fn namespace(&self) -> &str {
        match self.target {
            TargetRef::Resource(ResourceRef { namespace, .. }) => namespace,
            TargetRef::NonResource { .. } => "",
        }
    }
}

impl Hash for RequestRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.verb.hash(h);
        match self.target {
            TargetRef::Resource(r) => {
                0u8.hash(h);
                r.api_group.hash(h);
                r.resource.hash(h);
                r.subresource.hash(h);
                r.namespace.hash(h);
                r.name.hash(h);
            }
            TargetRef::NonResource { path } => {
                1u8.hash(h);
                path.hash(h);
            }
        }
    }
}

impl Hash for Request {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_ref().hash(h);
    }
}

impl hashbrown::Equivalent<Request> for RequestRef<'_> {
    fn equivalent(&self, key: &Request) -> bool {
        *self == key.as_ref()
    }
}

impl fmt::Display for Request {
    /// A compact one-line form for messages: `get pods/log p1 -n ns`,
    /// `list deployments.apps (cluster)` (`resource.group` outside the core group, `-n` and
    /// the namespace or `(cluster)`), `get /healthz` for a URL path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl fmt::Display for RequestRef<'_> {
    /// As [`Request`]'s form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target {
            TargetRef::NonResource { path } => write!(f, "{} {}", self.verb, path),
            TargetRef::Resource(ResourceRef {
                api_group,
                resource,
                subresource,
                namespace,
                name,
            }) => {
                write!(f, "{} ", self.verb)?;
                if !api_group.is_empty() {
                    write!(f, "{resource}.{api_group}")?;
                } else {
                    write!(f, "{resource}")?;
                }
                if !subresource.is_empty() {
                    write!(f, "/{subresource}")?;
                }
                if !name.is_empty() {
                    write!(f, " {name}")?;
                }
                if !namespace.is_empty() {
                    write!(f, " -n {namespace}")?;
                } else {
                    write!(f, " (cluster)")?;
                }
                Ok(())
            }
        }
    }
}

/// The identity a request is authorized as: user name and groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    pub fn new(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.to_string(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }
}

/// A service account named by a user name of the form `system:serviceaccount:NS:NAME`, with the
/// API server's validation (namespace a DNS label, name a DNS subdomain, exactly two parts).
pub fn split_service_account(username: &str) -> Option<(&str, &str)> {
    let rest = username.strip_prefix("system:serviceaccount:")?;
    let mut parts = rest.split(':');
    let namespace = parts.next()?;
    let name = parts.next()?;
    if parts.next().is_some() || !is_dns_label(namespace) || !is_dns_subdomain(name) {
        return None;
    }
    Some((namespace, name))
}

/// DNS-1123 label: at most 63 of `[a-z0-9-]`, alphanumeric at both ends.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// DNS-1123 subdomain: at most 253, dot-separated labels of `[a-z0-9-]`.
pub fn is_dns_subdomain(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 253
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'.')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(verb: &str, group: &str, res: &str, sub: &str, ns: &str, name: &str) -> Request {
        Request::resource(
            verb,
            ResourceTarget {
                api_group: group.into(),
                resource: res.into(),
                subresource: sub.into(),
                namespace: ns.into(),
                name: name.into(),
            },
        )
    }

    #[test]
    fn service_account_names_follow_split_username() {
        assert_eq!(
            split_service_account("system:serviceaccount:ns1:sa1"),
            Some(("ns1", "sa1"))
        );
        assert_eq!(split_service_account("system:serviceaccount:a:b:c"), None);
        assert_eq!(split_service_account("system:serviceaccount:Ns:sa"), None);
        assert_eq!(
            split_service_account("system:serviceaccounts:default:x"),
            None
        );
        assert_eq!(split_service_account("alice"), None);
        assert_eq!(split_service_account("system:serviceaccount:ns:"), None);
    }

    #[test]
    fn display_is_compact() {
        let cases = [
            (
                r("get", "", "pods", "log", "ns", "p1"),
                "get pods/log p1 -n ns",
            ),
            (
                r("create", "", "pods", "exec", "a", "p1"),
                "create pods/exec p1 -n a",
            ),
            (
                r("list", "apps", "deployments", "", "", ""),
                "list deployments.apps (cluster)",
            ),
            (Request::non_resource("get", "/healthz"), "get /healthz"),
        ];
        for (request, want) in cases {
            assert_eq!(request.to_string(), want);
            assert_eq!(request.as_ref().to_string(), want);
        }
    }

    #[test]
    fn borrowed_requests_order_like_owned_ones() {
        let requests = [
            r("get", "", "pods", "", "a", "p1"),
            r("get", "", "pods", "", "a", "p0"),
            r("get", "", "pods", "", "b", ""),
            r("get", "", "pods", "log", "a", "p1"),
            r("get", "apps", "deployments", "", "a", "d"),
            r("get", "", "configmaps", "", "z", "c"),
            r("list", "", "pods", "", "", ""),
            r("create", "", "pods", "", "a", ""),
            Request::non_resource("get", "/healthz"),
            Request::non_resource("get", "/api"),
            Request::non_resource("post", "/api"),
        ];
        let mut orders = 0;
        for a in &requests {
            for b in &requests {
                assert_eq!(a.as_ref().cmp(&b.as_ref()), a.cmp(b), "{a} vs {b}");
                orders += usize::from(a < b);
            }
        }
        // Every pair is distinct, so exactly half of the ordered pairs are less.
        assert_eq!(orders, requests.len() * (requests.len() - 1) / 2);
    }
}
