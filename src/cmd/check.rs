//! The check command: the subjects and RBAC from the flags, `audit::check` on their
//! requests, each request not allowed on a line (`render::check`) or one JSON document.

use crate::cli::{CheckArgs, CheckFormat};
use crate::cmd::{load_rbac, read_logs, report_no_match, subject_name};
use audit2role::audit::check::Check;
use audit2role::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK};
use audit2role::rbac::Authorizer;
use audit2role::render::check::{not_allowed_json, not_allowed_line, subject_json};
use audit2role::render::terminal::printable;
use audit2role::render::words::plural;
use std::io::Write;

pub fn run(args: &CheckArgs) -> Result<i32> {
    let named = if args.all_subjects {
        Vec::new()
    } else {
        vec![subject_name(&args.subject)?]
    };
    let authorizer = Authorizer::new(load_rbac(&args.rbac, !args.subject.no_bootstrap_roles)?);
    let (aggregate, _reports) = read_logs(&args.input, named.clone(), &args.subject.window)?;
    let subjects: Vec<&str> = match named.first() {
        Some(subject) => vec![subject.as_str()],
        None => aggregate.subject_names(),
    };
    let subjects: Vec<&str> = subjects
        .into_iter()
        .filter(|s| aggregate.subjects.get(*s).is_some_and(|a| a.distinct() > 0))
        .collect();
    if subjects.is_empty() {
        match named.first() {
            Some(subject) => report_no_match(&args.input, &args.subject.window, &[subject], false),
            None => eprintln!("No audit events matched any subject"),
        }
        return Ok(EXIT_NOT_FOUND);
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut any_denied = false;
    let mut documents = Vec::new();
    for subject in &subjects {
        let check = Check::of(subject, &aggregate.subjects[*subject]);
        let mut denied = 0usize;
        let mut not_allowed = Vec::new();
        for (request, e) in check.not_allowed(&authorizer) {
            denied += 1;
            match args.output {
                CheckFormat::Json => not_allowed.push(not_allowed_json(&request, &e)),
                CheckFormat::Text if args.all_subjects => writeln!(
                    stdout,
                    "{}: {}",
                    printable(subject),
                    not_allowed_line(&request, &e)
                )
                .map_err(Error::output)?,
                CheckFormat::Text => {
                    writeln!(stdout, "{}", not_allowed_line(&request, &e)).map_err(Error::output)?
                }
            }
        }
        any_denied |= denied > 0;
        if args.output == CheckFormat::Json {
            documents.push(subject_json(subject, check.requests.len(), not_allowed));
        }
        if !args.input.quiet {
            eprintln!(
                "{}: {} of {} allowed",
                printable(subject),
                check.requests.len() - denied,
                plural(check.requests.len() as u64, "distinct request")
            );
        }
    }
    if args.output == CheckFormat::Json {
        let doc = serde_json::json!({"allAllowed": !any_denied, "subjects": documents});
        writeln!(stdout, "{}", serde_json::to_string_pretty(&doc)?).map_err(Error::output)?;
    }
    stdout.flush().map_err(Error::output)?;
    Ok(if any_denied { EXIT_NOT_FOUND } else { EXIT_OK })
}
