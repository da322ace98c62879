//! Load benchmark of the center's scope lookup (steps 2–5) over HTTP on loopback.
//!
//! For each backend (SQLite always; PostgreSQL when `IDKIOSK_TEST_PG_URL` is set) it seeds
//! `IDKIOSK_BENCH_CITIZENS` citizens (default 1,000,000), then runs `IDKIOSK_BENCH_CLIENTS`
//! concurrent clients (default 64) for `IDKIOSK_BENCH_SECONDS` (default 10) against:
//! - the baseline: the same lookups and decisions called in-process on the population adapter,
//!   no HTTP (what the database and the rules cost);
//! - the center: `POST /v1/scope` over HTTP/1.1 keep-alive on loopback.
//!
//! It prints requests/s and p50/p99 latency for both, and the ratio center ÷ baseline. Client and
//! server share this machine's cores, as they would not in production: the figures are a floor.
//!
//! Run: `cargo bench -p center --bench scope_load` (with `eval "$(scripts/dev-pg.sh)"` first for
//! PostgreSQL).

use std::sync::Arc;
use std::time::{Duration, Instant};

use center::AppState;
use domain::region::KioskCity;
use domain::rules::{decide, Business, Household, ScopeCase};
use popsys::seed::{Generator, LoadPath, SeedConfig};
use popsys::{PopulationSystem, StorePopulationSystem};
use rand::{Rng, SeedableRng};
use store::testing::TestDatabase;
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 25);
const SAMPLE: usize = 20_000;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Figures {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn figures(mut latencies: Vec<Duration>, seconds: f64) -> Figures {
    latencies.sort_unstable();
    Figures {
        requests: latencies.len() as u64,
        seconds,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
    }
}

/// Runs `clients` tasks calling `call(id)` on random sample ids until `duration` has passed.
async fn drive<F, Fut>(ids: Arc<Vec<String>>, clients: u64, duration: Duration, call: F) -> Figures
where
    F: Fn(String) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let ids = ids.clone();
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(client);
            let mut latencies = Vec::new();
            while start.elapsed() < duration {
                let id = ids[rng.gen_range(0..ids.len())].clone();
                let began = Instant::now();
                call(id).await;
                latencies.push(began.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("a client task"));
    }
    figures(all, start.elapsed().as_secs_f64())
}

async fn run_backend(
    label: &str,
    database: TestDatabase,
    citizens: u64,
    clients: u64,
    duration: Duration,
) {
    let city = KioskCity::parse("320100").expect("320100");
    let store = database.store().clone();
    let config = SeedConfig::new(citizens, 7, city.clone(), TODAY);
    let seeded = popsys::seed::seed(&store, &config, LoadPath::MultiRow, |_| {})
        .await
        .expect("seeding");
    eprintln!(
        "[{label}] seeded {} citizens in {:.1} s ({:.0} rows/s)",
        seeded.citizens, seeded.seconds, seeded.rows_per_second
    );

    // The same generator again gives the ids that were seeded.
    let mut generator = Generator::new(&config).expect("generator");
    let ids: Arc<Vec<String>> = Arc::new(
        (0..SAMPLE.min(citizens as usize))
            .map(|_| generator.next_citizen().citizen.id.as_str().to_owned())
            .collect(),
    );

    let population: Arc<dyn PopulationSystem> = Arc::new(StorePopulationSystem::new(store.clone()));

    // Baseline: adapter + rules in-process.
    let baseline = {
        let population = population.clone();
        let city = city.clone();
        drive(ids.clone(), clients, duration, move |id| {
            let population = population.clone();
            let city = city.clone();
            async move {
                let id = domain::id::CitizenId::parse(&id, TODAY).expect("seeded ids are valid");
                let record = population.citizen(&id, &city, TODAY).await.expect("lookup");
                let case = ScopeCase {
                    today: TODAY,
                    kiosk_city: city,
                    business: Business::Lost,
                    household: Household::Local,
                    id,
                    card: None,
                    record: record.map(|r| r.population_record()),
                };
                std::hint::black_box(decide(&case).expect("decision"));
            }
        })
        .await
    };

    // The center over HTTP.
    let app = center::app(AppState::new(
        population,
        Arc::new(|| TODAY),
        city,
        center::auth::KioskSecrets::new([("BENCH", "bench-secret")]),
        store.clone(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/v1/scope",
        listener.local_addr().expect("address")
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .build()
        .expect("client");
    let over_http = drive(ids, clients, duration, move |id| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let body = format!(r#"{{"business":"lost","household":"local","id":"{id}"}}"#);
            let response = client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-kiosk-id", "BENCH")
                .header("authorization", "Bearer bench-secret")
                .body(body)
                .send()
                .await
                .expect("the center answers");
            assert!(
                response.status().is_success(),
                "status {}",
                response.status()
            );
            std::hint::black_box(response.bytes().await.expect("body"));
        }
    })
    .await;
    server.abort();

    println!(
        "| {label} | baseline: adapter + rules in-process | {:.0} | {:.2} | {:.2} |",
        baseline.per_second(),
        baseline.p50_ms,
        baseline.p99_ms
    );
    println!(
        "| {label} | center: POST /v1/scope over HTTP | {:.0} | {:.2} | {:.2} |",
        over_http.per_second(),
        over_http.p50_ms,
        over_http.p99_ms
    );
    println!(
        "| {label} | ratio center ÷ baseline | {:.2} | | |",
        over_http.per_second() / baseline.per_second()
    );
    database.finish().await;
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing useful either way.
    let citizens = env_number("IDKIOSK_BENCH_CITIZENS", 1_000_000);
    let clients = env_number("IDKIOSK_BENCH_CLIENTS", 64);
    let duration = Duration::from_secs(env_number("IDKIOSK_BENCH_SECONDS", 10));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "scope lookup, {citizens} citizens, {clients} concurrent clients, {} s each",
            duration.as_secs()
        );
        println!("| backend | path | requests/s | p50 ms | p99 ms |");
        println!("|---|---|---|---|---|");
        let sqlite = TestDatabase::sqlite().await.expect("a SQLite database");
        run_backend("sqlite", sqlite, citizens, clients, duration).await;
        match std::env::var(store::testing::PG_URL_VAR) {
            Ok(url) if !url.is_empty() => {
                let pg = TestDatabase::postgres(&url)
                    .await
                    .expect("a PostgreSQL database");
                run_backend("postgres", pg, citizens, clients, duration).await;
            }
            _ => eprintln!(
                "PostgreSQL skipped: {} is not set",
                store::testing::PG_URL_VAR
            ),
        }
    });
}
