//! The system packs on deployments laid out differently from the good/bad fixtures: each
//! test changes one thing a real deployment does otherwise, and checks that the pack
//! judges it as the real system behaves (../shared/notes/systems.md).

use crate::systems::{assert_bad, check, deploy, prepare_ocmt, prepare_rack, prepare_secureclaw};

/// Replaces `from` by `to` in a deployment's file (the change must apply).
fn edit(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("fixture file");
    assert!(text.contains(from), "{} holds no `{from}`", path.display());
    std::fs::write(path, text.replace(from, to)).expect("write");
}

/// An empty `gateway.trustedProxies` is fail-safe in SecureClaw, so it is a finding only
/// when a proxy is in front; it passes the "literal IPs only" item either way.
#[test]
fn secureclaw_empty_trusted_proxies_is_a_finding_behind_a_proxy_only() {
    let empty = |dir: &std::path::Path| {
        prepare_secureclaw(dir, true, 2);
        edit(
            &dir.join("state/secureclaw.json"),
            r#"trustedProxies: ["127.0.0.1"]"#,
            "trustedProxies: []",
        );
    };
    let d = deploy("secureclaw", "good", empty);
    let (statuses, run) = check(&d);
    assert_bad(
        &statuses,
        &run,
        &["secureclaw:network.trusted-proxies-set=fail"],
    );
    // TLS at the gateway itself, no proxy: nothing to trust, no finding.
    let d = deploy("secureclaw", "good", |dir| {
        empty(dir);
        edit(
            &dir.join("shipcheck.yaml"),
            "tls_mode: proxy",
            "tls_mode: gateway",
        );
    });
    let (statuses, _) = check(&d);
    assert_eq!(
        statuses["secureclaw:network.trusted-proxies-set"],
        "not_applicable"
    );
    assert_eq!(
        statuses["secureclaw:network.trusted-proxies-literal"],
        "pass"
    );
}

/// A host without the system's CLI: the items that run it do not apply, with the reason,
/// in every pack that runs one (Rack Gateway's `cli`, SecureClaw's `secureclaw_bin`).
#[test]
fn a_missing_cli_makes_its_items_not_applicable() {
    for (system, var, from, items) in [
        (
            "rack-gateway",
            "cli",
            "cli: bin/rack-gateway",
            &["rack-gateway:rack.proxy-apps", "rack-gateway:rack.proxy-ps"][..],
        ),
        (
            "secureclaw",
            "secureclaw_bin",
            "secureclaw_bin: bin/secureclaw",
            &["secureclaw:doctor.audit"][..],
        ),
    ] {
        let d = deploy(system, "good", |dir| {
            if system == "secureclaw" {
                prepare_secureclaw(dir, true, 2);
            } else {
                prepare_rack(dir, true);
            }
            edit(&dir.join("shipcheck.yaml"), from, &format!("{var}: \"\""));
        });
        let (statuses, run) = check(&d);
        assert_bad(&statuses, &run, &[]);
        for id in items {
            assert_eq!(statuses[*id], "not_applicable", "{id}");
            let summary = crate::common::summary(&run, id);
            assert!(summary.contains(var), "{id}: {summary}");
        }
    }
}

