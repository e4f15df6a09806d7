//! The ledger: runs, attestations, sign-offs, waivers, history, diff, gate; tamper evidence
//! on SQLite and PostgreSQL; atomic writes under kill -9; concurrent writers; no secrets.

use std::path::Path;
use std::process::Output;

use crate::common::*;

pub(crate) const KEY: &str = "test-ledger-hmac-key-0123456789";

pub(crate) struct App {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) db: String,
}

impl App {
    pub(crate) fn new() -> App {
        let tmp = fixture_app();
        let db = tmp.path().join("ledger.db").display().to_string();
        App { tmp, db }
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        shipcheck_db(self.tmp.path(), &self.db, &[], args)
    }

    pub(crate) fn run_keyed(&self, args: &[&str]) -> Output {
        shipcheck_db(
            self.tmp.path(),
            &self.db,
            &[("SHIPCHECK_LEDGER_KEY", KEY)],
            args,
        )
    }
}

pub(crate) const PROFILE: [&str; 2] = ["--profile", "app/shipcheck.yaml"];

/// Attests the fixture's manual item (`manual.restore-drill`) as `by` for operations, with
/// `drill.txt` (written if missing) as evidence, plus `extra` arguments, with `envs` set.
pub(crate) fn attest_drill(app: &App, envs: &[(&str, &str)], by: &str, extra: &[&str]) -> Output {
    let drill = app.tmp.path().join("drill.txt");
    if !drill.exists() {
        std::fs::write(&drill, "restore drill: OK\n").unwrap();
    }
    let mut args = vec![
        "attest",
        "manual.restore-drill",
        "--by",
        by,
        "--role",
        "operations",
        "--evidence",
        "drill.txt",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&PROFILE);
    shipcheck_db(app.tmp.path(), &app.db, envs, &args)
}

pub(crate) fn check(app: &App, env: &str) -> Output {
    app.run(&[
        "check",
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        env,
        "--format",
        "json",
    ])
}

/// Ways to tamper with a ledger of 5 records, in SQL both databases accept, and what
/// `ledger verify` must say.
pub(crate) const TAMPERING: [(&str, &str, &str); 5] = [
    (
        "edited",
        "UPDATE records SET body = replace(body, 'migration 2', 'migration X') WHERE seq = 3;",
        "BROKEN at record #3: its content does not match its hash (edited)",
    ),
    (
        "deleted",
        "DELETE FROM records WHERE seq = 2;",
        "BROKEN at record #2: record #2 is missing",
    ),
    (
        "reordered",
        "UPDATE records SET seq = -1 WHERE seq = 2; UPDATE records SET seq = 2 WHERE seq = 3; UPDATE records SET seq = 3 WHERE seq = -1;",
        "BROKEN at record #2",
    ),
    (
        "inserted",
        "UPDATE records SET seq = seq + 100 WHERE seq >= 3; UPDATE records SET seq = seq - 99 WHERE seq >= 100; INSERT INTO records (seq, kind, created_at, body, prev_hash, hash) SELECT 3, kind, created_at, body, hash, hash FROM records WHERE seq = 2;",
        "BROKEN at record #3",
    ),
    (
        "truncated",
        "DELETE FROM records WHERE seq = 5;",
        "the head says the chain ends at #5 but the records end at #4",
    ),
];

