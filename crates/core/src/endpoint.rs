//! Endpoints: the services a pack's live items reach, declared once per pack and set per
//! deployment in the profile.
//!
//! Real deployments do not all sit at `https://<domain>:443`: a proxy may speak plain HTTP,
//! a service may listen on its own port, need a `Host` header or a User-Agent, or have
//! another public name. A pack declares each service it reaches:
//!
//! ```yaml
//! endpoints:
//!   proxy: {url: "https://${domain}:${https_port}", address: "${connect_address}", ca_file: "${trust_ca_file}"}
//! ```
//!
//! and a profile may replace any part of it (`endpoints: {proxy: {url: "http://10.0.0.5:8080"}}`).
//! Resolved, an endpoint gives its items the variables `NAME.url`, `NAME.scheme`,
//! `NAME.host`, `NAME.port`, `NAME.address`, `NAME.ca_file`, `NAME.host_header` and
//! `NAME.user_agent`; an item that names it (`check.endpoint: NAME`) is checked for it being
//! reachable first, once per run, and a TLS check of a plain-HTTP endpoint is the finding
//! "no TLS".

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::template::Scope;
use crate::text::Text;

/// A service endpoint as a pack declares it; every field expands `${var}`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// What the endpoint is, for the profile's author.
    #[serde(default)]
    pub doc: Option<String>,
    /// `http://` or `https://`, host, optional port (default 80 or 443).
    #[schemars(with = "String")]
    pub url: Text,
    /// IP to connect to instead of resolving the host (curl's `--resolve`); empty: resolve.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub address: Option<Text>,
    /// PEM CA file to trust instead of the system roots; empty: the system roots.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<Text>,
    /// `Host` header to send (a virtual host behind an address); empty: the URL's host.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub host_header: Option<Text>,
    /// `User-Agent` to send, for services that refuse unknown clients; empty: shipcheck's.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub user_agent: Option<Text>,
}

/// What a profile sets for an endpoint; unset fields keep the pack's.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointOverride {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub host_header: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl EndpointOverride {
    /// `top` with `env`'s fields on top (an environment's endpoint over the profile's).
    pub fn merged(
        top: Option<&EndpointOverride>,
        env: Option<&EndpointOverride>,
    ) -> Option<EndpointOverride> {
        match (top, env) {
            (None, None) => None,
            (Some(t), None) => Some(t.clone()),
            (None, Some(e)) => Some(e.clone()),
            (Some(t), Some(e)) => Some(EndpointOverride {
                url: e.url.clone().or_else(|| t.url.clone()),
                address: e.address.clone().or_else(|| t.address.clone()),
                ca_file: e.ca_file.clone().or_else(|| t.ca_file.clone()),
                host_header: e.host_header.clone().or_else(|| t.host_header.clone()),
                user_agent: e.user_agent.clone().or_else(|| t.user_agent.clone()),
            }),
        }
    }
}

/// The variables an endpoint named `name` defines.
pub fn variable_names(name: &str) -> Vec<String> {
    [
        "url",
        "scheme",
        "host",
        "port",
        "address",
        "ca_file",
        "host_header",
        "user_agent",
    ]
    .iter()
    .map(|f| format!("{name}.{f}"))
    .collect()
}

/// An endpoint with its templates expanded and its URL parsed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub name: String,
    /// The URL without a trailing `/`, so items append paths: `${proxy.url}/health`.
    pub url: String,
    pub scheme: String,
    pub host: String,
    pub port: u16,
    pub address: String,
    pub ca_file: String,
    pub host_header: String,
    pub user_agent: String,
}

impl Resolved {
    /// Expands `endpoint` (with the profile's `over` on top) in `scope`.
    pub fn new(
        name: &str,
        endpoint: &Endpoint,
        over: Option<&EndpointOverride>,
        scope: &Scope<'_>,
    ) -> Result<Resolved, String> {
        let field = |pack: Option<&Text>, profile: Option<&String>| -> Result<String, String> {
            match (profile, pack) {
                (Some(v), _) => scope.expand(v),
                (None, Some(t)) => scope.expand(&t.value),
                (None, None) => Ok(String::new()),
            }
        };
        let over = over.cloned().unwrap_or_default();
        let url = field(Some(&endpoint.url), over.url.as_ref())?;
        let (scheme, host, port) = parse_url(&url)?;
        Ok(Resolved {
            name: name.to_string(),
            url: url.trim_end_matches('/').to_string(),
            scheme,
            host,
            port,
            address: field(endpoint.address.as_ref(), over.address.as_ref())?,
            ca_file: field(endpoint.ca_file.as_ref(), over.ca_file.as_ref())?,
            host_header: field(endpoint.host_header.as_ref(), over.host_header.as_ref())?,
            user_agent: field(endpoint.user_agent.as_ref(), over.user_agent.as_ref())?,
        })
    }

