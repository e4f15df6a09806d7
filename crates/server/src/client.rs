//! The command line as the server's client: `check --push URL` sends a run. The token
//! comes from `$SHIPCHECK_TOKEN`, never an argument (it would show in `ps` and shell
//! history); the server's certificate is checked against the system's roots or
//! `$SHIPCHECK_SERVER_CA`.

use std::time::Duration;

use shipcheck_core::outcome::Run;

use crate::model::Pushed;

/// The variable holding the token.
pub const TOKEN_ENV: &str = "SHIPCHECK_TOKEN";
/// A PEM file of the CA that signed the server's certificate, when not a public one.
pub const CA_ENV: &str = "SHIPCHECK_SERVER_CA";

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "{TOKEN_ENV} is not set: create a token with `shipcheck token create --name N --role pusher` on the server and export it"
    )]
    NoToken,
    #[error("`{0}` is not a server URL: use http://HOST:PORT or https://HOST:PORT")]
    BadUrl(String),
    #[error("{0}")]
    Setup(String),
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url} refused the run ({status}): {message}")]
    Refused {
        url: String,
        status: u16,
        message: String,
    },
}

/// Sends `run` to the server at `base`: its id and page there.
pub fn push(base: &str, run: &Run) -> Result<Pushed, ClientError> {
    let token = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or(ClientError::NoToken)?;
    let base = base.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(ClientError::BadUrl(base.into()));
    }
    let url = format!("{base}/api/v1/runs");
    shipcheck_net::install_crypto_provider();
    let ca = std::env::var_os(CA_ENV).map(std::path::PathBuf::from);
    let tls = shipcheck_net::client_config(ca.as_deref(), false).map_err(ClientError::Setup)?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shipcheck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError::Setup(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Setup(e.to_string()))?;
    runtime.block_on(async {
        let unreachable = |e: reqwest::Error| ClientError::Unreachable {
            url: url.clone(),
            message: e.without_url().to_string(),
        };
        let response = client
            .post(&url)
            .bearer_auth(token.trim())
            .json(run)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        // A bounded read: the answer is a small JSON document.
        let body = response.bytes().await.map_err(unreachable)?;
        let body = &body[..body.len().min(64 * 1024)];
        if status.is_success() {
            serde_json::from_slice::<Pushed>(body).map_err(|e| ClientError::Refused {
                url: url.clone(),
                status: status.as_u16(),
                message: format!("unexpected answer: {e}"),
            })
        } else {
            let message = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
            Err(ClientError::Refused {
                url: url.clone(),
                status: status.as_u16(),
                message,
            })
        }
    })
}
