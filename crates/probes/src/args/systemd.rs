//! A systemd unit's command line, as systemd runs it: `ExecStart=` with the unit's
//! `Environment=` and `EnvironmentFile=` variables substituted (systemd.service(5),
//! "Command lines"), its working directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::source::{Launch, split_words};
use crate::env::Dialect;

/// Reads `ExecStart=`, `Environment=`, `EnvironmentFile=` and `WorkingDirectory=` of a
/// systemd unit (the `[Service]` section; continuation lines joined) and of its drop-ins
/// (`NAME.d/*.conf` beside it and under /etc/systemd/system), as systemd merges them.
pub(crate) fn read_unit(path: &Path) -> Result<Launch, String> {
    let shown = path.display().to_string();
    let mut launch = Launch {
        shown: format!("systemd unit {shown}"),
        ..Launch::default()
    };
    let mut exec: Option<String> = None;
    let mut assigned: Vec<(String, String)> = Vec::new();
    let mut env_files: Vec<String> = Vec::new();
    let mut files = vec![path.to_path_buf()];
    files.extend(drop_ins(path)?);
    for file in &files {
        let text = crate::env::read_text(file)?;
        let at = file.display().to_string();
        for (k, v) in service_settings(&text) {
            match k.as_str() {
                // An empty assignment resets the list (a drop-in replacing the command).
                "ExecStart" if v.is_empty() => exec = None,
                "ExecStart" => exec = Some(v),
                "Environment" if v.is_empty() => assigned.clear(),
                "Environment" => {
                    for w in split_words(&v).map_err(|e| format!("{at}: Environment=: {e}"))? {
                        if let Some((k, v)) = w.split_once('=') {
                            assigned.push((k.to_string(), v.to_string()));
                        }
                    }
                }
                "EnvironmentFile" if v.is_empty() => env_files.clear(),
                "EnvironmentFile" => env_files.push(v),
                "WorkingDirectory" => {
                    launch.workdir = Some(PathBuf::from(v.trim_start_matches('-')));
                }
                _ => {}
            }
        }
    }
    // `Environment=` first; the files' settings override them, in their order.
    launch.env.extend(assigned);
    for v in env_files {
        let (optional, file) = match v.strip_prefix('-') {
            Some(f) => (true, f),
            None => (false, v.as_str()),
        };
        // `-`: systemd skips the file when it does not exist, not when this user cannot
        // read it (systemd reads it as root).
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
    let exec = exec.ok_or_else(|| format!("{shown} has no ExecStart= in [Service]"))?;
    // Prefixes: `@` makes the second word argv[0] (the program is the first), `:` turns
    // variable substitution off; `-`, `+`, `!` do not change the command line.
    let prefixes: String = exec
        .chars()
        .take_while(|c| ['@', '-', ':', '+', '!'].contains(c))
        .collect();
    let mut words =
        split_words(&exec[prefixes.len()..]).map_err(|e| format!("{shown}: ExecStart=: {e}"))?;
    if prefixes.contains('@') && words.len() > 1 {
        words.remove(1);
    }
    launch.words = if prefixes.contains(':') {
        words
    } else {
        expand(&words, &launch.env)
    };
    Ok(launch)
}

/// The `[Service]` settings of a unit file's text, in order (continuation lines joined).
fn service_settings(text: &str) -> Vec<(String, String)> {
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
    let mut out = Vec::new();
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
        if let Some((k, v)) = t.split_once('=') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// systemd's unit folders, the most binding first (a drop-in in /etc wins over one of the
/// same name in /run, which wins over the vendor's).
const UNIT_DIRS: [&str; 5] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The unit's drop-ins, in the order systemd applies them: `*.conf` files, hidden ones
/// aside, of `NAME.d` beside the unit and, for a unit in one of systemd's folders, in each
/// of them; by file name, a file in a more binding folder replacing one of the same name.
fn drop_ins(unit: &Path) -> Result<Vec<PathBuf>, String> {
    drop_ins_among(unit, &UNIT_DIRS.map(PathBuf::from))
}

/// [`drop_ins`] with `unit_dirs` as systemd's unit folders, the most binding first.
fn drop_ins_among(unit: &Path, unit_dirs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let Some(name) = unit.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(Vec::new());
    };
    let beside = unit.with_file_name(format!("{name}.d"));
    // The other folders' drop-ins belong to a unit systemd loads, not to a copy kept
    // elsewhere.
    let loaded = unit
        .parent()
        .is_some_and(|d| unit_dirs.iter().any(|u| d == u));
    let mut dirs: Vec<PathBuf> = if loaded {
        unit_dirs
            .iter()
            .map(|u| u.join(format!("{name}.d")))
            .collect()
    } else {
        vec![beside]
    };
    dirs.dedup();
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in &dirs {
        for (p, _) in crate::glob::matching(&dir.join("*.conf"))? {
            if let Some(n) = p.file_name().map(|n| n.to_string_lossy().into_owned()) {
                by_name.entry(n).or_insert(p);
            }
        }
    }
    Ok(by_name.into_values().collect())
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

    /// `systemctl edit` writes a drop-in (`NAME.service.d/override.conf`) that replaces
    /// `ExecStart=` (an empty one resets it first): the command line systemd runs is the
    /// drop-in's. `EnvironmentFile=` settings override `Environment=` ones, wherever they
    /// stand; `@` makes the next word argv[0], and `:` turns substitution off.
    #[test]
    fn drop_ins_and_precedence_are_systemds() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let env_file = d.join("relay.env");
        std::fs::write(&env_file, "PORT=2\n").expect("write");
        let unit = d.join("relay.service");
        std::fs::write(
            &unit,
            format!(
                "[Service]\nEnvironmentFile={}\nEnvironment=PORT=1 MODE=a\nExecStart=/usr/bin/relay --port ${{PORT}} --max-sessions 0\n",
                env_file.display()
            ),
        )
        .expect("write");
        let launch = read_unit(&unit).expect("read");
        assert_eq!(
            launch.words,
            ["/usr/bin/relay", "--port", "2", "--max-sessions", "0"]
        );
        std::fs::create_dir(d.join("relay.service.d")).expect("mkdir");
        std::fs::write(
            d.join("relay.service.d/override.conf"),
            "[Service]\nExecStart=\nExecStart=@/usr/bin/relay relay --port ${PORT} --mode ${MODE} --max-sessions 100\n",
        )
        .expect("write");
        std::fs::write(
            d.join("relay.service.d/.override.conf.swp"),
            "[Service]\nExecStart=/bin/false\n",
        )
        .expect("write");
        let launch = read_unit(&unit).expect("read");
        assert_eq!(
            launch.words,
            [
                "/usr/bin/relay",
                "--port",
                "2",
                "--mode",
                "a",
                "--max-sessions",
                "100"
            ]
        );
        std::fs::write(
            d.join("relay.service.d/zz-literal.conf"),
            "[Service]\nExecStart=\nExecStart=:/usr/bin/relay --port ${PORT}\n",
        )
        .expect("write");
        let launch = read_unit(&unit).expect("read");
        assert_eq!(launch.words, ["/usr/bin/relay", "--port", "${PORT}"]);
    }

    /// For a unit systemd loads, drop-ins come from every unit folder, a file in a more
    /// binding folder replacing one of the same name; a copy of a unit kept elsewhere has
    /// only its own `NAME.d`.
    #[test]
    fn drop_ins_of_every_unit_folder_count_by_precedence() {
        let dir = tempfile::tempdir().expect("tmp");
        let roots: Vec<PathBuf> = ["etc", "run", "usr"]
            .iter()
            .map(|r| dir.path().join(r))
            .collect();
        for (root, files) in roots.iter().zip([
            &["10-mem.conf"][..],
            &["10-mem.conf", "20-run.conf"][..],
            &["10-mem.conf", "30-vendor.conf"][..],
        ]) {
            std::fs::create_dir_all(root.join("relay.service.d")).expect("mkdir");
            for f in files {
                std::fs::write(root.join("relay.service.d").join(f), "").expect("write");
            }
        }
        let unit = roots[2].join("relay.service");
        let found = drop_ins_among(&unit, &roots).expect("drop-ins");
        let shown: Vec<String> = found
            .iter()
            .map(|p| {
                p.strip_prefix(dir.path())
                    .expect("inside")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            shown,
            [
                "etc/relay.service.d/10-mem.conf",
                "run/relay.service.d/20-run.conf",
                "usr/relay.service.d/30-vendor.conf"
            ]
        );
        let copy = dir.path().join("relay.service");
        assert!(drop_ins_among(&copy, &roots).expect("none").is_empty());
    }

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
