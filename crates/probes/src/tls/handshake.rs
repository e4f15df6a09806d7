//! rustls handshakes of a scan: the chain a server presents (trust is judged after), what
//! was negotiated, whether an OCSP response was stapled, and whether a second handshake
//! resumes the first one's session.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use shipcheck_net::{Capture, provider};

use super::Target;

#[derive(Clone)]
pub(super) enum HandshakeError {
    /// The server refused the handshake (alert, or closed).
    Refused(String),
    /// Could not talk to the server at all.
    Io(String),
}

impl HandshakeError {
    pub(super) fn text(&self) -> &str {
        match self {
            HandshakeError::Refused(s) | HandshakeError::Io(s) => s,
        }
    }
}

/// What a rustls handshake saw: the served chain, what was negotiated, and whether an OCSP
/// response was stapled (rustls asks for one in every ClientHello).
#[derive(Clone)]
pub(super) struct Handshake {
    pub(super) chain: Vec<Vec<u8>>,
    pub(super) negotiated: String,
    pub(super) stapled: bool,
    /// A second handshake resumed the first's session (asked for with `resume`), or why
    /// the second handshake could not be made.
    pub(super) resumed: Option<Result<bool, String>>,
}

/// A rustls handshake limited to `versions`. With `resume`, a second handshake follows
/// with the session of the first (after reading the tickets a TLS 1.3 server sends once the
/// handshake is done): whether the server resumed it.
pub(super) fn handshake(
    addr: SocketAddr,
    target: &Target,
    versions: &[&'static rustls::SupportedProtocolVersion],
    resume: bool,
) -> Result<Handshake, HandshakeError> {
    let capture = Arc::new(Capture {
        chain: Mutex::new(Vec::new()),
        ocsp: Mutex::new(Vec::new()),
        provider: provider(),
    });
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .map_err(|e| HandshakeError::Io(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(capture.clone())
            .with_no_client_auth(),
    );
    let (conn, mut sock) = connect(addr, target, &config)?;
    let negotiated = format!(
        "{} {}",
        conn.protocol_version()
            .map_or("?".to_string(), |v| format!("{v:?}")),
        conn.negotiated_cipher_suite()
            .map_or("?".to_string(), |s| format!("{:?}", s.suite()))
    );
    let chain = capture
        .chain
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let stapled = !capture
        .ocsp
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_empty();
    let resumed = if resume {
        let mut conn = conn;
        // TLS 1.3 tickets come after the handshake: read what arrives within a moment. A
        // TLS 1.2 session was settled inside the handshake; waiting would only cost time.
        if conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3) {
            sock.set_read_timeout(Some(Duration::from_millis(300))).ok();
            let _ = conn.read_tls(&mut sock).map(|_| conn.process_new_packets());
        }
        drop(sock);
        match connect(addr, target, &config) {
            Ok((again, _)) => Some(Ok(
                again.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
            )),
            Err(e) => Some(Err(e.text().to_string())),
        }
    } else {
        None
    };
    Ok(Handshake {
        chain,
        negotiated,
        stapled,
        resumed,
    })
}

/// One client handshake with `config`, to its end.
fn connect(
    addr: SocketAddr,
    target: &Target,
    config: &Arc<rustls::ClientConfig>,
) -> Result<(rustls::ClientConnection, TcpStream), HandshakeError> {
    let name = target
        .name()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let server_name = ServerName::try_from(name).map_err(|e| {
        HandshakeError::Io(format!("`{}` is not a server name: {e}", target.name()))
    })?;
    let mut conn = rustls::ClientConnection::new(Arc::clone(config), server_name)
        .map_err(|e| HandshakeError::Io(e.to_string()))?;
    let mut sock = TcpStream::connect_timeout(&addr, target.timeout)
        .map_err(|e| HandshakeError::Io(format!("cannot connect to {addr}: {e}")))?;
    sock.set_read_timeout(Some(target.timeout)).ok();
    sock.set_write_timeout(Some(target.timeout)).ok();
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            return Err(match e.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                    HandshakeError::Io(format!("{addr} did not complete a handshake in time"))
                }
                ErrorKind::InvalidData
                | ErrorKind::ConnectionReset
                | ErrorKind::UnexpectedEof
                | ErrorKind::ConnectionAborted => HandshakeError::Refused(e.to_string()),
                _ => HandshakeError::Io(e.to_string()),
            });
        }
    }
    Ok((conn, sock))
}
