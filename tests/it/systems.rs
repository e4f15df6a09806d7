//! The built-in system packs against their good and bad fixture deployments
//! (tests/fixtures/systems/SYSTEM/{good,bad}): config and env files, service definitions,
//! and a loopback stand-in of the live service. The good deployment passes every automated
//! item; the bad one fails exactly the items its defects target.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::standin;

/// A fixture deployment copied to a scratch folder (outside /tmp's tmpfs checks), with its
/// stand-in running.
pub(crate) struct Deployment {
    pub(crate) dir: tempfile::TempDir,
    _standin: Option<standin::Standin>,
    env: Vec<(String, String)>,
}

pub(crate) fn deploy(system: &str, variant: &str, prepare: impl Fn(&Path)) -> Deployment {
    let from = crate::common::fixtures()
        .join("systems")
        .join(system)
        .join(variant);
    deploy_from(&from, &format!("{system}-{variant}-"), prepare)
}

pub(crate) fn deploy_from(from: &Path, prefix: &str, prepare: impl Fn(&Path)) -> Deployment {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("scratch dir");
    crate::common::copy_dir(from, dir.path());
    prepare(dir.path());
    let spec = dir.path().join("standin.json");
    let (standin, env) = if spec.exists() {
        let s = standin::start(standin::load(&spec).expect("spec")).expect("stand-in starts");
        let env = s.env(dir.path());
        (Some(s), env)
    } else {
        (None, Vec::new())
    };
    Deployment {
        dir,
        _standin: standin,
        env,
    }
}

impl Deployment {
    /// Runs `shipcheck args` in the deployment with its stand-in's environment and `envs`,
    /// and a ledger of its own.
    pub(crate) fn shipcheck(&self, envs: &[(&str, &str)], args: &[&str]) -> std::process::Output {
        assert_cmd::Command::cargo_bin("shipcheck")
            .expect("binary built")
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("SHIPCHECK_DB", self.dir.path().join(".ledger.db"))
            .env_remove("SHIPCHECK_LEDGER_KEY")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(envs.iter().copied())
            .args(args)
            .output()
            .expect("shipcheck runs")
    }
}

/// Runs the deployment's profile; `pack:id` → status, and the whole report.
pub(crate) fn check(d: &Deployment) -> (BTreeMap<String, String>, serde_json::Value) {
    check_profile(d, "shipcheck.yaml")
}

pub(crate) fn check_profile(
    d: &Deployment,
    profile: &str,
) -> (BTreeMap<String, String>, serde_json::Value) {
    let out = assert_cmd::Command::cargo_bin("shipcheck")
        .expect("binary built")
        .current_dir(d.dir.path())
        .env("NO_COLOR", "1")
        .env_remove("SHIPCHECK_LEDGER_KEY")
        .envs(d.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args([
            "check",
            "--no-record",
            "-f",
            "json",
            "-j",
            "4",
            "--profile",
            profile,
        ])
        .output()
        .expect("shipcheck runs");
    let run = crate::common::json(&out);
    let statuses = results(&run)
        .map(|r| (key(r), r["status"].as_str().unwrap_or_default().to_string()))
        .collect();
    (statuses, run)
}

pub(crate) fn results(run: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    run["results"].as_array().into_iter().flatten()
}

/// `pack:id` of a result.
pub(crate) fn key(r: &serde_json::Value) -> String {
    format!(
        "{}:{}",
        r["pack"].as_str().unwrap_or_default(),
        r["id"].as_str().unwrap_or_default()
    )
}

/// `pack:id=status` of the results that are neither pass, not_applicable nor pending (a
/// manual item), sorted.
pub(crate) fn problems(statuses: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = statuses
        .iter()
        .filter(|(_, s)| !matches!(s.as_str(), "pass" | "not_applicable" | "pending"))
        .map(|(id, s)| format!("{id}={s}"))
        .collect();
    out.sort();
    out
}

/// Each problem with its result's summary, for assertion messages.
pub(crate) fn explain(problems: &[String], run: &serde_json::Value) -> String {
    problems
        .iter()
        .map(|p| {
            let id = p.split('=').next().unwrap_or_default();
            let summary: String = results(run)
                .filter(|r| key(r) == id)
                .map(|r| r["summary"].to_string())
                .collect();
            format!("{p}: {summary}\n")
        })
        .collect()
}

/// Asserts that the good deployment has no failing, warning or erroring item, and that
/// enough items ran to mean something.
pub(crate) fn assert_good(statuses: &BTreeMap<String, String>, run: &serde_json::Value) {
    let bad = problems(statuses);
    assert!(
        bad.is_empty(),
        "good deployment has problems:\n{}",
        explain(&bad, run)
    );
    assert!(
        statuses.values().filter(|s| *s == "pass").count() >= 20,
        "too few items ran: {statuses:?}"
    );
}

/// Asserts that exactly `expected` (`pack:id=status`) are the problems.
pub(crate) fn assert_bad(
    statuses: &BTreeMap<String, String>,
    run: &serde_json::Value,
    expected: &[&str],
) {
    let got = problems(statuses);
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "\n{}", explain(&got, run));
}

