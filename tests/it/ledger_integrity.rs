//! The ledger's integrity: tampering of every kind is detected, evidence files are in the
//! chain, and a write with the wrong key (or none) is refused.

use std::path::Path;

use crate::common::*;
use crate::ledger::*;

#[test]
fn sqlite_tampering_is_detected() {
    let app = App::new();
    waive(&app, 5);
    assert_eq!(verify_sqlite(&app.db, true).0, 0);
    let cases = TAMPERING;
    for (name, statements, expected) in cases {
        let db = copy_db(&app, &format!("{name}.db"));
        sql(&db, statements);
        let (code, text) = verify_sqlite(&db, false);
        assert_eq!(code, 1, "{name}: {text}");
        assert!(
            text.contains(expected),
            "{name}: expected `{expected}` in\n{text}"
        );
    }
    // A forger who recomputes the chain and the head after editing: undetectable without the
    // key (and said so), detected with it.
    let db = copy_db(&app, "rewritten.db");
    rewrite_chain(&db, |body| body.replace("migration 4", "forged"));
    let (code, text) = verify_sqlite(&db, false);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("chain intact") && text.contains("UNAUTHENTICATED"),
        "{text}"
    );
    let (code, text) = verify_sqlite(&db, true);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("authentication FAILED"), "{text}");
}

/// Attestation evidence files are inside the chain: `ledger verify` reads every blob an
/// attestation names and fails when one was replaced or deleted.
#[test]
fn evidence_files_are_verified_with_the_chain() {
    let app = App::new();
    std::fs::write(app.tmp.path().join("drill.txt"), "restore drill: OK\n").unwrap();
    let out = attest_drill(&app, &[("SHIPCHECK_LEDGER_KEY", KEY)], "alice", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(verify_sqlite(&app.db, true).0, 0);
    let replaced = copy_db(&app, "replaced");
    sql(&replaced, "UPDATE blobs SET content = X'6E6F7065'");
    let (code, text) = verify_sqlite(&replaced, true);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("drill.txt"), "{text}");
    assert!(text.contains("does not match"), "{text}");
    let deleted = copy_db(&app, "deleted");
    sql(&deleted, "DELETE FROM blobs");
    let (code, text) = verify_sqlite(&deleted, true);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("missing"), "{text}");
}

