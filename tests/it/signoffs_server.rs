//! Signed sign-offs through a `shipcheck serve` (issue #19): the server's gate applies the
//! allowed signers its run recorded; the API and `signoff --server` sign the server's run.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use crate::signoffs::{ED25519, keygen, public};

#[test]
fn a_server_gate_counts_only_signoffs_signed_for_the_run_it_recorded() {
    use crate::serve::{Server, push};
    let server = Server::start(&[]);
    let ci = server.token("ci", "pusher");
    let viewer = server.token("dash", "viewer");
    let alice = server.token("alice", "signer:security");
    let hosts = tempfile::tempdir().unwrap();
    let dir = hosts.path().join("pay");
    deployment(
        &dir,
        "deployment: payments\ngate: {require_signoff: [security], allowed_signers: signers}\n",
    );
    let (alice_key, mallory_key) = (
        keygen(hosts.path(), "alice", ED25519),
        keygen(hosts.path(), "mallory", ED25519),
    );
    std::fs::write(
        dir.join("signers"),
        format!("security:alice {}\n", public(&alice_key)),
    )
    .unwrap();
    assert_eq!(push(&server, &dir, &ci).status.code(), Some(1));
    let missing = || {
        server.json(
            "/api/v1/deployments/payments/gate?environment=prod",
            &viewer,
        )["missing_signoffs"]
            .clone()
    };
    assert_eq!(missing(), serde_json::json!(["security"]));
    let post = |body: serde_json::Value| {
        let (status, _, text) = server.post_json(
            "/api/v1/deployments/payments/signoffs",
            &alice,
            body.to_string().as_bytes(),
        );
        (status, text)
    };
    let before = server.records();
    let (status, body) = post(serde_json::json!({"environment": "prod", "role": "security"}));
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("requires signed sign-offs"), "{body}");
    // The message of the run as the server stored it, signed by ssh-keygen.
    let mut ledger = shipcheck_ledger::Ledger::open_existing(shipcheck_ledger::Location::Sqlite(
        server.db.clone().into(),
    ))
    .unwrap();
    let (seq, _) = ledger
        .latest_runs_in("payments", "prod", 1)
        .unwrap()
        .pop()
        .unwrap();
    let digest = shipcheck_sign::message::run_digest(&ledger.run_record(seq).unwrap().body);
    drop(ledger);
    let msg =
        shipcheck_sign::message::signoff(&digest, shipcheck_core::pack::Role::Security, "alice");
    let sign = |key: &Path| {
        let file = hosts.path().join("msg");
        std::fs::write(&file, &msg).unwrap();
        let _ = std::fs::remove_file(hosts.path().join("msg.sig"));
        let status = Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", "shipcheck", "-f"])
            .arg(key)
            .arg(&file)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read_to_string(hosts.path().join("msg.sig")).unwrap()
    };
    let (status, body) = post(
        serde_json::json!({"environment": "prod", "role": "security", "signature": sign(&mallory_key)}),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("is not in the run's allowed_signers"),
        "{body}"
    );
    assert_eq!(server.records(), before, "nothing refused was written");
    // The command line asks the server for the message, signs it and sends the signature.
    let url = server.url();
    let cli = |extra: &[&str]| {
        let mut args = vec!["signoff", "--role", "security", "--server", &url];
        args.extend_from_slice(extra);
        shipcheck_db(&dir, "unused.db", &[("SHIPCHECK_TOKEN", &alice)], &args)
    };
    let printed = cli(&["--print-message"]);
    assert_eq!(stdout(&printed), msg, "{}", stderr(&printed));
    let key = alice_key.display().to_string();
    let out = cli(&["--sign-with", &key]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(missing(), serde_json::json!([]));
    // A signature made with ssh-keygen, sent with --signature, counts too.
    let sig = hosts.path().join("alice.sig");
    std::fs::write(&sig, sign(&alice_key)).unwrap();
    let out = cli(&["--signature", sig.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let signoffs = server.json(
        "/api/v1/deployments/payments/signoffs?environment=prod",
        &viewer,
    );
    assert_eq!(signoffs.as_array().unwrap().len(), 2, "{signoffs}");
}
