//! Looking back at recorded runs: the history list, the difference between two runs (drift),
//! the baseline, and the gate recomputed from the latest run plus the ledger's current
//! attestations, waivers and sign-offs.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::finalize::{self, SignoffRule, Statements, WaiverSpec};
use shipcheck_core::gate::{Policy, Verdict};
use shipcheck_core::id::RunRef;
use shipcheck_core::outcome::{Counts, Run, Status};
use shipcheck_core::pack::{LoadedPack, Role};
use shipcheck_ledger::{Attestation, Baseline, Kind, Ledger, LedgerError, Signoff};

/// One line of `shipcheck history`.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// The run's number (runs are numbered on their own: 1, 2, ...).
    pub run: i64,
    pub started_at: String,
    pub deployment: String,
    pub profile: String,
    pub environment: String,
    pub go: bool,
    pub score: Option<u32>,
    pub counts: Counts,
    pub baseline: bool,
}

/// A deployment and an environment: what runs and statements belong to.
pub type Target<'a> = (&'a str, &'a str);

/// Recorded runs, oldest first, optionally for one deployment and environment: read from
/// the run summaries (a few hundred bytes per run), not the runs.
pub fn history(
    ledger: &mut Ledger,
    deployment: Option<&str>,
    environment: Option<&str>,
) -> Result<Vec<RunSummary>, LedgerError> {
    let baselines = baselines(ledger)?;
    let rows = ledger.run_summaries(&shipcheck_ledger::summary::SummaryQuery::All)?;
    let mut out = Vec::new();
    // Runs are numbered among all runs. Every run has its summary (`verify` checks it);
    // when one lacks it, each number is counted instead.
    let complete = ledger.run_number(i64::MAX)?.unwrap_or(0) == rows.len() as u64;
    for (position, row) in (1i64..).zip(rows) {
        let number = if complete {
            position
        } else {
            ledger.run_number(row.seq)?.unwrap_or_default() as i64
        };
        if deployment.is_some_and(|d| row.deployment != d)
            || environment.is_some_and(|e| row.environment != e)
        {
            continue;
        }
        let s = row.summary;
        let profile = if s.profile.is_empty() {
            ledger.run(row.seq)?.profile
        } else {
            s.profile
        };
        let baseline =
            baselines.get(&(row.deployment.clone(), row.environment.clone())) == Some(&row.seq);
        out.push(RunSummary {
            run: number,
            started_at: s.started_at,
            deployment: row.deployment,
            profile,
            environment: row.environment,
            go: s.go,
            score: s.score,
            counts: s.counts,
            baseline,
        });
    }
    Ok(out)
}

/// The current baseline run of each deployment and environment.
fn baselines(ledger: &mut Ledger) -> Result<BTreeMap<(String, String), i64>, LedgerError> {
    let mut out = BTreeMap::new();
    for r in ledger.select(&shipcheck_ledger::query::Query::Kind(
        Kind::Baseline.as_str().into(),
    ))? {
        if let Some(deployment) = r.deployment {
            let b: Baseline = serde_json::from_str(&r.body).map_err(|e| LedgerError::Body {
                seq: r.seq,
                message: e.to_string(),
            })?;
            out.insert((deployment, r.environment.unwrap_or_default()), b.run);
        }
    }
    Ok(out)
}

/// The run most recently marked as baseline for `target`, or anywhere when there is none.
pub fn latest_baseline(
    ledger: &mut Ledger,
    target: Option<Target<'_>>,
) -> Result<Option<i64>, LedgerError> {
    Ok(match target {
        Some((d, e)) => ledger.scoped::<Baseline>(Kind::Baseline, d, e)?,
        None => ledger.all::<Baseline>(Kind::Baseline)?,
    }
    .last()
    .map(|(_, b)| b.run))
}

/// One item whose state changed between two runs.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Change {
    pub item: String,
    pub title: String,
    /// `None` when the item is not in that run.
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub summary: String,
}

/// What changed between run `a` and run `b`.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    pub a: i64,
    pub b: i64,
    pub changes: Vec<Change>,
    /// Attestations and waivers whose expiry falls between the two runs.
    pub expired: Vec<String>,
}

