//! `idkiosk center`: runs the center's HTTP API.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use center::AppState;
use domain::region::KioskCity;
use popsys::HttpPopulationSystem;

/// Arguments of `idkiosk center`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7400")]
    listen: String,
    /// Base URL of the population system's HTTP API.
    #[arg(long, default_value = "http://127.0.0.1:7401")]
    popsys: String,
    /// The city the kiosks stand in (GB/T 2260 code ending in 00).
    #[arg(long, default_value = "320100")]
    city: String,
}

/// Runs `idkiosk center` until SIGTERM or Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kiosk_city = match KioskCity::parse(&args.city) {
        Ok(city) => city,
        Err(err) => {
            eprintln!("error: --city: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let population = HttpPopulationSystem::new(&args.popsys)
        .with_context(|| format!("--popsys: {}", args.popsys))?;
    let state = AppState {
        population: Arc::new(population),
        today: Arc::new(crate::clock::checked_today_source()?),
        kiosk_city,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!(
        "{}",
        serde_json::json!({ "center": format!("http://{address}") })
    );
    axum::serve(listener, center::app(state))
        .with_graceful_shutdown(crate::shutdown::signal())
        .await
        .context("serving the center")?;
    Ok(ExitCode::SUCCESS)
}
