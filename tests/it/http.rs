//! The `http` probe's connections: a run's items of one host share a client and its pool
//! of kept-alive connections, as a browser or a load balancer's health checker would,
//! instead of one TLS handshake per request.

use std::sync::atomic::Ordering;

use crate::common::{json, shipcheck, standin, statuses, stdout, summary, write_pack};

fn app(tls: bool) -> standin::Standin {
    let spec: standin::Spec = serde_json::from_value(serde_json::json!({
        "tls_names": ["app.example.test"],
        "listeners": [{"name": "app", "tls": tls, "routes": [
            {"path": "/health", "json": {"status": "ok"}},
            {"path": "/login", "status": 401, "text": "no"},
            {"path": "/", "text": "hello", "headers": {"x-frame-options": "DENY"}}
        ]}]
    }))
    .unwrap();
    standin::start(spec).unwrap()
}

/// Items run one at a time (`-j 1`), so each finds the connection the one before it left
/// in the pool; a POST's body is framed, so the next request on the connection is read
/// from where it ends.
fn items_of_one_host_use_one_connection(tls: bool) {
    let server = app(tls);
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let port = server.ports["app"];
    let (scheme, extra) = if tls {
        (
            "https://app.example.test",
            format!(r#", address: "127.0.0.1", ca_file: "{}""#, ca.display()),
        )
    } else {
        ("http://127.0.0.1", String::new())
    };
    let http = |path: &str, rest: &str| {
        format!(r#"check: {{http: {{url: "{scheme}:{port}{path}"{extra}, {rest}}}}}"#)
    };
    let items = [
        (
            "health",
            http("/health", r#"status: [200], json: ".status == \"ok\"""#),
        ),
        (
            "login",
            http(
                "/login",
                r#"method: POST, body: '{"user":"x","password":"y"}', status: [401]"#,
            ),
        ),
        (
            "headers",
            http("/", r#"headers_present: [x-frame-options]"#),
        ),
        ("body", http("/", r#"body_matches: "^hello$""#)),
        ("head", http("/health", r#"method: HEAD, status: [200]"#)),
        ("missing", http("/nowhere", r#"status: [404]"#)),
    ];
    let items: Vec<(&str, &str)> = items.iter().map(|(i, b)| (*i, b.as_str())).collect();
    write_pack(tmp.path(), &items, "");
    let out = shipcheck(
        tmp.path(),
        &["check", "-j", "1", "--format", "json", "--no-record"],
    );
    let s = statuses(&json(&out));
    assert!(
        s.values().all(|v| v == "pass") && s.len() == 6,
        "{s:?}\n{}",
        stdout(&out)
    );
    // hyper puts a connection back in the pool on a task of its own once the answer has
    // ended, so a request sent before that task ran may open another: one connection is
    // the rule, a few the most; without the pool it is one per request.
    let connections = server.connections.load(Ordering::Relaxed);
    assert!(
        (1..=3).contains(&connections),
        "six requests to one host, one after another, took {connections} connections"
    );
}

#[test]
fn http_items_of_one_host_share_a_kept_alive_connection() {
    items_of_one_host_use_one_connection(false);
}

#[test]
fn https_items_of_one_host_share_a_kept_alive_tls_connection() {
    items_of_one_host_use_one_connection(true);
}

/// A check past its own `timeout:` is `error` when its time is up, whatever the probe's
/// own (longer) limit, and the run goes on with the other checks: a server that takes the
/// connection and never answers holds up nothing.
#[test]
fn a_check_past_its_timeout_is_an_error_and_the_run_goes_on() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // Accepts and keeps the connections, and says nothing.
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        for s in silent.incoming().take(8).flatten() {
            kept.push(s);
        }
        std::thread::sleep(std::time::Duration::from_secs(60));
    });
    let server = app(false);
    let tmp = tempfile::tempdir().unwrap();
    let slow = format!(
        "check:\n  http: {{url: \"http://127.0.0.1:{port}/\", timeout: 20s, status: [200]}}\n  timeout: 1s"
    );
    let ok = format!(
        "check:\n  http: {{url: \"http://127.0.0.1:{}/health\", status: [200]}}",
        server.ports["app"]
    );
    write_pack(tmp.path(), &[("silent", &slow), ("answers", &ok)], "");
    let started = std::time::Instant::now();
    let out = shipcheck(tmp.path(), &["check", "--format", "json", "--no-record"]);
    let run = json(&out);
    let s = statuses(&run);
    assert_eq!(s["silent"], "error", "{}", stdout(&out));
    assert_eq!(s["answers"], "pass");
    assert_eq!(summary(&run, "silent"), "did not finish within 1s");
    // Not a speed figure: the run ended on the check's 1 s, not on the request's 20 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}
