//! Seeding throughput: rows per second writing demo citizens, multi-row path against the
//! row-per-statement baseline, on SQLite and (when `IDKIOSK_TEST_PG_URL` is set) PostgreSQL.
//!
//! `cargo bench -p popsys --bench seed`. Sizes: `IDKIOSK_SEED_N` (default 1,000,000) for the
//! multi-row path, `IDKIOSK_SEED_BASELINE_N` (default 50,000) for the baseline, which is compared
//! with the multi-row path at that same size. Prints one line per run and one JSON object per
//! backend with the ratio.

use std::time::Instant;

use domain::region::KioskCity;
use popsys::seed::{seed, LoadPath, SeedConfig, SeedSummary};
use store::testing::TestDatabase;
use time::macros::date;

fn size(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|text| text.replace('_', "").parse().ok())
        .unwrap_or(default)
}

async fn run(db: &TestDatabase, citizens: u64, path: LoadPath) -> SeedSummary {
    let city = KioskCity::parse("320100").expect("320100 is a city");
    let mut config = SeedConfig::new(citizens, 42, city, date!(2026 - 11 - 25));
    config.with_fixed = false;
    let started = Instant::now();
    let mut last = 0.0;
    let summary = seed(db.store(), &config, path, |progress| {
        let now = progress.elapsed.as_secs_f64();
        if now - last >= 5.0 {
            last = now;
            eprintln!("  … {} citizens, {} rows", progress.citizens, progress.rows);
        }
    })
    .await
    .expect("seed");
    eprintln!(
        "{:<8} {:<10} {:>9} citizens {:>9} rows in {:>6.2} s: {:>9.0} rows/s ({:.0} citizens/s), wall {:.2} s",
        summary.backend,
        match path {
            LoadPath::MultiRow => "multi-row",
            LoadPath::RowByRow => "row-by-row",
        },
        summary.citizens,
        summary.rows,
        summary.seconds,
        summary.rows_per_second,
        summary.citizens_per_second,
        started.elapsed().as_secs_f64()
    );
    summary
}

async fn backend(
    name: &str,
    make: impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = TestDatabase>>>,
) {
    let n = size("IDKIOSK_SEED_N", 1_000_000);
    let baseline_n = size("IDKIOSK_SEED_BASELINE_N", 50_000);
    let db = make().await;
    let fast = run(&db, n, LoadPath::MultiRow).await;
    db.finish().await;
    // The same size on both paths: the B-trees grow with N, so only equal sizes compare.
    let db = make().await;
    let fast_small = run(&db, baseline_n, LoadPath::MultiRow).await;
    db.finish().await;
    let db = make().await;
    let slow = run(&db, baseline_n, LoadPath::RowByRow).await;
    db.finish().await;
    println!(
        "{}",
        serde_json::json!({
            "backend": name,
            "citizens": fast.citizens,
            "rows": fast.rows,
            "seconds": fast.seconds,
            "rows_per_second": fast.rows_per_second,
            "baseline_citizens": slow.citizens,
            "baseline_rows_per_second": slow.rows_per_second,
            "baseline_size_multi_row_rows_per_second": fast_small.rows_per_second,
            "speedup_over_baseline_same_size": fast_small.rows_per_second / slow.rows_per_second,
        })
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small then.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    if quick {
        std::env::set_var(
            "IDKIOSK_SEED_N",
            std::env::var("IDKIOSK_SEED_N").unwrap_or("2000".into()),
        );
        std::env::set_var(
            "IDKIOSK_SEED_BASELINE_N",
            std::env::var("IDKIOSK_SEED_BASELINE_N").unwrap_or("500".into()),
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        backend("sqlite", || {
            Box::pin(async { TestDatabase::sqlite().await.expect("sqlite") })
        })
        .await;
        match std::env::var(store::testing::PG_URL_VAR) {
            Ok(url) if !url.is_empty() => {
                backend("postgres", || {
                    let url = url.clone();
                    Box::pin(async move { TestDatabase::postgres(&url).await.expect("postgres") })
                })
                .await
            }
            _ => eprintln!(
                "postgres SKIPPED: {} is not set",
                store::testing::PG_URL_VAR
            ),
        }
    });
}
