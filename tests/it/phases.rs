//! Phases: a manual item falls due at its phase's time after the deploy (`shipcheck
//! deployed`), not before; `check --phase P` and `gate --phase P` consider the items due by
//! P; the profile's `schedule:` moves the times.

use std::path::Path;

use crate::common::*;

/// A deployment with a pre-deploy check (passes), a pre-deploy manual item, a first-hour
/// check (passes) and a first-week manual item.
pub fn phased(dir: &Path, profile_extra: &str) {
    let pack = "name: p\nversion: \"1\"\ntitle: P\nsections:\n  - id: s\n    title: S\n    items:\n".to_string()
        + &[
            ("port", "pre-deploy", "check:\n  config: {path: a.json, query: .port}\n  expect: [{equals: 8080}]"),
            ("review", "pre-deploy", "attest: {roles: [operations]}"),
            ("errors", "first-hour", "check:\n  config: {path: a.json, query: .errors}\n  expect: [{equals: 0}]"),
            ("week", "first-week", "attest: {roles: [operations]}"),
        ]
        .iter()
        .map(|(id, phase, block)| {
            let body: String = block.lines().map(|l| format!("        {l}\n")).collect();
            format!("      - id: {id}\n        title: {id}\n        severity: high\n        phase: {phase}\n        why: test\n        fix: test\n{body}")
        })
        .collect::<String>();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("pack.yaml"), pack).unwrap();
    std::fs::write(dir.join("a.json"), r#"{"port": 8080, "errors": 0}"#).unwrap();
    std::fs::write(
        dir.join("shipcheck.yaml"),
        format!("deployment: payments\npacks: [pack.yaml]\nenvironment: prod\n{profile_extra}"),
    )
    .unwrap();
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    shipcheck_db(dir, &dir.join("l.db").display().to_string(), &[], args)
}

fn item<'a>(run: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {run}"))
}

