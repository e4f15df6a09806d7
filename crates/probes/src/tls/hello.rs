//! A hand-built TLS ClientHello, so shipcheck can ask a server whether it still *accepts*
//! TLS 1.0/1.1 and weak cipher suites: rustls cannot speak them, and a system OpenSSL
//! refuses to offer most of them. Only the server's first answer (ServerHello or alert)
//! is read; no handshake is completed. Bounded: one connection per question, a timeout,
//! and at most 16 KiB read.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Protocol versions the hand-built hello can offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Tls10,
    Tls11,
    Tls12,
}

impl Version {
    pub fn wire(self) -> [u8; 2] {
        match self {
            Version::Tls10 => [3, 1],
            Version::Tls11 => [3, 2],
            Version::Tls12 => [3, 3],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Version::Tls10 => "TLS 1.0",
            Version::Tls11 => "TLS 1.1",
            Version::Tls12 => "TLS 1.2",
        }
    }
}

/// How a cipher suite is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// In Mozilla's "intermediate" set: (EC)DHE key exchange with an AEAD cipher.
    Good,
    /// Outside "intermediate" but not broken: CBC or non-AEAD, static RSA key exchange.
    Weak,
    /// Broken: NULL, anonymous, EXPORT, RC4, DES or 3DES.
    Insecure,
}

/// A TLS ≤ 1.2 cipher suite: IANA id, OpenSSL-style name, class.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    pub class: Class,
}

macro_rules! suites {
    ($($id:literal $name:literal $class:ident),* $(,)?) => {
        /// Suites the scanner knows and offers.
        pub const SUITES: &[Suite] = &[$(Suite { id: $id, name: $name, class: Class::$class }),*];
    };
}

