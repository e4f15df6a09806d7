//! Trust apart from time and name: the served chain verified by webpki against the trust
//! anchors at a time inside the leaf's validity and for a name it holds, and the verifier's
//! errors said in words.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use shipcheck_net::{provider, roots};

use super::{Target, cert};

/// Verifies the chain to the trust anchors at a time inside the leaf's validity and for a
/// name the leaf holds, so that "untrusted" is not confused with expired or wrong host.
/// `Err` when there is nothing to verify against (a CA file that cannot be read, a host
/// without a CA bundle): that is could-not-check, never "untrusted".
pub(crate) fn trust(
    target: &Target,
    chain: &[Vec<u8>],
    facts: &cert::CertFacts,
) -> Result<(bool, Option<String>), String> {
    let roots = roots(target.ca_file.as_deref())?;
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::clone(&roots), provider())
            .build()
            .map_err(|e| format!("cannot verify against the trust anchors: {e}"))?;
    Ok(judge_chain(target, chain, facts, &roots, &verifier))
}

/// The verdict of `verifier` on the chain.
fn judge_chain(
    target: &Target,
    chain: &[Vec<u8>],
    facts: &cert::CertFacts,
    roots: &rustls::RootCertStore,
    verifier: &rustls::client::WebPkiServerVerifier,
) -> (bool, Option<String>) {
    let certs: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|c| CertificateDer::from(c.clone()))
        .collect();
    let name = facts
        .sans
        .first()
        .cloned()
        .unwrap_or_else(|| target.name().to_string());
    let Ok(server_name) = ServerName::try_from(name) else {
        return (false, Some("the certificate names no usable host".into()));
    };
    let mid = |s: &str| {
        s.parse::<jiff::Timestamp>()
            .map(|t| t.as_second())
            .unwrap_or(0)
    };
    let at = (mid(&facts.not_before) + mid(&facts.not_after)) / 2;
    let now = UnixTime::since_unix_epoch(Duration::from_secs(at.max(0) as u64));
    match verifier.verify_server_cert(&certs[0], &certs[1..], &server_name, &[], now) {
        Ok(_) => (true, None),
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
        | Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForNameContext { .. },
        )) => (true, None),
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            (false, Some("unknown issuer".into()))
        }
        // webpki does not check SHA-1 signatures at all, so a SHA-1 chain would read as
        // untrusted; its digest is already its own finding (`sha1_signature`). Trust is
        // judged apart from digest strength, with the legacy algorithms (as `openssl verify`).
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | rustls::CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. },
        )) if facts.sha1_signature => match legacy_chain(chain, roots) {
            Ok(()) => (true, None),
            Err(why) => (false, Some(why)),
        },
        // A leaf whose usages exclude a TLS server is refused by clients, and that is its
        // own finding (`key_usage_invalid`): trust is judged apart from it.
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::InvalidPurpose
            | rustls::CertificateError::InvalidPurposeContext { .. },
        )) if !facts.server_usage_ok => match legacy_chain(chain, roots) {
            Ok(()) => (true, None),
            Err(why) => (false, Some(why)),
        },
        Err(rustls::Error::InvalidCertificate(e)) => (false, Some(certificate_error_words(&e))),
        Err(e) => (false, Some(e.to_string())),
    }
}

/// A certificate error for a person (rustls' own text is a debug dump of the error, with
/// algorithm identifiers as byte lists).
fn certificate_error_words(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match e {
        E::BadEncoding => "a certificate in the chain is not valid DER".into(),
        E::Expired | E::ExpiredContext { .. } => "a certificate in the chain has expired".into(),
        E::NotValidYet | E::NotValidYetContext { .. } => {
            "a certificate in the chain is not valid yet".into()
        }
        E::Revoked => "a certificate in the chain is revoked".into(),
        E::UnhandledCriticalExtension => {
            "a certificate has a critical extension the verifier does not know".into()
        }
        E::UnknownIssuer => "unknown issuer".into(),
        E::BadSignature => "a signature in the chain does not verify".into(),
        E::UnsupportedSignatureAlgorithmContext { .. }
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "a certificate is signed with an algorithm or key the verifier does not accept (SHA-1, or an RSA key under 2048 bits)".into()
        }
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => {
            "the certificate is not for server authentication".into()
        }
        E::Other(other) => {
            let inner = other.to_string();
            match inner.as_str() {
                "CaUsedAsEndEntity" => {
                    "the server's own certificate is a CA certificate (a self-made CA used as the server's certificate)".into()
                }
                _ => format!("the chain does not verify: {}", camel_to_words(&inner)),
            }
        }
        other => format!(
            "the chain does not verify: {}",
            camel_to_words(&format!("{other:?}"))
        ),
    }
}

/// `CaUsedAsEndEntity` → `ca used as end entity`; fields after the name are dropped.
fn camel_to_words(debug: &str) -> String {
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| !w.is_empty() && w != &"Other" && w != &"OtherError")
        .unwrap_or("unknown error");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Verifies `chain` (leaf first) up to one of `roots` with x509-parser's signature check,
/// which accepts SHA-1 (ring's legacy algorithms): each certificate signed by the next, the
/// last by a trust anchor with its issuer's name.
fn legacy_chain(chain: &[Vec<u8>], roots: &rustls::RootCertStore) -> Result<(), String> {
    use x509_parser::prelude::*;
    let certs = chain
        .iter()
        .map(|der| X509Certificate::from_der(der).map(|(_, c)| c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("a certificate in the chain does not parse: {e}"))?;
    for (i, cert) in certs.iter().enumerate() {
        if let Some(next) = certs.get(i + 1)
            && next.subject().as_raw() == cert.issuer().as_raw()
        {
            cert.verify_signature(Some(next.public_key()))
                .map_err(|_| "a signature in the chain does not verify".to_string())?;
            continue;
        }
        // The anchors keep the subject and key without their outer SEQUENCE.
        for anchor in &roots.roots {
            if sequence(anchor.subject.as_ref()) != cert.issuer().as_raw() {
                continue;
            }
            let spki = sequence(anchor.subject_public_key_info.as_ref());
            let Ok((_, key)) = SubjectPublicKeyInfo::from_der(&spki) else {
                continue;
            };
            if cert.verify_signature(Some(&key)).is_ok() {
                return Ok(());
            }
        }
        return Err("unknown issuer".into());
    }
    Err("unknown issuer".into())
}

/// `value` wrapped as a DER SEQUENCE.
fn sequence(value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn certificate_errors_in_words() {
        assert_eq!(
            super::camel_to_words("CaUsedAsEndEntity"),
            "ca used as end entity"
        );
        assert_eq!(
            super::camel_to_words("Other(OtherError(UnsupportedCriticalExtension))"),
            "unsupported critical extension"
        );
        let e = rustls::CertificateError::BadSignature;
        assert_eq!(
            super::certificate_error_words(&e),
            "a signature in the chain does not verify"
        );
    }
}
