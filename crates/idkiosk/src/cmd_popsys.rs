//! `idkiosk popsys`: the reference population information system.
//!
//! - `popsys serve --db URL --listen ADDR --client-tokens center=TOKEN` serves the HTTP API of
//!   `docs/popsys.md` to the clients named, and prints its base URL on standard output once
//!   listening.
//! - `popsys seed --db URL --citizens N --seed S (--city 320100 | --config FILE) [--today
//!   YYYY-MM-DD]` fills an empty database with the fixed demo citizens and N generated ones;
//!   progress on standard error, one JSON summary on standard output.
//! - `popsys studio add --db URL --id S001 [--name NAME] [--replace-secret]` registers a photo
//!   studio and prints its new secret once, as JSON.
//! - `popsys receipt add --citizen ID --photo FILE [--url … --studio … --secret …]` uploads a
//!   certified photo as a studio does and prints the new receipt as JSON; the defaults are the
//!   demo's (`http://127.0.0.1:7401`, studio `S001`, the secret in `.idkiosk/demo/studio.secret`).
//! - `popsys produce --db URL (--application NO | --all) [--to in_production|ready]` advances card
//!   production (`produce.rs`).

pub(crate) mod produce;

use crate::config::Kind;
use crate::outcome::Outcome;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use domain::region::KioskCity;
use popsys::seed::{LoadPath, SeedConfig, SeedError};
use popsys::studio::{IfRegistered, RegisterError, Registered, StudioClient, UploadError};
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
    /// Photo studios that upload certified photos
    #[command(subcommand)]
    Studio(StudioCommand),
    /// Photo receipts, as a studio makes them
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Advance card production (accepted → in_production → ready); prints JSON
    Produce(produce::ProduceArgs),
}

/// The demo's photo studio (`idkiosk demo` registers it; `receipt add` uses it by default).
pub const DEMO_STUDIO: &str = "S001";
/// Where the demo keeps that studio's secret, under its data folder.
pub const STUDIO_SECRET_FILE: &str = "studio.secret";

#[derive(clap::Subcommand)]
enum StudioCommand {
    /// Register a studio; prints its secret once, as JSON
    Add(StudioAddArgs),
}

#[derive(clap::Args)]
struct StudioAddArgs {
    /// Database: sqlite://PATH or postgres://… (the population system's)
    #[arg(long)]
    db: String,
    /// The studio's id, 1-32 characters of A-Z a-z 0-9 - _ (it appears in the upload URL)
    #[arg(long)]
    id: String,
    /// The studio's name, for people
    #[arg(long, default_value = "")]
    name: String,
    /// If the studio is registered already, give it a new secret (the old one stops working)
    #[arg(long)]
    replace_secret: bool,
}

#[derive(clap::Subcommand)]
enum ReceiptCommand {
    /// Upload a citizen's certified photo as a studio; prints the new receipt as JSON
    Add(ReceiptAddArgs),
}

#[derive(clap::Args)]
struct ReceiptAddArgs {
    /// The citizen's ID number
    #[arg(long)]
    citizen: String,
    /// The certified photo, a JPEG file
    #[arg(long)]
    photo: PathBuf,
    /// The population system's base URL
    #[arg(
        long,
        env = "IDKIOSK_POPSYS_URL",
        default_value = "http://127.0.0.1:7401"
    )]
    url: String,
    /// The studio's id
    #[arg(long, env = "IDKIOSK_STUDIO", default_value = DEMO_STUDIO)]
    studio: String,
    /// The studio's secret [default: read from --secret-file]
    #[arg(long, env = "IDKIOSK_STUDIO_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// A file holding the studio's secret, used without --secret
    #[arg(long, default_value = ".idkiosk/demo/studio.secret")]
    secret_file: PathBuf,
    /// The day the receipt is made, YYYY-MM-DD [default: the population system's today]
    #[arg(long)]
    on: Option<String>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Database: sqlite://PATH, sqlite::memory: or postgres://…
    #[arg(long)]
    db: String,
    /// Address to listen on (port 0 picks a free one)
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The master key file sealing the photos (created on first start, mode 0600); photos the
    /// database holds in plain are sealed at start
    #[arg(long, default_value = ".idkiosk/popsys/master.keys")]
    key_file: PathBuf,
    /// The clients allowed to call, `center=TOKEN,…` (or IDKIOSK_POPSYS_CLIENT_TOKENS); each
    /// sends `Authorization: Bearer TOKEN` (16 characters at least)
    #[arg(long, env = "IDKIOSK_POPSYS_CLIENT_TOKENS", hide_env_values = true)]
    client_tokens: Option<String>,
    /// Let callers choose the day with `on` (tests and demos only; otherwise the server's date,
    /// IDKIOSK_TODAY in demos, is the only date); also the file's `allow_caller_dates`
    #[arg(long)]
    allow_caller_dates: bool,
    /// The population system's configuration file (or IDKIOSK_CONFIG; docs/configuration.md)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The environment variable with the clients' tokens of `popsys serve`.
