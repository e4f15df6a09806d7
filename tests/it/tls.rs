//! `shipcheck probe tls` and the `tls` pack probe against in-process rustls servers with
//! rcgen certificates: good, expired, not yet valid, wrong host, self-signed, untrusted,
//! incomplete chain, short-lived; and an unreachable port.

use crate::common::pki::{self, Cert};
use crate::common::*;

struct Scenario {
    _dir: tempfile::TempDir,
    ca_file: String,
    server: pki::TlsServer,
}

/// Serves `leaf` (plus `extra` chain certificates) and writes `trust` as the CA file.
fn scenario(leaf: &Cert, extra: &[&Cert], trust: &Cert) -> Scenario {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &trust.pem).unwrap();
    let mut chain = vec![leaf.der.clone()];
    chain.extend(extra.iter().map(|c| c.der.clone()));
    let server = pki::serve(chain, leaf.key_der());
    Scenario {
        ca_file: ca_file.display().to_string(),
        server,
        _dir: dir,
    }
}

fn probe(s: &Scenario, extra: &[&str]) -> (i32, serde_json::Value) {
    probe_at(s.server.port, &s.ca_file, extra)
}

/// `shipcheck probe tls` of a loopback server (SNI localhost) trusting `ca_file`.
pub(crate) fn probe_at(port: u16, ca_file: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let target = format!("127.0.0.1:{port}");
    let mut args = vec![
        "probe",
        "tls",
        &target,
        "--sni",
        "localhost",
        "--ca",
        ca_file,
        "--no-ciphers",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = shipcheck(std::path::Path::new("."), &args);
    let v = json(&out);
    (out.status.code().unwrap_or(-1), v[0].clone())
}

pub(crate) fn ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

fn ca() -> Cert {
    pki::self_signed("test root", &[], -10, 365, true)
}

#[test]
fn good_certificate_has_no_findings() {
    let ca = ca();
    let leaf = pki::issued(&ca, "localhost", &["localhost"], -1, 90, false);
    let s = scenario(&leaf, &[], &ca);
    let (code, r) = probe(&s, &[]);
    assert_eq!(ids(&r), Vec::<String>::new(), "{r:#}");
    assert_eq!(code, 0);
    let o = &r["observed"];
    assert_eq!(
        o["protocols"]["tls1.0"], false,
        "rustls refuses TLS 1.0: {o:#}"
    );
    assert_eq!(o["protocols"]["tls1.1"], false);
    assert_eq!(o["protocols"]["tls1.2"], true);
    assert_eq!(o["protocols"]["tls1.3"], true);
    assert_eq!(o["trusted"], true);
    assert_eq!(o["certificate"]["hostname_matches"], true);
    assert!(o["certificate"]["days_left"].as_i64().unwrap() >= 89);
    assert_eq!(o["certificate"]["key_type"], "EC");
}

#[test]
fn expired_and_not_yet_valid() {
    let ca = ca();
    let expired = pki::issued(&ca, "localhost", &["localhost"], -60, -1, false);
    let s = scenario(&expired, &[], &ca);
    let (code, r) = probe(&s, &[]);
    assert_eq!(code, 1);
    assert_eq!(ids(&r), ["tls.cert.expired"], "{r:#}");
    let future = pki::issued(&ca, "localhost", &["localhost"], 2, 90, false);
    let s = scenario(&future, &[], &ca);
    assert_eq!(ids(&probe(&s, &[]).1), ["tls.cert.not_yet_valid"]);
}

#[test]
fn hostname_mismatch() {
    let ca = ca();
    let leaf = pki::issued(&ca, "other", &["other.example"], -1, 90, false);
    let s = scenario(&leaf, &[], &ca);
    let (_, r) = probe(&s, &[]);
    assert_eq!(ids(&r), ["tls.cert.hostname_mismatch"], "{r:#}");
    assert_eq!(
        r["observed"]["trusted"], true,
        "trust is judged apart from the name"
    );
}

#[test]
fn self_signed_and_untrusted() {
    let ca = ca();
    let own = pki::self_signed("localhost", &["localhost"], -1, 90, false);
    let s = scenario(&own, &[], &ca);
    assert_eq!(
        ids(&probe(&s, &[]).1),
        ["tls.cert.untrusted", "tls.cert.self_signed"]
    );
    let other_ca = pki::self_signed("other root", &[], -10, 365, true);
    let leaf = pki::issued(&other_ca, "localhost", &["localhost"], -1, 90, false);
    let s = scenario(&leaf, &[&other_ca], &ca);
    let (_, r) = probe(&s, &[]);
    assert_eq!(ids(&r), ["tls.cert.untrusted"], "{r:#}");
}

#[test]
fn missing_intermediate_is_a_chain_problem() {
    let ca = ca();
    let inter = pki::issued(&ca, "test intermediate", &[], -5, 300, true);
    let leaf = pki::issued(&inter, "localhost", &["localhost"], -1, 90, false);
    let s = scenario(&leaf, &[], &ca);
    let (_, r) = probe(&s, &[]);
    // The cause, and the consequence: the chain as served does not verify.
    assert_eq!(
        ids(&r),
        ["tls.cert.chain_incomplete", "tls.cert.untrusted"],
        "{r:#}"
    );
    let s = scenario(&leaf, &[&inter], &ca);
    assert_eq!(ids(&probe(&s, &[]).1), Vec::<String>::new());
}

#[test]
fn short_lived_certificates_by_days_and_by_share_of_lifetime() {
    let ca = ca();
    // 10-day certificate with 2 days left: 20% of its lifetime.
    let leaf = pki::issued(&ca, "localhost", &["localhost"], -8, 2, false);
    let s = scenario(&leaf, &[], &ca);
    let (_, r) = probe(&s, &[]);
    assert_eq!(ids(&r), ["tls.cert.expires_soon"], "{r:#}");
    assert!(ids(&probe(&s, &["--min-days", "1"]).1).is_empty());
    // The pack probe can judge by share of lifetime instead of days.
    let dir = tempfile::tempdir().unwrap();
    let pack = format!(
        "name: t\nversion: '1'\ntitle: T\nsections:\n  - id: s\n    title: S\n    items:\n      - id: cert-lifetime\n        title: Certificate has half its life left\n        severity: high\n        why: w\n        fix: f\n        phase: periodic\n        check:\n          tls: {{host: 127.0.0.1, port: {}, sni: localhost, ca_file: '{}', min_protocol: none, min_days_left: 1, min_lifetime_left_percent: 50}}\n",
        s.server.port, s.ca_file
    );
    std::fs::write(dir.path().join("pack.yaml"), pack).unwrap();
    std::fs::write(dir.path().join("shipcheck.yaml"), "packs: [pack.yaml]\n").unwrap();
    let out = shipcheck(dir.path(), &["check", "--format", "json"]);
    let run = json(&out);
    let r = &run["results"][0];
    assert_eq!(r["status"], "fail", "{r:#}");
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains("at least 50% of its lifetime left"),
        "{r:#}"
    );
    let healthy = pki::issued(&ca, "localhost", &["localhost"], -1, 9, false);
    let s2 = scenario(&healthy, &[], &ca);
    let text = std::fs::read_to_string(dir.path().join("pack.yaml"))
        .unwrap()
        .replace(&s.server.port.to_string(), &s2.server.port.to_string());
    std::fs::write(dir.path().join("pack.yaml"), text).unwrap();
    let run = json(&shipcheck(dir.path(), &["check", "--format", "json"]));
    assert_eq!(
        run["results"][0]["status"], "pass",
        "{:#}",
        run["results"][0]
    );
}

