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
use audit2role::render::who_can::{
    binding_label, evidence_json, grant_json, last_seen_cell, request_json, role_label, who_json,
};
use rayon::prelude::*;
use serde_json::{json, Value};
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
    let evidence = |i: usize| -> Option<Totals> { seen_rows[i] };
    let through_groups = logs
        .as_ref()
        .map(|a| seen_through_groups(&authorizer, a, &query))
        .unwrap_or_default();

    let mut stdout = std::io::stdout().lock();
    match args.output {
        AuditFormat::Json | AuditFormat::Yaml => {
            let subjects: Vec<Value> = rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let (binding, role) = grant_json(&row.grant);
                    let mut v = json!({
                        "subject": who_json(&row.who),
                        "namespaceScope": row.scope,
                        "binding": binding,
                        "role": role,
                    });
                    if let Some(e) = evidence(i) {
                        v["seen"] = evidence_json(&e);
                    }
                    v
                })
                .collect();
            let mut doc = json!({"request": request_json(&query), "subjects": subjects});
            if logs.is_some() {
                doc["seenThroughGroups"] = through_groups
                    .iter()
                    .map(|(row, e)| {
                        let (binding, role) = grant_json(&row.grant);
                        json!({
                            "subject": who_json(&row.who),
                            "group": row.group,
                            "namespaceScope": row.scope,
                            "binding": binding,
                            "role": role,
                            "seen": evidence_json(e),
                        })
                    })
                    .collect();
            }
            write_document(&mut stdout, &doc, args.output)?;
        }
        AuditFormat::Table | AuditFormat::Wide => {
            let wide = args.output == AuditFormat::Wide;
            if rows.is_empty() {
                writeln!(stdout, "No subject is allowed to {}.", query.request)
                    .map_err(Error::output)?;
            } else {
                let mut header = vec![
                    "SUBJECT KIND".to_string(),
                    "SUBJECT".to_string(),
                    "NAMESPACE-SCOPE".to_string(),
                    "BINDING".to_string(),
                    "ROLE".to_string(),
                ];
                if wide {
                    header.push("USERNAME".to_string());
                }
                if logs.is_some() {
                    header.push("LAST-SEEN".to_string());
                    if wide {
                        header.push("REQUESTS".to_string());
                    }
                }
                let mut table = vec![header];
                for (i, row) in rows.iter().enumerate() {
                    let mut cells = vec![
                        row.who.kind.clone(),
                        row.who.display(),
                        row.scope.clone(),
                        binding_label(&row.grant),
                        role_label(&row.grant),
                    ];
                    if wide {
                        cells.push(row.who.username().unwrap_or_else(|| "-".to_string()));
                    }
                    if logs.is_some() {
                        let seen = evidence(i);
                        cells.push(seen.map_or("-".to_string(), |e| last_seen_cell(&e)));
                        if wide {
                            cells.push(seen.map_or("-".to_string(), |e| e.requests.to_string()));
                        }
                    }
                    table.push(cells);
                }
                write_table(&mut stdout, &table)?;
            }
            if !through_groups.is_empty() {
                writeln!(stdout, "\nSeen in the logs, allowed only through a group:")
                    .map_err(Error::output)?;
                let mut table = vec![[
                    "SUBJECT KIND",
                    "SUBJECT",
                    "GROUP",
                    "NAMESPACE-SCOPE",
                    "BINDING",
                    "ROLE",
                    "LAST-SEEN",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()];
                for (row, e) in &through_groups {
                    table.push(vec![
                        row.who.kind.clone(),
                        row.who.display(),
                        row.group.clone(),
                        row.scope.clone(),
                        binding_label(&row.grant),
                        role_label(&row.grant),
                        last_seen_cell(e),
                    ]);
                }
                write_table(&mut stdout, &table)?;
            }
        }
    }
    Ok(EXIT_OK)
}
