//! Personal signatures (issue #19): sign-offs and attestations signed with the signer's own
//! SSH key, checked against an OpenSSH allowed_signers file; real `ssh-keygen` keys and
//! `ssh-keygen -Y sign/verify` both ways, ssh-agent, and a gate that counts only
//! sign-offs whose signature holds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;
use crate::ledger::*;

/// A key pair made by OpenSSH's ssh-keygen: the private key file (the public one is
/// `{path}.pub`).
pub(crate) fn keygen(dir: &Path, name: &str, kind: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-C", name])
        .args(kind)
        .arg("-f")
        .arg(&path)
        .status()
        .expect("ssh-keygen (openssh-client) runs");
    assert!(status.success());
    path
}

pub(crate) fn public(key: &Path) -> String {
    std::fs::read_to_string(format!("{}.pub", key.display()))
        .unwrap()
        .trim()
        .to_string()
}

pub(crate) const ED25519: &[&str] = &["-t", "ed25519"];
const ECDSA: &[&str] = &["-t", "ecdsa", "-b", "256"];
const ECDSA384: &[&str] = &["-t", "ecdsa", "-b", "384"];
const RSA: &[&str] = &["-t", "rsa", "-b", "2048"];

/// The fixture app with a profile requiring `roles`' sign-offs (and naming `signers`, when
/// given, as its allowed_signers), checked once in `good`.
fn app_requiring(roles: &str, signers: Option<&str>) -> App {
    let app = App::new();
    require(&app, roles, signers);
    // The fixture's manual item, attested, so only sign-offs decide the gate.
    let out = attest_drill(&app, &[], "olga", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = check(&app, "good");
    assert!(stderr(&out).contains("recorded run"), "{}", stderr(&out));
    app
}

fn require(app: &App, roles: &str, signers: Option<&str>) {
    let profile = app.tmp.path().join("app/shipcheck.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    let base = text.split("gate:\n").next().unwrap().to_string();
    let signers = signers
        .map(|s| format!("  allowed_signers: {s}\n"))
        .unwrap_or_default();
    std::fs::write(
        &profile,
        format!("{base}gate:\n  require_signoff: [{roles}]\n{signers}"),
    )
    .unwrap();
}

fn signoff(app: &App, envs: &[(&str, &str)], role: &str, by: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "signoff",
        "--role",
        role,
        "--by",
        by,
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "good",
    ];
    args.extend_from_slice(extra);
    shipcheck_db(app.tmp.path(), &app.db, envs, &args)
}

fn gate(app: &App) -> (Option<i32>, serde_json::Value, String) {
    let out = app.run(&[
        "gate",
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "good",
        "--format",
        "json",
    ]);
    let text = stdout(&out);
    let code = out.status.code();
    (
        code,
        serde_json::from_str(&text).unwrap_or_default(),
        format!("{text}{}", stderr(&out)),
    )
}

fn records(db: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap()
}

/// `ssh-keygen -Y verify` of `sig` over `msg` for `principal` in `allowed`.
fn openssh_verifies(dir: &Path, allowed: &Path, principal: &str, msg: &str, sig: &str) -> bool {
    let (m, s) = (dir.join("verify.msg"), dir.join("verify.sig"));
    std::fs::write(&m, msg).unwrap();
    std::fs::write(&s, sig).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "shipcheck", "-I", principal, "-f"])
        .arg(allowed)
        .arg("-s")
        .arg(&s)
        .stdin(std::fs::File::open(&m).unwrap())
        .output()
        .unwrap();
    out.status.success()
}