pub const CLIENT_TOKENS_ENV: &str = "IDKIOSK_POPSYS_CLIENT_TOKENS";

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
    /// [default: the configuration file's `city`]
    #[arg(long)]
    city: Option<String>,
    /// The population system's configuration file (or IDKIOSK_CONFIG; docs/configuration.md,
    /// the demo's is config/demo/popsys.toml)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Reference date YYYY-MM-DD for ages and validity (default: today, or IDKIOSK_TODAY)
    #[arg(long)]
    today: Option<String>,
    /// Citizens per transaction
    #[arg(long, default_value_t = 10_000)]
    batch_size: usize,
    /// Write one row per INSERT statement (the slow baseline, for comparison)
    #[arg(long)]
    row_by_row: bool,
    /// The master key file sealing the photos, as for `popsys serve` (created if missing, 0600)
    #[arg(long, default_value = ".idkiosk/popsys/master.keys")]
    key_file: PathBuf,
}

/// Runs `idkiosk popsys`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        PopsysCommand::Serve(args) => serve(args).await,
        PopsysCommand::Seed(args) => seed(args).await,
        PopsysCommand::Studio(StudioCommand::Add(args)) => studio_add(args).await,
        PopsysCommand::Receipt(ReceiptCommand::Add(args)) => receipt_add(args).await,
        PopsysCommand::Produce(args) => produce::run(args).await,
    }
}

fn usage(message: impl std::fmt::Display) -> anyhow::Result<Outcome> {
    eprintln!("error: {message}");
    Ok(Outcome::Usage)
}

async fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    let settings = match crate::config::for_start(Kind::Popsys, args.config.as_deref()) {
        Ok(loaded) => loaded.and_then(|loaded| loaded.popsys()),
        Err(()) => return Ok(Outcome::Usage),
    };
    let Some(tokens) = args.client_tokens.clone() else {
        return usage(format!(
            "--client-tokens or {CLIENT_TOKENS_ENV} is required (name=TOKEN,…: the clients \
             allowed to call, e.g. center=$(openssl rand -hex 32))"
        ));
    };
    let clients = match popsys::ClientTokens::parse(&tokens) {
        Ok(clients) => clients,
        Err(err) => return usage(format!("--client-tokens: {err}")),
    };
    let today = crate::clock::checked_today_source()?;
    let store = store::Store::connect(&args.db)
        .await
        .with_context(|| format!("opening the database {}", redact(&args.db)))?;
    if let Some(dir) = args.key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private_files::create_dir(dir)?;
    }
    let store = crate::cmd_keys::sealed_store(store, &args.key_file).await?;
    let mut state = AppState::new(
        Arc::new(StorePopulationSystem::new(store.clone())),
        Arc::new(today),
        clients,
    );
    state.caller_dates = args.allow_caller_dates || settings.is_some_and(|s| s.allow_caller_dates);
    if state.caller_dates {
        tracing::warn!("callers may choose the date (--allow-caller-dates): tests and demos only");
    }
    let app = popsys::studio::StudioDesk::new(store.clone()).attach(popsys::app(state));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    println!("http://{address}");
    std::io::stdout().flush().context("writing the URL")?;
    tracing::info!(%address, backend = %store.backend(), "popsys listening");
    crate::shutdown::serve(|stop| popsys::serve(listener, app, stop))
        .await
        .context("serving")?;
    store.close().await;
    Ok(Outcome::Success)
}

