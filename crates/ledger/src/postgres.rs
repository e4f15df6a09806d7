//! PostgreSQL backend for a team ledger: the same schema and chain; each append locks the
//! head row (`SELECT ... FOR UPDATE`) inside one transaction.

use tokio_postgres::Client;

use super::{Head, LedgerError, MIGRATIONS, Record, chain};

pub struct Store {
    client: Client,
    runtime: tokio::runtime::Runtime,
    location: String,
    _conn: tokio::task::JoinHandle<()>,
}

impl Store {
    pub fn open(url: &str) -> Result<Store, LedgerError> {
        let location = format!("postgres {}", shipcheck_net::pg::display_target(url));
        let err = |m: String| LedgerError::Postgres {
            location: location.clone(),
            message: m,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| err(e.to_string()))?;
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            err(format!("bad URL: {}", e.to_string().replace(url, "<url>")))
        })?;
        // TLS when the server offers it (sslmode=prefer unless the URL says otherwise);
        // `PGSSLROOTCERT` verifies the server's certificate.
        let ca = std::env::var_os("PGSSLROOTCERT").map(std::path::PathBuf::from);
        let tls = shipcheck_net::pg::tls_connector(ca.as_deref()).map_err(err)?;
        let (client, conn) = runtime
            .block_on(config.connect(tls))
            .map_err(|e| err(pg_message(&e).replace(url, "<url>")))?;
        let handle = runtime.spawn(async move {
            let _ = conn.await;
        });
        let mut store = Store {
            client,
            runtime,
            location,
            _conn: handle,
        };
        store.migrate()?;
        Ok(store)
    }

    fn err(&self, e: tokio_postgres::Error) -> LedgerError {
        LedgerError::Postgres {
            location: self.location.clone(),
            message: pg_message(&e),
        }
    }

    fn migrate(&mut self) -> Result<(), LedgerError> {
        let location = self.location.clone();
        let result: Result<(), tokio_postgres::Error> = self.runtime.block_on(async {
            let tx = self.client.transaction().await?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL); LOCK TABLE schema_migrations IN EXCLUSIVE MODE").await?;
            let current: i64 = tx.query_one("SELECT coalesce(max(version), 0)::BIGINT FROM schema_migrations", &[]).await?.get(0);
            for (version, _, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
                tx.batch_execute(sql).await?;
                tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", &[version, &super::now()]).await?;
            }
            tx.commit().await
        });
        result.map_err(|e| LedgerError::Postgres {
            location,
            message: format!("migration: {}", pg_message(&e)),
        })
    }

    pub fn append(
        &mut self,
        kind: &str,
        body: &str,
        key: Option<&[u8]>,
    ) -> Result<Record, LedgerError> {
        let result = self.runtime.block_on(async {
            let tx = self.client.transaction().await?;
            let row = tx.query_one("SELECT seq, hash FROM head WHERE id = 1 FOR UPDATE", &[]).await?;
            let (seq, prev): (i64, String) = (row.get(0), row.get(1));
            let seq = seq + 1;
            let created_at = super::now();
            let hash = chain::link(seq, kind, &created_at, &prev, body);
            tx.execute(
                "INSERT INTO records (seq, kind, created_at, body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&seq, &kind, &created_at, &body, &prev, &hash],
            )
            .await?;
            let mac = key.map(|k| chain::head_mac(k, seq, &hash));
            tx.execute("UPDATE head SET seq = $1, hash = $2, mac = $3 WHERE id = 1", &[&seq, &hash, &mac]).await?;
            super::failpoint_slow_commit();
            tx.commit().await?;
            Ok::<_, tokio_postgres::Error>(Record { seq, kind: kind.to_string(), created_at, body: body.to_string(), prev_hash: prev, hash })
        });
        result.map_err(|e| self.err(e))
    }

    pub fn records(&mut self) -> Result<Vec<Record>, LedgerError> {
        let rows = self
            .runtime
            .block_on(self.client.query(
                "SELECT seq, kind, created_at, body, prev_hash, hash FROM records ORDER BY seq",
                &[],
            ))
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| Record {
                seq: r.get(0),
                kind: r.get(1),
                created_at: r.get(2),
                body: r.get(3),
                prev_hash: r.get(4),
                hash: r.get(5),
            })
            .collect())
    }

    pub fn head(&mut self) -> Result<Option<Head>, LedgerError> {
        let row = self
            .runtime
            .block_on(
                self.client
                    .query_opt("SELECT seq, hash, mac FROM head WHERE id = 1", &[]),
            )
            .map_err(|e| self.err(e))?;
        Ok(row.map(|r| Head {
            seq: r.get(0),
            hash: r.get(1),
            mac: r.get(2),
        }))
    }

    pub fn put_blob(&mut self, digest: &str, data: &[u8]) -> Result<(), LedgerError> {
        let size = data.len() as i64;
        self.runtime
            .block_on(self.client.execute("INSERT INTO blobs (sha256, size, content) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", &[&digest, &size, &data]))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

fn pg_message(e: &tokio_postgres::Error) -> String {
    shipcheck_net::pg::error_text(e)
}
