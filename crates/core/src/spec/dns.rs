//! `dns` probe spec: what a pack writes under `check: { dns: ... }`.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::text::Text;

/// A name to resolve.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsProbe {
    #[schemars(with = "String")]
    pub name: Text,
    /// Addresses the name must resolve to (all of them); empty: any answer will do.
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
    /// More expected addresses as a comma list, e.g. `${expected_ips}`; empty: none.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub addresses_from: Option<Text>,
}

impl super::Spec for DnsProbe {
    fn templates(&self) -> Vec<&Text> {
        std::iter::once(&self.name)
            .chain(self.addresses_from.as_ref())
            .collect()
    }
}
