//! The signatures of the statements a ledger holds (`shipcheck ledger verify`). Each signed
//! sign-off is checked over the run it names, and each signed attestation over its own
//! content. With allowed signers, a signature is checked against them at the time the
//! statement was made; without them, against the key it names. The chain shows that a
//! record was not changed after it was written, or, without the ledger's key, only that it
//! was rewritten consistently. A personal signature shows who made the statement, and the
//! person's key is not the ledger's.

use std::collections::HashMap;

use serde::Serialize;
use shipcheck_core::statement::{Attestation, Signoff};
use shipcheck_ledger::Record;

use crate::bundle::{judge_signature, made_at};
use crate::{AllowedSigners, Refusal, message};

/// What the check of a ledger's statement signatures found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Signatures {
    /// Signed sign-offs and attestations, each checked.
    pub checked: usize,
    /// Sign-offs and attestations with no signature: nothing to check.
    pub unsigned: usize,
    /// Whether allowed signers judged the signatures; otherwise each was checked against
    /// the key it names, and who may sign was not checked.
    pub against_allowed_signers: bool,
    /// Each signature that does not hold, naming its record.
    pub problems: Vec<String>,
}

impl Signatures {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the signature of every sign-off and attestation in `records` (a ledger's, in
/// order), against `signers` when given.
pub fn check(records: &[Record], signers: Option<&AllowedSigners>) -> Signatures {
    let runs: HashMap<i64, &str> = records
        .iter()
        .filter(|r| r.kind == "run")
        .map(|r| (r.seq, r.body.as_str()))
        .collect();
    let mut out = Signatures {
        against_allowed_signers: signers.is_some(),
        ..Signatures::default()
    };
    for r in records {
        let judged = match r.kind.as_str() {
            "signoff" => signoff(r, &runs, signers),
            "attestation" => attestation(r, signers),
            _ => continue,
        };
        match judged {
            Judged::Unsigned => out.unsigned += 1,
            Judged::Holds => out.checked += 1,
            Judged::Fails(problem) => {
                out.checked += 1;
                out.problems.push(problem);
            }
        }
    }
    out
}

enum Judged {
    Unsigned,
    Holds,
    Fails(String),
}

fn signoff(r: &Record, runs: &HashMap<i64, &str>, signers: Option<&AllowedSigners>) -> Judged {
    let s: Signoff = match serde_json::from_str(&r.body) {
        Ok(s) => s,
        Err(e) => return Judged::Fails(format!("record #{} is not a sign-off: {e}", r.seq)),
    };
    let Some(sig) = s.signature.as_deref() else {
        return Judged::Unsigned;
    };
    let what = format!("sign-off #{} by {} ({})", r.seq, s.by, s.role.as_str());
    let Some(run) = runs.get(&s.run) else {
        return Judged::Fails(format!(
            "{what}: it names run record #{}, which the ledger does not hold",
            s.run
        ));
    };
    let digest = message::run_digest(run);
    let at = made_at(&s.at);
    judged(
        what,
        judge_signature(
            signers,
            Some(sig),
            |list| crate::verify_signoff(list, &s, &digest, at),
            || message::signoff(&digest, s.role, &s.by),
        ),
    )
}

fn attestation(r: &Record, signers: Option<&AllowedSigners>) -> Judged {
    let a: Attestation = match serde_json::from_str(&r.body) {
        Ok(a) => a,
        Err(e) => return Judged::Fails(format!("record #{} is not an attestation: {e}", r.seq)),
    };
    let Some(sig) = a.signature.as_deref() else {
        return Judged::Unsigned;
    };
    let what = format!("attestation #{} of {} by {}", r.seq, a.item, a.by);
    let at = made_at(&a.attested_at);
    judged(
        what,
        judge_signature(
            signers,
            Some(sig),
            |list| crate::verify_attestation(list, &a, at),
            || message::attestation(&a),
        ),
    )
}

/// The judgement `verify-bundle` makes of a signature (see [`judge_signature`]), as this
/// check reports it.
fn judged(what: String, result: Result<(String, bool), Refusal>) -> Judged {
    match result {
        Ok(_) => Judged::Holds,
        Err(e) => Judged::Fails(format!("{what}: the signature does not hold: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipcheck_core::pack::Role;
    use ssh_key::{HashAlg, PrivateKey};

    fn key(seed: u8) -> PrivateKey {
        PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&[seed; 32]))
    }

    fn sign(key: &PrivateKey, msg: &str) -> String {
        key.sign(message::NAMESPACE, HashAlg::Sha512, msg.as_bytes())
            .unwrap()
            .to_pem(ssh_key::LineEnding::LF)
            .unwrap()
    }

    fn record(seq: i64, kind: &str, body: String) -> Record {
        Record {
            seq,
            kind: kind.into(),
            created_at: "2026-12-03T12:00:00Z".into(),
            body,
            prev_hash: String::new(),
            hash: String::new(),
            deployment: None,
            environment: None,
        }
    }

    const RUN: &str = r#"{"a run":"as recorded"}"#;

    /// A sign-off of record #1 (the run) by `by` as security, signed by `key` when given.
    fn signoff(seq: i64, by: &str, key: Option<&PrivateKey>, run: &str) -> Record {
        let digest = message::run_digest(run);
        let s = Signoff {
            run: 1,
            deployment: None,
            environment: None,
            role: Role::Security,
            by: by.into(),
            note: String::new(),
            at: "2026-12-03T12:00:00Z".into(),
            digest: key.map(|_| digest.clone()),
            signature: key.map(|k| sign(k, &message::signoff(&digest, Role::Security, by))),
        };
        record(seq, "signoff", serde_json::to_string(&s).unwrap())
    }

    fn attestation(seq: i64, by: &str, key: &PrivateKey) -> Record {
        let mut a = Attestation {
            item: "p:drill".into(),
            deployment: Some("app".into()),
            environment: None,
            by: by.into(),
            role: Role::Operations,
            evidence: None,
            note: "done".into(),
            attested_at: "2026-12-03T12:00:00Z".into(),
            expires: None,
            signature: None,
        };
        a.signature = Some(sign(key, &message::attestation(&a)));
        record(seq, "attestation", serde_json::to_string(&a).unwrap())
    }

    #[test]
    fn every_signed_statement_is_checked_against_the_key_it_names() {
        let alice = key(1);
        let records = vec![
            record(1, "run", RUN.into()),
            signoff(2, "alice@example.com", Some(&alice), RUN),
            signoff(3, "eve", None, RUN),
            attestation(4, "alice@example.com", &alice),
        ];
        let found = check(&records, None);
        assert_eq!(
            (found.checked, found.unsigned, found.problems.len()),
            (2, 1, 0),
            "{found:?}"
        );
        assert!(!found.against_allowed_signers && found.ok());
    }

    #[test]
    fn a_statement_changed_after_it_was_signed_does_not_hold() {
        let alice = key(1);
        let signed = signoff(2, "alice@example.com", Some(&alice), RUN);
        let forged_by = record(2, "signoff", signed.body.replace("alice@", "mallory@"));
        let att = attestation(3, "alice@example.com", &alice);
        let forged_note = record(3, "attestation", att.body.replace("done", "skipped"));
        // A sign-off signed over another run's record, then moved to this one.
        let other = signoff(4, "alice@example.com", Some(&alice), r#"{"another":"run"}"#);
        let records = vec![record(1, "run", RUN.into()), forged_by, forged_note, other];
        let found = check(&records, None);
        assert_eq!(found.checked, 3);
        assert_eq!(found.problems.len(), 3, "{:#?}", found.problems);
        assert!(
            found.problems[0].starts_with(
                "sign-off #2 by mallory@example.com (security): the signature does not hold"
            ),
            "{}",
            found.problems[0]
        );
        assert!(
            found.problems[1].starts_with(
                "attestation #3 of p:drill by alice@example.com: the signature does not hold"
            ),
            "{}",
            found.problems[1]
        );
        assert!(found.problems[2].starts_with("sign-off #4 "));
    }

    #[test]
    fn with_allowed_signers_only_an_allowed_key_holds() {
        let (alice, mallory) = (key(1), key(2));
        let file = format!(
            "security:alice@example.com,operations:alice@example.com {}\n",
            alice.public_key().to_openssh().unwrap()
        );
        let signers = AllowedSigners::parse("allowed_signers", &file).unwrap();
        let records = vec![
            record(1, "run", RUN.into()),
            signoff(2, "alice@example.com", Some(&alice), RUN),
            signoff(3, "alice@example.com", Some(&mallory), RUN),
            attestation(4, "alice@example.com", &alice),
            signoff(5, "eve", None, RUN),
        ];
        let found = check(&records, Some(&signers));
        assert!(found.against_allowed_signers);
        assert_eq!((found.checked, found.unsigned), (3, 1));
        assert_eq!(found.problems.len(), 1, "{:#?}", found.problems);
        assert!(
            found.problems[0].starts_with("sign-off #3 by alice@example.com (security): "),
            "{}",
            found.problems[0]
        );
    }

    #[test]
    fn a_signoff_of_a_run_the_ledger_lacks_or_a_body_that_does_not_parse_is_a_problem() {
        let alice = key(1);
        let records = vec![
            signoff(2, "alice@example.com", Some(&alice), RUN),
            record(3, "signoff", "{not json".into()),
        ];
        let found = check(&records, None);
        assert_eq!(found.problems.len(), 2, "{:#?}", found.problems);
        assert!(
            found.problems[0].contains("names run record #1, which the ledger does not hold"),
            "{}",
            found.problems[0]
        );
        assert!(found.problems[1].starts_with("record #3 is not a sign-off: "));
    }
}
