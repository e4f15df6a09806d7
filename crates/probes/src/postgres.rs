//! `postgres` probe: connects with a URL held in a variable or an env file (never printed)
//! and reports the server version, `ssl`, `ssl_min_protocol_version`,
//! `password_encryption`, whether a plaintext (`sslmode=disable`) connection is refused,
//! and `trust` rules for non-local hosts in `pg_hba_file_rules`.

use shipcheck_core::spec::postgres::*;
use shipcheck_net::pg::{display_target, error_text, tls_connector};
use std::time::Duration;

use serde_json::Value;

use super::{Finding, Observation, ProbeCtx};
use shipcheck_core::duration::Span;

/// What the audit saw.
#[derive(Clone, Debug, serde::Serialize, Default)]
pub struct PgReport {
    pub server_version: String,
    pub ssl: String,
    pub ssl_min_protocol_version: String,
    pub password_encryption: String,
    /// Whether this connection is encrypted (`pg_stat_ssl`); null when the server did not
    /// say (never "no" for "unknown").
    pub connection_encrypted: Option<bool>,
    pub plaintext_refused: bool,
    pub plaintext_detail: String,
    /// Non-local `trust` rules: `line N: type database user address`.
    pub trust_rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hba_error: Option<String>,
    /// Tables outside the system schemas, `schema.table` (from `pg_tables`, which lists
    /// every table whatever the user may read; at most 10,000): whether migrations ran.
    pub tables: Vec<String>,
}

impl crate::Observe for PostgresProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let url = match (&self.url, &self.env_var, &self.env_file) {
            (Some(u), _, _) => ctx.expand(u)?,
            (None, Some(var), Some(file)) => {
                let (var, path) = (ctx.expand(var)?, ctx.path(file)?);
                super::env::read_env_file(&path)?
                    .remove(&var)
                    .ok_or_else(|| format!("{} has no {var}", path.display()))?
            }
            _ => return Err("postgres needs `url`, or `env_var` and `env_file`".into()),
        };
        let ca = ctx.optional_path(self.ca_file.as_ref())?;
        let timeout = self.timeout.map_or(Duration::from_secs(10), |s| s.0);
        let (report, secrets) = audit(&url, ca.as_deref(), timeout)?;
        let mut obs = Observation::new(
            serde_json::to_value(&report).unwrap_or(Value::Null),
            format!("postgres {}", display_target(&url)),
        );
        obs.secrets = secrets;
        obs.findings = judge(&report);
        Ok(obs)
    }
}

/// Findings under the default policy.
pub fn judge(r: &PgReport) -> Vec<Finding> {
    let min_ok = matches!(r.ssl_min_protocol_version.as_str(), "TLSv1.2" | "TLSv1.3");
    vec![
        Finding::new(true, "server version reported", r.server_version.clone()),
        Finding::new(r.ssl == "on", "ssl = on", r.ssl.clone()),
        Finding::new(
            min_ok,
            "ssl_min_protocol_version ≥ TLSv1.2",
            r.ssl_min_protocol_version.clone(),
        ),
        Finding::new(
            r.password_encryption == "scram-sha-256",
            "password_encryption = scram-sha-256",
            r.password_encryption.clone(),
        ),
        Finding::new(
            r.plaintext_refused,
            "a connection with sslmode=disable is refused",
            r.plaintext_detail.clone(),
        ),
        match &r.hba_error {
            Some(e) => Finding::new(
                false,
                "no trust rules for non-local hosts in pg_hba_file_rules",
                format!("could not read pg_hba_file_rules: {e}"),
            ),
            None => Finding::new(
                r.trust_rules.is_empty(),
                "no trust rules for non-local hosts in pg_hba_file_rules",
                if r.trust_rules.is_empty() {
                    "none".into()
                } else {
                    r.trust_rules.join("; ")
                },
            ),
        },
    ]
}

/// A connection URL's settings; the error never quotes the URL (it may hold a password).
pub fn parse_url(url: &str) -> Result<tokio_postgres::Config, String> {
    url.parse().map_err(|e: tokio_postgres::Error| {
        format!(
            "the connection URL does not parse: {}",
            scrub_url(&e.to_string(), url)
        )
    })
}

