//! Running processes found by their command line: how long the youngest match has run, and
//! the environment it runs with (`/proc/PID/environ`), which is what a service started by
//! pm2, a shell or a container really reads, whatever its env file says.

use std::collections::BTreeMap;
use std::path::Path;

/// A running process whose command line matched.
struct Match {
    pid: String,
    uptime: u64,
    cmdline: String,
}

/// The processes whose command line (arguments joined by spaces) matches `re`.
fn matching(re: &regex::Regex) -> Vec<Match> {
    matching_by(&|_, line| re.is_match(line))
}

/// The processes whose command line satisfies `wanted` (given the arguments, NUL-separated,
/// and joined by spaces), shipcheck itself left out (its own arguments may name the
/// program). At most 100,000 processes are read.
fn matching_by(wanted: &dyn Fn(&[u8], &str) -> bool) -> Vec<Match> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own = std::process::id().to_string();
    dir.flatten()
        .take(100_000)
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && *n != own)
        .filter_map(|pid| {
            let raw =
                crate::read_bounded(Path::new(&format!("/proc/{pid}/cmdline")), 1 << 20).ok()?;
            let cmdline = String::from_utf8_lossy(&raw)
                .replace('\0', " ")
                .trim_end()
                .to_string();
            if !wanted(&raw, &cmdline) {
                return None;
            }
            let uptime = uptime_seconds(&pid)?;
            Some(Match {
                pid,
                uptime,
                cmdline,
            })
        })
        .collect()
}

/// The pid of the youngest process whose command line matches `re`.
pub(crate) fn youngest_matching(re: &regex::Regex) -> Option<(String, u64)> {
    matching(re)
        .into_iter()
        .min_by_key(|m| m.uptime)
        .map(|m| (m.pid, m.uptime))
}

/// The parent of process `pid` (`/proc/PID/stat`, field 4).
fn parent(pid: &str) -> Option<String> {
    stat_field(pid, 4)
}

/// Field `n` (1-based, as proc(5) numbers them) of `/proc/PID/stat`, from field 3 on: the
/// command name (field 2) is in parentheses and may hold spaces, so fields are counted after
/// it.
fn stat_field(pid: &str, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after
        .split_whitespace()
        .nth(n.checked_sub(3)?)
        .map(String::from)
}

/// The one service `pattern` names: of the processes it matches, a wrapper that started
/// another match (a shell, pm2's launcher) gives way to what it started, and instances of
/// one service (the same command line) to the youngest. Matches with different command
/// lines are different services, whose environments differ: an error, never a guess.
fn the_service(pattern: &str, re: &regex::Regex) -> Result<String, String> {
    the_one(matching(re), &format!("`{pattern}` matches"))
        .map_err(|e| {
            e.unwrap_or_else(|| {
                format!(
                    "no running process matches `{pattern}`, so the environment it runs with cannot be read"
                )
            })
        })
}

/// The pid of the one running service whose program (the file name of its first argument)
/// is `program`, as `the_service` chooses among several.
pub(crate) fn running_program(program: &str) -> Result<String, String> {
    let named = |raw: &[u8], _: &str| {
        let argv0 = raw.split(|b| *b == 0).next().unwrap_or_default();
        Path::new(String::from_utf8_lossy(argv0).as_ref())
            .file_name()
            .is_some_and(|n| n.to_string_lossy() == program)
    };
    the_one(matching_by(&named), &format!("`{program}` runs as"))
        .map_err(|e| e.unwrap_or_else(|| format!("no running process is `{program}`")))
}

/// The one service among `all` (see `the_service`); `Err(None)` when there is none.
fn the_one(all: Vec<Match>, what: &str) -> Result<String, Option<String>> {
    let pids: std::collections::HashSet<&str> = all.iter().map(|m| m.pid.as_str()).collect();
    let mut wrappers = std::collections::HashSet::new();
    for m in &all {
        let mut at = m.pid.clone();
        // Bounded: a process tree is not deeper than this in practice.
        for _ in 0..64 {
            match parent(&at) {
                Some(p) if p != "0" && p != at => {
                    if pids.contains(p.as_str()) {
                        wrappers.insert(p.clone());
                    }
                    at = p;
                }
                _ => break,
            }
        }
    }
    let services: Vec<&Match> = all.iter().filter(|m| !wrappers.contains(&m.pid)).collect();
    let mut lines: Vec<&str> = services.iter().map(|m| m.cmdline.as_str()).collect();
    lines.sort_unstable();
    lines.dedup();
    if lines.len() > 1 {
        let listed: Vec<String> = services.iter().map(|m| described(m)).collect();
        return Err(Some(format!(
            "{what} processes with {} different command lines ({}): which one is meant cannot be told; name one service",
            lines.len(),
            listed.join(", ")
        )));
    }
    services
        .iter()
        .min_by_key(|m| m.uptime)
        .map(|m| m.pid.clone())
        .ok_or(None)
}

/// A process as an error may show it: its pid, program and the first argument that is a
/// file it runs (a script), never other arguments, which may hold a secret.
fn described(m: &Match) -> String {
    let mut words = m.cmdline.split(' ');
    let program = words
        .next()
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .unwrap_or_default();
    let cwd = std::fs::read_link(format!("/proc/{}/cwd", m.pid)).unwrap_or_default();
    let script = words
        .find(|w| !w.starts_with('-'))
        .filter(|w| cwd.join(w).is_file());
    match script {
        Some(s) => format!("pid {} `{program} {s}`", m.pid),
        None => format!("pid {} `{program}`", m.pid),
    }
}

