//! The stats command: read and aggregate every subject of the logs and print a summary.
//! It runs the whole read pipeline up to aggregation, which is what benchmarks measure.

use crate::cli::StatsArgs;
use crate::cmd::read_logs;
use audit2role::error::{Result, EXIT_OK};

pub fn run(args: &StatsArgs) -> Result<i32> {
    let (aggregate, reports) = read_logs(&args.input, Vec::new(), &Default::default())?;
    let distinct: usize = aggregate.subjects.values().map(|s| s.distinct()).sum();
    let lines: u64 = reports.iter().map(|r| r.lines).sum();
    let events: u64 = reports.iter().map(|r| r.events).sum();
    let skipped: u64 = reports.iter().map(|r| r.skipped_total()).sum();
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    println!("files: {}", reports.len());
    println!("bytes: {bytes}");
    println!("lines: {lines}");
    println!("events: {events}");
    println!("lines skipped: {skipped}");
    println!("subjects: {}", aggregate.subjects.len());
    println!("distinct requests: {distinct}");
    Ok(EXIT_OK)
}
