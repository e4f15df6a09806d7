//! What a probe saw: the value matchers judge, where it was read, and the probe's own
//! findings. Produced by the probes crate, judged by the engine, shown in every report.

use serde::Serialize;
use serde_json::Value;

/// What a probe saw.
#[derive(Clone, Debug, Serialize)]
pub struct Observation {
    /// The value matchers judge (a config value, an env var, stdout, file facts).
    pub value: Value,
    /// What was read, e.g. `file /etc/app/config.json` or `env API_TOKEN (process)`.
    pub source: String,
    /// The query or selector applied, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// File and 1-based line the value was read from, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<FileLocation>,
    /// Assertions the probe made itself (mode, owner, exit code...).
    pub findings: Vec<Finding>,
    /// The name or key read looks like a secret's (token, password, key...).
    #[serde(skip)]
    pub secret_hint: bool,
    /// Secret values the probe used (a bearer token, a database URL): scrubbed from output.
    #[serde(skip)]
    pub secrets: Vec<String>,
    /// The probe's own findings decide the result and the item's matchers are not applied
    /// (a program's known refusal: there is no output to judge).
    #[serde(skip)]
    pub settled: bool,
    /// Why `value` is only part of what was observed (output cut at a limit): the item's
    /// matchers cannot judge it, and the result is `error`.
    #[serde(skip)]
    pub incomplete: Option<String>,
}

impl Observation {
    pub fn new(value: Value, source: impl Into<String>) -> Self {
        Observation {
            value,
            source: source.into(),
            query: None,
            location: None,
            findings: Vec::new(),
            secret_hint: false,
            secrets: Vec::new(),
            settled: false,
            incomplete: None,
        }
    }
}

/// A file and line evidence was read from.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FileLocation {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// One expectation and whether it held.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct Finding {
    /// Held (`true`), did not hold (`false`).
    pub ok: bool,
    /// The expectation in words, e.g. `mode at most 0600`.
    pub expected: String,
    /// What was observed, already safe to print.
    pub observed: String,
}

impl Finding {
    pub fn new(ok: bool, expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Finding {
            ok,
            expected: expected.into(),
            observed: observed.into(),
        }
    }
}