/// A CLASP relay run as a process (not a systemd unit), just started: it writes its first
/// snapshot one `--persist-interval` after it starts, so until then the snapshot items are
/// `pending` (not yet due), and after it a missing snapshot fails.
#[test]
fn clasp_snapshot_items_allow_for_the_relay_uptime() {
    let d = deploy("clasp", "good", |dir| {
        crate::common::chmod(&dir.join("secrets/admin.token"), 0o600);
        std::fs::remove_file(dir.join("data/state.json")).expect("no snapshot yet");
    });
    let dir = d.dir.path();
    // A stand-in process named clasp-relay that takes the flags and waits.
    let bin = dir.join("clasp-relay");
    std::fs::write(&bin, "#!/bin/sh\nsleep 60\n").expect("script");
    crate::common::chmod(&bin, 0o755);
    let flags = "--host 127.0.0.1 --auth-port 7350 --cors-origin https://app.relay.example.test \
        --admin-token secrets/admin.token --persist data/state.json --persist-interval 2 \
        --app-config config/app.json --max-sessions 500 --drain-timeout 30 --health-port 7360 \
        --rendezvous-port 0";
    let child = crate::common::Running::spawn(
        std::process::Command::new(&bin)
            .args(flags.split_whitespace().filter(|w| *w != "\\"))
            .env("LOG_FORMAT", "json")
            .current_dir(dir),
    );
    edit(
        &dir.join("shipcheck.yaml"),
        "relay_source: systemd",
        &format!("relay_source: process\n  relay_pid: '{}'", child.id()),
    );
    let summary = crate::common::summary;
    let (young, run) = check(&d);
    for id in ["clasp:persist.enabled", "clasp:persist.fresh"] {
        assert_eq!(young[id], "pending", "{id}: {}", summary(&run, id));
        assert!(
            summary(&run, id).contains("not yet due"),
            "{}",
            summary(&run, id)
        );
    }
    // One interval (2 s) and the slack (5 s) later, no snapshot is a failure.
    std::thread::sleep(std::time::Duration::from_millis(7500));
    let (old, run) = check(&d);
    drop(child);
    for id in ["clasp:persist.enabled", "clasp:persist.fresh"] {
        assert_eq!(old[id], "fail", "{id}: {}", summary(&run, id));
    }
}

