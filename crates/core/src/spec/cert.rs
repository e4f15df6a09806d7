//! `cert` probe spec: a certificate (and its key) as files on disk, what the next restart
//! of the service will serve, checked without connecting to it.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::text::Text;

/// A PEM certificate file (the leaf first, then any intermediates).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CertProbe {
    /// The PEM file; `${var}` and `~/` expand.
    #[schemars(with = "String")]
    pub path: Text,
    /// The private key file (PEM: PKCS#8, PKCS#1 or SEC1): it must belong to the certificate.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub key: Option<Text>,
    /// PEM CA file the chain must verify to (with the file's intermediates); empty: the
    /// system roots. Trust is judged at a time inside the leaf's validity, apart from expiry.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<Text>,
    /// Names the certificate must cover (wildcards count); an empty one is skipped.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub names: Vec<Text>,
    /// Days the certificate must still be valid (default 14).
    #[serde(default)]
    pub min_days_left: Option<i64>,
    /// Check the chain against the CA (default true).
    #[serde(default = "yes")]
    pub trusted: bool,
}

fn yes() -> bool {
    true
}

impl super::Spec for CertProbe {
    fn templates(&self) -> Vec<&Text> {
        [Some(&self.path), self.key.as_ref(), self.ca_file.as_ref()]
            .into_iter()
            .flatten()
            .chain(&self.names)
            .collect()
    }
}
