//! `shipcheck export` and `verify-bundle`: a run with its attestations, sign-offs and chain
//! segment as one portable file, checked offline (issue #19).

use std::path::{Path, PathBuf};

use shipcheck_sign::bundle::{self, Bundle};

use super::*;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The run: its number as `history` prints it (7 or #7), `latest` or `latest~N`.
    pub run: RunRef,
    /// Write the bundle to this file (written whole, or not at all).
    #[arg(long, short, value_name = "PATH")]
    pub output: PathBuf,
    /// Include the attestations' evidence files (otherwise their digests only).
    #[arg(long)]
    pub with_evidence: bool,
    /// Write the run as an in-toto Statement in a DSSE envelope instead, signed with
    /// --sign-with (an Ed25519 key).
    #[arg(long, requires = "sign_with")]
    pub in_toto: bool,
    /// The key that signs the in-toto envelope: an OpenSSH Ed25519 private key, or its
    /// public key with the private half in ssh-agent.
    #[arg(long, value_name = "KEY")]
    pub sign_with: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn export(args: ExportArgs) -> Result<i32, Error> {
    let (mut ledger, found) = runs::open_run(&args.target, args.run)?;
    let b = bundle::export(&mut ledger, found.seq, args.with_evidence).map_err(Error::usage)?;
    let text = if args.in_toto {
        let key = args.sign_with.as_deref().unwrap_or(Path::new(""));
        let signer =
            shipcheck_sign::Signer::from_path(key).map_err(|e| Error::usage(e.to_string()))?;
        let report = bundle::verify(&b, None, None).map_err(Error::usage)?;
        let statement = shipcheck_sign::intoto::statement(&b, &report).map_err(Error::usage)?;
        let envelope =
            shipcheck_sign::intoto::envelope(&statement, &signer).map_err(Error::usage)?;
        serde_json::to_string_pretty(&envelope).unwrap_or_default()
    } else {
        serde_json::to_string_pretty(&b).unwrap_or_default()
    };
    write_whole(&args.output, text.as_bytes())?;
    let (signoffs, attestations) = bundle::statements_of(
        &found.run,
        found.seq,
        b.records
            .iter()
            .map(|r| (r.seq, r.kind.as_str(), r.body.as_str())),
    );
    outln!(
        "wrote {}: run #{} with {} sign-off(s), {} attestation(s), {} evidence file(s), chain records #{}–#{}{}",
        args.output.display(),
        found.number,
        signoffs.len(),
        attestations.len(),
        b.evidence.len(),
        b.records.first().map(|r| r.seq).unwrap_or_default(),
        b.head.seq,
        if args.in_toto {
            " (in-toto Statement, DSSE envelope)"
        } else {
            ""
        }
    );
    Ok(0)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, renamed over it:
/// a reader never sees half a file.
pub(super) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = |source| {
        Error::Core(CoreError::Write {
            path: path.to_owned(),
            source,
        })
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        use std::io::Write;
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct VerifyBundleArgs {
    /// The bundle (`shipcheck export RUN -o FILE`).
    pub bundle: PathBuf,
    /// An OpenSSH allowed_signers file: each sign-off and signed attestation must be signed
    /// by a key it allows for the role (`ROLE:NAME`) when it was recorded.
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// The ledger's public key (a `.pub` file or the `ssh-ed25519 …` line) the head must be
    /// signed by; default: $SHIPCHECK_LEDGER_PUBLIC_KEY.
    #[arg(long, value_name = "KEY")]
    pub ledger_key: Option<String>,
    #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
    pub format: OutFormat,
}

pub fn verify_bundle(args: VerifyBundleArgs) -> Result<i32, Error> {
    let shown = args.bundle.display().to_string();
    let bytes = shipcheck_core::bounded::read_bounded(&args.bundle, bundle::MAX_BYTES)
        .map_err(|e| Error::usage(format!("{shown}: {e}")))?;
    let b: Bundle = serde_json::from_slice(&bytes).map_err(|e| {
        Error::usage(format!(
            "{shown}:{}:{}: not a shipcheck bundle: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let signers = args
        .allowed_signers
        .as_deref()
        .map(shipcheck_sign::AllowedSigners::load)
        .transpose()
        .map_err(|e| Error::usage(e.to_string()))?;
    let trusted = match &args.ledger_key {
        Some(k) => Some(
            shipcheck_ledger::headsig::parse_public_key(k)
                .map_err(|e| Error::usage(e.to_string()))?,
        ),
        None => shipcheck_ledger::headsig::public_key_from_env()?,
    };
    let report = bundle::verify(&b, signers.as_ref(), trusted.as_ref())
        .map_err(|e| Error::usage(format!("{shown}: {e}")))?;
    match args.format {
        OutFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        OutFormat::Human => print_report(&shown, &report, signers.is_some()),
    }
    Ok(if report.ok() { 0 } else { 1 })
}

fn print_report(shown: &str, r: &bundle::Report, with_signers: bool) {
    use shipcheck_ledger::headsig::HeadSignature;
    outln!(
        "Bundle {shown}: run #{} of {} in {} ({}), {}",
        r.run,
        r.deployment,
        r.environment,
        r.started_at,
        r.digest
    );
    outln!(
        "  chain: {} records to the head #{}{}",
        r.records,
        r.head_seq,
        match &r.head {
            HeadSignature::None =>
                ", head not signed: a rewrite of the whole segment would not show".to_string(),
            HeadSignature::Verified { key } =>
                format!(", head signed by the trusted key {key}: verified"),
            HeadSignature::Unchecked { key } =>
                format!(", head signed by {key}: NOT CHECKED against a trusted key (--ledger-key)"),
            HeadSignature::Failed { reason } => format!(", head: {reason}"),
        }
    );
    for c in &r.signoffs {
        let s = &c.statement;
        outln!(
            "  sign-off #{} {} by {} at {}: {}",
            c.seq,
            s.role.as_str(),
            s.by,
            s.at,
            c.signature
        );
    }
    for c in &r.attestations {
        let a = &c.statement;
        outln!(
            "  attestation #{} {} by {} ({}): {}{}",
            c.seq,
            a.item,
            a.by,
            a.role.as_str(),
            c.signature,
            c.evidence
                .as_deref()
                .map(|e| format!("; evidence {e}"))
                .unwrap_or_default()
        );
    }
    if !r.missing_signoffs.is_empty() {
        outln!(
            "  required sign-offs without a {}signature that holds: {}",
            if with_signers { "" } else { "sign-off or " },
            r.missing_signoffs.join(", ")
        );
    }
    if r.ok() {
        outln!("verified: the bundle is intact");
    } else {
        for p in &r.problems {
            outln!("  BROKEN: {p}");
        }
        outln!("NOT VERIFIED: {} problem(s)", r.problems.len());
    }
}
