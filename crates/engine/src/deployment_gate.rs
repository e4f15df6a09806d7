//! The gate of a deployment and environment from the ledger alone, with no profile or pack
//! at hand (a server's view): the latest run carries its manual items' rules, the roles
//! whose sign-off its profile required, its policy and the waivers it was judged with;
//! the ledger adds the attestations, waivers and sign-offs recorded since.

use shipcheck_core::outcome::Run;
use shipcheck_ledger::query::Query;
use shipcheck_ledger::{Kind, Ledger, LedgerError, parse_body};

use crate::finalize::WaiverSpec;
use crate::history::{LedgerGate, Resolved, Target, statements};

/// The latest run of `target`, when there is one: one indexed query.
pub fn latest(
    ledger: &mut Ledger,
    (deployment, environment): Target<'_>,
) -> Result<Option<(i64, Run)>, LedgerError> {
    ledger
        .select(&Query::Page {
            kind: Kind::Run.as_str().into(),
            deployment: deployment.into(),
            environment: Some(environment.into()),
            before: i64::MAX,
            limit: 1,
        })?
        .first()
        .map(parse_body::<Run>)
        .transpose()
}

/// The waivers `run` was judged with (the profile's of that time, and the ledger's), as
/// specs to apply again.
pub fn run_waivers(run: &Run) -> Vec<WaiverSpec> {
    run.results
        .iter()
        .filter_map(|r| {
            let w = r.waiver.as_ref()?;
            Some(WaiverSpec {
                item: r.qualified_id(),
                reason: w.reason.clone(),
                owner: w.owner.clone(),
                expires: w.expires.clone(),
                environments: vec![run.environment.clone()],
            })
        })
        .collect()
}

/// The gate of `target` at `now`: its latest run re-finalized with the ledger's statements,
/// as (the gate, the run's sequence number, the run as the gate sees it). `None` when the
/// target has no run.
pub fn gate(
    ledger: &mut Ledger,
    target: Target<'_>,
    now: jiff::Timestamp,
) -> Result<Option<(LedgerGate, i64, Run)>, LedgerError> {
    let Some((seq, run)) = latest(ledger, target)? else {
        return Ok(None);
    };
    let mut st = statements(ledger, target, None)?;
    st.waivers.extend(run_waivers(&run));
    let number = ledger.run_number(seq)?.unwrap_or_default();
    let policy = run.gate.policy;
    let required = run.require_signoff.clone();
    let found = Resolved { number, seq, run };
    let mut shown = found.run.clone();
    let g = crate::history::gate_from_ledger(found, &[], &st, &required, policy, now);
    // The run as the gate now sees it (attestations and waivers applied).
    crate::finalize::finalize(&mut shown, &[], &st, policy, None, now);
    Ok(Some((g, seq, shown)))
}
