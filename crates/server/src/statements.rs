//! Writes through the server: attestations, sign-offs and waivers, validated against the
//! deployment's latest run (the server has the runs, not the packs) and recorded with the
//! caller's token name as who made them. And the gate they lead to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use shipcheck_core::pack::{Phase, Role};
use shipcheck_engine::attest;
use shipcheck_engine::deployment_gate;
use shipcheck_ledger::{EvidenceRef, Ledger, LedgerError};

use crate::caller::Caller;
use crate::error::ApiError;
use crate::model::{GateView, PendingItem};

/// An attestation to record.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttestation {
    pub environment: String,
    /// `pack:id`, or an id unique in the latest run.
    pub item: String,
    pub role: Role,
    #[serde(default)]
    pub note: String,
    /// A link to the evidence (https://...).
    #[serde(default)]
    pub evidence_url: Option<String>,
    /// An evidence file, stored in the ledger by content with the attestation (not with
    /// `evidence_url`).
    #[serde(default)]
    pub evidence_file: Option<EvidenceFile>,
    /// End of validity: a date or an RFC 3339 instant (default: the item's `valid_for`).
    #[serde(default)]
    pub expires: Option<String>,
}

/// An evidence file sent with an attestation. The request's body limit bounds its size.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceFile {
    /// The file's name, without folders.
    pub name: String,
    /// Its content in base64 (standard alphabet, padded).
    pub content_base64: String,
}

/// An evidence file as received: a checked name and its bytes.
#[derive(Debug)]
pub struct Upload {
    name: String,
    data: Vec<u8>,
}

impl Upload {
    /// Checks the name (no folders, no control characters, at most 255 bytes) and that
    /// there is content.
    pub fn new(name: &str, data: Vec<u8>) -> Result<Upload, ApiError> {
        let bad = |why: &str| {
            Err(ApiError::Unprocessable(format!(
                "evidence file name `{}` {why}",
                name.escape_debug()
            )))
        };
        if name.is_empty() || name == "." || name == ".." {
            return bad("is not a file name");
        }
        if name.len() > 255 {
            return bad("is longer than 255 bytes");
        }
        if name.contains(['/', '\\']) || name.chars().any(char::is_control) {
            return bad("must be a bare file name, without folders or control characters");
        }
        if data.is_empty() {
            return Err(ApiError::Unprocessable(format!(
                "evidence file `{name}` is empty"
            )));
        }
        Ok(Upload {
            name: name.to_string(),
            data,
        })
    }

    /// Decodes a JSON body's file.
    pub fn decode(file: &EvidenceFile) -> Result<Upload, ApiError> {
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD
            .decode(file.content_base64.trim())
            .map_err(|e| {
                ApiError::Unprocessable(format!(
                    "evidence file `{}`: content_base64 is not base64 ({e})",
                    file.name.escape_debug()
                ))
            })?;
        Upload::new(&file.name, data)
    }
}

/// A sign-off to record.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSignoff {
    pub environment: String,
    pub role: Role,
    /// The run to sign off (default: the latest of the deployment and environment).
    #[serde(default)]
    pub run: Option<i64>,
    #[serde(default)]
    pub note: String,
    /// The signer's SSH signature (armored SSHSIG, namespace `shipcheck`) of the sign-off's
    /// message; required when the run's profile names allowed signers.
    #[serde(default)]
    pub signature: Option<String>,
}

/// A waiver to record.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWaiver {
    pub environment: String,
    pub item: String,
    pub reason: String,
    pub owner: String,
    /// A date (inclusive) or an RFC 3339 instant.
    pub expires: String,
}

/// What a write recorded.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Recorded {
    /// The record's ledger sequence number.
    pub seq: i64,
    pub kind: String,
    pub deployment: String,
    pub environment: String,
    pub by: String,
}

/// How close an end makes a waiver "expiring" on the dashboard.
pub const EXPIRING_DAYS: i64 = 14;

fn unknown(deployment: &str, environment: &str) -> LedgerError {
    LedgerError::NotFound(format!(
        "deployment `{deployment}` has no run in environment `{environment}` on this server"
    ))
}

/// The gate of `deployment` in `environment` now.
pub fn gate(
    ledger: &mut Ledger,
    deployment: &str,
    environment: &str,
) -> Result<GateView, LedgerError> {
    let now = jiff::Timestamp::now();
    let gated = deployment_gate::gate(ledger, (deployment, environment), now)?
        .ok_or_else(|| unknown(deployment, environment))?;
    Ok(view(deployment, environment, gated, now))
}

