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
    /// A profile lists the same pack twice.
    #[error("profile {} names pack `{pack}` twice", profile.display())]
    DuplicatePack { profile: PathBuf, pack: String },
    /// A pack includes a pack that is neither built in nor a file next to it.
    #[error(
        "pack `{by}` includes `{name}`, which is neither a built-in pack ({known}) nor a file next to it"
    )]
    UnknownInclude {
        by: String,
        name: String,
        known: String,
    },
    /// Packs include each other in a loop.
    #[error("packs include each other in a cycle: {}", chain.join(" → "))]
    IncludeCycle { chain: Vec<String> },
    /// A pack excludes an item its included pack does not have.
    #[error("pack `{pack}` excludes `{item}` from `{included}`, which has no such item")]
    UnknownExclude {
        pack: String,
        item: String,
        included: String,
    },
    /// An include's `when` condition cannot be evaluated.
    #[error("pack `{pack}` includes `{included}` when `{when}`: {message}")]
    IncludeWhen {
        pack: String,
        included: String,
        when: String,
        message: String,
    },
    /// Command-line usage that parses but makes no sense.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Reads a text file shipcheck needs, with a clear error for missing or binary files.
    pub fn read_text(path: &std::path::Path) -> Result<String, Error> {
        use crate::bounded::{MAX_FILE_BYTES, ReadError, read_bounded};
        let bytes = read_bounded(path, MAX_FILE_BYTES).map_err(|e| match e {
            ReadError::Io { path, source } => Error::Read { path, source },
            other => Error::Usage(other.to_string()),
        })?;
        String::from_utf8(bytes).map_err(|e| Error::NotText {
            path: path.to_owned(),
            offset: e.utf8_error().valid_up_to(),
        })
    }
}
