//! Canary secrets planted in config files, env files, command output and variables never
//! appear in any output: terminal (plain and verbose), JSON, or errors.

use crate::common::*;

const CANARY: &str = "CANARY";

fn assert_clean(out: &std::process::Output, what: &str) {
    for (stream, text) in [("stdout", stdout(out)), ("stderr", stderr(out))] {
        assert!(
            !text.contains(CANARY),
            "{what}: a canary secret leaked to {stream}:\n{text}"
        );
    }
}

#[test]
fn no_canary_in_any_output() {
    let tmp = fixture_app();
    // Make sure the canaries are really read: the fixture must contain them.
    let env = std::fs::read_to_string(tmp.path().join("app/good/app.env")).unwrap();
    assert!(env.contains(CANARY));
    for env in ["good", "bad"] {
        for extra in [&["--format", "json"][..], &["--verbose"], &[]] {
            let mut args = vec!["check", "--profile", "app/shipcheck.yaml", "--env", env];
            args.extend_from_slice(extra);
            let out = shipcheck(tmp.path(), &args);
            assert!(
                out.status.code().is_some_and(|c| c <= 1),
                "{}",
                stderr(&out)
            );
            assert_clean(&out, &format!("{env} {extra:?}"));
        }
    }
}

#[test]
fn secret_values_show_length_only() {
    let tmp = fixture_app();
    let out = check_app(&tmp, "good", &["--format", "json"]);
    let run = json(&out);
    let r = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "env.api-token")
        .unwrap();
    assert_eq!(r["evidence"]["observed"], "<secret: 43 chars>");
    // The health command printed the token inside free text; it is masked there too.
    let h = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "runtime.health-command")
        .unwrap();
    assert!(
        h["evidence"]["observed"]["debug"]
            .as_str()
            .unwrap()
            .contains("<secret: 43 chars>"),
        "{h}"
    );
}

#[test]
fn a_secret_in_an_allowed_values_error_is_masked() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("pack.yaml"),
        "name: p\nversion: '1'\ntitle: P\nvariables:\n  - {name: key, doc: k, secret: true, allowed: [a, b]}\nsections:\n  - id: s\n    title: S\n    items:\n      - {id: i, title: I, severity: low, why: w, fix: f, phase: periodic, attest: {roles: [security]}}\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("shipcheck.yaml"),
        "packs: [pack.yaml]\nvars: {key: CANARY-VAR-123456}\n",
    )
    .unwrap();
    let out = shipcheck(tmp.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("<secret: 17 chars>"),
        "{}",
        stderr(&out)
    );
    assert_clean(&out, "allowed-values error");
}

#[test]
fn reuse_across_environments_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("pack.yaml"),
        "name: p\nversion: '1'\ntitle: P\nvariables:\n  - {name: envfile, doc: env file}\nsections:\n  - id: s\n    title: S\n    items:\n      - id: token\n        title: Token differs per environment\n        severity: critical\n        why: w\n        fix: f\n        phase: pre-deploy\n        check:\n          env: {name: TOKEN, file: '${envfile}'}\n          expect: [{secret: {min_length: 8, distinct_across_environments: true}}]\n",
    )
    .unwrap();
    std::fs::write(d.join("prod.env"), "TOKEN=CANARY-shared-b7c9d2e4f6a8\n").unwrap();
    std::fs::write(d.join("staging.env"), "TOKEN=CANARY-shared-b7c9d2e4f6a8\n").unwrap();
    std::fs::write(d.join("qa.env"), "TOKEN=CANARY-qa-only-1f3e5d7c9b\n").unwrap();
    std::fs::write(
        d.join("shipcheck.yaml"),
        "packs: [pack.yaml]\nenvironments:\n  production: {vars: {envfile: prod.env}}\n  staging: {vars: {envfile: staging.env}}\n  qa: {vars: {envfile: qa.env}}\n",
    )
    .unwrap();
    let out = shipcheck(d, &["check", "--format", "json"]);
    assert_clean(&out, "reuse");
    let run = json(&out);
    assert_eq!(run["environment"], "production");
    let r = &run["results"][0];
    assert_eq!(r["status"], "fail", "{r}");
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains("differs from environment `staging`"),
        "{r}"
    );
    let out = shipcheck(d, &["check", "--format", "json", "--env", "qa"]);
    assert_eq!(json(&out)["results"][0]["status"], "pass");
}

