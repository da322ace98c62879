//! Load benchmark of the center's kiosk session calls over HTTP on loopback (issue 9,
//! "Performance"): many simulated kiosks, each looping a kiosk session, against one or two center
//! replicas.
//!
//! For each backend (SQLite always; PostgreSQL when `IDKIOSK_TEST_PG_URL` is set) it seeds
//! `IDKIOSK_BENCH_CITIZENS` citizens (default 1,000,000) with `popsys::seed`, starts the center's
//! router (in-process axum on a real loopback TCP port, its own connection pool), and runs
//! `IDKIOSK_BENCH_KIOSKS` simulated kiosks (default 200) for `IDKIOSK_BENCH_SECONDS` (default 10)
//! each. Every kiosk is its own [`CenterClient`] (its own keep-alive connection, its own kiosk id
//! and secret) and loops this session, with no think time:
//!
//! 1. `POST /v1/scope` (steps 4–5) for a random generated citizen (`lost`, `local`);
//! 2. `POST /v1/sessions/{sid}/receipt` (step 6) with a new session id: the citizen's own studio
//!    receipt when the generator gave them one (about 6 % of adults), else a code not on file;
//! 3. `PUT /v1/sessions/{sid}/blobs/signature` (step 9): a 4 KiB PNG-headed body, sealed at rest;
//! 4. `POST /v1/sessions/{sid}/end` (referred at step 7, `service_unavailable`).
//!
//! Not in the mix: `faces` needs a face engine and photos (the generated citizens have no photo
//! bytes), and `application` refuses a session whose faces were not compared and passed, so
//! neither can be called honestly here; payments need a payment provider and documents a PDF
//! renderer with its fonts. The mix is the calls a session makes without them.
//!
//! Paths, per backend:
//! - baseline: `GET /health` over HTTP from the same kiosks, no think time (what HTTP, routing and
//!   the shared cores cost without a database);
//! - the session mix against one replica, saturating (no think time: the most it serves, and the
//!   latency at that queue of 200 kiosks), then paced: all kiosks together offering
//!   `IDKIOSK_BENCH_RATE` calls/s (default 2,000, the goal), latency counted from each
//!   call's slot so a late start counts;
//! - PostgreSQL only: the same two against two replicas (two routers, two ports, two pools, one
//!   database), the kiosks split between them, and the ratio two ÷ one of the saturating calls/s.
//!
//! Each replica has the store's default pool (8 connections). Each kiosk connects before the clock
//! starts (one uncounted `GET /health`).
//!
//! It prints calls/s, sessions/s and p50/p99 latency over all calls, then p50/p99 per call.
//! Client, servers and (for PostgreSQL) the database share this machine's cores, as they would not
//! in production: the figures are a floor.
//!
//! Run: `cargo bench -p center --bench session_load` (with `eval "$(scripts/dev-pg.sh)"` first
//! for PostgreSQL).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use center::auth::KioskSecrets;
use center::client::CenterClient;
use center::steps::ReceiptRequest;
use center::wire::ScopeRequest;
use center::AppState;
use domain::region::KioskCity;
use domain::session::{ReferralReason, SessionId, SessionOutcome};
use popsys::seed::{Generator, LoadPath, SeedConfig};
use popsys::StorePopulationSystem;
use rand::{Rng, SeedableRng};
use store::testing::TestDatabase;
use store::Store;
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 25);
/// The generated citizens the kiosks draw from (the first ones the seed wrote).
const SAMPLE: usize = 20_000;
/// The call kinds, in session order, then the baseline.
const CALLS: [&str; 5] = ["scope", "receipt", "blob", "end", "health"];
const HEALTH: usize = 4;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn kiosk_id(k: u64) -> String {
    format!("B{k:04}")
}

fn kiosk_secret(k: u64) -> String {
    format!("bench-secret-{k:04}")
}

/// A citizen a kiosk may serve, with their unused studio receipt if they have one.
struct Citizen {
    id: String,
    receipt: Option<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// What one run measured.
struct Run {
    seconds: f64,
    sessions: u64,
    errors: u64,
    first_error: Option<String>,
    /// All successful calls' latencies, sorted.
    all: Vec<Duration>,
    /// Per call kind ([`CALLS`]), sorted.
    per_call: Vec<Vec<Duration>>,
}

impl Run {
    fn calls_per_second(&self) -> f64 {
        self.all.len() as f64 / self.seconds
    }
}

/// What one kiosk measured.
#[derive(Default)]
struct KioskFigures {
    sessions: u64,
    errors: u64,
    first_error: Option<String>,
    calls: Vec<(usize, Duration)>,
}

impl KioskFigures {
    /// Times `call` as kind `kind` from `due` (when it was due: its start in a saturating run,
    /// its slot in a paced one, so a late start counts); `false` when it failed (the session is
    /// abandoned).
    async fn time<T, E: std::fmt::Display>(
        &mut self,
        kind: usize,
        due: Instant,
        call: impl std::future::Future<Output = Result<T, E>>,
    ) -> bool {
        self.answer(kind, due, call).await.is_some()
    }

