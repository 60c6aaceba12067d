//! Errors and the exit codes they map to. Messages carry their own context (file, line,
//! field), so the binary prints them as they are.

use std::fmt;

/// Exit code: generated / all allowed.
pub const EXIT_OK: i32 = 0;
/// Exit code: no event matched the subject (generation), or some request not allowed (check).
pub const EXIT_NOT_FOUND: i32 = 1;
/// Exit code: bad usage or unreadable input.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: a generated rule is at or above `--fail-on-risk`.
pub const EXIT_RISK: i32 = 3;

#[derive(Debug)]
pub enum Error {
    /// Flags that do not fit together, or bad flag values.
    Usage(String),
    /// Input that cannot be read or decoded (the message names the file and line).
    Input(String),
    /// Writing output failed.
    Output(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        EXIT_USAGE
    }

    /// An input error about `path`, optionally at `line` (1-based).
    pub fn input(path: &str, line: Option<u64>, reason: impl fmt::Display) -> Error {
        match line {
            Some(l) => Error::Input(format!("{path}:{l}: {reason}")),
            None => Error::Input(format!("{path}: {reason}")),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "usage: {m}"),
            Error::Input(m) => write!(f, "{m}"),
            Error::Output(m) => write!(f, "writing output: {m}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