pub(crate) fn waive_with(app: &App, db: &str, n: usize) {
    for i in 0..n {
        let reason = format!("migration {i}");
        let out = shipcheck_db(
            app.tmp.path(),
            db,
            &[("SHIPCHECK_LEDGER_KEY", KEY)],
            &[
                "waive",
                "config.json-port",
                "--reason",
                &reason,
                "--owner",
                "ops",
                "--expires",
                "2999-01-01",
                "--profile",
                "app/shipcheck.yaml",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            !stderr(&out).contains("CANARY"),
            "a database password leaked"
        );
    }
}

pub(crate) fn waive(app: &App, n: usize) {
    waive_with(app, &app.db, n);
}

#[test]
fn runs_are_recorded_listed_and_verified() {
    let app = App::new();
    for _ in 0..2 {
        let out = check(&app, "good");
        assert!(stderr(&out).contains("recorded run #"), "{}", stderr(&out));
    }
    assert!(
        stderr(&app.run(&[
            "check",
            "--profile",
            "app/shipcheck.yaml",
            "--env",
            "bad",
            "--no-record",
            "--format",
            "json"
        ]))
        .is_empty()
    );
    let out = app.run(&[
        "history",
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "good",
        "--format",
        "json",
    ]);
    let list = json(&out);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list:#}");
    assert_eq!(list[0]["run"], 1);
    assert_eq!(list[1]["environment"], "good");
    let text = stdout(&app.run(&["history", "--all"]));
    assert!(
        text.contains("#1") && text.contains("#2") && !text.contains("#3"),
        "{text}"
    );
    let out = app.run(&["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("2 records")
            && stdout(&out).contains("chain intact")
            && stdout(&out).contains("UNAUTHENTICATED"),
        "{}",
        stdout(&out)
    );
    // A ledger written without the key does not verify as authenticated with it.
    let out = app.run_keyed(&["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("NOT SIGNED"), "{}", stdout(&out));
    // Written with the key, it does.
    let keyed = App::new();
    waive(&keyed, 2);
    let out = keyed.run_keyed(&["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("head authenticated"),
        "{}",
        stdout(&out)
    );
}

pub(crate) fn sql(db: &str, statements: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(statements).unwrap();
}

pub(crate) fn verify_sqlite(db: &str, keyed: bool) -> (i32, String) {
    let envs: &[(&str, &str)] = if keyed {
        &[("SHIPCHECK_LEDGER_KEY", KEY)]
    } else {
        &[]
    };
    let out = shipcheck_db(Path::new("."), db, envs, &["ledger", "verify"]);
    (out.status.code().unwrap_or(-1), stdout(&out))
}

/// Rewrites every record's body with `edit` and recomputes the chain and the head's hash, as
/// a forger without the keys would: the head's MAC and signature stay as they were. A
/// body stored compressed reads as empty here, and is rewritten as text.
pub(crate) fn rewrite_chain(db: &str, edit: impl Fn(&str) -> String) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let rows: Vec<(i64, String, String, String)> = conn
        .prepare("SELECT seq, kind, created_at, body FROM records ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut prev = shipcheck_ledger::chain::GENESIS.to_string();
    for (seq, kind, at, body) in rows {
        let body = edit(&body);
        let hash = shipcheck_ledger::chain::link(seq, &kind, &at, &prev, &body);
        conn.execute(
            "UPDATE records SET body = ?1, body_z = NULL, body_base = NULL, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![body, prev, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
    conn.execute("UPDATE head SET hash = ?1", [&prev]).unwrap();
}

pub(crate) fn copy_db(app: &App, name: &str) -> String {
    // Checkpoint the WAL into the main file so a copy holds everything.
    sql(&app.db, "PRAGMA wal_checkpoint(TRUNCATE);");
    let to = app.tmp.path().join(name);
    std::fs::copy(&app.db, &to).unwrap();
    to.display().to_string()
}

#[test]
fn a_writer_killed_mid_write_leaves_no_half_record() {
    let app = App::new();
    waive(&app, 2);
    for args in [
        vec![
            "waive",
            "config.json-port",
            "--reason",
            "killed",
            "--owner",
            "ops",
            "--expires",
            "2999-01-01",
            "--profile",
            "app/shipcheck.yaml",
        ],
        vec![
            "check",
            "--profile",
            "app/shipcheck.yaml",
            "--env",
            "good",
            "--format",
            "json",
        ],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("shipcheck"))
            .current_dir(app.tmp.path())
            .env("SHIPCHECK_DB", &app.db)
            .env("SHIPCHECK_LEDGER_KEY", KEY)
            .env(shipcheck_ledger::FAILPOINT_SLOW_COMMIT, "10000")
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The writer reaches the write transaction within milliseconds and then holds it
        // for 10 s (the failpoint): kill -9 it in there.
        std::thread::sleep(std::time::Duration::from_secs(2));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "the writer was killed, not finished");
        let (code, text) = verify_sqlite(&app.db, true);
        assert_eq!(code, 0, "{text}");
        assert!(
            text.contains("2 records"),
            "the killed write left nothing: {text}"
        );
    }
    // The ledger is not left locked.
    waive(&app, 1);
    assert!(verify_sqlite(&app.db, true).1.contains("3 records"));
}

#[test]
fn concurrent_writers_both_succeed() {
    let app = App::new();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| waive(&app, 8));
            s.spawn(|| {
                let out = app.run_keyed(&[
                    "check",
                    "--profile",
                    "app/shipcheck.yaml",
                    "--env",
                    "good",
                    "--format",
                    "json",
                ]);
                assert!(stderr(&out).contains("recorded run"), "{}", stderr(&out));
            });
        }
    });
    let (code, text) = verify_sqlite(&app.db, true);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("18 records"), "{text}");
}