/// Connects and audits. Returns the report and the secret strings to scrub.
pub fn audit(
    url: &str,
    ca: Option<&std::path::Path>,
    timeout: Duration,
) -> Result<(PgReport, Vec<String>), String> {
    let mut config = parse_url(url)?;
    let mut secrets = vec![url.to_string()];
    if let Some(p) = config.get_password() {
        secrets.push(String::from_utf8_lossy(p).into_owned());
    }
    config.connect_timeout(timeout);
    if config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
        config.ssl_mode(tokio_postgres::config::SslMode::Prefer);
    }
    let make = tls_connector(ca)?;
    let scrub = |e: &tokio_postgres::Error| -> String {
        let text = error_text(e);
        secrets.iter().fold(text, |t, s| {
            if s.len() >= 4 {
                t.replace(s.as_str(), "<secret>")
            } else {
                t
            }
        })
    };
    let run = async {
        let (client, conn) = tokio::time::timeout(timeout, config.connect(make))
            .await
            .map_err(|_| format!("no connection within {}", Span(timeout)))?
            .map_err(|e| format!("cannot connect to {}: {}", display_target(url), scrub(&e)))?;
        let conn_task = tokio::spawn(conn);
        let show = |name: &'static str| {
            let client = &client;
            async move {
                client
                    .query_one(&format!("SHOW {name}"), &[])
                    .await
                    .map(|row| row.get::<_, String>(0))
                    .unwrap_or_else(|e| {
                        format!(
                            "(unreadable: {})",
                            e.as_db_error()
                                .map_or_else(|| e.to_string(), |d| d.message().to_string())
                        )
                    })
            }
        };
        let mut report = PgReport {
            server_version: show("server_version").await,
            ssl: show("ssl").await,
            ssl_min_protocol_version: show("ssl_min_protocol_version").await,
            password_encryption: show("password_encryption").await,
            ..PgReport::default()
        };
        report.connection_encrypted = client
            .query_one("SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)", &[])
            .await
            .ok()
            .and_then(|r| r.try_get::<_, bool>(0).ok());
        match client
            .query("SELECT line_number, type, array_to_string(database, ','), array_to_string(user_name, ','), coalesce(address, ''), coalesce(auth_method, '') FROM pg_hba_file_rules", &[])
            .await
        {
            Ok(rows) => {
                for row in rows {
                    let (line, kind, db, user, addr, method): (Option<i32>, Option<String>, Option<String>, Option<String>, String, String) =
                        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5));
                    let kind = kind.unwrap_or_default();
                    let local = kind == "local" || matches!(addr.as_str(), "127.0.0.1" | "::1" | "localhost" | "samehost");
                    if method == "trust" && !local {
                        report.trust_rules.push(format!("line {}: {kind} {} {} {addr}", line.unwrap_or(0), db.unwrap_or_default(), user.unwrap_or_default()));
                    }
                }
            }
            Err(e) => report.hba_error = Some(e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string())),
        }
        report.tables = client
            .query("SELECT schemaname || '.' || tablename FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 10000", &[])
            .await
            .map_err(|e| format!("cannot list the tables: {}", scrub(&e)))?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        drop(client);
        conn_task.abort();
        let mut plain = config.clone();
        plain.ssl_mode(tokio_postgres::config::SslMode::Disable);
        match tokio::time::timeout(timeout, plain.connect(tokio_postgres::NoTls)).await {
            Ok(Ok((c, conn))) => {
                let t = tokio::spawn(conn);
                drop(c);
                t.abort();
                report.plaintext_refused = false;
                report.plaintext_detail = "a plaintext connection was accepted".into();
            }
            Ok(Err(e)) => {
                report.plaintext_refused = true;
                report.plaintext_detail = format!("refused: {}", scrub(&e));
            }
            Err(_) => {
                report.plaintext_refused = false;
                report.plaintext_detail = "no answer to a plaintext connection".into();
            }
        }
        Ok::<_, String>(report)
    };
    let report = super::http::block_on(run)??;
    Ok((report, secrets))
}

fn scrub_url(text: &str, url: &str) -> String {
    text.replace(url, "<url>")
}
