//! Where a config file's `${VAR}` values come from (the service's env file, then the
//! `.env` the program loads itself, else shipcheck's own environment), SecureClaw's
//! substitution rules, and a running service's environment laid over an env file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::ProbeCtx;

/// Where `${VAR}` substitutions come from: the service's env file, then a `.env` the
/// program loads itself; neither given, shipcheck's own environment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct EnvSources {
    pub(super) env_file: Option<PathBuf>,
    pub(super) dotenv: Option<PathBuf>,
}

impl EnvSources {
    /// The variables, env file first (dotenv never overrides); `None`: the process's own.
    pub(super) fn read(&self) -> Result<Option<BTreeMap<String, String>>, String> {
        if self.env_file.is_none() && self.dotenv.is_none() {
            return Ok(None);
        }
        let mut vars = BTreeMap::new();
        for path in [&self.env_file, &self.dotenv].into_iter().flatten() {
            let text = match crate::read_bounded(path, crate::MAX_FILE_BYTES) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) if e.is_not_found() && Some(path) == self.dotenv.as_ref() => continue,
                Err(e) => return Err(e.to_string()),
            };
            for (k, v) in
                crate::env::parse_env(&text).map_err(|e| format!("{}: {e}", path.display()))?
            {
                vars.entry(k).or_insert(v);
            }
        }
        Ok(Some(vars))
    }
}

/// SecureClaw semantics: `${UPPER_CASE}` in strings is replaced, a missing variable is an
/// error naming the config path, and `$${X}` stays a literal `${X}`.
pub(super) fn substitute_env(
    value: &mut Value,
    at: &str,
    env: Option<&BTreeMap<String, String>>,
) -> Result<(), String> {
    match value {
        Value::String(s) if s.contains("${") => {
            *s = substitute_str(s, at, env)?;
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                substitute_env(v, &format!("{at}[{i}]"), env)?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                substitute_env(v, &format!("{at}.{k}"), env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn substitute_str(
    s: &str,
    at: &str,
    env: Option<&BTreeMap<String, String>>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = t;
            continue;
        }
        if let Some(t) = tail.strip_prefix("${")
            && let Some(end) = t.find('}')
        {
            let name = &t[..end];
            let valid = !name.is_empty()
                && name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if valid {
                let v = match env {
                    Some(m) => m.get(name).cloned(),
                    None => std::env::var(name).ok(),
                };
                match v {
                    Some(v) => out.push_str(&v),
                    None => {
                        return Err(format!(
                            "missing env var \"{name}\" referenced at config path: {}",
                            at.trim_start_matches('.')
                        ));
                    }
                }
                rest = &t[end + 1..];
                continue;
            }
        }
        out.push('$');
        rest = &tail[1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An env file's variables with the running service's environment laid over them (the
/// process's own variables win: dotenv never overrides them), the secret values it added,
/// and a note for the evidence. No pattern, or an empty one: the file as read.
pub(super) fn overlay_process<'a>(
    value: &'a Value,
    pattern: Option<&shipcheck_core::text::Text>,
    ctx: &ProbeCtx,
) -> Result<(Cow<'a, Value>, Vec<String>, String), String> {
    let pattern = match pattern {
        Some(p) => ctx.expand(p)?,
        None => String::new(),
    };
    if pattern.trim().is_empty() {
        // No process: the file's value as it is (not a copy of it per item).
        return Ok((Cow::Borrowed(value), Vec::new(), String::new()));
    }
    let (pid, vars) = crate::process::environment_cached(ctx, &pattern)?;
    let mut merged = match value {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in vars {
        merged.insert(k, Value::String(v));
    }
    let merged = Value::Object(merged);
    let mut secrets = Vec::new();
    shipcheck_core::redact::strings_under_secret_keys(&merged, &mut secrets);
    Ok((
        Cow::Owned(merged),
        secrets,
        format!(" + the environment of process {pid}"),
    ))
}
