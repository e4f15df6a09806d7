//! `shipcheck probe tls`: protocols, weak and insecure suites, the certificate.

use super::*;

/// Versions that are a finding when accepted: (protocol key, id, severity, message).
const OLD_PROTOCOLS: [(&str, &str, Severity, &str); 4] = [
    (
        "ssl2",
        "tls.protocol.ssl2_accepted",
        Severity::Critical,
        "SSL 2.0 is accepted: broken by design (DROWN); allow TLS 1.2+ only",
    ),
    (
        "ssl3",
        "tls.protocol.ssl3_accepted",
        Severity::Critical,
        "SSL 3.0 is accepted: POODLE reads its CBC traffic; allow TLS 1.2+ only",
    ),
    (
        "tls1.0",
        "tls.protocol.tls10_accepted",
        Severity::High,
        "TLS 1.0 is accepted; allow TLS 1.2+ only",
    ),
    (
        "tls1.1",
        "tls.protocol.tls11_accepted",
        Severity::High,
        "TLS 1.1 is accepted; allow TLS 1.2+ only",
    ),
];

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
            deep: opts.ciphers,
        },
    ) {
        Ok(r) => r,
        Err(e) => return AuditReport::failed("tls", target.into(), e),
    };
    judged(report, opts)
}

/// The findings of a scan, under the default policy.
fn judged(report: tls::TlsReport, opts: &TlsOptions) -> AuditReport {
    // No handshake at any version: nothing to grade (could not check), and what was seen
    // stays in the JSON.
    if let Some(e) = report.no_handshake() {
        return AuditReport {
            observed: serde_json::to_value(&report).unwrap_or_default(),
            ..AuditReport::failed("tls", report.target.clone(), e)
        };
    }
    let mut f = Vec::new();
    let accepted = |k: &str| report.protocols.get(k) == Some(&true);
    for (version, id, severity, message) in OLD_PROTOCOLS {
        if accepted(version) {
            f.push(finding(id, severity, message));
        }
    }
    if report.heartbleed == Some(true) {
        f.push(finding(
            "tls.heartbleed.vulnerable",
            Severity::Critical,
            "a heartbeat request claiming more bytes than it carried was answered: the server leaks its memory (Heartbleed, CVE-2014-0160)",
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
    if report.robot == Some(true) {
        f.push(finding(
            "tls.robot.vulnerable",
            Severity::High,
            format!(
                "RSA key exchanges get different answers by their padding ({}): a Bleichenbacher oracle (ROBOT) lets an attacker decrypt recorded sessions or sign with the server's key; drop RSA key exchange suites",
                report.robot_answers.clone().unwrap_or_default().join(", ")
            ),
        ));
    }
    if report.client_renegotiation == Some(true) {
        f.push(finding(
            "tls.renegotiation.client_initiated",
            Severity::Medium,
            "the server redoes a handshake whenever its client asks: one client can make it spend a full handshake per request (CVE-2011-1473); disable client-initiated renegotiation",
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
    let ccm8: Vec<&String> = report
        .tls13_suites
        .iter()
        .flatten()
        .filter(|s| s.ends_with("CCM_8_SHA256"))
        .collect();
    if !ccm8.is_empty() {
        f.push(finding(
            "tls.cipher.tls13_ccm8_offered",
            Severity::Low,
            "TLS_AES_128_CCM_8_SHA256 is accepted: its 8-byte tag is for constrained devices (IANA: not recommended), outside Mozilla intermediate",
        ));
    }
    if let Some(weak) = report.weak_groups.as_ref().filter(|w| !w.is_empty()) {
        f.push(finding(
            "tls.group.weak_offered",
            Severity::Medium,
            format!(
                "key exchange over groups below 128-bit security accepted: {}",
                weak.join(", ")
            ),
        ));
    }
    if let Some(bits) = report.dh_bits.filter(|b| *b < 2048) {
        f.push(finding(
            "tls.dh.weak_params",
            Severity::Medium,
            format!("DHE uses a {bits}-bit prime: below 2048 bits, Logjam-class attacks apply; use ECDHE or a 2048-bit+ group"),
        ));
    }
    if report.cipher_order.as_deref() == Some("client")
        && report.weak_ciphers.as_ref().is_some_and(|w| !w.is_empty())
    {
        f.push(finding(
            "tls.cipher.client_order",
            Severity::Low,
            "the server follows the client's suite order and accepts weak suites: a client that lists a weak suite first gets it (set the server's order)",
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
            if !c.server_usage_ok {
                f.push(finding(
                    "tls.cert.key_usage_invalid",
                    Severity::High,
                    format!(
                        "the certificate's usages do not allow a TLS server (key usage: {}; extended: {}): clients refuse it",
                        or_none(&c.key_usage),
                        or_none(&c.extended_key_usage)
                    ),
                ));
            }
            if c.serial_bits < 64 {
                f.push(finding(
                    "tls.cert.serial_short",
                    Severity::Low,
                    format!(
                        "serial {} has {} bits: the CA/Browser Forum requires at least 64 random bits (against chosen-prefix collisions)",
                        c.serial, c.serial_bits
                    ),
                ));
            }
            // Only for public CAs: a private CA (`--ca`) logs nowhere, rightly.
            if report.trusted == Some(true) && opts.ca_file.is_none() && c.embedded_scts == 0 {
                f.push(finding(
                    "tls.cert.sct_missing",
                    Severity::Low,
                    "a publicly trusted certificate with no embedded SCT: Chrome and Safari refuse certificates not logged in Certificate Transparency (unless the server sends SCTs itself)",
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
        // Every check that could not run (a version not answered, a cipher scan cut short,
        // the chain not judged for want of trust anchors): the finding it could have given
        // is missing, so the grade says the audit is incomplete. No TLS 1.2+ handshake is
        // not among them: it is the `tls.handshake.failed` finding.
        errors: report
            .errors
            .iter()
            .filter(|e| !e.starts_with(tls::NO_MODERN_HANDSHAKE))
            .cloned()
            .collect(),
    }
}

fn or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> TlsOptions {
        TlsOptions {
            sni: None,
            ca_file: None,
            resolve: Resolve::default(),
            min_days: 14,
            ciphers: true,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_scan_cut_short_grades_incomplete_and_claims_no_clean_list() {
        let report = tls::TlsReport {
            target: "x.test:443".into(),
            address: "127.0.0.1:443".into(),
            protocols: [("tls1.2".to_string(), true), ("tls1.3".to_string(), true)].into(),
            weak_ciphers: Some(Vec::new()),
            insecure_ciphers: Some(Vec::new()),
            errors: vec!["cipher scan at TLS 1.2: timed out".into()],
            ..Default::default()
        };
        let audit = judged(report, &opts());
        assert_eq!(audit.errors, ["cipher scan at TLS 1.2: timed out"]);
        assert!(audit.grade().ends_with('*'), "{}", audit.grade());
        let text = render(std::slice::from_ref(&audit), false);
        assert!(
            text.contains("weak ciphers: none found (the scan did not finish)"),
            "{text}"
        );
        assert!(!text.contains("ciphers: none\n"), "{text}");
    }

    #[test]
    fn no_handshake_at_any_version_is_not_graded() {
        let report = tls::TlsReport {
            target: "x.test:443".into(),
            address: "127.0.0.1:443".into(),
            protocols: [("tls1.2".to_string(), false)].into(),
            errors: vec!["TLS 1.3: timed out".into()],
            ..Default::default()
        };
        let audit = judged(report, &opts());
        assert_eq!(audit.grade(), "?");
        assert!(audit.findings.is_empty());
        let e = audit.error.unwrap_or_default();
        assert!(
            e.contains("no TLS handshake with x.test:443") && e.contains("TLS 1.3: timed out"),
            "{e}"
        );
    }
}
