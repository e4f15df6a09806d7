//! Who may sign: an OpenSSH `allowed_signers` file (ssh-keygen(1), "ALLOWED SIGNERS"), the
//! format `git` uses for signed commits, so one file serves `ssh-keygen -Y verify` and
//! shipcheck alike.
//!
//! ```text
//! # principals           [options]                  keytype     key
//! security:alice@example.com  valid-before="20270101Z"  ssh-ed25519 AAAA…
//! operations:*@example.com,!operations:mallory@example.com ecdsa-sha2-nistp256 AAAA…
//! ```
//!
//! A principal names a role and a person as `ROLE:NAME`: a sign-off for `security` by
//! `alice@example.com` counts only with a signature by a key whose principals match
//! `security:alice@example.com`. Principals are OpenSSH pattern lists (`*`, `?`, `!`). The
//! options `namespaces`, `valid-after` and `valid-before` are honoured; `cert-authority`
//! lines are read and never match (certificates are not supported yet).
//!
//! Hand-written: `ssh-key` 0.6 reads `authorized_keys` and `known_hosts` but not this file.

use std::path::Path;

use ssh_key::public::KeyData;
use ssh_key::{PublicKey, SshSig};

/// Largest allowed_signers file read (a team's file is a few KB).
const MAX_FILE: u64 = 1 << 20;

/// A malformed allowed_signers file: where, and why. Line 0 is the file as a whole (it
/// cannot be read, or is not text), shown without a position.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}{}: {message}", position(*line, *column))]
pub struct ParseError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

/// One line of the file.
#[derive(Clone, Debug)]
struct Entry {
    line: usize,
    principals: String,
    key: KeyData,
    cert_authority: bool,
    namespaces: Option<String>,
    valid_after: Option<jiff::Timestamp>,
    valid_before: Option<jiff::Timestamp>,
}

/// A parsed allowed_signers file.
#[derive(Clone, Debug)]
pub struct AllowedSigners {
    /// The file, as named in messages.
    pub path: String,
    /// The file's text, as read.
    pub text: String,
    entries: Vec<Entry>,
}

/// Why a signature does not count.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("it is not signed")]
    Unsigned,
    #[error("the signature is unreadable: {0}")]
    Unreadable(String),
    #[error("the signature is for namespace `{found}`, not `{expected}`")]
    Namespace { found: String, expected: String },
    #[error("the signature uses {0}; RSA signatures must use SHA-256 or SHA-512")]
    WeakAlgorithm(String),
    #[error("key {key} is not in {file}")]
    UnknownKey { key: String, file: String },
    #[error("key {key} may not sign as {principal} ({file} allows it for: {allowed})")]
    NotAllowed {
        key: String,
        principal: String,
        file: String,
        allowed: String,
    },
    #[error("key {key} may not sign in namespace `{namespace}` ({file}:{line})")]
    NamespaceNotAllowed {
        key: String,
        namespace: String,
        file: String,
        line: usize,
    },
    #[error("key {key} expired at {at} (valid-before, {file}:{line})")]
    Expired {
        key: String,
        at: String,
        file: String,
        line: usize,
    },
    #[error("key {key} is not valid before {at} (valid-after, {file}:{line})")]
    NotYetValid {
        key: String,
        at: String,
        file: String,
        line: usize,
    },
    #[error("the signature by key {key} does not verify: {why}")]
    Invalid { key: String, why: String },
    #[error("{0}")]
    Other(String),
}

/// A signature that verified, and for whom.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    /// The key's SHA-256 fingerprint.
    pub key: String,
    /// The principal it signed as (`ROLE:NAME`).
    pub principal: String,
    /// The allowed_signers line that allowed it.
    pub line: usize,
}

impl AllowedSigners {
    /// Reads and parses the file at `path` (at most 1 MiB).
    pub fn load(path: &Path) -> Result<AllowedSigners, ParseError> {
        let shown = path.display().to_string();
        let bytes =
            shipcheck_core::bounded::read_bounded(path, MAX_FILE).map_err(|e| ParseError {
                path: shown.clone(),
                line: 0,
                column: 0,
                message: e.to_string(),
            })?;
        let text = String::from_utf8(bytes).map_err(|e| ParseError {
            path: shown.clone(),
            line: 0,
            column: 0,
            message: format!("not UTF-8 text ({e})"),
        })?;
        Self::parse(&shown, &text)
    }

    /// A list that allows no one.
    pub fn empty(path: &str) -> AllowedSigners {
        AllowedSigners {
            path: path.into(),
            text: String::new(),
            entries: Vec::new(),
        }
    }

