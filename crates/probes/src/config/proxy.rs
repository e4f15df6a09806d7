//! Reverse-proxy configuration (nginx, Caddyfile) as one queryable document:
//!
//! ```text
//! { "kind": "nginx" | "caddy",
//!   "files": [paths read, includes and imports resolved],
//!   "directives": [{directive, args, file, line, block?}, ...],   // the raw tree
//!   "sites": [{names, listen: [{address, port, tls}], file, line, https_redirect,
//!              rate_limit: [scopes], headers: {lower-case name: value}, upstreams,
//!              tls_protocols (null: the server's default), tls_certificate, tls_internal}],
//!   "credentials": [{file, line, directive, name}] }             // values never included
//! ```
//!
//! `sites` is what the proxy serves, worked out as the proxy itself does (nginx inherits
//! `add_header` from `http` only when the server sets none; Caddy redirects plain HTTP
//! unless `auto_https` says otherwise), so pack items need no per-proxy logic.

use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Deepest block nesting read: deeper input is refused instead of overflowing the stack.
pub const MAX_DEPTH: usize = 64;
/// Most files read through `include`/`import`.
pub const MAX_FILES: usize = 256;
/// Deepest chain of includes (a file including itself is refused before this).
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// One directive: its name, arguments, where it stands, and its block if it has one.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Directive {
    pub directive: String,
    pub args: Vec<String>,
    pub file: String,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<Vec<Directive>>,
}

impl Directive {
    /// The directives of its block (none for a simple directive).
    pub fn children(&self) -> &[Directive] {
        self.block.as_deref().unwrap_or(&[])
    }

    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(String::as_str)
    }
}

/// One listening socket of a site.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Listen {
    /// The address bound, empty for every address.
    pub address: String,
    pub port: u16,
    pub tls: bool,
    /// nginx's `default_server`: it answers names no server lists.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default_server: bool,
}

/// What the proxy serves under some names, worked out from its configuration.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Site {
    /// Server names; empty means any name (nginx's default server, Caddy's `:port`).
    pub names: Vec<String>,
    pub listen: Vec<Listen>,
    pub file: String,
    pub line: usize,
    /// Plain-HTTP requests to this site are redirected to `https://`.
    pub https_redirect: bool,
    /// Where a rate limit applies: `http`, `server`, `site` or a location's path.
    pub rate_limit: Vec<String>,
    /// Response headers set for the whole site, by lower-case name.
    pub headers: serde_json::Map<String, Value>,
    /// Where requests are passed on (`proxy_pass`, `reverse_proxy`), upstream blocks resolved.
    pub upstreams: Vec<String>,
    /// Accepted TLS versions (`TLSv1.2`...); `None`: the server's default.
    pub tls_protocols: Option<Vec<String>>,
    pub tls_certificate: Option<String>,
    /// Served with a certificate from the proxy's own internal CA (Caddy's `tls internal`,
    /// `local_certs`), which no client trusts.
    pub tls_internal: bool,
}

/// A credential written into the configuration (its value is never part of the document).
#[derive(Clone, Debug, Serialize)]
pub struct Credential {
    pub file: String,
    pub line: usize,
    pub directive: String,
    /// The header, variable or map that carries it.
    pub name: String,
}

/// A parsed proxy configuration.
#[derive(Debug, Default)]
pub struct Parsed {
    pub files: Vec<String>,
    pub directives: Vec<Directive>,
    pub sites: Vec<Site>,
    pub credentials: Vec<Credential>,
    /// The credential values, for masking (never shown).
    pub secrets: Vec<String>,
}

impl Parsed {
    /// Records a credential found at directive `d` (its place and name), and its values
    /// (and the token after a scheme word, `Bearer xyz` → `xyz`) for masking.
    pub fn add_credential(&mut self, d: &Directive, name: String, values: Vec<String>) {
        self.credentials.push(Credential {
            file: d.file.clone(),
            line: d.line,
            directive: d.directive.clone(),
            name,
        });
        for v in values {
            if let Some((_, token)) = v.split_once(' ') {
                self.secrets.push(token.to_string());
            }
            self.secrets.push(v);
        }
    }

    pub fn into_value(self, kind: &str) -> Value {
        json!({
            "kind": kind,
            "files": self.files,
            "directives": self.directives,
            "sites": self.sites,
            "credentials": self.credentials,
        })
    }
}

