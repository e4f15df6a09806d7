//! A hand-built TLS ClientHello, so shipcheck can ask a server whether it still *accepts*
//! TLS 1.0/1.1 and weak cipher suites: rustls cannot speak them, and a system OpenSSL
//! refuses to offer most of them. Only the server's first answer (ServerHello or alert)
//! is read; no handshake is completed. Bounded: one connection per question, a timeout,
//! and at most 16 KiB read.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub use super::suites::*;

/// Protocol versions the hand-built hello can offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
    /// Offered with `supported_versions` and an empty `key_share`, so the server answers
    /// with a HelloRetryRequest naming its suite and group: no key exchange is needed.
    Tls13,
}

impl Version {
    /// The version as written on the wire (TLS 1.3's is in `supported_versions`).
    pub fn wire(self) -> [u8; 2] {
        match self {
            Version::Ssl3 => [3, 0],
            Version::Tls10 => [3, 1],
            Version::Tls11 => [3, 2],
            Version::Tls12 => [3, 3],
            Version::Tls13 => [3, 4],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Version::Ssl3 => "SSL 3.0",
            Version::Tls10 => "TLS 1.0",
            Version::Tls11 => "TLS 1.1",
            Version::Tls12 => "TLS 1.2",
            Version::Tls13 => "TLS 1.3",
        }
    }
}

/// The server's answer to one ClientHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// ServerHello (or TLS 1.3 HelloRetryRequest) at this version with this suite.
    Accepted {
        /// The negotiated version: `supported_versions` when present, else the legacy field.
        version: [u8; 2],
        suite: u16,
        /// The compression method chosen (0: none; 1: DEFLATE, the CRIME attack's way in).
        compression: u8,
        /// The ServerHello carries `renegotiation_info` (RFC 5746 secure renegotiation).
        secure_renegotiation: bool,
        /// The server random ends in TLS 1.3's downgrade sentinel (`DOWNGRD` + 0/1, RFC 8446
        /// 4.1.3): a TLS 1.3 server answering a lower version says so, and clients abort.
        downgrade_sentinel: bool,
        /// The group a TLS 1.3 server chose (`key_share`), if any.
        group: Option<u16>,
        /// The server agreed to the heartbeat extension (RFC 6520).
        heartbeat: bool,
    },
    /// A TLS alert (description code), or the connection closed without a ServerHello.
    Refused(String),
}

/// What one hand-built ClientHello offers.
#[derive(Clone, Copy, Debug)]
pub struct Offer<'a> {
    pub version: Version,
    pub suites: &'a [u16],
    pub sni: Option<&'a str>,
    /// Offer DEFLATE as well as null compression (CRIME).
    pub deflate: bool,
    /// Offer the heartbeat extension (Heartbleed).
    pub heartbeat: bool,
    /// `supported_groups`; the default list when `None`.
    pub groups: Option<&'a [u16]>,
    /// A renegotiation: the client's verify data of the session, sent in
    /// `renegotiation_info` without the SCSV (RFC 5746 3.5).
    pub renegotiating: Option<&'a [u8]>,
}

impl<'a> Offer<'a> {
    pub fn new(version: Version, suites: &'a [u16], sni: Option<&'a str>) -> Offer<'a> {
        Offer {
            version,
            suites,
            sni,
            deflate: false,
            heartbeat: false,
            groups: None,
            renegotiating: None,
        }
    }

    /// The ClientHello record.
    pub fn hello(&self) -> Vec<u8> {
        build(self)
    }
}

/// The groups offered by default: what current clients offer.
const DEFAULT_GROUPS: &[u16] = &[0x001D, 0x0017, 0x0018, 0x0019, 0x0100];

/// Builds a ClientHello record offering `version` as the highest version and `suites`.
pub fn client_hello(version: Version, suites: &[u16], sni: Option<&str>) -> Vec<u8> {
    Offer::new(version, suites, sni).hello()
}

