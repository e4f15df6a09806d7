//! Audit reports as a [`Run`], the model every report format of `check` renders, so
//! `probe --format sarif|junit|markdown|html` says what `check` would: one result per
//! finding (failed, at the finding's severity), one per check that could not run and per
//! target that could not be checked (error: never a pass), and one passed result per target
//! with neither. Each target is a section; the pack is `probe-KIND`.

use shipcheck_core::gate;
use shipcheck_core::outcome::{
    Counts, Evidence, ItemKind, ItemResult, PackRef, Policy, RUN_SCHEMA, Run, Status,
};
use shipcheck_core::pack::{Phase, Severity};

use super::AuditReport;

/// When the audit ran and how long it took.
pub struct RunInfo {
    pub kind: &'static str,
    pub started_at: String,
    pub duration_ms: u64,
    pub fail_on: Severity,
    /// The targets file (absolute), or the folder the command ran in: where SARIF results
    /// point, as no target is a file.
    pub origin: String,
}

/// A message's headline: up to its first `: ` or `; `.
fn headline(message: &str) -> String {
    let cut = [": ", "; "]
        .iter()
        .filter_map(|sep| message.find(sep))
        .min()
        .unwrap_or(message.len());
    message[..cut].to_string()
}

/// The reports of one `probe` command as a run.
pub fn to_run(reports: &[AuditReport], info: &RunInfo) -> Run {
    let pack = format!("probe-{}", info.kind);
    let mut results = Vec::new();
    for r in reports {
        // Ids are unique per target (`ID@TARGET`), so SARIF alerts and JUnit cases of two
        // targets never merge; the finding id is also a tag.
        let item = |id: String, message: String, severity: Severity, status: Status| ItemResult {
            pack: pack.clone(),
            id: format!("{id}@{}", r.target),
            title: headline(&message),
            section: r.target.clone(),
            section_title: format!("{} (grade {})", r.target, r.grade()),
            severity,
            phase: Phase::PostDeployImmediate,
            kind: ItemKind::Automated,
            status,
            summary: message,
            tags: vec![format!("finding:{id}"), format!("grade:{}", r.grade())],
            why: format!("`{id}`: defined in docs/findings.md"),
            fix: format!("see `{id}` in docs/findings.md"),
            source: None,
            evidence: Some(Evidence {
                probe: r.kind.to_string(),
                source: r.target.clone(),
                observed: r.observed.clone(),
                ..Evidence::default()
            }),
            waiver: None,
            waiver_expired: None,
            not_due: None,
            attest: None,
            blocking: false,
            duration_ms: 0,
        };
        if let Some(e) = &r.error {
            results.push(item(
                format!("{}.target", r.kind),
                format!("could not check {}: {e}", r.target),
                Severity::High,
                Status::Error,
            ));
            continue;
        }
        for f in &r.findings {
            results.push(item(
                f.id.to_string(),
                f.message.clone(),
                f.severity,
                Status::Fail,
            ));
        }
        for e in &r.errors {
            results.push(item(
                format!("{}.check", r.kind),
                format!("a check could not run: {e}"),
                Severity::High,
                Status::Error,
            ));
        }
        if r.findings.is_empty() && r.errors.is_empty() {
            results.push(item(
                format!("{}.audit", r.kind),
                "every check ran, no finding".into(),
                Severity::High,
                Status::Pass,
            ));
        }
    }
    let policy = Policy {
        fail_on: info.fail_on,
        allow_pending: false,
    };
    let gate = gate::decide(&mut results, policy);
    Run {
        schema: RUN_SCHEMA.into(),
        shipcheck_version: env!("CARGO_PKG_VERSION").into(),
        started_at: info.started_at.clone(),
        duration_ms: info.duration_ms,
        profile: format!("shipcheck probe {}", info.kind),
        profile_id: info.origin.clone(),
        deployment: String::new(),
        labels: Default::default(),
        recorded_by: String::new(),
        require_signoff: Vec::new(),
        allowed_signers: None,
        phase: None,
        schedule: Default::default(),
        scheduled: None,
        profile_digest: String::new(),
        environment: "probe".into(),
        packs: vec![PackRef {
            name: pack.clone(),
            version: super::PROBE_SCHEMA.into(),
            title: format!("shipcheck probe {}", info.kind),
            origin: "builtin".into(),
        }],
        counts: Counts::of(&results),
        score: gate::score(&results),
        results,
        unused_waivers: Vec::new(),
        gate,
        unreachable: Vec::new(),
    }
}
