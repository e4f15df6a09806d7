//! `args` probe: the command line and environment a service really starts with, parsed the
//! way its own argument parser (clap-style) would. Services configured by flags (CLASP's
//! relay) keep their configuration here, in whichever place the deployment has it: a
//! command line given as a variable, a systemd unit, a compose service, or a running process.
//!
//! The observation is one JSON object: `flags` (every declared flag, with its default when
//! absent), `given` (flags present on the command line), `errors` (what would stop the
//! service at start-up: repeated single-value flags, unknown flags, missing or invalid
//! values), `env` (the declared variables), and `files` (facts about the files that
//! path-valued flags name).

use shipcheck_core::spec::args::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{Observation, ProbeCtx};
use shipcheck_core::pack::Text;

/// Where a service's command line is kept.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Location {
    Command(String),
    Systemd(PathBuf),
    Compose(PathBuf, String),
    /// A pid, or none: the first process running the program.
    Process(Option<String>),
    PidFile(PathBuf),
}

/// A command line and environment as read from the deployment.
#[derive(Clone, Debug, Default)]
struct Launch {
    words: Vec<String>,
    env: BTreeMap<String, String>,
    workdir: Option<PathBuf>,
    extra: Map<String, Value>,
    shown: String,
}

impl crate::Observe for ArgsProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let at = self.locate(ctx)?;
        let workdir = ctx.optional_path(self.workdir.as_ref())?;
        // Every item of a pack reads the same service: read and parse it once per run.
        // The grammar is part of the key: two items may parse one service differently.
        let grammar = format!("{:?}", self.flags);
        let key = (at.clone(), workdir.clone(), self.program.clone(), grammar);
        let (value, secrets, shown) = ctx.cache.memo(key, || {
            let launch = read(&at, &self.program)?;
            let dir = workdir
                .clone()
                .or_else(|| launch.workdir.clone())
                .unwrap_or_else(|| ctx.base_dir.clone());
            let (value, secrets) = self.parse(&launch, &dir);
            Ok::<_, String>((value, secrets, launch.shown))
        })?;
        // `${var}` in the query expands first, so a limit can be a pack variable.
        let query = match &self.query {
            Some(q) => ctx.expand(q)?,
            None => ".".to_string(),
        };
        let mut obs = Observation::new(
            shipcheck_core::jq::first(&query, &value)?,
            format!("{} command line from {shown}", self.program),
        );
        obs.query = Some(query);
        obs.secrets = secrets;
        Ok(obs)
    }
}

/// Reading and parsing a service's command line against the grammar the item declares.
trait Grammar {
    fn locate(&self, ctx: &ProbeCtx) -> Result<Location, String>;
    fn spec(&self, word: &str) -> Option<&FlagSpec>;
    fn split_shorts(&self, args: &[String]) -> Vec<String>;
    fn parse(&self, launch: &Launch, workdir: &Path) -> (Value, Vec<String>);
}

impl Grammar for ArgsProbe {
    /// Where the command line is, from `source` and the field it needs.
    fn locate(&self, ctx: &ProbeCtx) -> Result<Location, String> {
        let source = ctx.expand(&self.source)?;
        let field = |t: &Option<Text>| -> Result<String, String> {
            Ok(match t {
                Some(t) => ctx.expand(t)?.trim().to_string(),
                None => String::new(),
            })
        };
        let need = |t: &Option<Text>, name: &str| -> Result<String, String> {
            let v = field(t)?;
            if v.is_empty() {
                Err(format!("source `{source}` needs `{name}`"))
            } else {
                Ok(v)
            }
        };
        let path = |v: String| shipcheck_core::template::resolve_path(&v, &ctx.base_dir);
        Ok(match source.as_str() {
            "command" => Location::Command(need(&self.command_line, "command_line")?),
            "systemd" => Location::Systemd(path(need(&self.unit, "unit")?)),
            "compose" => Location::Compose(
                path(need(&self.compose_file, "compose_file")?),
                need(&self.compose_service, "compose_service")?,
            ),
            "process" => {
                let pid = field(&self.pid)?;
                if pid.is_empty() {
                    Location::Process(None)
                } else if pid.chars().all(|c| c.is_ascii_digit()) {
                    Location::Process(Some(pid))
                } else {
                    Location::PidFile(path(pid))
                }
            }
            other => {
                return Err(format!(
                    "`{other}` is not a command-line source (command, systemd, compose, process)"
                ));
            }
        })
    }

