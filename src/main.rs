//! The `shipcheck` command line: parses arguments, calls the library, prints.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use shipcheck::Error;
use shipcheck::engine::{self, Options};
use shipcheck::gate::{EXIT_INTERNAL, EXIT_USAGE, Policy};
use shipcheck::pack::{self, Severity, builtin};
use shipcheck::profile::Profile;
use shipcheck::report::{self, human};

/// Production deployment checklists as code.
#[derive(Parser)]
#[command(name = "shipcheck", version, about, long_about = None)]
struct Cli {
    /// When to colour output: auto (TTY and no NO_COLOR), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Run a profile's packs against the deployment and gate the result.
    Check {
        /// Profile file.
        #[arg(long, short, default_value = "shipcheck.yaml")]
        profile: PathBuf,
        /// Environment of the profile to check (default: the profile's `environment`).
        #[arg(long, short)]
        env: Option<String>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
        /// Lowest severity whose fail/error results block the gate (default: profile, else low).
        #[arg(long)]
        fail_on: Option<Severity>,
        /// Let unattested manual items pass the gate.
        #[arg(long)]
        allow_pending: bool,
        /// Checks running at once.
        #[arg(long, short = 'j', default_value_t = 8)]
        concurrency: usize,
        /// Show evidence for passing items too.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Work with packs.
    Pack {
        #[command(subcommand)]
        command: PackCommand,
    },
    /// Write a commented profile for a pack.
    Init {
        /// Built-in pack name or pack file.
        #[arg(long, default_value = "secureclaw")]
        pack: String,
        /// Where to write the profile.
        #[arg(long, short, default_value = "shipcheck.yaml")]
        output: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema of the pack or profile format.
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
}

#[derive(Subcommand)]
enum PackCommand {
    /// Check pack files without running them.
    Lint {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the built-in packs.
    List,
    /// Print a pack's sections, items, severities and variables.
    Show { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    Pack,
    Profile,
}

fn color_for(choice: Color, stream_is_tty: bool) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let err_color = color_for(cli.color, std::io::stderr().is_terminal());
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            match &e {
                Error::Invalid(d) => eprint!("{}", d.render(err_color)),
                other => eprintln!("error: {other}"),
            }
            let code = if matches!(e, Error::Runtime(_)) {
                EXIT_INTERNAL
            } else {
                EXIT_USAGE
            };
            ExitCode::from(code as u8)
        }
    }
}

fn run(cli: Cli) -> Result<i32, Error> {
    let out_color = color_for(cli.color, std::io::stdout().is_terminal());
    match cli.command {
        Command::Check {
            profile,
            env,
            format,
            fail_on,
            allow_pending,
            concurrency,
            verbose,
        } => {
            let profile = Profile::load(&profile)?;
            let policy = Policy {
                fail_on: fail_on
                    .or(profile.file.gate.fail_on)
                    .unwrap_or(Severity::Low),
                allow_pending: allow_pending || profile.file.gate.allow_pending.unwrap_or(false),
            };
            let bar = (matches!(format, OutFormat::Human) && std::io::stderr().is_terminal())
                .then(progress_bar);
            let progress: Option<engine::Progress> = bar.clone().map(|bar| {
                Arc::new(move |done: usize, total: usize| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                }) as engine::Progress
            });
            let opts = Options {
                environment: env,
                policy,
                concurrency,
                progress,
            };
            let run = engine::run(&profile, &opts)?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let text = match format {
                OutFormat::Human => human::render(
                    &run,
                    human::Style {
                        color: out_color,
                        verbose,
                    },
                ),
                OutFormat::Json => report::json::render(&run),
            };
            print!("{text}");
            Ok(run.gate.exit_code)
        }
        Command::Pack { command } => pack_command(command),
        Command::Init {
            pack,
            output,
            force,
        } => {
            let lp = load_named_pack(&pack)?;
            if output.exists() && !force {
                return Err(Error::Usage(format!(
                    "{} exists; pass --force to overwrite it",
                    output.display()
                )));
            }
            let text = shipcheck::profile::template(&lp.pack, &pack);
            std::fs::write(&output, text).map_err(|source| Error::Write {
                path: output.clone(),
                source,
            })?;
            println!(
                "wrote {} for pack {} {}",
                output.display(),
                lp.pack.name,
                lp.pack.version
            );
            Ok(0)
        }
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::Pack => pack::schema::pack_schema(),
                SchemaKind::Profile => pack::schema::profile_schema(),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            Ok(0)
        }
    }
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} checking {pos}/{len} {wide_bar} {elapsed}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn load_named_pack(name: &str) -> Result<pack::LoadedPack, Error> {
    match builtin::load(name) {
        Some(lp) => lp,
        None if std::path::Path::new(name).is_file() => {
            pack::load_pack_file(std::path::Path::new(name))
        }
        None => Err(Error::UnknownPack {
            name: name.into(),
            known: builtin::names().join(", "),
        }),
    }
}

fn pack_command(command: PackCommand) -> Result<i32, Error> {
    match command {
        PackCommand::Lint { files } => {
            let mut bad = None;
            for file in &files {
                match pack::load_pack_file(file) {
                    Ok(lp) => {
                        let items: usize = lp.pack.sections.iter().map(|s| s.items.len()).sum();
                        println!(
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
                Some(e) => Err(e),
                None => Ok(0),
            }
        }
        PackCommand::List => {
            for name in builtin::names() {
                if let Some(Ok(lp)) = builtin::load(name) {
                    let items: usize = lp.pack.sections.iter().map(|s| s.items.len()).sum();
                    println!(
                        "{:<16} {:<8} {:>4} items  {}",
                        lp.pack.name, lp.pack.version, items, lp.pack.title
                    );
                }
            }
            Ok(0)
        }
        PackCommand::Show { name } => {
            let lp = load_named_pack(&name)?;
            print!("{}", pack::describe(&lp.pack));
            Ok(0)
        }
    }
}