fn build(o: &Offer) -> Vec<u8> {
    let tls13 = o.version == Version::Tls13;
    let mut body = Vec::with_capacity(512);
    body.extend_from_slice(&if tls13 { [3, 3] } else { o.version.wire() });
    body.extend_from_slice(&random_bytes());
    if tls13 {
        // A legacy session id, as middlebox-compatible clients send (RFC 8446 D.4).
        body.push(32);
        body.extend_from_slice(&random_bytes());
    } else {
        body.push(0);
    }
    let mut ids: Vec<u16> = o.suites.to_vec();
    if !tls13 && o.renegotiating.is_none() {
        ids.push(0x00FF); // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    }
    push_u16(&mut body, (ids.len() * 2) as u16);
    for id in ids {
        push_u16(&mut body, id);
    }
    if o.deflate {
        body.extend_from_slice(&[2, 1, 0]); // compression: DEFLATE, null
    } else {
        body.extend_from_slice(&[1, 0]); // compression: null
    }
    if o.version == Version::Ssl3 {
        // SSL 3.0 has no extensions; a server of that age may choke on them.
        return wrap(body);
    }
    let mut ext = Vec::new();
    if let Some(name) = o
        .sni
        .filter(|n| n.parse::<std::net::IpAddr>().is_err() && !n.is_empty() && n.len() < 256)
    {
        let n = name.as_bytes();
        push_u16(&mut ext, 0x0000);
        push_u16(&mut ext, (n.len() + 5) as u16);
        push_u16(&mut ext, (n.len() + 3) as u16);
        ext.push(0);
        push_u16(&mut ext, n.len() as u16);
        ext.extend_from_slice(n);
    }
    let groups = o.groups.unwrap_or(DEFAULT_GROUPS);
    push_u16(&mut ext, 0x000A);
    push_u16(&mut ext, (groups.len() * 2 + 2) as u16);
    push_u16(&mut ext, (groups.len() * 2) as u16);
    groups.iter().for_each(|g| push_u16(&mut ext, *g));
    // ec_point_formats: uncompressed
    ext.extend_from_slice(&[0x00, 0x0B, 0x00, 0x02, 0x01, 0x00]);
    if o.version >= Version::Tls12 {
        let algs = [
            0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201,
            0x0402, 0x0202,
        ];
        push_u16(&mut ext, 0x000D);
        push_u16(&mut ext, (algs.len() * 2 + 2) as u16);
        push_u16(&mut ext, (algs.len() * 2) as u16);
        algs.iter().for_each(|a| push_u16(&mut ext, *a));
    }
    if tls13 {
        ext.extend_from_slice(&[0x00, 0x2B, 0x00, 0x03, 0x02, 0x03, 0x04]); // supported_versions
        ext.extend_from_slice(&[0x00, 0x33, 0x00, 0x02, 0x00, 0x00]); // key_share: none yet
        ext.extend_from_slice(&[0x00, 0x2D, 0x00, 0x02, 0x01, 0x01]); // psk_key_exchange_modes
    } else {
        let verify = o.renegotiating.unwrap_or_default();
        push_u16(&mut ext, 0xFF01); // renegotiation_info
        push_u16(&mut ext, verify.len() as u16 + 1);
        ext.push(verify.len() as u8);
        ext.extend_from_slice(verify);
        ext.extend_from_slice(&[0x00, 0x17, 0x00, 0x00]); // extended_master_secret
    }
    if o.heartbeat {
        ext.extend_from_slice(&[0x00, 0x0F, 0x00, 0x01, 0x01]); // heartbeat: peer may send
    }
    push_u16(&mut body, ext.len() as u16);
    body.extend_from_slice(&ext);
    wrap(body)
}

/// A ClientHello body as a handshake message in a record.
fn wrap(body: Vec<u8>) -> Vec<u8> {
    let mut handshake = vec![1u8]; // client_hello
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 3, 1];
    push_u16(&mut record, handshake.len() as u16);
    record.extend_from_slice(&handshake);
    record
}

