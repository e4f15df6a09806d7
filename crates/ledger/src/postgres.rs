//! PostgreSQL backend for a team ledger: the same schema and chain; each append locks the
//! head row (`SELECT ... FOR UPDATE`) inside one transaction.
//!
//! The connection and its runtime live on a worker thread of their own; calls send a job
//! and wait for its answer. So the store may be called from any thread, a tokio worker
//! included, without nesting runtimes (which panics). It blocks the calling thread for the
//! query: an async server calls it from `spawn_blocking`.

use std::sync::mpsc;

use tokio_postgres::Client;

use super::{
    Head, LedgerError, MIGRATIONS, Record, chain, codec::Delta, codec::Encoded, scope::Scope,
};

/// The columns of a record, in [`record`]'s order.
const COLUMNS: &str =
    "seq, kind, created_at, body, prev_hash, hash, deployment, environment, body_z, body_base";

/// [`COLUMNS`] during the migrations before 5, which adds `body_z` (every body is text then).
const BEFORE_CODEC_COLUMNS: &str = "seq, kind, created_at, body, prev_hash, hash, deployment, environment, NULL::BYTEA, NULL::TEXT";

/// A record as stored: its body may still be a delta ([`crate::codec::resolve`]).
fn record(r: &tokio_postgres::Row) -> (Record, Option<Delta>) {
    let (body, delta) = crate::codec::decode(r.get(3), r.get(8), r.get(9));
    (
        Record {
            seq: r.get(0),
            kind: r.get(1),
            created_at: r.get(2),
            body,
            prev_hash: r.get(4),
            hash: r.get(5),
            deployment: r.get(6),
            environment: r.get(7),
        },
        delta,
    )
}

/// The connection and the runtime that drives it, owned by the worker thread.
struct Conn {
    client: Client,
    runtime: tokio::runtime::Runtime,
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

pub struct Store {
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<std::thread::JoinHandle<()>>,
    location: String,
}

impl Store {
    pub fn open(url: &str) -> Result<Store, LedgerError> {
        let location = format!("postgres {}", shipcheck_net::pg::display_target(url));
        let err = |m: String| LedgerError::Postgres {
            location: location.clone(),
            message: m,
        };
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            err(format!("bad URL: {}", e.to_string().replace(url, "<url>")))
        })?;
        // TLS when the server offers it (sslmode=prefer unless the URL says otherwise);
        // `PGSSLROOTCERT` verifies the server's certificate.
        let ca = std::env::var_os("PGSSLROOTCERT").map(std::path::PathBuf::from);
        let tls = shipcheck_net::pg::tls_connector(ca.as_deref()).map_err(err)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready_tx, ready) = mpsc::sync_channel::<Result<(), String>>(1);
        let url_text = url.to_string();
        let worker = std::thread::Builder::new()
            .name("ledger-postgres".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let client = match runtime.block_on(config.connect(tls)) {
                    Ok((client, conn)) => {
                        runtime.spawn(async move {
                            let _ = conn.await;
                        });
                        client
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(pg_message(&e).replace(&url_text, "<url>")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let mut conn = Conn { client, runtime };
                for job in queue {
                    job(&mut conn);
                }
            })
            .map_err(|e| err(e.to_string()))?;
        ready
            .recv()
            .map_err(|_| err("the connection thread ended".into()))?
            .map_err(err)?;
        let mut store = Store {
            jobs: Some(jobs),
            worker: Some(worker),
            location,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Runs `f` on the worker thread and waits for its result.
    /// The rows of `sql` with `params`.
    fn rows(
        &self,
        sql: String,
        params: Vec<crate::query::Param>,
    ) -> Result<Vec<tokio_postgres::Row>, LedgerError> {
        use crate::query::Param;
        self.call(move |c| {
            let values: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = params
                .into_iter()
                .map(|p| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
                    match p {
                        Param::Int(i) => Box::new(i),
                        Param::Text(t) => Box::new(t),
                        Param::MaybeText(t) => Box::new(t),
                    }
                })
                .collect();
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                values.iter().map(|v| v.as_ref() as _).collect();
            c.runtime.block_on(c.client.query(&sql, &refs))
        })
    }

    fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<R, tokio_postgres::Error> + Send + 'static,
    ) -> Result<R, LedgerError> {
        let gone = || LedgerError::Postgres {
            location: self.location.clone(),
            message: "the connection thread ended".into(),
        };
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .as_ref()
            .ok_or_else(gone)?
            .send(Box::new(move |c: &mut Conn| {
                let _ = tx.send(f(c).map_err(|e| pg_message(&e)));
            }))
            .map_err(|_| gone())?;
        rx.recv()
            .map_err(|_| gone())?
            .map_err(|message| LedgerError::Postgres {
                location: self.location.clone(),
                message,
            })
    }

    fn migrate(&mut self) -> Result<(), LedgerError> {
        self.call(|c| {
            let client = &mut c.client;
            c.runtime.block_on(async {
                let tx = client.transaction().await?;
                tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL); LOCK TABLE schema_migrations IN EXCLUSIVE MODE").await?;
                let current: i64 = tx.query_one("SELECT coalesce(max(version), 0)::BIGINT FROM schema_migrations", &[]).await?.get(0);
                if current > super::LATEST_MIGRATION {
                    return Ok(Some(current));
                }
                for (version, _, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
                    tx.batch_execute(sql).await?;
                    if *version == crate::summary::SUMMARY_MIGRATION {
                        let rows = tx.query(&format!("SELECT {BEFORE_CODEC_COLUMNS} FROM records ORDER BY seq"), &[]).await?;
                        let records: Vec<Record> = rows.iter().map(|r| record(r).0).collect();
                        for (seq, d, e, json) in crate::summary::backfill(&records) {
                            tx.execute(
                                "INSERT INTO run_summaries (seq, deployment, environment, summary) VALUES ($1, $2, $3, $4)",
                                &[&seq, &d, &e, &json],
                            )
                            .await?;
                        }
                    }
                    if *version == super::SCOPE_MIGRATION {
                        let rows = tx.query(&format!("SELECT {BEFORE_CODEC_COLUMNS} FROM records ORDER BY seq"), &[]).await?;
                        let records: Vec<Record> = rows.iter().map(|r| record(r).0).collect();
                        for (seq, deployment, environment) in super::backfill_rows(&records) {
                            tx.execute(
                                "UPDATE records SET deployment = $1, environment = $2 WHERE seq = $3",
                                &[&deployment, &environment, &seq],
                            )
                            .await?;
                        }
                    }
                    tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", &[version, &super::now()]).await?;
                }
                tx.commit().await.map(|()| None)
            })
        })
        .map_err(|e| match e {
            LedgerError::Postgres { location, message } => LedgerError::Postgres {
                location,
                message: format!("migration: {message}"),
            },
            other => other,
        })
        .and_then(|newer| match newer {
            Some(found) => Err(LedgerError::Postgres {
                location: self.location.clone(),
                message: super::newer_schema(found),
            }),
            None => Ok(()),
        })
    }
}