/// The gate of `deployment` in `environment` now, for the items due by `phase`.
pub fn gate_for_phase(
    ledger: &mut Ledger,
    deployment: &str,
    environment: &str,
    phase: Phase,
) -> Result<GateView, ApiError> {
    let now = jiff::Timestamp::now();
    let (seq, mut run) = latest(ledger, deployment, environment)?;
    shipcheck_engine::finalize::for_phase(&mut run, phase).map_err(ApiError::Unprocessable)?;
    let gated = deployment_gate::gate_of(ledger, (deployment, environment), seq, run, now)?;
    Ok(view(deployment, environment, gated, now))
}

/// A deploy to record: it starts the clock of the phases after it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeploy {
    pub environment: String,
    /// The version deployed, as the team names it.
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub note: String,
}

/// Records a deploy by `caller` (a pusher or admin) at `now` (the scheduler's clock). The
/// deployment need not have runs yet: a deploy may come first.
pub fn deploy(
    ledger: &mut Ledger,
    caller: &Caller,
    deployment: &str,
    d: NewDeploy,
    now: jiff::Timestamp,
) -> Result<Recorded, ApiError> {
    if !caller.role.can_push() {
        return Err(ApiError::Forbidden(format!(
            "token `{}` has role {}, which may not record deploys (pusher or admin may)",
            caller.name, caller.role
        )));
    }
    let bad = |m: String| Err(ApiError::Unprocessable(m));
    if let Err(e) = shipcheck_core::deployment::DeploymentId::parse(deployment) {
        return bad(format!("deployment: {e}"));
    }
    if d.environment.is_empty() || d.environment.len() > 64 {
        return bad("environment must be 1 to 64 characters".into());
    }
    if d.version.len() > 128 || d.version.chars().any(char::is_control) {
        return bad(
            "version must be at most 128 characters, none of them control characters".into(),
        );
    }
    if d.note.len() > 2000 {
        return bad("note must be at most 2000 characters".into());
    }
    let statement = shipcheck_core::statement::Deploy {
        deployment: deployment.into(),
        environment: d.environment.clone(),
        version: d.version,
        by: caller.name.clone(),
        deployed_at: now.to_string(),
        note: d.note,
    };
    let seq = ledger.record_deploy(&statement)?;
    Ok(recorded(seq, "deploy", deployment, &d.environment, caller))
}

/// The gate of run `seq` (the latest of `deployment` in `environment`, as a run summary
/// names it): one read of the run by its key.
/// Also says when the view would next change with time alone (an attestation or a waiver
/// ending, or a waiver coming within [`EXPIRING_DAYS`] of its end).
pub fn gate_of_latest(
    ledger: &mut Ledger,
    deployment: &str,
    environment: &str,
    seq: i64,
) -> Result<(GateView, Option<jiff::Timestamp>), LedgerError> {
    let now = jiff::Timestamp::now();
    let run = ledger.run(seq)?;
    let gated = deployment_gate::gate_of(ledger, (deployment, environment), seq, run, now)?;
    let warning = jiff::SignedDuration::from_hours(24 * EXPIRING_DAYS);
    let next = gated
        .expiries
        .iter()
        .flat_map(|e| [*e, e.checked_sub(warning).unwrap_or(*e)])
        .filter(|t| *t > now)
        .min();
    Ok((view(deployment, environment, gated, now), next))
}

