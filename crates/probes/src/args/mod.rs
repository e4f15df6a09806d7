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
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Observation, ProbeCtx};
use shipcheck_core::pack::Text;

pub(crate) mod compose;
pub(crate) mod source;
pub(crate) mod systemd;

pub use compose::interpolate;
pub use source::split_words;
use source::{Launch, Location, after_program, read};

impl crate::Observe for ArgsProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let at = self.locate(ctx)?;
        let workdir = ctx.optional_path(self.workdir.as_ref())?;
        // Every item of a pack reads the same service: read and parse it once per run, and
        // share the parse (a clone per item cost more than the item's own query).
        let key = ParseKey {
            at: at.clone(),
            workdir: workdir.clone(),
            program: self.program.clone(),
            grammar: FlagsId(self.flags.clone()),
            env: self.env.clone(),
        };
        let parsed: Arc<Parsed> = ctx.cache.memo(key, || {
            let launch = read(&at, &self.program)?;
            let dir = workdir
                .clone()
                .or_else(|| launch.workdir.clone())
                .unwrap_or_else(|| ctx.base_dir.clone());
            let (value, secrets) = self.parse(&launch, &dir);
            Ok::<_, String>(Arc::new(Parsed {
                value,
                secrets,
                shown: launch.shown,
            }))
        })?;
        let Parsed {
            value,
            secrets,
            shown,
        } = &*parsed;
        // `${var}` in the query expands first, so a limit can be a pack variable.
        let query = match &self.query {
            Some(q) => ctx.expand(q)?,
            None => ".".to_string(),
        };
        // A config file the process reads but shipcheck cannot: an item that queries it
        // could not check (unreadable is not empty).
        if let Some(Value::Object(errors)) = value.get("config_errors") {
            for (name, e) in errors {
                if query.contains(&format!("configs[\"{name}\"]"))
                    || query.contains(&format!("configs.{name}"))
                {
                    return Err(format!("--{name}: {}", e.as_str().unwrap_or_default()));
                }
            }
        }
        let mut obs = Observation::new(
            shipcheck_core::jq::single(&query, value)?,
            format!("{} command line from {shown}", self.program),
        );
        obs.query = Some(query);
        obs.secrets = secrets.clone();
        Ok(obs)
    }
}

/// One parse of a service's command line, shared by the items that read it.
struct Parsed {
    value: Value,
    secrets: Vec<String>,
    shown: String,
}

/// What a parse depends on: where the command line is, the grammar and the variables
/// reported (two items may read one service with different ones).
#[derive(Hash, PartialEq, Eq)]
struct ParseKey {
    at: Location,
    workdir: Option<std::path::PathBuf>,
    program: String,
    grammar: FlagsId,
    env: Vec<String>,
}

/// A flag list compared by identity: the loader gives every item of a program its one
/// list, and comparing lists by value cost as much as the item's query. Two equal lists
/// that are not one (flags written inline) are parsed apart, which is only slower. The key
/// holds the list, so its address is not reused while the cache lives.
struct FlagsId(Option<Arc<[FlagSpec]>>);

