//! The gate turns results into go / no-go, and the readiness score summarises them.
//!
//! Rules (documented in README.md, "Gate and exit codes"):
//! - `fail` and `error` block when the item's severity is at or above `--fail-on`
//!   (default `low`): could-not-check is never a pass.
//! - `pending` (manual item not attested) blocks the same way unless `--allow-pending`.
//! - `warn`, `waived`, `not_applicable` and `pass` never block.

use crate::outcome::{ItemResult, Status};
pub use crate::outcome::{Policy, Score, SectionScore, Verdict};
use crate::pack::Severity;

/// Exit code: the gate says go.
pub const EXIT_GO: i32 = 0;
/// Exit code: the gate says no-go (at least one blocking result).
pub const EXIT_NO_GO: i32 = 1;
/// Exit code: bad usage, or an invalid pack, profile or variable; nothing was judged.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: shipcheck itself failed (a bug, or the runtime could not start).
pub const EXIT_INTERNAL: i32 = 3;

/// Version of the score formula; bump it when the formula changes.
pub const SCORE_VERSION: &str = "score/v1";

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fail_on: Severity::Low,
            allow_pending: false,
        }
    }
}

impl Policy {
    /// Whether this result keeps the gate from saying go.
    pub fn blocks(&self, r: &ItemResult) -> bool {
        if r.not_due.is_some() {
            return false;
        }
        let severe = r.severity >= self.fail_on;
        match r.status {
            Status::Fail | Status::Error => severe,
            Status::Pending => severe && !self.allow_pending,
            _ => false,
        }
    }
}

/// Decides go / no-go and marks each result's `blocking` flag.
pub fn decide(results: &mut [ItemResult], policy: Policy) -> Verdict {
    let mut blocking: Vec<&ItemResult> = Vec::new();
    for r in results.iter_mut() {
        r.blocking = policy.blocks(r);
    }
    blocking.extend(results.iter().filter(|r| r.blocking));
    blocking.sort_by_key(|r| std::cmp::Reverse(r.severity));
    let reasons = blocking
        .iter()
        .map(|r| {
            let what = match r.status {
                Status::Fail => "failed",
                Status::Error => "could not be checked",
                _ => "is not attested",
            };
            format!(
                "[{}] {} {what}: {}",
                r.severity.as_str(),
                r.qualified_id(),
                r.title
            )
        })
        .collect();
    let go = blocking.is_empty();
    Verdict {
        go,
        exit_code: if go { EXIT_GO } else { EXIT_NO_GO },
        policy,
        blocking: blocking.iter().map(|r| r.qualified_id()).collect(),
        reasons,
    }
}

/// Weight of a severity in the score.
pub fn weight(s: Severity) -> f64 {
    match s {
        Severity::Critical => 10.0,
        Severity::High => 5.0,
        Severity::Medium => 3.0,
        Severity::Low => 1.0,
        Severity::Info => 0.0,
    }
}

fn tally<'a>(results: impl IntoIterator<Item = &'a ItemResult>) -> (f64, f64) {
    let (mut earned, mut possible) = (0.0, 0.0);
    for r in results.into_iter().filter(|r| r.not_due.is_none()) {
        let w = weight(r.severity);
        match r.status {
            Status::Pass => {
                earned += w;
                possible += w;
            }
            Status::Warn => {
                earned += w / 2.0;
                possible += w;
            }
            Status::Fail | Status::Error | Status::Pending => possible += w,
            Status::Waived | Status::NotApplicable => {}
        }
    }
    (earned, possible)
}

fn value(earned: f64, possible: f64) -> Option<u32> {
    (possible > 0.0).then(|| (100.0 * earned / possible).floor() as u32)
}

/// Computes the score and its per-section breakdown.
pub fn score(results: &[ItemResult]) -> Score {
    let (earned, possible) = tally(results);
    let mut sections: Vec<SectionScore> = Vec::new();
    for r in results {
        if !sections
            .iter()
            .any(|s| s.pack == r.pack && s.section == r.section)
        {
            let (e, p) = tally(
                results
                    .iter()
                    .filter(|x| x.pack == r.pack && x.section == r.section),
            );
            sections.push(SectionScore {
                pack: r.pack.clone(),
                section: r.section.clone(),
                title: r.section_title.clone(),
                value: value(e, p),
                earned: e,
                possible: p,
            });
        }
    }
    Score {
        version: SCORE_VERSION.into(),
        value: value(earned, possible),
        earned,
        possible,
        sections,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ItemKind;
    use crate::pack::Phase;

    fn result(status: Status, severity: Severity) -> ItemResult {
        ItemResult {
            pack: "p".into(),
            id: format!("{}-{}", status.as_str(), severity.as_str()),
            title: "t".into(),
            section: "s".into(),
            section_title: "S".into(),
            severity,
            phase: Phase::PreDeploy,
            kind: ItemKind::Automated,
            status,
            summary: String::new(),
            tags: vec![],
            why: String::new(),
            fix: String::new(),
            source: None,
            evidence: None,
            waiver: None,
            waiver_expired: None,
            not_due: None,
            attest: None,
            blocking: false,
            duration_ms: 0,
        }
    }

    #[test]
    fn an_item_not_due_neither_blocks_nor_counts_in_the_score() {
        let mut later = result(Status::Pending, Severity::Critical);
        later.not_due = Some(crate::outcome::NotDue {
            at: None,
            why: "not due".into(),
        });
        let mut rs = vec![later, result(Status::Pass, Severity::Low)];
        let v = decide(&mut rs, Policy::default());
        assert!(v.go && !rs[0].blocking, "{:?}", v.reasons);
        assert_eq!(score(&rs).value, Some(100));
        rs[0].not_due = None;
        assert!(!decide(&mut rs, Policy::default()).go);
    }

    #[test]
    fn error_and_pending_block_above_threshold() {
        let mut rs = vec![
            result(Status::Error, Severity::High),
            result(Status::Pass, Severity::Critical),
        ];
        assert!(!decide(&mut rs, Policy::default()).go);
        let mut rs = vec![result(Status::Fail, Severity::Low)];
        assert!(
            decide(
                &mut rs,
                Policy {
                    fail_on: Severity::Medium,
                    allow_pending: false
                }
            )
            .go
        );
        let mut rs = vec![
            result(Status::Pending, Severity::Critical),
            result(Status::Warn, Severity::Critical),
        ];
        let v = decide(&mut rs, Policy::default());
        assert_eq!(
            (v.go, v.exit_code, v.blocking.len()),
            (false, EXIT_NO_GO, 1)
        );
        assert!(
            decide(
                &mut rs,
                Policy {
                    fail_on: Severity::Low,
                    allow_pending: true
                }
            )
            .go
        );
    }

    #[test]
    fn score_formula() {
        let rs = vec![
            result(Status::Pass, Severity::Critical),   // 10/10
            result(Status::Warn, Severity::High),       // 2.5/5
            result(Status::Fail, Severity::Medium),     // 0/3
            result(Status::Waived, Severity::Critical), // excluded
            result(Status::NotApplicable, Severity::High),
            result(Status::Pass, Severity::Info), // weight 0
        ];
        let s = score(&rs);
        assert_eq!((s.earned, s.possible), (12.5, 18.0));
        assert_eq!(s.value, Some(69));
        assert_eq!(score(&[]).value, None);
    }
}
