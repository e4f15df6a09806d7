//! Where a service's command line and environment are read from: a command line, a
//! systemd unit, a compose service (with compose's interpolation) or a running process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::env::Dialect;

pub(crate) use super::systemd::read_unit;

/// Where a service's command line is kept.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) enum Location {
    Command(String),
    Systemd(PathBuf),
    Compose(PathBuf, String),
    /// A pid, or none: the first process running the program.
    Process(Option<String>),
    PidFile(PathBuf),
}

/// A command line and environment as read from the deployment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Launch {
    pub(crate) words: Vec<String>,
    pub(super) env: BTreeMap<String, String>,
    pub(super) workdir: Option<PathBuf>,
    pub(super) extra: Map<String, Value>,
    pub(super) shown: String,
}

/// The words after the program's own name (or all words when the name is not among them,
/// as in a compose `command:` that only holds arguments).
pub(super) fn after_program<'a>(words: &'a [String], program: &str) -> &'a [String] {
    let pos = words.iter().position(|w| {
        Path::new(w)
            .file_name()
            .is_some_and(|n| n.to_string_lossy() == program)
    });
    match pos {
        Some(p) => &words[p + 1..],
        None => words,
    }
}

/// Moves leading `NAME=value` words (and an `env` prefix) into the environment.
pub(crate) fn take_assignments(launch: &mut Launch) {
    let mut n = 0;
    for w in &launch.words {
        if w == "env" && n == 0 {
            n += 1;
            continue;
        }
        match w.split_once('=') {
            Some((k, v))
                if !k.is_empty()
                    && !k.starts_with('-')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                launch.env.insert(k.to_string(), v.to_string());
                n += 1;
            }
            _ => break,
        }
    }
    launch.words.drain(..n);
}

/// Reads the command line and environment from where it is.
pub(super) fn read(at: &Location, program: &str) -> Result<Launch, String> {
    match at {
        Location::Command(line) => {
            let mut launch = Launch {
                words: split_words(line)?,
                shown: "the given command line".into(),
                ..Launch::default()
            };
            take_assignments(&mut launch);
            Ok(launch)
        }
        Location::Systemd(path) => read_unit(path),
        Location::Compose(path, service) => read_compose(path, service),
        Location::Process(Some(pid)) => read_process(pid),
        Location::Process(None) => read_process(&find_process(program)?),
        Location::PidFile(path) => {
            let pid = String::from_utf8_lossy(&crate::read_bounded(path, 64)?)
                .trim()
                .to_string();
            read_process(&pid)
        }
    }
}

/// Splits a command line into words like a POSIX shell (quotes, backslashes, line
/// continuations, comments), without expanding anything.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
                None => {}
            },
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                        None => return Err("unterminated single quote in command line".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => cur.push(n),
                            Some('\n') => {}
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => return Err("unterminated double quote in command line".into()),
                        },
                        Some(n) => cur.push(n),
                        None => return Err("unterminated double quote in command line".into()),
                    }
                }
            }
            '#' if !in_word => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

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

/// The pid of the one service whose argv[0] is `program` (several with different command
/// lines are an error: see `process::running_program`).
pub(super) fn find_process(program: &str) -> Result<String, String> {
    crate::process::running_program(program)
}

/// `/proc/PID/cmdline`, `environ` and `cwd`.
pub(super) fn read_process(pid: &str) -> Result<Launch, String> {
    let nul_split = |raw: Vec<u8>| -> Vec<String> {
        raw.split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    };
    let cmdline = crate::read_bounded(Path::new(&format!("/proc/{pid}/cmdline")), 1 << 20)
        .map_err(|e| format!("process {pid}: {e}"))?;
    let environ = crate::read_bounded(Path::new(&format!("/proc/{pid}/environ")), 1 << 20)
        .map_err(|e| {
            format!("process {pid}: {e} (shipcheck must run as the same user, or root)")
        })?;
    let mut launch = Launch {
        words: nul_split(cmdline),
        shown: format!("process {pid}"),
        workdir: std::fs::read_link(format!("/proc/{pid}/cwd")).ok(),
        ..Launch::default()
    };
    for kv in nul_split(environ) {
        if let Some((k, v)) = kv.split_once('=') {
            launch.env.insert(k.to_string(), v.to_string());
        }
    }
    let mut process = Map::new();
    process.insert("pid".into(), Value::String(pid.to_string()));
    process.insert(
        "uptime_seconds".into(),
        crate::process::uptime_seconds(pid).map_or(Value::Null, |s| serde_json::json!(s)),
    );
    launch
        .extra
        .insert("process".into(), Value::Object(process));
    Ok(launch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symlink loop: a file that is there but cannot be read (as root, too).
    fn unreadable(path: &Path) {
        let other = path.with_extension("loop");
        std::os::unix::fs::symlink(&other, path).expect("link");
        std::os::unix::fs::symlink(path, &other).expect("link");
    }

    /// Files a service may go without (systemd's `EnvironmentFile=-`, compose's `.env` and
    /// `env_file` with `required: false`) are skipped only when missing: one that is there
    /// but cannot be read is an error, never a service without those variables.
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

    #[test]
    fn optional_env_files_are_skipped_only_when_missing() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let unit = d.join("app.service");
        let opt = d.join("opt.env");
        std::fs::write(
            &unit,
            format!(
                "[Service]\nEnvironmentFile=-{}\nExecStart=/usr/bin/app --port ${{PORT}}\n",
                opt.display()
            ),
        )
        .expect("write");
        assert!(read_unit(&unit).expect("missing: skipped").env.is_empty());
        std::os::unix::fs::symlink(d.join("gone.env"), &opt).expect("link");
        assert!(read_unit(&unit).expect("dangling: missing").env.is_empty());
        std::fs::remove_file(&opt).expect("rm");
        unreadable(&opt);
        let e = read_unit(&unit).expect_err("unreadable");
        assert!(
            e.contains("EnvironmentFile=-") && e.contains("opt.env"),
            "{e}"
        );
        // Read as systemd reads it: no comment after a value.
        std::fs::remove_file(&opt).expect("rm");
        std::fs::write(&opt, "TOKEN=abc#def # kept\n").expect("write");
        assert_eq!(
            read_unit(&unit).expect("read").env["TOKEN"],
            "abc#def # kept"
        );

        let compose = d.join("compose.yml");
        std::fs::write(
            &compose,
            "services:\n  relay:\n    command: relay --port ${PORT:-8080}\n    env_file:\n      - {path: extra.env, required: false}\n",
        )
        .expect("write");
        let launch = read_compose(&compose, "relay").expect("no .env, no extra.env");
        assert_eq!(launch.words, ["relay", "--port", "8080"]);
        std::os::unix::fs::symlink(d.join("gone.env"), d.join(".env")).expect("link");
        read_compose(&compose, "relay").expect("a dangling .env is missing");
        std::fs::remove_file(d.join(".env")).expect("rm");
        unreadable(&d.join(".env"));
        let e = read_compose(&compose, "relay").expect_err("unreadable .env");
        assert!(e.contains(".env"), "{e}");
        std::fs::remove_file(d.join(".env")).expect("rm");
        unreadable(&d.join("extra.env"));
        let e = read_compose(&compose, "relay").expect_err("unreadable extra.env");
        assert!(e.contains("extra.env"), "{e}");
        std::fs::write(
            &compose,
            "services:\n  relay:\n    command: relay\n    env_file: [needed.env]\n",
        )
        .expect("write");
        let e = read_compose(&compose, "relay").expect_err("a required env_file");
        assert!(e.contains("needed.env"), "{e}");
    }
}
