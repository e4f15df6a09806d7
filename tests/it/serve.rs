//! `shipcheck serve` as a real process on loopback: tokens, pushed runs from two hosts,
//! the fleet, the pages, sessions, and every kind of bad request refused with a 4xx that
//! writes nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::common::*;

/// A running server on its own ledger; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    /// The first line the server printed.
    pub banner: String,
    pub db: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db").display().to_string();
        Self::start_on(dir, db, extra)
    }

    pub fn start_on(dir: tempfile::TempDir, db: String, extra: &[&str]) -> Server {
        Self::start_with(dir, db, extra, &[])
    }

    /// [`Server::start_on`] with more environment variables.
    pub fn start_with(
        dir: tempfile::TempDir,
        db: String,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("shipcheck"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db", &db])
            .args(extra)
            .envs(envs.iter().copied())
            .env_remove("SHIPCHECK_LEDGER_KEY")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Server {
            child,
            addr,
            banner: line,
            db,
            dir,
        }
    }

    /// What the server wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `shipcheck token create`: the secret.
    pub fn token(&self, name: &str, role: &str) -> String {
        let o = shipcheck_db(
            self.dir.path(),
            &self.db,
            &[],
            &["token", "create", "--name", name, "--role", role],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).trim().to_string()
    }

    /// One HTTP/1.1 request: (status, head, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, String) {
        http(&self.addr, method, path, headers, body)
    }

    /// POST of a JSON body with a bearer token.
    pub fn post_json(&self, path: &str, token: &str, body: &[u8]) -> (u16, String, String) {
        let auth = format!("Bearer {token}");
        self.request(
            "POST",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, String, String) {
        let auth = format!("Bearer {token}");
        self.request("GET", path, &[("Authorization", &auth)], b"")
    }

    pub fn json(&self, path: &str, token: &str) -> serde_json::Value {
        let (status, _, body) = self.get(path, token);
        assert_eq!(
            status,
            200,
            "{path}: {body}; the server said: {}",
            self.log()
        );
        serde_json::from_str(&body).unwrap()
    }

    /// Records in the ledger (every write adds one).
    pub fn records(&self) -> usize {
        let o = shipcheck_db(self.dir.path(), &self.db, &[], &["ledger", "verify"]);
        let text = stdout(&o);
        text.split_whitespace()
            .zip(text.split_whitespace().skip(1))
            .find(|(_, w)| w.starts_with("record"))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or_else(|| panic!("no record count in {text}"))
    }
}

/// A host: a deployment folder with a failing item and a manual one, named `name`.
pub fn host(dir: &Path, name: &str, team: &str) {
    deployment(
        dir,
        &format!("deployment: {name}\nlabels: {{team: {team}}}\n"),
    );
}

pub fn push(server: &Server, dir: &Path, token: &str) -> std::process::Output {
    shipcheck_db(
        dir,
        &dir.join("local.db").display().to_string(),
        &[("SHIPCHECK_TOKEN", token)],
        &["check", "--no-record", "-q", "--push", &server.url()],
    )
}