/// The app-config items judge the file the relay was started with (`--app-config` in its
/// unit), not a path set apart from it; a file it cannot read is `error`, never "no scopes".
#[test]
fn clasp_app_config_items_read_the_file_the_relay_runs_with() {
    let prepare = |dir: &std::path::Path| {
        crate::common::chmod(&dir.join("secrets/admin.token"), 0o600);
        std::fs::write(dir.join("data/state.json"), "{}").expect("snapshot");
    };
    // The unit starts the relay with another file, which has neither scopes nor rules.
    let d = deploy("clasp", "good", |dir| {
        prepare(dir);
        std::fs::write(dir.join("config/live.json"), r#"{"write_rules": []}"#).expect("live");
        edit(
            &dir.join("clasp-relay.service"),
            "--app-config config/app.json",
            "--app-config config/live.json",
        );
    });
    let (statuses, run) = check(&d);
    assert_bad(
        &statuses,
        &run,
        &[
            "clasp:app-config.scopes=fail",
            "clasp:app-config.visibility-rules=fail",
        ],
    );
    // A folder where the file should be: could not check.
    let d = deploy("clasp", "good", |dir| {
        prepare(dir);
        std::fs::create_dir(dir.join("config/dir.json")).expect("dir");
        edit(
            &dir.join("clasp-relay.service"),
            "--app-config config/app.json",
            "--app-config config/dir.json",
        );
    });
    let (statuses, _) = check(&d);
    assert_eq!(statuses["clasp:app-config.scopes"], "error");
    assert_eq!(statuses["clasp:app-config.visibility-rules"], "error");
}

/// SecureClaw substitutes `${VAR}` in its config from the process environment (the
/// service's env file) and then from the state folder's `.env`: a token kept in `.env` is
/// judged as the gateway sees it, and the env file wins over `.env`.
#[test]
fn secureclaw_config_variables_come_from_the_service_env_and_the_state_dotenv() {
    let strong = "5b8e2d7a1c4f9e3b6d0a8c2f5e1b7d4a9c3e6f0b2d8a5c1e7f4b9d3a6c0e2f8b";
    let with = |dotenv: &str, env_file_line: &str| {
        let (dotenv, env_file_line) = (dotenv.to_string(), env_file_line.to_string());
        deploy("secureclaw", "good", move |dir| {
            prepare_secureclaw(dir, true, 2);
            edit(
                &dir.join("state/secureclaw.json"),
                &format!("token: \"{strong}\""),
                "token: \"${GW_TOKEN}\"",
            );
            std::fs::write(dir.join("state/.env"), &dotenv).expect(".env");
            crate::common::chmod(&dir.join("state/.env"), 0o600);
            let env = dir.join("gateway.env");
            let mut text = std::fs::read_to_string(&env).expect("env file");
            text.push_str(&env_file_line);
            std::fs::write(&env, text).expect("env file");
        })
    };
    let d = with(&format!("GW_TOKEN={strong}\n"), "");
    let (statuses, run) = check(&d);
    assert_bad(&statuses, &run, &[]);
    assert_eq!(statuses["secureclaw:gateway.auth.token-strength"], "pass");
    // The service's env file sets a weak one: it wins over .env.
    let d = with(&format!("GW_TOKEN={strong}\n"), "GW_TOKEN=changeme\n");
    let (statuses, _) = check(&d);
    assert_eq!(statuses["secureclaw:gateway.auth.token-strength"], "fail");
    // Set nowhere: the gateway would not start; the item says which variable.
    let d = with("", "");
    let (statuses, run) = check(&d);
    assert_eq!(statuses["secureclaw:gateway.auth.token-strength"], "error");
    assert!(run.to_string().contains("GW_TOKEN"));
}

/// OCMT is several services, each with its own env file: an item about "management and
/// relay" reads both, and "no setting without effect" reads every service's file with
/// what that service really reads (admin-ui does read SESSION_SECRET).
#[test]
fn ocmt_items_read_every_service_env_file() {
    let d = deploy("ocmt", "good", |dir| {
        prepare_ocmt(dir, 2);
        edit(
            &dir.join("relay.env"),
            "NODE_ENV=production",
            "NODE_ENV=development",
        );
        let append = |file: &str, line: &str| {
            let path = dir.join(file);
            let mut text = std::fs::read_to_string(&path).expect("env file");
            text.push_str(line);
            std::fs::write(&path, text).expect("env file");
        };
        append("agent.env", "\nDATA_DIR=/srv/ocmt/data\n");
        append(
            "admin.env",
            "\nSESSION_SECRET=9f8e7d6c5b4a39281706f5e4d3c2b1a0\n",
        );
    });
    let (statuses, run) = check(&d);
    assert_bad(
        &statuses,
        &run,
        &[
            "ocmt:env.no-effect-variables=fail",
            "ocmt:env.node-env-production=fail",
        ],
    );
    let text = run.to_string();
    assert!(
        text.contains("agent: DATA_DIR"),
        "names the service and variable"
    );
    assert!(!text.contains("admin: SESSION_SECRET"), "admin-ui reads it");
}

/// A loopback plain-HTTP server (a front door without TLS) that answers every request 200
/// `{"status":"ok"}` with the security headers, and records the `Host` and `User-Agent`
/// it was sent. Bounded: at most 64 connections.
fn plain_http_front_door() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for conn in listener.incoming().take(64) {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
                let lower = line.to_ascii_lowercase();
                if lower.starts_with("host:") || lower.starts_with("user-agent:") {
                    record.lock().unwrap().push(lower.trim().to_string());
                }
                line.clear();
            }
            let body = r#"{"status":"ok"}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, seen)
}

/// A plain-HTTP front door is checkable: the profile sets the endpoint to `http://`, the
/// TLS items fail with "no TLS" (the finding), and the HTTP items run against it with the
/// `Host` header and User-Agent the endpoint names.
#[test]
fn a_plain_http_front_door_is_checked_and_its_missing_tls_is_the_finding() {
    let (port, seen) = plain_http_front_door();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("shipcheck.yaml"),
        format!(
            "packs: [web-service]\nvars:\n  host: app.example.test\nendpoints:\n  service:\n    url: http://127.0.0.1:{port}\n    host_header: app.example.test\n    user_agent: shipcheck-probe/1\n"
        ),
    )
    .unwrap();
    let out = crate::common::shipcheck(tmp.path(), &["check", "--format", "json", "--no-record"]);
    let run = crate::common::json(&out);
    let s = crate::common::statuses(&run);
    for id in ["tls.protocols", "tls.ciphers", "tls.certificate"] {
        assert_eq!(s[id], "fail", "{id}: {run}");
    }
    assert!(
        run.to_string()
            .contains("no TLS: the service endpoint is plain HTTP"),
        "{run}"
    );
    assert_eq!(s["http.health"], "pass", "{run}");
    assert_eq!(s["http.security-headers"], "pass", "{run}");
    assert_eq!(s["http.hsts"], "fail", "no HSTS over plain HTTP");
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.contains(&"host: app.example.test".to_string()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"user-agent: shipcheck-probe/1".to_string()),
        "{seen:?}"
    );
}

