//! Portable evidence bundles (issue #19): `export` writes a run with its attestations,
//! sign-offs, evidence and chain segment; `verify-bundle` checks it offline; every part,
//! tampered with one at a time, is caught. The in-toto form is checked with tools shipcheck
//! did not write.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use shipcheck_ledger::headsig::SIGNING_KEY_ENV;

use crate::common::*;
use crate::ledger::*;
use crate::signoffs::keygen;

struct Setup {
    app: App,
    writer: PathBuf,
    forger: PathBuf,
    mallory: PathBuf,
    alice: PathBuf,
}

impl Setup {
    fn run(&self, args: &[&str]) -> Output {
        let key = self.writer.display().to_string();
        shipcheck_db(
            self.app.tmp.path(),
            &self.app.db,
            &[(SIGNING_KEY_ENV, &key)],
            args,
        )
    }

    fn dir(&self) -> &Path {
        self.app.tmp.path()
    }

    fn verify(&self, bundle: &Path, extra: &[&str]) -> (Option<i32>, String) {
        let writer_pub = format!("{}.pub", self.writer.display());
        let mut args = vec![
            "verify-bundle",
            bundle.to_str().unwrap(),
            "--allowed-signers",
            "app/allowed_signers",
            "--ledger-key",
            &writer_pub,
        ];
        args.extend_from_slice(extra);
        let out = self.app.run(&args);
        (
            out.status.code(),
            format!("{}{}", stdout(&out), stderr(&out)),
        )
    }
}

const PROFILE: [&str; 4] = ["--profile", "app/shipcheck.yaml", "--env", "good"];

/// A ledger whose head is signed, with a run (#1) that has a signed attestation with an
/// evidence file and a signed security sign-off, then a second run.
fn setup() -> Setup {
    let app = App::new();
    let dir = app.tmp.path();
    let writer = keygen(dir, "writer", &["-t", "ed25519"]);
    let forger = keygen(dir, "forger", &["-t", "ed25519"]);
    let mallory = keygen(dir, "mallory", &["-t", "ed25519"]);
    let alice = keygen(dir, "alice", &["-t", "ed25519"]);
    let bob = keygen(dir, "bob", &["-t", "ecdsa"]);
    let public = |k: &Path| std::fs::read_to_string(format!("{}.pub", k.display())).unwrap();
    std::fs::write(
        dir.join("app/allowed_signers"),
        format!(
            "security:alice {}operations:bob {}",
            public(&alice),
            public(&bob)
        ),
    )
    .unwrap();
    let profile = dir.join("app/shipcheck.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(
        &profile,
        format!("{text}gate:\n  require_signoff: [security]\n  allowed_signers: allowed_signers\n"),
    )
    .unwrap();
    let s = Setup {
        app,
        writer,
        forger,
        mallory,
        alice,
    };
    let bob_key = bob.display().to_string();
    let writer = s.writer.display().to_string();
    let out = attest_drill(
        &s.app,
        &[(SIGNING_KEY_ENV, &writer)],
        "bob",
        &["--sign-with", &bob_key],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut check = vec!["check", "--format", "json"];
    check.extend_from_slice(&PROFILE);
    assert!(stderr(&s.run(&check)).contains("recorded run"));
    let alice_key = s.alice.display().to_string();
    let mut signoff = vec![
        "signoff",
        "--role",
        "security",
        "--by",
        "alice",
        "--sign-with",
        &alice_key,
    ];
    signoff.extend_from_slice(&PROFILE);
    let out = s.run(&signoff);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&s.run(&check)).contains("recorded run"));
    s
}

fn export(s: &Setup, extra: &[&str]) -> PathBuf {
    let file = s.dir().join("run.bundle");
    let mut args = vec!["export", "1", "-o", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&PROFILE);
    let out = s.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    file
}

/// Recomputes every record's hash and link after an edit, as a forger without the ledger's
/// signing key would, and points the head at the new last hash.
fn relink(b: &mut Value) {
    let mut prev: Option<String> = None;
    for r in b["records"].as_array_mut().unwrap() {
        if let Some(p) = &prev {
            r["prev_hash"] = Value::from(p.clone());
        }
        let hash = shipcheck_ledger::chain::link(
            r["seq"].as_i64().unwrap(),
            r["kind"].as_str().unwrap(),
            r["created_at"].as_str().unwrap(),
            r["prev_hash"].as_str().unwrap(),
            r["body"].as_str().unwrap(),
        );
        r["hash"] = Value::from(hash.clone());
        prev = Some(hash);
    }
    b["head"]["hash"] = Value::from(prev.unwrap());
}

fn record_of<'a>(b: &'a mut Value, kind: &str) -> &'a mut Value {
    b["records"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["kind"] == kind)
        .unwrap()
}

fn edit_body(b: &mut Value, kind: &str, from: &str, to: &str) {
    let r = record_of(b, kind);
    let body = r["body"].as_str().unwrap().replace(from, to);
    r["body"] = Value::from(body);
}

