//! Ad-hoc audits (`shipcheck probe KIND TARGET`): one probe, once, outside any pack, with
//! findings under a default policy. Finding ids are stable and listed in docs/findings.md.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::http::{self, ClientKey, Requester};
use crate::tls::{self, Scope, Target};
use shipcheck_core::pack::Severity;

/// Version of the `shipcheck probe --format json` document.
pub const PROBE_SCHEMA: &str = "shipcheck/probe/v1";

/// One finding of an audit.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AuditFinding {
    /// Stable id such as `tls.protocol.tls10_accepted`.
    pub id: &'static str,
    pub severity: Severity,
    pub message: String,
}

/// The result of auditing one target.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    pub schema: &'static str,
    pub kind: &'static str,
    pub target: String,
    /// What was observed (probe-specific).
    pub observed: Value,
    pub findings: Vec<AuditFinding>,
    /// Set when the target could not be checked at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AuditReport {
    fn failed(kind: &'static str, target: String, error: String) -> Self {
        AuditReport {
            schema: PROBE_SCHEMA,
            kind,
            target,
            observed: Value::Null,
            findings: Vec::new(),
            error: Some(error),
        }
    }

    /// Whether this report fails at `threshold` (a could-not-check always fails).
    pub fn fails(&self, threshold: Severity) -> bool {
        self.error.is_some() || self.findings.iter().any(|f| f.severity >= threshold)
    }
}

fn finding(id: &'static str, severity: Severity, message: impl Into<String>) -> AuditFinding {
    AuditFinding {
        id,
        severity,
        message: message.into(),
    }
}

/// `NAME:PORT:IP` overrides, as curl's `--resolve`.
#[derive(Clone, Debug, Default)]
pub struct Resolve(pub Vec<(String, u16, IpAddr)>);

impl Resolve {
    /// Parses `NAME:PORT:IP` (IPv6 in brackets).
    pub fn parse(text: &str) -> Result<(String, u16, IpAddr), String> {
        let bad = || format!("`{text}` is not NAME:PORT:IP");
        let (name, rest) = text.split_once(':').ok_or_else(bad)?;
        let (port, ip) = rest.split_once(':').ok_or_else(bad)?;
        let ip = ip
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad())?;
        Ok((name.to_string(), port.parse().map_err(|_| bad())?, ip))
    }

    pub fn lookup(&self, host: &str, port: u16) -> Option<IpAddr> {
        self.0
            .iter()
            .find(|(n, p, _)| n.eq_ignore_ascii_case(host) && *p == port)
            .map(|(_, _, ip)| *ip)
    }
}

/// Options of a TLS audit.
#[derive(Clone, Debug)]
pub struct TlsOptions {
    pub sni: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub resolve: Resolve,
    /// `tls.cert.expires_soon` below this many days (default 30).
    pub min_days: i64,
    pub ciphers: bool,
    pub timeout: Duration,
}

