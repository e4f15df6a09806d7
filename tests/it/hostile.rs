//! Hostile input and hostile servers: results that could not be checked are errors, never
//! passes (unreadable files, truncated bodies, no TLS), and every run ends bounded, with a
//! report (FIFOs, devices, endless jq, lingering children, stack-exhausting input, timeouts
//! too long for the clock, stale connections), with nothing raw reaching the terminal.

use crate::common::*;

/// `if_missing: null` means defaults only when the file is not there: a config file that
/// exists but cannot be read (here a symlink loop, which `Path::exists` also calls absent)
/// is `error`, never a pass on defaults.
#[test]
fn unreadable_config_is_not_a_missing_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_pack(
        dir,
        &[(
            "coach.enabled",
            r#"check:
  config: {path: "coach.json", format: json, if_missing: "null", query: '.enabled | if . == null then true else . end'}
  expect:
    - equals: true"#,
        )],
        "",
    );
    let status = || {
        let out = shipcheck(dir, &["check", "--format", "json", "--no-record"]);
        let run = json(&out);
        let r = &run["results"][0];
        (
            r["status"].as_str().unwrap().to_string(),
            r["summary"].as_str().unwrap().to_string(),
        )
    };
    // Missing: the defaults apply.
    assert_eq!(status().0, "pass");
    // A symlink loop where the file should be: could not check.
    std::os::unix::fs::symlink(dir.join("loop-b"), dir.join("coach.json")).unwrap();
    std::os::unix::fs::symlink(dir.join("coach.json"), dir.join("loop-b")).unwrap();
    let (s, summary) = status();
    assert_eq!(s, "error", "{summary}");
    assert!(summary.contains("cannot read"), "{summary}");
    // A folder where the file should be: could not check.
    std::fs::remove_file(dir.join("coach.json")).unwrap();
    std::fs::create_dir(dir.join("coach.json")).unwrap();
    assert_eq!(status().0, "error");
}

