//! Prometheus metrics: `check --format prometheus` and a server's `/metrics`, parsed by a
//! real parser (the Python `prometheus_client` package: its Prometheus text parser, as
//! node_exporter's textfile collector reads, and its strict OpenMetrics parser).

use crate::common::*;
use crate::phases::phased;
use crate::serve::{Server, push};

/// The families `text` holds, as the parser reads them: name → {type, unit, samples}.
fn parse(text: &str, openmetrics: bool) -> serde_json::Value {
    use std::io::Write;
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families as prom
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
parse = om if sys.argv[1] == "om" else prom
out = {}
for f in parse(sys.stdin.read()):
    out[f.name] = {"type": f.type, "unit": f.unit, "samples": [
        {"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, if openmetrics { "om" } else { "prom" }])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (scripts/install-test-deps.sh installs prometheus-client)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "the parser refused it: {}\n{text}",
        stderr(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The value of the sample `name` whose labels include `labels`.
fn value(families: &serde_json::Value, family: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    families[family]["samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no family {family} in {families}"))
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][k] == *v))
        .and_then(|s| s["value"].as_f64())
        .unwrap_or_else(|| panic!("no {name} {labels:?} in {}", families[family]))
}

/// Prometheus's naming conventions: snake_case with the `shipcheck_` prefix; a unit is the
/// name's suffix; counters end in `_total`; current state is never a counter.
fn follows_conventions(families: &serde_json::Value) {
    for (name, f) in families.as_object().unwrap() {
        assert!(name.starts_with("shipcheck_"), "{name}");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}"
        );
        if let Some(unit) = f["unit"].as_str().filter(|u| !u.is_empty()) {
            assert!(name.ends_with(&format!("_{unit}")), "{name}: unit {unit}");
        }
        if f["type"] == "counter" {
            for s in f["samples"].as_array().unwrap() {
                let n = s["name"].as_str().unwrap();
                assert!(n.ends_with("_total") || n.ends_with("_created"), "{n}");
            }
        }
    }
}

#[test]
fn check_format_prometheus_writes_gauges_that_parse() {
    let tmp = tempfile::tempdir().unwrap();
    phased(tmp.path(), "");
    let o = shipcheck_db(
        tmp.path(),
        &tmp.path().join("l.db").display().to_string(),
        &[],
        &["check", "--format", "prometheus", "--no-record"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    for openmetrics in [false, true] {
        let f = parse(&text, openmetrics);
        follows_conventions(&f);
        let at = [("deployment", "payments"), ("environment", "prod")];
        assert_eq!(
            value(&f, "shipcheck_gate_go", "shipcheck_gate_go", &at),
            0.0
        );
        let pending = [("deployment", "payments"), ("status", "pending")];
        assert_eq!(
            value(&f, "shipcheck_items", "shipcheck_items", &pending),
            2.0
        );
        let week = [("phase", "first-week"), ("state", "not_due")];
        assert_eq!(
            value(&f, "shipcheck_phase_items", "shipcheck_phase_items", &week),
            1.0
        );
        let review = [("phase", "pre-deploy"), ("state", "open")];
        assert_eq!(
            value(
                &f,
                "shipcheck_phase_items",
                "shipcheck_phase_items",
                &review
            ),
            1.0
        );
        for family in f.as_object().unwrap().values() {
            assert_eq!(family["type"], "gauge", "a run's metrics are current state");
        }
        let started = value(
            &f,
            "shipcheck_last_run_timestamp_seconds",
            "shipcheck_last_run_timestamp_seconds",
            &at,
        );
        let now = jiff::Timestamp::now().as_second() as f64;
        assert!((now - started).abs() < 600.0, "{started}");
    }
}

#[test]
fn server_metrics_give_the_fleet_as_gauges_and_events_as_counters() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    let ops = server.token("olga", "attester:operations");
    let hosts = tempfile::tempdir().unwrap();
    let dir = hosts.path().join("payments");
    phased(&dir, "");
    assert_eq!(push(&server, &dir, &ci).status.code(), Some(1));
    assert_eq!(server.request("GET", "/metrics", &[], b"").0, 401);
    let scrape = || {
        let (status, head, body) = server.get("/metrics", &viewer);
        assert_eq!(status, 200, "{body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/openmetrics-text"),
            "{head}"
        );
        let f = parse(&body, true);
        follows_conventions(&f);
        f
    };
    let at = [("deployment", "payments"), ("environment", "prod")];
    let f = scrape();
    assert_eq!(
        value(&f, "shipcheck_gate_go", "shipcheck_gate_go", &at),
        0.0
    );
    assert_eq!(f["shipcheck_runs_recorded"]["type"], "counter");
    let pushed = [("deployment", "payments"), ("source", "pushed")];
    let runs = |f: &serde_json::Value| {
        value(
            f,
            "shipcheck_runs_recorded",
            "shipcheck_runs_recorded_total",
            &pushed,
        )
    };
    assert_eq!(runs(&f), 1.0);
    assert_eq!(f["shipcheck_check_duration_seconds"]["type"], "histogram");
    assert_eq!(
        value(
            &f,
            "shipcheck_check_duration_seconds",
            "shipcheck_check_duration_seconds_count",
            &at
        ),
        1.0
    );
    // An attestation changes the state (a gauge), not the count of runs (events).
    let (status, _, body) = server.post_json(
        "/api/v1/deployments/payments/attestations",
        &ops,
        br#"{"environment": "prod", "item": "review", "role": "operations"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let f = scrape();
    assert_eq!(
        value(&f, "shipcheck_gate_go", "shipcheck_gate_go", &at),
        1.0
    );
    assert_eq!(runs(&f), 1.0);
}
