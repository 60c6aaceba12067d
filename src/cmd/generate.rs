//! The generate command: select subjects → read → generate → write (stdout or `--out-dir`)
//! → report on stderr. The flags become a `SubjectSelection`, `ReadOptions` and
//! `GenerateOptions`; the work is the library's.

use crate::cli::{GenerateArgs, OutputFormat};
use crate::cmd::{load_rbac, named_subjects, read_logs_folding, report_no_match};
use audit2role::aggregate::Aggregate;
use audit2role::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK, EXIT_RISK};
use audit2role::generate::names::{parse_pairs, Pairs};
use audit2role::generate::policy::Policy;
use audit2role::generate::{
    for_subject, for_subject_list, selected_subjects, GenerateOptions, SubjectOutput,
};
use audit2role::rbac::Authorizer;
use audit2role::render::generated::{
    json_of, subject_summary, summary_json, yaml_of, JsonList, JsonListOptions, Spill,
    SubjectRecord,
};
use audit2role::render::outdir::{Interrupts, OutDir};
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

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(Error::output)
}

/// Subjects generated at a time. Each chunk's outputs are written (or, for a JSON list,
/// rendered) and reduced to what the summary needs before the next chunk is generated, so
/// memory holds one chunk's outputs beside the aggregate, not every subject's.
const GENERATE_CHUNK: usize = 1024;

/// From this many subjects a run warns that its memory is large (see [`many_subjects`]).
pub const MANY_SUBJECTS: usize = 100_000;

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
    let subjects = selected_subjects(&aggregate, |s| selection.wants(s));
    if subjects.is_empty() {
        report_nothing(args, &selection);
        return Ok(EXIT_NOT_FOUND);
    }
    // Every subject's names are made before anything is written, so that a subject whose
    // labels cannot be made fails the run with no output half written.
    for subject in &subjects {
        options.naming(subject)?;
    }
    if !args.input.quiet {
        if let Some(warning) = many_subjects(subjects.len()) {
            eprintln!("{warning}");
        }
    }

    let mut target = match &out {
        Some(out) => Target::OutDir(OutDirWrite::start(out, &subjects, args)?),
        None => Target::Stdout(StdoutWrite::new(args, subjects.len())?),
    };
    let mut tally = Tally::default();
    for chunk in subjects.chunks(GENERATE_CHUNK) {
        let outputs = target.generate(&aggregate, chunk, &existing, &options)?;
        tally.add(&outputs, target.out_dir(), &policy, args);
        // Freed on the workers too: a chunk's objects are many small allocations.
        outputs.into_par_iter().for_each(drop);
    }
    let settled = target.finish(&file_reports, &tally.records)?;

    if !args.input.quiet {
        let missing: Vec<&str> = selection
            .named
            .iter()
            .filter(|n| !subjects.contains(&n.as_str()))
            .map(String::as_str)
            .collect();
        report(
            args,
            &tally,
            subjects.len(),
            settled.as_ref(),
            &file_reports,
            &missing,
        );
    }
    Ok(risk_exit(args, tally.risky).unwrap_or(EXIT_OK))
}

/// The warning for a run over `count` subjects when that many make its memory large.
fn many_subjects(count: usize) -> Option<String> {
    (count >= MANY_SUBJECTS).then(|| {
        format!(
            "warning: {} selected: the run holds every subject's distinct requests and its summary in memory together (about 2 KB a subject beside the requests); to use less, run on part of them at a time (--subject-regex, --exclude-subject)",
            plural(count as u64, "subject")
        )
    })
}

/// What the run keeps of each subject once its output is written: summary.json's record
/// (with `--out-dir`), its stderr lines (unless `-q`), and the totals.
#[derive(Default)]
struct Tally {
    records: Vec<SubjectRecord>,
    lines: Vec<String>,
    objects: usize,
    rules: usize,
    /// A rule at or above `--fail-on-risk`'s level was generated.
    risky: bool,
}