/// An endpoint that does not answer is one finding, said once, and the items that depend on
/// it are `error` with that cause, at once rather than each after its own timeout.
#[test]
fn an_unreachable_endpoint_is_one_finding() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("shipcheck.yaml"),
        format!("packs: [web-service]\nvars:\n  host: app.example.test\n  address: 127.0.0.1\n  port: \"{closed}\"\n"),
    )
    .unwrap();
    let out = crate::common::shipcheck(tmp.path(), &["check", "--format", "json", "--no-record"]);
    let run = crate::common::json(&out);
    let unreachable = run["unreachable"]
        .as_array()
        .expect("unreachable endpoints");
    assert_eq!(unreachable.len(), 1, "{run}");
    let reason = unreachable[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "service endpoint (https://app.example.test:{closed}) not reachable: connection refused"
        )),
        "{reason}"
    );
    let errors: Vec<_> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "error")
        .collect();
    // Every item of the pack that is on (the optional ones are off) reaches the endpoint.
    assert_eq!(
        errors.len(),
        unreachable[0]["items"].as_array().unwrap().len()
    );
    assert!(errors.len() >= 7, "{run}");
    assert!(errors.iter().all(|r| r["summary"] == reason), "{run}");
    // The terminal report says it once, before the items.
    let out = crate::common::shipcheck(tmp.path(), &["check", "--no-record"]);
    let text = crate::common::stdout(&out);
    let header = text.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(
        header.contains("not reachable: connection refused")
            && header.contains("items could not check"),
        "{text}"
    );
    // A typo in the profile's endpoint name is caught when the profile loads.
    std::fs::write(
        tmp.path().join("shipcheck.yaml"),
        "packs: [web-service]\nvars:\n  host: app.example.test\nendpoints:\n  servce: {url: \"http://127.0.0.1:1\"}\n",
    )
    .unwrap();
    let out = crate::common::shipcheck(tmp.path(), &["check", "--no-record"]);
    assert_eq!(out.status.code(), Some(2));
    let err = crate::common::stderr(&out);
    assert!(err.contains("did you mean `service`"), "{err}");
    assert_eq!(
        err.matches("endpoint `servce` is not declared").count(),
        1,
        "said once: {err}"
    );
}

/// Judgement errors seen on deployments written by others: each passed or was reported
/// twice before. A placeholder contacts document (the template as is) has every heading
/// and no contact; a staging DOMAIN is well-formed but not the production name; an empty
/// allowed domain is one finding, not also one per admin.
#[test]
fn placeholders_staging_names_and_causes_reported_once() {
    let d = deploy("secureclaw", "good", |dir| {
        prepare_secureclaw(dir, true, 2);
        std::fs::write(
            dir.join("EMERGENCY_CONTACTS.md"),
            "# Emergency Contacts\n\n## On-Call Rotation\n\n- **Primary:** Name - phone - email\n- **Secondary:** Name - phone - email\n\n## External Contacts\n\n- **Cloud Provider:** AWS Support - 1-800-xxx-xxxx\n- **Security Team:** security@company.com - Slack: #security\n\n## Escalation Path\n\n1. On-call engineer (0-15 min)\n",
        )
        .expect("contacts");
    });
    let (statuses, run) = check(&d);
    assert_bad(&statuses, &run, &["secureclaw:contacts.file=fail"]);

    let rack = |from: &'static str, to: &'static str| {
        deploy("rack-gateway", "good", move |dir| {
            prepare_rack(dir, true);
            edit(&dir.join("gateway.env"), from, to);
        })
    };
    let d = rack(
        "DOMAIN=gateway.example.test",
        "DOMAIN=gateway-staging.example.test",
    );
    let (statuses, run) = check(&d);
    assert_bad(&statuses, &run, &["rack-gateway:env.domain=fail"]);
    let d = rack(
        "GOOGLE_ALLOWED_DOMAIN=example.test",
        "GOOGLE_ALLOWED_DOMAIN=",
    );
    let (statuses, run) = check(&d);
    assert_bad(&statuses, &run, &["rack-gateway:oauth.allowed-domain=fail"]);
}

