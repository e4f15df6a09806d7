//! A compose service's command line, as `docker compose` runs it: the file merged with
//! its override file, `${VAR}` interpolated from the environment and the project's `.env`,
//! and the service's `environment` and `env_file`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::source::{Launch, split_words};
use crate::env::Dialect;

/// The override file `docker compose` merges over `path` when run without `-f`
/// (`compose.override.yaml` beside `compose.yaml`, `docker-compose.override.yml` beside
/// `docker-compose.yml`, either extension), if `path` has a default name and one exists.
fn override_of(path: &Path) -> Result<Option<PathBuf>, String> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let stem = match name.as_deref() {
        Some("compose.yaml" | "compose.yml") => "compose",
        Some("docker-compose.yaml" | "docker-compose.yml") => "docker-compose",
        _ => return Ok(None),
    };
    for ext in ["yaml", "yml"] {
        let over = path.with_file_name(format!("{stem}.override.{ext}"));
        match std::fs::metadata(&over) {
            Ok(_) => return Ok(Some(over)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", over.display())),
        }
    }
    Ok(None)
}

/// Lays the override file's `service` over `raw`, as compose merges: `environment` by
/// name, `env_file` appended, every other key replaced (`command`, `entrypoint`).
fn merge_service(raw: &mut Value, over: &Path, service: &str) -> Result<(), String> {
    let text = crate::env::read_text(over)?;
    let doc = crate::config::parse(&text, shipcheck_core::spec::config::Format::Yaml)
        .map_err(|e| format!("{}: invalid YAML: {e}", over.display()))?;
    let Some(Value::Object(o)) = doc.get("services").and_then(|s| s.get(service)) else {
        return Ok(());
    };
    let Value::Object(base) = raw else {
        return Ok(());
    };
    for (k, v) in o {
        match k.as_str() {
            "environment" => {
                let mut env = env_map(base.get(k));
                env.extend(env_map(Some(v)));
                base.insert(k.clone(), Value::Object(env));
            }
            "env_file" => {
                let list = |v: Option<&Value>| match v {
                    Some(Value::Array(a)) => a.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(one) => vec![one.clone()],
                };
                let mut files = list(base.get(k));
                files.extend(list(Some(v)));
                base.insert(k.clone(), Value::Array(files));
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

/// A service's `environment`, as a map or a list of `NAME=value` (a bare `NAME` is taken
/// from the shell: null here), as a map.
fn env_map(v: Option<&Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|x| match x.split_once('=') {
                Some((k, v)) => (k.to_string(), Value::String(v.to_string())),
                None => (x.to_string(), Value::Null),
            })
            .collect(),
        _ => Map::new(),
    }
}

/// Reads a compose service's `command:` (and `entrypoint:`), `environment:`, `env_file:`,
/// `stop_grace_period` and `volumes`.
pub(crate) fn read_compose(path: &Path, service: &str) -> Result<Launch, String> {
    let text = crate::env::read_text(path)?;
    let shown = path.display().to_string();
    // The config probe's parser: its errors carry a location, never a snippet of the file.
    let doc = crate::config::parse(&text, shipcheck_core::spec::config::Format::Yaml)
        .map_err(|e| format!("{shown}: invalid YAML: {e}"))?;
    let mut raw = doc
        .get("services")
        .and_then(|s| s.get(service))
        .ok_or_else(|| format!("{shown} has no service `{service}`"))?
        .clone();
    if let Some(over) = override_of(path)? {
        merge_service(&mut raw, &over, service)?;
    }
    let raw = &raw;
    // Compose interpolates `${VAR}` from the environment, then the project's `.env`.
    let dotenv_path = path.parent().unwrap_or(Path::new(".")).join(".env");
    let dotenv = crate::env::read_env_file_if_present(&dotenv_path, Dialect::Compose)
        .map_err(|e| format!("{shown}: the project's .env: {e}"))?
        .unwrap_or_default();
    let lookup = |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| dotenv.get(name).cloned())
    };
    let svc = &interpolate_value(raw, &lookup)
        .map_err(|e| format!("{shown}: services.{service}: {e}"))?;
    let words_of = |v: Option<&Value>| -> Result<Vec<String>, String> {
        match v {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => split_words(s).map_err(|e| format!("{shown}: {e}")),
            Some(Value::Array(a)) => Ok(a
                .iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()),
            Some(other) => Err(format!(
                "{shown}: services.{service} command is neither a string nor a list: {other}"
            )),
        }
    };
    let mut words = words_of(svc.get("entrypoint"))?;
    words.extend(words_of(svc.get("command"))?);
    let mut launch = Launch {
        words,
        shown: format!("compose file {shown}, service {service}"),
        ..Launch::default()
    };
    let base = path.parent().unwrap_or(Path::new("."));
    // `env_file`: a path, or `{path, required}` (compose skips a missing file that is not
    // required).
    let env_files: Vec<(String, bool)> = match svc.get("env_file") {
        Some(Value::String(s)) => vec![(s.clone(), true)],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some((s.clone(), true)),
                Value::Object(o) => o.get("path").and_then(Value::as_str).map(|p| {
                    let required = o.get("required").and_then(Value::as_bool).unwrap_or(true);
                    (p.to_string(), required)
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for (f, required) in env_files {
        let p = base.join(&f);
        let read = if required {
            crate::env::read_env_file_as(&p, Dialect::Compose).map(Some)
        } else {
            crate::env::read_env_file_if_present(&p, Dialect::Compose)
        };
        let vars = read.map_err(|e| format!("{shown}: env_file {f}: {e}"))?;
        launch.env.extend(vars.unwrap_or_default());
    }
    match svc.get("environment") {
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                launch.env.insert(k.clone(), v);
            }
        }
        Some(Value::Array(a)) => {
            for x in a.iter().filter_map(Value::as_str) {
                if let Some((k, v)) = x.split_once('=') {
                    launch.env.insert(k.to_string(), v.to_string());
                }
            }
        }
        _ => {}
    }
    let mut compose = Map::new();
    for key in ["stop_grace_period", "volumes", "ports", "restart"] {
        if let Some(v) = svc.get(key) {
            compose.insert(key.into(), v.clone());
        }
    }
    launch
        .extra
        .insert("compose".into(), Value::Object(compose));
    Ok(launch)
}

/// Interpolates every string of a compose value.
pub(super) fn interpolate_value(
    v: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(interpolate(s, lookup)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| interpolate_value(x, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), interpolate_value(x, lookup)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
/// `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?message}`, `${VAR?message}`, and `$$` for `$`.
/// An unset variable without a default is empty, as compose makes it (with a warning).
pub fn interpolate(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                // Messages name variables only: the string may be a secret's value.
                .ok_or_else(|| "unterminated `${`".to_string())?;
            let expr = &body[..end];
            rest = &body[end + 1..];
            let split = expr
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(expr.len());
            let (name, op) = expr.split_at(split);
            let value = lookup(name);
            let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
            let piece = match op {
                "" => value.unwrap_or_default(),
                _ if op.starts_with(":-") => {
                    if set_nonempty {
                        value.unwrap_or_default()
                    } else {
                        op[2..].to_string()
                    }
                }
                _ if op.starts_with('-') => value.unwrap_or_else(|| op[1..].to_string()),
                _ if op.starts_with(":+") => {
                    if set_nonempty {
                        op[2..].to_string()
                    } else {
                        String::new()
                    }
                }
                _ if op.starts_with('+') => {
                    if value.is_some() {
                        op[1..].to_string()
                    } else {
                        String::new()
                    }
                }
                _ if op.starts_with(":?") || op.starts_with('?') => match value {
                    Some(v) if !(op.starts_with(":?") && v.is_empty()) => v,
                    _ => {
                        let msg = op.trim_start_matches(':').trim_start_matches('?');
                        return Err(format!(
                            "required variable {name} is missing a value: {msg}"
                        ));
                    }
                },
                _ => return Err(format!("invalid interpolation of `{name}`")),
            };
            out.push_str(&piece);
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(&lookup(&after[..end]).unwrap_or_default());
            }
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docker compose` run without `-f` merges `compose.override.yaml` (or
    /// `docker-compose.override.yml`) over the file: its `command` replaces, its
    /// `environment` overrides by name. A file by another name is read alone.
    #[test]
    fn compose_merges_its_override_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let base =
            "services:\n  relay:\n    command: relay --port 1\n    environment: [A=1, B=2]\n";
        std::fs::write(d.join("compose.yaml"), base).expect("write");
        std::fs::write(d.join("prod.yml"), base).expect("write");
        std::fs::write(
            d.join("compose.override.yaml"),
            "services:\n  relay:\n    command: [relay, --port, '2', --max-sessions, '100']\n    environment:\n      B: '3'\n",
        )
        .expect("write");
        let launch = read_compose(&d.join("compose.yaml"), "relay").expect("read");
        assert_eq!(
            launch.words,
            ["relay", "--port", "2", "--max-sessions", "100"]
        );
        assert_eq!(launch.env["A"], "1");
        assert_eq!(launch.env["B"], "3");
        let alone = read_compose(&d.join("prod.yml"), "relay").expect("read");
        assert_eq!(alone.words, ["relay", "--port", "1"]);
        assert_eq!(alone.env["B"], "2");
    }
}
