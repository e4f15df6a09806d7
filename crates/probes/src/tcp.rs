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
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            (false, format!("no answer within {}", Span(timeout)), addr)
        }
        Err(e) => (false, e.to_string(), addr),
    })
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