#[test]
fn clasp_good_deployment_passes_every_automated_item() {
    let d = deploy("clasp", "good", |dir| {
        crate::common::chmod(&dir.join("secrets/admin.token"), 0o600);
        // The snapshot was just written (the relay writes it every 30 s).
        std::fs::write(dir.join("data/state.json"), "{\"params\": {}}").expect("snapshot");
    });
    let (statuses, run) = check(&d);
    assert_good(&statuses, &run);
    assert_eq!(statuses["clasp:auth.enabled"], "pass");
    assert_eq!(statuses["clasp:network.ws-upgrade"], "pass");
    assert_eq!(statuses["web-service:tls.certificate"], "pass");
    assert_eq!(statuses["web-service:http.health"], "not_applicable");
}

#[test]
fn clasp_bad_deployment_fails_exactly_its_defects() {
    let d = deploy("clasp", "bad", |dir| {
        crate::common::chmod(&dir.join("secrets/admin.token"), 0o644);
    });
    let (statuses, run) = check(&d);
    assert_bad(
        &statuses,
        &run,
        &[
            "clasp:relay.command-line-valid=fail",
            "clasp:auth.cors-origin=fail",
            "clasp:auth.cors-live=fail",
            "clasp:auth.admin-token-mode=fail",
            "clasp:auth.login-rate-limit=fail",
            "clasp:persist.enabled=fail",
            "clasp:persist.fresh=fail",
            "clasp:persist.durable=fail",
            "clasp:limits.param-ttl=fail",
            "clasp:limits.signal-ttl=fail",
            "clasp:limits.max-sessions=fail",
            "clasp:monitoring.log-level=fail",
            "clasp:monitoring.log-format-json=fail",
            "clasp:monitoring.readyz=fail",
            "clasp:network.loopback-bind=fail",
            "clasp:network.ws-port-closed=fail",
            "clasp:bridges.mqtt=warn",
            "clasp:rendezvous.explicit=fail",
            "clasp:rendezvous.open-discovery=fail",
            "web-service:http.cors=fail",
        ],
    );
    // The repeated flag is reported the way the relay's parser words it.
    let errors = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["id"] == "relay.command-line-valid")
        .map(|r| r["evidence"]["observed"].to_string())
        .unwrap_or_default();
    assert!(
        errors.contains("the argument '--admin-token' cannot be used multiple times"),
        "{errors}"
    );
}

