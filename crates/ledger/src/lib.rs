//! The ledger: an append-only, hash-chained record of runs, attestations, sign-offs,
//! waivers and baselines. SQLite (embedded, the default) or PostgreSQL (a `postgres://`
//! URL), with versioned migrations for both. See [`chain`] for the tamper evidence.

pub mod chain;
pub mod codec;
pub mod deliveries;
pub mod headsig;
pub mod jobs;
mod migrate;
mod postgres;
pub mod query;
pub mod scope;
mod sqlite;
pub mod summary;
mod verify;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use shipcheck_core::outcome::Run;

/// Env var holding the HMAC key that authenticates the chain head.
pub const KEY_ENV: &str = "SHIPCHECK_LEDGER_KEY";
/// Env var naming the ledger (a path or a `postgres://` URL).
pub const DB_ENV: &str = "SHIPCHECK_DB";
/// Test hook: sleep this many milliseconds inside the write transaction, before commit, so
/// a test can kill the process mid-write. Never set it in production.
pub const FAILPOINT_SLOW_COMMIT: &str = "SHIPCHECK_FAILPOINT_SLOW_COMMIT_MS";

/// Ledger errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("ledger {location}: {message}")]
    Sqlite { location: String, message: String },
    #[error("ledger {location}: {message}")]
    Postgres { location: String, message: String },
    #[error("cannot create the ledger folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ledger record #{seq} is not valid JSON of its kind: {message}")]
    Body { seq: i64, message: String },
    #[error("{0}")]
    NotFound(String),
    /// The head is authenticated and no key is set: writing would unsign the chain.
    #[error(
        "the ledger's head is authenticated with a key: set {KEY_ENV} to write to it (or pass --rekey to drop the authentication on purpose)"
    )]
    KeyRequired,
    /// The head is authenticated with another key: writing would re-sign the chain.
    #[error(
        "{KEY_ENV} does not match the key the ledger's head is authenticated with: writing would re-sign the chain (pass --rekey to do that on purpose)"
    )]
    WrongKey,
    /// The head is signed and no signing key is set: writing would unsign the chain.
    #[error(
        "the ledger's head is signed with an Ed25519 key: set {} to its private key to write to it (or pass --rekey to drop the signature on purpose)",
        headsig::SIGNING_KEY_ENV
    )]
    SigningKeyRequired,
    /// The head is signed with another key: writing would re-sign the chain.
    #[error(
        "{env} is not the key the ledger's head is signed with ({0}): writing would re-sign the chain (pass --rekey to do that on purpose)",
        env = headsig::SIGNING_KEY_ENV
    )]
    WrongSigningKey(String),
    #[error("{0}")]
    Invalid(String),
    /// A scheduled job's claim ended and another worker took it: its run is not recorded.
    #[error("job {0} is no longer this worker's")]
    JobTaken(i64),
}

/// Kinds of records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Run,
    Attestation,
    Signoff,
    Waiver,
    Baseline,
    /// An API token of `shipcheck serve` created or revoked: server-wide, no deployment's.
    Token,
    /// A deploy: the start of the post-deploy phases.
    Deploy,
    /// Drift a scheduled run found against the deploy's baseline.
    Alert,
    /// Files `shipcheck fix --apply` changed (or `--undo` restored).
    Fix,
}

impl Kind {
    /// The kinds that belong to a deployment.
    pub const SCOPED: [Kind; 8] = [
        Kind::Run,
        Kind::Attestation,
        Kind::Waiver,
        Kind::Signoff,
        Kind::Baseline,
        Kind::Deploy,
        Kind::Alert,
        Kind::Fix,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Attestation => "attestation",
            Kind::Signoff => "signoff",
            Kind::Waiver => "waiver",
            Kind::Baseline => "baseline",
            Kind::Token => "token",
            Kind::Deploy => "deploy",
            Kind::Alert => "alert",
            Kind::Fix => "fix",
        }
    }
}

