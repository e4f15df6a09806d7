//! Terminal report in the style of a `doctor` command: grouped by section, one line per
//! item with a ✓/✗ mark, details under anything that is not a pass, then a summary line,
//! the readiness score and the gate's verdict.

use std::fmt::Write;

use shipcheck_core::outcome::{ItemResult, Run, Status};
use shipcheck_core::text::printable;

/// Rendering options.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// List every item, with evidence for passing ones too. Otherwise only what needs
    /// action (fail, error, pending, warn) and the waived items are listed, and the rest
    /// counted.
    pub verbose: bool,
    /// Only the verdict line.
    pub quiet: bool,
    /// Terminal width to wrap at, between words, each continuation under its own line's
    /// text; `None`: no wrapping (a pipe or a file).
    pub width: Option<usize>,
}

const RESET: &str = "\x1b[0m";

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Wraps every line longer than `width` between words (never inside an id or a status
/// word), continuing under the line's own indentation plus four spaces. Colour codes take
/// no width: textwrap knows Unicode widths and ANSI sequences.
fn wrap(text: &str, width: usize) -> String {
    let width = width.max(40);
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        if textwrap::core::display_width(body) <= width {
            out.push_str(line);
            continue;
        }
        let indent = &body[..body.len() - body.trim_start().len()];
        let hanging = format!("{indent}    ");
        let options = textwrap::Options::new(width)
            .initial_indent(indent)
            .subsequent_indent(&hanging)
            .break_words(false)
            .word_separator(textwrap::WordSeparator::AsciiSpace)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        for piece in textwrap::wrap(body.trim_start(), options) {
            out.push_str(&piece);
            out.push('\n');
        }
        if !line.ends_with('\n') {
            out.pop();
        }
    }
    out
}

/// The mark and colour code of a status.
pub fn mark(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Pass => ("✓", "32"),
        Status::Fail => ("✗", "31"),
        Status::Warn => ("!", "33"),
        Status::Error => ("?", "35"),
        Status::Pending => ("○", "36"),
        Status::Waived => ("≈", "34"),
        Status::NotApplicable => ("–", "90"),
    }
}

/// Hands every string of a run that may have come from outside (summaries, evidence,
/// findings, waivers, reasons) to `$s`, and every observed JSON value to `$value`, by `&`
/// or `&mut` (`$($m)?`): one list serves both the check and the escaping, so they cannot
/// disagree.
macro_rules! outside_strings {
    ($run:expr, $s:expr, $value:expr, $($m:tt)?) => {{
        let (run, s, value) = ($run, $s, $value);
        s(& $($m)? run.profile);
        s(& $($m)? run.environment);
        for r in & $($m)? run.gate.reasons {
            s(r);
        }
        for w in & $($m)? run.unused_waivers {
            s(& $($m)? w.item);
            s(& $($m)? w.reason);
            s(& $($m)? w.why_unused);
        }
        for u in & $($m)? run.unreachable {
            s(& $($m)? u.url);
            s(& $($m)? u.reason);
        }
        for r in & $($m)? run.results {
            s(& $($m)? r.title);
            s(& $($m)? r.summary);
            if let Some(w) = & $($m)? r.waiver {
                s(& $($m)? w.reason);
                s(& $($m)? w.owner);
            }
            if let Some(e) = & $($m)? r.evidence {
                s(& $($m)? e.source);
                if let Some(q) = & $($m)? e.query {
                    s(q);
                }
                value(& $($m)? e.observed);
                if let Some(l) = & $($m)? e.location {
                    s(& $($m)? l.path);
                }
                for f in & $($m)? e.findings {
                    s(& $($m)? f.expected);
                    s(& $($m)? f.observed);
                }
            }
        }
    }};
}

/// The run with every string that may have come from outside made safe for a terminal
/// (control characters escaped). The run is copied only when one needs escaping: a copy of
/// a 100,000-item run was 70 MB for nothing.
fn terminal_safe(run: &Run) -> std::borrow::Cow<'_, Run> {
    fn unsafe_value(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(t) => unsafe_text(t),
            serde_json::Value::Array(a) => a.iter().any(unsafe_value),
            serde_json::Value::Object(m) => m.values().any(unsafe_value),
            _ => false,
        }
    }
    fn unsafe_text(text: &str) -> bool {
        matches!(printable(text), std::borrow::Cow::Owned(_))
    }
    fn s(text: &mut String) {
        if let std::borrow::Cow::Owned(safe) = printable(text) {
            *text = safe;
        }
    }
    fn value(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(t) => s(t),
            serde_json::Value::Array(a) => a.iter_mut().for_each(value),
            serde_json::Value::Object(m) => m.values_mut().for_each(value),
            _ => {}
        }
    }
    let needed = std::cell::Cell::new(false);
    outside_strings!(
        run,
        |t: &String| needed.set(needed.get() || unsafe_text(t)),
        |v: &serde_json::Value| needed.set(needed.get() || unsafe_value(v)),
    );
    if !needed.get() {
        return std::borrow::Cow::Borrowed(run);
    }
    let mut run = run.clone();
    outside_strings!(&mut run, s, value, mut);
    std::borrow::Cow::Owned(run)
}

