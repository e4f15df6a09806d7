//! Secret strength: minimum length, known defaults and placeholders, an entropy estimate,
//! an expected format, and (checked by the engine across items and environments) reuse.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::observation::Finding;

/// Defaults and placeholders seen in real checklists and sample env files. A value equal
/// to one of these (case-insensitive), or made of one repeated character, is rejected.
pub const PLACEHOLDERS: &[&str] = &[
    "",
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "default",
    "default-insecure-token",
    "insecure",
    "secret",
    "password",
    "passw0rd",
    "token",
    "xxx",
    "todo",
    "tbd",
    "test",
    "example",
    "placeholder",
    "replace-me",
    "replaceme",
    "admin",
    "root",
    "letmein",
    "123456",
    "12345678",
    "your-secret-token-here",
    "your-token-here",
    "your-secret-here",
    "your-api-key",
    "generate-a-secure-token-here",
    "change-this-to-something-secure",
    "generate-64-hex-chars-32-bytes-key",
    "secureclaw",
];

/// Fragments that mark a template value nobody replaced.
const PLACEHOLDER_MARKS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "change-this",
    "your-",
    "your_",
    "-here",
    "_here",
    "placeholder",
    "replace-me",
    "replace_me",
    "insecure",
    "example",
    "generate-",
    "dummy",
];

/// What a strong secret looks like.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    /// Minimum length in characters.
    #[serde(default)]
    pub min_length: Option<usize>,
    /// Exact length in characters (e.g. 64 for a 32-byte hex key).
    #[serde(default)]
    pub length: Option<usize>,
    /// Expected alphabet.
    #[serde(default)]
    pub format: Option<SecretFormat>,
    /// Minimum estimated entropy in bits (see ARCHITECTURE.md for the estimate).
    #[serde(default)]
    pub min_entropy_bits: Option<f64>,
    /// Reject the built-in defaults and placeholders (default `true`).
    #[serde(default = "yes")]
    pub deny_placeholders: bool,
    /// More values to reject.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Name of this secret for reuse checks (default: the item id).
    #[serde(default)]
    pub name: Option<String>,
    /// Names of other secrets (in any item of the run) that must hold a different value.
    #[serde(default)]
    pub distinct_from: Vec<String>,
    /// Names of other secrets that must hold the same value (two services sharing a token).
    #[serde(default)]
    pub same_as: Vec<String>,
    /// The value must differ in every other environment of the profile.
    #[serde(default)]
    pub distinct_across_environments: bool,
}

fn yes() -> bool {
    true
}

/// Alphabets a secret can be required to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretFormat {
    /// 0-9 and a-f (either case).
    Hex,
    /// Standard base64, optional padding.
    Base64,
    /// URL-safe base64, optional padding.
    Base64url,
    /// Letters and digits only.
    Alphanumeric,
}

impl SecretSpec {
    /// Judges a secret value. Findings never contain the value.
    pub fn judge(&self, value: &Value) -> Vec<Finding> {
        let Some(s) = value.as_str() else {
            let what = if value.is_null() {
                "not set"
            } else {
                "not a string"
            };
            return vec![Finding::new(false, "a secret is set", what)];
        };
        let len = s.chars().count();
        let mut out = Vec::new();
        if let Some(min) = self.min_length {
            out.push(Finding::new(
                len >= min,
                format!("at least {min} characters"),
                format!("{len} characters"),
            ));
        }
        if let Some(exact) = self.length {
            out.push(Finding::new(
                len == exact,
                format!("exactly {exact} characters"),
                format!("{len} characters"),
            ));
        }
        if self.deny_placeholders || !self.deny.is_empty() {
            let hit = placeholder_reason(s, self.deny_placeholders, &self.deny);
            out.push(Finding::new(
                hit.is_none(),
                "not a default or placeholder value",
                hit.unwrap_or_else(|| "no known default or placeholder".into()),
            ));
        }
        if let Some(format) = self.format {
            let ok = !s.is_empty() && matches_format(s, format);
            out.push(Finding::new(
                ok,
                format!("{format:?} characters only").to_lowercase(),
                if ok {
                    "matches"
                } else {
                    "other characters found"
                },
            ));
        }
        if let Some(min_bits) = self.min_entropy_bits {
            let bits = entropy_bits(s);
            out.push(Finding::new(
                bits >= min_bits,
                format!("entropy ≥ {min_bits:.0} bits"),
                format!("about {bits:.0} bits"),
            ));
        }
        out
    }
}

