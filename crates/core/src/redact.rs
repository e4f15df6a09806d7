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
///
/// All forms of all secrets are found in one pass over a text, by one Aho-Corasick
/// automaton built on the first scrub after a secret was added (adding is a set insert:
/// a run with thousands of secrets does not re-sort or re-scan per secret).
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Each form a secret may take in text (as is, JSON-escaped, shell-quoted), with the
    /// length in characters of the secret it stands for.
    forms: Vec<(String, usize)>,
    seen: std::collections::HashSet<String>,
    matchers: std::sync::OnceLock<Matchers>,
}

/// The automata over the current forms.
#[derive(Debug, Clone)]
struct Matchers {
    /// Every form, the longest at a position winning (a secret containing another is
    /// masked whole). `None`: the automaton could not be built (beyond its size limits);
    /// texts are then withheld whole rather than shown unscrubbed.
    whole: Option<aho_corasick::AhoCorasick>,
    /// The first [`MIN_CUT_PREFIX`] characters of each longer form, overlapping, to find
    /// a secret cut short at the end of a text.
    heads: Option<aho_corasick::AhoCorasick>,
    /// The form index of each pattern of `heads`.
    head_forms: Vec<usize>,
    longest: usize,
}

/// What a text becomes when the secrets' automaton could not be built.
const WITHHELD: &str = "<withheld: too many secrets to scrub this text>";

/// Shorter values are not scrubbed from free text: replacing every `a` or `on` would
/// destroy the report while protecting nothing (the value is weak anyway and is flagged).
const MIN_SCRUB_LEN: usize = 4;

/// The shortest prefix of a secret masked at the end of a text that was cut (a summary or
/// an stderr tail truncated in the middle of a secret).
const MIN_CUT_PREFIX: usize = 6;

/// The forms a secret takes once a program or a format has escaped it.
fn escaped_forms(s: &str) -> Vec<String> {
    // JSON-escaped once (a program printed it as JSON) and twice (that output shown again
    // as a JSON string, as evidence does).
    let json_once = json_escape(s);
    let json_twice = json_escape(&json_once);
    let mut forms = vec![
        s.to_string(),
        json_once,
        json_twice,
        // Inside shell single quotes, `'` is written `'\''`.
        s.replace('\'', r"'\''"),
        // Backslash escapes (shells' double quotes, many formats).
        s.replace('\\', r"\\")
            .replace('"', "\\\"")
            .replace('\'', r"\'"),
    ];
    forms.sort();
    forms.dedup();
    forms
}

