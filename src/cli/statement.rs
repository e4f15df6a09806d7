//! `shipcheck attest`, `signoff` and `waive`: what people decide, recorded in the ledger.

use super::*;

#[derive(clap::Args)]
pub struct AttestArgs {
    /// Item id (or pack:id).
    pub item: String,
    /// Who checked it (not with --server).
    #[arg(long, required_unless_present = "server")]
    pub by: Option<String>,
    /// Record it on a `shipcheck serve` at URL instead of the local ledger (token:
    /// $SHIPCHECK_TOKEN; the server records the token's name as who made it).
    #[arg(long, value_name = "URL", conflicts_with = "by")]
    pub server: Option<String>,
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Evidence: a file (stored in the ledger by content hash; with --server, sent with the
    /// attestation, up to about 6 MiB) or a URL.
    #[arg(long)]
    pub evidence: Option<String>,
    #[arg(long, default_value = "")]
    pub note: String,
    /// End of validity (YYYY-MM-DD or RFC 3339); default: the item's valid_for.
    #[arg(long)]
    pub expires: Option<String>,
    /// Sign the attestation with this SSH key: an OpenSSH private key file, or a public key
    /// (`.pub`) whose private half is in ssh-agent ($SSH_AUTH_SOCK).
    #[arg(long, value_name = "KEY", conflicts_with = "server")]
    pub sign_with: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn attest(args: AttestArgs) -> Result<i32, Error> {
    let AttestArgs {
        item,
        by,
        server,
        role,
        evidence,
        note,
        expires,
        sign_with,
        target,
    } = args;
    let (profile, packs, env) = load_target(&target)?;
    if let Some(url) = server {
        // A link goes as one; a file goes with the attestation, in its body.
        let (link, file) = match evidence {
            Some(e) if e.starts_with("https://") || e.starts_with("http://") => (Some(e), None),
            Some(path) => {
                let file = shipcheck_server::client::evidence_file(std::path::Path::new(&path))
                    .map_err(|e| Error::usage(e.to_string()))?;
                (None, Some(file))
            }
            None => (None, None),
        };
        let role: pack::Role = role.into();
        let body = serde_json::json!({
            "environment": env, "item": item, "role": role.as_str(), "note": note,
            "evidence_url": link, "evidence_file": file, "expires": expires,
        });
        return on_server(&url, profile.deployment().as_str(), "attestations", &body);
    }
    let by = by.unwrap_or_default();
    let mut ledger = target.db.open()?;
    let ev = evidence
        .map(|e| attest::evidence(&mut ledger, &e))
        .transpose()
        .map_err(Error::usage)?;
    let now = jiff::Timestamp::now();
    let env_scope = target.env.as_ref().map(|_| env.as_str());
    let deployment = profile.deployment();
    let known = attest::known_in_packs(&packs, &item).map_err(Error::usage)?;
    let mut a = attest::attestation(
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
    let signing = SigningArgs {
        sign_with,
        signature: None,
    }
    .signing()?;
    let signers = engine::signing::allowed_signers(&profile)?;
    let signed = engine::signing::sign_attestation(&mut a, signing, signers.as_ref(), now)
        .map_err(Error::usage)?;
    let seq = ledger.record_attestation(&a)?;
    outln!(
        "recorded attestation #{seq}: {} for {deployment}{} by {} ({}){}{}",
        a.item,
        env_scope.map(|e| format!(" in {e}")).unwrap_or_default(),
        a.by,
        a.role.as_str(),
        a.expires
            .map(|e| format!(", valid until {e}"))
            .unwrap_or_default(),
        signed_note(&signed)
    );
    Ok(0)
}

#[derive(clap::Args)]
pub struct SignoffArgs {
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Who signs off (not with --server).
    #[arg(long, required_unless_present = "server")]
    pub by: Option<String>,
    /// Record it on a `shipcheck serve` at URL instead of the local ledger (token:
    /// $SHIPCHECK_TOKEN; the server records the token's name as who made it).
    #[arg(long, value_name = "URL", conflicts_with = "by")]
    pub server: Option<String>,
    /// Run to sign off: its number as `history` prints it, or `latest~N` (default: the latest
    /// run of the profile and environment). With --server: the run's id on the server.
    #[arg(long)]
    pub run: Option<RunRef>,
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub signing: SigningArgs,
    /// Print the message a signature must cover (for `ssh-keygen -Y sign -n shipcheck`),
    /// and record nothing.
    #[arg(long, conflicts_with_all = ["sign_with", "signature"])]
    pub print_message: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// How a person signs what they record (issue #19).
#[derive(clap::Args)]
pub struct SigningArgs {
    /// Sign with this SSH key: an OpenSSH private key file, or a public key (`.pub`) whose
    /// private half is in ssh-agent ($SSH_AUTH_SOCK).
    #[arg(long, value_name = "KEY")]
    pub sign_with: Option<std::path::PathBuf>,
    /// An SSH signature made elsewhere (`ssh-keygen -Y sign -n shipcheck`) over the message
    /// `--print-message` prints.
    #[arg(long, value_name = "FILE", conflicts_with = "sign_with")]
    pub signature: Option<std::path::PathBuf>,
}

impl SigningArgs {
    fn signing(self) -> Result<engine::signing::Signing, Error> {
        use engine::signing::Signing;
        if let Some(key) = self.sign_with {
            let signer =
                shipcheck_sign::Signer::from_path(&key).map_err(|e| Error::usage(e.to_string()))?;
            return Ok(Signing::Key(signer));
        }
        if let Some(file) = self.signature {
            let bytes = shipcheck_core::bounded::read_bounded(&file, 64 << 10)
                .map_err(|e| Error::usage(format!("--signature {}: {e}", file.display())))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::usage(format!(
                    "--signature {}: not an armored SSH signature (text)",
                    file.display()
                ))
            })?;
            return Ok(Signing::Given(text));
        }
        Ok(Signing::Unsigned)
    }
}

/// What a recorded statement's signature came to, for the person who made it.
fn signed_note(signed: &engine::signing::Signed) -> String {
    use engine::signing::Signed;
    match signed {
        Signed::Unsigned => String::new(),
        Signed::Allowed(v) => format!(
            ", signed by {} as {} (allowed_signers line {})",
            v.key, v.principal, v.line
        ),
        Signed::NotChecked { key } => format!(
            ", signed by {key} (no gate.allowed_signers in the profile: who may sign was not checked)"
        ),
    }
}

pub fn signoff(args: SignoffArgs) -> Result<i32, Error> {
    let SignoffArgs {
        role,
        by,
        server,
        run,
        note,
        signing,
        print_message,
        target,
    } = args;
    let (profile, _, env) = load_target(&target)?;
    if let Some(url) = server {
        let run = match run {
            None => None,
            Some(RunRef::Number(n)) => Some(n),
            Some(other) => {
                return Err(Error::usage(format!(
                    "with --server, --run is the run's id on the server (a number), not `{other}`"
                )));
            }
        };
        let role: pack::Role = role.into();
        let signing = signing.signing()?;
        let mut body = serde_json::json!({"environment": env, "role": role.as_str(), "run": run, "note": note});
        if print_message || !matches!(signing, engine::signing::Signing::Unsigned) {
            // The server's run, as it stored it: the message comes from there.
            let deployment = profile.deployment();
            let path = format!(
                "/api/v1/deployments/{}/signoff-message?environment={}&role={}{}",
                shipcheck_server::api::percent_encode(deployment.as_str()),
                shipcheck_server::api::percent_encode(&env),
                role.as_str(),
                run.map(|n| format!("&run={n}")).unwrap_or_default()
            );
            let answer = shipcheck_server::client::get(&url, &path)
                .map_err(|e| Error::usage(e.to_string()))?;
            let message = answer["message"].as_str().unwrap_or_default().to_owned();
            let signature = match signing {
                _ if print_message => {
                    print!("{message}");
                    return Ok(0);
                }
                engine::signing::Signing::Key(signer) => signer
                    .sign(shipcheck_sign::message::NAMESPACE, message.as_bytes())
                    .map_err(Error::usage)?,
                engine::signing::Signing::Given(text) => text,
                engine::signing::Signing::Unsigned => String::new(),
            };
            body["signature"] = serde_json::Value::from(signature);
        }
        return on_server(&url, profile.deployment().as_str(), "signoffs", &body);
    }
    let by = by.unwrap_or_default();
    let mut ledger = target.db.open_existing()?;
    let deployment = profile.deployment();
    let found = history::resolve(
        &mut ledger,
        run.unwrap_or(RunRef::Latest(0)),
        Some((deployment.as_str(), env.as_str())),
    )?;
    let now = jiff::Timestamp::now();
    let mut s = attest::signoff((found.seq, &found.run), role.into(), &by, &note, now)
        .map_err(Error::usage)?;
    let digest = shipcheck_sign::message::run_digest(&ledger.run_record(found.seq)?.body);
    if print_message {
        print!(
            "{}",
            shipcheck_sign::message::signoff(&digest, s.role, &s.by)
        );
        return Ok(0);
    }
    let signers = engine::signing::allowed_signers(&profile)?;
    let signed =
        engine::signing::sign_signoff(&mut s, &digest, signing.signing()?, signers.as_ref(), now)
            .map_err(Error::usage)?;
    ledger.record_signoff(&s)?;
    outln!(
        "recorded sign-off: run #{} signed off by {} ({}){}",
        found.number,
        s.by,
        s.role.as_str(),
        signed_note(&signed)
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
    /// Record it on a `shipcheck serve` at URL instead of the local ledger (token:
    /// $SHIPCHECK_TOKEN, an admin's).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn waive(args: WaiveArgs) -> Result<i32, Error> {
    let WaiveArgs {
        item,
        reason,
        owner,
        expires,
        server,
        target,
    } = args;
    let (profile, packs, env) = load_target(&target)?;
    if let Some(url) = server {
        let body = serde_json::json!({
            "environment": env, "item": item, "reason": reason, "owner": owner, "expires": expires,
        });
        return on_server(&url, profile.deployment().as_str(), "waivers", &body);
    }
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

/// Posts a statement to the server at `url` for the profile's deployment, and says what it
/// recorded. A refusal, or no answer, is exit 2 with the server's reason.
pub fn on_server(
    url: &str,
    deployment: &str,
    what: &str,
    body: &serde_json::Value,
) -> Result<i32, Error> {
    let path = format!(
        "/api/v1/deployments/{}/{what}",
        shipcheck_server::api::percent_encode(deployment)
    );
    let answer = shipcheck_server::client::post(url, &path, body)
        .map_err(|e| Error::usage(e.to_string()))?;
    outln!(
        "recorded {} #{} on {} for {deployment} in {} by {}",
        answer["kind"].as_str().unwrap_or(what),
        answer["seq"],
        shipcheck_server::client::shown_base(url.trim_end_matches('/')),
        answer["environment"].as_str().unwrap_or_default(),
        answer["by"].as_str().unwrap_or_default()
    );
    Ok(0)
}
