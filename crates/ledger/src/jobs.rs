//! The jobs of `shipcheck serve`'s scheduler: one row per phase run due after a deploy.
//! They are operational state beside the chain; the runs they record are chained, each
//! naming its job.
//!
//! The database is the coordinator of several replicas, with no consensus of our own: a
//! claim is one `UPDATE` of rows selected `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite
//! serialises writers), and a job's run is recorded in the same transaction that marks the
//! job done, only while the claim is still the worker's. A worker that dies leaves its
//! claim to expire (`lease_ms`, wall-clock time) and another takes the job again; whatever
//! happens, a job's run is recorded once.

use crate::query::Param;
use crate::{Ledger, LedgerError};

/// The migration that adds the jobs table.
pub const JOBS_MIGRATION: i64 = 4;

pub const JOBS_SQLITE: &str = "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, deployment TEXT NOT NULL, environment TEXT NOT NULL, phase TEXT NOT NULL, deploy_seq INTEGER NOT NULL, due_ms INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'pending', worker TEXT, lease_ms INTEGER, attempts INTEGER NOT NULL DEFAULT 0, late INTEGER NOT NULL DEFAULT 0, run_seq INTEGER, error TEXT, finished_ms INTEGER, UNIQUE (deployment, environment, phase, deploy_seq, due_ms));
     CREATE INDEX jobs_due ON jobs (state, due_ms);
     CREATE INDEX jobs_target ON jobs (deployment, environment, due_ms);
     CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, alert_seq INTEGER NOT NULL, target TEXT NOT NULL, format TEXT NOT NULL, attempt INTEGER NOT NULL, status INTEGER NOT NULL, error TEXT, at_ms INTEGER NOT NULL);
     CREATE INDEX deliveries_alert ON deliveries (alert_seq, id);";

pub const JOBS_POSTGRES: &str = "CREATE TABLE jobs (id BIGSERIAL PRIMARY KEY, deployment TEXT NOT NULL, environment TEXT NOT NULL, phase TEXT NOT NULL, deploy_seq BIGINT NOT NULL, due_ms BIGINT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', worker TEXT, lease_ms BIGINT, attempts BIGINT NOT NULL DEFAULT 0, late BIGINT NOT NULL DEFAULT 0, run_seq BIGINT, error TEXT, finished_ms BIGINT, UNIQUE (deployment, environment, phase, deploy_seq, due_ms));
     CREATE INDEX jobs_due ON jobs (state, due_ms);
     CREATE INDEX jobs_target ON jobs (deployment, environment, due_ms);
     CREATE TABLE deliveries (id BIGSERIAL PRIMARY KEY, alert_seq BIGINT NOT NULL, target TEXT NOT NULL, format TEXT NOT NULL, attempt BIGINT NOT NULL, status BIGINT NOT NULL, error TEXT, at_ms BIGINT NOT NULL);
     CREATE INDEX deliveries_alert ON deliveries (alert_seq, id);";

/// The columns every job statement returns, in [`JobRow`]'s order.
pub const COLUMNS: &str =
    "id, deployment, environment, phase, deploy_seq, due_ms, state, attempts, late, run_seq, error";

/// A job to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    pub deployment: String,
    pub environment: String,
    /// The phase it runs (`check --phase`).
    pub phase: String,
    /// The deploy it follows.
    pub deploy_seq: i64,
    /// When it is due, in the scheduler's clock (Unix milliseconds).
    pub due_ms: i64,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    pub id: i64,
    pub deployment: String,
    pub environment: String,
    pub phase: String,
    pub deploy_seq: i64,
    pub due_ms: i64,
    /// `pending`, `running`, `done`, `failed` or `superseded` (a newer deploy came first).
    pub state: String,
    pub attempts: i64,
    /// It ran later than its time allows (missed while no server was up).
    pub late: bool,
    pub run_seq: Option<i64>,
    pub error: Option<String>,
}

/// A claim of due jobs by one worker.
#[derive(Clone, Debug)]
pub struct Claim {
    pub worker: String,
    /// The scheduler's clock now (Unix ms): jobs due by then are taken.
    pub now_ms: i64,
    /// A job taken this much after its time is marked late.
    pub late_after_ms: i64,
    /// Wall-clock time now and the end of the claim (Unix ms): a running job whose claim
    /// ended is taken again.
    pub wall_ms: i64,
    pub lease_until_ms: i64,
    pub limit: i64,
}

/// What marks a job done in the transaction that records its run.
#[derive(Clone, Debug)]
pub struct Done {
    pub job: i64,
    pub worker: String,
}

/// The statement, in the same transaction as the run's record, that marks the job done
/// only while `worker` holds it: (seq, finished_ms, job, worker).
pub const DONE_SQL: &str = "UPDATE jobs SET state = 'done', run_seq = #1, finished_ms = #2, worker = NULL WHERE id = #3 AND state = 'running' AND worker = #4";

/// How many times a job is tried before it is marked failed.
pub const MAX_ATTEMPTS: i64 = 3;