    /// Parses the text of a file named `path`.
    pub fn parse(path: &str, text: &str) -> Result<AllowedSigners, ParseError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            let at = |column: usize, message: String| ParseError {
                path: path.into(),
                line: i + 1,
                column: indent + column + 1,
                message,
            };
            entries.push(parse_line(trimmed, i + 1).map_err(|(c, m)| at(c, m))?);
        }
        Ok(AllowedSigners {
            path: path.into(),
            text: text.into(),
            entries,
        })
    }

    /// Checks that `sig` (an armored SSH signature) is a valid signature of `message` in
    /// `namespace` by a key allowed to sign as `principal` at `at`.
    pub fn verify(
        &self,
        principal: &str,
        namespace: &str,
        message: &[u8],
        sig: &str,
        at: jiff::Timestamp,
    ) -> Result<Verified, Refusal> {
        let sig = read_signature(sig, namespace)?;
        let key = fingerprint(sig.public_key());
        let file = self.path.clone();
        let with_key: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| !e.cert_authority && e.key == *sig.public_key())
            .collect();
        if with_key.is_empty() {
            return Err(Refusal::UnknownKey { key, file });
        }
        let for_principal: Vec<&&Entry> = with_key
            .iter()
            .filter(|e| pattern_list_matches(&e.principals, principal))
            .collect();
        if for_principal.is_empty() {
            let allowed: Vec<&str> = with_key.iter().map(|e| e.principals.as_str()).collect();
            return Err(Refusal::NotAllowed {
                key,
                principal: principal.into(),
                file,
                allowed: allowed.join("; "),
            });
        }
        // The first line that allows it; else the reason of the first that does not.
        let mut first_refusal = None;
        for e in for_principal {
            match e.allows(namespace, at) {
                Ok(()) => {
                    check(&sig, namespace, message).map_err(|why| Refusal::Invalid {
                        key: key.clone(),
                        why,
                    })?;
                    return Ok(Verified {
                        key,
                        principal: principal.into(),
                        line: e.line,
                    });
                }
                Err(r) => {
                    first_refusal.get_or_insert(r(key.clone(), file.clone()));
                }
            }
        }
        Err(first_refusal.unwrap_or(Refusal::Other("no line allows it".into())))
    }
}

type Deferred = Box<dyn FnOnce(String, String) -> Refusal>;

impl Entry {
    /// Whether the line's options allow a signature in `namespace` at `at` (the refusal
    /// takes the key and file once known).
    fn allows(&self, namespace: &str, at: jiff::Timestamp) -> Result<(), Deferred> {
        let line = self.line;
        if let Some(list) = &self.namespaces
            && !pattern_list_matches(list, namespace)
        {
            let namespace = namespace.to_owned();
            return Err(Box::new(move |key, file| Refusal::NamespaceNotAllowed {
                key,
                namespace,
                file,
                line,
            }));
        }
        if let Some(before) = self.valid_before
            && at > before
        {
            return Err(Box::new(move |key, file| Refusal::Expired {
                key,
                at: before.to_string(),
                file,
                line,
            }));
        }
        if let Some(after) = self.valid_after
            && at < after
        {
            return Err(Box::new(move |key, file| Refusal::NotYetValid {
                key,
                at: after.to_string(),
                file,
                line,
            }));
        }
        Ok(())
    }
}

/// Reads an armored SSH signature and checks its namespace and hash.
pub fn read_signature(sig: &str, namespace: &str) -> Result<SshSig, Refusal> {
    let sig = SshSig::from_pem(sig.trim()).map_err(|e| Refusal::Unreadable(e.to_string()))?;
    if sig.namespace() != namespace {
        return Err(Refusal::Namespace {
            found: sig.namespace().into(),
            expected: namespace.into(),
        });
    }
    if let ssh_key::Algorithm::Rsa { hash: None } = sig.algorithm() {
        return Err(Refusal::WeakAlgorithm("ssh-rsa (SHA-1)".into()));
    }
    Ok(sig)
}

/// Whether `sig` is a valid signature of `message` in `namespace` by the key it names
/// (with no word on whether that key may sign).
pub fn check(sig: &SshSig, namespace: &str, message: &[u8]) -> Result<(), String> {
    PublicKey::from(sig.public_key().clone())
        .verify(namespace, message, sig)
        .map_err(|e| e.to_string())
}

/// The SHA-256 fingerprint of a key, as `ssh-keygen -l` shows it.
pub use shipcheck_ledger::headsig::fingerprint;