    /// [`Self::time`], keeping the answer.
    async fn answer<T, E: std::fmt::Display>(
        &mut self,
        kind: usize,
        due: Instant,
        call: impl std::future::Future<Output = Result<T, E>>,
    ) -> Option<T> {
        let began = due;
        match call.await {
            Ok(answer) => {
                self.calls.push((kind, began.elapsed()));
                Some(answer)
            }
            Err(err) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{}: {err}", CALLS[kind]));
                }
                None
            }
        }
    }
}

/// How the kiosks load the center.
#[derive(Debug, Clone, Copy)]
enum Load {
    /// `GET /health` in a loop, no think time.
    Health,
    /// The session mix in a loop, no think time: the most the center serves.
    Saturate,
    /// The session mix with all kiosks together offering `rate` calls/s, each kiosk one call every
    /// `kiosks ÷ rate` seconds, slots staggered; latency counts from the slot, so a call started
    /// late because the one before was slow counts its wait (no coordinated omission).
    Paced { rate: f64 },
}

/// When each call is due.
struct Pacer(Option<tokio::time::Interval>);

impl Pacer {
    fn new(load: Load, k: u64, kiosks: u64, start: Instant) -> Pacer {
        match load {
            Load::Paced { rate } => {
                let period = Duration::from_secs_f64(kiosks as f64 / rate);
                let first = start + period.mul_f64(k as f64 / kiosks as f64);
                // Burst: a late kiosk catches up, as queued citizens would.
                Pacer(Some(tokio::time::interval_at(
                    tokio::time::Instant::from_std(first),
                    period,
                )))
            }
            Load::Health | Load::Saturate => Pacer(None),
        }
    }

    async fn due(&mut self) -> Instant {
        match &mut self.0 {
            Some(ticker) => ticker.tick().await.into_std(),
            None => Instant::now(),
        }
    }
}

/// One simulated kiosk: sessions (or health checks) until `duration` has passed.
#[allow(clippy::too_many_arguments)]
async fn kiosk(
    k: u64,
    kiosks: u64,
    run: &'static str,
    client: CenterClient,
    citizens: Arc<Vec<Citizen>>,
    load: Load,
    start: Instant,
    duration: Duration,
) -> KioskFigures {
    let mut rng = rand::rngs::StdRng::seed_from_u64(k);
    let mut figures = KioskFigures::default();
    let mut pacer = Pacer::new(load, k, kiosks, start);
    let end = start + duration;
    // A signature as the pad sends it: PNG magic, then bytes.
    let mut signature = b"\x89PNG\r\n\x1a\n".to_vec();
    signature.extend((0..4096u32).map(|i| (i * 31 % 251) as u8));
    let outcome = SessionOutcome::Referred {
        step: 7,
        reason: ReferralReason::ServiceUnavailable,
    };
    let mut n = 0u64;
    loop {
        let due = pacer.due().await;
        if due >= end {
            break;
        }
        if let Load::Health = load {
            figures.time(HEALTH, due, client.health()).await;
            continue;
        }
        n += 1;
        let citizen = &citizens[rng.gen_range(0..citizens.len())];
        let scope = ScopeRequest {
            business: "lost".into(),
            household: "local".into(),
            id: citizen.id.clone(),
            card: None,
        };
        let sid = SessionId::parse(&format!("{run}-{k}-{n}")).expect("a session id");
        // Step 5 bound to the session: steps 6 and later are only for an accepted case.
        let Some(decided) = figures
            .answer(0, due, client.session_scope(&sid, &scope))
            .await
        else {
            continue;
        };
        if decided.outcome != "accept" {
            let due = pacer.due().await;
            if figures.time(3, due, client.end(&sid, &outcome)).await {
                figures.sessions += 1;
            }
            continue;
        }
        let receipt = ReceiptRequest {
            id: citizen.id.clone(),
            receipt: citizen
                .receipt
                .clone()
                .unwrap_or_else(|| format!("PS20261125{}", rng.gen_range(9_000_000..9_999_999))),
        };
        let due = pacer.due().await;
        if !figures.time(1, due, client.receipt(&sid, &receipt)).await {
            continue;
        }
        let due = pacer.due().await;
        if !figures
            .time(
                2,
                due,
                client.put_blob(&sid, "signature", signature.clone()),
            )
            .await
        {
            continue;
        }
        let due = pacer.due().await;
        if figures.time(3, due, client.end(&sid, &outcome)).await {
            figures.sessions += 1;
        }
    }
    figures
}

