//! SSL 2.0 detection: a hand-built SSLv2 CLIENT-HELLO (its own record format, not TLS's),
//! and the first answer read. A server that still speaks SSLv2 answers SERVER-HELLO with
//! the cipher specs it shares; anything else (a TLS alert, a close, an SSLv2 ERROR) is a
//! refusal. Bounded like [`super::hello`]: one connection, a timeout, at most 16 KiB.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The SSLv2 cipher specs offered (3 bytes each): every one SSLv2 defined.
const SPECS: &[[u8; 3]] = &[
    [0x01, 0x00, 0x80], // RC4_128_WITH_MD5
    [0x02, 0x00, 0x80], // RC4_128_EXPORT40_WITH_MD5
    [0x03, 0x00, 0x80], // RC2_128_CBC_WITH_MD5
    [0x04, 0x00, 0x80], // RC2_128_CBC_EXPORT40_WITH_MD5
    [0x05, 0x00, 0x80], // IDEA_128_CBC_WITH_MD5
    [0x06, 0x00, 0x40], // DES_64_CBC_WITH_MD5
    [0x07, 0x00, 0xC0], // DES_192_EDE3_CBC_WITH_MD5
];

/// The SSLv2 CLIENT-HELLO record.
pub fn client_hello() -> Vec<u8> {
    let mut msg = vec![1, 0x00, 0x02]; // MSG-CLIENT-HELLO, version 2
    msg.extend_from_slice(&((SPECS.len() * 3) as u16).to_be_bytes());
    msg.extend_from_slice(&0u16.to_be_bytes()); // no session id
    msg.extend_from_slice(&16u16.to_be_bytes()); // challenge length
    for s in SPECS {
        msg.extend_from_slice(s);
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    msg.extend_from_slice(&seed.to_be_bytes()); // 16 bytes of challenge
    let mut record = (0x8000u16 | msg.len() as u16).to_be_bytes().to_vec();
    record.extend_from_slice(&msg);
    record
}

/// Parses the first answer: `Some(true)` for an SSLv2 SERVER-HELLO that shares a cipher,
/// `Some(false)` for any refusal, `None` when more bytes are needed.
pub fn parse(buf: &[u8]) -> Option<bool> {
    let first = *buf.first()?;
    if first & 0x80 == 0 {
        // A TLS record (alert or handshake) or anything else: not SSLv2.
        return Some(false);
    }
    // Two-byte header: 15-bit length. MSG-SERVER-HELLO is type 4: session-id-hit(1),
    // certificate-type(1), version(2), certificate length(2), cipher-specs length(2).
    let len = (u16::from_be_bytes([first & 0x7F, *buf.get(1)?])) as usize;
    let msg = buf.get(2..2 + len.min(11))?;
    if msg.len() < 9 {
        return (len < 9).then_some(false);
    }
    let specs = u16::from_be_bytes([msg[7], msg[8]]);
    Some(msg[0] == 4 && msg[3..5] == [0x00, 0x02] && specs > 0)
}

/// Asks `addr` whether it speaks SSL 2.0.
pub fn ask(addr: SocketAddr, timeout: Duration) -> Result<bool, String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    stream
        .write_all(&client_hello())
        .map_err(|e| format!("cannot send an SSLv2 hello to {addr}: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(answer) = parse(&buf) {
            return Ok(answer);
        }
        if buf.len() > 16 * 1024 {
            return Ok(false);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(false),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(false),
            Err(e) if super::hello::is_timeout(&e) => {
                return Err(super::hello::silent(addr, "an SSLv2 hello", timeout));
            }
            Err(e) => return Err(format!("reading from {addr}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_and_answers() {
        let h = client_hello();
        assert_eq!(h[0] & 0x80, 0x80);
        assert_eq!(((h[0] & 0x7F) as usize) << 8 | h[1] as usize, h.len() - 2);
        assert_eq!(&h[2..5], &[1, 0, 2]);
        // SERVER-HELLO with one cipher spec.
        let mut msg = vec![4, 0, 1, 0, 2, 0, 0, 0, 3, 0, 16];
        msg.extend_from_slice(&[1, 0, 0x80]);
        msg.extend_from_slice(&[0u8; 16]);
        let mut rec = (0x8000u16 | msg.len() as u16).to_be_bytes().to_vec();
        rec.extend_from_slice(&msg);
        assert_eq!(parse(&rec), Some(true));
        assert_eq!(parse(&rec[..4]), None);
        // A TLS alert, or an SSLv2 ERROR message.
        assert_eq!(parse(&[0x15, 3, 1, 0, 2, 2, 40]), Some(false));
        assert_eq!(parse(&[0x80, 3, 0, 0, 1]), Some(false));
        assert_eq!(parse(&[]), None);
    }
}
