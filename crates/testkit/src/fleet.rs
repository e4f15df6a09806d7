//! A large ledger for the server's benchmark (`bench/fleet.sh`): D deployments × R runs,
//! each a copy of a template run with its own deployment, time and score, plus an
//! attestation and a sign-off per deployment. Written in one SQLite transaction with the
//! same chain, scope columns and run summaries the ledger writes (appending 100,000 runs one
//! transaction each, as the ledger does, would spend the benchmark's time on fsync).

use std::path::Path;

use shipcheck_core::outcome::{Run, Status};
use shipcheck_ledger::{Location, chain, summary};

/// What was written.
pub struct Written {
    pub records: i64,
    pub bytes: u64,
}

fn sql_err(e: rusqlite::Error) -> String {
    e.to_string()
}

/// Writes the fleet into a new ledger at `path`.
pub fn generate(
    path: &Path,
    template: &Run,
    deployments: usize,
    runs: usize,
) -> Result<Written, String> {
    // The ledger creates its schema (all migrations); then rows go in directly.
    drop(
        shipcheck_ledger::Ledger::open(Location::Sqlite(path.to_path_buf()))
            .map_err(|e| e.to_string())?,
    );
    let mut conn = rusqlite::Connection::open(path).map_err(sql_err)?;
    let tx = conn.transaction().map_err(sql_err)?;
    let (mut seq, mut prev): (i64, String) = tx
        .query_row("SELECT seq, hash FROM head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(sql_err)?;
    let mut bytes = 0u64;
    let mut insert = |kind: &str,
                      body: String,
                      deployment: &str,
                      environment: &str,
                      run: Option<&Run>|
     -> Result<i64, String> {
        seq += 1;
        let created_at = format!("2026-11-{:02}T00:00:00Z", 1 + (seq % 28));
        let hash = chain::link(seq, kind, &created_at, &prev, &body);
        bytes += body.len() as u64;
        tx.execute(
            "INSERT INTO records (seq, kind, created_at, body, prev_hash, hash, deployment, environment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![seq, kind, created_at, body, prev, hash, deployment, environment],
        )
        .map_err(sql_err)?;
        if let Some(run) = run {
            let (_, d, e, json) = summary::row_of(seq, run).map_err(|e| e.to_string())?;
            tx.execute(
                "INSERT INTO run_summaries (seq, deployment, environment, summary) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![seq, d, e, json],
            )
            .map_err(sql_err)?;
        }
        prev = hash;
        Ok(seq)
    };
    for d in 0..deployments {
        let name = format!("svc-{d:03}");
        let mut last = 0;
        for r in 0..runs {
            let mut run = template.clone();
            run.deployment = name.clone();
            run.environment = "production".into();
            run.labels = [("team".to_string(), format!("team-{}", d % 10))].into();
            let minute = r * 5;
            run.started_at = format!(
                "2026-11-{:02}T{:02}:{:02}:00Z",
                1 + (minute / 1440) % 28,
                (minute / 60) % 24,
                minute % 60
            );
            // Vary the outcome a little from run to run.
            if let Some(item) = run.results.iter_mut().find(|i| i.status == Status::Pass)
                && r % 3 == 0
            {
                item.status = Status::Fail;
            }
            run.counts = shipcheck_core::outcome::Counts::of(&run.results);
            run.score = shipcheck_core::gate::score(&run.results);
            let body = serde_json::to_string(&run).map_err(|e| e.to_string())?;
            last = insert("run", body, &name, "production", Some(&run))?;
        }
        let attestation = serde_json::json!({
            "item": "drill", "deployment": name, "environment": "production", "by": "bench",
            "role": "operations", "note": "", "attested_at": "2026-11-20T00:00:00Z"
        });
        insert(
            "attestation",
            attestation.to_string(),
            &name,
            "production",
            None,
        )?;
        let signoff = serde_json::json!({
            "run": last, "deployment": name, "environment": "production", "role": "security",
            "by": "bench", "note": "", "at": "2026-11-20T00:00:00Z"
        });
        insert("signoff", signoff.to_string(), &name, "production", None)?;
    }
    let records = seq;
    tx.execute(
        "UPDATE head SET seq = ?1, hash = ?2, mac = NULL WHERE id = 1",
        rusqlite::params![seq, prev],
    )
    .map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    Ok(Written { records, bytes })
}