/// One stored record, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: i64,
    pub kind: String,
    pub created_at: String,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
    /// The indexed deployment and environment columns: outside the hash, a copy of what
    /// [`scope`] computes from the body (`ledger verify` checks they agree). `None` for a
    /// record no deployment claims.
    pub deployment: Option<String>,
    pub environment: Option<String>,
}

/// The stored chain head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub mac: Option<String>,
    /// The head's Ed25519 signature (armored SSHSIG, see [`headsig`]).
    pub sig: Option<String>,
}

use migrate::{LATEST_MIGRATION, MIGRATIONS, SCOPE_MIGRATION, backfill_rows, newer_schema};
pub use verify::{Authentication, Verification, verify_chain};

pub use shipcheck_core::statement::{
    Alert, Attestation, Baseline, Deploy, EvidenceRef, Signoff, Waiver,
};

/// Where the ledger lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// `--db` value, else `$SHIPCHECK_DB`, else `$XDG_DATA_HOME/shipcheck/ledger.db`
    /// (`~/.local/share/shipcheck/ledger.db`).
    pub fn resolve(flag: Option<&str>) -> Location {
        let chosen = flag
            .map(String::from)
            .or_else(|| std::env::var(DB_ENV).ok().filter(|s| !s.is_empty()));
        match chosen {
            Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => {
                Location::Postgres(s)
            }
            Some(s) => Location::Sqlite(PathBuf::from(s)),
            None => {
                let base = std::env::var_os("XDG_DATA_HOME")
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share"))
                    })
                    .unwrap_or_else(|| PathBuf::from("."));
                Location::Sqlite(base.join("shipcheck/ledger.db"))
            }
        }
    }

    /// A printable form (a PostgreSQL URL without its password).
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => {
                format!("postgres {}", shipcheck_net::pg::display_target(url))
            }
        }
    }
}

/// A record store: the chain is computed by the backend inside one write transaction, so
/// concurrent writers queue and a writer killed before commit leaves nothing. Backends are
/// safe to call from any thread (they block it for the query).
pub trait Store: Send {
    /// Appends one record placed in `scope`: links it to the head, updates the head (and its
    /// MAC under `key`).
    fn append(
        &mut self,
        kind: &str,
        body: codec::Encoded<'_>,
        scope: Option<&scope::Scope>,
        summary: Option<&summary::RawRow>,
        auth: &headsig::HeadAuth,
        done: Option<&jobs::Done>,
    ) -> Result<Record, LedgerError>;
    /// The jobs a statement over the jobs table returns (`sql` with `#N` placeholders).
    fn jobs(
        &mut self,
        sql: &str,
        params: Vec<query::Param>,
    ) -> Result<Vec<jobs::JobRow>, LedgerError>;
    /// The deliveries a statement over the deliveries table returns.
    fn deliveries(
        &mut self,
        sql: &str,
        params: Vec<query::Param>,
    ) -> Result<Vec<deliveries::DeliveryRow>, LedgerError>;
    /// PostgreSQL (rows can be locked and skipped) rather than SQLite.
    fn is_postgres(&self) -> bool;
    /// The run summaries `query` selects (see [`summary`]).
    fn summaries(
        &mut self,
        query: &summary::SummaryQuery,
    ) -> Result<Vec<summary::RawRow>, LedgerError>;
    /// All records in sequence order.
    fn records(&mut self) -> Result<Vec<Record>, LedgerError>;
    /// The records of `kind` that apply to `deployment` in `environment` (those placed in no
    /// environment too), in sequence order: one indexed query.
    fn scoped(
        &mut self,
        kind: &str,
        deployment: &str,
        environment: &str,
    ) -> Result<Vec<Record>, LedgerError>;
    /// How many records of `kind` have a sequence number at most `seq` (without reading
    /// their bodies).
    fn count_kind(&mut self, kind: &str, seq: i64) -> Result<i64, LedgerError>;
    /// The records `query` selects, in its order: one indexed statement.
    fn select(&mut self, query: &query::Query) -> Result<Vec<Record>, LedgerError>;
    /// The bases (`body_base`) of the latest `limit` runs placed in `scope` (its deployment
    /// and environment), newest first: one index range (`records_scope`).
    fn recent_bases(
        &mut self,
        scope: &scope::Scope,
        limit: i64,
    ) -> Result<Vec<Option<String>>, LedgerError>;
    /// The highest sequence number of the records of `deployment` (any kind of statement
    /// or run, any environment): one index lookup per kind, to tell whether anything of it
    /// changed.
    fn max_seq(&mut self, deployment: &str) -> Result<Option<i64>, LedgerError>;
    /// The chain head, when any record was written.
    fn head(&mut self) -> Result<Option<Head>, LedgerError>;
    /// Stores a blob under its SHA-256 (idempotent).
    fn put_blob(&mut self, digest: &str, data: &[u8]) -> Result<(), LedgerError>;
    /// The blob stored under `digest`, if any.
    fn get_blob(&mut self, digest: &str) -> Result<Option<Vec<u8>>, LedgerError>;
    /// Records as read, with their deltas applied (each base read once, see
    /// [`codec::resolve`]).
    fn resolved(
        &mut self,
        rows: Vec<(Record, Option<codec::Delta>)>,
    ) -> Result<Vec<Record>, LedgerError> {
        codec::resolve(rows, &mut |digest| self.get_blob(digest))
    }
}

