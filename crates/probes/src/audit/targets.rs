//! `probe --targets FILE`: one target per line, or a YAML list with per-target options
//! (SNI, CA, the address to connect to, the auth path and a valid token's variable, the
//! burst path and size, a hostile Origin, the health path), each laid over the options given
//! on the command line.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Kind, Options, host_port};

/// One target of a YAML targets file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    /// `host[:port]` (tls, tcp), a URL (http), a name (dns).
    pub target: String,
    pub sni: Option<String>,
    /// PEM CA file to trust, relative to the targets file.
    pub ca: Option<PathBuf>,
    /// Connect to this address instead of resolving the target's name.
    pub resolve: Option<IpAddr>,
    pub min_days: Option<i64>,
    pub no_ciphers: Option<bool>,
    pub insecure: Option<bool>,
    pub http_port: Option<u16>,
    /// Path that must refuse requests without valid credentials.
    pub auth_path: Option<String>,
    /// Environment variable holding a valid bearer token for `auth_path` (never the token
    /// itself in the file).
    pub token_env: Option<String>,
    pub health: Option<String>,
    /// Burst size for the rate-limit check.
    pub burst: Option<u32>,
    pub burst_path: Option<String>,
    /// A hostile Origin to try besides the built-in ones.
    pub origin: Option<String>,
    pub closed: Option<bool>,
    /// The line of a plain targets file the target is on.
    #[serde(skip)]
    pub line: Option<usize>,
}

/// The targets of a file: YAML (a list of entries) when it starts with `-` or `target:`
/// entries, else one target per line (`#` comments). Errors name the file and line.
pub fn parse(text: &str, file: &Path) -> Result<Vec<TargetEntry>, String> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    if !first.is_some_and(|l| l.starts_with('-')) {
        return Ok(text
            .lines()
            .map(str::trim)
            .enumerate()
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .map(|(i, l)| TargetEntry {
                line: Some(i + 1),
                ..TargetEntry::plain(l.to_string())
            })
            .collect());
    }
    serde_saphyr::from_str::<Vec<TargetEntry>>(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        format!(
            "{}{at}: {}",
            file.display(),
            shipcheck_core::diag::one_line(&e.without_snippet().to_string())
        )
    })
}

impl TargetEntry {
    fn plain(target: String) -> TargetEntry {
        TargetEntry {
            target,
            sni: None,
            ca: None,
            resolve: None,
            min_days: None,
            no_ciphers: None,
            insecure: None,
            http_port: None,
            auth_path: None,
            token_env: None,
            health: None,
            burst: None,
            burst_path: None,
            origin: None,
            closed: None,
            line: None,
        }
    }

    /// [`check_syntax`] of the entry's target, located in `file` (at its line, or as its
    /// place in the list, `index` from 0).
    pub fn check(&self, kind: Kind, file: &Path, index: usize) -> Result<(), String> {
        check_syntax(kind, &self.target).map_err(|e| match self.line {
            Some(line) => format!("{}:{line}: {e}", file.display()),
            None => format!(
                "{}: entry {} (`{}`): {e}",
                file.display(),
                index + 1,
                if kind == Kind::Postgres {
                    "the connection URL"
                } else {
                    &self.target
                }
            ),
        })
    }

    /// The options of this target: `base` with what the entry sets laid over it; a token
    /// read from its variable is returned for scrubbing.
    pub fn apply(&self, base: &Options, dir: &Path) -> Result<(Options, Option<String>), String> {
        let mut o = base.clone();
        if let Some(sni) = &self.sni {
            o.tls.sni = Some(sni.clone());
        }
        if let Some(ca) = &self.ca {
            let ca = dir.join(ca);
            o.tls.ca_file = Some(ca.clone());
            o.http.ca_file = Some(ca);
        }
        if let Some(ip) = self.resolve {
            let hostport = match reqwest::Url::parse(&self.target) {
                Ok(u) if u.host_str().is_some() => (
                    u.host_str()
                        .unwrap_or_default()
                        .trim_matches(['[', ']'])
                        .to_string(),
                    u.port_or_known_default().unwrap_or(443),
                ),
                _ => host_port(&self.target, 443)?,
            };
            o.tls.resolve.0.push((hostport.0.clone(), hostport.1, ip));
            o.http.resolve.0.push((hostport.0.clone(), hostport.1, ip));
            if let Some(p) = self.http_port.or(o.http.http_port) {
                o.http.resolve.0.push((hostport.0, p, ip));
            }
        }
        if let Some(d) = self.min_days {
            o.tls.min_days = d;
        }
        if let Some(n) = self.no_ciphers {
            o.tls.ciphers = !n;
        }
        if let Some(i) = self.insecure {
            o.http.insecure = i;
        }
        if self.http_port.is_some() {
            o.http.http_port = self.http_port;
        }
        if self.auth_path.is_some() {
            o.http.auth_path = self.auth_path.clone();
        }
        let mut secret = None;
        if let Some(var) = &self.token_env {
            let token = std::env::var(var)
                .map_err(|_| format!("{}: token_env `{var}` is not set", self.target))?;
            o.http.token = Some(token.clone());
            secret = Some(token);
        }
        if self.health.is_some() {
            o.http.health = self.health.clone();
        }
        if self.burst.is_some() {
            o.http.rate_limit = self.burst;
        }
        if self.burst_path.is_some() {
            o.http.burst_path = self.burst_path.clone();
        }
        if self.origin.is_some() {
            o.http.origin = self.origin.clone();
        }
        if let Some(c) = self.closed {
            o.expect_closed = c;
        }
        Ok((o, secret))
    }
}

