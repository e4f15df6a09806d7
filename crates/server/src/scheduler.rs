//! The scheduler of `shipcheck serve --watch`: a deploy of a watched deployment (recorded
//! by `shipcheck deployed` or `POST /api/v1/deployments/NAME/deploys`) starts the clock,
//! and each phase's check runs at its time: post-deploy-immediate at once and again after
//! 15 minutes, first-hour, first-day and first-week at the profile's offsets, periodic
//! every `schedule.every`.
//!
//! The jobs live in the database ([`shipcheck_ledger::jobs`]), so a restart resumes them
//! and replicas on one PostgreSQL ledger share them: each job's run is recorded once. A job
//! missed while no server was up runs once when one starts, marked late.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use shipcheck_core::outcome::Scheduled;
use shipcheck_core::pack::Phase;
use shipcheck_core::profile::Profile;
use shipcheck_core::schedule::Schedule;
use shipcheck_ledger::jobs::{Claim, Done, JobRow, NewJob};

use crate::clock::to_timestamp;
use crate::state::App;

/// The second run of the immediate phase, after the deploy.
pub const IMMEDIATE_AGAIN: Duration = Duration::from_secs(15 * 60);
/// Jobs one server runs at once.
pub const CONCURRENCY: usize = 8;

/// How the scheduler runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The profiles it runs, each for its deployment and default environment.
    pub watch: Vec<PathBuf>,
    /// How often it looks for due jobs (wall-clock time).
    pub poll: Duration,
    /// How long a claim on a job lasts before another server may take it (wall-clock).
    pub lease: Duration,
    /// Where drift alerts go.
    pub alerting: crate::drift::Alerting,
}

/// A watched deployment.
#[derive(Clone, Debug)]
struct Watched {
    profile: PathBuf,
    deployment: String,
    environment: String,
    schedule: Schedule,
}

/// The profiles `paths` name: files, or folders whose `*/shipcheck.yaml` (and own
/// `shipcheck.yaml`) are read. Each must load.
fn watched(paths: &[PathBuf]) -> Result<Vec<Watched>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let own = p.join("shipcheck.yaml");
            if own.is_file() {
                files.push(own);
            }
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("--watch {}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path().join("shipcheck.yaml")))
                .filter(|f| f.is_file())
                .collect();
            entries.sort();
            files.extend(entries);
        } else {
            files.push(p.clone());
        }
    }
    files
        .into_iter()
        .map(|f| {
            let profile = Profile::load(&f).map_err(|e| format!("--watch {}: {e}", f.display()))?;
            let packs = shipcheck_core::include::load_packs(&profile)
                .map_err(|e| format!("--watch {}: {e}", f.display()))?;
            Ok(Watched {
                deployment: profile.deployment().to_string(),
                environment: profile
                    .environment(None)
                    .map_err(|e| format!("--watch {}: {e}", f.display()))?,
                schedule: periodic_schedule(&profile.file.schedule, &packs),
                profile: std::path::absolute(&f).unwrap_or(f),
            })
        })
        .collect()
}

/// The profile's schedule, its periodic interval the shortest of its own and its periodic
/// items' `every`: a periodic run checks every item, so it runs as often as the most
/// frequent one needs.
fn periodic_schedule(
    schedule: &Schedule,
    packs: &[Arc<shipcheck_core::pack::LoadedPack>],
) -> Schedule {
    let shortest = packs
        .iter()
        .flat_map(|lp| lp.pack.sections.iter().flat_map(|s| s.items.iter()))
        .filter_map(|i| i.every)
        .map(|s| s.0)
        .chain([schedule.every()])
        .min()
        .unwrap_or_else(|| schedule.every());
    schedule.clone().with_every(shortest)
}

/// The jobs a deploy at `deployed_ms` (in the clock's time) starts.
pub fn jobs_of_deploy(
    w: (&str, &str),
    deploy_seq: i64,
    deployed_ms: i64,
    schedule: &Schedule,
) -> Vec<NewJob> {
    let at = |phase: Phase, offset: Duration| NewJob {
        deployment: w.0.to_string(),
        environment: w.1.to_string(),
        phase: phase.as_str().to_string(),
        deploy_seq,
        due_ms: deployed_ms.saturating_add(offset.as_millis() as i64),
    };
    let mut jobs = Vec::new();
    for phase in Phase::ALL {
        if let Some(offset) = schedule.offset(phase) {
            jobs.push(at(phase, offset));
        }
    }
    let immediate = schedule
        .offset(Phase::PostDeployImmediate)
        .unwrap_or_default();
    jobs.push(at(Phase::PostDeployImmediate, immediate + IMMEDIATE_AGAIN));
    jobs
}

