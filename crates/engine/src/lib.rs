//! The engine: a run is plan → execute → finalize.
//!
//! - [`plan`] resolves the profile's packs, environment, variables and phase into one
//!   decision per item (run, attest, not applicable, error), with the reason.
//! - [`execute`] runs the checks concurrently, bounded, each under a timeout; [`judge`]
//!   turns each observation into pass / fail / warn / error with evidence.
//! - [`finalize`] applies attestations, waivers and sign-offs at a given time, then the
//!   gate and the score. `check` and `gate` share it.
//!
//! [`history`] reads recorded runs back from the ledger; [`attest`] validates what people
//! record.

pub mod attest;
pub mod deployment_gate;
pub mod drift;
pub mod endpoint;
pub mod execute;
pub mod finalize;
pub mod history;
pub mod judge;
pub mod plan;
pub mod remedies;
pub mod signing;
mod workers;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shipcheck_core::gate::Policy;
use shipcheck_core::outcome::{Counts, ItemResult, PackRef, RUN_SCHEMA, Run};
use shipcheck_core::pack::Phase;
use shipcheck_core::profile::Profile;
use shipcheck_core::redact::Redactor;

pub use finalize::{Statements, WaiverSpec, finalize};
pub use plan::{Decision, Plan, plan};

/// Errors that stop a command before or outside of a run. Problems found while judging are
/// item results, not errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A pack, profile or variable is invalid, or the usage makes no sense.
    #[error(transparent)]
    Core(#[from] shipcheck_core::Error),
    /// The ledger could not be opened, read or written.
    #[error(transparent)]
    Ledger(#[from] shipcheck_ledger::LedgerError),
    /// No run of the profile and environment is recorded.
    #[error("no recorded run of {} in environment {environment}: run `shipcheck check` first", profile.display())]
    NoRun {
        profile: std::path::PathBuf,
        environment: String,
    },
    /// `latest~N` names a run before the first one.
    #[error("no run {name}: {scope} holds {total} recorded run(s)")]
    NoSuchRun {
        name: String,
        scope: String,
        total: usize,
    },
    /// `diff --baseline` without a recorded baseline.
    #[error("no baseline recorded: run `shipcheck baseline RUN`")]
    NoBaseline,
    /// `diff` needs two recorded runs of the profile and environment.
    #[error("fewer than two recorded runs of {} in environment {environment}", profile.display())]
    FewerThanTwoRuns {
        profile: std::path::PathBuf,
        environment: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

impl Error {
    /// A usage error (exit code 2).
    pub fn usage(message: String) -> Self {
        Error::Core(shipcheck_core::Error::Usage(message))
    }
}

/// Progress callback: (items finished, items to run).
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How to run.
#[derive(Clone)]
pub struct Options {
    /// Environment to check (default: the profile's).
    pub environment: Option<String>,
    /// Only this phase's items (default: all).
    pub phase: Option<Phase>,
    /// Run no program: items that would are not_applicable.
    pub no_exec: bool,
    pub policy: Policy,
    /// Checks running at once.
    pub concurrency: usize,
    pub progress: Option<Progress>,
    /// Attestations and waivers recorded in the ledger (the profile's waivers are added,
    /// unless `statements.profile_waivers` refuses them).
    pub statements: Statements,
    /// A runtime to run the checks on (a server's); default: one of the run's own.
    pub runtime: Option<tokio::runtime::Handle>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            environment: None,
            phase: None,
            no_exec: false,
            policy: Policy::default(),
            concurrency: 8,
            progress: None,
            statements: Statements::default(),
            runtime: None,
        }
    }
}

/// Runs a profile: plan, execute, finalize.
pub fn run(profile: &Profile, opts: &Options) -> Result<Run, Error> {
    let started = (Instant::now(), jiff::Timestamp::now());
    prewarm();
    // A broken allowed_signers file stops the run before anything is probed.
    let signers = signing::allowed_signers(profile)?;
    let plan = plan::plan(
        profile,
        opts.environment.as_deref(),
        opts.phase,
        opts.no_exec,
    )?;
    run_plan(profile, &plan, signers, opts, started)
}

/// Runs a plan already made of `profile` with `opts`' environment, phase and `no_exec`
/// (a caller that needs the plan too, as `fix` does, makes it once).
pub fn run_planned(profile: &Profile, plan: &Plan, opts: &Options) -> Result<Run, Error> {
    let started = (Instant::now(), jiff::Timestamp::now());
    prewarm();
    let signers = signing::allowed_signers(profile)?;
    run_plan(profile, plan, signers, opts, started)
}

/// What every run needs once per process, done on a thread of its own while the caller
/// plans (single-threaded): the jq standard definitions (see [`shipcheck_core::jq::prewarm`]).
/// Nothing waits for it; a check that needs it first waits only for what is left.
fn prewarm() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // A thread that cannot start changes nothing: the first check does the work.
        let _ = std::thread::Builder::new()
            .name("shipcheck-prewarm".into())
            .spawn(shipcheck_core::jq::prewarm);
    });
}

