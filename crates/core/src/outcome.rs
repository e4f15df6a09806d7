//! The result model of a run: one [`ItemResult`] per item, and the [`Run`] that holds them.
//! Every report renders this one model, so no format can contradict another.

use serde::{Deserialize, Serialize};

use crate::observation::{FileLocation, Finding};
use crate::pack::{Phase, Severity, SourceDoc};

/// Version of the JSON run document (`shipcheck check --format json`).
pub const RUN_SCHEMA: &str = "shipcheck/run/v1";

/// The state of one item after a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Checked and holds.
    Pass,
    /// Checked and does not hold.
    Fail,
    /// Checked; does not hold, but the item says this is only a warning.
    Warn,
    /// Could not check (unreadable file, timeout, bad value). Never counts as a pass.
    Error,
    /// Does not apply to this deployment (`when` false, optional and not enabled).
    NotApplicable,
    /// Would not pass, but an unexpired waiver covers it.
    Waived,
    /// A manual item with no valid attestation.
    Pending,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Error,
        Status::Pending,
        Status::Waived,
        Status::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Error => "error",
            Status::NotApplicable => "not_applicable",
            Status::Waived => "waived",
            Status::Pending => "pending",
        }
    }
}

/// Automated check or manual attestation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Automated,
    Manual,
}

/// What an item's check read and found, redacted.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// Probe kind (`file`, `config`, ...).
    pub probe: String,
    /// What was read: a file, an env var, a command line.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The observed value (secrets masked).
    #[serde(default)]
    pub observed: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<FileLocation>,
    /// Each expectation and whether it held.
    #[serde(default)]
    pub findings: Vec<Finding>,
}

/// A waiver applied to (or found for) an item.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WaiverNote {
    pub reason: String,
    pub owner: String,
    pub expires: String,
    /// The status the item would have without the waiver.
    pub underlying: Status,
    /// The summary it would have without the waiver.
    #[serde(default)]
    pub underlying_summary: String,
}

/// The result of one item.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ItemResult {
    pub pack: String,
    pub id: String,
    pub title: String,
    pub section: String,
    pub section_title: String,
    pub severity: Severity,
    pub phase: Phase,
    pub kind: ItemKind,
    pub status: Status,
    /// One line saying why the item has this status.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub why: String,
    pub fix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverNote>,
    /// Expiry of a waiver that matches this item but has expired; the summary says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver_expired: Option<String>,
    /// Whether this result keeps the gate from saying go.
    pub blocking: bool,
    pub duration_ms: u64,
    /// What attesting it takes, for a manual item: recorded with the result so the gate
    /// can be recomputed where the pack is not (a server). Absent in runs recorded before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attest: Option<AttestRule>,
    /// Set when the item does not count yet: its phase's time has not come (a manual item
    /// before its phase after the deploy, or any item after the phase the gate was asked
    /// for). It neither blocks nor counts in the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_due: Option<NotDue>,
}

/// The job of a scheduled run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Scheduled {
    /// The job's id in the server's database.
    pub job: i64,
    /// When it was due (RFC 3339, in the scheduler's clock).
    pub due_at: String,
    /// It ran later than its time allows (the server was down).
    #[serde(default)]
    pub late: bool,
}

/// Why a result does not count yet.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotDue {
    /// When it falls due (RFC 3339), when that is known: a deploy was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Why, in a line.
    pub why: String,
}

/// How far one phase's items are, among results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseCount {
    pub phase: crate::pack::Phase,
    /// Items that apply (not `not_applicable`).
    pub total: usize,
    /// Due and done: passed, attested or waived.
    pub done: usize,
    /// Due and not done: failing, erroring or pending.
    pub open: usize,
    /// Not due yet.
    pub not_due: usize,
    /// When the first item not due yet falls due (RFC 3339), when known.
    pub due_at: Option<String>,
}

/// Each phase's [`PhaseCount`] among `results`, in phase order; phases with no item that
/// applies are left out.
pub fn phase_counts(results: &[ItemResult]) -> Vec<PhaseCount> {
    crate::pack::Phase::ALL
        .iter()
        .filter_map(|phase| {
            let applies: Vec<&ItemResult> = results
                .iter()
                .filter(|r| r.phase == *phase && r.status != Status::NotApplicable)
                .collect();
            let not_due: Vec<&NotDue> = applies.iter().filter_map(|r| r.not_due.as_ref()).collect();
            let done = applies
                .iter()
                .filter(|r| {
                    r.not_due.is_none() && matches!(r.status, Status::Pass | Status::Waived)
                })
                .count();
            (!applies.is_empty()).then(|| PhaseCount {
                phase: *phase,
                total: applies.len(),
                done,
                open: applies.len() - done - not_due.len(),
                not_due: not_due.len(),
                due_at: not_due.iter().filter_map(|n| n.at.clone()).min(),
            })
        })
        .collect()
}

impl ItemResult {
    /// `pack:id`, unique within a run.
    pub fn qualified_id(&self) -> String {
        crate::id::QualifiedId::new(self.pack.as_str(), self.id.as_str()).to_string()
    }
}

