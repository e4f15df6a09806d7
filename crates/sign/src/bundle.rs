//! A portable evidence bundle (`shipcheck export RUN -o run.bundle`): a run, the attestations
//! and sign-offs that apply to it, optionally the attestations' evidence files, and the
//! segment of the hash chain from the first of them to the ledger's head, every record
//! whole, so `shipcheck verify-bundle` checks it all offline, with no database.
//!
//! The chain links each record's hash to its body, so a segment proves a record's place only
//! with every record after it up to the head (a record left out could be replaced without a
//! trace); the head is authenticated by its Ed25519 signature (`headsig`), checked against
//! a trusted public key. A bundle therefore holds the other records of that stretch of the
//! ledger too (runs and statements of other deployments, secrets already redacted).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use shipcheck_core::outcome::Run;
use shipcheck_core::statement::{Attestation, EvidenceRef, Signoff};
use shipcheck_ledger::{Head, Record, chain, headsig};

use crate::{AllowedSigners, message};

/// The bundle format's name and version.
pub const FORMAT: &str = "shipcheck-bundle/v1";
/// Most records a bundle holds (a segment longer than this is refused at export).
pub const MAX_RECORDS: usize = 200_000;
/// Largest bundle written or read.
pub const MAX_BYTES: u64 = 512 << 20;

/// A bundle as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    /// The run's sequence number in the ledger.
    pub run: i64,
    /// The chain from the first record the bundle needs to the head, oldest first.
    pub records: Vec<BundleRecord>,
    pub head: BundleHead,
    /// Evidence files of the attestations (`--with-evidence`), by content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceFile>,
}

/// One ledger record, whole.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BundleRecord {
    pub seq: i64,
    pub kind: String,
    pub created_at: String,
    pub prev_hash: String,
    pub hash: String,
    pub body: String,
}

/// The ledger head when the bundle was made.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BundleHead {
    pub seq: i64,
    pub hash: String,
    /// The head's SSH signature (armored), when the ledger's head is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

/// An evidence file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EvidenceFile {
    pub sha256: String,
    /// The file's bytes, base64.
    pub data: String,
}

impl From<&Record> for BundleRecord {
    fn from(r: &Record) -> Self {
        BundleRecord {
            seq: r.seq,
            kind: r.kind.clone(),
            created_at: r.created_at.clone(),
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
            body: r.body.clone(),
        }
    }
}

/// Statements that apply to a run, with their sequence numbers.
pub type Applying = (Vec<(i64, Signoff)>, Vec<(i64, Attestation)>);

/// The attestations and sign-offs among `records` that apply to `run` (recorded under
/// `seq`): sign-offs of the run; attestations of its deployment (and environment) for its
/// items. The same rule at export and at verification.
pub fn statements_of<'a>(
    run: &Run,
    seq: i64,
    records: impl Iterator<Item = (i64, &'a str, &'a str)>,
) -> Applying {
    let items: BTreeSet<String> = run.results.iter().map(|r| r.qualified_id()).collect();
    let deployment = run.deployment_id();
    let (mut signoffs, mut attestations) = (Vec::new(), Vec::new());
    for (n, kind, body) in records {
        match kind {
            "signoff" => {
                if let Ok(s) = serde_json::from_str::<Signoff>(body)
                    && s.run == seq
                {
                    signoffs.push((n, s));
                }
            }
            "attestation" => {
                if let Ok(a) = serde_json::from_str::<Attestation>(body)
                    && a.deployment.as_deref() == Some(deployment.as_str())
                    && a.environment
                        .as_deref()
                        .is_none_or(|e| e == run.environment)
                    && items.contains(&a.item)
                {
                    attestations.push((n, a));
                }
            }
            _ => {}
        }
    }
    (signoffs, attestations)
}

