use super::*;
use ssh_key::{HashAlg, PrivateKey};

fn key(seed: u8) -> PrivateKey {
    PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&[seed; 32]))
}

fn line(key: &PrivateKey) -> String {
    key.public_key().to_openssh().unwrap()
}

fn sign(key: &PrivateKey, ns: &str, msg: &str) -> String {
    key.sign(ns, HashAlg::Sha512, msg.as_bytes())
        .unwrap()
        .to_pem(ssh_key::LineEnding::LF)
        .unwrap()
}

fn now() -> jiff::Timestamp {
    "2026-12-02T12:00:00Z".parse().unwrap()
}

#[test]
fn a_key_signs_only_as_the_principals_of_its_lines() {
    let (alice, bob) = (key(1), key(2));
    let file = format!(
        "# team\n\nsecurity:alice@example.com,operations:alice@example.com {}\n  operations:*@example.com,!operations:mallory@example.com {} bob's\n",
        line(&alice),
        line(&bob)
    );
    let s = AllowedSigners::parse("allowed", &file).unwrap();
    let sig = sign(&alice, "shipcheck", "m");
    let ok = s
        .verify("security:alice@example.com", "shipcheck", b"m", &sig, now())
        .unwrap();
    assert_eq!(ok.line, 3);
    assert!(
        s.verify(
            "operations:alice@example.com",
            "shipcheck",
            b"m",
            &sig,
            now()
        )
        .is_ok()
    );
    let not = s
        .verify(
            "compliance:alice@example.com",
            "shipcheck",
            b"m",
            &sig,
            now(),
        )
        .unwrap_err();
    assert!(matches!(not, Refusal::NotAllowed { .. }), "{not}");
    assert!(
        not.to_string().contains("security:alice@example.com"),
        "{not}"
    );
    // Another message, or another namespace: refused.
    assert!(matches!(
        s.verify("security:alice@example.com", "shipcheck", b"n", &sig, now()),
        Err(Refusal::Invalid { .. })
    ));
    let other_ns = sign(&alice, "git", "m");
    assert!(matches!(
        s.verify(
            "security:alice@example.com",
            "shipcheck",
            b"m",
            &other_ns,
            now()
        ),
        Err(Refusal::Namespace { .. })
    ));
    // Wildcards and negation.
    let by_bob = sign(&bob, "shipcheck", "m");
    assert!(
        s.verify(
            "operations:bob@example.com",
            "shipcheck",
            b"m",
            &by_bob,
            now()
        )
        .is_ok()
    );
    assert!(
        s.verify(
            "operations:mallory@example.com",
            "shipcheck",
            b"m",
            &by_bob,
            now()
        )
        .is_err()
    );
    // A key not in the file.
    let stranger = sign(&key(3), "shipcheck", "m");
    assert!(matches!(
        s.verify(
            "security:alice@example.com",
            "shipcheck",
            b"m",
            &stranger,
            now()
        ),
        Err(Refusal::UnknownKey { .. })
    ));
    assert!(matches!(
        s.verify(
            "security:alice@example.com",
            "shipcheck",
            b"m",
            "junk",
            now()
        ),
        Err(Refusal::Unreadable(_))
    ));
}

#[test]
fn options_bound_a_key_in_time_and_namespace() {
    let alice = key(1);
    let file = format!(
        "security:alice valid-after=\"20260101\",valid-before=\"20261201Z\" {k}\n\
         operations:alice namespaces=\"git,ship*\" {k}\n\
         compliance:alice namespaces=\"git\" {k}\n\
         development:alice cert-authority {k}\n",
        k = line(&alice)
    );
    let s = AllowedSigners::parse("f", &file).unwrap();
    let sig = sign(&alice, "shipcheck", "m");
    let expired = s
        .verify("security:alice", "shipcheck", b"m", &sig, now())
        .unwrap_err();
    assert!(
        matches!(expired, Refusal::Expired { line: 1, .. }),
        "{expired}"
    );
    assert!(
        expired.to_string().contains("2026-12-01T00:00:00Z"),
        "{expired}"
    );
    let before: jiff::Timestamp = "2026-11-30T23:00:00Z".parse().unwrap();
    assert!(
        s.verify("security:alice", "shipcheck", b"m", &sig, before)
            .is_ok()
    );
    let early: jiff::Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    assert!(matches!(
        s.verify("security:alice", "shipcheck", b"m", &sig, early),
        Err(Refusal::NotYetValid { .. })
    ));
    assert!(
        s.verify("operations:alice", "shipcheck", b"m", &sig, now())
            .is_ok()
    );
    assert!(matches!(
        s.verify("compliance:alice", "shipcheck", b"m", &sig, now()),
        Err(Refusal::NamespaceNotAllowed { line: 3, .. })
    ));
    // A certificate authority's line never allows a plain signature.
    assert!(
        s.verify("development:alice", "shipcheck", b"m", &sig, now())
            .is_err()
    );
}

#[test]
fn a_bad_line_is_named_with_its_column() {
    let k = line(&key(1));
    let cases = [
        ("security:a", 1, 1, "a key is expected"),
        (
            &format!("security:a frobnicate {k}") as &str,
            1,
            12,
            "unknown option `frobnicate`",
        ),
        (
            &format!("security:a valid-before=2027 {k}"),
            1,
            24,
            "double quotes",
        ),
        (
            &format!("security:a valid-before=\"tomorrow\" {k}"),
            1,
            12,
            "not a time",
        ),
        (
            "\n  security:a ssh-ed25519 AAAAnot-base64",
            2,
            14,
            "not a readable ssh-ed25519 key",
        ),
        ("\"security:a ssh-ed25519 AAAA", 1, 1, "not closed"),
        (
            "security:a valid-before=\"2027\" ssh-foo AAAA",
            1,
            32,
            "not an SSH key type",
        ),
    ];
    for (text, line_no, column, want) in cases {
        let e = AllowedSigners::parse("team/allowed_signers", text).unwrap_err();
        assert_eq!((e.line, e.column), (line_no, column), "{text}: {e}");
        assert!(e.to_string().contains(want), "{text}: {e}");
        assert!(e.to_string().starts_with("team/allowed_signers:"), "{e}");
    }
}

#[test]
fn patterns_follow_openssh() {
    assert!(pattern_list_matches("security:*", "security:alice"));
    assert!(pattern_list_matches("a?c", "abc"));
    assert!(!pattern_list_matches("a?c", "abbc"));
    assert!(pattern_list_matches("*", ""));
    assert!(!pattern_list_matches("!x,*", "x"));
    assert!(!pattern_list_matches("!x", "y"));
    assert!(pattern_list_matches("a*b*c", "axxbyyc"));
    assert!(!pattern_list_matches("a*b*c", "axxbyy"));
}

#[test]
fn a_file_that_cannot_be_read_names_the_file_and_no_line() {
    let dir = std::env::temp_dir().join(format!("shipcheck-signers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing");
    let e = AllowedSigners::load(&missing).unwrap_err();
    let shown = missing.display().to_string();
    assert_eq!(e.line, 0);
    assert!(e.to_string().starts_with(&format!("{shown}: ")), "{e}");
    assert!(!e.to_string().contains(":0:0"), "{e}");
    let binary = dir.join("binary");
    std::fs::write(&binary, [0xff, 0xfe]).unwrap();
    let e = AllowedSigners::load(&binary).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: not UTF-8 text (invalid utf-8 sequence of 1 bytes from index 0)",
            binary.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