/// Compares two runs item by item.
pub fn diff(
    a_seq: i64,
    a: &Run,
    b_seq: i64,
    b: &Run,
    attestations: &[Attestation],
    waivers: &[WaiverSpec],
) -> Diff {
    let before: BTreeMap<String, &shipcheck_core::outcome::ItemResult> =
        a.results.iter().map(|r| (r.qualified_id(), r)).collect();
    let after: BTreeMap<String, &shipcheck_core::outcome::ItemResult> =
        b.results.iter().map(|r| (r.qualified_id(), r)).collect();
    let mut changes = Vec::new();
    for (id, r) in &after {
        let from = before.get(id).map(|x| x.status);
        if from != Some(r.status) {
            changes.push(Change {
                item: id.clone(),
                title: r.title.clone(),
                from,
                to: Some(r.status),
                summary: r.summary.clone(),
            });
        }
    }
    for (id, r) in &before {
        if !after.contains_key(id) {
            changes.push(Change {
                item: id.clone(),
                title: r.title.clone(),
                from: Some(r.status),
                to: None,
                summary: "no longer in the run".into(),
            });
        }
    }
    let (t0, t1) = (
        a.started_at.parse::<jiff::Timestamp>().ok(),
        b.started_at.parse::<jiff::Timestamp>().ok(),
    );
    let between = |t: Option<jiff::Timestamp>| match (t, t0, t1) {
        (Some(t), Some(lo), Some(hi)) => lo < t && t <= hi,
        _ => false,
    };
    let mut expired = Vec::new();
    for at in attestations {
        if between(at.expires.as_deref().and_then(|e| e.parse().ok())) {
            expired.push(format!(
                "attestation of {} by {} expired {}",
                at.item,
                at.by,
                at.expires.as_deref().unwrap_or("")
            ));
        }
    }
    for w in waivers {
        if between(shipcheck_core::profile::expiry(&w.expires).ok()) {
            expired.push(format!(
                "waiver of {} ({}) expired {}",
                w.item, w.reason, w.expires
            ));
        }
    }
    Diff {
        a: a_seq,
        b: b_seq,
        changes,
        expired,
    }
}

/// The gate recomputed from the ledger.
#[derive(Clone, Debug, Serialize)]
pub struct LedgerGate {
    pub run: i64,
    pub started_at: String,
    pub environment: String,
    pub verdict: Verdict,
    /// Sign-offs on the run that count.
    pub signoffs: Vec<finalize::Counted>,
    /// Sign-offs on the run whose signature does not hold (with allowed signers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected_signoffs: Vec<finalize::Rejected>,
    pub missing_signoffs: Vec<Role>,
}

/// Re-applies attestations and waivers as they stand `now` to run `seq`, requires a sign-off
/// on it from each role of `required` (signed by a key `signers` allows for the role, when
/// given with the digest of the run's record), and decides: the same
/// [`finalize`](crate::finalize) as `check`.
pub fn gate_from_ledger(
    found: Resolved,
    packs: &[Arc<LoadedPack>],
    statements: &Statements,
    (required, signers): (&[Role], Option<(&shipcheck_sign::AllowedSigners, &str)>),
    policy: Policy,
    now: jiff::Timestamp,
) -> LedgerGate {
    let Resolved {
        number,
        seq,
        mut run,
    } = found;
    let rule = SignoffRule {
        run: seq,
        number,
        required,
        signers,
    };
    let done = finalize::finalize(&mut run, packs, statements, policy, Some(rule), now);
    LedgerGate {
        run: number as i64,
        started_at: run.started_at.clone(),
        environment: run.environment.clone(),
        verdict: run.gate,
        signoffs: done.signoffs,
        rejected_signoffs: done.rejected,
        missing_signoffs: done.missing_signoffs,
    }
}

/// Reads the attestations, ledger waivers and sign-offs that apply to `target` (a
/// deployment and environment: indexed queries, statements of other deployments are not
/// read); `profile`'s waivers are added when given.
pub fn statements(
    ledger: &mut Ledger,
    (deployment, environment): Target<'_>,
    profile: Option<&shipcheck_core::profile::Profile>,
) -> Result<Statements, LedgerError> {
    let mut attestations: Vec<Attestation> = ledger
        .scoped::<Attestation>(Kind::Attestation, deployment, environment)?
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    let set_aside = crate::signing::screen_attestations(&mut attestations, None);
    let waivers = ledger
        .scoped::<shipcheck_ledger::Waiver>(Kind::Waiver, deployment, environment)?
        .iter()
        .map(|(_, w)| WaiverSpec::from(w))
        .collect();
    let signoffs = ledger
        .scoped::<Signoff>(Kind::Signoff, deployment, environment)?
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let deployed_at = ledger
        .latest_deploy(deployment, environment)?
        .and_then(|(_, d)| d.deployed_at.parse::<jiff::Timestamp>().ok());
    let mut statements = Statements {
        attestations,
        waivers,
        signoffs,
        deployed_at,
        set_aside,
        ..Statements::default()
    };
    if let Some(profile) = profile {
        finalize::add_profile_waivers(&mut statements, profile);
    }
    Ok(statements)
}

/// The latest recorded run of `profile` in `environment`: one indexed read.
pub fn latest_run(
    ledger: &mut Ledger,
    profile: &shipcheck_core::profile::Profile,
    environment: &str,
) -> Result<(i64, Run), crate::Error> {
    let deployment = profile.deployment();
    ledger
        .latest_runs_in(deployment.as_str(), environment, 1)?
        .pop()
        .ok_or_else(|| crate::Error::NoRun {
            profile: profile.path.clone(),
            environment: environment.into(),
        })
}

