//! Certificate facts from a served chain: validity, days left, lifetime used, key, signature
//! algorithm, self-signed, hostname match. Trust is judged by rustls/webpki in `mod.rs`.

use serde::Serialize;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

/// What shipcheck reports about a leaf certificate.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: i64,
    pub lifetime_days: i64,
    /// Share of the lifetime still ahead, 0–100.
    pub lifetime_left_percent: f64,
    pub expired: bool,
    pub not_yet_valid: bool,
    /// `RSA`, `EC` or another algorithm name.
    pub key_type: String,
    pub key_bits: usize,
    pub weak_key: bool,
    pub signature_algorithm: String,
    pub sha1_signature: bool,
    pub self_signed: bool,
    /// Whether the name asked for (SNI or host) is covered by the SANs.
    pub hostname_matches: bool,
    /// Certificates the server sent, leaf first.
    pub chain_length: usize,
    /// The leaf names an OCSP responder (Authority Information Access); CAs that stopped
    /// OCSP (Let's Encrypt, 2025) name none, and then stapling is moot.
    pub ocsp_url: Option<String>,
    /// The leaf's serial number, hex.
    pub serial: String,
    /// Bits of the serial number (CA/Browser Forum: at least 64 bits of randomness).
    pub serial_bits: usize,
    /// Key usage bits set (`digitalSignature`, `keyEncipherment`...); empty when absent.
    pub key_usage: Vec<String>,
    /// Extended key usage purposes (`serverAuth`...); empty when absent (any purpose).
    pub extended_key_usage: Vec<String>,
    /// Whether the usages allow a TLS server with this key (absent usages allow all).
    pub server_usage_ok: bool,
    /// Signed certificate timestamps embedded in the leaf (Certificate Transparency).
    pub embedded_scts: usize,
    /// SHA-256 fingerprint of each certificate sent, leaf first.
    pub fingerprints_sha256: Vec<String>,
}

const SHA1_SIGNATURES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.3.14.3.2.29", "sha1WithRSAEncryption"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10040.4.3", "dsa-with-SHA1"),
];

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption".into(),
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption".into(),
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption".into(),
        "1.2.840.113549.1.1.10" => "rsassa-pss".into(),
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256".into(),
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384".into(),
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512".into(),
        "1.3.101.112" => "ed25519".into(),
        other => SHA1_SIGNATURES
            .iter()
            .find(|(o, _)| *o == other)
            .map_or_else(|| other.to_string(), |(_, n)| n.to_string()),
    }
}

/// Parses the leaf of `chain` (DER, leaf first) and judges it for `name` at `now` (unix s).
pub fn facts(chain: &[Vec<u8>], name: &str, now: i64) -> Result<CertFacts, String> {
    let leaf = chain.first().ok_or("the server sent no certificate")?;
    let (_, cert) = X509Certificate::from_der(leaf)
        .map_err(|e| format!("cannot parse the server's certificate: {e}"))?;
    let nb = cert.validity().not_before.timestamp();
    let na = cert.validity().not_after.timestamp();
    let sans: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|g| match g {
                GeneralName::DNSName(d) => Some(d.to_string()),
                GeneralName::IPAddress(ip) => ip_string(ip),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let (key_type, key_bits) = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".to_string(), rsa.key_size()),
        Ok(PublicKey::EC(ec)) => ("EC".to_string(), ec.key_size()),
        Ok(other) => (
            format!("{:?}", std::mem::discriminant(&other)),
            other.key_size(),
        ),
        Err(_) => (cert.public_key().algorithm.algorithm.to_id_string(), 0),
    };
    let key_type = if cert.public_key().algorithm.algorithm.to_id_string() == "1.3.101.112" {
        "Ed25519".to_string()
    } else {
        key_type
    };
    let weak_key = match key_type.as_str() {
        "RSA" => key_bits < 2048,
        "EC" => key_bits < 256,
        _ => false,
    };
    let sig_oid = cert.signature_algorithm.algorithm.to_id_string();
    let usage = Usage::of(&cert);
    let server_usage_ok = usage.server_ok(&key_type);
    let lifetime = (na - nb).max(1);
    let iso = |t: i64| {
        jiff::Timestamp::from_second(t)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    Ok(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        hostname_matches: name_matches(name, &sans),
        sans,
        not_before: iso(nb),
        not_after: iso(na),
        days_left: (na - now).div_euclid(86_400),
        lifetime_days: lifetime / 86_400,
        lifetime_left_percent: (((na - now) as f64 / lifetime as f64) * 1000.0)
            .round()
            .clamp(0.0, 1000.0)
            / 10.0,
        expired: now > na,
        not_yet_valid: now < nb,
        key_type,
        key_bits,
        weak_key,
        sha1_signature: SHA1_SIGNATURES.iter().any(|(o, _)| *o == sig_oid),
        signature_algorithm: signature_name(&sig_oid),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        chain_length: chain.len(),
        ocsp_url: ocsp_url(&cert),
        serial: cert.raw_serial_as_string(),
        serial_bits: serial_bits(cert.raw_serial()),
        server_usage_ok,
        key_usage: usage.key,
        extended_key_usage: usage.extended,
        embedded_scts: usage.scts,
        fingerprints_sha256: chain.iter().map(|c| fingerprint(c)).collect(),
    })
}