#[test]
fn the_gate_counts_only_signoffs_signed_by_a_key_allowed_for_the_role() {
    let app = app_requiring("security", None);
    let dir = app.tmp.path();
    let alice = keygen(dir, "alice", ED25519);
    let bob = keygen(dir, "bob", ECDSA);
    let carol = keygen(dir, "carol", ED25519);
    let mallory = keygen(dir, "mallory", ED25519);
    let allowed = dir.join("app/allowed_signers");
    std::fs::write(
        &allowed,
        format!(
            "# who may sign for which role\nsecurity:alice@example.com {}\noperations:bob@example.com {}\nsecurity:carol@example.com valid-before=\"20200101Z\" {}\n",
            public(&alice),
            public(&bob),
            public(&carol)
        ),
    )
    .unwrap();
    // Before the profile names signers: an unsigned sign-off, and one signed by a key the
    // file will not allow, are recorded (the latter's signature is checked for its key).
    let out = signoff(&app, &[], "security", "eve", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let key = mallory.display().to_string();
    let out = signoff(&app, &[], "security", "mallory", &["--sign-with", &key]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("who may sign was not checked"),
        "{}",
        stdout(&out)
    );
    let (code, _, _) = gate(&app);
    assert_eq!(code, Some(0), "without signers, any sign-off counts");

    // Now it does: neither counts.
    require(&app, "security", Some("allowed_signers"));
    let (code, g, text) = gate(&app);
    assert_eq!(code, Some(1), "{text}");
    let reasons = g["verdict"]["reasons"].to_string();
    assert!(
        reasons.contains("missing sign-off: security on run #1")
            && reasons.contains("the sign-off by eve does not count: it is not signed")
            && reasons.contains("the sign-off by mallory does not count: key SHA256:")
            && reasons.contains("is not in "),
        "{reasons}"
    );
    assert_eq!(g["rejected_signoffs"].as_array().unwrap().len(), 2, "{g:#}");

    // Refused, and nothing recorded: unsigned, an unknown key, a key of another role, an
    // expired signer, a key file that is not a key.
    let before = records(&app.db);
    let bob_key = bob.display().to_string();
    let carol_key = carol.display().to_string();
    let cases: [(&str, &str, Vec<&str>, &str); 5] = [
        ("security", "eve", vec![], "requires signed sign-offs"),
        (
            "security",
            "mallory",
            vec!["--sign-with", &key],
            "is not in ",
        ),
        (
            "security",
            "bob@example.com",
            vec!["--sign-with", &bob_key],
            "may not sign as security:bob@example.com",
        ),
        (
            "security",
            "carol@example.com",
            vec!["--sign-with", &carol_key],
            "expired at 2020-01-01T00:00:00Z",
        ),
        (
            "security",
            "alice@example.com",
            vec!["--sign-with", "app/shipcheck.yaml"],
            "neither an OpenSSH private key nor a public key",
        ),
    ];
    for (role, by, extra, want) in cases {
        let out = signoff(&app, &[], role, by, &extra);
        assert_eq!(out.status.code(), Some(2), "{by}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{by}: {}", stderr(&out));
    }
    assert_eq!(
        records(&app.db),
        before,
        "a refused sign-off is not recorded"
    );

    // Alice signs as security: it counts, and the gate says by which key.
    let alice_key = alice.display().to_string();
    let out = signoff(
        &app,
        &[],
        "security",
        "alice@example.com",
        &["--sign-with", &alice_key],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("signed by SHA256:")
            && stdout(&out).contains("as security:alice@example.com (allowed_signers line 2)"),
        "{}",
        stdout(&out)
    );
    let (code, g, text) = gate(&app);
    assert_eq!(code, Some(0), "{text}");
    let counted = &g["signoffs"][0];
    assert_eq!(
        counted["verified"]["principal"],
        "security:alice@example.com"
    );

    // OpenSSH verifies the recorded signature over the printed message.
    let msg = stdout(&signoff(
        &app,
        &[],
        "security",
        "alice@example.com",
        &["--print-message"],
    ));
    assert!(
        msg.starts_with("shipcheck sign-off v1\nrun: sha256:"),
        "{msg}"
    );
    let sig = counted["signature"].as_str().unwrap();
    assert!(openssh_verifies(
        dir,
        &allowed,
        "security:alice@example.com",
        &msg,
        sig
    ));
    assert!(!openssh_verifies(
        dir,
        &allowed,
        "operations:alice@example.com",
        &msg,
        sig
    ));

    // A forger edits the recorded sign-off's role (rehashing the record): it no longer counts.
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    conn.execute(
        "UPDATE records SET body = replace(body, '\"alice@example.com\"', '\"alice@example.org\"') WHERE kind = 'signoff'",
        [],
    )
    .unwrap();
    let (code, g, text) = gate(&app);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        g["verdict"]["reasons"]
            .to_string()
            .contains("alice@example.org does not count"),
        "{g:#}"
    );
}

