//! SARIF 2.1.0 for code-scanning dashboards (GitHub's among them): one rule per pack item
//! (severity, why, fix), one result per item that needs action or is waived (passes and
//! items that do not apply are not alerts), each with a location (the file and line the
//! evidence was read from, else the profile), relative to the `PROFILE` base, a stable
//! fingerprint, and the deployment and environment as the automation id.

use serde_json::{Value, json};

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
fn artifact(path: &str, base: &str) -> Value {
    match std::path::Path::new(path).strip_prefix(base) {
        Ok(rel) => json!({"uri": rel.display().to_string(), "uriBaseId": "PROFILE"}),
        Err(_) if path.starts_with('/') => json!({"uri": format!("file://{path}")}),
        Err(_) => json!({"uri": path, "uriBaseId": "PROFILE"}),
    }
}

/// Renders a run as a SARIF 2.1.0 log.
pub fn render(run: &Run) -> String {
    let base = std::path::Path::new(&run.profile_id)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for (index, r) in run.results.iter().enumerate() {
        rules.push(json!({
            "id": r.qualified_id(),
            "name": r.title,
            "shortDescription": {"text": r.title},
            "fullDescription": {"text": r.why},
            "help": {"text": format!("{}\n\nFix: {}", r.why, r.fix), "markdown": format!("**Why:** {}\n\n**Fix:** {}", r.why, r.fix)},
            "defaultConfiguration": {"level": match r.severity { Severity::Critical | Severity::High => "error", Severity::Medium => "warning", _ => "note" }},
            "properties": {"severity": r.severity.as_str(), "phase": r.phase.as_str(), "section": r.section_title, "tags": r.tags, "security-severity": security_severity(r.severity)},
        }));
        if matches!(r.status, Status::Pass | Status::NotApplicable) {
            continue;
        }
        let mut result = json!({
            "ruleId": r.qualified_id(),
            "ruleIndex": index,
            "kind": kind(r.status),
            "level": level(r),
            "message": {"text": format!("{}: {}", r.status.as_str(), r.summary)},
            "properties": {"status": r.status.as_str(), "blocking": r.blocking},
            // One alert per deployment, environment and item, tracked from run to run.
            "partialFingerprints": {"shipcheckItem/v1": shipcheck_core::hex::sha256(format!("{}\0{}\0{}", run.profile_id, run.environment, r.qualified_id()).as_bytes())},
        });
        // Where to look: the file the evidence came from, else the profile (GitHub rejects
        // a result without a location; TLS, HTTP and manual items have no file of their own).
        let (path, line) = match r.evidence.as_ref().and_then(|e| e.location.as_ref()) {
            Some(loc) => (loc.path.clone(), loc.line),
            None => (run.profile_id.clone(), None),
        };
        let mut physical = json!({"artifactLocation": artifact(&path, &base)});
        physical["region"] = json!({"startLine": line.unwrap_or(1)});
        result["locations"] = json!([{"physicalLocation": physical}]);
        if let Some(w) = &r.waiver {
            result["suppressions"] = json!([{"kind": "external", "status": "accepted", "justification": format!("{} (owner {}, until {})", w.reason, w.owner, w.expires)}]);
        }
        if let Some(e) = &r.evidence {
            result["properties"]["evidence"] =
                json!({"probe": e.probe, "source": e.source, "observed": e.observed});
        }
        results.push(result);
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "shipcheck",
                "version": run.shipcheck_version,
                "informationUri": "https://shipcheck.dev",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "startTimeUtc": run.started_at,
                "properties": {"profile": run.profile, "environment": run.environment, "go": run.gate.go, "score": run.score.value},
            }],
            "originalUriBaseIds": {"PROFILE": {"uri": format!("file://{base}/")}},
            "automationDetails": {"id": format!("shipcheck/{}/{}/", deployment(run), run.environment)},
            "results": results,
            "properties": {"packs": run.packs.iter().map(|p| json!({"name": p.name, "version": p.version})).collect::<Vec<Value>>()},
        }],
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
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
