//! The fleet: every deployment × environment with its latest run, and a deployment's runs
//! over time, from the run summaries (`ledger::summary`): a fixed number of indexed
//! queries per row, whatever the size of the ledger.

use shipcheck_ledger::query::Query;
use shipcheck_ledger::summary::SummaryQuery;
use shipcheck_ledger::{Kind, Ledger, LedgerError};

use crate::model::GateView;
use crate::model::{FleetRow, RunBrief};

/// How many scores the trend shows.
pub const TREND: i64 = 8;
/// The most runs one page of a deployment lists.
pub const MAX_PAGE: i64 = 200;

/// The fleet overview, filtered by labels (all must match), sorted by deployment and
/// environment. Costs one query for the latest runs and one per row for its trend.
pub fn overview(
    ledger: &mut Ledger,
    labels: &[(String, String)],
    now: jiff::Timestamp,
    cache: &GateCache,
) -> Result<Vec<FleetRow>, LedgerError> {
    let latest = ledger.run_summaries(&SummaryQuery::LatestPerScope)?;
    let mut rows = Vec::with_capacity(latest.len());
    for row in latest {
        let brief = RunBrief::of(row);
        if !labels
            .iter()
            .all(|(k, v)| brief.labels.get(k).is_some_and(|x| x == v))
        {
            continue;
        }
        let mut trend: Vec<Option<u32>> = runs(
            ledger,
            &brief.deployment,
            Some(&brief.environment),
            None,
            TREND,
        )?
        .iter()
        .map(|r| r.score)
        .collect();
        trend.reverse();
        let gate = cache.gate(ledger, &brief)?;
        rows.push(FleetRow {
            gate,
            deployment: brief.deployment.clone(),
            environment: brief.environment.clone(),
            labels: brief.labels.clone(),
            age_seconds: brief.age_seconds(now),
            latest: brief,
            trend,
        });
    }
    Ok(rows)
}

/// The fleet's gates, each kept until a record of its deployment is written (told by a few
/// index lookups) or the time comes when it would change by itself (an attestation or a
/// waiver ending). Recomputing a gate reads its whole run.
#[derive(Default)]
pub struct GateCache {
    entries: std::sync::Mutex<std::collections::HashMap<(String, String), Cached>>,
}

/// A cached gate: the deployment's highest record number when it was computed, and until
/// when it holds (`None`: until a write).
type Cached = (i64, Option<jiff::Timestamp>, GateView);

impl GateCache {
    /// The gate of the row's deployment and environment, whose latest run is `brief`.
    pub fn gate(&self, ledger: &mut Ledger, brief: &RunBrief) -> Result<GateView, LedgerError> {
        let key = (brief.deployment.clone(), brief.environment.clone());
        let mark = ledger.max_seq(&brief.deployment)?.unwrap_or_default();
        let now = jiff::Timestamp::now();
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((seen, until, view)) = entries.get(&key)
            && *seen == mark
            && until.is_none_or(|t| now < t)
        {
            return Ok(view.clone());
        }
        let (view, until) = crate::statements::gate_of_latest(
            ledger,
            &brief.deployment,
            &brief.environment,
            brief.id,
        )?;
        entries.insert(key, (mark, until, view.clone()));
        Ok(view)
    }
}

/// A deployment's runs (in one environment, or all), newest first, before run `before`,
/// at most `limit` (capped at [`MAX_PAGE`]).
pub fn runs(
    ledger: &mut Ledger,
    deployment: &str,
    environment: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<RunBrief>, LedgerError> {
    Ok(ledger
        .run_summaries(&SummaryQuery::Page {
            deployment: deployment.into(),
            environment: environment.map(str::to_string),
            before: before.unwrap_or(i64::MAX),
            limit: limit.clamp(1, MAX_PAGE),
        })?
        .into_iter()
        .map(RunBrief::of)
        .collect())
}

/// The id of the deployment's latest baseline run (in the environment, when given).
pub fn baseline(
    ledger: &mut Ledger,
    deployment: &str,
    environment: Option<&str>,
) -> Result<Option<i64>, LedgerError> {
    let found = ledger.select(&Query::Page {
        kind: Kind::Baseline.as_str().into(),
        deployment: deployment.into(),
        environment: environment.map(str::to_string),
        before: i64::MAX,
        limit: 1,
    })?;
    found
        .first()
        .map(|r| {
            shipcheck_ledger::parse_body::<shipcheck_core::statement::Baseline>(r)
                .map(|(_, b)| b.run)
        })
        .transpose()
}
