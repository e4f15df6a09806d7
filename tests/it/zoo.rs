//! The zoo (testkit's `zoo`): one real nginx with a vhost per defect Debian's nginx and
//! OpenSSL 3 can serve. `shipcheck probe tls` and `probe http` over all of them in one run
//! each, and each vhost's finding set asserted exactly: every defect found, nothing else.
//! What OpenSSL 3 cannot serve (SSL 2.0/3.0, Heartbleed, compression, no RFC 5746) is in
//! tls_old.rs, against a byte-level server.

use crate::common::*;

/// The finding ids each TLS vhost must give, exactly.
const TLS_EXPECTED: &[(&str, &[&str])] = &[
    ("modern", &[]),
    (
        "tls10",
        &["tls.protocol.tls10_accepted", "tls.cipher.weak_offered"],
    ),
    (
        "tls11",
        &["tls.protocol.tls11_accepted", "tls.cipher.weak_offered"],
    ),
    (
        "legacy-only",
        &[
            "tls.protocol.tls10_accepted",
            "tls.protocol.tls11_accepted",
            "tls.cipher.weak_offered",
            "tls.handshake.failed",
        ],
    ),
    (
        "null",
        &["tls.cipher.insecure_offered", "tls.cipher.weak_offered"],
    ),
    (
        "anon",
        &["tls.cipher.insecure_offered", "tls.cipher.weak_offered"],
    ),
    (
        "client-order",
        &["tls.cipher.weak_offered", "tls.cipher.client_order"],
    ),
    ("dh1024", &["tls.dh.weak_params"]),
    ("weak-group", &["tls.group.weak_offered"]),
    ("ccm8", &["tls.cipher.tls13_ccm8_offered"]),
    ("no-resumption", &["tls.resumption.unsupported"]),
    ("expired", &["tls.cert.expired"]),
    ("not-yet-valid", &["tls.cert.not_yet_valid"]),
    ("expiring", &["tls.cert.expires_soon"]),
    ("wrong-host", &["tls.cert.hostname_mismatch"]),
    (
        "self-signed",
        &["tls.cert.untrusted", "tls.cert.self_signed"],
    ),
    ("other-ca", &["tls.cert.untrusted"]),
    (
        "no-intermediate",
        &["tls.cert.chain_incomplete", "tls.cert.untrusted"],
    ),
    ("weak-key", &["tls.cert.weak_key"]),
    ("sha1", &["tls.cert.sha1_signature"]),
    ("client-only-usage", &["tls.cert.key_usage_invalid"]),
    ("short-serial", &["tls.cert.serial_short"]),
    ("ocsp-unstapled", &["tls.ocsp.not_stapled"]),
    ("ocsp-stapled", &[]),
    ("with-sct", &[]),
    ("http-good", &[]),
    ("http-bare", &[]),
    ("http-short-hsts", &[]),
    ("http-double-hsts", &[]),
    ("http-allow-from", &[]),
    ("http-cors", &[]),
    ("http-open", &[]),
    ("http-token-refused", &[]),
];

/// The finding ids each HTTP vhost must give, exactly.
const HTTP_EXPECTED: &[(&str, &[&str])] = &[
    ("http-good", &[]),
    (
        "http-bare",
        &[
            "http.redirect.missing",
            "http.hsts.missing",
            "http.header.xfo_missing",
            "http.header.nosniff_missing",
        ],
    ),
    ("http-short-hsts", &["http.hsts.short_max_age"]),
    ("http-double-hsts", &["http.hsts.invalid"]),
    ("http-allow-from", &["http.header.xfo_missing"]),
    ("http-cors", &["http.cors.reflects_any_origin"]),
    (
        "http-open",
        &[
            "http.auth.unauthenticated_access",
            "http.ratelimit.missing",
            "http.health.failing",
        ],
    ),
    ("http-token-refused", &["http.auth.valid_token_refused"]),
];

fn by_port(reports: &serde_json::Value) -> std::collections::BTreeMap<u16, Vec<String>> {
    reports
        .as_array()
        .expect("a list of reports")
        .iter()
        .map(|r| {
            let target = r["target"].as_str().unwrap_or_default();
            let port = target
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .trim_end_matches('/')
                .parse()
                .unwrap_or(0);
            assert!(
                r["error"].is_null() && r["errors"].as_array().is_none_or(|e| e.is_empty()),
                "{target} could not be fully checked: {r:#}"
            );
            let mut ids: Vec<String> = r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            (port, ids)
        })
        .collect()
}