/// What `verify-bundle` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub run: i64,
    pub deployment: String,
    pub environment: String,
    pub started_at: String,
    /// `sha256:` of the run's record, what sign-offs sign.
    pub digest: String,
    /// Records in the chain segment, and the head.
    pub records: usize,
    pub head_seq: i64,
    pub head: headsig::HeadSignature,
    pub signoffs: Vec<Checked<Signoff>>,
    pub attestations: Vec<Checked<Attestation>>,
    /// Roles the run's profile required, with no sign-off whose signature holds.
    pub missing_signoffs: Vec<String>,
    /// Everything that does not hold: empty when the bundle verifies.
    pub problems: Vec<String>,
}

/// A statement and what its check found.
#[derive(Clone, Debug, Serialize)]
pub struct Checked<T> {
    pub seq: i64,
    #[serde(flatten)]
    pub statement: T,
    /// How its signature stands: `verified by KEY as PRINCIPAL`, `unsigned`, …
    pub signature: String,
    /// For attestations: the evidence file's check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a bundle: the chain segment (each record's hash, each link, the head and its
/// signature against `trusted`), the run's digest, each sign-off's and attestation's
/// signature (against `signers` at the time it was recorded; without signers, against the
/// key it names) and each included evidence file against its digest.
pub fn verify(
    bundle: &Bundle,
    signers: Option<&AllowedSigners>,
    trusted: Option<&ssh_key::PublicKey>,
) -> Result<Report, String> {
    if bundle.format != FORMAT {
        return Err(format!(
            "not a {FORMAT} bundle (format `{}`)",
            bundle.format
        ));
    }
    let mut problems = chain_problems(bundle);
    let head = Head {
        seq: bundle.head.seq,
        hash: bundle.head.hash.clone(),
        mac: None,
        sig: bundle.head.sig.clone(),
    };
    let head_status = headsig::status(Some(&head), trusted);
    if let headsig::HeadSignature::Failed { reason } = &head_status {
        problems.push(format!("the head: {reason}"));
    }
    let run = bundle
        .records
        .iter()
        .find(|r| r.seq == bundle.run && r.kind == "run")
        .ok_or_else(|| format!("the bundle holds no run #{}", bundle.run))
        .and_then(|r| {
            serde_json::from_str::<Run>(&r.body)
                .map(|run| (run, message::run_digest(&r.body)))
                .map_err(|e| format!("record #{} is not a run: {e}", bundle.run))
        });
    let (run, digest) = match run {
        Ok(found) => found,
        Err(problem) => {
            problems.push(problem);
            return Ok(Report {
                run: bundle.run,
                deployment: String::new(),
                environment: String::new(),
                started_at: String::new(),
                digest: String::new(),
                records: bundle.records.len(),
                head_seq: bundle.head.seq,
                head: head_status,
                signoffs: Vec::new(),
                attestations: Vec::new(),
                missing_signoffs: Vec::new(),
                problems,
            });
        }
    };
    let (signoffs, attestations) = statements_of(
        &run,
        bundle.run,
        bundle
            .records
            .iter()
            .map(|r| (r.seq, r.kind.as_str(), r.body.as_str())),
    );
    let mut counted = BTreeSet::new();
    let signoffs: Vec<Checked<Signoff>> = signoffs
        .into_iter()
        .map(|(seq, s)| {
            let at = made_at(&s.at);
            let judged = judge_signature(
                signers,
                s.signature.as_deref(),
                |list| crate::verify_signoff(list, &s, &digest, at),
                || message::signoff(&digest, s.role, &s.by),
            );
            let signature = match judged {
                Ok((text, counts)) => {
                    if counts {
                        counted.insert(s.role.as_str());
                    }
                    text
                }
                Err(e) => {
                    problems.push(format!(
                        "sign-off #{seq} by {} ({}): {e}",
                        s.by,
                        s.role.as_str()
                    ));
                    format!("does not hold: {e}")
                }
            };
            Checked {
                seq,
                statement: s,
                signature,
                evidence: None,
            }
        })
        .collect();
    let attestations = attestations
        .into_iter()
        .map(|(seq, a)| check_attestation(bundle, seq, a, signers, &mut problems))
        .collect();
    let missing_signoffs: Vec<String> = run
        .require_signoff
        .iter()
        .map(|r| r.as_str())
        .filter(|r| !counted.contains(r))
        .map(str::to_owned)
        .collect();
    for role in &missing_signoffs {
        problems.push(format!(
            "the run's profile required a sign-off by {role}, and the bundle holds none whose signature holds"
        ));
    }
    Ok(Report {
        run: bundle.run,
        deployment: run.deployment_id(),
        environment: run.environment.clone(),
        started_at: run.started_at.clone(),
        digest,
        records: bundle.records.len(),
        head_seq: bundle.head.seq,
        head: head_status,
        signoffs,
        attestations,
        missing_signoffs,
        problems,
    })
}

/// The time a statement says it was made, when the allowed signers judge it; one that does
/// not read as a time is now.
pub(crate) fn made_at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap_or_else(|_| jiff::Timestamp::now())
}

