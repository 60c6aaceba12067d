//! The `audit2role` binary: parse the command line, run the library, map errors to exit codes.

use audit2role::cli::{Cli, Command};
use audit2role::cmd;
use clap::Parser;

fn main() {
    let cli = match Cli::try_parse() {
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
        Some(Command::Stats(args)) => cmd::stats::run(args),
        None => cmd::generate::run(&cli.generate),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("audit2role: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