/// SecureClaw terminating TLS itself: the certificate and key files it will serve are
/// judged on disk (names, key, chain to the CA), whether or not its port is reachable.
#[test]
fn secureclaw_gateway_tls_files_are_judged_on_disk() {
    use crate::common::pki;
    let ca = pki::self_signed("Gateway CA", &[], -1, 365, true);
    let leaf = pki::issued(&ca, "claw", &["claw.example.test"], -1, 90, false);
    let stranger = pki::self_signed("x", &["x.example.test"], -1, 30, false);
    let run_with = |key_pem: String| {
        let (ca_pem, leaf_pem) = (ca.pem.clone(), leaf.pem.clone());
        let d = deploy("secureclaw", "good", move |dir| {
            prepare_secureclaw(dir, true, 2);
            std::fs::create_dir_all(dir.join("tls")).unwrap();
            std::fs::write(dir.join("tls/ca.pem"), &ca_pem).unwrap();
            std::fs::write(dir.join("tls/gateway-cert.pem"), &leaf_pem).unwrap();
            std::fs::write(dir.join("tls/gateway-key.pem"), &key_pem).unwrap();
            crate::common::chmod(&dir.join("tls/gateway-key.pem"), 0o600);
            edit(
                &dir.join("shipcheck.yaml"),
                "tls_mode: proxy",
                "tls_mode: gateway\n  tls_cert_path: tls/gateway-cert.pem\n  tls_key_path: tls/gateway-key.pem\n  tls_ca_path: tls/ca.pem",
            );
        });
        check(&d)
    };
    let (statuses, _) = run_with(leaf.key.serialize_pem());
    assert_eq!(statuses["secureclaw:tls.cert-file"], "pass");
    assert_eq!(statuses["secureclaw:tls.key-mode"], "pass");
    let (statuses, run) = run_with(stranger.key.serialize_pem());
    assert_eq!(statuses["secureclaw:tls.cert-file"], "fail");
    assert!(
        run.to_string()
            .contains("the private key belongs to the certificate")
    );
}

/// Rack Gateway's process gets `convox env` over the defaults of convox.yml: a PGSSLMODE
/// left out of `convox env` is still `require` from convox.yml (no false alarm), one set in
/// `convox env` wins over it, and the evidence says where the value came from.
#[test]
fn rack_gateway_settings_take_convox_yml_defaults() {
    let rack = |edits: &'static [(&'static str, &'static str, &'static str)]| {
        let d = deploy("rack-gateway", "good", move |dir| {
            prepare_rack(dir, true);
            for (file, from, to) in edits {
                edit(&dir.join(file), from, to);
            }
        });
        check(&d)
    };
    let from = |run: &serde_json::Value| {
        crate::systems::results(run)
            .find(|r| crate::systems::key(r) == "rack-gateway:database.ssl")
            .map(|r| r["evidence"]["observed"]["from"].to_string())
            .unwrap_or_default()
    };
    let (statuses, run) = rack(&[("gateway.env", "PGSSLMODE=require\n", "")]);
    assert_bad(&statuses, &run, &[]);
    assert!(from(&run).contains("convox.yml default"), "{}", from(&run));
    let (statuses, run) = rack(&[("gateway.env", "PGSSLMODE=require", "PGSSLMODE=disable")]);
    assert_bad(&statuses, &run, &["rack-gateway:database.ssl=fail"]);
    assert!(from(&run).contains("convox env"), "{}", from(&run));
    let (statuses, _) = rack(&[
        ("gateway.env", "PGSSLMODE=require\n", ""),
        ("convox.yml", "      - PGSSLMODE=require\n", ""),
    ]);
    assert_eq!(
        statuses["rack-gateway:database.ssl"], "fail",
        "no sslmode anywhere"
    );
}

