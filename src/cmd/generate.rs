//! The generate command: audit logs + subject → least-privilege RBAC on stdout, with risk
//! notes (and, with `--evidence`, the evidence) for reviewers.

use crate::aggregate::{Evidence, SubjectAggregate};
use crate::cli::{GenerateArgs, OutputFormat};
use crate::cmd::{assumed_rbac, no_match_message, read_logs, subject_name};
use crate::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK, EXIT_RISK};
use crate::names::{object_name, parse_pairs};
use crate::policy::{generate, Naming, Observed, Policy};
use crate::rbac::Authorizer;
use crate::render;
use crate::review::{comments, describe_rule, report_json, review};
use std::io::Write;

/// The distinct requests of one subject with the identities they were made as and their
/// evidence, sorted.
pub fn observed_requests(name: &str, aggregate: &SubjectAggregate) -> Vec<Observed> {
    let users = aggregate.user_infos(name);
    let mut out: Vec<Observed> = aggregate
        .requests
        .iter()
        .map(|(request, entries)| {
            let mut evidence = Evidence::default();
            for (_, e) in entries {
                evidence.merge(e);
            }
            Observed {
                request: request.clone(),
                users: entries
                    .iter()
                    .map(|(g, _)| users[*g as usize].clone())
                    .collect(),
                evidence,
            }
        })
        .collect();
    out.sort_by(|a, b| a.request.cmp(&b.request));
    out
}

/// The policy the flags ask for.
pub fn policy_from(args: &GenerateArgs) -> Policy {
    if args.strict {
        return Policy::strict();
    }
    Policy {
        expand_verbs: args.expand_verbs,
        expand_multi_namespace: args.expand_multi_namespace,
        expand_multi_name: args.expand_multi_name,
        ..Policy::default()
    }
}

pub fn run(args: &GenerateArgs) -> Result<i32> {
    let subject = subject_name(&args.subject)?;
    let naming = Naming {
        name: object_name(&args.generate_name, &subject),
        labels: parse_pairs(&args.generate_labels, &subject, true, "--generate-labels")?,
        annotations: parse_pairs(
            &args.generate_annotations,
            &subject,
            false,
            "--generate-annotations",
        )?,
    };
    let existing = Authorizer::new(assumed_rbac(
        &args.existing,
        !args.subject.no_bootstrap_roles,
    )?);
    let (aggregate, _reports) = read_logs(
        &args.input,
        vec![subject.clone()],
        args.subject.namespace.clone(),
    )?;
    let Some(sub) = aggregate
        .subjects
        .get(&subject)
        .filter(|s| s.distinct() > 0)
    else {
        eprintln!(
            "{}",
            no_match_message(&subject, args.subject.namespace.as_deref())
        );
        return Ok(EXIT_NOT_FOUND);
    };
    let observed = observed_requests(&subject, sub);
    let generated = generate(&subject, &observed, &existing, &policy_from(args), &naming);
    let reports = review(&generated.rbac, &observed);
    let text = match args.output {
        OutputFormat::Yaml => render::to_yaml(&generated.rbac, &comments(&reports, args.evidence)),
        OutputFormat::Json if args.evidence => {
            let list = serde_json::json!({
                "apiVersion": "v1",
                "kind": "List",
                "items": render::to_json_items(&generated.rbac),
                "audit2role": report_json(&subject, &reports),
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            )
        }
        OutputFormat::Json => render::to_json_list(&generated.rbac),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(|e| Error::Output(e.to_string()))?;

    if !args.input.quiet {
        let requests: u64 = observed.iter().map(|o| o.evidence.count()).sum();
        let rules: usize = reports.len();
        eprintln!(
            "{subject}: {requests} requests, {} distinct; {} already allowed; wrote {} objects with {rules} rules",
            observed.len(),
            generated.already_allowed,
            generated.rbac.len()
        );
        for r in reports.iter().filter(|r| !r.risks.is_empty()) {
            for risk in &r.risks {
                eprintln!(
                    "risk: {}: {}: {}: {}",
                    risk.level,
                    r.location(),
                    describe_rule(&r.rule),
                    risk.reason
                );
            }
        }
        for r in &generated.refused {
            eprintln!("warning: not granted: {r}: a URL ending in * would be a wildcard rule; grant it by hand if needed");
        }
        if sub
            .group_sets
            .iter()
            .any(|g| g.iter().any(|x| x == "system:masters"))
        {
            eprintln!("note: {subject} is in system:masters, which bypasses RBAC; the generated RBAC is what it would need without that group");
        }
        if generated.rbac.is_empty() {
            eprintln!("note: everything {subject} did is already allowed; nothing to generate");
        }
    }
    if let Some(threshold) = args.fail_on_risk {
        if reports
            .iter()
            .any(|r| r.highest_risk().is_some_and(|l| l >= threshold))
        {
            if !args.input.quiet {
                eprintln!("audit2role: a generated rule is at or above risk level {threshold} (--fail-on-risk)");
            }
            return Ok(EXIT_RISK);
        }
    }
    Ok(EXIT_OK)
}