/// A loopback HTTP server whose answer never ends: headers, then body bytes until the
/// client hangs up (bounded: at most 32 MiB per connection and 16 connections).
fn endless_body_server() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(16) {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
                let chunk = vec![b'a'; 64 * 1024];
                for _ in 0..512 {
                    if conn.write_all(&chunk).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// A body cut at `max_body` is not a body: a check on it is `error`, unless a body match
/// was found before the cut; the evidence keeps an excerpt and a digest, not the body.
#[test]
fn a_truncated_http_body_is_not_judged() {
    let port = endless_body_server();
    let tmp = tempfile::tempdir().unwrap();
    let item = |id: &str, extra: &str| {
        format!(
            r#"      - id: {id}
        title: {id}
        severity: low
        phase: pre-deploy
        why: test
        fix: test
        check:
          http: {{url: "http://127.0.0.1:{port}/", max_body: 64KiB, timeout: 5s{extra}}}
"#
        )
    };
    let pack = format!(
        "name: endless\nversion: \"1\"\ntitle: Endless bodies\nsections:\n  - id: s\n    title: S\n    items:\n{}{}{}{}",
        item("status.only", ", status: [200]"),
        item("match.before.cut", ", body_matches: \"aaaa\""),
        item("match.not.found", ", body_matches: \"zzzz\""),
        item("json.query", ", json: \".ok == true\""),
    );
    std::fs::write(tmp.path().join("pack.yaml"), pack).unwrap();
    std::fs::write(tmp.path().join("shipcheck.yaml"), "packs: [pack.yaml]\n").unwrap();
    let out = shipcheck(tmp.path(), &["check", "--format", "json", "--no-record"]);
    let run = json(&out);
    let s = statuses(&run);
    assert_eq!(s["status.only"], "error", "{}", stdout(&out));
    assert_eq!(s["match.before.cut"], "pass");
    assert_eq!(s["match.not.found"], "error");
    assert_eq!(s["json.query"], "error");
    for r in run["results"].as_array().unwrap() {
        let Some(observed) = r["evidence"]["observed"].as_object() else {
            continue;
        };
        assert_eq!(observed["truncated"], true, "{r}");
        assert!(observed["body_sha256"].is_string(), "{r}");
        assert!(
            observed["body"].as_str().unwrap().len() < 5000,
            "the evidence keeps an excerpt, not the body"
        );
    }
    assert!(
        stdout(&out).len() < 100_000,
        "the report holds no 64 KiB bodies"
    );
}

/// Profiles, packs, `--targets` files and config files are read bounded and never block:
/// a device, a FIFO or an oversized file is a clear error, at once.
#[test]
fn special_and_oversized_files_are_errors_not_hangs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let fifo = dir.join("fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (what, args) in [
        (
            "a device as the profile",
            vec!["check", "--profile", "/dev/zero"],
        ),
        (
            "a FIFO as the profile",
            vec!["check", "--profile", "fifo.yaml"],
        ),
        ("a FIFO as a pack", vec!["pack", "lint", "fifo.yaml"]),
        (
            "a FIFO as a targets file",
            vec!["probe", "tcp", "--targets", "fifo.yaml"],
        ),
    ] {
        let started = std::time::Instant::now();
        let out = shipcheck(dir, &args);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("not a regular file"),
            "{what}: {}",
            stderr(&out)
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what}"
        );
    }
    // A profile larger than the limit.
    let big = dir.join("big.yaml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(17 * 1024 * 1024).unwrap();
    let out = shipcheck(dir, &["check", "--profile", "big.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("larger than"), "{}", stderr(&out));
    // A FIFO where a config file should be: the item is an error, and the run ends.
    write_pack(
        dir,
        &[(
            "fifo.config",
            r#"check:
  config: {path: fifo.yaml, format: yaml, query: .a}"#,
        )],
        "",
    );
    let started = std::time::Instant::now();
    let out = shipcheck(dir, &["check", "--format", "json", "--no-record"]);
    let s = statuses(&json(&out));
    assert_eq!(s["fifo.config"], "error");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// A run ends, with a report, once every item has a result: a command that leaves a
/// background child holding its output, and a jq query that never ends (timed out), do
/// not keep the process alive.
#[test]
fn a_timed_out_or_lingering_check_does_not_hold_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("app.json"), r#"{"a": 1}"#).unwrap();
    write_pack(
        dir,
        &[
            (
                "background.child",
                r#"check:
  command: {argv: [sh, -c, "sleep 40 & echo started"]}
  expect: [{equals: started}]"#,
            ),
            (
                "endless.jq",
                r#"check:
  config: {path: app.json, query: "last(range(.a * 1e12))"}
  timeout: 2s"#,
            ),
        ],
        "",
    );
    let started = std::time::Instant::now();
    let out = shipcheck(dir, &["check", "--format", "json", "--no-record"]);
    let elapsed = started.elapsed();
    let s = statuses(&json(&out));
    assert_eq!(s["background.child"], "pass");
    assert_eq!(s["endless.jq"], "error");
    assert!(
        elapsed < std::time::Duration::from_secs(20),
        "the run took {elapsed:?}"
    );
}

/// A timeout too long for the clock (a pack's `timeout: 18446744073709551615`, in seconds)
/// means no deadline: the check runs and the run ends, where adding it to the clock had
/// panicked a worker thread and left the run waiting for it.
#[test]
fn a_timeout_too_long_for_the_clock_is_no_deadline() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("app.json"), r#"{"a": 1}"#).unwrap();
    write_pack(
        dir,
        &[
            (
                "huge.check",
                r#"check:
  file: {path: app.json}
  timeout: "18446744073709551615""#,
            ),
            (
                "huge.command",
                r#"check:
  command: {argv: [echo, ok], timeout: "18446744073709551615"}
  expect: [{equals: ok}]"#,
            ),
        ],
        "",
    );
    let out = assert_cmd::Command::cargo_bin("shipcheck")
        .unwrap()
        .current_dir(dir)
        .args(["check", "--format", "json", "--no-record"])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .expect("the run ends within 30 s");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let s = statuses(&json(&out));
    assert_eq!(s["huge.check"], "pass");
    assert_eq!(s["huge.command"], "pass");
}

/// Input that would overflow the stack is refused, never an abort without a report: JSON5
/// nested 2,037 levels deep is an item error, and a recursive jq definition is refused
/// when the pack loads.
#[test]
fn stack_exhausting_input_is_an_error_not_an_abort() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let deep = format!("{}{}", "[".repeat(2037), "]".repeat(2037));
    std::fs::write(dir.join("deep.json5"), &deep).unwrap();
    let pack = |query: &str| {
        format!(
            r#"name: p
version: "1"
title: P
sections:
  - id: s
    title: S
    items:
      - id: deep
        title: t
        severity: low
        phase: pre-deploy
        why: w
        fix: f
        check:
          config: {{path: deep.json5, query: '{query}'}}
"#
        )
    };
    std::fs::write(dir.join("pack.yaml"), pack(".")).unwrap();
    std::fs::write(dir.join("shipcheck.yaml"), "packs: [pack.yaml]\n").unwrap();
    let out = shipcheck(dir, &["check", "--format", "json", "--no-record"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let run = json(&out);
    assert_eq!(run["results"][0]["status"], "error");
    assert!(
        run["results"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("nested deeper")
    );
    for recursive in ["def f: [f]; f", "def f: 1 + f; f"] {
        std::fs::write(dir.join("pack.yaml"), pack(recursive)).unwrap();
        let out = shipcheck(dir, &["check", "--no-record"]);
        assert_eq!(out.status.code(), Some(2), "{recursive}: {}", stderr(&out));
        assert!(stderr(&out).contains("recursive jq"), "{}", stderr(&out));
        let out = shipcheck(dir, &["pack", "lint", "pack.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{recursive}");
    }
}

/// Control characters that came from outside never reach the terminal raw: a TOML parse
/// error, a program's stderr line (`-v`), a profile's own text.
#[test]
fn control_characters_from_outside_are_escaped_on_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("app.toml"), "port = \x1b[2J\x07\n").unwrap();
    write_pack(
        dir,
        &[
            (
                "toml.bad",
                r#"check:
  config: {path: app.toml, query: .port}"#,
            ),
            (
                "stderr.escape",
                r#"check:
  command: {argv: [sh, -c, 'printf "boom \033]0;owned\007 \033[31mred\n" >&2; exit 4']}"#,
            ),
        ],
        "",
    );
    for args in [
        &["check", "--no-record", "-v"][..],
        &["check", "--no-record"],
    ] {
        let out = shipcheck(dir, args);
        for (stream, text) in [("stdout", stdout(&out)), ("stderr", stderr(&out))] {
            assert!(
                !text.contains('\x1b'),
                "{args:?}: raw ESC on {stream}:\n{text}"
            );
            assert!(
                !text.contains('\x07'),
                "{args:?}: raw BEL on {stream}:\n{text}"
            );
        }
        if args.contains(&"-v") {
            // The stderr line is shown, escaped.
            assert!(stdout(&out).contains("\\x1b]0;owned"), "{}", stdout(&out));
        }
    }
    // A profile holding a control character: its error snippet escapes it.
    std::fs::write(
        dir.join("shipcheck.yaml"),
        "packs: [pack.yaml]\nvars: {x: \"\x1b[2J\"\n",
    )
    .unwrap();
    let out = shipcheck(dir, &["check", "--no-record"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains('\x1b'), "{}", stderr(&out));
}

/// A server that closes each kept-alive connection when the next request arrives on it,
/// without answering (what a stale pooled connection looks like). Serves at most 64
/// connections.
fn stale_keep_alive_server() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(64) {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                // Read the first request's head, answer it, keep the connection open.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line == "\r\n" {
                        break;
                    }
                    line.clear();
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
                );
                // The next request on it: close without a word.
                let mut next = String::new();
                let _ = reader.read_line(&mut next);
            });
        }
    });
    port
}

