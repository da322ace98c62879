//! The `idkiosk` command line: parses arguments, loads configuration and calls the libraries.
//!
//! Every command returns an [`outcome::Outcome`] or an error; exit codes are decided from it in
//! [`outcome::exit_code`] and only there: 0 success, 1 a negative answer the command was asked
//! for (an invalid ID number, a failed device read), 2 bad usage or a malformed input, 3 an
//! internal failure.

mod center_link;
mod center_setup;
mod clock;
mod cmd_audit;
mod cmd_center;
mod cmd_center_blobs;
mod cmd_center_faces;
mod cmd_config;
#[cfg(feature = "sim")]
mod cmd_demo;
mod cmd_device;
mod cmd_docs;
mod cmd_doctor;
mod cmd_face;
mod cmd_finger;
mod cmd_fleet;
mod cmd_id;
mod cmd_keys;
mod cmd_kiosk;
mod cmd_manual;
mod cmd_paysim;
mod cmd_popsys;
mod cmd_rules;
#[cfg(feature = "sim")]
mod cmd_sim;
mod cmd_staff;
mod config;
mod outcome;
mod private_files;
mod shutdown;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Self-service resident ID card kiosks: the kiosk, the center, the reference population system
/// and their tools.
#[derive(Parser)]
#[command(name = "idkiosk", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Citizen ID number tools (GB 11643-1999)
    Id(cmd_id::Args),
    /// The eligibility and self-service scope rules
    Rules(cmd_rules::Args),
    /// The reference population information system
    Popsys(cmd_popsys::Args),
    /// The center: the kiosks' background service
    Center(cmd_center::Args),
    /// The kiosk agent: devices, session, outbox, touchscreen UI
    Kiosk(cmd_kiosk::Args),
    /// Everything on one machine with demo data (SQLite, simulators)
    #[cfg(feature = "sim")]
    Demo(cmd_demo::Args),
    /// Device simulators that speak the hardware's bytes
    #[cfg(feature = "sim")]
    Sim(cmd_sim::Args),
    /// Operators' device tools: read a card, scan a barcode, capture a finger, print
    Device(cmd_device::Args),
    /// Face engine: compare two photos, crop an ID photo, liveness
    Face(cmd_face::Args),
    /// Fingerprints: synthesise, check quality, match
    Finger(cmd_finger::Args),
    /// Documents: render the certificate, form, notices as PDF
    Docs(cmd_docs::Args),
    /// The reference WeChat Pay v3 server
    Paysim(cmd_paysim::Args),
    /// Master keys of encryption at rest: create, rotate, rewrap, status, remove
    Keys(cmd_keys::Args),
    /// Fleet: the center's CA, kiosk enrolment and revocation, the center over mutual TLS
    Fleet(cmd_fleet::Args),
    /// Check a kiosk: configuration, devices, center, certificate, clock, disk, outbox
    Doctor(cmd_doctor::Args),
    /// Configuration files: check one
    Config(cmd_config::Args),
    /// Staff console accounts: add, password, list
    Staff(cmd_staff::Args),
    /// The staff audit chain: verify, export
    Audit(cmd_audit::Args),
    /// Man pages and shell completions, for packaging
    #[command(hide = true)]
    Manual(cmd_manual::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    // Everything this process and its children create (databases with their -wal and -shm,
    // keys, secrets, outboxes, videos) is for its owner only (issue 14).
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Id(args) => cmd_id::run(args).await,
        Command::Rules(args) => cmd_rules::run(args).await,
        Command::Popsys(args) => cmd_popsys::run(args).await,
        Command::Center(args) => cmd_center::run(args).await,
        #[cfg(feature = "sim")]
        Command::Demo(args) => cmd_demo::run(args).await,
        Command::Kiosk(args) => cmd_kiosk::run(args).await,
        #[cfg(feature = "sim")]
        Command::Sim(args) => cmd_sim::run(args).await,
        Command::Device(args) => cmd_device::run(args).await,
        Command::Face(args) => cmd_face::run(args).await,
        Command::Finger(args) => cmd_finger::run(args).await,
        Command::Docs(args) => cmd_docs::run(args).await,
        Command::Paysim(args) => cmd_paysim::run(args).await,
        Command::Keys(args) => cmd_keys::run(args).await,
        Command::Fleet(args) => cmd_fleet::run(args).await,
        Command::Doctor(args) => cmd_doctor::run(args).await,
        Command::Config(args) => cmd_config::run(args).await,
        Command::Staff(args) => cmd_staff::run(args).await,
        Command::Audit(args) => cmd_audit::run(args).await,
        Command::Manual(args) => cmd_manual::run(args, Cli::command()).await,
    };
    outcome::exit_code(result)
}

/// Logs go to standard error so that standard output stays machine-readable JSON.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IDKIOSK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