/// Splits `host:port` (default port `default`), IPv6 in brackets.
pub fn host_port(text: &str, default: u16) -> Result<(String, u16), String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('[') {
        let (h, tail) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{t}`: unclosed ["))?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("`{t}`: bad port"))?,
            None => default,
        };
        return Ok((h.to_string(), port));
    }
    match t.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Ok((
            h.to_string(),
            p.parse()
                .map_err(|_| format!("`{t}`: `{p}` is not a port"))?,
        )),
        _ => Ok((t.to_string(), default)),
    }
}

/// Audits the TLS of `target` (`host[:port]`).
pub fn tls(target: &str, opts: &TlsOptions) -> AuditReport {
    let (host, port) = match host_port(target, 443) {
        Ok(hp) => hp,
        Err(e) => return AuditReport::failed("tls", target.into(), e),
    };
    let t = Target {
        address: opts
            .resolve
            .lookup(opts.sni.as_deref().unwrap_or(&host), port)
            .or_else(|| opts.resolve.lookup(&host, port)),
        host,
        port,
        sni: opts.sni.clone(),
        ca_file: opts.ca_file.clone(),
        timeout: opts.timeout,
    };
    let report = match tls::scan(
        &t,
        Scope {
            protocols: true,
            ciphers: opts.ciphers,
            certificate: true,
        },
    ) {
        Ok(r) => r,
        Err(e) => return AuditReport::failed("tls", target.into(), e),
    };
    let mut f = Vec::new();
    let accepted = |k: &str| report.protocols.get(k) == Some(&true);
    if accepted("tls1.0") {
        f.push(finding(
            "tls.protocol.tls10_accepted",
            Severity::High,
            "TLS 1.0 is accepted; allow TLS 1.2+ only",
        ));
    }
    if accepted("tls1.1") {
        f.push(finding(
            "tls.protocol.tls11_accepted",
            Severity::High,
            "TLS 1.1 is accepted; allow TLS 1.2+ only",
        ));
    }
    if let Some(list) = report.insecure_ciphers.as_ref().filter(|l| !l.is_empty()) {
        f.push(finding(
            "tls.cipher.insecure_offered",
            Severity::High,
            format!("insecure suites accepted: {}", list.join(", ")),
        ));
    }
    if let Some(list) = report.weak_ciphers.as_ref().filter(|l| !l.is_empty()) {
        f.push(finding(
            "tls.cipher.weak_offered",
            Severity::Medium,
            format!(
                "suites outside Mozilla intermediate accepted: {}",
                list.join(", ")
            ),
        ));
    }
    match &report.certificate {
        None => f.push(finding(
            "tls.handshake.failed",
            Severity::High,
            format!(
                "no TLS 1.2+ handshake, so no certificate: {}",
                report.errors.join("; ")
            ),
        )),
        Some(c) => {
            if c.expired {
                f.push(finding(
                    "tls.cert.expired",
                    Severity::Critical,
                    format!("expired {} ({} days ago)", c.not_after, -c.days_left),
                ));
            } else if c.not_yet_valid {
                f.push(finding(
                    "tls.cert.not_yet_valid",
                    Severity::High,
                    format!("not valid before {}", c.not_before),
                ));
            } else if c.days_left < opts.min_days {
                f.push(finding(
                    "tls.cert.expires_soon",
                    Severity::Medium,
                    format!(
                        "{} days left (expires {}); threshold {} days",
                        c.days_left, c.not_after, opts.min_days
                    ),
                ));
            }
            if !c.hostname_matches {
                f.push(finding(
                    "tls.cert.hostname_mismatch",
                    Severity::High,
                    format!("not valid for {}: names {}", report.sni, c.sans.join(", ")),
                ));
            }
            if report.chain_incomplete == Some(true) {
                f.push(finding("tls.cert.chain_incomplete", Severity::High, format!("the server does not send the intermediate that issued the last certificate ({})", c.issuer)));
            } else if report.trusted == Some(false) {
                f.push(finding(
                    "tls.cert.untrusted",
                    Severity::High,
                    format!(
                        "chain does not verify: {}",
                        report.trust_error.clone().unwrap_or_default()
                    ),
                ));
            }
            if c.self_signed {
                f.push(finding(
                    "tls.cert.self_signed",
                    Severity::High,
                    format!("self-signed: {}", c.subject),
                ));
            }
            if c.weak_key {
                f.push(finding(
                    "tls.cert.weak_key",
                    Severity::High,
                    format!("{} {} bits", c.key_type, c.key_bits),
                ));
            }
            if c.sha1_signature {
                f.push(finding(
                    "tls.cert.sha1_signature",
                    Severity::Medium,
                    c.signature_algorithm.clone(),
                ));
            }
        }
    }
    AuditReport {
        schema: PROBE_SCHEMA,
        kind: "tls",
        target: report.target.clone(),
        observed: serde_json::to_value(&report).unwrap_or_default(),
        findings: f,
        error: None,
    }
}

/// Options of an HTTP audit.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub resolve: Resolve,
    /// Port of plain HTTP for the redirect check (default 80).
    pub http_port: Option<u16>,
    pub expect_auth: bool,
    /// Path of a health endpoint that must return 200 `{"status":"ok"}`.
    pub health: Option<String>,
    /// Burst size for the rate-limit check (none: not checked).
    pub rate_limit: Option<u32>,
    pub timeout: Duration,
}

/// HSTS max-age below which `http.hsts.short_max_age` is reported: 180 days.
pub const HSTS_MIN: u64 = 180 * 86_400;

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
            max_body: 64 * 1024,
            gate,
        })
    };
    let req = requester(false, port)?;
    let mut f = Vec::new();
    let main = req.send("GET", url, &[], None).await?;
    let mut observed = json!({"url": url, "status": main.status});
    // Redirect to https.
    let http_port = opts.http_port.unwrap_or(80);
    let plain_url = if parsed.scheme() == "http" {
        Some(url.to_string())
    } else {
        let mut u = parsed.clone();
        let _ = u.set_scheme("http");
        let _ = u.set_port(if http_port == 80 {
            None
        } else {
            Some(http_port)
        });
        Some(u.to_string())
    };
    if let Some(plain) = plain_url {
        let plain_req = requester(false, http_port)?;
        match plain_req.send("GET", &plain, &[], None).await {
            Ok(ex) => {
                let r = http::judge_redirect(&ex, &host);
                if !r.ok {
                    f.push(finding(
                        "http.redirect.missing",
                        Severity::Medium,
                        format!("{plain} answers {}", r.observed),
                    ));
                }
                observed["redirect"] = json!({"sent": ex.sent, "status": ex.status, "location": ex.headers.get("location")});
            }
            Err(e) => observed["redirect"] = json!({"sent": plain, "error": e}),
        }
    }
    if parsed.scheme() == "https" {
        let sts = main.headers.get("strict-transport-security");
        match sts.map(|v| (v, http::hsts_max_age(v))) {
            None => f.push(finding(
                "http.hsts.missing",
                Severity::Medium,
                "no Strict-Transport-Security header",
            )),
            Some((v, age)) if age.unwrap_or(0) < HSTS_MIN => f.push(finding(
                "http.hsts.short_max_age",
                Severity::Low,
                format!("`{v}`: max-age below 180 days"),
            )),
            Some(_) => {}
        }
        observed["strict-transport-security"] = json!(sts);
    }
    let h = http::judge_security_headers(&main.headers, &[]);
    if !h[0].ok {
        f.push(finding(
            "http.header.xfo_missing",
            Severity::Low,
            "no X-Frame-Options and no CSP frame-ancestors",
        ));
    }
    if !h[1].ok {
        f.push(finding(
            "http.header.nosniff_missing",
            Severity::Low,
            format!("X-Content-Type-Options is {}", h[1].observed),
        ));
    }
    observed["security_headers"] = json!(
        main.headers
            .iter()
            .filter(|(k, _)| http::SECURITY_HEADERS.contains(&k.as_str()))
            .collect::<std::collections::BTreeMap<_, _>>()
    );
    let mut cors = Vec::new();
    for origin in http::default_hostile_origins(&host) {
        for preflight in [false, true] {
            let mut hdr = vec![("origin".to_string(), origin.clone())];
            if preflight {
                hdr.push(("access-control-request-method".into(), "POST".into()));
            }
            let ex = req
                .send(if preflight { "OPTIONS" } else { "GET" }, url, &hdr, None)
                .await?;
            let acao = ex.headers.get("access-control-allow-origin");
            let acac = ex.headers.get("access-control-allow-credentials");
            if let Some(why) =
                http::cors_verdict(&origin, acao.map(String::as_str), acac.map(String::as_str))
                && !f.iter().any(|x| x.id == "http.cors.reflects_any_origin")
            {
                f.push(finding(
                    "http.cors.reflects_any_origin",
                    Severity::High,
                    why,
                ));
            }
            cors.push(json!({"origin": origin, "preflight": preflight, "status": ex.status, "access-control-allow-origin": acao, "access-control-allow-credentials": acac}));
        }
    }
    observed["cors"] = json!(cors);
    if opts.expect_auth {
        let none = main.status;
        let wrong = req
            .send(
                "GET",
                url,
                &[(
                    "authorization".into(),
                    "Bearer shipcheck-wrong-token-0000000000000000".into(),
                )],
                None,
            )
            .await?
            .status;
        if (200..300).contains(&none) || (200..300).contains(&wrong) {
            f.push(finding(
                "http.auth.unauthenticated_access",
                Severity::High,
                format!("without credentials: {none}; with a wrong token: {wrong}"),
            ));
        }
        observed["auth"] = json!({"without_credentials": none, "wrong_token": wrong});
    }
    if let Some(path) = &opts.health {
        let health_url = parsed
            .join(path)
            .map_err(|e| format!("bad health path: {e}"))?;
        let ex = req.send("GET", health_url.as_str(), &[], None).await;
        let ok = matches!(&ex, Ok(e) if e.status == 200 && e.body.as_ref().and_then(|b| b.get("status")).and_then(Value::as_str) == Some("ok"));
        if !ok {
            let seen = match &ex {
                Ok(e) => format!(
                    "{} {}",
                    e.status,
                    shipcheck_core::matcher::show(e.body.as_ref().unwrap_or(&Value::Null), false)
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
        let mut at = None;
        for i in 1..=n.min(10_000) {
            if req.send("GET", url, &[], None).await?.status == 429 {
                at = Some(i);
                break;
            }
        }
        if at.is_none() {
            f.push(finding(
                "http.ratelimit.missing",
                Severity::Medium,
                format!("no 429 in a burst of {n} requests"),
            ));
        }
        observed["rate_limit"] = json!({"burst": n, "limited_at": at});
    }
    Ok(AuditReport {
        schema: PROBE_SCHEMA,
        kind: "http",
        target: url.into(),
        observed,
        findings: f,
        error: None,
    })
}

/// Audits a TCP port: `expect_closed` turns an open port into a finding.
pub fn tcp(target: &str, expect_closed: bool, timeout: Duration) -> AuditReport {
    let (host, port) = match host_port(target, 0) {
        Ok((h, p)) if p != 0 => (h, p),
        Ok(_) => return AuditReport::failed("tcp", target.into(), "give HOST:PORT".into()),
        Err(e) => return AuditReport::failed("tcp", target.into(), e),
    };
    match crate::tcp::connect(&host, port, timeout) {
        Ok((open, how, addr)) => {
            let mut f = Vec::new();
            if open && expect_closed {
                f.push(finding(
                    "tcp.port.exposed",
                    Severity::High,
                    format!("{host}:{port} accepts connections"),
                ));
            }
            if !open && !expect_closed {
                f.push(finding(
                    "tcp.port.closed",
                    Severity::High,
                    format!("{host}:{port}: {how}"),
                ));
            }
            AuditReport {
                schema: PROBE_SCHEMA,
                kind: "tcp",
                target: target.into(),
                observed: json!({"address": addr.to_string(), "open": open, "detail": how}),
                findings: f,
                error: None,
            }
        }
        Err(e) => AuditReport::failed("tcp", target.into(), e),
    }
}

/// Audits name resolution.
pub fn dns(name: &str) -> AuditReport {
    match crate::dns::resolve(name) {
        Ok(a) => AuditReport {
            schema: PROBE_SCHEMA,
            kind: "dns",
            target: name.into(),
            observed: json!(a),
            findings: Vec::new(),
            error: None,
        },
        Err(e) => AuditReport {
            schema: PROBE_SCHEMA,
            kind: "dns",
            target: name.into(),
            observed: Value::Null,
            findings: vec![finding("dns.name.unresolved", Severity::High, e)],
            error: None,
        },
    }
}

/// Audits a PostgreSQL server. Returns the report and the secrets to scrub from output.
pub fn postgres(
    url: &str,
    ca: Option<&std::path::Path>,
    timeout: Duration,
) -> (AuditReport, Vec<String>) {
    let target = shipcheck_net::pg::display_target(url);
    match crate::postgres::audit(url, ca, timeout) {
        Ok((r, secrets)) => {
            let ids = [
                "postgres.version",
                "postgres.ssl.off",
                "postgres.ssl.old_protocols",
                "postgres.password.not_scram",
                "postgres.plaintext.accepted",
                "postgres.hba.trust",
            ];
            let sev = [
                Severity::Info,
                Severity::High,
                Severity::Medium,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ];
            let f = crate::postgres::judge(&r)
                .into_iter()
                .zip(ids.iter().zip(sev))
                .filter(|(x, _)| !x.ok)
                .map(|(x, (id, s))| {
                    finding(
                        id,
                        s,
                        format!("expected {}, found {}", x.expected, x.observed),
                    )
                })
                .collect();
            (
                AuditReport {
                    schema: PROBE_SCHEMA,
                    kind: "postgres",
                    target,
                    observed: serde_json::to_value(&r).unwrap_or_default(),
                    findings: f,
                    error: None,
                },
                secrets,
            )
        }
        Err(e) => (
            AuditReport::failed("postgres", target, e),
            vec![url.to_string()],
        ),
    }
}

/// Renders audit reports for a terminal.
pub fn render(reports: &[AuditReport], color: bool) -> String {
    use std::fmt::Write;
    let paint = |code: &str, t: &str| {
        if color {
            format!("\x1b[{code}m{t}\x1b[0m")
        } else {
            t.to_string()
        }
    };
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(out, "{}", paint("1", &format!("{} {}", r.kind, r.target)));
        if let Some(e) = &r.error {
            let _ = writeln!(out, "  {} could not check: {e}", paint("35", "?"));
            continue;
        }
        for line in summary_lines(r) {
            let _ = writeln!(out, "  {line}");
        }
        if r.findings.is_empty() {
            let _ = writeln!(out, "  {} no findings", paint("32", "✓"));
        }
        for f in &r.findings {
            let _ = writeln!(
                out,
                "  {} [{}] {}  {}",
                paint("31", "✗"),
                f.severity.as_str(),
                f.id,
                f.message
            );
        }
    }
    out
}

fn summary_lines(r: &AuditReport) -> Vec<String> {
    let o = &r.observed;
    let mut v = Vec::new();
    match r.kind {
        "tls" => {
            if let Some(p) = o.get("protocols").and_then(Value::as_object) {
                let shown: Vec<String> = p
                    .iter()
                    .map(|(k, a)| {
                        format!(
                            "{k} {}",
                            if a.as_bool() == Some(true) {
                                "yes"
                            } else {
                                "no"
                            }
                        )
                    })
                    .collect();
                v.push(format!("protocols: {}", shown.join(" · ")));
            }
            if let Some(n) = o.get("negotiated").and_then(Value::as_str) {
                v.push(format!("negotiated: {n}"));
            }
            for key in ["insecure_ciphers", "weak_ciphers"] {
                if let Some(list) = o.get(key).and_then(Value::as_array) {
                    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                    v.push(format!(
                        "{}: {}",
                        key.replace('_', " "),
                        if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        }
                    ));
                }
            }
            if let Some(c) = o.get("certificate") {
                v.push(format!(
                    "certificate: {} · issuer {} · SANs {} · {} to {} ({} days left) · {} {} · {}",
                    c["subject"].as_str().unwrap_or("?"),
                    c["issuer"].as_str().unwrap_or("?"),
                    c["sans"]
                        .as_array()
                        .map(|a| a
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", "))
                        .unwrap_or_default(),
                    c["not_before"].as_str().unwrap_or("?"),
                    c["not_after"].as_str().unwrap_or("?"),
                    c["days_left"],
                    c["key_type"].as_str().unwrap_or("?"),
                    c["key_bits"],
                    c["signature_algorithm"].as_str().unwrap_or("?"),
                ));
                v.push(format!(
                    "trusted: {}",
                    if o["trusted"] == true {
                        "yes".to_string()
                    } else {
                        format!("no ({})", o["trust_error"].as_str().unwrap_or("?"))
                    }
                ));
            }
        }
        "http" => {
            v.push(format!("status: {}", o["status"]));
            if let Some(r) = o.get("redirect") {
                v.push(match r.get("error").and_then(Value::as_str) {
                    Some(e) => format!("redirect: {} → {e}", r["sent"].as_str().unwrap_or("")),
                    None => format!(
                        "redirect: {} → {} {}",
                        r["sent"].as_str().unwrap_or(""),
                        r["status"],
                        r["location"].as_str().unwrap_or("(no Location)")
                    ),
                });
            }
            if let Some(h) = o.get("strict-transport-security") {
                v.push(format!("hsts: {}", h.as_str().unwrap_or("(none)")));
            }
            if let Some(h) = o.get("security_headers").and_then(Value::as_object) {
                let shown: Vec<String> = h
                    .iter()
                    .filter(|(k, _)| *k != "strict-transport-security")
                    .map(|(k, x)| format!("{k}: {}", x.as_str().unwrap_or("")))
                    .collect();
                v.push(format!(
                    "headers: {}",
                    if shown.is_empty() {
                        "(none of the security headers)".to_string()
                    } else {
                        shown.join(" · ")
                    }
                ));
            }
            if let Some(c) = o.get("cors").and_then(Value::as_array) {
                let allowed: Vec<String> = c
                    .iter()
                    .filter(|x| !x["access-control-allow-origin"].is_null())
                    .map(|x| {
                        format!(
                            "{}{} → {}",
                            x["origin"].as_str().unwrap_or(""),
                            if x["preflight"] == true {
                                " (preflight)"
                            } else {
                                ""
                            },
                            x["access-control-allow-origin"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                v.push(format!(
                    "cors (hostile origins): {}",
                    if allowed.is_empty() {
                        "no Access-Control-Allow-Origin".to_string()
                    } else {
                        allowed.join(" · ")
                    }
                ));
            }
            if let Some(a) = o.get("auth") {
                v.push(format!(
                    "auth: without credentials {} · wrong token {}",
                    a["without_credentials"], a["wrong_token"]
                ));
            }
            if let Some(r) = o.get("rate_limit") {
                v.push(format!(
                    "rate limit: burst of {} → 429 at request {}",
                    r["burst"], r["limited_at"]
                ));
            }
        }
        "postgres" => {
            if let Some(map) = o.as_object() {
                v.extend(
                    map.iter()
                        .filter(|(k, _)| *k != "trust_rules")
                        .map(|(k, x)| {
                            format!(
                                "{k}: {}",
                                x.as_str().map_or_else(|| x.to_string(), String::from)
                            )
                        }),
                );
            }
        }
        _ => v.push(format!(
            "observed: {}",
            shipcheck_core::matcher::show(o, false)
        )),
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets_and_resolve() {
        assert_eq!(
            host_port("example.com:8443", 443).unwrap(),
            ("example.com".into(), 8443)
        );
        assert_eq!(
            host_port("example.com", 443).unwrap(),
            ("example.com".into(), 443)
        );
        assert_eq!(host_port("[::1]:9", 443).unwrap(), ("::1".into(), 9));
        assert!(host_port("a:b", 443).is_err());
        let r = Resolve::parse("app.test:443:127.0.0.1").unwrap();
        assert_eq!(r, ("app.test".into(), 443, "127.0.0.1".parse().unwrap()));
        assert!(Resolve::parse("app.test:443").is_err());
        assert_eq!(
            Resolve::parse("x:1:[::1]").unwrap().2,
            "::1".parse::<IpAddr>().unwrap()
        );
    }
}

/// Kinds of ad-hoc audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tls,
    Http,
    Tcp,
    Dns,
    Postgres,
}

/// Everything an ad-hoc run needs.
#[derive(Clone, Debug)]
pub struct Options {
    pub tls: TlsOptions,
    pub http: HttpOptions,
    pub expect_closed: bool,
    pub timeout: Duration,
    /// Targets audited at once.
    pub concurrency: usize,
}

/// Audits every target concurrently (bounded by `concurrency`), in input order. Returns
/// the reports and the secret strings that must be scrubbed from any output.
pub fn run(
    kind: Kind,
    targets: &[String],
    opts: &Options,
) -> Result<(Vec<AuditReport>, Vec<String>), std::io::Error> {
    shipcheck_net::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Audits are bounded by the semaphore below; the rest of the pool serves the
        // blocking work they start themselves (DNS lookups of the HTTP client).
        .max_blocking_threads(opts.concurrency.max(1) + 16)
        .enable_all()
        .build()?;
    let results = runtime.block_on(async {
        let permits = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
        let cache = Arc::new(crate::Cache::default());
        let mut handles = Vec::new();
        for target in targets {
            let (target, opts, permits, cache) = (
                target.clone(),
                opts.clone(),
                Arc::clone(&permits),
                Arc::clone(&cache),
            );
            handles.push(tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                let job = tokio::task::spawn_blocking(move || match kind {
                    Kind::Tls => (tls(&target, &opts.tls), Vec::new()),
                    Kind::Http => (http(&target, &opts.http, &cache), Vec::new()),
                    Kind::Tcp => (tcp(&target, opts.expect_closed, opts.timeout), Vec::new()),
                    Kind::Dns => (dns(&target), Vec::new()),
                    Kind::Postgres => postgres(&target, opts.tls.ca_file.as_deref(), opts.timeout),
                });
                job.await
            }));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await);
        }
        out
    });
    let mut reports = Vec::new();
    let mut secrets = Vec::new();
    for (r, target) in results.into_iter().zip(targets) {
        match r {
            Ok(Ok((report, s))) => {
                reports.push(report);
                secrets.extend(s);
            }
            _ => reports.push(AuditReport::failed(
                "probe",
                target.clone(),
                "the probe crashed".into(),
            )),
        }
    }
    Ok((reports, secrets))
}
