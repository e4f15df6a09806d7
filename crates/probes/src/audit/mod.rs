//! Ad-hoc audits (`shipcheck probe KIND TARGET`): one probe, once, outside any pack, with
//! findings under a default policy. Finding ids are stable and listed in docs/findings.md.
//! One module per kind of target; [`render`] prints reports for a terminal.

mod as_run;
mod http_audit;
mod net;
mod render;
pub mod targets;
mod tls_audit;

pub use as_run::{RunInfo, to_run};
pub use http_audit::{HttpOptions, http};
pub use net::{dns, postgres, tcp};
pub use render::render;
pub use tls_audit::tls;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::http::{self, ClientKey, Requester, behaviour, hsts, security_headers};
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
    /// Checks of the target that could not run (the others did): never "no findings".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// A report with its grade, as `--format json` prints it.
#[derive(Serialize)]
pub struct Graded<'a> {
    #[serde(flatten)]
    pub report: &'a AuditReport,
    pub grade: &'static str,
}

impl AuditReport {
    /// The grade of a target (`grade/v1`, docs/findings.md): `F` with a critical finding,
    /// `D` with a high one, `C` with a medium one, `B` with a low one, else `A`; `?` when the
    /// target could not be checked at all. A target whose checks did not all run gets its
    /// grade from what was found, with `*` (incomplete: never better than it looks).
    pub fn grade(&self) -> &'static str {
        if self.error.is_some() {
            return "?";
        }
        let worst = self.findings.iter().map(|f| f.severity).max();
        let incomplete = !self.errors.is_empty();
        match (worst, incomplete) {
            (Some(Severity::Critical), false) => "F",
            (Some(Severity::Critical), true) => "F*",
            (Some(Severity::High), false) => "D",
            (Some(Severity::High), true) => "D*",
            (Some(Severity::Medium), false) => "C",
            (Some(Severity::Medium), true) => "C*",
            (Some(Severity::Low), false) => "B",
            (Some(Severity::Low), true) => "B*",
            (_, false) => "A",
            (_, true) => "A*",
        }
    }

    fn failed(kind: &'static str, target: String, error: String) -> Self {
        AuditReport {
            schema: PROBE_SCHEMA,
            kind,
            target,
            observed: Value::Null,
            findings: Vec::new(),
            error: Some(error),
            errors: Vec::new(),
        }
    }

    /// Whether this report fails at `threshold` (a could-not-check always fails).
    pub fn fails(&self, threshold: Severity) -> bool {
        self.error.is_some()
            || !self.errors.is_empty()
            || self.findings.iter().any(|f| f.severity >= threshold)
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

/// Kinds of ad-hoc audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tls,
    Http,
    Tcp,
    Dns,
    Postgres,
}

impl Kind {
    /// The kind as the command line names it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tls => "tls",
            Kind::Http => "http",
            Kind::Tcp => "tcp",
            Kind::Dns => "dns",
            Kind::Postgres => "postgres",
        }
    }
}

/// Everything an ad-hoc run needs.
#[derive(Clone, Debug)]
pub struct Options {
    pub tls: TlsOptions,
    pub http: HttpOptions,
    pub expect_closed: bool,
    pub timeout: Duration,
}

/// Audits every target concurrently (bounded by `concurrency`), in input order. Returns
/// the reports and the secret strings that must be scrubbed from any output.
pub fn run(
    kind: Kind,
    targets: &[(String, Options)],
    concurrency: usize,
) -> Result<(Vec<AuditReport>, Vec<String>), std::io::Error> {
    shipcheck_net::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Audits are bounded by the semaphore below; the rest of the pool serves the
        // blocking work they start themselves (DNS lookups of the HTTP client).
        .max_blocking_threads(concurrency.max(1) + 16)
        .enable_all()
        .build()?;
    let results = runtime.block_on(async {
        let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let cache = Arc::new(crate::Cache::default());
        let mut handles = Vec::new();
        for (target, opts) in targets {
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
    for (r, (target, _)) in results.into_iter().zip(targets) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_follow_the_worst_finding_and_say_when_incomplete() {
        let mut r = AuditReport::failed("tls", "x".into(), "refused".into());
        assert_eq!(r.grade(), "?");
        r.error = None;
        assert_eq!(r.grade(), "A");
        r.findings.push(finding("a", Severity::Info, "i"));
        assert_eq!(r.grade(), "A");
        r.findings.push(finding("b", Severity::Medium, "m"));
        assert_eq!(r.grade(), "C");
        r.errors.push("a check could not run".into());
        assert_eq!(r.grade(), "C*");
        r.findings.push(finding("c", Severity::Critical, "c"));
        assert_eq!(r.grade(), "F*");
    }

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