/// A recorded run as a person named it: its number, its sequence number in the ledger,
/// and the run.
#[derive(Debug)]
pub struct Resolved {
    pub number: u64,
    pub seq: i64,
    pub run: Run,
}

/// Finds the run `r` names. A number is global to the ledger and needs no profile;
/// `latest~N` counts back among the runs of `scope` (deployment and environment), or among
/// every run when there is no scope.
pub fn resolve(
    ledger: &mut Ledger,
    r: RunRef,
    scope: Option<Target<'_>>,
) -> Result<Resolved, crate::Error> {
    match r {
        RunRef::Number(n) => {
            let (seq, run) = ledger.run_by_number(n)?;
            Ok(Resolved {
                number: n,
                seq,
                run,
            })
        }
        RunRef::Latest(back) => {
            let no_such = |total: u64| crate::Error::NoSuchRun {
                name: r.to_string(),
                scope: match scope {
                    Some((d, e)) => format!("deployment {d} in environment {e}"),
                    None => "the ledger".into(),
                },
                total: total as usize,
            };
            // Indexed reads of the runs needed, not the whole ledger.
            match scope {
                Some((d, e)) => {
                    let mut runs = ledger.latest_runs_in(d, e, back.saturating_add(1))?;
                    if runs.len() as u64 <= back {
                        return Err(no_such(ledger.count_runs_in(d, e)?));
                    }
                    let (seq, run) = runs.swap_remove(back as usize);
                    let number = ledger.run_number(seq)?.unwrap_or_default();
                    Ok(Resolved { number, seq, run })
                }
                None => match ledger.nth_newest_run(back)? {
                    Ok((number, seq, run)) => Ok(Resolved { number, seq, run }),
                    Err(total) => Err(no_such(total)),
                },
            }
        }
    }
}

/// Which two runs `shipcheck diff` compares: both given, the baseline and the latest, or the
/// last two of the scope (deployment and environment, or the whole ledger).
pub fn diff_pair(
    ledger: &mut Ledger,
    scope: Option<Target<'_>>,
    a: Option<RunRef>,
    b: Option<RunRef>,
    baseline: bool,
) -> Result<(Resolved, Resolved), crate::Error> {
    match (a, b, baseline) {
        (Some(a), Some(b), _) => Ok((resolve(ledger, a, scope)?, resolve(ledger, b, scope)?)),
        (Some(_), None, _) | (None, Some(_), _) => {
            Err(crate::Error::usage("give two runs, or none".into()))
        }
        (None, None, true) => {
            let base = latest_baseline(ledger, scope)?.ok_or(crate::Error::NoBaseline)?;
            let number = ledger.run_number(base)?.unwrap_or_default();
            let base = Resolved {
                number,
                seq: base,
                run: ledger.run(base)?,
            };
            Ok((base, resolve(ledger, RunRef::Latest(0), scope)?))
        }
        (None, None, false) => Ok((
            resolve(ledger, RunRef::Latest(1), scope)?,
            resolve(ledger, RunRef::Latest(0), scope)?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_at(t: &str) -> Run {
        Run {
            schema: String::new(),
            shipcheck_version: String::new(),
            started_at: t.into(),
            duration_ms: 0,
            profile: String::new(),
            profile_id: String::new(),
            deployment: String::new(),
            labels: Default::default(),
            recorded_by: String::new(),
            require_signoff: Vec::new(),
            allowed_signers: None,
            phase: None,
            schedule: Default::default(),
            scheduled: None,
            profile_digest: String::new(),
            environment: "prod".into(),
            packs: vec![],
            results: vec![],
            unused_waivers: vec![],
            counts: Counts::default(),
            score: shipcheck_core::gate::score(&[]),
            gate: shipcheck_core::gate::decide(&mut [], Policy::default()),
            unreachable: Vec::new(),
        }
    }

    #[test]
    fn diff_lists_what_expired_between_runs() {
        let a = run_at("2026-01-01T00:00:00Z");
        let b = run_at("2026-03-01T00:00:00Z");
        let att = Attestation {
            item: "p:restore".into(),
            deployment: None,
            environment: None,
            by: "alice".into(),
            role: Role::Operations,
            evidence: None,
            note: String::new(),
            attested_at: "2025-12-01T00:00:00Z".into(),
            expires: Some("2026-02-01T00:00:00Z".into()),
            signature: None,
        };
        let w = |exp: &str| WaiverSpec {
            item: "p:x".into(),
            reason: "r".into(),
            owner: "o".into(),
            expires: exp.into(),
            environments: vec![],
        };
        let d = diff(1, &a, 2, &b, &[att], &[w("2026-02-10"), w("2026-06-01")]);
        assert_eq!(d.expired.len(), 2, "{:?}", d.expired);
        assert!(d.expired[0].contains("attestation of p:restore by alice"));
        assert!(d.expired[1].contains("waiver of p:x"));
    }
}
