//! `idkiosk audit`: the staff audit chain (docs/staff.md).
//!
//! - `audit verify --database URL` walks the chain from entry 1: `audit chain ok: N entries`
//!   (exit 0) or `audit chain broken at entry #K: <why>` (exit 1).
//! - `audit export --database URL [--from DAY] [--to DAY] [--format csv|json] [--out FILE]`
//!   writes the entries whose time falls in `[from 00:00, to 24:00)` (China Standard Time days,
//!   `YYYY-MM-DD`), oldest first, to FILE or standard output.
//!
//! Exit codes: 0 done, 1 chain broken, 2 bad usage, 3 internal failure.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use store::audit::Verification;
use store::Store;

/// Arguments of `idkiosk audit`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and name the first edited, removed or reordered entry
    Verify(VerifyArgs),
    /// Write the audit entries (optionally of a date range) as CSV or JSON
    Export(ExportArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The center's database: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The center's database: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
    /// First day (YYYY-MM-DD, China Standard Time), inclusive
    #[arg(long)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD, China Standard Time), inclusive
    #[arg(long)]
    to: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Output file (default: standard output)
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `idkiosk audit`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        AuditCommand::Verify(args) => verify(args).await,
        AuditCommand::Export(args) => export(args).await,
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&args.database)
        .await
        .context("opening the database")?;
    let result = store
        .verify_audit()
        .await
        .context("reading the audit chain")?;
    store.close().await;
    Ok(match result {
        Verification::Intact { entries } => {
            println!("audit chain ok: {entries} entries");
            ExitCode::SUCCESS
        }
        Verification::Broken { entry, why } => {
            println!("audit chain broken at entry #{entry}: {why}");
            ExitCode::from(1)
        }
    })
}

fn day_start(text: &str) -> Result<i64, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text, &format)
        .map_err(|_| format!("{text:?} is not a YYYY-MM-DD date"))?;
    let offset = time::UtcOffset::from_hms(8, 0, 0).map_err(|err| err.to_string())?;
    Ok(day.midnight().assume_offset(offset).unix_timestamp())
}

async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let from = match args.from.as_deref().map(day_start).transpose() {
        Ok(from) => from.unwrap_or(i64::MIN),
        Err(err) => {
            eprintln!("error: --from: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let to = match args.to.as_deref().map(day_start).transpose() {
        Ok(to) => to.map(|t| t + 86_400).unwrap_or(i64::MAX),
        Err(err) => {
            eprintln!("error: --to: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let store = Store::connect(&args.database)
        .await
        .context("opening the database")?;
    let entries = store
        .audit_entries(from, to, i64::MAX)
        .await
        .context("reading the audit log")?;
    store.close().await;
    let text = match args.format {
        Format::Csv => store::audit::to_csv(&entries),
        Format::Json => serde_json::to_string_pretty(&entries)? + "\n",
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{} entries written to {}", entries.len(), path.display());
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
