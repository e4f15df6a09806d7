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
    assert_eq!(out.status.code(), Some(4), "could not check");
    assert!(
        json(&out)[0]["error"]
            .as_str()
            .unwrap()
            .contains("password authentication failed"),
        "{}",
        stdout(&out)
    );
    pack_item(&pg);
    ocmt_tables_in_the_database_and_the_dump(&pg);
}

/// OCMT's migrations and backups judged from artefacts: the tables in the database
/// (`database.tables`) and in the newest dump's table of contents (`backups.dump-tables`,
/// `pg_restore --list`, read-only). The real PostgreSQL and its real pg_dump.
fn ocmt_tables_in_the_database_and_the_dump(pg: &Postgres) {
    let url = pg.strict_url();
    let psql = |sql: &str| {
        let out = std::process::Command::new("psql")
            .args([url.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", sql])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Migrations half done: the relay's tables are missing.
    psql(
        "CREATE TABLE audit_log (id int); CREATE TABLE mesh_audit_logs (id int); CREATE TABLE sessions (id int); INSERT INTO audit_log VALUES (1)",
    );
    let run = |dump: &std::path::Path| {
        let dump = dump.to_path_buf();
        let url = url.clone();
        let d = crate::systems::deploy("ocmt", "good", move |dir| {
            let env = dir.join("mgmt.env");
            let text = std::fs::read_to_string(&env).unwrap();
            let text: String = text
                .lines()
                .map(|l| {
                    if l.starts_with("DATABASE_URL=") {
                        format!("DATABASE_URL={url}\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            std::fs::write(&env, text).unwrap();
            let profile = dir.join("shipcheck.yaml");
            let mut p = std::fs::read_to_string(&profile).unwrap();
            p.push_str(&format!(
                "  backup_dump: '{}'\nenable: [database.tables]\n",
                dump.display()
            ));
            std::fs::write(&profile, p).unwrap();
        });
        let (statuses, report) = crate::systems::check(&d);
        assert!(
            !report.to_string().contains("CANARY"),
            "the database password leaked"
        );
        (statuses, report)
    };
    let scratch = tempfile::tempdir().unwrap();
    let dump = scratch.path().join("latest.dump");
    let pg_dump = |to: &std::path::Path| {
        let out = std::process::Command::new("pg_dump")
            .args(["-Fc", "-f"])
            .arg(to)
            .arg(&url)
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    pg_dump(&dump);
    let (s, report) = run(&dump);
    assert_eq!(
        s["ocmt:database.tables"],
        "fail",
        "{}",
        crate::common::summary(&report, "ocmt:database.tables")
    );
    assert_eq!(s["ocmt:backups.dump-tables"], "fail");
    // Both migrations ran, and a new dump holds every table.
    psql(
        "CREATE TABLE capability_revocations (id int); CREATE TABLE org_token_revocations (id int); CREATE TABLE relay_messages (id int)",
    );
    pg_dump(&dump);
    let (s, report) = run(&dump);
    assert_eq!(
        s["ocmt:database.tables"],
        "pass",
        "{}",
        crate::common::summary(&report, "ocmt:database.tables")
    );
    assert_eq!(
        s["ocmt:backups.dump-tables"],
        "pass",
        "{}",
        crate::common::summary(&report, "ocmt:backups.dump-tables")
    );
    // A file that is not a dump: could not check, not "tables missing".
    std::fs::write(scratch.path().join("not.dump"), "hello").unwrap();
    let (s, _) = run(&scratch.path().join("not.dump"));
    assert_eq!(s["ocmt:backups.dump-tables"], "error");
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