suites! {
    0xC02B "ECDHE-ECDSA-AES128-GCM-SHA256" Good,
    0xC02C "ECDHE-ECDSA-AES256-GCM-SHA384" Good,
    0xC02F "ECDHE-RSA-AES128-GCM-SHA256" Good,
    0xC030 "ECDHE-RSA-AES256-GCM-SHA384" Good,
    0xCCA8 "ECDHE-RSA-CHACHA20-POLY1305" Good,
    0xCCA9 "ECDHE-ECDSA-CHACHA20-POLY1305" Good,
    0xCCAA "DHE-RSA-CHACHA20-POLY1305" Good,
    0x009E "DHE-RSA-AES128-GCM-SHA256" Good,
    0x009F "DHE-RSA-AES256-GCM-SHA384" Good,
    0xC009 "ECDHE-ECDSA-AES128-SHA" Weak,
    0xC00A "ECDHE-ECDSA-AES256-SHA" Weak,
    0xC013 "ECDHE-RSA-AES128-SHA" Weak,
    0xC014 "ECDHE-RSA-AES256-SHA" Weak,
    0xC023 "ECDHE-ECDSA-AES128-SHA256" Weak,
    0xC024 "ECDHE-ECDSA-AES256-SHA384" Weak,
    0xC027 "ECDHE-RSA-AES128-SHA256" Weak,
    0xC028 "ECDHE-RSA-AES256-SHA384" Weak,
    0x0033 "DHE-RSA-AES128-SHA" Weak,
    0x0039 "DHE-RSA-AES256-SHA" Weak,
    0x0067 "DHE-RSA-AES128-SHA256" Weak,
    0x006B "DHE-RSA-AES256-SHA256" Weak,
    0x009C "AES128-GCM-SHA256" Weak,
    0x009D "AES256-GCM-SHA384" Weak,
    0x002F "AES128-SHA" Weak,
    0x0035 "AES256-SHA" Weak,
    0x003C "AES128-SHA256" Weak,
    0x003D "AES256-SHA256" Weak,
    0x0041 "CAMELLIA128-SHA" Weak,
    0x0084 "CAMELLIA256-SHA" Weak,
    0x0096 "SEED-SHA" Weak,
    0x00BA "CAMELLIA128-SHA256" Weak,
    0x00C0 "CAMELLIA256-SHA256" Weak,
    0x0045 "DHE-RSA-CAMELLIA128-SHA" Weak,
    0x0088 "DHE-RSA-CAMELLIA256-SHA" Weak,
    0x00BE "DHE-RSA-CAMELLIA128-SHA256" Weak,
    0x00C4 "DHE-RSA-CAMELLIA256-SHA256" Weak,
    0xC076 "ECDHE-RSA-CAMELLIA128-SHA256" Weak,
    0xC077 "ECDHE-RSA-CAMELLIA256-SHA384" Weak,
    0xC072 "ECDHE-ECDSA-CAMELLIA128-SHA256" Weak,
    0xC073 "ECDHE-ECDSA-CAMELLIA256-SHA384" Weak,
    0x009A "DHE-RSA-SEED-SHA" Weak,
    0xC09C "AES128-CCM" Weak,
    0xC09D "AES256-CCM" Weak,
    0xC0A0 "AES128-CCM8" Weak,
    0xC0A1 "AES256-CCM8" Weak,
    0xC09E "DHE-RSA-AES128-CCM" Weak,
    0xC09F "DHE-RSA-AES256-CCM" Weak,
    0xC0A2 "DHE-RSA-AES128-CCM8" Weak,
    0xC0A3 "DHE-RSA-AES256-CCM8" Weak,
    0xC0AC "ECDHE-ECDSA-AES128-CCM" Weak,
    0xC0AD "ECDHE-ECDSA-AES256-CCM" Weak,
    0xC0AE "ECDHE-ECDSA-AES128-CCM8" Weak,
    0xC0AF "ECDHE-ECDSA-AES256-CCM8" Weak,
    0xC050 "ARIA128-GCM-SHA256" Weak,
    0xC051 "ARIA256-GCM-SHA384" Weak,
    0xC052 "DHE-RSA-ARIA128-GCM-SHA256" Weak,
    0xC053 "DHE-RSA-ARIA256-GCM-SHA384" Weak,
    0xC060 "ECDHE-ARIA128-GCM-SHA256" Weak,
    0xC061 "ECDHE-ARIA256-GCM-SHA384" Weak,
    0xC05C "ECDHE-ECDSA-ARIA128-GCM-SHA256" Weak,
    0xC05D "ECDHE-ECDSA-ARIA256-GCM-SHA384" Weak,
    0x0032 "DHE-DSS-AES128-SHA" Weak,
    0x0038 "DHE-DSS-AES256-SHA" Weak,
    0x0013 "EDH-DSS-DES-CBC3-SHA" Insecure,
    0x000A "DES-CBC3-SHA" Insecure,
    0x0016 "EDH-RSA-DES-CBC3-SHA" Insecure,
    0xC008 "ECDHE-ECDSA-DES-CBC3-SHA" Insecure,
    0xC012 "ECDHE-RSA-DES-CBC3-SHA" Insecure,
    0x0009 "DES-CBC-SHA" Insecure,
    0x0015 "EDH-RSA-DES-CBC-SHA" Insecure,
    0x0004 "RC4-MD5" Insecure,
    0x0005 "RC4-SHA" Insecure,
    0xC007 "ECDHE-ECDSA-RC4-SHA" Insecure,
    0xC011 "ECDHE-RSA-RC4-SHA" Insecure,
    0x0003 "EXP-RC4-MD5" Insecure,
    0x0006 "EXP-RC2-CBC-MD5" Insecure,
    0x0008 "EXP-DES-CBC-SHA" Insecure,
    0x0014 "EXP-EDH-RSA-DES-CBC-SHA" Insecure,
    0x0001 "NULL-MD5" Insecure,
    0x0002 "NULL-SHA" Insecure,
    0x003B "NULL-SHA256" Insecure,
    0xC006 "ECDHE-ECDSA-NULL-SHA" Insecure,
    0xC010 "ECDHE-RSA-NULL-SHA" Insecure,
    0x0018 "ADH-RC4-MD5" Insecure,
    0x001B "ADH-DES-CBC3-SHA" Insecure,
    0x0034 "ADH-AES128-SHA" Insecure,
    0x003A "ADH-AES256-SHA" Insecure,
    0x006C "ADH-AES128-SHA256" Insecure,
    0x006D "ADH-AES256-SHA256" Insecure,
    0x00A6 "ADH-AES128-GCM-SHA256" Insecure,
    0xC018 "AECDH-AES128-SHA" Insecure,
    0xC019 "AECDH-AES256-SHA" Insecure,
    0xC015 "AECDH-NULL-SHA" Insecure,
    0xC016 "AECDH-RC4-SHA" Insecure,
    0xC017 "AECDH-DES-CBC3-SHA" Insecure,
}

