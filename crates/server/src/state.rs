//! The state every handler shares: the ledger (behind a mutex, used from blocking
//! threads), the sessions, the rate limiter and the server's settings.

use std::sync::{Arc, Mutex};

use shipcheck_ledger::{Ledger, LedgerError};

use crate::error::ApiError;
use crate::limit::Limiter;
use crate::session::Sessions;

/// What the handlers share.
pub struct App {
    ledger: Arc<Mutex<Ledger>>,
    /// Served over TLS: cookies are `Secure` and HSTS is sent.
    pub tls: bool,
    /// Reading without a token is allowed (`--anonymous-read`).
    pub anonymous_read: bool,
    pub limiter: Limiter,
    pub sessions: Sessions,
    /// The Content-Security-Policy of every response.
    pub csp: String,
    /// The fleet overview's gates.
    pub gates: crate::fleet::GateCache,
    /// What `/metrics` counts.
    pub events: crate::metrics::Events,
    /// The scheduler's clock (deploys are stamped with it).
    pub clock: crate::clock::Clock,
}

impl App {
    pub fn new(
        ledger: Ledger,
        tls: bool,
        anonymous_read: bool,
        limiter: Limiter,
        session_ttl: std::time::Duration,
    ) -> App {
        App {
            ledger: Arc::new(Mutex::new(ledger)),
            tls,
            anonymous_read,
            limiter,
            sessions: Sessions::new(session_ttl),
            csp: crate::security::content_security_policy(),
            gates: crate::fleet::GateCache::default(),
            events: crate::metrics::Events::default(),
            clock: crate::clock::Clock::default(),
        }
    }

    /// Runs `f` on the ledger on a blocking thread (the stores block for their queries).
    pub async fn ledger<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ledger) -> Result<R, LedgerError> + Send + 'static,
    ) -> Result<R, ApiError> {
        self.ledger_api(move |l| f(l).map_err(ApiError::from)).await
    }

    /// [`App::ledger`] for work that fails with the API's errors (validation).
    pub async fn ledger_api<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ledger) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let ledger = Arc::clone(&self.ledger);
        let joined = tokio::task::spawn_blocking(move || {
            let mut guard = match ledger.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            f(&mut guard)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) => Err(ApiError::Internal(format!("a ledger task failed: {e}"))),
        }
    }
}
