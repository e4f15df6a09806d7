//! Markdown for a pull-request comment or a CI step summary: verdict line, counts, what to fix
//! next for the biggest gain in score, then a table per section with failures first and the
//! evidence in collapsed details.

use std::fmt::Write;

use shipcheck_core::gate::weight;
use shipcheck_core::outcome::{ItemResult, Run, Status};

/// Order in tables: what needs attention first.
pub fn status_rank(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Pending => 2,
        Status::Warn => 3,
        Status::Waived => 4,
        Status::Pass => 5,
        Status::NotApplicable => 6,
    }
}

fn cell(text: &str) -> String {
    // Text, never markup: HTML is entity-escaped, Markdown punctuation backslash-escaped, and
    // newlines folded (so nothing starts a block), whatever the evidence holds.
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '!' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text inside a code span: no backtick can end it early, and no newline.
fn code(text: &str) -> String {
    text.replace('`', "'").replace(['\n', '\r'], " ")
}

fn icon(s: Status) -> &'static str {
    match s {
        Status::Pass => "✅",
        Status::Fail => "❌",
        Status::Warn => "⚠️",
        Status::Error => "❓",
        Status::Pending => "⏳",
        Status::Waived => "🔕",
        Status::NotApplicable => "➖",
    }
}

/// Score points gained by fixing `r` (a warn earns the other half).
pub fn gain(run: &Run, r: &ItemResult) -> f64 {
    if run.score.possible <= 0.0 {
        return 0.0;
    }
    let w = weight(r.severity);
    let missing = match r.status {
        Status::Fail | Status::Error | Status::Pending => w,
        Status::Warn => w / 2.0,
        _ => 0.0,
    };
    100.0 * missing / run.score.possible
}

/// The items to fix next, biggest score gain first (blocking items before others).
pub fn fix_next(run: &Run) -> Vec<&ItemResult> {
    let mut v: Vec<&ItemResult> = run
        .results
        .iter()
        .filter(|r| gain(run, r) > 0.0 || r.blocking)
        .collect();
    v.sort_by(|a, b| {
        b.blocking
            .cmp(&a.blocking)
            .then(gain(run, b).total_cmp(&gain(run, a)))
            .then(a.qualified_id().cmp(&b.qualified_id()))
    });
    v
}

/// GitHub refuses a comment (and truncates a step summary) over 65,536 characters; the
/// report stays under it with room for a CI's own text around it.
pub const MAX_CHARS: usize = 60_000;

/// Renders a run as Markdown, under [`MAX_CHARS`]: when the full report would be longer, the
/// items that need action are listed, most urgent first, as long as they fit, and the rest
/// are counted.
pub fn render(run: &Run) -> String {
    let full = render_full(run);
    if full.chars().count() <= MAX_CHARS {
        return full;
    }
    render_summary(run)
}