/// Parses one non-comment line; an error carries its column (0-based, in `line`).
fn parse_line(line: &str, number: usize) -> Result<Entry, (usize, String)> {
    let (principals, rest, rest_at) = principals_field(line)?;
    let rest_trimmed = rest.trim_start();
    let mut col = rest_at + (rest.len() - rest_trimmed.len());
    let (options, key_text) = if is_key_type(first_word(rest_trimmed)) {
        (None, rest_trimmed)
    } else {
        let (opts, after) = options_field(rest_trimmed).map_err(|(c, m)| (col + c, m))?;
        let after_trimmed = after.trim_start();
        let opts_col = col;
        col += rest_trimmed.len() - after_trimmed.len();
        (Some((opts, opts_col)), after_trimmed)
    };
    if key_text.is_empty() {
        return Err((col, "a key is expected after the principals".into()));
    }
    let key_type = first_word(key_text);
    if !is_key_type(key_type) {
        return Err((
            col,
            format!("`{key_type}` is not an SSH key type (expected e.g. ssh-ed25519)"),
        ));
    }
    let key = PublicKey::from_openssh(key_text)
        .map_err(|e| (col, format!("not a readable {key_type} key: {e}")))?;
    let mut entry = Entry {
        line: number,
        principals,
        key: key.key_data().clone(),
        cert_authority: false,
        namespaces: None,
        valid_after: None,
        valid_before: None,
    };
    if let Some((opts, at)) = options {
        for (name, value) in opts {
            let bad = |m: String| (at, m);
            match (name.to_ascii_lowercase().as_str(), value) {
                ("cert-authority", None) => entry.cert_authority = true,
                ("namespaces", Some(v)) => entry.namespaces = Some(v),
                ("valid-after", Some(v)) => entry.valid_after = Some(timestamp(&v).map_err(bad)?),
                ("valid-before", Some(v)) => entry.valid_before = Some(timestamp(&v).map_err(bad)?),
                (n @ ("namespaces" | "valid-after" | "valid-before"), None) => {
                    return Err(bad(format!("option `{n}` needs a quoted value")));
                }
                (other, _) => {
                    return Err(bad(format!(
                        "unknown option `{other}` (allowed: cert-authority, namespaces, valid-after, valid-before)"
                    )));
                }
            }
        }
    }
    Ok(entry)
}

/// The principals (quoted or not), the text after them and its column.
fn principals_field(line: &str) -> Result<(String, &str, usize), (usize, String)> {
    if let Some(quoted) = line.strip_prefix('"') {
        let end = quoted
            .find('"')
            .ok_or((0, "the quoted principals are not closed".to_string()))?;
        return Ok((quoted[..end].into(), &quoted[end + 1..], end + 2));
    }
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    if end == line.len() {
        return Err((0, "a key is expected after the principals".into()));
    }
    Ok((line[..end].into(), &line[end..], end))
}

/// Comma-separated `name` or `name="value"` options up to the first unquoted blank.
type Options = Vec<(String, Option<String>)>;
fn options_field(text: &str) -> Result<(Options, &str), (usize, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let name_end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.is_empty() {
            return Err((text.len() - rest.len(), "an option name is expected".into()));
        }
        rest = &rest[name_end..];
        let mut value = None;
        if let Some(v) = rest.strip_prefix("=\"") {
            let end = v.find('"').ok_or((
                text.len() - rest.len(),
                format!("the value of `{name}` is not closed with \""),
            ))?;
            value = Some(v[..end].to_owned());
            rest = &v[end + 1..];
        } else if rest.starts_with('=') {
            return Err((
                text.len() - rest.len(),
                format!("the value of `{name}` must be in double quotes"),
            ));
        }
        out.push((name.to_owned(), value));
        match rest.strip_prefix(',') {
            Some(r) => rest = r,
            None => return Ok((out, rest)),
        }
    }
}

fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or("")
}

fn is_key_type(word: &str) -> bool {
    matches!(
        word,
        "ssh-ed25519"
            | "ssh-rsa"
            | "ssh-dss"
            | "ecdsa-sha2-nistp256"
            | "ecdsa-sha2-nistp384"
            | "ecdsa-sha2-nistp521"
            | "sk-ssh-ed25519@openssh.com"
            | "sk-ecdsa-sha2-nistp256@openssh.com"
    ) || word.ends_with("-cert-v01@openssh.com")
}

/// `YYYYMMDD[HHMM[SS]]`, UTC with a `Z` suffix, else the system's time zone (as OpenSSH).
fn timestamp(text: &str) -> Result<jiff::Timestamp, String> {
    let (digits, utc) = match text.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (text, false),
    };
    let bad = || format!("`{text}` is not a time (YYYYMMDD[HHMM[SS]], Z for UTC)");
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i16>().ok());
    let (y, mo, d) = (n(0..4), n(4..6), n(6..8));
    let (h, mi, s) = (
        n(8..10).unwrap_or(0),
        n(10..12).unwrap_or(0),
        n(12..14).unwrap_or(0),
    );
    let (Some(y), Some(mo), Some(d)) = (y, mo, d) else {
        return Err(bad());
    };
    let dt = jiff::civil::DateTime::new(y, mo as i8, d as i8, h as i8, mi as i8, s as i8, 0)
        .map_err(|_| bad())?;
    let tz = if utc {
        jiff::tz::TimeZone::UTC
    } else {
        jiff::tz::TimeZone::system()
    };
    dt.to_zoned(tz).map(|z| z.timestamp()).map_err(|_| bad())
}

/// OpenSSH's `match_pattern_list`: a match of any negated pattern refuses, else any
/// positive pattern must match.
pub fn pattern_list_matches(list: &str, s: &str) -> bool {
    let mut matched = false;
    for pattern in list.split(',') {
        let (negated, p) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if glob(p.as_bytes(), s.as_bytes()) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// `*` and `?` wildcards, a byte at a time as OpenSSH compares.
fn glob(p: &[u8], s: &[u8]) -> bool {
    shipcheck_core::wildcard::matches_by(p, s, b'?', b'*')
}

#[cfg(test)]
#[path = "allowed_signers/tests.rs"]
mod tests;
