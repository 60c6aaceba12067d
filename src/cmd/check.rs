//! The check command: the subject and RBAC from the flags, `audit::check` on its requests,
//! each request not allowed on a line.

use crate::cli::CheckArgs;
use crate::cmd::{load_rbac, read_logs, report_no_match, subject_name};
use audit2role::audit::check::Check;
use audit2role::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK};
use audit2role::rbac::Authorizer;
use audit2role::render::terminal::printable;
use audit2role::time::format_rfc3339_micros;
use std::io::Write;

pub fn run(args: &CheckArgs) -> Result<i32> {
    let subject = subject_name(&args.subject)?;
    let authorizer = Authorizer::new(load_rbac(&args.rbac, !args.subject.no_bootstrap_roles)?);
    let (aggregate, _reports) =
        read_logs(&args.input, vec![subject.clone()], &args.subject.window)?;
    let Some(sub) = aggregate
        .subjects
        .get(&subject)
        .filter(|s| s.distinct() > 0)
    else {
        report_no_match(&args.input, &args.subject.window, &[&subject], false);
        return Ok(EXIT_NOT_FOUND);
    };
    let check = Check::of(&subject, sub);
    let mut stdout = std::io::stdout().lock();
    let mut denied = 0usize;
    for (request, e) in check.not_allowed(&authorizer) {
        denied += 1;
        let last = e
            .last
            .map(format_rfc3339_micros)
            .unwrap_or_else(|| "-".to_string());
        writeln!(
            stdout,
            "not allowed: {} (seen {} times, last {last})",
            printable(&request.to_string()),
            e.count()
        )
        .map_err(Error::output)?;
    }
    if !args.input.quiet {
        eprintln!(
            "{}: {} of {} distinct requests allowed",
            printable(&subject),
            check.requests.len() - denied,
            check.requests.len()
        );
    }
    Ok(if denied == 0 { EXIT_OK } else { EXIT_NOT_FOUND })
}