/// A statement's signature as the bundle shows it, and whether the statement counts: with
/// allowed signers, only a signature they verify; without, anything that is not false (an
/// unsigned statement, or a signature valid for the key it names).
pub(crate) fn judge_signature(
    signers: Option<&AllowedSigners>,
    signature: Option<&str>,
    verify: impl FnOnce(&AllowedSigners) -> Result<crate::Verified, crate::Refusal>,
    message: impl FnOnce() -> String,
) -> Result<(String, bool), crate::Refusal> {
    match (signers, signature) {
        (_, None) => Ok(("unsigned".to_owned(), signers.is_none())),
        (Some(list), Some(_)) => {
            verify(list).map(|v| (format!("verified: {} as {}", v.key, v.principal), true))
        }
        (None, Some(sig)) => crate::self_check(sig, &message())
            .map(|k| (format!("valid for {k} (no allowed signers given)"), true)),
    }
}

fn check_attestation(
    bundle: &Bundle,
    seq: i64,
    a: Attestation,
    signers: Option<&AllowedSigners>,
    problems: &mut Vec<String>,
) -> Checked<Attestation> {
    let at = made_at(&a.attested_at);
    let signature = judge_signature(
        signers,
        a.signature.as_deref(),
        |list| crate::verify_attestation(list, &a, at),
        || message::attestation(&a),
    )
    .map(|(text, _)| text)
    .unwrap_or_else(|e| {
        problems.push(format!("attestation #{seq} of {} by {}: {e}", a.item, a.by));
        format!("does not hold: {e}")
    });
    let evidence = match &a.evidence {
        Some(EvidenceRef::File { sha256, name, .. }) => {
            Some(match bundle.evidence.iter().find(|f| f.sha256 == *sha256) {
                None => format!("{name}: sha256:{sha256} (file not included)"),
                Some(f) => match base64_decode(&f.data) {
                    Some(bytes) if chain::digest(&bytes) == *sha256 => {
                        format!("{name}: included, matches sha256:{sha256}")
                    }
                    _ => {
                        problems.push(format!(
                            "attestation #{seq}: evidence file {name} does not match its digest sha256:{sha256}"
                        ));
                        format!("{name}: does not match sha256:{sha256}")
                    }
                },
            })
        }
        Some(EvidenceRef::Url { url }) => Some(format!("link {url}")),
        None => None,
    };
    Checked {
        seq,
        statement: a,
        signature,
        evidence,
    }
}