#[test]
fn a_first_week_attestation_does_not_block_before_its_time_after_the_deploy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    phased(
        dir,
        "schedule:\n  offsets: {first-hour: 1s, first-day: 2s, first-week: 2s}\n",
    );
    // Before any deploy: the pre-deploy manual item blocks, the first-week one does not.
    let o = run(dir, &["check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let r = json(&o);
    assert_eq!(
        r["gate"]["blocking"],
        serde_json::json!(["p:review"]),
        "{r}"
    );
    let week = item(&r, "week");
    assert_eq!(week["status"], "pending");
    assert_eq!(week["blocking"], false);
    assert!(
        week["not_due"]["why"]
            .as_str()
            .unwrap()
            .contains("shipcheck deployed"),
        "{week}"
    );
    // The terminal and Markdown reports say why it does not block.
    let o = run(dir, &["check", "--no-record"]);
    assert!(
        stdout(&o).contains("not due: first-week items fall due"),
        "{}",
        stdout(&o)
    );
    let o = run(dir, &["check", "--no-record", "--format", "markdown"]);
    assert!(
        stdout(&o).contains("not due: first-week items"),
        "{}",
        stdout(&o)
    );
    let o = run(
        dir,
        &["attest", "review", "--by", "olga", "--role", "operations"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(dir, &["check", "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "GO before the deploy: {}",
        stdout(&o)
    );
    // The deploy starts the clock: the first-week item falls due 2 s later (the profile's
    // offset), and then blocks.
    let o = run(dir, &["deployed", "--version", "1.4.2", "--by", "ci"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("payments") && stdout(&o).contains("1.4.2"),
        "{}",
        stdout(&o)
    );
    let o = run(dir, &["check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let at = item(&json(&o), "week")["not_due"]["at"]
        .as_str()
        .expect("the instant it falls due")
        .to_string();
    assert!(at.parse::<jiff::Timestamp>().is_ok(), "{at}");
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let o = run(dir, &["gate"]);
    assert_eq!(o.status.code(), Some(1), "due now: {}", stdout(&o));
    assert!(stdout(&o).contains("p:week"), "{}", stdout(&o));
    // A gate for a phase considers the items due by it, whatever the time.
    let o = run(dir, &["gate", "--phase", "first-day"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(dir, &["gate", "--phase", "first-week"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}

#[test]
fn check_phase_runs_the_items_due_by_it_and_gate_phase_refuses_a_run_that_stops_short() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    phased(dir, "");
    let o = run(dir, &["check", "--phase", "first-hour", "--format", "json"]);
    let r = json(&o);
    assert_eq!(r["phase"], "first-hour", "{r}");
    let ids: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["port", "review", "errors"], "due by first-hour");
    // The run holds nothing after first-hour: a first-week gate cannot be read from it.
    let o = run(dir, &["gate", "--phase", "first-week"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("first-hour") && stderr(&o).contains("check --phase first-week"),
        "{}",
        stderr(&o)
    );
    // A typo in a phase, and offsets out of order, name the profile.
    for (extra, want) in [
        ("schedule:\n  offsets: {first-hr: 1h}\n", "first-hr"),
        ("schedule:\n  offsets: {first-hour: 3d}\n", "first-day"),
    ] {
        phased(dir, extra);
        let o = run(dir, &["check"]);
        assert_eq!(o.status.code(), Some(2), "{extra}");
        assert!(
            stderr(&o).contains("shipcheck.yaml") && stderr(&o).contains(want),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn a_server_records_deploys_and_judges_what_is_due_itself() {
    use crate::serve::{Server, push};
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    let hosts = tempfile::tempdir().unwrap();
    let dir = hosts.path().join("payments");
    phased(&dir, "");
    // The first-hour check fails: automated items count whatever the phase.
    std::fs::write(dir.join("a.json"), r#"{"port": 8080, "errors": 3}"#).unwrap();
    assert_eq!(push(&server, &dir, &ci).status.code(), Some(1));
    let gate = |query: &str| {
        server.json(
            &format!("/api/v1/deployments/payments/gate?environment=prod{query}"),
            &viewer,
        )
    };
    let g = gate("");
    let pending: Vec<&str> = g["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["item"].as_str().unwrap())
        .collect();
    assert_eq!(pending, ["p:review"], "the first-week item is not due: {g}");
    let week = g["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "first-week")
        .unwrap();
    assert_eq!(
        (week["not_due"].as_u64(), week["open"].as_u64()),
        (Some(1), Some(0))
    );
    // For the pre-deploy phase, the failing first-hour check does not count.
    let pre = gate("&phase=pre-deploy");
    assert_eq!(pre["blocking"], serde_json::json!(["p:review"]), "{pre}");
    let week_gate = gate("&phase=first-week");
    assert!(
        week_gate["blocking"].as_array().unwrap().len() == 3,
        "{week_gate}"
    );
    assert_eq!(
        server
            .get(
                "/api/v1/deployments/payments/gate?environment=prod&phase=week",
                &viewer
            )
            .0,
        400
    );
    // A deploy from the command line, recorded with the token's name at the server's time.
    let local = dir.join("local.db").display().to_string();
    let url = server.url();
    let o = shipcheck_db(
        &dir,
        &local,
        &[("SHIPCHECK_TOKEN", &ci)],
        &["deployed", "--version", "2.0.0", "--server", &url],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!dir.join("local.db").exists());
    let deploys = server.json(
        "/api/v1/deployments/payments/deploys?environment=prod",
        &viewer,
    );
    assert_eq!(deploys[0]["by"], "ci", "{deploys}");
    assert_eq!(deploys[0]["version"], "2.0.0");
    let g = gate("");
    assert_eq!(g["deployed_at"], deploys[0]["deployed_at"], "{g}");
    // The deployment's page says what is done, open and not due in each phase.
    let (status, _, page) = server.get("/deployments/payments?environment=prod", &viewer);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("first-hour 0/1 done, 1 open"), "{page}");
    assert!(
        page.contains("first-week 0/1 done, 1 not due until 20"),
        "{page}"
    );
    // A viewer may not record a deploy; a bad name is refused.
    let body = br#"{"environment": "prod"}"#;
    assert_eq!(
        server
            .post_json("/api/v1/deployments/payments/deploys", &viewer, body)
            .0,
        403
    );
    assert_eq!(
        server
            .post_json("/api/v1/deployments/Not%20A%20Name/deploys", &ci, body)
            .0,
        422
    );
    // A client that marks a failing item as not due is not believed.
    let runs = server.json("/api/v1/deployments/payments/runs", &viewer);
    let mut lying = server.json(&format!("/api/v1/runs/{}", runs[0]["id"]), &viewer);
    for r in lying["results"].as_array_mut().unwrap() {
        r["not_due"] = serde_json::json!({"why": "trust me"});
        r["blocking"] = false.into();
    }
    lying["gate"]["go"] = true.into();
    let (status, _, text) = server.post_json("/api/v1/runs", &ci, lying.to_string().as_bytes());
    assert_eq!(status, 201, "{text}");
    let pushed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(pushed["go"], false, "{text}");
}
