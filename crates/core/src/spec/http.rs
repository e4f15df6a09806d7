//! `http` probe spec: what a pack writes under `check: { http: ... }`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::Span;
use crate::spec::disk::Size;
use crate::text::Text;

/// The `http` probe of a pack item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    #[schemars(with = "String")]
    pub url: Text,
    /// HTTP method (default GET).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub method: Option<Text>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: BTreeMap<String, Text>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub body: Option<Text>,
    /// Sent as `Authorization: Bearer ...`; treated as a secret. Use `${env:NAME}` or a
    /// secret variable.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub bearer_token: Option<Text>,
    /// Follow redirects (default false: the raw 3xx is judged).
    #[serde(default)]
    pub follow_redirects: bool,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<Text>,
    /// Skip certificate verification (test HTTP behaviour only; the `tls` probe judges TLS).
    #[serde(default)]
    pub insecure: bool,
    /// Connect to this IP instead of resolving the URL's host (curl's `--resolve`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub address: Option<Text>,
    /// Per-request timeout (default 10s).
    #[serde(default)]
    pub timeout: Option<Span>,
    /// Body bytes kept (default 1MiB).
    #[serde(default)]
    pub max_body: Option<Size>,
    /// Accepted status codes.
    #[serde(default)]
    pub status: Vec<u16>,
    #[serde(default)]
    pub headers_present: Vec<String>,
    #[serde(default)]
    pub headers_absent: Vec<String>,
    /// Header name → regex its value must match.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub header_matches: BTreeMap<String, Text>,
    /// Regex the body must match.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub body_matches: Option<Text>,
    /// jq expression over the JSON body that must yield true.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub json: Option<Text>,
    /// A built-in behaviour check instead of (or besides) the single request.
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
}

