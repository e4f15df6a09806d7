//! Where a service's command line and environment are read from: a command line, a
//! systemd unit, a compose service (with compose's interpolation) or a running process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub(crate) use super::compose::read_compose;
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
