//! Subcommands, one file each, and what they share: whose requests to read, the RBAC that
//! is assumed to exist, and reading the logs.

pub mod check;
pub mod generate;
pub mod stats;

use crate::aggregate::{Aggregate, Filter};
use crate::bootstrap::bootstrap_rbac;
use crate::cli::{InputArgs, SubjectArgs};
use crate::decode::FileReport;
use crate::error::{Error, Result};
use crate::rbac::read::read_rbac_file;
use crate::rbac::RbacSet;
use crate::request::split_service_account;
use crate::{read_inputs, source, write_input_problems, ReadOptions};

/// The user name selected by `--user` or `--serviceaccount NS:NAME`.
pub fn subject_name(args: &SubjectArgs) -> Result<String> {
    match (&args.user, &args.serviceaccount) {
        (Some(u), None) if !u.is_empty() => Ok(u.clone()),
        (None, Some(sa)) => {
            let (ns, name) = sa.split_once(':').ok_or_else(|| {
                Error::Usage(format!("--serviceaccount {sa:?}: expected NAMESPACE:NAME"))
            })?;
            let username = format!("system:serviceaccount:{ns}:{name}");
            if split_service_account(&username).is_none() {
                return Err(Error::Usage(format!(
                    "--serviceaccount {sa:?}: namespace must be a DNS label and name a DNS subdomain"
                )));
            }
            Ok(username)
        }
        (Some(_), Some(_)) => Err(Error::Usage(
            "--user and --serviceaccount cannot be used together".to_string(),
        )),
        _ => Err(Error::Usage(
            "say whose requests to use: --user USER or --serviceaccount NAMESPACE:NAME".to_string(),
        )),
    }
}

/// The RBAC assumed to be in place: the bootstrap roles (unless switched off) plus files.
pub fn assumed_rbac(files: &[String], bootstrap: bool) -> Result<RbacSet> {
    let mut set = if bootstrap {
        bootstrap_rbac()
    } else {
        RbacSet::default()
    };
    for f in files {
        set.extend(read_rbac_file(f)?);
    }
    Ok(set)
}

/// Reads the logs for `subjects` (and the namespace filter), reporting problems on stderr.
pub fn read_logs(
    input: &InputArgs,
    subjects: Vec<String>,
    namespace: Option<String>,
) -> Result<(Aggregate, Vec<FileReport>)> {
    let args = input.all_inputs();
    if args.is_empty() {
        return Err(Error::Usage(
            "no input: give audit log files or directories (or - for stdin)".to_string(),
        ));
    }
    let sources = source::expand_sources(&args)?;
    let options = ReadOptions {
        filter: Filter {
            users: subjects,
            namespace,
        },
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
    match namespace {
        Some(ns) => format!("No audit events matched user {subject} in namespace {ns}"),
        None => format!("No audit events matched user {subject}"),
    }
}
