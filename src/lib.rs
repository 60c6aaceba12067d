//! audit2role: least-privilege Kubernetes RBAC from API-server audit logs.
//!
//! The pipeline: read (`source`) → decode (`decode`) → normalize (`normalize`) → filter and
//! aggregate (`aggregate`) → generate (`policy`) → compact (`rbac::compact`) → render
//! (`render`). `rbac` holds the authorizer that `check`, generation and the tests share.
pub mod aggregate;
pub mod decode;
pub mod error;
pub mod generate;
pub mod rbac;
pub mod read;
pub mod render;
pub mod request;
pub mod similar;
pub mod time;

use aggregate::{Aggregate, Filter};
use decode::FileReport;
use error::Result;
use read::Source;
use std::io::Write;

/// How to read the inputs.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    pub filter: Filter,
    /// The first unusable line is an error instead of being skipped.
    pub strict_input: bool,
    /// Decoding threads; 0 means one per available core, 1 reads sequentially.
    pub threads: usize,
    /// Show a progress line on stderr.
    pub progress: bool,
    /// Bytes per block of the parallel path; 0 means the default (tests use small blocks).
    pub block_size: usize,
}

impl ReadOptions {
    /// The number of decoding threads to use.
    pub fn effective_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Reads every source into one aggregate, with a report per source.
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
    // Partial aggregates (detected by content) are merged in; logs are read.
    let partial_flags: Vec<bool> = sources.iter().map(aggregate::partial::is_partial).collect();
    let logs: Vec<Source> = sources
        .iter()
        .zip(&partial_flags)
        .filter(|(s, is_partial)| s.problem.is_none() && !**is_partial)
        .map(|(s, _)| s.clone())
        .collect();
    let (mut aggregate, reports) = read_readable(&logs, options)?;
    let mut log_reports = reports.into_iter();
    let mut ordered = Vec::with_capacity(sources.len());
    for (src, is_partial) in sources.iter().zip(partial_flags) {
        if let Some(problem) = &src.problem {
            ordered.push(FileReport {
                name: src.name.clone(),
                read_error: Some(problem.clone()),
                ..FileReport::default()
            });
        } else if is_partial {
            let (_, inputs) = aggregate::partial::read(src, &options.filter, &mut aggregate)?;
            ordered.extend(inputs);
        } else {
            ordered.extend(log_reports.next());
        }
    }
    Ok((aggregate, ordered))
}

fn read_readable(
    sources: &[Source],
    options: &ReadOptions,
) -> Result<(Aggregate, Vec<FileReport>)> {
    // Strict input stops at the first unusable line, so it must see every line in order.
    let prefilter = if options.strict_input {
        None
    } else {
        decode::Prefilter::new(&options.filter.users)
    };
    let threads = options.effective_threads();
    if threads > 1 && !options.strict_input {
        return read::parallel::read_parallel(
            sources,
            &options.filter,
            prefilter.as_ref(),
            threads,
            options.progress,
            options.block_size,
        );
    }
    let mut aggregate = Aggregate::default();
    let mut reports = Vec::with_capacity(sources.len());
    for src in sources {
        let report = decode::read_events_with(
            src,
            options.strict_input,
            prefilter.as_ref(),
            |event, list_version, _line| {
                let normalized = request::normalize::normalize(event, list_version)?;
                aggregate.add(&normalized, &options.filter);
                Ok(())
            },
        )?;
        reports.push(report);
    }
    Ok((aggregate, reports))
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
