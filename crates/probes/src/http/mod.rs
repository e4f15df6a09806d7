//! `http` probe: one request with matchers (status, headers, body regex, jq on a JSON body),
//! or a named behaviour that takes several requests (redirect to https, HSTS, security
//! headers, CORS toward hostile origins, auth required, rate limiting). Every request is
//! bounded in time and in body bytes; a run shares one connection pool per TLS setting and
//! limits requests in flight per host.

pub mod behaviour;
pub mod hsts;
pub mod security_headers;

use shipcheck_core::spec::http::*;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::{Finding, Observation, ProbeCtx};

/// Requests in flight per host, across all items of a run.
pub const PER_HOST: usize = 4;
/// Default body bytes kept.
const MAX_BODY: u64 = 1024 * 1024;

/// Times an idempotent request is sent again after failing on a stale connection.
const STALE_RETRIES: u32 = 4;

/// Body bytes kept as evidence; a longer body is shown as its first bytes and its digest.
const EXCERPT: usize = 4096;

/// One exchange, as evidence.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Exchange {
    pub sent: String,
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// The body as evidence: parsed JSON or text when it is short, else its first 4 KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Body bytes read.
    #[serde(skip_serializing_if = "is_zero")]
    pub body_bytes: usize,
    /// SHA-256 of the body bytes read, when the evidence shows an excerpt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<String>,
    /// The body did not end within `max_body`: what was read is a prefix, not a body.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The whole body read (parsed JSON, else text), for judging; never stored.
    #[serde(skip)]
    pub full: Option<Value>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The per-host limit of requests in flight, shared by every item of a run (cache key).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct HostGate(pub String);

/// Settings of a request client; one client (and connection pool) per distinct setting.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct ClientKey {
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub follow: bool,
    pub resolve: Option<(String, SocketAddr)>,
    pub timeout: Duration,
}

/// Builds a client for `key`.
pub fn client(key: &ClientKey) -> Result<reqwest::Client, String> {
    client_pooling(key, PER_HOST)
}

/// Builds a client for `key` that keeps at most `idle` connections per host for reuse (none:
/// every request on a new connection).
fn client_pooling(key: &ClientKey, idle: usize) -> Result<reqwest::Client, String> {
    shipcheck_net::install_crypto_provider();
    let tls = shipcheck_net::client_config(key.ca_file.as_deref(), key.insecure)?;
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(if key.follow {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        })
        .connect_timeout(key.timeout)
        .timeout(key.timeout)
        .no_proxy()
        .pool_max_idle_per_host(idle)
        .user_agent(concat!("shipcheck/", env!("CARGO_PKG_VERSION")));
    if let Some((host, addr)) = &key.resolve {
        b = b.resolve(host, *addr);
    }
    b.build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// A request helper bound to one client, body limit and per-host gate.
pub struct Requester {
    pub client: reqwest::Client,
    /// The client's settings, for a client with no pool when every pooled connection failed.
    pub key: ClientKey,
    pub max_body: u64,
    pub gate: Arc<tokio::sync::Semaphore>,
    /// That client, made on the first need.
    pub fresh: std::sync::OnceLock<reqwest::Client>,
}

impl Requester {
    /// Sends one request and reads at most `max_body` bytes of the answer.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<String>,
    ) -> Result<Exchange, String> {
        let _permit = self.gate.acquire().await.map_err(|e| e.to_string())?;
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("`{method}` is not an HTTP method"))?;
        let build = |client: &reqwest::Client| {
            let mut req = client.request(method.clone(), url);
            for (k, v) in headers {
                req = req.header(k.as_str(), v.as_str());
            }
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            req
        };
        // A kept-alive connection the server closed in the meantime fails the request before
        // any answer, and the pool drops it: an idempotent request is sent again, on another
        // connection, a few times (every idle connection of the host may be stale), and
        // last on a new connection: while one request meets stale connections, the requests
        // beside it can return more to the pool.
        let idempotent = matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
        let stale = |e: &reqwest::Error| idempotent && e.is_request() && !e.is_timeout();
        let mut attempt = 0;
        let mut resp = loop {
            match build(&self.client).send().await {
                Ok(r) => break r,
                Err(e) if stale(&e) && attempt < STALE_RETRIES => attempt += 1,
                Err(e) if stale(&e) => {
                    let fresh = match self.fresh.get() {
                        Some(c) => c,
                        None => {
                            let c = client_pooling(&self.key, 0)?;
                            self.fresh.get_or_init(|| c)
                        }
                    };
                    break build(fresh).send().await.map_err(|e| describe(&e, url))?;
                }
                Err(e) => return Err(describe(&e, url)),
            }
        };
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .fold(
                BTreeMap::new(),
                |mut m: BTreeMap<String, String>, (k, v)| {
                    m.entry(k)
                        .and_modify(|e| {
                            e.push_str(", ");
                            e.push_str(&v);
                        })
                        .or_insert(v);
                    m
                },
            );
        let mut bytes = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e, url))? {
            let room = (self.max_body as usize).saturating_sub(bytes.len());
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if chunk.len() > room {
                truncated = true;
                break;
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let full = if text.is_empty() {
            None
        } else if truncated {
            Some(Value::String(text))
        } else {
            Some(serde_json::from_str(&text).unwrap_or(Value::String(text)))
        };
        let excerpted = truncated || bytes.len() > EXCERPT;
        let body = if excerpted {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT)]);
            Some(Value::String(format!(
                "{head}… ({}{} bytes{})",
                if truncated { "cut at " } else { "" },
                bytes.len(),
                if truncated {
                    ", the body did not end"
                } else {
                    ""
                }
            )))
        } else {
            full.clone()
        };
        Ok(Exchange {
            sent: format!("{method} {url}"),
            status,
            headers,
            body,
            body_bytes: bytes.len(),
            body_sha256: excerpted.then(|| shipcheck_core::hex::sha256(&bytes)),
            truncated,
            full,
        })
    }
}

