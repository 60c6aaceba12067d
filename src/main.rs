//! The `audit2role` binary: parse the command line, run the library, map errors to exit codes.

mod cli;
mod cmd;

use clap::{CommandFactory, FromArgMatches};
use cli::{Cli, Command};

/// When the first argument is no file and reads like a mistyped subcommand (`chek`), the
/// message that says so; otherwise it is an input of the default command.
fn mistyped_subcommand(command: &clap::Command) -> Option<String> {
    let first = std::env::args().nth(1)?;
    if first.starts_with('-') || std::path::Path::new(&first).exists() {
        return None;
    }
    let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    if names.contains(&first.as_str()) {
        return None;
    }
    let close = audit2role::similar::closest(&first, names, 2, 3);
    (!close.is_empty()).then(|| {
        format!(
            "error: unrecognized subcommand '{first}'; did you mean {}? (a file of that name does not exist)",
            close.join(" or ")
        )
    })
}

fn main() {
    let command = Cli::command().bin_name(cmd::docs::display_name());
    if let Some(message) = mistyped_subcommand(&command) {
        eprintln!("{message}");
        std::process::exit(audit2role::error::EXIT_USAGE);
    }
    let parsed = command
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                audit2role::error::EXIT_USAGE
            } else {
                0
            });
        }
    };
    let result = match &cli.command {
        Some(Command::Generate(args)) => cmd::generate::run(args),
        Some(Command::Check(args)) => cmd::check::run(args),
        Some(Command::Diff(args)) => cmd::diff::run(args),
        Some(Command::Completions { shell }) => cmd::docs::completions(*shell),
        Some(Command::Man(args)) => cmd::docs::man(args),
        Some(Command::WhoCan(args)) => cmd::who_can::run(args),
        Some(Command::Lookup(args)) => cmd::lookup::run(args),
        Some(Command::Stats(args)) => cmd::stats::run(args),
        Some(Command::Aggregate(args)) => cmd::aggregate::run(args),
        Some(Command::Subjects(args)) => cmd::subjects::run(args),
        Some(Command::Serve(args)) => cmd::serve::run(args),
        None => cmd::generate::run(&cli.generate),
    };
    match result {
        Ok(code) => std::process::exit(code),
        // The reader of the output went away (`| head`): end quietly, with the status of a
        // program that SIGPIPE ended, as grep does, and not as a success.
        Err(e) if e.is_broken_pipe() => std::process::exit(audit2role::error::EXIT_BROKEN_PIPE),
        Err(e) => {
            eprintln!(
                "audit2role: {}",
                audit2role::render::terminal::printable(&e.chain())
            );
            std::process::exit(e.exit_code());
        }
    }
}