/// A pack used by a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PackRef {
    pub name: String,
    pub version: String,
    pub title: String,
    /// `builtin` or the file it was read from.
    pub origin: String,
}

/// A profile waiver that matched no item of the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnusedWaiver {
    pub item: String,
    pub reason: String,
    /// `no such item`, `item passes`, `expired`...
    pub why_unused: String,
}

/// Counts of results by status.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub error: usize,
    pub pending: usize,
    pub waived: usize,
    pub not_applicable: usize,
    pub total: usize,
}

impl Counts {
    pub fn of<'a>(results: impl IntoIterator<Item = &'a ItemResult>) -> Counts {
        let mut c = Counts::default();
        for r in results {
            c.total += 1;
            *match r.status {
                Status::Pass => &mut c.pass,
                Status::Fail => &mut c.fail,
                Status::Warn => &mut c.warn,
                Status::Error => &mut c.error,
                Status::Pending => &mut c.pending,
                Status::Waived => &mut c.waived,
                Status::NotApplicable => &mut c.not_applicable,
            } += 1;
        }
        c
    }
}

/// One whole run: what was checked, against what, and the verdict.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Run {
    pub schema: String,
    pub shipcheck_version: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub profile: String,
    /// Absolute path of the profile, as it was on the machine that ran it.
    #[serde(default)]
    pub profile_id: String,
    /// The deployment the run belongs to (with `environment`). Empty in runs recorded before
    /// deployments existed: see [`Run::deployment_id`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deployment: String,
    /// The profile's labels (team, region).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Who recorded the run on a server (`check --push`): the API token's name. Empty for a
    /// run recorded by the command line into its own ledger.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recorded_by: String,
    /// SHA-256 of the profile file's bytes.
    pub profile_digest: String,
    pub environment: String,
    pub packs: Vec<PackRef>,
    pub results: Vec<ItemResult>,
    pub unused_waivers: Vec<UnusedWaiver>,
    pub counts: Counts,
    pub score: Score,
    pub gate: Verdict,
    /// Endpoints that could not be reached (or resolved), each said once with the items
    /// that could not check because of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<Unreachable>,
    /// The roles whose sign-off the profile's gate required when the run was made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_signoff: Vec<crate::pack::Role>,
    /// The text of the profile's `gate.allowed_signers` when the run was made (public keys
    /// only): a server's gate counts only sign-offs signed by a key it allows for the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_signers: Option<String>,
    /// The phase the run was made for (`check --phase`): it holds the items due by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<crate::pack::Phase>,
    /// When each phase falls due after a deploy (the profile's `schedule`), recorded so a
    /// server can tell which manual items are due without the profile.
    #[serde(default, skip_serializing_if = "crate::schedule::Schedule::is_default")]
    pub schedule: crate::schedule::Schedule,
    /// Set when a server's scheduler made the run: which job, when it was due, whether it
    /// ran late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<Scheduled>,
}

/// What attesting a manual item takes: who may, whether evidence is required, and how
/// long an attestation lasts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttestRule {
    pub roles: Vec<crate::pack::Role>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub evidence_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for: Option<crate::duration::Span>,
}

impl From<&crate::pack::Attest> for AttestRule {
    fn from(a: &crate::pack::Attest) -> Self {
        AttestRule {
            roles: a.roles.clone(),
            evidence_required: a.evidence_required,
            valid_for: a.valid_for,
        }
    }
}

/// An endpoint its items could not reach: the one cause of their errors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreachable {
    pub endpoint: String,
    /// The URL, or empty when it could not be resolved.
    pub url: String,
    pub reason: String,
    /// The items (`pack:id`) that depend on it.
    pub items: Vec<String>,
}

impl Run {
    /// The deployment of this run: the recorded one, else (a run recorded before
    /// deployments existed) the name derived from its profile's path.
    pub fn deployment_id(&self) -> String {
        crate::deployment::DeploymentId::of_recorded_run(
            &self.deployment,
            &self.profile_id,
            &self.profile,
        )
    }

    /// The packs that ran, as `name version` joined by commas (report headers).
    pub fn pack_list(&self) -> String {
        self.packs
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What blocks the gate.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Policy {
    pub fail_on: Severity,
    pub allow_pending: bool,
}

/// The gate's decision.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verdict {
    pub go: bool,
    pub exit_code: i32,
    pub policy: Policy,
    /// `pack:id` of each blocking item.
    pub blocking: Vec<String>,
    /// Short reasons, most severe first.
    pub reasons: Vec<String>,
}

/// Readiness score, `score/v1`:
/// each assessed item has a weight by severity (critical 10, high 5, medium 3, low 1,
/// info 0); `pass` earns its full weight, `warn` half, `fail`, `error` and `pending`
/// nothing. `waived` and `not_applicable` items are left out. Score = 100 × earned /
/// possible, rounded down; none when nothing weighed was assessed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Score {
    pub version: String,
    pub value: Option<u32>,
    pub earned: f64,
    pub possible: f64,
    pub sections: Vec<SectionScore>,
}

/// The score of one section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SectionScore {
    pub pack: String,
    pub section: String,
    pub title: String,
    pub value: Option<u32>,
    pub earned: f64,
    pub possible: f64,
}