/// A stale kept-alive connection does not abort an endpoint's audit: idempotent requests
/// are sent once more on another connection.
#[test]
fn a_stale_kept_alive_connection_is_retried() {
    let port = stale_keep_alive_server();
    let url = format!("http://127.0.0.1:{port}/");
    let out = shipcheck(
        std::path::Path::new("."),
        &["probe", "http", &url, "--format", "json"],
    );
    let v = json(&out);
    assert!(v[0]["error"].is_null(), "{v:#}");
    assert!(v[0]["errors"].is_null(), "{v:#}");
    assert_eq!(
        v[0]["observed"]["cors"].as_array().map(Vec::len),
        Some(6),
        "{v:#}"
    );
}

/// A jq expression is held to a budget of steps, memory and output size, so a runaway one
/// ends as an item `error` long before its timeout, with the reason, and the run reports.
#[test]
fn runaway_jq_ends_within_its_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("app.json"), r#"{"n": 1e9}"#).unwrap();
    let item = |query: &str| {
        format!("check:\n  config: {{path: app.json, query: '{query}'}}\n  timeout: 120s")
    };
    let items = [
        ("steps", item("[range(.n)] | length")),
        (
            "memory",
            item(r#"reduce range(40) as $i ("x"; . + .) | length"#),
        ),
        ("output", item("reduce range(60) as $i (1; [., .])")),
        ("fine", item("[range(1000)] | length")),
    ];
    let items: Vec<(&str, &str)> = items.iter().map(|(i, c)| (*i, c.as_str())).collect();
    write_pack(dir, &items, "");
    let started = std::time::Instant::now();
    let out = shipcheck(dir, &["check", "--format", "json", "--no-record"]);
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let run = json(&out);
    let s = statuses(&run);
    let summary = |id: &str| (format!("\"{}\"", s[id]), crate::common::summary(&run, id));
    for (id, reason) in [
        ("steps", "loop steps"),
        ("memory", "holds more than 256 MiB"),
        ("output", "outputs take more than"),
    ] {
        let (status, text) = summary(id);
        assert_eq!(status, "\"error\"", "{id}: {text}");
        assert!(
            text.contains("jq budget exceeded") && text.contains(reason),
            "{id}: {text}"
        );
    }
    assert_eq!(summary("fine").0, "\"pass\"", "{}", summary("fine").1);
    assert!(
        elapsed < std::time::Duration::from_secs(100),
        "ended by the budget, not the timeout: {elapsed:?}"
    );
    // A loop that provably never ends is refused when the pack loads, with its place.
    write_pack(dir, &[("never", &item("until(false; .)"))], "");
    let out = shipcheck(dir, &["pack", "lint", "pack.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`until(false; …)` cannot")
            && stderr(&out).contains("pack.yaml:15:43"),
        "{}",
        stderr(&out)
    );
}

