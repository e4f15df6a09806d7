//! `env` probe spec: what a pack writes under `check: { env: ... }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::text::Text;

/// One environment variable.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvProbe {
    /// Variable name; `${var}` expands.
    #[schemars(with = "String")]
    pub name: Text,
    /// Env file to read instead of the process environment.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub file: Option<Text>,
}

impl super::Spec for EnvProbe {
    fn templates(&self) -> Vec<&Text> {
        [Some(&self.name), self.file.as_ref()]
            .into_iter()
            .flatten()
            .collect()
    }
}
