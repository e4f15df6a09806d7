//! The commands, one module per command (or family of commands), and what they share:
//! colour, the ledger and target arguments, output formats, the progress bar.

/// Writes to stdout; once stdout is closed (`shipcheck ... | head`) the rest of the output
/// is dropped quietly and the program ends with its own exit code (a NO-GO stays a NO-GO).
/// SIGPIPE stays ignored (Rust's default), so a write to a closed network connection is an
/// error the probe reports, never a signal that kills the run.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), false)
    };
}

/// `out!` with a newline.
macro_rules! outln {
    () => {
        $crate::cli::write_stdout(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), true)
    };
}

/// Set once stdout's reader has gone away.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes to stdout, dropping the output once the reader has gone away.
pub fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    write_stdout_with(|stdout| {
        stdout.write_fmt(args)?;
        if newline {
            stdout.write_all(b"\n")?;
        }
        Ok(())
    });
}

/// Lets `write` write to stdout (buffered), dropping the output once the reader has gone
/// away: a large report is streamed rather than built in memory first.
pub fn write_stdout_with(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    let result = write(&mut stdout).and_then(|()| stdout.flush());
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

pub mod bundle;
pub mod check;
pub mod deploy;
pub mod fix;
pub mod gate;
pub mod import;
pub mod init;
pub mod ledger;
pub mod packs;
pub mod plan;
pub mod probe;
pub mod runs;
pub mod schema;
pub mod serve;
pub mod statement;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Subcommand, ValueEnum};

use shipcheck_core::Error as CoreError;
use shipcheck_core::id::RunRef;
use shipcheck_core::include;
use shipcheck_core::pack::{self, Severity, builtin};
use shipcheck_core::profile::Profile;
use shipcheck_engine::{self as engine, Error, Options, attest, history};
use shipcheck_ledger::{Kind, Ledger, Location};
use shipcheck_probes::audit;
use shipcheck_report::{self as report, human};

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

pub fn color_for(choice: Color, stream_is_tty: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    match choice {
        Color::Always => true,
        Color::Never => false,
        // NO_COLOR wins, then CLICOLOR_FORCE (colour even when piped), then CLICOLOR=0.
        Color::Auto if set("NO_COLOR").is_some() => false,
        Color::Auto if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
        Color::Auto if set("CLICOLOR").is_some_and(|v| v == "0") => false,
        Color::Auto => stream_is_tty,
    }
}

/// Where the ledger is.
#[derive(clap::Args)]
pub struct DbArg {
    /// Ledger: a SQLite file or a postgres:// URL (default: $SHIPCHECK_DB, else
    /// ~/.local/share/shipcheck/ledger.db).
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
    /// Write even though the ledger's head is authenticated with another key, or with one
    /// while none is set: re-signs (or unsigns) the chain on purpose.
    #[arg(long)]
    rekey: bool,
}

impl DbArg {
    /// Where the ledger is: `--db`, else `$SHIPCHECK_DB`, else the default file.
    pub fn location(&self) -> Location {
        Location::resolve(self.db.as_deref())
    }

    /// Opens (creating when needed) the ledger.
    pub fn open(&self) -> Result<Ledger, Error> {
        let mut ledger = Ledger::open(self.location())?;
        ledger.allow_rekey(self.rekey);
        Ok(ledger)
    }

    /// Opens a ledger that must exist.
    pub fn open_existing(&self) -> Result<Ledger, Error> {
        let mut ledger = Ledger::open_existing(self.location())?;
        ledger.allow_rekey(self.rekey);
        Ok(ledger)
    }
}

/// The profile to use: the one given (`--profile` or `$SHIPCHECK_PROFILE`), else the nearest
/// `shipcheck.yaml` in the current folder or a folder above it, as git and cargo search.
pub fn find_profile(given: Option<&std::path::Path>) -> Result<PathBuf, Error> {
    if let Some(p) = given {
        return Ok(p.to_owned());
    }
    let here = std::env::current_dir().map_err(Error::Runtime)?;
    for dir in here.ancestors() {
        let candidate = dir.join("shipcheck.yaml");
        if candidate.is_file() {
            // Relative to the current folder when it is here, as it was given before.
            return Ok(candidate
                .strip_prefix(&here)
                .map(PathBuf::from)
                .unwrap_or(candidate));
        }
    }
    Err(Error::usage(format!(
        "no shipcheck.yaml in {} or any folder above it: pass --profile FILE, set SHIPCHECK_PROFILE, or write one with `shipcheck init`",
        here.display()
    )))
}

