//! `shipcheck init`: write a commented profile for a pack.

use super::*;

#[derive(clap::Args)]
pub struct InitArgs {
    /// Built-in pack name or pack file.
    #[arg(long, default_value = "secureclaw")]
    pub pack: String,
    /// Where to write the profile.
    #[arg(long, short, default_value = "shipcheck.yaml")]
    pub output: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

pub fn init(args: InitArgs) -> Result<i32, Error> {
    let InitArgs {
        pack,
        output,
        force,
    } = args;
    let lp = super::packs::load_named_pack(&pack)?;
    if output.exists() && !force {
        return Err(Error::usage(format!(
            "{} exists; pass --force to overwrite it",
            output.display()
        )));
    }
    // Named after the folder it is written to, as the ledger would derive it; the file
    // then keeps the name when the folder moves.
    let absolute = std::env::current_dir()
        .map(|here| here.join(&output))
        .unwrap_or_else(|_| output.clone());
    let deployment = shipcheck_core::deployment::DeploymentId::derived_from(&absolute);
    let text = shipcheck_core::profile::template(&lp.pack, &pack, &deployment);
    std::fs::write(&output, text).map_err(|source| CoreError::Write {
        path: output.clone(),
        source,
    })?;
    outln!(
        "wrote {} for pack {} {}",
        output.display(),
        lp.pack.name,
        lp.pack.version
    );
    Ok(0)
}
