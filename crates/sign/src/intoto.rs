//! The run as an in-toto attestation (`shipcheck export RUN --in-toto`): a Statement
//! (in-toto attestation framework v1) whose subject is the run's record by digest and whose
//! predicate is shipcheck's verdict, sign-offs and attestations, in a DSSE envelope signed
//! with an Ed25519 key, so supply-chain tooling (policy engines, attestation stores) can
//! consume it.

use serde_json::{Value, json};

use crate::bundle::{Bundle, Report, base64_encode};
use crate::signer::Signer;

/// DSSE payload type of in-toto Statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The Statement's `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// shipcheck's predicate.
pub const PREDICATE_TYPE: &str = "https://shipcheck.dev/attestation/run/v1";

/// The Statement of a verified bundle (`report` is [`crate::bundle::verify`]'s).
pub fn statement(bundle: &Bundle, report: &Report) -> Result<Value, String> {
    let run = bundle
        .records
        .iter()
        .find(|r| r.seq == bundle.run && r.kind == "run")
        .ok_or_else(|| format!("the bundle holds no run #{}", bundle.run))?;
    let run_json: Value = serde_json::from_str(&run.body).map_err(|e| e.to_string())?;
    let hex = report.digest.trim_start_matches("sha256:");
    let signoffs: Vec<Value> = report
        .signoffs
        .iter()
        .map(|c| {
            json!({"role": c.statement.role.as_str(), "by": c.statement.by, "at": c.statement.at,
                   "signature": c.statement.signature, "check": c.signature})
        })
        .collect();
    let attestations: Vec<Value> = report
        .attestations
        .iter()
        .map(|c| {
            json!({"item": c.statement.item, "role": c.statement.role.as_str(), "by": c.statement.by,
                   "attested_at": c.statement.attested_at, "expires": c.statement.expires,
                   "evidence": c.statement.evidence, "signature": c.statement.signature,
                   "check": c.signature})
        })
        .collect();
    Ok(json!({
        "_type": STATEMENT_TYPE,
        "subject": [{
            "name": format!("shipcheck-run:{}/{}/{}", report.deployment, report.environment, bundle.run),
            "digest": {"sha256": hex},
        }],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "deployment": report.deployment,
            "environment": report.environment,
            "startedAt": report.started_at,
            "verdict": run_json.get("gate").cloned().unwrap_or(Value::Null),
            "missingSignoffs": report.missing_signoffs,
            "signoffs": signoffs,
            "attestations": attestations,
            "ledger": {"record": bundle.run, "hash": run.hash,
                       "head": {"seq": bundle.head.seq, "hash": bundle.head.hash}},
            "run": run_json,
        },
    }))
}

/// DSSE's pre-authentication encoding of a payload.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope of `statement`, signed by `signer` (an Ed25519 key: DSSE carries the
/// plain 64-byte signature; the key id is the key's SHA-256 fingerprint).
pub fn envelope(statement: &Value, signer: &Signer) -> Result<Value, String> {
    if !matches!(signer.public_key(), ssh_key::public::KeyData::Ed25519(_)) {
        return Err(format!(
            "the in-toto envelope is signed with an Ed25519 key; {} is a {} key",
            crate::allowed_signers::fingerprint(signer.public_key()),
            signer.public_key().algorithm()
        ));
    }
    let payload = serde_json::to_vec(statement).map_err(|e| e.to_string())?;
    let sig = signer.sign_raw(&pae(PAYLOAD_TYPE, &payload))?;
    Ok(json!({
        "payloadType": PAYLOAD_TYPE,
        "payload": base64_encode(&payload),
        "signatures": [{
            "keyid": crate::allowed_signers::fingerprint(signer.public_key()),
            "sig": base64_encode(sig.as_bytes()),
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world").
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}
