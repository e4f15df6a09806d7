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
    /// Run one probe once against a target, outside any pack, and report its findings.
    Probe(ProbeArgs),
    /// Print the JSON Schema of the pack or profile format.
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
}

#[derive(clap::Args)]
struct ProbeArgs {
    #[arg(value_enum)]
    kind: ProbeKind,
    /// host[:port] (tls, tcp), URL (http), name (dns), connection URL (postgres; prefer --url-env).
    target: Option<String>,
    /// File with one target per line (`#` comments); audited concurrently.
    #[arg(long)]
    targets: Option<PathBuf>,
    /// TLS: name to send as SNI and check the certificate against.
    #[arg(long)]
    sni: Option<String>,
    /// PEM CA file to trust instead of the system roots (tls, http, postgres).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Connect NAME:PORT to IP, as curl's --resolve (repeatable).
    #[arg(long, value_name = "NAME:PORT:IP")]
    resolve: Vec<String>,
    /// TLS: report tls.cert.expires_soon below this many days.
    #[arg(long, default_value_t = 30)]
    min_days: i64,
    /// TLS: skip the cipher-suite scan.
    #[arg(long)]
    no_ciphers: bool,
    /// HTTP: the URL must refuse requests without valid credentials.
    #[arg(long)]
    expect_auth: bool,
    /// HTTP: do not verify the certificate (HTTP behaviour only).
    #[arg(long)]
    insecure: bool,
    /// HTTP: port of plain HTTP for the redirect check.
    #[arg(long)]
    http_port: Option<u16>,
    /// HTTP: health path that must answer 200 {"status":"ok"}.
    #[arg(long)]
    health: Option<String>,
    /// HTTP: send a burst of N requests that must meet a 429.
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// TCP: the port must be closed (exposure check).
    #[arg(long)]
    closed: bool,
    /// Postgres: read the connection URL from this environment variable.
    #[arg(long, value_name = "NAME")]
    url_env: Option<String>,
    /// Per-connection timeout.
    #[arg(long, default_value = "5s")]
    timeout: String,
    #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
    format: OutFormat,
    /// Lowest finding severity that makes the exit code 1.
    #[arg(long, default_value = "low")]
    fail_on: Severity,
    /// Targets audited at once.
    #[arg(long, short = 'j', default_value_t = 8)]
    concurrency: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProbeKind {
    Tls,
    Http,
    Tcp,
    Dns,
    Postgres,
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
        Command::Probe(args) => probe_command(args, out_color),
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

fn probe_command(a: ProbeArgs, color: bool) -> Result<i32, Error> {
    use shipcheck::audit;
    let timeout = shipcheck::duration::Span::parse(&a.timeout)
        .map_err(Error::Usage)?
        .0;
    let mut resolve = audit::Resolve::default();
    for r in &a.resolve {
        resolve
            .0
            .push(audit::Resolve::parse(r).map_err(Error::Usage)?);
    }
    let mut targets: Vec<String> = a.target.iter().cloned().collect();
    if let Some(file) = &a.targets {
        let text = Error::read_text(file)?;
        targets.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    if let (ProbeKind::Postgres, Some(var)) = (a.kind, &a.url_env) {
        targets.push(
            std::env::var(var)
                .map_err(|_| Error::Usage(format!("environment variable {var} is not set")))?,
        );
    }
    if targets.is_empty() {
        return Err(Error::Usage(
            "give a target, --targets FILE, or (postgres) --url-env NAME".into(),
        ));
    }
    let kind = match a.kind {
        ProbeKind::Tls => audit::Kind::Tls,
        ProbeKind::Http => audit::Kind::Http,
        ProbeKind::Tcp => audit::Kind::Tcp,
        ProbeKind::Dns => audit::Kind::Dns,
        ProbeKind::Postgres => audit::Kind::Postgres,
    };
    let opts = audit::Options {
        tls: audit::TlsOptions {
            sni: a.sni,
            ca_file: a.ca.clone(),
            resolve: resolve.clone(),
            min_days: a.min_days,
            ciphers: !a.no_ciphers,
            timeout,
        },
        http: audit::HttpOptions {
            ca_file: a.ca,
            insecure: a.insecure,
            resolve,
            http_port: a.http_port,
            expect_auth: a.expect_auth,
            health: a.health,
            rate_limit: a.rate_limit,
            timeout,
        },
        expect_closed: a.closed,
        timeout,
        concurrency: a.concurrency,
    };
    let (reports, secrets) = audit::run(kind, &targets, &opts)?;
    let mut redactor = shipcheck::redact::Redactor::default();
    secrets.iter().for_each(|s| redactor.add(s));
    let text = match a.format {
        OutFormat::Human => audit::render(&reports, color),
        OutFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&reports).unwrap_or_default()
        ),
    };
    print!("{}", redactor.scrub(&text));
    Ok(if reports.iter().any(|r| r.fails(a.fail_on)) {
        1
    } else {
        0
    })
}