impl super::Store for Store {
    fn append(
        &mut self,
        kind: &str,
        body: Encoded<'_>,
        scope: Option<&Scope>,
        summary: Option<&crate::summary::RawRow>,
        auth: &crate::headsig::HeadAuth,
        done: Option<&crate::jobs::Done>,
    ) -> Result<Record, LedgerError> {
        let summary = summary.cloned();
        let done = done.cloned();
        let Encoded { json: body, stored } = body;
        let (kind, body, auth) = (kind.to_string(), body.to_string(), auth.clone());
        let deployment = scope.map(|s| s.deployment.clone());
        let environment = scope.and_then(|s| s.environment.clone());
        self.call(move |c| {
            let client = &mut c.client;
            c.runtime.block_on(async {
                let tx = client.transaction().await?;
                let row = tx.query_one("SELECT seq, hash FROM head WHERE id = 1 FOR UPDATE", &[]).await?;
                let (seq, prev): (i64, String) = (row.get(0), row.get(1));
                let seq = seq + 1;
                let created_at = super::now();
                let hash = chain::link(seq, &kind, &created_at, &prev, &body);
                tx.execute(
                    "INSERT INTO records (seq, kind, created_at, body, prev_hash, hash, deployment, environment, body_z, body_base) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[&seq, &kind, &created_at, &stored.text, &prev, &hash, &deployment, &environment, &stored.z, &stored.base],
                )
                .await?;
                if let Some((_, d, e, json)) = &summary {
                    tx.execute(
                        "INSERT INTO run_summaries (seq, deployment, environment, summary) VALUES ($1, $2, $3, $4)",
                        &[&seq, d, e, json],
                    )
                    .await?;
                }
                if let Some(d) = &done {
                    let sql = crate::query::placeholders(crate::jobs::DONE_SQL, true);
                    let finished = jiff::Timestamp::now().as_millisecond();
                    let marked = tx.execute(&sql, &[&seq, &finished, &d.job, &d.worker]).await?;
                    if marked == 0 {
                        // Dropping the transaction rolls the run back.
                        return Ok(Err(LedgerError::JobTaken(d.job)));
                    }
                }
                let (mac, sig) = match auth.seal(seq, &hash) {
                    Ok(sealed) => sealed,
                    Err(e) => return Ok(Err(LedgerError::Invalid(e))),
                };
                tx.execute("UPDATE head SET seq = $1, hash = $2, mac = $3, sig = $4 WHERE id = 1", &[&seq, &hash, &mac, &sig]).await?;
                super::failpoint_slow_commit();
                tx.commit().await?;
                Ok(Ok(Record { seq, kind, created_at, body, prev_hash: prev, hash, deployment, environment }))
            })
        })?
    }