impl PartialEq for FlagsId {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for FlagsId {}

impl std::hash::Hash for FlagsId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0
            .as_ref()
            .map(|a| Arc::as_ptr(a).cast::<()>())
            .hash(state);
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
            self.flags()
                .iter()
                .find(|f| f.name == long || f.aliases.iter().any(|a| a == long))
        } else {
            let s = word.strip_prefix('-')?;
            self.flags().iter().find(|f| f.short.as_deref() == Some(s))
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
                    .flags()
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
        // A secret-named variable's value may stand in the command line (systemd substitutes
        // `${ADMIN_TOKEN}`): scrubbed wherever it shows, whatever flag carries it.
        let mut secrets: Vec<String> = launch
            .env
            .iter()
            .filter(|(n, v)| super::looks_secret(n) && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect();
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
        let mut configs = Map::new();
        let mut config_errors = Map::new();
        let mut given = Vec::new();
        for spec in self.flags() {
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
            if matches!(spec.kind, FlagKind::Path | FlagKind::Config)
                && let Some(vs) = got
                && let Some(last) = vs.last()
            {
                let path = workdir.join(last);
                files.insert(spec.name.clone(), file_facts(&path));
                if spec.kind == FlagKind::Config {
                    match read_config(&path) {
                        Ok(v) => {
                            configs.insert(spec.name.clone(), v);
                        }
                        Err(e) => {
                            config_errors.insert(spec.name.clone(), Value::String(e));
                        }
                    }
                }
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
        out.insert("configs".into(), Value::Object(configs));
        out.insert("config_errors".into(), Value::Object(config_errors));
        out.extend(launch.extra.clone());
        (Value::Object(out), secrets)
    }
}

/// Facts about a file a flag names: existence, mode, size, age, and whether it lives on
/// memory-backed storage (tmpfs) that a restart empties.
/// A config file's content, parsed as the config probe parses it (format by extension,
/// JSON when it has none), read bounded.
fn read_config(path: &Path) -> Result<Value, String> {
    use shipcheck_core::spec::config::Format;
    let bytes = crate::read_bounded(path, crate::MAX_FILE_BYTES).map_err(|e| e.to_string())?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
    let format = crate::config::guess_format(path).unwrap_or(Format::Json);
    crate::config::parse(&text, format).map_err(|e| format!("{}: {e}", path.display()))
}

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

/// The command line `line` as `probe` reads it: its words split as a shell would, leading
/// `VAR=value` words taken as environment, then parsed by the probe's flag grammar.
pub(crate) fn parse_line(probe: &ArgsProbe, line: &str) -> Result<(Value, Vec<String>), String> {
    let mut launch = Launch {
        words: split_words(line)?,
        ..Launch::default()
    };
    source::take_assignments(&mut launch);
    Ok(probe.parse(&launch, Path::new("/nonexistent")))
}

#[cfg(test)]
mod tests {
    use super::source::*;
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
        parse_line(&probe(), line).expect("words").0
    }

    #[test]
    fn a_process_uptime_is_read_from_proc() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let up = crate::process::uptime_seconds(&child.id().to_string());
        let own = crate::process::uptime_seconds(&std::process::id().to_string());
        let _ = child.kill();
        let _ = child.wait();
        assert!(up.is_some_and(|s| s <= 2), "{up:?}");
        assert!(own.is_some_and(|s| s < 24 * 3600), "{own:?}");
        assert_eq!(crate::process::uptime_seconds("no-such-pid"), None);
    }

    #[test]
    fn items_of_one_service_that_report_different_variables_each_see_their_own() {
        let ctx = ProbeCtx {
            vars: Default::default(),
            base_dir: std::env::temp_dir(),
            cache: Default::default(),
            deadline: None,
        };
        let item = |env: &str| -> ArgsProbe {
            serde_saphyr::from_str(&format!(
                "source: command\ncommand_line: \"RUST_LOG=info LOG_FORMAT=json relay -p 1\"\nprogram: relay\nflags: [{{name: ws-port, short: p, kind: number}}]\nenv: [{env}]\nquery: .env\n"
            ))
            .expect("probe")
        };
        // One run's cache: the service is read once, but each item's variables are its own.
        let first = crate::Observe::observe(&item("RUST_LOG"), &ctx).expect("first");
        let second = crate::Observe::observe(&item("LOG_FORMAT"), &ctx).expect("second");
        assert_eq!(first.value, json!({"RUST_LOG": "info"}));
        assert_eq!(second.value, json!({"LOG_FORMAT": "json"}));
        // The same item again is the same observation.
        let again = crate::Observe::observe(&item("RUST_LOG"), &ctx).expect("again");
        assert_eq!(again.value, first.value);
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
        // A secret-named variable's value, substituted into an undeclared flag.
        let launch = Launch {
            words: split_words("relay --other hunter3hunter3").expect("words"),
            env: [("ADMIN_TOKEN".to_string(), "hunter3hunter3".to_string())].into(),
            ..Launch::default()
        };
        let (_, secrets) = probe().parse(&launch, Path::new("/"));
        assert_eq!(secrets, ["hunter3hunter3"]);
    }
}
