//! `config` probe: reads a structured config file (JSON, JSON5, YAML, TOML, .env, INI, and
//! reverse-proxy configuration: nginx, Caddyfile) and selects a value with a jq query. JSON5 strings get SecureClaw-style `${VAR}`
//! substitution from the environment (or an env file), as the service itself does.

use shipcheck_core::spec::config::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{FileLocation, Observation, ProbeCtx};

pub mod caddy;
mod environment;
mod formats;
pub mod nginx;
pub mod proxy;

use environment::{EnvSources, overlay_process, substitute_env};
use formats::format_name;
pub use formats::{guess_format, parse};

/// A parsed config file, shared between the items that read it.
#[derive(Clone, Debug)]
pub struct Document {
    pub value: Arc<Value>,
    pub text: Arc<String>,
    /// The file does not exist (only cached for `if_missing: null|fail`).
    pub missing: bool,
    /// Values under secret-looking keys, found once per file (every item that reads the
    /// file asks whether its result holds one).
    pub secrets: Arc<Vec<String>>,
}

impl crate::Observe for ConfigProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        // `${var}` in the query expands first (a value the profile gives, to compare with).
        let query = &match &self.query {
            Some(q) => ctx.expand(q)?,
            None => ".".to_string(),
        };
        if let Some(path) = &self.path {
            return observe_one(self, ctx, path, query);
        }
        // `each`: one document of the named files' contents.
        let mut doc = Map::new();
        let mut secrets = Vec::new();
        let mut findings = Vec::new();
        let mut shown = Vec::new();
        for (name, path) in &self.each {
            let (path, read) = read(self, ctx, path)?;
            let file = path.display().to_string();
            let by_process = match self.processes.get(name) {
                Some(p) => !ctx.expand(p)?.trim().is_empty(),
                None => false,
            };
            if read.missing && !by_process {
                match self.if_missing {
                    IfMissing::Error => {
                        return Err(format!("config file {file} ({name}) does not exist"));
                    }
                    IfMissing::Fail => findings.push(super::Finding::new(
                        false,
                        format!("config file {file} ({name}) exists"),
                        "not found",
                    )),
                    IfMissing::Null => {}
                }
            }
            let (value, extra, from) = overlay_process(&read.value, self.processes.get(name), ctx)?;
            doc.insert(name.clone(), value.into_owned());
            secrets.extend(read.secrets.iter().cloned());
            secrets.extend(extra);
            shown.push(format!("{name}: {file}{from}"));
        }
        let doc = Value::Object(doc);
        let mut obs = Observation::new(Value::Null, format!("config {}", shown.join(", ")));
        obs.query = Some(query.to_string());
        if !findings.is_empty() {
            obs.findings = findings;
            return Ok(obs);
        }
        obs.value = shipcheck_core::jq::single(query, &doc)?;
        obs.secret_hint = secret_result(query, &obs.value, &secrets);
        Ok(obs)
    }
}

/// One file of `spec` read and parsed (once per run), with its path.
fn read(
    spec: &ConfigProbe,
    ctx: &ProbeCtx,
    path: &shipcheck_core::text::Text,
) -> Result<(PathBuf, Document), String> {
    let path = ctx.path(path)?;
    let shown = path.display().to_string();
    let format = match spec.format {
        Some(f) => f,
        None => guess_format(&path).ok_or_else(|| {
            format!("cannot tell the format of {shown} from its name; set `format:` (json, json5, yaml, toml, env, ini, nginx, caddyfile, proxy)")
        })?,
    };
    let substitute = spec.substitute_env.unwrap_or(format == Format::Json5);
    let env = EnvSources {
        env_file: spec.env_file.as_ref().map(|t| ctx.path(t)).transpose()?,
        dotenv: spec.dotenv.as_ref().map(|t| ctx.path(t)).transpose()?,
    };
    let key = (path.clone(), format, substitute, env.clone());
    let doc: Document = ctx
        .cache
        .memo(key, || load(&path, format, substitute, &env))?;
    Ok((path, doc))
}

