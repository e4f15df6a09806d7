//! Client-initiated renegotiation (CVE-2011-1473): does the server redo a handshake when
//! its client asks, inside an established TLS 1.2 session? rustls cannot renegotiate, so
//! this is a minimal TLS 1.2 client written on ring's primitives: ECDHE (x25519 or P-256)
//! with AES-GCM, RFC 5246 and RFC 7627 key derivation. It completes one handshake (the
//! server's signature is not verified: nothing secret is sent, and trust is judged
//! elsewhere), then sends a ClientHello carrying RFC 5746's `renegotiation_info` and reads
//! the answer: an encrypted ServerHello means accepted; a `no_renegotiation` alert, a
//! close, or silence means refused. Hand-written because no maintained Rust TLS library
//! renegotiates. Bounded: one connection, the scan's timeout, 64 KiB read.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ring::{aead, agreement, digest, hmac, rand};

use super::hello::{self, Offer, Version};

/// The suites this client speaks: (id, AES key length, SHA-384 PRF).
const SUITES: &[(u16, usize, bool)] = &[
    (0xC02F, 16, false), // ECDHE-RSA-AES128-GCM-SHA256
    (0xC02B, 16, false), // ECDHE-ECDSA-AES128-GCM-SHA256
    (0xC030, 32, true),  // ECDHE-RSA-AES256-GCM-SHA384
    (0xC02C, 32, true),  // ECDHE-ECDSA-AES256-GCM-SHA384
];

const READ_LIMIT: usize = 64 * 1024;

/// Whether the server accepts a renegotiation started by its client. `Ok(None)`: the
/// server takes none of the suites or groups this client speaks, so it cannot be asked.
pub fn client_initiated(
    addr: SocketAddr,
    sni: Option<&str>,
    timeout: Duration,
) -> Result<Option<bool>, String> {
    let ids: Vec<u16> = SUITES.iter().map(|s| s.0).collect();
    let groups = [0x001D, 0x0017];
    let offer = Offer {
        groups: Some(&groups),
        ..Offer::new(Version::Tls12, &ids, sni)
    };
    let first = offer.hello();
    let client_random: [u8; 32] = first[11..43].try_into().map_err(|_| "hello too short")?;
    let (answer, mut conn) = hello::open(addr, &first, timeout)?;
    let hello::Answer::Accepted { version, suite, .. } = answer else {
        return Ok(None);
    };
    let Some(&(_, key_len, sha384)) = SUITES.iter().find(|s| s.0 == suite) else {
        return Ok(None);
    };
    if version != [3, 3] {
        return Ok(None);
    }
    let messages = conn.flight()?;
    let mut transcript = first[5..].to_vec();
    for (kind, body) in &messages {
        transcript.extend_from_slice(&message(*kind, body));
    }
    let (_, server_hello) = messages
        .iter()
        .find(|(t, _)| *t == 2)
        .ok_or("no ServerHello")?;
    let server_random: [u8; 32] = server_hello
        .get(2..34)
        .and_then(|r| r.try_into().ok())
        .ok_or("truncated ServerHello")?;
    let ems = has_extension(server_hello, 0x0017);
    let (_, ske) = messages
        .iter()
        .find(|(t, _)| *t == 12)
        .ok_or("no ServerKeyExchange")?;
    let (group, server_public) = match ske.as_slice() {
        [3, a, b, n, rest @ ..] if rest.len() >= *n as usize => {
            (u16::from_be_bytes([*a, *b]), rest[..*n as usize].to_vec())
        }
        _ => return Err("unexpected ServerKeyExchange".into()),
    };
    let algorithm = match group {
        0x001D => &agreement::X25519,
        0x0017 => &agreement::ECDH_P256,
        _ => return Ok(None),
    };
    let rng = rand::SystemRandom::new();
    let private = agreement::EphemeralPrivateKey::generate(algorithm, &rng)
        .map_err(|_| "cannot make an ephemeral key")?;
    let public = private
        .compute_public_key()
        .map_err(|_| "cannot make an ephemeral key")?;
    let pms = agreement::agree_ephemeral(
        private,
        &agreement::UnparsedPublicKey::new(algorithm, &server_public),
        |shared| shared.to_vec(),
    )
    .map_err(|_| "the server's key share is invalid")?;

    let mut out = Vec::new();
    if messages.iter().any(|(t, _)| *t == 13) {
        // A certificate request: answer with no certificate.
        let empty = message(11, &[0, 0, 0]);
        transcript.extend_from_slice(&empty);
        out.extend(record(0x16, &empty));
    }
    let mut cke_body = vec![public.as_ref().len() as u8];
    cke_body.extend_from_slice(public.as_ref());
    let cke = message(16, &cke_body);
    transcript.extend_from_slice(&cke);
    out.extend(record(0x16, &cke));
    let prf = Prf::new(sha384);
    let master = if ems {
        prf.derive(&pms, b"extended master secret", &prf.hash(&transcript), 48)
    } else {
        let seed = [client_random, server_random].concat();
        prf.derive(&pms, b"master secret", &seed, 48)
    };
    let block = prf.derive(
        &master,
        b"key expansion",
        &[server_random, client_random].concat(),
        2 * key_len + 8,
    );
    let mut client = Direction::new(&block[..key_len], &block[2 * key_len..2 * key_len + 4])?;
    let mut server = Direction::new(
        &block[key_len..2 * key_len],
        &block[2 * key_len + 4..2 * key_len + 8],
    )?;
    let verify_data = prf.derive(&master, b"client finished", &prf.hash(&transcript), 12);
    out.extend(record(0x14, &[1]));
    out.extend(client.seal(0x16, &message(20, &verify_data))?);
    conn.stream
        .write_all(&out)
        .map_err(|e| format!("cannot finish the handshake: {e}"))?;

    // The server's ChangeCipherSpec and Finished.
    let mut reader = Records::new(&mut conn.stream);
    loop {
        let (kind, payload) = reader.next()?.ok_or("the server closed the handshake")?;
        match kind {
            0x14 => continue,
            0x15 => return Err("the server refused to finish the handshake".into()),
            0x16 => {
                let plain = server.open(0x16, &payload)?;
                if plain.first() != Some(&20) {
                    return Err("the server's Finished is missing".into());
                }
                break;
            }
            _ => return Err("unexpected record during the handshake".into()),
        }
    }
    // Renegotiate: a new ClientHello with the client's verify data (RFC 5746).
    let again = Offer {
        groups: Some(&groups),
        renegotiating: Some(&verify_data),
        ..Offer::new(Version::Tls12, &ids, sni)
    }
    .hello();
    let sealed = client.seal(0x16, &again[5..])?;
    reader
        .stream
        .write_all(&sealed)
        .map_err(|e| format!("cannot send the renegotiation hello: {e}"))?;
    reader
        .stream
        .set_read_timeout(Some(timeout.min(Duration::from_secs(2))))
        .ok();
    loop {
        let (kind, payload) = match reader.next() {
            Ok(Some(r)) => r,
            // Closed, reset or silent: not renegotiated.
            Ok(None) | Err(_) => return Ok(Some(false)),
        };
        let plain = server.open(kind, &payload)?;
        match (kind, plain.first()) {
            (0x16, Some(2)) => return Ok(Some(true)),
            // A HelloRequest or a NewSessionTicket before the answer: read on.
            (0x16, _) | (0x17, _) => continue,
            (0x15, _) => return Ok(Some(false)),
            _ => return Ok(Some(false)),
        }
    }
}

