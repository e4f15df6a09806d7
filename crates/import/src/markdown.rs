//! A checklist document read with a CommonMark parser (pulldown-cmark): its headings become
//! sections, its checkbox lines, bullets, numbered steps (nested too) and table rows become
//! entries, and a heading with no such line under it becomes one entry itself. Inline code
//! in an entry and the code blocks after it (before the next entry or heading) are the
//! commands near it. Every line `pack coverage` counts as a checklist line is an entry, even
//! where the parser reads it otherwise (an indented scrape).

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// How an entry is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Checkbox,
    Bullet,
    Numbered,
    TableRow,
    Heading,
}

/// One item-to-be of the document.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// 1-based line of the document.
    pub line: usize,
    /// The line as it stands, trimmed: what the item quotes in `source.lines`.
    pub quote: String,
    /// The entry's own words (no marker, no checkbox, code without backticks); a table
    /// row's first cell.
    pub text: String,
    /// A table row's other cells (owner, timing…), which the guesses read too.
    pub detail: String,
    pub kind: Kind,
    /// Index into [`Document::headings`] of the heading it is under.
    pub heading: Option<usize>,
    /// Commands near it: its inline code, then the code blocks after it.
    pub commands: Vec<Command>,
}

/// A command shown near an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub line: usize,
    pub text: String,
    /// The comment lines right after it in its block (`# Should return 401`).
    pub note: String,
}

/// A heading of the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heading {
    pub level: usize,
    pub text: String,
    pub line: usize,
    /// The headings above it, outermost first (indices).
    pub parents: Vec<usize>,
}

/// A parsed checklist.
#[derive(Clone, Debug, Default)]
pub struct Document {
    pub headings: Vec<Heading>,
    pub entries: Vec<Entry>,
}

impl Document {
    /// The heading texts from the outermost to `entry`'s own.
    pub fn path(&self, entry: &Entry) -> Vec<&str> {
        let Some(h) = entry.heading else {
            return Vec::new();
        };
        let own = &self.headings[h];
        own.parents
            .iter()
            .map(|&p| self.headings[p].text.as_str())
            .chain([own.text.as_str()])
            .collect()
    }
}

/// An entry being read.
struct Open {
    start: usize,
    text: String,
    inline: Vec<Command>,
    checkbox: bool,
    ordered: bool,
}

/// Reads `text`.
pub fn parse(text: &str) -> Document {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |offset: usize| starts.partition_point(|&s| s <= offset);
    let raw_line = |line: usize| {
        let from = starts[line - 1];
        let to = starts.get(line).map(|e| e - 1).unwrap_or(text.len());
        text[from..to.max(from)].trim().to_string()
    };
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut doc = Document::default();
    let mut stack: Vec<Open> = Vec::new();
    // Whether each open list is ordered.
    let mut lists: Vec<bool> = Vec::new();
    let mut heading: Option<(usize, usize, String)> = None;
    let mut current: Option<usize> = None;
    let mut row: Option<(usize, Vec<String>, Vec<Command>)> = None;
    let mut in_head = false;
    let mut code: Option<(usize, String)> = None;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((heading_level(level), line_of(range.start), String::new()))
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, line, words)) = heading.take() {
                    let parents = current
                        .map(|c| {
                            let mut chain = doc.headings[c].parents.clone();
                            chain.push(c);
                            chain
                                .into_iter()
                                .filter(|&p| doc.headings[p].level < level)
                                .collect()
                        })
                        .unwrap_or_default();
                    doc.headings.push(Heading {
                        level,
                        text: words.trim().to_string(),
                        line,
                        parents,
                    });
                    current = Some(doc.headings.len() - 1);
                }
            }
            Event::Start(Tag::List(first)) => lists.push(first.is_some()),
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Start(Tag::Item) => stack.push(Open {
                start: line_of(range.start),
                text: String::new(),
                inline: Vec::new(),
                checkbox: false,
                ordered: lists.last().copied().unwrap_or(false),
            }),
            Event::End(TagEnd::Item) => {
                if let Some(open) = stack.pop() {
                    let kind = match (open.checkbox, open.ordered) {
                        (true, _) => Kind::Checkbox,
                        (false, true) => Kind::Numbered,
                        (false, false) => Kind::Bullet,
                    };
                    doc.entries.push(Entry {
                        line: open.start,
                        quote: raw_line(open.start),
                        text: clean(&open.text),
                        detail: String::new(),
                        kind,
                        heading: current,
                        commands: open.inline,
                    });
                }
            }
            Event::TaskListMarker(_) => {
                if let Some(open) = stack.last_mut() {
                    open.checkbox = true;
                }
            }
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) if !in_head => {
                row = Some((line_of(range.start), Vec::new(), Vec::new()))
            }
            Event::Start(Tag::TableCell) => {
                if let Some((_, cells, _)) = row.as_mut() {
                    cells.push(String::new());
                }
            }
            Event::End(TagEnd::TableRow) => {
                if let Some((line, cells, commands)) = row.take() {
                    let words: Vec<String> = cells
                        .iter()
                        .map(|c| clean(c))
                        .filter(|c| !c.is_empty())
                        .collect();
                    let (first, rest) = words
                        .split_first()
                        .map_or((String::new(), &[][..]), |(f, r)| (f.clone(), r));
                    doc.entries.push(Entry {
                        line,
                        quote: raw_line(line),
                        text: first,
                        detail: rest.join(" — "),
                        kind: Kind::TableRow,
                        heading: current,
                        commands,
                    });
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let first = match kind {
                    CodeBlockKind::Fenced(_) => line_of(range.start) + 1,
                    CodeBlockKind::Indented => line_of(range.start),
                };
                code = Some((first, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((first, body)) = code.take() {
                    attach_block(&mut doc, &mut stack, current, first, &body);
                }
            }
            Event::Text(t) => {
                if let Some((_, body)) = code.as_mut() {
                    body.push_str(&t);
                } else {
                    push_words(&mut heading, &mut row, &mut stack, &t);
                }
            }
            Event::Code(c) => {
                let line = line_of(range.start);
                if let Some(open) = stack.last_mut()
                    && heading.is_none()
                    && row.is_none()
                {
                    open.inline.push(Command {
                        line,
                        text: c.to_string(),
                        note: String::new(),
                    });
                }
                if let Some((_, _, cmds)) = row.as_mut() {
                    cmds.push(Command {
                        line,
                        text: c.to_string(),
                        note: String::new(),
                    });
                }
                push_words(&mut heading, &mut row, &mut stack, &c);
            }
            Event::SoftBreak | Event::HardBreak => {
                push_words(&mut heading, &mut row, &mut stack, " ")
            }
            _ => {}
        }
    }
    // Entries come out as their items end (nested ones first): document order.
    doc.entries.sort_by_key(|e| e.line);
    add_missed_lines(&mut doc, text, &raw_line);
    add_heading_entries(&mut doc);
    doc.entries.sort_by_key(|e| e.line);
    doc
}

