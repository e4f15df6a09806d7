//! `shipcheck pack import` (issue #18) on checklists laid out unlike the seeds (a table,
//! nested lists with code inside items, headings without checkboxes): the pack lints, covers
//! every line, proposes checks that do not run until reviewed, and `--merge` keeps hand
//! edits byte for byte.

use std::path::{Path, PathBuf};

use crate::common::*;

fn checklist(name: &str, dir: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/checklists")
        .join(name);
    let to = dir.join(name);
    std::fs::copy(from, &to).unwrap();
    to
}

fn import(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["pack", "import"];
    all.extend_from_slice(args);
    shipcheck(dir, &all)
}

fn pack_value(path: &Path) -> serde_json::Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn item<'a>(pack: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    pack["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap())
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id}"))
}

#[test]
fn checklists_of_other_layouts_import_lint_and_cover_every_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (doc, items) in [("tables.md", 4), ("nested.md", 8), ("headings.md", 3)] {
        checklist(doc, dir);
        let pack = format!("{}.yaml", doc.trim_end_matches(".md"));
        let out = import(dir, &[doc, "-o", &pack]);
        assert_eq!(out.status.code(), Some(0), "{doc}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("imported {items} items")),
            "{doc}: {}",
            stderr(&out)
        );
        let lint = shipcheck(dir, &["pack", "lint", &pack]);
        assert_eq!(lint.status.code(), Some(0), "{doc}: {}", stderr(&lint));
        let cov = shipcheck(dir, &["pack", "coverage", &pack, "--format", "json"]);
        assert_eq!(cov.status.code(), Some(0), "{doc}: {}", stdout(&cov));
        // Re-importing the same document gives the same pack, ids included.
        let again = import(dir, &[doc]);
        assert_eq!(
            stdout(&again),
            std::fs::read_to_string(dir.join(&pack)).unwrap()
        );
    }
    // The table: one item per row, its cells read for the owner and the timing.
    let t = pack_value(&dir.join("tables.yaml"));
    let tls = item(
        &t,
        "launch-readiness.tls-certificate-valid-for-30-days-openssl-s",
    );
    assert_eq!(
        tls["check"]["tls"],
        serde_json::json!({"host": "app.example.com", "port": "443"})
    );
    assert_eq!(tls["review"], true);
    assert_eq!(tls["severity"], "high");
    let err = item(&t, "launch-readiness.error-rate-below-1-on-the-dashboard");
    assert_eq!(
        (err["phase"].as_str(), err["attest"]["roles"][0].as_str()),
        (Some("first-hour"), Some("operations"))
    );
    let access = item(&t, "launch-readiness.access-reviews-filed");
    assert_eq!(
        (
            access["phase"].as_str(),
            access["attest"]["roles"][0].as_str()
        ),
        (Some("periodic"), Some("compliance"))
    );
    // Nested lists: every level is an item; code inside an item is its command.
    let n = pack_value(&dir.join("nested.yaml"));
    assert_eq!(
        item(&n, "before-deploy.config-file-is-private")["check"]["file"],
        serde_json::json!({"path": "/etc/app/config.yaml", "mode_max": "0600"})
    );
    assert_eq!(
        item(&n, "before-deploy.pg-isready-h-db-internal-p-5432-succeeds")["check"]["command"]["argv"]
            [0],
        "pg_isready"
    );
    let smoke = item(
        &n,
        "after-deploy.health-endpoint-answers-curl-s-https-app-example",
    );
    assert_eq!(smoke["check"]["http"]["body_matches"], "ok");
    assert_eq!(smoke["phase"], "post-deploy-immediate");
    // Headings without checkboxes: each heading is an item; the port must be closed.
    let h = pack_value(&dir.join("headings.yaml"));
    let fw = item(
        &h,
        "firewall-closes-the-database-port.firewall-closes-the-database-port",
    );
    assert_eq!(fw["check"]["tcp"]["expect_state"], "closed");
    let rotate = item(
        &h,
        "monthly-rotate-the-api-keys.monthly-rotate-the-api-keys",
    );
    assert_eq!(rotate["phase"], "periodic");
    // The guesses are marked for review in the text.
    let text = std::fs::read_to_string(dir.join("tables.yaml")).unwrap();
    assert!(
        text.contains("# guessed: severity from \"security\""),
        "{text}"
    );
    assert!(
        text.contains("# proposed from `openssl s_client -connect app.example.com:443`"),
        "{text}"
    );
}