/// Looks a suite up by id.
pub fn suite(id: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

/// The server's answer to one ClientHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// ServerHello at this version with this suite.
    Accepted {
        version: [u8; 2],
        suite: u16,
        /// The compression method chosen (0: none; 1: DEFLATE, the CRIME attack's way in).
        compression: u8,
        /// The ServerHello carries `renegotiation_info` (RFC 5746 secure renegotiation).
        secure_renegotiation: bool,
        /// The server random ends in TLS 1.3's downgrade sentinel (`DOWNGRD` + 0/1, RFC 8446
        /// 4.1.3): a TLS 1.3 server answering a lower version says so, and clients abort.
        downgrade_sentinel: bool,
    },
    /// A TLS alert (description code), or the connection closed without a ServerHello.
    Refused(String),
}

/// Builds a ClientHello record offering `version` as the highest version and `suites`.
pub fn client_hello(version: Version, suites: &[u16], sni: Option<&str>) -> Vec<u8> {
    hello_with(version, suites, sni, false)
}

/// A ClientHello that also offers DEFLATE compression, to see whether the server takes it.
pub fn client_hello_compressing(version: Version, suites: &[u16], sni: Option<&str>) -> Vec<u8> {
    hello_with(version, suites, sni, true)
}

fn hello_with(version: Version, suites: &[u16], sni: Option<&str>, deflate: bool) -> Vec<u8> {
    let mut body = Vec::with_capacity(512);
    body.extend_from_slice(&version.wire());
    let random = random_bytes();
    body.extend_from_slice(&random);
    body.push(0); // no session id
    let mut ids: Vec<u16> = suites.to_vec();
    ids.push(0x00FF); // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    push_u16(&mut body, (ids.len() * 2) as u16);
    for id in ids {
        push_u16(&mut body, id);
    }
    if deflate {
        body.extend_from_slice(&[2, 1, 0]); // compression: DEFLATE, null
    } else {
        body.extend_from_slice(&[1, 0]); // compression: null
    }
    let mut ext = Vec::new();
    if let Some(name) =
        sni.filter(|n| n.parse::<std::net::IpAddr>().is_err() && !n.is_empty() && n.len() < 256)
    {
        let n = name.as_bytes();
        push_u16(&mut ext, 0x0000);
        push_u16(&mut ext, (n.len() + 5) as u16);
        push_u16(&mut ext, (n.len() + 3) as u16);
        ext.push(0);
        push_u16(&mut ext, n.len() as u16);
        ext.extend_from_slice(n);
    }
    // supported_groups: x25519, secp256r1, secp384r1, secp521r1, ffdhe2048
    let groups = [0x001D, 0x0017, 0x0018, 0x0019, 0x0100];
    push_u16(&mut ext, 0x000A);
    push_u16(&mut ext, (groups.len() * 2 + 2) as u16);
    push_u16(&mut ext, (groups.len() * 2) as u16);
    groups.iter().for_each(|g| push_u16(&mut ext, *g));
    // ec_point_formats: uncompressed
    ext.extend_from_slice(&[0x00, 0x0B, 0x00, 0x02, 0x01, 0x00]);
    if version == Version::Tls12 {
        let algs = [
            0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201,
            0x0402, 0x0202,
        ];
        push_u16(&mut ext, 0x000D);
        push_u16(&mut ext, (algs.len() * 2 + 2) as u16);
        push_u16(&mut ext, (algs.len() * 2) as u16);
        algs.iter().for_each(|a| push_u16(&mut ext, *a));
    }
    ext.extend_from_slice(&[0xFF, 0x01, 0x00, 0x01, 0x00]); // renegotiation_info
    ext.extend_from_slice(&[0x00, 0x17, 0x00, 0x00]); // extended_master_secret
    push_u16(&mut body, ext.len() as u16);
    body.extend_from_slice(&ext);

    let mut handshake = vec![1u8]; // client_hello
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 3, 1];
    push_u16(&mut record, handshake.len() as u16);
    record.extend_from_slice(&handshake);
    record
}

