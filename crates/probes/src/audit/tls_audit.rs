//! `shipcheck probe tls`: protocols, weak and insecure suites, the certificate.

use super::*;

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
    if report.compression == Some(true) {
        f.push(finding(
            "tls.compression.enabled",
            Severity::High,
            "the server takes TLS compression (DEFLATE) when offered: CRIME lets an attacker read secrets such as cookies",
        ));
    }
    if report.ocsp_stapled == Some(false)
        && let Some(url) = report
            .certificate
            .as_ref()
            .and_then(|c| c.ocsp_url.as_ref())
    {
        f.push(finding(
            "tls.ocsp.not_stapled",
            Severity::Low,
            format!("the certificate names an OCSP responder ({url}) but the server staples no response: each client asks the CA itself (slower, and it tells the CA who visits), and soft-failing clients miss a revocation"),
        ));
    }
    if report.resumption == Some(false) {
        f.push(finding(
            "tls.resumption.unsupported",
            Severity::Info,
            "a second handshake offering the first one's session was not resumed: every connection pays a full handshake",
        ));
    }
    if report.fallback_scsv == Some(false) {
        f.push(finding(
            "tls.fallback_scsv.missing",
            Severity::Medium,
            "a downgraded ClientHello with TLS_FALLBACK_SCSV was accepted: the server does not stop protocol downgrades (RFC 7507)",
        ));
    }
    if report.secure_renegotiation == Some(false) {
        f.push(finding(
            "tls.renegotiation.insecure",
            Severity::Medium,
            "a TLS 1.2-or-older ServerHello lacks renegotiation_info: the server does not support secure renegotiation (RFC 5746)",
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
            // Both when both hold: a missing intermediate is the cause, and the chain as
            // served still does not verify.
            if report.chain_incomplete == Some(true) {
                f.push(finding("tls.cert.chain_incomplete", Severity::High, format!("the server does not send the intermediate that issued the last certificate ({})", c.issuer)));
            }
            if report.trusted == Some(false) {
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
        errors: Vec::new(),
    }
}