/// An open ledger.
pub struct Ledger {
    backend: Box<dyn Store>,
    key: Option<Vec<u8>>,
    /// The Ed25519 key that signs the head where records are written.
    signer: Option<ssh_key::PrivateKey>,
    /// The public key `verify` checks the head's signature against.
    trusted: Option<ssh_key::PublicKey>,
    /// Write even when the head is authenticated with another key (or none is set).
    rekey: bool,
    pub location: Location,
}

impl Ledger {
    /// Opens (creating and migrating when needed) the ledger at `location`. The HMAC key
    /// comes from `$SHIPCHECK_LEDGER_KEY` when set, the head's signing and trusted public
    /// keys from `$SHIPCHECK_LEDGER_SIGNING_KEY` and `$SHIPCHECK_LEDGER_PUBLIC_KEY`.
    pub fn open(location: Location) -> Result<Ledger, LedgerError> {
        let key = std::env::var(KEY_ENV)
            .ok()
            .filter(|k| !k.is_empty())
            .map(String::into_bytes);
        let signer = headsig::signing_key_from_env()?;
        // The holder of the signing key trusts its public half.
        let trusted = match headsig::public_key_from_env()? {
            Some(key) => Some(key),
            None => signer.as_ref().map(|k| k.public_key().clone()),
        };
        let mut ledger = Self::open_with_key(location, key)?;
        ledger.signer = signer;
        ledger.trusted = trusted;
        Ok(ledger)
    }

    /// Opens a ledger that must already exist, for commands that read it or refer to its
    /// runs: a missing SQLite file is an error, not a new empty ledger.
    pub fn open_existing(location: Location) -> Result<Ledger, LedgerError> {
        if let Location::Sqlite(path) = &location
            && !path.exists()
        {
            return Err(LedgerError::NotFound(format!(
                "no ledger at {} (run `shipcheck check` first, or pass --db)",
                path.display()
            )));
        }
        Self::open(location)
    }

    pub fn open_with_key(location: Location, key: Option<Vec<u8>>) -> Result<Ledger, LedgerError> {
        let backend: Box<dyn Store> = match &location {
            Location::Sqlite(path) => Box::new(sqlite::Store::open(path)?),
            Location::Postgres(url) => Box::new(postgres::Store::open(url)?),
        };
        Ok(Ledger {
            backend,
            key,
            signer: None,
            trusted: None,
            rekey: false,
            location,
        })
    }

    /// Whether the head is authenticated (a key is configured).
    pub fn keyed(&self) -> bool {
        self.key.is_some()
    }

    /// Lets writes re-sign (or unsign) a head authenticated with another key.
    pub fn allow_rekey(&mut self, yes: bool) {
        self.rekey = yes;
    }

