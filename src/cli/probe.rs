//! `shipcheck probe`: one ad-hoc audit of a target.

use super::*;

#[derive(clap::Args)]
pub struct ProbeArgs {
    #[arg(value_enum)]
    kind: ProbeKind,
    /// host[:port] (tls, tcp), URL (http), name (dns), connection URL (postgres; prefer --url-env).
    target: Option<String>,
    /// File of targets: one per line (`#` comments), or a YAML list with per-target options
    /// (docs/findings.md); audited concurrently.
    #[arg(long)]
    targets: Option<PathBuf>,
    /// TLS: name to send as SNI and check the certificate against.
    #[arg(long)]
    sni: Option<String>,
    /// PEM CA file to trust instead of the system roots (tls, http, postgres).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Connect NAME:PORT to IP, as curl's --resolve (repeatable).
    #[arg(long, value_name = "NAME:PORT:IP")]
    resolve: Vec<String>,
    /// TLS: report tls.cert.expires_soon below this many days.
    #[arg(long, default_value_t = shipcheck_core::spec::tls::DEFAULT_MIN_DAYS_LEFT)]
    min_days: i64,
    /// TLS: skip the cipher-suite scan.
    #[arg(long)]
    no_ciphers: bool,
    /// HTTP: the URL must refuse requests without valid credentials.
    #[arg(long)]
    expect_auth: bool,
    /// HTTP: do not verify the certificate (HTTP behaviour only).
    #[arg(long)]
    insecure: bool,
    /// HTTP: port of plain HTTP for the redirect check.
    #[arg(long)]
    http_port: Option<u16>,
    /// HTTP: health path that must answer 200 {"status":"ok"}.
    #[arg(long)]
    health: Option<String>,
    /// HTTP: send a burst of N requests that must meet a 429.
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// TCP: the port must be closed (exposure check).
    #[arg(long)]
    closed: bool,
    /// Postgres: read the connection URL from this environment variable.
    #[arg(long, value_name = "NAME")]
    url_env: Option<String>,
    /// Per-connection timeout.
    #[arg(long, default_value = "5s")]
    timeout: String,
    /// Report format; sarif, junit, markdown and html render the same model as `check`.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    /// Lowest finding severity that makes the exit code 1.
    #[arg(long, default_value = "low")]
    fail_on: Severity,
    /// Targets audited at once.
    #[arg(long, short = 'j', default_value_t = 8)]
    concurrency: usize,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProbeKind {
    Tls,
    Http,
    Tcp,
    Dns,
    Postgres,
}

/// `probe`: no finding, but something could not be checked.
pub const EXIT_COULD_NOT_CHECK: i32 = 4;

pub fn probe_command(a: ProbeArgs, color: bool) -> Result<i32, Error> {
    let timeout = shipcheck_core::duration::Span::parse(&a.timeout)
        .map_err(Error::usage)?
        .0;
    let mut resolve = audit::Resolve::default();
    for r in &a.resolve {
        resolve
            .0
            .push(audit::Resolve::parse(r).map_err(Error::usage)?);
    }
    let mut entries: Vec<audit::targets::TargetEntry> = Vec::new();
    let mut targets_dir = PathBuf::from(".");
    if let Some(file) = &a.targets {
        let text = CoreError::read_text(file)?;
        entries = audit::targets::parse(&text, file).map_err(Error::usage)?;
        targets_dir = file.parent().map(PathBuf::from).unwrap_or_default();
    }
    let mut targets: Vec<String> = a.target.iter().cloned().collect();
    if let (ProbeKind::Postgres, Some(var)) = (a.kind, &a.url_env) {
        targets.push(
            std::env::var(var)
                .map_err(|_| Error::usage(format!("environment variable {var} is not set")))?,
        );
    }
    if targets.is_empty() && entries.is_empty() {
        return Err(Error::usage(
            "give a target, --targets FILE, or (postgres) --url-env NAME".into(),
        ));
    }
    let kind = match a.kind {
        ProbeKind::Tls => audit::Kind::Tls,
        ProbeKind::Http => audit::Kind::Http,
        ProbeKind::Tcp => audit::Kind::Tcp,
        ProbeKind::Dns => audit::Kind::Dns,
        ProbeKind::Postgres => audit::Kind::Postgres,
    };
    // A target that cannot be one is a usage error, before anything is probed.
    for t in &targets {
        audit::targets::check_syntax(kind, t).map_err(Error::usage)?;
    }
    if let Some(file) = &a.targets {
        for (i, entry) in entries.iter().enumerate() {
            entry.check(kind, file, i).map_err(Error::usage)?;
        }
    }
    let opts = audit::Options {
        tls: audit::TlsOptions {
            sni: a.sni,
            ca_file: a.ca.clone(),
            resolve: resolve.clone(),
            min_days: a.min_days,
            ciphers: !a.no_ciphers,
            timeout,
        },
        http: audit::HttpOptions {
            ca_file: a.ca,
            insecure: a.insecure,
            resolve,
            http_port: a.http_port,
            expect_auth: a.expect_auth,
            auth_path: None,
            token: None,
            health: a.health,
            rate_limit: a.rate_limit,
            burst_path: None,
            origin: None,
            timeout,
        },
        expect_closed: a.closed,
        timeout,
    };
    // Command-line targets take the command line's options; a targets file's entries lay
    // their own over them.
    let mut jobs: Vec<(String, audit::Options)> =
        targets.into_iter().map(|t| (t, opts.clone())).collect();
    let mut tokens = Vec::new();
    for entry in &entries {
        let (o, token) = entry.apply(&opts, &targets_dir).map_err(Error::usage)?;
        tokens.extend(token);
        jobs.push((entry.target.clone(), o));
    }
    let started = jiff::Timestamp::now();
    let cwd = std::env::current_dir().unwrap_or_default();
    let origin = a
        .targets
        .as_ref()
        .map_or_else(|| cwd.clone(), |f| cwd.join(f));
    let clock = std::time::Instant::now();
    let (reports, secrets) = audit::run(kind, &jobs, a.concurrency).map_err(Error::Runtime)?;
    let mut redactor = shipcheck_core::redact::Redactor::default();
    secrets.iter().chain(&tokens).for_each(|s| redactor.add(s));
    // A password written in a target URL.
    jobs.iter()
        .filter_map(|(t, _)| audit::targets::url_password(t))
        .for_each(|p| redactor.add(p));
    let text = match a.format {
        ReportFormat::Human => audit::render(&reports, color),
        ReportFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(
                &reports
                    .iter()
                    .map(|report| audit::Graded {
                        report,
                        grade: report.grade(),
                    })
                    .collect::<Vec<_>>()
            )
            .unwrap_or_default()
        ),
        other => {
            let run = audit::to_run(
                &reports,
                &audit::RunInfo {
                    kind: kind.name(),
                    started_at: started.to_string(),
                    duration_ms: clock.elapsed().as_millis() as u64,
                    fail_on: a.fail_on,
                    origin: origin.display().to_string(),
                },
            );
            report::render(&run, other.into(), human::Style::default(), &[])
        }
    };
    out!("{}", redactor.scrub(&text));
    Ok(probe_exit_code(&reports, a.fail_on))
}

/// Exit code of a probe: 1 when a finding at or above the threshold was found (certain,
/// whatever else could not run), else 4 when a target or one of its checks could not run
/// (the audit is incomplete: never to be read as clean), else 0.
fn probe_exit_code(reports: &[audit::AuditReport], fail_on: Severity) -> i32 {
    let found = reports
        .iter()
        .any(|r| r.findings.iter().any(|f| f.severity >= fail_on));
    let incomplete = reports
        .iter()
        .any(|r| r.error.is_some() || !r.errors.is_empty());
    match (found, incomplete) {
        (true, _) => 1,
        (false, true) => EXIT_COULD_NOT_CHECK,
        (false, false) => 0,
    }
}