/// A handshake message: type, 24-bit length, body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn record(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![kind, 3, 3];
    r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

/// Whether a ServerHello body carries extension `id`.
pub(crate) fn has_extension(server_hello: &[u8], id: u16) -> bool {
    let Some(&sid) = server_hello.get(34) else {
        return false;
    };
    let at = 35 + sid as usize + 3; // session id, suite, compression
    let mut i = at + 2;
    while let Some(h) = server_hello.get(i..i + 4) {
        if u16::from_be_bytes([h[0], h[1]]) == id {
            return true;
        }
        i += 4 + u16::from_be_bytes([h[2], h[3]]) as usize;
    }
    false
}

/// The TLS 1.2 PRF (RFC 5246 5) over SHA-256 or SHA-384.
struct Prf {
    mac: hmac::Algorithm,
    hash: &'static digest::Algorithm,
}

impl Prf {
    fn new(sha384: bool) -> Prf {
        if sha384 {
            Prf {
                mac: hmac::HMAC_SHA384,
                hash: &digest::SHA384,
            }
        } else {
            Prf {
                mac: hmac::HMAC_SHA256,
                hash: &digest::SHA256,
            }
        }
    }

    fn hash(&self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.hash, data).as_ref().to_vec()
    }

    fn derive(&self, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
        let key = hmac::Key::new(self.mac, secret);
        let seed = [label, seed].concat();
        let mut a = hmac::sign(&key, &seed).as_ref().to_vec();
        let mut out = Vec::with_capacity(len + 48);
        while out.len() < len {
            out.extend_from_slice(hmac::sign(&key, &[a.as_slice(), &seed].concat()).as_ref());
            a = hmac::sign(&key, &a).as_ref().to_vec();
        }
        out.truncate(len);
        out
    }
}

