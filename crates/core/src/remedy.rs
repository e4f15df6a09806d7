//! A mechanical fix an item may declare next to its `fix:` text (issue #18): set or remove
//! a key in a config file, chmod a file, or replace a weak secret with a new random one.
//! `shipcheck fix` shows it as a diff and applies it with `--apply`; an `unsafe` one (it
//! changes behaviour others rely on, such as a token clients must learn) needs `--unsafe`
//! too, as in rustc's and ruff's model.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::text::Text;

/// Whether `fix --apply` applies it alone.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Applicability {
    /// It changes only what the item checks: applied by `--apply`.
    Safe,
    /// It changes behaviour others rely on: applied by `--apply --unsafe` only.
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// One mechanical fix: exactly one of `chmod`, `chown`, `set`, `remove`, `secret`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Remedy {
    pub applicability: Applicability,
    #[serde(default)]
    pub chmod: Option<ChmodFix>,
    #[serde(default)]
    pub chown: Option<ChownFix>,
    #[serde(default)]
    pub set: Option<SetFix>,
    #[serde(default)]
    pub remove: Option<KeyRef>,
    #[serde(default)]
    pub secret: Option<SecretFix>,
}

/// The file formats a key fix edits.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Json,
    Json5,
    /// `KEY=value` lines (dotenv, systemd EnvironmentFile).
    Env,
    Toml,
    Yaml,
    Ini,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Json => "json",
            FileFormat::Json5 => "json5",
            FileFormat::Env => "env",
            FileFormat::Toml => "toml",
            FileFormat::Yaml => "yaml",
            FileFormat::Ini => "ini",
        }
    }
}

/// A file's mode set (never widened: the fix only takes bits away).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChmodFix {
    /// The file (template); or, with `path_from`, taken from what the check observed.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub path: Option<Text>,
    /// jq over the item's observed value giving the file's path, when the path is not a
    /// variable (e.g. a file named by the service's command line).
    #[serde(default)]
    pub path_from: Option<String>,
    /// Octal, e.g. `"0600"`.
    pub mode: String,
}

/// A file's owner (and group) set; shipcheck must run as root or as the file's owner with a
/// group it belongs to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChownFix {
    #[schemars(with = "String")]
    pub path: Text,
    /// A user name or a numeric uid.
    pub owner: String,
    /// A group name or a numeric gid (default: unchanged).
    #[serde(default)]
    pub group: Option<String>,
}

/// A key in a config file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    #[schemars(with = "String")]
    pub path: Text,
    pub format: FileFormat,
    /// Dotted path (`gateway.controlUi.allowInsecureAuth`), or the variable's name in an env
    /// file.
    pub key: String,
    /// Where a `${VAR}` reference in the value is set: an env file (template). The fix then
    /// edits VAR there, never the reference.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub env_file: Option<Text>,
}

// The key's fields are written out here and in `SecretFix`, not a flattened `KeyRef`: serde's
// `deny_unknown_fields` does not work through `flatten`, and a typo in a pack must be an error.
/// A key set to a value.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetFix {
    #[schemars(with = "String")]
    pub path: Text,
    pub format: FileFormat,
    pub key: String,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub env_file: Option<Text>,
    /// The value (JSON types; in an env file, its text).
    pub value: serde_json::Value,
}

/// A weak secret replaced with a new random one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretFix {
    #[schemars(with = "String")]
    pub path: Text,
    pub format: FileFormat,
    pub key: String,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub env_file: Option<Text>,
    /// Characters of the new secret (default 64).
    #[serde(default = "default_length")]
    pub length: usize,
    #[serde(default)]
    pub alphabet: Alphabet,
}

fn default_length() -> usize {
    64
}

/// The characters a generated secret is made of.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// `0-9a-f`.
    #[default]
    Hex,
    /// `A-Za-z0-9`.
    Alnum,
    /// URL-safe base64 characters (`A-Za-z0-9-_`).
    Base64url,
}

impl Alphabet {
    pub fn chars(self) -> &'static [u8] {
        match self {
            Alphabet::Hex => b"0123456789abcdef",
            Alphabet::Alnum => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            Alphabet::Base64url => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            }
        }
    }
}

/// What the remedy does.
pub enum Action<'a> {
    Chmod(&'a ChmodFix),
    Chown(&'a ChownFix),
    Set(&'a SetFix),
    Remove(&'a KeyRef),
    Secret(&'a SecretFix),
}

impl Remedy {
    /// The one action, or why the remedy is malformed.
    pub fn action(&self) -> Result<Action<'_>, String> {
        let mut found = Vec::new();
        if let Some(c) = &self.chmod {
            found.push(Action::Chmod(c));
        }
        if let Some(c) = &self.chown {
            found.push(Action::Chown(c));
        }
        if let Some(s) = &self.set {
            found.push(Action::Set(s));
        }
        if let Some(r) = &self.remove {
            found.push(Action::Remove(r));
        }
        if let Some(s) = &self.secret {
            found.push(Action::Secret(s));
        }
        if found.len() != 1 {
            return Err(format!(
                "a remedy has exactly one of chmod, chown, set, remove, secret (it has {})",
                found.len()
            ));
        }
        let action = found.remove(0);
        match &action {
            Action::Chmod(c) => {
                parse_mode(&c.mode)?;
                if c.path.is_some() == c.path_from.is_some() {
                    return Err("a chmod remedy has exactly one of path, path_from".into());
                }
                if let Some(q) = &c.path_from {
                    crate::jq::check(q).map_err(|e| format!("remedy path_from `{q}`: {e}"))?;
                }
            }
            Action::Secret(s) if s.length < 16 || s.length > 4096 => {
                return Err(format!(
                    "secret length {} is not between 16 and 4096",
                    s.length
                ));
            }
            _ => {}
        }
        if let Some(target) = action.target()
            && (target.key.is_empty() || target.key.split('.').any(str::is_empty))
        {
            return Err(format!("remedy key `{}` is not a dotted path", target.key));
        }
        Ok(action)
    }
}

/// The key a set, remove or secret fix edits.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub path: &'a Text,
    pub format: FileFormat,
    pub key: &'a str,
    pub env_file: Option<&'a Text>,
}

impl Action<'_> {
    /// The key it edits (`None` for a chmod or chown).
    pub fn target(&self) -> Option<Target<'_>> {
        match self {
            Action::Chmod(_) | Action::Chown(_) => None,
            Action::Set(s) => Some(Target {
                path: &s.path,
                format: s.format,
                key: &s.key,
                env_file: s.env_file.as_ref(),
            }),
            Action::Remove(r) => Some(Target {
                path: &r.path,
                format: r.format,
                key: &r.key,
                env_file: r.env_file.as_ref(),
            }),
            Action::Secret(s) => Some(Target {
                path: &s.path,
                format: s.format,
                key: &s.key,
                env_file: s.env_file.as_ref(),
            }),
        }
    }
}

/// An octal mode (`"600"`, `"0600"`).
pub fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("remedy mode `{text}` is not an octal file mode"))
}
