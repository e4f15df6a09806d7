//! `http` probe: one request with matchers (status, headers, body regex, jq on a JSON body),
//! or a named behaviour that takes several requests (redirect to https, HSTS, security
//! headers, CORS toward hostile origins, auth required, rate limiting). Every request is
//! bounded in time and in body bytes; a run shares one connection pool per TLS setting and
//! limits requests in flight per host.

use shipcheck_core::spec::http::*;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::{Finding, Observation, ProbeCtx};
use shipcheck_core::duration::Span;

/// Requests in flight per host, across all items of a run.
pub const PER_HOST: usize = 4;
/// Default body bytes kept.
const MAX_BODY: u64 = 1024 * 1024;

/// One exchange, as evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    pub sent: String,
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
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
        .pool_max_idle_per_host(PER_HOST)
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
    pub max_body: u64,
    pub gate: Arc<tokio::sync::Semaphore>,
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
        let mut req = self.client.request(method.clone(), url);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let mut resp = req.send().await.map_err(|e| describe(&e, url))?;
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
        let body = if text.is_empty() {
            None
        } else if truncated {
            Some(Value::String(format!(
                "{text}… (cut at {} bytes)",
                self.max_body
            )))
        } else {
            Some(serde_json::from_str(&text).unwrap_or(Value::String(text)))
        };
        Ok(Exchange {
            sent: format!("{method} {url}"),
            status,
            headers,
            body,
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
        let url = ctx.expand(&self.url)?;
        let parsed = reqwest::Url::parse(&url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("`{url}` has no host"))?
            .to_string();
        let timeout = self.timeout.map_or(Duration::from_secs(10), |s| s.0);
        let resolve = ctx.optional_ip(self.address.as_ref())?.map(|ip| {
            (
                host.clone(),
                SocketAddr::new(ip, parsed.port_or_known_default().unwrap_or(443)),
            )
        });
        let key = ClientKey {
            ca_file: ctx.optional_path(self.ca_file.as_ref())?,
            insecure: self.insecure,
            follow: self.follow_redirects,
            resolve,
            timeout,
        };
        let client = ctx.cache.memo(key.clone(), || client(&key))?;
        let gate = ctx.cache.memo(HostGate(host.clone()), || {
            Arc::new(tokio::sync::Semaphore::new(PER_HOST))
        });
        let req = Requester {
            client,
            max_body: self.max_body.map_or(MAX_BODY, |s| s.0),
            gate,
        };
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), ctx.expand(v)?)))
            .collect::<Result<_, String>>()?;
        let mut secrets = Vec::new();
        if let Some(t) = &self.bearer_token {
            let token = ctx.expand(t)?;
            secrets.push(token.clone());
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        let body = self.body.as_ref().map(|b| ctx.expand(b)).transpose()?;
        let method = self.method.clone().unwrap_or_else(|| "GET".into());
        let mut obs = match &self.behaviour {
            None => {
                let ex = block_on(req.send(&method, &url, &headers, body))??;
                let mut obs = Observation::new(
                    serde_json::to_value(&ex).unwrap_or_default(),
                    format!("http {method} {url}"),
                );
                self.judge_exchange(&ex, &mut obs.findings)?;
                obs
            }
            Some(b) => {
                let (value, findings) = block_on(behaviour(
                    b,
                    &req,
                    &url,
                    &parsed,
                    &headers,
                    ctx,
                    &mut secrets,
                ))??;
                let mut obs =
                    Observation::new(value, format!("http {url} ({})", behaviour_name(b)));
                obs.findings = findings;
                obs
            }
        };
        obs.secrets = secrets;
        Ok(obs)
    }
}

/// Judging one exchange against the item's single-request expectations.
trait JudgeExchange {
    fn judge_exchange(&self, ex: &Exchange, out: &mut Vec<Finding>) -> Result<(), String>;
}