impl Ledger {
    /// Adds jobs (those already there are kept as they are), then supersedes the pending
    /// jobs of earlier deploys of the same deployments. Returns the jobs added.
    pub fn add_jobs(&mut self, jobs: &[NewJob]) -> Result<Vec<JobRow>, LedgerError> {
        let mut added = Vec::new();
        for j in jobs {
            added.extend(self.backend.jobs(
                &format!(
                    "INSERT INTO jobs (deployment, environment, phase, deploy_seq, due_ms) VALUES (#1, #2, #3, #4, #5) ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
                ),
                vec![
                    Param::Text(j.deployment.clone()),
                    Param::Text(j.environment.clone()),
                    Param::Text(j.phase.clone()),
                    Param::Int(j.deploy_seq),
                    Param::Int(j.due_ms),
                ],
            )?);
        }
        // Once per deployment and environment, for its latest deploy among these.
        let mut latest: std::collections::BTreeMap<(&str, &str), i64> = Default::default();
        for j in jobs {
            let seq = latest
                .entry((j.deployment.as_str(), j.environment.as_str()))
                .or_default();
            *seq = (*seq).max(j.deploy_seq);
        }
        for ((deployment, environment), deploy_seq) in latest {
            self.backend.jobs(
                &format!(
                    "UPDATE jobs SET state = 'superseded' WHERE deployment = #1 AND environment = #2 AND deploy_seq < #3 AND state = 'pending' RETURNING {COLUMNS}"
                ),
                vec![
                    Param::Text(deployment.into()),
                    Param::Text(environment.into()),
                    Param::Int(deploy_seq),
                ],
            )?;
        }
        Ok(added)
    }

    /// Takes up to `claim.limit` jobs that are due (or whose claim ended), oldest first.
    pub fn claim_jobs(&mut self, claim: &Claim) -> Result<Vec<JobRow>, LedgerError> {
        let lock = if self.backend.is_postgres() {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        self.backend.jobs(
            &format!(
                "UPDATE jobs SET state = 'running', worker = #1, lease_ms = #2, attempts = attempts + 1, late = CASE WHEN #3 - due_ms > #4 THEN 1 ELSE late END WHERE id IN (SELECT id FROM jobs WHERE ((state = 'pending' AND due_ms <= #3) OR (state = 'running' AND lease_ms < #5)) AND attempts < #6 ORDER BY due_ms, id LIMIT #7{lock}) RETURNING {COLUMNS}"
            ),
            vec![
                Param::Text(claim.worker.clone()),
                Param::Int(claim.lease_until_ms),
                Param::Int(claim.now_ms),
                Param::Int(claim.late_after_ms),
                Param::Int(claim.wall_ms),
                Param::Int(MAX_ATTEMPTS),
                Param::Int(claim.limit),
            ],
        )
    }

    /// A try of `job` by `worker` failed: it is pending again, or failed for good after
    /// [`MAX_ATTEMPTS`] tries.
    pub fn fail_job(&mut self, job: i64, worker: &str, error: &str) -> Result<(), LedgerError> {
        self.backend.jobs(
            &format!(
                "UPDATE jobs SET state = CASE WHEN attempts >= #1 THEN 'failed' ELSE 'pending' END, worker = NULL, error = #2 WHERE id = #3 AND worker = #4 RETURNING {COLUMNS}"
            ),
            vec![
                Param::Int(MAX_ATTEMPTS),
                Param::Text(error.chars().take(2000).collect()),
                Param::Int(job),
                Param::Text(worker.to_string()),
            ],
        )?;
        Ok(())
    }

    /// Extends `worker`'s claim on running `job` to `lease_until_ms` (wall clock), while
    /// its check runs.
    pub fn renew_job(
        &mut self,
        job: i64,
        worker: &str,
        lease_until_ms: i64,
    ) -> Result<bool, LedgerError> {
        let renewed = self.backend.jobs(
            &format!(
                "UPDATE jobs SET lease_ms = #1 WHERE id = #2 AND worker = #3 AND state = 'running' RETURNING {COLUMNS}"
            ),
            vec![
                Param::Int(lease_until_ms),
                Param::Int(job),
                Param::Text(worker.to_string()),
            ],
        )?;
        Ok(!renewed.is_empty())
    }

    /// The jobs of `deployment`, by due time.
    pub fn jobs_of(&mut self, deployment: &str) -> Result<Vec<JobRow>, LedgerError> {
        self.backend.jobs(
            &format!("SELECT {COLUMNS} FROM jobs WHERE deployment = #1 ORDER BY due_ms, id"),
            vec![Param::Text(deployment.to_string())],
        )
    }

    /// Records the run of a job and marks the job done, in one transaction; `None` (and
    /// nothing recorded) when the job is no longer `done.worker`'s.
    pub fn record_job_run(
        &mut self,
        run: &shipcheck_core::outcome::Run,
        done: &Done,
    ) -> Result<Option<i64>, LedgerError> {
        match self.record_run_with(run, Some(done)) {
            Ok(seq) => Ok(Some(seq)),
            Err(LedgerError::JobTaken(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
