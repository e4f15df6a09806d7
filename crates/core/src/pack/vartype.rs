//! Variable types: what a pack says a variable holds, checked when the pack loads (its
//! default) and when a profile is resolved (the value given, `${env:...}` expanded), so a
//! typo is one error naming the profile's line, not a dozen item errors at run time.

use schemars::JsonSchema;
use serde::Deserialize;

/// What a variable holds. An empty value is never judged by its type (packs use empty for
/// "not set"); `required` is what forbids empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VarType {
    /// Any text (the default).
    #[default]
    String,
    /// A TCP port, 1 to 65535.
    Port,
    /// A host name or an IP address: no scheme, port or path.
    Host,
    /// An absolute URL (`https://host:port/...`, `postgres://...`).
    Url,
    /// A path on an HTTP server, starting with `/`.
    HttpPath,
    /// A file-system path.
    Path,
    /// A duration such as `30s`, `26h`, `7d`.
    Duration,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Bool,
}

impl VarType {
    /// Checks a non-empty value; the error says what was expected.
    pub fn check(self, value: &str) -> Result<(), String> {
        let v = value.trim();
        if v.is_empty() {
            return Ok(());
        }
        let ok = match self {
            VarType::String => true,
            VarType::Port => v.parse::<u16>().is_ok_and(|p| p > 0),
            VarType::Host => host(v),
            VarType::Url => url(v),
            VarType::HttpPath => v.starts_with('/') && !v.contains(char::is_whitespace),
            VarType::Path => !v.contains('\0'),
            VarType::Duration => crate::duration::Span::parse(v).is_ok(),
            VarType::Integer => v.parse::<i64>().is_ok(),
            VarType::Bool => matches!(v, "true" | "false"),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("is not {}", self.expected()))
        }
    }

    /// What a value of this type looks like, for messages.
    pub fn expected(self) -> &'static str {
        match self {
            VarType::String => "text",
            VarType::Port => "a port (a number from 1 to 65535)",
            VarType::Host => "a host name or IP address (no scheme, port or path)",
            VarType::Url => "a URL (scheme://host[:port][/path])",
            VarType::HttpPath => "an HTTP path starting with `/`",
            VarType::Path => "a file path",
            VarType::Duration => "a duration such as 30s, 26h or 7d",
            VarType::Integer => "a whole number",
            VarType::Bool => "true or false",
        }
    }
}

fn host(v: &str) -> bool {
    if v.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    v.len() <= 253
        && v.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

fn url(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !hostport.is_empty()
        && !v.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_accepts_its_values_and_names_what_it_wanted() {
        let ok = |t: VarType, v: &str| t.check(v).is_ok();
        assert!(ok(VarType::Port, "443") && !ok(VarType::Port, "nine") && !ok(VarType::Port, "0"));
        assert!(!ok(VarType::Port, "70000"));
        assert!(
            ok(VarType::Host, "api.example.com")
                && ok(VarType::Host, "127.0.0.1")
                && ok(VarType::Host, "::1")
        );
        assert!(!ok(VarType::Host, "https://api.example.com") && !ok(VarType::Host, "a.com:443"));
        assert!(!ok(VarType::Host, "a..com") && !ok(VarType::Host, "a.com/x"));
        assert!(
            ok(VarType::Url, "http://127.0.0.1:7360")
                && ok(VarType::Url, "postgres://u:p@db:5432/x")
        );
        assert!(!ok(VarType::Url, "127.0.0.1:7360") && !ok(VarType::Url, "http://"));
        assert!(ok(VarType::HttpPath, "/health") && !ok(VarType::HttpPath, "health"));
        assert!(ok(VarType::Duration, "26h") && !ok(VarType::Duration, "soon"));
        assert!(ok(VarType::Integer, "-3") && !ok(VarType::Integer, "3.5"));
        assert!(ok(VarType::Bool, "true") && !ok(VarType::Bool, "yes"));
        assert!(ok(VarType::Port, ""), "empty is unset, not a bad port");
        assert_eq!(
            VarType::Port.check("nine").unwrap_err(),
            "is not a port (a number from 1 to 65535)"
        );
    }
}
