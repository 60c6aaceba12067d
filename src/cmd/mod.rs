//! Subcommands, one file each, and what they share: flags to subject names, to the event
//! filter and to the read, and the RBAC a command loads.

pub mod aggregate;
pub mod check;
pub mod diff;
pub mod docs;
pub mod generate;
pub mod lookup;
pub mod stats;
pub mod subjects;
pub mod who_can;

use crate::cli::{InputArgs, SubjectArgs, WindowArgs};
use audit2role::aggregate::{Aggregate, Filter};
use audit2role::decode::FileReport;
use audit2role::error::{Error, Result};
use audit2role::render::terminal::printable;
use audit2role::request::split_service_account;
use audit2role::{read, read_inputs, write_input_problems, ReadOptions};

/// The user name of `--serviceaccount NS:NAME`.
pub fn service_account_username(sa: &str) -> Result<String> {
    let (ns, name) = sa
        .split_once(':')
        .ok_or_else(|| Error::Usage(format!("--serviceaccount {sa:?}: expected NAMESPACE:NAME")))?;
    let username = format!("system:serviceaccount:{ns}:{name}");
    if split_service_account(&username).is_none() {
        return Err(Error::Usage(format!(
            "--serviceaccount {sa:?}: namespace must be a DNS label and name a DNS subdomain"
        )));
    }
    Ok(username)
}

/// The user names named by `--user` and `--serviceaccount`, in the order given.
pub fn named_subjects(args: &SubjectArgs) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for u in &args.user {
        if u.is_empty() {
            return Err(Error::Usage("--user needs a non-empty name".to_string()));
        }
        out.push(u.clone());
    }
    for sa in &args.serviceaccount {
        out.push(service_account_username(sa)?);
    }
    Ok(out)
}

/// The one user name selected by `--user` or `--serviceaccount NS:NAME`.
pub fn subject_name(args: &SubjectArgs) -> Result<String> {
    let mut names = named_subjects(args)?;
    match names.len() {
        1 => Ok(names.remove(0)),
        0 => Err(Error::Usage(
            "say whose requests to use: --user USER or --serviceaccount NAMESPACE:NAME".to_string(),
        )),
        _ => Err(Error::Usage(
            "this command takes one subject: a single --user or --serviceaccount".to_string(),
        )),
    }
}

/// The event filter the flags ask for, keeping `subjects` (all when empty).
pub fn filter_from(args: &WindowArgs, subjects: Vec<String>) -> Result<Filter> {
    let now = audit2role::request::select::now_micros();
    let namespace_regex = match &args.namespace_regex {
        Some(re) => Some(
            regex::Regex::new(re)
                .map_err(|e| Error::Usage(format!("--namespace-regex {re:?}: {e}")))?,
        ),
        None => None,
    };
    let bound = |v: &Option<String>, flag: &str| -> Result<Option<i64>> {
        v.as_deref()
            .map(|v| audit2role::request::select::parse_time_bound(v, now, flag))
            .transpose()
    };
    let filter = Filter {
        users: subjects,
        namespace: args.namespace.clone(),
        namespace_regex,
        since: bound(&args.since, "--since")?,
        until: bound(&args.until, "--until")?,
    };
    if let (Some(s), Some(u)) = (filter.since, filter.until) {
        if s >= u {
            return Err(Error::Usage("--since must be before --until".to_string()));
        }
    }
    Ok(filter)
}

/// Reads the logs for `subjects` with the filters of `args`, reporting problems on stderr.
pub fn read_logs(
    input: &InputArgs,
    subjects: Vec<String>,
    args: &WindowArgs,
) -> Result<(Aggregate, Vec<FileReport>)> {
    read_logs_folding(input, subjects, args, None)
}

/// [`read_logs`], folding names after `fold_names_after` distinct ones per operation (see
/// [`ReadOptions::fold_names_after`]).
pub fn read_logs_folding(
    input: &InputArgs,
    subjects: Vec<String>,
    args: &WindowArgs,
    fold_names_after: Option<u32>,
) -> Result<(Aggregate, Vec<FileReport>)> {
    let filter = filter_from(args, subjects)?;
    use_threads(input.threads);
    let args = input.all_inputs();
    if args.is_empty() {
        return Err(Error::Usage(
            "no input: give audit log files or directories (or - for stdin)".to_string(),
        ));
    }
    let walk = read::WalkOptions {
        follow_links: input.follow,
    };
    let sources = read::expand_sources_with(&args, &walk)?;
    let options = ReadOptions {
        filter,
        strict_input: input.strict_input,
        threads: input.threads.unwrap_or(0),
        block_size: 0,
        keep_damaged: input.keep_damaged,
        max_line_bytes: input.max_line_bytes.unwrap_or(0),
        progress: !input.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        fold_names_after,
    };
    let (aggregate, reports) = read_inputs(&sources, &options)?;
    if !input.quiet {
        write_input_problems(&reports, &mut std::io::stderr());
    }
    Ok((aggregate, reports))
}

/// Sizes the worker pool that per-subject work (generate, review, render, write, diff,
/// who-can's log evidence) runs on: `--threads N` threads, one per available core without
/// it. The first call decides; every command reads its logs once.
pub fn use_threads(threads: Option<usize>) {
    // Fails only when the pool already exists, which then stays as it is.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build_global();
}