/// SHA-256 of a DER certificate, as `AB:CD:...` (as `openssl x509 -fingerprint` prints).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn serial_bits(raw: &[u8]) -> usize {
    match raw.iter().position(|b| *b != 0) {
        Some(i) => (raw.len() - i - 1) * 8 + (8 - raw[i].leading_zeros() as usize),
        None => 0,
    }
}

/// Key usage, extended key usage and embedded SCTs of a certificate.
struct Usage {
    key: Vec<String>,
    extended: Vec<String>,
    any_purpose: bool,
    scts: usize,
}

impl Usage {
    fn of(cert: &X509Certificate<'_>) -> Usage {
        let mut u = Usage {
            key: Vec::new(),
            extended: Vec::new(),
            any_purpose: false,
            scts: 0,
        };
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::KeyUsage(ku) => {
                    let bits = [
                        (ku.digital_signature(), "digitalSignature"),
                        (ku.non_repudiation(), "nonRepudiation"),
                        (ku.key_encipherment(), "keyEncipherment"),
                        (ku.data_encipherment(), "dataEncipherment"),
                        (ku.key_agreement(), "keyAgreement"),
                        (ku.key_cert_sign(), "keyCertSign"),
                        (ku.crl_sign(), "cRLSign"),
                    ];
                    u.key = bits
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, n)| n.to_string())
                        .collect();
                }
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    let named = [
                        (eku.server_auth, "serverAuth"),
                        (eku.client_auth, "clientAuth"),
                        (eku.code_signing, "codeSigning"),
                        (eku.email_protection, "emailProtection"),
                        (eku.time_stamping, "timeStamping"),
                        (eku.ocsp_signing, "OCSPSigning"),
                    ];
                    u.extended = named
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, n)| n.to_string())
                        .collect();
                    u.extended
                        .extend(eku.other.iter().map(|o| o.to_id_string()));
                    u.any_purpose = eku.any;
                    if eku.any {
                        u.extended.push("anyExtendedKeyUsage".into());
                    }
                }
                ParsedExtension::SCT(scts) => u.scts = scts.len(),
                _ => {}
            }
        }
        u
    }

    /// RFC 5280 4.2.1.12 and the TLS key exchanges: an EKU must include serverAuth (or any);
    /// a key usage must allow signing (ECDHE, TLS 1.3) or, for RSA, key encipherment
    /// (static RSA key exchange).
    fn server_ok(&self, key_type: &str) -> bool {
        let eku_ok = self.extended.is_empty()
            || self.any_purpose
            || self.extended.iter().any(|e| e == "serverAuth");
        let has = |n: &str| self.key.iter().any(|k| k == n);
        let ku_ok = self.key.is_empty()
            || has("digitalSignature")
            || (key_type == "RSA" && has("keyEncipherment"));
        eku_ok && ku_ok
    }
}

/// The OCSP responder named in the certificate's Authority Information Access.
fn ocsp_url(cert: &X509Certificate<'_>) -> Option<String> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => aia.accessdescs.iter().find_map(|d| {
                (d.access_method.to_id_string() == "1.3.6.1.5.5.7.48.1")
                    .then(|| match &d.access_location {
                        GeneralName::URI(u) => Some(u.to_string()),
                        _ => None,
                    })
                    .flatten()
            }),
            _ => None,
        })
}

/// Whether the last certificate sent names an issuer that was not sent and is not itself
/// (an intermediate is missing, as opposed to a chain that ends in an unknown root).
pub fn ends_without_issuer(chain: &[Vec<u8>]) -> bool {
    let Some(last) = chain.last() else {
        return false;
    };
    let Ok((_, cert)) = X509Certificate::from_der(last) else {
        return false;
    };
    cert.subject().as_raw() != cert.issuer().as_raw()
}

fn ip_string(raw: &[u8]) -> Option<String> {
    match raw.len() {
        4 => Some(std::net::Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).to_string()),
        16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(raw);
            Some(std::net::Ipv6Addr::from(b).to_string())
        }
        _ => None,
    }
}

/// RFC 6125 matching: exact (case-insensitive), or a `*.` wildcard covering one label.
pub fn name_matches(name: &str, sans: &[String]) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        return sans
            .iter()
            .any(|s| s.parse::<std::net::IpAddr>().ok() == Some(ip));
    }
    sans.iter().any(|san| {
        let san = san.trim_end_matches('.').to_ascii_lowercase();
        match san.strip_prefix("*.") {
            Some(base) => name
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == base),
            None => san == name,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_rules() {
        let sans = vec![
            "*.example.com".to_string(),
            "example.com".to_string(),
            "127.0.0.1".to_string(),
        ];
        assert!(name_matches("a.example.com", &sans));
        assert!(name_matches("EXAMPLE.com.", &sans));
        assert!(!name_matches("a.b.example.com", &sans));
        assert!(!name_matches("example.com.evil.test", &sans));
        assert!(name_matches("127.0.0.1", &sans));
        assert!(!name_matches("127.0.0.2", &sans));
    }
}