/// The relay's command line read from each kind of source gives the same verdicts: a compose
/// service, a command line given as a variable, and a running process (/proc).
#[test]
fn clasp_command_line_from_compose_command_and_process() {
    let d = deploy("clasp", "good", |dir| {
        crate::common::chmod(&dir.join("secrets/admin.token"), 0o600);
        std::fs::write(dir.join("data/state.json"), "{}").expect("snapshot");
    });
    let dir = d.dir.path();
    let flags = "--host 127.0.0.1 --auth-port 7350 --cors-origin https://app.relay.example.test \
        --admin-token secrets/admin.token --persist data/state.json --app-config config/app.json \
        --max-sessions 500 --drain-timeout 30 --health-port 7360 --rendezvous-port 0";
    std::fs::write(
        dir.join("docker-compose.yml"),
        format!(
            "services:\n  relay:\n    image: clasp-relay\n    command: >-\n      {} --session-timeout ${{SHIPCHECK_FIXTURE_UNSET:-600}}\n    environment:\n      RUST_LOG: info\n      LOG_FORMAT: ${{RELAY_LOG_FORMAT}}\n    stop_grace_period: 20s\n",
            flags.replace("\\\n        ", "")
        ),
    )
    .expect("compose");
    // Compose takes ${...} from the project's .env.
    std::fs::write(dir.join(".env"), "RELAY_LOG_FORMAT=json\n").expect(".env");
    let profile = std::fs::read_to_string(dir.join("shipcheck.yaml")).expect("profile");
    let with = |source: &str, extra: &str| {
        let name = format!("{source}.yaml");
        std::fs::write(
            dir.join(&name),
            profile.replace(
                "relay_source: systemd",
                &format!("relay_source: {source}\n  {extra}"),
            ),
        )
        .expect("profile");
        check_profile(&d, &name).0
    };
    // Compose: stop_grace_period 20s is shorter than the 30 s drain.
    let compose = with("compose", "compose_file: docker-compose.yml");
    assert_eq!(compose["clasp:auth.enabled"], "pass");
    assert_eq!(compose["clasp:monitoring.log-format-json"], "pass");
    assert_eq!(compose["clasp:limits.drain-timeout"], "fail");
    assert_eq!(
        compose["clasp:relay.command-line-valid"], "pass",
        "${{...:-600}} is a number"
    );

    // A command line with environment assignments in front.
    let line =
        format!("RUST_LOG=info LOG_FORMAT=json /usr/local/bin/clasp-relay {flags} --verbose");
    let command = with(
        "command",
        &format!("relay_command: '{}'", line.replace('\n', " ")),
    );
    assert_eq!(command["clasp:relay.command-line-valid"], "pass");
    assert_eq!(
        command["clasp:monitoring.log-level"], "fail",
        "--verbose forces trace"
    );
    assert_eq!(command["clasp:limits.drain-timeout"], "pass");

    // A running process: a script named clasp-relay that ignores its flags and waits, so
    // its /proc/PID/cmdline is `/bin/sh ./clasp-relay --host ...`.
    let bin = dir.join("clasp-relay");
    std::fs::write(&bin, "#!/bin/sh\nsleep 30\n").expect("script");
    crate::common::chmod(&bin, 0o755);
    let words: Vec<&str> = flags.split_whitespace().filter(|w| *w != "\\").collect();
    let child = crate::common::Running::spawn(
        std::process::Command::new(&bin)
            .args(&words)
            .arg("--no-ttl")
            .env("LOG_FORMAT", "json")
            .current_dir(dir),
    );
    let process = with("process", &format!("relay_pid: '{}'", child.id()));
    drop(child);
    assert_eq!(process["clasp:auth.enabled"], "pass");
    assert_eq!(process["clasp:monitoring.log-format-json"], "pass");
    assert_eq!(
        process["clasp:limits.param-ttl"], "fail",
        "--no-ttl from /proc/PID/cmdline"
    );
    assert_eq!(
        process["clasp:persist.enabled"], "pass",
        "relative paths from /proc/PID/cwd"
    );
}

/// The bundled example behind README's main job (scripts/demo.sh): the CLASP relay with its
/// two documented defects, live probes against the stand-in included.
#[test]
fn bundled_clasp_example_shows_its_two_defects() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/clasp");
    let d = deploy_from(&example, "example-clasp-", |dir| {
        crate::common::chmod(&dir.join("secrets/admin.token"), 0o600);
        std::fs::write(dir.join("data/state.json"), "{}").expect("snapshot");
    });
    let (statuses, run) = check(&d);
    assert_bad(
        &statuses,
        &run,
        &[
            "clasp:limits.max-sessions=fail",
            "clasp:monitoring.log-format-json=fail",
        ],
    );
    assert_eq!(statuses["clasp:tls.terminated"], "pass", "live probes ran");
}