/// Sends the ClientHello record `hello` to `addr` and reads the first answer.
pub fn send(addr: SocketAddr, hello: &[u8], timeout: Duration) -> Result<Answer, String> {
    open(addr, hello, timeout).map(|(answer, _)| answer)
}

/// A connection after the server's first answer, for checks that go on talking.
pub struct Opened {
    pub stream: TcpStream,
    /// Bytes read so far, the first answer included.
    pub read: Vec<u8>,
}

/// Sends `hello` and reads the first answer, keeping the connection.
pub fn open(addr: SocketAddr, hello: &[u8], timeout: Duration) -> Result<(Answer, Opened), String> {
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
            return Ok((answer, Opened { stream, read: buf }));
        }
        if buf.len() > 16 * 1024 {
            return Err(format!(
                "{addr} sent more than 16 KiB without a ServerHello"
            ));
        }
        let why = match stream.read(&mut chunk) {
            Ok(0) => "connection closed",
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                continue;
            }
            Err(e) if is_timeout(&e) => {
                return Err(silent(addr, "a ClientHello", timeout));
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => "connection reset",
            Err(e) => return Err(format!("reading from {addr}: {e}")),
        };
        return Ok((Answer::Refused(why.into()), Opened { stream, read: buf }));
    }
}

impl Opened {
    /// Reads on to the end of the server's first flight (its ServerHelloDone) and returns
    /// the handshake messages as (type, body). Bounded at 64 KiB and by the timeout.
    pub fn flight(&mut self) -> Result<Vec<(u8, Vec<u8>)>, String> {
        let mut chunk = [0u8; 4096];
        loop {
            let messages = handshake_messages(&self.read);
            if messages.iter().any(|(t, _)| *t == 14) {
                return Ok(messages);
            }
            if self.read.len() > 64 * 1024 {
                return Err("the server's first flight exceeds 64 KiB".into());
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("the server closed before its ServerHelloDone".into()),
                Ok(n) => self.read.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("reading the server's first flight: {e}")),
            }
        }
    }
}

/// The complete handshake messages in `bytes` (TLS records), as (type, body).
pub(crate) fn handshake_messages(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut handshake = Vec::new();
    let mut at = 0;
    while let Some(head) = bytes.get(at..at + 5) {
        let len = u16::from_be_bytes([head[3], head[4]]) as usize;
        let Some(payload) = bytes.get(at + 5..at + 5 + len) else {
            break;
        };
        if head[0] == 0x16 {
            handshake.extend_from_slice(payload);
        }
        at += 5 + len;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(h) = handshake.get(i..i + 4) {
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        let Some(body) = handshake.get(i + 4..i + 4 + len) else {
            break;
        };
        out.push((h[0], body.to_vec()));
        i += 4 + len;
    }
    out
}

/// Whether a read failed because its timeout passed.
pub(crate) fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// The error of a server that did not answer `what` in time.
pub(crate) fn silent(addr: SocketAddr, what: &str, timeout: Duration) -> String {
    format!(
        "{addr} did not answer {what} within {}s",
        timeout.as_secs_f32()
    )
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
    let (mut version, mut secure_renegotiation, mut group, mut heartbeat) =
        (version, false, None, false);
    if let Some(ext) = payload.get(at + 5..end) {
        let mut i = 0;
        while i + 4 <= ext.len() {
            let kind = u16::from_be_bytes([ext[i], ext[i + 1]]);
            let len = u16::from_be_bytes([ext[i + 2], ext[i + 3]]) as usize;
            let data = ext.get(i + 4..i + 4 + len).unwrap_or_default();
            match (kind, data) {
                (0xFF01, _) => secure_renegotiation = true,
                (0x000F, _) => heartbeat = true,
                (0x002B, [a, b]) => version = [*a, *b],
                (0x0033, [a, b, ..]) => group = Some(u16::from_be_bytes([*a, *b])),
                _ => {}
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
        group,
        heartbeat,
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
        100 => "no_renegotiation".into(),
        109 => "missing_extension".into(),
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
                group: None,
                heartbeat: false,
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
}
