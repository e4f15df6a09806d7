//! Every malformed input gives a clear, located error, exit code 2, and no panic.

use crate::common::*;

fn lint(file: &str) -> (i32, String) {
    let out = shipcheck(&fixtures().join("bad"), &["pack", "lint", file]);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    (out.status.code().unwrap_or(-1), err)
}

#[test]
fn bad_yaml_is_located() {
    let (code, err) = lint("bad-yaml.yaml");
    assert_eq!(code, 2);
    assert!(err.contains("bad-yaml.yaml:3:"), "{err}");
}

#[test]
fn wrong_type_names_field_and_expectation() {
    let (code, err) = lint("wrong-type.yaml");
    assert_eq!(code, 2);
    assert!(err.contains("wrong-type.yaml:14:19"), "{err}");
    assert!(err.contains("sometimes") || err.contains("bool"), "{err}");
    // Annotated snippet of the offending line.
    assert!(err.contains("optional: sometimes"), "{err}");
}

#[test]
fn unknown_probe_lists_the_known_ones() {
    let (code, err) = lint("unknown-probe.yaml");
    assert_eq!(code, 2);
    assert!(err.contains("unknown-probe.yaml:15:11"), "{err}");
    assert!(err.contains("smtp") && err.contains("config"), "{err}");
}

#[test]
fn invalid_jq_points_at_the_query() {
    let (code, err) = lint("invalid-jq.yaml");
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid-jq.yaml:15:") && err.contains("invalid jq query"),
        "{err}"
    );
}

#[test]
fn duplicate_ids_name_both_places() {
    let (code, err) = lint("duplicate-id.yaml");
    assert_eq!(code, 2);
    assert!(
        err.contains("duplicate-id.yaml:15:13: duplicate item id `a` (first at line 8, column 13)"),
        "{err}"
    );
}

#[test]
fn binary_pack_file_is_refused() {
    let (code, err) = lint("binary.yaml");
    assert_eq!(code, 2);
    assert!(err.contains("binary.yaml is not UTF-8 text"), "{err}");
}

