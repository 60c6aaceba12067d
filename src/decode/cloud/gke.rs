//! GKE: Cloud Logging `LogEntry` objects whose `protoPayload` is a Cloud Audit Logs
//! `AuditLog` written for the Kubernetes API server (`serviceName` `k8s.io`), one per line or
//! as the JSON array `gcloud logging read --format=json` prints. Each entry is turned into
//! the native event it stands for, so normalization is the same as for native lines:
//!
//! - subject: `authenticationInfo.principalEmail` (the authenticated caller), or
//!   `principalSubject` when the email is absent (third-party identities). GKE entries carry
//!   no groups. `serviceAccountDelegationInfo` (a Google IAM delegation chain before the
//!   request reached the cluster) is not Kubernetes impersonation and is not used.
//! - verb: the last segment of `methodName` (`io.k8s.core.v1.pods.get` → `get`), which GKE
//!   writes as the authorizer verb (get, list, watch, create, update, patch, delete,
//!   deletecollection, ...).
//! - non-resource requests: `methodName` is `io.k8s.VERB` and `resourceName` the path
//!   without its leading slash (`readyz`).
//! - resource requests: `resourceName` is `GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]`
//!   with `core` for the legacy group, parsed as the API server parses request paths;
//!   `methodName` must end in `.VERSION.RESOURCE[.SUB].VERB`, or the entry is skipped.
//!   When `resourceName` is missing, the first `authorizationInfo[].resource` is used.
//! - denial: the `authorization.k8s.io/decision` label; else `authorizationInfo[].granted`
//!   (false anywhere → denied, true everywhere → allowed); else `status.code` 7
//!   (PERMISSION_DENIED) counts as a 403.
//! - time: `timestamp`, else `receiveTimestamp`. Entries have no stages: each is a completed
//!   request.

use crate::decode::native::{
    Annotations, Decision, EventDoc, ObjectRefDoc, StatusDoc, Str, UserDoc,
};

/// The parts of a `LogEntry` the event is made from.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'b> {
    pub payload: &'b ProtoPayload<'b>,
    pub timestamp: Option<&'b str>,
    pub receive_timestamp: Option<&'b str>,
    pub labels: Option<Annotations>,
}
use crate::decode::Unusable;
use serde::Deserialize;
use std::borrow::Cow;

/// The `@type` of a Cloud Audit Logs payload.
pub const AUDIT_LOG_TYPE: &str = "type.googleapis.com/google.cloud.audit.AuditLog";

/// `protoPayload`: the fields of `AuditLog` that the request needs.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtoPayload<'a> {
    #[serde(borrow, default, rename = "@type")]
    pub type_url: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub service_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub method_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub resource_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub authentication_info: Option<AuthenticationInfo<'a>>,
    #[serde(borrow, default)]
    pub authorization_info: Option<Vec<AuthorizationInfo<'a>>>,
    #[serde(default)]
    pub status: Option<RpcStatus>,
}

/// `authenticationInfo`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationInfo<'a> {
    #[serde(borrow, default)]
    pub principal_email: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub principal_subject: Option<Str<'a>>,
}

/// One `authorizationInfo[]` item.
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizationInfo<'a> {
    #[serde(borrow, default)]
    pub resource: Option<Str<'a>>,
    #[serde(default)]
    pub granted: Option<bool>,
}

/// `status` (`google.rpc.Status`): only the code.
#[derive(Debug, Default, Deserialize)]
pub struct RpcStatus {
    #[serde(default)]
    pub code: Option<i64>,
}

/// gRPC `PERMISSION_DENIED`.
const PERMISSION_DENIED: i64 = 7;

fn borrowed<'b>(s: &'b str) -> Option<Str<'b>> {
    Some(Cow::Borrowed(s))
}

