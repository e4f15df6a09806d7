//! The PostgreSQL ledger: the same chain, tampering detection, runs and history as SQLite,
//! and calls from async code.

use std::path::Path;

use crate::common::*;
use crate::ledger::*;

#[test]
fn postgresql_ledger_behaves_the_same() {
    let pg = Postgres::start();
    let psql = |db: &str, sql: &str| {
        let url = format!(
            "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/{db}?sslmode=require",
            pg.strict
        );
        let out = std::process::Command::new("psql")
            .arg(&url)
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let app = App::new();
    let url = |db: &str| {
        format!(
            "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/{db}",
            pg.strict
        )
    };
    // The ledger may be called from async code (a server's handlers): the PostgreSQL store
    // keeps its runtime on a thread of its own, so nothing nests (which would panic).
    psql("postgres", "CREATE DATABASE ledger_async");
    let async_url = url("ledger_async");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let count = runtime.block_on(async move {
        tokio::spawn(async move {
            let location = shipcheck_ledger::Location::Postgres(async_url);
            let mut ledger = shipcheck_ledger::Ledger::open_with_key(location, None).unwrap();
            let baseline = shipcheck_ledger::Baseline {
                run: 1,
                deployment: Some("d".into()),
                environment: Some("prod".into()),
                at: shipcheck_ledger::now(),
            };
            ledger.record_baseline(&baseline).unwrap();
            ledger.records().unwrap().len()
        })
        .await
        .unwrap()
    });
    assert_eq!(count, 1);
    let cases = TAMPERING;
    for (name, tamper, expected) in cases {
        psql("postgres", &format!("CREATE DATABASE ledger_{name}"));
        let db = url(&format!("ledger_{name}"));
        waive_with(&app, &db, 5);
        let out = shipcheck_db(
            Path::new("."),
            &db,
            &[("SHIPCHECK_LEDGER_KEY", KEY)],
            &["ledger", "verify"],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name} before tampering: {}{}",
            stdout(&out),
            stderr(&out)
        );
        psql(&format!("ledger_{name}"), tamper);
        let out = shipcheck_db(Path::new("."), &db, &[], &["ledger", "verify"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        assert!(
            stdout(&out).contains(expected),
            "{name}: expected `{expected}` in {}",
            stdout(&out)
        );
        assert!(!stdout(&out).contains("CANARY"));
    }
    // Runs, history and a killed writer on PostgreSQL.
    psql("postgres", "CREATE DATABASE ledger_runs");
    let db = url("ledger_runs");
    let out = shipcheck_db(
        app.tmp.path(),
        &db,
        &[("SHIPCHECK_LEDGER_KEY", KEY)],
        &[
            "check",
            "--profile",
            "app/shipcheck.yaml",
            "--env",
            "good",
            "--format",
            "json",
        ],
    );
    assert!(stderr(&out).contains("recorded run #1"), "{}", stderr(&out));
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("shipcheck"))
        .current_dir(app.tmp.path())
        .env("SHIPCHECK_DB", &db)
        .env("SHIPCHECK_LEDGER_KEY", KEY)
        .env(shipcheck_ledger::FAILPOINT_SLOW_COMMIT, "10000")
        .args([
            "check",
            "--profile",
            "app/shipcheck.yaml",
            "--env",
            "good",
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    child.kill().unwrap();
    child.wait().unwrap();
    let out = shipcheck_db(
        Path::new("."),
        &db,
        &[("SHIPCHECK_LEDGER_KEY", KEY)],
        &["ledger", "verify"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 records"), "{}", stdout(&out));
    let out = shipcheck_db(
        app.tmp.path(),
        &db,
        &[],
        &["history", "--all", "--format", "json"],
    );
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    // The run is stored as a delta of its deployment's base, and reads back.
    let out = shipcheck_db(
        app.tmp.path(),
        &db,
        &[],
        &["report", "1", "--format", "json"],
    );
    assert_eq!(json(&out)["environment"], "good", "{}", stderr(&out));
    // A bundle exported from PostgreSQL verifies offline (its head is authenticated by
    // the HMAC key only, and the bundle says it is not signed).
    let bundle = app.tmp.path().join("pg.bundle");
    let bundle_arg = bundle.display().to_string();
    let out = shipcheck_db(
        app.tmp.path(),
        &db,
        &[],
        &["export", "1", "-o", &bundle_arg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = shipcheck_db(
        app.tmp.path(),
        "none.db",
        &[],
        &["verify-bundle", &bundle_arg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("head not signed"), "{}", stdout(&out));
    // A signed sign-off read back from PostgreSQL: its signature holds for its key, and
    // fails against allowed signers that allow another.
    let dir = app.tmp.path();
    let alice = crate::signoffs::keygen(dir, "alice", crate::signoffs::ED25519);
    let other = crate::signoffs::keygen(dir, "other", crate::signoffs::ED25519);
    let alice_arg = alice.display().to_string();
    let keyed = [("SHIPCHECK_LEDGER_KEY", KEY)];
    let args = [
        "signoff",
        "--role",
        "security",
        "--by",
        "alice@example.com",
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "good",
        "--sign-with",
        &alice_arg,
    ];
    let out = shipcheck_db(dir, &db, &keyed, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = shipcheck_db(dir, &db, &keyed, &["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("signatures: 1 of 1 signed sign-offs and attestations hold"),
        "{}",
        stdout(&out)
    );
    let allowed = dir.join("pg_allowed_signers");
    std::fs::write(
        &allowed,
        format!(
            "security:alice@example.com {}\n",
            crate::signoffs::public(&other)
        ),
    )
    .unwrap();
    let allowed_arg = allowed.display().to_string();
    let out = shipcheck_db(
        dir,
        &db,
        &keyed,
        &["ledger", "verify", "--allowed-signers", &allowed_arg],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("SIGNATURE FAILED: sign-off #")
            && stdout(&out)
                .contains("by alice@example.com (security): the signature does not hold"),
        "{}",
        stdout(&out)
    );
    // A ledger a newer shipcheck migrated is refused with the reason.
    psql(
        "ledger_runs",
        "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')",
    );
    let out = shipcheck_db(app.tmp.path(), &db, &[], &["history", "--all"]);
    assert!(
        stderr(&out).contains("written by a newer shipcheck (schema version 99"),
        "{}",
        stderr(&out)
    );
}
