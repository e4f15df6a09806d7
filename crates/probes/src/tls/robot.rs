//! The ROBOT oracle (Return Of Bleichenbacher's Oracle Threat), tested as sslyze does: with
//! RSA key exchange, five ClientKeyExchange messages whose PKCS #1 v1.5 padding is right or
//! wrong in different ways, each on its own connection followed by ChangeCipherSpec and a
//! Finished the server cannot decrypt. A sound server answers all five the same way (the
//! Finished fails); an oracle answers differently depending on the padding, which lets an
//! attacker decrypt recorded sessions or sign with the server's key; different answers are
//! asked a second time, and only the same pattern twice is a finding. Only the first round
//! of sslyze's test (with the Finished) is run: the second waits for timeouts by design.
//! The premaster secrets are random and never reused. Bounded: five connections, the
//! scan's timeout (at most 2 s for each answer).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use num_bigint::BigUint;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

use super::hello::{self, Answer, Offer, Version};

/// What the check saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Robot {
    /// The server takes no RSA key exchange suite: no oracle to look for.
    NoRsaKeyExchange,
    NotVulnerable,
    /// The five padding variants got these different answers.
    Vulnerable(Vec<String>),
}

/// RSA key exchange suites (static RSA), the only ones ROBOT concerns.
const RSA_KX: &[u16] = &[
    0x002F, 0x0035, 0x003C, 0x003D, 0x009C, 0x009D, 0x000A, 0x0041, 0x0084, 0x0096, 0x00BA, 0x00C0,
    0xC09C, 0xC09D, 0xC0A0, 0xC0A1, 0xC050, 0xC051, 0x0005, 0x0004,
];

/// The padding variants (sslyze's names).
#[derive(Clone, Copy, Debug)]
enum Variant {
    Correct,
    WrongFirstTwoBytes,
    ZeroInWrongPlace,
    NoZeroSeparator,
    WrongVersion,
}

const VARIANTS: [Variant; 5] = [
    Variant::Correct,
    Variant::WrongFirstTwoBytes,
    Variant::ZeroInWrongPlace,
    Variant::NoZeroSeparator,
    Variant::WrongVersion,
];

/// Tests `addr` at `version` (a TLS ≤ 1.2 version it accepts).
pub fn check(
    addr: SocketAddr,
    version: Version,
    sni: Option<&str>,
    timeout: Duration,
) -> Result<Robot, String> {
    let Some(first) = round(addr, version, sni, timeout)? else {
        return Ok(Robot::NoRsaKeyExchange);
    };
    if first.iter().all(|a| *a == first[0]) {
        return Ok(Robot::NotVulnerable);
    }
    // Different answers: an oracle only if a second round gives the same ones (sslyze
    // confirms too); otherwise the server or the path is unsteady, and nothing is known.
    match round(addr, version, sni, timeout)? {
        Some(second) if second == first => Ok(Robot::Vulnerable(first)),
        _ => Err(format!(
            "the answers to the padding variants changed between two rounds ({} then another): no verdict",
            first.join(", ")
        )),
    }
}

/// The server's answer to each padding variant, or `None` when it takes no RSA key
/// exchange suite.
fn round(
    addr: SocketAddr,
    version: Version,
    sni: Option<&str>,
    timeout: Duration,
) -> Result<Option<Vec<String>>, String> {
    let mut answers = Vec::new();
    for variant in VARIANTS {
        match attempt(addr, version, sni, timeout, variant)? {
            None => return Ok(None),
            Some(a) => answers.push(a),
        }
    }
    Ok(Some(answers))
}

/// One handshake with a ClientKeyExchange of `variant`: the server's answer in words, or
/// `None` when it takes no RSA key exchange suite.
fn attempt(
    addr: SocketAddr,
    version: Version,
    sni: Option<&str>,
    timeout: Duration,
    variant: Variant,
) -> Result<Option<String>, String> {
    let (answer, mut conn) = hello::open(addr, &Offer::new(version, RSA_KX, sni).hello(), timeout)?;
    match answer {
        Answer::Accepted { suite, .. } if RSA_KX.contains(&suite) => {}
        _ => return Ok(None),
    }
    let messages = conn.flight()?;
    let (_, certificate) = messages
        .iter()
        .find(|(t, _)| *t == 11)
        .ok_or("the server sent no Certificate")?;
    let (n, e) = rsa_key(certificate)?;
    let k = n.to_bytes_be().len();
    let plain = padded(variant, k, version.wire())?;
    let c = BigUint::from_bytes_be(&plain).modpow(&e, &n).to_bytes_be();
    let mut cke_body = (k as u16).to_be_bytes().to_vec();
    cke_body.extend(std::iter::repeat_n(0u8, k - c.len()));
    cke_body.extend_from_slice(&c);
    let w = version.wire();
    let mut out = Vec::new();
    let mut cke = vec![16u8];
    cke.extend_from_slice(&(cke_body.len() as u32).to_be_bytes()[1..]);
    cke.extend_from_slice(&cke_body);
    out.extend_from_slice(&[0x16, w[0], w[1]]);
    out.extend_from_slice(&(cke.len() as u16).to_be_bytes());
    out.extend_from_slice(&cke);
    out.extend_from_slice(&[0x14, w[0], w[1], 0, 1, 1]);
    // A Finished the server cannot decrypt (40 bytes, as an AEAD or CBC record would be).
    out.extend_from_slice(&[0x16, w[0], w[1], 0, 40]);
    out.extend(std::iter::repeat_n(0x5A, 40));
    conn.stream
        .write_all(&out)
        .map_err(|e| format!("cannot send the ClientKeyExchange: {e}"))?;
    conn.stream
        .set_read_timeout(Some(timeout.min(Duration::from_secs(2))))
        .ok();
    let mut buf = [0u8; 512];
    let mut got = Vec::new();
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) if got.is_empty() => return Ok(Some("closed".into())),
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() >= 7 || got.len() > 256 {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ok(Some("reset".into()));
            }
            Err(_) if got.is_empty() => return Ok(Some("silent".into())),
            Err(_) => break,
        }
    }
    Ok(Some(match got.as_slice() {
        [0x15, _, _, _, _, level, desc, ..] => format!("alert {level}/{desc}"),
        [kind, ..] => format!("record {kind}"),
        [] => "closed".into(),
    }))
}

