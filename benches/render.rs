//! Renders a synthetic run of 5,000 items in every format and prints the time each takes.
//! `cargo bench --bench render` (figures in BENCHMARKS.md).

use std::time::Instant;

use shipcheck_core::observation::{FileLocation, Finding};
use shipcheck_core::outcome::{Evidence, ItemKind, ItemResult, Run, Status};
use shipcheck_core::pack::{Phase, Severity};
use shipcheck_report::{self as report, Format, human};

fn synthetic(n: usize) -> Run {
    let statuses = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Error,
        Status::Pending,
        Status::NotApplicable,
    ];
    let mut results: Vec<ItemResult> = (0..n)
        .map(|i| ItemResult {
            pack: "bench".into(),
            id: format!("item-{i}"),
            title: format!("Item number {i} holds"),
            section: format!("s{}", i % 25),
            section_title: format!("Section {}", i % 25),
            severity: Severity::ALL[i % 5],
            phase: Phase::PreDeploy,
            kind: ItemKind::Automated,
            status: statuses[i % statuses.len()],
            summary: format!("expected mode at most 0600, found 0644 for file {i}"),
            tags: vec!["bench".into()],
            why: "Because it matters for production.".into(),
            fix: "chmod 600 the file.".into(),
            source: None,
            evidence: Some(Evidence {
                probe: "file".into(),
                source: format!("file /srv/app/config-{i}.json"),
                query: Some(".a.b".into()),
                observed: serde_json::json!({"mode": "0644", "size": i}),
                location: Some(FileLocation {
                    path: format!("/srv/app/config-{i}.json"),
                    line: Some(3),
                }),
                findings: vec![Finding::new(false, "mode at most 0600", "0644")],
            }),
            waiver: None,
            waiver_expired: None,
            not_due: None,
            attest: None,
            blocking: false,
            duration_ms: 1,
        })
        .collect();
    let gate = shipcheck_core::gate::decide(&mut results, shipcheck_core::gate::Policy::default());
    let score = shipcheck_core::gate::score(&results);
    Run {
        schema: shipcheck_core::outcome::RUN_SCHEMA.into(),
        shipcheck_version: "bench".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        duration_ms: 1000,
        profile: "shipcheck.yaml".into(),
        profile_id: "/srv/app/shipcheck.yaml".into(),
        deployment: String::new(),
        labels: Default::default(),
        recorded_by: String::new(),
        require_signoff: Vec::new(),
        allowed_signers: None,
        phase: None,
        schedule: Default::default(),
        scheduled: None,
        profile_digest: "sha256:00".into(),
        environment: "production".into(),
        packs: vec![],
        counts: shipcheck_core::outcome::Counts::of(&results),
        results,
        unused_waivers: vec![],
        score,
        gate,
        unreachable: Vec::new(),
    }
}

fn main() {
    // `cargo test --all-targets` also runs this binary (without `--bench`): debug-build
    // timings mean nothing, so it only says how to run it.
    if !std::env::args().any(|a| a == "--bench") {
        println!("render benchmark: run `cargo bench --bench render`");
        return;
    }
    let run = synthetic(5_000);
    let mut json_ms = 0.0;
    for (name, f) in [
        ("human", Format::Human),
        ("json", Format::Json),
        ("sarif", Format::Sarif),
        ("junit", Format::Junit),
        ("markdown", Format::Markdown),
        ("html", Format::Html),
    ] {
        let started = Instant::now();
        let mut bytes = 0;
        let rounds = 5;
        for _ in 0..rounds {
            bytes = report::render(&run, f, human::Style::default(), &[]).len();
        }
        let ms = (started.elapsed() / rounds).as_secs_f64() * 1000.0;
        print!(
            "{name:<9} 5000 items: {ms:>8.1} ms  {:>6} KiB",
            bytes / 1024
        );
        match f {
            Format::Json => json_ms = ms,
            // Issue #17's goal: SARIF within 1.5× of JSON.
            Format::Sarif => print!("  ({:.2}× JSON's time; goal ≤ 1.5×)", ms / json_ms),
            _ => {}
        }
        println!();
    }
}
