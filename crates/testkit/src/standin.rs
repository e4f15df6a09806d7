//! A loopback stand-in for a deployed service: the HTTP(S) behaviour a pack's live items
//! observe (health bodies, security headers, HSTS, CORS, bearer auth, rate limits, host and
//! origin checks, plain-HTTP redirects), driven by a JSON spec kept beside each fixture
//! deployment. Used in-process by the tests and as the `standin` binary of this crate by the
//! demo. The real services (Node, Go, the CLASP relay) do not run on the test machine.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The whole spec: one certificate authority and some listeners.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Names the TLS certificate is issued for.
    #[serde(default)]
    pub tls_names: Vec<String>,
    /// Validity of the certificate in days from now: [from, to].
    #[serde(default = "validity")]
    pub tls_valid_days: (i64, i64),
    pub listeners: Vec<Listener>,
}

fn validity() -> (i64, i64) {
    (-1, 90)
}

/// One port and how it behaves.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// Name, for `STANDIN_PORT_<NAME>`.
    pub name: String,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub tls: bool,
    /// Redirect every request to this base URL + path (301); `{NAME}` is the port of
    /// listener NAME.
    #[serde(default)]
    pub redirect_to: Option<String>,
    /// Answer a WebSocket upgrade request with 101.
    #[serde(default)]
    pub websocket: bool,
    /// Do not serve: report a port where nothing listens (bound, then released), for
    /// checks that a port is closed.
    #[serde(default)]
    pub closed: bool,
    /// Headers on every response.
    #[serde(default)]
    pub headers: HashMap<String, String>,
    /// Only this Host (or localhost/127.0.0.1) is served; others get 400 `invalid host`.
    #[serde(default)]
    pub required_host: Option<String>,
    /// A foreign `Origin` gets 400 `invalid origin` (Rack Gateway's origin check).
    #[serde(default)]
    pub reject_foreign_origin: Option<String>,
    /// Origins CORS allows; `*` reflects any origin (a defect).
    #[serde(default)]
    pub cors_allow: Vec<String>,
    /// Path prefixes behind a rate limiter, and the burst allowed per 10 s.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Answer for paths no route matches (default 404).
    #[serde(default)]
    pub fallback: Option<Route>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub prefixes: Vec<String>,
    pub burst: u32,
}

/// A path and its answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    #[serde(default)]
    pub path: String,
    /// Match every path under `path`.
    #[serde(default)]
    pub prefix: bool,
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub json: Option<Value>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub headers: HashMap<String, String>,
    /// Requests need `Authorization: Bearer <token>`, else 401.
    #[serde(default)]
    pub bearer: Option<String>,
}

fn ok() -> u16 {
    200
}

/// A running stand-in: ports by listener name, the CA to trust; stops when dropped.
pub struct Standin {
    pub ports: HashMap<String, u16>,
    pub ca_pem: String,
    /// Connections accepted so far, on every listener.
    pub connections: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl Standin {
    /// `STANDIN_PORT_<NAME>` and `STANDIN_CA` for a shipcheck run, with the CA written to `dir`.
    pub fn env(&self, dir: &Path) -> Vec<(String, String)> {
        let ca = dir.join("standin-ca.pem");
        std::fs::write(&ca, &self.ca_pem).expect("write CA");
        let mut out: Vec<(String, String)> = self
            .ports
            .iter()
            .map(|(n, p)| {
                (
                    format!("STANDIN_PORT_{}", n.to_ascii_uppercase().replace('-', "_")),
                    p.to_string(),
                )
            })
            .collect();
        out.push(("STANDIN_CA".into(), ca.display().to_string()));
        out.sort();
        out
    }
}

/// Reads a spec file.
pub fn load(path: &Path) -> Result<Spec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

struct Shared {
    listener: Listener,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Starts every listener of `spec` on 127.0.0.1.
pub fn start(spec: Spec) -> Result<Standin, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (acceptor, ca_pem) = tls(&spec)?;
    let mut ports = HashMap::new();
    let mut bound = Vec::new();
    let connections = Arc::new(AtomicUsize::new(0));
    for listener in spec.listeners {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", listener.port))
            .map_err(|e| format!("listener {}: bind: {e}", listener.name))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        let port = std_listener.local_addr().map_err(|e| e.to_string())?.port();
        ports.insert(listener.name.clone(), port);
        bound.push((listener, std_listener));
    }
    // Released last, so no other listener of this spec can take the port.
    let (closed, bound): (Vec<_>, Vec<_>) = bound.into_iter().partition(|(l, _)| l.closed);
    drop(closed);
    for (mut listener, std_listener) in bound {
        if let Some(to) = &mut listener.redirect_to {
            for (name, port) in &ports {
                *to = to.replace(&format!("{{{name}}}"), &port.to_string());
            }
        }
        let tls = listener.tls.then(|| acceptor.clone());
        let shared = Arc::new(Shared {
            listener,
            hits: Mutex::default(),
        });
        let accepted = Arc::clone(&connections);
        runtime.spawn(async move {
            let Ok(l) = TcpListener::from_std(std_listener) else {
                return;
            };
            loop {
                let Ok((sock, _)) = l.accept().await else {
                    continue;
                };
                let shared = Arc::clone(&shared);
                let tls = tls.clone();
                accepted.fetch_add(1, Ordering::Relaxed);
                // As hyper's servers and nginx do on kept-alive connections: an answer
                // written in pieces (a TLS record after another) is not held back for
                // the client's delayed ACK (40 ms a request).
                let _ = sock.set_nodelay(true);
                tokio::spawn(async move {
                    match tls {
                        Some(acc) => {
                            let accepted =
                                tokio::time::timeout(Duration::from_secs(10), acc.accept(sock));
                            if let Ok(Ok(s)) = accepted.await {
                                serve(s, &shared).await;
                            }
                        }
                        None => serve(sock, &shared).await,
                    }
                });
            }
        });
    }
    Ok(Standin {
        ports,
        ca_pem,
        connections,
        _runtime: runtime,
    })
}

fn tls(spec: &Spec) -> Result<(tokio_rustls::TlsAcceptor, String), String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let day = |d: i64| time::OffsetDateTime::now_utc() + time::Duration::days(d);
    let ca_key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "shipcheck stand-in CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.not_before = day(-2);
    ca_params.not_after = day(365);
    let ca = ca_params.self_signed(&ca_key).map_err(|e| e.to_string())?;
    let names = if spec.tls_names.is_empty() {
        vec!["localhost".to_string()]
    } else {
        spec.tls_names.clone()
    };
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = CertificateParams::new(names.clone()).map_err(|e| e.to_string())?;
    params
        .distinguished_name
        .push(DnType::CommonName, &names[0]);
    params.not_before = day(spec.tls_valid_days.0);
    params.not_after = day(spec.tls_valid_days.1);
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf = params.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .map_err(|e| e.to_string())?;
    Ok((tokio_rustls::TlsAcceptor::from(Arc::new(config)), ca.pem()))
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    /// The client asked to close the connection after this answer (`Connection: close`,
    /// HTTP/1.0), or sent a body this stand-in cannot frame (chunked).
    close: bool,
}