async fn seed(args: SeedArgs) -> anyhow::Result<Outcome> {
    let settings = match crate::config::for_start(Kind::Popsys, args.config.as_deref()) {
        Ok(loaded) => loaded.and_then(|loaded| loaded.popsys()),
        Err(()) => return Ok(Outcome::Usage),
    };
    let city = match (&args.city, settings) {
        (Some(city), _) => match KioskCity::parse(city) {
            Ok(city) => city,
            Err(err) => return usage(format!("--city: {err}")),
        },
        (None, Some(settings)) => settings.city,
        (None, None) => {
            return usage(format!(
                "--city or a configuration file (--config FILE or {}) is required: the city \
                 whose districts are local (the demo's is config/demo/popsys.toml)",
                crate::config::CONFIG_ENV
            ))
        }
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
    if let Some(dir) = args.key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private_files::create_dir(dir)?;
    }
    let store = crate::cmd_keys::sealed_store(store, &args.key_file).await?;
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
    Ok(Outcome::Success)
}

async fn studio_add(args: StudioAddArgs) -> anyhow::Result<Outcome> {
    if let Err(why) = popsys::studio::check_studio_id(&args.id) {
        return usage(format!("--id: {why}"));
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
    let secret = popsys::studio::new_secret();
    let if_registered = if args.replace_secret {
        IfRegistered::ReplaceSecret
    } else {
        IfRegistered::Refuse
    };
    let done =
        popsys::studio::register_studio(&store, &args.id, &args.name, &secret, if_registered).await;
    store.close().await;
    let done = match done {
        Ok(done) => done,
        Err(err @ RegisterError::Exists(_)) => {
            eprintln!("error: --id: {err} (--replace-secret gives it a new secret)");
            return Ok(Outcome::Negative);
        }
        Err(RegisterError::BadId(why)) => return usage(format!("--id: {why}")),
        Err(err) => return Err(anyhow::Error::new(err)).context("registering the studio"),
    };
    println!(
        "{}",
        serde_json::json!({
            "studio": args.id,
            "name": args.name,
            "secret": secret,
            "registered": match done {
                Registered::Added => "added",
                Registered::SecretReplaced => "secret_replaced",
            },
        })
    );
    Ok(Outcome::Success)
}

async fn receipt_add(args: ReceiptAddArgs) -> anyhow::Result<Outcome> {
    let secret = match args.secret.filter(|s| !s.trim().is_empty()) {
        Some(secret) => secret.trim().to_owned(),
        None => match std::fs::read_to_string(&args.secret_file) {
            Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
            Ok(_) => {
                return usage(format!(
                    "--secret-file {}: empty",
                    args.secret_file.display()
                ))
            }
            Err(err) => {
                return usage(format!(
                    "no studio secret: give --secret (or IDKIOSK_STUDIO_SECRET), or \
                     --secret-file (the demo keeps its studio's in DATA_DIR/{STUDIO_SECRET_FILE}); \
                     {}: {err}",
                    args.secret_file.display()
                ))
            }
        },
    };
    let on = match &args.on {
        Some(text) => match Date::parse(text, format_description!("[year]-[month]-[day]")) {
            Ok(date) => Some(date),
            Err(_) => {
                return usage(format!(
                    "--on: {text:?} is not a date of the form YYYY-MM-DD"
                ))
            }
        },
        None => None,
    };
    let jpeg = match std::fs::read(&args.photo) {
        Ok(jpeg) => jpeg,
        Err(err) => return usage(format!("--photo {}: {err}", args.photo.display())),
    };
    let client = StudioClient::new(&args.url, &args.studio, &secret);
    match client.upload(args.citizen.trim(), &jpeg, on).await {
        Ok(receipt) => {
            println!(
                "{}",
                serde_json::to_string(&receipt).context("writing the receipt")?
            );
            Ok(Outcome::Success)
        }
        Err(err @ UploadError::Refused { .. }) => {
            eprintln!("error: {err}");
            Ok(Outcome::Negative)
        }
        Err(err) => Err(anyhow::Error::new(err)).context("uploading the photo"),
    }
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