/// Why `s` counts as a default or placeholder, if it does (never quoting `s` itself
/// unless it is one of the public built-in values).
pub fn placeholder_reason(s: &str, builtin: bool, extra: &[String]) -> Option<String> {
    let lower = s.trim().to_ascii_lowercase();
    if extra.iter().any(|d| d.to_ascii_lowercase() == lower) {
        return Some("a value the pack denies".into());
    }
    if !builtin {
        return None;
    }
    if let Some(p) = PLACEHOLDERS.iter().find(|p| **p == lower) {
        return Some(if p.is_empty() {
            "empty".into()
        } else {
            format!("the known default `{p}`")
        });
    }
    if lower.starts_with('<') && lower.ends_with('>')
        || lower.starts_with("${")
        || lower.starts_with("{{")
    {
        return Some("an unfilled template placeholder".into());
    }
    let mut chars = lower.chars();
    if let Some(c) = chars.next()
        && chars.all(|d| d == c)
    {
        return Some("one repeated character".into());
    }
    PLACEHOLDER_MARKS
        .iter()
        .find(|m| lower.contains(*m))
        .map(|m| format!("contains the placeholder marker `{m}`"))
}

fn matches_format(s: &str, f: SecretFormat) -> bool {
    match f {
        SecretFormat::Hex => s.chars().all(|c| c.is_ascii_hexdigit()),
        SecretFormat::Alphanumeric => s.chars().all(|c| c.is_ascii_alphanumeric()),
        SecretFormat::Base64 | SecretFormat::Base64url => {
            let body = s.trim_end_matches('=');
            s.len() - body.len() <= 2
                && body.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || if f == SecretFormat::Base64 {
                            c == '+' || c == '/'
                        } else {
                            c == '-' || c == '_'
                        }
                })
        }
    }
}

/// Entropy estimate in bits: the smaller of (a) length × log2(size of the character
/// classes used) and (b) length × the Shannon entropy of the character frequencies.
/// (a) credits the alphabet, (b) punishes repetition such as `aaaaabbbbb`.
pub fn entropy_bits(s: &str) -> f64 {
    let n = s.chars().count();
    if n == 0 {
        return 0.0;
    }
    let hex_only = s.chars().all(|c| c.is_ascii_hexdigit());
    let mut pool = 0u32;
    if hex_only {
        pool = 16;
    } else {
        if s.chars().any(|c| c.is_ascii_lowercase()) {
            pool += 26;
        }
        if s.chars().any(|c| c.is_ascii_uppercase()) {
            pool += 26;
        }
        if s.chars().any(|c| c.is_ascii_digit()) {
            pool += 10;
        }
        if s.chars().any(|c| c.is_ascii_punctuation() || c == ' ') {
            pool += 33;
        }
        if !s.is_ascii() {
            pool += 100;
        }
    }
    let charset = n as f64 * f64::from(pool.max(1)).log2();
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let shannon: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum();
    charset.min(shannon * n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all_ok(spec: &SecretSpec, v: &str) -> bool {
        spec.judge(&json!(v)).iter().all(|f| f.ok)
    }

    #[test]
    fn placeholders_and_defaults() {
        for bad in [
            "changeme",
            "default-insecure-token",
            "<secure-token>",
            "xxxxxxxx",
            "your-secret-token-here",
            "${TOKEN}",
            "",
        ] {
            assert!(placeholder_reason(bad, true, &[]).is_some(), "{bad}");
        }
        assert!(placeholder_reason("q8Z2vN4kT1pX7mR3", true, &[]).is_none());
        assert!(placeholder_reason("corp-token", false, &["Corp-Token".into()]).is_some());
    }

    #[test]
    fn strength_rules() {
        let spec = SecretSpec {
            min_length: Some(32),
            min_entropy_bits: Some(128.0),
            deny_placeholders: true,
            ..Default::default()
        };
        assert!(all_ok(&spec, "tq3B9xZ0Lr7VwK2mN5sJ8dF1hG4yP6cA"));
        assert!(!all_ok(&spec, "short"));
        assert!(!all_ok(&spec, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        let hex = SecretSpec {
            length: Some(64),
            format: Some(SecretFormat::Hex),
            deny_placeholders: true,
            ..Default::default()
        };
        assert!(all_ok(&hex, &"0123456789abcdef".repeat(4)));
        assert!(!all_ok(&hex, &"0123456789abcdeg".repeat(4)));
        assert!(!spec.judge(&Value::Null).iter().all(|f| f.ok));
    }

    #[test]
    fn entropy_estimate() {
        assert!(entropy_bits("aaaaaaaaaaaaaaaa") < 1.0);
        let hex64 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert!(entropy_bits(hex64) > 200.0);
        assert!(entropy_bits("password") < 40.0);
    }
}
