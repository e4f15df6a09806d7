//! JUnit XML for CI test reports: one testsuite per section, one testcase per item named by
//! its title; failures carry the evidence; a pending item that blocks the gate is a failure; other
//! pending, waived and not_applicable items are skipped.

use std::fmt::Write;

use super::escape;
use shipcheck_core::outcome::{ItemResult, Run, Status};

fn evidence_text(r: &ItemResult) -> String {
    let mut t = format!("{}\n", r.summary);
    if let Some(e) = &r.evidence {
        let _ = writeln!(t, "read: {}", e.source);
        if let Some(q) = &e.query {
            let _ = writeln!(t, "query: {q}");
        }
        if let Some(l) = &e.location {
            let _ = writeln!(
                t,
                "location: {}{}",
                l.path,
                l.line.map(|n| format!(":{n}")).unwrap_or_default()
            );
        }
        for f in &e.findings {
            let _ = writeln!(
                t,
                "{} {}: {}",
                if f.ok { "ok" } else { "NOT OK" },
                f.expected,
                f.observed
            );
        }
    }
    let _ = write!(t, "why: {}\nfix: {}", r.why, r.fix);
    t
}

/// Renders a run as JUnit XML.
pub fn render(run: &Run) -> String {
    let mut sections: Vec<(&str, &str, &str, Vec<&ItemResult>)> = Vec::new();
    for r in &run.results {
        match sections
            .iter_mut()
            .find(|(p, s, _, _)| *p == r.pack && *s == r.section)
        {
            Some(entry) => entry.3.push(r),
            None => sections.push((&r.pack, &r.section, &r.section_title, vec![r])),
        }
    }
    let count =
        |rs: &[&ItemResult], f: &dyn Fn(&ItemResult) -> bool| rs.iter().filter(|r| f(r)).count();
    // A pending item that blocks the gate is a failure, not a skip: CI must not show green.
    let blocking_pending = |r: &ItemResult| r.status == Status::Pending && r.blocking;
    let is_failure = |r: &ItemResult| r.status == Status::Fail || blocking_pending(r);
    let is_error = |r: &ItemResult| r.status == Status::Error;
    let is_skipped = |r: &ItemResult| {
        matches!(
            r.status,
            Status::Pending | Status::Waived | Status::NotApplicable
        ) && !blocking_pending(r)
    };
    let all: Vec<&ItemResult> = run.results.iter().collect();
    let secs = |ms: u64| format!("{:.3}", ms as f64 / 1000.0);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"shipcheck {} ({})\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\">",
        escape(&run.profile),
        escape(&run.environment),
        all.len(),
        count(&all, &is_failure),
        count(&all, &is_error),
        count(&all, &is_skipped),
        secs(run.duration_ms),
        escape(&run.started_at)
    );
    for (pack, section, title, items) in &sections {
        let time: u64 = items.iter().map(|r| r.duration_ms).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\">",
            escape(&format!("{title} [{pack}]")),
            items.len(),
            count(items, &is_failure),
            count(items, &is_error),
            count(items, &is_skipped),
            secs(time),
            escape(&run.started_at)
        );
        for r in items {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
                escape(&r.title),
                escape(&format!("{pack}.{section}.{}", r.id)),
                secs(r.duration_ms)
            );
            let body = match r.status {
                Status::Pending if r.blocking => Some(format!(
                    "      <failure message=\"{}\" type=\"pending\">{}</failure>\n",
                    escape(&format!("pending: {}", r.summary)),
                    escape(&r.summary)
                )),
                Status::Pass => None,
                Status::Warn => Some(format!(
                    "      <system-out>warning: {}</system-out>\n",
                    escape(&evidence_text(r))
                )),
                Status::Fail => Some(format!(
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                    escape(&r.summary),
                    r.severity.as_str(),
                    escape(&evidence_text(r))
                )),
                Status::Error => Some(format!(
                    "      <error message=\"{}\" type=\"could-not-check\">{}</error>\n",
                    escape(&r.summary),
                    escape(&evidence_text(r))
                )),
                Status::Pending | Status::Waived | Status::NotApplicable => Some(format!(
                    "      <skipped message=\"{}\"/>\n",
                    escape(&format!("{}: {}", r.status.as_str(), r.summary))
                )),
            };
            match body {
                None => out.push_str("/>\n"),
                Some(b) => {
                    out.push_str(">\n");
                    out.push_str(&b);
                    out.push_str("    </testcase>\n");
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
