//! `init`, `pack lint|list|show`, `schema`, waivers, and the bundled example.

use crate::common::*;

#[test]
fn init_writes_a_profile_that_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = shipcheck(tmp.path(), &["init", "--pack", "secureclaw"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(tmp.path().join("shipcheck.yaml")).unwrap();
    assert!(text.contains("- secureclaw"));
    assert!(text.contains("# SecureClaw config file"), "{text}");
    assert!(text.contains("waivers: []"));
    // Refuses to overwrite.
    let again = shipcheck(tmp.path(), &["init", "--pack", "secureclaw"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"));
    // The written profile parses and runs (items error or fail: nothing is deployed here).
    let run = shipcheck(tmp.path(), &["check", "--format", "json"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let run = json(&run);
    assert_eq!(run["packs"][0]["name"], "secureclaw");
    assert_ne!(
        run["counts"]["error"], 0,
        "missing files are errors, not passes"
    );
    // The pack's endpoints are offered, commented; uncommented, the profile still loads.
    assert!(
        text.contains("# endpoints:\n#   gateway: {url: \"${gateway_url}\"}"),
        "{text}"
    );
    let uncommented = text
        .replace("# endpoints:", "endpoints:")
        .replace("#   gateway: {url:", "  gateway: {url:");
    std::fs::write(tmp.path().join("shipcheck.yaml"), uncommented).unwrap();
    let plan = shipcheck(tmp.path(), &["plan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
}

#[test]
fn lint_list_and_show() {
    let out = shipcheck(&fixtures(), &["pack", "lint", "app/pack.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("ok: app/pack.yaml (fixture 1.2.3, 5 sections, 23 items)"));
    let out = shipcheck(&fixtures(), &["pack", "list"]);
    assert!(stdout(&out).starts_with("secureclaw"), "{}", stdout(&out));
    for pack in ["ocmt", "clasp", "rack-gateway", "web-service"] {
        assert!(stdout(&out).contains(pack), "{}", stdout(&out));
    }
    let out = shipcheck(&fixtures(), &["pack", "show", "clasp"]);
    let text = stdout(&out);
    assert!(
        text.contains("includes: web-service (without http.health, http.rate-limit, http.auth)"),
        "{text}"
    );
    assert!(
        text.contains("relay.command-line-valid") && text.contains("relay_source"),
        "{text}"
    );
    let out = shipcheck(&fixtures(), &["pack", "show", "secureclaw"]);
    let text = stdout(&out);
    assert!(
        text.contains("gateway.auth.token-strength") && text.contains("critical"),
        "{text}"
    );
    assert!(text.contains("config_path"), "{text}");
    let out = shipcheck(&fixtures(), &["pack", "show", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn committed_schemas_match_the_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for kind in ["pack", "profile"] {
        let out = shipcheck(root, &["schema", kind]);
        let generated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let committed: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("schema/{kind}-v1.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            generated, committed,
            "schema/{kind}-v1.json is stale: run `shipcheck schema {kind} > schema/{kind}-v1.json`"
        );
    }
}

#[test]
fn waivers_waive_expire_and_report_unused() {
    let tmp = fixture_app();
    let app = tmp.path().join("app");
    let profile = std::fs::read_to_string(app.join("shipcheck.yaml")).unwrap();
    std::fs::write(
        app.join("waived.yaml"),
        format!(
            "{profile}waivers:\n  - {{item: config.json-port, reason: port migration, owner: ops, expires: 2999-01-01}}\n  - {{item: 'fixture:config.yaml-replicas', reason: capacity, owner: ops, expires: 2020-01-01}}\n  - {{item: env.api-token, reason: not needed, owner: ops, expires: 2999-01-01}}\n  - {{item: config.ini-sslmode, reason: staging only, owner: ops, expires: 2999-01-01, environments: [staging]}}\n"
        ),
    )
    .unwrap();
    let out = shipcheck(
        tmp.path(),
        &[
            "check",
            "--profile",
            "app/waived.yaml",
            "--env",
            "bad",
            "--format",
            "json",
        ],
    );
    let run = json(&out);
    let s = statuses(&run);
    assert_eq!(s["config.json-port"], "waived");
    assert_eq!(
        s["config.yaml-replicas"], "fail",
        "expired waiver stops waiving"
    );
    assert_eq!(
        s["config.ini-sslmode"], "fail",
        "waiver limited to another environment"
    );
    let port = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "config.json-port")
        .unwrap();
    assert_eq!(port["waiver"]["underlying"], "fail");
    assert_eq!(port["waiver"]["owner"], "ops");
    let unused: Vec<(String, String)> = run["unused_waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["item"].as_str().unwrap().to_string(),
                w["why_unused"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // (A waiver for an item no pack has is an error when the profile loads: see
    // malformed::profile_mistakes_are_caught_at_load.)
    assert_eq!(unused.len(), 2, "{unused:?}");
    assert!(unused[0].0 == "fixture:config.yaml-replicas" && unused[0].1.contains("expired"));
    assert!(unused[1].0 == "env.api-token" && unused[1].1.contains("does not need it"));
    let out = shipcheck(
        tmp.path(),
        &["check", "--profile", "app/waived.yaml", "--env", "bad"],
    );
    assert!(stdout(&out).contains("waiver for `env.api-token` unused"));
}

#[test]
fn bundled_example_runs_end_to_end() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = shipcheck(
        root,
        &[
            "check",
            "--profile",
            "examples/demo/shipcheck.yaml",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let s = statuses(&json(&out));
    assert_eq!(s["gateway.auth.token-strength"], "pass");
    assert_eq!(s["gateway.auth.doc-token-key"], "fail");
    assert_eq!(s["network.control-ui-origins"], "fail");
    assert_eq!(s["network.trusted-proxies-literal"], "waived");
    assert_eq!(s["network.no-insecure-auth-warnings"], "fail");
    // The operator's backup script is never run by shipcheck (it would make a backup): the
    // verification is a manual item.
    assert_eq!(s["backups.script-runs"], "pending");
    assert_eq!(s["backups.restore-tested"], "pending");
    let text = stdout(&out);
    for secret in [
        "9c1e4b7f2a8d6e3c",
        "default-insecure-token",
        "4f8a2c6e0b9d1f3a",
    ] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    let out = shipcheck(
        root,
        &[
            "check",
            "--profile",
            "examples/demo/shipcheck.yaml",
            "--env",
            "staging",
            "--format",
            "json",
        ],
    );
    let s = statuses(&json(&out));
    assert_eq!(s["gateway.auth.doc-token-key"], "pass");
    assert_eq!(s["network.control-ui-origins"], "pass");
}

#[test]
fn coverage_maps_source_lines_to_items() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = shipcheck(
        root,
        &["pack", "coverage", "secureclaw", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "every line is covered");
    let cov = json(&out);
    assert_eq!(cov["pack"], "secureclaw");
    let items = cov["items"].as_u64().unwrap();
    let automated = cov["automated"].as_u64().unwrap();
    assert_eq!(
        cov["automated_percent"].as_f64().unwrap(),
        (1000.0 * automated as f64 / items as f64).round() / 10.0
    );
    let doc = &cov["documents"][0];
    assert_eq!(doc["document"], "000_7c4f6abc7f210c31.txt");
    let lines = doc["lines"].as_array().unwrap();
    assert!(lines.len() > 100, "{}", lines.len());
    let line = |text: &str| {
        lines
            .iter()
            .find(|l| l["text"] == text)
            .unwrap_or_else(|| panic!("no source line `{text}`"))
    };
    assert_eq!(
        line("- [ ] Token is at least 32 characters")["covered_by"],
        serde_json::json!([
            "gateway.auth.token-strength",
            "gateway.auth.token-env-strength"
        ])
    );
    assert_eq!(
        line("- [ ] Token is at least 32 characters")["section"],
        "1. Change Default Gateway Token"
    );
    assert_eq!(
        line("- [ ] Old token is invalidated")["covered_by"],
        serde_json::json!(["live.old-token-refused"])
    );
    // The final checklist repeats earlier lines: one item covers several.
    assert_eq!(
        line("- [ ] TLS enabled or reverse proxy configured")["covered_by"],
        serde_json::json!([
            "tls.enabled-or-proxy",
            "tls.doc-cert-keys",
            "tls.cert-file",
            "live.gateway-port-closed"
        ])
    );
    assert_eq!(
        doc["covered"].as_u64().unwrap() + doc["uncovered"].as_u64().unwrap(),
        lines.len() as u64
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let bin = assert_cmd::cargo::cargo_bin("shipcheck");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' pack coverage secureclaw | head -n 1",
            bin.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every checklist line, bullet and numbered step of the five source documents, and every
/// row of systems.md's tables of settings and checks, is covered by an item of its system's
/// built-in pack (or, for a row, the pack says why it is not an item).
#[test]
fn every_source_line_of_every_system_pack_is_covered() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut documents = Vec::new();
    let mut sections = std::collections::BTreeSet::new();
    for pack in ["secureclaw", "ocmt", "clasp", "rack-gateway"] {
        let out = shipcheck(root, &["pack", "coverage", pack, "--format", "json"]);
        let cov = json(&out);
        for doc in cov["documents"].as_array().unwrap() {
            let uncovered: Vec<String> = doc["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["covered_by"].as_array().unwrap().is_empty())
                .map(|l| format!("{}:{} {}", doc["document"], l["line"], l["text"]))
                .collect();
            assert!(uncovered.is_empty(), "{pack}: {uncovered:#?}");
            assert!(doc["covered"].as_u64().unwrap() > 30, "{pack}: {doc}");
            documents.push(doc["document"].as_str().unwrap().to_string());
            if doc["document"] == "systems.md" {
                for l in doc["lines"].as_array().unwrap() {
                    sections.insert(l["section"].as_str().unwrap().to_string());
                }
            }
        }
        assert_eq!(
            cov["stale_rows"],
            serde_json::json!([]),
            "{pack}: quoted rows that match no row"
        );
        assert_eq!(out.status.code(), Some(0), "{pack}");
    }
    documents.sort();
    assert_eq!(
        documents,
        [
            "000_7c4f6abc7f210c31.txt",
            "001_87700b7fa0c5236d.txt",
            "002_c51f9d19346a0fdb.txt",
            "003_5361eeac42c4ffea.txt",
            "004_a5d6f5cd15417cc2.txt",
            "systems.md",
            "systems.md",
            "systems.md",
            "systems.md"
        ]
    );
    // Every table of systems.md about the four systems (their settings and the seeds'
    // checks) is traced by a pack: the tables outside these sections are the document's
    // introduction and its list of upstream issues.
    let notes = std::fs::read_to_string(root.join("packs/sources/systems.md")).unwrap();
    let mut tables = std::collections::BTreeSet::new();
    let mut section = String::new();
    for line in notes.lines() {
        if let Some(h) = line.strip_prefix('#') {
            section = h.trim_start_matches('#').trim().to_string();
        } else if line.starts_with("| ") && section.starts_with(|c: char| c.is_ascii_digit()) {
            tables.insert(section.clone());
        }
    }
    assert_eq!(
        tables, sections,
        "tables of systems.md not traced by any pack"
    );
}

#[test]
fn plan_shows_each_decision_and_phase_selects_items() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let profile = "examples/demo/shipcheck.yaml";
    let out = shipcheck(root, &["plan", "--profile", profile, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = json(&out);
    assert_eq!(plan["environment"], "production");
    let items = plan["items"].as_array().unwrap();
    let decision = |id: &str| {
        items
            .iter()
            .find(|i| i["item"] == id)
            .unwrap_or_else(|| panic!("{id} not in the plan"))
    };
    assert_eq!(
        decision("secureclaw:gateway.auth.token-strength")["decision"],
        "run"
    );
    let manual = decision("secureclaw:backups.restore-tested");
    assert_eq!(manual["decision"], "attest");
    assert!(manual["reason"].as_str().unwrap().contains("may attest"));
    let skipped: Vec<&serde_json::Value> = items
        .iter()
        .filter(|i| i["decision"] == "not_applicable")
        .collect();
    assert!(
        !skipped.is_empty(),
        "the offline example skips its live items"
    );
    assert!(
        skipped
            .iter()
            .all(|i| !i["reason"].as_str().unwrap().is_empty())
    );

    // A phase plans the items due by it (its own and the earlier phases'), and
    // `check --phase` runs exactly those.
    let order = [
        "pre-deploy",
        "post-deploy-immediate",
        "first-hour",
        "first-day",
        "first-week",
        "periodic",
    ];
    let rank = |p: &str| order.iter().position(|o| *o == p).unwrap();
    let phases: std::collections::BTreeSet<&str> =
        items.iter().map(|i| i["phase"].as_str().unwrap()).collect();
    assert!(phases.len() > 1, "the example spans phases: {phases:?}");
    for phase in phases {
        let out = shipcheck(
            root,
            &[
                "plan",
                "--profile",
                profile,
                "--phase",
                phase,
                "--format",
                "json",
            ],
        );
        let planned: Vec<String> = json(&out)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item"].as_str().unwrap().to_string())
            .collect();
        assert!(!planned.is_empty());
        let out = shipcheck(
            root,
            &[
                "check",
                "--profile",
                profile,
                "--phase",
                phase,
                "--format",
                "json",
                "--no-record",
            ],
        );
        let run = json(&out);
        let results = run["results"].as_array().unwrap();
        assert!(
            results
                .iter()
                .all(|r| rank(r["phase"].as_str().unwrap()) <= rank(phase)),
            "{phase}"
        );
        assert!(results.iter().any(|r| r["phase"] == phase), "{phase}");
        let ran: Vec<String> = results
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["pack"].as_str().unwrap(),
                    r["id"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            ran, planned,
            "check --phase {phase} runs what plan --phase lists"
        );
    }

    // A dry run prints the plan and checks nothing.
    let out = shipcheck(root, &["check", "--profile", profile, "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("secureclaw:backups.restore-tested"));
    assert!(stdout(&out).contains("items: "));

    // A phase that does not exist is a usage error that names the phases.
    let out = shipcheck(
        root,
        &["check", "--profile", profile, "--phase", "first-month"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("first-week"), "{}", stderr(&out));
}

/// `--no-exec` (or `no_exec: true` in the profile) runs no program: items that would are
/// not_applicable with the reason, and the program really does not run.
#[test]
fn no_exec_runs_no_program() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_pack(
        dir,
        &[
            (
                "runs.touch",
                r#"check:
  command: {argv: [touch, ran.marker]}"#,
            ),
            (
                "reads.file",
                r#"check:
  file: {path: pack.yaml}"#,
            ),
        ],
        "",
    );
    let run = |args: &[&str]| {
        let mut all = vec!["check", "--format", "json", "--no-record"];
        all.extend_from_slice(args);
        statuses(&json(&shipcheck(dir, &all)))
    };
    let s = run(&["--no-exec"]);
    assert_eq!(s["runs.touch"], "not_applicable");
    assert_eq!(s["reads.file"], "pass");
    assert!(
        !dir.join("ran.marker").exists(),
        "--no-exec ran the program"
    );
    let out = shipcheck(dir, &["plan", "--no-exec"]);
    assert!(
        stdout(&out).contains("programs are off"),
        "{}",
        stdout(&out)
    );

    // The same from the profile.
    std::fs::write(
        dir.join("shipcheck.yaml"),
        "packs: [pack.yaml]\nno_exec: true\n",
    )
    .unwrap();
    assert_eq!(run(&[])["runs.touch"], "not_applicable");
    assert!(
        !dir.join("ran.marker").exists(),
        "no_exec: true ran the program"
    );

    // Without either, the program runs.
    std::fs::write(dir.join("shipcheck.yaml"), "packs: [pack.yaml]\n").unwrap();
    assert_eq!(run(&[])["runs.touch"], "pass");
    assert!(dir.join("ran.marker").exists());
}

/// `shipcheck ... | head` ends quietly: a closed stdout drops the rest of the output, the
/// exit code is the gate's, nothing is on stderr,
/// without SIGPIPE (which stays ignored, so a closed network connection is never a signal
/// that kills the run).
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    // The JSON report of the bundled example is larger than a pipe's buffer (64 KiB), so
    // the program is still writing when the reader goes away.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shipcheck"))
        .current_dir(root)
        .args([
            "check",
            "--profile",
            "examples/demo/shipcheck.yaml",
            "--format",
            "json",
            "--no-record",
        ])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), None, "killed by a signal");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the gate's own exit code (the example is NO-GO), as if the output had been read"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The profile is found as git and cargo find theirs: the nearest `shipcheck.yaml` in this
/// folder or one above it; `SHIPCHECK_PROFILE` and `SHIPCHECK_ENV` stand for the options;
/// when none is found, the error says where it looked.
#[test]
fn the_profile_is_found_upward_or_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(
        root.join("shipcheck.yaml"),
        "packs: [web-service]\nvars: {host: example.test}\nenvironments:\n  production: {vars: {}}\n  staging: {vars: {}}\n",
    )
    .unwrap();
    let deep = root.join("src/deeper");
    std::fs::create_dir_all(&deep).unwrap();
    let out = shipcheck(&deep, &["plan", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["environment"], "production");
    let env_run = |vars: &[(&str, &str)], cwd: &std::path::Path| {
        let mut cmd = assert_cmd::Command::cargo_bin("shipcheck").unwrap();
        cmd.current_dir(cwd).env("NO_COLOR", "1");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.args(["plan", "--format", "json"]).output().unwrap()
    };
    let out = env_run(&[("SHIPCHECK_ENV", "staging")], &deep);
    assert_eq!(json(&out)["environment"], "staging", "{}", stderr(&out));
    let elsewhere = tempfile::tempdir().unwrap();
    let profile = root.join("shipcheck.yaml").display().to_string();
    let out = env_run(&[("SHIPCHECK_PROFILE", &profile)], elsewhere.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = shipcheck(elsewhere.path(), &["plan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no shipcheck.yaml in"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("SHIPCHECK_PROFILE"),
        "{}",
        stderr(&out)
    );
}

/// Shell completions load in a real shell, and the man page renders with groff.
#[test]
fn completions_and_man_page_work() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = shipcheck(root, &["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), &out.stdout).unwrap();
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p shipcheck",
            script.path().display()
        ))
        .output()
        .unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    assert!(String::from_utf8_lossy(&loaded.stdout).contains("_shipcheck"));
    assert!(stdout(&out).contains("plan") && stdout(&out).contains("completions"));
    assert!(stdout(&shipcheck(root, &["completions", "zsh"])).starts_with("#compdef shipcheck"));
    assert!(stdout(&shipcheck(root, &["completions", "fish"])).contains("complete -c shipcheck"));
    let man = shipcheck(root, &["man"]);
    assert_eq!(man.status.code(), Some(0));
    let page = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(page.path(), &man.stdout).unwrap();
    let rendered = std::process::Command::new("groff")
        .args(["-man", "-Tascii", "-P-cbou", "-ww"])
        .arg(page.path())
        .output()
        .expect("groff (scripts/install-test-deps.sh installs groff-base)");
    assert!(rendered.status.success());
    assert!(
        rendered.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        text.contains("NAME") && text.contains("shipcheck"),
        "{text}"
    );
    assert!(text.contains("plan"), "{text}");
}

/// README's table of built-in packs matches the packs: items as `pack list` counts them,
/// and automated ones (items without `attest:`), so the counts cannot drift.
#[test]
fn readme_pack_table_matches_the_packs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let listed = stdout(&shipcheck(root, &["pack", "list"]));
    for line in listed.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (name, items) = (words[0], words[2]);
        let yaml = std::fs::read_to_string(root.join(format!("packs/{name}.yaml"))).unwrap();
        let attested = yaml
            .lines()
            .filter(|l| l.starts_with("        attest:"))
            .count();
        let automated = items.parse::<usize>().unwrap() - attested;
        let row = format!("| `{name}` | {items} | {automated} |");
        assert!(readme.contains(&row), "README's pack table needs `{row}`");
    }
}

/// Every `shipcheck ...` command the README and docs/*.md show (code blocks and inline
/// code, synopses included) parses with the CLI as built: docs cannot drift from the flags.
/// Placeholders take a sample value; `a|b` takes `a`; `[...]` is included. A bare command
/// name (`shipcheck probe`) must have working `--help`.
#[test]
fn every_command_in_the_docs_parses() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sample = |word: &str| -> Option<&'static str> {
        Some(match word {
            "RUN" => "1",
            "A" => "1",
            "B" => "2",
            "E" => "production",
            "PHASE" => "pre-deploy",
            "SEV" => "high",
            "N" => "1",
            "F" => "json",
            "ITEM" => "http.hsts",
            "NAME" => "web-service",
            "ROLE" => "security",
            "FILE" => "pack.yaml",
            "KEY" => "id_ed25519",
            "URL" => "https://app.example.test/",
            "TEXT" | "R" | "O" => "text",
            "DATE" => "2099-01-01",
            "VERSION" => "1.4.2",
            "PROFILE" => "shipcheck.yaml",
            "PATH" => "out.txt",
            "TARGET" => "example.test:443",
            "KIND" => "tls",
            "NAME:PORT:IP" => "app.example.test:443:127.0.0.1",
            _ => return None,
        })
    };
    let mut spans = Vec::new();
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut in_code = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                continue;
            }
            let t = line.trim().trim_start_matches("$ ");
            if in_code && t.starts_with("shipcheck ") {
                // The shell's part ends at a comment, a redirection or a pipe.
                let command = t
                    .split(" #")
                    .next()
                    .and_then(|c| c.split(" > ").next())
                    .and_then(|c| c.split(" | ").next())
                    .unwrap_or(t)
                    .trim()
                    .to_string();
                spans.push((file.clone(), command));
            }
        }
        let parts: Vec<&str> = text.split('`').collect();
        for (i, part) in parts.iter().enumerate() {
            if i % 2 == 1 && part.starts_with("shipcheck ") {
                spans.push((file.clone(), part.replace('\n', " ")));
            }
        }
    }
    assert!(spans.len() > 30, "{}", spans.len());
    let mut broken = Vec::new();
    for (file, span) in &spans {
        let mut args = Vec::new();
        let mut unknown = None;
        // `host[:port]`: an optional part glued to a word stays glued.
        let mut flat = String::new();
        let mut glued = false;
        for c in span.replace("\\|", "|").chars() {
            match c {
                '[' if flat.ends_with(|p: char| !p.is_whitespace()) && !flat.is_empty() => {
                    glued = true;
                }
                ']' if glued => glued = false,
                '[' | ']' => flat.push(' '),
                c => flat.push(c),
            }
        }
        for word in flat.split_whitespace().skip(1) {
            let word = word.trim_end_matches("...").trim_end_matches('…');
            let word = word.split('|').next().unwrap_or(word);
            if word.is_empty() {
                continue;
            }
            let caps = |w: &str| {
                w.chars().any(|c| c.is_ascii_uppercase())
                    && w.chars()
                        .all(|c| c.is_ascii_uppercase() || c == ':' || c == '_')
            };
            let value = match word.split_once('=') {
                Some((k, v)) if caps(k) && caps(v) => {
                    format!("{}={}", sample(k).unwrap_or(k), sample(v).unwrap_or(v))
                }
                _ if caps(word) => match sample(word) {
                    Some(v) => v.to_string(),
                    None => {
                        unknown = Some(word.to_string());
                        word.to_string()
                    }
                },
                _ => word.to_string(),
            };
            args.push(value);
        }
        if let Some(w) = unknown {
            broken.push(format!(
                "{}: `{span}`: no sample value for placeholder {w}",
                file.display()
            ));
            continue;
        }
        let run = |extra: &[&str]| {
            assert_cmd::Command::cargo_bin("shipcheck")
                .unwrap()
                .current_dir(root)
                .env("SHIPCHECK_PARSE_ONLY", "1")
                .args(&args)
                .args(extra)
                .output()
                .unwrap()
        };
        let out = run(&[]);
        let ok = out.status.success() || (args.len() <= 2 && run(&["--help"]).status.success());
        if !ok {
            broken.push(format!(
                "{}: `{span}` → {args:?}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "commands in the docs that do not parse:\n{}",
        broken.join("\n")
    );
}
