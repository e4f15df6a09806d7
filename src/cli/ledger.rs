//! `shipcheck ledger`: verify the hash chain.

use super::*;

#[derive(clap::Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    pub command: LedgerCommand,
}

pub fn ledger(args: LedgerArgs) -> Result<i32, Error> {
    let LedgerArgs {
        command:
            LedgerCommand::Verify {
                db,
                allowed_signers,
                format,
            },
    } = args;
    let signers = allowed_signers
        .as_deref()
        .map(shipcheck_sign::AllowedSigners::load)
        .transpose()
        .map_err(|e| Error::usage(e.to_string()))?;
    let mut ledger = db.open_existing()?;
    let (mut v, records) = ledger.verify_records()?;
    let signatures = shipcheck_sign::recorded::check(&records, signers.as_ref());
    v.ok &= signatures.ok();
    match format {
        OutFormat::Json => {
            // The chain's verification and the statements' signatures; `ok` covers both.
            let mut out = serde_json::to_value(&v).unwrap_or_default();
            out["signatures"] = serde_json::to_value(&signatures).unwrap_or_default();
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default())
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
            print_signatures(&signatures, allowed_signers.as_deref());
        }
    }
    Ok(if v.ok { 0 } else { 1 })
}

fn print_signatures(s: &shipcheck_sign::recorded::Signatures, signers: Option<&std::path::Path>) {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if s.checked > 0 {
        let against = match signers {
            Some(path) => format!("against {}", path.display()),
            None => {
                "against the keys they name; who may sign was not checked (--allowed-signers FILE)"
                    .to_string()
            }
        };
        let held = s.checked - s.problems.len();
        outln!(
            "signatures: {held} of {} signed sign-offs and attestations hold, checked {against}",
            s.checked
        );
    }
    for p in &s.problems {
        outln!("SIGNATURE FAILED: {p}");
    }
    if s.unsigned > 0 {
        outln!(
            "not signed: {} sign-off{} or attestation{}",
            s.unsigned,
            plural(s.unsigned),
            plural(s.unsigned)
        );
    }
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Check the hash chain, the head's authentication and every signed sign-off's and
    /// attestation's signature; exit 1 if anything is wrong.
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// An OpenSSH allowed_signers file: each signed sign-off and attestation must be
        /// signed by a key it allows for the role (`ROLE:NAME`) when it was recorded
        /// (default: each is checked against the key it names).
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
}