/// An SSH signature by `key` over `msg` in namespace `ns`, armored, made by ssh-keygen.
fn ssh_sign(dir: &Path, key: &Path, ns: &str, msg: &str) -> String {
    let file = dir.join("forged.msg");
    std::fs::write(&file, msg).unwrap();
    let _ = std::fs::remove_file(dir.join("forged.msg.sig"));
    let status = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", ns, "-f"])
        .arg(key)
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read_to_string(dir.join("forged.msg.sig")).unwrap()
}

#[test]
fn a_bundle_verifies_offline_and_every_tampered_part_is_caught() {
    let s = setup();
    let file = export(&s, &["--with-evidence"]);
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    // Offline: the ledger is gone.
    std::fs::remove_file(&s.app.db).unwrap();
    let (code, text) = s.verify(&file, &[]);
    assert_eq!(code, Some(0), "{text}");
    for want in [
        "verified: the bundle is intact",
        "head signed by the trusted key SHA256:",
        "sign-off #",
        "security by alice",
        "verified: SHA256:",
        "as security:alice",
        "attestation #1 fixture:manual.restore-drill by bob (operations): verified: SHA256:",
        "as operations:bob; evidence drill.txt: included, matches sha256:",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }

    let dir = s.dir().to_path_buf();
    let forger = s.forger.clone();
    let mallory = s.mallory.clone();
    // Each tampering, and what verify-bundle must say.
    type Tamper = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "the run's body",
            Box::new(|b| edit_body(b, "run", "\"good\"", "\"goof\"")),
            "its content does not match its hash",
        ),
        (
            "the run's body, chain recomputed",
            Box::new(|b| {
                edit_body(b, "run", "\"good\"", "\"goof\"");
                relink(b)
            }),
            "the head: the signature does not verify",
        ),
        (
            "the sign-off's name",
            Box::new(|b| edit_body(b, "signoff", "\"alice\"", "\"alicia\"")),
            "its content does not match its hash",
        ),
        (
            "the sign-off's signature, by another key, chain recomputed",
            Box::new(move |b| {
                let body: Value =
                    serde_json::from_str(record_of(b, "signoff")["body"].as_str().unwrap())
                        .unwrap();
                let old = body["signature"].as_str().unwrap().to_string();
                let run = record_of(b, "run")["body"].as_str().unwrap().to_string();
                let msg = shipcheck_sign::message::signoff(
                    &shipcheck_sign::message::run_digest(&run),
                    shipcheck_core::pack::Role::Security,
                    "alice",
                );
                let forged = ssh_sign(&dir, &mallory, "shipcheck", &msg);
                let json_old = serde_json::to_string(&old).unwrap();
                let json_new = serde_json::to_string(&forged).unwrap();
                edit_body(
                    b,
                    "signoff",
                    json_old.trim_matches('"'),
                    json_new.trim_matches('"'),
                );
                relink(b)
            }),
            "is not in app/allowed_signers",
        ),
        (
            "the attestation's item",
            Box::new(|b| edit_body(b, "attestation", "\"bob\"", "\"bobby\"")),
            "its content does not match its hash",
        ),
        (
            "the evidence file",
            Box::new(|b| b["evidence"][0]["data"] = Value::from("Zm9yZ2Vk")),
            "evidence file drill.txt does not match its digest",
        ),
        (
            "a record removed",
            Box::new(|b| {
                b["records"].as_array_mut().unwrap().remove(1);
            }),
            "are not consecutive",
        ),
        (
            "a record's hash",
            Box::new(|b| b["records"][0]["hash"] = Value::from("00".repeat(32))),
            "record #1: its content does not match its hash",
        ),
        (
            "a record's link",
            Box::new(|b| b["records"][1]["prev_hash"] = Value::from("11".repeat(32))),
            "does not link to record",
        ),
        (
            "the head's hash",
            Box::new(|b| b["head"]["hash"] = Value::from("22".repeat(32))),
            "they differ",
        ),
        (
            "the head's signature removed",
            Box::new(|b| {
                b["head"].as_object_mut().unwrap().remove("sig");
            }),
            "the head is not signed",
        ),
        (
            "the head re-signed by another key after a rewrite",
            Box::new(move |b| {
                edit_body(b, "run", "\"good\"", "\"goof\"");
                relink(b);
                let msg = format!(
                    "shipcheck-ledger-head\n{}\n{}",
                    b["head"]["seq"],
                    b["head"]["hash"].as_str().unwrap()
                );
                b["head"]["sig"] = Value::from(ssh_sign(
                    forger.parent().unwrap(),
                    &forger,
                    "shipcheck-ledger",
                    &msg,
                ));
            }),
            "not by the trusted key",
        ),
        (
            "the run pointer moved to a run with no sign-off",
            Box::new(|b| {
                let last = b["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .rfind(|r| r["kind"] == "run")
                    .unwrap()["seq"]
                    .clone();
                b["run"] = last;
            }),
            "required sign-off",
        ),
    ];
    for (what, tamper, want) in cases {
        let mut b = original.clone();
        tamper(&mut b);
        let bad = s.dir().join("tampered.bundle");
        std::fs::write(&bad, serde_json::to_string(&b).unwrap()).unwrap();
        let (code, text) = s.verify(&bad, &[]);
        assert_eq!(code, Some(1), "{what} was not caught: {text}");
        assert!(text.contains(want), "{what}: want `{want}` in {text}");
        assert!(text.contains("NOT VERIFIED"), "{what}: {text}");
    }
    // Not a bundle, or another format: a usage error with where.
    let junk = s.dir().join("junk.bundle");
    std::fs::write(&junk, "{\"format\": 1,\n}").unwrap();
    let (code, text) = s.verify(&junk, &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("junk.bundle:1:") || text.contains("junk.bundle:2:"),
        "{text}"
    );
    let mut other = original.clone();
    other["format"] = Value::from("shipcheck-bundle/v9");
    std::fs::write(&junk, serde_json::to_string(&other).unwrap()).unwrap();
    let (code, text) = s.verify(&junk, &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not a shipcheck-bundle/v1 bundle"), "{text}");
}

