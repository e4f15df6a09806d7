//! `shipcheck serve` and `shipcheck token`: the dashboard and API server, and its tokens.

use super::*;
use shipcheck_core::account::TokenRole;
use shipcheck_server::limit::Rate;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8470", value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub db: DbArg,
    /// PEM certificate chain: serve HTTPS (TLS 1.2 and 1.3) with HSTS and Secure cookies.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Let anyone read the dashboard and the API without a token (writes still need one).
    #[arg(long)]
    pub anonymous_read: bool,
    /// Requests per client address: BURST/PERIOD (e.g. 30/10s: 30 at once, 3 a second
    /// after); beyond it 429.
    #[arg(long, default_value = "30/10s", value_parser = Rate::parse, value_name = "BURST/PERIOD")]
    pub rate_limit: Rate,
    /// How long a browser session lasts after sign-in (e.g. 8h, 30m).
    #[arg(long, default_value = "8h", value_parser = shipcheck_core::duration::Span::parse, value_name = "DURATION")]
    pub session_ttl: shipcheck_core::duration::Span,
    /// Sign-in attempts per client address.
    #[arg(long, default_value = "5/1m", value_parser = Rate::parse, value_name = "BURST/PERIOD")]
    pub sign_in_limit: Rate,
    /// Run the phases of this profile's deployment on schedule after each deploy
    /// (repeatable; a folder: every `*/shipcheck.yaml` in it).
    #[arg(long, value_name = "PROFILE")]
    pub watch: Vec<PathBuf>,
    /// How often the scheduler looks for due jobs.
    #[arg(long, default_value = "1s", value_parser = shipcheck_core::duration::Span::parse, value_name = "DURATION")]
    pub scheduler_poll: shipcheck_core::duration::Span,
    /// How long a server's claim on a running job lasts before another may take it (a
    /// job's checks must finish within it).
    #[arg(long, default_value = "10m", value_parser = shipcheck_core::duration::Span::parse, value_name = "DURATION")]
    pub job_lease: shipcheck_core::duration::Span,
    /// Send drift alerts to URL (repeatable): `URL` or `json=URL` (generic JSON, signed
    /// with HMAC-SHA256 keyed by $SHIPCHECK_WEBHOOK_SECRET), `slack=URL` (Slack-compatible).
    #[arg(long, value_name = "URL", value_parser = shipcheck_server::webhook::Webhook::parse)]
    pub webhook: Vec<shipcheck_server::webhook::Webhook>,
}

pub fn serve(args: ServeArgs) -> Result<i32, Error> {
    use shipcheck_server::webhook::{Format, SECRET_ENV};
    if args.job_lease.0 < std::time::Duration::from_secs(1) {
        return Err(Error::usage(format!(
            "--job-lease {} is too short: a server renews its claim every third of it; give at least 1s",
            args.job_lease
        )));
    }
    let secret = std::env::var(SECRET_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .map(String::into_bytes);
    if secret.is_none() && args.webhook.iter().any(|h| h.format == Format::Json) {
        return Err(Error::usage(format!(
            "a JSON --webhook is signed: set {SECRET_ENV} to the key its receiver checks"
        )));
    }
    let config = shipcheck_server::Config {
        listen: args.listen,
        ledger: args.db.location(),
        tls: args.tls_cert.zip(args.tls_key),
        anonymous_read: args.anonymous_read,
        rate: args.rate_limit,
        sign_in_rate: args.sign_in_limit,
        max_body: shipcheck_server::MAX_BODY,
        session_ttl: args.session_ttl.0,
        scheduler: shipcheck_server::scheduler::Settings {
            watch: args.watch,
            poll: args
                .scheduler_poll
                .0
                .max(std::time::Duration::from_millis(10)),
            lease: args.job_lease.0,
            alerting: shipcheck_server::drift::Alerting {
                webhooks: args.webhook,
                secret,
            },
        },
    };
    let location = config.ledger.display();
    let served = shipcheck_server::serve(config, |addr, tls| {
        // The first line on stdout: scripts and tests read the address from it.
        outln!(
            "shipcheck serve: listening on {}://{addr} (ledger {location})",
            if tls { "https" } else { "http" }
        );
    });
    match served {
        Ok(()) => Ok(0),
        Err(shipcheck_server::ServeError::Ledger(e)) => Err(e.into()),
        Err(e) => Err(Error::usage(e.to_string())),
    }
}

#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only its SHA-256 is stored).
    Create {
        /// A name for the token: who or what holds it (letters, digits, `-`, `_`, `.`).
        #[arg(long)]
        name: String,
        /// viewer, pusher (records runs: CI), attester:ROLE, signer:ROLE or admin.
        #[arg(long, value_parser = |s: &str| s.parse::<TokenRole>())]
        role: TokenRole,
        #[command(flatten)]
        db: DbArg,
    },
    /// List the live tokens (names and roles; the secrets are not stored).
    List {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, short, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
    },
    /// Revoke a token: it and its sessions stop working at once.
    Revoke {
        /// The token's name.
        name: String,
        #[command(flatten)]
        db: DbArg,
    },
}

/// Who the command line acts as in the ledger.
fn local_user() -> String {
    let user = std::env::var("USER").unwrap_or_default();
    if user.is_empty() {
        "local".into()
    } else {
        format!("local:{user}")
    }
}

pub fn token(args: TokenArgs) -> Result<i32, Error> {
    match args.command {
        TokenCommand::Create { name, role, db } => {
            let mut ledger = db.open()?;
            let secret = shipcheck_server::tokens::create(&mut ledger, &name, role, &local_user())?;
            eprintln!(
                "created token `{name}` ({role}); it is shown once, store it now (e.g. export SHIPCHECK_TOKEN=...):"
            );
            outln!("{secret}");
        }
        TokenCommand::List { db, format } => {
            let tokens = db.open_existing()?.tokens()?;
            match format {
                OutFormat::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&tokens).unwrap_or_default()
                ),
                OutFormat::Human if tokens.is_empty() => outln!("no live tokens"),
                OutFormat::Human => {
                    for t in &tokens {
                        outln!(
                            "{}\t{}\tcreated {} by {}",
                            t.name,
                            t.role,
                            t.created_at,
                            t.created_by
                        );
                    }
                }
            }
        }
        TokenCommand::Revoke { name, db } => {
            let mut ledger = db.open_existing()?;
            let t = shipcheck_server::tokens::revoke(&mut ledger, &name, &local_user())?;
            outln!("revoked token `{}` ({})", t.name, t.role);
        }
    }
    Ok(0)
}