impl Tally {
    /// Adds `outputs`, written (with `--out-dir`) into `out`.
    fn add(
        &mut self,
        outputs: &[SubjectOutput<'_>],
        out: Option<&OutDirWrite<'_>>,
        policy: &Policy,
        args: &GenerateArgs,
    ) {
        // Each output's record and lines are made on the workers, then kept in order.
        let made: Vec<(Option<SubjectRecord>, Vec<String>)> = outputs
            .par_iter()
            .map(|o| {
                let file = out.and_then(|w| w.file_of(o));
                let totals = o.observed.totals();
                let record = out.is_some().then(|| SubjectRecord::of(o, &totals, file));
                let lines = if args.input.quiet {
                    Vec::new()
                } else {
                    subject_summary(o, &totals, file, policy)
                };
                (record, lines)
            })
            .collect();
        for (o, (record, lines)) in outputs.iter().zip(made) {
            self.records.extend(record);
            self.lines.extend(lines);
            self.objects += o.generated.rbac.len();
            self.rules += o.reports.len();
            if let Some(threshold) = args.fail_on_risk {
                self.risky |= o
                    .reports
                    .iter()
                    .any(|r| r.highest_risk().is_some_and(|l| l >= threshold));
            }
        }
    }
}

/// Where the generated objects go.
enum Target<'o> {
    OutDir(OutDirWrite<'o>),
    Stdout(StdoutWrite),
}

impl Target<'_> {
    /// Generates `subjects` (of `aggregate`) and writes what they get: into the directory
    /// as each is generated, or to stdout once all are, in subject order.
    fn generate<'a>(
        &mut self,
        aggregate: &'a Aggregate,
        subjects: &[&str],
        existing: &Authorizer,
        options: &GenerateOptions,
    ) -> Result<Vec<SubjectOutput<'a>>> {
        match self {
            Target::OutDir(w) => w.generate(aggregate, subjects, existing, options),
            Target::Stdout(w) => {
                let outputs = for_subject_list(aggregate, subjects, existing, options)?;
                w.write(&outputs)?;
                Ok(outputs)
            }
        }
    }

    fn out_dir(&self) -> Option<&OutDirWrite<'_>> {
        match self {
            Target::OutDir(w) => Some(w),
            Target::Stdout(_) => None,
        }
    }

    fn finish(
        self,
        file_reports: &[audit2role::decode::FileReport],
        records: &[SubjectRecord],
    ) -> Result<Option<stale::Settled>> {
        match self {
            Target::OutDir(w) => w.finish(file_reports, records).map(Some),
            Target::Stdout(w) => w.finish().map(|()| None),
        }
    }
}

/// An `--out-dir` run under way: a file per subject that gets one (written in parallel,
/// interruptible), then the stale files of an earlier run settled and summary.json last.
struct OutDirWrite<'o> {
    out: &'o OutDir,
    /// A file name for every selected subject, made from all of them at once so that a
    /// subject's name does not depend on which others got a file.
    names: BTreeMap<String, String>,
    /// What an earlier run wrote, read before this run's writes remove its summary.
    previous: stale::PreviousRun,
    interrupts: Interrupts,
    format: OutputFormat,
    evidence: bool,
    prune: bool,
}

impl<'o> OutDirWrite<'o> {
    fn start(out: &'o OutDir, subjects: &[&str], args: &GenerateArgs) -> Result<OutDirWrite<'o>> {
        let extension = match args.output {
            OutputFormat::Yaml => "yaml",
            OutputFormat::Json => "json",
        };
        let names = outdir::file_names(subjects, extension);
        let previous = stale::PreviousRun::read(out.path());
        // From here a signal stops the writers cleanly instead of ending the process.
        let interrupts = Interrupts::watch()?;
        Ok(OutDirWrite {
            out,
            names,
            previous,
            interrupts,
            format: args.output,
            evidence: args.evidence,
            prune: args.prune,
        })
    }

    /// The file `output` gets, if it gets one.
    fn file_of(&self, output: &SubjectOutput<'_>) -> Option<&str> {
        stale::gets_file(output)
            .then(|| self.names.get(&output.subject))
            .flatten()
            .map(String::as_str)
    }

    /// Generates each of `subjects` on the worker pool and writes its file (if it gets one)
    /// as soon as it is rendered, while the next subjects are generated.
    fn generate<'a>(
        &self,
        aggregate: &'a Aggregate,
        subjects: &[&str],
        existing: &Authorizer,
        options: &GenerateOptions,
    ) -> Result<Vec<SubjectOutput<'a>>> {
        let make = |subject: &&str| {
            let output = for_subject(subject, &aggregate.subjects[*subject], existing, options)?;
            let file = self.file_of(&output).map(|name| {
                let bytes = match self.format {
                    OutputFormat::Yaml => yaml_of(&output, self.evidence),
                    OutputFormat::Json => json_of(&[&output], self.evidence),
                };
                (name.to_string(), bytes.into_bytes())
            });
            Ok((file, output))
        };
        self.out.write_each(subjects, make, &self.interrupts)
    }

    fn finish(
        self,
        file_reports: &[audit2role::decode::FileReport],
        records: &[SubjectRecord],
    ) -> Result<stale::Settled> {
        // What this run wrote, subject → file, from the records.
        let written: BTreeMap<String, String> = records
            .iter()
            .filter_map(|r| Some((r.subject.clone(), r.file.clone()?)))
            .collect();
        let settled = stale::settle(self.out.path(), &self.previous, &written, self.prune)?;
        let text = summary_json(file_reports, records, &settled.kept);
        self.out.write_summary(text.as_bytes(), &self.interrupts)?;
        Ok(settled)
    }
}

