//! `shipcheck plan`: what a check would run, and why the rest would not.

use super::*;

#[derive(clap::Args)]
pub struct PlanArgs {
    /// Profile file.
    /// (Default: `$SHIPCHECK_PROFILE`, else the nearest `shipcheck.yaml` in this folder or
    /// one above it.)
    #[arg(long, short, env = "SHIPCHECK_PROFILE")]
    pub profile: Option<PathBuf>,
    /// Environment of the profile (default: the profile's `environment`).
    #[arg(long, short, env = "SHIPCHECK_ENV")]
    pub env: Option<String>,
    /// Only the items due by this phase (its own and the earlier phases').
    #[arg(long, value_name = "PHASE")]
    pub phase: Option<pack::Phase>,
    /// Run no program: items that would (`command` checks) are not_applicable.
    #[arg(long)]
    pub no_exec: bool,
    #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
    pub format: OutFormat,
}

pub fn plan(args: PlanArgs) -> Result<i32, Error> {
    let PlanArgs {
        profile,
        env,
        phase,
        no_exec,
        format,
    } = args;
    let profile = Profile::load(&find_profile(profile.as_deref())?)?;
    let plan = engine::plan(&profile, env.as_deref(), phase, no_exec)?;
    match format {
        OutFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "environment": plan.environment,
                "phase": plan.phase,
                "items": plan.entries(),
            }))
            .unwrap_or_default()
        ),
        OutFormat::Human => out!("{}", plan.describe()),
    }
    Ok(0)
}