    fn spec(&self, word: &str) -> Option<&FlagSpec> {
        if let Some(long) = word.strip_prefix("--") {
            self.flags
                .iter()
                .find(|f| f.name == long || f.aliases.iter().any(|a| a == long))
        } else {
            let s = word.strip_prefix('-')?;
            self.flags.iter().find(|f| f.short.as_deref() == Some(s))
        }
    }

    /// Splits clustered short flags the way clap does: `-vp7330` is `-v -p 7330`, `-vp 7330`
    /// is `-v -p 7330`. A cluster stops at the first flag that takes a value.
    fn split_shorts(&self, args: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for word in args {
            let Some(cluster) = word.strip_prefix('-').filter(|c| !c.starts_with('-')) else {
                out.push(word.clone());
                continue;
            };
            if cluster.chars().count() < 2 {
                out.push(word.clone());
                continue;
            }
            let mut rest = cluster;
            while let Some(c) = rest.chars().next() {
                let tail = &rest[c.len_utf8()..];
                match self
                    .flags
                    .iter()
                    .find(|f| f.short.as_deref() == Some(&c.to_string()))
                {
                    Some(f) if f.kind == FlagKind::Switch => {
                        out.push(format!("-{c}"));
                        rest = tail;
                    }
                    Some(_) => {
                        out.push(format!("-{c}"));
                        if !tail.is_empty() {
                            out.push(tail.trim_start_matches('=').to_string());
                        }
                        rest = "";
                    }
                    None => {
                        out.push(format!("-{rest}"));
                        rest = "";
                    }
                }
            }
        }
        out
    }

    /// Parses the words after the program like clap does, and builds the observation.
    fn parse(&self, launch: &Launch, workdir: &Path) -> (Value, Vec<String>) {
        let args = self.split_shorts(after_program(&launch.words, &self.program));
        let mut values: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut errors = Vec::new();
        let mut argv_shown = Vec::new();
        let mut secrets = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let word = &args[i];
            i += 1;
            if word == "--" || !word.starts_with('-') || word == "-" {
                errors.push(format!("unexpected argument '{word}' found"));
                argv_shown.push(word.clone());
                continue;
            }
            // `--name=value`, `-pVALUE`
            let (flag, inline) = match word.split_once('=') {
                Some((f, v)) if word.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ if !word.starts_with("--") && word.chars().count() > 2 => {
                    let mut cs = word.chars();
                    cs.next();
                    let short: String = cs.next().into_iter().collect();
                    (format!("-{short}"), Some(cs.as_str().to_string()))
                }
                _ => (word.clone(), None),
            };
            let Some(spec) = self.spec(&flag) else {
                errors.push(format!("unexpected argument '{flag}' found"));
                argv_shown.push(flag);
                continue;
            };
            argv_shown.push(flag.clone());
            let value = if spec.kind == FlagKind::Switch {
                if inline.is_some() {
                    errors.push(format!("unexpected value for '--{}'", spec.name));
                }
                "true".to_string()
            } else if let Some(v) = inline {
                v
            } else if i < args.len() && !(args[i].starts_with('-') && args[i].len() > 1) {
                i += 1;
                args[i - 1].clone()
            } else {
                errors.push(format!(
                    "a value is required for '--{}' but none was supplied",
                    spec.name
                ));
                continue;
            };
            if spec.kind != FlagKind::Switch {
                argv_shown.push(if spec.secret {
                    secrets.push(value.clone());
                    format!("<secret: {} chars>", value.chars().count())
                } else {
                    value.clone()
                });
            }
            if spec.kind == FlagKind::Number && value.trim().parse::<f64>().is_err() {
                errors.push(format!(
                    "invalid value '{value}' for '--{}': not a number",
                    spec.name
                ));
            }
            let slot = values.entry(spec.name.as_str()).or_default();
            if !slot.is_empty() && !spec.repeatable {
                errors.push(format!(
                    "the argument '--{}' cannot be used multiple times",
                    spec.name
                ));
            }
            slot.push(value);
        }