    fn jobs(
        &mut self,
        sql: &str,
        params: Vec<crate::query::Param>,
    ) -> Result<Vec<crate::jobs::JobRow>, LedgerError> {
        let rows = self.rows(crate::query::placeholders(sql, true), params)?;
        Ok(rows
            .iter()
            .map(|r| crate::jobs::JobRow {
                id: r.get(0),
                deployment: r.get(1),
                environment: r.get(2),
                phase: r.get(3),
                deploy_seq: r.get(4),
                due_ms: r.get(5),
                state: r.get(6),
                attempts: r.get(7),
                late: r.get::<_, i64>(8) != 0,
                run_seq: r.get(9),
                error: r.get(10),
            })
            .collect())
    }

    fn deliveries(
        &mut self,
        sql: &str,
        params: Vec<crate::query::Param>,
    ) -> Result<Vec<crate::deliveries::DeliveryRow>, LedgerError> {
        let rows = self.rows(crate::query::placeholders(sql, true), params)?;
        Ok(rows
            .iter()
            .map(|r| crate::deliveries::DeliveryRow {
                id: r.get(0),
                alert_seq: r.get(1),
                target: r.get(2),
                format: r.get(3),
                attempt: r.get(4),
                status: r.get(5),
                error: r.get(6),
                at_ms: r.get(7),
            })
            .collect())
    }

    fn is_postgres(&self) -> bool {
        true
    }

    fn select(&mut self, query: &crate::query::Query) -> Result<Vec<Record>, LedgerError> {
        let rows = self.rows(query.sql(COLUMNS, true), query.params())?;
        let rows = rows.iter().map(record).collect();
        self.resolved(rows)
    }

    fn recent_bases(
        &mut self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<Option<String>>, LedgerError> {
        let sql = crate::query::placeholders(crate::codec::RECENT_BASES_SQL, true);
        let rows = self.rows(sql, crate::codec::recent_bases_params(scope, limit))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn summaries(
        &mut self,
        query: &crate::summary::SummaryQuery,
    ) -> Result<Vec<crate::summary::RawRow>, LedgerError> {
        let rows = self.rows(query.sql(true), query.params())?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
    }

    fn max_seq(&mut self, deployment: &str) -> Result<Option<i64>, LedgerError> {
        let deployment = deployment.to_string();
        self.call(move |c| {
            let row = c.runtime.block_on(
                c.client
                    .query_one(&super::max_seq_sql("$1"), &[&deployment]),
            )?;
            Ok(row.get::<_, Option<i64>>(0))
        })
    }

    fn count_kind(&mut self, kind: &str, seq: i64) -> Result<i64, LedgerError> {
        let kind = kind.to_string();
        self.call(move |c| {
            let row = c.runtime.block_on(c.client.query_one(
                "SELECT count(*) FROM records WHERE kind = $1 AND seq <= $2",
                &[&kind, &seq],
            ))?;
            Ok(row.get::<_, i64>(0))
        })
    }

    fn records(&mut self) -> Result<Vec<Record>, LedgerError> {
        self.call(|c| {
            let rows = c.runtime.block_on(
                c.client
                    .query(&format!("SELECT {COLUMNS} FROM records ORDER BY seq"), &[]),
            )?;
            Ok(rows.iter().map(record).collect())
        })
        .and_then(|rows| self.resolved(rows))
    }

    fn scoped(
        &mut self,
        kind: &str,
        deployment: &str,
        environment: &str,
    ) -> Result<Vec<Record>, LedgerError> {
        let (kind, deployment, environment) = (
            kind.to_string(),
            deployment.to_string(),
            environment.to_string(),
        );
        self.call(move |c| {
            let rows = c.runtime.block_on(c.client.query(
                &format!("SELECT {COLUMNS} FROM records WHERE deployment = $1 AND kind = $2 AND (environment IS NULL OR environment = $3) ORDER BY seq"),
                &[&deployment, &kind, &environment],
            ))?;
            Ok(rows.iter().map(record).collect())
        })
        .and_then(|rows| self.resolved(rows))
    }

    fn head(&mut self) -> Result<Option<Head>, LedgerError> {
        self.call(|c| {
            let row = c.runtime.block_on(
                c.client
                    .query_opt("SELECT seq, hash, mac, sig FROM head WHERE id = 1", &[]),
            )?;
            Ok(row.map(|r| Head {
                seq: r.get(0),
                hash: r.get(1),
                mac: r.get(2),
                sig: r.get(3),
            }))
        })
    }

    fn get_blob(&mut self, digest: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        let digest = digest.to_string();
        self.call(move |c| {
            let row = c.runtime.block_on(
                c.client
                    .query_opt("SELECT content FROM blobs WHERE sha256 = $1", &[&digest]),
            )?;
            Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    fn put_blob(&mut self, digest: &str, data: &[u8]) -> Result<(), LedgerError> {
        let (digest, data) = (digest.to_string(), data.to_vec());
        self.call(move |c| {
            let size = data.len() as i64;
            c.runtime
                .block_on(c.client.execute("INSERT INTO blobs (sha256, size, content) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", &[&digest, &size, &data]))
                .map(|_| ())
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Closing the queue ends the worker's loop; the connection closes with it.
        self.jobs.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn pg_message(e: &tokio_postgres::Error) -> String {
    shipcheck_net::pg::error_text(e)
}