/// `kiosks` kiosks, kiosk `k` on replica `k % addresses.len()`, for `duration`. Each kiosk
/// connects first (one `GET /health`, not counted).
async fn drive(
    run: &'static str,
    addresses: &[SocketAddr],
    kiosks: u64,
    citizens: Arc<Vec<Citizen>>,
    load: Load,
    duration: Duration,
) -> Run {
    let clients: Vec<CenterClient> = (0..kiosks)
        .map(|k| {
            let address = addresses[(k as usize) % addresses.len()];
            CenterClient::new(&format!("http://{address}"), &kiosk_id(k), &kiosk_secret(k))
        })
        .collect();
    let mut warm = Vec::new();
    for client in &clients {
        let client = client.clone();
        warm.push(tokio::spawn(async move { client.health().await }));
    }
    for task in warm {
        task.await
            .expect("a warm-up task")
            .expect("the center answers");
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (k, client) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(kiosk(
            k as u64,
            kiosks,
            run,
            client,
            citizens.clone(),
            load,
            start,
            duration,
        )));
    }
    let mut sessions = 0;
    let mut errors = 0;
    let mut first_error = None;
    let mut all = Vec::new();
    let mut per_call = vec![Vec::new(); CALLS.len()];
    for task in tasks {
        let figures = task.await.expect("a kiosk task");
        sessions += figures.sessions;
        errors += figures.errors;
        first_error = first_error.or(figures.first_error);
        for (kind, latency) in figures.calls {
            all.push(latency);
            per_call[kind].push(latency);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    all.sort_unstable();
    for latencies in &mut per_call {
        latencies.sort_unstable();
    }
    Run {
        seconds,
        sessions,
        errors,
        first_error,
        all,
        per_call,
    }
}

/// One center replica on its own store handle (pool) and loopback port.
async fn replica(store: Store, kiosks: u64) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let city = KioskCity::parse("320100").expect("320100");
    let state = AppState::new(
        Arc::new(StorePopulationSystem::new(store.clone())),
        Arc::new(|| TODAY),
        city,
        KioskSecrets::new((0..kiosks).map(|k| (kiosk_id(k), kiosk_secret(k)))),
        store,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = center::app(state);
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (address, server)
}

/// The first field of `/proc/loadavg` (other work on the machine), or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn print_run(label: &str, path: &str, run: &Run) {
    println!(
        "| {label} | {path} | {:.0} | {:.0} | {:.2} | {:.2} | {} | {} |",
        run.calls_per_second(),
        run.sessions as f64 / run.seconds,
        percentile(&run.all, 0.50),
        percentile(&run.all, 0.99),
        run.errors,
        load_average()
    );
    if let Some(error) = &run.first_error {
        eprintln!("[{label}] {path}: first error: {error}");
    }
}

/// The run's settings.
#[derive(Debug, Clone, Copy)]
struct Settings {
    citizens: u64,
    kiosks: u64,
    duration: Duration,
    /// Calls/s offered by the paced runs.
    rate: f64,
}