fn describe(e: &reqwest::Error, url: &str) -> String {
    let mut msg = format!("{url}: ");
    if e.is_timeout() {
        msg.push_str("timed out");
    } else if e.is_connect() {
        msg.push_str("cannot connect");
    } else {
        msg.push_str("request failed");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

/// Runs `fut` on the run's runtime from a blocking probe thread (never from an async
/// task), or on a private runtime outside one.
pub fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output, String> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => Ok(h.block_on(fut)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(fut))
            .map_err(|e| format!("cannot start a runtime: {e}")),
    }
}

impl crate::Observe for HttpProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        observe_http(self, ctx).map_err(|e| {
            // A password in the URL (`https://user:pw@host/`) never shows, even in an error.
            let url = ctx.expand(&self.url).unwrap_or_default();
            match reqwest::Url::parse(&url)
                .ok()
                .and_then(|u| u.password().map(str::to_string))
            {
                Some(pw) if !pw.is_empty() => e.replace(&pw, "<secret>"),
                _ => e,
            }
        })
    }
}

/// Observes one item: the request or the behaviour.
fn observe_http(p: &HttpProbe, ctx: &ProbeCtx) -> Result<Observation, String> {
    let url = ctx.expand(&p.url)?;
    let parsed = reqwest::Url::parse(&url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| format!("`{url}` has no host"))?
        .to_string();
    let timeout = p.timeout.map_or(Duration::from_secs(10), |s| s.0);
    let resolve = ctx.optional_ip(p.address.as_ref())?.map(|ip| {
        (
            host.clone(),
            SocketAddr::new(ip, parsed.port_or_known_default().unwrap_or(443)),
        )
    });
    let key = ClientKey {
        ca_file: ctx.optional_path(p.ca_file.as_ref())?,
        insecure: p.insecure,
        follow: p.follow_redirects,
        resolve,
        timeout,
    };
    let client = ctx.cache.memo(key.clone(), || client(&key))?;
    let gate = ctx.cache.memo(HostGate(host.clone()), || {
        Arc::new(tokio::sync::Semaphore::new(PER_HOST))
    });
    let req = Requester {
        client,
        key,
        max_body: p.max_body.map_or(MAX_BODY, |s| s.0),
        gate,
        fresh: std::sync::OnceLock::new(),
    };
    // A header whose template expands to nothing is not sent (an endpoint's unset
    // `host_header` or `user_agent`).
    let mut headers: Vec<(String, String)> = p
        .headers
        .iter()
        .map(|(k, v)| Ok((k.clone(), ctx.expand(v)?)))
        .filter(|h: &Result<(String, String), String>| {
            h.as_ref().map_or(true, |(_, v)| !v.is_empty())
        })
        .collect::<Result<_, String>>()?;
    let mut secrets = Vec::new();
    // A password in the URL (`https://user:pw@host/`) is a secret wherever the URL shows.
    if let Some(pw) = parsed.password() {
        secrets.push(pw.to_string());
    }
    if let Some(t) = &p.bearer_token {
        let token = ctx.expand(t)?;
        secrets.push(token.clone());
        headers.push(("authorization".into(), format!("Bearer {token}")));
    }
    let body = p.body.as_ref().map(|b| ctx.expand(b)).transpose()?;
    let method = p.method.as_ref().map_or("GET", |m| m.value.as_str());
    let mut obs = match &p.behaviour {
        None => {
            let ex = block_on(req.send(method, &url, &headers, body))??;
            let mut obs = Observation::new(
                serde_json::to_value(&ex).unwrap_or_default(),
                format!("http {method} {url}"),
            );
            p.judge_exchange(&ex, &mut obs.findings)?;
            obs
        }
        Some(b) => {
            let (value, findings) = block_on(behaviour::for_item(
                b,
                &req,
                &url,
                &parsed,
                &headers,
                ctx,
                &mut secrets,
            ))??;
            let mut obs = Observation::new(value, format!("http {url} ({})", behaviour::name(b)));
            obs.findings = findings;
            obs
        }
    };
    obs.secrets = secrets;
    Ok(obs)
}

