//! The completions and man commands: shell completion scripts and a man page, generated
//! from the command-line definitions so they never drift from the flags.

use crate::cli::Cli;
use audit2role::error::{Error, Result, EXIT_OK};
use clap::CommandFactory;
use std::io::Write;

/// The name the binary answers to: `kubectl audit2role` when installed as a kubectl plugin.
pub fn display_name() -> String {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let file = std::path::Path::new(&argv0)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if file.starts_with("kubectl-") {
        "kubectl audit2role".to_string()
    } else {
        "audit2role".to_string()
    }
}

pub fn completions(shell: clap_complete::Shell) -> Result<i32> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "audit2role", &mut out);
    std::io::stdout().write_all(&out).map_err(Error::output)?;
    Ok(EXIT_OK)
}

pub fn man() -> Result<i32> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(Error::output)?;
    std::io::stdout().write_all(&out).map_err(Error::output)?;
    Ok(EXIT_OK)
}
