//! audit2role: least-privilege Kubernetes RBAC from API-server audit logs, and permission
//! audits of existing RBAC against them.
//!
//! The pipeline, one folder per stage:
//!
//! | stage | module | what it does |
//! |---|---|---|
//! | read | [`read`] | open each input once, detect compression, cut blocks of whole lines, run the decoding on every core |
//! | decode | [`decode`] | one line or document → native audit events (cloud envelopes unwrapped) |
//! | normalize, select | [`request`] | event → the request the authorizer saw; which subjects, namespaces and times count |
//! | aggregate | [`aggregate`] | subject → distinct request → evidence; partial aggregates for sharded jobs |
//! | generate | [`generate`] | one subject's requests → the RBAC objects that allow them, with evidence and risk |
//! | rbac | [`rbac`] | types, reading dumps, the authorizer, compaction, the built-in resource table |
//! | render | [`render`] | YAML, JSON, tables, `--out-dir` files |
//! | audit | [`audit`] | check, diff, who-can and lookup over a dump and an aggregate |
//!
//! The three calls below are the whole path from logs to YAML:
//!
//! ```
//! use audit2role::{GenerateOptions, ReadOptions};
//!
//! # fn main() -> audit2role::Result<()> {
//! let (aggregate, _reports) = audit2role::read(&["testdata/audit.log".to_string()], &ReadOptions::default())?;
//! let outputs = audit2role::generate(&aggregate, &GenerateOptions::default())?;
//! let alice = outputs.iter().find(|o| o.subject == "alice").expect("alice is in the log");
//! let yaml = audit2role::render::generated::yaml_of(alice, false);
//! assert!(yaml.contains("kind: Role\n"));
//! # Ok(())
//! # }
//! ```
//!
//! The authorizer answers as the API server's RBAC authorizer does:
//!
//! ```
//! use audit2role::rbac::{bootstrap::bootstrap_rbac, Authorizer};
//! use audit2role::request::{Request, UserInfo};
//!
//! let authorizer = Authorizer::new(bootstrap_rbac());
//! let user = UserInfo::new("alice", &["system:authenticated"]);
//! assert!(authorizer.allows(&user, Request::non_resource("get", "/healthz").as_ref()));
//! assert!(!authorizer.allows(&user, Request::non_resource("get", "/healthz/ping").as_ref()));
//! ```

pub mod aggregate;
pub mod audit;
pub mod decode;
pub mod error;
pub mod generate;
pub mod rbac;
pub mod read;
pub mod render;
pub mod request;
pub mod similar;
pub mod time;

use decode::FileReport;
use read::Source;
use std::io::Write;

pub use aggregate::Aggregate;
pub use error::{Error, Result};
pub use generate::{GenerateOptions, SubjectOutput};
pub use read::ReadOptions;

/// Reads the inputs named by `paths` (log files, plain, gzip; directories, every file below;
/// partial aggregates; `-` for standard input) into one aggregate, with a report per input
/// of what was read and skipped.
pub fn read(paths: &[String], options: &ReadOptions) -> Result<(Aggregate, Vec<FileReport>)> {
    let sources = read::expand_sources(paths)?;
    read_inputs(&sources, options)
}

/// Generates for every subject of `aggregate` what the bootstrap roles every cluster has
/// do not already allow; [`generate::for_subjects`] takes other existing RBAC and a
/// selection of subjects.
pub fn generate<'a>(
    aggregate: &'a Aggregate,
    options: &GenerateOptions,
) -> Result<Vec<SubjectOutput<'a>>> {
    let existing = rbac::Authorizer::new(rbac::bootstrap::bootstrap_rbac());
    generate::for_subjects(aggregate, &existing, options, |_| true)
}

/// Reads every source into one aggregate, with a report per source. Each source is opened
/// once; its first bytes tell a partial aggregate (merged in) from a log (read). Errors
/// come in input order: a source that cannot be opened fails the run after the logs before
/// it are read (their first bad line comes first with strict input).
pub fn read_inputs(
    sources: &[Source],
    options: &ReadOptions,
) -> Result<(Aggregate, Vec<FileReport>)> {
    // Files found in directories that cannot be opened are reported and passed over.
    if let Some(bad) = sources.iter().find(|s| s.problem.is_some()) {
        if options.strict_input {
            let problem = bad.problem.clone().unwrap_or_default();
            return Err(error::Error::input(&bad.name, None, problem));
        }
    }
    /// What each source turned out to be.
    enum Kind {
        Problem,
        Log,
        Partial(read::Opened),
    }
    let mut kinds = Vec::with_capacity(sources.len());
    let mut logs = Vec::new();
    let mut open_error = None;
    for src in sources {
        if src.problem.is_some() {
            kinds.push(Kind::Problem);
            continue;
        }
        let input = match read::open(src) {
            Ok(input) => input,
            Err(e) => {
                open_error = Some(e);
                break;
            }
        };
        if aggregate::partial::is_partial(src, input.head()) {
            kinds.push(Kind::Partial(input));
        } else {
            kinds.push(Kind::Log);
            logs.push(read::pipeline::LogInput {
                name: src.name.clone(),
                size: src.size(),
                reader: input,
            });
        }
    }
    let (mut aggregate, reports) = read::pipeline::read_logs(logs, options)?;
    if let Some(e) = open_error {
        return Err(e);
    }
    let mut log_reports = reports.into_iter();
    let mut ordered = Vec::with_capacity(sources.len());
    for (src, kind) in sources.iter().zip(kinds) {
        match kind {
            Kind::Problem => ordered.push(FileReport {
                name: src.name.clone(),
                read_error: src.problem.clone(),
                ..FileReport::default()
            }),
            Kind::Partial(input) => {
                let (_, inputs) =
                    aggregate::partial::read(src, input, &options.filter, &mut aggregate)?;
                ordered.extend(inputs);
            }
            Kind::Log => ordered.extend(log_reports.next()),
        }
    }
    Ok((aggregate, ordered))
}

/// Writes what was skipped or cut short, per file, to `out` (stderr), with every control
/// character of file names and reasons escaped.
pub fn write_input_problems(reports: &[FileReport], out: &mut dyn Write) {
    use render::terminal::printable;
    for r in reports {
        let name = printable(&r.name);
        if let Some(e) = &r.read_error {
            let _ = writeln!(out, "warning: {name}: {}", printable(e));
        }
        if let Some((line, what)) = &r.from_uri_example {
            let _ = writeln!(
                out,
                "warning: {name}: {} events' objectRef is missing, incomplete or disagrees with requestURI; their request was taken from requestURI, as the API server's authorizer saw it (first: {name}:{line}: {})",
                r.from_uri,
                printable(what)
            );
        }
        let total = r.skipped_total();
        if total == 0 {
            continue;
        }
        let reasons: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let _ = writeln!(
            out,
            "warning: {name}: skipped {total} of {} ({})",
            render::words::plural(r.lines, "line"),
            reasons.join(", ")
        );
        for (line, reason) in &r.examples {
            let _ = writeln!(out, "  {name}:{line}: {}", printable(reason));
        }
    }
}
