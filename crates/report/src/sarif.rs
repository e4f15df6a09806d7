//! SARIF 2.1.0 for code-scanning dashboards: one rule per pack item (severity, why, fix),
//! one result per item, pointing at the file and line the evidence was read from.

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

/// A file URI relative to the profile's folder when the file is inside it.
fn artifact_uri(path: &str, base: &str) -> String {
    match std::path::Path::new(path).strip_prefix(base) {
        Ok(rel) => rel.display().to_string(),
        Err(_) if path.starts_with('/') => format!("file://{path}"),
        Err(_) => path.to_string(),
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
        let mut result = json!({
            "ruleId": r.qualified_id(),
            "ruleIndex": index,
            "kind": kind(r.status),
            "level": level(r),
            "message": {"text": format!("{}: {}", r.status.as_str(), r.summary)},
            "properties": {"status": r.status.as_str(), "blocking": r.blocking},
        });
        if let Some(loc) = r.evidence.as_ref().and_then(|e| e.location.as_ref()) {
            let mut physical = json!({"artifactLocation": {"uri": artifact_uri(&loc.path, &base)}});
            if let Some(line) = loc.line {
                physical["region"] = json!({"startLine": line});
            }
            result["locations"] = json!([{"physicalLocation": physical}]);
        }
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
            "results": results,
            "properties": {"packs": run.packs.iter().map(|p| json!({"name": p.name, "version": p.version})).collect::<Vec<Value>>()},
        }],
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
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
