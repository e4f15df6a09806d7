//! HTML: one self-contained file (inline CSS, SVG and script; no external request) with the
//! verdict, score, charts by section and severity, every item with its evidence, why and fix,
//! attestations and sign-offs, the run's metadata, and a filter by status (also driven by the
//! URL: `report.html#status=fail,error`).

use std::fmt::Write;

use super::escape;
use super::markdown::{fix_next, gain, status_rank};
use shipcheck_core::outcome::{ItemResult, Run, Status};
use shipcheck_core::pack::Severity;
use shipcheck_core::statement::Signoff;

pub const CSS: &str = r#"
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2430;--mute:#5f6b7a;--line:#e3e7ee;--pass:#1f9d55;--fail:#d64545;--warn:#d99100;--error:#8e44ad;--pending:#2b7bb9;--waived:#607d8b;--na:#a0aab6}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{background:#18202b;color:#fff;padding:24px 32px}header h1{margin:0 0 6px;font-size:22px;font-weight:600}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:700;letter-spacing:.04em;margin-right:12px}
.go{background:var(--pass)}.nogo{background:var(--fail)}.score{font-size:18px;font-weight:600}
.meta{color:#c9d1dc;margin-top:10px;font-size:13px}.meta span{margin-right:18px}
main{max-width:1180px;margin:0 auto;padding:24px 32px}
.cards{display:grid;grid-template-columns:repeat(8,1fr);gap:10px;margin-bottom:20px}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 12px}.card b{display:block;font-size:22px}.card small{color:var(--mute)}
.charts{display:grid;grid-template-columns:2fr 1fr;gap:16px;margin-bottom:20px}.panel{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:14px 16px}
.panel h2{font-size:15px;margin:0 0 10px}.legend{margin:-8px 0 20px;font-size:12px}.legend .key{margin-right:14px;white-space:nowrap}.legend .swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:middle}svg text{font-size:11px;fill:var(--ink)}
.filter{position:sticky;top:0;background:var(--bg);padding:10px 0;z-index:2;display:flex;gap:6px;flex-wrap:wrap;align-items:center}
.filter a{padding:4px 10px;border:1px solid var(--line);border-radius:14px;background:#fff;color:var(--ink);text-decoration:none;font-size:13px}
.filter a.on{background:#18202b;color:#fff;border-color:#18202b}#visible{margin-left:auto;color:var(--mute)}
section.sec{background:var(--card);border:1px solid var(--line);border-radius:6px;margin:14px 0;padding:4px 0}
section.sec h2{font-size:15px;margin:10px 16px}section.sec h2 small{color:var(--mute);font-weight:400}
details.item{border-top:1px solid var(--line);padding:8px 16px}details.item summary{cursor:pointer;list-style:none;display:flex;gap:10px;align-items:baseline}
.badge{font-size:11px;font-weight:700;text-transform:uppercase;padding:2px 7px;border-radius:3px;color:#fff;min-width:70px;text-align:center}
.b-pass{background:var(--pass)}.b-fail{background:var(--fail)}.b-warn{background:var(--warn)}.b-error{background:var(--error)}.b-pending{background:var(--pending)}.b-waived{background:var(--waived)}.b-not_applicable{background:var(--na)}
.sev{color:var(--mute);font-size:12px}.id{color:var(--mute);font-family:ui-monospace,monospace;font-size:12px}.block{color:var(--fail);font-size:12px;font-weight:600}
.body{margin:8px 0 4px 90px;color:#2c3644}.body dt{font-weight:600;margin-top:6px}.body dd{margin:2px 0 0 0}
table.ev{border-collapse:collapse;margin-top:4px;font-size:13px}table.ev td{border-bottom:1px solid var(--line);padding:3px 8px;vertical-align:top}
code{font-family:ui-monospace,monospace;font-size:12px;background:#f0f2f5;padding:1px 4px;border-radius:3px;word-break:break-all}
ol.next li{margin:4px 0}footer{color:var(--mute);font-size:12px;text-align:center;padding:24px}
@media print{.filter{display:none}details.item{break-inside:avoid}}
"#;

pub const SCRIPT: &str = r#"
(function(){
  function wanted(){var m=/status=([a-z_,]+)/.exec(location.hash);return m?m[1].split(','):null;}
  function apply(){
    var w=wanted(),n=0;
    document.querySelectorAll('details.item').forEach(function(el){
      var show=!w||w.indexOf(el.dataset.status)>=0; el.hidden=!show; if(show)n++;
    });
    document.querySelectorAll('section.sec').forEach(function(s){
      s.hidden=!s.querySelector('details.item:not([hidden])');
    });
    document.querySelectorAll('.filter a').forEach(function(a){
      var f=a.dataset.filter; a.classList.toggle('on',(!w&&f==='all')||(w&&w.join(',')===f));
    });
    var v=document.getElementById('visible'); if(v)v.textContent=n+' shown';
    document.body.dataset.visible=n;
  }
  window.addEventListener('hashchange',apply); apply();
})();
"#;

fn color(s: Status) -> &'static str {
    match s {
        Status::Pass => "#1f9d55",
        Status::Fail => "#d64545",
        Status::Warn => "#d99100",
        Status::Error => "#8e44ad",
        Status::Pending => "#2b7bb9",
        Status::Waived => "#607d8b",
        Status::NotApplicable => "#a0aab6",
    }
}

const ORDER: [Status; 7] = [
    Status::Fail,
    Status::Error,
    Status::Pending,
    Status::Warn,
    Status::Waived,
    Status::Pass,
    Status::NotApplicable,
];

/// What the bars' colours mean, with the run's count of each status.
fn legend(run: &Run) -> String {
    let mut out = String::from("<p class=\"legend\" aria-label=\"Legend\">");
    for s in ORDER {
        let n = run.results.iter().filter(|r| r.status == s).count();
        let _ = write!(
            out,
            "<span class=\"key\"><span class=\"swatch\" style=\"background:{}\"></span>{} ({n})</span>",
            color(s),
            s.as_str()
        );
    }
    out.push_str("</p>");
    out
}

/// Horizontal stacked bars: one per group, segments per status.
fn bars(groups: &[(String, Vec<&ItemResult>)], width: u32) -> String {
    let label_w = 190;
    let row_h = 22;
    let h = groups.len() as u32 * row_h + 8;
    let max = groups
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let bar_w = (width - label_w - 40) as f64;
    let mut svg = format!(
        "<svg role=\"img\" viewBox=\"0 0 {width} {h}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (label, items)) in groups.iter().enumerate() {
        let y = i as u32 * row_h + 4;
        // A long label is cut with an ellipsis; the whole of it shows on hover.
        let short: String = if label.chars().count() > 28 {
            label.chars().take(27).chain(['…']).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\"><title>{}</title>{}</text>",
            y + 14,
            escape(label),
            escape(&short)
        );
        let mut x = label_w as f64;
        for s in ORDER {
            let n = items.iter().filter(|r| r.status == s).count();
            if n == 0 {
                continue;
            }
            let w = bar_w * n as f64 / max;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"{}\"><title>{}: {n}</title></rect>",
                color(s),
                s.as_str()
            );
            x += w;
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\">{}</text>",
            x + 6.0,
            y + 14,
            items.len()
        );
    }
    svg.push_str("</svg>");
    svg
}

fn item_html(out: &mut String, r: &ItemResult) {
    let _ = write!(
        out,
        "<details class=\"item\" data-status=\"{s}\" id=\"item-{pid}\"><summary><span class=\"badge b-{s}\">{label}</span><span>{title}</span><span class=\"id\">{pid}</span><span class=\"sev\">{sev}</span>{block}</summary><dl class=\"body\"><dt>Result</dt><dd>{summary}</dd>",
        s = r.status.as_str(),
        label = r.status.as_str().replace('_', " "),
        title = escape(&r.title),
        pid = escape(&r.qualified_id()),
        sev = r.severity.as_str(),
        block = if r.blocking {
            "<span class=\"block\">blocking</span>"
        } else {
            ""
        },
        summary = escape(&r.summary),
    );
    if let Some(e) = &r.evidence {
        let _ = write!(
            out,
            "<dt>Evidence</dt><dd><table class=\"ev\"><tr><td>probe</td><td>{}</td></tr><tr><td>read</td><td><code>{}</code></td></tr>",
            escape(&e.probe),
            escape(&e.source)
        );
        if let Some(q) = &e.query {
            let _ = write!(
                out,
                "<tr><td>query</td><td><code>{}</code></td></tr>",
                escape(q)
            );
        }
        if let Some(l) = &e.location {
            let _ = write!(
                out,
                "<tr><td>location</td><td><code>{}{}</code></td></tr>",
                escape(&l.path),
                l.line.map(|n| format!(":{n}")).unwrap_or_default()
            );
        }
        let observed = shipcheck_core::matcher::show(&e.observed, false);
        let _ = write!(
            out,
            "<tr><td>observed</td><td><code>{}</code></td></tr>",
            escape(&observed)
        );
        for f in &e.findings {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{} — {}</td></tr>",
                if f.ok { "✓" } else { "✗" },
                escape(&f.expected),
                escape(&f.observed)
            );
        }
        out.push_str("</table></dd>");
    }
    if let Some(w) = &r.waiver {
        let _ = write!(
            out,
            "<dt>Waiver</dt><dd>{} (owner {}, until {}; would be {})</dd>",
            escape(&w.reason),
            escape(&w.owner),
            escape(&w.expires),
            w.underlying.as_str()
        );
    }
    let _ = write!(
        out,
        "<dt>Why</dt><dd>{}</dd><dt>Fix</dt><dd>{}</dd>",
        escape(r.why.trim()),
        escape(r.fix.trim())
    );
    if let Some(src) = &r.source {
        for one in src.all() {
            let _ = write!(
                out,
                "<dt>Source</dt><dd>{}{}</dd>",
                escape(&one.document),
                one.section
                    .as_ref()
                    .map(|s| format!(" — {}", escape(s)))
                    .unwrap_or_default()
            );
        }
    }
    out.push_str("</dl></details>\n");
}

/// Renders a run as one self-contained HTML page; `signoffs` are shown when given.
pub fn render(run: &Run, signoffs: &[Signoff]) -> String {
    let mut out = String::with_capacity(64 * 1024 + run.results.len() * 1500);
    let verdict = if run.gate.go { "GO" } else { "NO-GO" };
    let score = run
        .score
        .value
        .map_or("n/a".to_string(), |v| format!("{v}/100"));
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\"><title>shipcheck {verdict}: {} ({})</title><style>{CSS}</style></head><body>\n",
        escape(&run.profile),
        escape(&run.environment)
    );
    let _ = write!(
        out,
        "<header><h1><span class=\"verdict {}\" id=\"verdict\">{verdict}</span><span class=\"score\">Readiness <span id=\"score\">{score}</span></span></h1><div class=\"meta\"><span>profile <b>{}</b></span><span>environment <b>{}</b></span><span>packs {}</span><span>started {}</span><span>{} ms</span><span>fail-on {} · pending {}</span><span>shipcheck {} · {}</span></div></header>\n<main>\n",
        if run.gate.go { "go" } else { "nogo" },
        escape(&run.profile),
        escape(&run.environment),
        escape(&run.pack_list()),
        escape(&run.started_at),
        run.duration_ms,
        run.gate.policy.fail_on.as_str(),
        if run.gate.policy.allow_pending {
            "allowed"
        } else {
            "blocks"
        },
        escape(&run.shipcheck_version),
        escape(&run.score.version),
    );
    let c = &run.counts;
    out.push_str("<div class=\"cards\">");
    for (id, label, n) in [
        ("total", "items", c.total),
        ("pass", "pass", c.pass),
        ("fail", "fail", c.fail),
        ("warn", "warn", c.warn),
        ("error", "error", c.error),
        ("pending", "pending", c.pending),
        ("waived", "waived", c.waived),
        ("not_applicable", "n/a", c.not_applicable),
    ] {
        let _ = write!(
            out,
            "<div class=\"card\"><b id=\"count-{id}\">{n}</b><small>{label}</small></div>"
        );
    }
    out.push_str("</div>\n");
    let mut sections: Vec<(String, Vec<&ItemResult>)> = Vec::new();
    for r in &run.results {
        let key = format!("{} [{}]", r.section_title, r.pack);
        match sections.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(r),
            None => sections.push((key, vec![r])),
        }
    }
    let severities: Vec<(String, Vec<&ItemResult>)> = Severity::ALL
        .iter()
        .map(|s| {
            (
                s.as_str().to_string(),
                run.results
                    .iter()
                    .filter(|r| r.severity == *s)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let _ = writeln!(
        out,
        "<div class=\"charts\"><div class=\"panel\"><h2>Results by section</h2>{}</div><div class=\"panel\"><h2>Results by severity</h2>{}</div></div>{}",
        bars(&sections, 640),
        bars(&severities, 420),
        legend(run)
    );
    let next = fix_next(run);
    if !next.is_empty() {
        out.push_str("<div class=\"panel\"><h2>What to fix next</h2><ol class=\"next\">");
        for r in next.iter().take(5) {
            let _ = write!(
                out,
                "<li><a href=\"#item-{pid}\">{}</a> <span class=\"sev\">{} · +{:.1} points{}</span> — {}</li>",
                escape(&r.title),
                r.severity.as_str(),
                gain(run, r),
                if r.blocking { " · blocking" } else { "" },
                escape(r.fix.trim()),
                pid = escape(&r.qualified_id()),
            );
        }
        out.push_str("</ol></div>\n");
    }
    let manual: Vec<&ItemResult> = run
        .results
        .iter()
        .filter(|r| r.kind == shipcheck_core::outcome::ItemKind::Manual)
        .collect();
    if !manual.is_empty() || !signoffs.is_empty() {
        out.push_str("<div class=\"panel\" style=\"margin-top:16px\"><h2>Attestations and sign-offs</h2><ul>");
        for r in manual {
            let _ = write!(
                out,
                "<li><b>{}</b> <span class=\"badge b-{}\">{}</span> {}</li>",
                escape(&r.title),
                r.status.as_str(),
                r.status.as_str(),
                escape(&r.summary)
            );
        }
        for s in signoffs {
            let _ = write!(
                out,
                "<li>Run #{} signed off by <b>{}</b> ({}) at {}{}</li>",
                s.run,
                escape(&s.by),
                s.role.as_str(),
                escape(&s.at),
                if s.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", escape(&s.note))
                }
            );
        }
        out.push_str("</ul></div>\n");
    }
    out.push_str("<nav class=\"filter\"><a href=\"#\" data-filter=\"all\">All</a>");
    for (filter, label) in [
        ("fail,error", "Failing"),
        ("fail", "Fail"),
        ("error", "Error"),
        ("pending", "Pending"),
        ("warn", "Warn"),
        ("waived", "Waived"),
        ("pass", "Pass"),
        ("not_applicable", "N/A"),
    ] {
        let _ = write!(
            out,
            "<a href=\"#status={filter}\" data-filter=\"{filter}\">{label}</a>"
        );
    }
    out.push_str("<span id=\"visible\"></span></nav>\n");
    for (title, items) in &sections {
        let mut items = items.clone();
        items.sort_by(|a, b| {
            status_rank(a.status)
                .cmp(&status_rank(b.status))
                .then(b.severity.cmp(&a.severity))
        });
        let _ = writeln!(
            out,
            "<section class=\"sec\"><h2>{} <small>{} items</small></h2>",
            escape(title),
            items.len()
        );
        for r in items {
            item_html(&mut out, r);
        }
        out.push_str("</section>\n");
    }
    if !run.unused_waivers.is_empty() {
        out.push_str("<div class=\"panel\"><h2>Unused waivers</h2><ul>");
        for w in &run.unused_waivers {
            let _ = write!(
                out,
                "<li><code>{}</code>: {} ({})</li>",
                escape(&w.item),
                escape(&w.why_unused),
                escape(&w.reason)
            );
        }
        out.push_str("</ul></div>\n");
    }
    let _ = writeln!(
        out,
        "</main><footer>profile digest {} · generated by shipcheck {}</footer><script>{SCRIPT}</script></body></html>",
        escape(&run.profile_digest),
        escape(&run.shipcheck_version)
    );
    out
}