/// One file's value under the query.
fn observe_one(
    spec: &ConfigProbe,
    ctx: &ProbeCtx,
    path: &shipcheck_core::text::Text,
    query: &str,
) -> Result<Observation, String> {
    let (path, doc) = read(spec, ctx, path)?;
    let shown = path.display().to_string();
    let mut obs = Observation::new(Value::Null, format!("config {shown}"));
    obs.query = Some(query.to_string());
    // A service that gets its environment from its process manager may have no env file
    // (dotenv ignores a missing one): its environment is then the whole truth.
    let by_process = match &spec.process {
        Some(p) => !ctx.expand(p)?.trim().is_empty(),
        None => false,
    };
    if doc.missing && !by_process {
        match spec.if_missing {
            IfMissing::Error => return Err(format!("config file {shown} does not exist")),
            IfMissing::Fail => {
                obs.findings.push(super::Finding::new(
                    false,
                    "config file exists",
                    "not found",
                ));
                return Ok(obs);
            }
            IfMissing::Null => obs.source = format!("config {shown} (missing: defaults)"),
        }
    }
    let site = match &spec.site {
        Some(t) => {
            let want = ctx.expand(t)?;
            if doc.missing {
                None
            } else {
                let Some(found) = site_of(&doc.value, &want, &shown)? else {
                    obs.findings.push(super::Finding::new(
                        false,
                        format!("a site of {shown} serves {want}"),
                        "none does",
                    ));
                    return Ok(obs);
                };
                obs.source = format!("config {shown}, the site serving {want}");
                Some(found)
            }
        }
        None => None,
    };
    let (overlaid, extra, from) = overlay_process(&doc.value, spec.process.as_ref(), ctx)?;
    let secrets: Vec<String> = doc.secrets.iter().cloned().chain(extra).collect();
    obs.source.push_str(&from);
    let input = site.as_ref().unwrap_or(overlaid.as_ref());
    obs.value = shipcheck_core::jq::single(query, input)?;
    obs.secret_hint = secret_result(query, &obs.value, &secrets);
    obs.location = Some(match &site {
        // The site's own block (it may stand in an included file).
        Some(site) => FileLocation {
            path: site["file"].as_str().unwrap_or(&shown).to_string(),
            line: site["line"].as_u64().map(|l| l as usize),
        },
        None => FileLocation {
            line: if doc.missing {
                None
            } else {
                line_of_path(&doc.text, query)
            },
            path: shown,
        },
    });
    Ok(obs)
}

