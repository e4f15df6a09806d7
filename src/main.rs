//! The `shipcheck` command line: parses arguments, calls the library, prints.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use shipcheck_core::Error as CoreError;
use shipcheck_core::gate::{EXIT_INTERNAL, EXIT_USAGE};
use shipcheck_core::include;
use shipcheck_core::pack::{self, Severity, builtin};
use shipcheck_core::profile::Profile;
use shipcheck_engine::{self as engine, Error, Options, attest, history};
use shipcheck_ledger::{Kind, Ledger, Location};
use shipcheck_probes::audit;
use shipcheck_report::{self as report, human};

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
        /// Output format on stdout.
        #[arg(long, short, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
        /// Also write a report to a file: FORMAT=PATH (repeatable), e.g. sarif=out.sarif.
        #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_report)]
        report: Vec<(report::Format, PathBuf)>,
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
        #[command(flatten)]
        db: DbArg,
        /// Do not record the run in the ledger.
        #[arg(long)]
        no_record: bool,
        /// Only this phase's items: pre-deploy, post-deploy-immediate, first-hour, first-day,
        /// first-week or periodic.
        #[arg(long, value_name = "PHASE")]
        phase: Option<pack::Phase>,
        /// Print the plan (what would run, and why the rest would not) and check nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show what a check would run in an environment (and phase), and why each other item
    /// would not; observes nothing.
    Plan {
        /// Profile file.
        #[arg(long, short, default_value = "shipcheck.yaml")]
        profile: PathBuf,
        /// Environment of the profile (default: the profile's `environment`).
        #[arg(long, short)]
        env: Option<String>,
        /// Only this phase's items.
        #[arg(long, value_name = "PHASE")]
        phase: Option<pack::Phase>,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
    /// Record that a person checked a manual item.
    Attest {
        /// Item id (or pack:id).
        item: String,
        #[arg(long)]
        by: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Evidence: a file (stored in the ledger by content hash) or a URL.
        #[arg(long)]
        evidence: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
        /// End of validity (YYYY-MM-DD or RFC 3339); default: the item's valid_for.
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Sign off a run for a role.
    Signoff {
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        by: String,
        /// Run to sign off (default: the latest run of the profile and environment).
        #[arg(long)]
        run: Option<i64>,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Record a waiver in the ledger (besides those in the profile).
    Waive {
        item: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        owner: String,
        /// Last day (YYYY-MM-DD) or an RFC 3339 instant.
        #[arg(long)]
        expires: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// List recorded runs.
    History {
        #[command(flatten)]
        target: TargetArgs,
        /// All profiles and environments.
        #[arg(long)]
        all: bool,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
    /// Items whose state changed between two runs (default: the last two of the profile).
    Diff {
        run_a: Option<i64>,
        run_b: Option<i64>,
        /// Compare the latest run with the baseline.
        #[arg(long)]
        baseline: bool,
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
    /// Render a recorded run again, in any format.
    Report {
        run: i64,
        #[arg(long, short, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Mark a run as the deploy-time baseline that drift is measured against.
    Baseline {
        run: i64,
        #[command(flatten)]
        db: DbArg,
    },
    /// Go / no-go from the latest run plus current attestations, waivers and sign-offs.
    Gate {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        fail_on: Option<Severity>,
        #[arg(long)]
        allow_pending: bool,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
    /// Work with the ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
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

/// Where the ledger is.
#[derive(clap::Args)]
struct DbArg {
    /// Ledger: a SQLite file or a postgres:// URL (default: $SHIPCHECK_DB, else
    /// ~/.local/share/shipcheck/ledger.db).
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
}

/// A profile, an environment and a ledger.
#[derive(clap::Args)]
struct TargetArgs {
    #[arg(long, short, default_value = "shipcheck.yaml")]
    profile: PathBuf,
    #[arg(long, short)]
    env: Option<String>,
    #[command(flatten)]
    db: DbArg,
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Check the hash chain and the head's authentication; exit 1 if anything is wrong.
    Verify {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Security,
    Operations,
    Compliance,
    Development,
    Management,
}

impl From<RoleArg> for shipcheck_core::pack::Role {
    fn from(r: RoleArg) -> Self {
        use shipcheck_core::pack::Role;
        match r {
            RoleArg::Security => Role::Security,
            RoleArg::Operations => Role::Operations,
            RoleArg::Compliance => Role::Compliance,
            RoleArg::Development => Role::Development,
            RoleArg::Management => Role::Management,
        }
    }
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
    /// Map a built-in pack's items to the lines of its source documents; exit 1 if any
    /// checklist line, bullet or numbered step is covered by no item.
    Coverage {
        name: String,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
}

impl From<ReportFormat> for report::Format {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Human => report::Format::Human,
            ReportFormat::Json => report::Format::Json,
            ReportFormat::Sarif => report::Format::Sarif,
            ReportFormat::Junit => report::Format::Junit,
            ReportFormat::Markdown => report::Format::Markdown,
            ReportFormat::Html => report::Format::Html,
        }
    }
}

/// `FORMAT=PATH`, for `--report`.
fn parse_report(text: &str) -> Result<(report::Format, PathBuf), String> {
    let (f, p) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected FORMAT=PATH, e.g. sarif=out.sarif"))?;
    if p.is_empty() {
        return Err(format!("`{text}`: the path is empty"));
    }
    Ok((f.parse()?, PathBuf::from(p)))
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

/// Restores the default SIGPIPE action, so `shipcheck ... | head` ends quietly like other
/// Unix tools instead of panicking on a write to a closed pipe (Rust ignores SIGPIPE).
#[allow(unsafe_code)]
fn reset_sigpipe() {
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    reset_sigpipe();
    // Secret fingerprints are keyed with the ledger's key, when one is set.
    shipcheck_core::redact::set_fingerprint_key(
        std::env::var(shipcheck_ledger::KEY_ENV)
            .ok()
            .map(String::into_bytes),
    );
    let cli = Cli::parse();
    let err_color = color_for(cli.color, std::io::stderr().is_terminal());
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            match &e {
                Error::Core(CoreError::Invalid(d)) => eprint!("{}", d.render(err_color)),
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
            report,
            db,
            no_record,
            phase,
            dry_run,
        } => {
            let profile = Profile::load(&profile)?;
            if dry_run {
                let plan = engine::plan(&profile, env.as_deref(), phase)?;
                print!("{}", plan.describe());
                return Ok(0);
            }
            let location = Location::resolve(db.db.as_deref());
            let mut ledger = match (&location, no_record) {
                (Location::Sqlite(p), true) if !p.exists() => None,
                _ => Some(Ledger::open(location)?),
            };
            let statements = match ledger.as_mut() {
                Some(l) => history::statements(l, None)?,
                None => engine::Statements::default(),
            };
            let policy = profile.policy(fail_on, allow_pending);
            let bar = (matches!(format, ReportFormat::Human) && std::io::stderr().is_terminal())
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
                statements,
                phase,
                ..Options::default()
            };
            let run = engine::run(&profile, &opts)?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            if let (Some(l), false) = (ledger.as_mut(), no_record) {
                let seq = l.record_run(&run)?;
                eprintln!("recorded run #{seq} in {}", l.location.display());
            }
            let style = human::Style {
                color: out_color,
                verbose,
            };
            for (f, path) in &report {
                let text = report::render(
                    &run,
                    *f,
                    human::Style {
                        color: false,
                        verbose,
                    },
                    &[],
                );
                std::fs::write(path, text).map_err(|source| CoreError::Write {
                    path: path.clone(),
                    source,
                })?;
            }
            print!("{}", report::render(&run, format.into(), style, &[]));
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
                return Err(Error::usage(format!(
                    "{} exists; pass --force to overwrite it",
                    output.display()
                )));
            }
            let text = shipcheck_core::profile::template(&lp.pack, &pack);
            std::fs::write(&output, text).map_err(|source| CoreError::Write {
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
        Command::Plan {
            profile,
            env,
            phase,
            format,
        } => {
            let profile = Profile::load(&profile)?;
            let plan = engine::plan(&profile, env.as_deref(), phase)?;
            match format {
                OutFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "environment": plan.environment,
                        "phase": plan.phase,
                        "items": plan.entries(),
                    }))
                    .unwrap_or_default()
                ),
                OutFormat::Human => print!("{}", plan.describe()),
            }
            Ok(0)
        }
        Command::Attest {
            item,
            by,
            role,
            evidence,
            note,
            expires,
            target,
        } => {
            let (profile, packs, env) = load_target(&target)?;
            let mut ledger = Ledger::open(Location::resolve(target.db.db.as_deref()))?;
            let ev = evidence
                .map(|e| attest::evidence(&mut ledger, &e))
                .transpose()
                .map_err(Error::usage)?;
            let now = jiff::Timestamp::now();
            let env_scope = target.env.as_ref().map(|_| env.as_str());
            let a = attest::attestation(
                &packs,
                &item,
                &by,
                role.into(),
                ev,
                &note,
                expires.as_deref(),
                env_scope,
                now,
            )
            .map_err(Error::usage)?;
            let seq = ledger.record_attestation(&a)?;
            let _ = profile;
            println!(
                "recorded attestation #{seq}: {} by {} ({}){}",
                a.item,
                a.by,
                a.role.as_str(),
                a.expires
                    .map(|e| format!(", valid until {e}"))
                    .unwrap_or_default()
            );
            Ok(0)
        }
        Command::Signoff {
            role,
            by,
            run,
            note,
            target,
        } => {
            let (profile, _, env) = load_target(&target)?;
            let mut ledger = Ledger::open_existing(Location::resolve(target.db.db.as_deref()))?;
            let seq = match run {
                Some(r) => {
                    ledger.run(r)?;
                    r
                }
                None => history::latest_run(&mut ledger, &profile, &env)?.0,
            };
            let s = attest::signoff(seq, role.into(), &by, &note, jiff::Timestamp::now())
                .map_err(Error::usage)?;
            let rec = ledger.record_signoff(&s)?;
            println!(
                "recorded sign-off #{rec}: run #{seq} signed off by {} ({})",
                s.by,
                s.role.as_str()
            );
            Ok(0)
        }
        Command::Waive {
            item,
            reason,
            owner,
            expires,
            target,
        } => {
            let (_, packs, env) = load_target(&target)?;
            let mut ledger = Ledger::open(Location::resolve(target.db.db.as_deref()))?;
            let env_scope = target.env.as_ref().map(|_| env.as_str());
            let w = attest::waiver(
                &packs,
                &item,
                &reason,
                &owner,
                &expires,
                env_scope,
                jiff::Timestamp::now(),
            )
            .map_err(Error::usage)?;
            let seq = ledger.record_waiver(&w)?;
            println!(
                "recorded waiver #{seq}: {} until {} (owner {})",
                w.item, w.expires, w.owner
            );
            Ok(0)
        }
        Command::History {
            target,
            all,
            format,
        } => {
            let mut ledger = Ledger::open_existing(Location::resolve(target.db.db.as_deref()))?;
            let (pid, env) = if all {
                (None, None)
            } else {
                let profile = Profile::load(&target.profile)?;
                let env = profile.environment(target.env.as_deref())?;
                (Some(profile.id()), Some(env))
            };
            let list = history::history(&mut ledger, pid.as_deref(), env.as_deref())?;
            match format {
                OutFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                ),
                OutFormat::Human => {
                    if list.is_empty() {
                        println!("no recorded runs");
                    }
                    for r in &list {
                        let c = &r.counts;
                        println!(
                            "#{:<5} {}  {:<12} {:<6} score {:>3}  {} pass {} fail {} error {} pending {} waived{}  {}",
                            r.run,
                            r.started_at,
                            r.environment,
                            if r.go { "GO" } else { "NO-GO" },
                            r.score.map_or("n/a".into(), |s| s.to_string()),
                            c.pass,
                            c.fail,
                            c.error,
                            c.pending,
                            c.waived,
                            if r.baseline { "  [baseline]" } else { "" },
                            r.profile
                        );
                    }
                }
            }
            Ok(0)
        }
        Command::Diff {
            run_a,
            run_b,
            baseline,
            target,
            format,
        } => {
            let profile = Profile::load(&target.profile)?;
            let env = profile.environment(target.env.as_deref())?;
            let mut ledger = Ledger::open_existing(Location::resolve(target.db.db.as_deref()))?;
            let (a, b) = history::diff_pair(&mut ledger, &profile, &env, run_a, run_b, baseline)?;
            let (ra, rb) = (ledger.run(a)?, ledger.run(b)?);
            let st = history::statements(&mut ledger, Some(&profile))?;
            let d = history::diff(a, &ra, b, &rb, &st.attestations, &st.waivers);
            match format {
                OutFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default())
                }
                OutFormat::Human => {
                    println!(
                        "run #{a} ({}) → run #{b} ({})",
                        ra.started_at, rb.started_at
                    );
                    if d.changes.is_empty() && d.expired.is_empty() {
                        println!("no changes");
                    }
                    let st = |s: Option<shipcheck_core::outcome::Status>| {
                        s.map_or("absent", |s| s.as_str())
                    };
                    for c in &d.changes {
                        println!(
                            "  {} {} → {}  {}  ({})",
                            c.item,
                            st(c.from),
                            st(c.to),
                            c.title,
                            c.summary
                        );
                    }
                    for e in &d.expired {
                        println!("  expired: {e}");
                    }
                }
            }
            Ok(if d.changes.is_empty() { 0 } else { 1 })
        }
        Command::Report {
            run,
            format,
            output,
            db,
        } => {
            let mut ledger = Ledger::open_existing(Location::resolve(db.db.as_deref()))?;
            let recorded = ledger.run(run)?;
            let signoffs: Vec<shipcheck_ledger::Signoff> = ledger
                .all(Kind::Signoff)?
                .into_iter()
                .map(|(_, x)| x)
                .filter(|s: &shipcheck_ledger::Signoff| s.run == run)
                .collect();
            let color = output.is_none() && out_color;
            let text = report::render(
                &recorded,
                format.into(),
                human::Style {
                    color,
                    verbose: false,
                },
                &signoffs,
            );
            match output {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|source| CoreError::Write { path, source })?,
                None => print!("{text}"),
            }
            Ok(0)
        }
        Command::Baseline { run, db } => {
            let mut ledger = Ledger::open_existing(Location::resolve(db.db.as_deref()))?;
            ledger.run(run)?;
            let seq = ledger.record_baseline(&shipcheck_ledger::Baseline {
                run,
                at: jiff::Timestamp::now().to_string(),
            })?;
            println!("recorded baseline #{seq}: run #{run}");
            Ok(0)
        }
        Command::Gate {
            target,
            fail_on,
            allow_pending,
            format,
        } => {
            let (profile, packs, env) = load_target(&target)?;
            let mut ledger = Ledger::open_existing(Location::resolve(target.db.db.as_deref()))?;
            let (seq, run) = history::latest_run(&mut ledger, &profile, &env)?;
            let policy = profile.policy(fail_on, allow_pending);
            let st = history::statements(&mut ledger, Some(&profile))?;
            let g = history::gate_from_ledger(
                seq,
                run,
                &packs,
                &st,
                &profile.file.gate.require_signoff,
                policy,
                jiff::Timestamp::now(),
            );
            match format {
                OutFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&g).unwrap_or_default())
                }
                OutFormat::Human => {
                    let verdict = if g.verdict.go { "GO" } else { "NO-GO" };
                    println!(
                        "Gate: {verdict} for run #{} ({}, environment {})",
                        g.run, g.started_at, g.environment
                    );
                    for s in &g.signoffs {
                        println!("  signed off by {} ({}) at {}", s.by, s.role.as_str(), s.at);
                    }
                    for r in &g.verdict.reasons {
                        println!("  {r}");
                    }
                }
            }
            Ok(g.verdict.exit_code)
        }
        Command::Ledger {
            command: LedgerCommand::Verify { db, format },
        } => {
            let mut ledger = Ledger::open_existing(Location::resolve(db.db.as_deref()))?;
            let v = ledger.verify()?;
            match format {
                OutFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                OutFormat::Human => {
                    println!(
                        "ledger {}: {} records",
                        ledger.location.display(),
                        v.records
                    );
                    match &v.first_bad {
                        Some((seq, why)) => println!("BROKEN at record #{seq}: {why}"),
                        None => println!("chain intact"),
                    }
                    println!(
                        "{}",
                        match v.authentication {
                            shipcheck_ledger::Authentication::Verified => "head authenticated with SHIPCHECK_LEDGER_KEY".to_string(),
                            shipcheck_ledger::Authentication::Unauthenticated => "UNAUTHENTICATED: no SHIPCHECK_LEDGER_KEY set, so a rewrite that recomputes the whole chain would not be detected".to_string(),
                            shipcheck_ledger::Authentication::HeadUnsigned => "head NOT SIGNED: records were written without the key".to_string(),
                            shipcheck_ledger::Authentication::BadMac => "head authentication FAILED: the chain was rewritten, or the key is wrong".to_string(),
                        }
                    );
                }
            }
            Ok(if v.ok { 0 } else { 1 })
        }
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::Pack => shipcheck_core::schema::pack_schema(),
                SchemaKind::Profile => shipcheck_core::schema::profile_schema(),
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
    Ok(include::load_one(name, std::path::Path::new("."), None)?)
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
                Some(e) => Err(e.into()),
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
        PackCommand::Coverage { name, format } => {
            let lp = load_named_pack(&name)?;
            let cov = pack::coverage::coverage(&lp.pack, builtin::SOURCES);
            match format {
                OutFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&cov).unwrap_or_default())
                }
                OutFormat::Human => {
                    println!(
                        "{}: {} items, {} automated ({}%)",
                        cov.pack, cov.items, cov.automated, cov.automated_percent
                    );
                    for d in &cov.documents {
                        println!(
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
                            println!(
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
                        println!(
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
            print!("{}", pack::describe(&lp.pack));
            Ok(0)
        }
    }
}

fn probe_command(a: ProbeArgs, color: bool) -> Result<i32, Error> {
    let timeout = shipcheck_core::duration::Span::parse(&a.timeout)
        .map_err(Error::usage)?
        .0;
    let mut resolve = audit::Resolve::default();
    for r in &a.resolve {
        resolve
            .0
            .push(audit::Resolve::parse(r).map_err(Error::usage)?);
    }
    let mut targets: Vec<String> = a.target.iter().cloned().collect();
    if let Some(file) = &a.targets {
        let text = CoreError::read_text(file)?;
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
                .map_err(|_| Error::usage(format!("environment variable {var} is not set")))?,
        );
    }
    if targets.is_empty() {
        return Err(Error::usage(
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
    let (reports, secrets) = audit::run(kind, &targets, &opts).map_err(Error::Runtime)?;
    let mut redactor = shipcheck_core::redact::Redactor::default();
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

fn load_target(
    t: &TargetArgs,
) -> Result<(Profile, Vec<std::sync::Arc<pack::LoadedPack>>, String), Error> {
    let profile = Profile::load(&t.profile)?;
    let packs = include::load_packs(&profile)?;
    let env = profile.environment(t.env.as_deref())?;
    Ok((profile, packs, env))
}