fn assert_exact(
    kind: &str,
    expected: &[(&str, &[&str])],
    ports: &[(&str, u16)],
    seen: &std::collections::BTreeMap<u16, Vec<String>>,
) {
    let mut wrong = Vec::new();
    for (name, ids) in expected {
        let port = ports.iter().find(|(n, _)| n == name).expect("a vhost").1;
        let mut want: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        want.sort();
        let got = seen.get(&port).cloned().unwrap_or_default();
        if got != want {
            wrong.push(format!("{kind} {name}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_defect_of_the_zoo_is_found_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let zoo = shipcheck_testkit::zoo::start(dir.path()).expect("the zoo starts");
    std::fs::write(dir.path().join("tls.yaml"), zoo.tls_targets()).unwrap();
    std::fs::write(dir.path().join("http.yaml"), zoo.http_targets()).unwrap();
    let mut ports: Vec<(&str, u16)> = zoo.tls.clone();
    ports.extend(zoo.http.iter().map(|(n, p, _)| (*n, *p)));
    assert!(ports.len() >= 15);

    let out = shipcheck(
        dir.path(),
        &["probe", "tls", "--targets", "tls.yaml", "--format", "json"],
    );
    let reports = json(&out);
    let seen = by_port(&reports);
    assert_exact("tls", TLS_EXPECTED, &ports, &seen);
    assert_eq!(out.status.code(), Some(1));
    observed_facts(dir.path(), &zoo, &reports);
    formats_say_what_json_says(dir.path(), &reports);
    scts_are_judged_for_public_roots_only(dir.path(), &zoo);
    http_reads_the_system_roots_only_for_https(dir.path(), &zoo);
    without_trust_anchors_a_chain_is_not_judged(dir.path(), &zoo);
    // The HTTP targets read the valid token from ZOO_TOKEN (never from the file).
    let out = assert_cmd::Command::cargo_bin("shipcheck")
        .unwrap()
        .current_dir(dir.path())
        .env(
            shipcheck_testkit::zoo::TOKEN_ENV,
            shipcheck_testkit::zoo::TOKEN,
        )
        .args([
            "probe",
            "http",
            "--targets",
            "http.yaml",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        !stdout(&out).contains(shipcheck_testkit::zoo::TOKEN),
        "the token is never printed"
    );
    let seen = by_port(&json(&out));
    assert_exact("http", HTTP_EXPECTED, &ports, &seen);
}

/// What the scan observed, beside findings, checked against nginx's configuration and
/// against `openssl` reading the same files.
fn observed_facts(
    dir: &std::path::Path,
    zoo: &shipcheck_testkit::zoo::Zoo,
    reports: &serde_json::Value,
) {
    let report = |name: &str| -> serde_json::Value {
        let port = zoo.tls.iter().find(|(n, _)| *n == name).unwrap().1;
        reports
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["target"].as_str().unwrap().ends_with(&format!(":{port}")))
            .unwrap()["observed"]
            .clone()
    };
    let modern = report("modern");
    assert_eq!(
        modern["tls13_suites"],
        serde_json::json!([
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256"
        ]),
        "OpenSSL 3's default TLS 1.3 order: {modern:#}"
    );
    assert_eq!(modern["cipher_order"], "server");
    assert_eq!(modern["protocols"]["ssl2"], false);
    assert_eq!(modern["protocols"]["ssl3"], false);
    assert_eq!(modern["heartbleed"], false);
    assert_eq!(report("client-order")["cipher_order"], "client");
    // nginx refuses client-initiated renegotiation, and its RSA key exchange (AES128-SHA on
    // this vhost) is no oracle: both asked, neither found.
    assert_eq!(modern["client_renegotiation"], false);
    assert_eq!(report("client-order")["robot"], false);
    assert!(modern["robot"].is_null(), "no RSA key exchange, not asked");
    assert_eq!(report("dh1024")["dh_bits"], 1024);
    assert!(
        report("weak-group")["weak_groups"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("secp224r1"))
    );
    assert_eq!(report("ocsp-stapled")["ocsp_stapled"], true);
    assert_eq!(report("ocsp-unstapled")["ocsp_stapled"], false);
    // Fingerprint and serial as openssl reads the served file.
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let fp = openssl(&[
        "x509",
        "-in",
        "leaf.pem",
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    let cert = &modern["certificate"];
    assert_eq!(
        format!(
            "sha256 Fingerprint={}",
            cert["fingerprints_sha256"][0].as_str().unwrap()
        ),
        fp
    );
    let serial = openssl(&["x509", "-in", "leaf.pem", "-noout", "-serial"]);
    assert_eq!(
        cert["serial"]
            .as_str()
            .unwrap()
            .replace(':', "")
            .to_uppercase(),
        serial.trim_start_matches("serial=")
    );
    assert_eq!(report("other-ca")["certificate"]["chain_length"], 2);
    assert_eq!(
        report("client-only-usage")["certificate"]["extended_key_usage"],
        serde_json::json!(["clientAuth"])
    );
}

/// `--format sarif|junit|markdown|html` render the same model as `check`, and say what the
/// JSON says: one failed result per finding, one passed case per clean target; the SARIF
/// passes Microsoft's validator with GitHub's rules.
fn formats_say_what_json_says(dir: &std::path::Path, reports: &serde_json::Value) {
    let reports = reports.as_array().unwrap();
    let findings: usize = reports
        .iter()
        .map(|r| r["findings"].as_array().unwrap().len())
        .sum();
    let clean = reports
        .iter()
        .filter(|r| r["findings"].as_array().unwrap().is_empty())
        .count();
    let render = |format: &str| {
        let out = shipcheck(
            dir,
            &["probe", "tls", "--targets", "tls.yaml", "--format", format],
        );
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        stdout(&out)
    };
    let sarif = render("sarif");
    let file = dir.join("probe.sarif");
    std::fs::write(&file, &sarif).unwrap();
    let problems = sarif_problems(&file);
    assert!(problems.is_empty(), "{problems:#?}");
    let log: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), findings, "one SARIF result per finding");
    assert!(results.iter().any(|r| {
        r["ruleId"]
            .as_str()
            .unwrap()
            .starts_with("probe-tls:tls.cert.expired@localhost:")
    }));
    let junit = render("junit");
    assert_eq!(junit.matches("<failure ").count(), findings, "{junit}");
    assert_eq!(junit.matches("<testsuite ").count(), reports.len());
    assert_eq!(
        junit.matches("every check ran, no finding").count(),
        clean,
        "{junit}"
    );
    let markdown = render("markdown");
    assert!(markdown.contains("**NO-GO**"), "{markdown}");
    assert_eq!(markdown.matches("| ❌ |").count(), findings, "{markdown}");
    // The terminal report shows what the scan enumerated, not only the findings.
    let human = render("human");
    for line in [
        "TLS 1.3 suites: TLS_AES_256_GCM_SHA384",
        "groups: x25519",
        "weak ciphers:",
    ] {
        assert!(human.contains(line), "{line} missing: {human}");
    }
    let html = render("html");
    assert!(html.contains("tls.cert.expired") && html.contains("</html>"));
}

/// `tls.cert.sct_missing` is for certificates chaining to the system roots (no `--ca`):
/// here the zoo's CA is made the system store (`SSL_CERT_FILE`, which rustls-native-certs
/// reads), so the zoo's leaves count as public. A leaf without SCTs is a finding, one with
/// an embedded SCT list is not; with `--ca` (the run above) neither is.
fn scts_are_judged_for_public_roots_only(dir: &std::path::Path, zoo: &shipcheck_testkit::zoo::Zoo) {
    let port = |name: &str| zoo.tls.iter().find(|(n, _)| *n == name).unwrap().1;
    let probe = |name: &str| {
        let out = assert_cmd::Command::cargo_bin("shipcheck")
            .unwrap()
            .current_dir(dir)
            .env("SSL_CERT_FILE", dir.join("ca.pem"))
            .env_remove("SSL_CERT_DIR")
            .args(["probe", "tls", &format!("localhost:{}", port(name))])
            .args(["--no-ciphers", "--format", "json"])
            .output()
            .unwrap();
        let v = json(&out);
        assert_eq!(v[0]["observed"]["trusted"], true, "{v:#}");
        (
            finding_ids(&out),
            v[0]["observed"]["certificate"]["embedded_scts"].clone(),
        )
    };
    let (ids, scts) = probe("modern");
    assert_eq!(ids, ["tls.cert.sct_missing"], "{ids:?}");
    assert_eq!(scts, 0);
    let (ids, scts) = probe("with-sct");
    assert!(ids.is_empty(), "{ids:?}");
    assert_eq!(scts, 1);
}

/// An HTTP check without `--ca` verifies against the system's anchors, read when a
/// certificate is to be verified: plain HTTP works on a host without any, HTTPS then says
/// why it cannot verify, and a system store that holds the zoo's CA (or another CA) is
/// applied as it should be.
fn http_reads_the_system_roots_only_for_https(
    dir: &std::path::Path,
    zoo: &shipcheck_testkit::zoo::Zoo,
) {
    let other = shipcheck_testkit::pki::self_signed("Another CA", &[], -1, 30, true);
    std::fs::write(dir.join("other-ca.pem"), &other.pem).unwrap();
    let (_, https, plain) = zoo.http[0];
    let probe = |url: &str, store: &str| {
        let out = assert_cmd::Command::cargo_bin("shipcheck")
            .unwrap()
            .current_dir(dir)
            .env("SSL_CERT_FILE", dir.join(store))
            .env_remove("SSL_CERT_DIR")
            .args(["probe", "http", url, "--format", "json"])
            .output()
            .unwrap();
        let v = json(&out);
        v[0]["error"].as_str().map(str::to_string)
    };
    let plain = format!("http://localhost:{plain}/");
    let https = format!("https://localhost:{https}/");
    assert_eq!(probe(&plain, "no-such-store.pem"), None);
    let e = probe(&https, "no-such-store.pem").expect("no anchors: an error");
    assert!(e.contains("no system trust anchors"), "{e}");
    assert_eq!(probe(&https, "ca.pem"), None);
    let e = probe(&https, "other-ca.pem").expect("another CA: an error");
    assert!(e.contains("certificate"), "{e}");
}

/// With no trust anchors to verify against (a host without a CA bundle), a served chain is
/// neither trusted nor untrusted: the audit has no `tls.cert.untrusted` and says why its
/// grade is incomplete; a pack item that judges the certificate is `error`, with the cause.
/// With the zoo's CA as the system store the same item passes.
fn without_trust_anchors_a_chain_is_not_judged(
    dir: &std::path::Path,
    zoo: &shipcheck_testkit::zoo::Zoo,
) {
    let port = zoo.tls.iter().find(|(n, _)| *n == "modern").unwrap().1;
    let run = |dir: &std::path::Path, store: &std::path::Path, args: &[&str]| {
        assert_cmd::Command::cargo_bin("shipcheck")
            .unwrap()
            .current_dir(dir)
            .env("SHIPCHECK_DB", test_ledger())
            .env("SSL_CERT_FILE", store)
            .env("SSL_CERT_DIR", dir.join("no-such-dir"))
            .args(args)
            .output()
            .unwrap()
    };
    let nothing = dir.join("no-such-store.pem");
    let target = format!("localhost:{port}");
    let out = run(
        dir,
        &nothing,
        &["probe", "tls", &target, "--no-ciphers", "--format", "json"],
    );
    let v = json(&out);
    let ids = finding_ids(&out);
    assert!(!ids.iter().any(|i| i == "tls.cert.untrusted"), "{ids:?}");
    let errors = v[0]["errors"].to_string();
    assert!(errors.contains("no system trust anchors"), "{v:#}");
    assert!(v[0]["grade"].as_str().unwrap().ends_with('*'), "{v:#}");

    let sub = dir.join("no-anchors");
    std::fs::create_dir_all(&sub).unwrap();
    let item = format!("check:\n  tls: {{host: localhost, port: {port}, min_days_left: 1}}");
    crate::common::write_pack(&sub, &[("served", item.as_str())], "");
    let check = ["check", "--format", "json", "--no-record"];
    let run_json = crate::common::json(&run(&sub, &nothing, &check));
    let summary = crate::common::summary(&run_json, "served");
    assert_eq!(
        crate::common::statuses(&run_json)["served"],
        "error",
        "{summary}"
    );
    assert!(
        summary.contains("chain not judged") && summary.contains("no system trust anchors"),
        "{summary}"
    );
    let run_json = crate::common::json(&run(&sub, &dir.join("ca.pem"), &check));
    let summary = crate::common::summary(&run_json, "served");
    assert_eq!(
        crate::common::statuses(&run_json)["served"],
        "pass",
        "{summary}"
    );
}
