//! After a scheduled run: the first run of a deploy becomes the deployment's baseline;
//! each later one is compared with it ([`shipcheck_engine::drift`]), and drift is recorded
//! as an alert in the ledger and sent to the webhooks.

use std::sync::Arc;

use shipcheck_core::outcome::Run;
use shipcheck_core::pack::Phase;
use shipcheck_core::statement::{Alert, Attestation, Baseline};
use shipcheck_ledger::jobs::JobRow;
use shipcheck_ledger::{Kind, Ledger, LedgerError};

use crate::state::App;
use crate::webhook::Webhook;

/// Where alerts go.
#[derive(Clone, Debug, Default)]
pub struct Alerting {
    pub webhooks: Vec<Webhook>,
    /// The HMAC key of the signatures (`$SHIPCHECK_WEBHOOK_SECRET`).
    pub secret: Option<Vec<u8>>,
}

/// Records the baseline, or the alert, that run `seq` of `job` leads to.
pub async fn after_run(
    app: &Arc<App>,
    alerting: &Alerting,
    job: &JobRow,
    seq: i64,
    run: Run,
    settings: shipcheck_core::schedule::Alerts,
) {
    let job = job.clone();
    let now = app.clock.now();
    let raised = app
        .ledger(move |l| baseline_or_alert(l, &job, seq, &run, &settings, now))
        .await;
    match raised {
        Ok(Some((alert_seq, alert))) => crate::webhook::deliver(
            app,
            &alerting.webhooks,
            alerting.secret.as_deref(),
            alert_seq,
            &alert,
        ),
        Ok(None) => {}
        Err(e) => eprintln!("shipcheck serve: drift of run {seq}: {e}"),
    }
}

fn baseline_or_alert(
    l: &mut Ledger,
    job: &JobRow,
    seq: i64,
    run: &Run,
    settings: &shipcheck_core::schedule::Alerts,
    now: jiff::Timestamp,
) -> Result<Option<(i64, Alert)>, LedgerError> {
    let (deployment, environment) = (job.deployment.as_str(), job.environment.as_str());
    // The jobs of the same deploy (a deploy record is one deployment's in one environment).
    let of_deploy: Vec<JobRow> = l
        .jobs_of(deployment)?
        .into_iter()
        .filter(|j| j.deploy_seq == job.deploy_seq)
        .collect();
    // The deploy's first immediate run is its baseline.
    let first_of_deploy = job.phase == Phase::PostDeployImmediate.as_str()
        && !of_deploy
            .iter()
            .any(|j| j.id != job.id && j.phase == job.phase && j.run_seq.is_some_and(|r| r < seq));
    if first_of_deploy {
        l.record_baseline(&Baseline {
            run: seq,
            deployment: Some(deployment.into()),
            environment: Some(environment.into()),
            at: now.to_string(),
        })?;
        return Ok(None);
    }
    let Some(base_seq) = crate::fleet::baseline(l, deployment, Some(environment))? else {
        return Ok(None);
    };
    // Each item's baseline is its first observation after the deploy: the first run of
    // each phase of this deploy, from the baseline on.
    let mut firsts: Vec<i64> = Vec::new();
    let mut phases = std::collections::BTreeSet::new();
    let mut done: Vec<(i64, String)> = of_deploy
        .into_iter()
        .filter_map(|j| Some((j.run_seq?, j.phase)))
        .filter(|(r, _)| *r >= base_seq && *r < seq)
        .collect();
    done.sort();
    for (run_seq, phase) in done {
        if phases.insert(phase) {
            firsts.push(run_seq);
        }
    }
    if !firsts.contains(&base_seq) {
        firsts.insert(0, base_seq);
    }
    let runs = firsts
        .iter()
        .map(|s| l.run(*s))
        .collect::<Result<Vec<Run>, _>>()?;
    let baseline = shipcheck_engine::drift::reference(&runs);
    let attestations: Vec<Attestation> = l
        .scoped::<Attestation>(Kind::Attestation, deployment, environment)?
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    let findings = shipcheck_engine::drift::findings(&baseline, run, &attestations, settings, now);
    if findings.is_empty() {
        return Ok(None);
    }
    let alert = Alert {
        deployment: deployment.into(),
        environment: environment.into(),
        run: seq,
        baseline: base_seq,
        phase: Some(job.phase.clone()),
        raised_at: now.to_string(),
        findings,
    };
    let alert_seq = l.record_alert(&alert)?;
    Ok(Some((alert_seq, alert)))
}
