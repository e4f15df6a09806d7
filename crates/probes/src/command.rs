//! `command` probe: runs a program with an argv (never through a shell), bounded in time
//! and in the bytes of output kept, and reports its exit code and output.

use shipcheck_core::spec::command::*;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Finding, Observation, ProbeCtx};
use shipcheck_core::duration::Span;

/// Output kept per stream; the rest is read and dropped so the child never blocks.
const MAX_OUTPUT: usize = 1024 * 1024;

impl crate::Observe for CommandProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let argv: Vec<String> = self
            .argv
            .iter()
            .map(|a| ctx.expand(a))
            .collect::<Result<_, _>>()?;
        let (program, args) = argv.split_first().ok_or("`argv` is empty")?;
        let cwd = match &self.cwd {
            Some(c) => ctx.path(c)?,
            None => ctx.base_dir.clone(),
        };
        let timeout = self.timeout.map_or(Duration::from_secs(10), |s| s.0);
        let shown = format!("command {}", shell_words(&argv));
        // A process group of its own: whatever the program starts in the background (and
        // that would hold its output open) ends with it.
        let mut child = Command::new(program)
            .args(args)
            .current_dir(&cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run `{program}`: {e}"))?;
        let group = rustix::process::Pid::from_child(&child);
        let out_reader = reader(child.stdout.take());
        let err_reader = reader(child.stderr.take());
        let status = match wait_bounded(&mut child, timeout) {
            Ok(Some(status)) => status,
            Ok(None) => {
                kill_group(group);
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{shown} did not finish within {} and was killed",
                    Span(timeout)
                ));
            }
            Err(e) => return Err(format!("waiting for {shown}: {e}")),
        };
        // The program has exited; anything it left running in its group is ended, so the
        // readers see the end of its output.
        kill_group(group);
        let (stdout, out_cut) = out_reader.join().unwrap_or_default();
        let (stderr, err_cut) = err_reader.join().unwrap_or_default();
        let code = status.code();
        let captured = match self.capture {
            Capture::Stdout => stdout.clone(),
            Capture::Stderr => stderr.clone(),
            Capture::Combined => format!("{stdout}{stderr}"),
        };
        // Output cut at the limit is not the output: what a matcher looks for may be past
        // the cut.
        let cut = match self.capture {
            Capture::Stdout if out_cut => Some("stdout"),
            Capture::Stderr if err_cut => Some("stderr"),
            Capture::Combined if out_cut || err_cut => {
                Some(if out_cut { "stdout" } else { "stderr" })
            }
            _ => None,
        }
        .map(|stream| {
            format!(
                "{shown} printed more than {} MiB on {stream}, and only whole output is judged",
                MAX_OUTPUT >> 20
            )
        });
        let combined = format!("{stdout}{stderr}");
        if let Some(known) = self.known_failures.iter().find(|k| {
            code == Some(k.exit_code)
                && shipcheck_core::pattern::compile(&k.matches).is_ok_and(|r| r.is_match(&combined))
        }) {
            let mut obs = Observation::new(Value::Null, shown);
            obs.findings.push(Finding::new(
                false,
                format!("not: {}", known.means),
                format!("{} (exit code {})", known.means, known.exit_code),
            ));
            obs.settled = true;
            return Ok(obs);
        }
        if let (OtherExit::Error, ExitCode::Code(want)) =
            (self.other_exit, self.exit_code.unwrap_or(ExitCode::Code(0)))
            && code != Some(want)
        {
            let why = last_line(&stderr);
            return Err(format!(
                "{shown} {}, so it could not tell: {why}",
                match code {
                    Some(c) => format!("exited with code {c}"),
                    None => "was killed by a signal".to_string(),
                }
            ));
        }
        let value = match (self.output, &cut) {
            (Output::Json, Some(why)) => return Err(why.clone()),
            (Output::Text, _) => json!(captured.trim_end()),
            (Output::Json, None) => json_output(&captured).map_err(|e| format!("{shown} {e}"))?,
        };
        let mut obs = Observation::new(value, shown);
        obs.incomplete = cut;
        match self.exit_code.unwrap_or(ExitCode::Code(0)) {
            ExitCode::Code(want) => obs.findings.push(Finding::new(
                code == Some(want),
                format!("exit code {want}"),
                match code {
                    Some(c) => format!("exit code {c}"),
                    None => "killed by a signal".to_string(),
                },
            )),
            ExitCode::Any(_) => {}
        }
        if code != Some(0) && !stderr.trim().is_empty() {
            let tail = last_line(&stderr);
            obs.findings
                .push(Finding::new(true, "stderr (last line)", tail));
        }
        Ok(obs)
    }
}

