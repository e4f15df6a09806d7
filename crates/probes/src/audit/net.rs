//! `shipcheck probe tcp`, `dns` and `postgres`.

use super::*;

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
                errors: Vec::new(),
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
            errors: Vec::new(),
        },
        Err(crate::dns::Unresolved::CannotTell(e)) => AuditReport::failed("dns", name.into(), e),
        Err(crate::dns::Unresolved::NoSuchName(e)) => AuditReport {
            schema: PROBE_SCHEMA,
            kind: "dns",
            target: name.into(),
            observed: Value::Null,
            findings: vec![finding("dns.name.unresolved", Severity::High, e)],
            error: None,
            errors: Vec::new(),
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
                    errors: Vec::new(),
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
