//! `env` probe: an environment variable of the shipcheck process, or of an env file
//! (the file a service is started with), and the dotenv parser the config probe shares.

use shipcheck_core::spec::env::*;
use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{FileLocation, Observation, ProbeCtx};

impl crate::Observe for EnvProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let name = ctx.expand(&self.name)?;
        let process = match &self.process {
            Some(p) => Some(ctx.expand(p)?).filter(|p| !p.trim().is_empty()),
            None => None,
        };
        // The running service's own environment wins over its env file.
        if let Some(pattern) = &process {
            let (pid, vars) = crate::process::environment_cached(ctx, pattern)?;
            if let Some(v) = vars.get(&name) {
                let mut obs = Observation::new(
                    Value::String(v.clone()),
                    format!(
                        "env {name} of process {pid} (`{pattern}`), which wins over its env file"
                    ),
                );
                obs.secret_hint = super::looks_secret(&name);
                return Ok(obs);
            }
            // dotenv ignores a missing file: then the variable is simply not set.
            if let Some(file) = &self.file {
                let path = ctx.path(file)?;
                // Followed as dotenv opens it: a dangling symlink is a missing file.
                if matches!(std::fs::metadata(&path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
                {
                    let mut obs = Observation::new(
                        Value::Null,
                        format!(
                            "env {name}: not in process {pid}'s environment, and {} does not exist",
                            path.display()
                        ),
                    );
                    obs.secret_hint = super::looks_secret(&name);
                    return Ok(obs);
                }
            }
        }
        let mut obs = match &self.file {
            Some(file) => {
                let path = ctx.path(file)?;
                let text = read_text(&path)?;
                let vars = parse_env(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                let mut obs = Observation::new(
                    vars.get(&name)
                        .map_or(Value::Null, |v| Value::String(v.clone())),
                    format!("env {name} in {}", path.display()),
                );
                obs.location = Some(FileLocation {
                    path: path.display().to_string(),
                    line: line_of_key(&text, &name),
                });
                obs
            }
            None => Observation::new(
                std::env::var(&name).map_or(Value::Null, Value::String),
                format!("env {name} (process environment)"),
            ),
        };
        obs.secret_hint = super::looks_secret(&name);
        Ok(obs)
    }
}

/// Reads a text file of at most `MAX_FILE_BYTES`.
pub(crate) fn read_text(path: &Path) -> Result<String, String> {
    text_of(path, super::read_bounded(path, super::MAX_FILE_BYTES)?)
}

fn text_of(path: &Path, bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes)
        .map_err(|_| format!("{} is not UTF-8 text; is it a binary file?", path.display()))
}

/// Reads and parses an env file a service may go without (systemd's `EnvironmentFile=-`,
/// compose's `.env` and `env_file` with `required: false`): `None` when it does not exist
/// (a dangling symlink included). One that is there but cannot be read is an error: the
/// service, often started as root, may well read it.
pub fn read_env_file_if_present(
    path: &Path,
    dialect: Dialect,
) -> Result<Option<BTreeMap<String, String>>, String> {
    let bytes = match super::read_bounded(path, super::MAX_FILE_BYTES) {
        Err(e) if e.is_not_found() => return Ok(None),
        r => r?,
    };
    parse_env_as(&text_of(path, bytes)?, dialect)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads and parses an env file.
pub fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>, String> {
    read_env_file_as(path, Dialect::Dotenv)
}

/// Reads and parses an env file as `dialect` reads it.
pub fn read_env_file_as(path: &Path, dialect: Dialect) -> Result<BTreeMap<String, String>, String> {
    parse_env_as(&read_text(path)?, dialect).map_err(|e| format!("{}: {e}", path.display()))
}

/// Who reads an env file, and so where an unquoted value ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Node's dotenv (v15+), as the services of the built-in packs load their `.env`: a
    /// `#` anywhere in an unquoted value starts a comment; backticks quote too.
    Dotenv,
    /// Docker compose (`env_file`, the project's `.env`): a `#` after a space starts one.
    Compose,
    /// systemd's `EnvironmentFile=`: no comment after a value; `;` starts a comment line.
    Systemd,
}

/// Parses an env file as a service loading it with dotenv reads it (see [`Dialect`]).
pub fn parse_env(text: &str) -> Result<BTreeMap<String, String>, String> {
    parse_env_as(text, Dialect::Dotenv)
}