/// OCMT serves its API and its relay under two public names; a deployment whose relay name
/// is served over plain HTTP sets that endpoint in its profile, and the relay's TLS item
/// reports "no TLS" while the API's still pass.
#[test]
fn ocmt_second_public_name_over_plain_http_is_the_finding() {
    let d = deploy("ocmt", "good", |dir| {
        prepare_ocmt(dir, 2);
        let profile = dir.join("shipcheck.yaml");
        let mut text = std::fs::read_to_string(&profile).unwrap();
        text.push_str("endpoints:\n  relay: {url: \"http://relay.ocmt.example.test:${env:STANDIN_PORT_PLAIN}\"}\n");
        std::fs::write(&profile, text).unwrap();
    });
    let (statuses, run) = check(&d);
    assert_eq!(statuses["ocmt:tls.relay-terminated"], "fail");
    assert!(
        crate::common::summary(&run, "ocmt:tls.relay-terminated")
            .contains("no TLS: the relay endpoint is plain HTTP"),
        "{}",
        crate::common::summary(&run, "ocmt:tls.relay-terminated")
    );
    assert_eq!(statuses["ocmt:tls.terminated"], "pass");
}

/// An environment's endpoint replaces the profile's, field by field: staging reaches its own
/// front door, and a typo there is caught as at the top level.
#[test]
fn an_environment_sets_its_own_endpoint() {
    let (port, seen) = plain_http_front_door();
    let tmp = tempfile::tempdir().unwrap();
    let profile = |name: &str| {
        format!(
            "packs: [web-service]\nvars:\n  host: app.example.test\nendpoints:\n  service: {{url: \"https://127.0.0.1:1\", host_header: staging.example.test}}\nenvironments:\n  production: {{}}\n  staging:\n    endpoints:\n      {name}: {{url: \"http://127.0.0.1:{port}\"}}\n"
        )
    };
    std::fs::write(tmp.path().join("shipcheck.yaml"), profile("service")).unwrap();
    let out = crate::common::shipcheck(
        tmp.path(),
        &[
            "check",
            "--env",
            "staging",
            "--format",
            "json",
            "--no-record",
        ],
    );
    let run = crate::common::json(&out);
    assert!(run.get("unreachable").is_none(), "{run}");
    assert_eq!(crate::common::statuses(&run)["tls.protocols"], "fail");
    assert!(
        seen.lock()
            .unwrap()
            .contains(&"host: staging.example.test".to_string()),
        "the profile's host_header is kept"
    );
    std::fs::write(tmp.path().join("shipcheck.yaml"), profile("servise")).unwrap();
    let out = crate::common::shipcheck(tmp.path(), &["check", "--env", "staging", "--no-record"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::common::stderr(&out).contains("did you mean `service`"));
}

/// A rendezvous port written out in the relay's unit is as open as the default one: the
/// exposure is judged by what the listener answers (a device list to anyone) and by the
/// TTL, not by the flag being there.
#[test]
fn clasp_rendezvous_is_judged_by_behaviour_not_by_the_flag() {
    let with = |ttl: &str, discover_status: u16| {
        let (ttl, status) = (ttl.to_string(), discover_status);
        deploy("clasp", "good", move |dir| {
            crate::common::chmod(&dir.join("secrets/admin.token"), 0o600);
            edit(
                &dir.join("clasp-relay.service"),
                "--rendezvous-port 0",
                &format!("--rendezvous-port 7340{ttl}"),
            );
            edit(
                &dir.join("shipcheck.yaml"),
                "rendezvous_url: \"\"",
                "rendezvous_url: \"http://127.0.0.1:${env:STANDIN_PORT_RENDEZVOUS}\"",
            );
            let spec = dir.join("standin.json");
            let mut v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&spec).expect("spec")).expect("json");
            v["listeners"].as_array_mut().expect("listeners").push(serde_json::json!({
                "name": "rendezvous",
                "cors_allow": ["*"],
                "routes": [{"path": "/api/v1/discover", "status": status, "json": {"devices": []}}]
            }));
            std::fs::write(&spec, v.to_string()).expect("spec");
        })
    };
    let (open, run) = check(&with("", 200));
    assert_eq!(
        open["clasp:rendezvous.explicit"],
        "fail",
        "{}",
        crate::common::summary(&run, "clasp:rendezvous.explicit")
    );
    assert_eq!(open["clasp:rendezvous.open-discovery"], "fail");
    let (closed, run) = check(&with(" --rendezvous-ttl 300", 401));
    assert_eq!(
        closed["clasp:rendezvous.explicit"],
        "pass",
        "{}",
        crate::common::summary(&run, "clasp:rendezvous.explicit")
    );
    assert_eq!(
        closed["clasp:rendezvous.open-discovery"],
        "pass",
        "{}",
        crate::common::summary(&run, "clasp:rendezvous.open-discovery")
    );
}

