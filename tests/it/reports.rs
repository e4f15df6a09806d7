//! Reports: SARIF against the official schema, JUnit through an XSD and a real JUnit parser,
//! Markdown, HTML in headless Chromium (counts, the status filter, a screenshot), re-rendering
//! a recorded run, canaries in every format, and snapshots of every renderer on a fixed run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use shipcheck_core::outcome::Run;
use shipcheck_report::{self as report, Format, human};

const FORMATS: [&str; 6] = ["human", "json", "sarif", "junit", "markdown", "html"];

fn fixed_run() -> Run {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("run-fixed.json")).unwrap())
        .unwrap()
}

fn render(run: &Run, f: Format) -> String {
    report::render(run, f, human::Style::default(), &[])
}

#[test]
fn snapshots_of_every_renderer() {
    let run = fixed_run();
    insta::assert_snapshot!("human", render(&run, Format::Human));
    insta::assert_snapshot!("json", render(&run, Format::Json));
    insta::assert_snapshot!("sarif", render(&run, Format::Sarif));
    insta::assert_snapshot!("junit", render(&run, Format::Junit));
    insta::assert_snapshot!("markdown", render(&run, Format::Markdown));
    insta::assert_snapshot!("html", render(&run, Format::Html));
}

/// Writes every format for the bad fixture deployment; returns the folder.
fn reports(tmp: &tempfile::TempDir) -> PathBuf {
    let dir = tmp.path().join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    let mut args: Vec<String> = [
        "check",
        "--profile",
        "app/shipcheck.yaml",
        "--env",
        "bad",
        "--no-record",
        "--format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for f in FORMATS {
        args.push("--report".into());
        args.push(format!("{f}={}", dir.join(format!("report.{f}")).display()));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = shipcheck(tmp.path(), &refs);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    dir
}

fn python(script: &str, args: &[&str]) -> std::process::Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tools")
        .join(script);
    Command::new("python3")
        .arg(path)
        .args(args)
        .output()
        .expect("python3 (scripts/install-test-deps.sh installs its packages)")
}

#[test]
fn sarif_is_valid_and_points_at_files() {
    let tmp = fixture_app();
    let dir = reports(&tmp);
    let file = dir.join("report.sarif");
    let out = python("validate_sarif.py", &[file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "SARIF invalid: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("\"valid\": true"), "{}", stdout(&out));
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 23);
    let rule = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "fixture:config.json-port")
        .unwrap();
    assert_eq!(rule["properties"]["severity"], "medium");
    assert_eq!(rule["fullDescription"]["text"], "TLS port.");
    let result = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "fixture:config.json-port")
        .unwrap();
    assert_eq!(result["kind"], "fail");
    assert_eq!(result["level"], "warning");
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "bad/config.json");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "PROFILE");
    assert_eq!(loc["region"]["startLine"], 2);
    // What GitHub code scanning requires: every result has a location (an item without a
    // file of its own points at the profile), a fingerprint and the run an automation id;
    // passes and items that do not apply are not alerts.
    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        23 - 3 - 2,
        "3 passes and 2 not applicable are not results"
    );
    for r in results {
        assert_ne!(r["kind"], "pass", "{r}");
        let uri = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert!(
            uri["uri"].is_string() && uri["uriBaseId"] == "PROFILE",
            "{r}"
        );
        assert!(
            r["partialFingerprints"]["shipcheckItem/v1"].is_string(),
            "{r}"
        );
    }
    let pending = results
        .iter()
        .find(|r| r["properties"]["status"] == "pending")
        .expect("a manual item");
    assert_eq!(
        pending["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "shipcheck.yaml"
    );
    assert!(
        run["automationDetails"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("shipcheck/") && id.ends_with("/bad/")),
        "{}",
        run["automationDetails"]
    );
    // The validator can fail: a level SARIF does not know is rejected.
    let broken = tmp.path().join("broken.sarif");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&file).unwrap().replacen(
            "\"level\": \"warning\"",
            "\"level\": \"severe\"",
            1,
        ),
    )
    .unwrap();
    let out = python("validate_sarif.py", &[broken.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "the schema check accepted an invalid level"
    );
}

