//! The aggregate command: reads logs (and other partial aggregates) and writes one partial
//! aggregate of every subject to `--out-file` (parent directories created), for scale-out
//! jobs whose parts are merged later. `-o FILE` still works, with a deprecation warning.

use crate::cli::AggregateArgs;
use crate::cmd::read_logs;
use audit2role::aggregate::partial;
use audit2role::error::{Error, Result, EXIT_OK};
use audit2role::render::outdir;
use audit2role::render::words::plural;
use std::io::Write;

pub fn run(args: &AggregateArgs) -> Result<i32> {
    let target = match (&args.out_file, &args.output) {
        (Some(file), _) => file,
        (None, Some(file)) => {
            if !args.input.quiet {
                eprintln!("warning: aggregate -o FILE is deprecated and will be removed: -o is the output format in every other command; use --out-file FILE");
            }
            file
        }
        (None, None) => {
            return Err(Error::Usage(
                "aggregate: say where to write: --out-file FILE".to_string(),
            ))
        }
    };
    let (aggregate, reports) = read_logs(&args.input, Vec::new(), &args.window)?;
    let mut text = Vec::new();
    partial::write(&aggregate, &reports, &mut text).map_err(Error::output)?;
    if target.as_os_str() == "-" {
        std::io::stdout().write_all(&text).map_err(Error::output)?;
    } else {
        let bytes = if target.extension().is_some_and(|e| e == "gz") {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&text)
                .and_then(|_| enc.finish())
                .map_err(Error::output)?
        } else {
            text
        };
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|e| Error::output_to(dir.display(), e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                Error::Usage(format!("--out-file {}: not a file name", target.display()))
            })?;
        outdir::write_atomic(&dir, &name, &bytes)?;
    }
    if !args.input.quiet {
        let distinct: usize = aggregate.subjects.values().map(|s| s.distinct()).sum();
        let events: u64 = reports.iter().map(|r| r.events).sum();
        eprintln!(
            "aggregated {} from {}: {}, {}",
            plural(events, "event"),
            plural(reports.len() as u64, "input"),
            plural(aggregate.subjects.len() as u64, "subject"),
            plural(distinct as u64, "distinct request")
        );
    }
    Ok(EXIT_OK)
}