/// The filters in force besides `-n`, as the flags were given: `--namespace-regex RE,
/// --since S, --until U` (empty when none).
pub fn filters_in_force(window: &WindowArgs) -> String {
    let mut parts = Vec::new();
    if let Some(re) = &window.namespace_regex {
        parts.push(format!("--namespace-regex {re}"));
    }
    if let Some(t) = &window.since {
        parts.push(format!("--since {t}"));
    }
    if let Some(t) = &window.until {
        parts.push(format!("--until {t}"));
    }
    parts.join(", ")
}

/// "No audit events matched user X [in namespace N] [with --since S, ...]": every filter in
/// force.
pub fn no_match_message(subject: &str, window: &WindowArgs) -> String {
    let mut message = format!("No audit events matched user {}", printable(subject));
    if let Some(ns) = &window.namespace {
        message.push_str(&format!(" in namespace {}", printable(ns)));
    }
    let filters = filters_in_force(window);
    if !filters.is_empty() {
        message.push_str(&format!(" with {}", printable(&filters)));
    }
    message
}

/// What the logs hold for subjects that matched nothing: read once more, without any
/// filter, to say whether the subject is there outside the filters, or else which subjects
/// are closest to its name. Only regular files and directories are read again: standard
/// input, a FIFO or a process substitution cannot be (a FIFO would wait for a writer that
/// is gone), and then nothing more is said.
pub struct NoMatchHints {
    seen: Option<Vec<audit2role::audit::subjects::SubjectRow>>,
}

impl NoMatchHints {
    pub fn read(input: &InputArgs) -> NoMatchHints {
        let readable_again = |path: &String| {
            path != "-" && std::fs::metadata(path).is_ok_and(|m| m.is_file() || m.is_dir())
        };
        if !input.all_inputs().iter().all(readable_again) {
            return NoMatchHints { seen: None };
        }
        let quiet = InputArgs {
            quiet: true,
            strict_input: false,
            ..input.clone()
        };
        let seen = read_logs(&quiet, Vec::new(), &WindowArgs::default())
            .ok()
            .map(|(aggregate, _)| audit2role::audit::subjects::subjects(&aggregate, |_| true));
        NoMatchHints { seen }
    }

    /// The lines to print for `subject`, which matched nothing with the filters of
    /// `window`: the message, then a hint when there is one.
    pub fn lines(&self, subject: &str, window: &WindowArgs) -> Vec<String> {
        let mut lines = vec![no_match_message(subject, window)];
        let Some(seen) = &self.seen else {
            return lines;
        };
        if let Some(row) = seen.iter().find(|r| r.name == subject) {
            lines.push(format!(
                "  {} made {} in the logs, none with these filters",
                printable(subject),
                audit2role::render::words::plural(row.totals.requests, "request")
            ));
            return lines;
        }
        let close = audit2role::audit::subjects::closest_subjects(
            subject,
            seen.iter().map(|r| r.name.as_str()),
            5,
        );
        if close.is_empty() {
            lines.push(format!(
                "  no subject in the logs has a similar name ({} in all; `audit2role subjects` lists them)",
                seen.len()
            ));
        } else {
            let close: Vec<String> = close.iter().map(|c| printable(c).into_owned()).collect();
            lines.push(format!(
                "  closest subjects in the logs: {} (`audit2role subjects` lists them all)",
                close.join(", ")
            ));
        }
        lines
    }
}

/// Prints on stderr that `subject` matched nothing, with the filters in force and hints
/// from the logs (prefixed `warning: ` when `warning`).
pub fn report_no_match(input: &InputArgs, window: &WindowArgs, subjects: &[&str], warning: bool) {
    if subjects.is_empty() {
        return;
    }
    let hints = NoMatchHints::read(input);
    let prefix = if warning { "warning: " } else { "" };
    for subject in subjects {
        let lines = hints.lines(subject, window);
        eprintln!("{prefix}{}", lines[0]);
        for line in &lines[1..] {
            eprintln!("{line}");
        }
    }
}

/// Writes `doc` as pretty JSON, or as YAML for `-o yaml`.
pub fn write_document(
    out: &mut dyn std::io::Write,
    doc: &serde_json::Value,
    format: crate::cli::AuditFormat,
) -> Result<()> {
    let text = match format {
        crate::cli::AuditFormat::Yaml => serde_norway::to_string(doc)
            .map_err(|e| Error::Usage(format!("cannot write YAML: {e}")))?,
        _ => format!("{}\n", serde_json::to_string_pretty(doc)?),
    };
    out.write_all(text.as_bytes()).map_err(Error::output)
}

/// The RBAC of `files` (aggregated ClusterRoles resolved), with the bootstrap roles unless
/// `--no-bootstrap-roles` (`bootstrap` false) or the files are a cluster's dump.
pub fn load_rbac(files: &[String], bootstrap: bool) -> Result<audit2role::rbac::RbacSet> {
    audit2role::rbac::load::load(files, &audit2role::rbac::load::LoadOptions { bootstrap })
}
