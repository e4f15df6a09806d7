//! Library error type. Every variant carries enough context (file, item id, variable)
//! for the CLI to print a one-paragraph message without guessing.

use std::path::PathBuf;

use crate::diag::SourceDiagnostics;

/// Errors that stop shipcheck before or outside of a run. Problems found *during* a run
/// (an unreadable config, a command that timed out) are item results, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A pack or profile file failed to parse or validate; each problem has a location.
    #[error("{0}")]
    Invalid(Box<SourceDiagnostics>),
    /// A file shipcheck itself needs (pack, profile) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file shipcheck needs is not UTF-8 text.
    #[error("{path} is not UTF-8 text (byte {offset} is invalid); is it a binary file?")]
    NotText { path: PathBuf, offset: usize },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No built-in pack has that name and no such file exists.
    #[error("unknown pack `{name}`: not a built-in pack ({known}) and no such file")]
    UnknownPack { name: String, known: String },
    /// The profile has no environment of that name.
    #[error("profile {profile} has no environment `{env}` (it defines: {known})")]
    UnknownEnvironment {
        profile: PathBuf,
        env: String,
        known: String,
    },
    /// A variable the pack requires has no value in the profile or the environment.
    #[error("{message}")]
    Variable { message: String },
    /// Command-line usage that parses but makes no sense.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Reads a text file shipcheck needs, with a clear error for missing or binary files.
    pub fn read_text(path: &std::path::Path) -> Result<String, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        String::from_utf8(bytes).map_err(|e| Error::NotText {
            path: path.to_owned(),
            offset: e.utf8_error().valid_up_to(),
        })
    }
}
