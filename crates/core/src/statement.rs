//! What people decided about a deployment: attestations of manual items, sign-offs of runs,
//! waivers and baselines. The ledger stores them; the gate applies them.

use serde::{Deserialize, Serialize};

use crate::pack::Role;

/// A manual item attested by a person.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Attestation {
    /// `pack:id`.
    pub item: String,
    /// The deployment it is for. `None` only in records from before deployments existed
    /// (the ledger places those; see `shipcheck_ledger::scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub by: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceRef>,
    #[serde(default)]
    pub note: String,
    pub attested_at: String,
    /// End of validity (RFC 3339), from `--expires` or the item's `valid_for`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The attester's SSH signature (armored SSHSIG, namespace `shipcheck`) of the
    /// attestation's message (`shipcheck_sign::message::attestation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// Evidence of an attestation: a file stored by content hash, or a URL.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EvidenceRef {
    File {
        name: String,
        sha256: String,
        size: u64,
    },
    Url {
        url: String,
    },
}

/// A role's sign-off on a run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Signoff {
    pub run: i64,
    /// The signed run's deployment and environment (absent in old records: the run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub role: Role,
    pub by: String,
    #[serde(default)]
    pub note: String,
    pub at: String,
    /// `sha256:` of the signed run's record (its JSON as stored), when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The signer's SSH signature (armored SSHSIG, namespace `shipcheck`) of the sign-off's
    /// message (`shipcheck_sign::message::signoff`): run digest, role and name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A waiver recorded in the ledger (besides those in the profile).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Waiver {
    pub item: String,
    /// The deployment it is for (`None` only in records from before deployments existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    pub reason: String,
    pub owner: String,
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub at: String,
}

/// The deploy-time run drift is measured against.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub run: i64,
    /// The run's deployment and environment (absent in old records: the run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub at: String,
}

/// A deploy of a deployment in an environment (`shipcheck deployed`, or a server's
/// `POST /api/v1/deployments/NAME/deploys`): it starts the clock of the phases after it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Deploy {
    pub deployment: String,
    pub environment: String,
    /// The version deployed, as the team names it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    pub by: String,
    /// When it was deployed (RFC 3339).
    pub deployed_at: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Drift found by a scheduled run against the baseline taken at the deploy.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Alert {
    pub deployment: String,
    pub environment: String,
    /// The scheduled run that found it, and the baseline run it was compared with
    /// (ledger sequence numbers).
    pub run: i64,
    pub baseline: i64,
    /// The phase of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    pub raised_at: String,
    pub findings: Vec<DriftFinding>,
}

/// One drift.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct DriftFinding {
    pub kind: DriftKind,
    /// The item (`pack:id`), when the drift is an item's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub detail: String,
}

/// Kinds of drift.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// It passed at the deploy and fails now.
    Regressed,
    /// It could not be checked now, and could at the deploy.
    NewError,
    /// The score fell by the threshold or more.
    ScoreDrop,
    /// A waiver or attestation it relies on ends soon.
    Expiring,
}

/// Files `shipcheck fix --apply` changed for a deployment's failing items, or `--undo`
/// restored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Fix {
    pub deployment: String,
    pub environment: String,
    /// `pack:id` of each item fixed.
    pub items: Vec<String>,
    pub files: Vec<FixedFile>,
    /// Whether this restores an earlier fix (`fix --undo`).
    #[serde(default)]
    pub undo: bool,
    /// The backup folder.
    pub backup: String,
    pub at: String,
}

/// One file a fix changed: its content digests (never the content) and modes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct FixedFile {
    pub path: String,
    /// `sha256:` before and after (empty for a mode change alone).
    pub before: String,
    pub after: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode_after: Option<String>,
    /// `uid:gid` before and after a chown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_after: Option<String>,
}