fn heading_level(level: HeadingLevel) -> usize {
    level as usize
}

fn push_words(
    heading: &mut Option<(usize, usize, String)>,
    row: &mut Option<(usize, Vec<String>, Vec<Command>)>,
    stack: &mut [Open],
    words: &str,
) {
    if let Some((_, _, text)) = heading.as_mut() {
        text.push_str(words);
    } else if let Some((_, cells, _)) = row.as_mut() {
        if let Some(cell) = cells.last_mut() {
            cell.push_str(words);
        }
    } else if let Some(open) = stack.last_mut() {
        open.text.push_str(words);
    }
}

/// A code block's lines are commands of the entry it follows: the innermost open item, else
/// the last entry under the same heading.
fn attach_block(
    doc: &mut Document,
    stack: &mut [Open],
    current: Option<usize>,
    first: usize,
    body: &str,
) {
    // One command per line; a line ending in `\` continues on the next.
    let mut commands: Vec<Command> = Vec::new();
    let mut open: Option<Command> = None;
    // The last line that belongs to the last command (its own, or a comment after it).
    let mut tail = 0;
    for (i, l) in body.lines().enumerate() {
        let l = l.trim();
        let (words, more) = match l.strip_suffix('\\') {
            Some(w) => (w.trim_end(), true),
            None => (l, false),
        };
        let c = match open.take() {
            Some(mut c) => {
                c.text = format!("{} {words}", c.text);
                c
            }
            None => Command {
                line: first + i,
                text: words.trim_start_matches("$ ").to_string(),
                note: String::new(),
            },
        };
        if more {
            open = Some(c);
        } else if let Some(comment) = c.text.strip_prefix('#') {
            // A comment right after a command says what to expect of it.
            if let Some(last) = commands.last_mut().filter(|_| tail + 1 == c.line) {
                last.note = format!("{} {}", last.note, comment.trim())
                    .trim()
                    .to_string();
                tail = c.line;
            }
        } else if !c.text.is_empty() {
            tail = first + i;
            commands.push(c);
        }
    }
    commands.extend(open);
    if let Some(open) = stack.last_mut() {
        open.inline.extend(commands);
    } else if let Some(last) = doc.entries.last_mut().filter(|e| e.heading == current) {
        last.commands.extend(commands);
    } else {
        // A block before any entry of its heading: it belongs to the heading's own entry,
        // if the heading becomes one.
        doc.entries.push(Entry {
            line: 0,
            quote: String::new(),
            text: String::new(),
            detail: String::new(),
            kind: Kind::Heading,
            heading: current,
            commands,
        });
    }
}

