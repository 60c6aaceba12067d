//! The completions and man commands: shell completion scripts and a man page, generated
//! from the command-line definitions so they never drift from the flags: one man page per
//! command, each with its EXIT STATUS.

use crate::cli::{Cli, ManArgs};
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

/// The EXIT STATUS of each command: (status, meaning).
fn exit_statuses(command: &str) -> Vec<(&'static str, &'static str)> {
    let mut codes = match command {
        "audit2role" | "generate" => vec![
            ("0", "RBAC written (possibly empty, when everything was already allowed)."),
            ("1", "No event matched the subject (and filters); with several subjects, none matched."),
            ("3", "--fail-on-risk: a generated rule is at or above the level (the output is still written)."),
        ],
        "check" => vec![
            ("0", "Every observed request is allowed."),
            ("1", "Some requests are not allowed (listed on stdout), or no event matched."),
        ],
        "diff" => vec![
            ("0", "The report was written."),
            ("1", "No event matched the subject."),
        ],
        "who-can" => vec![("0", "The question was answered, even when nobody is allowed.")],
        "lookup" => vec![
            ("0", "Some binding names the subject directly, or some subject matched the query."),
            ("1", "No binding names the subject directly (its group bindings are still listed), or no subject matched."),
        ],
        "subjects" => vec![
            ("0", "The subjects were listed."),
            ("1", "No subject is left after the filters."),
        ],
        _ => vec![("0", "Done.")],
    };
    codes.extend([
        ("2", "Usage error, or input that cannot be read (a missing file, unsupported compression, a bad line with --strict-input)."),
        ("4", "The output could not be written (disk full, no permission, an unsafe file name)."),
        ("141", "The reader of the output went away (a closed pipe)."),
    ]);
    codes
}

/// The roff of the EXIT STATUS section (and SEE ALSO, for a subcommand's page).
fn extra_sections(command: &str) -> String {
    use clap_mangen::roff::{bold, roman, Roff};
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in exit_statuses(command) {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(meaning)]);
    }
    if command != "audit2role" {
        roff.control("SH", ["SEE ALSO"]);
        roff.text([bold("audit2role"), roman("(1)")]);
    }
    roff.to_roff()
}

/// A page as clap_mangen writes it, with the extra sections before the version.
fn page(cmd: clap::Command, command: &str) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("audit2role {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    let io = |r: std::io::Result<()>| r.map_err(Error::output);
    io(man.render_title(&mut out))?;
    io(man.render_name_section(&mut out))?;
    io(man.render_synopsis_section(&mut out))?;
    io(man.render_description_section(&mut out))?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        io(man.render_options_section(&mut out))?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        io(man.render_subcommands_section(&mut out))?;
    }
    if cmd.get_after_long_help().is_some() || cmd.get_after_help().is_some() {
        io(man.render_extra_section(&mut out))?;
    }
    out.extend_from_slice(extra_sections(command).as_bytes());
    if cmd.get_version().is_some() {
        io(man.render_version_section(&mut out))?;
    }
    Ok(out)
}

/// Every man page: (file name, roff), the main page first, then one per subcommand
/// (`audit2role-check.1`, ...).
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = vec![("audit2role.1".to_string(), page(cmd.clone(), "audit2role")?)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name().to_string();
        let sub = sub
            .clone()
            .display_name(format!("audit2role-{name}"))
            .version(env!("CARGO_PKG_VERSION"));
        pages.push((format!("audit2role-{name}.1"), page(sub, &name)?));
    }
    Ok(pages)
}

pub fn man(args: &ManArgs) -> Result<i32> {
    let pages = man_pages()?;
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::output_to(dir.display(), e))?;
        for (name, text) in &pages {
            audit2role::render::outdir::write_atomic(dir, name, text)?;
            // Pages are for everyone to read (the temporary file was private).
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let path = dir.join(name);
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                    .map_err(|e| Error::output_to(path.display(), e))?;
            }
        }
        return Ok(EXIT_OK);
    }
    let wanted = match &args.command {
        Some(c) => format!("audit2role-{c}.1"),
        None => "audit2role.1".to_string(),
    };
    let Some((_, text)) = pages.iter().find(|(name, _)| *name == wanted) else {
        return Err(Error::Usage(format!(
            "man: no command {:?}",
            args.command.as_deref().unwrap_or_default()
        )));
    };
    std::io::stdout().write_all(text).map_err(Error::output)?;
    Ok(EXIT_OK)
}