/// The RSA modulus and exponent of the first certificate of a Certificate message.
fn rsa_key(certificate: &[u8]) -> Result<(BigUint, BigUint), String> {
    let len = |b: &[u8]| u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize;
    let first = certificate
        .get(3..6)
        .map(len)
        .and_then(|n| certificate.get(6..6 + n))
        .ok_or("the Certificate message is truncated")?;
    let (_, cert) = X509Certificate::from_der(first)
        .map_err(|e| format!("cannot parse the server's certificate: {e}"))?;
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => Ok((
            BigUint::from_bytes_be(rsa.modulus),
            BigUint::from_bytes_be(rsa.exponent),
        )),
        _ => Err("the certificate of an RSA key exchange has no RSA key".into()),
    }
}

/// The `k`-byte message for `variant`: PKCS #1 v1.5 type 2 padding of a 48-byte premaster
/// secret (client `version`, 46 random bytes), right or wrong.
fn padded(variant: Variant, k: usize, version: [u8; 2]) -> Result<Vec<u8>, String> {
    if k < 64 {
        return Err(format!("an RSA key of {} bits is too small to test", k * 8));
    }
    let random = nonzero_random(k)?;
    let pad = &random[..k - 3 - 48];
    let secret = &random[k - 46..];
    // (first two bytes, separator, premaster version, a zero inside the premaster secret)
    let (head, separator, pms_version, zero_inside) = match variant {
        Variant::Correct => ([0, 2], 0, version, false),
        Variant::WrongFirstTwoBytes => ([0x41, 0x17], 0, version, false),
        Variant::ZeroInWrongPlace => ([0, 2], 0x11, version, true),
        Variant::NoZeroSeparator => ([0, 2], 0x11, version, false),
        Variant::WrongVersion => ([0, 2], 0, [2, 2], false),
    };
    let mut m = Vec::with_capacity(k);
    m.extend_from_slice(&head);
    m.extend_from_slice(pad);
    m.push(separator);
    m.extend_from_slice(&pms_version);
    m.extend_from_slice(secret);
    if zero_inside {
        m[k - 2] = 0;
    }
    Ok(m)
}

/// `n` random bytes, none of them zero (padding bytes must not be).
fn nonzero_random(n: usize) -> Result<Vec<u8>, String> {
    use ring::rand::SecureRandom;
    let rng = ring::rand::SystemRandom::new();
    let mut out = vec![0u8; n];
    rng.fill(&mut out).map_err(|_| "no randomness")?;
    for b in &mut out {
        if *b == 0 {
            *b = 0x42;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paddings_have_the_key_length_and_differ_where_meant() {
        let k = 256;
        let ok = padded(Variant::Correct, k, [3, 3]).unwrap();
        assert_eq!(ok.len(), k);
        assert_eq!(&ok[..2], &[0, 2]);
        assert_eq!(ok[k - 49], 0);
        assert_eq!(&ok[k - 48..k - 46], &[3, 3]);
        assert!(ok[2..k - 49].iter().all(|b| *b != 0));
        for v in VARIANTS {
            assert_eq!(padded(v, k, [3, 3]).unwrap().len(), k, "{v:?}");
        }
        let none = padded(Variant::NoZeroSeparator, k, [3, 3]).unwrap();
        assert!(none[2..].iter().all(|b| *b != 0));
        assert_eq!(
            &padded(Variant::WrongFirstTwoBytes, k, [3, 3]).unwrap()[..2],
            &[0x41, 0x17]
        );
        let wrong = padded(Variant::WrongVersion, k, [3, 3]).unwrap();
        assert_eq!(&wrong[k - 48..k - 46], &[2, 2]);
        assert!(padded(Variant::Correct, 32, [3, 3]).is_err());
    }
}
