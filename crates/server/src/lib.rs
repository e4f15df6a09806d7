//! `shipcheck serve`: a dashboard and a JSON API over the ledger, for a team and a fleet of
//! deployments. One process, the same ledger as the command line (SQLite, or PostgreSQL
//! for several replicas), no outside account.
//!
//! Layers inside: [`state`] (what handlers share), [`auth`] and [`session`] (tokens,
//! cookies, CSRF), [`limit`] (rate limits), [`fleet`] (indexed reads), [`api`] and
//! [`openapi`] (JSON), [`pages`] and [`forms`] (HTML), [`listen`] (TCP/TLS), [`client`] (the command
//! line's side: `check --push`).

pub mod api;
pub mod auth;
pub mod caller;
pub mod client;
pub mod clock;
pub mod drift;
pub mod error;
pub mod fleet;
pub mod forms;
pub mod limit;
pub mod listen;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod pages;
pub mod scheduler;
pub mod security;
pub mod session;
pub mod state;
pub mod statements;
pub mod tokens;
pub mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::limit::{Class, Limiter, Rate};
use crate::listen::Peer;
use crate::state::App;

/// The largest request body accepted (a pushed run of many items fits).
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// The longest a request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How to serve.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub ledger: shipcheck_ledger::Location,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub anonymous_read: bool,
    pub rate: Rate,
    pub sign_in_rate: Rate,
    pub max_body: usize,
    /// How long a browser session lasts.
    pub session_ttl: Duration,
    /// The scheduler (no watched profile: none runs).
    pub scheduler: scheduler::Settings,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Ledger(#[from] shipcheck_ledger::LedgerError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// The whole application: pages, API, health, behind the limits and security headers.
pub fn router(app: Arc<App>, max_body: usize) -> axum::Router {
    axum::Router::new()
        .route("/", get(pages::fleet_page))
        .route("/deployments/{deployment}", get(pages::deployment_page))
        .route("/deployments/{deployment}/diff", get(pages::diff_page))
        .route("/deployments/{deployment}/attest", post(forms::attest_form))
        .route(
            "/deployments/{deployment}/signoff",
            post(forms::signoff_form),
        )
        .route("/deployments/{deployment}/waive", post(forms::waive_form))
        .route("/runs/{id}", get(pages::run_page))
        .route("/signin", get(pages::signin_page).post(pages::signin))
        .route("/signout", post(pages::signout))
        .route("/static/app.css", get(pages::stylesheet))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .merge(api::router())
        .fallback(|| async { ApiError::NotFound("no such page or endpoint".into()) })
        .layer(middleware::from_fn_with_state(Arc::clone(&app), guard))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

/// Every request: the rate limit of its class, a time limit, and the security headers on
/// the response.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let class = if path == "/signin" && req.method() == axum::http::Method::POST {
        Some(Class::SignIn)
    } else if path == "/healthz" || path == "/readyz" {
        None
    } else if path.starts_with("/api/") {
        Some(Class::Api)
    } else {
        Some(Class::Page)
    };
    let ip = req.extensions().get::<Peer>().map(|p| p.0.ip());
    let mut response = match (class, ip) {
        (Some(class), Some(ip)) if !app.limiter.allow(ip, class, Instant::now()) => {
            ApiError::TooMany.into_response()
        }
        _ => match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
            Ok(r) => r,
            Err(_) => (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "the request took too long",
            )
                .into_response(),
        },
    };
    let has_cache_control = response.headers().contains_key(header::CACHE_CONTROL);
    let h = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &app.csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "no-referrer");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    if app.tls {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    if !has_cache_control {
        set(header::CACHE_CONTROL, "no-store");
    }
    response
}

/// Opens the ledger, binds, calls `ready` with the bound address, and serves until the
/// process ends.
pub fn serve(config: Config, ready: impl FnOnce(SocketAddr, bool)) -> Result<(), ServeError> {
    let ledger = shipcheck_ledger::Ledger::open(config.ledger.clone())?;
    shipcheck_net::install_crypto_provider();
    let tls = match &config.tls {
        Some((cert, key)) => Some(listen::tls_acceptor(cert, key).map_err(ServeError::Tls)?),
        None => None,
    };
    let mut app = App::new(
        ledger,
        tls.is_some(),
        config.anonymous_read,
        Limiter::new(config.rate, config.sign_in_rate),
        config.session_ttl,
    );
    app.clock = clock::Clock::from_env().map_err(ServeError::Config)?;
    let app = Arc::new(app);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: config.listen,
                source,
            })?;
        scheduler::start(Arc::clone(&app), config.scheduler.clone()).map_err(ServeError::Config)?;
        ready(listener.local_addr()?, tls.is_some());
        listen::serve(listener, tls, router(app, config.max_body)).await?;
        Ok(())
    })
}
