//! `shipcheck probe http`: the HTTP behaviours of `crate::http::behaviour`, reported with
//! stable finding ids.

use super::*;

/// Options of an HTTP audit.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub resolve: Resolve,
    /// Port of plain HTTP for the redirect check (default 80).
    pub http_port: Option<u16>,
    pub expect_auth: bool,
    /// Path the auth check asks (default: the URL itself).
    pub auth_path: Option<String>,
    /// A valid bearer token: with it, the auth path must answer something other than
    /// 401/403 (the credentials are accepted, not only refused).
    pub token: Option<String>,
    /// Path of a health endpoint that must return 200 `{"status":"ok"}`.
    pub health: Option<String>,
    /// Burst size for the rate-limit check (none: not checked).
    pub rate_limit: Option<u32>,
    /// Path the burst goes to (default: the URL itself). Bursts run last.
    pub burst_path: Option<String>,
    /// A hostile Origin to try besides the built-in ones (CORS).
    pub origin: Option<String>,
    pub timeout: Duration,
}

/// Time a rate-limit burst may take, as for pack items.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Audits an HTTP(S) URL.
pub fn http(url: &str, opts: &HttpOptions, cache: &crate::Cache) -> AuditReport {
    match http::block_on(http_async(url, opts, cache)) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) | Err(e) => AuditReport::failed("http", url.into(), e),
    }
}