/// Starts `replicas` replicas (each its own store handle) and runs the session mix saturating,
/// then paced; returns the saturating run and the paced one.
async fn session_runs(
    label: &str,
    database: &TestDatabase,
    replicas: usize,
    names: [&'static str; 2],
    sample: &Arc<Vec<Citizen>>,
    settings: Settings,
) -> (Run, Run) {
    let mut stores = Vec::new();
    let mut servers = Vec::new();
    let mut addresses = Vec::new();
    for _ in 0..replicas {
        let store = database.reconnect().await.expect("a store handle");
        let (address, server) = replica(store.clone(), settings.kiosks).await;
        stores.push(store);
        servers.push(server);
        addresses.push(address);
    }
    let plural = if replicas == 1 { "replica" } else { "replicas" };
    let saturated = drive(
        names[0],
        &addresses,
        settings.kiosks,
        sample.clone(),
        Load::Saturate,
        settings.duration,
    )
    .await;
    print_run(
        label,
        &format!("session mix, {replicas} {plural}, saturating"),
        &saturated,
    );
    let paced = drive(
        names[1],
        &addresses,
        settings.kiosks,
        sample.clone(),
        Load::Paced {
            rate: settings.rate,
        },
        settings.duration,
    )
    .await;
    print_run(
        label,
        &format!(
            "session mix, {replicas} {plural}, paced at {:.0} calls/s",
            settings.rate
        ),
        &paced,
    );
    for server in servers {
        server.abort();
    }
    for store in stores {
        store.close().await;
    }
    (saturated, paced)
}

async fn run_backend(
    label: &'static str,
    database: TestDatabase,
    settings: Settings,
    two_replicas: bool,
    per_call: &mut Vec<(String, Run)>,
) {
    let city = KioskCity::parse("320100").expect("320100");
    let config = SeedConfig::new(settings.citizens, 7, city, TODAY);
    let seeded = popsys::seed::seed(database.store(), &config, LoadPath::MultiRow, |_| {})
        .await
        .expect("seeding");
    eprintln!(
        "[{label}] seeded {} citizens in {:.1} s ({:.0} rows/s)",
        seeded.citizens, seeded.seconds, seeded.rows_per_second
    );

    // The same generator again gives the citizens that were seeded, with their receipts.
    let mut generator = Generator::new(&config).expect("generator");
    let sample: Arc<Vec<Citizen>> = Arc::new(
        (0..SAMPLE.min(settings.citizens as usize))
            .map(|_| {
                let bundle = generator.next_citizen();
                Citizen {
                    id: bundle.citizen.id.as_str().to_owned(),
                    receipt: bundle
                        .receipts
                        .iter()
                        .find(|r| r.used_on.is_none())
                        .map(|r| r.code.as_str().to_owned()),
                }
            })
            .collect(),
    );
    eprintln!(
        "[{label}] {} sample citizens, {} with an unused receipt",
        sample.len(),
        sample.iter().filter(|c| c.receipt.is_some()).count()
    );

    // The baseline: HTTP and routing alone, one replica.
    {
        let store = database.reconnect().await.expect("a store handle");
        let (address, server) = replica(store.clone(), settings.kiosks).await;
        let health = drive(
            "health",
            &[address],
            settings.kiosks,
            sample.clone(),
            Load::Health,
            settings.duration,
        )
        .await;
        print_run(label, "baseline: `GET /health`, 1 replica", &health);
        server.abort();
        store.close().await;
    }

    let (single, single_paced) =
        session_runs(label, &database, 1, ["one", "one-paced"], &sample, settings).await;
    let single_rate = single.calls_per_second();
    per_call.push((format!("{label}, 1 replica, saturating"), single));
    per_call.push((format!("{label}, 1 replica, paced"), single_paced));

    if two_replicas {
        let (double, double_paced) =
            session_runs(label, &database, 2, ["two", "two-paced"], &sample, settings).await;
        println!(
            "| {label} | ratio 2 replicas ÷ 1, saturating (calls/s) | {:.2} | | | | | |",
            double.calls_per_second() / single_rate
        );
        per_call.push((format!("{label}, 2 replicas, saturating"), double));
        per_call.push((format!("{label}, 2 replicas, paced"), double_paced));
    }
    database.finish().await;
}

fn main() {
    let settings = Settings {
        citizens: env_number("IDKIOSK_BENCH_CITIZENS", 1_000_000),
        kiosks: env_number("IDKIOSK_BENCH_KIOSKS", 200),
        duration: Duration::from_secs(env_number("IDKIOSK_BENCH_SECONDS", 10)),
        rate: env_number("IDKIOSK_BENCH_RATE", 2_000) as f64,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "kiosk session calls, {} citizens, {} simulated kiosks, {} s per path",
            settings.citizens,
            settings.kiosks,
            settings.duration.as_secs()
        );
        println!("| backend | path | calls/s | sessions/s | p50 ms | p99 ms | errors | load avg |");
        println!("|---|---|---|---|---|---|---|---|");
        let mut per_call = Vec::new();
        let sqlite = TestDatabase::sqlite().await.expect("a SQLite database");
        run_backend("sqlite", sqlite, settings, false, &mut per_call).await;
        match std::env::var(store::testing::PG_URL_VAR) {
            Ok(url) if !url.is_empty() => {
                let pg = TestDatabase::postgres(&url)
                    .await
                    .expect("a PostgreSQL database");
                run_backend("postgres", pg, settings, true, &mut per_call).await;
            }
            _ => eprintln!(
                "PostgreSQL skipped: {} is not set",
                store::testing::PG_URL_VAR
            ),
        }
        println!();
        println!("per call (p50 / p99 ms)");
        println!("| run | scope | receipt | blob | end |");
        println!("|---|---|---|---|---|");
        for (label, run) in &per_call {
            let cells: Vec<String> = run.per_call[..HEALTH]
                .iter()
                .map(|l| format!("{:.2} / {:.2}", percentile(l, 0.50), percentile(l, 0.99)))
                .collect();
            println!("| {label} | {} |", cells.join(" | "));
        }
    });
}