fn view(
    deployment: &str,
    environment: &str,
    gated: deployment_gate::Gated,
    now: jiff::Timestamp,
) -> GateView {
    let deployment_gate::Gated {
        seq,
        run,
        signoffs,
        deployed_at,
        ..
    } = gated;
    let soon = now + jiff::SignedDuration::from_hours(24 * EXPIRING_DAYS);
    let expiring_waivers = run
        .results
        .iter()
        .filter_map(|r| {
            let w = r.waiver.as_ref()?;
            let until = shipcheck_core::profile::expiry(&w.expires).ok()?;
            (until <= soon).then(|| format!("{} (until {})", r.qualified_id(), w.expires))
        })
        .collect();
    let pending = run
        .results
        .iter()
        .filter(|r| r.status == shipcheck_core::outcome::Status::Pending && r.not_due.is_none())
        .filter_map(|r| {
            let rule = r.attest.as_ref()?;
            Some(PendingItem {
                item: r.qualified_id(),
                title: r.title.clone(),
                roles: rule.roles.iter().map(|x| x.as_str().to_string()).collect(),
                evidence_required: rule.evidence_required,
                why: r.summary.clone(),
            })
        })
        .collect();
    GateView {
        deployment: deployment.into(),
        environment: environment.into(),
        run: seq,
        go: run.gate.go,
        exit_code: run.gate.exit_code,
        reasons: run.gate.reasons.clone(),
        blocking: run.gate.blocking.clone(),
        signoffs: signoffs
            .signoffs
            .iter()
            .map(|s| (s.signoff.role.as_str().to_string(), s.signoff.by.clone()))
            .collect(),
        missing_signoffs: signoffs
            .missing_signoffs
            .iter()
            .map(|r| r.as_str().to_string())
            .collect(),
        pending,
        expiring_waivers,
        unused_waivers: run.unused_waivers.iter().map(|w| w.item.clone()).collect(),
        phases: crate::model::PhaseProgress::of(&run.results),
        phase: run.phase,
        deployed_at: deployed_at.map(|t| t.to_string()),
    }
}

fn latest(
    ledger: &mut Ledger,
    deployment: &str,
    environment: &str,
) -> Result<(i64, shipcheck_core::outcome::Run), LedgerError> {
    deployment_gate::latest(ledger, (deployment, environment))?
        .ok_or_else(|| unknown(deployment, environment))
}

fn recorded(seq: i64, kind: &str, deployment: &str, environment: &str, by: &Caller) -> Recorded {
    Recorded {
        seq,
        kind: kind.into(),
        deployment: deployment.into(),
        environment: environment.into(),
        by: by.name.clone(),
    }
}

/// Records an attestation by `caller` from a JSON body (its evidence file in base64).
pub fn attest(
    ledger: &mut Ledger,
    caller: &Caller,
    deployment: &str,
    mut a: NewAttestation,
) -> Result<Recorded, ApiError> {
    let upload = a
        .evidence_file
        .take()
        .map(|f| Upload::decode(&f))
        .transpose()?;
    attest_with(ledger, caller, deployment, a, upload)
}

/// Records an attestation by `caller`, who must be an attester of the role (or admin),
/// with its evidence: a link, or a file stored in the ledger once all else is valid.
pub fn attest_with(
    ledger: &mut Ledger,
    caller: &Caller,
    deployment: &str,
    a: NewAttestation,
    upload: Option<Upload>,
) -> Result<Recorded, ApiError> {
    let role = a.role;
    if !caller.role.can_attest(role) {
        return Err(ApiError::Forbidden(format!(
            "token `{}` has role {}, which may not attest as {}",
            caller.name,
            caller.role,
            role.as_str()
        )));
    }
    let (_, run) = latest(ledger, deployment, &a.environment)?;
    let known = attest::known_in_run(&run, &a.item).map_err(ApiError::Unprocessable)?;
    let evidence = match (a.evidence_url.filter(|u| !u.trim().is_empty()), &upload) {
        (Some(_), Some(_)) => {
            return Err(ApiError::Unprocessable(
                "give the evidence as a link (evidence_url) or as a file (evidence_file), not both"
                    .into(),
            ));
        }
        (Some(url), None) if url.starts_with("https://") || url.starts_with("http://") => {
            Some(EvidenceRef::Url { url })
        }
        (Some(other), None) => {
            return Err(ApiError::Unprocessable(format!(
                "evidence_url `{other}` is not an http(s) link"
            )));
        }
        (None, Some(file)) => Some(EvidenceRef::File {
            name: file.name.clone(),
            sha256: shipcheck_ledger::chain::digest(&file.data),
            size: file.data.len() as u64,
        }),
        (None, None) => None,
    };
    let statement = attest::attestation(
        known,
        &caller.name,
        role,
        evidence,
        &a.note,
        a.expires.as_deref().filter(|e| !e.is_empty()),
        (deployment, Some(&a.environment)),
        jiff::Timestamp::now(),
    )
    .map_err(ApiError::Unprocessable)?;
    if let Some(file) = upload {
        ledger.put_blob(&file.data)?;
    }
    let seq = ledger.record_attestation(&statement)?;
    Ok(recorded(
        seq,
        "attestation",
        deployment,
        &a.environment,
        caller,
    ))
}

