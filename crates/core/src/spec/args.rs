//! `args` probe spec: what a pack writes under `check: { args: ... }`.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::text::Text;

/// A service's command line and environment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgsProbe {
    /// Where to read it: `command` (the `command_line` text), `systemd` (`unit` file),
    /// `compose` (`compose_file`, `compose_service`) or `process` (`pid`, else the first
    /// process running `program`).
    #[schemars(with = "String")]
    pub source: Text,
    /// A shell-style command line (`VAR=value` prefixes are environment).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub command_line: Option<Text>,
    /// A systemd unit file: `ExecStart=`, `Environment=`, `EnvironmentFile=`, `WorkingDirectory=`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub unit: Option<Text>,
    /// A compose file and the service in it: `command:`, `environment:`, `env_file:`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub compose_file: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub compose_service: Option<Text>,
    /// A process id, or a pid file.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub pid: Option<Text>,
    /// Folder relative paths of the service start from (default: the unit's
    /// `WorkingDirectory=`, the process's cwd, else the profile's folder).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub workdir: Option<Text>,
    /// The program's name (`clasp-relay`): the word the arguments follow.
    pub program: String,
    /// The flags the program accepts; when not given, the pack's `programs.<program>`
    /// flags (written once for every item that reads the program).
    #[serde(default, deserialize_with = "shared_flags")]
    #[schemars(with = "Option<Vec<FlagSpec>>")]
    pub flags: Option<Arc<[FlagSpec]>>,
    /// Environment variables to report.
    #[serde(default)]
    pub env: Vec<String>,
    /// jq expression selecting the value to judge (default `.`); `${var}` expands first.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub query: Option<Text>,
}

impl ArgsProbe {
    /// The program's flags (once loaded, the item's own or its pack's `programs`).
    pub fn flags(&self) -> &[FlagSpec] {
        self.flags.as_deref().unwrap_or_default()
    }
}

/// A program's command-line grammar, declared once in a pack's `programs` for every
/// `args` item that names the program.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// The flags the program accepts.
    #[serde(deserialize_with = "flag_list")]
    #[schemars(with = "Vec<FlagSpec>")]
    pub flags: Arc<[FlagSpec]>,
}

fn flag_list<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<[FlagSpec]>, D::Error> {
    Vec::<FlagSpec>::deserialize(d).map(Arc::from)
}

fn shared_flags<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Arc<[FlagSpec]>>, D::Error> {
    Option::<Vec<FlagSpec>>::deserialize(d).map(|f| f.map(Arc::from))
}

/// One flag of the program's grammar.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagSpec {
    /// Long name without `--`.
    pub name: String,
    /// One-letter short form, without `-`.
    #[serde(default)]
    pub short: Option<String>,
    /// Other long names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Value kind: `string` (default), `number`, `path` (file facts are reported), `switch`
    /// (no value).
    #[serde(default)]
    pub kind: FlagKind,
    /// May be given more than once (values collect in a list).
    #[serde(default)]
    pub repeatable: bool,
    /// The value the program uses when the flag is absent.
    #[serde(default)]
    pub default: Option<Value>,
    /// The value is a secret: reported as its length only.
    #[serde(default)]
    pub secret: bool,
}

/// What a flag's value is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    #[default]
    String,
    Number,
    Path,
    /// A path to a config file the program reads (JSON, JSON5, YAML or TOML, by its
    /// extension): file facts under `files`, and its parsed content under `configs`, so
    /// items judge the file the process really runs with.
    Config,
    Switch,
}

impl super::Spec for ArgsProbe {
    fn templates(&self) -> Vec<&Text> {
        [
            Some(&self.source),
            self.command_line.as_ref(),
            self.unit.as_ref(),
            self.compose_file.as_ref(),
            self.compose_service.as_ref(),
            self.pid.as_ref(),
            self.workdir.as_ref(),
            self.query.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn validate(&self) -> Vec<(String, Option<&Text>)> {
        let mut out = Vec::new();
        // Templates expand at run time; a placeholder stands in for them here.
        static TEMPLATES: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new(r"\$\{[^}]*\}").expect("static regex"));
        let templates = &*TEMPLATES;
        if let Some(q) = &self.query
            && let Err(e) = crate::jq::check(&templates.replace_all(&q.value, "null"))
        {
            out.push((format!("invalid jq query `{}`: {e}", q.value), Some(q)));
        }
        let mut seen = std::collections::HashSet::new();
        for f in self.flags() {
            for n in std::iter::once(&f.name).chain(&f.aliases) {
                if !seen.insert(n.clone()) {
                    out.push((format!("flag `--{n}` is declared twice"), None));
                }
            }
            if let Some(s) = &f.short
                && (s.chars().count() != 1 || !seen.insert(format!("-{s}")))
            {
                out.push((
                    format!(
                        "short form `{s}` of `--{}` must be one unique letter",
                        f.name
                    ),
                    None,
                ));
            }
        }
        out
    }
}
