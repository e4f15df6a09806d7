//! `postgres` probe spec: what a pack writes under `check: { postgres: ... }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::Span;
use crate::text::Text;

/// A PostgreSQL server to audit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresProbe {
    /// Connection URL (`postgres://user:password@host:port/db`), e.g. `${env:DATABASE_URL}`
    /// or a secret variable. Never printed.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub url: Option<Text>,
    /// Or: read the URL from this variable of `env_file`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub env_var: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub env_file: Option<Text>,
    /// CA file to verify the server's certificate (default: encrypt without verifying,
    /// as libpq's `sslmode=require`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<Text>,
    /// Connect and statement timeout (default 10s).
    #[serde(default)]
    pub timeout: Option<Span>,
}

impl super::Spec for PostgresProbe {
    fn templates(&self) -> Vec<&Text> {
        [&self.url, &self.env_var, &self.env_file, &self.ca_file]
            .into_iter()
            .flatten()
            .collect()
    }

    fn validate(&self) -> Vec<(String, Option<&Text>)> {
        match (&self.url, &self.env_var, &self.env_file) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => Vec::new(),
            _ => vec![(
                "postgres needs either `url`, or both `env_var` and `env_file`".into(),
                None,
            )],
        }
    }
}
