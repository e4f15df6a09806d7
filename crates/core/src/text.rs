//! Strings read from YAML with the position they were read from, for located errors.

/// A string with the position it was read from.
pub type Text = serde_saphyr::Spanned<String>;
