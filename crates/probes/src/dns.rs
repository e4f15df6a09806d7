//! `dns` probe: a name resolves (through the system resolver), optionally to expected
//! addresses.

use shipcheck_core::spec::dns::*;
use std::net::{IpAddr, ToSocketAddrs};

use serde_json::json;

use super::{Finding, Observation, ProbeCtx};

/// Resolves `name` with the system resolver, sorted and deduplicated.
pub fn resolve(name: &str) -> Result<Vec<IpAddr>, String> {
    let mut out: Vec<IpAddr> = (name, 0)
        .to_socket_addrs()
        .map_err(|e| format!("{name} does not resolve: {e}"))?
        .map(|a| a.ip())
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

impl crate::Observe for DnsProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let name = ctx.expand(&self.name)?;
        let (found, error) = match resolve(&name) {
            Ok(a) => (a, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let shown: Vec<String> = found.iter().map(IpAddr::to_string).collect();
        let mut obs = Observation::new(json!(shown), format!("dns {name}"));
        obs.findings.push(Finding::new(
            !found.is_empty(),
            format!("{name} resolves"),
            error.unwrap_or_else(|| shown.join(", ")),
        ));
        let mut wanted = self.addresses.clone();
        if let Some(t) = &self.addresses_from {
            for a in ctx
                .expand(t)?
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
            {
                wanted.push(
                    a.parse()
                        .map_err(|_| format!("`{a}` is not an IP address (addresses_from)"))?,
                );
            }
        }
        for want in &wanted {
            obs.findings.push(Finding::new(
                found.contains(want),
                format!("resolves to {want}"),
                if shown.is_empty() {
                    "nothing".into()
                } else {
                    shown.join(", ")
                },
            ));
        }
        Ok(obs)
    }
}
