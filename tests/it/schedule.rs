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
    watching_with(db, profile, clock, extra, &[])
}

fn watching_with(
    db: &str,
    profile: &Path,
    clock: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Server {
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
    let mut all = vec![("SHIPCHECK_TEST_CLOCK", clock)];
    all.extend(envs);
    Server::start_with(tempfile::tempdir().unwrap(), db.to_string(), &args, &all)
}

/// A request a webhook receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    head: String,
    body: Vec<u8>,
}

type Inbox = std::sync::Arc<std::sync::Mutex<Vec<Received>>>;

/// One request from `s`: its head and body (by Content-Length).
fn read_request(s: &mut std::net::TcpStream) -> (String, Vec<u8>) {
    use std::io::Read;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return (String::new(), Vec::new()),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_string();
            let length = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|l| l.strip_prefix("content-length:")?.trim().parse().ok())
                .unwrap_or(0usize);
            if raw.len() >= end + 4 + length {
                return (head, raw[end + 4..end + 4 + length].to_vec());
            }
        }
    }
}

/// A webhook receiver on loopback: it answers 500 to the first request to `/hooks/json`
/// and 200 to every other,
/// and keeps every request. Each connection has a time limit; it takes 200 at most.
fn receiver() -> (String, Inbox) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let got: Inbox = Default::default();
    let keep = std::sync::Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(200) {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let (head, body) = read_request(&mut s);
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let first = {
                let mut g = keep.lock().unwrap();
                let first = path.starts_with("/hooks/json")
                    && !g.iter().any(|r| r.path.starts_with("/hooks/json"));
                g.push(Received { path, head, body });
                first
            };
            let status = if first {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = s.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    (addr, got)
}

/// HMAC-SHA256 of `body` keyed with `key`, by Python's `hmac` (an implementation other
/// than the server's).
fn hmac_sha256(key: &str, body: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
            key,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let o = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
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
    let (hooks, received) = receiver();
    let json_hook = format!("json=http://{hooks}/hooks/json?token=QUERYSECRET");
    let slack_hook = format!("slack=http://{hooks}/services/T0/B0/SLACKSECRET");
    let secret = "whsec-CANARY-5f4e3d";
    let server = watching_with(
        &db,
        &dir.join("shipcheck.yaml"),
        &test_clock(),
        &["--webhook", &json_hook, "--webhook", &slack_hook],
        &[("SHIPCHECK_WEBHOOK_SECRET", secret)],
    );
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

    // The item broken between the first hour and the first day raised a drift alert
    // against the deploy's baseline (the first immediate run).
    let alerts = server.json(
        "/api/v1/deployments/payments/alerts?environment=prod",
        &viewer,
    );
    let list = alerts.as_array().unwrap();
    let first = list
        .iter()
        .find(|a| a["phase"] == "first-day")
        .unwrap_or_else(|| panic!("no first-day alert: {alerts}"));
    assert_eq!(first["findings"][0]["kind"], "regressed", "{first}");
    assert_eq!(first["findings"][0]["item"], "p:errors");
    // The baseline is the first immediate run recorded.
    let first_immediate = jobs(&server, &viewer)
        .into_iter()
        .filter(|j| j["phase"] == "post-deploy-immediate")
        .filter_map(|j| j["run"].as_i64())
        .min()
        .unwrap();
    assert_eq!(first["baseline"], first_immediate, "{first}");
    assert!(
        list.iter().all(|a| a["phase"] != "first-hour"),
        "no drift before the break: {alerts}"
    );
    // It reached the JSON webhook (after one refused attempt) with a valid signature, and
    // the Slack one as Slack's JSON.
    let alert_of =
        |r: &Received| serde_json::from_slice::<Value>(&r.body).unwrap()["alert"].clone();
    wait_until("the webhooks", Duration::from_secs(20), || {
        let got = received.lock().unwrap();
        let json: Vec<&Received> = got
            .iter()
            .filter(|r| r.path.starts_with("/hooks/json"))
            .collect();
        json.len() >= 2
            && json[1..].iter().any(|r| alert_of(r) == alert_of(json[0]))
            && got.iter().any(|r| r.path.starts_with("/services/"))
    });
    let got = received.lock().unwrap().clone();
    let json_posts: Vec<&Received> = got
        .iter()
        .filter(|r| r.path.starts_with("/hooks/json"))
        .collect();
    // The first post was refused; its retry carries the same alert.
    let refused = json_posts[0];
    let delivered = *json_posts[1..]
        .iter()
        .find(|r| alert_of(r) == alert_of(refused))
        .expect("the refused alert is sent again");
    let signature = delivered
        .head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("x-shipcheck-signature")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no signature: {}", delivered.head));
    assert_eq!(
        signature,
        format!("sha256={}", hmac_sha256(secret, &delivered.body))
    );
    assert_ne!(
        signature,
        format!("sha256={}", hmac_sha256("another key", &delivered.body))
    );
    let payload: Value = serde_json::from_slice(&delivered.body).unwrap();
    assert_eq!(payload["event"], "shipcheck.drift");
    assert_eq!(payload["deployment"], "payments");
    let slack = got
        .iter()
        .find(|r| r.path.starts_with("/services/"))
        .unwrap();
    let text: Value = serde_json::from_slice(&slack.body).unwrap();
    assert!(
        text["text"].as_str().unwrap().contains("p:errors"),
        "{text}"
    );
    // Every attempt is recorded, and no record or message shows the webhooks' secrets.
    let alert_seq = payload["alert"].as_i64().unwrap();
    let deliveries = server.json(&format!("/api/v1/alerts/{alert_seq}/deliveries"), &viewer);
    let json_tries: Vec<i64> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["format"] == "json")
        .map(|d| d["status"].as_i64().unwrap())
        .collect();
    assert_eq!(json_tries, [500, 200], "{deliveries}");
    let (_, _, page) = server.get("/deployments/payments?environment=prod", &viewer);
    assert!(
        page.contains("regressed p:errors"),
        "the dashboard shows the alert"
    );
    for text in [deliveries.to_string(), server.log(), page] {
        for hidden in ["QUERYSECRET", "SLACKSECRET", secret] {
            assert!(!text.contains(hidden), "{hidden} shown");
        }
    }
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

#[test]
fn serve_refuses_an_unsigned_json_webhook_and_a_watched_profile_that_does_not_load() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("l.db").display().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
        all.extend(args);
        shipcheck_db(tmp.path(), &db, &[], &all)
    };
    let o = run(&[
        "--webhook",
        "json=http://127.0.0.1:9/hook?token=QUERYSECRET",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = crate::common::stderr(&o);
    assert!(
        err.contains("SHIPCHECK_WEBHOOK_SECRET") && !err.contains("QUERYSECRET"),
        "{err}"
    );
    let o = run(&["--webhook", "gopher://x/"]);
    assert_eq!(o.status.code(), Some(2));
    // A lease too short to renew would spin on the database and hand jobs around.
    let o = run(&["--job-lease", "0s"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        crate::common::stderr(&o).contains("--job-lease"),
        "{}",
        crate::common::stderr(&o)
    );
    std::fs::write(tmp.path().join("broken.yaml"), "packs: [\n").unwrap();
    let broken = tmp.path().join("broken.yaml").display().to_string();
    let o = run(&["--watch", &broken]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        crate::common::stderr(&o).contains("broken.yaml"),
        "{}",
        crate::common::stderr(&o)
    );
}

#[test]
fn a_periodic_item_runs_at_its_own_interval_and_every_is_only_for_periodic_items() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("payments");
    phased(&dir, "");
    let pack = std::fs::read_to_string(dir.join("pack.yaml")).unwrap();
    let periodic = "      - id: rotate\n        title: rotate\n        severity: low\n        phase: periodic\n        every: 2h\n        why: test\n        fix: test\n        check:\n          config: {path: a.json, query: .port}\n          expect: [{equals: 8080}]\n";
    std::fs::write(dir.join("pack.yaml"), pack.clone() + periodic).unwrap();
    let db = tmp.path().join("ledger.db").display().to_string();
    let server = watching(&db, &dir.join("shipcheck.yaml"), &test_clock(), &[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    deploy(&server, &ci);
    // Every 2 hours of the test clock (120 ms), not every day (1.44 s).
    wait_until("three periodic runs", Duration::from_secs(20), || {
        job_state(&server, &viewer, "periodic")
            .iter()
            .filter(|s| *s == "done")
            .count()
            >= 3
    });
    let due: Vec<jiff::Timestamp> = jobs(&server, &viewer)
        .iter()
        .filter(|j| j["phase"] == "periodic")
        .map(|j| j["due_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        due[1].duration_since(due[0]),
        jiff::SignedDuration::from_hours(2),
        "{due:?}"
    );
    // `every` on an item of another phase is refused by pack lint, with the item named.
    std::fs::write(
        dir.join("pack.yaml"),
        pack + &periodic.replace("phase: periodic", "phase: first-day"),
    )
    .unwrap();
    let o = shipcheck_db(&dir, &db, &[], &["pack", "lint", "pack.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = crate::common::stderr(&o) + &stdout(&o);
    assert!(err.contains("rotate") && err.contains("periodic"), "{err}");
}
