//! The generate command: select subjects → read → generate → write (stdout or `--out-dir`)
//! → report on stderr. The flags become a `SubjectSelection`, `ReadOptions` and
//! `GenerateOptions`; the work is the library's.

use crate::cli::{GenerateArgs, OutputFormat};
use crate::cmd::{load_rbac, named_subjects, read_logs_folding, report_no_match};
use audit2role::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK, EXIT_RISK};
use audit2role::generate::names::{parse_pairs, Pairs};
use audit2role::generate::policy::Policy;
use audit2role::generate::{for_subjects, GenerateOptions, SubjectOutput};
use audit2role::rbac::Authorizer;
use audit2role::render::generated::{json_of, subject_summary, summary_json, yaml_of};
use audit2role::render::outdir::{Interrupts, OutDir, OutFile};
use audit2role::render::terminal::printable;
use audit2role::render::words::plural;
use audit2role::render::{outdir, stale};
use audit2role::request::select::SubjectSelection;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;

/// Names an operation keeps before further new names fold (see [`fold_names_after`]).
pub const FOLD_NAMES_AFTER: u32 = 64;

/// Set (to anything) to read every name even when folding would be exact: for tests that
/// compare the two.
pub const NO_FOLD_ENV: &str = "AUDIT2ROLE_NO_FOLD";

/// Whether names may fold while reading ([`audit2role::read::ReadOptions::fold_names_after`]): only
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

/// One subject's file under `--out-dir`, rendered on a worker.
struct SubjectFile<'o, 'a> {
    name: &'o str,
    output: &'o SubjectOutput<'a>,
    format: OutputFormat,
    evidence: bool,
}

impl OutFile for SubjectFile<'_, '_> {
    fn name(&self) -> &str {
        self.name
    }

    fn render(&self) -> Result<Vec<u8>> {
        Ok(match self.format {
            OutputFormat::Yaml => yaml_of(self.output, self.evidence),
            OutputFormat::Json => json_of(&[self.output], self.evidence),
        }
        .into_bytes())
    }
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(Error::output)
}

pub fn run(args: &GenerateArgs) -> Result<i32> {
    let selection = SubjectSelection::new(
        named_subjects(&args.subject)?,
        &args.subject_regex,
        &args.exclude_subject,
        args.all_subjects,
    )?;
    let policy = policy_from(args);
    let existing = Authorizer::new(load_rbac(&args.existing, !args.subject.no_bootstrap_roles)?);
    check_naming_flags(args, &selection)?;
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::output_to(dir.display(), why_not_dir(dir, e)))?;
    }
    // Locked before reading, so that a second run on the directory fails at once.
    let out = args.out_dir.as_deref().map(OutDir::open).transpose()?;

    let (aggregate, file_reports) = read_logs_folding(
        &args.input,
        selection.read_filter(),
        &args.subject.window,
        fold_names_after(args, &policy),
    )?;

    let options = GenerateOptions {
        policy: policy.clone(),
        name_template: args.generate_name.clone(),
        labels: args.generate_labels.clone(),
        annotations: args.generate_annotations.clone(),
    };
    let outputs = for_subjects(&aggregate, &existing, &options, |s| selection.wants(s))?;
    if outputs.is_empty() {
        report_nothing(args, &selection);
        return Ok(EXIT_NOT_FOUND);
    }

    let written = match &out {
        Some(out) => Some(write_out_dir(out, &outputs, &file_reports, args)?),
        None => {
            write_stdout(&stdout_text(&outputs, args))?;
            None
        }
    };

    if !args.input.quiet {
        let missing: Vec<&str> = selection
            .named
            .iter()
            .filter(|n| !outputs.iter().any(|o| &o.subject == *n))
            .map(String::as_str)
            .collect();
        report(
            args,
            &outputs,
            written.as_ref(),
            &file_reports,
            &policy,
            &missing,
        );
    }
    Ok(risk_exit(args, &outputs).unwrap_or(EXIT_OK))
}

/// Checks the naming flags before anything is read.
fn check_naming_flags(args: &GenerateArgs, selection: &SubjectSelection) -> Result<()> {
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
    Ok(())
}

/// Why nothing was generated.
fn report_nothing(args: &GenerateArgs, selection: &SubjectSelection) {
    match selection.single() {
        Some(subject) => match selection.excluded_by(subject) {
            Some(re) => eprintln!(
                "No output for user {}: --exclude-subject {} leaves it out",
                printable(subject),
                printable(re)
            ),
            None => report_no_match(&args.input, &args.subject.window, &[subject], false),
        },
        None => eprintln!("No audit events matched the selected subjects"),
    }
}

/// What an `--out-dir` run wrote: subject → file name, and what became of the files an
/// earlier run left.
struct Written {
    files: BTreeMap<String, String>,
    settled: stale::Settled,
}