    /// Appends a record that belongs in `scope` (`None`: no deployment claims it).
    fn append(
        &mut self,
        kind: Kind,
        body: &str,
        scope: Option<scope::Scope>,
    ) -> Result<Record, LedgerError> {
        self.append_with(kind, body, scope, None, None)
    }

    /// [`Ledger::append`] with a run's summary row, written in the same transaction (its
    /// sequence number is the record's, set by the store).
    fn append_with(
        &mut self,
        kind: Kind,
        body: &str,
        scope: Option<scope::Scope>,
        summary: Option<summary::RawRow>,
        done: Option<&jobs::Done>,
    ) -> Result<Record, LedgerError> {
        if !self.rekey
            && let Some(head) = self.backend.head()?
        {
            if let Some(mac) = &head.mac {
                match &self.key {
                    None => return Err(LedgerError::KeyRequired),
                    Some(k) if !chain::mac_eq(mac, &chain::head_mac(k, head.seq, &head.hash)) => {
                        return Err(LedgerError::WrongKey);
                    }
                    Some(_) => {}
                }
            }
            headsig::check_writer(head.sig.as_deref(), self.signer.as_ref())?;
        }
        let stored = match &scope {
            Some(s) if kind == Kind::Run && codec::wants_base(body) => self.stored_run(body, s)?,
            _ => codec::encode(body),
        };
        self.backend.append(
            kind.as_str(),
            codec::Encoded { json: body, stored },
            scope.as_ref(),
            summary.as_ref(),
            &headsig::HeadAuth {
                mac_key: self.key.clone(),
                signer: self.signer.clone(),
            },
            done,
        )
    }

    /// How a run placed in `scope` is stored: as a delta against the current base of its
    /// deployment and environment while that base has served fewer than
    /// [`codec::BASE_USES`] runs and the delta is small; else the run becomes the new base
    /// ([`codec`]).
    fn stored_run(
        &mut self,
        body: &str,
        scope: &scope::Scope,
    ) -> Result<codec::Stored, LedgerError> {
        let recent = self.backend.recent_bases(scope, codec::BASE_USES)?;
        if let Some(Some(digest)) = recent.first() {
            let uses = recent.iter().filter(|b| b.as_ref() == Some(digest)).count();
            if (uses as i64) < codec::BASE_USES
                && let Some(blob) = self.backend.get_blob(digest)?
                && chain::digest(&blob) == *digest
                && let Ok(base) = codec::base_text(&blob)
                && let Some(stored) = codec::delta(body, digest, &base, blob.len())
            {
                return Ok(stored);
            }
        }
        let Some(blob) = codec::base_blob(body) else {
            return Ok(codec::encode(body));
        };
        let digest = self.put_blob(&blob)?;
        Ok(codec::delta(body, &digest, body.as_bytes(), blob.len())
            .unwrap_or_else(|| codec::encode(body)))
    }

    /// All records in sequence order.
    pub fn records(&mut self) -> Result<Vec<Record>, LedgerError> {
        self.backend.records()
    }

    /// The stored chain head (`None` for an empty ledger).
    pub fn head(&mut self) -> Result<Option<Head>, LedgerError> {
        self.backend.head()
    }

    /// Stores a blob by content hash; returns its SHA-256.
    pub fn put_blob(&mut self, data: &[u8]) -> Result<String, LedgerError> {
        let digest = chain::digest(data);
        self.backend.put_blob(&digest, data)?;
        Ok(digest)
    }

    /// The blob stored under `digest` (a SHA-256 in hex), if any.
    pub fn blob(&mut self, digest: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        self.backend.get_blob(digest)
    }

    /// Records a run (already redacted by the engine).
    pub fn record_run(&mut self, run: &Run) -> Result<i64, LedgerError> {
        self.record_run_with(run, None)
    }

    /// [`Ledger::record_run`], marking a scheduled job done in the same transaction.
    fn record_run_with(
        &mut self,
        run: &Run,
        done: Option<&jobs::Done>,
    ) -> Result<i64, LedgerError> {
        let body = serde_json::to_string(run).map_err(|e| LedgerError::Invalid(e.to_string()))?;
        let scope = scope::Scope {
            deployment: run.deployment_id(),
            environment: Some(run.environment.clone()),
        };
        let row = summary::row_of(0, run)?;
        Ok(self
            .append_with(Kind::Run, &body, Some(scope), Some(row), done)?
            .seq)
    }