/// Parses env-file syntax as `dialect` reads it: `KEY=value`, optional `export `, quotes,
/// comments. Hand-written: the crates that parse dotenv follow one reader (and none
/// follows Node's, which the packs' services use).
pub fn parse_env_as(text: &str, dialect: Dialect) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty()
            || line.starts_with('#')
            || (dialect == Dialect::Systemd && line.starts_with(';'))
        {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected KEY=VALUE", n + 1));
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            // The text is not quoted: a broken line may hold a secret.
            return Err(format!(
                "line {}: what stands before `=` is not a variable name (letters, digits, `_`, `.`)",
                n + 1
            ));
        }
        let value = value.trim();
        let value = if let Some(inner) = value
            .strip_prefix('"')
            .and_then(|v| v.rsplit_once('"'))
            .map(|(a, _)| a)
        {
            // dotenv expands `\n` and `\r` only, and keeps `\"` as written.
            match dialect {
                Dialect::Dotenv => inner.replace("\\n", "\n").replace("\\r", "\r"),
                Dialect::Compose | Dialect::Systemd => {
                    inner.replace("\\n", "\n").replace("\\\"", "\"")
                }
            }
        } else if let Some(inner) = value
            .strip_prefix('\'')
            .and_then(|v| v.rsplit_once('\''))
            .map(|(a, _)| a)
        {
            inner.to_string()
        } else if let Some(inner) = value
            .strip_prefix('`')
            .and_then(|v| v.rsplit_once('`'))
            .map(|(a, _)| a)
            .filter(|_| dialect == Dialect::Dotenv)
        {
            inner.to_string()
        } else {
            let end = match dialect {
                Dialect::Dotenv => value.find('#'),
                Dialect::Compose => value
                    .char_indices()
                    .find(|&(i, c)| c == '#' && value[..i].ends_with([' ', '\t']))
                    .map(|(i, _)| i),
                Dialect::Systemd => None,
            };
            value[..end.unwrap_or(value.len())].trim().to_string()
        };
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_syntax() {
        let m =
            parse_env("A=1\nexport B='two words'\nC=\"q\\\"x\" \nD=val # note\n\n# c\n").unwrap();
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "two words");
        // dotenv keeps `\"` as written.
        assert_eq!(m["C"], "q\\\"x");
        assert_eq!(m["D"], "val");
        assert!(parse_env("JUSTTEXT\n").unwrap_err().contains("line 1"));
        assert_eq!(line_of_key("A=1\nexport B=2\n", "B"), Some(2));
    }

    /// A `#` in an unquoted value: Node's dotenv (v15+) ends the value there, compose only
    /// at a `#` after a space, systemd never. Judging more of a password than the service
    /// reads would pass a strength check on text it never uses.
    #[test]
    fn each_reader_ends_a_value_where_it_does() {
        let text = "P=My#Secure-Passw0rd-2026\nQ=abc # note\nR=\"in#quotes\"\nS=`tick#ed`\n";
        let dotenv = parse_env_as(text, Dialect::Dotenv).expect("dotenv");
        assert_eq!(dotenv["P"], "My");
        assert_eq!(dotenv["Q"], "abc");
        assert_eq!(dotenv["R"], "in#quotes");
        assert_eq!(dotenv["S"], "tick#ed");
        let quoted = "E=\"a\\\"b\\nc\"\n";
        assert_eq!(
            parse_env_as(quoted, Dialect::Dotenv).expect("dotenv")["E"],
            "a\\\"b\nc"
        );
        assert_eq!(
            parse_env_as(quoted, Dialect::Compose).expect("compose")["E"],
            "a\"b\nc"
        );
        let compose = parse_env_as(text, Dialect::Compose).expect("compose");
        assert_eq!(compose["P"], "My#Secure-Passw0rd-2026");
        assert_eq!(compose["Q"], "abc");
        assert_eq!(compose["R"], "in#quotes");
        let systemd = parse_env_as(text, Dialect::Systemd).expect("systemd");
        assert_eq!(systemd["P"], "My#Secure-Passw0rd-2026");
        assert_eq!(systemd["Q"], "abc # note");
        let systemd = parse_env_as("; a comment\nA=1\n", Dialect::Systemd).expect("systemd");
        assert_eq!(systemd.len(), 1);
        // The default, for `.env` files a service loads with dotenv.
        assert_eq!(parse_env(text).expect("dotenv")["P"], "My");
    }
}
