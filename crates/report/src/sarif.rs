//! SARIF 2.1.0 for code-scanning dashboards (GitHub's among them): one rule per pack item
//! (severity, why, fix), one result per item that needs action or is waived (passes and
//! items that do not apply are not alerts), each with a location (the file and line the
//! evidence was read from, else the profile), relative to the `PROFILE` base, a stable
//! fingerprint, and the deployment and environment as the automation id.

use std::borrow::Cow;
use std::fmt::Display;

use sha2::Digest;

use serde::{Serialize, Serializer};
use serde_json::Value;

use shipcheck_core::outcome::{ItemResult, Run, Status};
use shipcheck_core::pack::Severity;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(r: &ItemResult) -> &'static str {
    match r.status {
        Status::Pass | Status::NotApplicable => "none",
        Status::Warn => "warning",
        Status::Pending | Status::Waived => "note",
        Status::Fail | Status::Error => match r.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "note",
        },
    }
}

fn kind(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail | Status::Warn => "fail",
        Status::Error => "review",
        Status::Pending => "open",
        Status::Waived => "fail",
        Status::NotApplicable => "notApplicable",
    }
}

/// An artifact location: relative to the `PROFILE` base when the file is inside the
/// profile's folder (or given relative), an absolute `file://` URI otherwise.
fn artifact<'a>(path: &'a str, base: &str) -> ArtifactLocation<'a> {
    match std::path::Path::new(path).strip_prefix(base) {
        Ok(rel) => ArtifactLocation {
            uri: rel
                .to_str()
                .map_or_else(|| Cow::Owned(rel.display().to_string()), Cow::Borrowed),
            uri_base_id: Some("PROFILE"),
        },
        Err(_) if path.starts_with('/') => ArtifactLocation {
            uri: Cow::Owned(format!("file://{path}")),
            uri_base_id: None,
        },
        Err(_) => ArtifactLocation {
            uri: Cow::Borrowed(path),
            uri_base_id: Some("PROFILE"),
        },
    }
}

// The log as typed structs borrowing from the run: a `serde_json::Value` tree of 5,000 items
// cost 15 times the JSON report's time. Fields are in the order the log shows them.

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [SarifRun<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRun<'a> {
    tool: Tool<'a>,
    invocations: [Invocation<'a>; 1],
    original_uri_base_ids: BaseIds,
    automation_details: Id,
    results: Vec<SarifResult<'a>>,
    properties: RunProps<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'a str,
    information_uri: &'static str,
    rules: Vec<Rule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    name: &'a str,
    short_description: Text<'a>,
    full_description: Text<'a>,
    help: Help<'a>,
    default_configuration: LevelOnly,
    properties: RuleProps<'a>,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

/// A value written as the text its `Display` makes, escaped straight into the log: no
/// string is built for it.
struct Shown<T>(T);

impl<T: Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A rule's help, as text and as Markdown.
struct Help<'a> {
    why: &'a str,
    fix: &'a str,
}

impl Serialize for Help<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (why, fix) = (self.why, self.fix);
        let mut help = s.serialize_struct("Help", 2)?;
        help.serialize_field("text", &Shown(format_args!("{why}\n\nFix: {fix}")))?;
        help.serialize_field(
            "markdown",
            &Shown(format_args!("**Why:** {why}\n\n**Fix:** {fix}")),
        )?;
        help.end()
    }
}

/// A result's message: its status and summary.
struct Message<'a> {
    status: &'static str,
    summary: &'a str,
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Message", 1)?;
        m.serialize_field(
            "text",
            &Shown(format_args!("{}: {}", self.status, self.summary)),
        )?;
        m.end()
    }
}

#[derive(Serialize)]
struct LevelOnly {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProps<'a> {
    severity: &'static str,
    phase: &'static str,
    section: &'a str,
    tags: &'a [String],
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    start_time_utc: &'a str,
    properties: InvocationProps<'a>,
}

#[derive(Serialize)]
struct InvocationProps<'a> {
    profile: &'a str,
    environment: &'a str,
    go: bool,
    score: Option<u32>,
}

#[derive(Serialize)]
struct BaseIds {
    #[serde(rename = "PROFILE")]
    profile: Uri,
}

#[derive(Serialize)]
struct Uri {
    uri: String,
}

#[derive(Serialize)]
struct Id {
    id: String,
}

#[derive(Serialize)]
struct RunProps<'a> {
    packs: Vec<PackProps<'a>>,
}

#[derive(Serialize)]
struct PackProps<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    kind: &'static str,
    level: &'static str,
    message: Message<'a>,
    properties: ResultProps<'a>,
    partial_fingerprints: Fingerprints,
    locations: [Location<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<[Suppression; 1]>,
}

#[derive(Serialize)]
struct ResultProps<'a> {
    status: &'static str,
    blocking: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<EvidenceProps<'a>>,
}