/// Reads the files an `include` or `import` names.
pub trait Loader {
    /// The files matching `pattern` (already made absolute), with their text, in name order.
    /// A pattern without wildcards that matches nothing is an error; a glob may match none.
    fn load(&mut self, pattern: &Path) -> Result<Vec<(PathBuf, String)>, String>;
}

/// A loader that resolves nothing: `include`s stay as directives (fuzzing, unit tests).
pub struct NoIncludes;

impl Loader for NoIncludes {
    fn load(&mut self, _: &Path) -> Result<Vec<(PathBuf, String)>, String> {
        Ok(Vec::new())
    }
}

/// Files from disk, each read bounded.
pub struct DiskLoader;

impl Loader for DiskLoader {
    fn load(&mut self, pattern: &Path) -> Result<Vec<(PathBuf, String)>, String> {
        let read = |p: &Path| -> Result<String, String> {
            let bytes = crate::read_bounded(p, crate::MAX_FILE_BYTES)?;
            String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", p.display()))
        };
        let name = pattern
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !has_wildcard(&name) {
            return Ok(vec![(pattern.to_path_buf(), read(pattern)?)]);
        }
        // Every match is read: nginx and Caddy refuse a configuration whose include matches
        // a folder or a file they cannot read, so what they serve cannot be told from it.
        crate::glob::matching(pattern)?
            .into_iter()
            .map(|(p, _)| {
                let text = read(&p).map_err(|e| {
                    format!("{e} (it matches {}, and the proxy refuses a configuration with a match it cannot read)", pattern.display())
                })?;
                Ok((p, text))
            })
            .collect()
    }
}

/// Files from `nginx -T` output, split at its `# configuration file PATH:` lines.
pub struct DumpLoader(pub Vec<(PathBuf, String)>);

impl Loader for DumpLoader {
    fn load(&mut self, pattern: &Path) -> Result<Vec<(PathBuf, String)>, String> {
        let pat = pattern.to_string_lossy();
        let mut found: Vec<(PathBuf, String)> = self
            .0
            .iter()
            .filter(|(p, _)| {
                p.parent() == pattern.parent()
                    && p.file_name().is_some_and(|n| {
                        let pn = pattern.file_name().map(|x| x.to_string_lossy());
                        pn.is_some_and(|pn| glob_match(&pn, &n.to_string_lossy()))
                    })
            })
            .cloned()
            .collect();
        found.sort();
        if found.is_empty() && !has_wildcard(&pat) {
            return Err(format!("{pat} is not in the dump"));
        }
        Ok(found)
    }
}

use crate::glob::{glob_match, has_wildcard};

/// The site that serves `host` on `port`, chosen as the proxy chooses: the exact name, then
/// the longest `*.` wildcard, then the longest trailing `.*` wildcard, then the first
/// matching `~regex` name, then the port's default server (nginx's `default_server`, or
/// the first server on the port; Caddy's catch-all `:port`).
pub fn resolve<'a>(doc: &'a Value, host: &str, port: u16) -> Option<&'a Value> {
    let on_port: Vec<&Value> = doc["sites"]
        .as_array()?
        .iter()
        .filter(|s| {
            s["listen"]
                .as_array()
                .is_some_and(|l| l.iter().any(|l| l["port"] == port))
        })
        .collect();
    let names = |s: &&Value| -> Vec<String> {
        s["names"]
            .as_array()
            .map(|n| {
                n.iter()
                    .filter_map(|x| x.as_str())
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    };
    let host = host.to_ascii_lowercase();
    let best = |score: &dyn Fn(&str) -> Option<usize>| {
        on_port
            .iter()
            .filter_map(|s| {
                names(s)
                    .iter()
                    .filter_map(|n| score(n))
                    .max()
                    .map(|k| (k, *s))
            })
            .max_by_key(|(k, _)| *k)
            .map(|(_, s)| s)
    };
    best(&|n| (n == host).then_some(0))
        .or_else(|| {
            best(&|n| {
                n.strip_prefix('*')
                    .filter(|d| host.ends_with(d))
                    .map(str::len)
            })
        })
        .or_else(|| {
            best(&|n| {
                n.strip_prefix('.')
                    .filter(|d| host == d[..] || host.ends_with(&format!(".{d}")))
                    .map(str::len)
            })
        })
        .or_else(|| {
            best(&|n| {
                n.strip_suffix('*')
                    .filter(|p| host.starts_with(p))
                    .map(str::len)
            })
        })
        .or_else(|| {
            on_port.iter().copied().find(|s| {
                names(s).iter().any(|n| {
                    n.strip_prefix('~').is_some_and(|re| {
                        regex::RegexBuilder::new(re)
                            .size_limit(1 << 20)
                            .build()
                            .is_ok_and(|r| r.is_match(&host))
                    })
                })
            })
        })
        .or_else(|| {
            on_port.iter().copied().find(|s| {
                s["listen"].as_array().is_some_and(|l| {
                    l.iter()
                        .any(|l| l["port"] == port && l["default_server"] == true)
                })
            })
        })
        .or_else(|| on_port.iter().copied().find(|s| names(s).is_empty()))
        .or_else(|| {
            // nginx: the first server on the port answers any name; Caddy: none does.
            (doc["kind"] == "nginx")
                .then(|| on_port.first().copied())
                .flatten()
        })
}

/// Whether a header carries a credential: `Authorization`, `Cookie`, `X-Api-Key`...
pub fn credential_header(name: &str) -> bool {
    let n = name
        .trim_start_matches(['+', '-', '>', '?'])
        .to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "x-api-key" | "x-auth-token"
    ) || crate::looks_secret(&n)
}

