//! `shipcheck check`: run a profile, record it, gate it.

use super::*;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Profile file.
    /// (Default: `$SHIPCHECK_PROFILE`, else the nearest `shipcheck.yaml` in this folder or
    /// one above it.)
    #[arg(long, short, env = "SHIPCHECK_PROFILE")]
    pub profile: Option<PathBuf>,
    /// Environment of the profile to check (default: the profile's `environment`).
    #[arg(long, short, env = "SHIPCHECK_ENV")]
    pub env: Option<String>,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Also write a report to a file: FORMAT=PATH (repeatable), e.g. sarif=out.sarif.
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub report: Vec<(report::Format, PathBuf)>,
    /// Lowest severity whose fail/error results block the gate (default: profile, else low).
    #[arg(long)]
    pub fail_on: Option<Severity>,
    /// Let unattested manual items pass the gate.
    #[arg(long)]
    pub allow_pending: bool,
    /// Checks running at once, at most (no more than the checks that wait on a program or
    /// the network, plus two per core).
    #[arg(long, short = 'j', default_value_t = 8)]
    pub concurrency: usize,
    /// List every item, with evidence for passing ones too (by default only what needs
    /// action is listed, and the rest counted).
    #[arg(long, short, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only the verdict line (the exit code says the same).
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub db: DbArg,
    /// Do not record the run in the ledger.
    #[arg(long)]
    pub no_record: bool,
    /// Only the items due by this phase (its own and the earlier phases'): pre-deploy,
    /// post-deploy-immediate, first-hour, first-day, first-week or periodic (all).
    #[arg(long, value_name = "PHASE")]
    pub phase: Option<pack::Phase>,
    /// Run no program: items that would (`command` checks) are not_applicable.
    #[arg(long)]
    pub no_exec: bool,
    /// Print the plan (what would run, and why the rest would not) and check nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also send the run to a `shipcheck serve` at URL (token: $SHIPCHECK_TOKEN, a pusher's;
    /// a private CA: $SHIPCHECK_SERVER_CA). Exit code 3 when the server does not take it.
    #[arg(long, value_name = "URL")]
    pub push: Option<String>,
    /// Refuse the profile's own `waivers:` (they are reported unused): only waivers
    /// recorded in the ledger count, so a change cannot waive what gates it. For CI.
    #[arg(long, env = "SHIPCHECK_NO_PROFILE_WAIVERS", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_profile_waivers: bool,
}

pub fn check(args: CheckArgs, out_color: bool) -> Result<i32, Error> {
    let CheckArgs {
        profile,
        env,
        format,
        fail_on,
        allow_pending,
        concurrency,
        verbose,
        quiet,
        report,
        db,
        no_record,
        phase,
        no_exec,
        dry_run,
        push,
        no_profile_waivers,
    } = args;
    let profile = Profile::load(&find_profile(profile.as_deref())?)?;
    if dry_run {
        let plan = engine::plan(&profile, env.as_deref(), phase, no_exec)?;
        out!("{}", plan.describe());
        return Ok(0);
    }
    let mut ledger = match (&db.location(), no_record) {
        (Location::Sqlite(p), true) if !p.exists() => None,
        _ => Some(db.open()?),
    };
    let mut statements = match ledger.as_mut() {
        Some(l) => {
            let environment = profile.environment(env.as_deref())?;
            let deployment = profile.deployment();
            history::statements(l, (deployment.as_str(), environment.as_str()), None)?
        }
        None => engine::Statements::default(),
    };
    statements.profile_waivers = profile_waivers(no_profile_waivers);
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
        no_exec,
        ..Options::default()
    };
    let run = engine::run(&profile, &opts)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let (Some(l), false) = (ledger.as_mut(), no_record) {
        let seq = l.record_run(&run)?;
        let number = l.run_number(seq)?.unwrap_or_default();
        eprintln!("recorded run #{number} in {}", l.location.display());
    }
    let style = human::Style {
        color: out_color,
        verbose,
        quiet,
        width: terminal_width(),
    };
    for (f, path) in &report {
        let text = report::render(
            &run,
            *f,
            human::Style {
                color: false,
                verbose,
                quiet: false,
                width: None,
            },
            &[],
        );
        std::fs::write(path, text).map_err(|source| CoreError::Write {
            path: path.clone(),
            source,
        })?;
    }
    super::write_stdout_with(|w| report::write(&run, format.into(), style, &[], w));
    if let Some(url) = push {
        match shipcheck_server::client::push(&url, &run) {
            Ok(p) => eprintln!(
                "pushed run to {}: id {} ({}{})",
                shipcheck_server::client::shown_base(url.trim_end_matches('/')),
                p.id,
                shipcheck_server::client::shown_base(url.trim_end_matches('/')),
                p.url
            ),
            Err(e) => {
                eprintln!("error: {}", shipcheck_core::text::printable(&e.to_string()));
                return Ok(shipcheck_core::gate::EXIT_INTERNAL);
            }
        }
    }
    Ok(run.gate.exit_code)
}