#[test]
fn a_proposed_check_does_not_run_until_reviewed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("list.md"),
        "# Host\n\n## Files\n\n- [ ] Config is private: `stat -c %a app.conf`\n- [ ] Someone read the runbook\n",
    )
    .unwrap();
    std::fs::write(dir.join("app.conf"), "x").unwrap();
    chmod(&dir.join("app.conf"), 0o644);
    assert_eq!(
        import(dir, &["list.md", "-o", "pack.yaml"]).status.code(),
        Some(0)
    );
    std::fs::write(
        dir.join("shipcheck.yaml"),
        "packs: [pack.yaml]\nenvironment: prod\nenvironments: {prod: {}}\n",
    )
    .unwrap();
    let run = |dir: &Path| {
        let out = shipcheck_db(
            dir,
            &dir.join("l.db").display().to_string(),
            &[],
            &["check", "--format", "json", "--no-record"],
        );
        json(&out)
    };
    let r = run(dir);
    let id = "files.config-is-private-stat-c-a-app-conf";
    assert_eq!(status(&r, id), "not_applicable", "{r:#}");
    assert!(
        summary(&r, id).contains("not yet reviewed"),
        "{}",
        summary(&r, id)
    );
    // Reviewed: the line removed, the check runs (and finds the file readable by others).
    let text = std::fs::read_to_string(dir.join("pack.yaml")).unwrap();
    let reviewed: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("review: true"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("pack.yaml"), reviewed).unwrap();
    assert_eq!(status(&run(dir), id), "fail");
}

fn status(run: &serde_json::Value, id: &str) -> String {
    statuses(run)
        .into_iter()
        .find(|(k, _)| k.ends_with(id))
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[test]
fn merge_keeps_hand_edits_adds_new_lines_and_lists_removed_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let doc = checklist("nested.md", dir);
    assert_eq!(
        import(dir, &["nested.md", "-o", "pack.yaml"]).status.code(),
        Some(0)
    );
    // A person reviews the pack: a severity raised, a comment added.
    let path = dir.join("pack.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text
        .find("- id: before-deploy.config-file-is-private")
        .unwrap();
    let (head, tail) = text.split_at(at);
    let edited = format!(
        "{head}{}",
        tail.replacen(
            "severity: medium",
            "severity: critical  # leaks the DB password",
            1
        )
    );
    std::fs::write(&path, &edited).unwrap();
    // The document changes: a line added, one removed.
    let changed = std::fs::read_to_string(&doc)
        .unwrap()
        .replace("   - [ ] Replica lag under 5s\n", "")
        .replace(
            "- Smoke test\n",
            "- Smoke test\n  - [ ] Feature flags default off\n",
        );
    std::fs::write(&doc, changed).unwrap();
    let out = import(dir, &["nested.md", "--merge", "pack.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("1 added"), "{err}");
    assert!(
        err.contains(
            "no longer in the document (kept, review them): before-deploy.replica-lag-under-5s"
        ),
        "{err}"
    );
    let merged = std::fs::read_to_string(&path).unwrap();
    assert!(
        merged.starts_with(&edited),
        "the pack's text is kept byte for byte"
    );
    assert!(
        merged.contains("- id: after-deploy.feature-flags-default-off"),
        "{merged}"
    );
    assert_eq!(
        shipcheck(dir, &["pack", "lint", "pack.yaml"]).status.code(),
        Some(0)
    );
    // Merging again adds nothing.
    let out = import(dir, &["nested.md", "--merge", "pack.yaml"]);
    assert!(stderr(&out).contains("0 added"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), merged);
}

#[test]
fn bad_input_is_refused_with_the_reason_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("empty.md"), "Just prose, no list.\n").unwrap();
    std::fs::write(dir.join("binary.md"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    std::fs::write(dir.join("list.md"), "- [ ] One\n").unwrap();
    std::fs::write(dir.join("notpack.yaml"), "just: text\n").unwrap();
    std::fs::write(
        dir.join("late.yaml"),
        "name: x\nsections:\n  - id: a\n    title: A\n    items: []\ntraces: []\n",
    )
    .unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["empty.md", "-o", "out.yaml"], "nothing to import"),
        (&["binary.md", "-o", "out.yaml"], "not UTF-8"),
        (&["missing.md", "-o", "out.yaml"], "missing.md"),
        (
            &["list.md", "--merge", "notpack.yaml"],
            "no `sections:` list",
        ),
        (
            &["list.md", "--merge", "late.yaml"],
            "must be the pack's last key",
        ),
    ];
    for (args, want) in cases {
        let out = import(dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    assert!(!dir.join("out.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("notpack.yaml")).unwrap(),
        "just: text\n"
    );
}
