//! Helpers shared by the integration tests: run the built binary, copy fixtures.
#![allow(dead_code)]

pub use shipcheck_testkit::oldtls;
pub use shipcheck_testkit::pki;
pub use shipcheck_testkit::standin;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A ledger private to this test process, so tests never write to the user's own.
pub fn test_ledger() -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
        .join("ledger.db")
}

/// Runs the `shipcheck` binary with `args` in `cwd`, colour off, on the test ledger.
pub fn shipcheck(cwd: &Path, args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("shipcheck")
        .expect("binary built")
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("SHIPCHECK_DB", test_ledger())
        .env_remove("SHIPCHECK_LEDGER_KEY")
        .env_remove("SHIPCHECK_PROFILE")
        .env_remove("SHIPCHECK_ENV")
        // Output is asserted unwrapped; `terminal_width_wraps_between_words` sets it.
        .env_remove("COLUMNS")
        .args(args)
        .output()
        .expect("shipcheck runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Copies a folder recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The fixture application in a temp dir, with the modes and times git cannot carry:
/// `good` is correct, `bad` has one defect per failing item.
pub fn fixture_app() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    copy_dir(&fixtures().join("app"), &app);
    for (env, good) in [("good", true), ("bad", false)] {
        let root = app.join(env);
        std::fs::copy(app.join("bin/health.sh"), root.join("health.sh")).unwrap();
        chmod(&root.join("health.sh"), 0o755);
        std::fs::write(root.join("backup.sh"), "#!/bin/sh\necho ok\n").unwrap();
        chmod(&root.join("backup.sh"), if good { 0o755 } else { 0o644 });
        chmod(&root.join("config.json"), if good { 0o600 } else { 0o644 });
        let backups = root.join("backups");
        std::fs::create_dir_all(&backups).unwrap();
        let dump = backups.join("app.dump");
        std::fs::write(&dump, "dump").unwrap();
        if !good {
            age(&dump, 3);
        }
    }
    tmp
}

/// Parses JSON output.
/// Sets a file's modification time to `hours` ago.
pub fn age(path: &Path, hours: u64) {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(t))
        .expect("set mtime");
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(o),
            stderr(o)
        )
    })
}

