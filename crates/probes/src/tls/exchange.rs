//! The network exchanges of a scan, each made once per run: the items of one endpoint ask
//! different questions (protocols, ciphers, the certificate), and their scans share most
//! of their hellos. Each exchange is keyed by everything that goes on the wire, so a scan
//! that takes a shared answer gets the answer its own request would have had; a scan asked
//! with no run cache (`shipcheck probe tls`) makes every exchange itself.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::handshake::{Handshake, HandshakeError, handshake};
use super::hello::{self, Answer, Version};
use super::{Target, sslv2};
use crate::Cache;

/// One exchange, by what it sends.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Key {
    /// A bare TCP connection (does anything listen?).
    Connect(SocketAddr, Duration),
    /// An SSL 2.0 ClientHello.
    Sslv2(SocketAddr, Duration),
    /// A ClientHello at `version` offering `suites`, with DEFLATE offered or not.
    Hello {
        addr: SocketAddr,
        version: Version,
        suites: Vec<u16>,
        deflate: bool,
        sni: String,
        timeout: Duration,
    },
    /// A rustls handshake, TLS 1.2 allowed or not, then a resumption or not.
    Handshake {
        addr: SocketAddr,
        target: Target,
        tls12: bool,
        resume: bool,
    },
}

/// The exchanges of one scan, shared with the other scans of the run through `cache`.
pub(super) struct Exchanges<'a> {
    pub(super) cache: Option<&'a Cache>,
    pub(super) addr: SocketAddr,
    pub(super) target: &'a Target,
}

impl Exchanges<'_> {
    fn once<T>(&self, key: Key, make: impl FnOnce() -> T) -> T
    where
        T: Clone + Send + Sync + 'static,
    {
        match self.cache {
            Some(cache) => cache.memo(key, make),
            None => make(),
        }
    }

    /// Whether a TCP connection is taken; the error as `TcpStream::connect_timeout` says it.
    pub(super) fn connect(&self) -> Result<(), String> {
        let (addr, timeout) = (self.addr, self.target.timeout);
        self.once(Key::Connect(addr, timeout), || {
            TcpStream::connect_timeout(&addr, timeout)
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }

    pub(super) fn sslv2(&self) -> Result<bool, String> {
        let (addr, timeout) = (self.addr, self.target.timeout);
        self.once(Key::Sslv2(addr, timeout), || sslv2::ask(addr, timeout))
    }

    /// A ClientHello at `version` offering `suites` (and DEFLATE with `deflate`).
    pub(super) fn hello(
        &self,
        version: Version,
        suites: &[u16],
        deflate: bool,
    ) -> Result<Answer, String> {
        let (addr, timeout, sni) = (self.addr, self.target.timeout, self.target.name());
        let key = Key::Hello {
            addr,
            version,
            suites: suites.to_vec(),
            deflate,
            sni: sni.to_string(),
            timeout,
        };
        self.once(key, || {
            let hello = hello::Offer {
                deflate,
                ..hello::Offer::new(version, suites, Some(sni))
            }
            .hello();
            hello::send(addr, &hello, timeout)
        })
    }

    /// A rustls handshake at TLS 1.3, or 1.3 and 1.2 with `tls12`; with `resume`, then a
    /// second one that asks to resume the first's session.
    pub(super) fn handshake(&self, tls12: bool, resume: bool) -> Result<Handshake, HandshakeError> {
        let key = Key::Handshake {
            addr: self.addr,
            target: self.target.clone(),
            tls12,
            resume,
        };
        self.once(key, || {
            let versions: &[&'static rustls::SupportedProtocolVersion] = if tls12 {
                &[&rustls::version::TLS13, &rustls::version::TLS12]
            } else {
                &[&rustls::version::TLS13]
            };
            handshake(self.addr, self.target, versions, resume)
        })
    }
}
