//! `shipcheck deployed`: records a deploy, which starts the clock of the phases after it
//! (manual items of a phase fall due at its offset from the deploy).

use super::*;

#[derive(clap::Args)]
pub struct DeployedArgs {
    /// The deployment (default: the profile's; with it, no profile is needed, but --env is).
    #[arg(long, value_name = "NAME")]
    pub deployment: Option<String>,
    /// The version deployed, as the team names it.
    #[arg(long, value_name = "V", default_value = "")]
    pub version: String,
    #[arg(long, default_value = "")]
    pub note: String,
    /// Who deployed (default: $USER); with --server, the token's name is recorded.
    #[arg(long, conflicts_with = "server")]
    pub by: Option<String>,
    /// Record it on a `shipcheck serve` at URL instead of the local ledger (token:
    /// $SHIPCHECK_TOKEN, a pusher's or an admin's).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// The deployment, environment and schedule a deploy is for: from the arguments, else the
/// profile.
fn resolve(
    deployment: Option<String>,
    target: &TargetArgs,
) -> Result<(String, String, shipcheck_core::schedule::Schedule), Error> {
    let profile = match (&deployment, &target.profile) {
        // A named deployment needs no profile; one found nearby still gives the schedule.
        (Some(_), None) => find_profile(None).ok().and_then(|p| Profile::load(&p).ok()),
        _ => Some(Profile::load(&find_profile(target.profile.as_deref())?)?),
    };
    let name = match (deployment, &profile) {
        (Some(d), _) => d,
        (None, Some(p)) => p.deployment().to_string(),
        (None, None) => {
            return Err(Error::usage(
                "name the deployment with --deployment NAME".into(),
            ));
        }
    };
    shipcheck_core::deployment::DeploymentId::parse(&name)
        .map_err(|e| Error::usage(format!("--deployment: {e}")))?;
    let environment = match (&target.env, &profile) {
        (Some(e), _) => e.clone(),
        (None, Some(p)) => p.environment(None)?,
        (None, None) => {
            return Err(Error::usage(
                "name the environment with --env (or $SHIPCHECK_ENV): no profile gives one".into(),
            ));
        }
    };
    let schedule = profile.map(|p| p.file.schedule.clone()).unwrap_or_default();
    Ok((name, environment, schedule))
}

pub fn deployed(args: DeployedArgs) -> Result<i32, Error> {
    let DeployedArgs {
        deployment,
        version,
        note,
        by,
        server,
        target,
    } = args;
    let (deployment, environment, schedule) = resolve(deployment, &target)?;
    if let Some(url) = server {
        let body = serde_json::json!({
            "environment": environment, "version": version, "note": note,
        });
        return statement::on_server(&url, &deployment, "deploys", &body);
    }
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| Error::usage("say who deployed with --by NAME".into()))?;
    let now = jiff::Timestamp::now();
    let deploy = shipcheck_core::statement::Deploy {
        deployment: deployment.clone(),
        environment: environment.clone(),
        version,
        by,
        deployed_at: now.to_string(),
        note,
    };
    let mut ledger = target.db.open()?;
    let seq = ledger.record_deploy(&deploy)?;
    outln!(
        "recorded deploy #{seq} of {deployment}{} in {environment} by {} at {now}",
        if deploy.version.is_empty() {
            String::new()
        } else {
            format!(" {}", deploy.version)
        },
        deploy.by
    );
    for phase in pack::Phase::ALL {
        if let shipcheck_core::schedule::DueAt::At(at) = schedule.due_at(phase, Some(now)) {
            outln!("  {} items fall due at {at}", phase.as_str());
        }
    }
    Ok(0)
}
