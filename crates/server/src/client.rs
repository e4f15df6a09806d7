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
    #[error("{url} refused it ({status}): {message}")]
    Refused {
        url: String,
        status: u16,
        message: String,
    },
}

/// `base` for a message: everything before an `@` in its authority is dropped.
pub fn shown_base(base: &str) -> String {
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{tail}")
        }
        None => base.rsplit_once('@').map_or(base, |(_, h)| h).to_string(),
    }
}

/// The largest evidence file sent to a server: its base64 in a JSON body stays within the
/// server's body limit ([`crate::MAX_BODY`]).
pub const MAX_EVIDENCE: u64 = (crate::MAX_BODY as u64 / 4 * 3) - 64 * 1024;

/// An attestation's `evidence_file`: the file at `path`, named by its file name, in base64.
pub fn evidence_file(path: &std::path::Path) -> Result<serde_json::Value, ClientError> {
    use base64::Engine;
    let mib = |n: u64| format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0));
    let data = shipcheck_core::bounded::read_bounded(path, MAX_EVIDENCE).map_err(|e| match e {
        shipcheck_core::bounded::ReadError::TooLarge { .. } => ClientError::Setup(format!(
            "evidence file {} is larger than a server takes ({}): store it elsewhere and give a link",
            path.display(),
            mib(MAX_EVIDENCE)
        )),
        other => ClientError::Setup(format!("evidence: {other}")),
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(serde_json::json!({
        "name": name,
        "content_base64": base64::engine::general_purpose::STANDARD.encode(&data),
    }))
}

/// Sends `run` to the server at `base`: its id and page there.
pub fn push(base: &str, run: &Run) -> Result<Pushed, ClientError> {
    let answer = post(base, "/api/v1/runs", run)?;
    serde_json::from_value(answer).map_err(|e| ClientError::Refused {
        url: shown_base(base),
        status: 200,
        message: format!("unexpected answer: {e}"),
    })
}

/// Posts `body` as JSON to `path` on the server at `base`, with the token of
/// `$SHIPCHECK_TOKEN`: the JSON answer, or why it failed (the server's own words).
pub fn post<T: serde::Serialize>(
    base: &str,
    path: &str,
    body: &T,
) -> Result<serde_json::Value, ClientError> {
    send(base, path, Some(body))
}

/// Gets the JSON at `path` (with its query) on the server at `base`, as [`post`] does.
pub fn get(base: &str, path: &str) -> Result<serde_json::Value, ClientError> {
    send::<()>(base, path, None)
}

/// A POST of `body` (or a GET, without one) with the token of `$SHIPCHECK_TOKEN`.
fn send<T: serde::Serialize>(
    base: &str,
    path: &str,
    body: Option<&T>,
) -> Result<serde_json::Value, ClientError> {
    let token = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or(ClientError::NoToken)?;
    let base = base.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(ClientError::BadUrl(shown_base(base)));
    }
    let url = format!("{base}{path}");
    // Messages name the URL without any user and password it carries.
    let shown = reqwest::Url::parse(&url)
        .map(|mut u| {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        })
        .map_err(|_| ClientError::BadUrl(shown_base(base)))?;
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
            url: shown.clone(),
            message: e.without_url().to_string(),
        };
        let request = match body {
            Some(body) => client.post(&url).json(body),
            None => client.get(&url),
        };
        let response = request
            .bearer_auth(token.trim())
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        // The answer is a small JSON document; a longer one is cut for the message.
        let body = &body[..body.len().min(64 * 1024)];
        let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
        if status.is_success() {
            parsed.ok_or_else(|| ClientError::Refused {
                url: shown.clone(),
                status: status.as_u16(),
                message: "the answer is not JSON".into(),
            })
        } else {
            let message = parsed
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
            Err(ClientError::Refused {
                url: shown.clone(),
                status: status.as_u16(),
                message,
            })
        }
    })
}