#[test]
fn junit_passes_an_xsd_and_a_real_parser() {
    let tmp = fixture_app();
    let dir = reports(&tmp);
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit.xsd");
    let out = python(
        "validate_junit.py",
        &[
            dir.join("report.junit").to_str().unwrap(),
            xsd.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "JUnit invalid: {}", stderr(&out));
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let suites = parsed["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 5, "one testsuite per section");
    assert_eq!(suites[0]["name"], "Files [fixture]");
    let cases: Vec<&serde_json::Value> = suites
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap())
        .collect();
    assert_eq!(cases.len(), 23);
    let case = |title: &str| {
        cases
            .iter()
            .find(|c| c["name"] == title)
            .unwrap_or_else(|| panic!("no testcase named {title}"))
    };
    assert_eq!(case("JSON port is 8443")["outcome"], "failure");
    assert_eq!(case("Slow command finishes in time")["outcome"], "error");
    // Pending blocks the gate, so it is a failure in CI, not a skip.
    assert_eq!(case("Restore drill done")["outcome"], "failure");
    assert_eq!(case("Optional feature configured")["outcome"], "skipped");
    assert_eq!(case("Some free space")["outcome"], "pass");
    let xml = std::fs::read_to_string(dir.join("report.junit")).unwrap();
    assert!(
        xml.contains("expected equals 8443, found 8080"),
        "failures carry the evidence"
    );
}

#[test]
fn markdown_has_verdict_tables_and_what_to_fix_next() {
    let tmp = fixture_app();
    let md = std::fs::read_to_string(reports(&tmp).join("report.markdown")).unwrap();
    assert!(md.starts_with("## ❌ **NO-GO**: readiness "), "{md}");
    assert!(md.contains("### What to fix next"));
    assert!(
        md.contains("| ❌ | JSON port is 8443 (`config.json-port`) | medium | fail |"),
        "{md}"
    );
    assert!(md.contains("<details><summary>Evidence and fixes"));
    // Failures come first in each section, and passes are collapsed below them.
    let section = md.split("### Runtime (fixture)").nth(1).unwrap();
    let fail_at = section.find("| ❌ |").unwrap();
    let collapsed = section
        .find("<details><summary>Passed or not applicable")
        .unwrap();
    let pass_at = section.find("| ✅ |").unwrap();
    assert!(fail_at < collapsed && collapsed < pass_at, "{section}");
}

/// A large run stays under GitHub's comment limit (65,536 characters): what needs action is
/// listed, most urgent first, while it fits, and the rest is counted.
#[test]
fn markdown_stays_under_the_comment_limit_at_5000_items() {
    let mut run = fixed_run();
    let template = run.results.clone();
    run.results = (0..5000)
        .map(|i| {
            let mut r = template[i % template.len()].clone();
            r.id = format!("{}.n{i}", r.id);
            r.summary = format!(
                "{} (copy {i}, with a long explanation of what was seen)",
                r.summary
            );
            r
        })
        .collect();
    let md = render(&run, Format::Markdown);
    assert!(
        md.chars().count() <= 65_536,
        "{} characters",
        md.chars().count()
    );
    assert!(md.starts_with("## "), "the verdict line comes first");
    assert!(md.contains("### Needs action"), "{}", &md[..2000]);
    assert!(md.contains("items that need action are listed"));
    assert!(md.contains("GitHub's comment limit"));
    // The first rows are the most urgent: blocking failures before warnings.
    let table = md.split("### Needs action").nth(1).unwrap();
    let first_row = table
        .lines()
        .find(|l| l.starts_with("| ❌") || l.starts_with("| ⚠"))
        .unwrap();
    assert!(first_row.starts_with("| ❌"), "{first_row}");
}

#[test]
fn no_canary_in_any_report() {
    let tmp = fixture_app();
    for env in ["good", "bad"] {
        let dir = tmp.path().join(format!("r-{env}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in FORMATS {
            let path = dir.join(format!("r.{f}"));
            let spec = format!("{f}={}", path.display());
            let out = shipcheck(
                tmp.path(),
                &[
                    "check",
                    "--profile",
                    "app/shipcheck.yaml",
                    "--env",
                    env,
                    "--no-record",
                    "--report",
                    &spec,
                    "--format",
                    f,
                ],
            );
            assert!(
                !stdout(&out).contains("CANARY") && !stderr(&out).contains("CANARY"),
                "{f} on stdout leaked a canary"
            );
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains("CANARY"), "{f} report leaked a canary");
            assert!(text.len() > 200, "{f} report is empty");
        }
    }
}

#[test]
fn a_recorded_run_renders_the_same_again() {
    let tmp = fixture_app();
    let db = tmp.path().join("l.db").display().to_string();
    let html = tmp.path().join("first.html");
    let spec = format!("html={}", html.display());
    let out = shipcheck_db(
        tmp.path(),
        &db,
        &[],
        &[
            "check",
            "--profile",
            "app/shipcheck.yaml",
            "--env",
            "bad",
            "--report",
            &spec,
        ],
    );
    assert!(stderr(&out).contains("recorded run #1"), "{}", stderr(&out));
    let again = tmp.path().join("again.html");
    let out = shipcheck_db(
        tmp.path(),
        &db,
        &[],
        &[
            "report",
            "1",
            "--format",
            "html",
            "-o",
            again.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&html).unwrap(),
        std::fs::read_to_string(&again).unwrap()
    );
    for f in FORMATS {
        let out = shipcheck_db(tmp.path(), &db, &[], &["report", "1", "--format", f]);
        assert_eq!(out.status.code(), Some(0), "{f}: {}", stderr(&out));
        assert!(!stdout(&out).is_empty());
    }
    let out = shipcheck_db(tmp.path(), &db, &[], &["report", "9", "--format", "html"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no run #9"), "{}", stderr(&out));
}

fn chromium() -> Command {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    c
}

fn visible_statuses(dom: &str) -> Vec<String> {
    dom.split("<details class=\"item\"")
        .skip(1)
        .filter_map(|chunk| {
            let tag = &chunk[..chunk.find('>').unwrap_or(0)];
            if tag.contains("hidden") {
                return None;
            }
            let s = tag.split("data-status=\"").nth(1)?;
            Some(s[..s.find('"')?].to_string())
        })
        .collect()
}

#[test]
fn html_report_in_headless_chromium() {
    let tmp = fixture_app();
    let file = reports(&tmp).join("report.html");
    let html = std::fs::read_to_string(&file).unwrap();
    // Self-contained: no external stylesheet, script, image or font.
    for needle in [
        "<link",
        "<script src",
        "<img src=\"http",
        "url(http",
        "@import",
    ] {
        assert!(
            !html.contains(needle),
            "external resource `{needle}` in the HTML report"
        );
    }
    let profile = tempfile::tempdir().unwrap();
    let user_data = format!("--user-data-dir={}", profile.path().display());
    let url = format!("file://{}", file.display());
    let dump = |hash: &str| {
        let out = chromium()
            .arg(&user_data)
            .args(["--virtual-time-budget=2000", "--dump-dom"])
            .arg(format!("{url}{hash}"))
            .output()
            .expect("chromium (scripts/install-test-deps.sh installs it)");
        assert!(
            out.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = dump("");
    assert!(
        dom.contains("<b id=\"count-fail\">14</b>")
            && dom.contains("<b id=\"count-pass\">3</b>")
            && dom.contains("<b id=\"count-total\">23</b>"),
        "counts"
    );
    assert!(dom.contains("id=\"verdict\">NO-GO<"), "verdict");
    // The charts have a legend with each status's count, as the browser shows it.
    assert!(
        dom.contains("aria-label=\"Legend\"")
            && dom.contains("></span>fail (14)</span>")
            && dom.contains("></span>pass (3)</span>"),
        "legend"
    );
    assert_eq!(
        visible_statuses(&dom).len(),
        23,
        "all items shown without a filter"
    );
    assert!(dom.contains("data-visible=\"23\""), "the script ran");
    // The filter (the buttons set the same hash).
    let dom = dump("#status=fail");
    let shown = visible_statuses(&dom);
    assert_eq!(shown.len(), 14, "{shown:?}");
    assert!(shown.iter().all(|s| s == "fail"));
    let shown = visible_statuses(&dump("#status=fail,error"));
    assert_eq!(shown.len(), 16);
    assert!(visible_statuses(&dump("#status=pending")) == ["pending"]);
    // Screenshot for people (kept in target/test-artifacts).
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium()
        .arg(&user_data)
        .args(["--window-size=1280,1800", "--virtual-time-budget=2000"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false),
        "screenshot written"
    );
}

/// Evidence is text, never markup: HTML, Markdown images and links, headings and a closing
/// `</details>` in a summary, a title or a finding render as the text they are, through a
/// real CommonMark renderer with HTML on.
#[test]
fn markdown_evidence_cannot_inject_markup() {
    let mut run = fixed_run();
    let hostile = r#"<img src=x onerror=alert(1)></details><h2>GO</h2> ![x](http://evil.example/p.png) [click](http://evil.example) **bold** `tick` <script>x</script>"#;
    for r in run.results.iter_mut() {
        r.summary = format!("{} {hostile}", r.summary);
        r.title = format!("{} {hostile}", r.title);
        if let Some(e) = r.evidence.as_mut() {
            e.source = format!("{} {hostile}", e.source);
            for f in e.findings.iter_mut() {
                f.observed = format!("{} {hostile}", f.observed);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.md");
    std::fs::write(&file, render(&run, Format::Markdown)).unwrap();
    let out = python("render_markdown.py", &[file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8_lossy(&out.stdout).into_owned();
    for bad in [
        "<img",
        "<script",
        "<h2>GO",
        "href=\"http://evil",
        "<strong>bold",
    ] {
        assert!(!html.contains(bad), "`{bad}` rendered as markup");
    }
    assert_eq!(
        html.matches("<details>").count(),
        html.matches("</details>").count(),
        "a summary closed a <details> early"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the text itself is shown"
    );
}

/// Microsoft's SARIF multitool (npm, installed by scripts/install-test-deps.sh) with its
/// SARIF and GitHub rule sets finds no error and no warning in shipcheck's SARIF; it does
/// find them in the same file with a result's locations taken away (GitHub rejects that).
#[test]
fn sarif_passes_microsofts_validator_with_githubs_rules() {
    let tmp = fixture_app();
    let dir = reports(&tmp);
    let validate = sarif_problems;
    let file = dir.join("report.sarif");
    let problems = validate(&file);
    assert!(problems.is_empty(), "{problems:#?}");
    let mut log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    log["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("locations");
    let broken = dir.join("no-locations.sarif");
    std::fs::write(&broken, log.to_string()).unwrap();
    let problems = validate(&broken);
    assert!(problems.iter().any(|p| p.contains("GH")), "{problems:#?}");
}
