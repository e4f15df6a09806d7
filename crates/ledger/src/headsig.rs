//! The chain head signed with an Ed25519 key (issue #19), beside or instead of the HMAC:
//! the private key only where records are written (`SHIPCHECK_LEDGER_SIGNING_KEY`, an
//! OpenSSH private key file), the public key wherever the ledger is verified
//! (`SHIPCHECK_LEDGER_PUBLIC_KEY`, a `ssh-ed25519 AAAA…` line or a `.pub` file). Someone
//! with the public key alone can verify the ledger and cannot forge it, which the shared
//! HMAC key does not give.
//!
//! The signature is an SSH signature (SSHSIG, namespace `shipcheck-ledger`, SHA-512) over
//! `shipcheck-ledger-head\n{seq}\n{hash}`, stored armored in `head.sig` (migration 7), so
//! `ssh-keygen -Y verify` checks it too.

use ssh_key::{HashAlg, PrivateKey, PublicKey, SshSig};

use crate::LedgerError;

/// The private key that signs the head where records are written.
pub const SIGNING_KEY_ENV: &str = "SHIPCHECK_LEDGER_SIGNING_KEY";
/// The public key a verifier trusts.
pub const PUBLIC_KEY_ENV: &str = "SHIPCHECK_LEDGER_PUBLIC_KEY";

/// The SSHSIG namespace of head signatures.
pub const NAMESPACE: &str = "shipcheck-ledger";

/// The migration that adds `head.sig` (both databases take the statement).
pub const SIG_MIGRATION: i64 = 7;
pub const SIG_SQL: &str = "ALTER TABLE head ADD COLUMN sig TEXT;";

/// What a head's signature covers.
pub fn message(seq: i64, hash: &str) -> String {
    format!("shipcheck-ledger-head\n{seq}\n{hash}")
}

/// How a writer authenticates the head: the HMAC key, the signing key, or both.
#[derive(Clone, Default)]
pub struct HeadAuth {
    pub mac_key: Option<Vec<u8>>,
    pub signer: Option<PrivateKey>,
}

impl HeadAuth {
    /// The head's MAC and signature for (`seq`, `hash`).
    pub fn seal(&self, seq: i64, hash: &str) -> Result<(Option<String>, Option<String>), String> {
        let mac = self
            .mac_key
            .as_deref()
            .map(|k| crate::chain::head_mac(k, seq, hash));
        let sig = match &self.signer {
            None => None,
            Some(key) => Some(
                key.sign(NAMESPACE, HashAlg::Sha512, message(seq, hash).as_bytes())
                    .and_then(|s| s.to_pem(ssh_key::LineEnding::LF))
                    .map_err(|e| format!("cannot sign the ledger head: {e}"))?,
            ),
        };
        Ok((mac, sig))
    }
}

/// The signing key of `SHIPCHECK_LEDGER_SIGNING_KEY`, if set.
pub fn signing_key_from_env() -> Result<Option<PrivateKey>, LedgerError> {
    let Some(path) = std::env::var_os(SIGNING_KEY_ENV).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = std::path::PathBuf::from(path);
    let bad = |why: String| {
        LedgerError::Invalid(format!("{SIGNING_KEY_ENV} ({}): {why}", path.display()))
    };
    let text =
        shipcheck_core::bounded::read_bounded(&path, 64 << 10).map_err(|e| bad(e.to_string()))?;
    let key = PrivateKey::from_openssh(&text).map_err(|e| bad(not_ed25519(e, "private")))?;
    if key.is_encrypted() {
        return Err(bad(
            "the key is encrypted with a passphrase; give an unencrypted key file readable only by the writer".into(),
        ));
    }
    if key.algorithm() != ssh_key::Algorithm::Ed25519 {
        return Err(bad(format!(
            "a {} key; the ledger head is signed with Ed25519",
            key.algorithm()
        )));
    }
    Ok(Some(key))
}

/// Why a key did not parse. This build reads Ed25519 keys only, so a key of another type
/// (ECDSA, RSA) fails as an unknown algorithm: said so, not as a damaged file.
fn not_ed25519(e: ssh_key::Error, half: &str) -> String {
    match e {
        ssh_key::Error::AlgorithmUnknown | ssh_key::Error::AlgorithmUnsupported { .. } => {
            "a key of another type; the ledger head is signed with Ed25519 (`ssh-keygen -t ed25519`)".into()
        }
        e => format!("not an OpenSSH {half} key (`ssh-keygen -t ed25519` makes one): {e}"),
    }
}