#[test]
fn ocmt_good_deployment_passes_every_automated_item() {
    let d = deploy("ocmt", "good", |dir| prepare_ocmt(dir, 2));
    let (statuses, run) = check(&d);
    assert_good(&statuses, &run);
    assert_eq!(statuses["ocmt:secrets.agent-auth-token-matches"], "pass");
    assert_eq!(statuses["web-service:http.health"], "pass");
    assert_eq!(statuses["web-service:tls.protocols"], "not_applicable");
}

#[test]
fn ocmt_bad_deployment_fails_exactly_its_defects() {
    // As git leaves them: every env file readable by all.
    let d = deploy("ocmt", "bad", |dir| {
        crate::common::age(&dir.join("backups/ocmt-20261122.sql"), 50)
    });
    let (statuses, run) = check(&d);
    assert_bad(
        &statuses,
        &run,
        &[
            "ocmt:backups.dir-mode=fail",
            "ocmt:backups.recent=fail",
            "ocmt:backups.retention=fail",
            "ocmt:secrets.management-env-mode=fail",
            "ocmt:secrets.relay-env-mode=fail",
            "ocmt:secrets.agent-env-mode=fail",
            "ocmt:secrets.admin-env-mode=fail",
            "ocmt:env.no-effect-variables=fail",
            "ocmt:env.node-env-production=fail",
            "ocmt:env.relay-allowed-origins=fail",
            "ocmt:health.agent=fail",
            "ocmt:http.hsts=fail",
            "ocmt:http.internal-api-auth=fail",
            "ocmt:http.relay-cors=fail",
            "ocmt:network.database-private=fail",
            "ocmt:network.agent-port-closed=fail",
            "ocmt:secrets.agent-auth-token-matches=fail",
            "ocmt:secrets.database-password=fail",
            "ocmt:secrets.encryption-key=fail",
            "web-service:http.cors=fail",
        ],
    );
    // The findings name secrets by length, never by value.
    let text = run.to_string();
    assert!(!text.contains("generate-64-hex-chars-32-bytes-key"));
    assert!(!text.contains("e4b6d8f0a2c4e6b8d0f2a4c6"));
}

#[test]
fn rack_gateway_good_deployment_passes_every_automated_item() {
    let d = deploy("rack-gateway", "good", |dir| prepare_rack(dir, true));
    let (statuses, run) = check(&d);
    assert_good(&statuses, &run);
    assert_eq!(statuses["rack-gateway:rack.proxy-apps"], "pass");
    assert_eq!(statuses["rack-gateway:http.foreign-origin"], "pass");
    assert_eq!(statuses["rack-gateway:http.auth-rate-limit"], "pass");
}

#[test]
fn rack_gateway_bad_deployment_fails_exactly_its_defects() {
    let d = deploy("rack-gateway", "bad", |dir| prepare_rack(dir, false));
    let (statuses, run) = check(&d);
    assert_bad(
        &statuses,
        &run,
        &[
            "rack-gateway:secrets.app-secret-key=fail",
            "rack-gateway:secrets.env-file-mode=fail",
            "rack-gateway:rbac.two-admins=fail",
            "rack-gateway:network.port-closed=fail",
            "rack-gateway:mfa.required=fail",
            "rack-gateway:mfa.no-effect-key=fail",
            "rack-gateway:database.url=fail",
            "rack-gateway:database.ssl=fail",
            "rack-gateway:audit.hmac-secret=fail",
            "rack-gateway:audit.retention=fail",
            "rack-gateway:audit.retention-wired=fail",
            "rack-gateway:email.no-effect-from-email=fail",
            "rack-gateway:resources.instances=fail",
            "rack-gateway:health.convox=fail",
            "rack-gateway:health.no-ready-endpoint=fail",
            "rack-gateway:http.hsts=fail",
            "rack-gateway:http.auth-rate-limit=fail",
            "rack-gateway:rack.proxy-apps=fail",
            "rack-gateway:rack.proxy-ps=fail",
        ],
    );
}

