//! Certificates judged on disk (the `cert` probe) and served (`probe tls`) where the
//! chain is made by the real openssl: names, key match, CA, SHA-1 signatures.

use crate::common::pki;
use crate::common::*;
use crate::tls::{ids, probe_at};

/// Certificate files on disk, what the next restart serves, judged without connecting:
/// parses, names, days left, the key belongs to it, the chain verifies to the CA. A file
/// that is not there is could-not-check; a file without a certificate is a finding.
#[test]
fn certificate_files_on_disk_are_judged_without_connecting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ca = pki::self_signed("Test CA", &[], -1, 365, true);
    let other_ca = pki::self_signed("Other CA", &[], -1, 365, true);
    let leaf = pki::issued(&ca, "app", &["app.example.test"], -1, 90, false);
    let expiring = pki::issued(&ca, "app", &["app.example.test"], -80, 5, false);
    let stranger = pki::self_signed("x", &["x.example.test"], -1, 30, false);
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("ca.pem", &ca.pem);
    write("other-ca.pem", &other_ca.pem);
    write("app.pem", &leaf.pem);
    write("app.key", &leaf.key.serialize_pem());
    write("expiring.pem", &expiring.pem);
    write("stranger.key", &stranger.key.serialize_pem());
    write(
        "garbage.pem",
        "-----BEGIN NOTHING-----\nAAAA\n-----END NOTHING-----\n",
    );
    let item = |extra: &str| {
        format!(
            "check:\n  cert: {{path: app.pem, ca_file: ca.pem, names: [app.example.test]{extra}}}"
        )
    };
    let items = [
        ("good", item(", key: app.key")),
        (
            "wrong-name",
            "check:\n  cert: {path: app.pem, ca_file: ca.pem, names: [other.example.test]}"
                .to_string(),
        ),
        (
            "expiring",
            "check:\n  cert: {path: expiring.pem, ca_file: ca.pem, min_days_left: 14}".to_string(),
        ),
        ("wrong-key", item(", key: stranger.key")),
        (
            "untrusted",
            "check:\n  cert: {path: app.pem, ca_file: other-ca.pem}".to_string(),
        ),
        ("garbage", "check:\n  cert: {path: garbage.pem}".to_string()),
        ("missing", "check:\n  cert: {path: nope.pem}".to_string()),
    ];
    let items: Vec<(&str, &str)> = items.iter().map(|(i, c)| (*i, c.as_str())).collect();
    crate::common::write_pack(dir, &items, "");
    let out = crate::common::shipcheck(dir, &["check", "--format", "json", "--no-record"]);
    let run = crate::common::json(&out);
    let s = crate::common::statuses(&run);
    let summary = |id: &str| crate::common::summary(&run, id);
    assert_eq!(s["good"], "pass", "{}", summary("good"));
    for (id, why) in [
        ("wrong-name", "covers other.example.test"),
        ("expiring", "14+ days left"),
        ("wrong-key", "the private key belongs to the certificate"),
        ("untrusted", "chains to a trusted CA"),
        ("garbage", "a PEM certificate"),
    ] {
        assert_eq!(s[id], "fail", "{id}: {}", summary(id));
        assert!(summary(id).contains(why), "{id}: {}", summary(id));
    }
    assert_eq!(s["missing"], "error", "{}", summary("missing"));
}

/// A certificate file judged without its chain (`trusted: false`) needs no trust anchors:
/// on a host without a CA bundle it is still judged (names, days left), while a check that
/// asks for the chain says it could not check, and why.
#[test]
fn a_certificate_judged_without_its_chain_needs_no_system_anchors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let leaf = pki::self_signed("app", &["app.example.test"], -1, 90, false);
    std::fs::write(dir.join("app.pem"), &leaf.pem).unwrap();
    let items = [
        (
            "names-only",
            "check:\n  cert: {path: app.pem, names: [app.example.test], trusted: false}",
        ),
        ("chained", "check:\n  cert: {path: app.pem}"),
    ];
    crate::common::write_pack(dir, &items, "");
    let out = assert_cmd::Command::cargo_bin("shipcheck")
        .unwrap()
        .current_dir(dir)
        .env("SHIPCHECK_DB", test_ledger())
        .env("SSL_CERT_FILE", dir.join("no-such-bundle.pem"))
        .env("SSL_CERT_DIR", dir.join("no-such-dir"))
        .args(["check", "--format", "json", "--no-record"])
        .output()
        .unwrap();
    let run = crate::common::json(&out);
    let s = crate::common::statuses(&run);
    let summary = |id: &str| crate::common::summary(&run, id);
    assert_eq!(s["names-only"], "pass", "{}", summary("names-only"));
    assert_eq!(s["chained"], "error", "{}", summary("chained"));
    assert!(
        summary("chained").contains("no system trust anchors"),
        "{}",
        summary("chained")
    );
}

/// A SHA-1-signed leaf under a trusted CA is trusted (as `openssl verify` says) and its
/// digest is its own finding; webpki, which cannot check SHA-1 at all, does not decide.
/// The chain is made by the real openssl, since rcgen cannot sign with SHA-1.
#[test]
fn a_sha1_signed_leaf_is_weak_but_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=SHA-1 test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-sha1",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "20",
        "-extfile",
        "leaf.ext",
    ]);
    openssl(&["verify", "-CAfile", "ca.pem", "leaf.pem"]);
    let other = pki::self_signed("Other CA", &[], -1, 30, true);
    std::fs::write(dir.join("other.pem"), &other.pem).unwrap();

    // On disk (the cert probe).
    crate::common::write_pack(
        dir,
        &[
            (
                "trusted",
                "check:\n  cert: {path: leaf.pem, key: leaf.key, ca_file: ca.pem, names: [localhost], min_days_left: 1}",
            ),
            (
                "other-ca",
                "check:\n  cert: {path: leaf.pem, ca_file: other.pem, min_days_left: 1}",
            ),
        ],
        "",
    );
    let out = shipcheck(dir, &["check", "--format", "json", "--no-record"]);
    let run = json(&out);
    let s = statuses(&run);
    assert_eq!(
        s["trusted"],
        "pass",
        "{}",
        crate::common::summary(&run, "trusted")
    );
    assert_eq!(s["other-ca"], "fail");
    assert!(crate::common::summary(&run, "other-ca").contains("unknown issuer"));

    // Served (shipcheck probe tls): weak digest, not untrusted.
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(dir.join("leaf.pem")).unwrap();
    let chain = vec![rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap()];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
    let server = pki::serve(chain, key);
    let ca = dir.join("ca.pem").display().to_string();
    let (_, report) = probe_at(server.port, &ca, &[]);
    let found = ids(&report);
    assert!(
        found.contains(&"tls.cert.sha1_signature".to_string()),
        "{found:?}"
    );
    assert!(
        !found.contains(&"tls.cert.untrusted".to_string()),
        "{report:#}"
    );
}