/// SecureClaw writes its log about 5 s after it first answers (systems.md §1e): with the
/// gateway just started, a log not there yet is `pending`; with no young gateway, it fails.
#[test]
fn secureclaw_log_items_allow_for_a_gateway_just_started() {
    let d = deploy("secureclaw", "good", |dir| {
        prepare_secureclaw(dir, true, 2);
        std::fs::remove_file(dir.join("gateway.log")).expect("log");
    });
    let items = [
        "secureclaw:live.logs-clean",
        "secureclaw:network.no-insecure-auth-warnings",
    ];
    let (before, run) = check(&d);
    for id in items {
        assert_eq!(
            before[id],
            "fail",
            "{id}: {}",
            crate::common::summary(&run, id)
        );
    }
    // A process whose command line is `... secureclaw gateway`, started now.
    let bin = d.dir.path().join("secureclaw-node");
    std::fs::write(&bin, "#!/bin/sh\nsleep 60\n").expect("script");
    crate::common::chmod(&bin, 0o755);
    let child = crate::common::Running::spawn(std::process::Command::new(&bin).arg("gateway"));
    let (young, run) = check(&d);
    drop(child);
    for id in items {
        assert_eq!(
            young[id],
            "pending",
            "{id}: {}",
            crate::common::summary(&run, id)
        );
        assert!(
            crate::common::summary(&run, id).contains("5 s"),
            "{}",
            crate::common::summary(&run, id)
        );
    }
}

/// The restore script is an artefact: it is checked for being there and executable, never
/// run (running it would change the deployment).
#[test]
fn secureclaw_restore_script_is_checked_as_an_artefact() {
    let with = |mode: Option<u32>| {
        deploy("secureclaw", "good", move |dir| {
            prepare_secureclaw(dir, true, 2);
            edit(
                &dir.join("shipcheck.yaml"),
                "log_file: gateway.log",
                "log_file: gateway.log\n  restore_script: scripts/restore.sh",
            );
            if let Some(mode) = mode {
                // A script that would leave a mark if it ran.
                std::fs::write(
                    dir.join("scripts/restore.sh"),
                    "#!/bin/sh\ntouch RESTORED\n",
                )
                .expect("script");
                crate::common::chmod(&dir.join("scripts/restore.sh"), mode);
            }
        })
    };
    let id = "secureclaw:backups.restore-script";
    for (mode, want) in [(Some(0o755), "pass"), (Some(0o644), "fail"), (None, "fail")] {
        let d = with(mode);
        let (s, run) = check(&d);
        assert_eq!(
            s[id],
            want,
            "{mode:?}: {}",
            crate::common::summary(&run, id)
        );
        assert!(
            !d.dir.path().join("RESTORED").exists(),
            "the script was run"
        );
    }
}

