//! Deployments are first-class: every run, attestation, waiver, sign-off and baseline
//! belongs to one deployment and environment. Statements of one deployment never apply to
//! another; a profile that names its deployment shares its records wherever it is checked
//! out; ledgers from before deployments existed migrate without touching the chain.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;

struct Fleet {
    tmp: tempfile::TempDir,
    db: String,
}

impl Fleet {
    fn new() -> Fleet {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("ledger.db").display().to_string();
        Fleet { tmp, db }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// `shipcheck ARGS` in the folder `rel` (where its `shipcheck.yaml` is found).
    fn run(&self, rel: &str, args: &[&str]) -> Output {
        shipcheck_db(&self.path(rel), &self.db, &[], args)
    }

    fn ok(&self, rel: &str, args: &[&str]) -> String {
        let out = self.run(rel, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    fn check(&self, rel: &str) -> serde_json::Value {
        json(&self.run(rel, &["check", "--format", "json"]))
    }
}

fn status(run: &serde_json::Value, id: &str) -> String {
    statuses(run)[id].clone()
}

#[test]
fn statements_of_one_deployment_never_apply_to_another() {
    let f = Fleet::new();
    deployment(&f.path("a/orders"), "");
    deployment(&f.path("b/shop"), "");
    let run = f.check("a/orders");
    assert_eq!(run["deployment"], "orders", "derived from the folder");
    assert_eq!(status(&run, "port"), "fail");
    let out = f.ok(
        "a/orders",
        &[
            "waive",
            "port",
            "--reason",
            "moving",
            "--owner",
            "ops",
            "--expires",
            "2999-01-01",
        ],
    );
    assert!(out.contains("for orders"), "{out}");
    f.ok(
        "a/orders",
        &["attest", "drill", "--by", "alice", "--role", "operations"],
    );
    let run = f.check("a/orders");
    assert_eq!(
        (status(&run, "port"), status(&run, "drill")),
        ("waived".into(), "pass".into())
    );

    // The same pack and profile in another folder is another deployment: nothing applies,
    // and orders' waiver is not "unused" there.
    let out = f.run("b/shop", &["check"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!text.contains("unused"), "{text}");
    let run = f.check("b/shop");
    assert_eq!(run["deployment"], "shop");
    assert_eq!(
        (status(&run, "port"), status(&run, "drill")),
        ("fail".into(), "pending".into())
    );
    assert_eq!(
        run["unused_waivers"].as_array().map_or(0, Vec::len),
        0,
        "{run}"
    );
    // orders' own runs still see both.
    let run = f.check("a/orders");
    assert_eq!(
        (status(&run, "port"), status(&run, "drill")),
        ("waived".into(), "pass".into())
    );

    // history lists each deployment's runs; --all names the deployment of each.
    let shop: serde_json::Value =
        serde_json::from_str(&f.ok("b/shop", &["history", "--format", "json"])).unwrap();
    let shop = shop.as_array().unwrap();
    assert_eq!(shop.len(), 2);
    assert!(shop.iter().all(|r| r["deployment"] == "shop"));
    let all = f.ok("b/shop", &["history", "--all"]);
    assert_eq!(
        all.lines().filter(|l| l.contains(" orders ")).count(),
        3,
        "{all}"
    );
    assert_eq!(
        all.lines().filter(|l| l.contains(" shop ")).count(),
        2,
        "{all}"
    );

    // A sign-off of shop's run is not one of orders'.
    f.ok(
        "b/shop",
        &["signoff", "--role", "security", "--by", "carol"],
    );
    let gate = f.run("a/orders", &["gate", "--format", "json"]);
    let gate = json(&gate);
    assert_eq!(gate["signoffs"].as_array().map_or(0, Vec::len), 0, "{gate}");
}

#[test]
fn a_named_deployment_is_the_same_wherever_it_is_checked_out() {
    let f = Fleet::new();
    // A laptop checkout and a CI checkout at another path, both naming the deployment.
    let extra = "deployment: payments-gateway\nlabels: {team: payments, region: eu-west-1}\n";
    deployment(&f.path("home/alice/repo/deploy"), extra);
    deployment(&f.path("builds/ci-4711/checkout"), extra);
    let laptop = "home/alice/repo/deploy";
    let ci = "builds/ci-4711/checkout";
    f.check(laptop);
    f.ok(
        laptop,
        &[
            "waive",
            "port",
            "--reason",
            "moving",
            "--owner",
            "ops",
            "--expires",
            "2999-01-01",
        ],
    );
    f.ok(
        laptop,
        &["attest", "drill", "--by", "alice", "--role", "operations"],
    );
    let run = f.check(ci);
    assert_eq!(run["deployment"], "payments-gateway");
    assert_eq!(run["labels"]["team"], "payments");
    assert_eq!(
        (status(&run, "port"), status(&run, "drill")),
        ("waived".into(), "pass".into())
    );
    // One history, one latest run: CI signs off what the laptop's history shows.
    let history: serde_json::Value =
        serde_json::from_str(&f.ok(laptop, &["history", "--format", "json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2);
    f.ok(ci, &["signoff", "--role", "security", "--by", "carol"]);
    let gate = json(&f.run(laptop, &["gate", "--format", "json"]));
    assert_eq!(gate["signoffs"][0]["by"], "carol", "{gate}");
    assert_eq!(gate["signoffs"][0]["deployment"], "payments-gateway");
    // The baseline belongs to the deployment too.
    f.ok(ci, &["baseline", "latest"]);
    let history = f.ok(laptop, &["history"]);
    assert!(
        history.lines().last().unwrap().contains("[baseline]"),
        "{history}"
    );
    // Another environment of the same deployment is another history.
    let staging = f.run(laptop, &["history", "--env", "staging"]);
    assert!(
        stdout(&staging).contains("no recorded runs"),
        "{}",
        stdout(&staging)
    );
}

#[test]
fn a_bad_deployment_name_or_label_is_a_located_error() {
    let f = Fleet::new();
    for (extra, want) in [
        ("deployment: Payments Gateway\n", "shipcheck.yaml:4:13"),
        ("deployment: payments/gw\n", "shipcheck.yaml:4:13"),
        ("labels: {team: \"\"}\n", "shipcheck.yaml:4:16"),
    ] {
        deployment(&f.path("svc"), extra);
        let out = f.run("svc", &["check", "--no-record"]);
        assert_eq!(out.status.code(), Some(2), "{extra}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(want), "{extra}: {err}");
    }
    deployment(&f.path("svc"), "deployment: Payments Gateway\n");
    let err = stderr(&f.run("svc", &["check", "--no-record"]));
    assert!(
        err.contains("payments-gateway"),
        "suggests a valid name: {err}"
    );
}

/// The v1 ledger of tests/fixtures/ledger-v1 (see its make.sh) in a fresh folder, with the
/// two deployments it holds checked out again at other paths (as on a CI runner).
fn v1_fleet() -> Fleet {
    let f = Fleet::new();
    let dump = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(fixtures().join("ledger-v1/ledger-v1.sql.gz"))
        .output()
        .expect("gzip runs");
    assert!(dump.status.success());
    let sql = String::from_utf8(dump.stdout).unwrap();
    rusqlite::Connection::open(&f.db)
        .unwrap()
        .execute_batch(&sql)
        .unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    copy_dir(&demo, &f.path("runner/build-1/demo"));
    copy_dir(&demo, &f.path("runner/build-2/shop"));
    f
}

#[test]
fn a_v1_ledger_migrates_without_touching_the_chain() {
    let f = v1_fleet();
    let (demo, shop) = ("runner/build-1/demo", "runner/build-2/shop");
    let verify = f.ok(demo, &["ledger", "verify"]);
    assert!(
        verify.contains("10 records") && verify.contains("chain intact"),
        "{verify}"
    );
    // backups.restore-tested was attested from demo's profile, but v1 did not record that,
    // and both deployments had run it in production: it goes to neither.
    assert!(
        verify.contains("1 record from before deployments existed"),
        "{verify}"
    );
    assert!(
        verify.contains("#8 attestation:")
            && verify.contains("2 deployments hold secureclaw:backups.restore-tested (demo, shop)"),
        "{verify}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&f.ok(demo, &["ledger", "verify", "--format", "json"])).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["unassigned"][0]["seq"], 8, "{v}");

    // demo keeps its waiver and its attestation; shop gets neither.
    let run = f.check(demo);
    assert_eq!(run["deployment"], "demo");
    let st = statuses(&run);
    assert_eq!(
        st["files.log-mode"],
        "waived",
        "{}",
        summary(&run, "files.log-mode")
    );
    assert_eq!(st["backups.documented"], "pass");
    assert_eq!(
        st["backups.restore-tested"], "pending",
        "an unassigned attestation applies nowhere"
    );
    let out = f.run(shop, &["check"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!text.contains("files.log-mode` unused"), "{text}");
    let run = f.check(shop);
    let st = statuses(&run);
    assert_eq!(
        st["files.log-mode"],
        "fail",
        "{}",
        summary(&run, "files.log-mode")
    );
    assert_eq!(
        (
            st["backups.documented"].as_str(),
            st["backups.restore-tested"].as_str()
        ),
        ("pending", "pending")
    );

    // Each deployment has its own history; demo's baseline is still run #1.
    let history = |dir: &str| -> Vec<(i64, bool)> {
        let h: serde_json::Value =
            serde_json::from_str(&f.ok(dir, &["history", "--format", "json"])).unwrap();
        h.as_array()
            .unwrap()
            .iter()
            .map(|r| (r["run"].as_i64().unwrap(), r["baseline"].as_bool().unwrap()))
            .collect()
    };
    assert_eq!(history(demo), vec![(1, true), (4, false), (6, false)]);
    assert_eq!(
        history(shop),
        vec![(3, false), (5, false), (7, false), (8, false)]
    );

    // New records continue the same chain.
    let verify = f.ok(shop, &["ledger", "verify"]);
    assert!(
        verify.contains("13 records") && verify.contains("chain intact"),
        "{verify}"
    );
}

#[test]
fn a_v1_record_cannot_be_moved_to_another_deployment() {
    let f = v1_fleet();
    // Claim the unassigned attestation for shop by editing its body: the chain catches it.
    rusqlite::Connection::open(&f.db)
        .unwrap()
        .execute_batch(
            r#"UPDATE records SET body = replace(body, '"item":', '"deployment":"shop","item":') WHERE seq = 8;"#,
        )
        .unwrap();
    let out = f.run("runner/build-1/demo", &["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("BROKEN at record #8: its content does not match its hash"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_index_columns_are_checked_against_the_content() {
    let f = v1_fleet();
    // The migration filled the columns from the content.
    f.ok("runner/build-1/demo", &["ledger", "verify"]);
    let conn = rusqlite::Connection::open(&f.db).unwrap();
    let column = |seq: i64| -> Option<String> {
        conn.query_row(
            "SELECT deployment FROM records WHERE seq = ?1",
            [seq],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(
        (column(3), column(7), column(8)),
        (Some("demo".into()), Some("shop".into()), None)
    );
    // Moving demo's waiver to shop through the index alone is caught.
    conn.execute_batch("UPDATE records SET deployment = 'shop' WHERE seq = 3;")
        .unwrap();
    let out = f.run("runner/build-1/demo", &["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("BROKEN at record #3: its index columns say deployment shop but its content says deployment demo"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn run_summaries_are_migrated_and_checked_against_their_runs() {
    let f = v1_fleet();
    f.ok("runner/build-1/demo", &["ledger", "verify"]);
    let conn = rusqlite::Connection::open(&f.db).unwrap();
    // Migration 3 wrote one summary per run, placed as the run is.
    let (runs, summaries): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM records WHERE kind = 'run'), (SELECT count(*) FROM run_summaries)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(runs > 0);
    assert_eq!(runs, summaries);
    let first: i64 = conn
        .query_row("SELECT min(seq) FROM run_summaries", [], |r| r.get(0))
        .unwrap();
    // A summary edited to show a GO is caught, and so is one deleted.
    conn.execute_batch(&format!(
        "UPDATE run_summaries SET summary = replace(summary, '\"go\":false', '\"go\":true') WHERE seq = {first};"
    ))
    .unwrap();
    let out = f.run("runner/build-1/demo", &["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!(
            "BROKEN at record #{first}: its run summary disagrees with the run"
        )),
        "{}",
        stdout(&out)
    );
    conn.execute_batch(&format!("DELETE FROM run_summaries WHERE seq = {first};"))
        .unwrap();
    let out = f.run("runner/build-1/demo", &["ledger", "verify"]);
    assert!(
        stdout(&out).contains(&format!(
            "BROKEN at record #{first}: its run summary is missing"
        )),
        "{}",
        stdout(&out)
    );
}

/// The v1 fixture's tables as SQL for PostgreSQL (its v1 layout, with the rows).
fn v1_as_postgres(sqlite: &Path) -> String {
    let conn = rusqlite::Connection::open(sqlite).unwrap();
    let q = |s: String| format!("'{}'", s.replace('\'', "''"));
    let mut sql = String::from(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, '2026-11-30T00:00:00Z');
         CREATE TABLE records (seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, created_at TEXT NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
         CREATE TABLE head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL, mac TEXT);
         CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, content BYTEA NOT NULL);\n",
    );
    let mut stmt = conn
        .prepare("SELECT seq, kind, created_at, body, prev_hash, hash FROM records ORDER BY seq")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(format!(
                "INSERT INTO records VALUES ({}, {}, {}, {}, {}, {});\n",
                r.get::<_, i64>(0)?,
                q(r.get(1)?),
                q(r.get(2)?),
                q(r.get(3)?),
                q(r.get(4)?),
                q(r.get(5)?)
            ))
        })
        .unwrap();
    for row in rows {
        sql.push_str(&row.unwrap());
    }
    let (seq, hash): (i64, String) = conn
        .query_row("SELECT seq, hash FROM head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    sql.push_str(&format!(
        "INSERT INTO head VALUES (1, {seq}, {});\n",
        q(hash)
    ));
    let mut stmt = conn
        .prepare("SELECT sha256, size, hex(content) FROM blobs")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(format!(
                "INSERT INTO blobs VALUES ({}, {}, decode({}, 'hex'));\n",
                q(r.get(0)?),
                r.get::<_, i64>(1)?,
                q(r.get(2)?)
            ))
        })
        .unwrap();
    for row in rows {
        sql.push_str(&row.unwrap());
    }
    sql
}

#[test]
fn a_v1_postgresql_ledger_migrates_the_same() {
    let pg = Postgres::start();
    let mut f = v1_fleet();
    let url = format!(
        "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/v1",
        pg.strict
    );
    let psql = |db: &str, args: &[&str]| {
        let url = format!(
            "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/{db}",
            pg.strict
        );
        let out = std::process::Command::new("psql")
            .arg(&url)
            .args(["-v", "ON_ERROR_STOP=1", "-q"])
            .args(args)
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql("postgres", &["-c", "CREATE DATABASE v1"]);
    let sql = f.path("v1-postgres.sql");
    std::fs::write(&sql, v1_as_postgres(Path::new(&f.db))).unwrap();
    psql("v1", &["-f", &sql.display().to_string()]);
    f.db = url;
    let (demo, shop) = ("runner/build-1/demo", "runner/build-2/shop");
    let verify = f.ok(demo, &["ledger", "verify"]);
    assert!(
        verify.contains("chain intact") && verify.contains("#8 attestation:"),
        "{verify}"
    );
    let st = statuses(&f.check(demo));
    assert_eq!(
        (
            st["files.log-mode"].as_str(),
            st["backups.documented"].as_str()
        ),
        ("waived", "pass")
    );
    let st = statuses(&f.check(shop));
    assert_eq!(
        (
            st["files.log-mode"].as_str(),
            st["backups.documented"].as_str()
        ),
        ("fail", "pending")
    );
    psql(
        "v1",
        &[
            "-c",
            "UPDATE records SET deployment = 'shop', environment = 'production' WHERE seq = 4",
        ],
    );
    let out = f.run(demo, &["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("BROKEN at record #4: its index columns say deployment shop"),
        "{}",
        stdout(&out)
    );
    assert!(!format!("{}{}", stdout(&out), stderr(&out)).contains("CANARY"));
}
