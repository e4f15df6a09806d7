//! `tcp` probe: whether a port accepts connections, for "the database is not exposed" as
//! much as for "the service listens". Bounded by a connect timeout.

use shipcheck_core::spec::tcp::*;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Finding, Observation, ProbeCtx};
use shipcheck_core::duration::Span;

/// Tries to connect; returns (open, how it ended, address).
pub fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(bool, String, SocketAddr), String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} resolves to no address"))?;
    let started = Instant::now();
    Ok(match TcpStream::connect_timeout(&addr, timeout) {
        Ok(_) => (
            true,
            format!("connected in {} ms", started.elapsed().as_millis()),
            addr,
        ),
        Err(e) => (
            false,
            not_open(&e, timeout).map_err(|why| format!("{addr}: {why}"))?,
            addr,
        ),
    })
}

/// What a failed connect says about the port: an answer from the target's side (refused,
/// no answer at all, or a host-unreachable reply from the router or firewall before it) is
/// "does not accept connections" from here; a failure on this machine's side (no route out,
/// a local policy, no address to send from) observed nothing, and is an error: a check that
/// a database port is *not* exposed must not pass because the checker's network is down.
fn not_open(e: &std::io::Error, timeout: Duration) -> Result<String, String> {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused | K::HostUnreachable => Ok(e.to_string()),
        K::TimedOut | K::WouldBlock => Ok(format!("no answer within {}", Span(timeout))),
        _ => Err(format!("could not try the port from here: {e}")),
    }
}

impl crate::Observe for TcpProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let host = ctx.expand(&self.host)?;
        let port = ctx.port(&self.port)?;
        let timeout = self.timeout.map_or(Duration::from_secs(3), |s| s.0);
        let (open, how, addr) = connect(&host, port, timeout)?;
        let mut obs = Observation::new(
            json!({"host": host, "port": port, "address": addr.to_string(), "open": open, "detail": how}),
            format!("tcp {host}:{port}"),
        );
        let want_open = self.expect_state == PortState::Open;
        obs.findings.push(Finding::new(
            open == want_open,
            if want_open {
                "port accepts connections"
            } else {
                "port does not accept connections"
            },
            how,
        ));
        Ok(obs)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::*;

    #[test]
    fn only_an_answer_from_the_target_side_means_closed() {
        let t = Duration::from_secs(3);
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::HostUnreachable,
            ErrorKind::TimedOut,
        ] {
            assert!(not_open(&Error::from(kind), t).is_ok(), "{kind:?}");
        }
        for kind in [
            ErrorKind::NetworkUnreachable,
            ErrorKind::PermissionDenied,
            ErrorKind::AddrNotAvailable,
            ErrorKind::Other,
        ] {
            let why = not_open(&Error::from(kind), t).unwrap_err();
            assert!(why.contains("could not try"), "{kind:?}: {why}");
        }
    }

    #[test]
    fn a_refused_loopback_port_is_closed_and_a_listening_one_open() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = Duration::from_secs(2);
        assert!(connect("127.0.0.1", port, t).unwrap().0);
        drop(listener);
        let (open, how, _) = connect("127.0.0.1", port, t).unwrap();
        assert!(!open && how.to_lowercase().contains("refused"), "{how}");
    }
}
