//! Heartbleed (CVE-2014-0160), tested as testssl.sh and sslyze do: a ClientHello offering
//! the heartbeat extension; when the server agrees, after its ServerHelloDone, one
//! heartbeat request that claims a 16 KiB payload and carries none. A patched server drops
//! it (or closes); a vulnerable one answers with a heartbeat response: memory it should
//! not have sent. Nothing of that answer is kept or printed, only its length. Bounded: one
//! connection, the scan's timeout (at most 2 s for the last answer), 64 KiB read.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use super::hello::{self, Answer, Offer, Version};

/// What the check saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heartbleed {
    /// The server did not agree to the heartbeat extension: nothing to leak through.
    NoHeartbeat,
    /// A heartbeat request with a lying length got no response.
    NotVulnerable,
    /// The server answered the lying request with this many bytes.
    Vulnerable(usize),
}

const READ_LIMIT: usize = 64 * 1024;

/// Tests `addr` at `version` (a TLS ≤ 1.2 version it accepts).
pub fn check(
    addr: SocketAddr,
    version: Version,
    sni: Option<&str>,
    timeout: Duration,
) -> Result<Heartbleed, String> {
    let suites: Vec<u16> = hello::SUITES.iter().map(|s| s.id).collect();
    let offer = Offer {
        heartbeat: true,
        ..Offer::new(version, &suites, sni)
    };
    let (answer, mut conn) = hello::open(addr, &offer.hello(), timeout)?;
    match answer {
        Answer::Accepted {
            heartbeat: false, ..
        } => return Ok(Heartbleed::NoHeartbeat),
        Answer::Refused(why) => {
            return Err(format!(
                "a {} hello offering heartbeats was refused ({why})",
                version.name()
            ));
        }
        Answer::Accepted { .. } => {}
    }
    // Read on to the end of the server's first flight (ServerHelloDone).
    conn.flight()?;
    let mut chunk = [0u8; 4096];
    let w = version.wire();
    // type heartbeat (24), request (1), claimed payload length 0x4000, no payload.
    let request = [0x18, w[0], w[1], 0x00, 0x03, 0x01, 0x40, 0x00];
    conn.stream
        .write_all(&request)
        .map_err(|e| format!("cannot send the heartbeat request: {e}"))?;
    conn.stream
        .set_read_timeout(Some(timeout.min(Duration::from_secs(2))))
        .ok();
    let mut answer = Vec::new();
    loop {
        match conn.stream.read(&mut chunk) {
            Ok(0) => return Ok(Heartbleed::NotVulnerable),
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            // A patched server drops the request silently (RFC 6520), or resets.
            Err(_) => return Ok(Heartbleed::NotVulnerable),
        }
        let mut at = 0;
        while let Some(head) = answer.get(at..at + 5) {
            let len = u16::from_be_bytes([head[3], head[4]]) as usize;
            match head[0] {
                0x18 => return Ok(Heartbleed::Vulnerable(len)),
                0x15 => return Ok(Heartbleed::NotVulnerable),
                _ => at += 5 + len,
            }
        }
        if answer.len() > READ_LIMIT {
            return Ok(Heartbleed::NotVulnerable);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flight_ends_with_server_hello_done() {
        // ServerHello (type 2, 2 bytes) and ServerHelloDone (type 14) in one record.
        let rec = [0x16, 3, 3, 0, 10, 2, 0, 0, 2, 3, 3, 14, 0, 0, 0];
        let done = |b: &[u8]| hello::handshake_messages(b).iter().any(|(t, _)| *t == 14);
        assert!(done(&rec));
        assert!(!done(&rec[..9]));
        // Split over two records.
        let two = [
            0x16, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3, 0x16, 3, 3, 0, 4, 14, 0, 0, 0,
        ];
        assert!(done(&two));
        assert!(!done(&[0x16, 3, 3, 0, 4, 11, 0, 0, 0]));
    }
}