#[test]
fn unreachable_target_is_an_error_never_a_pass() {
    let port = pki::free_port().to_string();
    let target = format!("127.0.0.1:{port}");
    let out = shipcheck(
        std::path::Path::new("."),
        &["probe", "tls", &target, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(4), "could not check");
    let v = json(&out);
    assert!(
        v[0]["error"].as_str().unwrap().contains("cannot connect"),
        "{v:#}"
    );
    let text = stdout(&shipcheck(
        std::path::Path::new("."),
        &["probe", "tls", &target],
    ));
    assert!(text.contains("could not check"), "{text}");
}

/// A loopback port that accepts TCP and then answers `reply` (or nothing, holding the
/// connection open) to whatever it is sent. Serves at most `max` connections, then stops.
fn not_tls(reply: Option<&'static [u8]>, max: usize) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(max) {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 512];
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(3)));
                let _ = conn.read(&mut buf);
                match reply {
                    Some(bytes) => {
                        let _ = conn.write_all(bytes);
                    }
                    // Silent: keep the connection open past the probe's timeout.
                    None => std::thread::sleep(std::time::Duration::from_secs(4)),
                }
            });
        }
    });
    port
}

/// No handshake means no judgement: a port that speaks HTTP, sends garbage or stays silent
/// is `error` for every TLS item, never "no weak cipher accepted" (pass) or "could not test"
/// (fail).
#[test]
fn a_port_that_does_not_speak_tls_is_an_error_never_a_pass() {
    let cases: [(&str, Option<&'static [u8]>); 3] = [
        (
            "http",
            Some(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
        ),
        (
            "garbage",
            Some(b"\x00\x01garbage that is no TLS record\xff"),
        ),
        ("silent", None),
    ];
    for (name, reply) in cases {
        let port = not_tls(reply, 64);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pack.yaml"),
            format!(
                r#"name: not-tls
version: "1"
title: TLS on a port that speaks none
sections:
  - id: tls
    title: TLS
    items:
      - id: tls.protocols
        title: Only TLS 1.2 and 1.3
        severity: high
        phase: pre-deploy
        why: test
        fix: test
        check:
          tls: {{host: localhost, port: "{port}", address: 127.0.0.1, certificate: false, timeout: 1s}}
      - id: tls.ciphers
        title: No weak or insecure cipher suites
        severity: medium
        phase: pre-deploy
        why: test
        fix: test
        check:
          tls: {{host: localhost, port: "{port}", address: 127.0.0.1, min_protocol: none, certificate: false, no_weak_ciphers: true, timeout: 1s}}
      - id: tls.certificate
        title: Certificate trusted and valid
        severity: critical
        phase: pre-deploy
        why: test
        fix: test
        check:
          tls: {{host: localhost, port: "{port}", address: 127.0.0.1, min_protocol: none, timeout: 1s}}
"#
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("shipcheck.yaml"), "packs: [pack.yaml]\n").unwrap();
        let out = shipcheck(dir.path(), &["check", "--format", "json", "--no-record"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let run = json(&out);
        for r in run["results"].as_array().unwrap() {
            assert_eq!(
                r["status"], "error",
                "{name}: {} is {}: {}",
                r["id"], r["status"], r["summary"]
            );
            assert!(
                r["summary"].as_str().unwrap().contains("no TLS handshake"),
                "{name}: {}",
                r["summary"]
            );
        }
    }
}

/// The same with the built-in `web-service` pack's TLS items, on a port that speaks HTTP.
#[test]
fn web_service_tls_items_on_a_plain_http_port_are_errors() {
    let port = not_tls(
        Some(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
        256,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shipcheck.yaml"),
        format!(
            "packs: [web-service]\nvars:\n  host: localhost\n  address: 127.0.0.1\n  port: \"{port}\"\n  http_port: \"{port}\"\n"
        ),
    )
    .unwrap();
    let out = shipcheck(
        dir.path(),
        &["check", "--format", "json", "--no-record", "-j", "4"],
    );
    let s = statuses(&json(&out));
    for id in ["tls.protocols", "tls.ciphers", "tls.certificate"] {
        assert_eq!(s[id], "error", "{id}");
    }
}

/// Exit codes keep findings apart from could-not-check: 4 when nothing was found but some
/// target could not be checked, 1 when something was found (even if another target could
/// not be checked), and the JSON still lists the error.
#[test]
fn probe_exit_codes_keep_findings_apart_from_could_not_check() {
    let expired = pki::self_signed("expired", &["localhost"], -30, -1, false);
    let server = pki::serve(vec![expired.der.clone()], expired.key_der());
    let dir = tempfile::tempdir().unwrap();
    let closed = format!("127.0.0.1:{}", pki::free_port());
    let run = |targets: &[String]| {
        std::fs::write(dir.path().join("targets.txt"), targets.join("\n")).unwrap();
        shipcheck(
            dir.path(),
            &[
                "probe",
                "tls",
                "--targets",
                "targets.txt",
                "--no-ciphers",
                "--format",
                "json",
            ],
        )
    };
    let out = run(std::slice::from_ref(&closed));
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    let out = run(&[closed, format!("localhost:{}", server.port)]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v = json(&out);
    assert!(
        v[0]["error"].is_string() || v[1]["error"].is_string(),
        "{v:#}"
    );
    // Grades (grade/v1): `?` for the target not checked, F for the expired certificate.
    let mut grades: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["grade"].as_str().unwrap())
        .collect();
    grades.sort();
    assert_eq!(grades, ["?", "F"], "{v:#}");
    // The terminal report ends with one row per target.
    let text = stdout(&shipcheck(
        dir.path(),
        &["probe", "tls", "--targets", "targets.txt", "--no-ciphers"],
    ));
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("target "))
        .collect();
    assert_eq!(table.len(), 3, "{text}");
    assert!(
        table[0].contains("grade") && table[0].contains("checked"),
        "{text}"
    );
    assert!(
        table
            .iter()
            .any(|l| l.contains(" F ") && l.ends_with("all")),
        "{text}"
    );
    assert!(
        table.iter().any(|l| l.contains(" ? ") && l.ends_with("no")),
        "{text}"
    );
}

/// OCSP stapling, judged only where it means something: a certificate that names an OCSP
/// responder and a server that staples nothing is a finding; the same certificate stapled is
/// not; a certificate naming no responder (Let's Encrypt's since 2025, the nginx test's) is
/// not either. The servers are rustls, whose stapling is real.
#[test]
fn ocsp_stapling_is_judged_when_the_certificate_names_a_responder() {
    let leaf = pki::self_signed_with_ocsp_url("ocsp", &["localhost"], "http://ocsp.example.test");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &leaf.pem).unwrap();
    let ca = ca_file.display().to_string();
    let bare = pki::serve(vec![leaf.der.clone()], leaf.key_der());
    let (_, report) = probe_at(bare.port, &ca, &[]);
    assert!(
        ids(&report).contains(&"tls.ocsp.not_stapled".to_string()),
        "{report:#}"
    );
    assert_eq!(
        report["observed"]["certificate"]["ocsp_url"],
        "http://ocsp.example.test"
    );
    let stapled = pki::serve_stapling(
        vec![leaf.der.clone()],
        leaf.key_der(),
        b"a stapled OCSP response".to_vec(),
    );
    let (_, report) = probe_at(stapled.port, &ca, &[]);
    assert_eq!(report["observed"]["ocsp_stapled"], true, "{report:#}");
    assert!(
        !ids(&report).contains(&"tls.ocsp.not_stapled".to_string()),
        "{report:#}"
    );
    let plain = pki::self_signed("plain", &["localhost"], -1, 30, false);
    let dir2 = tempfile::tempdir().unwrap();
    let ca2 = dir2.path().join("ca.pem");
    std::fs::write(&ca2, &plain.pem).unwrap();
    let server = pki::serve(vec![plain.der.clone()], plain.key_der());
    let (_, report) = probe_at(server.port, &ca2.display().to_string(), &[]);
    assert!(
        report["observed"]["certificate"]["ocsp_url"].is_null(),
        "{report:#}"
    );
    assert!(
        !ids(&report).contains(&"tls.ocsp.not_stapled".to_string()),
        "{report:#}"
    );
}

/// Session resumption: a second handshake offering the first one's session (TLS 1.3 tickets
/// read after the handshake) is resumed by a default rustls server, and not by one with no
/// session cache and no tickets (an info finding: it costs time, not safety, so it does not
/// change the exit code at the default `--fail-on low`).
#[test]
fn session_resumption_is_observed() {
    let leaf = pki::self_signed("resume", &["localhost"], -1, 30, false);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &leaf.pem).unwrap();
    let ca = ca.display().to_string();
    let resuming = pki::serve(vec![leaf.der.clone()], leaf.key_der());
    let (_, report) = probe_at(resuming.port, &ca, &[]);
    assert_eq!(report["observed"]["resumption"], true, "{report:#}");
    assert!(!ids(&report).contains(&"tls.resumption.unsupported".to_string()));
    let never = pki::serve_without_resumption(vec![leaf.der.clone()], leaf.key_der());
    let (_, report) = probe_at(never.port, &ca, &[]);
    assert_eq!(report["observed"]["resumption"], false, "{report:#}");
    assert!(
        ids(&report).contains(&"tls.resumption.unsupported".to_string()),
        "{report:#}"
    );
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "tls.resumption.unsupported")
        .unwrap();
    assert_eq!(finding["severity"], "info", "it costs time, not safety");
}

/// The `tls` items of one endpoint ask different questions (protocols, ciphers, the
/// certificate); their scans share the exchanges they have in common, and each item's
/// evidence is what a scan of its own would have seen.
#[test]
fn tls_items_of_one_endpoint_share_their_exchanges_and_see_what_they_would_alone() {
    let ca = ca();
    let leaf = pki::issued(&ca, "localhost", &["localhost"], -1, 90, false);
    let s = scenario(&leaf, &[], &ca);
    let items = [
        ("protocols", "certificate: false"),
        (
            "ciphers",
            "min_protocol: none, certificate: false, no_weak_ciphers: true",
        ),
        ("certificate", "min_protocol: none, min_days_left: 14"),
        ("everything", "no_weak_ciphers: true, min_days_left: 14"),
    ];
    let item = |(id, extra): &(&str, &str)| {
        format!(
            "      - id: {id}\n        title: t\n        severity: high\n        phase: pre-deploy\n        why: w\n        fix: f\n        check:\n          tls: {{host: localhost, address: 127.0.0.1, port: \"{}\", ca_file: \"{}\", {extra}}}\n",
            s.server.port, s.ca_file
        )
    };
    let run = |chosen: &[(&str, &str)]| -> (serde_json::Value, usize) {
        let dir = tempfile::tempdir().unwrap();
        let pack = format!(
            "name: p\nversion: \"1\"\ntitle: P\nsections:\n  - id: s\n    title: S\n    items:\n{}",
            chosen.iter().map(item).collect::<String>()
        );
        std::fs::write(dir.path().join("pack.yaml"), pack).unwrap();
        std::fs::write(dir.path().join("shipcheck.yaml"), "packs: [pack.yaml]\n").unwrap();
        let before = s.server.accepted.load(std::sync::atomic::Ordering::SeqCst);
        let out = shipcheck(
            dir.path(),
            &["check", "--format", "json", "--no-record", "-j", "4"],
        );
        let after = s.server.accepted.load(std::sync::atomic::Ordering::SeqCst);
        (json(&out), after - before)
    };
    let (together, shared) = run(&items);
    let mut alone_total = 0;
    for it in &items {
        let (alone, connections) = run(std::slice::from_ref(it));
        alone_total += connections;
        let find = |run: &serde_json::Value| {
            run["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == it.0)
                .cloned()
                .unwrap()
        };
        let (a, t) = (find(&alone), find(&together));
        assert_eq!(t["status"], "pass", "{}: {t:#}", it.0);
        for field in ["status", "summary"] {
            assert_eq!(a[field], t[field], "{}: {field}", it.0);
        }
        // The certificate ends 90 days after it was made, to the second: a scan in the
        // second it was made counts 90 days left, one in the next second 89. The runs are
        // seconds apart, so the count may differ by one; everything else is the same.
        let (mut a, mut t) = (
            a["evidence"]["observed"].clone(),
            t["evidence"]["observed"].clone(),
        );
        let left = |o: &mut serde_json::Value| {
            o["certificate"]
                .as_object_mut()
                .and_then(|c| c.remove("days_left"))
        };
        let (da, dt) = (left(&mut a), left(&mut t));
        assert!(
            da.as_ref().zip(dt.as_ref()).is_none_or(|(x, y)| x
                .as_i64()
                .unwrap()
                .abs_diff(y.as_i64().unwrap())
                <= 1)
                && da.is_some() == dt.is_some(),
            "{}: days left {da:?} alone, {dt:?} shared",
            it.0
        );
        assert_eq!(a, t, "{}: the shared scan saw something else", it.0);
    }
    // Alone, each run's scan makes its own connections; together, the connections the
    // scans have in common are made once: at most those of the widest scan plus what the
    // others ask beyond it, well under the sum.
    assert!(
        shared * 3 < alone_total * 2,
        "together: {shared} connections; alone: {alone_total} in all"
    );
}

/// `probe tls` of a port that speaks no TLS grades nothing: a plain HTTP server and a server
/// that takes the connection and says nothing are "could not check" (exit 4, grade `?`, the
/// cause named), never a grade, and never "weak ciphers: none" from a scan that had no
/// handshake to scan.
#[test]
fn probe_tls_of_a_port_that_speaks_no_tls_grades_nothing() {
    // Answers every connection with a plain HTTP 400, as nginx's plain port does.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in plain.incoming().take(64).flatten() {
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    // Takes connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        for s in silent.incoming().take(64).flatten() {
            kept.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    for port in [plain_port, silent_port] {
        let target = format!("127.0.0.1:{port}");
        let out = shipcheck(
            dir.path(),
            &[
                "probe",
                "tls",
                &target,
                "--timeout",
                "300ms",
                "--format",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
        let v = json(&out);
        assert_eq!(v[0]["grade"], "?", "{v:#}");
        let error = v[0]["error"].as_str().unwrap_or_default();
        assert!(error.contains("no TLS handshake"), "{v:#}");
        assert_eq!(v[0]["findings"], serde_json::json!([]), "{v:#}");
        let text = stdout(&shipcheck(
            dir.path(),
            &["probe", "tls", &target, "--timeout", "300ms"],
        ));
        assert!(text.contains("could not check"), "{text}");
        assert!(!text.contains("ciphers: none"), "{text}");
    }
}
