//! `tcp` probe spec: what a pack writes under `check: { tcp: ... }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::Span;
use crate::text::Text;

/// A TCP port.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpProbe {
    #[schemars(with = "String")]
    pub host: Text,
    /// A number or a `${var}`.
    #[schemars(with = "super::PortSchema")]
    pub port: Text,
    /// `open` (default) or `closed` (refused, unreachable or timed out).
    #[serde(default)]
    pub expect_state: PortState,
    /// Connect timeout (default 3s).
    #[serde(default)]
    pub timeout: Option<Span>,
}

/// What a port should be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PortState {
    #[default]
    Open,
    Closed,
}

impl super::Spec for TcpProbe {
    fn templates(&self) -> Vec<&Text> {
        vec![&self.host, &self.port]
    }
}
