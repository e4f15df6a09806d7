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
    /// Map a built-in pack's items to the lines of its source documents; exit 1 if any
    /// checklist line, bullet or numbered step is covered by no item.
    Coverage {
        name: String,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
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
                        outln!(
                            "ok: {} ({} {}, {} sections, {} items)",
                            file.display(),
                            lp.pack.name,
                            lp.pack.version,
                            lp.pack.sections.len(),
                            items
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
        PackCommand::Coverage { name, format } => {
            let lp = load_named_pack(&name)?;
            let cov = pack::coverage::coverage(&lp.pack, builtin::SOURCES);
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
