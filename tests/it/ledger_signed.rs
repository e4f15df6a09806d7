//! The ledger head signed with an Ed25519 key (issue #19): written with the private key,
//! verified with the public key alone; a rewrite, a re-signing with another key and a
//! write without the key are caught; OpenSSH verifies the signature too.

use std::path::{Path, PathBuf};
use std::process::Command;

use shipcheck_ledger::headsig::{PUBLIC_KEY_ENV, SIGNING_KEY_ENV};

use crate::common::*;
use crate::ledger::*;

/// An Ed25519 key pair made by OpenSSH's ssh-keygen: (private key file, public key file).
fn keygen(dir: &Path, name: &str) -> (String, String) {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen (openssh-client) runs");
    assert!(status.success());
    let public = PathBuf::from(format!("{}.pub", path.display()));
    (path.display().to_string(), public.display().to_string())
}

fn records(db: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap()
}

fn verify(db: &str, envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = shipcheck_db(Path::new("."), db, envs, &["ledger", "verify"]);
    (
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

#[test]
fn a_head_signed_with_ed25519_verifies_with_the_public_key_alone() {
    let app = App::new();
    let dir = app.tmp.path();
    let (writer, writer_pub) = keygen(dir, "writer");
    let (forger, _) = keygen(dir, "forger");
    let check = |envs: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["check", "--profile", "app/shipcheck.yaml", "--env", "bad"];
        args.extend_from_slice(extra);
        shipcheck_db(dir, &app.db, envs, &args)
    };
    for _ in 0..2 {
        let out = check(&[(SIGNING_KEY_ENV, &writer)], &[]);
        assert!(stderr(&out).contains("recorded run"), "{}", stderr(&out));
    }
    // The public key alone verifies it (as a file, and as the key's text).
    let (code, text) = verify(&app.db, &[(PUBLIC_KEY_ENV, &writer_pub)]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("head signed by the trusted Ed25519 key SHA256:")
            && text.contains(": verified"),
        "{text}"
    );
    let pub_line = std::fs::read_to_string(&writer_pub).unwrap();
    assert_eq!(
        verify(&app.db, &[(PUBLIC_KEY_ENV, pub_line.trim())]).0,
        Some(0)
    );
    // The writer's own key is trusted where it is set.
    let (code, text) = verify(&app.db, &[(SIGNING_KEY_ENV, &writer)]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(": verified"), "{text}");
    // Without a trusted key the signature is checked against the key it names, and said so.
    let (code, text) = verify(&app.db, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("NOT CHECKED against a trusted key"), "{text}");

    // OpenSSH verifies the same signature over the same message.
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    let (seq, hash, sig): (i64, String, String) = conn
        .query_row("SELECT seq, hash, sig FROM head", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    drop(conn);
    std::fs::write(dir.join("head.sig"), &sig).unwrap();
    std::fs::write(
        dir.join("allowed_signers"),
        format!("ledger {}", pub_line.trim()),
    )
    .unwrap();
    let mut child = Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-n",
            "shipcheck-ledger",
            "-I",
            "ledger",
            "-f",
        ])
        .arg(dir.join("allowed_signers"))
        .arg("-s")
        .arg(dir.join("head.sig"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    let message = shipcheck_ledger::headsig::message(seq, &hash);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(message.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen -Y verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A write without the key, or with another one, is refused and writes nothing.
    let before = records(&app.db);
    for (envs, expected) in [
        (
            vec![],
            "signed with an Ed25519 key: set SHIPCHECK_LEDGER_SIGNING_KEY",
        ),
        (
            vec![(SIGNING_KEY_ENV, forger.as_str())],
            "is not the key the ledger's head is signed with",
        ),
    ] {
        let out = check(&envs, &[]);
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
        assert_eq!(records(&app.db), before);
    }

    // A chain rewritten in SQL (hashes and head recomputed, the signature kept): the
    // signature no longer covers the head, with or without the trusted key.
    let db = copy_db(&app, "rewritten.db");
    rewrite_chain(&db, |body| format!("{body} "));
    for envs in [vec![], vec![(PUBLIC_KEY_ENV, writer_pub.as_str())]] {
        let (code, text) = verify(&db, &envs);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains("head signature FAILED"), "{text}");
    }

    // Re-signed on purpose with another key (`--rekey`): the trusted key catches it.
    let db = copy_db(&app, "resigned.db");
    let out = shipcheck_db(
        dir,
        &db,
        &[(SIGNING_KEY_ENV, &forger)],
        &[
            "check",
            "--profile",
            "app/shipcheck.yaml",
            "--env",
            "bad",
            "--rekey",
        ],
    );
    assert!(stderr(&out).contains("recorded run"), "{}", stderr(&out));
    let (code, text) = verify(&db, &[(PUBLIC_KEY_ENV, &writer_pub)]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("not by the trusted key"), "{text}");
    // A trusted key given for a ledger whose head is not signed fails too.
    let plain = App::new();
    check_plain(&plain);
    let (code, text) = verify(&plain.db, &[(PUBLIC_KEY_ENV, &writer_pub)]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the head is not signed"), "{text}");
}

fn check_plain(app: &App) {
    let out = check(app, "bad");
    assert!(stderr(&out).contains("recorded run"), "{}", stderr(&out));
}

/// Bad keys are refused at once with the variable, the file and the reason, exit 2, and
/// nothing is written; the key file's content is never printed.
#[test]
fn bad_signing_and_public_keys_are_refused_with_the_reason() {
    let app = App::new();
    let dir = app.tmp.path();
    check_plain(&app);
    let before = records(&app.db);
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, "SECRET-KEY-MATERIAL-0123456789abcdef\n").unwrap();
    let ecdsa = dir.join("ecdsa");
    let encrypted = dir.join("encrypted");
    for (path, args) in [
        (&ecdsa, vec!["-t", "ecdsa", "-N", ""]),
        (&encrypted, vec!["-t", "ed25519", "-N", "a passphrase"]),
    ] {
        let status = Command::new("ssh-keygen")
            .arg("-q")
            .args(&args)
            .arg("-f")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let missing = dir.join("no-such-key").display().to_string();
    let (garbage, ecdsa, encrypted) = (
        garbage.display().to_string(),
        ecdsa.display().to_string(),
        encrypted.display().to_string(),
    );
    for (value, expected) in [
        (missing.as_str(), "no-such-key"),
        (garbage.as_str(), "not an OpenSSH private key"),
        (ecdsa.as_str(), "the ledger head is signed with Ed25519"),
        (encrypted.as_str(), "encrypted with a passphrase"),
    ] {
        let out = shipcheck_db(
            dir,
            &app.db,
            &[(SIGNING_KEY_ENV, value)],
            &["check", "--profile", "app/shipcheck.yaml", "--env", "bad"],
        );
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            text.contains(SIGNING_KEY_ENV) && text.contains(expected),
            "{value}: {text}"
        );
        assert!(
            !text.contains("SECRET-KEY-MATERIAL") && !text.contains("panicked"),
            "{text}"
        );
        assert_eq!(records(&app.db), before, "{value}");
    }
    let ecdsa_pub = format!("{ecdsa}.pub");
    for (value, expected) in [
        ("ssh-ed25519 not-base64", "not an OpenSSH public key"),
        (garbage.as_str(), "not an OpenSSH public key"),
        (missing.as_str(), "no-such-key"),
        (ecdsa_pub.as_str(), "the ledger head is signed with Ed25519"),
    ] {
        let (code, text) = verify(&app.db, &[(PUBLIC_KEY_ENV, value)]);
        assert_eq!(code, Some(2), "{value}: {text}");
        assert!(
            text.contains(PUBLIC_KEY_ENV) && text.contains(expected),
            "{value}: {text}"
        );
        assert!(
            !text.contains("SECRET-KEY-MATERIAL") && !text.contains("panicked"),
            "{text}"
        );
    }
}
