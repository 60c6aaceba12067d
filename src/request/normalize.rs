//! Normalization: one audit event → the authorizer's view of it (semantics.md §1–§4):
//! the subject (impersonated user when present), a resource or non-resource `RequestRef`
//! with create names cleared, the scope the API server gives the resource (a built-in
//! cluster-scoped resource has no namespace, whatever the event's objectRef carries), paths
//! percent-decoded and without their query, the stage, time and denial, and the
//! `impersonate` checks the impersonator passed. Requests that were never authenticated
//! (401) were never authorized and give nothing.

use crate::decode::native::{Decision, EventDoc, UserDoc};
use crate::decode::Unusable;
use crate::rbac::resources::is_builtin_cluster_scoped;
use crate::request::{
    split_service_account, Request, RequestRef, ResourceRef, ResourceTarget, TargetRef,
};
use crate::time::parse_rfc3339_micros;
use std::borrow::Cow;

/// Which stage an event was logged at, for counting one request once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    RequestReceived,
    ResponseStarted,
    /// ResponseComplete, Panic, or no stage given.
    Completed,
}

/// One event, normalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized<'a> {
    /// The user the request was authorized as.
    pub subject: &'a str,
    /// Its groups as logged, sorted, without duplicates (see `with_implied_groups`).
    pub groups: Vec<&'a str>,
    /// The request as the authorizer saw it, but for a percent-encoded path (see
    /// [`Normalized::request`]).
    request: RequestRef<'a>,
    /// The decoded path of a non-resource request whose `requestURI` was percent-encoded.
    decoded_path: Option<String>,
    /// For impersonated requests: the impersonator (the authenticated user) and its groups.
    pub impersonator: Option<(&'a str, Vec<&'a str>)>,
    /// The `impersonate` checks the impersonator passed for this request.
    pub impersonations: Vec<Request>,
    pub stage: Stage,
    /// Microseconds since the epoch, when the event carries a readable timestamp.
    pub time: Option<i64>,
    /// Denied by the authorizer (decision `forbid`, or HTTP 403 without a decision).
    pub denied: bool,
    /// When the objectRef was missing, incomplete or disagreed with `requestURI` and the
    /// request was taken from the URI: what differed, for the report.
    pub from_uri: Option<String>,
}

impl Normalized<'_> {
    /// The request the authorizer saw.
    pub fn request(&self) -> RequestRef<'_> {
        match (&self.decoded_path, self.request.target) {
            (Some(path), TargetRef::NonResource { .. }) => RequestRef {
                verb: self.request.verb,
                target: TargetRef::NonResource { path },
            },
            _ => self.request,
        }
    }
}

/// A URL path as the API server's router sees it: `%XX` escapes decoded (a `+` stays a
/// `+`). `None` when an escape is malformed or the bytes are not UTF-8: the server answers
/// such a request 400 before authorizing it.
fn percent_decoded(path: &str) -> Option<Cow<'_, str>> {
    if !path.contains('%') {
        return Some(Cow::Borrowed(path));
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// The name the authorizer sees for `verb` on a resource (with `subresource`) named `name`:
/// none for a create on a collection (the name comes from the body, after authorization)
/// or a collection delete; `name` otherwise (a create on a subresource names its parent).
pub fn authorized_name<'a>(verb: &str, subresource: &str, name: &'a str) -> &'a str {
    if (verb == "create" && subresource.is_empty()) || verb == "deletecollection" {
        ""
    } else {
        name
    }
}