#[test]
fn unreadable_and_missing_files() {
    let (code, err) = lint("no-such-pack.yaml");
    assert_eq!(code, 2);
    assert!(err.contains("cannot read no-such-pack.yaml"), "{err}");
    // A directory where a file is expected.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("dir.yaml")).unwrap();
    let out = shipcheck(tmp.path(), &["pack", "lint", "dir.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read dir.yaml"),
        "{}",
        stderr(&out)
    );
    let out = shipcheck(tmp.path(), &["check", "--profile", "missing.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read missing.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn binary_config_file_is_an_error_result_not_a_pass() {
    let tmp = fixture_app();
    let good = tmp.path().join("app/good");
    std::fs::copy("/bin/true", good.join("deploy.yaml")).unwrap();
    let out = shipcheck(
        tmp.path(),
        &[
            "check",
            "--profile",
            "app/shipcheck.yaml",
            "--format",
            "json",
            "--allow-pending",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let run = json(&out);
    let r = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "config.yaml-replicas")
        .unwrap();
    assert_eq!(r["status"], "error");
    assert!(
        r["summary"].as_str().unwrap().contains("not UTF-8 text"),
        "{}",
        r["summary"]
    );
}

#[test]
fn profile_errors_are_located() {
    let tmp = fixture_app();
    let app = tmp.path().join("app");
    let write = |name: &str, text: &str| std::fs::write(app.join(name), text).unwrap();
    write(
        "unknown-var.yaml",
        "packs: [pack.yaml]\nvars:\n  root: good\n  rooot: typo\n",
    );
    let out = shipcheck(tmp.path(), &["check", "--profile", "app/unknown-var.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown-var.yaml:4:10: variable `rooot` is not declared"),
        "{}",
        stderr(&out)
    );
    write("missing-var.yaml", "packs: [pack.yaml]\n");
    let out = shipcheck(tmp.path(), &["check", "--profile", "app/missing-var.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("requires variable `root`"),
        "{}",
        stderr(&out)
    );
    write(
        "not-allowed.yaml",
        "packs: [pack.yaml]\nvars: {root: good, feature: maybe}\n",
    );
    let out = shipcheck(tmp.path(), &["check", "--profile", "app/not-allowed.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("variable `feature` is `maybe`; expected one of: on, off"),
        "{}",
        stderr(&out)
    );
    write("bad-pack.yaml", "packs: [nonesuch]\nvars: {root: good}\n");
    let out = shipcheck(tmp.path(), &["check", "--profile", "app/bad-pack.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown pack `nonesuch`"),
        "{}",
        stderr(&out)
    );
    write(
        "bad-expiry.yaml",
        "packs: [pack.yaml]\nvars: {root: good}\nwaivers:\n  - {item: a, reason: r, owner: o, expires: next-week}\n",
    );
    let out = shipcheck(tmp.path(), &["check", "--profile", "app/bad-expiry.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad-expiry.yaml:4:") && stderr(&out).contains("not a date"),
        "{}",
        stderr(&out)
    );
    let out = check_app(&tmp, "qa", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no environment `qa` (it defines: bad, good)"),
        "{}",
        stderr(&out)
    );
    let out = shipcheck(tmp.path(), &["check", "--fail-on", "severe"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn include_cycles_and_unknown_includes_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = |name: &str, includes: &str| {
        format!(
            "name: {name}\nversion: '1'\ntitle: T\ninclude: [{{pack: {includes}}}]\nsections:\n  - id: s\n    title: S\n    items:\n      - {{id: i, title: I, severity: low, why: w, fix: f, phase: periodic, attest: {{roles: [security]}}}}\n"
        )
    };
    std::fs::write(tmp.path().join("a.yaml"), pack("a", "b.yaml")).unwrap();
    std::fs::write(tmp.path().join("b.yaml"), pack("b", "a.yaml")).unwrap();
    std::fs::write(tmp.path().join("c.yaml"), pack("c", "nowhere.yaml")).unwrap();
    std::fs::write(tmp.path().join("cycle.yaml"), "packs: [a.yaml]\n").unwrap();
    std::fs::write(tmp.path().join("missing.yaml"), "packs: [c.yaml]\n").unwrap();
    let out = shipcheck(tmp.path(), &["check", "--profile", "cycle.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cycle: a → b → a"),
        "{}",
        stderr(&out)
    );
    let out = shipcheck(tmp.path(), &["check", "--profile", "missing.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("pack `c` includes `nowhere.yaml`"),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        tmp.path().join("d.yaml"),
        pack("d", "web-service").replace(
            "include: [{pack: web-service}]",
            "include: [{pack: web-service, vars: {host: '${nope}'}}]",
        ),
    )
    .unwrap();
    let out = shipcheck(tmp.path(), &["pack", "lint", "d.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("sets `host` from `${nope}`"),
        "{}",
        stderr(&out)
    );
}

/// A pack that includes the web-service baseline with the given `include:` body.
fn including(dir: &std::path::Path, include: &str) {
    std::fs::write(
        dir.join("inc.yaml"),
        format!(
            "name: inc\nversion: \"1\"\ntitle: inc\ninclude:\n  - pack: web-service\n    vars: {{host: example.test}}\n{include}\nsections:\n  - id: s\n    title: s\n    items:\n      - id: a\n        title: a\n        severity: low\n        why: w\n        fix: f\n        phase: pre-deploy\n        attest: {{roles: [operations]}}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("shipcheck.yaml"), "packs: [inc.yaml]\n").unwrap();
}

#[test]
fn include_with_a_bad_condition_or_exclusion_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    including(tmp.path(), "    when: '.vars.host =='");
    let out = shipcheck(tmp.path(), &["pack", "lint", "inc.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("inc.yaml:7:11"), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid `when`"), "{}", stderr(&out));

    including(tmp.path(), "    exclude: [http.nope]");
    let out = shipcheck(tmp.path(), &["check", "--no-record"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("excludes `http.nope` from `web-service`, which has no such item"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"));
}

/// A profile's endpoint that no pack declares, and a default environment that is not
/// defined, are located on the profile's line and column (they named only the file), with
/// "did you mean" where a name is close.
#[test]
fn unknown_endpoints_and_default_environments_are_located() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("shipcheck.yaml"),
        "packs: [web-service]\nenvironment: prd\nvars: {host: example.test}\nendpoints:\n  servce:\n    url: https://example.test\nenvironments:\n  prod:\n    endpoints:\n      publc: {url: \"https://x.test\"}\n  staging: {}\n",
    )
    .unwrap();
    let out = shipcheck(dir, &["check", "--no-record"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("shipcheck.yaml:2:14: default environment `prd` is not defined"),
        "{err}"
    );
    assert!(err.contains("did you mean `prod`?"), "{err}");
    // Fix the default environment: the endpoints are next.
    std::fs::write(
        dir.join("shipcheck.yaml"),
        "packs: [web-service]\nenvironment: prod\nvars: {host: example.test}\nendpoints:\n  servce:\n    url: https://example.test\nenvironments:\n  prod:\n    endpoints:\n      publc: {url: \"https://x.test\"}\n",
    )
    .unwrap();
    let out = shipcheck(dir, &["check", "--no-record"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("shipcheck.yaml:6:5: endpoint `servce` is not declared"),
        "{err}"
    );
    assert!(err.contains("did you mean `service`?"), "{err}");
    assert!(
        err.contains("shipcheck.yaml:10:14: endpoint `publc` is not declared"),
        "{err}"
    );
    assert!(err.contains("declared endpoints: service"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A `schedule:` that cannot be kept is located at the offset or interval at fault.
#[test]
fn schedule_problems_are_located() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |schedule: &str| {
        std::fs::write(
            dir.join("shipcheck.yaml"),
            format!("packs: [web-service]\nvars: {{host: example.test}}\n{schedule}"),
        )
        .unwrap();
        let out = shipcheck(dir, &["check", "--no-record"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    let err = run("schedule:\n  offsets:\n    first-day: 30m\n    first-week: 2w\n");
    assert!(
        err.contains(
            "shipcheck.yaml:5:16: schedule.offsets: first-hour (1h) comes after first-day (30m)"
        ),
        "{err}"
    );
    let err = run("schedule:\n  every: 10s\n");
    assert!(
        err.contains("shipcheck.yaml:4:10: schedule.every must be at least 1m"),
        "{err}"
    );
    let err = run("schedule:\n  offsets: {first-hour: 2h, pre-deploy: 1h}\n");
    assert!(
        err.contains("shipcheck.yaml:4:41: schedule.offsets: pre-deploy has no offset"),
        "{err}"
    );
}

/// Profile mistakes are caught when the profile loads (exit 2, located, with "did you
/// mean"): an unknown id in `enable:`, a waiver for an item no pack has, and a required
/// variable left empty.
#[test]
fn profile_mistakes_are_caught_at_load() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |profile: &str| {
        std::fs::write(dir.join("shipcheck.yaml"), profile).unwrap();
        let out = shipcheck(dir, &["check", "--no-record"]);
        (out.status.code(), stderr(&out))
    };
    let (code, err) =
        run("packs: [web-service]\nvars: {host: example.test}\nenable: [http.ratelimit]\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("shipcheck.yaml:3"), "{err}");
    assert!(err.contains("http.ratelimit"), "{err}");
    assert!(err.contains("http.rate-limit"), "did you mean: {err}");
    let (code, err) =
        run("packs: [web-service]\nvars: {host: example.test}\nenable: [\"tag:nope\"]\n");
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = run(
        "packs: [web-service]\nvars: {host: example.test}\nwaivers:\n  - {item: tls.cipher, reason: r, owner: o, expires: 2999-01-01}\n",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("shipcheck.yaml:4"), "{err}");
    assert!(err.contains("tls.ciphers"), "did you mean: {err}");
    let (code, err) = run("packs: [web-service]\nvars: {host: \"\"}\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`host`") && err.contains("empty"), "{err}");
    // Parser words said for a person, with suggestions and positions.
    for (profile, expected) in [
        ("packs: web-service\n", "expected a list"),
        (
            "packs: [web-service]\nvars:\n  # nothing yet\n",
            "found none",
        ),
        (
            "packs: [web-service]\nvars:\n  host: a\n  host: b\n",
            "`host` is given twice",
        ),
        ("packs: [web-servic]\n", "did you mean `web-service`"),
        (
            "packs: [web-service]\nvars: {hots: a}\n",
            "did you mean `host`",
        ),
        // Typed variables: one error at load, on the profile's line.
        (
            "packs: [web-service]\nvars:\n  host: example.test\n  port: nine\n",
            "`port` is `nine`, which is not a port",
        ),
        (
            "packs: [web-service]\nvars:\n  host: https://example.test/\n",
            "which is not a host name",
        ),
        (
            "packs: [web-service]\nvars:\n  host: example.test\n  health_path: health\n",
            "health_path` is `health`",
        ),
        (
            "packs: [web-service]\nvars: {host: example.test}\nenvironments:\n  prod: {vars: {http_port: 80x}}\nenvironment: prod\n",
            "`http_port` is `80x`",
        ),
    ] {
        let (code, err) = run(profile);
        assert_eq!(code, Some(2), "{profile}: {err}");
        assert!(err.contains(expected), "{profile}: {err}");
        assert!(err.contains("shipcheck.yaml:"), "{profile}: located: {err}");
        assert!(
            !err.contains("DuplicateKeyPolicy")
                && !err.contains("sequence start")
                && !err.contains("mapping start"),
            "{err}"
        );
    }
    // What is right still runs.
    let (code, err) = run(
        "packs: [web-service]\nvars: {host: example.test}\nenable: [http.rate-limit, \"tag:tls\", \"web-service:http.auth\"]\n",
    );
    assert!(matches!(code, Some(0 | 1)), "{err}");
}

/// A config check names one file (`path`) or several (`each`), never both or neither.
#[test]
fn config_path_and_each_are_exclusive() {
    let tmp = tempfile::tempdir().unwrap();
    for (config, why) in [
        ("{path: a.env, each: {x: b.env}}", "both"),
        ("{format: env}", "neither"),
    ] {
        crate::common::write_pack(
            tmp.path(),
            &[("c", &format!("check:\n  config: {config}"))],
            "",
        );
        let out = crate::common::shipcheck(tmp.path(), &["pack", "lint", "pack.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{why}");
        let err = crate::common::stderr(&out);
        assert!(
            err.contains("exactly one of `path`") && err.contains("pack.yaml:"),
            "{why}: {err}"
        );
    }
}

/// A variable two packs declare (CLASP and the web-service pack it includes both read
/// `http_port`) whose value cannot be read is one problem, said once.
#[test]
fn a_variable_two_packs_declare_is_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("shipcheck.yaml"),
        "packs: [clasp]\nvars:\n  domain: relay.example.test\n  http_port: \"${env:SHIPCHECK_TEST_NEVER_SET}\"\n",
    )
    .unwrap();
    let out = shipcheck(tmp.path(), &["check", "--no-record"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.matches("× shipcheck.yaml:4:14: variable `http_port`")
            .count(),
        1,
        "{err}"
    );
    assert!(err.contains("shipcheck.yaml:4:14"), "{err}");
}

/// A probe target that cannot be a target of its kind is a usage error (exit 2), said
/// before anything is probed, and located in a targets file: never "could not check"
/// (exit 4), which says the target was tried and did not answer.
#[test]
fn malformed_probe_targets_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (kind, target, says) in [
        ("tcp", "localhost", "HOST:PORT"),
        ("tcp", "127.0.0.1:99999", "not a port"),
        ("tls", "https://example.test/", "example.test:443"),
        ("http", "notaurl", "not a URL"),
        ("http", "ftp://example.test/", "http or https"),
        ("dns", "bad name with spaces", "not a host name"),
        ("postgres", "postgres://u:hunter2@[::1/db", "does not parse"),
        ("http", "https://u:hunter2@exa mple.test/", "not a URL"),
        ("tls", "https://u:hunter2@example.test/", "example.test:443"),
    ] {
        let out = shipcheck(dir, &["probe", kind, target]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{kind} {target}: {}",
            stdout(&out)
        );
        let err = stderr(&out);
        assert!(err.contains(says), "{kind} {target}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    // A password in a URL is never printed, whatever happens to the target.
    let out = shipcheck(dir, &["probe", "http", "http://u:hunter2@127.0.0.1:1/"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(!stdout(&out).contains("hunter2"), "{}", stdout(&out));
    std::fs::write(dir.join("t.txt"), "# ports\nlocalhost:22\n\nnotaport\n").unwrap();
    let out = shipcheck(dir, &["probe", "tcp", "--targets", "t.txt"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("t.txt:4: `notaport`"),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        dir.join("t.yaml"),
        "- target: localhost:22\n- {target: 'localhost', closed: true}\n",
    )
    .unwrap();
    let out = shipcheck(dir, &["probe", "tcp", "--targets", "t.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("t.yaml: entry 2 (`localhost`)"),
        "{}",
        stderr(&out)
    );
}
