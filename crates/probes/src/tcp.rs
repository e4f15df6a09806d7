//! `tcp` probe: whether a port accepts connections, for "the database is not exposed" as
//! much as for "the service listens". Bounded by a connect timeout.

use shipcheck_core::spec::tcp::*;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Finding, Observation, ProbeCtx};
use shipcheck_core::duration::Span;

/// Tries to connect to every address `host` resolves to (at most 16, at once); returns
/// (open, how it ended, address).
pub fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(bool, String, SocketAddr), String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .take(16)
        .collect();
    addrs.dedup();
    connect_addrs(&addrs, timeout).map_err(|e| {
        if addrs.is_empty() {
            format!("{host} resolves to no address")
        } else {
            e
        }
    })
}

/// Tries every address at once. The port is open when any address accepts a connection (a
/// client falls back from one to the next: `localhost` as `::1`, then `127.0.0.1`), and
/// closed only when every address answers that it is (a database exposed on IPv6 alone is
/// exposed). An address this machine could not try, with none open, is an error.
fn connect_addrs(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(bool, String, SocketAddr), String> {
    let first = *addrs.first().ok_or("no address")?;
    let started = Instant::now();
    let tried: Vec<(SocketAddr, std::io::Result<TcpStream>)> = std::thread::scope(|scope| {
        let attempts: Vec<_> = addrs
            .iter()
            .map(|addr| scope.spawn(move || (*addr, TcpStream::connect_timeout(addr, timeout))))
            .collect();
        // An attempt that did not end normally tried nothing: could not check that
        // address, never left out as if it had not been there.
        addrs
            .iter()
            .zip(attempts)
            .map(|(addr, a)| {
                a.join().unwrap_or_else(|_| {
                    (
                        *addr,
                        Err(std::io::Error::other("the connection attempt failed")),
                    )
                })
            })
            .collect()
    });
    if let Some((addr, _)) = tried.iter().find(|(_, r)| r.is_ok()) {
        return Ok((
            true,
            format!("connected in {} ms", started.elapsed().as_millis()),
            *addr,
        ));
    }
    let (mut closed, mut untried) = (Vec::new(), Vec::new());
    for (addr, r) in &tried {
        if let Err(e) = r {
            match not_open(e, timeout) {
                Ok(why) if tried.len() == 1 => closed.push(why),
                Ok(why) => closed.push(format!("{addr}: {why}")),
                Err(why) => untried.push(format!("{addr}: {why}")),
            }
        }
    }
    if !untried.is_empty() {
        return Err(untried.join("; "));
    }
    Ok((false, closed.join("; "), first))
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

    /// Every address is tried: a port open on any is open (and exposed), closed only when
    /// every address says so.
    #[test]
    fn every_address_of_a_name_is_tried() {
        let listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let closed: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let open: SocketAddr = format!("127.0.0.2:{port}").parse().unwrap();
        let t = Duration::from_secs(2);
        let (is_open, _, at) = connect_addrs(&[closed, open], t).unwrap();
        assert!(is_open);
        assert_eq!(at, open);
        drop(listener);
        let (is_open, how, _) = connect_addrs(&[closed, open], t).unwrap();
        assert!(!is_open);
        assert!(
            how.contains("127.0.0.1") && how.contains("127.0.0.2"),
            "{how}"
        );
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