/// Renders a run for a terminal.
pub fn render(run: &Run, style: Style) -> String {
    let run = &terminal_safe(run);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            "1",
            &format!(
                "shipcheck {} · {} · environment {}",
                run.shipcheck_version, run.profile, run.environment
            )
        )
    );
    let _ = writeln!(out, "packs: {}", run.pack_list());
    // An endpoint that does not answer is said once, before the items it blocks.
    for u in &run.unreachable {
        let _ = writeln!(
            out,
            "{} {} ({} {} could not check)",
            style.paint("1;31", "✗"),
            u.reason,
            u.items.len(),
            if u.items.len() == 1 { "item" } else { "items" }
        );
    }
    if style.quiet {
        return verdict_line(run, style);
    }
    let mut current: Option<(&str, &str)> = None;
    let mut unlisted = 0;
    for r in &run.results {
        if !style.verbose && matches!(r.status, Status::Pass | Status::NotApplicable) {
            unlisted += 1;
            continue;
        }
        if current != Some((r.pack.as_str(), r.section.as_str())) {
            current = Some((r.pack.as_str(), r.section.as_str()));
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{}",
                style.paint("1", &format!("{} [{}]", r.section_title, r.pack))
            );
        }
        item(&mut out, r, style);
    }
    if unlisted > 0 {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            style.paint(
                "90",
                &format!(
                    "{} passing or not applicable items not listed (`-v` lists every item)",
                    unlisted
                )
            )
        );
    }
    let c = &run.counts;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Summary: {} passed · {} failed · {} warnings · {} errors · {} pending · {} waived · {} not applicable ({} items, {} ms)",
        c.pass,
        c.fail,
        c.warn,
        c.error,
        c.pending,
        c.waived,
        c.not_applicable,
        c.total,
        run.duration_ms
    );
    let score = match run.score.value {
        Some(v) => format!("{v}/100"),
        None => "n/a".into(),
    };
    let _ = writeln!(
        out,
        "Readiness: {score} ({}; see README \"Readiness score\")",
        run.score.version
    );
    for w in &run.unused_waivers {
        let _ = writeln!(
            out,
            "{} waiver for `{}` unused: {}",
            style.paint("33", "note:"),
            w.item,
            w.why_unused
        );
    }
    out.push_str(&verdict_line(run, style));
    for reason in run.gate.reasons.iter().take(10) {
        let _ = writeln!(out, "  {reason}");
    }
    if run.gate.reasons.len() > 10 {
        let _ = writeln!(
            out,
            "  … and {} more blocking items (each is listed above; `--format json` lists them all)",
            run.gate.reasons.len() - 10
        );
    }
    match style.width {
        Some(w) => wrap(&out, w),
        None => out,
    }
}

/// `Gate: GO|NO-GO (fail-on …, pending …): N blocking`.
fn verdict_line(run: &Run, style: Style) -> String {
    let verdict = if run.gate.go {
        style.paint("1;32", "GO")
    } else {
        style.paint("1;31", "NO-GO")
    };
    format!(
        "Gate: {verdict} (fail-on {}, pending {}): {} blocking\n",
        run.gate.policy.fail_on.as_str(),
        if run.gate.policy.allow_pending {
            "allowed"
        } else {
            "blocks"
        },
        run.gate.blocking.len()
    )
}

fn item(out: &mut String, r: &ItemResult, style: Style) {
    let (m, code) = mark(r.status);
    let label = match r.status {
        Status::Pass => String::new(),
        other => format!(" {}", other.as_str().replace('_', " ")),
    };
    let _ = writeln!(
        out,
        "  {} {} {}{}",
        style.paint(code, m),
        r.title,
        style.paint("90", &format!("({} · {})", r.id, r.severity.as_str())),
        style.paint(code, &label)
    );
    let detailed = style.verbose || !matches!(r.status, Status::Pass | Status::NotApplicable);
    if !detailed {
        return;
    }
    let _ = writeln!(out, "      {}", r.summary);
    if let Some(n) = &r.not_due {
        let _ = writeln!(out, "      {}", style.paint("90", &n.why));
    }
    if let Some(e) = &r.evidence
        && !e.source.is_empty()
    {
        let mut read = format!("read: {}", e.source);
        if let Some(q) = &e.query {
            let _ = write!(read, "  query {q}");
        }
        if let Some(line) = e.location.as_ref().and_then(|l| l.line) {
            let _ = write!(read, "  line {line}");
        }
        let _ = writeln!(out, "      {}", style.paint("90", &read));
        if style.verbose {
            for f in &e.findings {
                let _ = writeln!(
                    out,
                    "      {} {} — {}",
                    if f.ok { "✓" } else { "✗" },
                    f.expected,
                    f.observed
                );
            }
        }
    }
    if matches!(
        r.status,
        Status::Fail | Status::Warn | Status::Error | Status::Pending
    ) {
        let _ = writeln!(out, "      {} {}", style.paint("1", "fix:"), r.fix.trim());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_between_words_under_their_indentation() {
        let text = "  ✗ Config file is readable by its owner only (chmod 600) (gateway.auth.config-mode · high) fail\nshort\n";
        let wrapped = wrap(text, 50);
        for line in wrapped.lines() {
            assert!(textwrap::core::display_width(line) <= 50, "{line:?}");
        }
        assert!(
            wrapped.contains("(gateway.auth.config-mode"),
            "ids stay whole: {wrapped}"
        );
        assert!(
            wrapped.lines().nth(1).unwrap().starts_with("      "),
            "{wrapped}"
        );
        assert!(wrapped.ends_with("short\n"));
        let colored = "\x1b[31m✗\x1b[0m ok";
        assert_eq!(wrap(colored, 40), colored, "colour codes take no width");
    }
}
