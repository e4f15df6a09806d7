//! Traceability: which items of a pack cover which lines of its source documents. A source
//! line is a checklist line, a bullet or a numbered step (outside code blocks), quoted as it
//! stands in the document; an item covers it when its `source.lines` quotes it.

use serde::Serialize;

use super::{Pack, SourceDoc};

/// One checklist line, bullet or numbered step of a source document.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SourceLine {
    /// 1-based line number in the document.
    pub line: usize,
    /// The nearest heading above it.
    pub section: String,
    /// The line as it stands (trimmed).
    pub text: String,
    /// Ids of the items that quote it.
    pub covered_by: Vec<String>,
}

/// Coverage of one document.
#[derive(Clone, Debug, Serialize)]
pub struct DocumentCoverage {
    pub document: String,
    pub lines: Vec<SourceLine>,
    pub covered: usize,
    pub uncovered: usize,
}

/// Coverage of a pack.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    pub pack: String,
    pub items: usize,
    pub automated: usize,
    /// Share of items that are automated checks, 0–100.
    pub automated_percent: f64,
    pub documents: Vec<DocumentCoverage>,
    /// Items that name no source line.
    pub untraced_items: Vec<String>,
    /// Rows quoted in `traces` that match no row of the document (stale quotes).
    pub stale_rows: Vec<String>,
}

/// Whether a trimmed line is a checklist line, bullet or numbered step.
fn is_source_line(t: &str) -> bool {
    let bullet = ["- ", "* ", "+ ", "• ", "◦ "]
        .iter()
        .any(|b| t.starts_with(b));
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
    let numbered = digits > 0 && t[digits..].starts_with(". ");
    bullet || numbered
}

/// Normalizes for comparison: trimmed, inner white space collapsed.
pub fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Follows a document's structure line by line: code fences and headings (which set
/// `section`). True when the trimmed line `t` is structure or code, not content.
fn markdown_structure(t: &str, in_code: &mut bool, section: &mut String) -> bool {
    if t.starts_with("```") {
        *in_code = !*in_code;
        return true;
    }
    if *in_code {
        return true;
    }
    if let Some(h) = t.strip_prefix('#') {
        *section = h.trim_start_matches('#').trim().to_string();
        return true;
    }
    false
}

/// The source lines of a document.
pub fn source_lines(text: &str) -> Vec<SourceLine> {
    let mut out = Vec::new();
    let mut in_code = false;
    // A scraped page's code block: a "Terminal window" caption, then the lines indented at
    // least as far as the caption, up to a blank line.
    let mut caption_indent: Option<usize> = None;
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        let indent = raw.len() - raw.trim_start().len();
        if let Some(ci) = caption_indent {
            if !t.is_empty() && indent >= ci {
                continue;
            }
            caption_indent = None;
        }
        if t == "Terminal window" {
            caption_indent = Some(indent);
            continue;
        }
        if markdown_structure(t, &mut in_code, &mut section) {
            continue;
        }
        if is_source_line(t) {
            out.push(SourceLine {
                line: i + 1,
                section: section.clone(),
                text: t.to_string(),
                covered_by: Vec::new(),
            });
        }
    }
    out
}

/// The body rows of the Markdown tables under `sections` (headings as written): a row is
/// a line starting with `|` that is neither a table's header (the line above `|---|`) nor
/// its separator.
pub fn table_rows(text: &str, sections: &[String]) -> Vec<SourceLine> {
    let lines: Vec<&str> = text.lines().collect();
    let separator =
        |t: &str| t.starts_with('|') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
    let mut out = Vec::new();
    let mut section = String::new();
    let mut in_code = false;
    for (i, raw) in lines.iter().enumerate() {
        let t = raw.trim();
        if markdown_structure(t, &mut in_code, &mut section) {
            continue;
        }
        let header = lines.get(i + 1).is_some_and(|n| separator(n.trim()));
        if t.starts_with('|') && !separator(t) && !header && sections.contains(&section) {
            out.push(SourceLine {
                line: i + 1,
                section: section.clone(),
                text: t.to_string(),
                covered_by: Vec::new(),
            });
        }
    }
    out
}

/// Coverage of a pack's traced table rows in one document, and the quoted rows that match
/// no row (stale quotes).
fn trace_coverage(trace: &super::Trace, text: &str) -> (DocumentCoverage, Vec<String>) {
    let mut lines = table_rows(text, &trace.sections);
    let mut stale = Vec::new();
    for row in &trace.rows {
        let q = normalize(&row.row.value);
        let by: Vec<String> = match &row.why {
            Some(why) => vec![format!("not an item: {why}")],
            None => row.items.iter().map(|i| i.value.clone()).collect(),
        };
        let mut matched = false;
        for l in lines
            .iter_mut()
            .filter(|l| normalize(&l.text).starts_with(&q))
        {
            matched = true;
            for b in &by {
                if !l.covered_by.contains(b) {
                    l.covered_by.push(b.clone());
                }
            }
        }
        if !matched {
            stale.push(row.row.value.clone());
        }
    }
    let covered = lines.iter().filter(|l| !l.covered_by.is_empty()).count();
    (
        DocumentCoverage {
            document: trace.document.clone(),
            uncovered: lines.len() - covered,
            covered,
            lines,
        },
        stale,
    )
}

