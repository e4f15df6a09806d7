//! The `shipcheck` command line: parses arguments, calls the library, prints. Each command
//! lives in its own module under `cli/`.

mod cli;

#[global_allocator]
static ALLOCATOR: shipcheck_meter::Metered = shipcheck_meter::Metered;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::Color;
use shipcheck_core::Error as CoreError;
use shipcheck_core::gate::{EXIT_INTERNAL, EXIT_USAGE};
use shipcheck_engine::Error;

/// Production deployment checklists as code.
#[derive(Parser)]
#[command(name = "shipcheck", version, about, long_about = None)]
struct Cli {
    /// When to colour output: auto (TTY and no NO_COLOR), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a profile's packs against the deployment and gate the result.
    Check(cli::check::CheckArgs),
    /// Show what a check would run in an environment (and phase), and why each other item
    /// would not; observes nothing.
    Plan(cli::plan::PlanArgs),
    /// Record that a person checked a manual item.
    Attest(cli::statement::AttestArgs),
    /// Sign off a run for a role.
    Signoff(cli::statement::SignoffArgs),
    /// Record a waiver in the ledger (besides those in the profile).
    Waive(cli::statement::WaiveArgs),
    /// List recorded runs.
    History(cli::runs::HistoryArgs),
    /// Items whose state changed between two runs (default: the last two of the profile).
    Diff(cli::runs::DiffArgs),
    /// Render a recorded run again, in any format.
    Report(cli::runs::ReportArgs),
    /// Mark a run as the deploy-time baseline that drift is measured against.
    Baseline(cli::runs::BaselineArgs),
    /// Record a deploy: the phases after it fall due from now on.
    Deployed(cli::deploy::DeployedArgs),
    /// Go / no-go from the latest run plus current attestations, waivers and sign-offs.
    Gate(cli::gate::GateArgs),
    /// Show the mechanical fixes of failing items as diffs; apply them with --apply, undo
    /// the last with --undo.
    Fix(cli::fix::FixArgs),
    /// Write a run, its attestations, sign-offs and chain segment as a portable bundle (or
    /// an in-toto attestation).
    Export(cli::bundle::ExportArgs),
    /// Check a bundle offline: its chain, head signature, sign-offs and evidence.
    VerifyBundle(cli::bundle::VerifyBundleArgs),
    /// Work with the ledger.
    Ledger(cli::ledger::LedgerArgs),
    /// Work with packs.
    Pack(cli::packs::PackArgs),
    /// Write a commented profile for a pack.
    Init(cli::init::InitArgs),
    /// Run one probe once against a target, outside any pack, and report its findings.
    Probe(cli::probe::ProbeArgs),
    /// Serve the dashboard and the JSON API over the ledger.
    Serve(cli::serve::ServeArgs),
    /// Create, list and revoke the server's API tokens.
    Token(cli::serve::TokenArgs),
    /// Print the JSON Schema of the pack or profile format.
    Schema(cli::schema::SchemaArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `shipcheck man > /usr/local/share/man/man1/shipcheck.1`.
    Man,
}

fn main() -> ExitCode {
    shipcheck_core::jq::set_memory_meter(shipcheck_meter::thread_held);
    // Secret fingerprints are keyed with the ledger's key, when one is set.
    shipcheck_core::redact::set_fingerprint_key(
        std::env::var(shipcheck_ledger::KEY_ENV)
            .ok()
            .map(String::into_bytes),
    );
    let cli = Cli::parse();
    // For the docs test (tests/it/commands.rs): every command the README and docs show must
    // parse; with this set, a command that parses stops here and does nothing.
    if std::env::var_os("SHIPCHECK_PARSE_ONLY").is_some() {
        return ExitCode::SUCCESS;
    }
    let err_color = cli::color_for(cli.color, std::io::stderr().is_terminal());
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            match &e {
                Error::Core(CoreError::Invalid(d)) => eprint!("{}", d.render(err_color)),
                other => eprintln!(
                    "error: {}",
                    shipcheck_core::text::printable(&other.to_string())
                ),
            }
            let code = if matches!(e, Error::Runtime(_)) {
                EXIT_INTERNAL
            } else {
                EXIT_USAGE
            };
            ExitCode::from(code as u8)
        }
    }
}

fn run(cli: Cli) -> Result<i32, Error> {
    let out_color = cli::color_for(cli.color, std::io::stdout().is_terminal());
    match cli.command {
        Command::Check(a) => cli::check::check(a, out_color),
        Command::Plan(a) => cli::plan::plan(a),
        Command::Attest(a) => cli::statement::attest(a),
        Command::Signoff(a) => cli::statement::signoff(a),
        Command::Waive(a) => cli::statement::waive(a),
        Command::History(a) => cli::runs::history(a),
        Command::Diff(a) => cli::runs::diff(a),
        Command::Report(a) => cli::runs::report(a, out_color),
        Command::Baseline(a) => cli::runs::baseline(a),
        Command::Gate(a) => cli::gate::gate(a),
        Command::Fix(a) => cli::fix::fix(a),
        Command::Export(a) => cli::bundle::export(a),
        Command::VerifyBundle(a) => cli::bundle::verify_bundle(a),
        Command::Deployed(a) => cli::deploy::deployed(a),
        Command::Ledger(a) => cli::ledger::ledger(a),
        Command::Pack(a) => cli::packs::pack(a),
        Command::Init(a) => cli::init::init(a),
        Command::Probe(a) => cli::probe::probe_command(a, out_color),
        Command::Schema(a) => cli::schema::schema(a),
        Command::Serve(a) => cli::serve::serve(a),
        Command::Token(a) => cli::serve::token(a),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "shipcheck", &mut out);
            cli::write_stdout(format_args!("{}", String::from_utf8_lossy(&out)), false);
            Ok(0)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(Error::Runtime)?;
            cli::write_stdout(format_args!("{}", String::from_utf8_lossy(&out)), false);
            Ok(0)
        }
    }
}