/// OCMT under pm2 (its production notes): the process manager passes variables the .env
/// files do not hold, and dotenv never overrides them. With the running services named,
/// their real environment wins over the files, both ways: a file that says development
/// does not matter when the process runs with production, and a file that says production
/// does not hide a process that runs without it. A service with no .env at all is judged by
/// its environment alone.
#[test]
fn ocmt_services_under_pm2_are_judged_by_the_environment_they_run_with() {
    let spawn = |mark: &str, node_env: &str| {
        crate::common::Running::spawn(
            std::process::Command::new("sleep")
                .arg(mark)
                .env("NODE_ENV", node_env),
        )
    };
    let profile = |dir: &std::path::Path| {
        edit(
            &dir.join("shipcheck.yaml"),
            "admin_env_file: admin.env",
            "admin_env_file: admin.env\n  mgmt_process: '^sleep 61\\.4142$'\n  relay_process: '^sleep 61\\.7320$'",
        );
    };
    // The files say development (the mgmt one has no NODE_ENV at all); pm2 passes production.
    let d = deploy("ocmt", "good", |dir| {
        prepare_ocmt(dir, 2);
        edit(
            &dir.join("relay.env"),
            "NODE_ENV=production",
            "NODE_ENV=development",
        );
        edit(&dir.join("mgmt.env"), "NODE_ENV=production\n", "");
        profile(dir);
    });
    let mut procs = vec![
        spawn("61.4142", "production"),
        spawn("61.7320", "production"),
    ];
    let (good, run) = check(&d);
    let id = "ocmt:env.node-env-production";
    assert_eq!(good[id], "pass", "{}", crate::common::summary(&run, id));
    // The files say production; the relay process runs with development.
    procs[1] = spawn("61.7320", "development");
    let d = deploy("ocmt", "good", |dir| {
        prepare_ocmt(dir, 2);
        profile(dir);
    });
    let (bad, run) = check(&d);
    assert_eq!(bad[id], "fail", "{}", crate::common::summary(&run, id));
    assert!(
        crate::common::summary(&run, id).contains("development"),
        "{}",
        crate::common::summary(&run, id)
    );
    // A named process that is not running: could not check, never the file's word.
    procs.clear();
    let (gone, run) = check(&d);
    assert_eq!(gone[id], "error", "{}", crate::common::summary(&run, id));
}

/// The gateway writes one log a day (`secureclaw-YYYY-MM-DD.log`): a wildcard in
/// `log_file` judges the newest one, not yesterday's.
#[test]
fn secureclaw_dated_logs_are_judged_by_the_newest() {
    let with = |newest_has_error: bool| {
        deploy("secureclaw", "good", move |dir| {
            prepare_secureclaw(dir, true, 2);
            std::fs::create_dir(dir.join("logs")).expect("logs");
            let (old, new) = (
                dir.join("logs/secureclaw-2026-11-29.log"),
                dir.join("logs/secureclaw-2026-11-30.log"),
            );
            let (old_text, new_text) = if newest_has_error {
                ("ok\n", "2026-11-30 ERROR channel lost\n")
            } else {
                ("2026-11-29 ERROR channel lost\n", "ok\n")
            };
            std::fs::write(&old, old_text).expect("old");
            std::fs::write(&new, new_text).expect("new");
            crate::common::age(&old, 24);
            for f in [&old, &new] {
                crate::common::chmod(f, 0o640);
            }
            edit(
                &dir.join("shipcheck.yaml"),
                "log_file: gateway.log",
                "log_file: logs/secureclaw-*.log",
            );
        })
    };
    let id = "secureclaw:live.logs-clean";
    let (s, run) = check(&with(false));
    assert_eq!(s[id], "pass", "{}", crate::common::summary(&run, id));
    let (s, run) = check(&with(true));
    assert_eq!(s[id], "fail", "{}", crate::common::summary(&run, id));
    assert!(
        run.to_string().contains("secureclaw-2026-11-30.log"),
        "names the file judged"
    );
}
