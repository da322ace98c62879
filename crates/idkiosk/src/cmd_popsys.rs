//! `idkiosk popsys`: the reference population information system.
//!
//! - `popsys serve --db URL --listen ADDR` serves the HTTP API of `docs/popsys.md` and prints its
//!   base URL on standard output once listening.
//! - `popsys seed --db URL --citizens N --seed S [--city 320100] [--today YYYY-MM-DD]` fills an
//!   empty database with the fixed demo citizens and N generated ones; progress on standard error,
//!   one JSON summary on standard output.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use domain::region::KioskCity;
use popsys::seed::{LoadPath, SeedConfig, SeedError};
use popsys::{AppState, StorePopulationSystem};
use time::macros::format_description;
use time::Date;

/// Arguments of `idkiosk popsys`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: PopsysCommand,
}

#[derive(clap::Subcommand)]
enum PopsysCommand {
    /// Serve the population system's HTTP API; prints its URL once listening
    Serve(ServeArgs),
    /// Fill an empty database with demo citizens; prints a JSON summary
    Seed(SeedArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Database: sqlite://PATH, sqlite::memory: or postgres://…
    #[arg(long)]
    db: String,
    /// Address to listen on (port 0 picks a free one)
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
}

#[derive(clap::Args)]
struct SeedArgs {
    /// Database: sqlite://PATH (created if missing) or postgres://…
    #[arg(long)]
    db: String,
    /// Generated citizens (the fixed demo citizens come on top)
    #[arg(long, default_value_t = 10_000)]
    citizens: u64,
    /// Random seed: the same seed gives the same citizens
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The kiosk city (its districts are local, the rest of its province in-province)
    #[arg(long, default_value = "320100")]
    city: String,
    /// Reference date YYYY-MM-DD for ages and validity (default: today, or IDKIOSK_TODAY)
    #[arg(long)]
    today: Option<String>,
    /// Citizens per transaction
    #[arg(long, default_value_t = 10_000)]
    batch_size: usize,
    /// Write one row per INSERT statement (the slow baseline, for comparison)
    #[arg(long)]
    row_by_row: bool,
}

/// Runs `idkiosk popsys`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        PopsysCommand::Serve(args) => serve(args).await,
        PopsysCommand::Seed(args) => seed(args).await,
    }
}

fn usage(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(2))
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let today = crate::clock::checked_today_source()?;
    let store = store::Store::connect(&args.db)
        .await
        .with_context(|| format!("opening the database {}", redact(&args.db)))?;
    let state = AppState {
        popsys: Arc::new(StorePopulationSystem::new(store.clone())),
        today: Arc::new(today),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    println!("http://{address}");
    std::io::stdout().flush().context("writing the URL")?;
    tracing::info!(%address, backend = %store.backend(), "popsys listening");
    popsys::serve(listener, popsys::app(state), crate::shutdown::signal())
        .await
        .context("serving")?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn seed(args: SeedArgs) -> anyhow::Result<ExitCode> {
    let city = match KioskCity::parse(&args.city) {
        Ok(city) => city,
        Err(err) => return usage(format!("--city: {err}")),
    };
    let today = match &args.today {
        Some(text) => match Date::parse(text, format_description!("[year]-[month]-[day]")) {
            Ok(date) => date,
            Err(_) => {
                return usage(format!(
                    "--today: {text:?} is not a date of the form YYYY-MM-DD"
                ))
            }
        },
        None => crate::clock::today()?,
    };
    if args.batch_size == 0 {
        return usage("--batch-size: must be at least 1");
    }
    let store = match store::Store::connect(&args.db).await {
        Ok(store) => store,
        Err(store::StoreError::UnsupportedUrl(url)) => {
            return usage(format!(
                "--db: {url:?} is not sqlite://PATH, sqlite::memory: or postgres://…"
            ))
        }
        Err(err) => {
            return Err(anyhow::Error::new(err))
                .with_context(|| format!("opening the database {}", redact(&args.db)))
        }
    };
    let mut config = SeedConfig::new(args.citizens, args.seed, city, today);
    config.batch_size = args.batch_size;
    let path = if args.row_by_row {
        LoadPath::RowByRow
    } else {
        LoadPath::MultiRow
    };
    let mut last_report = Duration::ZERO;
    let report = |progress: &popsys::seed::Progress| {
        if progress.elapsed - last_report >= Duration::from_secs(1) {
            last_report = progress.elapsed;
            let seconds = progress.elapsed.as_secs_f64().max(1e-9);
            eprintln!(
                "seeded {} citizens, {} rows, {:.0} rows/s",
                progress.citizens,
                progress.rows,
                progress.rows as f64 / seconds
            );
        }
    };
    let summary = match popsys::seed::seed(&store, &config, path, report).await {
        Ok(summary) => summary,
        Err(err @ SeedError::NotEmpty(_)) => return usage(format!("--db: {err}")),
        Err(err) => return Err(anyhow::Error::new(err)).context("seeding"),
    };
    store.close().await;
    println!(
        "{}",
        serde_json::to_string(&summary).context("writing the summary")?
    );
    Ok(ExitCode::SUCCESS)
}

/// A database URL for messages: the password, if any, replaced by `***`.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let Some(at) = rest.find('@') else {
        return url.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
