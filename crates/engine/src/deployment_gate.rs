//! The gate of a deployment and environment from the ledger alone, with no profile or pack
//! at hand (a server's view): the latest run carries its manual items' rules, the roles
//! whose sign-off its profile required, its policy and the waivers it was judged with;
//! the ledger adds the attestations, waivers and sign-offs recorded since.

use shipcheck_core::outcome::Run;
use shipcheck_ledger::{Ledger, LedgerError};

use crate::finalize::WaiverSpec;
use crate::history::{Target, statements};

/// The latest run of `target`, when there is one: one indexed query.
pub fn latest(
    ledger: &mut Ledger,
    (deployment, environment): Target<'_>,
) -> Result<Option<(i64, Run)>, LedgerError> {
    Ok(ledger.latest_runs_in(deployment, environment, 1)?.pop())
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

/// The gate of `target` at `now`: its latest run re-finalized with the ledger's statements.
/// `None` when the target has no run. The run is named by its sequence number (a server's
/// run id) in the reasons.
pub fn gate(
    ledger: &mut Ledger,
    target: Target<'_>,
    now: jiff::Timestamp,
) -> Result<Option<Gated>, LedgerError> {
    let Some((seq, run)) = latest(ledger, target)? else {
        return Ok(None);
    };
    gate_of(ledger, target, seq, run, now).map(Some)
}

/// A run re-finalized by [`gate`].
#[derive(Clone, Debug)]
pub struct Gated {
    /// The run's sequence number.
    pub seq: i64,
    /// The run as the gate sees it now: attestations and waivers applied, its verdict.
    pub run: Run,
    /// Sign-offs on it, and the required roles without one.
    pub signoffs: crate::finalize::Finalized,
    /// When each attestation and waiver that applied ends, and when each item not yet due
    /// falls due: the gate can change with time only at these instants.
    pub expiries: Vec<jiff::Timestamp>,
    /// The last deploy of the deployment in the environment.
    pub deployed_at: Option<jiff::Timestamp>,
}

/// [`gate`] of run `seq` (already read) of `target`.
pub fn gate_of(
    ledger: &mut Ledger,
    target: Target<'_>,
    seq: i64,
    mut run: Run,
    now: jiff::Timestamp,
) -> Result<Gated, LedgerError> {
    let mut st = statements(ledger, target, None)?;
    st.waivers.extend(run_waivers(&run));
    let policy = run.gate.policy;
    let required = run.require_signoff.clone();
    let signers = run_signers(&run);
    crate::signing::screen(&mut st, signers.as_ref());
    let digest = match &signers {
        Some(_) => shipcheck_sign::message::run_digest(&ledger.run_record(seq)?.body),
        None => String::new(),
    };
    let rule = crate::finalize::SignoffRule {
        run: seq,
        number: seq as u64,
        required: &required,
        signers: signers.as_ref().map(|s| (s, digest.as_str())),
    };
    let signoffs = crate::finalize::finalize(&mut run, &[], &st, policy, Some(rule), now);
    let expiries = st
        .attestations
        .iter()
        .filter_map(|a| a.expires.as_deref())
        .chain(st.waivers.iter().map(|w| w.expires.as_str()))
        .filter_map(|e| shipcheck_core::profile::expiry(e).ok())
        .chain(
            run.results
                .iter()
                .filter_map(|r| r.not_due.as_ref()?.at.as_deref()?.parse().ok()),
        )
        .collect();
    Ok(Gated {
        seq,
        run,
        signoffs,
        expiries,
        deployed_at: st.deployed_at,
    })
}

/// The allowed signers `run`'s profile named, as recorded in it. A recorded file that no
/// longer parses allows no one (the gate then counts no sign-off, and says why).
pub fn run_signers(run: &Run) -> Option<shipcheck_sign::AllowedSigners> {
    let text = run.allowed_signers.as_deref()?;
    let name = "the run's allowed_signers";
    Some(
        shipcheck_sign::AllowedSigners::parse(name, text).unwrap_or_else(|e| {
            shipcheck_sign::AllowedSigners::empty(&format!("{name}, which does not parse ({e})"))
        }),
    )
}
