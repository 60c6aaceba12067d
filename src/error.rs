//! Errors and the exit codes they map to. Each variant carries its context (file, line,
//! what was being done) and, for system errors, the error that caused it as its `source`;
//! [`Error::chain`] joins the two for people, and [`Error::exit_code`] is the one place where
//! errors become exit codes.

use std::io;

/// Exit code: generated / all allowed.
pub const EXIT_OK: i32 = 0;
/// Exit code: no event matched the subject (generation), or some request not allowed (check).
pub const EXIT_NOT_FOUND: i32 = 1;
/// Exit code: bad usage or unreadable input.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: a generated rule is at or above `--fail-on-risk`.
pub const EXIT_RISK: i32 = 3;
/// Exit code: the output could not be written (disk full, permissions, an unsafe name).
pub const EXIT_OUTPUT: i32 = 4;
/// Exit code: the reader of standard output went away (128 + SIGPIPE, what a shell reports
/// for a program that SIGPIPE ended).
pub const EXIT_BROKEN_PIPE: i32 = 141;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Flags that do not fit together, or bad flag values.
    #[error("usage: {0}")]
    Usage(String),
    /// A file or directory that cannot be opened or read; `action` says which ("open",
    /// "read", "read directory").
    #[error("{path}: cannot {action}")]
    Io {
        path: String,
        action: &'static str,
        #[source]
        source: io::Error,
    },
    /// Input that was read but cannot be used: the file, the line when known, and why.
    #[error("{}", located(path, *line, reason))]
    Input {
        path: String,
        line: Option<u64>,
        reason: String,
    },
    /// A signal (`signal`, exit `code` = 128 + its number) stopped an `--out-dir` run at
    /// `path`: the files written before it are complete, no temporary file is left, and no
    /// summary.json was written.
    #[error("{path}: interrupted by {signal}: files written so far are complete, temporary files removed, no summary.json written")]
    Interrupted {
        signal: &'static str,
        code: i32,
        path: String,
    },
    /// Writing output failed: to `path`, or to standard output when it is `None`.
    #[error("writing output{}", path.as_ref().map(|p| format!(": {p}")).unwrap_or_default())]
    Output {
        path: Option<String>,
        #[source]
        source: io::Error,
    },
}

fn located(path: &str, line: Option<u64>, reason: &str) -> String {
    match line {
        Some(l) => format!("{path}:{l}: {reason}"),
        None => format!("{path}: {reason}"),
    }
}

impl Error {
    /// The exit code of the binary for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Io { .. } | Error::Input { .. } => EXIT_USAGE,
            Error::Output { .. } => EXIT_OUTPUT,
            Error::Interrupted { code, .. } => *code,
        }
    }

    /// An input error about `path`, optionally at `line` (1-based).
    pub fn input(path: &str, line: Option<u64>, reason: impl std::fmt::Display) -> Error {
        Error::Input {
            path: path.to_string(),
            line,
            reason: reason.to_string(),
        }
    }

    /// `path` could not be opened or read (`action`: "open", "read", ...).
    pub fn io(path: &str, action: &'static str, source: io::Error) -> Error {
        Error::Io {
            path: path.to_string(),
            action,
            source,
        }
    }

    /// Writing to standard output failed.
    pub fn output(source: io::Error) -> Error {
        Error::Output { path: None, source }
    }

    /// Writing to the file or directory `path` failed.
    pub fn output_to(path: impl std::fmt::Display, source: io::Error) -> Error {
        Error::Output {
            path: Some(path.to_string()),
            source,
        }
    }

    /// Output that is not written on purpose (`why`), reported like a failed write.
    pub fn output_refused(why: impl Into<String>) -> Error {
        Error::output(io::Error::new(io::ErrorKind::InvalidInput, why.into()))
    }

    /// Whether this is a write to a pipe whose reader has gone (`... | head -1`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The message and every cause after it, joined by `: `, as printed for people.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }
}

/// Any serialization failure while writing output, as an output error.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::output(io::Error::other(e))
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_exit_code_and_message() {
        let cases: Vec<(Error, i32, &str)> = vec![
            (Error::Usage("bad".into()), EXIT_USAGE, "usage: bad"),
            (
                Error::io("a.log", "open", io::Error::from(io::ErrorKind::NotFound)),
                EXIT_USAGE,
                "a.log: cannot open: entity not found",
            ),
            (
                Error::input("a.log", Some(3), "invalid JSON"),
                EXIT_USAGE,
                "a.log:3: invalid JSON",
            ),
            (
                Error::input("a.log", None, "empty"),
                EXIT_USAGE,
                "a.log: empty",
            ),
            (
                Error::output(io::Error::other("disk full")),
                EXIT_OUTPUT,
                "writing output: disk full",
            ),
            (
                Error::output_to("d/x.yaml", io::Error::other("disk full")),
                EXIT_OUTPUT,
                "writing output: d/x.yaml: disk full",
            ),
        ];
        for (error, code, text) in cases {
            assert_eq!(error.exit_code(), code, "{error:?}");
            assert_eq!(error.chain(), text);
        }
    }

    #[test]
    fn a_closed_pipe_is_recognised() {
        assert!(Error::output(io::Error::from(io::ErrorKind::BrokenPipe)).is_broken_pipe());
        assert!(!Error::output(io::Error::other("x")).is_broken_pipe());
    }
}
