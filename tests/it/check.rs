//! `shipcheck check` against the fixture application: results, exit codes, gate flags.

use crate::common::*;

fn ids_with(run: &serde_json::Value, status: &str) -> Vec<String> {
    statuses(run)
        .into_iter()
        .filter(|(_, s)| s == status)
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn good_deployment_passes_every_automated_item() {
    let tmp = fixture_app();
    let out = check_app(&tmp, "good", &["--format", "json", "--allow-pending"]);
    let run = json(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(run["schema"], "shipcheck/run/v1");
    assert_eq!(run["environment"], "good");
    assert_eq!(run["packs"][0]["name"], "fixture");
    assert_eq!(run["packs"][0]["version"], "1.2.3");
    let s = statuses(&run);
    for (id, status) in &s {
        let expected = match id.as_str() {
            "manual.restore-drill" => "pending",
            "manual.optional-feature" | "manual.when-feature-on" => "not_applicable",
            _ => "pass",
        };
        assert_eq!(
            status,
            expected,
            "{id}: {}",
            serde_json::to_string_pretty(&run).unwrap()
        );
    }
    assert_eq!(s.len(), 23);
    assert_eq!(run["gate"]["go"], true);
    // Evidence shows what was read.
    let port = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "config.json-port")
        .unwrap();
    assert_eq!(port["evidence"]["query"], ".server.port");
    assert_eq!(port["evidence"]["observed"], 8443);
    assert!(
        port["evidence"]["source"]
            .as_str()
            .unwrap()
            .ends_with("good/config.json")
    );
    assert_eq!(port["evidence"]["location"]["line"], 2);
}

#[test]
fn bad_deployment_fails_exactly_its_defects() {
    let tmp = fixture_app();
    let out = check_app(&tmp, "bad", &["--format", "json"]);
    let run = json(&out);
    assert_eq!(out.status.code(), Some(1));
    let mut failed = ids_with(&run, "fail");
    failed.sort();
    assert_eq!(
        failed,
        [
            "config.env-node-env",
            "config.ini-sslmode",
            "config.json-port",
            "config.origins",
            "config.token-strength",
            "config.toml-tls",
            "config.yaml-replicas",
            "env.encryption-key",
            "env.session-secret",
            "files.backup-recent",
            "files.config-mode",
            "files.log-clean",
            "files.script-executable",
            "runtime.health-command",
        ]
    );
    assert_eq!(
        ids_with(&run, "error"),
        ["config.json5-db-host", "runtime.slow-command"]
    );
    assert_eq!(ids_with(&run, "warn"), ["runtime.advisory"]);
    assert_eq!(
        ids_with(&run, "pass"),
        ["env.api-token", "env.process-path", "runtime.disk"]
    );
    let results = run["results"].as_array().unwrap();
    let by = |id: &str| results.iter().find(|r| r["id"] == id).unwrap().clone();
    assert!(
        by("config.json5-db-host")["summary"]
            .as_str()
            .unwrap()
            .contains("missing env var \"APP_DB_HOST\"")
    );
    assert!(
        by("runtime.slow-command")["summary"]
            .as_str()
            .unwrap()
            .contains("did not finish within 1s")
    );
    assert!(
        by("env.session-secret")["summary"]
            .as_str()
            .unwrap()
            .contains("differs from secret `api_token`")
    );
    assert!(
        by("files.config-mode")["summary"]
            .as_str()
            .unwrap()
            .contains("0644")
    );
    // error counts as blocking, warn does not.
    let blocking: Vec<&str> = run["gate"]["blocking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(blocking.contains(&"fixture:runtime.slow-command"));
    assert!(!blocking.contains(&"fixture:runtime.advisory"));
    assert_eq!(run["counts"]["fail"], 14);
}

#[test]
fn fail_on_threshold_and_pending_policy_set_the_exit_code() {
    let tmp = fixture_app();
    let good = ["check", "--profile", "app/shipcheck.yaml", "--env", "good"];
    // A pending high-severity attestation blocks by default...
    let out = shipcheck(tmp.path(), &good);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("manual.restore-drill is not attested"));
    // ...but not when the threshold is above its severity.
    let out = shipcheck(
        tmp.path(),
        &[&good[..], &["--fail-on", "critical"]].concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // In bad, critical failures still block at --fail-on critical.
    let out = check_app(&tmp, "bad", &["--fail-on", "critical", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let run = json(&out);
    let blocking: Vec<&str> = run["gate"]["blocking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        blocking,
        [
            "fixture:config.toml-tls",
            "fixture:config.token-strength",
            "fixture:env.encryption-key"
        ]
    );
}

#[test]
fn human_report_groups_by_section_with_summary_and_score() {
    let tmp = fixture_app();
    let out = check_app(&tmp, "bad", &[]);
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "no colour when not a TTY");
    for section in [
        "Files [fixture]",
        "Config values [fixture]",
        "Environment [fixture]",
        "Runtime [fixture]",
    ] {
        assert!(text.contains(section), "{section} missing:\n{text}");
    }
    assert!(text.contains("✗ JSON port is 8443"));
    assert!(text.contains("expected equals 8443, found 8080"));
    assert!(text.contains("fix: Set server.port."));
    assert!(text.contains("? Slow command finishes in time"));
    assert!(text.contains("Summary: 3 passed · 14 failed · 1 warnings · 2 errors · 1 pending · 0 waived · 2 not applicable (23 items"));
    assert!(text.contains("Readiness: "));
    assert!(text.contains("Gate: NO-GO"));
}

#[test]
fn optional_items_are_enabled_by_the_profile() {
    let tmp = fixture_app();
    let app = tmp.path().join("app");
    let profile = std::fs::read_to_string(app.join("shipcheck.yaml")).unwrap();
    std::fs::write(
        app.join("enabled.yaml"),
        format!("{profile}vars: {{feature: \"on\"}}\nenable: [manual.optional-feature]\n"),
    )
    .unwrap();
    let out = shipcheck(
        tmp.path(),
        &["check", "--profile", "app/enabled.yaml", "--format", "json"],
    );
    let s = statuses(&json(&out));
    assert_eq!(s["manual.optional-feature"], "fail");
    assert_eq!(s["manual.when-feature-on"], "fail");
}

/// The terminal report lists what needs action and counts the rest; `-v` lists every item,
/// and `-q` prints only the verdict line.
#[test]
fn default_output_shows_what_needs_action_verbose_all_quiet_the_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("a.json"), r#"{"port": 8080}"#).unwrap();
    write_pack(
        dir,
        &[
            (
                "port-ok",
                "check:\n  config: {path: a.json, query: .port}\n  expect: [{equals: 8080}]",
            ),
            (
                "port-tls",
                "check:\n  config: {path: a.json, query: .port}\n  expect: [{equals: 8443}]",
            ),
        ],
        "",
    );
    let text = |extra: &[&str]| {
        let mut args = vec!["check", "--no-record"];
        args.extend_from_slice(extra);
        let out = shipcheck(dir, &args);
        assert_eq!(out.status.code(), Some(1));
        stdout(&out)
    };
    let default = text(&[]);
    assert!(default.contains("(port-tls · low) fail"), "{default}");
    assert!(!default.contains("(port-ok"), "{default}");
    assert!(
        default.contains("1 passing or not applicable items not listed (`-v` lists every item)")
    );
    let verbose = text(&["-v"]);
    assert!(verbose.contains("(port-ok · low)") && verbose.contains("(port-tls · low) fail"));
    let quiet = text(&["-q"]);
    assert_eq!(quiet.lines().count(), 1, "{quiet}");
    assert!(quiet.starts_with("Gate: NO-GO"), "{quiet}");
}

/// Colour: none when piped, CLICOLOR_FORCE forces it, NO_COLOR wins over both.
#[test]
fn colour_follows_no_color_and_clicolor_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_pack(dir, &[("ok", "check:\n  env: {name: PATH}")], "");
    let run = |env: &[(&str, &str)]| {
        let mut cmd = assert_cmd::Command::cargo_bin("shipcheck").unwrap();
        cmd.current_dir(dir)
            .args(["check", "--no-record", "-q"])
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    assert!(!run(&[]).contains('\x1b'), "piped: no colour");
    assert!(run(&[("CLICOLOR_FORCE", "1")]).contains('\x1b'), "forced");
    assert!(!run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\x1b'));
    assert!(!run(&[("CLICOLOR_FORCE", "0")]).contains('\x1b'));
}

/// The terminal report is laid out to the terminal's width (`$COLUMNS` when stdout is not a
/// terminal): long lines wrap between words, never inside an id or a status word, and
/// continue under their own indentation; with no width (a pipe), nothing wraps.
#[test]
fn terminal_width_wraps_between_words() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_pack(
        dir,
        &[(
            "a-rather-long-item-identifier-that-must-stay-whole",
            "check:\n  file: {path: no-such-file-with-a-long-name-to-push-the-line-past-sixty}",
        )],
        "",
    );
    let run = |columns: Option<&str>| {
        let mut cmd = assert_cmd::Command::cargo_bin("shipcheck").unwrap();
        cmd.current_dir(dir)
            .args(["check", "--no-record", "--color", "never"])
            .env_remove("COLUMNS");
        if let Some(c) = columns {
            cmd.env("COLUMNS", c);
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    let narrow = run(Some("60"));
    // Only a single word longer than the width (a path) stands past it, never split.
    assert!(
        narrow
            .lines()
            .all(|l| l.chars().count() <= 60 || !l.trim().contains(' ')),
        "{narrow}"
    );
    assert!(
        narrow.contains("/no-such-file-with-a-long-name-to-push-the-line-past-sixty"),
        "paths stay whole: {narrow}"
    );
    assert!(
        narrow.contains("a-rather-long-item-identifier-that-must-stay-whole"),
        "{narrow}"
    );
    assert!(
        narrow
            .lines()
            .any(|l| l.trim() == "fail" || l.ends_with(" fail")),
        "{narrow}"
    );
    let piped = run(None);
    assert!(
        piped.lines().any(|l| l.chars().count() > 60),
        "no width, no wrapping: {piped}"
    );
}

/// The `archive` probe reads backups made by the real `tar` (gzip, zstd when the machine
/// has it, plain): what they hold passes or fails, a corrupt or missing backup fails, and one
/// that cannot be read is `error`, never a pass.
#[test]
fn backups_are_listed_in_process_and_judged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let state = dir.join("state");
    std::fs::create_dir_all(state.join("credentials")).unwrap();
    std::fs::write(state.join("secureclaw.json"), "{}").unwrap();
    std::fs::write(state.join("credentials/creds.json"), "{}").unwrap();
    for d in ["full", "partial", "corrupt", "unreadable", "plain"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let tar = |args: &[&str]| {
        let out = std::process::Command::new("tar")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    tar(&["-czf", "full/b-1.tar.gz", "state"]);
    tar(&["-czf", "partial/b-1.tar.gz", "state/secureclaw.json"]);
    tar(&["-cf", "plain/b-1.tar", "state"]);
    let gz = std::fs::read(dir.join("full/b-1.tar.gz")).unwrap();
    std::fs::write(dir.join("corrupt/b-1.tar.gz"), &gz[..gz.len() - 20]).unwrap();
    // A folder where the archive should be: it opens, but does not read.
    std::fs::create_dir_all(dir.join("unreadable/b-1.tar.gz")).unwrap();
    let expect =
        "expect: [{matches: '(?m)(^|/)secureclaw\\.json$'}, {matches: '(?m)(^|/)credentials/'}]";
    let item = |folder: &str, name: &str| {
        format!("check:\n  archive: {{path: \"{folder}/{name}\"}}\n  {expect}")
    };
    let items = [
        ("full", item("full", "*.tar.gz")),
        ("partial", item("partial", "*.tar.gz")),
        ("corrupt", item("corrupt", "*.tar.gz")),
        ("unreadable", item("unreadable", "*.tar.gz")),
        ("plain", item("plain", "b-1.tar")),
        ("none", item("full", "*.tar.zst")),
    ];
    let items: Vec<(&str, &str)> = items.iter().map(|(i, b)| (*i, b.as_str())).collect();
    write_pack(dir, &items, "");
    let out = shipcheck(dir, &["check", "--no-record", "--format", "json"]);
    let run = json(&out);
    let st = statuses(&run);
    assert_eq!(st["full"], "pass", "{}", stdout(&out));
    assert_eq!(st["plain"], "pass");
    assert_eq!(st["partial"], "fail");
    assert_eq!(st["corrupt"], "fail");
    assert_eq!(st["none"], "fail");
    assert_eq!(st["unreadable"], "error");
    let said = |id: &str| summary(&run, id);
    assert!(
        said("corrupt").contains("does not read as a tar"),
        "{}",
        said("corrupt")
    );
    assert!(
        said("unreadable").contains("cannot read"),
        "{}",
        said("unreadable")
    );
    assert!(said("none").contains("nothing matches"), "{}", said("none"));
}

/// Conditions over several values hold for all of them: a `pending_when` excuses a failure
/// only when every output says "not yet due", and a `jq:` matcher passes only when every
/// output is true; a judged query with several values is an error; a `when` leaves an item
/// out only when no output is true.
#[test]
fn conditions_over_several_values_hold_for_all() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("s.json"),
        r#"{"snapshots": [{"age": 1}, {"age": 999}], "listeners": [{"tls": true}, {"tls": false}]}"#,
    )
    .unwrap();
    write_pack(
        dir,
        &[
            (
                "snapshots.fresh",
                r#"check:
  config: {path: s.json, query: .snapshots}
  expect: [{jq: '.[].age < 10'}]
  pending_when: {jq: '.[].age < 5', reason: the first snapshot is not written yet}"#,
            ),
            (
                "when.partly",
                "when: 'false, true'\ncheck: {file: {path: missing.txt}}",
            ),
            (
                "listeners.tls",
                "check:\n  config: {path: s.json, query: '.listeners[].tls'}\n  expect: [{equals: true}]",
            ),
        ],
        "",
    );
    let run = json(&shipcheck(
        dir,
        &["check", "--format", "json", "--no-record"],
    ));
    let s = statuses(&run);
    assert_eq!(
        s["snapshots.fresh"],
        "fail",
        "{}",
        summary(&run, "snapshots.fresh")
    );
    assert_eq!(
        s["listeners.tls"],
        "error",
        "{}",
        summary(&run, "listeners.tls")
    );
    assert!(summary(&run, "listeners.tls").contains("gives 2 values"));
    assert_eq!(
        s["when.partly"], "fail",
        "a `when` partly true applies the item"
    );
}

/// A backup folder's newest entry is a backup: a hidden file written a moment ago (a lock,
/// a dump in progress) does not make stale backups fresh, and `entries_named` says which
/// entries are backups for the age as for the count.
#[test]
fn the_newest_backup_is_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let backups = dir.join("backups");
    std::fs::create_dir(&backups).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
    for name in ["db-1.dump", "db-2.dump"] {
        let f = backups.join(name);
        std::fs::write(&f, "x").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    std::fs::write(backups.join(".lock"), "").unwrap();
    std::fs::write(backups.join("notes.txt"), "").unwrap();
    write_pack(
        dir,
        &[
            (
                "backups.fresh",
                "check: {file: {path: backups, type: dir, newest_max_age: 26h, entries_named: '\\.dump$'}}",
            ),
            (
                "backups.any-fresh",
                "check: {file: {path: backups, type: dir, newest_max_age: 26h}}",
            ),
            (
                "backups.kept",
                "check: {file: {path: backups, type: dir, min_entries: 4}}",
            ),
        ],
        "",
    );
    let run = json(&shipcheck(
        dir,
        &["check", "--format", "json", "--no-record"],
    ));
    let s = statuses(&run);
    assert_eq!(
        s["backups.fresh"],
        "fail",
        "{}",
        summary(&run, "backups.fresh")
    );
    assert!(summary(&run, "backups.fresh").contains("db-"));
    // Three entries, the lock aside.
    assert_eq!(
        s["backups.kept"],
        "fail",
        "{}",
        summary(&run, "backups.kept")
    );
    // Without a name, only hidden entries are left out: notes.txt is the newest.
    assert_eq!(
        s["backups.any-fresh"],
        "pass",
        "{}",
        summary(&run, "backups.any-fresh")
    );
    std::fs::remove_file(backups.join("notes.txt")).unwrap();
    let run = json(&shipcheck(
        dir,
        &["check", "--format", "json", "--no-record"],
    ));
    assert_eq!(
        statuses(&run)["backups.any-fresh"],
        "fail",
        "{}",
        summary(&run, "backups.any-fresh")
    );
}