/// Writes a file per subject that gets one (in parallel, interruptible), settles the stale
/// files of an earlier run, then writes summary.json last.
fn write_out_dir(
    out: &OutDir,
    outputs: &[SubjectOutput<'_>],
    file_reports: &[audit2role::decode::FileReport],
    args: &GenerateArgs,
) -> Result<Written> {
    let subjects: Vec<&str> = outputs
        .iter()
        .filter(|o| stale::gets_file(o))
        .map(|o| o.subject.as_str())
        .collect();
    let mut files = outdir::file_names(&subjects);
    if args.output == OutputFormat::Json {
        for name in files.values_mut() {
            *name = name.replace(".yaml", ".json");
        }
    }
    // What an earlier run wrote, read before this run's writes remove its summary.
    let previous = stale::PreviousRun::read(out.path());
    let to_write: Vec<SubjectFile<'_, '_>> = outputs
        .iter()
        .filter(|o| stale::gets_file(o))
        .map(|o| SubjectFile {
            name: &files[&o.subject],
            output: o,
            format: args.output,
            evidence: args.evidence,
        })
        .collect();
    // From here a signal stops the writers cleanly instead of ending the process.
    let interrupts = Interrupts::watch()?;
    out.write_files(&to_write, &interrupts)?;
    let settled = stale::settle(out.path(), &previous, &files, args.prune)?;
    let mut summary = summary_json(file_reports, outputs, &files);
    stale::record(&mut summary, &settled);
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    out.write_summary(text.as_bytes(), &interrupts)?;
    Ok(Written { files, settled })
}

/// Every subject's output as one stream: YAML documents (rendered on the workers, in
/// subject order) or one JSON list.
fn stdout_text(outputs: &[SubjectOutput<'_>], args: &GenerateArgs) -> String {
    match args.output {
        OutputFormat::Yaml => {
            let docs: Vec<String> = outputs
                .par_iter()
                .map(|o| yaml_of(o, args.evidence))
                .filter(|t| !t.is_empty())
                .collect();
            docs.join("---\n")
        }
        OutputFormat::Json => {
            let all: Vec<&SubjectOutput<'_>> = outputs.iter().collect();
            json_of(&all, args.evidence)
        }
    }
}

/// The stderr report: stale files, each subject's summary, the named subjects that matched
/// nothing, and the totals of a run over several subjects.
fn report(
    args: &GenerateArgs,
    outputs: &[SubjectOutput<'_>],
    written: Option<&Written>,
    file_reports: &[audit2role::decode::FileReport],
    policy: &Policy,
    missing: &[&str],
) {
    if let (Some(out), Some(written)) = (&args.out_dir, written) {
        for line in stale::messages(out, &written.settled) {
            eprintln!("{}", printable(&line));
        }
    }
    for o in outputs {
        let file = written
            .and_then(|w| w.files.get(&o.subject))
            .map(String::as_str);
        for line in subject_summary(o, file, policy) {
            eprintln!("{}", printable(&line));
        }
    }
    report_no_match(&args.input, &args.subject.window, missing, true);
    if outputs.len() > 1 {
        let objects: usize = outputs.iter().map(|o| o.generated.rbac.len()).sum();
        let rules: usize = outputs.iter().map(|o| o.reports.len()).sum();
        let events: u64 = file_reports.iter().map(|r| r.events).sum();
        eprintln!(
            "{} subjects from {} in {}: {}, {}",
            outputs.len(),
            plural(events, "event"),
            plural(file_reports.len() as u64, "file"),
            plural(objects as u64, "object"),
            plural(rules as u64, "rule")
        );
    }
}

/// `--fail-on-risk`: the exit status when a generated rule is at or above the level.
fn risk_exit(args: &GenerateArgs, outputs: &[SubjectOutput<'_>]) -> Option<i32> {
    let threshold = args.fail_on_risk?;
    let risky = outputs
        .iter()
        .flat_map(|o| &o.reports)
        .any(|r| r.highest_risk().is_some_and(|l| l >= threshold));
    if !risky {
        return None;
    }
    if !args.input.quiet {
        eprintln!(
            "audit2role: a generated rule is at or above risk level {threshold} (--fail-on-risk)"
        );
    }
    Some(EXIT_RISK)
}

/// Why `--out-dir DIR` cannot be created, for people: `File exists` says nothing when DIR is
/// a regular file or a dangling link.
fn why_not_dir(dir: &std::path::Path, e: std::io::Error) -> std::io::Error {
    if e.kind() != std::io::ErrorKind::AlreadyExists {
        return e;
    }
    let reason = match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(dir) {
            Ok(target) => format!(
                "is a symbolic link to {}, which does not exist (create that directory, or name another)",
                target.display()
            ),
            Err(_) => "is a symbolic link that leads to no directory".to_string(),
        },
        Ok(m) if !m.is_dir() => "exists and is not a directory; --out-dir needs a directory".to_string(),
        _ => return e,
    };
    std::io::Error::new(e.kind(), reason)
}
