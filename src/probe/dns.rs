//! `dns` probe: a name resolves (through the system resolver), optionally to expected
//! addresses.

use std::net::{IpAddr, ToSocketAddrs};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Finding, Observation, ProbeCtx};
use crate::pack::Text;

/// A name to resolve.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsProbe {
    #[schemars(with = "String")]
    pub name: Text,
    /// Addresses the name must resolve to (all of them); empty: any answer will do.
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
}

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

impl DnsProbe {
    pub fn templates(&self) -> Vec<&Text> {
        vec![&self.name]
    }

    pub fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
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
        for want in &self.addresses {
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
