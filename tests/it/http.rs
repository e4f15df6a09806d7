//! The `http` probe's connections: a run's items of one host share a client and its pool
//! of kept-alive connections, as a browser or a load balancer's health checker would,
//! instead of one TLS handshake per request.

use std::sync::atomic::Ordering;

use crate::common::{json, shipcheck, standin, statuses, stdout, write_pack};

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
    assert_eq!(
        server.connections.load(Ordering::Relaxed),
        1,
        "six requests to one host, one after another, take one kept-alive connection"
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