/// A write with no key, or another key, on a ledger whose head is authenticated is refused
/// (it would unsign or re-sign the chain without a word), unless `--rekey` says so.
#[test]
fn writing_with_the_wrong_key_or_none_is_refused() {
    let app = App::new();
    waive(&app, 1);
    let write = |envs: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec![
            "waive",
            "config.json-port",
            "--reason",
            "r",
            "--owner",
            "o",
            "--expires",
            "2999-01-01",
            "--profile",
            "app/shipcheck.yaml",
        ];
        args.extend_from_slice(extra);
        shipcheck_db(app.tmp.path(), &app.db, envs, &args)
    };
    let out = write(&[], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("SHIPCHECK_LEDGER_KEY"),
        "{}",
        stderr(&out)
    );
    let out = write(&[("SHIPCHECK_LEDGER_KEY", "another-key-0000000000")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not match"), "{}", stderr(&out));
    // Nothing was written: the chain still verifies under the right key.
    assert_eq!(verify_sqlite(&app.db, true).0, 0);
    // The right key writes; --rekey re-signs on purpose.
    assert_eq!(
        write(&[("SHIPCHECK_LEDGER_KEY", KEY)], &[]).status.code(),
        Some(0)
    );
    let out = write(
        &[("SHIPCHECK_LEDGER_KEY", "another-key-0000000000")],
        &["--rekey"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        verify_sqlite(&app.db, true).0,
        1,
        "signed with the new key now"
    );
}

/// Run bodies are stored deflated (migration 5): a run of the fixture takes a fraction of
/// its JSON; an edit of the stored bytes is caught by `verify` at that record; a run
/// stored as text (as before migration 5) reads and verifies the same.
#[test]
fn runs_are_stored_deflated_and_still_verified() {
    let app = App::new();
    for env in ["bad", "good", "bad"] {
        check(&app, env);
    }
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    let (runs, text, stored): (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(length(body)), sum(length(body_z)) FROM records WHERE kind = 'run'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((runs, text), (3, 0), "run bodies are not kept as text");
    let json_len = stdout(&check(&app, "bad")).len() as i64;
    assert!(
        stored / runs * 4 < json_len,
        "{stored} bytes for {runs} runs of about {json_len} bytes of JSON each"
    );
    drop(conn);
    assert_eq!(verify_sqlite(&app.db, false).0, 0);
    // An old-style run: the same body as text, no deflated copy. It hashes the same.
    let db = copy_db(&app, "text.db");
    let out = shipcheck_db(
        Path::new("."),
        &db,
        &[],
        &["report", "1", "--format", "json"],
    );
    let first: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let seq: i64 = conn
        .query_row("SELECT min(seq) FROM records WHERE kind = 'run'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let records =
        shipcheck_ledger::Ledger::open(shipcheck_ledger::Location::Sqlite(db.clone().into()))
            .unwrap()
            .records()
            .unwrap();
    let body = records.iter().find(|r| r.seq == seq).unwrap().body.clone();
    conn.execute(
        "UPDATE records SET body = ?1, body_z = NULL WHERE seq = ?2",
        rusqlite::params![body, seq],
    )
    .unwrap();
    drop(conn);
    assert_eq!(
        verify_sqlite(&db, false).0,
        0,
        "{}",
        verify_sqlite(&db, false).1
    );
    let out = shipcheck_db(
        Path::new("."),
        &db,
        &[],
        &["report", "1", "--format", "json"],
    );
    let again: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(first, again);
    // Edited stored bytes: one byte flipped in the middle of the second run.
    let db = copy_db(&app, "flipped.db");
    sql(
        &db,
        "UPDATE records SET body_z = substr(body_z, 1, 100) || X'5A' || substr(body_z, 102) WHERE seq = (SELECT min(seq) FROM records WHERE kind = 'run' AND seq > (SELECT min(seq) FROM records WHERE kind = 'run'));",
    );
    let out = shipcheck_db(Path::new("."), &db, &[], &["ledger", "verify"]);
    let (code, text) = (
        out.status.code().unwrap_or(-1),
        format!("{}{}", stdout(&out), stderr(&out)),
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("does not match its hash"), "{text}");
}

/// Runs of a deployment are stored as zstd deltas against a base (a blob) shared by its runs
/// in one environment: an unchanged run costs a few hundred bytes, every run still reads back as it was checked,
/// and a missing or replaced base is caught by `verify` on the runs that use it.
#[test]
fn unchanged_runs_are_small_deltas_of_a_shared_base() {
    let app = App::new();
    let outputs: Vec<String> = ["bad", "bad", "good", "bad"]
        .iter()
        .map(|env| stdout(&check(&app, env)))
        .collect();
    let json_len = outputs[0].len() as i64;
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    let rows: Vec<(i64, i64, Option<String>)> = conn
        .prepare(
            "SELECT seq, length(body_z), body_base FROM records WHERE kind = 'run' ORDER BY seq",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 4);
    // The bad environment's runs share the first run's base; the good one has its own.
    let base = rows[0].2.clone().expect("the first run starts a base");
    for n in [1, 3] {
        assert_eq!(rows[n].2.as_deref(), Some(base.as_str()), "{rows:?}");
    }
    assert!(rows[2].2.is_some() && rows[2].2 != rows[0].2, "{rows:?}");
    let (blob_len,): (i64,) = conn
        .query_row(
            "SELECT length(content) FROM blobs WHERE sha256 = ?1",
            [&base],
            |r| Ok((r.get(0)?,)),
        )
        .unwrap();
    assert!(
        blob_len * 3 < json_len,
        "base {blob_len} bytes, run {json_len}"
    );
    // The repeated bad run: a delta of the first, tiny next to the base.
    assert!(rows[1].1 * 20 < blob_len, "{rows:?}, base {blob_len}");
    drop(conn);
    // Every run reads back as the check printed it (same items, statuses and evidence).
    for (n, printed) in outputs.iter().enumerate() {
        let seq = rows[n].0;
        let out = app.run(&["report", &format!("{}", n + 1), "--format", "json"]);
        let stored: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let printed: serde_json::Value = serde_json::from_str(printed).unwrap();
        assert_eq!(stored["results"], printed["results"], "run {n} (seq {seq})");
    }
    assert_eq!(verify_sqlite(&app.db, false).0, 0);
    // The base removed, then replaced by other bytes: every run using it is reported.
    for (name, statement) in [
        ("no-base.db", "DELETE FROM blobs;"),
        (
            "other-base.db",
            "UPDATE blobs SET content = X'28B52FFD2000010000';",
        ),
    ] {
        let db = copy_db(&app, name);
        sql(&db, statement);
        let (code, text) = verify_sqlite(&db, false);
        assert_eq!(code, 1, "{name}: {text}");
        assert!(text.contains("does not match its hash"), "{name}: {text}");
        let out = shipcheck_db(Path::new("."), &db, &[], &["report", "1"]);
        assert_ne!(out.status.code(), Some(0), "{name}");
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}

/// A ledger a newer shipcheck migrated may hold records in a form this build cannot read:
/// every command refuses it with the reason, and writes nothing.
#[test]
fn a_ledger_from_a_newer_shipcheck_is_refused_with_the_reason() {
    let app = App::new();
    check(&app, "bad");
    sql(
        &app.db,
        "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later');",
    );
    let count = || {
        rusqlite::Connection::open(&app.db)
            .unwrap()
            .query_row("SELECT count(*) FROM records", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    let before = count();
    for args in [
        &["report", "latest"][..],
        &["ledger", "verify"],
        &["check", "--profile", "app/shipcheck.yaml", "--env", "bad"],
    ] {
        let out = app.run(args);
        let err = stderr(&out);
        assert!(
            !matches!(out.status.code(), Some(0) | Some(1) | None),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("written by a newer shipcheck (schema version 99")
                && err.contains("upgrade shipcheck"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(count(), before);
}