#[derive(Serialize)]
struct EvidenceProps<'a> {
    probe: &'a str,
    source: &'a str,
    observed: &'a Value,
}

#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "shipcheckItem/v1")]
    item: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: Physical<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation<'a> {
    uri: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
}

/// Renders a run as a SARIF 2.1.0 log.
pub fn render(run: &Run) -> String {
    let base = std::path::Path::new(&run.profile_id)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let ids: Vec<String> = run.results.iter().map(|r| r.qualified_id()).collect();
    // One alert per deployment, environment and item, tracked from run to run: the digest
    // of the three, the first two hashed once.
    let fingerprint = sha2::Sha256::new()
        .chain_update(&run.profile_id)
        .chain_update([0])
        .chain_update(&run.environment)
        .chain_update([0]);
    let mut rules = Vec::with_capacity(run.results.len());
    let mut results = Vec::new();
    for ((index, r), id) in run.results.iter().enumerate().zip(&ids) {
        rules.push(Rule {
            id,
            name: &r.title,
            short_description: Text { text: &r.title },
            full_description: Text { text: &r.why },
            help: Help {
                why: &r.why,
                fix: &r.fix,
            },
            default_configuration: LevelOnly {
                level: match r.severity {
                    Severity::Critical | Severity::High => "error",
                    Severity::Medium => "warning",
                    _ => "note",
                },
            },
            properties: RuleProps {
                severity: r.severity.as_str(),
                phase: r.phase.as_str(),
                section: &r.section_title,
                tags: &r.tags,
                security_severity: security_severity(r.severity),
            },
        });
        if matches!(r.status, Status::Pass | Status::NotApplicable) {
            continue;
        }
        // Where to look: the file the evidence came from, else the profile (GitHub rejects
        // a result without a location; TLS, HTTP and manual items have no file of their own).
        let (path, line) = match r.evidence.as_ref().and_then(|e| e.location.as_ref()) {
            Some(loc) => (loc.path.as_str(), loc.line),
            None => (run.profile_id.as_str(), None),
        };
        results.push(SarifResult {
            rule_id: id,
            rule_index: index,
            kind: kind(r.status),
            level: level(r),
            message: Message {
                status: r.status.as_str(),
                summary: &r.summary,
            },
            properties: ResultProps {
                status: r.status.as_str(),
                blocking: r.blocking,
                evidence: r.evidence.as_ref().map(|e| EvidenceProps {
                    probe: &e.probe,
                    source: &e.source,
                    observed: &e.observed,
                }),
            },
            partial_fingerprints: Fingerprints {
                item: shipcheck_core::hex::hex(&fingerprint.clone().chain_update(id).finalize()),
            },
            locations: [Location {
                physical_location: Physical {
                    artifact_location: artifact(path, &base),
                    region: Region {
                        start_line: line.unwrap_or(1),
                    },
                },
            }],
            suppressions: r.waiver.as_ref().map(|w| {
                [Suppression {
                    kind: "external",
                    status: "accepted",
                    justification: format!("{} (owner {}, until {})", w.reason, w.owner, w.expires),
                }]
            }),
        });
    }
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [SarifRun {
            tool: Tool {
                driver: Driver {
                    name: "shipcheck",
                    version: &run.shipcheck_version,
                    information_uri: "https://shipcheck.dev",
                    rules,
                },
            },
            invocations: [Invocation {
                execution_successful: true,
                start_time_utc: &run.started_at,
                properties: InvocationProps {
                    profile: &run.profile,
                    environment: &run.environment,
                    go: run.gate.go,
                    score: run.score.value,
                },
            }],
            original_uri_base_ids: BaseIds {
                profile: Uri {
                    uri: format!("file://{base}/"),
                },
            },
            automation_details: Id {
                id: format!("shipcheck/{}/{}/", deployment(run), run.environment),
            },
            results,
            properties: RunProps {
                packs: run
                    .packs
                    .iter()
                    .map(|p| PackProps {
                        name: &p.name,
                        version: &p.version,
                    })
                    .collect(),
            },
        }],
    };
    // Sized for the log up front (about 1.7 KB an item): growing an 8 MB buffer by doubling
    // spent more time copying than writing.
    let mut out = Vec::with_capacity(4096 + run.results.len() * 1700);
    if serde_json::to_writer_pretty(&mut out, &log).is_err() {
        out.clear();
    }
    out.push(b'\n');
    String::from_utf8(out).unwrap_or_default()
}

/// The deployment's name for the automation id: the profile's folder name.
fn deployment(run: &Run) -> String {
    std::path::Path::new(&run.profile_id)
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().replace('/', "-"))
        .unwrap_or_else(|| "profile".into())
}

/// GitHub code scanning's 0–10 severity scale.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}