/// The chain's faults: consecutive records, each hash over its content, each link to the one
/// before, and the last record as the head.
fn chain_problems(bundle: &Bundle) -> Vec<String> {
    let mut problems = Vec::new();
    let mut prev: Option<&BundleRecord> = None;
    for r in &bundle.records {
        if chain::link(r.seq, &r.kind, &r.created_at, &r.prev_hash, &r.body) != r.hash {
            problems.push(format!(
                "record #{}: its content does not match its hash",
                r.seq
            ));
        }
        if let Some(p) = prev {
            if r.seq != p.seq + 1 {
                problems.push(format!(
                    "records #{} and #{} are not consecutive: the segment has a gap",
                    p.seq, r.seq
                ));
            } else if r.prev_hash != p.hash {
                problems.push(format!(
                    "record #{} does not link to record #{}",
                    r.seq, p.seq
                ));
            }
        }
        prev = Some(r);
    }
    match prev {
        Some(last) if last.seq == bundle.head.seq && last.hash == bundle.head.hash => {}
        Some(last) => problems.push(format!(
            "the segment ends at record #{} and the head is #{} ({}): they differ",
            last.seq,
            bundle.head.seq,
            short(&bundle.head.hash)
        )),
        None => problems.push("the bundle holds no records".into()),
    }
    problems
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Base64 (standard alphabet, padded).
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes base64 (standard alphabet); `None` when it is not.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Builds the bundle of run `seq` from `ledger`: the run, its statements, the chain from the
/// first of them to the head, and (`with_evidence`) the evidence files stored in the ledger.
pub fn export(
    ledger: &mut shipcheck_ledger::Ledger,
    seq: i64,
    with_evidence: bool,
) -> Result<Bundle, String> {
    use shipcheck_ledger::{Kind, query::Query};
    let e = |e: shipcheck_ledger::LedgerError| e.to_string();
    let head = ledger.head().map_err(e)?.ok_or("the ledger is empty")?;
    let run = ledger.run(seq).map_err(e)?;
    let deployment = run.deployment_id();
    // The earliest statement that may apply: the segment starts there (or at the run).
    let attestations = ledger
        .scoped::<Attestation>(Kind::Attestation, &deployment, &run.environment)
        .map_err(e)?;
    let items: BTreeSet<String> = run.results.iter().map(|r| r.qualified_id()).collect();
    let from = attestations
        .iter()
        .filter(|(_, a)| items.contains(&a.item))
        .map(|(n, _)| *n)
        .chain([seq])
        .min()
        .unwrap_or(seq);
    let count = (head.seq - from + 1).max(0) as usize;
    if count > MAX_RECORDS {
        return Err(format!(
            "the chain from record #{from} to the head is {count} records, over the {MAX_RECORDS} a bundle holds"
        ));
    }
    let records: Vec<BundleRecord> = ledger
        .select(&Query::Span {
            from,
            limit: count as i64,
        })
        .map_err(e)?
        .iter()
        .map(BundleRecord::from)
        .collect();
    let bytes: usize = records.iter().map(|r| r.body.len()).sum();
    if bytes as u64 > MAX_BYTES {
        return Err(format!(
            "the chain from record #{from} to the head holds {} MiB of records, over the {} MiB a bundle holds",
            bytes >> 20,
            MAX_BYTES >> 20
        ));
    }
    let mut bundle = Bundle {
        format: FORMAT.into(),
        run: seq,
        records,
        head: BundleHead {
            seq: head.seq,
            hash: head.hash,
            sig: head.sig,
        },
        evidence: Vec::new(),
    };
    if with_evidence {
        let (_, attestations) = statements_of(
            &run,
            seq,
            bundle
                .records
                .iter()
                .map(|r| (r.seq, r.kind.as_str(), r.body.as_str())),
        );
        for (_, a) in attestations {
            if let Some(EvidenceRef::File { sha256, .. }) = &a.evidence
                && !bundle.evidence.iter().any(|f| f.sha256 == *sha256)
                && let Some(data) = ledger.blob(sha256).map_err(e)?
            {
                bundle.evidence.push(EvidenceFile {
                    sha256: sha256.clone(),
                    data: base64_encode(&data),
                });
            }
        }
    }
    Ok(bundle)
}
