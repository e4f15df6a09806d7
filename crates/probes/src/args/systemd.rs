//! A systemd unit's command line, as systemd runs it: `ExecStart=` with the unit's
//! `Environment=` and `EnvironmentFile=` variables substituted (systemd.service(5),
//! "Command lines"), its working directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::source::{Launch, split_words};
use crate::env::Dialect;

/// Reads `ExecStart=`, `Environment=`, `EnvironmentFile=` and `WorkingDirectory=` of a
/// systemd unit (the `[Service]` section; continuation lines joined).
pub(crate) fn read_unit(path: &Path) -> Result<Launch, String> {
    let text = crate::env::read_text(path)?;
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
                // `-`: systemd skips the file when it does not exist, not when this user
                // cannot read it (systemd reads it as root).
                let read = if optional {
                    crate::env::read_env_file_if_present(Path::new(file), Dialect::Systemd)
                } else {
                    crate::env::read_env_file_as(Path::new(file), Dialect::Systemd).map(Some)
                };
                match read {
                    Ok(vars) => launch.env.extend(vars.unwrap_or_default()),
                    Err(e) => return Err(format!("{shown}: EnvironmentFile={v}: {e}")),
                }
            }
            "WorkingDirectory" => {
                launch.workdir = Some(PathBuf::from(v.trim_start_matches('-')));
            }
            _ => {}
        }
    }
    let exec = exec.ok_or_else(|| format!("{shown} has no ExecStart= in [Service]"))?;
    let words = split_words(&exec).map_err(|e| format!("{shown}: ExecStart=: {e}"))?;
    launch.words = expand(&words, &launch.env);
    Ok(launch)
}

/// `ExecStart=`'s words with the unit's variables substituted as systemd does: `${NAME}`
/// in place, as part of one word; `$NAME` as a word of its own, split at whitespace into
/// zero or more words; `$$` is a `$`. An unset variable is empty. Hand-written: the rules
/// are systemd's own.
fn expand(words: &[String], env: &BTreeMap<String, String>) -> Vec<String> {
    let value = |name: &str| env.get(name).map(String::as_str).unwrap_or_default();
    let is_name = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut out = Vec::new();
    for word in words {
        if let Some(name) = word.strip_prefix('$').filter(|n| is_name(n)) {
            out.extend(value(name).split_whitespace().map(String::from));
            continue;
        }
        let mut expanded = String::new();
        let mut rest = word.as_str();
        while let Some(at) = rest.find('$') {
            expanded.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                expanded.push('$');
                rest = tail;
            } else if let Some((name, tail)) = after
                .strip_prefix('{')
                .and_then(|a| a.split_once('}'))
                .filter(|(n, _)| is_name(n))
            {
                expanded.push_str(value(name));
                rest = tail;
            } else {
                expanded.push('$');
                rest = after;
            }
        }
        expanded.push_str(rest);
        out.push(expanded);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line systemd runs: the unit's variables substituted in `ExecStart=`,
    /// from `Environment=` and `EnvironmentFile=` whatever their order.
    #[test]
    fn exec_start_gets_the_units_variables() {
        let dir = tempfile::tempdir().expect("tmp");
        let env_file = dir.path().join("relay.env");
        std::fs::write(&env_file, "PORT=7350\nOPTS=\"--a 1  --b 2\"\n").expect("write");
        let unit = dir.path().join("relay.service");
        std::fs::write(
            &unit,
            format!(
                "[Service]\nExecStart=/usr/bin/relay --port ${{PORT}} $OPTS --literal $$HOME --x=${{UNSET}}end --name \"${{NAME}}\" $UNSET\nEnvironment=\"NAME=two words\"\nEnvironmentFile={}\n",
                env_file.display()
            ),
        )
        .expect("write");
        let launch = read_unit(&unit).expect("read");
        assert_eq!(
            launch.words,
            [
                "/usr/bin/relay",
                "--port",
                "7350",
                "--a",
                "1",
                "--b",
                "2",
                "--literal",
                "$HOME",
                "--x=end",
                "--name",
                "two words"
            ]
        );
    }
}