    /// The variables it gives items, by [`variable_names`].
    pub fn variables(&self) -> BTreeMap<String, String> {
        let values = [
            self.url.clone(),
            self.scheme.clone(),
            self.host.clone(),
            self.port.to_string(),
            self.address.clone(),
            self.ca_file.clone(),
            self.host_header.clone(),
            self.user_agent.clone(),
        ];
        variable_names(&self.name).into_iter().zip(values).collect()
    }

    /// Where to connect: the address when one is set, else the host; and the port.
    pub fn connect_to(&self) -> (String, u16) {
        let host = if self.address.trim().is_empty() {
            self.host.trim_start_matches('[').trim_end_matches(']')
        } else {
            self.address.trim()
        };
        (host.to_string(), self.port)
    }
}

/// Scheme, host and port of an `http://` or `https://` URL. Hand-written: the core has no
/// URL crate (reqwest's `url` lives with the network stack), and only these parts are used.
pub fn parse_url(url: &str) -> Result<(String, String, u16), String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        format!("`{url}` is not a URL (expected http://HOST[:PORT] or https://...)")
    })?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        other => return Err(format!("`{url}`: scheme `{other}` is not http or https")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!(
            "`{url}`: credentials in an endpoint URL are not supported; use a bearer token"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{url}`: unclosed `[` in the host"))?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(format!("`{url}` has no host"));
    }
    let port = match port {
        None | Some("") => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("`{url}`: port `{p}` is not a number from 1 to 65535"))?,
    };
    Ok((scheme, host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_urls_deployments_use() {
        let ok = |u: &str| parse_url(u).unwrap();
        assert_eq!(
            ok("https://claw.example.com"),
            ("https".into(), "claw.example.com".into(), 443)
        );
        assert_eq!(
            ok("http://10.0.0.5:8080/"),
            ("http".into(), "10.0.0.5".into(), 8080)
        );
        assert_eq!(
            ok("HTTPS://[::1]:8443/x?y"),
            ("https".into(), "[::1]".into(), 8443)
        );
        assert_eq!(ok("http://[::1]"), ("http".into(), "[::1]".into(), 80));
        for bad in [
            "claw.example.com",
            "ftp://x",
            "https://:443",
            "https://x:0",
            "https://x:nine",
            "https://u:p@x",
            "https://[::1",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_profile_replaces_parts_of_an_endpoint() {
        let ep: Endpoint = serde_saphyr::from_str(
            "{url: 'https://${domain}:${port}/', address: '${ip}', user_agent: probe/1}",
        )
        .unwrap();
        let vars: BTreeMap<String, String> =
            [("domain", "claw.example.com"), ("port", "8443"), ("ip", "")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let scope = Scope { vars: &vars };
        let r = Resolved::new("proxy", &ep, None, &scope).unwrap();
        assert_eq!(r.url, "https://claw.example.com:8443");
        assert_eq!(r.connect_to(), ("claw.example.com".into(), 8443));
        assert_eq!(r.variables()["proxy.user_agent"], "probe/1");
        let over = EndpointOverride {
            url: Some("http://10.0.0.5:8080".into()),
            host_header: Some("claw.example.com".into()),
            ..EndpointOverride::default()
        };
        let r = Resolved::new("proxy", &ep, Some(&over), &scope).unwrap();
        assert_eq!((r.scheme.as_str(), r.port), ("http", 8080));
        assert_eq!(r.variables()["proxy.host_header"], "claw.example.com");
        // An environment's endpoint over the profile's, field by field.
        let staging = EndpointOverride {
            url: Some("https://staging.example.com".into()),
            ..EndpointOverride::default()
        };
        let both = EndpointOverride::merged(Some(&over), Some(&staging)).unwrap();
        assert_eq!(both.url.as_deref(), Some("https://staging.example.com"));
        assert_eq!(both.host_header.as_deref(), Some("claw.example.com"));
    }
}
