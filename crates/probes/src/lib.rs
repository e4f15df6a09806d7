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

pub mod audit;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use shipcheck_core::pack::Text;
use shipcheck_core::spec::ProbeRef;
use shipcheck_core::template::Scope;

pub use shipcheck_core::bounded::{MAX_FILE_BYTES, read_bounded};
pub use shipcheck_core::observation::{FileLocation, Finding, Observation};
pub use shipcheck_core::redact::looks_secret;

/// What each probe kind does at run time: observe the deployment. Blocking: the engine runs
/// it on a worker thread. A probe that cannot observe returns why; the item is `error`.
pub trait Observe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String>;
}

macro_rules! define_observe {
    ($( $(#[doc = $doc:literal])* $field:ident: $variant:ident => $ty:ty, )*) => {
        /// Observes with the probe a check names.
        pub fn observe(probe: ProbeRef<'_>, ctx: &ProbeCtx) -> Result<Observation, String> {
            match probe {
                $( ProbeRef::$variant(p) => Observe::observe(p, ctx), )*
            }
        }
    };
}
shipcheck_core::for_each_probe!(define_observe);

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
                    .then(|| shipcheck_core::template::resolve_path(&v, &self.base_dir)))
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

impl ProbeCtx {
    /// Expands a port field and parses it.
    pub fn port(&self, text: &Text) -> Result<u16, String> {
        let v = self.expand(text)?;
        v.trim()
            .parse()
            .map_err(|_| format!("`{v}` is not a port number (1-65535)"))
    }
}