#[test]
fn no_secret_reaches_the_database() {
    let app = App::new();
    for env in ["good", "bad"] {
        check(&app, env);
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(app.tmp.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ledger.db")
        {
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes.len() > 1000, "{} holds the runs", path.display());
            if bytes.windows(6).any(|w| w == b"CANARY") {
                found.push(path.display().to_string());
            }
        }
    }
    assert!(found.is_empty(), "canary secrets stored in {found:?}");
    // The runs are there, with masked evidence.
    let out = app.run(&["history", "--all", "--format", "json"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 2);
}

#[test]
fn attestations_roles_evidence_and_expiry() {
    let app = App::new();
    let attest = |extra: &[&str]| {
        let mut args = vec!["attest", "manual.restore-drill", "--by", "alice"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&PROFILE);
        app.run(&args)
    };
    let out = attest(&[
        "--role",
        "security",
        "--evidence",
        "https://wiki.example/drill",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "role security may not attest `fixture:manual.restore-drill`; it takes: operations"
        ),
        "{}",
        stderr(&out)
    );
    let out = attest(&["--role", "operations"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("requires evidence"),
        "{}",
        stderr(&out)
    );
    let out = app.run(&[
        "attest",
        "config.json-port",
        "--by",
        "alice",
        "--role",
        "operations",
        "--profile",
        "app/shipcheck.yaml",
    ]);
    assert!(
        stderr(&out).contains("automated check, not a manual item"),
        "{}",
        stderr(&out)
    );
    // Evidence file, stored by content hash; valid for the item's 90 days.
    std::fs::write(
        app.tmp.path().join("drill.txt"),
        "restored backup 2026-11-20 in 14 minutes",
    )
    .unwrap();
    let out = attest(&[
        "--role",
        "operations",
        "--evidence",
        "drill.txt",
        "--note",
        "quarterly drill",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("valid until"), "{}", stdout(&out));
    let run = json(&check(&app, "good"));
    let r = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "manual.restore-drill")
        .unwrap();
    assert_eq!(r["status"], "pass", "{r:#}");
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains("attested by alice (operations)"),
        "{r:#}"
    );
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    let (n, size): (i64, i64) = conn
        .query_row(
            // The evidence files: the other blobs are the bases runs are stored against.
            "SELECT count(*), max(size) FROM blobs WHERE sha256 NOT IN (SELECT body_base FROM records WHERE body_base IS NOT NULL)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, size), (1, 40));
    // A short-lived attestation expires and the item is pending again.
    let bob_attests = |app: &App, expires: &str| {
        app.run(&[
            "attest",
            "manual.restore-drill",
            "--by",
            "bob",
            "--role",
            "operations",
            "--evidence",
            "e.txt",
            "--expires",
            expires,
            "--profile",
            "app/shipcheck.yaml",
        ])
    };
    let app2 = App::new();
    std::fs::write(app2.tmp.path().join("e.txt"), "x").unwrap();
    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2)).to_string();
    let out = bob_attests(&app2, &soon);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = |app: &App| {
        let run = json(&check(app, "good"));
        run["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "manual.restore-drill")
            .unwrap()
            .clone()
    };
    assert_eq!(status(&app2)["status"], "pass");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let r = status(&app2);
    assert_eq!(r["status"], "pending", "{r:#}");
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains("attestation by bob (operations) expired"),
        "{r:#}"
    );
    let out = bob_attests(&app2, "2020-01-01");
    assert!(stderr(&out).contains("already past"), "{}", stderr(&out));
}