/// The native event that the GKE entry `entry` records.
pub fn to_event<'b>(entry: &Entry<'b>) -> Result<EventDoc<'b>, Unusable> {
    let p = entry.payload;
    let service = p.service_name.as_deref().unwrap_or("");
    if service != "k8s.io" {
        return Err(Unusable::new(
            "not a Kubernetes audit entry",
            format!("Cloud Logging entry of service {service:?}, not k8s.io"),
        ));
    }
    if let Some(t) = p.type_url.as_deref().filter(|t| *t != AUDIT_LOG_TYPE) {
        return Err(Unusable::new(
            "not a Kubernetes audit entry",
            format!("Cloud Logging payload of type {t:?}, not an AuditLog"),
        ));
    }
    let method = p.method_name.as_deref().unwrap_or("");
    let verb = method.rsplit('.').next().unwrap_or("");
    if verb.is_empty() || !verb.bytes().all(|c| c.is_ascii_lowercase()) || verb == method {
        return Err(Unusable::new(
            "no verb",
            format!("GKE entry has no usable protoPayload.methodName ({method:?})"),
        ));
    }
    let auth = p.authentication_info.as_ref();
    let principal = auth
        .and_then(|a| a.principal_email.as_deref())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            auth.and_then(|a| a.principal_subject.as_deref())
                .filter(|s| !s.is_empty())
        })
        .ok_or_else(|| {
            Unusable::new(
                "no user",
                "GKE entry has no protoPayload.authenticationInfo.principalEmail",
            )
        })?;
    let resource_name = p
        .resource_name
        .as_deref()
        .or_else(|| {
            p.authorization_info
                .iter()
                .flatten()
                .find_map(|a| a.resource.as_deref())
        })
        .unwrap_or("");

    let mut event = EventDoc {
        verb: borrowed(verb),
        user: Some(UserDoc {
            username: borrowed(principal),
            ..UserDoc::default()
        }),
        request_received_timestamp: entry
            .timestamp
            .or(entry.receive_timestamp)
            .and_then(borrowed),
        ..EventDoc::default()
    };

    if method == format!("io.k8s.{verb}") {
        // A non-resource request: resourceName is the path.
        if resource_name.is_empty() {
            return Err(Unusable::new(
                "no request URI",
                "GKE non-resource entry has no protoPayload.resourceName",
            ));
        }
        event.request_uri = Some(if resource_name.starts_with('/') {
            Cow::Borrowed(resource_name)
        } else {
            Cow::Owned(format!("/{resource_name}"))
        });
    } else {
        event.object_ref = Some(object_ref(method, verb, resource_name)?);
    }

    let decision = entry.labels.map(|l| l.decision).unwrap_or_default();
    let decision = match decision {
        Decision::Unknown => {
            let granted: Vec<Option<bool>> = p
                .authorization_info
                .iter()
                .flatten()
                .map(|a| a.granted)
                .collect();
            if granted.contains(&Some(false)) {
                Decision::Forbid
            } else if !granted.is_empty() && granted.iter().all(|g| *g == Some(true)) {
                Decision::Allow
            } else {
                Decision::Unknown
            }
        }
        known => known,
    };
    event.annotations = Some(Annotations { decision });
    if p.status.as_ref().and_then(|s| s.code) == Some(PERMISSION_DENIED) {
        event.response_status = Some(StatusDoc { code: Some(403) });
    }
    Ok(event)
}

