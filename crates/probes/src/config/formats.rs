//! Each config format read into one JSON value: JSON, JSON5 (depth-checked first), YAML,
//! TOML, .env, INI, and the proxy formats without a file system; the format a file name
//! implies.

use serde_json::{Map, Value};
use shipcheck_core::spec::config::Format;
use std::path::Path;

use super::{caddy, nginx, proxy};

/// Guesses a format from the file name.
pub fn guess_format(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name == ".env" || name.starts_with(".env.") || name.ends_with(".env") {
        return Some(Format::Env);
    }
    if name == "caddyfile" || name.ends_with(".caddyfile") || name.ends_with(".caddy") {
        return Some(Format::Caddyfile);
    }
    // nginx.conf, and any file under a folder named nginx (sites-enabled/app, conf.d/x.conf).
    if name == "nginx.conf" || path.components().any(|c| c.as_os_str() == "nginx") {
        return Some(Format::Nginx);
    }
    match path
        .extension()?
        .to_string_lossy()
        .to_ascii_lowercase()
        .as_str()
    {
        "json" => Some(Format::Json),
        "json5" => Some(Format::Json5),
        "yaml" | "yml" => Some(Format::Yaml),
        "toml" => Some(Format::Toml),
        "ini" | "cfg" | "conf" => Some(Format::Ini),
        _ => None,
    }
}

pub(super) fn format_name(f: Format) -> &'static str {
    match f {
        Format::Json => "JSON",
        Format::Json5 => "JSON5",
        Format::Yaml => "YAML",
        Format::Toml => "TOML",
        Format::Env => "env file",
        Format::Ini => "INI",
        Format::Nginx => "nginx configuration",
        Format::Caddyfile => "Caddyfile",
        Format::Proxy => "proxy configuration",
    }
}

/// Deepest nesting of arrays and objects read, as serde_json allows: deeper input would
/// overflow the stack of the JSON5 parser, which has no limit of its own.
const MAX_DEPTH: usize = 128;

/// Refuses JSON5 nested deeper than `max` before parsing it. Hand-written: the json5 crate
/// has no depth limit; this scan skips strings and comments and counts brackets.
fn json5_depth(text: &str, max: usize) -> Result<(), String> {
    let b = text.as_bytes();
    let (mut i, mut depth, mut line) = (0, 0usize, 1usize);
    while i < b.len() {
        match b[i] {
            b'\n' => line += 1,
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(format!(
                        "line {line}: nested deeper than {max} levels; shipcheck does not read it"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Parses text in a format into a JSON value; errors carry the parser's line and column.
pub fn parse(text: &str, format: Format) -> Result<Value, String> {
    match format {
        Format::Json => serde_json::from_str(text)
            .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column())),
        Format::Json5 => {
            json5_depth(text, MAX_DEPTH)?;
            json5::from_str(text).map_err(|e| shipcheck_core::diag::one_line(&e.to_string()))
        }
        Format::Yaml => {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            // As packs are read: the same budget against alias bombs, the same words.
            shipcheck_core::pack::yaml::parse_yaml::<Value>(text).map_err(|p| {
                let at = p
                    .pos
                    .map(|at| format!("line {}, column {}: ", at.line, at.column))
                    .unwrap_or_default();
                format!("{at}{}", p.message)
            })
        }
        // The error's position and message only: its snippet quotes the line, which may
        // hold a secret.
        Format::Toml => toml::from_str::<Value>(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            format!("{at}{}", shipcheck_core::diag::one_line(e.message()))
        }),
        Format::Env => crate::env::parse_env(text)
            .map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())),
        Format::Ini => parse_ini(text),
        // Without a file system: includes and imports stay as directives.
        Format::Nginx | Format::Proxy => {
            nginx::parse(text, Path::new("nginx.conf"), &mut proxy::NoIncludes)
                .map(|p| p.into_value("nginx"))
        }
        Format::Caddyfile => caddy::parse(
            text,
            Path::new("Caddyfile"),
            &mut proxy::NoIncludes,
            &|_| None,
        )
        .map(|p| p.into_value("caddy")),
    }
}

fn parse_ini(text: &str) -> Result<Value, String> {
    let ini = ini::Ini::load_from_str(text)
        .map_err(|e| shipcheck_core::diag::one_line(&e.to_string()))?;
    let mut root = Map::new();
    for (section, props) in ini.iter() {
        let mut obj = Map::new();
        for (k, v) in props.iter() {
            obj.insert(k.to_string(), Value::String(v.to_string()));
        }
        match section {
            None => root.extend(obj),
            Some(name) => {
                root.insert(name.to_string(), Value::Object(obj));
            }
        }
    }
    Ok(Value::Object(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// YAML errors are said for a person, as for packs: no parser option names, no value.
    #[test]
    fn yaml_errors_are_said_for_a_person() {
        let e = parse(
            "auth:\n  token: hunter2secret\nauth:\n  mode: none\n",
            Format::Yaml,
        )
        .expect_err("a key twice");
        assert!(
            e.starts_with("line 3, column 1: `auth` is given twice"),
            "{e}"
        );
        assert!(
            !e.contains("DuplicateKeyPolicy") && !e.contains("hunter2"),
            "{e}"
        );
        // An alias bomb stays refused.
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            bomb.push_str(&format!(
                "{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let e = parse(&bomb, Format::Yaml).expect_err("an alias bomb");
        assert!(e.contains("too large to read safely"), "{e}");
    }
}
