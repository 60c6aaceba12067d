//! The subjects command: read the logs with the filters, then every subject the selection
//! keeps, as a table or JSON (`audit::subjects`, `render::subjects`).

use crate::cli::{ReportFormat, SubjectsArgs};
use crate::cmd::read_logs;
use audit2role::audit::subjects::subjects;
use audit2role::error::{Error, Result, EXIT_NOT_FOUND, EXIT_OK};
use audit2role::render::subjects::{json_doc, table_rows};
use audit2role::render::table::write_table;
use audit2role::request::select::SubjectSelection;
use std::io::Write;

pub fn run(args: &SubjectsArgs) -> Result<i32> {
    let selection = SubjectSelection::new(
        Vec::new(),
        &args.subject_regex,
        &args.exclude_subject,
        args.subject_regex.is_empty(),
    )?;
    let (aggregate, _reports) = read_logs(&args.input, Vec::new(), &args.window)?;
    let rows = subjects(&aggregate, |s| selection.wants(s));
    let mut stdout = std::io::stdout().lock();
    match args.output {
        ReportFormat::Json => {
            let text = serde_json::to_string_pretty(&json_doc(&rows))?;
            writeln!(stdout, "{text}").map_err(Error::output)?;
        }
        ReportFormat::Table if rows.is_empty() => {}
        ReportFormat::Table => write_table(&mut stdout, &table_rows(&rows))?,
    }
    stdout.flush().map_err(Error::output)?;
    if rows.is_empty() {
        if !args.input.quiet {
            eprintln!("No subject in the logs matched the filters");
        }
        return Ok(EXIT_NOT_FOUND);
    }
    Ok(EXIT_OK)
}