fn run_plan(
    profile: &Profile,
    plan: &Plan,
    signers: Option<shipcheck_sign::AllowedSigners>,
    opts: &Options,
    (started, started_at): (Instant, jiff::Timestamp),
) -> Result<Run, Error> {
    let mut slots: Vec<Option<ItemResult>> = Vec::with_capacity(plan.items.len());
    let mut todo = Vec::new();
    for (idx, p) in plan.items.iter().enumerate() {
        match p.decision.status() {
            Some(status) => slots.push(Some(plan.blank(p.at, status, p.decision.reason().into()))),
            None => {
                slots.push(None);
                todo.push((idx, p.at));
            }
        }
    }
    // Endpoints first, once each: the items of one that does not answer are settled here.
    let prechecked = endpoint::precheck(plan, &todo);
    let to_probe: Vec<(usize, plan::At)> = todo
        .iter()
        .filter(|(idx, _)| !prechecked.settled.contains_key(idx))
        .copied()
        .collect();
    // Each evaluation becomes its result as it arrives (holding 100,000 evaluations until
    // the last one was most of a large run's memory), except the few items whose secret is
    // compared with other items' (`distinct_from`, `same_as`): they wait for all of them.
    let mut redactor = Redactor::default();
    plan.secret_values.iter().for_each(|s| redactor.add(s));
    // Secret name → (slot, item, value); the last item in plan order wins, as the arrival
    // order is not fixed.
    let mut named: HashMap<String, (usize, String, String)> = HashMap::new();
    let mut held: Vec<(usize, judge::Evaluated)> = Vec::new();
    {
        let mut take = |idx: usize, ev: judge::Evaluated| {
            let at = plan.items[idx].at;
            ev.secrets.iter().for_each(|s| redactor.add(s));
            if let Some((name, value)) = &ev.named_secret {
                let later = named.get(name).is_none_or(|(seen, _, _)| *seen < idx);
                if later {
                    let qualified = plan.qualified(at).to_string();
                    named.insert(name.clone(), (idx, qualified, value.clone()));
                }
            }
            if plan
                .item(at)
                .check
                .as_deref()
                .is_some_and(|c| c.secret_spec().is_some())
            {
                held.push((idx, ev));
            } else {
                slots[idx] = Some(result_of(plan, at, ev));
            }
        };
        execute::execute(plan, &to_probe, &profile.dir, opts, &mut take)?;
        for (idx, ev) in prechecked.settled {
            take(idx, ev);
        }
    }
    let named: HashMap<String, (String, String)> = named
        .into_iter()
        .map(|(name, (_, id, value))| (name, (id, value)))
        .collect();
    for (idx, mut ev) in held {
        let at = plan.items[idx].at;
        judge::check_reuse(plan.item(at), &plan.pack(at).pack.name, &named, &mut ev);
        slots[idx] = Some(result_of(plan, at, ev));
    }

    // Every slot is filled by now; mapped (not flattened) so the Vec is reused in place
    // rather than grown anew by doubling (a 100,000-item run's largest allocation).
    let results: Vec<ItemResult> = slots
        .into_iter()
        .enumerate()
        .map(|(idx, slot)| {
            slot.unwrap_or_else(|| {
                let at = plan.items[idx].at;
                plan.blank(
                    at,
                    shipcheck_core::outcome::Status::Error,
                    "internal: no result".into(),
                )
            })
        })
        .collect();
    let mut run = Run {
        schema: RUN_SCHEMA.into(),
        shipcheck_version: env!("CARGO_PKG_VERSION").into(),
        started_at: started_at.to_string(),
        duration_ms: 0,
        profile: profile.path.display().to_string(),
        profile_id: profile.id(),
        deployment: profile.deployment().to_string(),
        labels: profile.labels(),
        recorded_by: String::new(),
        require_signoff: profile.file.gate.require_signoff.clone(),
        allowed_signers: signers.as_ref().map(|s| s.text.clone()),
        phase: opts.phase,
        schedule: profile.file.schedule.clone(),
        scheduled: None,
        profile_digest: profile.digest.clone(),
        environment: plan.environment.clone(),
        packs: plan
            .packs
            .iter()
            .map(|lp| PackRef {
                name: lp.pack.name.clone(),
                version: lp.pack.version.clone(),
                title: lp.pack.title.clone(),
                origin: lp.origin.clone(),
            })
            .collect(),
        counts: Counts::of(&results),
        results,
        unused_waivers: Vec::new(),
        score: shipcheck_core::gate::score(&[]),
        gate: shipcheck_core::gate::decide(&mut [], opts.policy),
        unreachable: prechecked.unreachable,
    };
    let mut statements = opts.statements.clone();
    // Signed attestations count only when the profile's signers allow them (every caller:
    // `check`, the scheduler).
    signing::screen(&mut statements, signers.as_ref());
    finalize::add_profile_waivers(&mut statements, profile);
    finalize(
        &mut run,
        &plan.packs,
        &statements,
        opts.policy,
        None,
        started_at,
    );
    for r in &mut run.results {
        finalize::redact(&redactor, r);
    }
    for reason in &mut run.gate.reasons {
        redactor.scrub_in_place(reason);
    }
    for u in &mut run.unreachable {
        redactor.scrub_in_place(&mut u.url);
        redactor.scrub_in_place(&mut u.reason);
    }
    run.duration_ms = started.elapsed().as_millis() as u64;
    Ok(run)
}

/// Default time allowed for one check.
pub const DEFAULT_TIMEOUT: Duration = execute::DEFAULT_TIMEOUT;

/// The result of an evaluated item.
fn result_of(plan: &plan::Plan, at: plan::At, ev: judge::Evaluated) -> ItemResult {
    let mut r = plan.blank(at, ev.status, ev.summary);
    r.evidence = ev.evidence;
    r.duration_ms = ev.duration.as_millis() as u64;
    r
}
