//! Generation: from one subject's distinct requests to the RBAC objects that allow them
//! (`policy`), their names and labels (`names`), and the review aids that go with them:
//! evidence per rule (`review`) and the risk catalogue (`risk`).

pub mod names;
pub mod policy;
pub mod review;
pub mod risk;

use crate::rbac::{PolicyRule, RbacSet};
use policy::Policy;

/// An object listing more resource names and URLs than this gets a warning: a Role of
/// ten thousand names is far beyond review, and at some tens of thousands an object nears
/// the API server's size limit for one object (etcd stores at most 1.5 MiB).
pub const LARGE_OBJECT: usize = 10_000;

/// A warning when some generated object lists more than [`LARGE_OBJECT`] resource names
/// and URLs: how many, where, and how to make the output smaller.
pub fn size_warning(subject: &str, rbac: &RbacSet, policy: &Policy) -> Option<String> {
    let count = |rules: &[PolicyRule]| -> (usize, usize) {
        rules.iter().fold((0, 0), |(names, urls), r| {
            (
                names + r.resource_names.len(),
                urls + r.non_resource_urls.len(),
            )
        })
    };
    let objects = rbac
        .roles
        .iter()
        .map(|r| {
            (
                format!("Role {}/{}", r.metadata.namespace, r.metadata.name),
                count(&r.rules),
            )
        })
        .chain(
            rbac.cluster_roles
                .iter()
                .map(|r| (format!("ClusterRole {}", r.metadata.name), count(&r.rules))),
        );
    let mut large = 0;
    let (mut names, mut urls) = (0, 0);
    let mut largest: Option<(String, usize)> = None;
    for (object, (n, u)) in objects {
        if n + u <= LARGE_OBJECT {
            continue;
        }
        large += 1;
        names += n;
        urls += u;
        if largest.as_ref().is_none_or(|(_, m)| n + u > *m) {
            largest = Some((object, n + u));
        }
    }
    let (object, most) = largest?;
    let mut hints = Vec::new();
    if names > 0 && policy.strict {
        hints.push("drop --strict so that many names become any name");
    } else if names > 0 && !policy.expand_multi_name {
        hints.push("drop --expand-multi-name=false so that many names become any name");
    }
    if urls > 0 {
        hints.push("grant a URL prefix (/path/*) by hand instead");
    }
    hints.push(if names > 0 {
        "narrow the input with --namespace, --namespace-regex, --since or --until"
    } else {
        "narrow the input with --since or --until"
    });
    let objects = if large == 1 {
        object
    } else {
        format!("{large} objects (the largest, {object}, {most})")
    };
    Some(format!(
        "warning: {subject}: very large output: {objects} list{} {names} resource names and {urls} URLs (more than {LARGE_OBJECT} in one object is beyond review and may exceed the API server's object size limit); {}",
        if large == 1 { "s" } else { "" },
        hints.join("; ")
    ))
}