/// Built-in behaviours, each reporting what it sent and saw.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Behaviour {
    /// Plain HTTP answers with a redirect to the https URL of the same host.
    RedirectsToHttps(#[serde(default)] RedirectSpec),
    /// Strict-Transport-Security with a long enough max-age.
    Hsts(#[serde(default)] HstsSpec),
    /// X-Frame-Options (or CSP frame-ancestors), X-Content-Type-Options: nosniff, and more.
    SecurityHeaders(#[serde(default)] HeadersSpec),
    /// Hostile Origins are neither reflected nor answered with `*` plus credentials.
    CorsRejectsForeignOrigin(#[serde(default)] CorsSpec),
    /// 401/403 without credentials and with a wrong token; 2xx with the right one.
    AuthRequired(#[serde(default)] AuthSpec),
    /// A bounded burst meets a 429 before it ends.
    RateLimited(RateSpec),
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectSpec {
    /// Plain-HTTP URL to request (default: the URL with `http://` and no port).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub http_url: Option<Text>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HstsSpec {
    /// Minimum max-age in seconds (default one year, 31536000).
    #[serde(default)]
    pub min_max_age: Option<u64>,
    #[serde(default)]
    pub include_subdomains: bool,
    #[serde(default)]
    pub preload: bool,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadersSpec {
    /// More headers that must be present, e.g. `referrer-policy`, `content-security-policy`.
    #[serde(default)]
    pub also: Vec<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorsSpec {
    /// Hostile origins to try (default: an arbitrary domain, `null`, and a suffix trick on
    /// the target's own host).
    #[serde(default)]
    pub origins: Vec<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// The right token (secret); when given, it must not be refused (401/403). Any other
    /// answer shows the token was accepted: a service may answer 503 to an authenticated
    /// request it cannot serve yet (SecureClaw with no channel linked), and that is health,
    /// not authentication.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub token: Option<Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    /// Most requests sent (1–10000); the burst never exceeds it. A number, or a `${var}`
    /// template (a per-environment limit).
    pub requests: Count,
    /// Time the burst may take (default 60s); it stops when the window ends.
    #[serde(default)]
    pub window: Option<Span>,
    /// Method of the burst's requests (default GET), e.g. POST for a login limiter.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub method: Option<Text>,
    /// Body of the burst's requests (e.g. a wrong login).
    #[serde(default)]
    pub body: Option<String>,
}

/// A count given as a number or as a `${var}` template that expands to one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Count {
    Number(u32),
    Template(String),
}

impl Count {
    /// The number, expanding a template; 1–10000.
    pub fn value(&self, scope: &crate::template::Scope) -> Result<u32, String> {
        let n = match self {
            Count::Number(n) => *n,
            Count::Template(t) => {
                let v = scope.expand(t)?;
                v.trim()
                    .parse()
                    .map_err(|_| format!("`{v}` (from `{t}`) is not a number of requests"))?
            }
        };
        if (1..=10_000).contains(&n) {
            Ok(n)
        } else {
            Err(format!(
                "rate_limited.requests is {n}; it must be 1 to 10000"
            ))
        }
    }
}

/// The methods of RFC 9110, and PATCH (RFC 5789).
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Why `method` would not be sent as meant: not a token, a standard method in the wrong
/// case (methods are case-sensitive: `get` is an extension method servers refuse), or a
/// near miss of one (`GETT`). Other extension methods (`PROPFIND`, `PURGE`) are sent as
/// written.
fn method_problem(method: &str) -> Option<String> {
    // RFC 9110 §5.6.2's tchar.
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if method.is_empty() || !method.bytes().all(tchar) {
        return Some(format!(
            "`{method}` is not an HTTP method (a token such as GET)"
        ));
    }
    if METHODS.contains(&method) {
        return None;
    }
    if let Some(m) = METHODS.iter().find(|m| m.eq_ignore_ascii_case(method)) {
        return Some(format!(
            "HTTP methods are case-sensitive: `{method}` is not `{m}`; did you mean `{m}`?"
        ));
    }
    crate::diag::did_you_mean(&method.to_ascii_uppercase(), METHODS).map(|m| {
        format!("`{method}` is no standard HTTP method; did you mean `{m}`? (other methods are sent as written)")
    })
}

impl HttpProbe {
    /// The fields that are regexes.
    fn regexes(&self) -> impl Iterator<Item = &Text> {
        self.header_matches
            .values()
            .chain(self.body_matches.as_ref())
    }
}

impl super::Spec for HttpProbe {
    fn templates(&self) -> Vec<&Text> {
        let mut v: Vec<&Text> = vec![&self.url];
        v.extend(self.headers.values());
        v.extend(
            [&self.body, &self.bearer_token, &self.ca_file, &self.address]
                .into_iter()
                .flatten(),
        );
        match &self.behaviour {
            Some(Behaviour::RedirectsToHttps(r)) => v.extend(r.http_url.as_ref()),
            Some(Behaviour::AuthRequired(a)) => v.extend(a.token.as_ref()),
            _ => {}
        }
        v
    }

    fn patterns(&self) -> Vec<&str> {
        self.regexes().map(|t| t.value.as_str()).collect()
    }

    fn validate(&self) -> Vec<(String, Option<&Text>)> {
        let mut out = Vec::new();
        for re in self.regexes() {
            if let Err(e) = crate::pattern::compile(&re.value) {
                out.push((
                    format!("invalid regex: {}", crate::diag::one_line(&e.to_string())),
                    Some(re),
                ));
            }
        }
        if let Some(q) = &self.json
            && let Err(e) = crate::jq::check(&q.value)
        {
            out.push((format!("invalid jq expression `{}`: {e}", q.value), Some(q)));
        }
        let burst = match &self.behaviour {
            Some(Behaviour::RateLimited(r)) => r.method.as_ref(),
            _ => None,
        };
        for m in self.method.iter().chain(burst) {
            if let Some(e) = method_problem(&m.value) {
                out.push((e, Some(m)));
            }
        }
        if let Some(Behaviour::RateLimited(r)) = &self.behaviour
            && let Count::Number(n) = r.requests
            && !(1..=10_000).contains(&n)
        {
            out.push((
                format!("rate_limited.requests is {n}; it must be 1 to 10000"),
                None,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::method_problem;

    #[test]
    fn methods_are_tokens_in_their_case_and_near_misses_are_named() {
        for ok in [
            "GET",
            "POST",
            "PATCH",
            "PROPFIND",
            "PURGE",
            "MKCOL",
            "PROPPATCH",
        ] {
            assert_eq!(method_problem(ok), None, "{ok}");
        }
        let p = method_problem("get").unwrap();
        assert!(
            p.contains("case-sensitive") && p.contains("did you mean `GET`"),
            "{p}"
        );
        let p = method_problem("GETT").unwrap();
        assert!(p.contains("did you mean `GET`"), "{p}");
        let p = method_problem("POTS").unwrap();
        assert!(p.contains("did you mean `POST`"), "{p}");
        for bad in ["", "GET /", "GE\nT", "\u{e9}"] {
            let p = method_problem(bad).unwrap();
            assert!(p.contains("is not an HTTP method"), "{bad:?}: {p}");
        }
    }
}
