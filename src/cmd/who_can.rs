//! The who-can command: the question from the flags, the answer from `audit::who_can`, printed
//! as a table (wide: with each subject's user name and, with logs, its request count), JSON
//! or YAML.

use crate::cli::{AuditFormat, InputArgs, WhoCanArgs};
use crate::cmd::{load_rbac, read_logs, write_document};
use audit2role::aggregate::Totals;
use audit2role::audit::who_can::{answer, parse_query, seen, seen_through_groups, Question, Row};
use audit2role::error::{Error, Result, EXIT_OK};
use audit2role::rbac::resources::ResourceTable;
use audit2role::rbac::Authorizer;
use audit2role::render::table::write_table;
use audit2role::render::terminal::printable;
use audit2role::render::who_can::{document, table, through_groups_table};
use rayon::prelude::*;
use std::io::Write;

/// The question the arguments ask, its resource resolved against the built-in resources
/// and those of `--api-resources`.
fn question(args: &WhoCanArgs) -> Result<Question> {
    let mut resources = ResourceTable::builtin();
    if let Some(path) = &args.api_resources {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        resources.add_api_resources(&text, path)?;
    }
    Ok(Question {
        verb: args.verb.clone(),
        resource: args.resource.clone(),
        namespace: args.namespace.clone(),
        name: args.name.clone(),
        group: args.group.clone(),
        resources,
    })
}

pub fn run(args: &WhoCanArgs) -> Result<i32> {
    let quiet = args.quiet;
    let query = parse_query(&question(args)?, &mut |w| {
        if !quiet {
            eprintln!("{}", printable(&w));
        }
    })?;
    let authorizer = Authorizer::new(load_rbac(&args.rbac, false)?);
    let rows = answer(&authorizer, &query);
    let logs = if args.logs.is_empty() {
        None
    } else {
        let input = InputArgs {
            files: args.logs.clone(),
            quiet,
            ..InputArgs::default()
        };
        Some(read_logs(&input, vec![], &Default::default())?.0)
    };
    // Each row's evidence, found on the worker pool.
    let seen_rows: Vec<Option<Totals>> = rows
        .par_iter()
        .map(|row: &Row| -> Option<Totals> {
            let aggregate = logs.as_ref()?;
            let username = row.who.username()?;
            Some(seen(aggregate, &username, &query, &row.scope))
        })
        .collect();
    let through_groups = logs
        .as_ref()
        .map(|a| seen_through_groups(&authorizer, a, &query));

    let mut stdout = std::io::stdout().lock();
    match args.output {
        AuditFormat::Json | AuditFormat::Yaml => {
            let doc = document(&query, &rows, &seen_rows, through_groups.as_ref());
            write_document(&mut stdout, &doc, args.output)?;
        }
        AuditFormat::Table | AuditFormat::Wide => {
            let wide = args.output == AuditFormat::Wide;
            if rows.is_empty() {
                writeln!(stdout, "No subject is allowed to {}.", query.request)
                    .map_err(Error::output)?;
            } else {
                let seen = logs.as_ref().map(|_| seen_rows.as_slice());
                write_table(&mut stdout, &table(&rows, seen, wide))?;
            }
            if let Some(through_groups) = through_groups.filter(|t| !t.is_empty()) {
                writeln!(stdout, "\nSeen in the logs, allowed only through a group:")
                    .map_err(Error::output)?;
                write_table(&mut stdout, &through_groups_table(&through_groups))?;
            }
        }
    }
    Ok(EXIT_OK)
}
