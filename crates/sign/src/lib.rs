//! Personal signatures (issue #19): a sign-off or an attestation signed by the person who
//! makes it, with the SSH key they already have, in the SSH signature format (SSHSIG) git
//! uses for signed commits; who may sign for which role in an OpenSSH `allowed_signers`
//! file. `ssh-keygen -Y verify` checks what shipcheck signs, and shipcheck accepts what
//! `ssh-keygen -Y sign` makes.

pub mod agent;
pub mod allowed_signers;
pub mod bundle;
pub mod intoto;
pub mod message;
pub mod recorded;
pub mod signer;

use shipcheck_core::statement::{Attestation, Signoff};

pub use allowed_signers::{AllowedSigners, ParseError, Refusal, Verified};
pub use signer::{Signer, SignerError};

/// The principal a sign-off or attestation signs as: `ROLE:NAME`.
pub fn principal(role: shipcheck_core::pack::Role, by: &str) -> String {
    format!("{}:{by}", role.as_str())
}

/// Checks a sign-off against the run it names (`run_digest`, see [`message::run_digest`])
/// and the allowed signers at `at`: its signature must be by a key allowed to sign as
/// `ROLE:NAME`, over this run, role and name.
pub fn verify_signoff(
    signers: &AllowedSigners,
    s: &Signoff,
    run_digest: &str,
    at: jiff::Timestamp,
) -> Result<Verified, Refusal> {
    let Some(sig) = s.signature.as_deref() else {
        return Err(Refusal::Unsigned);
    };
    if let Some(d) = &s.digest
        && d != run_digest
    {
        return Err(Refusal::Other(format!(
            "it signs another run ({d}, not {run_digest})"
        )));
    }
    let msg = message::signoff(run_digest, s.role, &s.by);
    signers.verify(
        &principal(s.role, &s.by),
        message::NAMESPACE,
        msg.as_bytes(),
        sig,
        at,
    )
}

/// Checks an attestation's signature against the allowed signers at `at`.
pub fn verify_attestation(
    signers: &AllowedSigners,
    a: &Attestation,
    at: jiff::Timestamp,
) -> Result<Verified, Refusal> {
    let Some(sig) = a.signature.as_deref() else {
        return Err(Refusal::Unsigned);
    };
    let msg = message::attestation(a);
    signers.verify(
        &principal(a.role, &a.by),
        message::NAMESPACE,
        msg.as_bytes(),
        sig,
        at,
    )
}

/// Checks that `sig` is a valid signature of `msg` by the key it names, with no allowed
/// signers at hand: the key's fingerprint when it is.
pub fn self_check(sig: &str, msg: &str) -> Result<String, Refusal> {
    let parsed = allowed_signers::read_signature(sig, message::NAMESPACE)?;
    let key = allowed_signers::fingerprint(parsed.public_key());
    allowed_signers::check(&parsed, message::NAMESPACE, msg.as_bytes()).map_err(|why| {
        Refusal::Invalid {
            key: key.clone(),
            why,
        }
    })?;
    Ok(key)
}
