//! Subcommands, one file each, and what they share: flags to subject names, to the event
//! filter and to the read, and the RBAC a command loads.

pub mod aggregate;
pub mod check;
pub mod diff;
pub mod docs;
pub mod generate;
pub mod lookup;
pub mod serve;
pub mod stats;
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
        fold_names_after: None,
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
/// [`Filter::fold_names_after`]).
pub fn read_logs_folding(
    input: &InputArgs,
    subjects: Vec<String>,
    args: &WindowArgs,
    fold_names_after: Option<u32>,
) -> Result<(Aggregate, Vec<FileReport>)> {
    let mut filter = filter_from(args, subjects)?;
    filter.fold_names_after = fold_names_after;
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
        progress: !input.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let (aggregate, reports) = read_inputs(&sources, &options)?;
    if !input.quiet {
        write_input_problems(&reports, &mut std::io::stderr());
    }
    Ok((aggregate, reports))
}

/// "No audit events matched user X [in namespace N]".
pub fn no_match_message(subject: &str, namespace: Option<&str>) -> String {
    let subject = printable(subject);
    match namespace.map(printable) {
        Some(ns) => format!("No audit events matched user {subject} in namespace {ns}"),
        None => format!("No audit events matched user {subject}"),
    }
}

/// The RBAC of `files` (aggregated ClusterRoles resolved), with the bootstrap roles unless
/// `--no-bootstrap-roles` (`bootstrap` false) or the files are a cluster's dump.
pub fn load_rbac(files: &[String], bootstrap: bool) -> Result<audit2role::rbac::RbacSet> {
    audit2role::rbac::load::load(files, &audit2role::rbac::load::LoadOptions { bootstrap })
}
