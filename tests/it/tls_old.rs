//! `shipcheck probe tls` against what no real server here can show (Debian's OpenSSL 3
//! has no SSL 2.0/3.0, no heartbeats, no compression, and always does RFC 5746): a
//! byte-level server (testkit's `oldtls`) that answers the first flight as an old server
//! would. Real nginx shows none of these findings: the zoo's finding sets are exact.

use crate::common::oldtls::{self, Behaviour};
use crate::common::*;

/// `shipcheck probe tls` of a byte-level server: (exit code, report).
fn probe(port: u16) -> (Option<i32>, serde_json::Value) {
    let out = shipcheck(
        std::path::Path::new("."),
        &[
            "probe",
            "tls",
            &format!("127.0.0.1:{port}"),
            "--format",
            "json",
            "--timeout",
            "2s",
        ],
    );
    (out.status.code(), json(&out)[0].clone())
}

fn ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn ssl2_ssl3_and_heartbleed_are_found() {
    let server = oldtls::serve(Behaviour {
        sslv2: true,
        ssl3: true,
        heartbeat: true,
        leak: true,
        ..Behaviour::default()
    });
    let (code, report) = probe(server.port);
    let found = ids(&report);
    for id in [
        "tls.protocol.ssl2_accepted",
        "tls.protocol.ssl3_accepted",
        "tls.heartbleed.vulnerable",
    ] {
        assert!(found.contains(&id.to_string()), "{id}: {report:#}");
    }
    assert_eq!(report["observed"]["protocols"]["ssl2"], true);
    assert_eq!(report["observed"]["heartbleed"], true);
    assert_eq!(code, Some(1));
    // The leaked bytes are never in the report.
    assert!(!report.to_string().contains("MMMM"), "{report:#}");
}

/// Heartbeats agreed but the lying request dropped (a patched OpenSSL 1.0.1g), and an
/// old server that speaks neither SSL 2.0 nor 3.0: none of the three findings.
#[test]
fn a_patched_heartbeat_and_no_ssl_are_not_findings() {
    let server = oldtls::serve(Behaviour {
        heartbeat: true,
        ..Behaviour::default()
    });
    let (_, report) = probe(server.port);
    let found = ids(&report);
    assert_eq!(report["observed"]["heartbleed"], false, "{report:#}");
    assert_eq!(report["observed"]["protocols"]["ssl2"], false, "{report:#}");
    assert_eq!(report["observed"]["protocols"]["ssl3"], false, "{report:#}");
    for id in [
        "tls.protocol.ssl2_accepted",
        "tls.protocol.ssl3_accepted",
        "tls.heartbleed.vulnerable",
    ] {
        assert!(!found.contains(&id.to_string()), "{id}: {report:#}");
    }
}

/// DEFLATE taken when offered, and no renegotiation_info (nor TLS_FALLBACK_SCSV honoured):
/// compression, insecure renegotiation and missing fallback protection are all found.
#[test]
fn compression_and_insecure_renegotiation_are_found() {
    let server = oldtls::serve(Behaviour {
        compression: true,
        insecure_renegotiation: true,
        ..Behaviour::default()
    });
    let (code, report) = probe(server.port);
    let found = ids(&report);
    for id in [
        "tls.compression.enabled",
        "tls.renegotiation.insecure",
        "tls.fallback_scsv.missing",
    ] {
        assert!(found.contains(&id.to_string()), "{id}: {report:#}");
    }
    assert_eq!(code, Some(1));
    let plain = oldtls::serve(Behaviour::default());
    let (_, report) = probe(plain.port);
    let found = ids(&report);
    assert!(!found.contains(&"tls.compression.enabled".to_string()));
    assert!(!found.contains(&"tls.renegotiation.insecure".to_string()));
}