/// Lines `pack coverage` counts (bullets and numbered steps outside code) that the parser
/// did not make entries: kept as bullets, so every counted line is imported.
fn add_missed_lines(doc: &mut Document, text: &str, raw_line: &dyn Fn(usize) -> String) {
    let seen: std::collections::BTreeSet<usize> = doc.entries.iter().map(|e| e.line).collect();
    for l in shipcheck_core::pack::coverage::source_lines(text) {
        if seen.contains(&l.line) {
            continue;
        }
        let heading = doc.headings.iter().rposition(|h| h.line < l.line);
        let quote = raw_line(l.line);
        doc.entries.push(Entry {
            line: l.line,
            text: clean(strip_marker(&quote)),
            detail: String::new(),
            quote,
            kind: Kind::Bullet,
            heading,
            commands: Vec::new(),
        });
    }
}

/// Headings (below the title) with no entry under them become entries; the code blocks
/// held for them become their commands (or, under a heading with entries, its first
/// entry's).
fn add_heading_entries(doc: &mut Document) {
    let held: Vec<Entry> = doc
        .entries
        .iter()
        .filter(|e| e.line == 0)
        .cloned()
        .collect();
    doc.entries.retain(|e| e.line != 0);
    let titles = doc.headings.iter().filter(|h| h.level == 1).count();
    for (i, h) in doc.headings.iter().enumerate() {
        let is_title = h.level == 1 && titles == 1;
        let has_entries = doc.entries.iter().any(|e| e.heading == Some(i));
        let has_children = doc.headings.iter().any(|c| c.parents.contains(&i));
        let commands: Vec<Command> = held
            .iter()
            .filter(|e| e.heading == Some(i))
            .flat_map(|e| e.commands.clone())
            .collect();
        if has_entries {
            // A block shown before the heading's checklist (a "Check:" step) is near its
            // first entry.
            if let Some(first) = doc.entries.iter_mut().find(|e| e.heading == Some(i)) {
                first.commands.splice(0..0, commands);
            }
            continue;
        }
        if is_title || (has_children && commands.is_empty()) {
            continue;
        }
        doc.entries.push(Entry {
            line: h.line,
            quote: String::new(),
            text: h.text.clone(),
            detail: String::new(),
            kind: Kind::Heading,
            heading: Some(i),
            commands,
        });
    }
}

/// The words of a line without its list marker and checkbox.
fn strip_marker(line: &str) -> &str {
    let t = line
        .trim_start_matches(['-', '*', '+', '•', '◦'])
        .trim_start();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
    let t = if digits > 0 && t[digits..].starts_with(['.', ')']) {
        t[digits + 1..].trim_start()
    } else {
        t
    };
    t.strip_prefix("[ ]")
        .or_else(|| t.strip_prefix("[x]"))
        .or_else(|| t.strip_prefix("[X]"))
        .unwrap_or(t)
        .trim()
}

/// White space collapsed; Markdown's leftovers trimmed.
fn clean(s: &str) -> String {
    let words = s.split_whitespace().collect::<Vec<_>>().join(" ");
    words
        .trim_matches(|c: char| c == ':' || c.is_whitespace())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_lists_tables_and_code_become_entries() {
        let doc = "---\ntitle: x\n---\n# Runbook\n\n## Before deploy\n\n- [ ] TLS on: `curl -I https://a.example`\n  - nested check\n1. Step one\n\n```sh\nsystemctl is-active app\n```\n\n## Ports\n\n| port | state |\n|---|---|\n| 5432 | closed |\n\n## Backups verified\n\nRun this:\n\n```\npg_isready -h db\n```\n";
        let d = parse(doc);
        let got: Vec<(usize, Kind, &str)> = d
            .entries
            .iter()
            .map(|e| (e.line, e.kind, e.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (8, Kind::Checkbox, "TLS on: curl -I https://a.example"),
                (9, Kind::Bullet, "nested check"),
                (10, Kind::Numbered, "Step one"),
                (20, Kind::TableRow, "5432"),
                (22, Kind::Heading, "Backups verified"),
            ]
        );
        assert_eq!(
            d.entries[0].quote,
            "- [ ] TLS on: `curl -I https://a.example`"
        );
        assert_eq!(d.entries[0].commands[0].text, "curl -I https://a.example");
        // The block after the numbered step is its command; the heading's block is its own.
        assert_eq!(d.entries[2].commands[0].text, "systemctl is-active app");
        assert_eq!(d.entries[2].commands[0].line, 13);
        assert_eq!(d.entries[4].commands[0].text, "pg_isready -h db");
        assert_eq!(d.path(&d.entries[0]), vec!["Runbook", "Before deploy"]);
    }
}
