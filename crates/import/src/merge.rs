//! `pack import --merge PACK`: a changed document re-imported into an existing pack. The
//! pack's text is kept byte for byte (hand edits, comments, order); items for lines that are
//! new in the document are appended as sections at the end of `sections:`; an item counts
//! as present when its id is in the pack or its source line is quoted by an item there.
//! Items whose quoted lines left the document are listed, not deleted.

use std::collections::BTreeSet;

use serde_json::Value;

use shipcheck_core::pack::coverage::normalize as norm;

use crate::{Imported, Options, emit};

/// The merged pack.
#[derive(Clone, Debug)]
pub struct Merged {
    pub yaml: String,
    /// Imported items already in the pack.
    pub kept: usize,
    /// Ids of the items added.
    pub added: Vec<String>,
    /// Ids of the pack's items whose source lines are no longer in the document.
    pub removed: Vec<String>,
}

/// Merges `imported` into the pack text `existing` (named `name` in messages).
pub fn merge(
    existing: &str,
    name: &str,
    imported: &Imported,
    opts: &Options,
) -> Result<Merged, String> {
    let pack: Value =
        serde_saphyr::from_str(existing).map_err(|e| format!("{name}: not a pack: {e}"))?;
    let items: Vec<&Value> = pack["sections"]
        .as_array()
        .ok_or_else(|| format!("{name}: not a pack: no `sections:` list"))?
        .iter()
        .flat_map(|s| s["items"].as_array().into_iter().flatten())
        .collect();
    let ids: BTreeSet<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
    let lines_of = |i: &Value| -> Vec<String> {
        let src = &i["source"];
        let ours = src["document"].as_str().is_none_or(|d| d == opts.document);
        if !ours {
            return Vec::new();
        }
        src["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(norm)
            .collect()
    };
    let quoted: BTreeSet<String> = items.iter().flat_map(|i| lines_of(i)).collect();
    let now_quoted: BTreeSet<String> = imported.items().map(|i| norm(&i.quote)).collect();
    let removed = items
        .iter()
        .filter(|i| {
            let lines = lines_of(i);
            !lines.is_empty() && lines.iter().all(|l| !now_quoted.contains(l))
        })
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect();
    let indent = section_indent(existing, name)?;
    let mut section_ids: BTreeSet<String> = pack["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    let mut yaml = existing.to_string();
    if !yaml.ends_with('\n') {
        yaml.push('\n');
    }
    let (mut kept, mut added) = (0, Vec::new());
    for s in &imported.sections {
        let new: Vec<crate::Item> = s
            .items
            .iter()
            .filter(|i| {
                let present = ids.contains(i.id.as_str())
                    || (!i.quote.is_empty() && quoted.contains(&norm(&i.quote)));
                kept += usize::from(present);
                !present
            })
            .cloned()
            .collect();
        if new.is_empty() {
            continue;
        }
        let mut id = s.id.clone();
        let mut n = 2;
        while section_ids.contains(&id) {
            id = format!("{}-{n}", s.id);
            n += 1;
        }
        section_ids.insert(id.clone());
        added.extend(new.iter().map(|i| i.id.clone()));
        emit::section(&mut yaml, indent, &id, &s.title, &new);
    }
    Ok(Merged {
        yaml,
        kept,
        added,
        removed,
    })
}

/// The indentation of the pack's section entries; `sections:` must be its last top-level key
/// (new sections are appended at the end of the file).
fn section_indent(text: &str, name: &str) -> Result<usize, String> {
    let lines: Vec<&str> = text.lines().collect();
    let top = |l: &str| {
        !l.starts_with([' ', '\t', '#', '-'])
            && l.split_once(':')
                .is_some_and(|(k, _)| !k.is_empty() && !k.contains(' '))
    };
    let at = lines
        .iter()
        .rposition(|l| top(l))
        .filter(|&i| lines[i].trim_end() == "sections:")
        .ok_or_else(|| {
            format!("{name}: --merge appends new sections at the end of the file, so `sections:` (in block style) must be the pack's last key")
        })?;
    let first = lines[at + 1..]
        .iter()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .ok_or_else(|| format!("{name}: `sections:` is empty"))?;
    let indent = first.len() - first.trim_start().len();
    if !first.trim_start().starts_with("- ") {
        return Err(format!(
            "{name}: `sections:` must be a block list (`- id: …`) for --merge"
        ));
    }
    Ok(indent)
}