/// One direction of the record layer: AES-GCM with an explicit nonce (RFC 5288).
struct Direction {
    key: aead::LessSafeKey,
    salt: [u8; 4],
    seq: u64,
}

impl Direction {
    fn new(key: &[u8], salt: &[u8]) -> Result<Direction, String> {
        let algorithm = if key.len() == 32 {
            &aead::AES_256_GCM
        } else {
            &aead::AES_128_GCM
        };
        let key = aead::UnboundKey::new(algorithm, key).map_err(|_| "bad key length")?;
        Ok(Direction {
            key: aead::LessSafeKey::new(key),
            salt: salt.try_into().map_err(|_| "bad IV length")?,
            seq: 0,
        })
    }

    fn nonce(&self, explicit: [u8; 8]) -> aead::Nonce {
        let mut n = [0u8; 12];
        n[..4].copy_from_slice(&self.salt);
        n[4..].copy_from_slice(&explicit);
        aead::Nonce::assume_unique_for_key(n)
    }

    fn aad(&self, kind: u8, len: usize) -> aead::Aad<[u8; 13]> {
        let mut a = [0u8; 13];
        a[..8].copy_from_slice(&self.seq.to_be_bytes());
        a[8] = kind;
        a[9..11].copy_from_slice(&[3, 3]);
        a[11..].copy_from_slice(&(len as u16).to_be_bytes());
        aead::Aad::from(a)
    }

    /// An encrypted record of `kind` carrying `plain`.
    fn seal(&mut self, kind: u8, plain: &[u8]) -> Result<Vec<u8>, String> {
        let explicit = self.seq.to_be_bytes();
        let mut buf = plain.to_vec();
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(explicit), self.aad(kind, plain.len()), &mut buf)
            .map_err(|_| "encryption failed")?;
        self.seq += 1;
        let mut payload = explicit.to_vec();
        payload.extend_from_slice(&buf);
        payload.extend_from_slice(tag.as_ref());
        Ok(record(kind, &payload))
    }

    /// The plaintext of an encrypted record's `payload`.
    fn open(&mut self, kind: u8, payload: &[u8]) -> Result<Vec<u8>, String> {
        if payload.len() < 8 + 16 {
            return Err("an encrypted record is too short".into());
        }
        let explicit: [u8; 8] = payload[..8].try_into().map_err(|_| "short record")?;
        let mut buf = payload[8..].to_vec();
        let aad = self.aad(kind, buf.len() - 16);
        let plain = self
            .key
            .open_in_place(self.nonce(explicit), aad, &mut buf)
            .map_err(|_| "a record from the server does not decrypt")?;
        self.seq += 1;
        Ok(plain.to_vec())
    }
}

/// Records read from a stream after the first flight.
struct Records<'a> {
    stream: &'a mut TcpStream,
    buf: Vec<u8>,
    total: usize,
}

impl<'a> Records<'a> {
    /// The first flight was read whole: nothing of it is left over.
    fn new(stream: &'a mut TcpStream) -> Records<'a> {
        Records {
            stream,
            buf: Vec::new(),
            total: 0,
        }
    }

    /// The next record (type, payload), or `None` when the peer closed.
    fn next(&mut self) -> Result<Option<(u8, Vec<u8>)>, String> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(head) = self.buf.get(..5) {
                let len = u16::from_be_bytes([head[3], head[4]]) as usize;
                if self.buf.len() >= 5 + len {
                    let kind = head[0];
                    let payload = self.buf[5..5 + len].to_vec();
                    self.buf.drain(..5 + len);
                    return Ok(Some((kind, payload)));
                }
            }
            if self.total > READ_LIMIT {
                return Err("the server sent more than 64 KiB".into());
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    self.total += n;
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) => return Err(format!("reading from the server: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5246 PRF test vector (SHA-256), as published by the IETF TLS working group.
    #[test]
    fn prf_sha256_vector() {
        let secret = [
            0x9b, 0xbe, 0x43, 0x6b, 0xa9, 0x40, 0xf0, 0x17, 0xb1, 0x76, 0x52, 0x84, 0x9a, 0x71,
            0xdb, 0x35,
        ];
        let seed = [
            0xa0, 0xba, 0x9f, 0x93, 0x6c, 0xda, 0x31, 0x18, 0x27, 0xa6, 0xf7, 0x96, 0xff, 0xd5,
            0x19, 0x8c,
        ];
        let out = Prf::new(false).derive(&secret, b"test label", &seed, 16);
        assert_eq!(
            out,
            [
                0xe3, 0xf2, 0x29, 0xba, 0x72, 0x7b, 0xe1, 0x7b, 0x8d, 0x12, 0x26, 0x20, 0x55, 0x7c,
                0xd4, 0x53
            ]
        );
    }
}