#[test]
fn openssh_and_shipcheck_accept_each_others_signatures_for_every_key_type() {
    let app = app_requiring("security, operations", None);
    let dir = app.tmp.path();
    let kinds: [(&str, &[&str]); 4] = [
        ("ed", ED25519),
        ("ec256", ECDSA),
        ("ec384", ECDSA384),
        ("rsa", RSA),
    ];
    let mut lines = String::new();
    let keys: Vec<(String, PathBuf)> = kinds
        .iter()
        .map(|(name, kind)| {
            let key = keygen(dir, name, kind);
            lines += &format!("*:{name}@example.com {}\n", public(&key));
            (name.to_string(), key)
        })
        .collect();
    let allowed = dir.join("app/allowed_signers");
    std::fs::write(&allowed, lines).unwrap();
    require(&app, "security, operations", Some("allowed_signers"));
    let agent = Agent::start(dir);
    let sock = agent.socket.display().to_string();
    for (name, key) in &keys {
        let by = format!("{name}@example.com");
        // Signed by ssh-keygen over the message shipcheck prints: accepted.
        let msg = stdout(&signoff(&app, &[], "security", &by, &["--print-message"]));
        let msg_file = dir.join(format!("{name}.msg"));
        std::fs::write(&msg_file, &msg).unwrap();
        let status = Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", "shipcheck", "-f"])
            .arg(key)
            .arg(&msg_file)
            .status()
            .unwrap();
        assert!(status.success());
        let sig_file = format!("{}.sig", msg_file.display());
        let out = signoff(&app, &[], "security", &by, &["--signature", &sig_file]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        // The same signature for another role: refused (the role is in the message).
        let out = signoff(&app, &[], "operations", &by, &["--signature", &sig_file]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("does not verify"),
            "{name}: {}",
            stderr(&out)
        );
        // Signed by shipcheck: ssh-keygen verifies it. An RSA key signs through ssh-agent
        // (rsa-sha2-512); its key file is refused with the way there.
        let mut key_arg = key.display().to_string();
        let mut env = vec![];
        if *name == "rsa" {
            let out = signoff(&app, &[], "operations", &by, &["--sign-with", &key_arg]);
            assert_eq!(out.status.code(), Some(2));
            assert!(
                stderr(&out).contains("signs through ssh-agent: `ssh-add"),
                "{}",
                stderr(&out)
            );
            agent.add(key);
            key_arg += ".pub";
            env.push(("SSH_AUTH_SOCK", sock.as_str()));
        }
        let out = signoff(&app, &env, "operations", &by, &["--sign-with", &key_arg]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let (_, g, _) = gate(&app);
        let sig = g["signoffs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["by"] == by.as_str() && s["role"] == "operations")
            .unwrap()["signature"]
            .as_str()
            .unwrap()
            .to_string();
        let msg = stdout(&signoff(&app, &[], "operations", &by, &["--print-message"]));
        assert!(
            openssh_verifies(dir, &allowed, &format!("operations:{by}"), &msg, &sig),
            "{name}: ssh-keygen rejects shipcheck's signature"
        );
        if *name == "rsa" {
            assert!(
                sig.contains("BEGIN SSH SIGNATURE") && sig.len() > 500,
                "{sig}"
            );
        }
    }
    let (code, _, text) = gate(&app);
    assert_eq!(code, Some(0), "{text}");

    // A signature over another run: refused for the newer run.
    let out = check(&app, "good");
    assert!(stderr(&out).contains("recorded run"), "{}", stderr(&out));
    let old_sig = format!("{}.sig", dir.join("ed.msg").display());
    let out = signoff(
        &app,
        &[],
        "security",
        "ed@example.com",
        &["--signature", &old_sig],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
    let out = signoff(
        &app,
        &[],
        "security",
        "ed@example.com",
        &["--signature", &old_sig, "--run", "1"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the run it was made for: {}",
        stderr(&out)
    );
}

#[test]
fn a_key_held_by_ssh_agent_signs_and_a_passphrase_key_file_points_there() {
    let app = app_requiring("security", None);
    let dir = app.tmp.path();
    let alice = keygen(dir, "alice", ED25519);
    let rsa = keygen(dir, "rsa", RSA);
    let absent = keygen(dir, "absent", ED25519);
    std::fs::write(
        dir.join("app/allowed_signers"),
        format!(
            "security:alice {}\nsecurity:rsa {}\nsecurity:absent {}\n",
            public(&alice),
            public(&rsa),
            public(&absent)
        ),
    )
    .unwrap();
    require(&app, "security", Some("allowed_signers"));
    let agent = Agent::start(dir);
    agent.add(&alice);
    agent.add(&rsa);
    let sock = agent.socket.display().to_string();
    let env = [("SSH_AUTH_SOCK", sock.as_str())];
    for (by, key) in [("alice", &alice), ("rsa", &rsa)] {
        let public_key = format!("{}.pub", key.display());
        let out = signoff(&app, &env, "security", by, &["--sign-with", &public_key]);
        assert_eq!(out.status.code(), Some(0), "{by}: {}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("as security:{by}")),
            "{}",
            stdout(&out)
        );
    }
    let (code, g, text) = gate(&app);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(g["signoffs"].as_array().unwrap().len(), 2);
    // A key the agent does not hold; no agent at all.
    let absent_pub = format!("{}.pub", absent.display());
    let out = signoff(
        &app,
        &env,
        "security",
        "absent",
        &["--sign-with", &absent_pub],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("refused to sign"), "{}", stderr(&out));
    let out = signoff(
        &app,
        &[("SSH_AUTH_SOCK", "")],
        "security",
        "absent",
        &["--sign-with", &absent_pub],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SSH_AUTH_SOCK is not set"),
        "{}",
        stderr(&out)
    );
    // A passphrase-protected key file: pointed to ssh-agent, its content never printed.
    let locked = dir.join("locked");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-f"])
        .arg(&locked)
        .status()
        .unwrap();
    assert!(status.success());
    let locked_arg = locked.display().to_string();
    let out = signoff(
        &app,
        &env,
        "security",
        "alice",
        &["--sign-with", &locked_arg],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("passphrase") && err.contains("ssh-add"),
        "{err}"
    );
    let body = std::fs::read_to_string(&locked).unwrap();
    let secret_line = body.lines().nth(1).unwrap();
    assert!(!err.contains(secret_line));
}

#[test]
fn an_attestation_may_be_signed_and_a_wrong_key_is_refused() {
    let app = app_requiring("security", None);
    let dir = app.tmp.path();
    let bob = keygen(dir, "bob", ECDSA);
    let alice = keygen(dir, "alice", ED25519);
    std::fs::write(
        dir.join("app/allowed_signers"),
        format!(
            "operations:bob {}\nsecurity:alice {}\n",
            public(&bob),
            public(&alice)
        ),
    )
    .unwrap();
    require(&app, "security", Some("allowed_signers"));
    let attest = |by: &str, extra: &[&str]| attest_drill(&app, &[], by, extra);
    let bob_key = bob.display().to_string();
    let out = attest("bob", &["--sign-with", &bob_key]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("signed by SHA256:") && stdout(&out).contains("as operations:bob"),
        "{}",
        stdout(&out)
    );
    let before = records(&app.db);
    let alice_key = alice.display().to_string();
    let out = attest("alice", &["--sign-with", &alice_key]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("may not sign as operations:alice"),
        "{}",
        stderr(&out)
    );
    assert_eq!(records(&app.db), before);
    // Unsigned attestations are still recorded (a signature is optional for them).
    let out = attest("olga", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A signed attestation edited in the database no longer counts, and the gate says why.
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    let changed = conn
        .execute(
            "UPDATE records SET body = replace(body, '\"by\":\"bob\"', '\"by\":\"bobby\"') WHERE kind = 'attestation'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 3, "the update ran over the attestations");
    let (_, g, text) = gate(&app);
    assert!(
        g["verdict"]["reasons"].to_string().contains(
            "the attestation of fixture:manual.restore-drill by bobby does not count: its signature does not hold"
        ),
        "{text}"
    );
}

/// `ledger verify` checks every signed sign-off's and attestation's signature. Without the
/// ledger's key, a forger who rewrites a signed statement and recomputes the chain leaves
/// the chain intact, but not the signature. With an allowed_signers file, a key it does not
/// allow for the role fails too.
#[test]
fn ledger_verify_checks_the_signatures_of_recorded_statements() {
    let app = app_requiring("security", None);
    let dir = app.tmp.path();
    let alice = keygen(dir, "alice", ED25519).display().to_string();
    let mallory = keygen(dir, "mallory", ED25519).display().to_string();
    for out in [
        signoff(
            &app,
            &[],
            "security",
            "alice@example.com",
            &["--sign-with", &alice],
        ),
        attest_drill(&app, &[], "alice@example.com", &["--sign-with", &alice]),
        signoff(
            &app,
            &[],
            "security",
            "mallory@example.com",
            &["--sign-with", &mallory],
        ),
    ] {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }

    // Each signature holds for the key it names; olga's attestation is not signed.
    let (code, text) = verify_sqlite(&app.db, false);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("signatures: 3 of 3 signed sign-offs and attestations hold, checked against the keys they name; who may sign was not checked")
            && text.contains("not signed: 1 sign-off or attestation"),
        "{text}"
    );

    // Against an allowed_signers file that allows alice only: mallory's sign-off fails.
    let allowed = dir.join("allowed_signers");
    std::fs::write(
        &allowed,
        format!(
            "security:alice@example.com,operations:alice@example.com {}\n",
            public(Path::new(&alice))
        ),
    )
    .unwrap();
    let allowed = allowed.display().to_string();
    let args = ["ledger", "verify", "--allowed-signers", &allowed];
    let out = shipcheck_db(dir, &app.db, &[], &args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("chain intact")
            && text.contains(
                "signatures: 2 of 3 signed sign-offs and attestations hold, checked against "
            )
            && text.contains("SIGNATURE FAILED: sign-off #")
            && text.contains(
                " by mallory@example.com (security): the signature does not hold: key SHA256:"
            ),
        "{text}"
    );
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let out = shipcheck_db(dir, &app.db, &[], &json_args);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["ok"], false, "{v:#}");
    assert_eq!(v["signatures"]["checked"], 3, "{v:#}");
    assert_eq!(v["signatures"]["against_allowed_signers"], true, "{v:#}");
    assert_eq!(
        v["signatures"]["problems"].as_array().unwrap().len(),
        1,
        "{v:#}"
    );

    // A forger makes mallory's sign-off, the last record, alice's, and recomputes its hash
    // and the head's: the chain is intact, unauthenticated, and the signature does not hold.
    let db = copy_db(&app, "forged.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (seq, kind, at, prev, body): (i64, String, String, String, String) = conn
        .query_row(
            "SELECT seq, kind, created_at, prev_hash, body FROM records ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    let forged = body.replace(
        "\"by\":\"mallory@example.com\"",
        "\"by\":\"alice@example.com\"",
    );
    assert!(kind == "signoff" && forged != body, "{kind}: {body}");
    let hash = shipcheck_ledger::chain::link(seq, &kind, &at, &prev, &forged);
    conn.execute(
        "UPDATE records SET body = ?1, hash = ?2 WHERE seq = ?3",
        rusqlite::params![forged, hash, seq],
    )
    .unwrap();
    conn.execute("UPDATE head SET hash = ?1", [&hash]).unwrap();
    drop(conn);
    let (code, text) = verify_sqlite(&db, false);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("chain intact")
            && text.contains("UNAUTHENTICATED")
            && text.contains("signatures: 2 of 3 signed sign-offs and attestations hold")
            && text.contains(" by alice@example.com (security): the signature does not hold"),
        "{text}"
    );
}