/// Sends one ClientHello to `addr` and reads the first answer.
pub fn ask(
    addr: SocketAddr,
    version: Version,
    suites: &[u16],
    sni: Option<&str>,
    timeout: Duration,
) -> Result<Answer, String> {
    send(addr, &client_hello(version, suites, sni), timeout)
}

/// Sends the ClientHello record `hello` to `addr` and reads the first answer.
pub fn send(addr: SocketAddr, hello: &[u8], timeout: Duration) -> Result<Answer, String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    stream
        .write_all(hello)
        .map_err(|e| format!("cannot send a ClientHello to {addr}: {e}"))?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(answer) = parse_answer(&buf)? {
            return Ok(answer);
        }
        if buf.len() > 16 * 1024 {
            return Err(format!(
                "{addr} sent more than 16 KiB without a ServerHello"
            ));
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(Answer::Refused("connection closed".into())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!(
                    "{addr} did not answer a ClientHello within {}s",
                    timeout.as_secs_f32()
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ok(Answer::Refused("connection reset".into()));
            }
            Err(e) => return Err(format!("reading from {addr}: {e}")),
        }
    }
}

/// Parses the first record(s) received; `None` when more bytes are needed.
pub(crate) fn parse_answer(buf: &[u8]) -> Result<Option<Answer>, String> {
    if buf.len() < 5 {
        return Ok(None);
    }
    let (kind, len) = (buf[0], u16::from_be_bytes([buf[3], buf[4]]) as usize);
    if !(kind == 0x15 || kind == 0x16) || buf[1] != 3 {
        return Err("the server does not speak TLS (unexpected first bytes)".into());
    }
    if buf.len() < 5 + len {
        return Ok(None);
    }
    let payload = &buf[5..5 + len];
    if kind == 0x15 {
        let desc = payload.get(1).copied().unwrap_or(0);
        return Ok(Some(Answer::Refused(format!("alert {}", alert_name(desc)))));
    }
    // handshake: type(1) len(3) version(2) random(32) sid_len(1) sid cipher(2)
    if payload.first() != Some(&2) || payload.len() < 4 + 2 + 32 + 1 {
        return Err("the first handshake message is not a ServerHello".into());
    }
    let version = [payload[4], payload[5]];
    let sid_len = payload[38] as usize;
    let at = 39 + sid_len;
    let suite = payload.get(at..at + 2).ok_or("truncated ServerHello")?;
    let compression = payload
        .get(at + 2)
        .copied()
        .ok_or("truncated ServerHello")?;
    // Extensions (optional): type(2) len(2) data, within the handshake message.
    let end = (4 + u32::from_be_bytes([0, payload[1], payload[2], payload[3]]) as usize)
        .min(payload.len());
    let mut secure_renegotiation = false;
    if let Some(ext) = payload.get(at + 5..end) {
        let mut i = 0;
        while i + 4 <= ext.len() {
            let kind = u16::from_be_bytes([ext[i], ext[i + 1]]);
            let len = u16::from_be_bytes([ext[i + 2], ext[i + 3]]) as usize;
            if kind == 0xFF01 {
                secure_renegotiation = true;
            }
            i += 4 + len;
        }
    }
    let downgrade_sentinel = payload[30..37] == *b"DOWNGRD" && payload[37] <= 1;
    Ok(Some(Answer::Accepted {
        version,
        suite: u16::from_be_bytes([suite[0], suite[1]]),
        compression,
        secure_renegotiation,
        downgrade_sentinel,
    }))
}