    pub fn record_attestation(&mut self, a: &Attestation) -> Result<i64, LedgerError> {
        self.append_json(
            Kind::Attestation,
            a,
            statement_scope(&a.deployment, &a.environment),
        )
    }

    pub fn record_signoff(&mut self, s: &Signoff) -> Result<i64, LedgerError> {
        self.append_json(
            Kind::Signoff,
            s,
            statement_scope(&s.deployment, &s.environment),
        )
    }

    pub fn record_waiver(&mut self, w: &Waiver) -> Result<i64, LedgerError> {
        self.append_json(
            Kind::Waiver,
            w,
            statement_scope(&w.deployment, &w.environment),
        )
    }

    pub fn record_baseline(&mut self, b: &Baseline) -> Result<i64, LedgerError> {
        self.append_json(
            Kind::Baseline,
            b,
            statement_scope(&b.deployment, &b.environment),
        )
    }

    pub fn record_deploy(&mut self, d: &Deploy) -> Result<i64, LedgerError> {
        self.append_json(
            Kind::Deploy,
            d,
            Some(scope::Scope {
                deployment: d.deployment.clone(),
                environment: Some(d.environment.clone()),
            }),
        )
    }

    pub fn record_alert(&mut self, a: &Alert) -> Result<i64, LedgerError> {
        self.append_json(
            Kind::Alert,
            a,
            Some(scope::Scope {
                deployment: a.deployment.clone(),
                environment: Some(a.environment.clone()),
            }),
        )
    }

    pub fn record_fix(&mut self, f: &shipcheck_core::statement::Fix) -> Result<i64, LedgerError> {
        self.append_json(
            Kind::Fix,
            f,
            Some(scope::Scope {
                deployment: f.deployment.clone(),
                environment: Some(f.environment.clone()),
            }),
        )
    }

    /// The latest deploy of `deployment` in `environment`, with its sequence number: one
    /// indexed query.
    pub fn latest_deploy(
        &mut self,
        deployment: &str,
        environment: &str,
    ) -> Result<Option<(i64, Deploy)>, LedgerError> {
        Ok(self
            .latest_in(Kind::Deploy, deployment, environment, 1)?
            .pop())
    }

    /// The newest records of `kind` in `deployment` and `environment`, newest first, at
    /// most `limit`, bodies parsed: one indexed query.
    pub fn latest_in<T: for<'de> Deserialize<'de>>(
        &mut self,
        kind: Kind,
        deployment: &str,
        environment: &str,
        limit: u64,
    ) -> Result<Vec<(i64, T)>, LedgerError> {
        self.backend
            .select(&query::Query::Page {
                kind: kind.as_str().into(),
                deployment: deployment.into(),
                environment: Some(environment.into()),
                before: i64::MAX,
                limit: i64::try_from(limit).unwrap_or(i64::MAX),
            })?
            .iter()
            .map(parse_body)
            .collect()
    }

    fn append_json<T: Serialize>(
        &mut self,
        kind: Kind,
        value: &T,
        scope: Option<scope::Scope>,
    ) -> Result<i64, LedgerError> {
        let body = serde_json::to_string(value).map_err(|e| LedgerError::Invalid(e.to_string()))?;
        Ok(self.append(kind, &body, scope)?.seq)
    }

    /// Records a token's creation or revocation (a server-wide record, no deployment's).
    pub fn record_token(
        &mut self,
        t: &shipcheck_core::account::TokenRecord,
    ) -> Result<i64, LedgerError> {
        self.append_json(Kind::Token, t, None)
    }

