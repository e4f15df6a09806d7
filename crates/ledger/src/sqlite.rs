//! SQLite backend: WAL journal, `synchronous=FULL`, one immediate transaction per append,
//! so concurrent writers queue (busy timeout) and a killed writer leaves no half record.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Head, LedgerError, MIGRATIONS, Record, chain, codec::Delta, codec::Encoded, scope::Scope,
};

/// The columns of a record, in [`record`]'s order.
const COLUMNS: &str =
    "seq, kind, created_at, body, prev_hash, hash, deployment, environment, body_z, body_base";

/// A record as stored: its body may still be a delta ([`crate::codec::resolve`]).
fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Record, Option<Delta>)> {
    let (body, delta) = crate::codec::decode(r.get(3)?, stored_bytes(r.get_ref(8)?), r.get(9)?);
    Ok((
        Record {
            seq: r.get(0)?,
            kind: r.get(1)?,
            created_at: r.get(2)?,
            body,
            prev_hash: r.get(4)?,
            hash: r.get(5)?,
            deployment: r.get(6)?,
            environment: r.get(7)?,
        },
        delta,
    ))
}

/// `body_z` as stored. SQLite keeps any type in any column: a value that is not a blob
/// (someone edited it) is read as its bytes, so it fails to inflate and `verify` reports
/// the record rather than stopping on a type error.
fn stored_bytes(v: rusqlite::types::ValueRef<'_>) -> Option<Vec<u8>> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => None,
        ValueRef::Blob(b) | ValueRef::Text(b) => Some(b.to_vec()),
        ValueRef::Integer(i) => Some(i.to_string().into_bytes()),
        ValueRef::Real(f) => Some(f.to_string().into_bytes()),
    }
}

pub struct Store {
    conn: Connection,
    location: String,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, LedgerError> {
        super::ensure_folder(path)?;
        let location = path.display().to_string();
        let fail = |e: rusqlite::Error| LedgerError::Sqlite {
            location: location.clone(),
            message: e.to_string(),
        };
        let mut conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(fail)?;
        // Switching to WAL takes an exclusive lock and does not wait on the busy handler,
        // so two processes creating the ledger at once retry here.
        retry_busy(|| {
            let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                conn.pragma_update(None, "journal_mode", "WAL")?;
            }
            Ok(())
        })
        .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        retry_busy(|| migrate(&mut conn)).map_err(|e| LedgerError::Sqlite {
            location: location.clone(),
            message: format!("migration: {e}"),
        })?;
        Ok(Store { conn, location })
    }

    /// The rows of `sql` with `params`, each mapped by `map`.
    fn rows<T>(
        &self,
        sql: &str,
        params: Vec<crate::query::Param>,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, LedgerError> {
        use crate::query::Param;
        let values: Vec<rusqlite::types::Value> = params
            .into_iter()
            .map(|p| match p {
                Param::Int(i) => rusqlite::types::Value::Integer(i),
                Param::Text(t) | Param::MaybeText(Some(t)) => rusqlite::types::Value::Text(t),
                Param::MaybeText(None) => rusqlite::types::Value::Null,
            })
            .collect();
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), map)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        drop(stmt);
        rows.map_err(|e| self.err(e))
    }

    fn err(&self, e: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite {
            location: self.location.clone(),
            message: e.to_string(),
        }
    }
}

impl super::Store for Store {
    fn jobs(
        &mut self,
        sql: &str,
        params: Vec<crate::query::Param>,
    ) -> Result<Vec<crate::jobs::JobRow>, LedgerError> {
        let sql = crate::query::placeholders(sql, false);
        self.rows(&sql, params, |r| {
            Ok(crate::jobs::JobRow {
                id: r.get(0)?,
                deployment: r.get(1)?,
                environment: r.get(2)?,
                phase: r.get(3)?,
                deploy_seq: r.get(4)?,
                due_ms: r.get(5)?,
                state: r.get(6)?,
                attempts: r.get(7)?,
                late: r.get::<_, i64>(8)? != 0,
                run_seq: r.get(9)?,
                error: r.get(10)?,
            })
        })
    }

