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

use num_bigint::BigUint;

/// The flipping alert of `flaky_alerts`.
static FLIP: AtomicBool = AtomicBool::new(false);

/// What the server does.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Send this RSA certificate and answer RSA key exchanges (ROBOT).
    pub rsa: Option<Arc<Rsa>>,
    /// Answer an SSLv2 CLIENT-HELLO with a SERVER-HELLO.
    pub sslv2: bool,
    /// Accept a ClientHello at SSL 3.0.
    pub ssl3: bool,
    /// Agree to heartbeats when offered; with `leak`, answer a lying request (Heartbleed).
    pub heartbeat: bool,
    pub leak: bool,
    /// Take DEFLATE when offered (CRIME).
    pub compression: bool,
    /// Answer each ClientKeyExchange with an alert that flips from one connection to the
    /// next, whatever its padding (inconsistent, not an oracle).
    pub flaky_alerts: bool,
    /// Refuse TLS 1.0 and 1.1 (while SSL 3.0 may still be accepted).
    pub refuse_tls10_11: bool,
    /// Omit `renegotiation_info` (no RFC 5746).
    pub insecure_renegotiation: bool,
    /// After the ServerHello, a first flight that never ends: one handshake message that
    /// claims 16 MiB, sent in 16 KiB records until the client hangs up (at most 4 MiB).
    pub endless_flight: bool,
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
                let _ = answer(s, &behaviour);
            }
        }
    });
    OldTls {
        port,
        stop,
        handle: Some(handle),
    }
}

fn answer(mut s: TcpStream, b: &Behaviour) -> std::io::Result<()> {
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
    let refused_tls = b.refuse_tls10_11 && (h.version == [3, 1] || h.version == [3, 2]);
    if h.version == [3, 0] && !b.ssl3 || h.version < [3, 0] || refused_tls {
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
    if b.endless_flight {
        let mut record = vec![0x16, h.version[0], h.version[1]];
        record.extend_from_slice(&(body.len() as u16).to_be_bytes());
        record.extend_from_slice(&body);
        s.write_all(&record)?;
        let mut junk = vec![
            0x16,
            h.version[0],
            h.version[1],
            0x40,
            0x00,
            11,
            0xFF,
            0xFF,
            0xFF,
        ];
        junk.resize(5 + 0x4000, 0x5A);
        for _ in 0..256 {
            s.write_all(&junk)?;
            junk[5..9].copy_from_slice(&[0x5A; 4]);
        }
        return Ok(());
    }
    // The RSA certificate, or a placeholder (an empty list), and ServerHelloDone.
    match &b.rsa {
        Some(rsa) => {
            let n = rsa.cert.len();
            let mut list = ((n + 3) as u32).to_be_bytes()[1..].to_vec();
            list.extend_from_slice(&(n as u32).to_be_bytes()[1..]);
            list.extend_from_slice(&rsa.cert);
            body.push(11);
            body.extend_from_slice(&(list.len() as u32).to_be_bytes()[1..]);
            body.extend_from_slice(&list);
        }
        None => body.extend_from_slice(&[11, 0, 0, 3, 0, 0, 0]),
    }
    body.extend_from_slice(&[14, 0, 0, 0]);
    let mut record = vec![0x16, h.version[0], h.version[1]];
    record.extend_from_slice(&(body.len() as u16).to_be_bytes());
    record.extend_from_slice(&body);
    s.write_all(&record)?;
    // Then wait for a heartbeat request, or a ClientKeyExchange.
    let n = s.read(&mut buf)?;
    if let (Some(rsa), true) = (&b.rsa, n > 11 && buf[0] == 0x16 && buf[5] == 0x10) {
        let len = u16::from_be_bytes([buf[9], buf[10]]) as usize;
        let c = buf.get(11..11 + len).unwrap_or_default();
        let desc = if b.flaky_alerts {
            if FLIP.fetch_xor(true, Ordering::SeqCst) {
                20
            } else {
                51
            }
        } else if rsa.padding_ok(c) || !rsa.oracle {
            20
        } else {
            51
        };
        s.write_all(&[0x15, h.version[0], h.version[1], 0, 2, 2, desc])?;
        // Read what the client sent after it (ChangeCipherSpec, Finished) before closing:
        // closing with unread input resets the connection, and the client could lose the
        // alert. A real server reads the whole flight before it answers.
        s.set_read_timeout(Some(Duration::from_millis(200)))?;
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        return Ok(());
    }
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

/// An RSA key and a self-signed certificate for it, for RSA key exchange. With `oracle`,
/// the server answers a ClientKeyExchange whose PKCS #1 padding is wrong with another
/// alert than one whose padding is right: the ROBOT flaw. Without, always the same alert.
pub struct Rsa {
    n: BigUint,
    d: BigUint,
    cert: Vec<u8>,
    pub oracle: bool,
}

impl std::fmt::Debug for Rsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rsa {{ oracle: {} }}", self.oracle)
    }
}

impl Rsa {
    /// A 2048-bit key made by `openssl genpkey` (ring cannot make RSA keys) in `dir`.
    pub fn generate(dir: &std::path::Path, oracle: bool) -> Rsa {
        let file = dir.join("robot.key");
        let status = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&file)
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl genpkey failed");
        let pem = std::fs::read_to_string(&file).expect("the key file");
        let key = rcgen::KeyPair::from_pem(&pem).expect("an RSA key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("names")
            .self_signed(&key)
            .expect("a certificate");
        let (n, d) = rsa_private(&key.serialize_der()).expect("a PKCS #8 RSA key");
        Rsa {
            n,
            d,
            cert: cert.der().to_vec(),
            oracle,
        }
    }

    /// Whether `c` decrypts to a message starting 00 02 (the padding check an oracle leaks).
    fn padding_ok(&self, c: &[u8]) -> bool {
        let k = self.n.to_bytes_be().len();
        let m = BigUint::from_bytes_be(c)
            .modpow(&self.d, &self.n)
            .to_bytes_be();
        // Leading zero bytes are dropped by to_bytes_be: 00 02 ... has k - 1 bytes.
        m.len() == k - 1 && m[0] == 2
    }
}

/// n and d of a PKCS #8 RSA private key (DER): PrivateKeyInfo { version, algorithm,
/// OCTET STRING { RSAPrivateKey { version, n, e, d, ... } } }.
fn rsa_private(der: &[u8]) -> Option<(BigUint, BigUint)> {
    let (_, info, _) = tlv(der)?;
    let (_, _, rest) = tlv(info)?; // version
    let (_, _, rest) = tlv(rest)?; // algorithm
    let (_, octets, _) = tlv(rest)?;
    let (_, key, _) = tlv(octets)?;
    let (_, _, rest) = tlv(key)?; // version
    let (_, n, rest) = tlv(rest)?;
    let (_, _, rest) = tlv(rest)?; // e
    let (_, d, _) = tlv(rest)?;
    Some((BigUint::from_bytes_be(n), BigUint::from_bytes_be(d)))
}

/// One DER element: (tag, content, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, at) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7F;
        let len = b
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, x| (a << 8) | *x as usize);
        (len, 2 + n)
    };
    Some((tag, b.get(at..at + len)?, b.get(at + len..)?))
}
