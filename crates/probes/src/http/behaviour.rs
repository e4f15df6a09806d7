//! The HTTP behaviours, implemented once for pack items (`http: {behaviour: ...}`) and for
//! `shipcheck probe http`: what each sends, what it saw, and how it is judged. The callers
//! only differ in how they report (findings of an item, or stable finding ids).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use shipcheck_core::duration::Span;
use shipcheck_core::spec::http::Behaviour;

use super::hsts::{HSTS_MIN_MAX_AGE, judge_hsts};
use super::security_headers::{SECURITY_HEADERS, judge_security_headers};
use super::{Exchange, Requester};
use crate::{Finding, ProbeCtx};

/// The bearer token sent as a wrong credential.
const WRONG_TOKEN: &str = "Bearer shipcheck-wrong-token-0000000000000000";

/// The plain-HTTP URL of `url`: same host and path, `http://`, on `port` (80 when `None`).
pub fn plain_http_url(url: &reqwest::Url, port: Option<u16>) -> String {
    let mut u = url.clone();
    let _ = u.set_scheme("http");
    let _ = u.set_port(port.filter(|p| *p != 80));
    u.to_string()
}

/// One request with a hostile Origin, and what came back.
#[derive(Clone, Debug, Serialize)]
pub struct CorsTry {
    pub origin: String,
    pub method: &'static str,
    pub preflight: bool,
    pub status: u16,
    #[serde(rename = "access-control-allow-origin")]
    pub acao: Option<String>,
    #[serde(rename = "access-control-allow-credentials")]
    pub acac: Option<String>,
    /// Why the answer is unsafe, if it is.
    #[serde(skip)]
    pub verdict: Option<String>,
}

/// Sends a simple request and a preflight (POST with Authorization and Content-Type) with
/// each hostile origin, and judges each answer. The requests go at once (six round trips in
/// the time of one); the answers are judged, and a failure reported, in the order above.
pub async fn cors(
    req: &Requester,
    url: &str,
    headers: &[(String, String)],
    origins: &[String],
) -> Result<Vec<CorsTry>, String> {
    let method = |preflight: bool| if preflight { "OPTIONS" } else { "GET" };
    let asked: Vec<(&String, bool)> = origins
        .iter()
        .flat_map(|o| [(o, false), (o, true)])
        .collect();
    let sent = in_order(asked.iter().map(|&(origin, preflight)| {
        let mut h = headers.to_vec();
        h.push(("origin".into(), origin.clone()));
        if preflight {
            h.push(("access-control-request-method".into(), "POST".into()));
            h.push((
                "access-control-request-headers".into(),
                "authorization, content-type".into(),
            ));
        }
        async move { req.send(method(preflight), url, &h, None).await }
    }))
    .await;
    let mut out = Vec::with_capacity(asked.len());
    for ((origin, preflight), ex) in asked.into_iter().zip(sent) {
        let ex = ex?;
        let acao = ex.headers.get("access-control-allow-origin").cloned();
        let acac = ex.headers.get("access-control-allow-credentials").cloned();
        let verdict = cors_verdict(origin, acao.as_deref(), acac.as_deref());
        out.push(CorsTry {
            origin: origin.clone(),
            method: method(preflight),
            preflight,
            status: ex.status,
            acao,
            acac,
            verdict,
        });
    }
    Ok(out)
}

/// Runs `futures` at once on this task and gives their outputs in their order. (Written
/// here: the `futures` crate's `join_all` is this, and the one thing it would be used for.)
async fn in_order<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut running: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = running.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in running.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// What a protected URL answered without credentials, with a wrong token, and with the
/// right one (when given).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct AuthSeen {
    pub without_credentials: u16,
    pub wrong_token: u16,
    pub right_token: Option<u16>,
}

impl AuthSeen {
    /// Whether the URL serves content (2xx) without valid credentials.
    pub fn open(&self) -> bool {
        (200..300).contains(&self.without_credentials) || (200..300).contains(&self.wrong_token)
    }
}

