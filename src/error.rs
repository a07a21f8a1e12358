//! The core's error type. Every variant names its input; the CLI maps the
//! [`Class`] of an error to the exit codes of DESIGN.md §3 in one place.
use std::path::Path;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How an error is classed for exit codes and `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Verification failed or an input was rejected: exit 1.
    Rejected,
    /// The command was used wrongly: exit 2.
    Usage,
    /// I/O or environment trouble: exit 3.
    Io,
    /// The home is locked by another process: exit 4.
    Busy,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input failed a check. `kind` is a stable machine-readable word
    /// (`bad-signature`, `malformed`, `not-addressed`, `outsider`, `not-authorised`,
    /// `limit`, `fork`, `rollback`, `tampered`, …).
    #[error("{input}: {detail}")]
    Rejected {
        input: String,
        kind: &'static str,
        detail: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{input}: {source}")]
    Io { input: String, source: std::io::Error },
    #[error("{0}")]
    Env(String),
    #[error("{home}: busy: another secfile process holds the home's lock; retry")]
    Busy { home: String },
}

impl Error {
    pub fn rejected(input: impl std::fmt::Display, kind: &'static str, detail: impl Into<String>) -> Self {
        Error::Rejected {
            input: input.to_string(),
            kind,
            detail: detail.into(),
        }
    }
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }
    pub fn io(input: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            input: input.as_ref().display().to_string(),
            source,
        }
    }
    pub fn class(&self) -> Class {
        match self {
            Error::Rejected { .. } => Class::Rejected,
            Error::Usage(_) => Class::Usage,
            Error::Io { .. } | Error::Env(_) => Class::Io,
            Error::Busy { .. } => Class::Busy,
        }
    }
    /// A stable word for `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Rejected { kind, .. } => kind,
            Error::Usage(_) => "usage",
            Error::Io { .. } => "io",
            Error::Env(_) => "environment",
            Error::Busy { .. } => "busy",
        }
    }
}

/// Attach a path to an I/O result.
pub trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::from_io(path, e))
    }
}

impl Error {
    /// An I/O error at `path`, or the secfile error it carries (a check made inside an
    /// `io::Write`/`io::Read` callback travels as `io::Error::other(Error)`).
    pub fn from_io(path: impl AsRef<Path>, e: std::io::Error) -> Error {
        if e.get_ref().is_some_and(|r| r.is::<Error>()) {
            if let Some(inner) = e.into_inner() {
                if let Ok(err) = inner.downcast::<Error>() {
                    return *err;
                }
            }
            unreachable!("checked: the inner error is an Error");
        }
        Error::io(path, e)
    }
}