/// The width to lay the terminal report out to: the terminal's when stdout is one, else
/// `$COLUMNS` when set; `None` (no wrapping) for a pipe or a file.
pub fn terminal_width() -> Option<usize> {
    if std::io::stdout().is_terminal()
        && let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size()
    {
        return Some(w as usize);
    }
    std::env::var("COLUMNS").ok()?.trim().parse().ok()
}

/// Whether a profile can be found (given, from the environment, or upward from here).
fn profile_found(given: Option<&std::path::Path>) -> bool {
    given.is_some()
        || std::env::current_dir()
            .map(|here| here.ancestors().any(|d| d.join("shipcheck.yaml").is_file()))
            .unwrap_or(false)
}

/// The runs `latest` counts among: the profile's deployment and environment when a profile
/// is found, else every run of the ledger (run numbers need neither).
pub fn run_scope(target: &TargetArgs) -> Result<Option<(String, String)>, Error> {
    if !profile_found(target.profile.as_deref()) {
        return Ok(None);
    }
    let profile = Profile::load(&find_profile(target.profile.as_deref())?)?;
    let env = profile.environment(target.env.as_deref())?;
    Ok(Some((profile.deployment().to_string(), env)))
}

/// A profile, an environment and a ledger.
#[derive(clap::Args)]
pub struct TargetArgs {
    /// Profile file (default: `$SHIPCHECK_PROFILE`, else the nearest `shipcheck.yaml` in this
    /// folder or one above it).
    #[arg(long, short, env = "SHIPCHECK_PROFILE")]
    profile: Option<PathBuf>,
    /// Environment (default: `$SHIPCHECK_ENV`, else the profile's `environment`).
    #[arg(long, short, env = "SHIPCHECK_ENV")]
    env: Option<String>,
    #[command(flatten)]
    db: DbArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Security,
    Operations,
    Compliance,
    Development,
    Management,
}

impl From<RoleArg> for shipcheck_core::pack::Role {
    fn from(r: RoleArg) -> Self {
        use shipcheck_core::pack::Role;
        match r {
            RoleArg::Security => Role::Security,
            RoleArg::Operations => Role::Operations,
            RoleArg::Compliance => Role::Compliance,
            RoleArg::Development => Role::Development,
            RoleArg::Management => Role::Management,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OutFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
    Prometheus,
}

impl From<ReportFormat> for report::Format {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Human => report::Format::Human,
            ReportFormat::Json => report::Format::Json,
            ReportFormat::Sarif => report::Format::Sarif,
            ReportFormat::Junit => report::Format::Junit,
            ReportFormat::Markdown => report::Format::Markdown,
            ReportFormat::Html => report::Format::Html,
            ReportFormat::Prometheus => report::Format::Prometheus,
        }
    }
}

/// `FORMAT=PATH`, for `--report`.
/// The profile waivers' standing from `--no-profile-waivers`.
pub fn profile_waivers(refused: bool) -> engine::finalize::ProfileWaivers {
    if refused {
        engine::finalize::ProfileWaivers::Refused
    } else {
        engine::finalize::ProfileWaivers::Accepted
    }
}

pub fn parse_report(text: &str) -> Result<(report::Format, PathBuf), String> {
    let (f, p) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected FORMAT=PATH, e.g. sarif=out.sarif"))?;
    if p.is_empty() {
        return Err(format!("`{text}`: the path is empty"));
    }
    Ok((f.parse()?, PathBuf::from(p)))
}

pub fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} checking {pos}/{len} {wide_bar} {elapsed}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

pub fn load_target(
    t: &TargetArgs,
) -> Result<(Profile, Vec<std::sync::Arc<pack::LoadedPack>>, String), Error> {
    let profile = Profile::load(&find_profile(t.profile.as_deref())?)?;
    let packs = include::load_packs(&profile)?;
    let env = profile.environment(t.env.as_deref())?;
    Ok((profile, packs, env))
}
