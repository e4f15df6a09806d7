//! The schema migrations, in order, for both databases; the schema version this build
//! writes; and the backfill of placement columns for records written before them.

use crate::{Record, codec, headsig, jobs, scope, summary};

/// The migration that adds the deployment and environment columns; the backend fills them
/// for existing records ([`scope::Placer`]) in the same transaction.
pub(crate) const SCOPE_MIGRATION: i64 = 2;

/// Migrations, in order: (version, SQL for SQLite, SQL for PostgreSQL).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "CREATE TABLE records (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, created_at TEXT NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
     CREATE TABLE head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL, mac TEXT);
     INSERT INTO head (id, seq, hash, mac) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', NULL);
     CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, content BLOB NOT NULL);",
    "CREATE TABLE records (seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, created_at TEXT NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
     CREATE TABLE head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL, mac TEXT);
     INSERT INTO head (id, seq, hash, mac) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', NULL);
     CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, content BYTEA NOT NULL);",
), (
    SCOPE_MIGRATION,
    SCOPE_SQL,
    SCOPE_SQL,
), (
    summary::SUMMARY_MIGRATION,
    summary::SUMMARY_SQL,
    summary::SUMMARY_SQL,
), (
    jobs::JOBS_MIGRATION,
    jobs::JOBS_SQLITE,
    jobs::JOBS_POSTGRES,
), (
    codec::CODEC_MIGRATION,
    codec::CODEC_SQLITE,
    codec::CODEC_POSTGRES,
), (
    codec::DELTA_MIGRATION,
    codec::DELTA_SQL,
    codec::DELTA_SQL,
), (
    headsig::SIG_MIGRATION,
    headsig::SIG_SQL,
    headsig::SIG_SQL,
)];

/// The schema version this build writes: the last of [`MIGRATIONS`].
pub(crate) const LATEST_MIGRATION: i64 = headsig::SIG_MIGRATION;

/// Why a ledger whose schema is newer than this build's is not opened: its records may be
/// stored in a form this build cannot read (run deltas came with version 6).
pub(crate) fn newer_schema(found: i64) -> String {
    format!(
        "written by a newer shipcheck (schema version {found}; this one knows up to {LATEST_MIGRATION}): upgrade shipcheck to read or write it"
    )
}

/// Both databases take the same statements.
const SCOPE_SQL: &str = "ALTER TABLE records ADD COLUMN deployment TEXT;
     ALTER TABLE records ADD COLUMN environment TEXT;
     CREATE INDEX records_scope ON records (deployment, kind, seq);
     CREATE INDEX records_kind ON records (kind, seq);";

/// The columns a backfill writes for each record: (seq, deployment, environment), for the
/// records placed somewhere. A body that does not parse is left out (its columns stay
/// empty) so the ledger still opens; `ledger verify` reports it.
pub(crate) fn backfill_rows(records: &[Record]) -> Vec<(i64, String, Option<String>)> {
    let mut placer = scope::Placer::default();
    records
        .iter()
        .filter_map(|r| placer.place(r).ok())
        .filter_map(|p| {
            let s = p.placement.scope()?;
            Some((p.seq, s.deployment.clone(), s.environment.clone()))
        })
        .collect()
}
