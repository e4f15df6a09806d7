//! `shipcheck pack import`: a pack from any Markdown checklist (issue #18).
//!
//! - [`markdown`] reads the document with a CommonMark parser: headings become sections;
//!   checkbox lines, bullets, numbered steps, table rows, and headings with none of these
//!   under them become items, each quoting its source line, so `pack coverage` is complete.
//! - [`guess`] takes the phase, severity and roles from the words; every guess is a comment.
//! - [`propose`] turns a command shown near an item into the check it implies, marked
//!   `review: true` (not run until a person accepts it); other items are attestations.
//! - [`merge`] re-imports a changed document into an existing pack, keeping it as it is.
//!
//! Ids are slugs of the section and the item's words: the same document gives the same ids.

pub mod emit;
pub mod guess;
pub mod markdown;
pub mod merge;
pub mod propose;

use std::collections::BTreeSet;

use serde_json::json;
use shipcheck_core::pack::{Phase, Role, Severity};

pub use merge::{Merged, merge};

/// What to import as.
#[derive(Clone, Debug)]
pub struct Options {
    /// The pack's name.
    pub name: String,
    /// The document's file name, as `source.document` names it (relative to the pack).
    pub document: String,
}

/// One imported item.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub line: usize,
    /// The quoted source line (empty for a heading's item).
    pub quote: String,
    pub severity: guess::Guess<Severity>,
    pub phase: guess::Guess<Phase>,
    pub roles: guess::Guess<Vec<Role>>,
    pub why: String,
    pub fix: String,
    pub source: serde_json::Value,
    pub proposal: Option<(propose::Proposal, markdown::Command)>,
    /// The other commands of known programs near it: what each would check, or why none.
    pub unproposed: Vec<(String, usize, String)>,
}

/// A section of imported items.
#[derive(Clone, Debug)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub items: Vec<Item>,
}

/// An imported document.
#[derive(Clone, Debug)]
pub struct Imported {
    pub title: String,
    pub sections: Vec<Section>,
}

impl Imported {
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| &s.items)
    }

    /// The pack's YAML text.
    pub fn yaml(&self, opts: &Options) -> String {
        let mut out = format!(
            "# Imported by `shipcheck pack import` from {doc}. Guesses (phase, severity, roles)\n\
             # are marked `# guessed:`; a check proposed from a command the document shows is\n\
             # marked `review: true` and does not run until a person reviews it and removes that.\n\
             name: {name}\nversion: 0.1.0\ntitle: {title}\nsource: {source}\nsections:\n",
            doc = opts.document,
            name = opts.name,
            title = json!(self.title),
            source = json!({"document": opts.document}),
        );
        for s in &self.sections {
            emit::section(&mut out, 2, &s.id, &s.title, &s.items);
        }
        out
    }
}

