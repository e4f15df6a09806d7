//! The dashboard in a real browser: Debian's Chromium driven over WebDriver (Debian's
//! chromedriver), against `shipcheck serve` as a real process on loopback. A person signs
//! in with a token, sees the fleet, opens a run, attests the manual item, signs off, and
//! watches the gate turn GO. Screenshots go to target/test-artifacts/.
//!
//! The WebDriver client is the handful of JSON-over-HTTP calls below, on the tests' own
//! HTTP helper: a client crate (fantoccini) would add an async stack for six endpoints.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;
use crate::serve::{Server, host, push};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session in it; both end when dropped.
struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            &self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            &[],
            b"",
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (scripts/install-test-deps.sh installs chromium-driver)");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let mut b = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let created = b.call("POST", "/session", caps);
        b.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        // Finding an element waits for it (a page loading after a form's submit).
        b.session_call("POST", "/timeouts", json!({"implicit": 10_000}));
        b
    }

    /// One WebDriver command: its `value`.
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        match self.try_call(method, path, body) {
            Ok(v) => v,
            Err(answer) => panic!("{method} {path}: {answer}"),
        }
    }

    /// One WebDriver command: its `value`, or the error answer.
    fn try_call(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let text = body.to_string();
        let (status, _, answer) = http(
            &self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            if method == "GET" {
                b""
            } else {
                text.as_bytes()
            },
        );
        let v: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        if status == 200 {
            Ok(v["value"].clone())
        } else {
            Err(answer)
        }
    }

    fn session_call(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.session_call("POST", "/url", json!({"url": url}));
    }

    fn find(&self, css: &str) -> String {
        let v = self.session_call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.session_call("POST", &format!("/element/{e}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.session_call(
            "POST",
            &format!("/element/{e}/value"),
            json!({"text": text}),
        );
    }

    /// An attribute of the element (resolved URLs for `href`).
    fn attribute(&self, css: &str, name: &str) -> String {
        let e = self.find(css);
        let v = self.session_call("GET", &format!("/element/{e}/property/{name}"), json!(null));
        v.as_str().unwrap_or_default().to_string()
    }

    /// The element's text. A page that replaces itself between finding the element and
    /// reading it (a form's submit) makes the element stale: it is found again.
    fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let e = self.find(css);
            match self.try_call(
                "GET",
                &format!("/session/{}/element/{e}/text", self.session),
                Value::Null,
            ) {
                Ok(v) => return v.as_str().unwrap_or_default().to_string(),
                Err(answer) if answer.contains("stale element") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(answer) => panic!("text of {css}: {answer}"),
            }
        }
    }

    /// Waits (up to 10 s) until the element's text is `want`: a form's submit returns
    /// before the next page has loaded.
    fn wait_text(&self, css: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.text(css);
            if got == want {
                return;
            }
            assert!(Instant::now() < deadline, "{css}: {got:?}, want {want:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn source(&self) -> String {
        self.session_call("GET", "/source", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn url(&self) -> String {
        self.session_call("GET", "/url", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A screenshot, kept as a test artifact.
    fn screenshot(&self, name: &str) {
        use base64::Engine;
        let data = self.session_call("GET", "/screenshot", Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("dashboard-{name}.png")), png).unwrap();
    }
}

#[test]
fn sign_in_attest_sign_off_and_watch_the_gate_turn_go_in_chromium() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let admin = server.token("ada", "admin");
    let hosts = tempfile::tempdir().unwrap();
    let dir = hosts.path().join("payments");
    host(&dir, "payments", "pay");
    // The automated item passes; the manual one and a security sign-off remain.
    std::fs::write(dir.join("a.json"), r#"{"port": 8080}"#).unwrap();
    let profile = dir.join("shipcheck.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(
        &profile,
        format!("{text}gate: {{require_signoff: [security]}}\n"),
    )
    .unwrap();
    assert_eq!(push(&server, &dir, &ci).status.code(), Some(1));

    let browser = Browser::start();
    let base = server.url();
    browser.go(&format!("{base}/"));
    assert!(
        browser.url().ends_with("/signin"),
        "sent to sign in: {}",
        browser.url()
    );
    browser.type_into("input[name=token]", "shck_not_a_token");
    browser.click("form.signin button");
    browser.wait_text("#message", "that token is unknown or revoked");
    browser.type_into("input[name=token]", &admin);
    browser.click("form.signin button");
    // The fleet.
    let fleet = browser.text("#fleet");
    assert!(
        fleet.contains("payments") && fleet.contains("NO-GO"),
        "{fleet}"
    );
    browser.screenshot("fleet");
    // The run, as the HTML report shows it (its script runs under the page's CSP).
    browser.click("#fleet a.verdict");
    browser.wait_text("#verdict", "NO-GO");
    assert!(browser.url().contains("/runs/"), "{}", browser.url());
    assert!(
        browser.source().contains("data-visible=\""),
        "the report's script ran"
    );
    browser.screenshot("run");
    // The deployment: attest the drill, sign off, GO.
    browser.go(&format!("{base}/"));
    browser.click("#fleet td a");
    assert_eq!(browser.text("#gate-verdict"), "NO-GO");
    browser.type_into(
        "form.attest input[name=note]",
        "restore drill done on 2026-12-01",
    );
    // The evidence goes up with the form, as a file.
    let log = dir.join("drill.log");
    std::fs::write(&log, "restored in 4 minutes\n").unwrap();
    browser.type_into(
        "form.attest input[name=evidence_file]",
        &log.display().to_string(),
    );
    browser.click("form.attest button");
    // The next page has the sign-off form and no attest form left.
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.source().contains("class=\"attest\"") {
        assert!(Instant::now() < deadline, "the attestation did not take");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(browser.text("#gate-verdict"), "NO-GO", "still no sign-off");
    browser.click("form.signoff button");
    browser.wait_text("#gate-verdict", "GO");
    assert!(
        browser
            .text("#gate")
            .contains("Signed off for security by ada")
    );
    browser.screenshot("go");
    // The API agrees, and the ledger says who did it.
    let g = server.json("/api/v1/deployments/payments/gate?environment=prod", &admin);
    assert_eq!(g["go"], true, "{g}");
    assert_eq!(g["signoffs"]["security"], "ada");
    let listed = server.json(
        "/api/v1/deployments/payments/attestations?environment=prod",
        &admin,
    );
    let evidence = &listed[0]["evidence"];
    assert_eq!(evidence["name"], "drill.log", "{listed}");
    assert_eq!(listed[0]["by"], "ada");
    // The deployment page links the file, and the link gives it back.
    let link = browser.attribute("#attestations a.evidence", "href");
    let (status, _, body) = server.get(link.trim_start_matches(&base), &admin);
    assert_eq!((status, body.as_str()), (200, "restored in 4 minutes\n"));
}
