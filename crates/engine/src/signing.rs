//! Personal signatures on what people record (issue #19): a sign-off or attestation signed
//! with the person's SSH key, checked against the profile's `gate.allowed_signers` before
//! it is recorded, and again by the gate.

use shipcheck_core::profile::Profile;
use shipcheck_core::statement::{Attestation, Signoff};
use shipcheck_sign::{AllowedSigners, Signer, message};

/// How a statement is signed.
pub enum Signing {
    Unsigned,
    /// Signed here with this key (a key file, or ssh-agent).
    Key(Signer),
    /// Signed elsewhere (`ssh-keygen -Y sign`): the armored signature.
    Given(String),
}

/// What signing found, for the person who signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signed {
    Unsigned,
    /// Verified against the allowed signers: the key and the file's line.
    Allowed(shipcheck_sign::Verified),
    /// A valid signature by this key, with no allowed_signers to say who may sign.
    NotChecked {
        key: String,
    },
}

/// The profile's `gate.allowed_signers`, read and parsed (`None` when not set).
pub fn allowed_signers(profile: &Profile) -> Result<Option<AllowedSigners>, crate::Error> {
    let Some(file) = profile.file.gate.allowed_signers.as_deref() else {
        return Ok(None);
    };
    AllowedSigners::load(&profile.dir.join(file))
        .map(Some)
        .map_err(|e| crate::Error::usage(format!("gate.allowed_signers: {e}")))
}

/// Signs `s` (a sign-off of the run whose record digest is `digest`) as `how` says, and
/// checks it: against `signers` when the profile names them (an unsigned sign-off is then
/// refused), else that the signature is valid for its key. Nothing is recorded on `Err`.
pub fn sign_signoff(
    s: &mut Signoff,
    digest: &str,
    how: Signing,
    signers: Option<&AllowedSigners>,
    now: jiff::Timestamp,
) -> Result<Signed, String> {
    s.digest = Some(digest.to_owned());
    let msg = message::signoff(digest, s.role, &s.by);
    s.signature = signature(how, &msg)?;
    let checked = match signers {
        Some(list) => shipcheck_sign::verify_signoff(list, s, digest, now).map(Signed::Allowed),
        None => not_checked(s.signature.as_deref(), &msg),
    };
    checked.map_err(|e| refusal("sign-off", signers, e))
}

/// Signs `a` as `how` says and checks it as [`sign_signoff`] does; an unsigned attestation
/// is recorded unsigned even with allowed signers.
pub fn sign_attestation(
    a: &mut Attestation,
    how: Signing,
    signers: Option<&AllowedSigners>,
    now: jiff::Timestamp,
) -> Result<Signed, String> {
    // An attestation may be signed; an unsigned one is recorded as before.
    a.signature = None;
    if matches!(how, Signing::Unsigned) {
        return Ok(Signed::Unsigned);
    }
    let msg = message::attestation(a);
    a.signature = signature(how, &msg)?;
    let checked = match signers {
        Some(list) => shipcheck_sign::verify_attestation(list, a, now).map(Signed::Allowed),
        None => not_checked(a.signature.as_deref(), &msg),
    };
    checked.map_err(|e| refusal("attestation", signers, e))
}

fn signature(how: Signing, msg: &str) -> Result<Option<String>, String> {
    match how {
        Signing::Unsigned => Ok(None),
        Signing::Key(signer) => signer.sign(message::NAMESPACE, msg.as_bytes()).map(Some),
        Signing::Given(text) => Ok(Some(text)),
    }
}

fn not_checked(sig: Option<&str>, msg: &str) -> Result<Signed, shipcheck_sign::Refusal> {
    match sig {
        None => Ok(Signed::Unsigned),
        Some(sig) => shipcheck_sign::self_check(sig, msg).map(|key| Signed::NotChecked { key }),
    }
}

fn refusal(what: &str, signers: Option<&AllowedSigners>, e: shipcheck_sign::Refusal) -> String {
    match (signers, &e) {
        (Some(list), shipcheck_sign::Refusal::Unsigned) => format!(
            "not recorded: the profile requires signed {what}s (gate.allowed_signers: {}); pass --sign-with KEY, or --signature FILE made with `ssh-keygen -Y sign -n {}` over --print-message",
            list.path,
            message::NAMESPACE
        ),
        _ => format!("not recorded: the {what}'s signature does not hold: {e}"),
    }
}

/// Sets aside the attestations whose signature does not hold: checked against `signers`
/// when given (at the time each was recorded), else against the key it names. Unsigned
/// attestations stay. Returns why each was set aside.
pub fn screen_attestations(
    attestations: &mut Vec<Attestation>,
    signers: Option<&AllowedSigners>,
) -> Vec<String> {
    let mut why = Vec::new();
    attestations.retain(|a| {
        let Some(sig) = a.signature.as_deref() else {
            return true;
        };
        let checked = match signers {
            Some(list) => {
                let at = a
                    .attested_at
                    .parse()
                    .unwrap_or_else(|_| jiff::Timestamp::now());
                shipcheck_sign::verify_attestation(list, a, at).map(|_| ())
            }
            None => shipcheck_sign::self_check(sig, &message::attestation(a)).map(|_| ()),
        };
        match checked {
            Ok(()) => true,
            Err(e) => {
                why.push(format!(
                    "the attestation of {} by {} does not count: its signature does not hold: {e}",
                    a.item, a.by
                ));
                false
            }
        }
    });
    why
}

/// [`screen_attestations`] of `st` against `signers`, when given (the ledger's reading
/// already set aside those whose signature does not hold for their own key).
pub fn screen(st: &mut crate::Statements, signers: Option<&AllowedSigners>) {
    if signers.is_some() {
        let more = screen_attestations(&mut st.attestations, signers);
        st.set_aside.extend(more);
    }
}
