//! Running processes found by their command line: how long the youngest match has run, and
//! the environment it runs with (`/proc/PID/environ`), which is what a service started by
//! pm2, a shell or a container really reads, whatever its env file says.

use std::collections::BTreeMap;
use std::path::Path;

/// The pid of the youngest process whose command line (arguments joined by spaces)
/// matches `re`, shipcheck itself left out (its own arguments may name the program). At
/// most 100,000 processes are read.
pub(crate) fn youngest_matching(re: &regex::Regex) -> Option<(String, u64)> {
    let dir = std::fs::read_dir("/proc").ok()?;
    let own = std::process::id().to_string();
    dir.flatten()
        .take(100_000)
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && *n != own)
        .filter(|pid| {
            crate::read_bounded(Path::new(&format!("/proc/{pid}/cmdline")), 1 << 20).is_ok_and(
                |raw| {
                    let line = String::from_utf8_lossy(&raw).replace('\0', " ");
                    re.is_match(line.trim_end())
                },
            )
        })
        .filter_map(|pid| uptime_seconds(&pid).map(|up| (pid, up)))
        .min_by_key(|(_, up)| *up)
}

/// How long process `pid` has run, in whole seconds: its start time (`/proc/PID/stat`,
/// field 22, in clock ticks since boot) against the time since boot (`/proc/uptime`).
pub(crate) fn uptime_seconds(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')')? + 1..];
    let start_ticks: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
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

/// The environment of the youngest process matching `pattern`, with its pid. No such
/// process, or an environment that cannot be read, is an error: the caller could not see
/// what the service runs with.
pub(crate) fn environment(pattern: &str) -> Result<(String, BTreeMap<String, String>), String> {
    let re = regex::Regex::new(pattern).map_err(|e| format!("invalid regex `{pattern}`: {e}"))?;
    let (pid, _) = youngest_matching(&re).ok_or_else(|| {
        format!(
            "no running process matches `{pattern}`, so the environment it runs with cannot be read"
        )
    })?;
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