/// The run a sign-off names: `run` (which must be of `deployment` in `environment`), or the
/// latest of them.
fn signed_run(
    ledger: &mut Ledger,
    deployment: &str,
    environment: &str,
    run: Option<i64>,
) -> Result<(i64, shipcheck_core::outcome::Run), ApiError> {
    let Some(id) = run else {
        return Ok(latest(ledger, deployment, environment)?);
    };
    let run = ledger.run(id)?;
    if run.deployment_id() != deployment || run.environment != environment {
        return Err(ApiError::Unprocessable(format!(
            "run {id} belongs to deployment `{}` in `{}`, not `{deployment}` in `{environment}`",
            run.deployment_id(),
            run.environment,
        )));
    }
    Ok((id, run))
}

/// `?environment=E&role=R[&run=N]`: which sign-off's message to make.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    pub environment: String,
    pub role: Role,
    #[serde(default)]
    pub run: Option<i64>,
}

/// The message a sign-off by the caller must sign (`ssh-keygen -Y sign -n shipcheck`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SignoffMessage {
    /// The run's id (sequence number).
    pub run: i64,
    /// `sha256:` of the run's record as stored.
    pub digest: String,
    /// The signer's name (the caller's token name).
    pub by: String,
    /// The exact bytes to sign.
    pub message: String,
}

/// The message of a sign-off of `q.role` by `caller` on the run `q` names.
pub fn signoff_message(
    ledger: &mut Ledger,
    caller: &Caller,
    deployment: &str,
    q: MessageQuery,
) -> Result<SignoffMessage, ApiError> {
    let (seq, _) = signed_run(ledger, deployment, &q.environment, q.run)?;
    let digest = shipcheck_sign::message::run_digest(&ledger.run_record(seq)?.body);
    Ok(SignoffMessage {
        run: seq,
        message: shipcheck_sign::message::signoff(&digest, q.role, &caller.name),
        digest,
        by: caller.name.clone(),
    })
}

/// Records a sign-off by `caller`, who must be a signer of the role (or admin).
pub fn signoff(
    ledger: &mut Ledger,
    caller: &Caller,
    deployment: &str,
    s: NewSignoff,
) -> Result<Recorded, ApiError> {
    let role = s.role;
    if !caller.role.can_sign(role) {
        return Err(ApiError::Forbidden(format!(
            "token `{}` has role {}, which may not sign off as {}",
            caller.name,
            caller.role,
            role.as_str()
        )));
    }
    let (seq, run) = signed_run(ledger, deployment, &s.environment, s.run)?;
    let now = jiff::Timestamp::now();
    let mut statement = attest::signoff((seq, &run), role, &caller.name, &s.note, now)
        .map_err(ApiError::Unprocessable)?;
    // Signed, and checked against the allowed signers the run's profile named.
    let signers = shipcheck_engine::deployment_gate::run_signers(&run);
    let digest = shipcheck_sign::message::run_digest(&ledger.run_record(seq)?.body);
    let how = match s.signature {
        Some(sig) => shipcheck_engine::signing::Signing::Given(sig),
        None => shipcheck_engine::signing::Signing::Unsigned,
    };
    shipcheck_engine::signing::sign_signoff(&mut statement, &digest, how, signers.as_ref(), now)
        .map_err(ApiError::Unprocessable)?;
    let at = ledger.record_signoff(&statement)?;
    Ok(recorded(at, "signoff", deployment, &s.environment, caller))
}

/// Records a waiver by `caller`, who must be an admin.
pub fn waive(
    ledger: &mut Ledger,
    caller: &Caller,
    deployment: &str,
    w: NewWaiver,
) -> Result<Recorded, ApiError> {
    if !caller.role.can_waive() {
        return Err(ApiError::Forbidden(format!(
            "token `{}` has role {}, which may not waive (admin may)",
            caller.name, caller.role
        )));
    }
    let (_, run) = latest(ledger, deployment, &w.environment)?;
    let known = attest::known_in_run(&run, &w.item).map_err(ApiError::Unprocessable)?;
    let statement = attest::waiver(
        known,
        &w.reason,
        &w.owner,
        &w.expires,
        (deployment, Some(&w.environment)),
        jiff::Timestamp::now(),
    )
    .map_err(ApiError::Unprocessable)?;
    let seq = ledger.record_waiver(&statement)?;
    Ok(recorded(seq, "waiver", deployment, &w.environment, caller))
}