/// `pending_when` turns only a failure into "not yet due": a matcher that could not judge
/// stays `error`, and a certificate check whose CA file cannot be read is `error` too.
#[test]
fn could_not_check_is_never_pending_or_untrusted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("a.json"), r#"{"n": 1}"#).unwrap();
    let ca = crate::common::pki::self_signed("CA", &[], -1, 30, true);
    let leaf = crate::common::pki::issued(&ca, "x", &["x.example.test"], -1, 30, false);
    std::fs::write(dir.join("leaf.pem"), &leaf.pem).unwrap();
    write_pack(
        dir,
        &[
            (
                "matcher-error",
                "check:\n  config: {path: a.json, query: .n}\n  expect: [{jq: 'test(\"x\")'}]\n  pending_when: {jq: 'true', reason: always}",
            ),
            (
                "ca-missing",
                "check:\n  cert: {path: leaf.pem, ca_file: nope.pem, min_days_left: 1}",
            ),
        ],
        "",
    );
    let out = shipcheck(dir, &["check", "--format", "json", "--no-record"]);
    let run = json(&out);
    let s = statuses(&run);
    assert_eq!(
        s["matcher-error"],
        "error",
        "{}",
        crate::common::summary(&run, "matcher-error")
    );
    assert_eq!(
        s["ca-missing"],
        "error",
        "{}",
        crate::common::summary(&run, "ca-missing")
    );
    assert!(crate::common::summary(&run, "ca-missing").contains("nope.pem"));
}