/// How long process `pid` has run, in whole seconds: its start time (`/proc/PID/stat`,
/// field 22, in clock ticks since boot) against the time since boot (`/proc/uptime`).
pub(crate) fn uptime_seconds(pid: &str) -> Option<u64> {
    let start_ticks: u64 = stat_field(pid, 22)?.parse().ok()?;
    let since_boot: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let ticks = rustix::param::clock_ticks_per_second();
    let started = start_ticks as f64 / ticks as f64;
    Some((since_boot - started).max(0.0) as u64)
}

/// How long the youngest process matching `re` has run, in seconds.
pub(crate) fn youngest_uptime(re: &regex::Regex) -> Option<u64> {
    youngest_matching(re).map(|(_, up)| up)
}

/// The environment of the process matching `pattern`, read once per run (every item of a
/// service asks for the same process).
pub(crate) fn environment_cached(
    ctx: &crate::ProbeCtx,
    pattern: &str,
) -> Result<(String, BTreeMap<String, String>), String> {
    #[derive(Hash, PartialEq, Eq)]
    struct Pattern(String);
    ctx.cache
        .memo(Pattern(pattern.to_string()), || environment(pattern))
}

/// The environment of the service `pattern` names (see `the_service`), with its pid. No
/// such process, several services, or an environment that cannot be read is an error: the
/// caller could not see what the service runs with.
pub(crate) fn environment(pattern: &str) -> Result<(String, BTreeMap<String, String>), String> {
    let re = regex::Regex::new(pattern).map_err(|e| format!("invalid regex `{pattern}`: {e}"))?;
    let pid = the_service(pattern, &re)?;
    let raw = crate::read_bounded(Path::new(&format!("/proc/{pid}/environ")), 1 << 20)
        .map_err(|e| format!("the environment of process {pid}: {e}"))?;
    let vars = raw
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            (!k.is_empty()).then(|| (k.to_string(), v.to_string()))
        })
        .collect();
    Ok((pid, vars))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `sh -c script` and waits until a process whose command line matches `ready`
    /// runs (exec under way leaves it empty for a moment).
    fn spawn(script: &str, ready: &str) -> std::process::Child {
        let child = std::process::Command::new("sh")
            .args(["-c", script])
            .spawn()
            .expect("sh");
        let re = regex::Regex::new(ready).expect("regex");
        for _ in 0..300 {
            if youngest_matching(&re).is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        child
    }

    fn stop(mut children: Vec<std::process::Child>, pattern: &str) {
        for c in &mut children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // The sleeps the shells started.
        let _ = std::process::Command::new("pkill")
            .args(["-f", pattern])
            .status();
    }

    #[test]
    fn instances_of_one_service_are_one_and_different_ones_are_not() {
        let m = |pid: &str, uptime, cmdline: &str| Match {
            pid: pid.into(),
            uptime,
            cmdline: cmdline.into(),
        };
        // Pids no process has: no parents, so no wrappers.
        let same = vec![
            m("999999991", 50, "relay --port 7000"),
            m("999999992", 5, "relay --port 7000"),
        ];
        assert_eq!(the_one(same, "x").ok().as_deref(), Some("999999992"));
        let different = vec![
            m("999999991", 50, "relay --port 7000 --token hunter2"),
            m("999999992", 5, "relay --port 7001"),
        ];
        let e = the_one(different, "`relay` runs as")
            .unwrap_err()
            .unwrap_or_default();
        assert!(e.contains("2 different command lines"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        assert_eq!(the_one(Vec::new(), "x"), Err(None));
    }

    /// A pattern that matches two different services reads neither: their environments
    /// differ, and the youngest is not the one meant. Instances of one service (the same
    /// command line) and a wrapper with the service it started are one service.
    #[test]
    fn a_pattern_must_name_one_service() {
        let a = spawn("exec sleep 9.1201", r"^sleep 9\.1201$");
        let b = spawn("exec sleep 9.1202", r"^sleep 9\.1202$");
        let found = environment(r"^sleep 9\.120");
        stop(vec![a, b], r"^sleep 9\.120");
        let e = found.expect_err("two services");
        assert!(e.contains("2 different command lines"), "{e}");

        let a = spawn("exec sleep 9.1301", r"^sleep 9\.1301$");
        let b = spawn("exec sleep 9.1301", r"^sleep 9\.1301$");
        let found = environment(r"^sleep 9\.1301$");
        stop(vec![a, b], r"^sleep 9\.1301");
        found.expect("two instances of one service");

        // A shell that started the service (and stays): the service is read.
        let wrapper = spawn("sleep 9.1401; true", r"^sleep 9\.1401$");
        let found = environment(r"sleep 9\.1401");
        let leaf = youngest_matching(&regex::Regex::new(r"^sleep 9\.1401$").expect("re"));
        stop(vec![wrapper], r"sleep 9\.1401");
        let (pid, _) = found.expect("wrapper and service");
        assert_eq!(Some(pid), leaf.map(|(p, _)| p));
    }

    #[test]
    fn a_process_environment_is_read_by_its_command_line() {
        let mut child = std::process::Command::new("sleep")
            .arg("7.31415")
            .env("SHIPCHECK_TEST_MARK", "from-the-process")
            .spawn()
            .expect("sleep");
        // Right after spawn, the child's command line can still be empty (exec under way).
        let cmdline = format!("/proc/{}/cmdline", child.id());
        for _ in 0..200 {
            if std::fs::read(&cmdline).is_ok_and(|c| !c.is_empty()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let found = environment(r"^sleep 7\.31415$");
        let _ = child.kill();
        let _ = child.wait();
        let (pid, vars) = found.expect("found");
        assert_eq!(pid, child.id().to_string());
        assert_eq!(vars["SHIPCHECK_TEST_MARK"], "from-the-process");
        let e = environment("^no-such-program-anywhere$").unwrap_err();
        assert!(e.contains("no running process matches"), "{e}");
    }
}