/// `s` as it stands inside a JSON string literal.
fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

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
        let n = s.chars().count();
        // A literal (`true`, `null`) is no secret worth scrubbing from free text: it would
        // turn every "is true" of the report into a mask. Its item flags it as weak anyway.
        if n < MIN_SCRUB_LEN
            || ["true", "false", "null", "none"].contains(&s.to_ascii_lowercase().as_str())
        {
            return;
        }
        for form in escaped_forms(s) {
            if self.seen.insert(form.clone()) {
                self.forms.push((form, n));
                self.matchers = std::sync::OnceLock::new();
            }
        }
    }

    fn matchers(&self) -> &Matchers {
        self.matchers.get_or_init(|| {
            use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
            // A contiguous NFA, not the DFA the builder picks for a few patterns: building
            // the DFA took most of a small run's redaction (0.2-0.3 ms for the demo's
            // secrets), and the texts it scans are short (BENCHMARKS.md).
            let kind = Some(AhoCorasickKind::ContiguousNFA);
            let whole = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(kind)
                .build(self.forms.iter().map(|(f, _)| f))
                .ok();
            let mut head_forms = Vec::new();
            let mut heads = Vec::new();
            for (i, (form, _)) in self.forms.iter().enumerate() {
                if let Some((at, _)) = form.char_indices().nth(MIN_CUT_PREFIX) {
                    heads.push(&form[..at]);
                    head_forms.push(i);
                }
            }
            let heads = AhoCorasick::builder().kind(kind).build(heads).ok();
            let longest = self.forms.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
            Matchers {
                whole,
                heads,
                head_forms,
                longest,
            }
        })
    }

    /// Replaces every known secret in `text` with a mask, and a secret's prefix at the end
    /// of a text that was cut short.
    pub fn scrub(&self, text: &str) -> String {
        if self.forms.is_empty() {
            return text.to_string();
        }
        let m = self.matchers();
        let (Some(whole), Some(_)) = (&m.whole, &m.heads) else {
            return WITHHELD.to_string();
        };
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for hit in whole.find_iter(text) {
            out.push_str(&text[last..hit.start()]);
            let n = self.forms[hit.pattern().as_usize()].1;
            out.push_str(&format!("<secret: {n} chars>"));
            last = hit.end();
        }
        out.push_str(&text[last..]);
        self.scrub_cut_tail(&mut out);
        out
    }

    /// Masks the longest prefix of a secret (at least [`MIN_CUT_PREFIX`] characters) that
    /// ends `text` (before a closing `…`).
    fn scrub_cut_tail(&self, text: &mut String) {
        let m = self.matchers();
        let Some(heads) = &m.heads else {
            *text = WITHHELD.to_string();
            return;
        };
        let ellipsis = text.ends_with('…');
        let body_len = text.len() - if ellipsis { '…'.len_utf8() } else { 0 };
        // A cut secret starts within the last `longest` bytes.
        let mut from = body_len.saturating_sub(m.longest);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let window = &text[from..body_len];
        let cut = heads
            .find_overlapping_iter(window)
            .filter_map(|hit| {
                let (form, n) = &self.forms[m.head_forms[hit.pattern().as_usize()]];
                form.starts_with(&window[hit.start()..])
                    .then_some((hit.start(), *n))
            })
            .min_by_key(|(start, _)| *start);
        if let Some((start, n)) = cut {
            text.replace_range(from + start..body_len, &format!("<secret: {n} chars>"));
        }
    }

    pub fn scrub_in_place(&self, text: &mut String) {
        if self.forms.is_empty() {
            return;
        }
        // Most texts hold no secret: only a cut one at their end is left to mask, in place
        // (`scrub` would copy the text to find that out; a run scrubs every string of
        // every result).
        let m = self.matchers();
        if let (Some(whole), Some(_)) = (&m.whole, &m.heads)
            && whole.find(text.as_str()).is_none()
        {
            self.scrub_cut_tail(text);
            return;
        }
        let out = self.scrub(text);
        if out != *text {
            *text = out;
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

/// Strings under secret-looking keys anywhere in `value` (a config map holding a
/// `password`), so they are scrubbed from summaries and findings as well.
pub fn strings_under_secret_keys(value: &Value, out: &mut Vec<String>) {
    fn all(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| all(x, out)),
            Value::Object(m) => m.values().for_each(|x| all(x, out)),
            _ => {}
        }
    }
    match value {
        Value::Array(a) => a.iter().for_each(|x| strings_under_secret_keys(x, out)),
        Value::Object(m) => {
            for (k, v) in m {
                if looks_secret(k) {
                    all(v, out);
                } else {
                    strings_under_secret_keys(v, out);
                }
            }
        }
        _ => {}
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
    use super::*;

    #[test]
    fn escaped_and_cut_secrets_are_masked() {
        let mut r = Redactor::default();
        r.add(r#"pa"ss'wo\rd-123"#);
        for text in [
            r#"token=pa"ss'wo\rd-123"#.to_string(),
            serde_json::to_string(r#"pa"ss'wo\rd-123"#).unwrap(),
            r#"echo 'pa"ss'\''wo\rd-123'"#.to_string(),
            r#"x="pa\"ss\'wo\\rd-123""#.to_string(),
        ] {
            let out = r.scrub(&text);
            assert!(!out.contains("ss"), "{text} → {out}");
            assert!(out.contains("<secret: 15 chars>"), "{text} → {out}");
        }
        // Cut after seven characters, with or without an ellipsis.
        assert_eq!(r.scrub(r#"tail: pa"ss'wo"#), "tail: <secret: 15 chars>");
        assert_eq!(r.scrub(r#"tail: pa"ss'wo…"#), "tail: <secret: 15 chars>…");
        // A short common prefix is left alone.
        assert_eq!(r.scrub("ends with pa"), "ends with pa");
        let mut s = r#"cut pa"ss'w"#.to_string();
        r.scrub_in_place(&mut s);
        assert_eq!(s, "cut <secret: 15 chars>");
    }

    #[test]
    fn scrubbing_in_place_is_scrubbing() {
        let mut r = Redactor::default();
        r.add("hunter2-secret");
        r.add("other-token-99");
        for text in [
            "nothing here",
            "",
            "a hunter2-secret and other-token-99",
            "cut at the end: hunter2-se",
            "cut with an ellipsis: other-tok…",
            "short prefix hu",
            "é hunter2-secret é",
        ] {
            let mut s = text.to_string();
            r.scrub_in_place(&mut s);
            assert_eq!(s, r.scrub(text), "{text}");
        }
    }

    #[test]
    fn thousands_of_secrets_are_scrubbed_in_one_pass() {
        let mut r = Redactor::default();
        let secrets: Vec<String> = (0..5000).map(|i| format!("tok-{i:05}-xyz")).collect();
        for s in &secrets {
            r.add(s);
            r.add(s); // a repeat adds nothing
        }
        // A secret that contains another is masked whole, not in part.
        r.add("tok-00007-xyz-and-more");
        let text = format!(
            "a {} b {} c tok-00007-xyz-and-more d",
            secrets[0], secrets[4999]
        );
        assert_eq!(
            r.scrub(&text),
            "a <secret: 13 chars> b <secret: 13 chars> c <secret: 22 chars> d"
        );
        // A mask is never scrubbed again (a secret such as "chars" must not eat it).
        r.add("chars>");
        assert_eq!(r.scrub("x tok-00001-xyz"), "x <secret: 13 chars>");
        // Cut in the middle of the last one.
        assert_eq!(r.scrub("end tok-04999-x…"), "end <secret: 13 chars>…");
    }

    #[test]
    fn literals_are_not_scrubbed_from_text() {
        let mut r = Redactor::default();
        r.add("true");
        r.add("NULL");
        r.add("s3cr3t-value");
        assert_eq!(
            r.scrub("jq `.ok` is true; null; s3cr3t-value"),
            "jq `.ok` is true; null; <secret: 12 chars>"
        );
    }

    #[test]
    fn strings_under_secret_keys_are_found() {
        let v = serde_json::json!({"db": {"host": "h", "password": "pw-1", "list": [{"api_token": ["t1"]}]}});
        let mut out = Vec::new();
        strings_under_secret_keys(&v, &mut out);
        out.sort();
        assert_eq!(out, vec!["pw-1", "t1"]);
    }

    #[test]
    fn secret_names() {
        assert!(super::looks_secret("SECURECLAW_GATEWAY_TOKEN"));
        assert!(super::looks_secret(".gateway.auth.password"));
        assert!(!super::looks_secret("NODE_ENV"));
    }

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
