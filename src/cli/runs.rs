//! `shipcheck history`, `diff`, `report` and `baseline`: recorded runs looked at again.

use super::*;

#[derive(clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// All profiles and environments.
    #[arg(long)]
    pub all: bool,
    #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
    pub format: OutFormat,
}

pub fn history(args: HistoryArgs) -> Result<i32, Error> {
    let HistoryArgs {
        target,
        all,
        format,
    } = args;
    let mut ledger = target.db.open_existing()?;
    let (pid, env) = if all {
        (None, None)
    } else {
        let profile = Profile::load(&find_profile(target.profile.as_deref())?)?;
        let env = profile.environment(target.env.as_deref())?;
        (Some(profile.id()), Some(env))
    };
    let list = history::history(&mut ledger, pid.as_deref(), env.as_deref())?;
    match format {
        OutFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        ),
        OutFormat::Human => {
            if list.is_empty() {
                outln!("no recorded runs");
            }
            for r in &list {
                let c = &r.counts;
                outln!(
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

#[derive(clap::Args)]
pub struct DiffArgs {
    pub run_a: Option<i64>,
    pub run_b: Option<i64>,
    /// Compare the latest run with the baseline.
    #[arg(long)]
    pub baseline: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
    pub format: OutFormat,
}

pub fn diff(args: DiffArgs) -> Result<i32, Error> {
    let DiffArgs {
        run_a,
        run_b,
        baseline,
        target,
        format,
    } = args;
    let profile = Profile::load(&find_profile(target.profile.as_deref())?)?;
    let env = profile.environment(target.env.as_deref())?;
    let mut ledger = target.db.open_existing()?;
    let (a, b) = history::diff_pair(&mut ledger, &profile, &env, run_a, run_b, baseline)?;
    let (ra, rb) = (ledger.run(a)?, ledger.run(b)?);
    let st = history::statements(&mut ledger, Some(&profile))?;
    let d = history::diff(a, &ra, b, &rb, &st.attestations, &st.waivers);
    match format {
        OutFormat::Json => {
            outln!("{}", serde_json::to_string_pretty(&d).unwrap_or_default())
        }
        OutFormat::Human => {
            outln!(
                "run #{a} ({}) → run #{b} ({})",
                ra.started_at,
                rb.started_at
            );
            if d.changes.is_empty() && d.expired.is_empty() {
                outln!("no changes");
            }
            let st =
                |s: Option<shipcheck_core::outcome::Status>| s.map_or("absent", |s| s.as_str());
            for c in &d.changes {
                outln!(
                    "  {} {} → {}  {}  ({})",
                    c.item,
                    st(c.from),
                    st(c.to),
                    c.title,
                    c.summary
                );
            }
            for e in &d.expired {
                outln!("  expired: {e}");
            }
        }
    }
    Ok(if d.changes.is_empty() { 0 } else { 1 })
}

#[derive(clap::Args)]
pub struct ReportArgs {
    pub run: i64,
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
}

pub fn report(args: ReportArgs, out_color: bool) -> Result<i32, Error> {
    let ReportArgs {
        run,
        format,
        output,
        db,
    } = args;
    let mut ledger = db.open_existing()?;
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
            quiet: false,
        },
        &signoffs,
    );
    match output {
        Some(path) => {
            std::fs::write(&path, text).map_err(|source| CoreError::Write { path, source })?
        }
        None => out!("{text}"),
    }
    Ok(0)
}

#[derive(clap::Args)]
pub struct BaselineArgs {
    pub run: i64,
    #[command(flatten)]
    pub db: DbArg,
}

pub fn baseline(args: BaselineArgs) -> Result<i32, Error> {
    let BaselineArgs { run, db } = args;
    let mut ledger = db.open_existing()?;
    ledger.run(run)?;
    let seq = ledger.record_baseline(&shipcheck_ledger::Baseline {
        run,
        at: jiff::Timestamp::now().to_string(),
    })?;
    outln!("recorded baseline #{seq}: run #{run}");
    Ok(0)
}