#[test]
fn a_signer_is_judged_at_the_time_they_signed() {
    let s = setup();
    let file = export(&s, &[]);
    // A sign-off is judged at the time it was recorded: a key whose valid-before is earlier
    // than that refuses it.
    let public = std::fs::read_to_string(format!("{}.pub", s.alice.display())).unwrap();
    let signers = s.dir().join("app/allowed_signers");
    let text = std::fs::read_to_string(&signers).unwrap();
    let expired = text.replace(
        &format!("security:alice {public}"),
        &format!("security:alice valid-before=\"20200101Z\" {public}"),
    );
    std::fs::write(&signers, expired).unwrap();
    let (code, out) = s.verify(&file, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("expired at 2020-01-01T00:00:00Z"), "{out}");
    // Without the evidence files, their digests are still listed.
    assert!(out.contains("(file not included)"), "{out}");
    // Without --ledger-key the head's signature is checked against the key it names only,
    // and said so.
    std::fs::write(&signers, text).unwrap();
    let out = s.app.run(&[
        "verify-bundle",
        file.to_str().unwrap(),
        "--allowed-signers",
        "app/allowed_signers",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("NOT CHECKED against a trusted key"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_run_as_an_in_toto_statement_checks_with_other_tools() {
    let s = setup();
    let envelope = s.dir().join("run.intoto.json");
    let alice_key = s.alice.display().to_string();
    let mut args = vec![
        "export",
        "1",
        "-o",
        envelope.to_str().unwrap(),
        "--in-toto",
        "--sign-with",
        &alice_key,
    ];
    args.extend_from_slice(&PROFILE);
    let out = s.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let check = |file: &Path| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/check_intoto.py");
        Command::new("python3")
            .arg(script)
            .arg(file)
            .arg(format!("{}.pub", s.alice.display()))
            .output()
            .expect("python3 (scripts/install-test-deps.sh installs its packages)")
    };
    let out = check(&envelope);
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The subject is the run's record, by the same digest the sign-offs sign.
    let bundle = export(&s, &[]);
    let b: Value = serde_json::from_str(&std::fs::read_to_string(bundle).unwrap()).unwrap();
    let run_body = b["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "run")
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        format!("sha256:{printed}"),
        shipcheck_sign::message::run_digest(&run_body)
    );
    // A changed payload, and a payload that is not a valid Statement, are refused.
    let env: Value = serde_json::from_str(&std::fs::read_to_string(&envelope).unwrap()).unwrap();
    let payload = shipcheck_sign::bundle::base64_decode(env["payload"].as_str().unwrap()).unwrap();
    let mut statement: Value = serde_json::from_slice(&payload).unwrap();
    statement["predicate"]["deployment"] = Value::from("another");
    let mut forged = env.clone();
    forged["payload"] = Value::from(shipcheck_sign::bundle::base64_encode(
        serde_json::to_string(&statement).unwrap().as_bytes(),
    ));
    let file = s.dir().join("forged.intoto.json");
    std::fs::write(&file, serde_json::to_string(&forged).unwrap()).unwrap();
    let out = check(&file);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("signature does not verify"));
    // An ECDSA key cannot sign the envelope (DSSE carries a plain signature): refused.
    let ec = keygen(s.dir(), "ec", &["-t", "ecdsa"]);
    let ec_key = ec.display().to_string();
    let mut args = vec![
        "export",
        "1",
        "-o",
        "x.json",
        "--in-toto",
        "--sign-with",
        &ec_key,
    ];
    args.extend_from_slice(&PROFILE);
    let out = s.run(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("signed with an Ed25519 key"),
        "{}",
        stderr(&out)
    );
    assert!(!s.dir().join("x.json").exists(), "nothing half-written");
}