/// Requests `url` without credentials, with a wrong bearer token, then with `token`.
pub async fn auth(
    req: &Requester,
    url: &str,
    headers: &[(String, String)],
    token: Option<&str>,
) -> Result<AuthSeen, String> {
    let plain: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("authorization"))
        .cloned()
        .collect();
    let without = req.send("GET", url, &plain, None).await?.status;
    let mut wrong = plain.clone();
    wrong.push(("authorization".into(), WRONG_TOKEN.into()));
    let wrong = req.send("GET", url, &wrong, None).await?.status;
    let mut right_token = None;
    if let Some(token) = token {
        let mut right = plain.clone();
        right.push(("authorization".into(), format!("Bearer {token}")));
        right_token = Some(req.send("GET", url, &right, None).await?.status);
    }
    Ok(AuthSeen {
        without_credentials: without,
        wrong_token: wrong,
        right_token,
    })
}

/// A bounded burst of requests, stopped by the first 429 or the end of the window.
#[derive(Clone, Debug, Serialize)]
pub struct Burst {
    pub sent: u32,
    pub limited_at: Option<u32>,
    pub retry_after: Option<String>,
    pub statuses: BTreeMap<u16, u32>,
    pub elapsed_ms: u64,
}

/// Sends at most `requests` requests within `window`.
pub async fn burst(
    req: &Requester,
    url: &str,
    headers: &[(String, String)],
    requests: u32,
    window: Duration,
    method: &str,
    body: Option<String>,
) -> Result<Burst, String> {
    let started = Instant::now();
    let mut out = Burst {
        sent: 0,
        limited_at: None,
        retry_after: None,
        statuses: BTreeMap::new(),
        elapsed_ms: 0,
    };
    while out.sent < requests && started.elapsed() < window {
        let ex = req.send(method, url, headers, body.clone()).await?;
        out.sent += 1;
        *out.statuses.entry(ex.status).or_default() += 1;
        if ex.status == 429 {
            out.limited_at = Some(out.sent);
            out.retry_after = ex.headers.get("retry-after").cloned();
            break;
        }
    }
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(out)
}

/// The name of a behaviour, as written in packs.
pub fn name(b: &Behaviour) -> &'static str {
    match b {
        Behaviour::RedirectsToHttps(_) => "redirects_to_https",
        Behaviour::Hsts(_) => "hsts",
        Behaviour::SecurityHeaders(_) => "security_headers",
        Behaviour::CorsRejectsForeignOrigin(_) => "cors_rejects_foreign_origin",
        Behaviour::AuthRequired(_) => "auth_required",
        Behaviour::RateLimited(_) => "rate_limited",
    }
}