/// `id -> status` of a JSON run.
/// The summary of the result whose id is `id` (or ends with `:id`, `.id`), empty when none.
pub fn summary(run: &serde_json::Value, id: &str) -> String {
    run["results"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            let rid = r["id"].as_str().unwrap_or_default();
            let pack = r["pack"].as_str().unwrap_or_default();
            rid == id || format!("{pack}:{rid}") == id || rid.ends_with(&format!(".{id}"))
        })
        .map(|r| r["summary"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

pub fn statuses(run: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `shipcheck check --profile app/shipcheck.yaml --env ENV EXTRA...` on a fixture app.
pub fn check_app(tmp: &tempfile::TempDir, env: &str, extra: &[&str]) -> Output {
    let mut args = vec!["check", "--profile", "app/shipcheck.yaml", "--env", env];
    args.extend_from_slice(extra);
    shipcheck(tmp.path(), &args)
}

/// A running test nginx (scripts/test-nginx.sh); stopped when dropped.
pub struct Nginx {
    pub dir: tempfile::TempDir,
    pub https: u16,
    pub http: u16,
    pub legacy: u16,
    pub legacy_http: u16,
    pub weak: u16,
    /// TLS 1.2 with NULL suites only.
    pub null: u16,
}

impl Nginx {
    pub fn start() -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<u16> = {
            let listeners: Vec<std::net::TcpListener> = (0..6)
                .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
                .collect();
            listeners
                .iter()
                .map(|l| l.local_addr().unwrap().port())
                .collect()
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-nginx.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(dir.path())
            .args(ports.iter().map(u16::to_string))
            .output()
            .expect("run scripts/test-nginx.sh");
        assert!(
            out.status.success(),
            "nginx did not start (install it with scripts/install-test-deps.sh): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Nginx {
            dir,
            https: ports[0],
            http: ports[1],
            legacy: ports[2],
            legacy_http: ports[3],
            weak: ports[4],
            null: ports[5],
        }
    }

    pub fn ca(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-nginx.sh");
        let _ = std::process::Command::new("bash")
            .arg(script)
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// Finding ids of the first report of `shipcheck probe ... --format json`.
pub fn finding_ids(out: &Output) -> Vec<String> {
    let v = json(out);
    v[0]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{v:#}"))
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// Two running test PostgreSQL clusters (scripts/test-postgres.sh); stopped when dropped.
pub struct Postgres {
    pub dir: tempfile::TempDir,
    pub strict: u16,
    pub lax: u16,
}

/// Password of the strict cluster's superuser (a canary: it must never be printed).
pub const PG_PASSWORD: &str = "strict-pg-CANARY-9e8d7c6b5a";

impl Postgres {
    pub fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let (strict, lax) = (pki::free_port(), pki::free_port());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-postgres.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .args([
                "start",
                &dir.path().display().to_string(),
                &strict.to_string(),
                &lax.to_string(),
            ])
            .env("STRICT_PASSWORD", PG_PASSWORD)
            .output()
            .expect("run scripts/test-postgres.sh");
        let pg = Postgres { dir, strict, lax };
        assert!(
            out.status.success(),
            "PostgreSQL did not start (install it with scripts/install-test-deps.sh): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    pub fn strict_url(&self) -> String {
        format!(
            "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/postgres",
            self.strict
        )
    }

    pub fn lax_url(&self) -> String {
        format!(
            "postgres://postgres:lax-pg-CANARY-1234@127.0.0.1:{}/postgres",
            self.lax
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-postgres.sh");
        let _ = std::process::Command::new("bash")
            .arg(script)
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// Runs `shipcheck` with a given ledger and extra environment.
pub fn shipcheck_db(cwd: &Path, db: &str, envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("shipcheck").expect("binary built");
    cmd.current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("SHIPCHECK_DB", db)
        .env_remove("SHIPCHECK_LEDGER_KEY")
        .env_remove("COLUMNS");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("shipcheck runs")
}

/// Writes `pack.yaml`, one section of `items`, and `shipcheck.yaml` using it (plus
/// `profile_extra` lines) into `dir`. Each item is `(id, block)`: its `check:` (or `attest:`)
/// YAML, indented as at the item's own level.
pub fn write_pack(dir: &Path, items: &[(&str, &str)], profile_extra: &str) {
    let mut pack = String::from(
        "name: p\nversion: \"1\"\ntitle: P\nsections:\n  - id: s\n    title: S\n    items:\n",
    );
    for (id, block) in items {
        pack.push_str(&format!(
            "      - id: {id}\n        title: {id}\n        severity: low\n        phase: pre-deploy\n        why: test\n        fix: test\n"
        ));
        for line in block.lines() {
            pack.push_str(&format!("        {line}\n"));
        }
    }
    std::fs::write(dir.join("pack.yaml"), pack).unwrap();
    std::fs::write(
        dir.join("shipcheck.yaml"),
        format!("packs: [pack.yaml]\n{profile_extra}"),
    )
    .unwrap();
}

/// A process a test starts, killed with every process it started when it is dropped: a
/// test that fails half-way leaves nothing running, and a script's own child (its `sleep`)
/// does not outlive it holding the test's output open (nextest reports that as a leak).
pub struct Running(std::process::Child);

impl Running {
    /// Starts `cmd` in a process group of its own, and waits until it shows its command line.
    pub fn spawn(cmd: &mut std::process::Command) -> Running {
        use std::os::unix::process::CommandExt;
        let child = cmd.process_group(0).spawn().expect("spawn");
        wait_exec(&child);
        Running(child)
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.0.wait();
    }
}

/// Waits (up to 2 s) until a just-spawned child shows its own command line: right after
/// spawn it can still be empty while exec is under way, and checks that find processes by
/// their command line would miss it.
pub fn wait_exec(child: &std::process::Child) {
    let cmdline = format!("/proc/{}/cmdline", child.id());
    for _ in 0..200 {
        if std::fs::read(&cmdline).is_ok_and(|c| !c.is_empty()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// What Microsoft's SARIF multitool (npm, installed by scripts/install-test-deps.sh) finds
/// wrong in `file` with its SARIF and GitHub rule sets: errors and warnings, one line each.
pub fn sarif_problems(file: &Path) -> Vec<String> {
    let tools = std::env::var("SHIPCHECK_TOOLS").map_or_else(
        |_| Path::new(&std::env::var("HOME").unwrap()).join(".cache/shipcheck-tools"),
        std::path::PathBuf::from,
    );
    let multitool = tools.join("node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    assert!(
        multitool.is_file(),
        "{} is missing: run scripts/install-test-deps.sh",
        multitool.display()
    );
    let report = file.with_extension("validation.sarif");
    let out = std::process::Command::new(&multitool)
        .arg("validate")
        .arg(file)
        .args([
            "--rule-kind",
            "Sarif;Gh",
            "--level",
            "Error;Warning",
            "--log",
            "ForceOverwrite",
            "-o",
        ])
        .arg(&report)
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .output()
        .expect("the multitool runs");
    assert!(report.is_file(), "{}{}", stdout(&out), stderr(&out));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    v["runs"][0]["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| format!("{} {} {}", r["level"], r["ruleId"], r["message"]))
                .collect()
        })
        .unwrap_or_default()
}

/// One HTTP/1.1 request to `addr` (loopback), `Connection: close`: (status, head, body).
/// The body is read up to 4 MiB, within 20 s.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // The server may answer (413) before reading a large body, and close.
    let _ = s.write_all(body);
    // Read the head, then the body by its Content-Length (a peer may keep the connection
    // open despite `Connection: close`), else to the end.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut want: Option<usize> = None;
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            want = length.map(|n| end + 4 + n);
        }
        if want.is_some_and(|w| raw.len() >= w) || raw.len() > 16 << 20 {
            break;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head.to_string(), body.to_string())
}

/// A deployment folder at `dir`: a failing automated item `port` (the config says 9090,
/// the item wants 8080) and a manual item `drill`.
pub fn deployment(dir: &Path, profile_extra: &str) {
    std::fs::create_dir_all(dir).unwrap();
    write_pack(
        dir,
        &[
            (
                "port",
                "check:\n  config: {path: a.json, query: .port}\n  expect: [{equals: 8080}]",
            ),
            ("drill", "attest: {roles: [operations]}"),
        ],
        &format!("environment: prod\nenvironments: {{prod: {{}}, staging: {{}}}}\n{profile_extra}"),
    );
    std::fs::write(dir.join("a.json"), r#"{"port": 9090}"#).unwrap();
}

/// An ssh-agent for one test, stopped when dropped.
pub struct Agent {
    child: std::process::Child,
    pub socket: PathBuf,
}

impl Agent {
    pub fn start(dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let child = std::process::Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent (openssh-client) runs");
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Agent { child, socket }
    }

    pub fn add(&self, key: &Path) {
        let status = std::process::Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
