//! The API's shapes: what each endpoint answers, derived into the OpenAPI document. Runs
//! are named by their ledger sequence number (`id`), which never changes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use shipcheck_ledger::summary::SummaryRow;

use crate::error::ApiError;

pub use shipcheck_core::outcome::Counts;

/// What a list shows of a run. Read from the stored run without its results, so a list
/// of many runs stays cheap.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RunBrief {
    /// The run's ledger sequence number.
    pub id: i64,
    pub deployment: String,
    pub environment: String,
    pub started_at: String,
    pub go: bool,
    pub score: Option<u32>,
    pub counts: Counts,
    /// Profile waivers and ledger waivers that matched no item.
    pub unused_waivers: usize,
    /// The token that pushed it; empty when the command line recorded it.
    pub recorded_by: String,
    pub labels: BTreeMap<String, String>,
}

impl RunBrief {
    /// The brief of a stored run summary.
    pub fn of(row: SummaryRow) -> RunBrief {
        let SummaryRow {
            seq,
            deployment,
            environment,
            summary: s,
        } = row;
        RunBrief {
            id: seq,
            deployment,
            environment,
            started_at: s.started_at,
            go: s.go,
            score: s.score,
            counts: s.counts,
            unused_waivers: s.unused_waivers,
            recorded_by: s.recorded_by,
            labels: s.labels,
        }
    }

    /// Seconds since the run started, at `now` (none when its time does not parse).
    pub fn age_seconds(&self, now: jiff::Timestamp) -> Option<i64> {
        let at: jiff::Timestamp = self.started_at.parse().ok()?;
        Some(now.duration_since(at).as_secs())
    }
}

/// One deployment in one environment, as the fleet overview shows it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct FleetRow {
    pub deployment: String,
    pub environment: String,
    pub labels: BTreeMap<String, String>,
    /// The latest run.
    pub latest: RunBrief,
    /// Seconds since the latest run started.
    pub age_seconds: Option<i64>,
    /// Scores of the latest runs, oldest first (the latest last): the trend.
    pub trend: Vec<Option<u32>>,
    /// The gate as the ledger stands now (attestations, waivers and sign-offs since the
    /// run applied).
    pub gate: GateView,
}

/// The gate of a deployment and environment as the ledger stands now.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct GateView {
    pub deployment: String,
    pub environment: String,
    /// The run it judges (its ledger sequence number).
    pub run: i64,
    pub go: bool,
    pub exit_code: i32,
    pub reasons: Vec<String>,
    pub blocking: Vec<String>,
    /// Sign-offs on the run: role → who.
    pub signoffs: BTreeMap<String, String>,
    pub missing_signoffs: Vec<String>,
    /// Manual items still pending, with who may attest them.
    pub pending: Vec<PendingItem>,
    /// Waived items whose waiver ends within `statements::EXPIRING_DAYS` days.
    pub expiring_waivers: Vec<String>,
    /// Waivers that matched no item of the run.
    pub unused_waivers: Vec<String>,
    /// Each phase's progress, in phase order (phases with no applicable item left out).
    pub phases: Vec<PhaseProgress>,
    /// The phase the gate is for (`?phase=`, or the run's `check --phase`); absent: by the
    /// time since the last deploy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<shipcheck_core::pack::Phase>,
    /// The last deploy recorded for the deployment in the environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<String>,
}

/// How far a phase's items are: done (passed, attested, waived) out of those that apply.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct PhaseProgress {
    /// `pre-deploy`, `post-deploy-immediate`, `first-hour`, `first-day`, `first-week`,
    /// `periodic`.
    pub phase: String,
    pub done: usize,
    pub total: usize,
    /// Items due and not done (failing, erroring or pending).
    pub open: usize,
    /// Items not due yet (a manual item before its phase's time after the deploy).
    pub not_due: usize,
    /// When the first of those falls due (RFC 3339), when a deploy is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
}

