//! Test PKI (rcgen) and an in-process TLS server (rustls) for certificate scenarios.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Days from now (negative: in the past).
pub fn days(d: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(d)
}

/// A certificate and its key.
pub struct Cert {
    pub der: CertificateDer<'static>,
    pub pem: String,
    pub key: KeyPair,
    pub params: CertificateParams,
}

impl Cert {
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()))
    }
}

fn params(cn: &str, names: &[&str], from: i64, to: i64, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("names");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = days(from);
    p.not_after = days(to);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    }
    p
}

/// A self-signed CA (or a self-signed leaf when `ca` is false).
pub fn self_signed(cn: &str, names: &[&str], from: i64, to: i64, ca: bool) -> Cert {
    let key = KeyPair::generate().expect("key");
    sign_self(params(cn, names, from, to, ca), key)
}

fn sign_self(params: CertificateParams, key: KeyPair) -> Cert {
    let cert = params.self_signed(&key).expect("self-signed");
    Cert {
        der: cert.der().clone(),
        pem: cert.pem(),
        key,
        params,
    }
}

/// A self-signed leaf for `names` (valid from yesterday for 30 days) that names an OCSP
/// responder at `url` in its Authority Information Access.
pub fn self_signed_with_ocsp_url(cn: &str, names: &[&str], url: &str) -> Cert {
    let key = KeyPair::generate().expect("key");
    let mut params = params(cn, names, -1, 30, false);
    params.custom_extensions.push(ocsp_aia(url));
    sign_self(params, key)
}

/// An Authority Information Access extension naming an OCSP responder at `url`.
pub fn ocsp_aia(url: &str) -> rcgen::CustomExtension {
    // AuthorityInfoAccessSyntax: SEQUENCE { SEQUENCE { id-ad-ocsp, [6] IA5String url } }.
    let oid = [0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    let mut desc = oid.to_vec();
    desc.push(0x86);
    desc.push(url.len() as u8);
    desc.extend_from_slice(url.as_bytes());
    let mut access = vec![0x30, desc.len() as u8];
    access.extend(desc);
    let mut aia = vec![0x30, access.len() as u8];
    aia.extend(access);
    rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], aia)
}

/// A certificate for `names` issued by `issuer`.
pub fn issued(issuer: &Cert, cn: &str, names: &[&str], from: i64, to: i64, ca: bool) -> Cert {
    let key = KeyPair::generate().expect("key");
    let params = params(cn, names, from, to, ca);
    let iss = Issuer::from_params(&issuer.params, &issuer.key);
    let cert = params.signed_by(&key, &iss).expect("signed");
    Cert {
        der: cert.der().clone(),
        pem: cert.pem(),
        key,
        params,
    }
}

/// A TLS 1.2/1.3 server on 127.0.0.1 serving `chain`; stops when dropped.
pub struct TlsServer {
    pub port: u16,
    /// Connections accepted so far.
    pub accepted: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

pub fn serve(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> TlsServer {
    serve_stapling(chain, key, Vec::new())
}

/// As [`serve`], stapling `ocsp` (any bytes; none when empty) to the certificate.
pub fn serve_stapling(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ocsp: Vec<u8>,
) -> TlsServer {
    serve_config(server_config(chain, key, ocsp))
}

/// As [`serve`], with no session resumption at all: no session cache, no tickets.
pub fn serve_without_resumption(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> TlsServer {
    let mut config = server_config(chain, key, Vec::new());
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    serve_config(config)
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ocsp: Vec<u8>,
) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert_with_ocsp(chain, key, ocsp)
        .expect("server config")
}

/// Serves `config` on a loopback port until dropped.
fn serve_config(config: rustls::ServerConfig) -> TlsServer {
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming() {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            count.fetch_add(1, Ordering::SeqCst);
            let Ok(mut sock) = stream else { continue };
            sock.set_read_timeout(Some(Duration::from_secs(2))).ok();
            let Ok(mut conn) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                continue;
            };
            let mut tls = rustls::Stream::new(&mut conn, &mut sock);
            let mut buf = [0u8; 2048];
            if tls.read(&mut buf).is_ok() {
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n",
                );
            }
        }
    });
    TlsServer {
        port,
        accepted,
        stop,
        handle: Some(handle),
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