fn alert_name(code: u8) -> String {
    match code {
        40 => "handshake_failure".into(),
        47 => "illegal_parameter".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        86 => "inappropriate_fallback".into(),
        112 => "unrecognized_name".into(),
        other => format!("{other}"),
    }
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn random_bytes() -> [u8; 32] {
    let mut r = [0u8; 32];
    // Only a nonce for a hello that is never completed; quality does not matter.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for (i, b) in r.iter_mut().enumerate() {
        *b = (seed >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(31);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_well_formed() {
        let h = client_hello(Version::Tls12, &[0xC02F, 0x002F], Some("example.com"));
        assert_eq!(&h[..3], &[0x16, 3, 1]);
        let rec_len = u16::from_be_bytes([h[3], h[4]]) as usize;
        assert_eq!(rec_len, h.len() - 5);
        assert_eq!(h[5], 1);
        let hs_len = u32::from_be_bytes([0, h[6], h[7], h[8]]) as usize;
        assert_eq!(hs_len, h.len() - 9);
        assert_eq!(&h[9..11], &[3, 3]);
        assert!(h.windows(11).any(|w| w == b"example.com"));
    }

    #[test]
    fn parses_server_hello_and_alerts() {
        let mut sh = vec![0x16, 3, 3, 0, 0];
        let mut body = vec![2, 0, 0, 0, 3, 1];
        body.extend_from_slice(&[0u8; 32]);
        body.push(0);
        body.extend_from_slice(&[0x00, 0x2F, 0]);
        sh[3..5].copy_from_slice(&(body.len() as u16).to_be_bytes());
        sh.extend_from_slice(&body);
        assert_eq!(
            parse_answer(&sh).unwrap(),
            Some(Answer::Accepted {
                version: [3, 1],
                suite: 0x002F,
                compression: 0,
                secure_renegotiation: false,
                downgrade_sentinel: false,
            })
        );
        assert_eq!(parse_answer(&sh[..7]).unwrap(), None);
        // With DEFLATE chosen and renegotiation_info among the extensions.
        let mut body = vec![2, 0, 0, 0, 3, 3];
        body.extend_from_slice(&[0u8; 32]);
        body.push(0);
        body.extend_from_slice(&[0xC0, 0x2F, 1, 0, 9, 0x00, 0x17, 0, 0, 0xFF, 0x01, 0, 1, 0]);
        let n = (body.len() - 4) as u32;
        body[1..4].copy_from_slice(&n.to_be_bytes()[1..]);
        let mut sh = vec![0x16, 3, 3];
        sh.extend_from_slice(&(body.len() as u16).to_be_bytes());
        sh.extend_from_slice(&body);
        assert!(matches!(
            parse_answer(&sh).unwrap(),
            Some(Answer::Accepted {
                compression: 1,
                secure_renegotiation: true,
                ..
            })
        ));
        let alert = [0x15, 3, 1, 0, 2, 2, 70];
        assert_eq!(
            parse_answer(&alert).unwrap(),
            Some(Answer::Refused("alert protocol_version".into()))
        );
        assert!(parse_answer(b"HTTP/1.1 400 Bad").is_err());
    }

    #[test]
    fn every_suite_is_listed_once() {
        let mut ids: Vec<u16> = SUITES.iter().map(|s| s.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), SUITES.len());
    }
}