/// The password of a URL's user info, as written (`https://user:PASSWORD@host/`), found
/// in the text even when it does not parse as a URL.
pub fn url_password(target: &str) -> Option<&str> {
    let start = target.find("://")? + 3;
    let rest = &target[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    userinfo
        .split_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// `target` as an error may show it: a URL's password masked.
pub fn shown(target: &str) -> String {
    match url_password(target) {
        Some(p) => target.replacen(&format!(":{p}@"), ":***@", 1),
        None => target.to_string(),
    }
}

/// Whether `target` can be a target of `kind`, said before anything is probed: a malformed
/// target is the caller's mistake, not a target that could not be checked.
pub fn check_syntax(kind: Kind, target: &str) -> Result<(), String> {
    let shown = shown(target.trim());
    let t = shown.as_str();
    match kind {
        Kind::Tls | Kind::Tcp => {
            if let Ok(u) = reqwest::Url::parse(t)
                && let Some(host) = u.host_str()
            {
                let port = u.port_or_known_default().unwrap_or(443);
                return Err(format!(
                    "`{t}` is a URL: give HOST[:PORT], here `{host}:{port}`"
                ));
            }
            let (host, port) = host_port(t, 0)?;
            if host.is_empty() {
                return Err(format!("`{t}`: give HOST:PORT"));
            }
            if kind == Kind::Tcp && port == 0 {
                return Err(format!("`{t}`: give HOST:PORT (e.g. `{host}:5432`)"));
            }
            Ok(())
        }
        Kind::Http => {
            let u = reqwest::Url::parse(t).map_err(|e| format!("`{t}` is not a URL: {e}"))?;
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return Err(format!("`{t}`: give an http or https URL"));
            }
            Ok(())
        }
        Kind::Dns => {
            let name = t.strip_suffix('.').unwrap_or(t);
            let label_ok = |l: &str| {
                (1..=63).contains(&l.len())
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
                return Err(format!(
                    "`{t}` is not a host name (letters, digits, `-` and `_` in dot-separated labels of up to 63 characters)"
                ));
            }
            Ok(())
        }
        Kind::Postgres => crate::postgres::parse_url(target.trim()).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_or_yaml_with_located_errors() {
        let f = Path::new("t.yaml");
        let plain = parse("# targets\na.example:443\n\nb.example\n", f).unwrap();
        assert_eq!(
            plain.iter().map(|t| t.target.as_str()).collect::<Vec<_>>(),
            ["a.example:443", "b.example"]
        );
        let yaml = parse("- target: https://a.example/\n  auth_path: /api/\n  burst: 20\n- {target: b.example}\n", f).unwrap();
        assert_eq!(yaml[0].auth_path.as_deref(), Some("/api/"));
        assert_eq!(yaml[1].target, "b.example");
        assert_eq!(
            shown("https://u:pw@h.example/x"),
            "https://u:***@h.example/x"
        );
        assert_eq!(shown("https://u@h.example/"), "https://u@h.example/");
        assert_eq!(url_password("https://h.example/a:b@c"), None);
        let e = parse("- target: a\n  brust: 3\n", f).unwrap_err();
        assert!(e.starts_with("t.yaml:2:"), "{e}");
        assert!(e.contains("brust"), "{e}");
    }
}