        let mut flags = Map::new();
        let mut files = Map::new();
        let mut given = Vec::new();
        for spec in &self.flags {
            let got = values.get(spec.name.as_str());
            if got.is_some() {
                given.push(Value::String(spec.name.clone()));
            }
            let typed = |v: &String| -> Value {
                if spec.secret {
                    return Value::String(format!("<secret: {} chars>", v.chars().count()));
                }
                match spec.kind {
                    FlagKind::Switch => Value::Bool(true),
                    FlagKind::Number => {
                        let t = v.trim();
                        t.parse::<i64>()
                            .map(Value::from)
                            .or_else(|_| t.parse::<f64>().map(Value::from))
                            .unwrap_or_else(|_| Value::String(v.clone()))
                    }
                    _ => Value::String(v.clone()),
                }
            };
            let value = match got {
                Some(vs) if spec.repeatable => Value::Array(vs.iter().map(typed).collect()),
                Some(vs) => vs.last().map_or(Value::Null, typed),
                None => spec.default.clone().unwrap_or(match spec.kind {
                    FlagKind::Switch => Value::Bool(false),
                    _ if spec.repeatable => Value::Array(Vec::new()),
                    _ => Value::Null,
                }),
            };
            if spec.kind == FlagKind::Path
                && let Some(vs) = got
                && let Some(last) = vs.last()
            {
                files.insert(spec.name.clone(), file_facts(&workdir.join(last)));
            }
            flags.insert(spec.name.clone(), value);
        }
        let env: Map<String, Value> = self
            .env
            .iter()
            .map(|n| {
                let v = launch.env.get(n).map_or(Value::Null, |v| {
                    if super::looks_secret(n) {
                        secrets.push(v.clone());
                        Value::String(format!("<secret: {} chars>", v.chars().count()))
                    } else {
                        Value::String(v.clone())
                    }
                });
                (n.clone(), v)
            })
            .collect();
        let mut out = Map::new();
        out.insert("program".into(), Value::String(self.program.clone()));
        out.insert("argv".into(), json!(argv_shown));
        out.insert("given".into(), Value::Array(given));
        out.insert("errors".into(), json!(errors));
        out.insert("flags".into(), Value::Object(flags));
        out.insert("env".into(), Value::Object(env));
        out.insert("files".into(), Value::Object(files));
        out.extend(launch.extra.clone());
        (Value::Object(out), secrets)
    }
}

/// The words after the program's own name (or all words when the name is not among them,
/// as in a compose `command:` that only holds arguments).
fn after_program<'a>(words: &'a [String], program: &str) -> &'a [String] {
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
fn take_assignments(launch: &mut Launch) {
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
fn read(at: &Location, program: &str) -> Result<Launch, String> {
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
            let pid = String::from_utf8_lossy(&super::read_bounded(path, 64)?)
                .trim()
                .to_string();
            read_process(&pid)
        }
    }
}