#[test]
fn keyed_fingerprints_identify_a_secret_without_revealing_it() {
    let tmp = fixture_app();
    let db = tmp.path().join("l.db").display().to_string();
    let fp = |key: &str| {
        let out = shipcheck_db(
            tmp.path(),
            &db,
            &[("SHIPCHECK_LEDGER_KEY", key)],
            &[
                "check",
                "--profile",
                "app/shipcheck.yaml",
                "--env",
                "good",
                "--format",
                "json",
                "--no-record",
            ],
        );
        assert_clean(&out, "fingerprint");
        let run = json(&out);
        let r = run["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "env.api-token")
            .unwrap()
            .clone();
        r["evidence"]["observed"].as_str().unwrap().to_string()
    };
    let (a, b, c) = (fp("key-one"), fp("key-one"), fp("key-two"));
    assert!(a.starts_with("<secret: 43 chars, fp "), "{a}");
    assert_eq!(a, b, "same key, same secret, same fingerprint");
    assert_ne!(a, c, "the fingerprint is keyed");
}

/// Paths that leaked a secret before: a password in a URL, a secret under a secret-looking
/// key inside an observed map (summary and finding), a waived item's underlying summary, a
/// secret JSON-escaped by the program that printed it, and a secret cut by a truncation.
#[test]
fn secrets_do_not_leak_through_urls_maps_waivers_escapes_or_truncation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The variable's value holds characters JSON and shells escape.
    let token = r#"CANARY-q"u'o\te-0123456789abcdef"#;
    std::fs::write(
        dir.join("settings.json"),
        r#"{"db": {"host": "db.internal", "password": "CANARY-map-secret-9f8e7d6c"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("pack.yaml"),
        r#"name: leaks
version: "1"
title: Leak paths
variables:
  - {name: tok, doc: a token, secret: true, required: true}
sections:
  - id: s
    title: S
    items:
      - id: url.password
        title: An endpoint whose URL holds a password
        severity: low
        phase: pre-deploy
        why: test
        fix: test
        check:
          http: {url: "http://admin:CANARY-url-pw-55aa@127.0.0.1:9/", timeout: 1s}
      - id: map.secret
        title: A map with a password inside
        severity: low
        phase: pre-deploy
        why: test
        fix: test
        check:
          config: {path: settings.json, query: .db}
          expect:
            - equals: {host: other}
      - id: json.escaped
        title: A program prints the token JSON-encoded
        severity: low
        phase: pre-deploy
        why: test
        fix: test
        check:
          command: {argv: [python3, -c, "import json,sys; print(json.dumps({'t': sys.argv[1]}))", "${tok}"]}
          expect:
            - equals: "no"
      - id: truncated
        title: A program fails with the token at the end of a long line
        severity: low
        phase: pre-deploy
        why: test
        fix: test
        check:
          command: {argv: [python3, -c, "import sys; sys.stderr.write('x' * 190 + sys.argv[1] + '\n'); sys.exit(3)", "${tok}"]}
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("shipcheck.yaml"),
        format!(
            "packs: [pack.yaml]\nvars:\n  tok: '{}'\nwaivers:\n  - {{item: map.secret, reason: known, owner: ops, expires: 2999-01-01}}\n",
            token.replace('\'', "''")
        ),
    )
    .unwrap();
    for extra in [
        &["--format", "json"][..],
        &["--verbose"],
        &["--format", "markdown"],
    ] {
        let mut args = vec!["check", "--no-record"];
        args.extend_from_slice(extra);
        let out = shipcheck(dir, &args);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            stderr(&out)
        );
        for (stream, text) in [("stdout", stdout(&out)), ("stderr", stderr(&out))] {
            for (what, canary) in [
                ("url password", "CANARY-url-pw"),
                ("map secret", "CANARY-map-secret"),
                ("token", "CANARY-q"),
                ("escaped token", r#"CANARY-q\"u"#),
            ] {
                assert!(
                    !text.contains(canary),
                    "{extra:?}: the {what} leaked to {stream}:\n{text}"
                );
            }
        }
    }
}