/// The modes git does not keep of OCMT's env files: private in the good deployment.
pub(crate) fn prepare_ocmt(dir: &Path, backup_age_hours: u64) {
    for env in ["mgmt.env", "relay.env", "agent.env", "admin.env"] {
        crate::common::chmod(&dir.join(env), 0o600);
    }
    crate::common::chmod(&dir.join("backups"), 0o700);
    crate::common::age(&dir.join("backups/ocmt-20261122.sql"), backup_age_hours);
}

/// The Rack Gateway deployment's executable CLI stand-in, and its env file private or not.
pub(crate) fn prepare_rack(dir: &Path, good: bool) {
    crate::common::chmod(&dir.join("bin/rack-gateway"), 0o755);
    if good {
        crate::common::chmod(&dir.join("gateway.env"), 0o600);
    }
}

/// File modes git does not keep, and the age of the newest backup.
pub(crate) fn prepare_secureclaw(dir: &Path, good: bool, backup_age_hours: u64) {
    crate::common::chmod(&dir.join("state"), 0o700);
    crate::common::chmod(
        &dir.join("state/secureclaw.json"),
        if good { 0o600 } else { 0o644 },
    );
    if good {
        crate::common::chmod(&dir.join("gateway.env"), 0o600);
        crate::common::chmod(&dir.join("gateway.log"), 0o640);
        crate::common::chmod(&dir.join("backups"), 0o700);
        crate::common::chmod(&dir.join("state/security-coach-config.json"), 0o600);
    }
    crate::common::chmod(&dir.join("scripts/backup.sh"), 0o755);
    crate::common::chmod(&dir.join("bin/secureclaw"), 0o755);
    crate::common::age(
        &dir.join("backups/secureclaw-2026-11-23.tar.gz"),
        backup_age_hours,
    );
}

#[test]
fn secureclaw_good_deployment_passes_every_automated_item() {
    let d = deploy("secureclaw", "good", |dir| prepare_secureclaw(dir, true, 2));
    let (statuses, run) = check(&d);
    assert_good(&statuses, &run);
    for id in [
        "secureclaw:live.api-auth",
        "secureclaw:live.old-token-refused",
        "secureclaw:live.proxy-rate-limit",
        "secureclaw:doctor.audit",
        "web-service:http.auth",
        "web-service:tls.protocols",
    ] {
        assert_eq!(statuses[id], "pass", "{id}");
    }
}

#[test]
fn secureclaw_bad_deployment_fails_exactly_its_defects() {
    let d = deploy("secureclaw", "bad", |dir| {
        prepare_secureclaw(dir, false, 72)
    });
    let (statuses, run) = check(&d);
    assert_bad(
        &statuses,
        &run,
        &[
            "secureclaw:gateway.auth.token-strength=fail",
            "secureclaw:gateway.auth.doc-token-key=fail",
            "secureclaw:gateway.auth.config-mode=fail",
            "secureclaw:network.trusted-proxies-literal=fail",
            "secureclaw:network.doc-rate-limit-key=fail",
            "secureclaw:network.insecure-auth-off=fail",
            "secureclaw:network.no-insecure-auth-warnings=fail",
            "secureclaw:coach.enabled=fail",
            "secureclaw:doctor.audit=fail",
            "secureclaw:files.backup-dir-mode=fail",
            "secureclaw:files.coach-config-mode=fail",
            "secureclaw:backups.recent=fail",
            "secureclaw:rollback.config-backup=fail",
            "secureclaw:config.known-gateway-keys=fail",
            "secureclaw:live.gateway-port-closed=fail",
            "secureclaw:files.env-file-mode=fail",
            "secureclaw:files.log-mode=fail",
            "secureclaw:live.old-token-refused=fail",
            "secureclaw:live.logs-clean=fail",
            "secureclaw:live.proxy-rate-limit=fail",
            "web-service:http.hsts=fail",
        ],
    );
    // The audit's refusal of the config is the finding, with its meaning.
    let audit = crate::common::summary(&run, "secureclaw:doctor.audit");
    assert!(audit.contains("the config is invalid"), "{audit}");
    let text = run.to_string();
    assert!(!text.contains("changeme-gateway-token"), "token leaked");
}
