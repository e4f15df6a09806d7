//! Probes observe a real deployment: one module per kind. A probe reads what it is told to
//! (a file, a config value, an env var, a command's output, free space) and returns an
//! [`Observation`]: the value matchers judge, what was read, and the probe's own findings.
//! A probe that cannot observe returns an error message: the item's result is `error`,
//! never `pass`.

pub mod archive;
pub mod args;
pub mod command;
pub mod config;
pub mod disk;
pub mod dns;
pub mod env;
pub mod file;
mod glob;
pub mod http;
pub mod postgres;
mod process;
pub mod tcp;
pub mod tls;

pub mod audit;
pub mod cert;
pub mod fuzzing;

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

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
    /// When the engine stops waiting for the item: a probe that reads for long (an archive)
    /// stops here and says so.
    pub deadline: Option<std::time::Instant>,
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

/// One cache table: values of type `T` by keys of type `K`.
type Table<K, T> = Mutex<HashMap<K, Arc<OnceLock<T>>>>;

/// Per-run caches: a config file read by ten items is parsed once, a TLS endpoint checked
/// by five items is scanned once. Keys are typed: each (key type, value type) pair has a
/// table of its own, so two probes can only share entries by sharing both types.
#[derive(Default)]
pub struct Cache {
    tables: Mutex<HashMap<(TypeId, TypeId), Arc<dyn Any + Send + Sync>>>,
}

impl Cache {
    /// Returns the cached value for `key`, computing it once with `make`. Concurrent
    /// callers with the same key wait for the first one.
    pub fn memo<K, T>(&self, key: K, make: impl FnOnce() -> T) -> T
    where
        K: Hash + Eq + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let table = {
            let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
            let any = tables
                .entry((TypeId::of::<K>(), TypeId::of::<T>()))
                .or_insert_with(|| Arc::new(Table::<K, T>::default()));
            Arc::clone(any)
        };
        let Some(table) = table.downcast_ref::<Table<K, T>>() else {
            unreachable!("cache tables are keyed by their key and value types")
        };
        let cell = {
            let mut map = table.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(key).or_default())
        };
        cell.get_or_init(make).clone()
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn cache_computes_each_typed_key_once() {
        let cache = Cache::default();
        let calls = AtomicUsize::new(0);
        let make = |v: u32| {
            calls.fetch_add(1, Ordering::SeqCst);
            v
        };
        assert_eq!(cache.memo("a".to_string(), || make(1)), 1);
        assert_eq!(cache.memo("a".to_string(), || make(2)), 1, "cached");
        assert_eq!(cache.memo("b".to_string(), || make(3)), 3);
        // The same key with another value type, or another key type, is another entry.
        assert_eq!(cache.memo("a".to_string(), || "text".to_string()), "text");
        assert_eq!(cache.memo(("a".to_string(), 0u8), || make(4)), 4);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn concurrent_callers_wait_for_the_first() {
        let cache = Arc::new(Cache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, calls) = (Arc::clone(&cache), Arc::clone(&calls));
                std::thread::spawn(move || {
                    cache.memo(7u64, || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        42u64
                    })
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 42);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