/// Parse errors never quote a secret: a broken profile line holding a token, a secret
/// variable given a map, a broken TOML config line and a broken env-file line.
#[test]
fn parse_errors_quote_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |profile: &str| {
        std::fs::write(dir.join("shipcheck.yaml"), profile).unwrap();
        let out = shipcheck(dir, &["check", "--no-record", "--format", "json"]);
        for (stream, text) in [("stdout", stdout(&out)), ("stderr", stderr(&out))] {
            assert!(
                !text.contains("CANARY"),
                "a secret leaked to {stream}:\n{text}"
            );
        }
        out
    };
    std::fs::write(
        dir.join("pack.yaml"),
        r#"name: p
version: "1"
title: P
variables:
  - {name: tok, doc: a token, secret: true}
sections:
  - id: s
    title: S
    items:
      - id: toml.value
        title: t
        severity: low
        phase: pre-deploy
        why: w
        fix: f
        check:
          config: {path: app.toml, query: .port}
      - id: env.value
        title: e
        severity: low
        phase: pre-deploy
        why: w
        fix: f
        check:
          env: {name: PORT, file: app.env}
"#,
    )
    .unwrap();
    // A YAML syntax error on the line that holds a token.
    let out = run("packs: [pack.yaml]\nvars:\n  api_token: \"CANARY-yaml-0123456789\n  other: [\n");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A secret variable given a map.
    let out = run("packs: [pack.yaml]\nvars:\n  tok: {inner: CANARY-map-0123456789}\n");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Config and env files with a broken line holding a secret.
    std::fs::write(
        dir.join("app.toml"),
        "port = 8080\npassword = \"CANARY-toml-0123456789\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("app.env"),
        "PORT=1\nTOKEN: CANARY-env-0123456789=x\n",
    )
    .unwrap();
    let out = run("packs: [pack.yaml]\nvars:\n  tok: fine-value-123\n");
    let s = statuses(&json(&out));
    assert_eq!(s["toml.value"], "error");
    assert_eq!(s["env.value"], "error");
}

/// The names of settings are not secret: an item that reports which required variables
/// are missing shows their names, while a value under a secret-looking key stays masked
/// however the query reaches it.
#[test]
fn names_of_settings_are_shown_and_values_stay_masked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("app.env"),
        "ADMIN_PASSWORD=canary-pw-8f3a91\nNODE_ENV=production\n",
    )
    .unwrap();
    let cfg = |query: &str| {
        format!(
            "check:\n  config: {{path: app.env, format: env, query: '{query}'}}\n  expect: [{{equals: []}}]"
        )
    };
    write_pack(
        dir,
        &[
            (
                "required",
                &cfg(
                    r#"[("ADMIN_PASSWORD","CSRF_SECRET","NODE_ENV") as $k | select(has($k) | not) | $k]"#,
                ),
            ),
            ("by-path", &cfg(".ADMIN_PASSWORD")),
            ("by-literal", &cfg(r#".["ADMIN_PASSWORD"]"#)),
            ("in-a-list", &cfg(r#"[.NODE_ENV, .["ADMIN_PASSWORD"]]"#)),
        ],
        "",
    );
    let out = shipcheck(dir, &["check", "--format", "json", "--no-record"]);
    assert!(
        !stdout(&out).contains("canary-pw-8f3a91"),
        "{}",
        stdout(&out)
    );
    let run = json(&out);
    let summary = |id: &str| crate::common::summary(&run, id);
    assert!(
        summary("required").contains("CSRF_SECRET"),
        "{}",
        summary("required")
    );
    for id in ["by-path", "by-literal", "in-a-list"] {
        assert!(summary(id).contains("<secret"), "{id}: {}", summary(id));
    }
}
