//! `config` probe spec: what a pack writes under `check: { config: ... }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::text::Text;

/// A value read from a config file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigProbe {
    /// The config file; `${var}` and `~/` expand.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub path: Option<Text>,
    /// Several files read as one document, `{NAME: content}`, instead of `path`: the same
    /// setting in every service's env file (`{management: "${mgmt_env}", relay: ...}`).
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub each: std::collections::BTreeMap<String, Text>,
    /// File format; guessed from the extension when unset.
    #[serde(default)]
    pub format: Option<Format>,
    /// jq expression selecting the value (default `.`, the whole document); `${var}`
    /// expands first, so it can compare with the profile (`.DOMAIN == "${domain}"`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub query: Option<Text>,
    /// What a missing file yields: `error` (default: could not check), `fail`, or `null`
    /// (the query runs on `null`, for files whose absence means defaults).
    #[serde(default)]
    pub if_missing: IfMissing,
    /// Substitute `${UPPER_CASE}` in string values from the environment (default: on for
    /// JSON5, off otherwise).
    #[serde(default)]
    pub substitute_env: Option<bool>,
    /// Env file to take substitutions from instead of the process environment: the file
    /// the service starts with (systemd `EnvironmentFile`, compose `env_file`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub env_file: Option<Text>,
    /// A `.env` file the program itself loads (dotenv): it fills only names `env_file` does
    /// not set, as dotenv never overrides the environment. A missing file sets nothing.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub dotenv: Option<Text>,
    /// For `format: env`: regex over the command line of the running service whose
    /// environment (`/proc/PID/environ`) wins over the file (pm2 and shells pass variables
    /// dotenv never overrides). Empty: the file only. With `each`, use `processes`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub process: Option<Text>,
    /// With `each`: the process (as `process`) of each named file.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub processes: std::collections::BTreeMap<String, Text>,
    /// For a proxy configuration (`nginx`, `caddyfile`, `proxy`): `HOST:PORT`. The query
    /// runs on the one site that serves that name on that port, chosen as the proxy
    /// chooses (exact name, wildcards, regex names, default server); no such site fails.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub site: Option<Text>,
}

/// Config file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Json5,
    Yaml,
    Toml,
    Env,
    Ini,
    /// nginx configuration (`include`s resolved), or `nginx -T` output.
    Nginx,
    /// A Caddyfile (`import`s and snippets resolved, `{$VAR}` substituted).
    Caddyfile,
    /// A reverse proxy's configuration: a Caddyfile when the file is named so
    /// (`Caddyfile`, `*.caddyfile`), else nginx. Both read as one shape (`sites`...).
    Proxy,
}

/// How a config probe treats a missing file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IfMissing {
    #[default]
    Error,
    Fail,
    Null,
}

impl super::Spec for ConfigProbe {
    fn templates(&self) -> Vec<&Text> {
        [
            self.path.as_ref(),
            self.env_file.as_ref(),
            self.dotenv.as_ref(),
            self.query.as_ref(),
            self.site.as_ref(),
            self.process.as_ref(),
        ]
        .into_iter()
        .flatten()
        .chain(self.each.values())
        .chain(self.processes.values())
        .collect()
    }

    fn validate(&self) -> Vec<(String, Option<&Text>)> {
        let mut problems = Vec::new();
        if (self.process.is_some() || !self.processes.is_empty())
            && self.format.is_some_and(|f| f != Format::Env)
        {
            problems.push((
                "`process`/`processes` overlay a service's environment on an env file: use `format: env`".into(),
                self.process.as_ref(),
            ));
        }
        if let Some(name) = self.processes.keys().find(|k| !self.each.contains_key(*k)) {
            problems.push((
                format!("`processes` names `{name}`, which `each` does not"),
                self.processes.get(name),
            ));
        }
        if let Some(site) = &self.site
            && self
                .format
                .is_some_and(|f| !matches!(f, Format::Nginx | Format::Caddyfile | Format::Proxy))
        {
            problems.push((
                "`site` selects a site of a proxy configuration: set `format:` to nginx, caddyfile or proxy".into(),
                Some(site),
            ));
        }
        if self.path.is_some() != self.each.is_empty() {
            problems.push((
                "give exactly one of `path` (one file) and `each` (several, by name)".into(),
                None,
            ));
        }
        if let Some(q) = &self.query
            && let Err(e) = crate::jq::check(&q.value)
        {
            problems.push((format!("invalid jq query `{}`: {e}", q.value), Some(q)));
        }
        problems
    }
}

impl ConfigProbe {
    /// The jq query, `.` when unset.
    pub fn query(&self) -> &str {
        self.query.as_ref().map_or(".", |q| q.value.as_str())
    }
}