/// Whether a value is written literally (not only proxy variables such as `$http_x`).
pub fn literal(value: &str) -> bool {
    let v = value.trim();
    let variable = v.starts_with('$') && !v.contains(' ');
    let placeholder = v.starts_with('{') && v.ends_with('}');
    !(v.is_empty() || variable || placeholder)
}

/// The TLS versions from `min` to `max` (each `TLSv1`, `TLSv1.1`...).
pub fn tls_range(min: &str, max: Option<&str>) -> Vec<String> {
    const ALL: [&str; 4] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
    let lo = ALL.iter().position(|v| *v == min).unwrap_or(2);
    let hi = max
        .and_then(|m| ALL.iter().position(|v| *v == m))
        .unwrap_or(3);
    ALL[lo..=hi.max(lo)].iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_literals() {
        assert!(credential_header("Authorization"));
        assert!(credential_header("X-Upstream-Token"));
        assert!(!credential_header("Host"));
        assert!(literal("Bearer abc"));
        assert!(!literal("$http_authorization"));
        assert!(!literal("{http.request.header.Authorization}"));
        assert_eq!(tls_range("TLSv1.2", None), ["TLSv1.2", "TLSv1.3"]);
    }

    /// nginx and Caddy refuse a configuration whose include matches a file they cannot
    /// read or a folder: so does shipcheck, instead of leaving it out.
    #[test]
    fn an_include_matching_what_cannot_be_read_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.conf"), "server {}\n").unwrap();
        let pattern = d.join("*.conf");
        assert_eq!(DiskLoader.load(&pattern).unwrap().len(), 1);
        std::os::unix::fs::symlink(d.join("gone"), d.join("b.conf")).unwrap();
        let e = DiskLoader.load(&pattern).unwrap_err();
        assert!(e.contains("b.conf"), "{e}");
        std::fs::remove_file(d.join("b.conf")).unwrap();
        std::fs::create_dir(d.join("c.conf")).unwrap();
        let e = DiskLoader.load(&pattern).unwrap_err();
        assert!(e.contains("c.conf"), "{e}");
    }

    #[test]
    fn resolves_a_name_as_nginx_does() {
        let site = |names: &[&str], port: u16, default: bool| json!({"names": names, "listen": [{"port": port, "tls": false, "default_server": default}]});
        let doc = json!({"kind": "nginx", "sites": [
            site(&[], 80, false),
            site(&["*.example.com"], 80, false),
            site(&["*.api.example.com"], 80, false),
            site(&["www.example.com"], 80, false),
            site(&["~^static\\d+\\.example\\.org$"], 80, false),
            site(&["other.org"], 443, true),
        ]});
        let pick = |h: &str, p: u16| resolve(&doc, h, p).map(|s| s["names"].clone());
        assert_eq!(
            pick("www.example.com", 80),
            Some(json!(["www.example.com"]))
        );
        assert_eq!(
            pick("a.api.example.com", 80),
            Some(json!(["*.api.example.com"]))
        );
        assert_eq!(pick("shop.example.com", 80), Some(json!(["*.example.com"])));
        assert_eq!(
            pick("static7.example.org", 80),
            Some(json!(["~^static\\d+\\.example\\.org$"]))
        );
        assert_eq!(pick("unknown.net", 80), Some(json!([])));
        assert_eq!(pick("unknown.net", 443), Some(json!(["other.org"])));
        assert_eq!(pick("x", 8080), None);
    }
}