/// `openssl s_server` (real OpenSSL 3) for what nginx never allows: client-initiated
/// renegotiation, on with `-client_renegotiation` and off by default. Killed when dropped.
struct SServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl SServer {
    fn start(extra: &[&str]) -> SServer {
        let dir = tempfile::tempdir().unwrap();
        let leaf = crate::common::pki::self_signed("reneg", &["localhost"], -1, 30, false);
        std::fs::write(dir.path().join("leaf.pem"), &leaf.pem).unwrap();
        std::fs::write(dir.path().join("leaf.key"), leaf.key.serialize_pem()).unwrap();
        let port = crate::common::pki::free_port();
        let child = std::process::Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .args(["-cert", "leaf.pem", "-key", "leaf.key", "-www", "-quiet"])
            .args(extra)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server runs");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        SServer {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn client_initiated_renegotiation_is_found_where_openssl_allows_it() {
    let allowing = SServer::start(&["-client_renegotiation"]);
    let (_, report) = probe(allowing.port);
    assert_eq!(
        report["observed"]["client_renegotiation"], true,
        "{report:#}"
    );
    assert!(
        ids(&report).contains(&"tls.renegotiation.client_initiated".to_string()),
        "{report:#}"
    );
    let default = SServer::start(&[]);
    let (_, report) = probe(default.port);
    assert_eq!(
        report["observed"]["client_renegotiation"], false,
        "{report:#}"
    );
    assert!(!ids(&report).contains(&"tls.renegotiation.client_initiated".to_string()));
}

/// ROBOT: a byte-level server with a real RSA key that answers a ClientKeyExchange with
/// one alert when its padding is right and another when it is wrong (an oracle), and the
/// same server answering all with one alert. Real nginx (the zoo's RSA key exchange vhost)
/// is not an oracle: its finding set is exact.
#[test]
fn a_bleichenbacher_oracle_is_found_and_a_sound_server_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let oracle = oldtls::serve(Behaviour {
        rsa: Some(std::sync::Arc::new(oldtls::Rsa::generate(dir.path(), true))),
        ..Behaviour::default()
    });
    let (code, report) = probe(oracle.port);
    assert_eq!(report["observed"]["robot"], true, "{report:#}");
    assert!(
        ids(&report).contains(&"tls.robot.vulnerable".to_string()),
        "{report:#}"
    );
    assert_eq!(code, Some(1));
    let sound = oldtls::serve(Behaviour {
        rsa: Some(std::sync::Arc::new(oldtls::Rsa::generate(
            dir.path(),
            false,
        ))),
        ..Behaviour::default()
    });
    let (_, report) = probe(sound.port);
    assert_eq!(report["observed"]["robot"], false, "{report:#}");
    assert!(!ids(&report).contains(&"tls.robot.vulnerable".to_string()));
}

/// A server whose first flight never ends (a handshake message claiming 16 MiB, streamed):
/// every check that reads the flight stops at 64 KiB and says so, and the audit ends with a
/// report, never a hang or an unbounded read.
#[test]
fn an_endless_first_flight_is_cut_at_64_kib() {
    let server = oldtls::serve(Behaviour {
        endless_flight: true,
        ..Behaviour::default()
    });
    let (code, report) = probe(server.port);
    let errors = report["observed"]["errors"].to_string();
    assert!(errors.contains("64 KiB"), "{report:#}");
    // The TLS 1.2 curve enumeration reads flights too: cut short, it says so, never
    // reporting a partial list as the server's groups.
    assert!(errors.contains("groups at TLS 1.2"), "{report:#}");
    assert!(report["observed"]["groups"].is_null(), "{report:#}");
    assert!(matches!(code, Some(1) | Some(4)), "{code:?}");
}

/// A pack item's minimum protocol counts SSL 3.0 as too old: a server refusing TLS 1.0 and
/// 1.1 but still taking SSL 3.0 fails "nothing older than tls1.2" with the version named.
#[test]
fn a_pack_minimum_protocol_fails_on_ssl3() {
    let server = oldtls::serve(Behaviour {
        ssl3: true,
        refuse_tls10_11: true,
        ..Behaviour::default()
    });
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_pack(
        dir.path(),
        &[(
            "tls-min",
            &format!(
                "check:\n  tls: {{host: 127.0.0.1, port: {}, min_protocol: tls1.2, timeout: 2s}}",
                server.port
            ),
        )],
        "",
    );
    let out = shipcheck(dir.path(), &["check", "--format", "json", "--no-record"]);
    let run = json(&out);
    assert_eq!(statuses(&run)["tls-min"], "fail", "{run:#}");
    let summary = crate::common::summary(&run, "tls-min");
    assert!(summary.contains("ssl3"), "{summary}");
    assert!(!summary.contains("tls1.0"), "{summary}");
}

/// An oracle whose answers flip from one connection to the next (as a flaky network or a
/// load balancer over mixed backends can look): the padding variants get different answers,
/// but a second round does not repeat them. That is no verdict: ROBOT could not be checked,
/// and the report says so instead of a false alarm.
#[test]
fn inconsistent_robot_answers_are_could_not_check_not_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = oldtls::serve(Behaviour {
        rsa: Some(std::sync::Arc::new(oldtls::Rsa::generate(
            dir.path(),
            false,
        ))),
        flaky_alerts: true,
        ..Behaviour::default()
    });
    let (_, report) = probe(flaky.port);
    assert!(
        !ids(&report).contains(&"tls.robot.vulnerable".to_string()),
        "{report:#}"
    );
    assert!(report["observed"]["robot"].is_null(), "{report:#}");
    let errors = report["observed"]["errors"].to_string();
    assert!(errors.contains("ROBOT"), "{report:#}");
}