/// Imports the checklist `text`.
pub fn import(text: &str, opts: &Options) -> Imported {
    let doc = markdown::parse(text);
    let title = doc
        .headings
        .iter()
        .find(|h| h.level == 1)
        .map(|h| h.text.clone())
        .unwrap_or_else(|| opts.name.clone());
    let mut sections: Vec<Section> = Vec::new();
    let mut section_of: Vec<(Option<usize>, usize)> = Vec::new();
    let mut section_ids = Ids::default();
    let mut item_ids = Ids::default();
    let mut carried: (Option<usize>, Vec<(propose::Proposal, markdown::Command)>) =
        (None, Vec::new());
    for (n, e) in doc.entries.iter().enumerate() {
        // What the last entry of a heading could not take is listed on it.
        let last_of_heading = doc
            .entries
            .get(n + 1)
            .is_none_or(|next| next.heading != e.heading);
        let at = match section_of.iter().find(|(h, _)| *h == e.heading) {
            Some((_, i)) => *i,
            None => {
                let title = e
                    .heading
                    .map(|h| doc.headings[h].text.clone())
                    .unwrap_or_else(|| "Checklist".into());
                let id = unique(&mut section_ids, slug(&title, 40, "section"));
                sections.push(Section {
                    id,
                    title,
                    items: Vec::new(),
                });
                section_of.push((e.heading, sections.len() - 1));
                sections.len() - 1
            }
        };
        let path = doc.path(e);
        let words = if e.text.is_empty() { &e.quote } else { &e.text };
        // What the guesses read: the words, and a table row's other cells.
        let read = format!("{words} {}", e.detail);
        let title = shorten(words, 120);
        let section = &mut sections[at];
        let id = unique(
            &mut item_ids,
            format!("{}.{}", section.id, slug(words, 48, "item")),
        );
        let mut source = json!({"document": opts.document, "section": section.title});
        if !e.quote.is_empty() {
            source["lines"] = json!([e.quote]);
        }
        // The entry's own first read-only command; else one its heading's earlier entries
        // had over (a "Check:" block of several commands above a checklist).
        if carried.0 != e.heading {
            carried = (e.heading, Vec::new());
        }
        let mut proposable: Vec<(propose::Proposal, markdown::Command)> = e
            .commands
            .iter()
            .filter_map(|c| propose::propose_with(&c.text, &c.note, &read).map(|p| (p, c.clone())))
            .collect();
        let proposal = if proposable.is_empty() {
            (!carried.1.is_empty()).then(|| carried.1.remove(0))
        } else {
            Some(proposable.remove(0))
        };
        carried.1.extend(proposable);
        let unproposed = e
            .commands
            .iter()
            .filter(|c| propose::known_program(&c.text) && propose::propose(&c.text).is_none())
            .map(|c| {
                let note = "it writes, loops or is not a plain read: no check".to_string();
                (c.text.clone(), c.line, note)
            })
            .collect();
        let item = Item {
            id,
            title,
            line: e.line,
            quote: e.quote.clone(),
            severity: guess::severity(&read, &path),
            phase: guess::phase(&read, &path),
            roles: guess::roles(&read, &path),
            why: format!(
                "{}, line {}: {}",
                opts.document,
                e.line,
                shorten(words, 300)
            ),
            fix: format!("Do what the checklist says: {}", shorten(words, 300)),
            source,
            proposal,
            unproposed,
        };
        // Commands of the heading no item took (more commands than items): each becomes an
        // item of its own, quoting the same line, so every command proposes its check.
        let extra: Vec<Item> = if last_of_heading {
            carried
                .1
                .drain(..)
                .map(|(p, c)| Item {
                    id: unique(
                        &mut item_ids,
                        format!("{}.{}", section.id, slug(&p.what, 48, "check")),
                    ),
                    title: shorten(&p.what, 120),
                    why: format!(
                        "{}, line {}: `{}` shown near: {}",
                        opts.document,
                        c.line,
                        shorten(&c.text, 200),
                        shorten(words, 200)
                    ),
                    fix: item.fix.clone(),
                    proposal: Some((p, c)),
                    unproposed: Vec::new(),
                    ..item.clone()
                })
                .collect()
        } else {
            Vec::new()
        };
        section.items.push(item);
        section.items.extend(extra);
    }
    Imported { title, sections }
}

/// A lower-case slug of `words`: letters and digits, `-` between words, at most `max`
/// characters (cut at a word), `fallback` when nothing is left.
pub fn slug(words: &str, max: usize, fallback: &str) -> String {
    let mut out = String::new();
    for w in words
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() && out.len() + 1 + w.len() > max {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w[..w.len().min(max)]);
    }
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

/// Ids handed out, and the next suffix to try for each base (so a document of many equal
/// lines costs one step per line, not one per earlier twin).
#[derive(Default)]
struct Ids {
    seen: BTreeSet<String>,
    next: std::collections::HashMap<String, usize>,
}

fn unique(ids: &mut Ids, base: String) -> String {
    if ids.seen.insert(base.clone()) {
        return base;
    }
    let n = ids.next.entry(base.clone()).or_insert(2);
    loop {
        let id = format!("{base}-{n}");
        *n += 1;
        if ids.seen.insert(id.clone()) {
            return id;
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", &cut[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_equal_lines_get_distinct_ids_in_one_pass() {
        let text = "## A\n".to_string() + &"- [ ] same\n".repeat(20_000);
        let opts = Options {
            name: "x".into(),
            document: "x.md".into(),
        };
        let imported = import(&text, &opts);
        let ids: BTreeSet<&str> = imported.items().map(|i| i.id.as_str()).collect();
        assert_eq!(ids.len(), 20_000);
        assert!(ids.contains("a.same") && ids.contains("a.same-20000"));
    }

    #[test]
    fn slugs_are_bounded_and_never_empty() {
        assert_eq!(slug("TLS: `--cert` & key!", 40, "x"), "tls-cert-key");
        assert_eq!(slug("✅ ⚠️", 40, "item"), "item");
        assert!(slug(&"word ".repeat(100), 48, "x").len() <= 48);
    }
}
