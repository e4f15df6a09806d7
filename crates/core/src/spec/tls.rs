//! `tls` probe spec: what a pack writes under `check: { tls: ... }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::Span;
use crate::text::Text;

/// Days a certificate must have left, by default, for pack items and `shipcheck probe tls`.
pub const DEFAULT_MIN_DAYS_LEFT: i64 = 14;

/// The `tls` probe of a pack item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsProbe {
    /// Host name (or IP) to check; `${var}` expands.
    #[schemars(with = "String")]
    pub host: Text,
    /// Port (default 443); a number or a `${var}`.
    #[serde(default = "default_port")]
    #[schemars(with = "super::PortSchema")]
    pub port: Text,
    /// SNI name and name checked against the certificate (default: host).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub sni: Option<Text>,
    /// Connect to this IP instead of resolving the host.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub address: Option<Text>,
    /// PEM CA file to trust instead of the system roots.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<Text>,
    /// Per-connection timeout (default 5s).
    #[serde(default)]
    pub timeout: Option<Span>,
    /// Oldest protocol the server may accept (default `tls1.2`); `none` skips the check.
    #[serde(default)]
    pub min_protocol: MinProtocol,
    /// The server must accept TLS 1.3.
    #[serde(default)]
    pub require_tls13: bool,
    /// Check the certificate: trusted chain, hostname, validity (default true).
    #[serde(default = "yes")]
    pub certificate: bool,
    /// Days the certificate must still be valid (default 14).
    #[serde(default)]
    pub min_days_left: Option<i64>,
    /// Share of the certificate's lifetime that must remain (for short-lived certificates).
    #[serde(default)]
    pub min_lifetime_left_percent: Option<f64>,
    #[serde(default)]
    pub allow_self_signed: bool,
    /// Scan cipher suites and fail on any weak or insecure one accepted.
    #[serde(default)]
    pub no_weak_ciphers: bool,
    /// Scan cipher suites and fail on insecure ones only (NULL, anon, EXPORT, RC4, DES, 3DES).
    #[serde(default)]
    pub no_insecure_ciphers: bool,
}

fn default_port() -> Text {
    serde_saphyr::Spanned::new(
        "443".to_string(),
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

fn yes() -> bool {
    true
}

/// Oldest acceptable protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MinProtocol {
    #[serde(rename = "tls1.0")]
    Tls10,
    #[serde(rename = "tls1.1")]
    Tls11,
    #[default]
    #[serde(rename = "tls1.2")]
    Tls12,
    #[serde(rename = "tls1.3")]
    Tls13,
    None,
}

impl super::Spec for TlsProbe {
    fn templates(&self) -> Vec<&Text> {
        [
            Some(&self.host),
            self.sni.as_ref(),
            self.address.as_ref(),
            self.ca_file.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}