/// Generated objects on stdout: YAML documents, written a chunk at a time (rendered on the
/// workers, in subject order), or one JSON list, written a subject at a time.
enum StdoutWrite {
    Yaml { evidence: bool, started: bool },
    Json(JsonList<std::io::BufWriter<std::io::Stdout>>),
}

impl StdoutWrite {
    fn new(args: &GenerateArgs, subjects: usize) -> Result<StdoutWrite> {
        Ok(match args.output {
            OutputFormat::Yaml => StdoutWrite::Yaml {
                evidence: args.evidence,
                started: false,
            },
            OutputFormat::Json => {
                let options = JsonListOptions {
                    evidence: args.evidence,
                    subjects,
                };
                // With evidence the items come after every report: they wait on disk.
                let spill = if args.evidence {
                    Spill::file().map_err(Error::output)?
                } else {
                    Spill::memory()
                };
                let out = std::io::BufWriter::new(std::io::stdout());
                StdoutWrite::Json(JsonList::new(out, options, spill))
            }
        })
    }

    fn write(&mut self, outputs: &[SubjectOutput<'_>]) -> Result<()> {
        match self {
            StdoutWrite::Yaml { evidence, started } => {
                let docs: Vec<String> = outputs
                    .par_iter()
                    .map(|o| yaml_of(o, *evidence))
                    .filter(|t| !t.is_empty())
                    .collect();
                if docs.is_empty() {
                    return Ok(());
                }
                let mut text = if *started {
                    "---\n".to_string()
                } else {
                    String::new()
                };
                text.push_str(&docs.join("---\n"));
                *started = true;
                write_stdout(&text)
            }
            StdoutWrite::Json(list) => outputs
                .iter()
                .try_for_each(|o| list.add(o))
                .map_err(Error::output),
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            StdoutWrite::Yaml { .. } => Ok(()),
            StdoutWrite::Json(list) => list.finish().map(|_| ()).map_err(Error::output),
        }
    }
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

/// The stderr report: what became of an earlier run's files, each subject's summary, the named subjects that matched
/// nothing, and the totals of a run over several subjects.
fn report(
    args: &GenerateArgs,
    tally: &Tally,
    subjects: usize,
    settled: Option<&stale::Settled>,
    file_reports: &[audit2role::decode::FileReport],
    missing: &[&str],
) {
    if let (Some(out), Some(settled)) = (&args.out_dir, settled) {
        for line in stale::messages(out, settled) {
            eprintln!("{}", printable(&line));
        }
    }
    for line in &tally.lines {
        eprintln!("{}", printable(line));
    }
    report_no_match(&args.input, &args.subject.window, missing, true);
    if subjects > 1 {
        let events: u64 = file_reports.iter().map(|r| r.events).sum();
        eprintln!(
            "{} subjects from {} in {}: {}, {}",
            subjects,
            plural(events, "event"),
            plural(file_reports.len() as u64, "file"),
            plural(tally.objects as u64, "object"),
            plural(tally.rules as u64, "rule")
        );
    }
}

/// `--fail-on-risk`: the exit status when a generated rule is at or above the level.
fn risk_exit(args: &GenerateArgs, risky: bool) -> Option<i32> {
    let threshold = args.fail_on_risk?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_subjects_are_warned_about_with_their_count() {
        assert_eq!(many_subjects(MANY_SUBJECTS - 1), None);
        let warning = many_subjects(250_000).expect("a warning");
        assert!(
            warning.starts_with("warning: 250000 subjects selected"),
            "{warning}"
        );
        assert!(warning.contains("--subject-regex"), "{warning}");
    }
}