/// Parses `resourceName` (`core/v1/namespaces/ns/pods/p/status`) as the API server parses
/// a request path, and checks it against `methodName`.
fn object_ref<'b>(
    method: &str,
    verb: &str,
    resource_name: &'b str,
) -> Result<ObjectRefDoc<'b>, Unusable> {
    let bad = |why: &str| {
        Unusable::new(
            "unreadable GKE resource",
            format!("GKE resourceName {resource_name:?} (method {method:?}): {why}"),
        )
    };
    let segments: Vec<&'b str> = resource_name
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let [group, version, parts @ ..] = segments.as_slice() else {
        return Err(bad("expected GROUP/VERSION/RESOURCE"));
    };
    let mut parts: &[&'b str] = parts;
    let mut namespace = "";
    if parts.first() == Some(&"namespaces") && parts.len() >= 2 {
        namespace = parts[1];
        if parts.len() >= 3 && !matches!(parts[2], "status" | "finalize") {
            parts = &parts[2..];
        }
    }
    let Some(&resource) = parts.first() else {
        return Err(bad("no resource"));
    };
    let name = parts.get(1).copied().unwrap_or("");
    let subresource = parts.get(2).copied().unwrap_or("");
    let mut want = format!(".{version}.{resource}");
    if !subresource.is_empty() {
        want.push('.');
        want.push_str(subresource);
    }
    want.push('.');
    want.push_str(verb);
    if !method.ends_with(&want) {
        return Err(bad(&format!("the method does not end in {want:?}")));
    }
    let api_group = if *group == "core" { "" } else { group };
    Ok(ObjectRefDoc {
        resource: borrowed(resource),
        namespace: (!namespace.is_empty()).then_some(Cow::Borrowed(namespace)),
        name: (!name.is_empty()).then_some(Cow::Borrowed(name)),
        api_group: borrowed(api_group),
        api_version: borrowed(version),
        subresource: (!subresource.is_empty()).then_some(Cow::Borrowed(subresource)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::record::{parse, Record};

    fn record(line: &str) -> Record<'_> {
        parse(line).unwrap().into_records().next().unwrap()
    }

    fn entry(method: &str, resource: &str, extra: &str) -> String {
        format!(
            r#"{{"protoPayload":{{"@type":"{AUDIT_LOG_TYPE}","serviceName":"k8s.io","methodName":"{method}","resourceName":"{resource}","authenticationInfo":{{"principalEmail":"alice@example.com"}}{extra}}},"timestamp":"2024-01-01T01:00:00Z"}}"#
        )
    }

    fn convert(line: &str) -> Result<String, Unusable> {
        let d = record(line);
        let e = to_event(&d.gke_entry().unwrap())?;
        let o = e.object_ref.as_ref();
        let f = |x: Option<&Str<'_>>| x.map(|s| s.to_string()).unwrap_or_default();
        Ok(format!(
            "{} {} g={} r={} s={} ns={} n={} uri={}",
            f(e.verb.as_ref()),
            f(e.user.as_ref().unwrap().username.as_ref()),
            f(o.and_then(|o| o.api_group.as_ref())),
            f(o.and_then(|o| o.resource.as_ref())),
            f(o.and_then(|o| o.subresource.as_ref())),
            f(o.and_then(|o| o.namespace.as_ref())),
            f(o.and_then(|o| o.name.as_ref())),
            f(e.request_uri.as_ref()),
        ))
    }

    #[test]
    fn resource_names_parse_like_request_paths() {
        let cases = [
            (
                "io.k8s.core.v1.pods.status.patch",
                "core/v1/namespaces/a/pods/p/status",
                "patch alice@example.com g= r=pods s=status ns=a n=p uri=",
            ),
            (
                "io.k8s.apps.v1.deployments.list",
                "apps/v1/namespaces/a/deployments",
                "list alice@example.com g=apps r=deployments s= ns=a n= uri=",
            ),
            (
                "io.k8s.core.v1.nodes.get",
                "core/v1/nodes/n1",
                "get alice@example.com g= r=nodes s= ns= n=n1 uri=",
            ),
            (
                "io.k8s.core.v1.namespaces.get",
                "core/v1/namespaces/x",
                "get alice@example.com g= r=namespaces s= ns=x n=x uri=",
            ),
            (
                "io.k8s.core.v1.namespaces.finalize.update",
                "core/v1/namespaces/x/finalize",
                "update alice@example.com g= r=namespaces s=finalize ns=x n=x uri=",
            ),
            (
                "io.k8s.coordination.v1.leases.update",
                "coordination.k8s.io/v1/namespaces/kube-system/leases/l",
                "update alice@example.com g=coordination.k8s.io r=leases s= ns=kube-system n=l uri=",
            ),
            (
                "io.k8s.get",
                "readyz",
                "get alice@example.com g= r= s= ns= n= uri=/readyz",
            ),
        ];
        for (method, resource, want) in cases {
            assert_eq!(convert(&entry(method, resource, "")).unwrap(), want);
        }
    }

    #[test]
    fn mismatches_and_other_services_are_unusable() {
        let e = convert(&entry(
            "io.k8s.core.v1.pods.get",
            "core/v1/namespaces/a/secrets/s",
            "",
        ))
        .unwrap_err();
        assert_eq!(e.class, "unreadable GKE resource");
        let other = entry("io.k8s.core.v1.pods.get", "core/v1/pods", "")
            .replace("\"k8s.io\"", "\"container.googleapis.com\"");
        let e = convert(&other).unwrap_err();
        assert_eq!(e.class, "not a Kubernetes audit entry");
        assert!(
            e.detail.contains("container.googleapis.com"),
            "{}",
            e.detail
        );
        let e = convert(&entry("io.k8s.core.v1.pods", "core/v1/pods", "")).unwrap_err();
        assert_eq!(e.class, "unreadable GKE resource");
    }

    #[test]
    fn denial_from_labels_authorization_info_or_status() {
        let denied = |line: &str| {
            let d = record(line);
            let e = to_event(&d.gke_entry().unwrap()).unwrap();
            let n = crate::request::normalize::normalize(&e, None).unwrap();
            n.denied
        };
        let base = entry("io.k8s.core.v1.pods.list", "core/v1/namespaces/a/pods", "");
        assert!(!denied(&base));
        assert!(denied(&entry(
            "io.k8s.core.v1.pods.list",
            "core/v1/namespaces/a/pods",
            r#","status":{"code":7}"#
        )));
        assert!(denied(&entry(
            "io.k8s.core.v1.pods.list",
            "core/v1/namespaces/a/pods",
            r#","authorizationInfo":[{"permission":"io.k8s.core.v1.pods.list","granted":false}]"#
        )));
        // The decision label wins over the status code (a webhook may also deny with 7).
        let labelled = entry(
            "io.k8s.core.v1.pods.list",
            "core/v1/namespaces/a/pods",
            r#","status":{"code":7}"#,
        )
        .replacen(
            "{",
            r#"{"labels":{"authorization.k8s.io/decision":"allow"},"#,
            1,
        );
        assert!(!denied(&labelled));
    }
}
