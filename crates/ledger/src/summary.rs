//! Run summaries: a small row per run (its deployment, environment, time, verdict, score,
//! counts) in `run_summaries`, written in the same transaction as the run (migration 3
//! fills it for older runs), so a fleet overview or a run list reads a few hundred bytes
//! per run instead of parsing whole runs. Like the scope columns it sits outside the hash
//! chain; `ledger verify` recomputes every summary from its run and reports one that
//! disagrees.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shipcheck_core::outcome::{Counts, Run};

use crate::query::Param;
use crate::{Kind, LedgerError, Record};

/// The migration that adds the table.
pub const SUMMARY_MIGRATION: i64 = 3;

/// Both databases take the same statements.
pub const SUMMARY_SQL: &str = "CREATE TABLE run_summaries (seq BIGINT PRIMARY KEY, deployment TEXT NOT NULL, environment TEXT NOT NULL, summary TEXT NOT NULL);
     CREATE INDEX run_summaries_scope ON run_summaries (deployment, environment, seq);
     CREATE INDEX run_summaries_deployment ON run_summaries (deployment, seq);";

/// What a list shows of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub started_at: String,
    pub go: bool,
    pub score: Option<u32>,
    pub counts: Counts,
    /// Waivers that matched no item.
    pub unused_waivers: usize,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recorded_by: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The profile the run was made with, as `history` lists it (empty in summaries written
    /// before it was kept: the run itself is read for those).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile: String,
}

impl RunSummary {
    pub fn of(run: &Run) -> RunSummary {
        RunSummary {
            started_at: run.started_at.clone(),
            go: run.gate.go,
            score: run.score.value,
            counts: run.counts.clone(),
            unused_waivers: run.unused_waivers.len(),
            recorded_by: run.recorded_by.clone(),
            labels: run.labels.clone(),
            profile: run.profile.clone(),
        }
    }
}

/// One stored summary.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// The run's sequence number.
    pub seq: i64,
    pub deployment: String,
    pub environment: String,
    pub summary: RunSummary,
}

/// A stored row as the backends read it: (seq, deployment, environment, summary JSON).
pub type RawRow = (i64, String, String, String);

impl SummaryRow {
    pub fn parse((seq, deployment, environment, json): RawRow) -> Result<SummaryRow, LedgerError> {
        let summary = serde_json::from_str(&json).map_err(|e| LedgerError::Body {
            seq,
            message: format!("its run summary: {e}"),
        })?;
        Ok(SummaryRow {
            seq,
            deployment,
            environment,
            summary,
        })
    }
}

/// A read of summaries: each one indexed statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SummaryQuery {
    /// Every summary, oldest first (`ledger verify`).
    All,
    /// The newest run of each deployment and environment.
    LatestPerScope,
    /// A deployment's runs (in one environment, when given), newest first, below `before`,
    /// at most `limit`.
    Page {
        deployment: String,
        environment: Option<String>,
        before: i64,
        limit: i64,
    },
}

impl SummaryQuery {
    /// The statement, with placeholders `?N` (SQLite) or `$N` (PostgreSQL).
    pub fn sql(&self, dollar: bool) -> String {
        const COLUMNS: &str = "seq, deployment, environment, summary";
        let text = match self {
            SummaryQuery::All => format!("SELECT {COLUMNS} FROM run_summaries ORDER BY seq"),
            SummaryQuery::LatestPerScope => format!(
                "SELECT {COLUMNS} FROM run_summaries WHERE seq IN (SELECT max(seq) FROM run_summaries GROUP BY deployment, environment) ORDER BY deployment, environment"
            ),
            // Two statements, so that with an environment the index gives the order.
            SummaryQuery::Page {
                environment: Some(_),
                ..
            } => format!(
                "SELECT {COLUMNS} FROM run_summaries WHERE deployment = #1 AND environment = #2 AND seq < #3 ORDER BY seq DESC LIMIT #4"
            ),
            SummaryQuery::Page {
                environment: None, ..
            } => format!(
                "SELECT {COLUMNS} FROM run_summaries WHERE deployment = #1 AND seq < #2 ORDER BY seq DESC LIMIT #3"
            ),
        };
        crate::query::placeholders(&text, dollar)
    }

    pub fn params(&self) -> Vec<Param> {
        match self {
            SummaryQuery::All | SummaryQuery::LatestPerScope => Vec::new(),
            SummaryQuery::Page {
                deployment,
                environment,
                before,
                limit,
            } => {
                let mut p = vec![Param::Text(deployment.clone())];
                p.extend(environment.clone().map(Param::Text));
                p.extend([Param::Int(*before), Param::Int(*limit)]);
                p
            }
        }
    }
}

/// The summary row of a run record, as the append and the migration write it.
pub fn row_of(seq: i64, run: &Run) -> Result<RawRow, LedgerError> {
    let json = serde_json::to_string(&RunSummary::of(run))
        .map_err(|e| LedgerError::Invalid(e.to_string()))?;
    Ok((seq, run.deployment_id(), run.environment.clone(), json))
}

/// The rows migration 3 writes: one per run record whose body parses (one that does not is
/// left out; `ledger verify` reports it).
pub fn backfill(records: &[Record]) -> Vec<RawRow> {
    records
        .iter()
        .filter(|r| r.kind == Kind::Run.as_str())
        .filter_map(|r| {
            let run: Run = serde_json::from_str(&r.body).ok()?;
            row_of(r.seq, &run).ok()
        })
        .collect()
}

/// The first run whose stored summary is missing or differs from its run's content, or a
/// summary with no run: (seq, what is wrong).
pub fn disagreement(records: &[Record], stored: Vec<RawRow>) -> Option<(i64, String)> {
    let mut stored: BTreeMap<i64, RawRow> = stored.into_iter().map(|r| (r.0, r)).collect();
    for r in records.iter().filter(|r| r.kind == Kind::Run.as_str()) {
        let Ok(run) = serde_json::from_str::<Run>(&r.body) else {
            continue;
        };
        let expected = RunSummary::of(&run);
        let place = (run.deployment_id(), run.environment.clone());
        match stored.remove(&r.seq) {
            None => return Some((r.seq, "its run summary is missing".into())),
            Some((_, d, e, json)) => {
                // A summary written before `profile` was kept lacks it, and is right.
                let same = serde_json::from_str::<RunSummary>(&json).is_ok_and(|s| {
                    s == expected
                        || (s.profile.is_empty()
                            && s == RunSummary {
                                profile: String::new(),
                                ..expected.clone()
                            })
                });
                if !same || (d, e) != place {
                    return Some((
                        r.seq,
                        "its run summary disagrees with the run (the summary table was edited)"
                            .into(),
                    ));
                }
            }
        }
    }
    stored
        .into_keys()
        .next()
        .map(|seq| (seq, "a run summary names no run".into()))
}