async fn http_async(
    url: &str,
    opts: &HttpOptions,
    cache: &crate::Cache,
) -> Result<AuditReport, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?.to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let requester = |follow: bool, port: u16| -> Result<Requester, String> {
        let key = ClientKey {
            ca_file: opts.ca_file.clone(),
            insecure: opts.insecure,
            follow,
            resolve: opts
                .resolve
                .lookup(&host, port)
                .map(|ip| (host.clone(), std::net::SocketAddr::new(ip, port))),
            timeout: opts.timeout,
        };
        let gate = cache.memo(crate::http::HostGate(host.clone()), || {
            Arc::new(tokio::sync::Semaphore::new(http::PER_HOST))
        });
        Ok(Requester {
            client: http::client(&key)?,
            key,
            max_body: 64 * 1024,
            gate,
            fresh: std::sync::OnceLock::new(),
        })
    };
    let req = requester(false, port)?;
    let mut f = Vec::new();
    let main = req.send("GET", url, &[], None).await?;
    let mut observed = json!({"url": url, "status": main.status});
    let mut errors = Vec::new();
    // Redirect to https: an http:// URL itself, or the plain-HTTP port asked for. Never
    // unasked (a request to port 80 of a name that was only pinned for 443 would go to the
    // system's DNS).
    let plain = match (parsed.scheme(), opts.http_port) {
        ("http", _) => Some((url.to_string(), port)),
        (_, Some(p)) => Some((behaviour::plain_http_url(&parsed, Some(p)), p)),
        _ => None,
    };
    if let Some((plain, plain_port)) = plain {
        let plain_req = requester(false, plain_port)?;
        match plain_req.send("GET", &plain, &[], None).await {
            Ok(ex) => {
                let r = behaviour::judge_redirect(&ex, &host);
                if !r.ok {
                    f.push(finding(
                        "http.redirect.missing",
                        Severity::Medium,
                        format!("{plain} answers {}", r.observed),
                    ));
                }
                observed["redirect"] = json!({"sent": ex.sent, "status": ex.status, "location": ex.headers.get("location")});
            }
            Err(e) => {
                observed["redirect"] = json!({"sent": plain, "error": e});
                errors.push(format!("the redirect check could not run: {e}"));
            }
        }
    }
    if parsed.scheme() == "https" {
        let sts = main.headers.get("strict-transport-security");
        match sts.map(|v| (v, hsts::parse(v))) {
            None => f.push(finding(
                "http.hsts.missing",
                Severity::Medium,
                "no Strict-Transport-Security header",
            )),
            Some((_, Err(e))) => f.push(finding("http.hsts.invalid", Severity::Medium, e)),
            Some((v, Ok(h))) if h.max_age < hsts::HSTS_MIN_MAX_AGE => f.push(finding(
                "http.hsts.short_max_age",
                Severity::Low,
                format!("`{v}`: max-age below one year"),
            )),
            Some(_) => {}
        }
        observed["strict-transport-security"] = json!(sts);
    }
    let h = security_headers::judge_security_headers(&main.headers, &[]);
    if !h.frame.ok {
        f.push(finding(
            "http.header.xfo_missing",
            Severity::Low,
            "no X-Frame-Options and no CSP frame-ancestors",
        ));
    }
    if !h.nosniff.ok {
        f.push(finding(
            "http.header.nosniff_missing",
            Severity::Low,
            format!("X-Content-Type-Options is {}", h.nosniff.observed),
        ));
    }
    observed["security_headers"] = json!(
        main.headers
            .iter()
            .filter(|(k, _)| security_headers::SECURITY_HEADERS.contains(&k.as_str()))
            .collect::<std::collections::BTreeMap<_, _>>()
    );
    // Each check on its own: one that cannot run is listed, and the others still run.
    let mut origins = behaviour::default_hostile_origins(&host);
    origins.extend(opts.origin.iter().cloned());
    match behaviour::cors(&req, url, &[], &origins).await {
        Ok(tried) => {
            if let Some(why) = tried.iter().find_map(|t| t.verdict.clone()) {
                f.push(finding(
                    "http.cors.reflects_any_origin",
                    Severity::High,
                    why,
                ));
            }
            observed["cors"] = json!(tried);
        }
        Err(e) => errors.push(format!("the CORS check could not run: {e}")),
    }
    if opts.expect_auth || opts.auth_path.is_some() {
        let auth_url = match &opts.auth_path {
            Some(p) => parsed
                .join(p)
                .map_err(|e| format!("bad auth path: {e}"))?
                .to_string(),
            None => url.to_string(),
        };
        match behaviour::auth(&req, &auth_url, &[], opts.token.as_deref()).await {
            Err(e) => errors.push(format!("the auth check could not run: {e}")),
            Ok(seen) => {
                if let Some(status) = seen.right_token.filter(|s| matches!(s, 401 | 403)) {
                    f.push(finding(
                        "http.auth.valid_token_refused",
                        Severity::Medium,
                        format!("{auth_url} refuses the valid token given ({status}): the check of credentials cannot be trusted to accept the right ones"),
                    ));
                }
                if seen.open() {
                    f.push(finding(
                        "http.auth.unauthenticated_access",
                        Severity::High,
                        format!(
                            "without credentials: {}; with a wrong token: {}",
                            seen.without_credentials, seen.wrong_token
                        ),
                    ));
                }
                observed["auth"] = json!({"url": auth_url, "without_credentials": seen.without_credentials, "wrong_token": seen.wrong_token, "valid_token": seen.right_token});
            }
        }
    }
    if let Some(path) = &opts.health {
        let health_url = parsed
            .join(path)
            .map_err(|e| format!("bad health path: {e}"))?;
        let ex = req.send("GET", health_url.as_str(), &[], None).await;
        let ok = matches!(&ex, Ok(e) if e.status == 200 && e.full.as_ref().and_then(|b| b.get("status")).and_then(Value::as_str) == Some("ok"));
        if !ok {
            let seen = match &ex {
                Ok(e) => format!(
                    "{} {}",
                    e.status,
                    shipcheck_core::matcher::show(e.full.as_ref().unwrap_or(&Value::Null), false)
                ),
                Err(e) => e.clone(),
            };
            f.push(finding(
                "http.health.failing",
                Severity::High,
                format!("{health_url}: {seen}"),
            ));
        }
        observed["health"] = json!({"url": health_url.as_str(), "ok": ok});
    }
    if let Some(n) = opts.rate_limit {
        let burst_url = match &opts.burst_path {
            Some(p) => parsed
                .join(p)
                .map_err(|e| format!("bad burst path: {e}"))?
                .to_string(),
            None => url.to_string(),
        };
        match behaviour::burst(
            &req,
            &burst_url,
            &[],
            n.clamp(1, 10_000),
            RATE_WINDOW,
            "GET",
            None,
        )
        .await
        {
            Err(e) => errors.push(format!("the rate-limit check could not run: {e}")),
            Ok(b) => {
                if b.limited_at.is_none() {
                    f.push(finding(
                        "http.ratelimit.missing",
                        Severity::Medium,
                        format!("no 429 in a burst of {} requests", b.sent),
                    ));
                }
                observed["rate_limit"] = json!({"burst": n, "limited_at": b.limited_at});
            }
        }
    }
    Ok(AuditReport {
        schema: PROBE_SCHEMA,
        kind: "http",
        target: url.into(),
        observed,
        findings: f,
        error: None,
        errors,
    })
}