impl JudgeExchange for HttpProbe {
    fn judge_exchange(&self, ex: &Exchange, out: &mut Vec<Finding>) -> Result<(), String> {
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
            let rx = regex::Regex::new(&re.value).map_err(|e| e.to_string())?;
            let v = ex.headers.get(&h.to_ascii_lowercase());
            out.push(Finding::new(
                v.is_some_and(|v| rx.is_match(v)),
                format!("header {h} matches /{}/", re.value),
                v.map_or("absent".into(), |v| format!("{h}: {v}")),
            ));
        }
        if let Some(re) = &self.body_matches {
            let rx = regex::Regex::new(&re.value).map_err(|e| e.to_string())?;
            let text = match &ex.body {
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
            match &ex.body {
                Some(v @ (Value::Object(_) | Value::Array(_))) => {
                    let out_v = shipcheck_core::jq::first(&q.value, v)?;
                    out.push(Finding::new(
                        shipcheck_core::jq::truthy(&out_v),
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

fn behaviour_name(b: &Behaviour) -> &'static str {
    match b {
        Behaviour::RedirectsToHttps(_) => "redirects_to_https",
        Behaviour::Hsts(_) => "hsts",
        Behaviour::SecurityHeaders(_) => "security_headers",
        Behaviour::CorsRejectsForeignOrigin(_) => "cors_rejects_foreign_origin",
        Behaviour::AuthRequired(_) => "auth_required",
        Behaviour::RateLimited(_) => "rate_limited",
    }
}

async fn behaviour(
    b: &Behaviour,
    req: &Requester,
    url: &str,
    parsed: &reqwest::Url,
    headers: &[(String, String)],
    ctx: &ProbeCtx,
    secrets: &mut Vec<String>,
) -> Result<(Value, Vec<Finding>), String> {
    let host = parsed.host_str().unwrap_or_default().to_string();
    let mut findings = Vec::new();
    let value = match b {
        Behaviour::RedirectsToHttps(spec) => {
            let http_url = match &spec.http_url {
                Some(t) => ctx.expand(t)?,
                None => {
                    let mut u = parsed.clone();
                    let _ = u.set_scheme("http");
                    let _ = u.set_port(None);
                    u.to_string()
                }
            };
            let ex = req.send("GET", &http_url, headers, None).await?;
            let f = judge_redirect(&ex, &host);
            findings.push(f);
            json!({"sent": ex.sent, "status": ex.status, "location": ex.headers.get("location")})
        }
        Behaviour::Hsts(spec) => {
            let ex = req.send("GET", url, headers, None).await?;
            findings.extend(judge_hsts(
                ex.headers
                    .get("strict-transport-security")
                    .map(String::as_str),
                spec.min_max_age.unwrap_or(31_536_000),
                spec.include_subdomains,
                spec.preload,
            ));
            json!({"sent": ex.sent, "status": ex.status, "strict-transport-security": ex.headers.get("strict-transport-security")})
        }
        Behaviour::SecurityHeaders(spec) => {
            let ex = req.send("GET", url, headers, None).await?;
            findings.extend(judge_security_headers(&ex.headers, &spec.also));
            let shown: BTreeMap<&String, &String> = ex
                .headers
                .iter()
                .filter(|(k, _)| {
                    SECURITY_HEADERS.contains(&k.as_str())
                        || spec.also.iter().any(|a| a.eq_ignore_ascii_case(k))
                })
                .collect();
            json!({"sent": ex.sent, "status": ex.status, "headers": shown})
        }
        Behaviour::CorsRejectsForeignOrigin(spec) => {
            let origins = if spec.origins.is_empty() {
                default_hostile_origins(&host)
            } else {
                spec.origins.clone()
            };
            let mut seen = Vec::new();
            for origin in &origins {
                for preflight in [false, true] {
                    let mut h = headers.to_vec();
                    h.push(("origin".into(), origin.clone()));
                    let method = if preflight {
                        h.push(("access-control-request-method".into(), "POST".into()));
                        h.push((
                            "access-control-request-headers".into(),
                            "authorization, content-type".into(),
                        ));
                        "OPTIONS"
                    } else {
                        "GET"
                    };
                    let ex = req.send(method, url, &h, None).await?;
                    let acao = ex.headers.get("access-control-allow-origin").cloned();
                    let acac = ex.headers.get("access-control-allow-credentials").cloned();
                    let verdict = cors_verdict(origin, acao.as_deref(), acac.as_deref());
                    findings.push(Finding::new(
                        verdict.is_none(),
                        format!(
                            "{} with Origin {origin} is not allowed",
                            if preflight { "preflight" } else { "request" }
                        ),
                        verdict.unwrap_or_else(|| {
                            format!(
                                "Access-Control-Allow-Origin: {}",
                                acao.clone().unwrap_or_else(|| "(none)".into())
                            )
                        }),
                    ));
                    seen.push(json!({"origin": origin, "method": method, "status": ex.status, "access-control-allow-origin": acao, "access-control-allow-credentials": acac}));
                }
            }
            json!({"url": url, "tried": seen})
        }
        Behaviour::AuthRequired(spec) => {
            let plain: Vec<(String, String)> = headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("authorization"))
                .cloned()
                .collect();
            let none = req.send("GET", url, &plain, None).await?;
            findings.push(Finding::new(
                matches!(none.status, 401 | 403),
                "401/403 without credentials",
                none.status.to_string(),
            ));
            let mut wrong = plain.clone();
            wrong.push((
                "authorization".into(),
                "Bearer shipcheck-wrong-token-0000000000000000".into(),
            ));
            let bad = req.send("GET", url, &wrong, None).await?;
            findings.push(Finding::new(
                matches!(bad.status, 401 | 403),
                "401/403 with a wrong token",
                bad.status.to_string(),
            ));
            let mut right_status = None;
            // An empty token (an unset variable) means: only check the refusals.
            let token = spec
                .token
                .as_ref()
                .map(|t| ctx.expand(t))
                .transpose()?
                .filter(|t| !t.trim().is_empty());
            if let Some(token) = token {
                secrets.push(token.clone());
                let mut right = plain.clone();
                right.push(("authorization".into(), format!("Bearer {token}")));
                let ok = req.send("GET", url, &right, None).await?;
                findings.push(Finding::new(
                    (200..300).contains(&ok.status),
                    "2xx with the right token",
                    ok.status.to_string(),
                ));
                right_status = Some(ok.status);
            }
            json!({"url": url, "without_credentials": none.status, "wrong_token": bad.status, "right_token": right_status})
        }
        Behaviour::RateLimited(spec) => {
            let window = spec.window.map_or(Duration::from_secs(60), |s| s.0);
            let requests = spec.requests.value(&ctx.scope())?;
            let started = Instant::now();
            let mut sent = 0u32;
            let mut limited_at = None;
            let mut retry_after = None;
            let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
            while sent < requests && started.elapsed() < window {
                let method = spec.method.as_deref().unwrap_or("GET");
                let ex = req.send(method, url, headers, spec.body.clone()).await?;
                sent += 1;
                *statuses.entry(ex.status).or_default() += 1;
                if ex.status == 429 {
                    limited_at = Some(sent);
                    retry_after = ex.headers.get("retry-after").cloned();
                    break;
                }
            }
            let elapsed = started.elapsed();
            findings.push(Finding::new(
                limited_at.is_some(),
                format!(
                    "429 within a burst of {} requests in {}",
                    requests,
                    Span(window)
                ),
                match limited_at {
                    Some(n) => format!(
                        "429 at request {n} after {} ms{}",
                        elapsed.as_millis(),
                        if retry_after.is_some() {
                            ", with Retry-After"
                        } else {
                            ", without Retry-After"
                        }
                    ),
                    None => format!("no 429 in {sent} requests ({} ms)", elapsed.as_millis()),
                },
            ));
            json!({"url": url, "sent": sent, "limited_at": limited_at, "retry_after": retry_after, "statuses": statuses, "elapsed_ms": elapsed.as_millis() as u64})
        }
    };
    Ok((value, findings))
}

/// Headers the security-headers behaviour reports.
pub const SECURITY_HEADERS: &[&str] = &[
    "x-frame-options",
    "x-content-type-options",
    "content-security-policy",
    "strict-transport-security",
    "referrer-policy",
    "permissions-policy",
];

/// Hostile origins tried by default: an arbitrary domain, `null`, and a suffix trick.
pub fn default_hostile_origins(host: &str) -> Vec<String> {
    vec![
        "https://evil.example".into(),
        "null".into(),
        format!("https://{host}.evil.test"),
    ]
}

/// Why a CORS answer to a hostile `origin` is unsafe, if it is.
pub fn cors_verdict(origin: &str, acao: Option<&str>, acac: Option<&str>) -> Option<String> {
    let acao = acao?.trim();
    let creds = acac.is_some_and(|c| c.trim().eq_ignore_ascii_case("true"));
    if acao.eq_ignore_ascii_case(origin) {
        Some(format!(
            "reflects Origin {origin}{}",
            if creds {
                " with credentials allowed"
            } else {
                ""
            }
        ))
    } else if acao == "*" && creds {
        Some("answers `*` together with Access-Control-Allow-Credentials: true".into())
    } else {
        None
    }
}

/// Judges a plain-HTTP answer: a 3xx to https on the same host.
pub fn judge_redirect(ex: &Exchange, host: &str) -> Finding {
    let location = ex.headers.get("location");
    let target = location.and_then(|l| reqwest::Url::parse(l).ok());
    let ok = matches!(ex.status, 301 | 302 | 303 | 307 | 308)
        && target.as_ref().is_some_and(|t| {
            t.scheme() == "https" && t.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
        });
    Finding::new(
        ok,
        format!("plain HTTP redirects to https://{host}"),
        match location {
            Some(l) => format!("{} → {l}", ex.status),
            None => format!("{} with no redirect", ex.status),
        },
    )
}

/// Parses `max-age` from a Strict-Transport-Security value.
pub fn hsts_max_age(value: &str) -> Option<u64> {
    value.split(';').find_map(|d| {
        let (k, v) = d.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| v.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

/// Judges a Strict-Transport-Security header.
pub fn judge_hsts(
    value: Option<&str>,
    min_max_age: u64,
    include_subdomains: bool,
    preload: bool,
) -> Vec<Finding> {
    let Some(v) = value else {
        return vec![Finding::new(
            false,
            "Strict-Transport-Security present",
            "absent",
        )];
    };
    let age = hsts_max_age(v);
    let has = |d: &str| v.split(';').any(|x| x.trim().eq_ignore_ascii_case(d));
    let mut out = vec![Finding::new(
        age.is_some_and(|a| a >= min_max_age),
        format!("HSTS max-age ≥ {min_max_age}"),
        v.to_string(),
    )];
    if include_subdomains {
        out.push(Finding::new(
            has("includeSubDomains"),
            "HSTS includeSubDomains",
            v.to_string(),
        ));
    }
    if preload {
        out.push(Finding::new(has("preload"), "HSTS preload", v.to_string()));
    }
    out
}

/// Judges the baseline security headers plus `also`.
pub fn judge_security_headers(h: &BTreeMap<String, String>, also: &[String]) -> Vec<Finding> {
    let xfo = h.get("x-frame-options");
    let frame_ancestors = h
        .get("content-security-policy")
        .is_some_and(|c| c.to_ascii_lowercase().contains("frame-ancestors"));
    let mut out = vec![
        Finding::new(
            xfo.is_some() || frame_ancestors,
            "X-Frame-Options or CSP frame-ancestors",
            xfo.map_or_else(
                || {
                    if frame_ancestors {
                        "CSP frame-ancestors".into()
                    } else {
                        "neither".into()
                    }
                },
                |v| format!("X-Frame-Options: {v}"),
            ),
        ),
        Finding::new(
            h.get("x-content-type-options")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("nosniff")),
            "X-Content-Type-Options: nosniff",
            h.get("x-content-type-options")
                .cloned()
                .unwrap_or_else(|| "absent".into()),
        ),
    ];
    for name in also {
        let v = h.get(&name.to_ascii_lowercase());
        out.push(Finding::new(
            v.is_some(),
            format!("{name} present"),
            v.cloned().unwrap_or_else(|| "absent".into()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_rules() {
        assert!(cors_verdict("https://evil.example", Some("https://evil.example"), None).is_some());
        assert!(cors_verdict("null", Some("null"), Some("true")).is_some());
        assert!(cors_verdict("https://evil.example", Some("*"), Some("true")).is_some());
        assert!(cors_verdict("https://evil.example", Some("*"), None).is_none());
        assert!(
            cors_verdict(
                "https://evil.example",
                Some("https://app.example.com"),
                Some("true")
            )
            .is_none()
        );
        assert!(cors_verdict("https://evil.example", None, None).is_none());
    }

    #[test]
    fn hsts_rules() {
        assert_eq!(
            hsts_max_age("max-age=31536000; includeSubDomains"),
            Some(31_536_000)
        );
        assert_eq!(hsts_max_age("includeSubDomains; max-age=\"60\""), Some(60));
        assert!(
            judge_hsts(Some("max-age=100"), 31_536_000, false, false)
                .iter()
                .any(|f| !f.ok)
        );
        assert!(
            judge_hsts(
                Some("max-age=31536000; includeSubDomains"),
                31_536_000,
                true,
                false
            )
            .iter()
            .all(|f| f.ok)
        );
        assert!(!judge_hsts(None, 1, false, false)[0].ok);
    }

    #[test]
    fn redirect_rules() {
        let mut headers = BTreeMap::new();
        headers.insert("location".to_string(), "https://a.example/x".to_string());
        let ex = Exchange {
            sent: String::new(),
            status: 301,
            headers,
            body: None,
        };
        assert!(judge_redirect(&ex, "a.example").ok);
        assert!(!judge_redirect(&ex, "b.example").ok);
        let ex = Exchange {
            sent: String::new(),
            status: 200,
            headers: BTreeMap::new(),
            body: None,
        };
        assert!(!judge_redirect(&ex, "a.example").ok);
    }
}
