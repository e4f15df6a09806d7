//! `shipcheck attest`, `signoff` and `waive`: what people decide, recorded in the ledger.

use super::*;

#[derive(clap::Args)]
pub struct AttestArgs {
    /// Item id (or pack:id).
    pub item: String,
    #[arg(long)]
    pub by: String,
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Evidence: a file (stored in the ledger by content hash) or a URL.
    #[arg(long)]
    pub evidence: Option<String>,
    #[arg(long, default_value = "")]
    pub note: String,
    /// End of validity (YYYY-MM-DD or RFC 3339); default: the item's valid_for.
    #[arg(long)]
    pub expires: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn attest(args: AttestArgs) -> Result<i32, Error> {
    let AttestArgs {
        item,
        by,
        role,
        evidence,
        note,
        expires,
        target,
    } = args;
    let (profile, packs, env) = load_target(&target)?;
    let mut ledger = target.db.open()?;
    let ev = evidence
        .map(|e| attest::evidence(&mut ledger, &e))
        .transpose()
        .map_err(Error::usage)?;
    let now = jiff::Timestamp::now();
    let env_scope = target.env.as_ref().map(|_| env.as_str());
    let deployment = profile.deployment();
    let known = attest::known_in_packs(&packs, &item).map_err(Error::usage)?;
    let a = attest::attestation(
        known,
        &by,
        role.into(),
        ev,
        &note,
        expires.as_deref(),
        (deployment.as_str(), env_scope),
        now,
    )
    .map_err(Error::usage)?;
    let seq = ledger.record_attestation(&a)?;
    outln!(
        "recorded attestation #{seq}: {} for {deployment}{} by {} ({}){}",
        a.item,
        env_scope.map(|e| format!(" in {e}")).unwrap_or_default(),
        a.by,
        a.role.as_str(),
        a.expires
            .map(|e| format!(", valid until {e}"))
            .unwrap_or_default()
    );
    Ok(0)
}

#[derive(clap::Args)]
pub struct SignoffArgs {
    #[arg(long, value_enum)]
    pub role: RoleArg,
    #[arg(long)]
    pub by: String,
    /// Run to sign off: its number as `history` prints it, or `latest~N` (default: the latest
    /// run of the profile and environment).
    #[arg(long)]
    pub run: Option<RunRef>,
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn signoff(args: SignoffArgs) -> Result<i32, Error> {
    let SignoffArgs {
        role,
        by,
        run,
        note,
        target,
    } = args;
    let (profile, _, env) = load_target(&target)?;
    let mut ledger = target.db.open_existing()?;
    let deployment = profile.deployment();
    let found = history::resolve(
        &mut ledger,
        run.unwrap_or(RunRef::Latest(0)),
        Some((deployment.as_str(), env.as_str())),
    )?;
    let s = attest::signoff(
        (found.seq, &found.run),
        role.into(),
        &by,
        &note,
        jiff::Timestamp::now(),
    )
    .map_err(Error::usage)?;
    ledger.record_signoff(&s)?;
    outln!(
        "recorded sign-off: run #{} signed off by {} ({})",
        found.number,
        s.by,
        s.role.as_str()
    );
    Ok(0)
}

#[derive(clap::Args)]
pub struct WaiveArgs {
    pub item: String,
    #[arg(long)]
    pub reason: String,
    #[arg(long)]
    pub owner: String,
    /// Last day (YYYY-MM-DD) or an RFC 3339 instant.
    #[arg(long)]
    pub expires: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn waive(args: WaiveArgs) -> Result<i32, Error> {
    let WaiveArgs {
        item,
        reason,
        owner,
        expires,
        target,
    } = args;
    let (profile, packs, env) = load_target(&target)?;
    let mut ledger = target.db.open()?;
    let env_scope = target.env.as_ref().map(|_| env.as_str());
    let deployment = profile.deployment();
    let known = attest::known_in_packs(&packs, &item).map_err(Error::usage)?;
    let w = attest::waiver(
        known,
        &reason,
        &owner,
        &expires,
        (deployment.as_str(), env_scope),
        jiff::Timestamp::now(),
    )
    .map_err(Error::usage)?;
    let seq = ledger.record_waiver(&w)?;
    outln!(
        "recorded waiver #{seq}: {} for {deployment}{} until {} (owner {})",
        w.item,
        env_scope.map(|e| format!(" in {e}")).unwrap_or_default(),
        w.expires,
        w.owner
    );
    Ok(0)
}
