//! What a person's signature covers. Each message is short text, the same bytes on every
//! platform, so a signer can make it elsewhere: `shipcheck signoff --print-message > msg`,
//! then `ssh-keygen -Y sign -n shipcheck -f KEY msg`, and `--signature msg.sig`.
//! Free text is written as a JSON string, so no value can forge another field's line.

use shipcheck_core::pack::Role;
use shipcheck_core::statement::{Attestation, EvidenceRef};

/// The SSHSIG namespace of sign-offs and attestations.
pub const NAMESPACE: &str = "shipcheck";

/// `sha256:` of a run's record as stored (its JSON text): what a sign-off signs.
pub fn run_digest(body: &str) -> String {
    format!("sha256:{}", shipcheck_core::hex::sha256(body.as_bytes()))
}

/// The message of a sign-off for `role` by `by` of the run whose digest is `digest`.
pub fn signoff(digest: &str, role: Role, by: &str) -> String {
    format!(
        "shipcheck sign-off v1\nrun: {digest}\nrole: {}\nby: {}\n",
        role.as_str(),
        quoted(by)
    )
}

/// The message of an attestation: every field but the signature.
pub fn attestation(a: &Attestation) -> String {
    let opt = |v: &Option<String>| v.as_deref().map(quoted).unwrap_or_else(|| "-".into());
    let evidence = match &a.evidence {
        None => "-".to_owned(),
        Some(EvidenceRef::File { name, sha256, size }) => {
            format!("file sha256:{sha256} {size} {}", quoted(name))
        }
        Some(EvidenceRef::Url { url }) => format!("url {}", quoted(url)),
    };
    format!(
        "shipcheck attestation v1\nitem: {}\ndeployment: {}\nenvironment: {}\nrole: {}\nevidence: {evidence}\nattested-at: {}\nexpires: {}\nnote: {}\nby: {}\n",
        quoted(&a.item),
        opt(&a.deployment),
        opt(&a.environment),
        a.role.as_str(),
        quoted(&a.attested_at),
        opt(&a.expires),
        quoted(&a.note),
        quoted(&a.by),
    )
}

fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_cannot_forge_another_line() {
        let plain = signoff("sha256:ab", Role::Security, "alice");
        assert_eq!(
            plain,
            "shipcheck sign-off v1\nrun: sha256:ab\nrole: security\nby: \"alice\"\n"
        );
        let forged = signoff("sha256:ab", Role::Operations, "alice\"\nrole: security");
        assert_eq!(forged.lines().filter(|l| l.starts_with("role:")).count(), 1);
        assert_eq!(forged.lines().count(), 4);
    }
}