    fn deliveries(
        &mut self,
        sql: &str,
        params: Vec<crate::query::Param>,
    ) -> Result<Vec<crate::deliveries::DeliveryRow>, LedgerError> {
        let sql = crate::query::placeholders(sql, false);
        self.rows(&sql, params, |r| {
            Ok(crate::deliveries::DeliveryRow {
                id: r.get(0)?,
                alert_seq: r.get(1)?,
                target: r.get(2)?,
                format: r.get(3)?,
                attempt: r.get(4)?,
                status: r.get(5)?,
                error: r.get(6)?,
                at_ms: r.get(7)?,
            })
        })
    }

    fn is_postgres(&self) -> bool {
        false
    }

    fn get_blob(&mut self, digest: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        self.conn
            .query_row(
                "SELECT content FROM blobs WHERE sha256 = ?1",
                params![digest],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn append(
        &mut self,
        kind: &str,
        body: Encoded<'_>,
        scope: Option<&Scope>,
        summary: Option<&crate::summary::RawRow>,
        auth: &crate::headsig::HeadAuth,
        done: Option<&crate::jobs::Done>,
    ) -> Result<Record, LedgerError> {
        let Encoded { json: body, stored } = body;
        let deployment = scope.map(|s| s.deployment.clone());
        let environment = scope.and_then(|s| s.environment.clone());
        let location = self.location.clone();
        let err = |e: rusqlite::Error| LedgerError::Sqlite {
            location: location.clone(),
            message: e.to_string(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let (seq, prev): (i64, String) = tx
            .query_row("SELECT seq, hash FROM head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(err)?;
        let seq = seq + 1;
        let created_at = super::now();
        let hash = chain::link(seq, kind, &created_at, &prev, body);
        tx.execute(
            "INSERT INTO records (seq, kind, created_at, body, prev_hash, hash, deployment, environment, body_z, body_base) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![seq, kind, created_at, stored.text, prev, hash, deployment, environment, stored.z, stored.base],
        )
        .map_err(err)?;
        if let Some((_, d, e, json)) = summary {
            tx.execute(
                "INSERT INTO run_summaries (seq, deployment, environment, summary) VALUES (?1, ?2, ?3, ?4)",
                params![seq, d, e, json],
            )
            .map_err(err)?;
        }
        if let Some(d) = done {
            let sql = crate::query::placeholders(crate::jobs::DONE_SQL, false);
            let finished = jiff::Timestamp::now().as_millisecond();
            let marked = tx
                .execute(&sql, params![seq, finished, d.job, d.worker])
                .map_err(err)?;
            if marked == 0 {
                return Err(LedgerError::JobTaken(d.job));
            }
        }
        let (mac, sig) = auth.seal(seq, &hash).map_err(LedgerError::Invalid)?;
        tx.execute(
            "UPDATE head SET seq = ?1, hash = ?2, mac = ?3, sig = ?4 WHERE id = 1",
            params![seq, hash, mac, sig],
        )
        .map_err(err)?;
        super::failpoint_slow_commit();
        tx.commit().map_err(err)?;
        Ok(Record {
            seq,
            kind: kind.to_string(),
            created_at,
            body: body.to_string(),
            prev_hash: prev,
            hash,
            deployment,
            environment,
        })
    }

    fn scoped(
        &mut self,
        kind: &str,
        deployment: &str,
        environment: &str,
    ) -> Result<Vec<Record>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM records WHERE deployment = ?1 AND kind = ?2 AND (environment IS NULL OR environment = ?3) ORDER BY seq"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![deployment, kind, environment], record)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        drop(stmt);
        let rows = rows.map_err(|e| self.err(e))?;
        self.resolved(rows)
    }

    fn select(&mut self, query: &crate::query::Query) -> Result<Vec<Record>, LedgerError> {
        let rows = self.rows(&query.sql(COLUMNS, false), query.params(), record)?;
        self.resolved(rows)
    }

    fn recent_bases(
        &mut self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<Option<String>>, LedgerError> {
        let sql = crate::query::placeholders(crate::codec::RECENT_BASES_SQL, false);
        let params = crate::codec::recent_bases_params(scope, limit);
        self.rows(&sql, params, |r| r.get(0))
    }

    fn summaries(
        &mut self,
        query: &crate::summary::SummaryQuery,
    ) -> Result<Vec<crate::summary::RawRow>, LedgerError> {
        self.rows(&query.sql(false), query.params(), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
    }

    fn max_seq(&mut self, deployment: &str) -> Result<Option<i64>, LedgerError> {
        self.conn
            .query_row(&super::max_seq_sql("?1"), params![deployment], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn count_kind(&mut self, kind: &str, seq: i64) -> Result<i64, LedgerError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM records WHERE kind = ?1 AND seq <= ?2",
                rusqlite::params![kind, seq],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    fn records(&mut self) -> Result<Vec<Record>, LedgerError> {
        let rows = all_records(&self.conn).map_err(|e| self.err(e))?;
        self.resolved(rows)
    }

    fn head(&mut self) -> Result<Option<Head>, LedgerError> {
        self.conn
            .query_row(
                "SELECT seq, hash, mac, sig FROM head WHERE id = 1",
                [],
                |r| {
                    Ok(Head {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                        mac: r.get(2)?,
                        sig: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn put_blob(&mut self, digest: &str, data: &[u8]) -> Result<(), LedgerError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO blobs (sha256, size, content) VALUES (?1, ?2, ?3)",
                params![digest, data.len() as i64, data],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

/// Applies the migrations this ledger lacks, in one transaction.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")?;
    let current: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    if current > super::LATEST_MIGRATION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(super::newer_schema(current)),
        ));
    }
    for (version, sql, _) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        tx.execute_batch(sql)?;
        if *version == crate::summary::SUMMARY_MIGRATION {
            for (seq, d, e, json) in crate::summary::backfill(&records_before_codec(&tx)?) {
                tx.execute(
                    "INSERT INTO run_summaries (seq, deployment, environment, summary) VALUES (?1, ?2, ?3, ?4)",
                    params![seq, d, e, json],
                )?;
            }
        }
        if *version == super::SCOPE_MIGRATION {
            for (seq, deployment, environment) in super::backfill_rows(&records_before_codec(&tx)?)
            {
                tx.execute(
                    "UPDATE records SET deployment = ?1, environment = ?2 WHERE seq = ?3",
                    params![deployment, environment, seq],
                )?;
            }
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, super::now()],
        )?;
    }
    tx.commit()
}

fn all_records(conn: &Connection) -> rusqlite::Result<Vec<(Record, Option<Delta>)>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM records ORDER BY seq"))?;
    stmt.query_map([], record)?.collect()
}

/// Every record during a migration before `body_z` exists (every body is text then).
fn records_before_codec(conn: &Connection) -> rusqlite::Result<Vec<Record>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {BEFORE_CODEC_COLUMNS} FROM records ORDER BY seq"
    ))?;
    stmt.query_map([], |r| record(r).map(|(record, _)| record))?
        .collect()
}

/// [`COLUMNS`] before migration 5.
const BEFORE_CODEC_COLUMNS: &str =
    "seq, kind, created_at, body, prev_hash, hash, deployment, environment, NULL, NULL";

/// Retries `op` while SQLite reports the database busy or locked, for up to 30 s.
fn retry_busy<T>(mut op: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = std::time::Instant::now();
    let mut wait = Duration::from_millis(5);
    loop {
        match op() {
            Err(rusqlite::Error::SqliteFailure(e, m))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && started.elapsed() < Duration::from_secs(30) =>
            {
                drop(m);
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}