fn user_groups<'a>(user: &'a UserDoc<'_>) -> Vec<&'a str> {
    let mut groups: Vec<&'a str> = user.groups.iter().flatten().map(|g| g.as_ref()).collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// The groups a user has at the authorizer: those logged plus the ones the API server always
/// adds (`system:authenticated`, or `system:unauthenticated` for `system:anonymous`; for
/// service accounts `system:serviceaccounts` and `system:serviceaccounts:NS`). Hand-written
/// logs often leave them out. Sorted, without duplicates.
pub fn with_implied_groups(username: &str, groups: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    if username == "system:anonymous" {
        out.push("system:unauthenticated".to_string());
    } else {
        out.push("system:authenticated".to_string());
    }
    if let Some((ns, _)) = split_service_account(username) {
        out.push("system:serviceaccounts".to_string());
        out.push(format!("system:serviceaccounts:{ns}"));
    }
    out.sort();
    out.dedup();
    out
}

/// Normalizes one event. `list_version` is the apiVersion of an enclosing EventList.
pub fn normalize<'a>(
    event: &'a EventDoc<'_>,
    list_version: Option<&str>,
) -> Result<Normalized<'a>, Unusable> {
    let version = event.api_version.as_deref().or(list_version).unwrap_or("");
    let verb = event.verb.as_deref().unwrap_or("");
    if verb.is_empty() {
        return Err(Unusable::new("no verb", "event has no verb"));
    }
    let code = event.response_status.as_ref().and_then(|s| s.code);
    if code == Some(401) {
        return Err(Unusable::new(
            "unauthenticated (401)",
            "the request was not authenticated (401), so it was never authorized",
        ));
    }
    let authenticated = event
        .user
        .as_ref()
        .and_then(|u| u.username.as_deref().map(|n| (u, n)))
        .filter(|(_, n)| !n.is_empty());
    let impersonated = event
        .impersonated_user
        .as_ref()
        .and_then(|u| u.username.as_deref().map(|n| (u, n)))
        .filter(|(_, n)| !n.is_empty());
    let (subject_doc, subject) = match (impersonated, authenticated) {
        (Some(i), _) => i,
        (None, Some(a)) => a,
        (None, None) => return Err(Unusable::new("no user", "event has no user.username")),
    };

    let mut decoded_path = None;
    let object = event
        .object_ref
        .as_ref()
        .filter(|o| o.resource.as_deref().is_some_and(|r| !r.is_empty()));
    let uri_resource = event.request_uri.as_deref().and_then(resource_of_uri);
    let mut from_uri = None;
    let resolved = match (object, uri_resource) {
        (None, Some(u)) => {
            from_uri = Some(format!(
                "objectRef is missing or names no resource; requestURI says {}",
                describe(&u)
            ));
            Some(u)
        }
        (Some(object), uri) => {
            let resource = object.resource.as_deref().unwrap_or("");
            let subresource = object.subresource.as_deref().unwrap_or("");
            let api_group = if version.ends_with("/v1alpha1") && object.api_group.is_none() {
                // v1alpha1: objectRef.apiVersion is group/version ("v1" alone is the core group).
                object
                    .api_version
                    .as_deref()
                    .and_then(|v| v.rsplit_once('/'))
                    .map(|(group, _)| group)
                    .unwrap_or("")
            } else {
                object.api_group.as_deref().unwrap_or("")
            };
            let namespace = object.namespace.as_deref().unwrap_or("");
            let logged = ResourceRef {
                api_group,
                resource,
                subresource,
                namespace,
                name: object.name.as_deref().unwrap_or(""),
            };
            match uri {
                Some(u) if u.resource != resource || u.subresource != subresource => {
                    from_uri = Some(format!(
                        "objectRef says {}, requestURI says {}",
                        describe(&logged),
                        describe(&u)
                    ));
                    Some(u)
                }
                Some(u)
                    if namespace.is_empty()
                        && !u.namespace.is_empty()
                        && !is_builtin_cluster_scoped(u.api_group, u.resource) =>
                {
                    from_uri = Some(format!(
                        "objectRef has no namespace, requestURI says {}",
                        describe(&u)
                    ));
                    Some(ResourceRef {
                        namespace: u.namespace,
                        ..logged
                    })
                }
                // A create of a cluster-scoped custom resource whose body names a
                // namespace: the objectRef takes it from the body, the URL (what the
                // authorizer sees) has none.
                Some(u) if !namespace.is_empty() && u.namespace.is_empty() => {
                    from_uri = Some(format!(
                        "objectRef says namespace {namespace}, requestURI names none: {}",
                        describe(&u)
                    ));
                    Some(ResourceRef {
                        namespace: "",
                        ..logged
                    })
                }
                _ => Some(logged),
            }
        }
        (None, None) => None,
    };
    let request = match resolved {
        Some(r) => {
            let name = authorized_name(verb, r.subresource, r.name);
            let mut namespace = r.namespace;
            if is_builtin_cluster_scoped(r.api_group, r.resource) {
                // The URL of a cluster-scoped resource has no namespace; an objectRef can
                // still carry one (a create takes it from the body). One exception:
                // `/api/v1/namespaces/foo[/status|/finalize]` is a request in namespace foo
                // (a list or watch with a name field selector is not).
                let one_namespace = r.resource == "namespaces"
                    && r.api_group.is_empty()
                    && !matches!(verb, "list" | "watch" | "create" | "deletecollection");
                namespace = if one_namespace { name } else { "" };
            }
            RequestRef {
                verb,
                target: TargetRef::Resource(ResourceRef {
                    api_group: r.api_group,
                    resource: r.resource,
                    subresource: r.subresource,
                    namespace,
                    name,
                }),
            }
        }
        None => {
            let uri = event.request_uri.as_deref().unwrap_or("");
            if uri.is_empty() {
                return Err(Unusable::new(
                    "no request URI",
                    "non-resource event has no requestURI",
                ));
            }
            let raw_path = uri.split_once('?').map_or(uri, |(p, _)| p);
            match percent_decoded(raw_path) {
                Some(Cow::Borrowed(path)) => RequestRef {
                    verb,
                    target: TargetRef::NonResource { path },
                },
                Some(Cow::Owned(path)) => {
                    decoded_path = Some(path);
                    RequestRef {
                        verb,
                        target: TargetRef::NonResource { path: raw_path },
                    }
                }
                None => {
                    return Err(Unusable::new(
                        "bad request URI",
                        format!("requestURI {raw_path:?} is not a valid percent-encoded path"),
                    ))
                }
            }
        }
    };

    let stage = match event.stage.as_deref() {
        Some("RequestReceived") => Stage::RequestReceived,
        Some("ResponseStarted") => Stage::ResponseStarted,
        _ => Stage::Completed,
    };
    let decision = event.annotations.map(|a| a.decision).unwrap_or_default();
    let denied = stage == Stage::Completed
        && match decision {
            Decision::Forbid => true,
            Decision::Allow => false,
            Decision::Unknown => code == Some(403),
        };
    let time = [
        event.request_received_timestamp.as_deref(),
        event.timestamp.as_deref(),
        event.stage_timestamp.as_deref(),
        event
            .metadata
            .as_ref()
            .and_then(|m| m.creation_timestamp.as_deref()),
    ]
    .into_iter()
    .flatten()
    .find_map(parse_rfc3339_micros);

    let (impersonator, impersonations) = match (impersonated, authenticated) {
        (Some((target_doc, target)), Some((user_doc, user))) => (
            Some((user, user_groups(user_doc))),
            impersonation_checks(target_doc, target),
        ),
        _ => (None, Vec::new()),
    };

    Ok(Normalized {
        subject,
        groups: user_groups(subject_doc),
        request,
        decoded_path,
        impersonator,
        impersonations,
        stage,
        time,
        denied,
        from_uri,
    })
}

