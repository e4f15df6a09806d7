//! Probes against a real nginx (Debian's package) configured by scripts/test-nginx.sh:
//! legacy protocols and weak ciphers as nginx really accepts them, a weak certificate, and
//! redirects, headers, CORS, auth and limit_req (429) as nginx really serves them. One test
//! starts nginx once and stops it when done.

use crate::common::*;

fn here() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn against_real_nginx() {
    let ngx = Nginx::start();
    tls_protocols_and_ciphers(&ngx);
    null_suites_are_insecure_and_weak(&ngx);
    weak_certificate(&ngx);
    http_audits(&ngx);
    targets_file_with_per_target_options(&ngx);
    redirect_check_is_explicit_pinned_and_never_dropped(&ngx);
    many_targets_and_resolve(&ngx);
    pack_items_modern_pass_legacy_fail(&ngx);
    builtin_web_service_pack_and_includes(&ngx);
}

fn builtin_web_service_pack_and_includes(ngx: &Nginx) {
    let dir = tempfile::tempdir().unwrap();
    let common = format!(
        "vars:\n  ca_file: '{}'\n  health_path: /health\n  api_path: /api/users\n  api_token: good-test-token-0123456789abcdef\n  rate_limited_path: /limited\nenable: [http.auth, http.rate-limit]\nenvironments:\n  modern: {{vars: {{port: {}, http_port: {}}}}}\n  legacy: {{vars: {{port: {}, http_port: {}}}}}\n",
        ngx.ca(),
        ngx.https,
        ngx.http,
        ngx.legacy,
        ngx.legacy_http
    );
    std::fs::write(
        dir.path().join("web.yaml"),
        format!(
            "packs: [web-service]\n{}",
            common.replace("vars:\n", "vars:\n  host: localhost\n")
        ),
    )
    .unwrap();
    let run = json(&shipcheck(
        dir.path(),
        &[
            "check",
            "--profile",
            "web.yaml",
            "--env",
            "modern",
            "--format",
            "json",
        ],
    ));
    let s = statuses(&run);
    assert_eq!(s.len(), 17);
    for (id, status) in &s {
        // No `proxy_config`: the proxy items do not apply (tests/it/proxy.rs runs them).
        let want = if id.starts_with("proxy.") {
            "not_applicable"
        } else {
            "pass"
        };
        assert_eq!(
            status,
            want,
            "web-service {id} on modern nginx: {:#}",
            run["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == id.as_str())
                .unwrap()
        );
    }
    let run = json(&shipcheck(
        dir.path(),
        &[
            "check",
            "--profile",
            "web.yaml",
            "--env",
            "legacy",
            "--format",
            "json",
        ],
    ));
    let failed: Vec<String> = statuses(&run)
        .into_iter()
        .filter(|(id, s)| s != "pass" && !id.starts_with("proxy."))
        .map(|(id, s)| format!("{id}={s}"))
        .collect();
    assert_eq!(
        failed,
        [
            "http.auth=fail",
            "http.cors=fail",
            "http.health=fail",
            "http.hsts=fail",
            "http.rate-limit=fail",
            "http.redirect=fail",
            "http.security-headers=fail",
            "tls.ciphers=fail",
            "tls.protocols=fail",
        ]
    );
    // A system pack reuses the baseline by including it and binding its variables.
    std::fs::write(
        dir.path().join("myservice.yaml"),
        "name: myservice\nversion: '1'\ntitle: My service\nvariables:\n  - {name: domain, doc: public name, required: true}\ninclude:\n  - pack: web-service\n    vars: {host: '${domain}'}\nsections:\n  - id: own\n    title: Own\n    items:\n      - id: own.resolves\n        title: The domain resolves\n        severity: low\n        why: w\n        fix: f\n        phase: pre-deploy\n        check:\n          dns: {name: '${domain}'}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mine.yaml"),
        format!(
            "packs: [myservice.yaml]\n{}",
            common.replace("vars:\n", "vars:\n  domain: localhost\n")
        ),
    )
    .unwrap();
    let out = shipcheck(
        dir.path(),
        &[
            "check",
            "--profile",
            "mine.yaml",
            "--env",
            "modern",
            "--format",
            "json",
        ],
    );
    let run = json(&out);
    let packs: Vec<&str> = run["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(packs, ["myservice", "web-service"]);
    // 11 items run and pass; the 7 proxy items have no `proxy_config` here.
    assert_eq!(run["counts"]["total"], 18);
    assert_eq!(run["counts"]["pass"], 11, "{}", stdout(&out));
    assert_eq!(run["counts"]["not_applicable"], 7, "{}", stdout(&out));
}

/// Insecure implies weak: a server that accepts only NULL suites has both findings, and its
/// weak list holds the NULL suites.
fn null_suites_are_insecure_and_weak(ngx: &Nginx) {
    let target = format!("localhost:{}", ngx.null);
    let out = shipcheck(
        here(),
        &[
            "probe",
            "tls",
            &target,
            "--ca",
            &ngx.ca(),
            "--format",
            "json",
        ],
    );
    let ids = finding_ids(&out);
    assert!(
        ids.contains(&"tls.cipher.insecure_offered".to_string()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"tls.cipher.weak_offered".to_string()),
        "{ids:?}"
    );
    let v = json(&out);
    let weak = v[0]["observed"]["weak_ciphers"].to_string();
    assert!(weak.contains("NULL-SHA256"), "{weak}");
}

/// The redirect check runs when asked (`--http-port`, or an http:// URL), goes to the
/// address `--resolve` pins for the port it really uses, and when it cannot run the target
/// is not "no findings".
fn redirect_check_is_explicit_pinned_and_never_dropped(ngx: &Nginx) {
    let ca = ngx.ca();
    // An http:// URL on a pinned name: the plain answer (content, no redirect) is judged.
    let url = format!("http://app.shipcheck.test:{}/", ngx.legacy_http);
    let pin = format!("app.shipcheck.test:{}:127.0.0.1", ngx.legacy_http);
    let out = shipcheck(
        here(),
        &["probe", "http", &url, "--resolve", &pin, "--format", "json"],
    );
    let v = json(&out);
    assert!(v[0]["errors"].is_null(), "{v:#}");
    assert!(
        finding_ids(&out).contains(&"http.redirect.missing".to_string()),
        "{v:#}"
    );
    // https without --http-port: no plain-HTTP request at all.
    let https = format!("https://localhost:{}/", ngx.https);
    let out = shipcheck(
        here(),
        &["probe", "http", &https, "--ca", &ca, "--format", "json"],
    );
    let v = json(&out);
    assert!(v[0]["observed"]["redirect"].is_null(), "{v:#}");
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    // A redirect check that cannot run (nothing listens there) is an error: exit 4, the
    // could-not-check code, never 0.
    let closed = crate::common::pki::free_port().to_string();
    let out = shipcheck(
        here(),
        &["probe", "http", &https, "--ca", &ca, "--http-port", &closed],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    assert!(!stdout(&out).contains("no findings"), "{}", stdout(&out));
    assert!(stdout(&out).contains("could not run"), "{}", stdout(&out));
}

fn tls_protocols_and_ciphers(ngx: &Nginx) {
    let ca = ngx.ca();
    let legacy = format!("localhost:{}", ngx.legacy);
    let out = shipcheck(
        here(),
        &["probe", "tls", &legacy, "--ca", &ca, "--format", "json"],
    );
    assert_eq!(
        finding_ids(&out),
        [
            "tls.protocol.tls10_accepted",
            "tls.protocol.tls11_accepted",
            "tls.cipher.insecure_offered",
            "tls.cipher.weak_offered",
            "tls.cipher.client_order"
        ]
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let weak: Vec<&str> = v[0]["observed"]["weak_ciphers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        weak.contains(&"AES128-SHA"),
        "static-RSA CBC suite accepted by nginx's defaults: {weak:?}"
    );
    assert!(weak.contains(&"ECDHE-RSA-AES128-SHA"), "{weak:?}");
    // The same list testssl.sh reports for this vhost (checked by hand, see BENCHMARKS.md),
    // minus the suites Mozilla "intermediate" allows.
    for suite in [
        "ARIA128-GCM-SHA256",
        "AES128-CCM",
        "CAMELLIA128-SHA256",
        "ECDHE-RSA-CAMELLIA128-SHA256",
    ] {
        assert!(weak.contains(&suite), "{suite} missing from {weak:?}");
    }
    assert!(
        !weak.contains(&"ECDHE-RSA-AES128-GCM-SHA256"),
        "an intermediate suite is not weak"
    );
    let insecure: Vec<&str> = v[0]["observed"]["insecure_ciphers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        insecure.contains(&"AECDH-AES128-SHA"),
        "anonymous ECDH accepted at SECLEVEL=0: {insecure:?}"
    );
    let modern = format!("localhost:{}", ngx.https);
    let out = shipcheck(
        here(),
        &["probe", "tls", &modern, "--ca", &ca, "--format", "json"],
    );
    assert_eq!(finding_ids(&out), Vec::<String>::new(), "{}", stdout(&out));
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v[0]["observed"]["protocols"]["tls1.0"], false);
    assert_eq!(v[0]["observed"]["protocols"]["tls1.3"], true);
    assert_eq!(v[0]["observed"]["weak_ciphers"], serde_json::json!([]));
}

fn weak_certificate(ngx: &Nginx) {
    let weak = format!("localhost:{}", ngx.weak);
    let out = shipcheck(
        here(),
        &[
            "probe",
            "tls",
            &weak,
            "--ca",
            &ngx.ca(),
            "--no-ciphers",
            "--format",
            "json",
        ],
    );
    let ids = finding_ids(&out);
    for id in [
        "tls.cert.weak_key",
        "tls.cert.sha1_signature",
        "tls.cert.self_signed",
        "tls.cert.untrusted",
    ] {
        assert!(ids.contains(&id.to_string()), "{id} missing from {ids:?}");
    }
    let v = json(&out);
    // The trust error is words, not a debug dump of the error with byte lists.
    let why = v[0]["observed"]["trust_error"].as_str().unwrap_or_default();
    assert!(
        !why.is_empty() && !why.contains('[') && !why.contains('{'),
        "{why}"
    );
    assert_eq!(v[0]["observed"]["certificate"]["key_bits"], 1024);
    assert_eq!(
        v[0]["observed"]["certificate"]["signature_algorithm"],
        "sha1WithRSAEncryption"
    );
}

fn http_audits(ngx: &Nginx) {
    let ca = ngx.ca();
    let (http, legacy_http) = (ngx.http.to_string(), ngx.legacy_http.to_string());
    let api = format!("https://localhost:{}/api/users", ngx.https);
    let out = shipcheck(
        here(),
        &[
            "probe",
            "http",
            &api,
            "--ca",
            &ca,
            "--http-port",
            &http,
            "--expect-auth",
            "--format",
            "json",
        ],
    );
    assert_eq!(finding_ids(&out), Vec::<String>::new(), "{}", stdout(&out));
    let limited = format!("https://localhost:{}/limited", ngx.https);
    let out = shipcheck(
        here(),
        &[
            "probe",
            "http",
            &limited,
            "--ca",
            &ca,
            "--http-port",
            &http,
            "--health",
            "/health",
            "--rate-limit",
            "20",
            "--format",
            "json",
        ],
    );
    assert_eq!(finding_ids(&out), Vec::<String>::new(), "{}", stdout(&out));
    let v = json(&out);
    let at = v[0]["observed"]["rate_limit"]["limited_at"]
        .as_u64()
        .unwrap();
    assert!(
        (1..=20).contains(&at),
        "limit_req burst=5 answers 429 within the burst: {at}"
    );
    assert_eq!(v[0]["observed"]["redirect"]["status"], 301);
    let legacy = format!("https://localhost:{}/", ngx.legacy);
    let out = shipcheck(
        here(),
        &[
            "probe",
            "http",
            &legacy,
            "--ca",
            &ca,
            "--http-port",
            &legacy_http,
            "--expect-auth",
            "--health",
            "/health",
            "--rate-limit",
            "10",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        finding_ids(&out),
        [
            "http.redirect.missing",
            "http.hsts.missing",
            "http.header.xfo_missing",
            "http.header.nosniff_missing",
            "http.cors.reflects_any_origin",
            "http.auth.unauthenticated_access",
            "http.health.failing",
            "http.ratelimit.missing",
        ]
    );
    let text = stdout(&shipcheck(
        here(),
        &[
            "probe",
            "http",
            &legacy,
            "--ca",
            &ca,
            "--http-port",
            &legacy_http,
        ],
    ));
    assert!(
        text.contains("reflects Origin https://evil.example with credentials allowed"),
        "{text}"
    );
    for shown in [
        "redirect: GET http://localhost:",
        "hsts: (none)",
        "headers: (none of the security headers)",
        "null (preflight) → null",
    ] {
        assert!(text.contains(shown), "`{shown}` missing from:\n{text}");
    }
}

fn many_targets_and_resolve(ngx: &Nginx) {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("targets.txt");
    std::fs::write(
        &list,
        format!(
            "# modern and legacy\napp.test:{}\napp.test:{}\n",
            ngx.https, ngx.legacy
        ),
    )
    .unwrap();
    let r1 = format!("app.test:{}:127.0.0.1", ngx.https);
    let r2 = format!("app.test:{}:127.0.0.1", ngx.legacy);
    let out = shipcheck(
        here(),
        &[
            "probe",
            "tls",
            "--targets",
            list.to_str().unwrap(),
            "--resolve",
            &r1,
            "--resolve",
            &r2,
            "--sni",
            "localhost",
            "--ca",
            &ngx.ca(),
            "--no-ciphers",
            "--format",
            "json",
        ],
    );
    let v = json(&out);
    assert_eq!(v.as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(v[0]["findings"], serde_json::json!([]), "{v:#}");
    let legacy_ids: Vec<&str> = v[1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        legacy_ids,
        ["tls.protocol.tls10_accepted", "tls.protocol.tls11_accepted"]
    );
    // HTTP through --resolve: app.test exists only in the override.
    let url = format!("https://app.test:{}/health", ngx.https);
    let out = shipcheck(
        here(),
        &[
            "probe",
            "http",
            &url,
            "--resolve",
            &r1,
            "--insecure",
            "--format",
            "json",
        ],
    );
    assert_eq!(json(&out)[0]["observed"]["status"], 200, "{}", stdout(&out));
}

fn pack_items_modern_pass_legacy_fail(ngx: &Nginx) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("net/pack.yaml"),
        dir.path().join("pack.yaml"),
    )
    .unwrap();
    let closed = crate::common::pki::free_port();
    std::fs::write(
        dir.path().join("shipcheck.yaml"),
        format!(
            "packs: [pack.yaml]\nvars: {{ca_file: '{}', api_token: good-test-token-0123456789abcdef}}\nenvironments:\n  modern: {{vars: {{https_port: {}, http_port: {}, db_port: {closed}, dns_name: localhost}}}}\n  legacy: {{vars: {{https_port: {}, http_port: {}, db_port: {}, dns_name: shipcheck-test.invalid}}}}\n",
            ngx.ca(),
            ngx.https,
            ngx.http,
            ngx.legacy,
            ngx.legacy_http,
            ngx.legacy
        ),
    )
    .unwrap();
    let out = shipcheck(
        dir.path(),
        &["check", "--env", "modern", "--format", "json"],
    );
    let run = json(&out);
    for (id, status) in statuses(&run) {
        assert_eq!(
            status,
            "pass",
            "{id}: {:#}",
            run["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == id.as_str())
                .unwrap()
        );
    }
    assert_eq!(out.status.code(), Some(0));
    let out = shipcheck(
        dir.path(),
        &["check", "--env", "legacy", "--format", "json"],
    );
    let run = json(&out);
    let failed: Vec<String> = statuses(&run)
        .into_iter()
        .filter(|(_, s)| s != "pass")
        .map(|(id, s)| format!("{id}={s}"))
        .collect();
    assert_eq!(
        failed,
        [
            "dns.localhost=fail",
            "http.auth=fail",
            "http.cors=fail",
            "http.headers=fail",
            "http.health=fail",
            "http.health-headers=fail",
            "http.hsts=fail",
            "http.rate-limit=fail",
            "http.redirect=fail",
            "tcp.database-closed=fail",
            "tls.ciphers=fail",
            "tls.protocols=fail",
        ]
    );
    let by = |id: &str| {
        run["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert!(
        by("http.rate-limit")["summary"]
            .as_str()
            .unwrap()
            .contains("no 429 in 20 requests"),
        "{:#}",
        by("http.rate-limit")
    );
    assert!(
        by("tls.protocols")["summary"]
            .as_str()
            .unwrap()
            .contains("accepts tls1.0, tls1.1"),
        "{:#}",
        by("tls.protocols")
    );
    assert!(
        by("http.cors")["summary"]
            .as_str()
            .unwrap()
            .contains("reflects Origin"),
        "{:#}",
        by("http.cors")
    );
    // The bearer token never appears, in JSON or in the terminal report.
    let text = stdout(&out) + &stdout(&shipcheck(dir.path(), &["check", "--env", "legacy", "-v"]));
    assert!(!text.contains("good-test-token"), "token leaked");
    // A server that is down is an error, never a pass.
    let down = dir.path().join("down.yaml");
    std::fs::write(
        &down,
        format!("packs: [pack.yaml]\nvars: {{ca_file: '{}', db_port: {closed}, dns_name: localhost, api_token: x-token-x, https_port: {closed}, http_port: {closed}}}\n", ngx.ca()),
    )
    .unwrap();
    let run = json(&shipcheck(
        dir.path(),
        &["check", "--profile", "down.yaml", "--format", "json"],
    ));
    let s = statuses(&run);
    for id in [
        "tls.protocols",
        "tls.certificate",
        "http.health",
        "http.cors",
        "http.auth",
    ] {
        assert_eq!(s[id], "error", "{id}");
    }
    assert_eq!(s["tcp.https-open"], "fail");
}

/// One `probe http` run over a YAML targets file, each target with its own auth path, valid
/// token (from an environment variable), burst path and size, health path, hostile Origin
/// and plain-HTTP port; the burst runs last. The modern vhost has no finding, the legacy
/// one the expected ones, and the token is never printed.
fn targets_file_with_per_target_options(ngx: &Nginx) {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "# per-target options\n- target: https://localhost:{}/\n  ca: {ca}\n  http_port: {}\n  auth_path: /api/users\n  token_env: SHIPCHECK_TEST_API_TOKEN\n  health: /health\n  burst: 20\n  burst_path: /limited\n- target: https://localhost:{}/\n  ca: {ca}\n  http_port: {}\n  auth_path: /api/users\n  origin: https://attacker.example\n",
        ngx.https,
        ngx.http,
        ngx.legacy,
        ngx.legacy_http,
        ca = ngx.ca()
    );
    std::fs::write(dir.path().join("targets.yaml"), yaml).unwrap();
    let run = |token: Option<&str>| {
        let mut cmd = assert_cmd::Command::cargo_bin("shipcheck").unwrap();
        cmd.current_dir(dir.path())
            .args([
                "probe",
                "http",
                "--targets",
                "targets.yaml",
                "--format",
                "json",
            ])
            .env("NO_COLOR", "1");
        match token {
            Some(t) => cmd.env("SHIPCHECK_TEST_API_TOKEN", t),
            None => cmd.env_remove("SHIPCHECK_TEST_API_TOKEN"),
        };
        cmd.output().unwrap()
    };
    let token = "good-test-token-0123456789abcdef";
    let out = run(Some(token));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains(token), "the token is never printed");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids = |r: &serde_json::Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&v[0]), Vec::<String>::new(), "{:#}", v[0]);
    assert_eq!(
        v[0]["observed"]["auth"]["without_credentials"], 401,
        "{:#}",
        v[0]
    );
    assert_eq!(v[0]["observed"]["auth"]["valid_token"], 200, "{:#}", v[0]);
    assert!(
        v[0]["observed"]["rate_limit"]["limited_at"]
            .as_u64()
            .is_some(),
        "{:#}",
        v[0]
    );
    let legacy = ids(&v[1]);
    for id in [
        "http.auth.unauthenticated_access",
        "http.cors.reflects_any_origin",
        "http.redirect.missing",
    ] {
        assert!(legacy.contains(&id.to_string()), "{id}: {legacy:?}");
    }
    assert!(
        v[1]["observed"]["cors"]
            .to_string()
            .contains("https://attacker.example"),
        "the target's own hostile origin was tried: {:#}",
        v[1]["observed"]["cors"]
    );
    // A wrong token is refused by the API: the check says so, not "auth works".
    let out = run(Some("not-the-token-at-all-0000000000000"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        ids(&v[0]).contains(&"http.auth.valid_token_refused".to_string()),
        "{:#}",
        v[0]
    );
    // A token variable that is not set is a usage error naming it.
    let out = run(None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHIPCHECK_TEST_API_TOKEN"));
}