/// Runs a pack item's behaviour: the observed value and the item's findings.
pub async fn for_item(
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
                None => plain_http_url(parsed, None),
            };
            let ex = req.send("GET", &http_url, headers, None).await?;
            findings.push(judge_redirect(&ex, &host));
            json!({"sent": ex.sent, "status": ex.status, "location": ex.headers.get("location")})
        }
        Behaviour::Hsts(spec) => {
            let ex = req.send("GET", url, headers, None).await?;
            findings.extend(judge_hsts(
                ex.headers
                    .get("strict-transport-security")
                    .map(String::as_str),
                spec.min_max_age.unwrap_or(HSTS_MIN_MAX_AGE),
                spec.include_subdomains,
                spec.preload,
            ));
            json!({"sent": ex.sent, "status": ex.status, "strict-transport-security": ex.headers.get("strict-transport-security")})
        }
        Behaviour::SecurityHeaders(spec) => {
            let ex = req.send("GET", url, headers, None).await?;
            findings.extend(judge_security_headers(&ex.headers, &spec.also).findings());
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
            let tried = cors(req, url, headers, &origins).await?;
            for t in &tried {
                findings.push(Finding::new(
                    t.verdict.is_none(),
                    format!(
                        "{} with Origin {} is not allowed",
                        if t.preflight { "preflight" } else { "request" },
                        t.origin
                    ),
                    t.verdict.clone().unwrap_or_else(|| {
                        format!(
                            "Access-Control-Allow-Origin: {}",
                            t.acao.clone().unwrap_or_else(|| "(none)".into())
                        )
                    }),
                ));
            }
            json!({"url": url, "tried": tried})
        }
        Behaviour::AuthRequired(spec) => {
            // An empty token (an unset variable) means: only check the refusals.
            let token = spec
                .token
                .as_ref()
                .map(|t| ctx.expand(t))
                .transpose()?
                .filter(|t| !t.trim().is_empty());
            if let Some(t) = &token {
                secrets.push(t.clone());
            }
            let seen = auth(req, url, headers, token.as_deref()).await?;
            let refused = |s: u16| matches!(s, 401 | 403);
            findings.push(Finding::new(
                refused(seen.without_credentials),
                "401/403 without credentials",
                seen.without_credentials.to_string(),
            ));
            findings.push(Finding::new(
                refused(seen.wrong_token),
                "401/403 with a wrong token",
                seen.wrong_token.to_string(),
            ));
            if let Some(s) = seen.right_token {
                findings.push(Finding::new(
                    !refused(s),
                    "accepted (not 401/403) with the right token",
                    s.to_string(),
                ));
            }
            json!({"url": url, "without_credentials": seen.without_credentials, "wrong_token": seen.wrong_token, "right_token": seen.right_token})
        }
        Behaviour::RateLimited(spec) => {
            let window = spec.window.map_or(Duration::from_secs(60), |s| s.0);
            let requests = spec.requests.value(&ctx.scope())?;
            let method = spec.method.as_ref().map_or("GET", |m| m.value.as_str());
            let b = burst(
                req,
                url,
                headers,
                requests,
                window,
                method,
                spec.body.clone(),
            )
            .await?;
            findings.push(Finding::new(
                b.limited_at.is_some(),
                format!(
                    "429 within a burst of {} requests in {}",
                    requests,
                    Span(window)
                ),
                match b.limited_at {
                    Some(n) => format!(
                        "429 at request {n} after {} ms{}",
                        b.elapsed_ms,
                        if b.retry_after.is_some() {
                            ", with Retry-After"
                        } else {
                            ", without Retry-After"
                        }
                    ),
                    None => format!("no 429 in {} requests ({} ms)", b.sent, b.elapsed_ms),
                },
            ));
            json!({"url": url, "sent": b.sent, "limited_at": b.limited_at, "retry_after": b.retry_after, "statuses": b.statuses, "elapsed_ms": b.elapsed_ms})
        }
    };
    Ok((value, findings))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn futures_run_at_once_and_answer_in_their_order() {
        use std::time::Duration;
        // Each waits for all three to have started: run one after another, they never end.
        let all_started = tokio::sync::Barrier::new(3);
        let waits = [30u64, 1, 15];
        let got = tokio::time::timeout(
            Duration::from_secs(10),
            in_order(waits.iter().map(|&ms| {
                let all_started = &all_started;
                async move {
                    all_started.wait().await;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    ms
                }
            })),
        )
        .await
        .expect("the futures ran at once");
        assert_eq!(got, waits);
    }

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
    fn redirect_rules() {
        let mut headers = BTreeMap::new();
        headers.insert("location".to_string(), "https://a.example/x".to_string());
        let ex = Exchange {
            sent: String::new(),
            status: 301,
            headers,
            body: None,
            ..Default::default()
        };
        assert!(judge_redirect(&ex, "a.example").ok);
        assert!(!judge_redirect(&ex, "b.example").ok);
        let ex = Exchange {
            sent: String::new(),
            status: 200,
            headers: BTreeMap::new(),
            body: None,
            ..Default::default()
        };
        assert!(!judge_redirect(&ex, "a.example").ok);
    }
}
