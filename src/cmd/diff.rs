//! The diff command: subjects and dump from the flags, one `audit::diff` per subject, the
//! report as tables or JSON (`--suggest` adds the least-privilege replacement).

use crate::cli::{DiffArgs, ReportFormat};
use crate::cmd::{load_rbac, read_logs, report_no_match, subject_name};
use audit2role::audit::diff::{diff_subject, suggestion};
use audit2role::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK};
use audit2role::rbac::{Authorizer, RbacSet};
use audit2role::render;
use audit2role::render::diff::{table, SubjectJson};
use rayon::prelude::*;
use std::io::Write;

/// Subjects whose tables are rendered at once before they are written.
const RENDER_CHUNK: usize = 64;

pub fn run(args: &DiffArgs) -> Result<i32> {
    let subjects: Vec<String> = if args.all_subjects {
        if !args.subject.user.is_empty() || !args.subject.serviceaccount.is_empty() {
            return Err(Error::Usage(
                "--all-subjects cannot be combined with --user or --serviceaccount".to_string(),
            ));
        }
        Vec::new()
    } else {
        vec![subject_name(&args.subject)?]
    };
    let dump = load_rbac(&args.rbac, false)?;
    let authorizer = Authorizer::new(dump);
    let (aggregate, _) = read_logs(&args.input, subjects.clone(), &args.subject.window)?;
    let names: Vec<String> = if subjects.is_empty() {
        aggregate
            .subject_names()
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        subjects
    };
    let mut found = Vec::with_capacity(names.len());
    for name in &names {
        match aggregate.subjects.get(name).filter(|s| s.distinct() > 0) {
            Some(sub) => found.push((name.as_str(), sub)),
            None => {
                report_no_match(&args.input, &args.subject.window, &[name], false);
                return Ok(EXIT_NOT_FOUND);
            }
        }
    }
    // One subject per task on the worker pool, collected in subject order.
    let results: Vec<_> = found
        .into_par_iter()
        .map(|(name, sub)| diff_subject(name, sub, &authorizer))
        .collect();
    if results.is_empty() {
        eprintln!("No audit events matched any subject");
        return Ok(EXIT_NOT_FOUND);
    }
    // Written as it is made, through a buffer: the report is never whole in memory.
    let mut writer = std::io::BufWriter::new(std::io::stdout().lock());
    let output_error = |e: std::io::Error| Error::output(e);
    match args.output {
        ReportFormat::Json => {
            let suggested = if args.suggest {
                let sets: Result<Vec<RbacSet>> = results
                    .par_iter()
                    .map(|d| suggestion(&d.subject, &d.observations()))
                    .collect();
                Some(sets?)
            } else {
                None
            };
            let subjects: Vec<SubjectJson<'_, '_>> = results
                .iter()
                .enumerate()
                .map(|(i, diff)| SubjectJson {
                    diff,
                    suggested: suggested.as_ref().and_then(|s| s.get(i)),
                })
                .collect();
            let mut report = std::collections::BTreeMap::new();
            report.insert("subjects", subjects);
            serde_json::to_writer_pretty(&mut writer, &report)
                .map_err(std::io::Error::from)
                .and_then(|_| writer.write_all(b"\n"))
                .map_err(output_error)?;
        }
        ReportFormat::Table => {
            // Rendered a chunk at a time on the workers, written in order: the report is
            // never whole in memory.
            for chunk in results.chunks(RENDER_CHUNK) {
                let texts: Vec<String> = chunk.par_iter().map(table).collect();
                for text in texts {
                    writer.write_all(text.as_bytes()).map_err(output_error)?;
                }
            }
            if args.suggest {
                for chunk in results.chunks(RENDER_CHUNK) {
                    let texts: Result<Vec<String>> = chunk
                        .par_iter()
                        .map(|d| {
                            let set = suggestion(&d.subject, &d.observations())?;
                            let mut text = format!(
                                "---\n# suggested least-privilege RBAC for {}\n",
                                d.subject.replace(['\n', '\r'], " ")
                            );
                            text.push_str(&render::to_yaml(&set, &render::RuleComments::new()));
                            Ok(text)
                        })
                        .collect();
                    for text in texts? {
                        writer.write_all(text.as_bytes()).map_err(output_error)?;
                    }
                }
            }
        }
    }
    writer.flush().map_err(output_error)?;
    Ok(EXIT_OK)
}
