//! Probes observe a real deployment: one module per kind. A probe reads what it is told to
//! (a file, a config value, an env var, a command's output, free space) and returns an
//! [`Observation`]: the value matchers judge, what was read, and the probe's own findings.
//! A probe that cannot observe returns an error message: the item's result is `error`,
//! never `pass`.

pub mod args;
pub mod command;
pub mod config;
pub mod disk;
pub mod dns;
pub mod env;
pub mod file;
pub mod http;
pub mod postgres;
pub mod tcp;
pub mod tls;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

use crate::pack::Text;
use crate::template::Scope;

/// Names of the probe kinds, as written in a pack's `check:`.
pub const KINDS: &[&str] = &[
    "file", "config", "env", "args", "command", "disk", "http", "tls", "tcp", "dns", "postgres",
];

/// The one probe a check names.
#[derive(Clone, Copy, Debug)]
pub enum ProbeRef<'a> {
    File(&'a file::FileProbe),
    Config(&'a config::ConfigProbe),
    Env(&'a env::EnvProbe),
    Args(&'a args::ArgsProbe),
    Command(&'a command::CommandProbe),
    Disk(&'a disk::DiskProbe),
    Http(&'a http::HttpProbe),
    Tls(&'a tls::TlsProbe),
    Tcp(&'a tcp::TcpProbe),
    Dns(&'a dns::DnsProbe),
    Postgres(&'a postgres::PostgresProbe),
}

impl ProbeRef<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeRef::File(_) => "file",
            ProbeRef::Config(_) => "config",
            ProbeRef::Env(_) => "env",
            ProbeRef::Args(_) => "args",
            ProbeRef::Command(_) => "command",
            ProbeRef::Disk(_) => "disk",
            ProbeRef::Http(_) => "http",
            ProbeRef::Tls(_) => "tls",
            ProbeRef::Tcp(_) => "tcp",
            ProbeRef::Dns(_) => "dns",
            ProbeRef::Postgres(_) => "postgres",
        }
    }

    /// Every templated string of the probe, so loading can check its `${...}` references.
    pub fn templates(&self) -> Vec<&Text> {
        match self {
            ProbeRef::File(p) => p.templates(),
            ProbeRef::Config(p) => p.templates(),
            ProbeRef::Env(p) => p.templates(),
            ProbeRef::Args(p) => p.templates(),
            ProbeRef::Command(p) => p.templates(),
            ProbeRef::Disk(p) => p.templates(),
            ProbeRef::Http(p) => p.templates(),
            ProbeRef::Tls(p) => p.templates(),
            ProbeRef::Tcp(p) => p.templates(),
            ProbeRef::Dns(p) => p.templates(),
            ProbeRef::Postgres(p) => p.templates(),
        }
    }

    /// Static problems (bad regex, bad jq, bad mode), each with the field it is about.
    pub fn validate(&self) -> Vec<(String, Option<&Text>)> {
        match self {
            ProbeRef::File(p) => p.validate(),
            ProbeRef::Config(p) => p.validate(),
            ProbeRef::Args(p) => p.validate(),
            ProbeRef::Env(_)
            | ProbeRef::Disk(_)
            | ProbeRef::Tls(_)
            | ProbeRef::Tcp(_)
            | ProbeRef::Dns(_) => Vec::new(),
            ProbeRef::Command(p) => p.validate(),
            ProbeRef::Http(p) => p.validate(),
            ProbeRef::Postgres(p) => p.validate(),
        }
    }

    /// Observes the deployment. Blocking: the engine runs it on a worker thread.
    pub fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        match self {
            ProbeRef::File(p) => p.observe(ctx),
            ProbeRef::Config(p) => p.observe(ctx),
            ProbeRef::Env(p) => p.observe(ctx),
            ProbeRef::Args(p) => p.observe(ctx),
            ProbeRef::Command(p) => p.observe(ctx),
            ProbeRef::Disk(p) => p.observe(ctx),
            ProbeRef::Http(p) => p.observe(ctx),
            ProbeRef::Tls(p) => p.observe(ctx),
            ProbeRef::Tcp(p) => p.observe(ctx),
            ProbeRef::Dns(p) => p.observe(ctx),
            ProbeRef::Postgres(p) => p.observe(ctx),
        }
    }
}

/// What a probe needs from the run: variable values, the folder relative paths start
/// from, and caches shared by all items of the run.
pub struct ProbeCtx {
    pub vars: Arc<BTreeMap<String, String>>,
    pub base_dir: PathBuf,
    pub cache: Arc<Cache>,
}

impl ProbeCtx {
    pub fn scope(&self) -> Scope<'_> {
        Scope { vars: &self.vars }
    }

    /// Expands a templated string.
    pub fn expand(&self, text: &Text) -> Result<String, String> {
        self.scope().expand(&text.value)
    }

    /// An optional path: unset, or a template that expands to an empty string, is `None`
    /// (so a pack variable defaulting to "" can mean "not used").
    pub fn optional_path(&self, text: Option<&Text>) -> Result<Option<PathBuf>, String> {
        match text {
            Some(t) => {
                let v = self.expand(t)?;
                Ok((!v.trim().is_empty())
                    .then(|| crate::template::resolve_path(&v, &self.base_dir)))
            }
            None => Ok(None),
        }
    }

    /// An optional IP address: unset or empty is `None`.
    pub fn optional_ip(&self, text: Option<&Text>) -> Result<Option<std::net::IpAddr>, String> {
        match text {
            Some(t) => {
                let v = self.expand(t)?;
                let v = v.trim();
                if v.is_empty() {
                    return Ok(None);
                }
                v.parse()
                    .map(Some)
                    .map_err(|_| format!("`{v}` is not an IP address"))
            }
            None => Ok(None),
        }
    }

    /// Expands a templated path and makes it absolute.
    pub fn path(&self, text: &Text) -> Result<PathBuf, String> {
        self.scope().expand_path(&text.value, &self.base_dir)
    }
}

type Slot = Arc<std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>>;

/// Per-run caches: a config file read by ten items is parsed once, a TLS endpoint checked
/// by five items is scanned once.
#[derive(Default)]
pub struct Cache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl Cache {
    /// Returns the cached value for `key`, computing it once with `make`. Concurrent
    /// callers with the same key wait for the first one.
    pub fn memo<T: Clone + Send + Sync + 'static>(
        &self,
        key: String,
        make: impl FnOnce() -> T,
    ) -> T {
        // The type is part of the key, so a slot only ever holds a `T`.
        let key = format!("{:?}\0{key}", std::any::TypeId::of::<T>());
        let cell = {
            let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(key).or_default())
        };
        let value = cell.get_or_init(|| Box::new(make()));
        value
            .downcast_ref::<T>()
            .cloned()
            .expect("cache slots are keyed by type")
    }

    /// A parsed config document, read once per run.
    pub fn document(
        &self,
        key: String,
        load: impl FnOnce() -> Result<config::Document, String>,
    ) -> Result<config::Document, String> {
        self.memo(format!("config\0{key}"), load)
    }
}

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

/// Schema of a port: a number, or a `${var}` template that expands to one.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum PortSchema {
    Number(u16),
    Template(String),
}

impl ProbeCtx {
    /// Expands a port field and parses it.
    pub fn port(&self, text: &Text) -> Result<u16, String> {
        let v = self.expand(text)?;
        v.trim()
            .parse()
            .map_err(|_| format!("`{v}` is not a port number (1-65535)"))
    }
}

/// Whether a key or variable name looks like it holds a secret.
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "apikey",
        "api_key",
        "api-key",
        "private_key",
        "privatekey",
        "credential",
        "signing_key",
        "encryption_key",
        "database_url",
        "dsn",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Reads at most `limit` bytes of a file, saying so if it is larger.
pub fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if buf.len() as u64 > limit {
        return Err(format!(
            "{} is larger than {} bytes; shipcheck does not read it",
            path.display(),
            limit
        ));
    }
    Ok(buf)
}

/// Largest file a probe reads: config files and content checks.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[cfg(test)]
mod tests {
    #[test]
    fn secret_names() {
        assert!(super::looks_secret("SECURECLAW_GATEWAY_TOKEN"));
        assert!(super::looks_secret(".gateway.auth.password"));
        assert!(!super::looks_secret("NODE_ENV"));
    }
}
