//! The generate command: audit logs + subject → least-privilege RBAC on stdout, with risk
//! notes (and, with `--evidence`, the evidence) for reviewers.

use crate::cli::{GenerateArgs, OutputFormat};
use crate::cmd::{assumed_rbac, named_subjects, no_match_message, read_logs_folding};
use audit2role::decode::FileReport;
use audit2role::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK, EXIT_RISK};
use audit2role::generate::names::{object_name, parse_pairs, Pairs};
use audit2role::generate::policy::{generate_from, Naming, Observations, Policy};
use audit2role::generate::review::{comments, describe_rule, report_json, review_from};
use audit2role::generate::review::{CommentOptions, RuleReport};
use audit2role::generate::size_warning;
use audit2role::rbac::Authorizer;
use audit2role::render;
use audit2role::render::outdir;
use audit2role::request::split_service_account;
use audit2role::time::format_rfc3339_micros;
use regex::Regex;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;

/// Names an operation keeps before further new names fold (see [`fold_names_after`]).
pub const FOLD_NAMES_AFTER: u32 = 64;

/// Set (to anything) to read every name even when folding would be exact: for tests that
/// compare the two.
pub const NO_FOLD_ENV: &str = "AUDIT2ROLE_NO_FOLD";

/// Whether names may fold while reading ([`audit2role::request::select::Filter::fold_names_after`]): only
/// when nothing written can depend on which names were folded.
///
/// - The output lists no names of an operation with K ≥ 2 names: name expansion is on
///   (not `--strict`, not `--expand-multi-name=false`), and a folded entry exists only
///   beside K real names of its operation, so every named request of it (the folded entry
///   too) becomes "any name" in the same namespaces as before (the folded entry keeps its
///   namespace).
/// - Whether a request is already allowed cannot depend on its name: no `--existing` RBAC
///   (which may list resourceNames), and the bootstrap roles have no rule with resourceNames
///   (`bootstrap::tests`). So the folded entry is already allowed for an identity exactly
///   when the names it stands for are, and it adds the same rules they would.
/// - Nothing reports distinct requests, names or per-request evidence: no `--evidence` (YAML
///   comments and the JSON report), no `--out-dir` (summary.json), and `-q` (the stderr
///   summary counts distinct and already-allowed requests).
///
/// Non-resource URLs and requests without a name never fold.
fn fold_names_after(args: &GenerateArgs, policy: &Policy) -> Option<u32> {
    let exact = args.input.quiet
        && !args.evidence
        && args.out_dir.is_none()
        && args.existing.is_empty()
        && policy.expand_multi_name
        && !policy.strict;
    (exact && std::env::var_os(NO_FOLD_ENV).is_none()).then_some(FOLD_NAMES_AFTER)
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

/// Which subjects to generate for: named ones, regular expressions, or all, less exclusions.
struct Selection {
    named: Vec<String>,
    patterns: Vec<Regex>,
    excluded: Vec<Regex>,
    all: bool,
}

fn compile(patterns: &[String], flag: &str) -> Result<Vec<Regex>> {
    patterns
        .iter()
        .map(|p| Regex::new(p).map_err(|e| Error::Usage(format!("{flag} {p:?}: {e}"))))
        .collect()
}

impl Selection {
    fn from_args(args: &GenerateArgs) -> Result<Selection> {
        let selection = Selection {
            named: named_subjects(&args.subject)?,
            patterns: compile(&args.subject_regex, "--subject-regex")?,
            excluded: compile(&args.exclude_subject, "--exclude-subject")?,
            all: args.all_subjects,
        };
        if selection.named.is_empty() && selection.patterns.is_empty() && !selection.all {
            return Err(Error::Usage(
                "say whose requests to use: --user USER, --serviceaccount NAMESPACE:NAME, --subject-regex RE or --all-subjects".to_string(),
            ));
        }
        Ok(selection)
    }

    /// One named subject and nothing else: the classic audit2rbac invocation.
    fn single(&self) -> Option<&str> {
        (self.named.len() == 1 && self.patterns.is_empty() && !self.all)
            .then(|| self.named[0].as_str())
    }

    /// The exact names to keep while reading, when that is all the selection can match.
    fn read_filter(&self) -> Vec<String> {
        if self.patterns.is_empty() && !self.all {
            self.named.clone()
        } else {
            Vec::new()
        }
    }

    fn wants(&self, subject: &str) -> bool {
        let chosen = self.all
            || self.named.iter().any(|n| n == subject)
            || self.patterns.iter().any(|p| p.is_match(subject));
        chosen && !self.excluded.iter().any(|p| p.is_match(subject))
    }
}

/// Everything generated for one subject.
struct SubjectOutput<'a> {
    subject: String,
    /// The subject's requests, read in place from the aggregate.
    observed: Observations<'a>,
    generated: audit2role::generate::policy::Generated,
    reports: Vec<RuleReport>,
    masters: bool,
}