/// Waits for `child` to exit, for at most `timeout`: `None` when it is still running. A
/// pidfd (Linux 5.3 and later) wakes the wait the moment the child exits; without one, the
/// child is polled at intervals growing from 0.1 to 5 ms. (A fixed 5 ms interval cost a
/// command that takes 1 ms five times its run time.)
fn wait_bounded(
    child: &mut std::process::Child,
    timeout: Duration,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let deadline = shipcheck_core::duration::deadline(Instant::now(), timeout);
    let pid = rustix::process::Pid::from_child(child);
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok();
    let mut pause = Duration::from_micros(100);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        // Readable once the child has exited; an interrupted poll just loops. A poll that
        // fails otherwise falls back to sleeping, so the loop never spins.
        let waited = match (&pidfd, Timespec::try_from(left)) {
            (Some(fd), Ok(left)) => {
                match rustix::event::poll(&mut [PollFd::new(fd, PollFlags::IN)], Some(&left)) {
                    Ok(_) => true,
                    Err(e) => e == rustix::io::Errno::INTR,
                }
            }
            _ => false,
        };
        if !waited {
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }
}

/// The last line of a program's output, at most 200 characters: what it said last.
fn last_line(text: &str) -> String {
    text.trim()
        .lines()
        .last()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// Sends SIGKILL to every process of the command's group (none left is fine).
fn kill_group(group: rustix::process::Pid) {
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
}

/// Reads a stream to its end, keeping at most `MAX_OUTPUT` bytes; says whether it cut.
fn reader<R: Read + Send + 'static>(stream: Option<R>) -> std::thread::JoinHandle<(String, bool)> {
    std::thread::spawn(move || {
        let Some(mut stream) = stream else {
            return (String::new(), false);
        };
        let mut kept = Vec::new();
        let mut cut = false;
        let mut buf = [0u8; 8192];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = MAX_OUTPUT.saturating_sub(kept.len());
            cut |= n > room;
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        (String::from_utf8_lossy(&kept).into_owned(), cut)
    })
}

/// argv shown as a copy-pastable line (for evidence only; never executed).
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The JSON a program printed, after any preamble: some CLIs print a warning box before it
/// (`secureclaw security audit --json` when its extension folders are missing). The JSON is
/// taken from the first line that starts with `{` or `[` to the end.
fn json_output(captured: &str) -> Result<Value, String> {
    let first_error = match serde_json::from_str(captured) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let mut at = 0;
    for line in captured.split_inclusive('\n') {
        if line.trim_start().starts_with(['{', '['])
            && let Ok(v) = serde_json::from_str(&captured[at..])
        {
            return Ok(v);
        }
        at += line.len();
    }
    Err(format!(
        "did not print JSON (line {}, column {}: {first_error})",
        first_error.line(),
        first_error.column()
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn a_bounded_wait_sees_the_exit_and_the_timeout() {
        use std::process::Command;
        let mut quick = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
        let status = super::wait_bounded(&mut quick, Duration::from_secs(10)).unwrap();
        assert_eq!(status.and_then(|s| s.code()), Some(3));
        let mut slow = Command::new("sleep").arg("5").spawn().unwrap();
        let started = std::time::Instant::now();
        assert!(
            super::wait_bounded(&mut slow, Duration::from_millis(200))
                .unwrap()
                .is_none()
        );
        assert!(started.elapsed() >= Duration::from_millis(200));
        slow.kill().unwrap();
        assert!(
            super::wait_bounded(&mut slow, Duration::from_secs(10))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn quotes_for_display() {
        let argv = vec!["echo".to_string(), "a b".to_string(), "it's".to_string()];
        assert_eq!(super::shell_words(&argv), "echo 'a b' 'it'\\''s'");
    }

    #[test]
    fn json_is_found_after_a_preamble() {
        assert_eq!(super::json_output("{\"a\": 1}\n").unwrap(), json!({"a": 1}));
        assert_eq!(
            super::json_output("╭─ Warning ─╮\n│ {not json} │\n╰───╯\n{\"a\": [1]}\n").unwrap(),
            json!({"a": [1]})
        );
        let e = super::json_output("Config invalid\n").unwrap_err();
        assert!(e.contains("did not print JSON"), "{e}");
        // JSON followed by more text is not JSON.
        assert!(super::json_output("{\"a\": 1}\ntrailing words\n").is_err());
    }
}