    /// The live API tokens: one indexed query over the `token` records.
    pub fn tokens(&mut self) -> Result<Vec<shipcheck_core::account::Token>, LedgerError> {
        let records: Vec<(i64, shipcheck_core::account::TokenRecord)> = self
            .backend
            .select(&query::Query::Kind(Kind::Token.as_str().into()))?
            .iter()
            .map(parse_body)
            .collect::<Result<_, _>>()?;
        Ok(shipcheck_core::account::live_tokens(
            records.iter().map(|(_, r)| r),
        ))
    }

    /// The highest sequence number among `deployment`'s records: it changes with every
    /// record written for the deployment.
    pub fn max_seq(&mut self, deployment: &str) -> Result<Option<i64>, LedgerError> {
        self.backend.max_seq(deployment)
    }

    /// The run summaries `q` selects (see [`summary`]).
    pub fn run_summaries(
        &mut self,
        q: &summary::SummaryQuery,
    ) -> Result<Vec<summary::SummaryRow>, LedgerError> {
        self.backend
            .summaries(q)?
            .into_iter()
            .map(summary::SummaryRow::parse)
            .collect()
    }

    /// The records `q` selects, as stored (see [`query::Query`]).
    pub fn select(&mut self, q: &query::Query) -> Result<Vec<Record>, LedgerError> {
        self.backend.select(q)
    }

    /// Records of one kind with their bodies parsed.
    pub fn all<T: for<'de> Deserialize<'de>>(
        &mut self,
        kind: Kind,
    ) -> Result<Vec<(i64, T)>, LedgerError> {
        // One indexed read of that kind (`records_kind`), not the whole ledger.
        let records = self
            .backend
            .select(&query::Query::Kind(kind.as_str().into()))?;
        parse_kind(&records, kind)
    }

    /// Records of `kind` that apply to `deployment` in `environment` (see [`scope`]),
    /// bodies parsed: one indexed query.
    pub fn scoped<T: for<'de> Deserialize<'de>>(
        &mut self,
        kind: Kind,
        deployment: &str,
        environment: &str,
    ) -> Result<Vec<(i64, T)>, LedgerError> {
        self.backend
            .scoped(kind.as_str(), deployment, environment)?
            .iter()
            .map(parse_body)
            .collect()
    }

    /// Run number `n` (runs are numbered 1, 2, ... on their own, as `history` shows them;
    /// other records between them do not count) and its sequence number: one indexed read,
    /// whatever the size of the ledger.
    pub fn run_by_number(&mut self, n: u64) -> Result<(i64, Run), LedgerError> {
        let found = match n.checked_sub(1) {
            Some(offset) => self.one_run(query::Query::Nth {
                kind: Kind::Run.as_str().into(),
                offset: i64::try_from(offset).unwrap_or(i64::MAX),
            })?,
            None => None,
        };
        match found {
            Some(found) => Ok(found),
            None => {
                let total = self.backend.count_kind(Kind::Run.as_str(), i64::MAX)?;
                Err(LedgerError::NotFound(format!(
                    "no run #{n} in the ledger (it holds {total} run{}; `shipcheck history --all` lists them)",
                    if total == 1 { "" } else { "s" }
                )))
            }
        }
    }

    /// The run `back` places before the newest of the ledger (0: the newest), with its
    /// number and sequence number, or the number of runs when there are not that many.
    pub fn nth_newest_run(
        &mut self,
        back: u64,
    ) -> Result<Result<(u64, i64, Run), u64>, LedgerError> {
        let found = self.one_run(query::Query::NthNewest {
            kind: Kind::Run.as_str().into(),
            offset: i64::try_from(back).unwrap_or(i64::MAX),
        })?;
        Ok(match found {
            Some((seq, run)) => Ok((self.run_number(seq)?.unwrap_or_default(), seq, run)),
            None => Err(self.backend.count_kind(Kind::Run.as_str(), i64::MAX)? as u64),
        })
    }

    /// The newest runs of `deployment` in `environment`, newest first, at most `limit`:
    /// one indexed read.
    pub fn latest_runs_in(
        &mut self,
        deployment: &str,
        environment: &str,
        limit: u64,
    ) -> Result<Vec<(i64, Run)>, LedgerError> {
        self.latest_in(Kind::Run, deployment, environment, limit)
    }