/// Judging one exchange against the item's single-request expectations.
trait JudgeExchange {
    fn judge_exchange(&self, ex: &Exchange, out: &mut Vec<Finding>) -> Result<(), String>;
}

impl JudgeExchange for HttpProbe {
    fn judge_exchange(&self, ex: &Exchange, out: &mut Vec<Finding>) -> Result<(), String> {
        if ex.truncated {
            // What was read is a prefix: only a body match found in it can be judged.
            let found_before_cut = match (&self.body_matches, &ex.full) {
                (Some(re), Some(Value::String(prefix))) if self.json.is_none() => {
                    shipcheck_core::pattern::compile(&re.value).is_ok_and(|rx| rx.is_match(prefix))
                }
                _ => false,
            };
            if !found_before_cut {
                return Err(format!(
                    "the answer's body did not end within {} bytes (`max_body`): an incomplete answer is not judged",
                    ex.body_bytes
                ));
            }
        }
        if !self.status.is_empty() {
            let want: Vec<String> = self.status.iter().map(u16::to_string).collect();
            out.push(Finding::new(
                self.status.contains(&ex.status),
                format!("status {}", want.join(" or ")),
                ex.status.to_string(),
            ));
        }
        for h in &self.headers_present {
            let v = ex.headers.get(&h.to_ascii_lowercase());
            out.push(Finding::new(
                v.is_some(),
                format!("header {h} present"),
                v.map_or("absent".into(), |v| format!("{h}: {v}")),
            ));
        }
        for h in &self.headers_absent {
            let v = ex.headers.get(&h.to_ascii_lowercase());
            out.push(Finding::new(
                v.is_none(),
                format!("header {h} absent"),
                v.map_or("absent".into(), |v| format!("{h}: {v}")),
            ));
        }
        for (h, re) in &self.header_matches {
            let rx = shipcheck_core::pattern::compile(&re.value).map_err(|e| e.to_string())?;
            let v = ex.headers.get(&h.to_ascii_lowercase());
            out.push(Finding::new(
                v.is_some_and(|v| rx.is_match(v)),
                format!("header {h} matches /{}/", re.value),
                v.map_or("absent".into(), |v| format!("{h}: {v}")),
            ));
        }
        if let Some(re) = &self.body_matches {
            let rx = shipcheck_core::pattern::compile(&re.value).map_err(|e| e.to_string())?;
            let text = match &ex.full {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            out.push(Finding::new(
                rx.is_match(&text),
                format!("body matches /{}/", re.value),
                if rx.is_match(&text) {
                    "matches"
                } else {
                    "no match"
                },
            ));
        }
        if let Some(q) = &self.json {
            match &ex.full {
                Some(v @ (Value::Object(_) | Value::Array(_))) => {
                    let holds = shipcheck_core::jq::holds(&q.value, v)?;
                    out.push(Finding::new(
                        holds,
                        format!("JSON body: `{}`", q.value),
                        shipcheck_core::matcher::show(v, false),
                    ));
                }
                other => out.push(Finding::new(
                    false,
                    format!("JSON body: `{}`", q.value),
                    format!(
                        "not JSON: {}",
                        shipcheck_core::matcher::show(
                            other.as_ref().unwrap_or(&Value::Null),
                            false
                        )
                    ),
                )),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    /// A server that answers the first request of each connection and closes it, unanswered,
    /// when the next arrives: each kept-alive connection is stale once used. Returns its port.
    fn stale_server() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in listener.incoming().take(32) {
                let Ok(mut conn) = conn else { continue };
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let _ = conn.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
                    );
                    let _ = reader.read_line(&mut line);
                });
            }
        });
        port
    }

    /// More stale connections in the pool than the retries: the last attempt goes on a new
    /// connection, so the request is answered, never "connection closed".
    #[test]
    fn a_request_after_every_pooled_connection_went_stale_is_answered() {
        let url = format!("http://127.0.0.1:{}/", stale_server());
        let key = ClientKey {
            ca_file: None,
            insecure: false,
            follow: false,
            resolve: None,
            timeout: Duration::from_secs(5),
        };
        let pooled = 2 * STALE_RETRIES as usize;
        let req = Arc::new(Requester {
            client: client_pooling(&key, pooled).unwrap(),
            key,
            max_body: 1024,
            gate: Arc::new(tokio::sync::Semaphore::new(pooled)),
            fresh: std::sync::OnceLock::new(),
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // `pooled` requests at once: each on a connection of its own, all kept idle.
            let mut first = tokio::task::JoinSet::new();
            for _ in 0..pooled {
                let (req, url) = (Arc::clone(&req), url.clone());
                first
                    .spawn(async move { req.send("GET", &url, &[], None).await.map(|x| x.status) });
            }
            while let Some(done) = first.join_next().await {
                assert_eq!(done.unwrap(), Ok(200));
            }
            let next = req.send("GET", &url, &[], None).await;
            assert_eq!(next.map(|x| x.status), Ok(200));
            assert!(req.fresh.get().is_some(), "the pooled retries were enough");
        });
    }
}
