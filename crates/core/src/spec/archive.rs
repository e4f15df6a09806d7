//! `archive` probe spec: what a pack writes under `check: { archive: ... }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::text::Text;

/// The entries of a tar archive (plain, gzip or zstd), read in-process: what a backup holds.
/// The value the matchers judge is the entry names, one per line, as `tar -t` lists them.
/// An archive that is not there, or does not read to its end (corrupt, cut short), fails;
/// one that cannot be read (permissions, I/O), or takes longer than the check's timeout, is
/// `error`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveProbe {
    /// The archive; `${var}` and `~/` expand. A wildcard in the last component
    /// (`backups/*.tar.gz`) means the newest match by modification time, as `ls -t | head -1`.
    #[schemars(with = "String")]
    pub path: Text,
}

impl super::Spec for ArchiveProbe {
    fn templates(&self) -> Vec<&Text> {
        vec![&self.path]
    }
}
