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
    /// Regex over the command line of the running service (started by pm2, a shell, a
    /// container): the environment it runs with (`/proc/PID/environ`) wins over `file`, as
    /// dotenv never overrides a variable the process already has. Empty: `file` only.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub process: Option<Text>,
}

impl super::Spec for EnvProbe {
    fn templates(&self) -> Vec<&Text> {
        [Some(&self.name), self.file.as_ref(), self.process.as_ref()]
            .into_iter()
            .flatten()
            .collect()
    }
}