#[test]
fn two_hosts_push_and_the_fleet_lists_both() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    let hosts = tempfile::tempdir().unwrap();
    let (a, b) = (hosts.path().join("a"), hosts.path().join("b"));
    host(&a, "payments", "pay");
    host(&b, "search", "find");
    for dir in [&a, &b, &a] {
        let o = push(&server, dir, &ci);
        assert_eq!(
            o.status.code(),
            Some(1),
            "NO-GO is still the exit code: {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("pushed run to"), "{}", stderr(&o));
    }
    let fleet = server.json("/api/v1/deployments", &viewer);
    let rows = fleet.as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["deployment"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["payments", "search"]);
    let payments = &rows[0];
    assert_eq!(payments["latest"]["recorded_by"], "ci");
    assert_eq!(payments["latest"]["go"], false);
    assert_eq!(
        payments["trend"].as_array().unwrap().len(),
        2,
        "two runs of payments"
    );
    assert_eq!(payments["labels"]["team"], "pay");
    // The label filter.
    let only = server.json("/api/v1/deployments?label=team%3Dfind", &viewer);
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["deployment"], "search");
    // A deployment's runs, newest first, and one run in full.
    let runs = server.json(
        "/api/v1/deployments/payments/runs?environment=prod",
        &viewer,
    );
    let ids: Vec<i64> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] > ids[1]);
    let run = server.json(&format!("/api/v1/runs/{}", ids[0]), &viewer);
    assert_eq!(run["deployment"], "payments");
    assert_eq!(run["results"].as_array().unwrap().len(), 2);
    // The pages: fleet, deployment (with a diff), run (the HTML report).
    let (status, head, body) = server.get("/", &viewer);
    assert_eq!(status, 200);
    assert!(
        body.contains("payments") && body.contains("search") && body.contains("NO-GO"),
        "{body}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    let (status, _, body) = server.get(
        &format!(
            "/deployments/payments/diff?environment=prod&a={}&b={}",
            ids[1], ids[0]
        ),
        &viewer,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("No item changed"), "{body}");
    let (status, _, body) = server.get(&format!("/runs/{}", ids[0]), &viewer);
    assert_eq!(status, 200);
    assert!(
        body.contains("id=\"verdict\"") && body.contains("NO-GO"),
        "the HTML report: {body}"
    );
    // A run of one deployment is not the other's.
    let (status, _, body) = server.get(
        &format!("/deployments/search/diff?a={}&b={}", ids[1], ids[0]),
        &viewer,
    );
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = server.get("/api/v1/deployments/nosuch/runs", &viewer);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("nosuch"), "{body}");
    // The OpenAPI document, served without a token.
    let (status, _, body) = server.request("GET", "/api/v1/openapi.json", &[], b"");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/runs"]["post"].is_object());
}

