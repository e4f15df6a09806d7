//! The scheduler of `shipcheck serve --watch`, on the test clock (`SHIPCHECK_TEST_CLOCK`,
//! a minute of it a millisecond of wall time): a deploy starts the clock, each phase's
//! check runs at its time and is recorded once with its phase, a job missed while no
//! server ran runs once at start marked late, and a job whose server died mid-run is taken
//! again and recorded once.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{shipcheck_db, stdout};
use crate::phases::phased;
use crate::serve::Server;

/// A minute of the test clock per millisecond: a week in about ten seconds.
const SCALE: i64 = 60_000;

fn test_clock() -> String {
    format!("{}:{SCALE}", jiff::Timestamp::now().as_millisecond())
}

/// A server watching `profile` on ledger `db`, on `clock`.
fn watching(db: &str, profile: &Path, clock: &str, extra: &[&str]) -> Server {
    let profile = profile.display().to_string();
    let mut args = vec![
        "--watch",
        profile.as_str(),
        "--scheduler-poll",
        "20ms",
        "--rate-limit",
        "100000/1s",
    ];
    args.extend(extra);
    Server::start_with(
        tempfile::tempdir().unwrap(),
        db.to_string(),
        &args,
        &[("SHIPCHECK_TEST_CLOCK", clock)],
    )
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn jobs(server: &Server, token: &str) -> Vec<Value> {
    server
        .json("/api/v1/deployments/payments/jobs", token)
        .as_array()
        .unwrap()
        .clone()
}

fn job_state(server: &Server, token: &str, phase: &str) -> Vec<String> {
    jobs(server, token)
        .iter()
        .filter(|j| j["phase"] == phase)
        .map(|j| j["state"].as_str().unwrap().to_string())
        .collect()
}

/// The runs the scheduler recorded for `payments`, oldest first.
fn scheduled_runs(server: &Server, token: &str) -> Vec<Value> {
    let briefs = server.json("/api/v1/deployments/payments/runs?limit=500", token);
    let mut runs: Vec<Value> = briefs
        .as_array()
        .unwrap()
        .iter()
        .map(|b| server.json(&format!("/api/v1/runs/{}", b["id"]), token))
        .filter(|r| r["scheduled"].is_object())
        .collect();
    runs.reverse();
    runs
}

fn status_of(run: &Value, id: &str) -> Option<String> {
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .map(|r| r["status"].as_str().unwrap().to_string())
}

fn deploy(server: &Server, token: &str) {
    let (status, _, body) = server.post_json(
        "/api/v1/deployments/payments/deploys",
        token,
        br#"{"environment": "prod", "version": "1.0.0"}"#,
    );
    assert_eq!(status, 201, "{body}");
}

/// Each job's run is recorded once: no job id twice.
fn each_job_once(runs: &[Value]) {
    let mut ids: Vec<i64> = runs
        .iter()
        .map(|r| r["scheduled"]["job"].as_i64().unwrap())
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a job's run was recorded twice");
}

#[test]
fn a_week_of_phases_runs_in_seconds_each_once_with_its_phase() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("payments");
    phased(&dir, "");
    let db = tmp.path().join("ledger.db").display().to_string();
    let server = watching(&db, &dir.join("shipcheck.yaml"), &test_clock(), &[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    deploy(&server, &ci);
    // The first-hour run comes an hour (60 ms) after the deploy; the item it checks
    // breaks right after it, before the first day.
    wait_until("the first-hour run", Duration::from_secs(30), || {
        job_state(&server, &viewer, "first-hour") == ["done"]
    });
    std::fs::write(dir.join("a.json"), r#"{"port": 8080, "errors": 7}"#).unwrap();
    wait_until("the first-week run", Duration::from_secs(60), || {
        job_state(&server, &viewer, "first-week") == ["done"]
    });
    let runs = scheduled_runs(&server, &viewer);
    each_job_once(&runs);
    let of = |phase: &str| -> Vec<&Value> { runs.iter().filter(|r| r["phase"] == phase).collect() };
    assert_eq!(
        of("post-deploy-immediate").len(),
        2,
        "at once and after 15 minutes"
    );
    let (hour, day, week) = (of("first-hour"), of("first-day"), of("first-week"));
    assert_eq!((hour.len(), day.len(), week.len()), (1, 1, 1));
    assert!(runs.iter().all(|r| r["recorded_by"] == "scheduler"));
    // Each run holds the items due by its phase.
    assert_eq!(status_of(hour[0], "week"), None);
    assert_eq!(status_of(week[0], "week").as_deref(), Some("pending"));
    // Broken between the first hour and the first day.
    assert_eq!(status_of(hour[0], "errors").as_deref(), Some("pass"));
    assert_eq!(status_of(day[0], "errors").as_deref(), Some("fail"));
    // The runs came in the timeline's order.
    let due = |r: &Value| r["scheduled"]["due_at"].as_str().unwrap().to_string();
    assert!(due(hour[0]) < due(day[0]) && due(day[0]) < due(week[0]));
    // /metrics saw the scheduler's runs and their lag.
    let (_, _, metrics) = server.get("/metrics", &viewer);
    assert!(
        metrics.contains("shipcheck_runs_recorded_total{deployment=\"payments\",environment=\"prod\",source=\"scheduled\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shipcheck_scheduler_lag_seconds_count"),
        "{metrics}"
    );
}

#[test]
fn a_job_missed_while_no_server_ran_runs_once_at_start_marked_late() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("payments");
    phased(&dir, "");
    let db = tmp.path().join("ledger.db").display().to_string();
    let clock = test_clock();
    let profile = dir.join("shipcheck.yaml");
    let server = watching(&db, &profile, &clock, &[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    deploy(&server, &ci);
    wait_until("the immediate run", Duration::from_secs(30), || {
        job_state(&server, &viewer, "post-deploy-immediate").contains(&"done".to_string())
    });
    drop(server);
    let before = Instant::now();
    // Down for 2 s: 33 hours of the test clock; the first hour and first day pass.
    std::thread::sleep(Duration::from_secs(2));
    let server = watching(&db, &profile, &clock, &[]);
    wait_until("the missed jobs", Duration::from_secs(30), || {
        job_state(&server, &viewer, "first-day") == ["done"]
            && job_state(&server, &viewer, "first-hour") == ["done"]
    });
    assert!(
        before.elapsed() < Duration::from_secs(9),
        "before the first week"
    );
    let all = jobs(&server, &viewer);
    let hour = all.iter().find(|j| j["phase"] == "first-hour").unwrap();
    assert_eq!(hour["late"], true, "{hour}");
    assert_eq!(hour["attempts"], 1, "{hour}");
    let runs = scheduled_runs(&server, &viewer);
    each_job_once(&runs);
    let late_hour = runs.iter().find(|r| r["phase"] == "first-hour").unwrap();
    assert_eq!(late_hour["scheduled"]["late"], true);
    assert_eq!(
        runs.iter().filter(|r| r["phase"] == "first-hour").count(),
        1
    );
}

#[test]
fn a_job_whose_server_was_killed_mid_run_is_taken_again_and_recorded_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("payments");
    phased(&dir, "");
    // A post-deploy check that takes 3 s: long enough to kill its server in the middle.
    let pack = std::fs::read_to_string(dir.join("pack.yaml")).unwrap();
    std::fs::write(
        dir.join("pack.yaml"),
        pack + "      - id: slow\n        title: slow\n        severity: low\n        phase: post-deploy-immediate\n        why: test\n        fix: test\n        check:\n          command: {argv: [sleep, \"3\"]}\n",
    )
    .unwrap();
    let db = tmp.path().join("ledger.db").display().to_string();
    // The wall clock: only the first immediate job comes due.
    let clock = format!("{}:1", jiff::Timestamp::now().as_millisecond());
    let profile = dir.join("shipcheck.yaml");
    let mut first = watching(&db, &profile, &clock, &["--job-lease", "2s"]);
    let ci = first.token("ci", "pusher");
    let viewer = first.token("dash", "viewer");
    deploy(&first, &ci);
    wait_until("the job to start", Duration::from_secs(20), || {
        job_state(&first, &viewer, "post-deploy-immediate").contains(&"running".to_string())
    });
    // kill -9 in the middle of the check.
    first.child.kill().unwrap();
    let _ = first.child.wait();
    let second = watching(&db, &profile, &clock, &["--job-lease", "2s"]);
    wait_until("the job to be taken again", Duration::from_secs(40), || {
        job_state(&second, &viewer, "post-deploy-immediate").contains(&"done".to_string())
    });
    let job = jobs(&second, &viewer)
        .into_iter()
        .find(|j| j["state"] == "done")
        .unwrap();
    assert_eq!(job["attempts"], 2, "{job}");
    let runs = scheduled_runs(&second, &viewer);
    assert_eq!(runs.len(), 1, "recorded once");
    assert_eq!(runs[0]["scheduled"]["job"], job["id"]);
    assert_eq!(status_of(&runs[0], "slow").as_deref(), Some("pass"));
}

/// `psql` on `url`: the rows of `sql`, one per line.
fn psql(url: &str, sql: &str) -> String {
    let o = std::process::Command::new("psql")
        .args([url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn two_replicas_on_one_postgresql_run_each_of_100_due_jobs_exactly_once() {
    let pg = crate::common::Postgres::start();
    let url = pg.lax_url();
    let fleet = tempfile::tempdir().unwrap();
    std::fs::write(
        fleet.path().join("pack.yaml"),
        "name: p\nversion: \"1\"\ntitle: P\nsections:\n  - id: s\n    title: S\n    items:\n      - id: up\n        title: up\n        severity: high\n        phase: post-deploy-immediate\n        why: test\n        fix: test\n        check:\n          config: {path: ../a.json, query: .up}\n          expect: [{equals: true}]\n",
    )
    .unwrap();
    std::fs::write(fleet.path().join("a.json"), r#"{"up": true}"#).unwrap();
    let names: Vec<String> = (0..100).map(|i| format!("svc-{i:03}")).collect();
    for name in &names {
        let dir = fleet.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(
            dir.join("shipcheck.yaml"),
            format!("deployment: {name}\npacks: [../pack.yaml]\nenvironment: prod\n"),
        )
        .unwrap();
    }
    // The wall clock: of each deploy's jobs only the first immediate one comes due.
    let clock = format!("{}:1", jiff::Timestamp::now().as_millisecond());
    let a = watching(&url, fleet.path(), &clock, &[]);
    let b = watching(&url, fleet.path(), &clock, &[]);
    let ci = a.token("ci", "pusher");
    for (i, name) in names.iter().enumerate() {
        let replica = if i % 2 == 0 { &a } else { &b };
        let (status, _, body) = replica.post_json(
            &format!("/api/v1/deployments/{name}/deploys"),
            &ci,
            br#"{"environment": "prod"}"#,
        );
        assert_eq!(status, 201, "{body}");
    }
    wait_until("100 due jobs done", Duration::from_secs(120), || {
        psql(&url, "SELECT count(*) FROM jobs WHERE state = 'done'") == "100"
    });
    // Give a replica that would run a job twice the time to do it.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        psql(&url, "SELECT count(*) FROM records WHERE kind = 'run'"),
        "100"
    );
    assert_eq!(
        psql(
            &url,
            "SELECT count(*) FROM (SELECT body::jsonb->'scheduled'->>'job' FROM records WHERE kind = 'run' GROUP BY 1 HAVING count(*) > 1) AS twice"
        ),
        "0",
        "no job ran twice"
    );
    assert_eq!(
        psql(
            &url,
            "SELECT count(*) FROM jobs j WHERE j.state = 'done' AND NOT EXISTS (SELECT 1 FROM records r WHERE r.seq = j.run_seq AND (r.body::jsonb->'scheduled'->>'job')::bigint = j.id)"
        ),
        "0",
        "each done job names its own run"
    );
    assert_eq!(
        psql(
            &url,
            "SELECT count(*) FROM jobs WHERE state = 'running' OR attempts > 1"
        ),
        "0"
    );
    // Both replicas took jobs: they ran them side by side.
    let viewer = a.token("dash", "viewer");
    let ran = |s: &Server| {
        let (_, _, text) = s.get("/metrics", &viewer);
        text.lines()
            .filter(|l| l.starts_with("shipcheck_runs_recorded_total") && l.contains("scheduled"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let (by_a, by_b) = (ran(&a), ran(&b));
    assert_eq!(by_a + by_b, 100.0);
    assert!(by_a > 0.0 && by_b > 0.0, "{by_a} and {by_b}");
    // The chain holds across both writers.
    let o = shipcheck_db(fleet.path(), &url, &[], &["ledger", "verify"]);
    assert!(o.status.success(), "{}", stdout(&o));
}
