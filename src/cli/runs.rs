//! `shipcheck history`, `diff`, `report` and `baseline`: recorded runs looked at again.

use super::*;

#[derive(clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// All deployments and environments.
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
    let scope = if all { None } else { run_scope(&target)? };
    if scope.is_none() && !all {
        eprintln!("note: no profile here or above: listing the runs of every deployment (--all)");
    }
    let (deployment, env) = match scope {
        Some((d, e)) => (Some(d), Some(e)),
        None => (None, None),
    };
    let list = history::history(&mut ledger, deployment.as_deref(), env.as_deref())?;
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
                    "#{:<5} {}  {:<16} {:<12} {:<6} score {:>3}  {} pass {} fail {} error {} pending {} waived{}  {}",
                    r.run,
                    r.started_at,
                    r.deployment,
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
    /// The earlier run: its number as `history` prints it (7 or #7), `latest` or `latest~N`.
    pub run_a: Option<RunRef>,
    /// The later run.
    pub run_b: Option<RunRef>,
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
    let scope = run_scope(&target)?;
    let scope_ref = scope.as_ref().map(|(p, e)| (p.as_str(), e.as_str()));
    let mut ledger = target.db.open_existing()?;
    let (a, b) = history::diff_pair(&mut ledger, scope_ref, run_a, run_b, baseline)?;
    let profile = match profile_found(target.profile.as_deref()) {
        true => Some(Profile::load(&find_profile(target.profile.as_deref())?)?),
        false => None,
    };
    // What expired between the runs, among the statements of the later run's deployment.
    let later = (b.run.deployment_id(), b.run.environment.clone());
    let st = history::statements(&mut ledger, (&later.0, &later.1), profile.as_ref())?;
    let (na, nb) = (a.number as i64, b.number as i64);
    let d = history::diff(na, &a.run, nb, &b.run, &st.attestations, &st.waivers);
    let (ra, rb) = (&a.run, &b.run);
    match format {
        OutFormat::Json => {
            outln!("{}", serde_json::to_string_pretty(&d).unwrap_or_default())
        }
        OutFormat::Human => {
            outln!(
                "run #{na} ({}) → run #{nb} ({})",
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

/// The ledger, and the run `run` names (`latest` among the profile's runs when a profile is
/// found, else among all).
pub(super) fn open_run(
    target: &TargetArgs,
    run: RunRef,
) -> Result<(Ledger, history::Resolved), Error> {
    let scope = run_scope(target)?;
    let mut ledger = target.db.open_existing()?;
    let found = history::resolve(
        &mut ledger,
        run,
        scope.as_ref().map(|(p, e)| (p.as_str(), e.as_str())),
    )?;
    Ok((ledger, found))
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The run: its number as `history` prints it (7 or #7), `latest` or `latest~N`.
    pub run: RunRef,
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn report(args: ReportArgs, out_color: bool) -> Result<i32, Error> {
    let ReportArgs {
        run,
        format,
        output,
        target,
    } = args;
    let (mut ledger, found) = open_run(&target, run)?;
    let signoffs: Vec<shipcheck_ledger::Signoff> = ledger
        .all(Kind::Signoff)?
        .into_iter()
        .map(|(_, x)| x)
        .filter(|s: &shipcheck_ledger::Signoff| s.run == found.seq)
        .collect();
    let color = output.is_none() && out_color;
    let text = report::render(
        &found.run,
        format.into(),
        human::Style {
            color,
            verbose: false,
            quiet: false,
            width: if output.is_none() {
                terminal_width()
            } else {
                None
            },
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
    /// The run: its number as `history` prints it (7 or #7), `latest` or `latest~N`.
    pub run: RunRef,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn baseline(args: BaselineArgs) -> Result<i32, Error> {
    let BaselineArgs { run, target } = args;
    let (mut ledger, found) = open_run(&target, run)?;
    ledger.record_baseline(&shipcheck_ledger::Baseline {
        run: found.seq,
        deployment: Some(found.run.deployment_id()),
        environment: Some(found.run.environment.clone()),
        at: jiff::Timestamp::now().to_string(),
    })?;
    outln!("recorded baseline: run #{}", found.number);
    Ok(0)
}