impl PhaseProgress {
    /// The progress of each phase among `results`.
    pub fn of(results: &[shipcheck_core::outcome::ItemResult]) -> Vec<PhaseProgress> {
        shipcheck_core::outcome::phase_counts(results)
            .into_iter()
            .map(|c| PhaseProgress {
                phase: c.phase.as_str().into(),
                done: c.done,
                total: c.total,
                open: c.open,
                not_due: c.not_due,
                due_at: c.due_at,
            })
            .collect()
    }
}

/// A manual item still pending, with who may attest it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct PendingItem {
    pub item: String,
    pub title: String,
    pub roles: Vec<String>,
    pub evidence_required: bool,
    pub why: String,
}

/// A statement as the ledger holds it, with its sequence number.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Listed<T> {
    pub seq: i64,
    #[serde(flatten)]
    pub statement: T,
}

/// The answer to a pushed run.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Pushed {
    /// The run's ledger sequence number on the server.
    pub id: i64,
    pub deployment: String,
    pub environment: String,
    /// The run's page on the server.
    pub url: String,
    pub go: bool,
}

/// `/healthz` and `/readyz`.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the ledger does not answer.
    pub status: String,
}

/// A stored run, as `check --format json` writes it (docs/json-report.md).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RunDocument(
    /// The run (schema `shipcheck/run/v1`).
    pub serde_json::Map<String, serde_json::Value>,
);

/// One item's result, as in a run's `results` (docs/json-report.md).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ItemDocument(
    /// The item result: id, pack, status, summary, evidence, ...
    pub serde_json::Map<String, serde_json::Value>,
);

/// An evidence file's bytes (`application/octet-stream`).
pub struct EvidenceBytes;

impl schemars::JsonSchema for EvidenceBytes {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EvidenceBytes".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "contentMediaType": "application/octet-stream"})
    }
}

/// A scheduled job of a deployment.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct JobView {
    pub id: i64,
    pub environment: String,
    pub phase: String,
    /// When it is due, in the scheduler's clock (RFC 3339).
    pub due_at: String,
    /// `pending`, `running`, `done`, `failed` or `superseded` (a newer deploy came).
    pub state: String,
    pub attempts: i64,
    /// It ran later than its time allows (no server was up).
    pub late: bool,
    /// The run it recorded.
    pub run: Option<i64>,
    pub error: Option<String>,
    /// The deploy it follows (its ledger sequence number).
    pub deploy: i64,
}

impl JobView {
    pub fn of(j: shipcheck_ledger::jobs::JobRow) -> JobView {
        JobView {
            id: j.id,
            environment: j.environment,
            phase: j.phase,
            due_at: crate::clock::to_timestamp(j.due_ms).to_string(),
            state: j.state,
            attempts: j.attempts,
            late: j.late,
            run: j.run_seq,
            error: j.error,
            deploy: j.deploy_seq,
        }
    }
}

/// One attempt to deliver an alert to a webhook.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct DeliveryView {
    /// Where it went, as shown (no path or query: they may hold a secret).
    pub target: String,
    /// `json` or `slack`.
    pub format: String,
    pub attempt: i64,
    /// The HTTP status (0: no answer).
    pub status: i64,
    pub error: Option<String>,
    pub at: String,
}

impl DeliveryView {
    pub fn of(d: shipcheck_ledger::deliveries::DeliveryRow) -> DeliveryView {
        DeliveryView {
            target: d.target,
            format: d.format,
            attempt: d.attempt,
            status: d.status,
            error: d.error,
            at: crate::clock::to_timestamp(d.at_ms).to_string(),
        }
    }
}

/// A label filter, `key=value`.
pub fn label_filter(given: &[String]) -> Result<Vec<(String, String)>, ApiError> {
    given
        .iter()
        .map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "label filter `{l}` must be KEY=VALUE, e.g. team=payments"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_filters_need_a_key_and_a_value() {
        let ok = label_filter(&["team=payments".into()]).unwrap();
        assert_eq!(ok, vec![("team".into(), "payments".into())]);
        let e = label_filter(&["team".into()]).unwrap_err();
        assert!(e.to_string().contains("KEY=VALUE"), "{e}");
        assert!(label_filter(&["=x".into()]).is_err());
    }
}