fn yaml_of(out: &SubjectOutput<'_>, evidence: bool) -> String {
    render::to_yaml(
        &out.generated.rbac,
        &comments(&out.reports, &CommentOptions { evidence }),
    )
}

fn json_of(outputs: &[&SubjectOutput<'_>], evidence: bool) -> String {
    let items: Vec<serde_json::Value> = outputs
        .iter()
        .flat_map(|o| render::to_json_items(&o.generated.rbac))
        .collect();
    let mut list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    if evidence {
        let reports: Vec<serde_json::Value> = outputs
            .iter()
            .map(|o| report_json(&o.subject, &o.reports))
            .collect();
        list["audit2role"] = if reports.len() == 1 {
            reports[0].clone()
        } else {
            json!({ "subjects": reports })
        };
    }
    format!(
        "{}\n",
        serde_json::to_string_pretty(&list).unwrap_or_default()
    )
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(|e| Error::Output(e.to_string()))
}

fn time_value(t: Option<i64>) -> serde_json::Value {
    t.map(|t| json!(format_rfc3339_micros(t)))
        .unwrap_or(serde_json::Value::Null)
}

/// DIR/summary.json: the inputs and, per subject, what was seen and written.
fn summary_json(
    reports: &[FileReport],
    outputs: &[SubjectOutput<'_>],
    files: &BTreeMap<String, String>,
) -> serde_json::Value {
    let mut skipped_total: BTreeMap<&str, u64> = BTreeMap::new();
    for r in reports {
        for (reason, n) in &r.skipped {
            *skipped_total.entry(reason).or_default() += n;
        }
    }
    let subjects: Vec<serde_json::Value> = outputs
        .iter()
        .map(|o| {
            let (total, requests) = o.observed.totals();
            json!({
                "subject": o.subject,
                "kind": if split_service_account(&o.subject).is_some() { "ServiceAccount" } else { "User" },
                "requests": requests,
                "distinctRequests": o.observed.len(),
                "firstSeen": time_value(total.first),
                "lastSeen": time_value(total.last),
                "denied": total.denied,
                "objects": o.generated.rbac.len(),
                "rules": o.generated.rbac.rule_count(),
                "file": files.get(&o.subject),
            })
        })
        .collect();
    json!({
        "inputs": {
            "files": reports.iter().map(|r| json!({
                "name": r.name,
                "bytes": r.bytes,
                "lines": r.lines,
                "events": r.events,
                "skipped": r.skipped,
                "readError": r.read_error,
            })).collect::<Vec<_>>(),
            "bytes": reports.iter().map(|r| r.bytes).sum::<u64>(),
            "events": reports.iter().map(|r| r.events).sum::<u64>(),
            "requests": outputs.iter().map(|o| o.observed.totals().1).sum::<u64>(),
            "skipped": skipped_total,
        },
        "subjects": subjects,
    })
}

pub fn run(args: &GenerateArgs) -> Result<i32> {
    let selection = Selection::from_args(args)?;
    let policy = policy_from(args);
    let existing = Authorizer::new(assumed_rbac(
        &args.existing,
        !args.subject.no_bootstrap_roles,
    )?);
    // Validate the naming flags before reading anything.
    let probe = selection
        .named
        .first()
        .map(String::as_str)
        .unwrap_or("subject");
    parse_pairs(
        &args.generate_labels,
        probe,
        Pairs::Labels,
        "--generate-labels",
    )?;
    parse_pairs(
        &args.generate_annotations,
        probe,
        Pairs::Annotations,
        "--generate-annotations",
    )?;
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Output(format!("{}: {e}", dir.display())))?;
    }

    let (aggregate, file_reports) = read_logs_folding(
        &args.input,
        selection.read_filter(),
        &args.subject.window,
        fold_names_after(args, &policy),
    )?;

    let mut outputs: Vec<SubjectOutput> = Vec::new();
    for subject in aggregate.subject_names() {
        if !selection.wants(subject) {
            continue;
        }
        let sub = &aggregate.subjects[subject];
        if sub.distinct() == 0 {
            continue;
        }
        let naming = Naming {
            name: object_name(&args.generate_name, subject),
            labels: parse_pairs(
                &args.generate_labels,
                subject,
                Pairs::Labels,
                "--generate-labels",
            )?,
            annotations: parse_pairs(
                &args.generate_annotations,
                subject,
                Pairs::Annotations,
                "--generate-annotations",
            )?,
        };
        let observed = Observations::of_aggregate(subject, sub);
        let mut generated = generate_from(subject, &observed, &existing, &policy, &naming);
        // The atoms are not read past generation; strict output can hold one per request.
        generated.atoms = BTreeMap::new();
        let reports = review_from(&generated.rbac, &observed);
        let masters = sub
            .group_sets
            .iter()
            .any(|g| g.iter().any(|x| x == "system:masters"));
        outputs.push(SubjectOutput {
            subject: subject.to_string(),
            observed,
            generated,
            reports,
            masters,
        });
    }

    let missing: Vec<&String> = selection
        .named
        .iter()
        .filter(|n| !outputs.iter().any(|o| &o.subject == *n))
        .collect();
    if outputs.is_empty() {
        match selection.single() {
            Some(subject) => eprintln!(
                "{}",
                no_match_message(subject, args.subject.window.namespace.as_deref())
            ),
            None => eprintln!("No audit events matched the selected subjects"),
        }
        return Ok(EXIT_NOT_FOUND);
    }

    let mut files = BTreeMap::new();
    match &args.out_dir {
        Some(dir) => {
            let subjects: Vec<&str> = outputs.iter().map(|o| o.subject.as_str()).collect();
            files = outdir::file_names(&subjects);
            for o in &outputs {
                let text = match args.output {
                    OutputFormat::Yaml => yaml_of(o, args.evidence),
                    OutputFormat::Json => json_of(&[o], args.evidence),
                };
                let name = match args.output {
                    OutputFormat::Yaml => files[&o.subject].clone(),
                    OutputFormat::Json => files[&o.subject].replace(".yaml", ".json"),
                };
                files.insert(o.subject.clone(), name.clone());
                outdir::write_atomic(dir, &name, text.as_bytes())?;
            }
            let summary = summary_json(&file_reports, &outputs, &files);
            let text = format!(
                "{}\n",
                serde_json::to_string_pretty(&summary).unwrap_or_default()
            );
            outdir::write_atomic(dir, "summary.json", text.as_bytes())?;
        }
        None => {
            let text = match args.output {
                OutputFormat::Yaml => {
                    let docs: Vec<String> = outputs
                        .iter()
                        .map(|o| yaml_of(o, args.evidence))
                        .filter(|t| !t.is_empty())
                        .collect();
                    docs.join("---\n")
                }
                OutputFormat::Json => {
                    let all: Vec<&SubjectOutput<'_>> = outputs.iter().collect();
                    json_of(&all, args.evidence)
                }
            };
            write_stdout(&text)?;
        }
    }

    if !args.input.quiet {
        for o in &outputs {
            let requests = o.observed.totals().1;
            let file = files
                .get(&o.subject)
                .map(|f| format!(" to {f}"))
                .unwrap_or_default();
            eprintln!(
                "{}: {requests} requests, {} distinct; {} already allowed; wrote {} objects with {} rules{file}",
                o.subject,
                o.observed.len(),
                o.generated.already_allowed,
                o.generated.rbac.len(),
                o.reports.len()
            );
            for r in o.reports.iter().filter(|r| !r.risks.is_empty()) {
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
            if let Some(w) = size_warning(&o.subject, &o.generated.rbac, &policy) {
                eprintln!("{w}");
            }
            for r in &o.generated.refused {
                eprintln!("warning: {}: not granted: {r}: a URL ending in * would be a wildcard rule; grant it by hand if needed", o.subject);
            }
            if o.masters {
                eprintln!("note: {} is in system:masters, which bypasses RBAC; the generated RBAC is what it would need without that group", o.subject);
            }
            if o.generated.rbac.is_empty() {
                eprintln!(
                    "note: everything {} did is already allowed; nothing to generate",
                    o.subject
                );
            }
        }
        for m in &missing {
            eprintln!(
                "warning: {}",
                no_match_message(m, args.subject.window.namespace.as_deref())
            );
        }
        if outputs.len() > 1 {
            let objects: usize = outputs.iter().map(|o| o.generated.rbac.len()).sum();
            let rules: usize = outputs.iter().map(|o| o.reports.len()).sum();
            let events: u64 = file_reports.iter().map(|r| r.events).sum();
            eprintln!(
                "{} subjects from {events} events in {} files: {objects} objects, {rules} rules",
                outputs.len(),
                file_reports.len()
            );
        }
    }
    if let Some(threshold) = args.fail_on_risk {
        let risky = outputs
            .iter()
            .flat_map(|o| &o.reports)
            .any(|r| r.highest_risk().is_some_and(|l| l >= threshold));
        if risky {
            if !args.input.quiet {
                eprintln!("audit2role: a generated rule is at or above risk level {threshold} (--fail-on-risk)");
            }
            return Ok(EXIT_RISK);
        }
    }
    Ok(EXIT_OK)
}