    /// The runs of `deployment` in `environment`, counted without reading them.
    pub fn count_runs_in(
        &mut self,
        deployment: &str,
        environment: &str,
    ) -> Result<u64, LedgerError> {
        Ok(self
            .run_summaries(&summary::SummaryQuery::Page {
                deployment: deployment.into(),
                environment: Some(environment.into()),
                before: i64::MAX,
                limit: i64::MAX,
            })?
            .len() as u64)
    }

    fn one_run(&mut self, q: query::Query) -> Result<Option<(i64, Run)>, LedgerError> {
        self.backend
            .select(&q)?
            .iter()
            .find(|r| r.kind == Kind::Run.as_str())
            .map(parse_body)
            .transpose()
    }

    /// The number of the run recorded under sequence number `seq` (runs counted up to it,
    /// one query: the bodies are not read).
    pub fn run_number(&mut self, seq: i64) -> Result<Option<u64>, LedgerError> {
        let n = self.backend.count_kind(Kind::Run.as_str(), seq)?;
        Ok((n > 0).then_some(n as u64))
    }

    /// The record of run `seq` as stored: its JSON text is what a sign-off's digest covers
    /// and what the hash chain links.
    pub fn run_record(&mut self, seq: i64) -> Result<Record, LedgerError> {
        self.backend
            .select(&query::Query::Seq(seq))?
            .into_iter()
            .find(|r| r.kind == Kind::Run.as_str())
            .ok_or_else(|| LedgerError::NotFound(format!("no run #{seq} in the ledger")))
    }

    /// One run by sequence number.
    pub fn run(&mut self, seq: i64) -> Result<Run, LedgerError> {
        self.one_run(query::Query::Seq(seq))?
            .map(|(_, r)| r)
            .ok_or_else(|| LedgerError::NotFound(format!("no run #{seq} in the ledger")))
    }
}

/// The statement of [`Store::max_seq`], with placeholder `p` (`?1` or `$1`): one index
/// lookup (`records_scope`) per deployment-scoped kind.
fn max_seq_sql(p: &str) -> String {
    let per_kind: Vec<String> = Kind::SCOPED
        .iter()
        .map(|k| {
            format!(
                "SELECT max(seq) AS m FROM records WHERE deployment = {p} AND kind = '{}'",
                k.as_str()
            )
        })
        .collect();
    format!(
        "SELECT max(m) FROM ({}) AS per_kind",
        per_kind.join(" UNION ALL ")
    )
}

/// Where a statement with these fields belongs: the same placement [`scope::Placer`] gives
/// its body (a statement that names no deployment belongs to none).
fn statement_scope(
    deployment: &Option<String>,
    environment: &Option<String>,
) -> Option<scope::Scope> {
    deployment.as_ref().map(|d| scope::Scope {
        deployment: d.clone(),
        environment: environment.clone(),
    })
}

/// Records of one kind from `records`, with their bodies parsed.
pub fn parse_kind<T: for<'de> Deserialize<'de>>(
    records: &[Record],
    kind: Kind,
) -> Result<Vec<(i64, T)>, LedgerError> {
    records
        .iter()
        .filter(|r| r.kind == kind.as_str())
        .map(parse_body)
        .collect()
}

/// A record's sequence number and its body parsed.
pub fn parse_body<T: for<'de> Deserialize<'de>>(r: &Record) -> Result<(i64, T), LedgerError> {
    serde_json::from_str(&r.body)
        .map(|v| (r.seq, v))
        .map_err(|e| LedgerError::Body {
            seq: r.seq,
            message: e.to_string(),
        })
}

/// Failpoint hook for the kill test (see [`FAILPOINT_SLOW_COMMIT`]).
fn failpoint_slow_commit() {
    if let Some(ms) = std::env::var(FAILPOINT_SLOW_COMMIT)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Makes sure the folder of a SQLite ledger exists.
fn ensure_folder(path: &Path) -> Result<(), LedgerError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| LedgerError::Folder {
                path: dir.to_owned(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Now, as stored in records.
pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}
