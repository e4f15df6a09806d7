//! Drift: what a scheduled run shows against the baseline taken at the deploy. An item
//! that passed and now fails, a new error, a fall of the score past the profile's
//! threshold, and a waiver or attestation the run relies on that ends soon.
//!
//! Each phase's run holds the items due by it, so the baseline of an item is its first
//! observation after the deploy: the deploy's immediate run for its items, the first-hour
//! run for the first-hour items, and so on ([`reference`]).

use std::collections::BTreeMap;

use shipcheck_core::id::ItemRef;
use shipcheck_core::outcome::{ItemResult, Run, Status};
use shipcheck_core::schedule::Alerts;
use shipcheck_core::statement::{Attestation, DriftFinding, DriftKind};

/// Each item's first observation among `runs` (a deploy's runs, oldest first).
pub fn reference(runs: &[Run]) -> Vec<ItemResult> {
    let mut seen = std::collections::BTreeSet::new();
    runs.iter()
        .flat_map(|r| r.results.iter())
        .filter(|r| seen.insert(r.qualified_id()))
        .cloned()
        .collect()
}

/// The drift of `run` against `baseline` (each item's reference result) at `now`.
pub fn findings(
    baseline: &[ItemResult],
    run: &Run,
    attestations: &[Attestation],
    settings: &Alerts,
    now: jiff::Timestamp,
) -> Vec<DriftFinding> {
    let before: BTreeMap<String, &ItemResult> =
        baseline.iter().map(|r| (r.qualified_id(), r)).collect();
    let mut out = Vec::new();
    for r in &run.results {
        let id = r.qualified_id();
        let Some(b) = before.get(&id) else { continue };
        let finding = match (b.status, r.status) {
            (Status::Pass, Status::Fail) => {
                Some((DriftKind::Regressed, "passed at the deploy, fails now"))
            }
            (was, Status::Error) if was != Status::Error => Some((
                DriftKind::NewError,
                "could be checked at the deploy, cannot now",
            )),
            _ => None,
        };
        if let Some((kind, what)) = finding {
            out.push(DriftFinding {
                kind,
                item: Some(id),
                detail: format!("{what}: {}", r.summary),
            });
        }
    }
    // The score of the same items at their baseline, against the score now.
    let same: Vec<ItemResult> = run
        .results
        .iter()
        .filter_map(|r| before.get(&r.qualified_id()).map(|b| (*b).clone()))
        .collect();
    let was = shipcheck_core::gate::score(&same).value;
    if let (Some(was), Some(is)) = (was, run.score.value)
        && was >= is + settings.score_drop()
    {
        out.push(DriftFinding {
            kind: DriftKind::ScoreDrop,
            item: None,
            detail: format!(
                "the score fell from {was} to {is} (the threshold is {} points)",
                settings.score_drop()
            ),
        });
    }
    let soon = jiff::SignedDuration::try_from(settings.expiring())
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(jiff::Timestamp::MAX);
    let ends_soon = |end: &str| {
        shipcheck_core::profile::expiry(end)
            .ok()
            .filter(|t| *t > now && *t <= soon)
    };
    for r in &run.results {
        if let Some(w) = &r.waiver
            && ends_soon(&w.expires).is_some()
        {
            out.push(DriftFinding {
                kind: DriftKind::Expiring,
                item: Some(r.qualified_id()),
                detail: format!("its waiver ends {} (owner {})", w.expires, w.owner),
            });
        }
        if r.status == Status::Pass
            && let Some(a) = attestations
                .iter()
                .filter(|a| ItemRef::parse(&a.item).matches(&r.pack, &r.id))
                .max_by(|x, y| x.attested_at.cmp(&y.attested_at))
            && a.expires.as_deref().and_then(ends_soon).is_some()
        {
            out.push(DriftFinding {
                kind: DriftKind::Expiring,
                item: Some(r.qualified_id()),
                detail: format!(
                    "its attestation by {} ends {}",
                    a.by,
                    a.expires.as_deref().unwrap_or_default()
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(statuses: &[(&str, Status)], score: Option<u32>) -> Run {
        let mut r: Run =
            serde_json::from_str(include_str!("../../../tests/fixtures/run-fixed.json"))
                .expect("the fixed run parses");
        let template = r.results[0].clone();
        r.results = statuses
            .iter()
            .map(|(id, st)| {
                let mut x = template.clone();
                x.pack = "p".into();
                x.id = (*id).into();
                x.status = *st;
                x.waiver = None;
                x
            })
            .collect();
        r.score.value = score;
        r
    }

    #[test]
    fn a_regression_a_new_error_and_a_score_drop_are_drift_and_nothing_else_is() {
        let now = jiff::Timestamp::now();
        let base = run(
            &[
                ("a", Status::Pass),
                ("b", Status::Pass),
                ("c", Status::Fail),
                ("d", Status::Error),
            ],
            Some(90),
        );
        let later = run(
            &[
                ("a", Status::Fail),
                ("b", Status::Error),
                ("c", Status::Fail),
                ("d", Status::Error),
            ],
            Some(30),
        );
        let found = findings(&base.results, &later, &[], &Alerts::default(), now);
        let kinds: Vec<(DriftKind, Option<&str>)> =
            found.iter().map(|f| (f.kind, f.item.as_deref())).collect();
        assert_eq!(
            kinds,
            [
                (DriftKind::Regressed, Some("p:a")),
                (DriftKind::NewError, Some("p:b")),
                (DriftKind::ScoreDrop, None),
            ]
        );
        let lenient = Alerts {
            score_drop: Some(25),
            expiring: None,
        };
        assert_eq!(findings(&base.results, &later, &[], &lenient, now).len(), 2);
        assert!(findings(&base.results, &base, &[], &Alerts::default(), now).is_empty());
        // An item first seen in a later phase's run is judged against that observation.
        let hour = run(&[("a", Status::Pass), ("h", Status::Pass)], Some(100));
        let day = run(&[("a", Status::Pass), ("h", Status::Fail)], Some(50));
        let refs = reference(&[run(&[("a", Status::Pass)], Some(100)), hour]);
        let kinds: Vec<DriftKind> = findings(&refs, &day, &[], &Alerts::default(), now)
            .iter()
            .map(|f| f.kind)
            .collect();
        assert_eq!(kinds, [DriftKind::Regressed, DriftKind::ScoreDrop]);
    }

    #[test]
    fn a_waiver_or_attestation_ending_within_the_window_is_drift() {
        let now: jiff::Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let mut later = run(
            &[
                ("w", Status::Waived),
                ("m", Status::Pass),
                ("x", Status::Pass),
            ],
            None,
        );
        later.results[0].waiver = Some(shipcheck_core::outcome::WaiverNote {
            reason: "r".into(),
            owner: "ada".into(),
            expires: "2026-12-03".into(),
            underlying: Status::Fail,
            underlying_summary: String::new(),
        });
        let attested = |item: &str, at: &str, expires: &str| Attestation {
            item: item.into(),
            deployment: None,
            environment: None,
            by: "olga".into(),
            role: shipcheck_core::pack::Role::Operations,
            evidence: None,
            note: String::new(),
            attested_at: at.into(),
            expires: Some(expires.into()),
            signature: None,
        };
        let attestations = [
            attested("p:m", "2026-11-01T00:00:00Z", "2026-12-04T00:00:00Z"),
            // x was attested again since: the newer one, ending in a year, applies.
            attested("p:x", "2026-11-01T00:00:00Z", "2026-12-02T00:00:00Z"),
            attested("p:x", "2026-11-20T00:00:00Z", "2027-12-01T00:00:00Z"),
        ];
        let found = findings(
            &later.results,
            &later,
            &attestations,
            &Alerts::default(),
            now,
        );
        let items: Vec<(DriftKind, Option<&str>)> =
            found.iter().map(|f| (f.kind, f.item.as_deref())).collect();
        assert_eq!(
            items,
            [
                (DriftKind::Expiring, Some("p:w")),
                (DriftKind::Expiring, Some("p:m"))
            ]
        );
        let narrow = Alerts {
            score_drop: None,
            expiring: Some(shipcheck_core::duration::Span::parse("1d").unwrap()),
        };
        assert!(findings(&later.results, &later, &attestations, &narrow, now).is_empty());
    }
}