/// The short form for large runs: header, counts, what to fix next, then one table of what
/// needs action while it fits.
fn render_summary(run: &Run) -> String {
    let mut out = header(run);
    let mut items: Vec<&ItemResult> = run
        .results
        .iter()
        .filter(|r| needs_action(r.status))
        .collect();
    items.sort_by(|a, b| {
        b.blocking
            .cmp(&a.blocking)
            .then(status_rank(a.status).cmp(&status_rank(b.status)))
            .then(b.severity.cmp(&a.severity))
    });
    let _ = writeln!(
        out,
        "### Needs action
"
    );
    let _ = writeln!(out, "| | Item | Severity | Status | Summary |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    let mut shown = 0;
    for r in &items {
        let row = row(r, true);
        // Room for the closing line.
        if out.chars().count() + row.chars().count() + 400 > MAX_CHARS {
            break;
        }
        out.push_str(&row);
        shown += 1;
    }
    let rest = run.results.len() - items.len();
    let _ = writeln!(
        out,
        "\n{} of {} items that need action are listed{}; {rest} more passed, are waived or do not apply. The whole run is in the JSON and HTML reports (`shipcheck report --format json|html`).",
        shown,
        items.len(),
        if shown < items.len() {
            " (the report is kept under GitHub's comment limit)"
        } else {
            ""
        }
    );
    out
}

fn needs_action(s: Status) -> bool {
    matches!(
        s,
        Status::Fail | Status::Error | Status::Pending | Status::Warn
    )
}

/// One table row; `qualified` names the pack too (for tables across packs).
fn row(r: &ItemResult, qualified: bool) -> String {
    format!(
        "| {} | {} (`{}`) | {} | {} | {} |\n",
        icon(r.status),
        cell(&r.title),
        if qualified {
            r.qualified_id()
        } else {
            r.id.clone()
        },
        r.severity.as_str(),
        r.status.as_str(),
        cell(&match &r.not_due {
            Some(n) => format!("{} ({})", r.summary, n.why),
            None => r.summary.clone(),
        })
    )
}

/// Verdict, context line, counts and what to fix next.
fn header(run: &Run) -> String {
    let mut out = String::new();
    let verdict = if run.gate.go {
        "✅ **GO**"
    } else {
        "❌ **NO-GO**"
    };
    let score = run
        .score
        .value
        .map_or("n/a".to_string(), |v| format!("{v}/100"));
    let _ = writeln!(out, "## {verdict}: readiness {score}\n");
    let _ = writeln!(
        out,
        "`{}` · environment `{}` · {} · {} · shipcheck {} · {} ({})\n",
        cell(&run.profile),
        cell(&run.environment),
        run.pack_list(),
        run.started_at,
        run.shipcheck_version,
        run.score.version,
        if run.gate.go {
            "nothing blocks".to_string()
        } else {
            format!(
                "{} blocking at fail-on {}",
                run.gate.blocking.len(),
                run.gate.policy.fail_on.as_str()
            )
        }
    );
    let c = &run.counts;
    let _ = writeln!(
        out,
        "| ✅ pass | ❌ fail | ⚠️ warn | ❓ error | ⏳ pending | 🔕 waived | ➖ n/a | total |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
        c.pass, c.fail, c.warn, c.error, c.pending, c.waived, c.not_applicable, c.total
    );
    let next = fix_next(run);
    if !next.is_empty() {
        let _ = writeln!(out, "### What to fix next\n");
        for (i, r) in next.iter().take(5).enumerate() {
            let _ = writeln!(
                out,
                "{}. {} **{}** (`{}`, {}) +{:.1} points{}: {}",
                i + 1,
                icon(r.status),
                cell(&r.title),
                r.qualified_id(),
                r.severity.as_str(),
                gain(run, r),
                if r.blocking { ", blocking" } else { "" },
                cell(r.fix.trim())
            );
        }
        out.push('\n');
    }
    out
}

/// The whole report: a table per section, what needs action first, passes collapsed.
fn render_full(run: &Run) -> String {
    let mut out = header(run);
    let mut sections: Vec<(&str, &str, &str)> = Vec::new();
    for r in &run.results {
        if !sections
            .iter()
            .any(|(p, s, _)| *p == r.pack && *s == r.section)
        {
            sections.push((&r.pack, &r.section, &r.section_title));
        }
    }
    for (pack, section, title) in sections {
        let mut items: Vec<&ItemResult> = run
            .results
            .iter()
            .filter(|r| r.pack == pack && r.section == section)
            .collect();
        items.sort_by(|a, b| {
            status_rank(a.status)
                .cmp(&status_rank(b.status))
                .then(b.severity.cmp(&a.severity))
        });
        let score = run
            .score
            .sections
            .iter()
            .find(|s| s.pack == pack && s.section == section)
            .and_then(|s| s.value);
        let _ = writeln!(
            out,
            "### {} ({pack}){}\n",
            cell(title),
            score.map(|v| format!(": {v}/100")).unwrap_or_default()
        );
        let (open, quiet): (Vec<&ItemResult>, Vec<&ItemResult>) = items
            .iter()
            .partition(|r| !matches!(r.status, Status::Pass | Status::NotApplicable));
        let table = |rows: &[&ItemResult]| {
            let mut t =
                String::from("| | Item | Severity | Status | Summary |\n|---|---|---|---|---|\n");
            rows.iter().for_each(|r| t.push_str(&row(r, false)));
            t
        };
        if !open.is_empty() {
            out.push_str(&table(&open));
        }
        // Passes and items that do not apply, collapsed.
        if !quiet.is_empty() {
            let _ = writeln!(
                out,
                "\n<details><summary>Passed or not applicable ({})</summary>\n\n{}\n</details>",
                quiet.len(),
                table(&quiet)
            );
        }
        let attention: Vec<&&ItemResult> = items
            .iter()
            .filter(|r| !matches!(r.status, Status::Pass | Status::NotApplicable))
            .collect();
        if !attention.is_empty() {
            let _ = writeln!(
                out,
                "\n<details><summary>Evidence and fixes ({})</summary>\n",
                attention.len()
            );
            for r in attention {
                let _ = writeln!(
                    out,
                    "**{}** (`{}`): {}\n",
                    cell(&r.title),
                    r.qualified_id(),
                    cell(&r.summary)
                );
                if let Some(e) = &r.evidence {
                    let _ = writeln!(
                        out,
                        "- read: `{}`{}",
                        code(&e.source),
                        e.query
                            .as_ref()
                            .map(|q| format!(" query `{}`", code(q)))
                            .unwrap_or_default()
                    );
                    for f in e.findings.iter().filter(|f| !f.ok) {
                        let _ = writeln!(
                            out,
                            "- expected {}, found {}",
                            cell(&f.expected),
                            cell(&f.observed)
                        );
                    }
                }
                let _ = writeln!(
                    out,
                    "- why: {}\n- fix: {}\n",
                    cell(r.why.trim()),
                    cell(r.fix.trim())
                );
            }
            out.push_str("</details>\n");
        }
        out.push('\n');
    }
    out
}
