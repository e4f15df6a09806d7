//! `shipcheck gate`: go / no-go from the ledger as it stands now.

use super::*;

#[derive(clap::Args)]
pub struct GateArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long)]
    pub fail_on: Option<Severity>,
    #[arg(long)]
    pub allow_pending: bool,
    #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
    pub format: OutFormat,
    /// Consider only the items due by this phase (default: by the time since the last
    /// deploy, for manual items).
    #[arg(long, value_name = "PHASE")]
    pub phase: Option<pack::Phase>,
    /// Refuse the profile's own `waivers:` (they are reported unused): only waivers
    /// recorded in the ledger count, so a change cannot waive what gates it. For CI.
    #[arg(long, env = "SHIPCHECK_NO_PROFILE_WAIVERS", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_profile_waivers: bool,
}

pub fn gate(args: GateArgs) -> Result<i32, Error> {
    let GateArgs {
        target,
        fail_on,
        allow_pending,
        format,
        phase,
        no_profile_waivers,
    } = args;
    let (profile, packs, env) = load_target(&target)?;
    let mut ledger = target.db.open_existing()?;
    let (seq, mut run) = history::latest_run(&mut ledger, &profile, &env)?;
    if let Some(wanted) = phase {
        engine::finalize::for_phase(&mut run, wanted).map_err(Error::usage)?;
    }
    let found = history::Resolved {
        number: ledger.run_number(seq)?.unwrap_or_default(),
        seq,
        run,
    };
    let policy = profile.policy(fail_on, allow_pending);
    let deployment = profile.deployment();
    let mut st = history::statements(&mut ledger, (deployment.as_str(), &env), None)?;
    st.profile_waivers = profile_waivers(no_profile_waivers);
    engine::finalize::add_profile_waivers(&mut st, &profile);
    let signers = engine::signing::allowed_signers(&profile)?;
    engine::signing::screen(&mut st, signers.as_ref());
    let digest = match &signers {
        Some(_) => shipcheck_sign::message::run_digest(&ledger.run_record(seq)?.body),
        None => String::new(),
    };
    let g = history::gate_from_ledger(
        found,
        &packs,
        &st,
        (
            &profile.file.gate.require_signoff,
            signers.as_ref().map(|s| (s, digest.as_str())),
        ),
        policy,
        jiff::Timestamp::now(),
    );
    match format {
        OutFormat::Json => {
            outln!("{}", serde_json::to_string_pretty(&g).unwrap_or_default())
        }
        OutFormat::Human => {
            let verdict = if g.verdict.go { "GO" } else { "NO-GO" };
            outln!(
                "Gate: {verdict} for run #{} ({}, deployment {deployment}, environment {})",
                g.run,
                g.started_at,
                g.environment
            );
            for c in &g.signoffs {
                let s = &c.signoff;
                let how = match &c.verified {
                    Some(v) => format!(", signed by {} ({})", v.key, v.principal),
                    None => String::new(),
                };
                outln!(
                    "  signed off by {} ({}) at {}{how}",
                    s.by,
                    s.role.as_str(),
                    s.at
                );
            }
            for r in &g.verdict.reasons {
                outln!("  {r}");
            }
        }
    }
    Ok(g.verdict.exit_code)
}