/// `GROUP/RESOURCE/SUB NAME in NAMESPACE`, for the report of an objectRef that gave way to
/// the requestURI.
fn describe(r: &ResourceRef<'_>) -> String {
    let mut text = String::new();
    if !r.api_group.is_empty() {
        text.push_str(r.api_group);
        text.push('/');
    }
    text.push_str(r.resource);
    if !r.subresource.is_empty() {
        text.push('/');
        text.push_str(r.subresource);
    }
    if !r.name.is_empty() {
        text.push(' ');
        text.push_str(r.name);
    }
    if !r.namespace.is_empty() {
        text.push_str(" in ");
        text.push_str(r.namespace);
    }
    text
}

/// The resource request a `requestURI` names, read as the API server's request-info
/// resolver reads the path (semantics.md §2.2): `/api/VERSION/...` or
/// `/apis/GROUP/VERSION/...`, a legacy `watch` or `proxy` segment dropped,
/// `namespaces/NS/` taken as the namespace unless `status` or `finalize` follows (then it is
/// the namespace object itself), then `RESOURCE[/NAME[/SUBRESOURCE]]`. `None` for a
/// non-resource path. The verb is the event's: the server logs the verb it resolved.
pub fn resource_of_uri(uri: &str) -> Option<ResourceRef<'_>> {
    let path = uri.split_once('?').map_or(uri, |(p, _)| p);
    // Only the first segments matter (`apis/G/V/watch/namespaces/NS/R/NAME/SUB` is nine);
    // they are kept in place, with no allocation, as this runs for every event.
    let mut segments = [""; URI_SEGMENTS];
    let mut count = 0;
    for segment in path.trim_matches('/').split('/').take(URI_SEGMENTS) {
        segments[count] = segment;
        count += 1;
    }
    let parts = &segments[..count];
    let (api_group, mut rest) = match parts.first() {
        Some(&"api") if parts.len() >= 3 => ("", &parts[2..]),
        Some(&"apis") if parts.len() >= 4 => (parts[1], &parts[3..]),
        _ => return None,
    };
    let legacy_proxy = rest.first() == Some(&"proxy");
    if matches!(rest.first(), Some(&"watch") | Some(&"proxy")) {
        rest = &rest[1..];
    }
    let mut namespace = "";
    if rest.first() == Some(&"namespaces") && rest.len() >= 2 {
        namespace = rest[1];
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest = &rest[2..];
        }
    }
    let resource = rest.first().copied().filter(|r| !r.is_empty())?;
    Some(ResourceRef {
        api_group,
        resource,
        // A legacy proxy path never has a subresource: what follows the name is proxied.
        subresource: rest.get(2).copied().filter(|_| !legacy_proxy).unwrap_or(""),
        namespace,
        name: rest.get(1).copied().unwrap_or(""),
    })
}