#[test]
fn signoffs_gate_diff_and_baseline() {
    let app = App::new();
    let profile = app.tmp.path().join("app/shipcheck.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(
        &profile,
        format!("{text}gate:\n  require_signoff: [security, operations]\n"),
    )
    .unwrap();
    std::fs::write(app.tmp.path().join("drill.txt"), "done").unwrap();
    assert_eq!(
        app.run(&[
            "attest",
            "manual.restore-drill",
            "--by",
            "alice",
            "--role",
            "operations",
            "--evidence",
            "drill.txt",
            "--profile",
            "app/shipcheck.yaml"
        ])
        .status
        .code(),
        Some(0)
    );
    let out = app.run(&["gate", "--profile", "app/shipcheck.yaml", "--env", "good"]);
    assert_eq!(out.status.code(), Some(2), "no run yet: {}", stderr(&out));
    assert!(stderr(&out).contains("no recorded run"), "{}", stderr(&out));
    check(&app, "good");
    let out = app.run(&["gate", "--profile", "app/shipcheck.yaml", "--env", "good"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("missing sign-off: security on run #1")
            && stdout(&out).contains("missing sign-off: operations"),
        "{}",
        stdout(&out)
    );
    for role in ["security", "operations"] {
        let out = app.run(&[
            "signoff",
            "--role",
            role,
            "--by",
            "carol",
            "--profile",
            "app/shipcheck.yaml",
            "--env",
            "good",
        ]);
        assert!(
            stdout(&out).contains("run #1 signed off by carol"),
            "{}",
            stdout(&out)
        );
    }
    let out = app.run(&[
        "gate",
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "good",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let g = json(&out);
    assert_eq!(g["verdict"]["go"], true);
    assert_eq!(g["signoffs"].as_array().unwrap().len(), 2);
    // Baseline, then drift: the config port changes, and a ledger waiver covers it.
    assert!(stdout(&app.run(&["baseline", "1"])).contains("run #1"));
    let cfg = app.tmp.path().join("app/good/config.json");
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("8443", "8080"),
    )
    .unwrap();
    crate::common::chmod(&cfg, 0o600);
    check(&app, "good");
    let out = app.run(&[
        "diff",
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "good",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let d = json(&out);
    assert_eq!(d["changes"].as_array().unwrap().len(), 1, "{d:#}");
    assert_eq!(d["changes"][0]["item"], "fixture:config.json-port");
    assert_eq!(
        (
            d["changes"][0]["from"].as_str(),
            d["changes"][0]["to"].as_str()
        ),
        (Some("pass"), Some("fail"))
    );
    let out = app.run(&[
        "diff",
        "--baseline",
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "good",
    ]);
    assert!(
        stdout(&out).contains("run #1")
            && stdout(&out).contains("fixture:config.json-port pass → fail"),
        "{}",
        stdout(&out)
    );
    // The gate reflects the new failure; a waiver in the ledger lifts it.
    assert_eq!(
        app.run(&["gate", "--profile", "app/shipcheck.yaml", "--env", "good"])
            .status
            .code(),
        Some(1)
    );
    let out = app.run(&[
        "waive",
        "config.json-port",
        "--reason",
        "port move OPS-9",
        "--owner",
        "ops",
        "--expires",
        "2999-01-01",
        "--profile",
        "app/shipcheck.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = app.run(&["gate", "--profile", "app/shipcheck.yaml", "--env", "good"]);
    assert!(
        stdout(&out).contains("missing sign-off"),
        "the new run is not signed off: {}",
        stdout(&out)
    );
    let run = json(&check(&app, "good"));
    let r = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "config.json-port")
        .unwrap();
    assert_eq!(r["status"], "waived");
}

#[test]
fn reading_a_missing_ledger_is_an_error_not_a_new_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nowhere/ledger.db");
    for args in [
        &["history", "--all"][..],
        &["ledger", "verify"],
        &["report", "1"],
    ] {
        let out = shipcheck_db(tmp.path(), db.to_str().unwrap(), &[], args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("no ledger at"), "{}", stderr(&out));
    }
    assert!(
        !db.exists() && !tmp.path().join("nowhere").exists(),
        "nothing was created"
    );
}

/// Runs have their own numbers, as `history` prints them, whatever other records the
/// ledger holds between them; `report`, `diff`, `baseline` and `signoff` take `7`, `#7`,
/// `latest` and `latest~N`, and given numbers need no profile.
#[test]
fn runs_have_their_own_numbers_and_names() {
    let app = App::new();
    check(&app, "good");
    // Records that are not runs between the runs.
    let out = app.run(&["baseline", "1"]);
    assert!(stdout(&out).contains("run #1"), "{}", stdout(&out));
    let out = app.run(&[
        "signoff",
        "--role",
        "security",
        "--by",
        "ana",
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "good",
    ]);
    assert!(
        stdout(&out).contains("run #1"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = check(&app, "good");
    assert!(stderr(&out).contains("recorded run #2"), "{}", stderr(&out));
    check(&app, "bad");
    let hist = app.run(&["history", "--all", "--format", "json"]);
    let runs: Vec<i64> = json(&hist)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run"].as_i64().unwrap())
        .collect();
    assert_eq!(runs, [1, 2, 3]);
    let env_of = |args: &[&str]| -> String {
        let out = app.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        json(&out)["environment"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // Given numbers, in every spelling, from a folder with no profile.
    for r in ["2", "#2"] {
        assert_eq!(env_of(&["report", r, "--format", "json"]), "good", "{r}");
    }
    assert_eq!(env_of(&["report", "latest", "--format", "json"]), "bad");
    assert_eq!(env_of(&["report", "latest~1", "--format", "json"]), "good");
    let out = app.run(&["report", "4"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no run #4") && stderr(&out).contains("3 runs"),
        "{}",
        stderr(&out)
    );
    let out = app.run(&["report", "newest"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("latest~N"), "{}", stderr(&out));
    let out = app.run(&["diff", "1", "2", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        (json(&out)["a"].as_i64(), json(&out)["b"].as_i64()),
        (Some(1), Some(2))
    );
    let out = app.run(&["diff", "latest~1", "latest"]);
    assert!(
        stdout(&out).contains("run #2") && stdout(&out).contains("run #3"),
        "{}",
        stdout(&out)
    );
    let out = app.run(&["history"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("#3"), "{}", stdout(&out));
}

/// `report RUN` of the fixture's `bad` environment, as JSON.
fn report_bad(run: &str) -> [&str; 8] {
    [
        "report",
        run,
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "bad",
        "--format",
        "json",
    ]
}

/// `diff`, `gate`, `report` and `history` read the runs (or run summaries) they need by
/// index, not the whole ledger: with
/// an older run's body made unreadable they still answer (and `ledger verify`, which does
/// read everything, finds the damage), while naming that run is an error about that run.
#[test]
fn diff_gate_and_report_read_only_the_runs_they_need() {
    let app = App::new();
    for _ in 0..4 {
        check(&app, "bad");
    }
    // Run #1 is unreadable now (record seq 1 is the migration's; find the first run's).
    sql(
        &app.db,
        "UPDATE records SET body_z = X'00FF', body = '' WHERE seq = (SELECT min(seq) FROM records WHERE kind = 'run');",
    );
    for args in [
        &["diff", "--profile", "app/shipcheck.yaml", "--env", "bad"][..],
        &["gate", "--profile", "app/shipcheck.yaml", "--env", "bad"],
        &report_bad("latest")[..],
        &report_bad("latest~2")[..],
        &["report", "3", "--format", "json"],
        &["diff", "2", "4"],
        &["history", "--all", "--format", "json"],
    ] {
        let out = app.run(args);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("inflate") && !stderr(&out).contains("record #"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // `history` lists all four from the run summaries, the damaged one too.
    let list: serde_json::Value =
        serde_json::from_str(&stdout(&app.run(&["history", "--all", "--format", "json"]))).unwrap();
    let numbers: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert!(
        list[0]["profile"]
            .as_str()
            .unwrap()
            .ends_with("shipcheck.yaml"),
        "{list}"
    );
    // `report latest~2` is run #2: counted back among the four, numbered from the oldest.
    assert_eq!(
        stdout(&app.run(&report_bad("latest~2"))),
        stdout(&app.run(&["report", "2", "--format", "json"]))
    );
    // The damaged run itself cannot be read, and says so.
    let out = app.run(&["report", "1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("record #"), "{}", stderr(&out));
    assert_eq!(verify_sqlite(&app.db, false).0, 1);
}