/// The site of a proxy document serving `want` (`HOST:PORT`).
fn site_of(doc: &Value, want: &str, shown: &str) -> Result<Option<Value>, String> {
    if !matches!(doc["kind"].as_str(), Some("nginx" | "caddy")) {
        return Err(format!(
            "`site` needs a proxy configuration, and {shown} is not read as one (set `format: proxy`)"
        ));
    }
    let (host, port) = want
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("`site: {want}` is not HOST:PORT"))?;
    let found = proxy::resolve(doc, host, port).cloned();
    // A name Caddy takes from its environment (`{$DOMAIN}`) that was not substituted: which
    // site serves the host cannot be known, so it is not "none does".
    if found.is_none()
        && let Some(unresolved) = doc["sites"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["names"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .find(|n| n.contains("{$"))
    {
        return Err(format!(
            "a site of {shown} is named `{unresolved}`, from an environment variable shipcheck did not read: set `substitute_env: true` (with `env_file`/`dotenv`: the environment Caddy starts with)"
        ));
    }
    Ok(found)
}

fn load(
    path: &Path,
    format: Format,
    substitute: bool,
    env_sources: &EnvSources,
) -> Result<Document, String> {
    let shown = path.display();
    let bytes = match super::read_bounded(path, super::MAX_FILE_BYTES) {
        Ok(b) => b,
        // Only a file that is not there means defaults: unreadable is not missing.
        Err(e) if e.is_not_found() => {
            return Ok(Document {
                value: Arc::new(Value::Null),
                text: Arc::default(),
                missing: true,
                secrets: Arc::default(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "{shown} is not a {format:?} config file: it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    if text.contains('\0') {
        return Err(format!(
            "{shown} is not a {format:?} config file: it contains NUL bytes (a binary file?)"
        ));
    }
    if let Some(kind) = proxy_kind(format, path) {
        return load_proxy(&text, path, kind, substitute, env_sources);
    }
    let mut value = parse(&text, format)
        .map_err(|e| format!("{shown}: invalid {}: {e}", format_name(format)))?;
    // The env files are read only when the config refers to a variable.
    if substitute && text.contains("${") {
        let env = env_sources.read()?;
        substitute_env(&mut value, "", env.as_ref()).map_err(|e| format!("{shown}: {e}"))?;
    }
    let mut secrets = Vec::new();
    shipcheck_core::redact::strings_under_secret_keys(&value, &mut secrets);
    Ok(Document {
        value: Arc::new(value),
        text: Arc::new(text),
        missing: false,
        secrets: Arc::new(secrets),
    })
}

/// Which proxy a proxy format reads: `Nginx` or `Caddyfile`, `Proxy` told by the name.
fn proxy_kind(format: Format, path: &Path) -> Option<Format> {
    match format {
        Format::Nginx | Format::Caddyfile => Some(format),
        Format::Proxy => Some(match guess_format(path) {
            Some(Format::Caddyfile) => Format::Caddyfile,
            _ => Format::Nginx,
        }),
        _ => None,
    }
}

/// A proxy configuration, includes read from disk; `${VAR}` placeholders of a Caddyfile
/// from the env sources (or the environment) when substitution is on.
fn load_proxy(
    text: &str,
    path: &Path,
    kind: Format,
    substitute: bool,
    env_sources: &EnvSources,
) -> Result<Document, String> {
    let mut loader = proxy::DiskLoader;
    let parsed = if kind == Format::Caddyfile {
        let vars = if substitute {
            env_sources.read()?
        } else {
            None
        };
        let env = |name: &str| match (&vars, substitute) {
            (Some(v), _) => v.get(name).cloned(),
            (None, true) => std::env::var(name).ok(),
            (None, false) => None,
        };
        caddy::parse(text, path, &mut loader, &env)?
    } else {
        nginx::parse(text, path, &mut loader)?
    };
    let secrets = parsed.secrets.clone();
    let name = if kind == Format::Caddyfile {
        "caddy"
    } else {
        "nginx"
    };
    Ok(Document {
        value: Arc::new(parsed.into_value(name)),
        text: Arc::new(text.to_string()),
        missing: false,
        secrets: Arc::new(secrets),
    })
}

/// Whether a query's result is secret: it holds a value found under a secret-looking key
/// of the document (however the query reached it: `.TOKEN`, `.["TOKEN"]`, a list), or it is
/// one value reached by a secret-looking path (`.gateway.auth.token`). Names of settings are
/// not secret: `["CSRF_SECRET"] - keys` lists what is missing, and is shown.
fn secret_result(query: &str, result: &Value, secrets: &[String]) -> bool {
    fn holds(v: &Value, secrets: &[String]) -> bool {
        match v {
            Value::String(s) => secrets.iter().any(|x| x == s),
            Value::Array(a) => a.iter().any(|x| holds(x, secrets)),
            Value::Object(m) => m.values().any(|x| holds(x, secrets)),
            _ => false,
        }
    }
    if holds(result, secrets) {
        return true;
    }
    // The path outside string literals: `"CSRF_SECRET"` in a query is a name.
    let mut path = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in query.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, ..) => {}
            (false, _, '"') => in_string = true,
            (false, ..) => path.push(c),
        }
    }
    matches!(result, Value::String(_) | Value::Number(_)) && super::looks_secret(&path)
}

/// Best-effort line of the value a simple path query (`.a.b.c`) selects, for evidence.
fn line_of_path(text: &str, query: &str) -> Option<usize> {
    let q = query.split("//").next()?.trim();
    let keys: Vec<&str> = q.strip_prefix('.')?.split('.').collect();
    if keys.is_empty()
        || keys.iter().any(|k| {
            k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
    {
        return None;
    }
    let mut from = 0;
    for key in keys {
        let patterns = [
            format!("\"{key}\""),
            format!("'{key}'"),
            format!("{key}:"),
            format!("{key} ="),
            format!("{key}="),
        ];
        let (found, len) = patterns
            .iter()
            .filter_map(|p| text[from..].find(p.as_str()).map(|i| (from + i, p.len())))
            .filter(|&(i, _)| i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
            .min()?;
        from = found + len;
    }
    Some(super::file::line_of(text, from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_site_behind_an_unresolved_placeholder_cannot_be_chosen() {
        let doc = parse(
            "{$DOMAIN} {\n\treverse_proxy 127.0.0.1:8080\n}\n",
            Format::Caddyfile,
        )
        .unwrap();
        let e = site_of(&doc, "app.example.com:443", "Caddyfile").unwrap_err();
        assert!(
            e.contains("{$DOMAIN}") && e.contains("substitute_env"),
            "{e}"
        );
        let doc = parse("app.example.com {\n\trespond ok\n}\n", Format::Caddyfile).unwrap();
        assert!(
            site_of(&doc, "other.example.com:443", "Caddyfile")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn parses_every_format() {
        assert_eq!(parse("{\"a\": 1}", Format::Json).unwrap()["a"], 1);
        let j5 = "{ // comment\n a: 'x', b: [1,2,], }";
        assert_eq!(parse(j5, Format::Json5).unwrap()["b"][1], 2);
        assert_eq!(
            parse("a:\n  b: true\n", Format::Yaml).unwrap()["a"]["b"],
            true
        );
        assert_eq!(parse("[s]\nk = 3\n", Format::Toml).unwrap()["s"]["k"], 3);
        assert_eq!(
            parse("export K=\"v w\"\n# c\n", Format::Env).unwrap()["K"],
            "v w"
        );
        assert_eq!(
            parse("top=1\n[db]\nhost = h\n", Format::Ini).unwrap()["db"]["host"],
            "h"
        );
        let e = parse("{\"a\": }", Format::Json).unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn env_substitution_like_secureclaw() {
        let mut env = BTreeMap::new();
        env.insert("TOKEN".to_string(), "abc".to_string());
        let mut v =
            serde_json::json!({"g": {"t": "${TOKEN}", "esc": "$${TOKEN}", "lower": "${lower}"}});
        substitute_env(&mut v, "", Some(&env)).unwrap();
        assert_eq!(v["g"]["t"], "abc");
        assert_eq!(v["g"]["esc"], "${TOKEN}");
        assert_eq!(v["g"]["lower"], "${lower}");
        let mut v = serde_json::json!({"g": {"t": "${NOPE}"}});
        let e = substitute_env(&mut v, "", Some(&env)).unwrap_err();
        assert!(e.contains("\"NOPE\"") && e.contains("g.t"), "{e}");
    }

    #[test]
    fn finds_lines_of_simple_paths() {
        let text = "{\n  gateway: {\n    auth: {\n      token: 'x',\n    },\n  },\n}\n";
        assert_eq!(line_of_path(text, ".gateway.auth.token"), Some(4));
        assert_eq!(line_of_path(text, ".gateway.nope"), None);
        assert_eq!(line_of_path(text, "[.a]"), None);
        assert_eq!(line_of_path("{\"ключ\": {\"a\": 1}}", ".ключ.a"), None);
        assert_eq!(
            line_of_path("{\n\"k\": \"ключ\",\n\"a\": 1}", ".a"),
            Some(3)
        );
    }
}
