//! Redaction: secret values never leave shipcheck. Evidence shows a secret's length only,
//! and a final scrub replaces any known secret value that slipped into text (a command's
//! output, an error message) before anything is printed or written.

use serde_json::Value;

/// The key of secret fingerprints, injected once at start-up by the program (the CLI reads
/// `$SHIPCHECK_LEDGER_KEY`, the ledger's key). Without one no fingerprint is shown.
static KEY: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();

/// Sets the fingerprint key for this process; the first call wins. Returns whether it took.
pub fn set_fingerprint_key(key: Option<Vec<u8>>) -> bool {
    KEY.set(key.filter(|k| !k.is_empty())).is_ok()
}

/// A keyed fingerprint of a secret (first 12 hex of HMAC-SHA256 under the injected key), so
/// two runs can show that a secret changed without storing it. `None` without a key: an
/// unkeyed hash of a weak secret could be brute-forced.
pub fn fingerprint(secret: &str) -> Option<String> {
    use hmac::{Hmac, KeyInit, Mac};
    let key = KEY.get()?.as_ref()?;
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(b"shipcheck-fingerprint\n");
    mac.update(secret.as_bytes());
    Some(crate::hex::hex(&mac.finalize().into_bytes())[..12].to_string())
}

fn mask_str(s: &str) -> String {
    match fingerprint(s) {
        Some(fp) => format!("<secret: {} chars, fp {fp}>", s.chars().count()),
        None => format!("<secret: {} chars>", s.chars().count()),
    }
}

/// The mask shown instead of a secret value.
pub fn mask_value(value: &Value) -> String {
    match value {
        Value::Null => "(not set)".into(),
        Value::String(s) => mask_str(s),
        Value::Array(a) => format!("<secret: list of {}>", a.len()),
        Value::Object(_) => "<secret: map>".into(),
        _ => "<secret>".into(),
    }
}

/// Known secret values of a run, scrubbed from every string before output.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

/// Shorter values are not scrubbed from free text: replacing every `a` or `on` would
/// destroy the report while protecting nothing (the value is weak anyway and is flagged).
const MIN_SCRUB_LEN: usize = 4;

impl Redactor {
    /// Registers a secret string (and the strings inside a secret list or map).
    pub fn add_value(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.add(s),
            Value::Array(items) => items.iter().for_each(|v| self.add_value(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_value(v)),
            _ => {}
        }
    }

    pub fn add(&mut self, secret: &str) {
        let s = secret.trim();
        if s.chars().count() >= MIN_SCRUB_LEN && !self.secrets.iter().any(|k| k == s) {
            self.secrets.push(s.to_string());
            // Longest first, so a secret containing another is masked whole.
            self.secrets.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }

    /// Replaces every known secret in `text` with a mask.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(
                    s.as_str(),
                    &format!("<secret: {} chars>", s.chars().count()),
                );
            }
        }
        out
    }

    pub fn scrub_in_place(&self, text: &mut String) {
        if self.secrets.iter().any(|s| text.contains(s.as_str())) {
            *text = self.scrub(text);
        }
    }

    /// Scrubs every string in a JSON value, and masks values under secret-looking keys.
    pub fn scrub_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => self.scrub_in_place(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_value(v)),
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if looks_secret(k) && !v.is_null() && !v.is_boolean() {
                        *v = Value::String(mask_value(v));
                    } else {
                        self.scrub_value(v);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether a key or variable name looks like it holds a secret.
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "apikey",
        "api_key",
        "api-key",
        "private_key",
        "privatekey",
        "credential",
        "signing_key",
        "encryption_key",
        "database_url",
        "dsn",
    ]
    .iter()
    .any(|w| n.contains(w))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_names() {
        assert!(super::looks_secret("SECURECLAW_GATEWAY_TOKEN"));
        assert!(super::looks_secret(".gateway.auth.password"));
        assert!(!super::looks_secret("NODE_ENV"));
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn scrubs_known_values_and_secret_keys() {
        let mut r = Redactor::default();
        r.add("s3cr3t-value");
        r.add("ab"); // too short to scrub from text
        assert_eq!(r.scrub("token=s3cr3t-value;"), "token=<secret: 12 chars>;");
        let mut v =
            json!({"auth": {"token": "zzzz-other"}, "note": "was s3cr3t-value", "mode": "token"});
        r.scrub_value(&mut v);
        assert_eq!(v["auth"]["token"], "<secret: 10 chars>");
        assert_eq!(v["note"], "was <secret: 12 chars>");
        assert_eq!(v["mode"], "token");
    }
}
