//! `shipcheck pack`: lint, list, show and trace packs.

use super::*;

#[derive(clap::Args)]
pub struct PackArgs {
    #[command(subcommand)]
    pub command: PackCommand,
}

pub fn pack(args: PackArgs) -> Result<i32, Error> {
    pack_command(args.command)
}

#[derive(Subcommand)]
pub enum PackCommand {
    /// Check pack files without running them.
    Lint {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the built-in packs.
    List,
    /// Print a pack's sections, items, severities and variables.
    Show { name: String },
    /// Map a pack's items to the lines of its source documents (a built-in pack's embedded
    /// ones, or a pack file's, next to it); exit 1 if any checklist line, bullet or numbered
    /// step is covered by no item.
    Coverage {
        /// A built-in pack's name, or a pack file.
        name: String,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
    /// Write a pack from a Markdown checklist: headings become sections, checkbox lines,
    /// bullets, numbered steps and table rows become items quoting their line; commands
    /// next to an item become proposed checks (`review: true`), the rest attestations.
    Import {
        /// The checklist (Markdown).
        checklist: PathBuf,
        /// Write the pack here (default: stdout). The checklist is named relative to it.
        #[arg(long, short, value_name = "PATH")]
        output: Option<PathBuf>,
        /// The pack's name (default: from the checklist's file name).
        #[arg(long)]
        name: Option<String>,
        /// Re-import into this pack: its text is kept, items for new lines are added, items
        /// whose lines left the document are listed. Written back to it unless -o is given.
        #[arg(long, value_name = "PACK")]
        merge: Option<PathBuf>,
    },
}

pub fn load_named_pack(name: &str) -> Result<pack::LoadedPack, Error> {
    Ok(include::load_one(name, std::path::Path::new("."), None)?)
}

pub fn pack_command(command: PackCommand) -> Result<i32, Error> {
    match command {
        PackCommand::Lint { files } => {
            let mut bad = None;
            for file in &files {
                match pack::load_pack_file(file) {
                    Ok(lp) => {
                        let items: usize = lp.pack.sections.iter().map(|s| s.items.len()).sum();
                        let review = lp
                            .pack
                            .sections
                            .iter()
                            .flat_map(|s| &s.items)
                            .filter(|i| i.review)
                            .count();
                        outln!(
                            "ok: {} ({} {}, {} sections, {} items{})",
                            file.display(),
                            lp.pack.name,
                            lp.pack.version,
                            lp.pack.sections.len(),
                            items,
                            if review > 0 {
                                format!(", {review} proposed checks awaiting review")
                            } else {
                                String::new()
                            }
                        );
                    }
                    Err(e) => {
                        bad.get_or_insert(e);
                    }
                }
            }
            match bad {
                Some(e) => Err(e.into()),
                None => Ok(0),
            }
        }
        PackCommand::List => {
            // Names, versions and titles only: nothing is compiled.
            for name in builtin::names() {
                if let Some(Ok(s)) = builtin::summary(name) {
                    outln!(
                        "{:<16} {:<8} {:>4} items  {}",
                        s.name,
                        s.version,
                        s.items(),
                        s.title
                    );
                }
            }
            Ok(0)
        }
        PackCommand::Import {
            checklist,
            output,
            name,
            merge,
        } => super::import::import(&checklist, output.as_deref(), name, merge.as_deref()),
        PackCommand::Coverage { name, format } => {
            let path = std::path::Path::new(&name);
            let (lp, documents) = if builtin::names().contains(&name.as_str()) || !path.is_file() {
                (load_named_pack(&name)?, Vec::new())
            } else {
                let lp = pack::load_pack_file(path)?;
                let docs = super::import::documents_next_to(&lp.pack, path)?;
                (lp, docs)
            };
            let sources: Vec<(&str, &str)> = if documents.is_empty() {
                builtin::SOURCES.to_vec()
            } else {
                documents
                    .iter()
                    .map(|(n, t)| (n.as_str(), t.as_str()))
                    .collect()
            };
            let cov = pack::coverage::coverage(&lp.pack, &sources);
            match format {
                OutFormat::Json => {
                    outln!("{}", serde_json::to_string_pretty(&cov).unwrap_or_default())
                }
                OutFormat::Human => {
                    outln!(
                        "{}: {} items, {} automated ({}%)",
                        cov.pack,
                        cov.items,
                        cov.automated,
                        cov.automated_percent
                    );
                    for row in &cov.stale_rows {
                        outln!("stale trace (matches no row): {row}");
                    }
                    for d in &cov.documents {
                        outln!(
                            "\n{}: {} of {} source lines covered",
                            d.document,
                            d.covered,
                            d.lines.len()
                        );
                        for l in &d.lines {
                            let by = if l.covered_by.is_empty() {
                                String::new()
                            } else {
                                format!("  ← {}", l.covered_by.join(", "))
                            };
                            outln!(
                                "  {} {:>4}  {}{by}",
                                if l.covered_by.is_empty() {
                                    "✗"
                                } else {
                                    "✓"
                                },
                                l.line,
                                l.text
                            );
                        }
                    }
                    if !cov.untraced_items.is_empty() {
                        outln!(
                            "\nitems that quote no source line: {}",
                            cov.untraced_items.join(", ")
                        );
                    }
                }
            }
            Ok(if cov.documents.iter().any(|d| d.uncovered > 0) {
                1
            } else {
                0
            })
        }
        PackCommand::Show { name } => {
            let lp = load_named_pack(&name)?;
            out!("{}", pack::describe(&lp.pack));
            Ok(0)
        }
    }
}
