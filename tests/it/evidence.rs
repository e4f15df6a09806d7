//! Evidence files through `shipcheck serve`: sent with the attestation (from the command
//! line, or the dashboard's form), stored in the ledger by content, and read back by
//! digest. Bad evidence gets a clear 4xx and writes nothing.

use base64::Engine;

use crate::common::*;
use crate::serve::{Server, host, push};

const DRILL_LOG: &str = "restore drill 2026-12-01: backup of 02:00 restored in 4 min ✓\n";

fn attestation(evidence_file: serde_json::Value) -> Vec<u8> {
    serde_json::json!({
        "environment": "prod", "item": "drill", "role": "operations",
        "evidence_file": evidence_file,
    })
    .to_string()
    .into_bytes()
}

fn encoded(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn an_evidence_file_goes_with_the_attestation_and_reads_back_by_digest() {
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let ops = server.token("olga", "attester:operations");
    let viewer = server.token("dash", "viewer");
    let hosts = tempfile::tempdir().unwrap();
    let dir = hosts.path().join("payments");
    host(&dir, "payments", "pay");
    assert_eq!(push(&server, &dir, &ci).status.code(), Some(1));
    let path = "/api/v1/deployments/payments/attestations";
    let before = server.records();

    // Bad evidence is refused, and nothing is written: not base64, a path for a name, an
    // empty file, a link and a file at once, a file for an unknown item.
    let refused = [
        attestation(serde_json::json!({"name": "log.txt", "content_base64": "not base64!"})),
        attestation(
            serde_json::json!({"name": "../../etc/passwd", "content_base64": encoded(DRILL_LOG)}),
        ),
        attestation(serde_json::json!({"name": "log.txt", "content_base64": ""})),
        serde_json::json!({
            "environment": "prod", "item": "drill", "role": "operations",
            "evidence_url": "https://wiki.example/drill",
            "evidence_file": {"name": "log.txt", "content_base64": encoded(DRILL_LOG)},
        })
        .to_string()
        .into_bytes(),
        serde_json::json!({
            "environment": "prod", "item": "dril", "role": "operations",
            "evidence_file": {"name": "log.txt", "content_base64": encoded(DRILL_LOG)},
        })
        .to_string()
        .into_bytes(),
    ];
    for body in &refused {
        let (status, _, text) = server.post_json(path, &ops, body);
        assert_eq!(status, 422, "{text}");
        assert!(
            text.contains("evidence") || text.contains("did you mean"),
            "{text}"
        );
    }
    assert_eq!(
        server.records(),
        before,
        "a refused attestation writes nothing"
    );
    let digest_of_log = {
        // The digest the server would give the log: no blob of it may exist yet.
        let o = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(DRILL_LOG.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let evidence_path = format!("/api/v1/evidence/{digest_of_log}");
    assert_eq!(
        server.get(&evidence_path, &viewer).0,
        404,
        "a refused attestation stored no file"
    );

    // From the command line: the file is sent with the attestation.
    std::fs::write(dir.join("drill.log"), DRILL_LOG).unwrap();
    let local = dir.join("local.db").display().to_string();
    let url = server.url();
    let attest_with_file = |file: &str| {
        let args = [
            "attest",
            "drill",
            "--role",
            "operations",
            "--evidence",
            file,
        ];
        let server_arg = ["--server", url.as_str()];
        let all: Vec<&str> = args.iter().chain(&server_arg).copied().collect();
        shipcheck_db(&dir, &local, &[("SHIPCHECK_TOKEN", &ops)], &all)
    };
    let o = attest_with_file("drill.log");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        !dir.join("local.db").exists(),
        "nothing went to a local ledger"
    );
    let listed = server.json(
        "/api/v1/deployments/payments/attestations?environment=prod",
        &viewer,
    );
    let evidence = &listed[0]["evidence"];
    assert_eq!(evidence["type"], "file", "{listed}");
    assert_eq!(evidence["name"], "drill.log");
    assert_eq!(evidence["size"], DRILL_LOG.len());
    assert_eq!(evidence["sha256"], digest_of_log.as_str());
    // Read back by digest, as an attachment, by any reader; not without a token.
    let (status, head, body) = server.get(&evidence_path, &viewer);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, DRILL_LOG);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-disposition: attachment"), "{head}");
    assert!(
        head.contains("content-type: application/octet-stream"),
        "{head}"
    );
    assert_eq!(server.request("GET", &evidence_path, &[], b"").0, 401);
    assert_eq!(server.get("/api/v1/evidence/not-a-digest", &viewer).0, 400);
    assert_eq!(
        server
            .get(&format!("/api/v1/evidence/{}", "0".repeat(64)), &viewer)
            .0,
        404
    );
    // The ledger checks the stored file against its digest.
    let o = shipcheck_db(server.dir.path(), &server.db, &[], &["ledger", "verify"]);
    assert!(o.status.success(), "{}", stdout(&o));

    // A file larger than the server takes is refused by the command line before sending,
    // with the limit; and the server refuses an oversized body on its own.
    let big = std::fs::File::create(dir.join("big.bin")).unwrap();
    big.set_len(7 * 1024 * 1024).unwrap();
    let o = attest_with_file("big.bin");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("big.bin") && stderr(&o).contains("MiB"),
        "{}",
        stderr(&o)
    );
    let huge = attestation(
        serde_json::json!({"name": "big.bin", "content_base64": "A".repeat(9 * 1024 * 1024)}),
    );
    assert_eq!(server.post_json(path, &ops, &huge).0, 413);
}