#[test]
fn bad_requests_get_a_clear_4xx_and_write_nothing() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    let hosts = tempfile::tempdir().unwrap();
    host(hosts.path(), "payments", "pay");
    assert_eq!(push(&server, hosts.path(), &ci).status.code(), Some(1));
    let good = server.json("/api/v1/runs/3", &viewer);
    let before = server.records();
    let post = |token: &str, body: &[u8]| server.post_json("/api/v1/runs", token, body);
    // No token, a wrong one, a viewer's.
    let (status, head, _) = server.request(
        "POST",
        "/api/v1/runs",
        &[("Content-Type", "application/json")],
        good.to_string().as_bytes(),
    );
    assert_eq!(status, 401);
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    assert_eq!(post("shck_wrong", good.to_string().as_bytes()).0, 401);
    let (status, _, body) = post(&viewer, good.to_string().as_bytes());
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("may not push"), "{body}");
    // Malformed JSON, a run of the wrong shape, a bad deployment name.
    let (status, _, body) = post(&ci, b"{\"schema\": ");
    assert_eq!(status, 400, "{body}");
    assert_eq!(post(&ci, b"{\"schema\": \"x\"}").0, 422);
    let mut renamed = good.clone();
    renamed["deployment"] = "Not A Name".into();
    let (status, _, body) = post(&ci, renamed.to_string().as_bytes());
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("deployment"), "{body}");
    // An oversized body.
    let mut huge = good.clone();
    huge["profile"] = "x".repeat(9 * 1024 * 1024).into();
    assert_eq!(post(&ci, huge.to_string().as_bytes()).0, 413);
    // A revoked token stops at once.
    let o = shipcheck_db(
        server.dir.path(),
        &server.db,
        &[],
        &["token", "revoke", "ci"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(post(&ci, good.to_string().as_bytes()).0, 401);
    // Unknown run, unknown page.
    assert_eq!(server.get("/api/v1/runs/999", &viewer).0, 404);
    assert_eq!(server.get("/nowhere", &viewer).0, 404);
    // Only the revocation was written.
    assert_eq!(server.records(), before + 1);
}

#[test]
fn sign_in_gives_a_strict_session_and_forms_need_the_csrf_token() {
    let server = Server::start(&[]);
    let viewer = server.token("dash", "viewer");
    // Without a session the dashboard sends the browser to sign in.
    let (status, head, _) = server.request("GET", "/", &[], b"");
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /signin"), "{head}");
    let (status, _, body) = server.request(
        "POST",
        "/signin",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"token=shck_wrong",
    );
    assert_eq!(status, 401);
    assert!(body.contains("unknown or revoked"), "{body}");
    let form = format!("token={viewer}");
    let (status, head, _) = server.request(
        "POST",
        "/signin",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(status, 303, "{head}");
    let cookie_line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {head}"));
    assert!(
        cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Strict"),
        "{cookie_line}"
    );
    assert!(!cookie_line.contains("Secure"), "plain HTTP: {cookie_line}");
    let session = cookie_line
        .split_once(':')
        .unwrap()
        .1
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (status, _, body) = server.request("GET", "/", &[("Cookie", &session)], b"");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("signed in as <b>dash</b>"), "{body}");
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    // A write form without its CSRF token is refused, and writes nothing (the attest form
    // is multipart, as a browser sends it).
    let multipart: String = [
        ("environment", "prod"),
        ("item", "drill"),
        ("role", "operations"),
    ]
    .iter()
    .map(|(k, v)| format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"))
    .chain(["--XyZ--\r\n".to_string()])
    .collect();
    let (status, _, body) = server.request(
        "POST",
        "/deployments/payments/attest",
        &[
            ("Cookie", &session),
            ("Content-Type", "multipart/form-data; boundary=XyZ"),
        ],
        multipart.as_bytes(),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    // Signing out without the CSRF token is refused; with it, the session ends.
    let (status, _, body) = server.request(
        "POST",
        "/signout",
        &[
            ("Cookie", &session),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"csrf=forged",
    );
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = server.request(
        "POST",
        "/signout",
        &[
            ("Cookie", &session),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!("csrf={csrf}").as_bytes(),
    );
    assert_eq!(status, 303);
    let (status, _, body) =
        server.request("GET", "/api/v1/deployments", &[("Cookie", &session)], b"");
    assert_eq!(status, 401, "an ended session: {body}");
    assert!(body.contains("sign in again"), "{body}");
}

#[test]
fn health_answers_and_a_burst_meets_429() {
    let server = Server::start(&["--rate-limit", "5/1m", "--anonymous-read"]);
    let (status, _, body) = server.request("GET", "/healthz", &[], b"");
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, _, body) = server.request("GET", "/readyz", &[], b"");
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    // Anonymous reading is on: the fleet answers without a token, writes still need one.
    assert_eq!(
        server.request("GET", "/api/v1/deployments", &[], b"").0,
        200
    );
    assert_eq!(server.request("POST", "/api/v1/runs", &[], b"{}").0, 401);
    let statuses: Vec<u16> = (0..10)
        .map(|_| server.request("GET", "/api/v1/deployments", &[], b"").0)
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    // Health is never limited.
    assert_eq!(server.request("GET", "/healthz", &[], b"").0, 200);
}

#[test]
fn push_without_a_token_or_server_fails_with_exit_3() {
    let hosts = tempfile::tempdir().unwrap();
    host(hosts.path(), "payments", "pay");
    let db = hosts.path().join("l.db").display().to_string();
    let o = shipcheck_db(
        hosts.path(),
        &db,
        &[],
        &["check", "--no-record", "-q", "--push", "http://127.0.0.1:9"],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("SHIPCHECK_TOKEN is not set"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("Gate: NO-GO"),
        "the report is still printed"
    );
    let o = shipcheck_db(
        hosts.path(),
        &db,
        &[("SHIPCHECK_TOKEN", "shck_x")],
        &["check", "--no-record", "-q", "--push", "http://127.0.0.1:9"],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("cannot reach"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("shck_x"), "the token never shows");
}

/// A host whose gate needs a security sign-off.
fn host_with_signoff(dir: &Path, name: &str) {
    host(dir, name, "pay");
    let profile = dir.join("shipcheck.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(
        &profile,
        format!("{text}gate: {{require_signoff: [security]}}\n"),
    )
    .unwrap();
}

#[test]
fn attest_waive_and_sign_off_through_the_api_turn_the_gate_go() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    let ops = server.token("olga", "attester:operations");
    let sec_attester = server.token("sam", "attester:security");
    let signer = server.token("sue", "signer:security");
    let admin = server.token("ada", "admin");
    let hosts = tempfile::tempdir().unwrap();
    let (a, b) = (hosts.path().join("a"), hosts.path().join("b"));
    host_with_signoff(&a, "payments");
    host_with_signoff(&b, "search");
    for dir in [&a, &b] {
        assert_eq!(push(&server, dir, &ci).status.code(), Some(1));
    }
    let gate = |d: &str| {
        server.json(
            &format!("/api/v1/deployments/{d}/gate?environment=prod"),
            &viewer,
        )
    };
    let g = gate("payments");
    assert_eq!(g["go"], false);
    assert_eq!(g["missing_signoffs"], serde_json::json!(["security"]));
    assert_eq!(g["pending"][0]["item"], "p:drill");
    // The fleet shows the same gate (and caches it).
    let fleet = server.json("/api/v1/deployments", &viewer);
    assert_eq!(fleet[0]["gate"]["go"], false);
    assert_eq!(fleet[0]["gate"]["pending"][0]["item"], "p:drill");
    assert_eq!(g["pending"][0]["roles"], serde_json::json!(["operations"]));
    let post = |path: &str, token: &str, body: serde_json::Value| {
        let (status, _, text) = server.post_json(path, token, body.to_string().as_bytes());
        (status, text)
    };
    let attest = |token: &str, role: &str, item: &str| {
        post(
            "/api/v1/deployments/payments/attestations",
            token,
            serde_json::json!({"environment": "prod", "item": item, "role": role, "note": "drill done", "evidence_url": "https://wiki.example/drill"}),
        )
    };
    let before = server.records();
    // A token may attest only as its own role, and the item only takes operations.
    let (status, body) = attest(&ops, "security", "drill");
    assert_eq!(status, 403, "{body}");
    let (status, body) = attest(&sec_attester, "security", "drill");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("may not attest"), "{body}");
    let (status, body) = attest(&ops, "operations", "dril");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("did you mean `p:drill`"), "{body}");
    let (status, body) = post(
        "/api/v1/deployments/nosuch/attestations",
        &ops,
        serde_json::json!({"environment": "prod", "item": "drill", "role": "operations"}),
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = post(
        "/api/v1/deployments/payments/attestations",
        &ops,
        serde_json::json!({"environment": "prod", "item": "drill", "role": "operations", "extra": 1}),
    );
    assert_eq!(status, 422, "unknown fields are refused: {body}");
    assert_eq!(server.records(), before, "nothing refused was written");
    let (status, body) = attest(&ops, "operations", "drill");
    assert_eq!(status, 201, "{body}");
    let rec: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rec["by"], "olga");
    let g = gate("payments");
    assert!(g["pending"].as_array().unwrap().is_empty(), "{g}");
    assert_eq!(g["go"], false, "port still fails and no sign-off: {g}");
    // Only an admin waives.
    let waiver = serde_json::json!({"environment": "prod", "item": "p:port", "reason": "moving to 8080 next sprint", "owner": "ada", "expires": "2999-01-01"});
    assert_eq!(
        post(
            "/api/v1/deployments/payments/waivers",
            &viewer,
            waiver.clone()
        )
        .0,
        403
    );
    let (status, body) = post("/api/v1/deployments/payments/waivers", &admin, waiver);
    assert_eq!(status, 201, "{body}");
    let g = gate("payments");
    assert_eq!(g["go"], false);
    assert_eq!(g["missing_signoffs"], serde_json::json!(["security"]));
    let signoff = serde_json::json!({"environment": "prod", "role": "security"});
    assert_eq!(
        post(
            "/api/v1/deployments/payments/signoffs",
            &ops,
            signoff.clone()
        )
        .0,
        403
    );
    let (status, body) = post("/api/v1/deployments/payments/signoffs", &signer, signoff);
    assert_eq!(status, 201, "{body}");
    let g = gate("payments");
    assert_eq!(g["go"], true, "{g}");
    assert_eq!(g["signoffs"]["security"], "sue");
    // The statements are listed, with who made them; the other deployment has none.
    let listed = server.json(
        "/api/v1/deployments/payments/attestations?environment=prod",
        &viewer,
    );
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        (listed[0]["by"].as_str(), listed[0]["item"].as_str()),
        (Some("olga"), Some("p:drill"))
    );
    assert_eq!(listed[0]["evidence"]["url"], "https://wiki.example/drill");
    let signoffs = server.json(
        "/api/v1/deployments/payments/signoffs?environment=prod",
        &viewer,
    );
    assert_eq!(signoffs[0]["by"], "sue");
    let waivers = server.json(
        "/api/v1/deployments/payments/waivers?environment=prod",
        &viewer,
    );
    assert_eq!(waivers[0]["owner"], "ada");
    let none = server.json(
        "/api/v1/deployments/search/attestations?environment=prod",
        &viewer,
    );
    assert!(none.as_array().unwrap().is_empty(), "{none}");
    assert_eq!(
        server
            .get("/api/v1/deployments/payments/waivers", &viewer)
            .0,
        400,
        "the environment is required"
    );
    // Phase progress: both items are pre-deploy, and both are done.
    assert_eq!(
        g["phases"],
        serde_json::json!([{"phase": "pre-deploy", "done": 2, "total": 2, "open": 0, "not_due": 0}])
    );
    // The writes made the fleet compute the gate again: no stale NO-GO.
    let fleet = server.json("/api/v1/deployments", &viewer);
    assert_eq!(fleet[0]["deployment"], "payments");
    assert_eq!(fleet[0]["gate"]["go"], true, "{fleet}");
    assert_eq!(fleet[1]["gate"]["go"], false);
    // The other deployment saw none of it.
    let other = gate("search");
    assert_eq!(other["go"], false);
    assert_eq!(other["pending"][0]["item"], "p:drill");
    assert_eq!(other["missing_signoffs"], serde_json::json!(["security"]));
    // The command line's gate of the same deployment agrees, from the same ledger.
    let o = shipcheck_db(&a, &server.db, &[], &["gate"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn over_tls_the_server_passes_shipchecks_own_web_service_pack() {
    use crate::common::pki;
    let ca = pki::self_signed("test root", &[], -10, 365, true);
    let leaf = pki::issued(&ca, "localhost", &["localhost"], -1, 90, false);
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca_file) = (
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
        dir.path().join("ca.pem"),
    );
    std::fs::write(&cert, &leaf.pem).unwrap();
    std::fs::write(&key, leaf.key.serialize_pem()).unwrap();
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let server = Server::start(&[
        "--tls-cert",
        &cert.display().to_string(),
        "--tls-key",
        &key.display().to_string(),
        "--rate-limit",
        "30/1m",
    ]);
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    std::fs::write(
        dir.path().join("shipcheck.yaml"),
        format!(
            "deployment: shipcheck-server\npacks: [web-service]\nvars:\n  host: localhost\n  port: \"{port}\"\n  address: 127.0.0.1\n  ca_file: ca.pem\n  health_path: /healthz\n  api_path: /api/v1/deployments\n  rate_limited_path: /api/v1/deployments\nenable: [http.auth, http.rate-limit]\nwaivers:\n  - {{item: http.redirect, reason: the server listens on one HTTPS port only, owner: platform, expires: 2999-01-01}}\n"
        ),
    )
    .unwrap();
    let out = shipcheck_db(
        dir.path(),
        &dir.path().join("l.db").display().to_string(),
        &[],
        &["check", "--format", "json", "--no-record"],
    );
    let run = json(&out);
    let s = statuses(&run);
    for id in [
        "tls.protocols",
        "tls.ciphers",
        "tls.certificate",
        "http.hsts",
        "http.security-headers",
        "http.cors",
        "http.health",
        "http.auth",
        "http.rate-limit",
    ] {
        assert_eq!(s[id], "pass", "{id}: {}", summary(&run, id));
    }
    assert_eq!(s["http.redirect"], "waived");
    assert_eq!(out.status.code(), Some(0), "GO: {}", stdout(&out));
    // Under TLS the session cookie is Secure as well (curl: a real TLS client).
    let admin = server.token("ada", "admin");
    let signin = std::process::Command::new("curl")
        .args(["-s", "-i", "--max-time", "20", "--cacert"])
        .arg(&ca_file)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["--data-urlencode", &format!("token={admin}")])
        .arg(format!("https://localhost:{port}/signin"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&signin.stdout).to_string();
    let cookie = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {head}"));
    for part in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(part), "{part}: {cookie}");
    }
}

#[test]
fn two_servers_on_one_postgresql_ledger_see_each_others_writes() {
    let pg = Postgres::start();
    let url = pg.lax_url();
    let a = Server::start_on(tempfile::tempdir().unwrap(), url.clone(), &[]);
    let b = Server::start_on(tempfile::tempdir().unwrap(), url.clone(), &[]);
    for s in [&a, &b] {
        assert!(
            !s.banner.contains("CANARY"),
            "the password never shows: {}",
            s.banner
        );
    }
    // A token created once works on both replicas.
    let ci = a.token("ci", "pusher");
    let ops = a.token("olga", "attester:operations");
    let viewer = a.token("dash", "viewer");
    let hosts = tempfile::tempdir().unwrap();
    host(hosts.path(), "payments", "pay");
    assert_eq!(push(&a, hosts.path(), &ci).status.code(), Some(1));
    let fleet = b.json("/api/v1/deployments", &viewer);
    assert_eq!(
        fleet[0]["deployment"], "payments",
        "B sees A's run: {fleet}"
    );
    // An attestation made through B shows in A's gate.
    let (status, _, body) = b.post_json(
        "/api/v1/deployments/payments/attestations",
        &ops,
        br#"{"environment": "prod", "item": "drill", "role": "operations"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let g = a.json(
        "/api/v1/deployments/payments/gate?environment=prod",
        &viewer,
    );
    assert!(g["pending"].as_array().unwrap().is_empty(), "{g}");
    // A token revoked through one replica's ledger stops on the other.
    let o = shipcheck_db(a.dir.path(), &url, &[], &["token", "revoke", "dash"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(b.get("/api/v1/deployments", &viewer).0, 401);
    let (status, _, body) = b.request("GET", "/readyz", &[], b"");
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
}

#[test]
fn attest_sign_off_and_waive_from_the_command_line_with_server() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let ops = server.token("olga", "attester:operations");
    let signer = server.token("sue", "signer:security");
    let admin = server.token("ada", "admin");
    let hosts = tempfile::tempdir().unwrap();
    let dir = hosts.path().join("payments");
    host_with_signoff(&dir, "payments");
    assert_eq!(push(&server, &dir, &ci).status.code(), Some(1));
    let local = dir.join("local.db").display().to_string();
    let url = server.url();
    let as_token = |token: &str, args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--server", url.as_str()]);
        shipcheck_db(&dir, &local, &[("SHIPCHECK_TOKEN", token)], &all)
    };
    // The server refuses, and says why: exit 2.
    let o = as_token(&ops, &["signoff", "--role", "security"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("may not sign off as security"),
        "{}",
        stderr(&o)
    );
    let o = as_token(
        &ops,
        &[
            "attest",
            "drill",
            "--role",
            "operations",
            "--evidence",
            "notes.txt",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "no such evidence file");
    assert!(stderr(&o).contains("notes.txt"), "{}", stderr(&o));
    let o = shipcheck_db(
        &dir,
        &local,
        &[("SHIPCHECK_TOKEN", &ops)],
        &[
            "attest",
            "drill",
            "--role",
            "operations",
            "--by",
            "me",
            "--server",
            &url,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "--by and --server do not go together"
    );
    // Accepted: recorded on the server with the token's name.
    let o = as_token(
        &ops,
        &[
            "attest",
            "drill",
            "--role",
            "operations",
            "--note",
            "done",
            "--evidence",
            "https://wiki.example/drill",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("recorded attestation") && stdout(&o).contains("by olga"),
        "{}",
        stdout(&o)
    );
    let o = as_token(
        &admin,
        &[
            "waive",
            "port",
            "--reason",
            "next sprint",
            "--owner",
            "ada",
            "--expires",
            "2999-01-01",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = as_token(
        &signer,
        &["signoff", "--role", "security", "--note", "reviewed"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let viewer = server.token("dash", "viewer");
    let g = server.json(
        "/api/v1/deployments/payments/gate?environment=prod",
        &viewer,
    );
    assert_eq!(g["go"], true, "{g}");
    // Nothing went to a local ledger: none was even created.
    assert!(!dir.join("local.db").exists());
}

#[test]
fn an_expired_session_gets_a_clear_401_and_the_openapi_document_validates() {
    let server = Server::start(&["--session-ttl", "1s"]);
    let viewer = server.token("dash", "viewer");
    let (status, head, _) = server.request(
        "POST",
        "/signin",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("token={viewer}").as_bytes(),
    );
    assert_eq!(status, 303);
    assert!(head.contains("Max-Age=1"), "{head}");
    let session = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    assert_eq!(
        server
            .request("GET", "/api/v1/deployments", &[("Cookie", &session)], b"")
            .0,
        200
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (status, _, body) =
        server.request("GET", "/api/v1/deployments", &[("Cookie", &session)], b"");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("the session expired"), "{body}");
    // The dashboard sends an expired browser to sign in again.
    let (status, head, _) = server.request("GET", "/", &[("Cookie", &session)], b"");
    assert_eq!(status, 303, "{head}");
    // The OpenAPI document passes a real validator (openapi-spec-validator, PyPI).
    let (_, _, doc) = server.request("GET", "/api/v1/openapi.json", &[], b"");
    let file = server.dir.path().join("openapi.json");
    std::fs::write(&file, doc).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 (scripts/install-test-deps.sh installs openapi-spec-validator)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_waiver_ending_changes_the_fleets_gate_without_any_write() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let admin = server.token("ada", "admin");
    let hosts = tempfile::tempdir().unwrap();
    host(hosts.path(), "payments", "pay");
    assert_eq!(push(&server, hosts.path(), &ci).status.code(), Some(1));
    let post = |path: &str, body: serde_json::Value| {
        server.post_json(path, &admin, body.to_string().as_bytes())
    };
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
    let (status, _, body) = post(
        "/api/v1/deployments/payments/waivers",
        serde_json::json!({"environment": "prod", "item": "port", "reason": "r", "owner": "o", "expires": soon.to_string()}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = post(
        "/api/v1/deployments/payments/attestations",
        serde_json::json!({"environment": "prod", "item": "drill", "role": "operations"}),
    );
    assert_eq!(status, 201, "{body}");
    let fleet = server.json("/api/v1/deployments", &admin);
    assert_eq!(fleet[0]["gate"]["go"], true, "{fleet}");
    assert!(
        fleet[0]["gate"]["expiring_waivers"][0]
            .as_str()
            .unwrap()
            .starts_with("p:port")
    );
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let fleet = server.json("/api/v1/deployments", &admin);
    assert_eq!(fleet[0]["gate"]["go"], false, "the waiver ended: {fleet}");
}

#[test]
fn a_manual_item_of_a_run_from_before_attest_rules_gets_a_clear_refusal() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let ops = server.token("olga", "attester:operations");
    let hosts = tempfile::tempdir().unwrap();
    host(hosts.path(), "payments", "pay");
    assert_eq!(push(&server, hosts.path(), &ci).status.code(), Some(1));
    // The same run as an older shipcheck recorded it: no attest rules on its results.
    let mut old = server.json("/api/v1/runs/3", &ci);
    for r in old["results"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("attest");
    }
    let (status, _, body) = server.post_json("/api/v1/runs", &ci, old.to_string().as_bytes());
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = server.post_json(
        "/api/v1/deployments/payments/attestations",
        &ops,
        br#"{"environment": "prod", "item": "drill", "role": "operations"}"#,
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("recorded before runs carried who may attest it"),
        "{body}"
    );
}

#[test]
fn a_pushed_runs_verdict_counts_and_score_are_read_from_its_results() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let hosts = tempfile::tempdir().unwrap();
    host(hosts.path(), "payments", "pay");
    assert_eq!(push(&server, hosts.path(), &ci).status.code(), Some(1));
    let honest = server.json("/api/v1/runs/2", &ci);
    // The same results, with a verdict, counts and score that claim all is well.
    let mut lying = honest.clone();
    lying["gate"]["go"] = true.into();
    lying["gate"]["exit_code"] = 0.into();
    lying["gate"]["blocking"] = serde_json::json!([]);
    lying["counts"]["fail"] = 0.into();
    lying["counts"]["pass"] = 2.into();
    lying["score"]["value"] = 100.into();
    let (status, _, body) = server.post_json("/api/v1/runs", &ci, lying.to_string().as_bytes());
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let stored = server.json(&format!("/api/v1/runs/{id}"), &ci);
    assert_eq!(stored["gate"]["go"], false);
    assert_eq!(stored["counts"], honest["counts"]);
    assert_eq!(stored["score"]["value"], honest["score"]["value"]);
    let fleet = server.json("/api/v1/deployments", &ci);
    assert_eq!(fleet[0]["latest"]["id"], id);
    assert_eq!(fleet[0]["latest"]["go"], false);
    assert_eq!(fleet[0]["latest"]["score"], honest["score"]["value"]);
}

#[test]
fn a_password_in_the_server_url_is_never_printed() {
    let hosts = tempfile::tempdir().unwrap();
    host(hosts.path(), "payments", "pay");
    let db = hosts.path().join("l.db").display().to_string();
    for url in [
        "http://ops:s3cret-CANARY@127.0.0.1:9",
        "ftp://ops:s3cret-CANARY@127.0.0.1:9",
    ] {
        let o = shipcheck_db(
            hosts.path(),
            &db,
            &[("SHIPCHECK_TOKEN", "shck_x")],
            &["check", "--no-record", "-q", "--push", url],
        );
        assert_eq!(o.status.code(), Some(3));
        assert!(stderr(&o).contains("127.0.0.1:9"), "{}", stderr(&o));
        assert!(
            !stderr(&o).contains("CANARY") && !stdout(&o).contains("CANARY"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn a_runs_items_list_filters_by_status_and_one_item_reads_by_id() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    let hosts = tempfile::tempdir().unwrap();
    host(hosts.path(), "payments", "pay");
    let o = push(&server, hosts.path(), &ci);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let runs = server.json("/api/v1/deployments/payments/runs", &viewer);
    let id = runs[0]["id"].as_i64().unwrap();
    let items = server.json(&format!("/api/v1/runs/{id}/items"), &viewer);
    let ids: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["port", "drill"], "{items}");
    let failing = server.json(&format!("/api/v1/runs/{id}/items?status=fail"), &viewer);
    assert_eq!(failing.as_array().unwrap().len(), 1, "{failing}");
    assert_eq!(failing[0]["id"], "port");
    assert_eq!(failing[0]["status"], "fail");
    // One item, by id or pack:id.
    let one = server.json(&format!("/api/v1/runs/{id}/items/p:drill"), &viewer);
    assert_eq!(one["status"], "pending", "{one}");
    assert_eq!(
        server.json(&format!("/api/v1/runs/{id}/items/drill"), &viewer)["id"],
        "drill"
    );
    // Bad input: an unknown status (with the known ones), an unknown item (with a
    // suggestion), an unknown run.
    let (status, _, body) = server.get(&format!("/api/v1/runs/{id}/items?status=failed"), &viewer);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("fail"), "{body}");
    let (status, _, body) = server.get(&format!("/api/v1/runs/{id}/items/dril"), &viewer);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("did you mean `p:drill`"), "{body}");
    assert_eq!(server.get("/api/v1/runs/999/items", &viewer).0, 404);
    assert_eq!(
        server
            .request("GET", &format!("/api/v1/runs/{id}/items"), &[], b"")
            .0,
        401
    );
}