/// Starts the scheduler on the current runtime. `Err` names a watched profile that does
/// not load.
pub fn start(app: Arc<App>, settings: Settings) -> Result<(), String> {
    let watched = watched(&settings.watch)?;
    if watched.is_empty() {
        return Ok(());
    }
    let worker = format!(
        "{}-{}",
        std::process::id(),
        crate::session::random_hex().map_err(|e| e.to_string())?
    );
    tokio::spawn(run(app, settings, watched, worker));
    Ok(())
}

async fn run(app: Arc<App>, settings: Settings, watched: Vec<Watched>, worker: String) {
    let clock = app.clock;
    let busy = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut seen = 0;
    loop {
        if let Err(e) = plan(&app, &watched, &mut seen).await {
            eprintln!("shipcheck serve: scheduler: {e}");
        }
        let free = busy.available_permits();
        let mut full = free == 0;
        if free > 0 {
            let wall = jiff::Timestamp::now().as_millisecond();
            let claim = Claim {
                worker: worker.clone(),
                now_ms: clock.now_ms(),
                late_after_ms: clock.of_wall(settings.poll * 3).max(60_000),
                wall_ms: wall,
                lease_until_ms: wall + settings.lease.as_millis() as i64,
                limit: free as i64,
            };
            match app.ledger(move |l| l.claim_jobs(&claim)).await {
                Ok(jobs) => {
                    // As many as it could take: more may be due.
                    full = jobs.len() == free;
                    for job in jobs {
                        let Some(w) = watched
                            .iter()
                            .find(|w| {
                                w.deployment == job.deployment && w.environment == job.environment
                            })
                            .cloned()
                        else {
                            // Every replica on a ledger must watch the same profiles.
                            let (id, w) = (job.id, worker.clone());
                            let why = format!(
                                "a server that does not watch {} in {} took it: give every replica the same --watch",
                                job.deployment, job.environment
                            );
                            let _ = app.ledger(move |l| l.fail_job(id, &w, &why)).await;
                            continue;
                        };
                        let Ok(permit) = Arc::clone(&busy).acquire_owned().await else {
                            return;
                        };
                        let (app, worker) = (Arc::clone(&app), worker.clone());
                        let (lease, alerting) = (settings.lease, settings.alerting.clone());
                        tokio::spawn(async move {
                            run_job(&app, &w, job, &worker, lease, &alerting).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => eprintln!("shipcheck serve: scheduler: {e}"),
            }
        }
        if full {
            // Every slot is busy, or more jobs may be due: go on as soon as a slot frees.
            match Arc::clone(&busy).acquire_owned().await {
                Ok(permit) => drop(permit),
                Err(_) => return,
            }
        } else {
            tokio::time::sleep(settings.poll).await;
        }
    }
}

/// Adds the jobs of the deploys recorded since `seen` (a deploy record's sequence
/// number) for the watched deployments: one indexed read of the new deploy records per
/// poll, however many deployments are watched.
async fn plan(
    app: &App,
    watched: &[Watched],
    seen: &mut i64,
) -> Result<(), crate::error::ApiError> {
    loop {
        let after = *seen;
        let records = app
            .ledger(move |l| {
                l.select(&shipcheck_ledger::query::Query::After {
                    kind: shipcheck_ledger::Kind::Deploy.as_str().into(),
                    after,
                    limit: 500,
                })
            })
            .await?;
        let Some(last) = records.last().map(|r| r.seq) else {
            return Ok(());
        };
        let mut jobs = Vec::new();
        for r in &records {
            let Ok((seq, d)) = shipcheck_ledger::parse_body::<shipcheck_core::statement::Deploy>(r)
            else {
                continue;
            };
            let Some(w) = watched
                .iter()
                .find(|w| w.deployment == d.deployment && w.environment == d.environment)
            else {
                continue;
            };
            let Ok(at) = d.deployed_at.parse::<jiff::Timestamp>() else {
                continue;
            };
            jobs.extend(jobs_of_deploy(
                (&w.deployment, &w.environment),
                seq,
                at.as_millisecond(),
                &w.schedule,
            ));
        }
        if !jobs.is_empty() {
            app.ledger(move |l| l.add_jobs(&jobs)).await?;
        }
        *seen = last;
        if records.len() < 500 {
            return Ok(());
        }
    }
}

/// Runs one job: the profile's check for the job's phase, recorded with the job marked
/// done in the same transaction; a periodic job adds the next one.
async fn run_job(
    app: &Arc<App>,
    w: &Watched,
    job: JobRow,
    worker: &str,
    lease: Duration,
    alerting: &crate::drift::Alerting,
) {
    let id = job.id;
    // How late it starts, in wall-clock seconds.
    let lag = (app.clock.now_ms() - job.due_ms).max(0) as f64 / 1000.0 / app.clock.scale();
    app.events.scheduled(lag);
    // The claim is renewed while the check runs, so another server takes the job only
    // when this one stops (dies).
    let renewal = {
        let (app, worker) = (Arc::clone(app), worker.to_string());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = jiff::Timestamp::now().as_millisecond() + lease.as_millis() as i64;
                let w = worker.clone();
                if !matches!(
                    app.ledger(move |l| l.renew_job(id, &w, until)).await,
                    Ok(true)
                ) {
                    return;
                }
            }
        })
    };
    let outcome = check(app, w, &job).await;
    renewal.abort();
    let result = match outcome {
        Ok((mut run, alerts)) => {
            run.recorded_by = "scheduler".into();
            run.scheduled = Some(Scheduled {
                job: id,
                due_at: to_timestamp(job.due_ms).to_string(),
                late: job.late,
            });
            let done = Done {
                job: id,
                worker: worker.to_string(),
            };
            match app
                .ledger(move |l| Ok((l.record_job_run(&run, &done)?, run)))
                .await
            {
                Ok((Some(seq), run)) => {
                    app.events.recorded(&run, "scheduled");
                    crate::drift::after_run(app, alerting, &job, seq, run, alerts).await;
                    Ok(())
                }
                Ok((None, _)) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        eprintln!(
            "shipcheck serve: job {id} ({} {}): {e}",
            job.deployment, job.phase
        );
        let worker = worker.to_string();
        let _ = app.ledger(move |l| l.fail_job(id, &worker, &e)).await;
        return;
    }
    if job.phase == Phase::Periodic.as_str() {
        let next = NewJob {
            deployment: job.deployment.clone(),
            environment: job.environment.clone(),
            phase: job.phase.clone(),
            deploy_seq: job.deploy_seq,
            due_ms: job
                .due_ms
                .saturating_add(w.schedule.every().as_millis() as i64),
        };
        let _ = app.ledger(move |l| l.add_jobs(&[next])).await;
    }
}

/// The check of `job`'s phase on the watched profile, as `check --phase` makes it.
async fn check(
    app: &Arc<App>,
    w: &Watched,
    job: &JobRow,
) -> Result<
    (
        shipcheck_core::outcome::Run,
        shipcheck_core::schedule::Alerts,
    ),
    String,
> {
    let phase = Phase::ALL
        .into_iter()
        .find(|p| p.as_str() == job.phase)
        .ok_or_else(|| format!("unknown phase `{}`", job.phase))?;
    let profile = load(&w.profile)?;
    if profile.deployment().as_str() != w.deployment {
        return Err(format!(
            "{} now names deployment `{}`, not `{}`",
            w.profile.display(),
            profile.deployment(),
            w.deployment
        ));
    }
    let target = (w.deployment.clone(), w.environment.clone());
    let statements = app
        .ledger(move |l| shipcheck_engine::history::statements(l, (&target.0, &target.1), None))
        .await
        .map_err(|e| e.to_string())?;
    let opts = shipcheck_engine::Options {
        environment: Some(w.environment.clone()),
        phase: Some(phase),
        policy: profile.policy(None, false),
        statements,
        runtime: Some(tokio::runtime::Handle::current()),
        ..shipcheck_engine::Options::default()
    };
    let alerts = profile.file.alerts.clone();
    let run = tokio::task::spawn_blocking(move || shipcheck_engine::run(&profile, &opts))
        .await
        .map_err(|e| format!("the check's task failed: {e}"))?
        .map_err(|e| e.to_string())?;
    Ok((run, alerts))
}

fn load(path: &Path) -> Result<Profile, String> {
    Profile::load(path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_starts_each_phase_at_its_offset_and_the_immediate_one_twice() {
        let jobs = jobs_of_deploy(("d", "prod"), 7, 0, &Schedule::default());
        let due: Vec<(&str, i64)> = jobs
            .iter()
            .map(|j| (j.phase.as_str(), j.due_ms / 60_000))
            .collect();
        assert_eq!(
            due,
            [
                ("post-deploy-immediate", 0),
                ("first-hour", 60),
                ("first-day", 1440),
                ("first-week", 10080),
                ("periodic", 1440),
                ("post-deploy-immediate", 15),
            ]
        );
        assert!(jobs.iter().all(|j| j.deploy_seq == 7));
    }
}
