//! The stats command: read and aggregate every subject of the logs and print a summary.
//! It runs the whole read pipeline up to aggregation, which is what benchmarks measure.

use crate::cli::StatsArgs;
use crate::cmd::read_logs;
use audit2role::error::{Error, Result, EXIT_OK};
use std::io::Write;

pub fn run(args: &StatsArgs) -> Result<i32> {
    let (aggregate, reports) = read_logs(&args.input, Vec::new(), &Default::default())?;
    let distinct: usize = aggregate.subjects.values().map(|s| s.distinct()).sum();
    let lines: u64 = reports.iter().map(|r| r.lines).sum();
    let events: u64 = reports.iter().map(|r| r.events).sum();
    let skipped: u64 = reports.iter().map(|r| r.skipped_total()).sum();
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    let text = format!(
        "files: {}\nbytes: {bytes}\nlines: {lines}\nevents: {events}\nlines skipped: {skipped}\nsubjects: {}\ndistinct requests: {distinct}\n",
        reports.len(),
        aggregate.subjects.len()
    );
    // A write error (a full disk, a closed pipe) is an output error, not a panic.
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::output)?;
    Ok(EXIT_OK)
}