/// The most path segments [`resource_of_uri`] reads: the longest resource path it
/// resolves has nine segments (`apis/G/V/watch/namespaces/NS/R/NAME/SUB`), one spare.
const URI_SEGMENTS: usize = 10;

/// The `impersonate` checks for taking on `target` (semantics.md §4.1), leaving out the
/// groups the server adds by itself.
fn impersonation_checks(target_doc: &UserDoc<'_>, target: &str) -> Vec<Request> {
    let check = |group: &str, resource: &str, sub: &str, ns: &str, name: &str| {
        Request::resource(
            "impersonate",
            ResourceTarget {
                api_group: group.to_string(),
                resource: resource.to_string(),
                subresource: sub.to_string(),
                namespace: ns.to_string(),
                name: name.to_string(),
            },
        )
    };
    let mut out = Vec::new();
    let sa = split_service_account(target);
    match sa {
        Some((ns, name)) => out.push(check("", "serviceaccounts", "", ns, name)),
        None => out.push(check("", "users", "", "", target)),
    }
    let sa_group =
        split_service_account(target).map(|(ns, _)| format!("system:serviceaccounts:{ns}"));
    for group in target_doc.groups.iter().flatten() {
        let g = group.as_ref();
        let defaulted = (g == "system:authenticated" && target != "system:anonymous")
            || (sa.is_some() && (g == "system:serviceaccounts" || Some(g) == sa_group.as_deref()));
        if !defaulted {
            out.push(check("", "groups", "", "", g));
        }
    }
    if let Some(uid) = target_doc.uid.as_deref().filter(|u| !u.is_empty()) {
        out.push(check("authentication.k8s.io", "uids", "", "", uid));
    }
    for (key, values) in target_doc.extra.iter().flatten() {
        let sub = key.to_lowercase();
        for value in values {
            out.push(check(
                "authentication.k8s.io",
                "userextras",
                &sub,
                "",
                value,
            ));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::record::parse_events as parse_value;

    fn norm(line: &str, f: impl FnOnce(Normalized<'_>)) {
        let docs = parse_value(line).unwrap();
        f(normalize(&docs[0], None).unwrap());
    }

    #[test]
    fn request_info_of_resource_paths() {
        let r = |g, res, sub, ns, name| ResourceRef {
            api_group: g,
            resource: res,
            subresource: sub,
            namespace: ns,
            name,
        };
        let cases: &[(&str, Option<ResourceRef<'_>>)] = &[
            ("/api/v1/pods", Some(r("", "pods", "", "", ""))),
            (
                "/api/v1/namespaces/dev/pods/p/log?follow=1",
                Some(r("", "pods", "log", "dev", "p")),
            ),
            (
                "/apis/apps/v1/namespaces/dev/deployments/d/scale",
                Some(r("apps", "deployments", "scale", "dev", "d")),
            ),
            (
                "/api/v1/watch/namespaces/dev/pods/p",
                Some(r("", "pods", "", "dev", "p")),
            ),
            (
                "/api/v1/proxy/namespaces/dev/pods/p/metrics",
                Some(r("", "pods", "", "dev", "p")),
            ),
            ("/api/v1/namespaces", Some(r("", "namespaces", "", "", ""))),
            (
                "/api/v1/namespaces/foo",
                Some(r("", "namespaces", "", "foo", "foo")),
            ),
            (
                "/api/v1/namespaces/foo/finalize",
                Some(r("", "namespaces", "finalize", "foo", "foo")),
            ),
            (
                "/api/v1/namespaces/foo/status",
                Some(r("", "namespaces", "status", "foo", "foo")),
            ),
            (
                "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin",
                Some(r(
                    "rbac.authorization.k8s.io",
                    "clusterroles",
                    "",
                    "",
                    "admin",
                )),
            ),
            ("/api/v1", None),
            ("/apis/apps/v1", None),
            ("/api", None),
            ("/healthz", None),
            ("/openapi/v3/apis/apps/v1", None),
            ("/api/v1/watch", None),
        ];
        for (uri, want) in cases {
            assert_eq!(resource_of_uri(uri), *want, "{uri}");
        }
    }

    /// The reading of every segment into a `Vec`, as it was before segments were kept in
    /// a fixed array: the oracle for the property below.
    fn resource_of_uri_in_full(uri: &str) -> Option<ResourceRef<'_>> {
        let path = uri.split_once('?').map_or(uri, |(p, _)| p);
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (api_group, mut rest) = match parts.first() {
            Some(&"api") if parts.len() >= 3 => ("", &parts[2..]),
            Some(&"apis") if parts.len() >= 4 => (parts[1], &parts[3..]),
            _ => return None,
        };
        let legacy_proxy = rest.first() == Some(&"proxy");
        if matches!(rest.first(), Some(&"watch") | Some(&"proxy")) {
            rest = &rest[1..];
        }
        let mut namespace = "";
        if rest.first() == Some(&"namespaces") && rest.len() >= 2 {
            namespace = rest[1];
            if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
                rest = &rest[2..];
            }
        }
        let resource = rest.first().copied().filter(|r| !r.is_empty())?;
        Some(ResourceRef {
            api_group,
            resource,
            subresource: rest.get(2).copied().filter(|_| !legacy_proxy).unwrap_or(""),
            namespace,
            name: rest.get(1).copied().unwrap_or(""),
        })
    }

    proptest::proptest! {
        // Many cases: the deepest paths are rare among random segments, and cheap to read.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn reading_only_the_first_segments_reads_any_path_as_reading_all(
            prefix in proptest::sample::select(vec![
                "/api/v1/", "/apis/apps/v1/", "api/v1/", "//apis/x/v1//", "/api/", "/apis/x/", "",
            ]),
            segments in proptest::collection::vec(
                proptest::sample::select(vec![
                    "", "watch", "proxy", "namespaces", "status", "finalize", "pods", "x",
                    "log", "?a=b", "a?b",
                ]),
                0..12,
            ),
        ) {
            let uri = format!("{prefix}{}", segments.join("/"));
            proptest::prop_assert_eq!(resource_of_uri(&uri), resource_of_uri_in_full(&uri));
        }
    }

    #[test]
    fn a_missing_or_incomplete_object_ref_is_taken_from_the_uri() {
        let event = |uri: &str, verb: &str, object: &str| {
            format!(
                r#"{{"verb":"{verb}","user":{{"username":"a"}},"requestURI":"{uri}","objectRef":{object}}}"#
            )
        };
        // (event, request seen, whether it was taken from the URI)
        let cases = [
            (
                event("/api/v1/namespaces/dev/pods/p1", "get", "null"),
                "get pods p1 in dev",
                true,
            ),
            (
                event(
                    "/api/v1/namespaces/dev/pods/p1",
                    "get",
                    r#"{"resource":null}"#,
                ),
                "get pods p1 in dev",
                true,
            ),
            (
                event(
                    "/api/v1/namespaces/dev/configmaps/c",
                    "get",
                    r#"{"resource":"configmaps","namespace":null,"name":"c"}"#,
                ),
                "get configmaps c in dev",
                true,
            ),
            (
                event(
                    "/api/v1/namespaces/dev/configmaps",
                    "create",
                    r#"{"resource":"configmaps","namespace":"dev","name":"c"}"#,
                ),
                "create configmaps in dev",
                false,
            ),
            (
                event(
                    "/api/v1/namespaces/dev/secrets/s",
                    "get",
                    r#"{"resource":"configmaps","namespace":"dev","name":"s"}"#,
                ),
                "get secrets s in dev",
                true,
            ),
            (
                event(
                    "/api/v1/namespaces/dev/pods/p/exec",
                    "create",
                    r#"{"resource":"pods","namespace":"dev","name":"p"}"#,
                ),
                "create pods/exec p in dev",
                true,
            ),
            (
                event(
                    "/api/v1/nodes/n1",
                    "get",
                    r#"{"resource":"nodes","name":"n1"}"#,
                ),
                "get nodes n1",
                false,
            ),
            (
                event("/api/v1/namespaces/foo", "get", "null"),
                "get namespaces foo in foo",
                true,
            ),
            (
                event(
                    "/apis/example.com/v1/widgets",
                    "create",
                    r#"{"resource":"widgets","apiGroup":"example.com","namespace":"dev","name":"w"}"#,
                ),
                "create widgets",
                true,
            ),
            (
                event(
                    "/apis/example.com/v1/widgets/w",
                    "get",
                    r#"{"resource":"widgets","apiGroup":"example.com","name":"w"}"#,
                ),
                "get widgets w",
                false,
            ),
            (
                event("/api/v1/namespaces/dev/pods", "list", "null"),
                "list pods in dev",
                true,
            ),
            (event("/healthz", "get", "null"), "get /healthz", false),
        ];
        for (line, want, taken) in &cases {
            norm(line, |n| {
                let seen = match n.request().target {
                    TargetRef::Resource(r) => {
                        let mut t = format!("{} {}", n.request().verb, r.resource);
                        if !r.subresource.is_empty() {
                            t = format!("{t}/{}", r.subresource);
                        }
                        if !r.name.is_empty() {
                            t = format!("{t} {}", r.name);
                        }
                        if !r.namespace.is_empty() {
                            t = format!("{t} in {}", r.namespace);
                        }
                        t
                    }
                    TargetRef::NonResource { path } => format!("{} {path}", n.request().verb),
                };
                assert_eq!(&seen, want, "{line}");
                assert_eq!(n.from_uri.is_some(), *taken, "{line}: {:?}", n.from_uri);
            });
        }
    }

    #[test]
    fn create_on_collection_has_no_name_but_subresource_create_keeps_it() {
        norm(
            r#"{"verb":"create","user":{"username":"a"},"objectRef":{"resource":"configmaps","namespace":"n","name":"c"}}"#,
            |n| {
                assert!(matches!(
                    n.request.target,
                    TargetRef::Resource(ResourceRef { name: "", .. })
                ));
            },
        );
        norm(
            r#"{"verb":"create","user":{"username":"a"},"objectRef":{"resource":"pods","subresource":"exec","namespace":"n","name":"p"}}"#,
            |n| {
                assert!(matches!(
                    n.request.target,
                    TargetRef::Resource(ResourceRef { name: "p", .. })
                ));
            },
        );
    }

    #[test]
    fn namespace_object_is_in_its_namespace() {
        norm(
            r#"{"verb":"get","user":{"username":"a"},"objectRef":{"resource":"namespaces","name":"x"}}"#,
            |n| {
                assert_eq!(n.request.namespace(), "x");
            },
        );
    }

    #[test]
    fn list_and_watch_keep_a_field_selector_name() {
        norm(
            r#"{"verb":"watch","user":{"username":"a"},"requestURI":"/api/v1/namespaces/n/configmaps?fieldSelector=metadata.name%3Dc&watch=true","objectRef":{"resource":"configmaps","namespace":"n","name":"c"}}"#,
            |n| {
                assert!(matches!(
                    n.request.target,
                    TargetRef::Resource(ResourceRef {
                        name: "c",
                        namespace: "n",
                        ..
                    })
                ));
            },
        );
        norm(
            r#"{"verb":"list","user":{"username":"a"},"objectRef":{"resource":"namespaces","name":"x"}}"#,
            |n| {
                assert!(matches!(
                    n.request.target,
                    TargetRef::Resource(ResourceRef {
                        name: "x",
                        namespace: "",
                        ..
                    })
                ));
            },
        );
        norm(
            r#"{"verb":"deletecollection","user":{"username":"a"},"objectRef":{"resource":"pods","namespace":"n","name":"x"}}"#,
            |n| {
                assert!(matches!(
                    n.request.target,
                    TargetRef::Resource(ResourceRef { name: "", .. })
                ));
            },
        );
    }

    #[test]
    fn paths_decode_as_the_router_decodes_them() {
        let cases: &[(&str, Option<&str>)] = &[
            ("/healthz", Some("/healthz")),
            ("/logs/a%20b", Some("/logs/a b")),
            ("/logs/%2A", Some("/logs/*")),
            ("/a+b", Some("/a+b")),
            ("/%e2%9c%93", Some("/\u{2713}")),
            ("/bad%zz", None),
            ("/short%2", None),
            ("/not-utf8%ff", None),
        ];
        for (raw, want) in cases {
            assert_eq!(percent_decoded(raw).as_deref(), *want, "{raw}");
        }
    }

    #[test]
    fn non_resource_drops_query() {
        norm(
            r#"{"verb":"get","user":{"username":"a"},"requestURI":"/readyz?verbose"}"#,
            |n| {
                assert_eq!(n.request.target, TargetRef::NonResource { path: "/readyz" });
                assert!(n.groups.is_empty());
                assert_eq!(
                    with_implied_groups("system:serviceaccount:a:b", &[]),
                    vec![
                        "system:authenticated",
                        "system:serviceaccounts",
                        "system:serviceaccounts:a"
                    ]
                );
            },
        );
    }

    #[test]
    fn impersonation_checks_skip_defaulted_groups() {
        norm(
            r#"{"verb":"list","requestURI":"/api/v1/namespaces/a/pods","user":{"username":"admin","groups":["system:masters"]},"impersonatedUser":{"username":"system:serviceaccount:a:builder","groups":["system:serviceaccounts","system:serviceaccounts:a","system:authenticated","devs"],"extra":{"Scopes":["x"]}},"objectRef":{"resource":"pods","namespace":"a"}}"#,
            |n| {
                assert_eq!(n.subject, "system:serviceaccount:a:builder");
                assert_eq!(n.impersonator.as_ref().unwrap().0, "admin");
                let shown: Vec<String> = n.impersonations.iter().map(|r| r.to_string()).collect();
                assert_eq!(
                    shown,
                    vec![
                        "impersonate groups devs (cluster)",
                        "impersonate serviceaccounts builder -n a",
                        "impersonate userextras.authentication.k8s.io/scopes x (cluster)",
                    ]
                );
            },
        );
    }

    #[test]
    fn v1alpha1_group_from_api_version() {
        norm(
            r#"{"apiVersion":"audit.k8s.io/v1alpha1","verb":"get","user":{"username":"a"},"objectRef":{"apiVersion":"apps/v1","resource":"deployments","namespace":"a","name":"d"}}"#,
            |n| {
                assert!(matches!(
                    n.request.target,
                    TargetRef::Resource(ResourceRef {
                        api_group: "apps",
                        ..
                    })
                ));
            },
        );
    }

    #[test]
    fn denial_prefers_the_decision_annotation() {
        norm(
            r#"{"verb":"get","user":{"username":"a"},"requestURI":"/x","responseStatus":{"code":403},"annotations":{"authorization.k8s.io/decision":"allow"}}"#,
            |n| assert!(!n.denied),
        );
        norm(
            r#"{"verb":"get","user":{"username":"a"},"requestURI":"/x","responseStatus":{"code":403}}"#,
            |n| assert!(n.denied),
        );
        norm(
            r#"{"verb":"get","user":{"username":"a"},"requestURI":"/x","responseStatus":{"code":200},"annotations":{"authorization.k8s.io/decision":"forbid"}}"#,
            |n| assert!(n.denied),
        );
    }
}