/// Bytes of a request head or body this stand-in reads at most.
const MAX_REQUEST: usize = 64 * 1024;

/// How long a kept-alive connection may wait for its next request.
const IDLE: Duration = Duration::from_secs(30);

/// Reads the next request of a connection into `buf` (which keeps the bytes read past it,
/// for the next one); `None` at the end of the connection or on a request it cannot read.
async fn read_request<S: AsyncReadExt + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Option<Request> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > MAX_REQUEST {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?;
    let version = first.next().unwrap_or("HTTP/1.0");
    let path = target.split('?').next().unwrap_or("/").to_string();
    let headers: HashMap<String, String> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let connection = headers.get("connection").map(|c| c.to_ascii_lowercase());
    let close = connection.as_deref().is_some_and(|c| c.contains("close"))
        || (version == "HTTP/1.0" && !connection.is_some_and(|c| c.contains("keep-alive")))
        || headers.contains_key("transfer-encoding");
    // The body (which no route reads) is skipped, so the next request starts where it ends.
    let body: usize = match headers.get("content-length") {
        Some(n) => n.parse().ok().filter(|n| *n <= MAX_REQUEST)?,
        None => 0,
    };
    while buf.len() < head_end + body {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.drain(..head_end + body);
    Some(Request {
        method,
        path,
        headers,
        close,
    })
}

fn host_of(origin: &str) -> &str {
    let rest = origin.split("://").nth(1).unwrap_or(origin);
    rest.split([':', '/']).next().unwrap_or(rest)
}

/// Answers the requests of one connection, keeping it alive between them as an HTTP/1.1
/// server does (the relay's hyper, nginx): a client's pool reuses it.
async fn serve<S: AsyncReadExt + AsyncWriteExt + Unpin>(mut s: S, shared: &Shared) {
    let mut buf = Vec::new();
    loop {
        let Ok(Some(req)) = tokio::time::timeout(IDLE, read_request(&mut s, &mut buf)).await else {
            return;
        };
        let l = &shared.listener;
        let mut headers: Vec<(String, String)> = l
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (status, body) = respond(&req, shared, &mut headers);
        let reason = match status {
            101 => "Switching Protocols",
            200 => "OK",
            204 => "No Content",
            301 => "Moved Permanently",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Status",
        };
        let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
        for (k, v) in &headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        // After a 101 the connection is the WebSocket's; this stand-in ends it.
        let last = req.close || status == 101;
        if status != 101 {
            out.push_str(&format!("content-length: {}\r\n", body.len()));
            if last {
                out.push_str("connection: close\r\n");
            }
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if req.method != "HEAD" {
            bytes.extend_from_slice(body.as_bytes());
        }
        if s.write_all(&bytes).await.is_err() || s.flush().await.is_err() || last {
            let _ = s.shutdown().await;
            return;
        }
    }
}

fn json_body(headers: &mut Vec<(String, String)>, v: &Value) -> String {
    headers.push(("content-type".into(), "application/json".into()));
    v.to_string()
}

fn respond(req: &Request, shared: &Shared, headers: &mut Vec<(String, String)>) -> (u16, String) {
    let l = &shared.listener;
    let host = req.headers.get("host").map_or("", |h| host_of(h));
    if let Some(to) = &l.redirect_to {
        headers.push(("location".into(), format!("{to}{}", req.path)));
        return (301, String::new());
    }
    if l.websocket
        && req
            .headers
            .get("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    {
        headers.push(("upgrade".into(), "websocket".into()));
        headers.push(("connection".into(), "Upgrade".into()));
        return (101, String::new());
    }
    if let Some(required) = &l.required_host
        && !["", "localhost", "127.0.0.1", required.as_str()].contains(&host)
    {
        return (
            400,
            json_body(headers, &serde_json::json!({"error": "invalid host"})),
        );
    }
    let origin = req.headers.get("origin").cloned();
    if let (Some(domain), Some(o)) = (&l.reject_foreign_origin, &origin)
        && host_of(o) != domain
        && (req.headers.contains_key("user-agent") || req.headers.contains_key("sec-fetch-site"))
    {
        return (
            400,
            json_body(headers, &serde_json::json!({"error": "invalid origin"})),
        );
    }
    if let Some(o) = &origin
        && (l.cors_allow.iter().any(|a| a == o) || l.cors_allow.iter().any(|a| a == "*"))
    {
        headers.push(("access-control-allow-origin".into(), o.clone()));
        headers.push(("access-control-allow-credentials".into(), "true".into()));
        headers.push(("vary".into(), "Origin".into()));
        if req.method == "OPTIONS" {
            headers.push((
                "access-control-allow-methods".into(),
                "GET, POST, OPTIONS".into(),
            ));
            return (204, String::new());
        }
    }
    if let Some(rl) = &l.rate_limit
        && let Some(prefix) = rl
            .prefixes
            .iter()
            .find(|p| req.path.starts_with(p.as_str()))
    {
        let mut hits = shared.hits.lock().unwrap_or_else(|e| e.into_inner());
        let slot = hits.entry(prefix.clone()).or_insert((Instant::now(), 0));
        if slot.0.elapsed() > Duration::from_secs(10) {
            *slot = (Instant::now(), 0);
        }
        slot.1 += 1;
        if slot.1 > rl.burst {
            headers.push(("retry-after".into(), "10".into()));
            return (
                429,
                json_body(headers, &serde_json::json!({"error": "too many requests"})),
            );
        }
    }
    let route = l
        .routes
        .iter()
        .find(|r| r.path == req.path || (r.prefix && req.path.starts_with(&r.path)))
        .or(l.fallback.as_ref());
    let Some(route) = route else {
        return (
            404,
            json_body(headers, &serde_json::json!({"error": "not found"})),
        );
    };
    headers.extend(route.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(token) = &route.bearer {
        let given = req.headers.get("authorization").map(String::as_str);
        if given != Some(format!("Bearer {token}").as_str()) {
            headers.push(("www-authenticate".into(), "Bearer".into()));
            return (
                401,
                json_body(headers, &serde_json::json!({"error": "unauthorized"})),
            );
        }
    }
    let body = match (&route.json, &route.text) {
        (Some(v), _) => json_body(headers, v),
        (None, Some(t)) => t.clone(),
        (None, None) => String::new(),
    };
    (route.status, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn plain() -> Standin {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "listeners": [{"name": "app", "routes": [
                {"path": "/a", "text": "first"},
                {"path": "/b", "json": {"ok": true}}
            ]}]
        }))
        .unwrap();
        start(spec).unwrap()
    }

    /// Reads one answer (head and `content-length` body) from `s`.
    fn answer(s: &mut std::net::TcpStream) -> (String, String) {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).unwrap(), 1, "the connection ended early");
            buf.push(byte[0]);
        }
        let head = String::from_utf8(buf).unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
        (head, String::from_utf8(body).unwrap())
    }

    #[test]
    fn a_connection_serves_requests_until_the_client_asks_to_close() {
        let standin = plain();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", standin.ports["app"])).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // Two requests in one write, the first with a body the stand-in must skip.
        s.write_all(
            b"POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nhost: x\r\n\r\n",
        )
        .unwrap();
        let (head, body) = answer(&mut s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(!head.contains("connection: close"), "{head}");
        assert_eq!(body, "first");
        let (head, body) = answer(&mut s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, r#"{"ok":true}"#);
        s.write_all(b"GET /missing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .unwrap();
        let (head, _) = answer(&mut s);
        assert!(head.starts_with("HTTP/1.1 404"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "bytes after a closing answer: {rest:?}");
        assert_eq!(standin.connections.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn an_http_1_0_request_gets_one_answer_and_the_end() {
        let standin = plain();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", standin.ports["app"])).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /a HTTP/1.0\r\n\r\n").unwrap();
        let (head, body) = answer(&mut s);
        assert!(
            head.contains("connection: close") && body == "first",
            "{head}"
        );
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}
