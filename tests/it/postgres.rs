//! The postgres probe against two real PostgreSQL clusters (Debian's package) started by
//! scripts/test-postgres.sh: one SSL-required, one lax. One test starts and stops both.

use crate::common::*;

fn here() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn probe_env(url: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["probe", "postgres", "--url-env", "SHIPCHECK_TEST_DB_URL"];
    args.extend_from_slice(extra);
    assert_cmd::Command::cargo_bin("shipcheck")
        .unwrap()
        .current_dir(here())
        .env("SHIPCHECK_TEST_DB_URL", url)
        .args(&args)
        .output()
        .unwrap()
}

fn assert_no_canary(out: &std::process::Output) {
    let all = stdout(out) + &stderr(out);
    assert!(
        !all.contains("CANARY"),
        "a database password leaked:\n{all}"
    );
}

#[test]
fn against_real_postgresql() {
    let pg = Postgres::start();
    // Strict: nothing to report.
    let out = probe_env(&pg.strict_url(), &["--format", "json"]);
    assert_no_canary(&out);
    assert_eq!(finding_ids(&out), Vec::<String>::new(), "{}", stdout(&out));
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let o = &v[0]["observed"];
    assert!(
        o["server_version"]
            .as_str()
            .unwrap()
            .starts_with(char::is_numeric),
        "{o:#}"
    );
    assert_eq!(o["connection_encrypted"], true);
    assert!(
        o["plaintext_detail"]
            .as_str()
            .unwrap()
            .contains("no encryption"),
        "{o:#}"
    );
    // Lax: every setting is reported.
    let out = probe_env(&pg.lax_url(), &["--format", "json"]);
    assert_no_canary(&out);
    assert_eq!(
        finding_ids(&out),
        [
            "postgres.ssl.off",
            "postgres.ssl.old_protocols",
            "postgres.password.not_scram",
            "postgres.plaintext.accepted",
            "postgres.hba.trust"
        ]
    );
    let v = json(&out);
    assert_eq!(
        v[0]["observed"]["trust_rules"],
        serde_json::json!(["line 3: host all all 0.0.0.0"])
    );
    // Human output names the version and never the password.
    let out = probe_env(&pg.lax_url(), &[]);
    assert_no_canary(&out);
    assert!(
        stdout(&out).contains("server_version: 15") || stdout(&out).contains("server_version: 1"),
        "{}",
        stdout(&out)
    );
    // A wrong password is a could-not-check, and the message carries no password.
    let wrong = pg.strict_url().replace("strict-pg", "wrong-pg");
    let out = probe_env(&wrong, &["--format", "json"]);
    assert_no_canary(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        json(&out)[0]["error"]
            .as_str()
            .unwrap()
            .contains("password authentication failed"),
        "{}",
        stdout(&out)
    );
    pack_item(&pg);
}

fn pack_item(pg: &Postgres) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pack.yaml"),
        "name: db\nversion: '1'\ntitle: DB\nvariables:\n  - {name: env_file, doc: env file of the service}\nsections:\n  - id: db\n    title: Database\n    items:\n      - id: db.tls-and-auth\n        title: PostgreSQL requires TLS 1.2+ and SCRAM\n        severity: critical\n        why: w\n        fix: f\n        phase: pre-deploy\n        check:\n          postgres: {env_file: '${env_file}', env_var: DATABASE_URL}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("strict.env"),
        format!("DATABASE_URL={}\n", pg.strict_url()),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("lax.env"),
        format!("DATABASE_URL={}\n", pg.lax_url()),
    )
    .unwrap();
    std::fs::write(dir.path().join("shipcheck.yaml"), "packs: [pack.yaml]\nenvironments:\n  strict: {vars: {env_file: strict.env}}\n  lax: {vars: {env_file: lax.env}}\n").unwrap();
    let out = shipcheck(
        dir.path(),
        &["check", "--env", "strict", "--format", "json", "-v"],
    );
    assert_no_canary(&out);
    let run = json(&out);
    assert_eq!(
        run["results"][0]["status"], "pass",
        "{:#}",
        run["results"][0]
    );
    let out = shipcheck(dir.path(), &["check", "--env", "lax", "--format", "json"]);
    assert_no_canary(&out);
    let run = json(&out);
    let r = &run["results"][0];
    assert_eq!(r["status"], "fail");
    assert_eq!(r["summary"], "expected ssl = on, found off");
    let failed: Vec<&str> = r["evidence"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ok"] == false)
        .map(|f| f["expected"].as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 5, "{failed:?}");
    let out = shipcheck(dir.path(), &["check", "--env", "lax", "-v"]);
    assert_no_canary(&out);
}