/// A symlink is judged as a service opening it sees it: a dangling one is a file that does
/// not exist (never "exists" with the link's own mode 0777 and an executable bit), a loop
/// cannot be checked, and a link to a file is a file.
#[test]
fn a_dangling_symlink_is_not_a_file_that_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("real"), "x").unwrap();
    std::os::unix::fs::symlink("real", dir.join("link")).unwrap();
    std::os::unix::fs::symlink("gone.env", dir.join("dangling")).unwrap();
    std::os::unix::fs::symlink("loop-b", dir.join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", dir.join("loop-b")).unwrap();
    write_pack(
        dir,
        &[
            ("dangling.exists", "check: {file: {path: dangling}}"),
            (
                "dangling.absent",
                "check: {file: {path: dangling, exists: false}}",
            ),
            (
                "dangling.executable",
                "check: {file: {path: dangling, executable: true}}",
            ),
            (
                "dangling.if-present",
                "check: {file: {path: dangling, if_present: true, mode_max: \"0600\"}}",
            ),
            (
                "dangling.is-link",
                "check: {file: {path: dangling, type: symlink}}",
            ),
            ("loop.exists", "check: {file: {path: loop-a}}"),
            ("link.file", "check: {file: {path: link, type: file}}"),
        ],
        "",
    );
    let run = json(&shipcheck(
        dir,
        &["check", "--format", "json", "--no-record"],
    ));
    let s = statuses(&run);
    let expected = [
        ("dangling.exists", "fail"),
        ("dangling.absent", "pass"),
        ("dangling.executable", "fail"),
        ("dangling.if-present", "pass"),
        ("dangling.is-link", "fail"),
        ("loop.exists", "error"),
        ("link.file", "pass"),
    ];
    for (id, status) in expected {
        assert_eq!(s[id], status, "{id}: {}", summary(&run, id));
    }
    let why = summary(&run, "dangling.exists");
    assert!(
        why.contains("dangling symlink") && why.contains("gone.env"),
        "{why}"
    );
    let why = summary(&run, "loop.exists");
    assert!(why.contains("loop-a"), "{why}");
}

/// Output cut at the limit is not the output: a matcher over it is `error` (the line it
/// looks for may be past the cut), while an item that judges only the exit code still does.
#[test]
fn output_cut_at_the_limit_is_not_judged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let big = "argv: [sh, -c, 'head -c 2000000 /dev/zero | tr \"\\\\0\" x; echo; echo CRITICAL']";
    write_pack(
        dir,
        &[
            (
                "big.matched",
                &format!("check:\n  command: {{{big}}}\n  expect: [{{not_contains: CRITICAL}}]"),
            ),
            ("big.exit", &format!("check:\n  command: {{{big}}}")),
        ],
        "",
    );
    let run = json(&shipcheck(
        dir,
        &["check", "--format", "json", "--no-record"],
    ));
    let s = statuses(&run);
    assert_eq!(
        s["big.matched"],
        "error",
        "{}",
        summary(&run, "big.matched")
    );
    assert!(summary(&run, "big.matched").contains("more than 1 MiB"));
    assert_eq!(s["big.exit"], "pass", "{}", summary(&run, "big.exit"));
}
