//! Who is asking: a bearer token (`Authorization: Bearer TOKEN`) or a session cookie, both
//! checked against the ledger's live tokens on every request, so a revoked token stops at
//! once, its sessions too.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use shipcheck_core::account::Token;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::session::{COOKIE, same_secret};
use crate::state::App;

/// A reader: a caller, or nobody when anonymous reading is on.
pub struct Reader(pub Option<Caller>);

/// SHA-256 of a token's secret, hex: what the ledger stores.
pub fn digest(secret: &str) -> String {
    shipcheck_core::hex::sha256(secret.as_bytes())
}

/// A new token's secret: `shck_` and 64 hex digits from the system's generator.
pub fn new_secret() -> Result<String, ApiError> {
    Ok(format!("shck_{}", crate::session::random_hex()?))
}

async fn live_token(app: &App, sha256: String) -> Result<Option<Token>, ApiError> {
    let tokens = app.ledger(|l| l.tokens()).await?;
    Ok(tokens.into_iter().find(|t| same_secret(&t.sha256, &sha256)))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn identify(parts: &Parts, app: &App) -> Result<Option<Caller>, ApiError> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::BadRequest("the Authorization header must be `Bearer TOKEN`".into())
            })?;
        let token = live_token(app, digest(secret))
            .await?
            .ok_or(ApiError::BadToken)?;
        return Ok(Some(Caller {
            name: token.name,
            role: token.role,
            session: None,
        }));
    }
    let Some(id) = cookie(parts, COOKIE) else {
        return Ok(None);
    };
    let session = app
        .sessions
        .get(id, Instant::now())
        .ok_or(ApiError::SessionExpired)?;
    let Some(token) = live_token(app, session.token_sha256).await? else {
        app.sessions.end(id);
        return Err(ApiError::BadToken);
    };
    Ok(Some(Caller {
        name: token.name,
        role: token.role,
        session: Some((id.to_string(), session.csrf)),
    }))
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        identify(parts, app).await?.ok_or(ApiError::Unauthorized)
    }
}

impl FromRequestParts<Arc<App>> for Reader {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        match identify(parts, app).await? {
            Some(c) => Ok(Reader(Some(c))),
            None if app.anonymous_read => Ok(Reader(None)),
            None => Err(ApiError::Unauthorized),
        }
    }
}