/// Facts about a file a flag names: existence, mode, size, age, and whether it lives on
/// memory-backed storage (tmpfs) that a restart empties.
fn file_facts(path: &Path) -> Value {
    use std::os::unix::fs::MetadataExt;
    let mut m = Map::new();
    m.insert("path".into(), Value::String(path.display().to_string()));
    match std::fs::metadata(path) {
        Ok(md) => {
            let mode = md.mode() & 0o7777;
            m.insert("exists".into(), Value::Bool(true));
            m.insert("mode".into(), Value::String(format!("{mode:04o}")));
            m.insert("private".into(), Value::Bool(mode & 0o077 == 0));
            m.insert("size".into(), json!(md.len()));
            let age = md
                .modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .map(|d| d.as_secs());
            m.insert("age_seconds".into(), json!(age));
        }
        Err(_) => {
            m.insert("exists".into(), Value::Bool(false));
        }
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    m.insert("dir_exists".into(), Value::Bool(dir.is_dir()));
    m.insert("volatile".into(), json!(volatile(path)));
    Value::Object(m)
}

/// Whether the nearest existing ancestor of `path` is on tmpfs/ramfs (a restart empties
/// it). A /tmp on disk is not flagged: it may hold a test deployment.
fn volatile(path: &Path) -> bool {
    const TMPFS: i64 = 0x0102_1994;
    const RAMFS: i64 = 0x8584_58f6_u32 as i64;
    let mut p = path;
    loop {
        if p.exists() {
            return match rustix::fs::statfs(p) {
                Ok(s) => {
                    // f_type's integer type differs between targets.
                    #[allow(clippy::unnecessary_cast)]
                    let t = s.f_type as i64;
                    t == TMPFS || t == RAMFS
                }
                Err(_) => false,
            } || p.starts_with("/dev/shm");
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => return false,
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

/// Reads `ExecStart=`, `Environment=`, `EnvironmentFile=` and `WorkingDirectory=` of a
/// systemd unit (the `[Service]` section; continuation lines joined).
fn read_unit(path: &Path) -> Result<Launch, String> {
    let text = super::env::read_text(path)?;
    let shown = path.display().to_string();
    let mut launch = Launch {
        shown: format!("systemd unit {shown}"),
        ..Launch::default()
    };
    let mut exec = None;
    let mut logical = String::new();
    let mut lines = Vec::new();
    for raw in text.lines() {
        if let Some(stripped) = raw.strip_suffix('\\') {
            logical.push_str(stripped);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        lines.push(std::mem::take(&mut logical));
    }
    lines.push(logical);
    let mut section = String::new();
    for line in &lines {
        let t = line.trim();
        if t.starts_with('#') || t.starts_with(';') || t.is_empty() {
            continue;
        }
        if t.starts_with('[') {
            section = t.to_string();
            continue;
        }
        if section != "[Service]" {
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "ExecStart" if !v.is_empty() => {
                exec = Some(v.trim_start_matches(['@', '-', ':', '+', '!']).to_string())
            }
            "Environment" => {
                for w in split_words(v).map_err(|e| format!("{shown}: Environment=: {e}"))? {
                    if let Some((k, v)) = w.split_once('=') {
                        launch.env.insert(k.to_string(), v.to_string());
                    }
                }
            }
            "EnvironmentFile" => {
                let (optional, file) = match v.strip_prefix('-') {
                    Some(f) => (true, f),
                    None => (false, v),
                };
                match super::env::read_env_file(Path::new(file)) {
                    Ok(vars) => launch.env.extend(vars),
                    Err(_) if optional => {}
                    Err(e) => return Err(format!("{shown}: EnvironmentFile={file}: {e}")),
                }
            }
            "WorkingDirectory" => {
                launch.workdir = Some(PathBuf::from(v.trim_start_matches('-')));
            }
            _ => {}
        }
    }
    let exec = exec.ok_or_else(|| format!("{shown} has no ExecStart= in [Service]"))?;
    launch.words = split_words(&exec).map_err(|e| format!("{shown}: ExecStart=: {e}"))?;
    Ok(launch)
}

/// Reads a compose service's `command:` (and `entrypoint:`), `environment:`, `env_file:`,
/// `stop_grace_period` and `volumes`.
fn read_compose(path: &Path, service: &str) -> Result<Launch, String> {
    let text = super::env::read_text(path)?;
    let shown = path.display().to_string();
    // The config probe's parser: its errors carry a location, never a snippet of the file.
    let doc = super::config::parse(&text, shipcheck_core::spec::config::Format::Yaml)
        .map_err(|e| format!("{shown}: invalid YAML: {e}"))?;
    let raw = doc
        .get("services")
        .and_then(|s| s.get(service))
        .ok_or_else(|| format!("{shown} has no service `{service}`"))?;
    // Compose interpolates `${VAR}` from the environment, then the project's `.env`.
    let dotenv_path = path.parent().unwrap_or(Path::new(".")).join(".env");
    let dotenv = if dotenv_path.exists() {
        super::env::read_env_file(&dotenv_path)?
    } else {
        BTreeMap::new()
    };
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
    let env_files: Vec<String> = match svc.get("env_file") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("path").and_then(Value::as_str).map(String::from),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for f in env_files {
        let p = base.join(&f);
        let vars =
            super::env::read_env_file(&p).map_err(|e| format!("{shown}: env_file {f}: {e}"))?;
        launch.env.extend(vars);
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
fn interpolate_value(v: &Value, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Value, String> {
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

/// The pid of the first process whose argv[0] is `program`.
fn find_process(program: &str) -> Result<String, String> {
    let dir = std::fs::read_dir("/proc").map_err(|e| format!("cannot list /proc: {e}"))?;
    let mut pids: Vec<u64> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let argv0 = raw.split(|b| *b == 0).next().unwrap_or_default();
        let name = String::from_utf8_lossy(argv0);
        if Path::new(name.as_ref())
            .file_name()
            .is_some_and(|n| n.to_string_lossy() == program)
        {
            return Ok(pid.to_string());
        }
    }
    Err(format!("no running process is `{program}`"))
}

/// `/proc/PID/cmdline`, `environ` and `cwd`.
fn read_process(pid: &str) -> Result<Launch, String> {
    let nul_split = |raw: Vec<u8>| -> Vec<String> {
        raw.split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    };
    let cmdline = super::read_bounded(Path::new(&format!("/proc/{pid}/cmdline")), 1 << 20)
        .map_err(|e| format!("process {pid}: {e}"))?;
    let environ = super::read_bounded(Path::new(&format!("/proc/{pid}/environ")), 1 << 20)
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
    Ok(launch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> ArgsProbe {
        serde_saphyr::from_str(
            r#"
source: command
program: relay
flags:
  - {name: ws-port, short: p, aliases: [port], kind: number, default: 7330}
  - {name: auth-port, kind: number}
  - {name: admin-token, kind: path}
  - {name: trust-anchor, kind: path, repeatable: true}
  - {name: verbose, short: v, kind: switch}
  - {name: federation-token, secret: true}
env: [RUST_LOG, LOG_FORMAT]
"#,
        )
        .expect("probe")
    }

    fn run(line: &str) -> Value {
        let mut launch = Launch {
            words: split_words(line).expect("words"),
            ..Launch::default()
        };
        take_assignments(&mut launch);
        probe().parse(&launch, Path::new("/nonexistent")).0
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_words("a 'b c' \"d \\\"e\\\"\" f\\ g \\\n h # comment").expect("ok"),
            ["a", "b c", "d \"e\"", "f g", "h"]
        );
        assert!(split_words("a 'b").is_err());
    }

    #[test]
    fn parses_flags_defaults_and_environment() {
        let v = run(
            "RUST_LOG=info /usr/bin/relay --port=7400 -v --auth-port 7350 --trust-anchor a --trust-anchor b",
        );
        assert_eq!(v["flags"]["ws-port"], json!(7400));
        assert_eq!(v["flags"]["auth-port"], json!(7350));
        assert_eq!(v["flags"]["verbose"], json!(true));
        assert_eq!(v["flags"]["trust-anchor"], json!(["a", "b"]));
        assert_eq!(v["flags"]["admin-token"], Value::Null);
        assert_eq!(v["env"]["RUST_LOG"], json!("info"));
        assert_eq!(v["env"]["LOG_FORMAT"], Value::Null);
        assert_eq!(v["errors"], json!([]));
        let v = run("relay");
        assert_eq!(v["flags"]["ws-port"], json!(7330), "default when absent");
        assert_eq!(v["given"], json!([]));
    }

    #[test]
    fn clustered_short_flags() {
        let v = run("relay -vp7400");
        assert_eq!(v["flags"]["verbose"], json!(true));
        assert_eq!(v["flags"]["ws-port"], json!(7400));
        let v = run("relay -vp 7401");
        assert_eq!(v["flags"]["ws-port"], json!(7401));
        assert_eq!(v["errors"], json!([]));
        let v = run("relay -vx");
        assert_eq!(v["errors"], json!(["unexpected argument '-x' found"]));
    }

    #[test]
    fn start_up_errors_like_clap() {
        let v = run("relay --admin-token a --admin-token b --nope --auth-port x --ws-port");
        let errors: Vec<&str> = v["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            errors,
            [
                "the argument '--admin-token' cannot be used multiple times",
                "unexpected argument '--nope' found",
                "invalid value 'x' for '--auth-port': not a number",
                "a value is required for '--ws-port' but none was supplied",
            ]
        );
    }

    #[test]
    fn compose_interpolation() {
        let env = |n: &str| match n {
            "PORT" => Some("7400".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let i = |s: &str| interpolate(s, &env);
        assert_eq!(
            i("--ws-port ${PORT} $PORT $$PORT").expect("ok"),
            "--ws-port 7400 7400 $PORT"
        );
        assert_eq!(
            i("${NOPE:-7330} ${EMPTY:-d} ${EMPTY-d} ${NOPE-d}").expect("ok"),
            "7330 d  d"
        );
        assert_eq!(i("${PORT:+set}${NOPE:+x}").expect("ok"), "set");
        assert!(i("${NOPE:?needed}").expect_err("required").contains("NOPE"));
        assert!(i("${PORT").is_err());
        for bad in ["hunter2secret${PORT", "hunter2secret${PORT:x}"] {
            let e = i(bad).expect_err("invalid");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn compose_errors_show_no_file_content() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("compose.yml");
        std::fs::write(
            &path,
            "services:\n  relay:\n    environment:\n      TOKEN: \"hunter2secret\n",
        )
        .expect("write");
        let e = read_compose(&path, "relay").expect_err("invalid YAML");
        assert!(e.contains("line 4"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn secret_flag_values_are_masked() {
        let launch = Launch {
            words: split_words("relay --federation-token hunter2hunter2").expect("words"),
            ..Launch::default()
        };
        let (v, secrets) = probe().parse(&launch, Path::new("/"));
        assert!(!v.to_string().contains("hunter2"));
        assert_eq!(v["flags"]["federation-token"], json!("<secret: 14 chars>"));
        assert_eq!(secrets, ["hunter2hunter2"]);
    }
}