/// The trusted public key of `SHIPCHECK_LEDGER_PUBLIC_KEY` (the key itself, or a file that
/// holds it), if set.
pub fn public_key_from_env() -> Result<Option<PublicKey>, LedgerError> {
    let Some(value) = std::env::var(PUBLIC_KEY_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    parse_public_key(&value)
        .map(Some)
        .map_err(|e| LedgerError::Invalid(format!("{PUBLIC_KEY_ENV}: {e}")))
}

/// A trusted head key: the `ssh-ed25519 AAAA…` line itself, or a file that holds it.
pub fn parse_public_key(value: &str) -> Result<PublicKey, String> {
    let text = if value.trim_start().starts_with("ssh-") {
        value.to_owned()
    } else {
        let path = std::path::Path::new(value);
        let bytes =
            shipcheck_core::bounded::read_bounded(path, 64 << 10).map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let key = PublicKey::from_openssh(text.trim()).map_err(|e| not_ed25519(e, "public"))?;
    if key.algorithm() != ssh_key::Algorithm::Ed25519 {
        return Err(format!(
            "a {} key; the ledger head is signed with Ed25519",
            key.algorithm()
        ));
    }
    Ok(key)
}

/// Refuses a write that would unsign or re-sign a signed head: the writer must hold the key
/// the head is signed with (`--rekey` skips this on purpose).
pub fn check_writer(
    head_sig: Option<&str>,
    signer: Option<&PrivateKey>,
) -> Result<(), LedgerError> {
    let Some(sig) = head_sig else {
        return Ok(());
    };
    let Some(signer) = signer else {
        return Err(LedgerError::SigningKeyRequired);
    };
    match signer_of(sig) {
        Some(by) if by == *signer.public_key().key_data() => Ok(()),
        Some(by) => Err(LedgerError::WrongSigningKey(fingerprint(&by))),
        None => Err(LedgerError::WrongSigningKey(
            "an unreadable signature".into(),
        )),
    }
}

/// What `ledger verify` found of the head's signature.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum HeadSignature {
    /// No signature, and no public key to expect one.
    None,
    /// Signed by the trusted public key, and the signature verifies.
    Verified { key: String },
    /// Signed, and the signature verifies for the key it names, but no public key was
    /// given to trust: a rewrite re-signed with another key would look the same.
    Unchecked { key: String },
    /// The head is not signed by the trusted key, or the signature does not verify.
    Failed { reason: String },
}

/// Checks the head's signature: against `trusted` when given, else against the key the
/// signature names (which catches a head changed without re-signing).
pub fn status(head: Option<&crate::Head>, trusted: Option<&PublicKey>) -> HeadSignature {
    let Some(head) = head else {
        return HeadSignature::None;
    };
    let Some(sig) = head.sig.as_deref() else {
        return match trusted {
            None => HeadSignature::None,
            Some(key) => HeadSignature::Failed {
                reason: format!(
                    "the head is not signed (a trusted key {} was given)",
                    fingerprint(key.key_data())
                ),
            },
        };
    };
    // Without a trusted key, the key the signature names.
    let key = match trusted {
        Some(key) => key.clone(),
        None => match signer_of(sig) {
            Some(by) => PublicKey::from(by),
            None => {
                return HeadSignature::Failed {
                    reason: "the stored signature is unreadable".into(),
                };
            }
        },
    };
    let shown = fingerprint(key.key_data());
    match (verify(&key, sig, head.seq, &head.hash), trusted) {
        (Err(reason), _) => HeadSignature::Failed { reason },
        (Ok(()), Some(_)) => HeadSignature::Verified { key: shown },
        (Ok(()), None) => HeadSignature::Unchecked { key: shown },
    }
}

/// The key that made a stored head signature (whether or not it verifies).
pub fn signer_of(sig: &str) -> Option<ssh_key::public::KeyData> {
    SshSig::from_pem(sig).ok().map(|s| s.public_key().clone())
}

/// The SHA-256 fingerprint of a key, as `ssh-keygen -l` shows it.
pub fn fingerprint(key: &ssh_key::public::KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Whether `sig` is a valid signature by `key` of the head (`seq`, `hash`).
pub fn verify(key: &PublicKey, sig: &str, seq: i64, hash: &str) -> Result<(), String> {
    let sig =
        SshSig::from_pem(sig).map_err(|e| format!("the stored signature is unreadable: {e}"))?;
    if sig.public_key() != key.key_data() {
        return Err(format!(
            "the head is signed by {}, not by the trusted key {}",
            fingerprint(sig.public_key()),
            fingerprint(key.key_data())
        ));
    }
    key.verify(NAMESPACE, message(seq, hash).as_bytes(), &sig)
        .map_err(|e| format!("the signature does not verify: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> PrivateKey {
        let pair = ssh_key::private::Ed25519Keypair::from_seed(&[seed; 32]);
        PrivateKey::from(pair)
    }

    #[test]
    fn a_head_signature_verifies_for_its_key_and_head_only() {
        let (k, other) = (key(1), key(2));
        let auth = HeadAuth {
            mac_key: None,
            signer: Some(k.clone()),
        };
        let (mac, sig) = auth.seal(5, "abc").unwrap();
        assert_eq!(mac, None);
        let sig = sig.unwrap();
        assert!(sig.starts_with("-----BEGIN SSH SIGNATURE-----"));
        assert_eq!(verify(k.public_key(), &sig, 5, "abc"), Ok(()));
        assert!(verify(k.public_key(), &sig, 6, "abc").is_err());
        assert!(verify(k.public_key(), &sig, 5, "abd").is_err());
        let wrong = verify(other.public_key(), &sig, 5, "abc").unwrap_err();
        assert!(wrong.contains("not by the trusted key"), "{wrong}");
        assert!(verify(k.public_key(), "junk", 5, "abc").is_err());
        assert_eq!(signer_of(&sig).as_ref(), Some(k.public_key().key_data()));
    }
}
