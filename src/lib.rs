//! audit2role: least-privilege Kubernetes RBAC from API-server audit logs.
//!
//! The pipeline: read (`source`) → decode (`decode`) → normalize (`normalize`) → filter and
//! aggregate (`aggregate`) → generate (`policy`) → compact (`rbac::compact`) → render
//! (`render`). `rbac` holds the authorizer that `check`, generation and the tests share.
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

use aggregate::Aggregate;
use decode::FileReport;
use error::Result;
use read::Source;
use std::io::Write;

pub use read::ReadOptions;

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

/// Writes what was skipped or cut short, per file, to `out` (stderr).
pub fn write_input_problems(reports: &[FileReport], out: &mut dyn Write) {
    for r in reports {
        if let Some(e) = &r.read_error {
            let _ = writeln!(out, "warning: {}: {e}", r.name);
        }
        let total = r.skipped_total();
        if total == 0 {
            continue;
        }
        let reasons: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let _ = writeln!(
            out,
            "warning: {}: skipped {total} of {} lines ({})",
            r.name,
            r.lines,
            reasons.join(", ")
        );
        for (line, reason) in &r.examples {
            let _ = writeln!(out, "  {}:{line}: {reason}", r.name);
        }
    }
}
