//! A byte-level server that plays the TLS behaviours no real server here can show: Debian's
//! OpenSSL 3 has no SSL 2.0/3.0, no heartbeats, no compression, and always does RFC 5746.
//! It answers only the first flight of a handshake (ServerHello, a placeholder Certificate,
//! ServerHelloDone) at the version the client asks, up to TLS 1.2, and refuses TLS 1.3
//! hellos. Never a real TLS server: no key exchange is ever completed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server does.
#[derive(Clone, Copy, Debug, Default)]
pub struct Behaviour {
    /// Answer an SSLv2 CLIENT-HELLO with a SERVER-HELLO.
    pub sslv2: bool,
    /// Accept a ClientHello at SSL 3.0.
    pub ssl3: bool,
    /// Agree to heartbeats when offered; with `leak`, answer a lying request (Heartbleed).
    pub heartbeat: bool,
    pub leak: bool,
    /// Take DEFLATE when offered (CRIME).
    pub compression: bool,
    /// Omit `renegotiation_info` (no RFC 5746).
    pub insecure_renegotiation: bool,
}

/// A running server; stops when dropped.
pub struct OldTls {
    pub port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for OldTls {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Starts a server with `behaviour` on a loopback port.
pub fn serve(behaviour: Behaviour) -> OldTls {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming() {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            if let Ok(s) = stream {
                // One connection at a time is enough for a scan, which asks in sequence.
                let _ = answer(s, behaviour);
            }
        }
    });
    OldTls {
        port,
        stop,
        handle: Some(handle),
    }
}

fn answer(mut s: TcpStream, b: Behaviour) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    let mut buf = vec![0u8; 8192];
    let n = s.read(&mut buf)?;
    let hello = &buf[..n];
    if hello.first().is_some_and(|f| f & 0x80 != 0) {
        // SSLv2 record: MSG-CLIENT-HELLO is type 1.
        if b.sslv2 && hello.get(2) == Some(&1) {
            let mut msg = vec![4, 0, 1, 0x00, 0x02, 0, 0, 0, 3, 0, 16];
            msg.extend_from_slice(&[0x01, 0x00, 0x80]);
            msg.extend_from_slice(&[9u8; 16]);
            let mut rec = (0x8000u16 | msg.len() as u16).to_be_bytes().to_vec();
            rec.extend_from_slice(&msg);
            s.write_all(&rec)?;
        }
        return Ok(());
    }
    let Some(h) = ClientHello::parse(hello) else {
        return Ok(());
    };
    let alert = |s: &mut TcpStream, code: u8| s.write_all(&[0x15, 3, 1, 0, 2, 2, code]);
    if h.tls13 || h.version > [3, 3] {
        return alert(&mut s, 70);
    }
    if h.version == [3, 0] && !b.ssl3 || h.version < [3, 0] {
        return alert(&mut s, 70);
    }
    let suite = h.suites.first().copied().unwrap_or(0x002F);
    let mut body = vec![2, 0, 0, 0, h.version[0], h.version[1]];
    body.extend_from_slice(&[7u8; 32]);
    body.push(0);
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(u8::from(b.compression && h.deflate));
    let mut ext = Vec::new();
    if !b.insecure_renegotiation && h.version > [3, 0] {
        ext.extend_from_slice(&[0xFF, 0x01, 0x00, 0x01, 0x00]);
    }
    if b.heartbeat && h.heartbeat {
        ext.extend_from_slice(&[0x00, 0x0F, 0x00, 0x01, 0x01]);
    }
    if !ext.is_empty() {
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
    }
    let len = (body.len() - 4) as u32;
    body[1..4].copy_from_slice(&len.to_be_bytes()[1..]);
    // A placeholder Certificate (type 11, empty list) and ServerHelloDone (type 14).
    body.extend_from_slice(&[11, 0, 0, 3, 0, 0, 0, 14, 0, 0, 0]);
    let mut record = vec![0x16, h.version[0], h.version[1]];
    record.extend_from_slice(&(body.len() as u16).to_be_bytes());
    record.extend_from_slice(&body);
    s.write_all(&record)?;
    // Then wait for a heartbeat request.
    let n = s.read(&mut buf)?;
    if b.heartbeat && b.leak && n >= 8 && buf[0] == 0x18 && buf[5] == 1 {
        let claimed = u16::from_be_bytes([buf[6], buf[7]]) as usize;
        let mut leak = vec![0x18, h.version[0], h.version[1]];
        leak.extend_from_slice(&((3 + claimed + 16) as u16).to_be_bytes());
        leak.extend_from_slice(&[2, buf[6], buf[7]]);
        leak.extend(std::iter::repeat_n(b'M', claimed + 16));
        s.write_all(&leak)?;
    }
    Ok(())
}

/// The parts of a ClientHello this server reacts to.
struct ClientHello {
    version: [u8; 2],
    suites: Vec<u16>,
    deflate: bool,
    heartbeat: bool,
    tls13: bool,
}

impl ClientHello {
    fn parse(r: &[u8]) -> Option<ClientHello> {
        if r.first() != Some(&0x16) || r.get(5) != Some(&1) {
            return None;
        }
        let version = [*r.get(9)?, *r.get(10)?];
        let sid = *r.get(43)? as usize;
        let at = 44 + sid;
        let n = u16::from_be_bytes([*r.get(at)?, *r.get(at + 1)?]) as usize;
        let suites = r
            .get(at + 2..at + 2 + n)?
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        let comp = at + 2 + n;
        let methods = r.get(comp + 1..comp + 1 + *r.get(comp)? as usize)?;
        let mut h = ClientHello {
            version,
            suites,
            deflate: methods.contains(&1),
            heartbeat: false,
            tls13: false,
        };
        let ext_at = comp + 1 + methods.len();
        if let Some(ext) = r.get(ext_at + 2..) {
            let mut i = 0;
            while let Some(head) = ext.get(i..i + 4) {
                let kind = u16::from_be_bytes([head[0], head[1]]);
                let len = u16::from_be_bytes([head[2], head[3]]) as usize;
                match kind {
                    0x000F => h.heartbeat = true,
                    0x002B => h.tls13 = true,
                    _ => {}
                }
                i += 4 + len;
            }
        }
        Some(h)
    }
}
