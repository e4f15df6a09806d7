//! The server's typed errors, and how each becomes a response: a JSON body under `/api`,
//! a small page elsewhere. A ledger failure is logged and answered without its details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required: send `Authorization: Bearer TOKEN` or sign in")]
    Unauthorized,
    #[error("the token is unknown or revoked")]
    BadToken,
    #[error("the session expired or ended: sign in again")]
    SessionExpired,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("too many requests: retry later")]
    TooMany,
    #[error("{0}")]
    Internal(String),
    /// A body the extractor refused: too large (413), not JSON (415), malformed (400) or
    /// of the wrong shape (422).
    #[error("{1}")]
    Rejected(StatusCode, String),
    #[error("the ledger cannot be read or written")]
    Ledger(#[source] shipcheck_ledger::LedgerError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::BadToken | ApiError::SessionExpired => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Ledger(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Rejected(status, _) => *status,
        }
    }
}

impl From<shipcheck_ledger::LedgerError> for ApiError {
    fn from(e: shipcheck_ledger::LedgerError) -> Self {
        match e {
            shipcheck_ledger::LedgerError::NotFound(m) => ApiError::NotFound(m),
            other => {
                eprintln!("shipcheck serve: ledger error: {other}");
                ApiError::Ledger(other)
            }
        }
    }
}

/// The JSON body of an error.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    pub error: String,
    pub status: u16,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error: self.to_string(),
                status: status.as_u16(),
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"shipcheck\""),
            );
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}