/// The source documents `pack` names (its own, then its items'), each once.
pub fn documents(pack: &Pack) -> Vec<&str> {
    let mut docs: Vec<&str> = pack.source.iter().map(|s| s.document.as_str()).collect();
    for item in pack.sections.iter().flat_map(|s| &s.items) {
        for src in item.source.iter().flat_map(SourceDoc::all) {
            if !docs.contains(&src.document.as_str()) {
                docs.push(&src.document);
            }
        }
    }
    docs
}

/// Computes the coverage of `pack` over `documents` (file name, text).
pub fn coverage(pack: &Pack, documents: &[(&str, &str)]) -> Coverage {
    let items: Vec<&super::Item> = pack.sections.iter().flat_map(|s| &s.items).collect();
    let mut out_docs = Vec::new();
    for doc in self::documents(pack) {
        let Some((_, text)) = documents.iter().find(|(name, _)| *name == doc) else {
            continue;
        };
        let mut lines = source_lines(text);
        for item in &items {
            let refs = item.source.iter().flat_map(SourceDoc::all);
            for quoted in refs.filter(|s| s.document == doc).flat_map(|s| &s.lines) {
                let q = normalize(quoted);
                for l in lines
                    .iter_mut()
                    .filter(|l| normalize(&l.text) == q || normalize(&l.text).ends_with(&q))
                {
                    if !l.covered_by.contains(&item.id.value) {
                        l.covered_by.push(item.id.value.clone());
                    }
                }
            }
        }
        let covered = lines.iter().filter(|l| !l.covered_by.is_empty()).count();
        out_docs.push(DocumentCoverage {
            document: doc.to_string(),
            uncovered: lines.len() - covered,
            covered,
            lines,
        });
    }
    let mut stale_rows = Vec::new();
    for trace in &pack.traces {
        let Some((_, text)) = documents.iter().find(|(name, _)| *name == trace.document) else {
            stale_rows.push(format!("{}: not an embedded document", trace.document));
            continue;
        };
        let (doc, stale) = trace_coverage(trace, text);
        out_docs.push(doc);
        stale_rows.extend(stale);
    }
    let automated = items.iter().filter(|i| i.check.is_some()).count();
    Coverage {
        pack: pack.name.clone(),
        items: items.len(),
        automated,
        automated_percent: if items.is_empty() {
            0.0
        } else {
            (1000.0 * automated as f64 / items.len() as f64).round() / 10.0
        },
        documents: out_docs,
        stale_rows,
        untraced_items: items
            .iter()
            .filter(|i| {
                i.source
                    .as_ref()
                    .is_none_or(|s| s.all().iter().all(|r| r.lines.is_empty()))
            })
            .map(|i| i.id.value.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_checklist_lines_bullets_and_steps_outside_code() {
        let doc = "# Title\n## 1. Token\n- [ ] Token is long\n```bash\n- not a line\n```\n1. Restart it\n  • Nested bullet\nplain text\n";
        let lines = source_lines(doc);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            ["- [ ] Token is long", "1. Restart it", "• Nested bullet"]
        );
        assert_eq!(lines[0].section, "1. Token");
        assert_eq!(lines[0].line, 3);
    }

    #[test]
    fn table_rows_of_the_named_sections_only() {
        let doc = "## A\n| k | v |\n|---|---|\n| `a.b` | 1 |\n| `c` | 2 |\n## B\n| x | y |\n|:--|--:|\n| z | 3 |\n";
        let rows = table_rows(doc, &["A".to_string()]);
        let texts: Vec<&str> = rows.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["| `a.b` | 1 |", "| `c` | 2 |"]);
        assert_eq!(rows[0].line, 4);
    }

    #[test]
    fn scraped_terminal_windows_are_code() {
        let doc = "  • Key set\n\n    Terminal window\n    - not a line\n  1. Verify\n\n    Terminal window\n    # not a heading\n    curl x\n  2. Next\nTerminal window\n# Required\nA=1\n\n  • Last\n";
        let texts: Vec<String> = source_lines(doc).into_iter().map(|l| l.text).collect();
        assert_eq!(texts, ["• Key set", "1. Verify", "2. Next", "• Last"]);
    }
}
