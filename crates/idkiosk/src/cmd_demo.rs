//! `idkiosk demo`: everything on one machine with demo data, on an embedded SQLite database.
//!
//! Today it starts the reference population system (seeded with the fixed demo citizens and
//! generated ones on first start) and the center, which reaches it over HTTP as it would reach a
//! bureau's system. The kiosk agent and the device simulators join as they are built.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use domain::region::KioskCity;
use popsys::seed::{demo, LoadPath, SeedConfig};
use popsys::StorePopulationSystem;

/// Arguments of `idkiosk demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder for the demo database (created if missing)
    #[arg(long, default_value = ".idkiosk/demo")]
    data_dir: PathBuf,
    /// Generated citizens on first start (the fixed demo citizens come on top)
    #[arg(long, default_value_t = 20_000)]
    citizens: u64,
    /// Random seed of the generated citizens
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The kiosk city
    #[arg(long, default_value = "320100")]
    city: String,
    /// Address of the center (port 0 picks a free one)
    #[arg(long, default_value = "127.0.0.1:7400")]
    center_listen: SocketAddr,
    /// Address of the population system (port 0 picks a free one)
    #[arg(long, default_value = "127.0.0.1:7401")]
    popsys_listen: SocketAddr,
}

/// Runs `idkiosk demo` until Ctrl-C or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let city = match KioskCity::parse(&args.city) {
        Ok(city) => city,
        Err(err) => {
            eprintln!("error: --city: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let today = crate::clock::checked_today_source()?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let db_url = format!("sqlite://{}", args.data_dir.join("demo.db").display());
    let store = store::Store::connect(&db_url)
        .await
        .with_context(|| format!("opening {db_url}"))?;

    if store.count_citizens().await? == 0 {
        eprintln!(
            "seeding {} demo citizens into {db_url} (first start only)…",
            args.citizens
        );
        let config = SeedConfig::new(args.citizens, args.seed, city.clone(), today());
        let summary = popsys::seed::seed(&store, &config, LoadPath::MultiRow, |_| {})
            .await
            .context("seeding the demo citizens")?;
        eprintln!(
            "seeded {} citizens in {:.1} s",
            summary.citizens, summary.seconds
        );
    }

    let popsys_listener = tokio::net::TcpListener::bind(args.popsys_listen)
        .await
        .with_context(|| format!("listening on {} for popsys", args.popsys_listen))?;
    let popsys_url = format!("http://{}", popsys_listener.local_addr()?);
    let popsys_app = popsys::app(popsys::AppState {
        popsys: Arc::new(StorePopulationSystem::new(store.clone())),
        today: Arc::new(today),
    });

    let center_listener = tokio::net::TcpListener::bind(args.center_listen)
        .await
        .with_context(|| format!("listening on {} for the center", args.center_listen))?;
    let center_url = format!("http://{}", center_listener.local_addr()?);
    let population = popsys::HttpPopulationSystem::new(&popsys_url).context("popsys client")?;
    let center_state = crate::center_setup::center_state(
        Arc::new(population),
        crate::center_setup::CenterOptions {
            database_url: format!("sqlite://{}", args.data_dir.join("center.db").display()),
            kiosk_city: city,
            kiosk_secrets: "K0001=demo-secret".to_owned(),
            wechat: None,
            face: true,
            key_file: args.data_dir.join("center.keys"),
            blob_dir: args.data_dir.join("blobs"),
        },
    )
    .await?;
    let center_app = center::app(center_state);

    println!("idkiosk demo is running (Ctrl-C stops it)");
    println!("  center (kiosk API):  {center_url}   e.g. POST {center_url}/v1/scope");
    println!(
        "  population system:   {popsys_url}   e.g. GET {popsys_url}/v1/citizens/{}",
        demo::RENEWAL_IN_WINDOW
    );
    println!("  database:            {db_url}");
    println!("try a scope lookup for a demo citizen (see docs/popsys.md for the others):");
    println!(
        "  curl -s {center_url}/v1/scope -H 'content-type: application/json' -d '{{\"business\":\"lost\",\"household\":\"province\",\"id\":\"{}\"}}'",
        demo::PROVINCE_REGISTERED_REMOTE
    );

    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut popsys_stop = stop_tx.subscribe();
    let mut center_stop = stop_tx.subscribe();
    let popsys_task = tokio::spawn(async move {
        axum::serve(popsys_listener, popsys_app)
            .with_graceful_shutdown(async move {
                let _ = popsys_stop.recv().await;
            })
            .await
    });
    let center_task = tokio::spawn(async move {
        axum::serve(center_listener, center_app)
            .with_graceful_shutdown(async move {
                let _ = center_stop.recv().await;
            })
            .await
    });
    crate::shutdown::signal().await;
    let _ = stop_tx.send(());
    popsys_task
        .await
        .context("popsys task")?
        .context("serving popsys")?;
    center_task
        .await
        .context("center task")?
        .context("serving the center")?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
