//! Generation: from one subject's distinct requests to the RBAC objects that allow them
//! (`policy`), their names and labels (`names`), and the review aids that go with them:
//! evidence per rule (`review`) and the risk catalogue (`risk`). [`for_subject`],
//! [`for_subject_list`] and [`for_subjects`] are the stage's entry points: everything
//! generated for a subject, as data that `render` writes.

pub mod names;
pub mod policy;
pub mod review;
pub mod risk;

use crate::aggregate::{Aggregate, SubjectAggregate};
use crate::error::Result;
use crate::rbac::{Authorizer, PolicyRule, RbacSet};
use policy::{generate_from, Generated, Naming, Observations, Policy};
use rayon::prelude::*;
use review::{review_from, RuleReport};

/// How to generate: the policy and how generated objects are named and labelled.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub policy: Policy,
    /// Object name template (`{subject}` / `${user}` become the subject).
    pub name_template: String,
    /// Labels as `k=v,k2=v2` (`{subject}` becomes the subject as a label value).
    pub labels: String,
    /// Annotations as `k=v,k2=v2`.
    pub annotations: String,
}

impl Default for GenerateOptions {
    fn default() -> GenerateOptions {
        GenerateOptions {
            policy: Policy::default(),
            name_template: names::DEFAULT_NAME_TEMPLATE.to_string(),
            labels: names::DEFAULT_LABELS.to_string(),
            annotations: String::new(),
        }
    }
}

impl GenerateOptions {
    /// The names, labels and annotations of `subject`'s objects.
    pub fn naming(&self, subject: &str) -> Result<Naming> {
        Ok(Naming {
            name: names::object_name(&self.name_template, subject),
            labels: names::parse_pairs(
                &self.labels,
                subject,
                names::Pairs::Labels,
                "--generate-labels",
            )?,
            annotations: names::parse_pairs(
                &self.annotations,
                subject,
                names::Pairs::Annotations,
                "--generate-annotations",
            )?,
        })
    }
}

/// Everything generated for one subject.
pub struct SubjectOutput<'a> {
    pub subject: String,
    /// The subject's requests, read in place from the aggregate.
    pub observed: Observations<'a>,
    pub generated: Generated,
    /// One report per generated rule, in output order.
    pub reports: Vec<RuleReport>,
    /// The subject is in `system:masters`, which bypasses RBAC.
    pub masters: bool,
}

/// Generates for `subject`, whose requests `aggregate` records, what `existing` does not
/// already allow.
pub fn for_subject<'a>(
    subject: &str,
    aggregate: &'a SubjectAggregate,
    existing: &Authorizer,
    options: &GenerateOptions,
) -> Result<SubjectOutput<'a>> {
    let naming = options.naming(subject)?;
    let observed = Observations::of_aggregate(subject, aggregate);
    let mut generated = generate_from(subject, &observed, existing, &options.policy, &naming);
    // The atoms are not read past generation; strict output can hold one per request.
    generated.atoms = Default::default();
    let reports = review_from(&generated.rbac, &observed);
    let masters = aggregate
        .group_sets
        .iter()
        .any(|g| g.iter().any(|x| x == "system:masters"));
    Ok(SubjectOutput {
        subject: subject.to_string(),
        observed,
        generated,
        reports,
        masters,
    })
}

/// The subjects of `aggregate` that `wants` and that made a request, in subject order.
pub fn selected_subjects(aggregate: &Aggregate, wants: impl Fn(&str) -> bool) -> Vec<&str> {
    aggregate
        .subject_names()
        .into_iter()
        .filter(|s| wants(s) && aggregate.subjects[*s].distinct() > 0)
        .collect()
}

/// [`for_subject`] for each of `subjects` (subjects of `aggregate`), in their order.
/// Subjects are generated in parallel on the current rayon pool; each one's result depends
/// on it alone, so the outputs are those of one thread, in order. A caller with many
/// subjects passes them a chunk at a time and lets each chunk's outputs go once written.
pub fn for_subject_list<'a>(
    aggregate: &'a Aggregate,
    subjects: &[&str],
    existing: &Authorizer,
    options: &GenerateOptions,
) -> Result<Vec<SubjectOutput<'a>>> {
    subjects
        .par_iter()
        .map(|s| for_subject(s, &aggregate.subjects[*s], existing, options))
        .collect()
}

/// [`for_subject_list`] of every [`selected_subjects`] at once.
pub fn for_subjects<'a>(
    aggregate: &'a Aggregate,
    existing: &Authorizer,
    options: &GenerateOptions,
    wants: impl Fn(&str) -> bool,
) -> Result<Vec<SubjectOutput<'a>>> {
    for_subject_list(
        aggregate,
        &selected_subjects(aggregate, wants),
        existing,
        options,
    )
}

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
