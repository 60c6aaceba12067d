//! The lookup command: the question from the flags, `audit::lookup::answer` (one subject's
//! bindings, or the subjects the bindings name that match), printed as a table (with
//! `--rules`, each role's rules below its binding), wide, JSON or YAML.

use crate::cli::{AuditFormat, LookupArgs, LookupKind};
use crate::cmd::{load_rbac, write_document};
use audit2role::audit::lookup::{answer, Answer, Entry, Question, SubjectKind};
use audit2role::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK};
use audit2role::render::lookup::{list_json, list_rows, lookup_json, lookup_rows, rule_line};
use audit2role::render::table::table_lines;
use audit2role::render::terminal::printable;
use std::io::Write;

fn io(e: std::io::Error) -> Error {
    Error::output(e)
}

fn kind_of(kind: LookupKind) -> SubjectKind {
    match kind {
        LookupKind::User => SubjectKind::User,
        LookupKind::Group => SubjectKind::Group,
        LookupKind::Serviceaccount => SubjectKind::ServiceAccount,
    }
}

/// A table, with each role's rules indented right below its binding when `rules`.
fn write_rows(
    out: &mut dyn Write,
    rows: &[Vec<String>],
    found: &[&Entry<'_>],
    rules: bool,
) -> Result<()> {
    let lines = table_lines(rows);
    writeln!(out, "{}", lines[0]).map_err(io)?;
    for (line, e) in lines[1..].iter().zip(found) {
        writeln!(out, "{line}").map_err(io)?;
        if !rules {
            continue;
        }
        match e.rules {
            None => writeln!(out, "    (role not found: no rules)").map_err(io)?,
            Some([]) => writeln!(out, "    (no rules)").map_err(io)?,
            Some(rules) => {
                for r in rules {
                    writeln!(out, "    {}", printable(&rule_line(r))).map_err(io)?;
                }
            }
        }
    }
    Ok(())
}

pub fn run(args: &LookupArgs) -> Result<i32> {
    let set = load_rbac(&args.rbac, false)?;
    let question = Question {
        text: args.subject.clone(),
        regex: args.regex,
        kind: args.kind.map(kind_of),
    };
    let answer = answer(&set, &question)?;
    let mut stdout = std::io::stdout().lock();
    let wide = args.output == AuditFormat::Wide;
    match answer {
        Answer::Many(listed) => {
            match args.output {
                AuditFormat::Json | AuditFormat::Yaml => {
                    write_document(&mut stdout, &list_json(&listed, args.rules), args.output)?
                }
                AuditFormat::Table | AuditFormat::Wide if listed.is_empty() => {
                    writeln!(stdout, "No binding names a subject that matches.").map_err(io)?
                }
                AuditFormat::Table | AuditFormat::Wide => {
                    let all: Vec<&Entry<'_>> = listed.iter().flat_map(|(_, e)| e).collect();
                    write_rows(&mut stdout, &list_rows(&listed, wide), &all, args.rules)?
                }
            }
            Ok(if listed.is_empty() {
                EXIT_NOT_FOUND
            } else {
                EXIT_OK
            })
        }
        Answer::One {
            target,
            entries: found,
            direct,
        } => {
            match args.output {
                AuditFormat::Json | AuditFormat::Yaml => write_document(
                    &mut stdout,
                    &lookup_json(&target, &found, args.rules),
                    args.output,
                )?,
                AuditFormat::Table | AuditFormat::Wide if found.is_empty() => {
                    writeln!(
                        stdout,
                        "No binding names {} {}.",
                        target.kind(),
                        printable(&target.display())
                    )
                    .map_err(io)?;
                }
                AuditFormat::Table | AuditFormat::Wide => {
                    let all: Vec<&Entry<'_>> = found.iter().collect();
                    write_rows(&mut stdout, &lookup_rows(&found, wide), &all, args.rules)?;
                }
            }
            if direct {
                return Ok(EXIT_OK);
            }
            stdout.flush().map_err(io)?;
            if !found.is_empty() {
                eprintln!(
                    "note: no binding names {} {} directly; the bindings listed apply through its groups",
                    target.kind(),
                    printable(&target.display())
                );
            }
            Ok(EXIT_NOT_FOUND)
        }
    }
}
