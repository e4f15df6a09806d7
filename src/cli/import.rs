//! `shipcheck pack import`: a pack from a Markdown checklist (issue #18), and the documents
//! a pack file's `pack coverage` reads.

use std::path::{Path, PathBuf};

use super::*;

/// Largest checklist read.
const MAX_CHECKLIST: u64 = 8 << 20;

pub fn import(
    checklist: &Path,
    output: Option<&Path>,
    name: Option<String>,
    merge: Option<&Path>,
) -> Result<i32, Error> {
    let shown = checklist.display();
    let bytes = shipcheck_core::bounded::read_bounded(checklist, MAX_CHECKLIST)
        .map_err(|e| Error::usage(format!("{shown}: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::usage(format!("{shown}: not UTF-8 text ({e})")))?;
    let name = name.unwrap_or_else(|| {
        let stem = checklist
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        shipcheck_import::slug(&stem, 40, "imported")
    });
    // The pack names the checklist relative to where the pack is written.
    let target = output.or(merge);
    let opts = shipcheck_import::Options {
        name,
        document: relative_to(checklist, target.and_then(Path::parent)),
    };
    let imported = shipcheck_import::import(&text, &opts);
    if imported.items().next().is_none() {
        return Err(Error::usage(format!(
            "{shown}: nothing to import: no headings, checklist lines, bullets, numbered steps or table rows"
        )));
    }
    let (yaml, summary) = match merge {
        None => {
            let proposed = imported.items().filter(|i| i.proposal.is_some()).count();
            let yaml = imported.yaml(&opts);
            (
                yaml,
                format!(
                    "imported {} items in {} sections from {shown}: {proposed} proposed checks (review: true), {} attestations",
                    imported.items().count(),
                    imported.sections.len(),
                    imported.items().count() - proposed
                ),
            )
        }
        Some(pack) => {
            let existing = std::fs::read_to_string(pack)
                .map_err(|e| Error::usage(format!("{}: {e}", pack.display())))?;
            let m =
                shipcheck_import::merge(&existing, &pack.display().to_string(), &imported, &opts)
                    .map_err(Error::usage)?;
            let mut summary = format!(
                "merged {shown} into {}: {} items kept, {} added",
                pack.display(),
                m.kept,
                m.added.len()
            );
            if !m.removed.is_empty() {
                summary += &format!(
                    "; no longer in the document (kept, review them): {}",
                    m.removed.join(", ")
                );
            }
            (m.yaml, summary)
        }
    };
    // What is written must load: an importer that wrote a pack `pack lint` refuses is a bug.
    let written = target.map(|p| p.display().to_string());
    if let Err(e) =
        pack::load_pack_text(written.as_deref().unwrap_or("imported pack"), yaml.clone())
    {
        return Err(Error::usage(format!(
            "the imported pack does not load, nothing written: {e}"
        )));
    }
    match target {
        Some(path) => bundle::write_whole(path, yaml.as_bytes())?,
        None => out!("{yaml}"),
    }
    eprintln!("{summary}");
    Ok(0)
}

/// `file` as a path from `dir` (the pack's folder), when both are known; else as given.
fn relative_to(file: &Path, dir: Option<&Path>) -> String {
    let abs = |p: &Path| std::path::absolute(p).ok();
    let (Some(file_abs), Some(dir_abs)) = (
        abs(file),
        dir.map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        })
        .and_then(abs),
    ) else {
        return file.display().to_string();
    };
    let (f, d): (Vec<_>, Vec<_>) = (
        file_abs.components().collect(),
        dir_abs.components().collect(),
    );
    let common = f.iter().zip(&d).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..d.len() {
        rel.push("..");
    }
    for c in &f[common..] {
        rel.push(c);
    }
    rel.display().to_string()
}

/// The source documents a pack file names, read from beside it.
pub fn documents_next_to(pack: &pack::Pack, file: &Path) -> Result<Vec<(String, String)>, Error> {
    let dir = file.parent().unwrap_or(Path::new("."));
    pack::coverage::documents(pack)
        .into_iter()
        .map(|n| {
            let path = dir.join(n);
            let bytes = shipcheck_core::bounded::read_bounded(&path, MAX_CHECKLIST)
                .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
            Ok((n.to_string(), String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect()
}
