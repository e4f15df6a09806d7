//! `shipcheck ledger`: verify the hash chain.

use super::*;

#[derive(clap::Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    pub command: LedgerCommand,
}

pub fn ledger(args: LedgerArgs) -> Result<i32, Error> {
    let LedgerArgs {
        command: LedgerCommand::Verify { db, format },
    } = args;
    let mut ledger = db.open_existing()?;
    let v = ledger.verify()?;
    match format {
        OutFormat::Json => {
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        OutFormat::Human => {
            outln!(
                "ledger {}: {} records",
                ledger.location.display(),
                v.records
            );
            match &v.first_bad {
                Some((seq, why)) => outln!("BROKEN at record #{seq}: {why}"),
                None => outln!("chain intact"),
            }
            if !v.unassigned.is_empty() {
                outln!(
                    "{} record{} from before deployments existed apply to no deployment (record them again with the profile of the deployment they are for):",
                    v.unassigned.len(),
                    if v.unassigned.len() == 1 { "" } else { "s" }
                );
                for p in &v.unassigned {
                    if let shipcheck_ledger::scope::Placement::Unassigned { why } = &p.placement {
                        outln!("  #{} {}: {why}", p.seq, p.kind);
                    }
                }
            }
            outln!(
                "{}",
                match v.authentication {
                    shipcheck_ledger::Authentication::Verified => "head authenticated with SHIPCHECK_LEDGER_KEY".to_string(),
                    shipcheck_ledger::Authentication::Unauthenticated => "UNAUTHENTICATED: no SHIPCHECK_LEDGER_KEY set, so a rewrite that recomputes the whole chain would not be detected".to_string(),
                    shipcheck_ledger::Authentication::HeadUnsigned => "head NOT SIGNED: records were written without the key".to_string(),
                    shipcheck_ledger::Authentication::BadMac => "head authentication FAILED: the chain was rewritten, or the key is wrong".to_string(),
                }
            );
            use shipcheck_ledger::headsig::{HeadSignature, PUBLIC_KEY_ENV};
            match &v.signature {
                HeadSignature::None => {}
                HeadSignature::Verified { key } => {
                    outln!("head signed by the trusted Ed25519 key {key}: verified")
                }
                HeadSignature::Unchecked { key } => outln!(
                    "head signed by Ed25519 key {key}, NOT CHECKED against a trusted key: set {PUBLIC_KEY_ENV} to the key you trust"
                ),
                HeadSignature::Failed { reason } => {
                    outln!("head signature FAILED: {reason}")
                }
            }
        }
    }
    Ok(if v.ok { 0 } else { 1 })
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Check the hash chain and the head's authentication; exit 1 if anything is wrong.
    Verify {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
}
