//! Load benchmark of a whole kiosk session against the center (issue 18 item 4): the full mix a
//! kiosk makes, on loopback HTTP, with the real dlib face engine, the real in-process WeChat Pay
//! simulator (paysim) calling the center back, and the PDF renderer.
//!
//! One session, each call as the kiosk makes it (`center::client::CenterClient`):
//!
//! 1. `POST /v1/sessions/{sid}/scope` (`lost`, `local`) for a citizen not served before;
//! 2. `POST …/receipt` with the citizen's own studio receipt (certified photo on file);
//! 3. `POST …/faces`: the live photo (a 358 × 441 crop of another picture of the same man) against
//!    the historical photo, the certified photo against it too, with the kiosk's liveness score
//!    (as a kiosk sends it, so the center does not run its liveness fallback);
//! 4. `PUT …/blobs/signature`, `…/fingerprint_1`, `…/fingerprint_2`;
//! 5. `POST …/application`;
//! 6. `POST …/payments` (WeChat, attempt 1), then the payer pays at paysim (`/sim/pay`), paysim
//!    calls the center's `/v1/payments/wechat/notify` (signed, encrypted), and the kiosk polls
//!    `GET …/payments/1` every 50 ms until it reads `SUCCESS` ("paid": from the scan to that read);
//! 7. `GET …/documents/{certificate,form,notice}` (the PDFs);
//! 8. `POST …/end` completed, paid by WeChat.
//!
//! A call answered retryable (503 with `Retry-After`, e.g. a full face pool) is tried again after
//! 2 s, at most 5 times, as the kiosk's outbox does; its latency counts from the first try.
//!
//! Population: `IDKIOSK_BENCH_CITIZENS` generated citizens (default 1,000,000) written with the
//! store's bulk loader (`Store::bulk_loader`, popsys's generator). The generated citizens have
//! no photo bytes, so the first `IDKIOSK_BENCH_PHOTO_CITIZENS` (default 6,000) adults with a
//! card and a historical photo record get the demo faces (`popsys::seed::demo`, cut from
//! `.idkiosk/faces`): their historical photo (made unique per citizen by a JPEG comment, so the
//! center's embedding cache keyed by the photo's hash is a miss, as for a citizen seen the first
//! time) and a studio receipt whose certified photo is a second cut of the same picture. Before
//! the clock starts those whose scope is not `accept` are dropped (uncounted `POST /v1/scope`).
//! Each session takes the next unused one: a citizen with an application in progress cannot
//! start another.
//!
//! Runs, per backend (SQLite; PostgreSQL when `IDKIOSK_TEST_PG_URL` is set), each
//! `IDKIOSK_BENCH_SECONDS` long (default 20):
//! - baseline: the same mix with a constant face engine double (every picture one face, the same
//!   embedding), so everything but the face engine's work (photo decoding included) is done;
//!   closed loop, `IDKIOSK_BENCH_KIOSKS` kiosks (default 16: the face pool's 2 workers and queue
//!   of 16 on 2 cores), no think time;
//! - full mix with dlib, closed loop, the same kiosks: the most it serves;
//! - full mix with dlib, open loop: a new session every `1 ÷ IDKIOSK_BENCH_SESSION_RATE` s
//!   (default 16.5/s: the province's peak of 33/s on the two machines the issue's goal allows),
//!   whether or not earlier ones finished, on 64 kiosk clients; latency counts from the slot;
//! - PostgreSQL only: the full mix with dlib, closed loop, on two replicas (two routers, pools and
//!   face pools in this process, one database), the kiosks split between them;
//! - last, the historical photo's embedding kept beforehand for every citizen left (as the center
//!   keeps it once described: a citizen seen before, or photos described ahead of the peak), so
//!   the sessions describe only the live and certified photos: closed loop, then open loop.
//!
//! The kiosks and paysim run on their own tokio runtime (threads `bench-kiosk*`, kept for the
//! whole bench), the center (router, face pool, database threads) on the rest of the process, so
//! the center's CPU per session is this process's CPU in the run (`/proc/self/stat`) less the
//! kiosk threads' (`/proc/self/task/*/schedstat`), and sessions/s per core of center CPU is 1000
//! over that: what one core given to the center alone would serve, the kiosks and WeChat being
//! elsewhere (PostgreSQL's own processes are not in it either; SQLite's work is). The face
//! engine's time is measured by a wrapper around it (the CPU time its threads spent in its
//! `describe`, detect, landmarks and embed calls, from `/proc/thread-self/schedstat`); its share
//! is that over the center's CPU. Client, servers, paysim and PostgreSQL share this machine's
//! cores.
//!
//! Run: `cargo bench -p center --bench full_session_load` (with `eval "$(scripts/dev-pg.sh)"`
//! first for PostgreSQL). Needs `.idkiosk/models`, `.idkiosk/faces` (scripts/setup/20-face.sh)
//! and the Noto CJK fonts (scripts/setup/30-documents.sh).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use center::auth::KioskSecrets;
use center::client::CenterClient;
use center::payments::{CreatePaymentRequest, WechatPay};
use center::steps::{ApplicationRequest, FacesLiveness, FacesRequest, FingerJson, ReceiptRequest};
use center::wire::ScopeRequest;
use center::AppState;
use domain::region::KioskCity;
use domain::session::{Finger, PaymentMethod, SessionId, SessionOutcome};
use face::doubles::ColourEngine;
use face::{
    AlignedFace, Calibration, DescribedFace, Embedding, FaceBox, FaceEngine, FaceError, Landmarks,
    Picture,
};
use payment::sim::{RetryPolicy, SimConfig};
use payment::KeyPair;
use popsys::seed::{demo, Generator, SeedConfig};
use popsys::StorePopulationSystem;
use store::testing::TestDatabase;
use store::{CitizenBundle, NewReceipt, Store};
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 25);
/// The call kinds, in session order.
const CALLS: [&str; 9] = [
    "scope",
    "receipt",
    "faces",
    "blob",
    "application",
    "payment",
    "paid",
    "document",
    "end",
];
const OPEN_LOOP_CLIENTS: u64 = 64;
/// The name of the threads of the kiosks' (and paysim's) runtime.
const KIOSK_THREADS: &str = "bench-kiosk";
/// The demo bureau's file (config/demo/center.toml).
const DEMO_CENTER_TOML: &str = include_str!("../../../config/demo/center.toml");

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn kiosk_id(k: u64) -> String {
    format!("F{k:04}")
}

fn kiosk_secret(k: u64) -> String {
    format!("bench-secret-{k:04}")
}

// ---- face engines ------------------------------------------------------------------------------

/// A face engine that counts the time spent in it.
struct TimedEngine {
    inner: Arc<dyn FaceEngine>,
    nanos: AtomicU64,
}

impl TimedEngine {
    /// Runs `work`, counting the CPU time this thread spent in it (not the wall time: the
    /// machine is shared, and a face worker waiting for a core is not the engine's cost).
    fn timed<T>(&self, work: impl FnOnce() -> T) -> T {
        let began = thread_cpu_nanos();
        let answer = work();
        self.nanos
            .fetch_add(thread_cpu_nanos().saturating_sub(began), Ordering::Relaxed);
        answer
    }

    fn seconds(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 / 1e9
    }
}

impl FaceEngine for TimedEngine {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn version(&self) -> &str {
        self.inner.version()
    }
    fn calibration(&self) -> &Calibration {
        self.inner.calibration()
    }
    fn detect(&self, picture: &Picture) -> Result<Vec<FaceBox>, FaceError> {
        self.timed(|| self.inner.detect(picture))
    }
    fn landmarks(&self, picture: &Picture, face: &FaceBox) -> Result<Landmarks, FaceError> {
        self.timed(|| self.inner.landmarks(picture, face))
    }
    fn align(&self, picture: &Picture, landmarks: &Landmarks) -> Result<AlignedFace, FaceError> {
        self.timed(|| self.inner.align(picture, landmarks))
    }
    fn embed(&self, picture: &Picture, landmarks: &Landmarks) -> Result<Embedding, FaceError> {
        self.timed(|| self.inner.embed(picture, landmarks))
    }
    fn distance(&self, a: &Embedding, b: &Embedding) -> f64 {
        self.inner.distance(a, b)
    }
    // The engine's own describe (dlib's shares work between the steps), timed once.
    fn describe(&self, picture: &Picture) -> Result<DescribedFace, FaceError> {
        self.timed(|| self.inner.describe(picture))
    }
}

// ---- the population ----------------------------------------------------------------------------

#[derive(Clone)]
/// The photos of the mix: the demo citizen 王晓燕's historical and certified photos (cuts of
/// `obama.jpg`) and, as the live photo, a 358 × 441 cut of another picture of the same man.
struct Photos {
    historical: Vec<u8>,
    certified: Vec<u8>,
    live_base64: String,
}

impl Photos {
    fn load() -> anyhow::Result<Photos> {
        let need = |photo: Result<Option<Vec<u8>>, demo::FacesError>, what: &str| {
            photo
                .map_err(anyhow::Error::from)
                .and_then(|p| p.ok_or_else(|| anyhow::anyhow!("no {what} in the demo plans")))
        };
        let historical = need(
            demo::historical_photo(demo::RENEWAL_IN_WINDOW),
            "historical photo",
        )?;
        let certified = need(
            demo::certified_photo(demo::RENEWAL_IN_WINDOW),
            "certified photo",
        )?;
        // 赵桂兰's historical photo is a cut of obama3.jpg: what a kiosk's crop of that frame is.
        let live = need(demo::historical_photo(demo::LONG_TERM), "live photo")?;
        Ok(Photos {
            historical,
            certified,
            live_base64: base64::engine::general_purpose::STANDARD.encode(live),
        })
    }
}

/// `jpeg` with a comment segment naming `tag` after its start marker: the same pixels, other
/// bytes (another photo hash).
fn tagged_jpeg(jpeg: &[u8], tag: &str) -> Vec<u8> {
    let text = tag.as_bytes();
    let length = (text.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(text);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A citizen a session is for.
#[derive(Clone)]
struct Citizen {
    id: String,
    receipt: String,
}

/// Seeds `citizens` generated citizens with the bulk loader, the first `with_photos` adults with
/// a card and a historical photo record given the demo faces and a studio receipt; returns those.
async fn seed(
    store: &Store,
    citizens: u64,
    with_photos: usize,
    photos: &Photos,
) -> anyhow::Result<Vec<Citizen>> {
    let city = KioskCity::parse("320100")?;
    let config = SeedConfig::new(citizens, 7, city, TODAY);
    let mut generator = Generator::new(&config)?;
    let mut loader = store.bulk_loader().await?;
    let mut chosen = Vec::new();
    let mut made = 0;
    while made < citizens {
        let n = 5_000.min(citizens - made);
        let mut batch: Vec<CitizenBundle> = (0..n).map(|_| generator.next_citizen()).collect();
        made += n;
        for bundle in &mut batch {
            let adult = (TODAY.year() - bundle.citizen.birth_date.year()) >= 17;
            if chosen.len() >= with_photos
                || !adult
                || bundle.card.is_none()
                || bundle.history_photos.is_empty()
                || !bundle.applications.is_empty()
            {
                continue;
            }
            let id = bundle.citizen.id.as_str().to_owned();
            for photo in &mut bundle.history_photos {
                photo.jpeg = Some(tagged_jpeg(&photos.historical, &id));
            }
            // Codes 8,000,000 and up: the generator's counter stays far below.
            let code = format!("PS20261122{:07}", 8_000_000 + chosen.len());
            bundle.receipts = vec![NewReceipt {
                code: store::ReceiptCode::parse(&code)?,
                jpeg: Some(photos.certified.clone()),
                created_on: date!(2026 - 11 - 22),
                used_on: None,
            }];
            chosen.push(Citizen { id, receipt: code });
        }
        loader.load(&batch).await?;
    }
    loader.finish().await?;
    Ok(chosen)
}

// ---- measuring ---------------------------------------------------------------------------------

/// What sessions measured.
#[derive(Default)]
struct Figures {
    sessions: u64,
    errors: u64,
    /// Retryable answers (503) tried again.
    retries: u64,
    first_error: Option<String>,
    calls: Vec<(usize, Duration)>,
    session_times: Vec<Duration>,
}

impl Figures {
    /// Times `call` as kind `kind` from `due`, trying again after 2 s on a retryable answer (5
    /// tries); `None` when it failed (the session is abandoned).
    async fn call<T, F, Fut>(&mut self, kind: usize, due: Instant, mut call: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, center::client::ClientError>>,
    {
        for attempt in 1..=5 {
            match call().await {
                Ok(answer) => {
                    self.calls.push((kind, due.elapsed()));
                    return Some(answer);
                }
                Err(err) if err.is_retryable() && attempt < 5 => {
                    self.retries += 1;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(err) => {
                    self.fail(kind, format!("{err:?}"));
                    return None;
                }
            }
        }
        None
    }

    fn fail(&mut self, kind: usize, err: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{}: {err}", CALLS[kind]));
        }
    }

    fn merge(&mut self, other: Figures) {
        self.sessions += other.sessions;
        self.errors += other.errors;
        self.retries += other.retries;
        self.first_error = self.first_error.take().or(other.first_error);
        self.calls.extend(other.calls);
        self.session_times.extend(other.session_times);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// This process's user + system CPU seconds (`/proc/self/stat`, 100 ticks a second).
fn process_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

/// The CPU seconds of this process's threads named `bench-kiosk*` (`/proc/self/task/*/schedstat`):
/// the kiosks' and paysim's runtime, whose threads live for the whole bench, so the rest of the
/// process's CPU is the center's (its runtime, face pool, database threads).
fn kiosk_side_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let mut nanos: u64 = 0;
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.starts_with(KIOSK_THREADS) {
            continue;
        }
        nanos += std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
    }
    nanos as f64 / 1e9
}

/// The CPU time of the calling thread in nanoseconds (`/proc/thread-self/schedstat`, first
/// field), 0 when unreadable.
fn thread_cpu_nanos() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The first field of `/proc/loadavg` (other work on the machine), or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

// ---- one session -------------------------------------------------------------------------------

/// What every session shares.
#[derive(Clone)]
struct Mix {
    photos: Photos,
    sim: SocketAddr,
    http: reqwest::Client,
    signature: Vec<u8>,
}

/// One whole session of `citizen` as `sid`, its first call due at `due`.
async fn session(
    mix: &Mix,
    client: &CenterClient,
    citizen: &Citizen,
    sid: &SessionId,
    due: Instant,
    figures: &mut Figures,
) {
    let began = due;
    let scope = ScopeRequest {
        business: "lost".into(),
        household: "local".into(),
        id: citizen.id.clone(),
        card: None,
    };
    let Some(decided) = figures
        .call(0, due, || client.session_scope(sid, &scope))
        .await
    else {
        return;
    };
    if decided.outcome != "accept" {
        figures.fail(0, format!("referred: {}", decided.reason));
        return;
    }
    let receipt = ReceiptRequest {
        id: citizen.id.clone(),
        receipt: citizen.receipt.clone(),
    };
    let Some(found) = figures
        .call(1, Instant::now(), || client.receipt(sid, &receipt))
        .await
    else {
        return;
    };
    if !found.found {
        figures.fail(1, "receipt not found");
        return;
    }
    let faces = FacesRequest {
        id: citizen.id.clone(),
        receipt: citizen.receipt.clone(),
        live_photo: mix.photos.live_base64.clone(),
        liveness: Some(FacesLiveness {
            score: 0.998,
            engine: "kiosk (bench)".into(),
        }),
    };
    let Some(compared) = figures
        .call(2, Instant::now(), || client.faces(sid, &faces))
        .await
    else {
        return;
    };
    if !compared.passed {
        figures.fail(2, format!("faces did not pass: {compared:?}"));
        return;
    }
    for (kind, body) in [
        ("signature", mix.signature.clone()),
        ("fingerprint_1", b"FMR\0 20\0template-right-index".to_vec()),
        ("fingerprint_2", b"FMR\0 20\0template-left-index".to_vec()),
    ] {
        if figures
            .call(3, Instant::now(), || {
                client.put_blob(sid, kind, body.clone())
            })
            .await
            .is_none()
        {
            return;
        }
    }
    let fee_cny = decided.fee_cny.unwrap_or(0);
    let application = ApplicationRequest {
        business: "lost".into(),
        household: "local".into(),
        id: citizen.id.clone(),
        receipt: citizen.receipt.clone(),
        mobile: "13912345678".into(),
        fee_cny,
        validity: decided.new_card_validity.clone().unwrap_or_default(),
        issue_by: decided.issue_by.clone().unwrap_or_default(),
        fingers: vec![
            FingerJson {
                position: Finger::RightIndex,
                quality: 81,
            },
            FingerJson {
                position: Finger::LeftIndex,
                quality: 77,
            },
        ],
    };
    if figures
        .call(4, Instant::now(), || client.application(sid, &application))
        .await
        .is_none()
    {
        return;
    }
    let pay = CreatePaymentRequest {
        method: "wechat".into(),
        attempt: 1,
        amount_fen: fee_cny * 100,
    };
    let Some(created) = figures
        .call(5, Instant::now(), || client.create_payment(sid, &pay))
        .await
    else {
        return;
    };
    let Some(code_url) = created.code_url else {
        figures.fail(5, "no code_url");
        return;
    };
    // The payer scans and pays; paysim calls the center back; the kiosk polls until it reads it.
    let scanned = Instant::now();
    let paid = mix
        .http
        .post(format!("http://{}/sim/pay", mix.sim))
        .json(&serde_json::json!({ "code_url": code_url, "deliver_callback": true }))
        .send()
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| {
            r.status()
                .is_success()
                .then_some(())
                .ok_or_else(|| format!("paysim answered {}", r.status()))
        });
    if let Err(err) = paid {
        figures.fail(6, err);
        return;
    }
    loop {
        match client.payment(sid, 1).await {
            Ok(answer) if answer.state == payment::TradeState::Success => break,
            Ok(_) if scanned.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(answer) => {
                figures.fail(6, format!("still {:?} after 30 s", answer.state));
                return;
            }
            Err(err) if err.is_retryable() => {
                figures.retries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => {
                figures.fail(6, err);
                return;
            }
        }
    }
    figures.calls.push((6, scanned.elapsed()));
    for kind in ["certificate", "form", "notice"] {
        if figures
            .call(7, Instant::now(), || client.document(sid, kind))
            .await
            .is_none()
        {
            return;
        }
    }
    let outcome = SessionOutcome::Completed {
        payment: PaymentMethod::WeChat,
    };
    if figures
        .call(8, Instant::now(), || client.end(sid, &outcome))
        .await
        .is_some()
    {
        figures.sessions += 1;
        figures.session_times.push(began.elapsed());
    }
}

// ---- replicas and runs -------------------------------------------------------------------------

/// One center replica on its own store handle (pool), face pool and loopback port.
async fn replica(
    store: Store,
    engine: Arc<dyn FaceEngine>,
    renderer: Arc<documents::Renderer>,
    keys: &KeyPair,
    sim: SocketAddr,
    kiosks: u64,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    // The demo bureau's file, as `idkiosk demo` runs it (南京, 320100: offices, fees, methods).
    let settings = {
        use figment::providers::Format;
        figment::Figment::from(figment::providers::Toml::string(DEMO_CENTER_TOML))
            .extract_inner::<center::config::CenterFile>("center")
            .expect("the demo center file")
            .settings()
            .unwrap_or_else(|problems| panic!("the demo center file does not check: {problems:?}"))
    };
    let mut state = AppState::new(
        Arc::new(StorePopulationSystem::new(store.clone())),
        Arc::new(|| TODAY),
        settings.city,
        KioskSecrets::new((0..kiosks).map(|k| (kiosk_id(k), kiosk_secret(k)))),
        store,
    );
    state.config = settings.config;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    state.face = Some(engine);
    state.documents = Some(renderer);
    state.wechat = Some(WechatPay::new(
        &format!("http://{sim}"),
        keys.merchant.clone(),
        &format!("http://{address}/v1/payments/wechat/notify"),
        payment::system_clock(),
    ));
    // The bench's kiosks look many citizens up a minute; the limit is not what is measured.
    state.config.kiosk_lookups_per_minute = 1_000_000;
    let app = center::app(state);
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (address, server)
}

/// How sessions are started.
#[derive(Debug, Clone, Copy)]
enum Load {
    /// `kiosks` kiosks each starting a session when its last one ends.
    Closed { kiosks: u64 },
    /// A session every `1 ÷ rate` s, whatever the earlier ones are doing.
    Open { rate: f64 },
}

/// What one run measured.
struct Run {
    label: String,
    seconds: f64,
    figures: Figures,
    per_call: Vec<Vec<Duration>>,
    engine_seconds: f64,
    cpu_seconds: f64,
    /// Of `cpu_seconds`, the kiosks' and paysim's.
    kiosk_cpu_seconds: f64,
    exhausted: bool,
}

impl Run {
    /// The center's CPU per session in ms: the process's less the kiosks' and paysim's.
    fn center_cpu_ms(&self) -> f64 {
        (self.cpu_seconds - self.kiosk_cpu_seconds) / self.figures.sessions as f64 * 1000.0
    }
}

/// The citizens not served yet.
struct Queue {
    citizens: Vec<Citizen>,
    next: AtomicUsize,
}

impl Queue {
    fn take(&self) -> Option<&Citizen> {
        self.citizens.get(self.next.fetch_add(1, Ordering::Relaxed))
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    label: String,
    name: &'static str,
    addresses: Vec<SocketAddr>,
    load: Load,
    duration: Duration,
    mix: Arc<Mix>,
    queue: Arc<Queue>,
    engine: Arc<TimedEngine>,
) -> Run {
    let clients_count = match load {
        Load::Closed { kiosks } => kiosks,
        Load::Open { .. } => OPEN_LOOP_CLIENTS,
    };
    let clients: Vec<CenterClient> = (0..clients_count)
        .map(|k| {
            let address = addresses[(k as usize) % addresses.len()];
            CenterClient::new(&format!("http://{address}"), &kiosk_id(k), &kiosk_secret(k))
        })
        .collect();
    for client in &clients {
        client.health().await.expect("the center answers");
    }
    let engine_before = engine.seconds();
    let cpu_before = process_cpu_seconds();
    let kiosk_cpu_before = kiosk_side_cpu_seconds();
    let start = Instant::now();
    let end = start + duration;
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let exhausted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    match load {
        Load::Closed { .. } => {
            for client in clients {
                let (mix, queue, counter, exhausted) = (
                    mix.clone(),
                    queue.clone(),
                    counter.clone(),
                    exhausted.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut figures = Figures::default();
                    while Instant::now() < end {
                        let Some(citizen) = queue.take() else {
                            exhausted.store(true, Ordering::Relaxed);
                            break;
                        };
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let sid = SessionId::parse(&format!("{name}-{n}")).expect("a session id");
                        session(&mix, &client, citizen, &sid, Instant::now(), &mut figures).await;
                    }
                    figures
                }));
            }
        }
        Load::Open { rate } => {
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                let due = ticker.tick().await.into_std();
                if due >= end {
                    break;
                }
                let Some(citizen) = queue.take().cloned() else {
                    exhausted.store(true, Ordering::Relaxed);
                    break;
                };
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let client = clients[(n % clients_count) as usize].clone();
                let mix = mix.clone();
                tasks.push(tokio::spawn(async move {
                    let mut figures = Figures::default();
                    let sid = SessionId::parse(&format!("{name}-{n}")).expect("a session id");
                    session(&mix, &client, &citizen, &sid, due, &mut figures).await;
                    figures
                }));
            }
        }
    }
    let mut figures = Figures::default();
    for task in tasks {
        figures.merge(task.await.expect("a session task"));
    }
    // Until the last session ended: an open loop that fell behind shows it here.
    let seconds = start.elapsed().as_secs_f64();
    let mut per_call = vec![Vec::new(); CALLS.len()];
    for (kind, latency) in &figures.calls {
        per_call[*kind].push(*latency);
    }
    for latencies in &mut per_call {
        latencies.sort_unstable();
    }
    figures.session_times.sort_unstable();
    Run {
        label,
        seconds,
        engine_seconds: engine.seconds() - engine_before,
        cpu_seconds: process_cpu_seconds() - cpu_before,
        kiosk_cpu_seconds: kiosk_side_cpu_seconds() - kiosk_cpu_before,
        figures,
        per_call,
        exhausted: exhausted.load(Ordering::Relaxed),
    }
}

fn print_run(run: &Run, cores: f64) {
    let sessions = run.figures.sessions as f64;
    let per_second = sessions / run.seconds;
    println!(
        "| {} | {} | {:.2} | {:.2} | {:.0} / {:.0} | {:.0} | {:.0} | {:.1} | {:.1} % | {} | {} | {}{} |",
        run.label,
        run.figures.sessions,
        per_second,
        per_second / cores,
        percentile(&run.figures.session_times, 0.50),
        percentile(&run.figures.session_times, 0.99),
        run.cpu_seconds / sessions * 1000.0,
        run.center_cpu_ms(),
        1000.0 / run.center_cpu_ms(),
        run.engine_seconds / (run.cpu_seconds - run.kiosk_cpu_seconds) * 100.0,
        run.figures.errors,
        run.figures.retries,
        load_average(),
        if run.exhausted {
            " (citizens ran out)"
        } else {
            ""
        }
    );
    if let Some(error) = &run.figures.first_error {
        eprintln!("[{}] first error: {error}", run.label);
    }
}

/// The run's settings.
#[derive(Debug, Clone, Copy)]
struct Settings {
    citizens: u64,
    with_photos: usize,
    kiosks: u64,
    duration: Duration,
    rate: f64,
    cores: f64,
}

struct Shared {
    /// The kiosks' and paysim's runtime (threads `bench-kiosk*`).
    kiosks: tokio::runtime::Handle,
    mix: Arc<Mix>,
    keys: KeyPair,
    dlib: Arc<TimedEngine>,
    constant: Arc<TimedEngine>,
    renderer: Arc<documents::Renderer>,
}

/// A fresh paysim on a loopback port (one per database: the trade numbers start again with
/// the application numbers, and paysim refuses a trade number it has seen).
async fn paysim(keys: &KeyPair, on: &tokio::runtime::Handle) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let app = payment::sim::app(SimConfig {
        keys: keys.platform.clone(),
        retry: RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        },
        clock: payment::system_clock(),
    });
    // On the kiosks' runtime: WeChat's work is not the center's.
    on.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("paysim's listener");
        axum::serve(listener, app).await
    });
    Ok(address)
}

/// Keeps the historical photo's embedding for every citizen left in `queue`, as the center keeps
/// it once it has described the photo (a citizen seen before, or photos described ahead of the
/// peak): the sessions then describe only the live and certified photos. Returns how many.
async fn keep_history_embeddings(
    store: &Store,
    queue: &Queue,
    photos: &Photos,
    engine: &dyn FaceEngine,
) -> anyhow::Result<usize> {
    let picture = Picture::from_bytes(
        "historical",
        &photos.historical,
        &face::DecodeLimits::default(),
    )?;
    // One description serves all: the citizens' photos differ only by a JPEG comment.
    let embedding = engine.describe(&picture)?.embedding;
    let key = store::face_embeddings::EmbeddingEngine {
        name: engine.name(),
        version: engine.version(),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let left = &queue.citizens[queue.next.load(Ordering::Relaxed).min(queue.citizens.len())..];
    for citizen in left {
        let photo = tagged_jpeg(&photos.historical, &citizen.id);
        let hash = store::face_embeddings::PhotoHash::of(&photo);
        store
            .put_face_embedding(&hash, key, &embedding.0, now)
            .await?;
    }
    Ok(left.len())
}

async fn run_backend(
    backend: &'static str,
    database: TestDatabase,
    settings: Settings,
    two_replicas: bool,
    shared: &Shared,
    runs: &mut Vec<Run>,
) -> anyhow::Result<()> {
    let mix = Arc::new(Mix {
        sim: paysim(&shared.keys, &shared.kiosks).await?,
        ..(*shared.mix).clone()
    });
    let started = Instant::now();
    let chosen = seed(
        database.store(),
        settings.citizens,
        settings.with_photos,
        &shared.mix.photos,
    )
    .await?;
    eprintln!(
        "[{backend}] seeded {} citizens ({} with photos) in {:.1} s",
        settings.citizens,
        chosen.len(),
        started.elapsed().as_secs_f64()
    );
    let sim = mix.sim;
    let start_replicas = |engine: Arc<dyn FaceEngine>, count: usize| {
        let database = &database;
        async move {
            let mut replicas = Vec::new();
            for _ in 0..count {
                let store = database.reconnect().await.expect("a store handle");
                let (address, server) = replica(
                    store.clone(),
                    engine.clone(),
                    shared.renderer.clone(),
                    &shared.keys,
                    sim,
                    OPEN_LOOP_CLIENTS.max(settings.kiosks),
                )
                .await;
                replicas.push((address, server, store));
            }
            replicas
        }
    };
    let stop = |replicas: Vec<(SocketAddr, tokio::task::JoinHandle<()>, Store)>| async move {
        for (_, server, store) in replicas {
            server.abort();
            store.close().await;
        }
    };

    // Drop the citizens the rules refer (uncounted, before any clock).
    let replicas = start_replicas(shared.constant.clone(), 1).await;
    let client = CenterClient::new(
        &format!("http://{}", replicas[0].0),
        &kiosk_id(0),
        &kiosk_secret(0),
    );
    let mut accepted = Vec::new();
    for chunk in chosen.chunks(64) {
        let requests: Vec<ScopeRequest> = chunk
            .iter()
            .map(|c| ScopeRequest {
                business: "lost".into(),
                household: "local".into(),
                id: c.id.clone(),
                card: None,
            })
            .collect();
        let answers =
            futures_util::future::join_all(requests.iter().map(|r| client.scope(r))).await;
        for (citizen, answer) in chunk.iter().zip(answers) {
            if answer.is_ok_and(|a| a.outcome == "accept") {
                accepted.push(citizen.clone());
            }
        }
    }
    stop(replicas).await;
    eprintln!(
        "[{backend}] {} of {} citizens with photos accepted for a lost card",
        accepted.len(),
        chosen.len()
    );
    let queue = Arc::new(Queue {
        citizens: accepted,
        next: AtomicUsize::new(0),
    });
    let closed = Load::Closed {
        kiosks: settings.kiosks,
    };
    // (label, session id prefix, engine, replicas, load, the historical embeddings kept first)
    #[allow(clippy::type_complexity)]
    let mut plan: Vec<(String, &'static str, Arc<TimedEngine>, usize, Load, bool)> = vec![
        (
            format!(
                "{backend} | baseline: constant face double, 1 replica, closed loop, {} kiosks",
                settings.kiosks
            ),
            "base",
            shared.constant.clone(),
            1,
            closed,
            false,
        ),
        (
            format!(
                "{backend} | dlib, 1 replica, closed loop, {} kiosks",
                settings.kiosks
            ),
            "full",
            shared.dlib.clone(),
            1,
            closed,
            false,
        ),
        (
            format!(
                "{backend} | dlib, 1 replica, open loop at {} sessions/s",
                settings.rate
            ),
            "open",
            shared.dlib.clone(),
            1,
            Load::Open {
                rate: settings.rate,
            },
            false,
        ),
    ];
    if two_replicas {
        plan.push((
            format!(
                "{backend} | dlib, 2 replicas, closed loop, {} kiosks",
                settings.kiosks
            ),
            "two",
            shared.dlib.clone(),
            2,
            closed,
            false,
        ));
    }
    // Last: from here on every citizen's historical embedding is kept.
    plan.push((
        format!(
            "{backend} | dlib, historical embeddings kept, 1 replica, closed loop, {} kiosks",
            settings.kiosks
        ),
        "kept",
        shared.dlib.clone(),
        1,
        closed,
        true,
    ));
    plan.push((
        format!(
            "{backend} | dlib, historical embeddings kept, 1 replica, open loop at {} sessions/s",
            settings.rate
        ),
        "keptopen",
        shared.dlib.clone(),
        1,
        Load::Open {
            rate: settings.rate,
        },
        false,
    ));
    for (label, name, engine, count, load, keep_first) in plan {
        if keep_first {
            let kept = keep_history_embeddings(
                database.store(),
                &queue,
                &shared.mix.photos,
                shared.dlib.inner.as_ref(),
            )
            .await?;
            eprintln!("[{backend}] kept the historical embedding of the {kept} citizens left");
        }
        let replicas = start_replicas(engine.clone(), count).await;
        let addresses: Vec<SocketAddr> = replicas.iter().map(|r| r.0).collect();
        // The kiosks run on their own runtime, so the center's CPU is the rest of the process's.
        let measured = shared
            .kiosks
            .spawn(run(
                label,
                name,
                addresses,
                load,
                settings.duration,
                mix.clone(),
                queue.clone(),
                engine.clone(),
            ))
            .await?;
        print_run(&measured, settings.cores);
        runs.push(measured);
        stop(replicas).await;
    }
    database.finish().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let settings = Settings {
        citizens: env_number("IDKIOSK_BENCH_CITIZENS", 1_000_000.0) as u64,
        with_photos: env_number("IDKIOSK_BENCH_PHOTO_CITIZENS", 6_000.0) as usize,
        kiosks: env_number("IDKIOSK_BENCH_KIOSKS", 16.0) as u64,
        duration: Duration::from_secs_f64(env_number("IDKIOSK_BENCH_SECONDS", 20.0)),
        rate: env_number("IDKIOSK_BENCH_SESSION_RATE", 16.5),
        cores,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The kiosks and paysim on their own threads, kept alive for the whole bench, so their CPU
    // can be told from the center's.
    let kiosks = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores as usize)
        .thread_name(KIOSK_THREADS)
        .thread_keep_alive(Duration::from_secs(24 * 3600))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dlib: Arc<dyn FaceEngine> = face::DlibEngine::shared()
            .map_err(|e| anyhow::anyhow!("the dlib engine (scripts/setup/20-face.sh): {e}"))?;
        let fonts = documents::Fonts::system()
            .map_err(|e| anyhow::anyhow!("the fonts (scripts/setup/30-documents.sh): {e}"))?;
        let keys = KeyPair::generate()?;
        let sim = paysim(&keys, kiosks.handle()).await?;
        // A signature as the pad sends it: a PNG the documents can draw.
        let mut signature = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(400, 160, |x, y| {
            image::Rgb(if (x + 2 * y) % 37 < 3 { [20, 20, 20] } else { [255, 255, 255] })
        }))
        .write_to(&mut signature, image::ImageOutputFormat::Png)?;
        let signature = signature.into_inner();
        let shared = Shared {
            kiosks: kiosks.handle().clone(),
            mix: Arc::new(Mix {
                photos: Photos::load()?,
                sim,
                http: reqwest::Client::new(),
                signature,
            }),
            keys,
            dlib: Arc::new(TimedEngine {
                inner: dlib,
                nanos: AtomicU64::new(0),
            }),
            constant: Arc::new(TimedEngine {
                inner: Arc::new(ColourEngine::constant()),
                nanos: AtomicU64::new(0),
            }),
            renderer: Arc::new(documents::Renderer::new(fonts)),
        };
        println!(
            "full kiosk sessions, {} citizens ({} with photos), {} s per run, {} cores",
            settings.citizens,
            settings.with_photos,
            settings.duration.as_secs_f64(),
            cores
        );
        println!(
            "| backend | run | sessions | sessions/s | sessions/s per core | session p50 / p99 ms \
             | process CPU ms per session | center CPU ms per session | sessions/s per core of \
             center CPU | face engine share of center CPU | errors | 503 retries | load avg |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        let mut runs = Vec::new();
        let backends = std::env::var("IDKIOSK_BENCH_BACKENDS")
            .unwrap_or_else(|_| "sqlite,postgres".into());
        if backends.contains("sqlite") {
            let sqlite = TestDatabase::sqlite().await?;
            run_backend("sqlite", sqlite, settings, false, &shared, &mut runs).await?;
        }
        match std::env::var(store::testing::PG_URL_VAR) {
            Ok(url) if !url.is_empty() && backends.contains("postgres") => {
                let pg = TestDatabase::postgres(&url).await?;
                run_backend("postgres", pg, settings, true, &shared, &mut runs).await?;
            }
            _ => eprintln!(
                "PostgreSQL skipped: {} is not set",
                store::testing::PG_URL_VAR
            ),
        }
        println!();
        println!("per call, p50 / p99 ms (blob: each of 3 uploads; document: each of 3 PDFs; paid: scan to SUCCESS read)");
        println!("| backend | run | {} |", CALLS.join(" | "));
        println!("|---|---|{}", "---|".repeat(CALLS.len()));
        for run in &runs {
            let cells: Vec<String> = run
                .per_call
                .iter()
                .map(|l| format!("{:.0} / {:.0}", percentile(l, 0.50), percentile(l, 0.99)))
                .collect();
            println!("| {} | {} |", run.label, cells.join(" | "));
        }
        println!();
        println!(
            "against the baseline of the same backend (the same mix, constant face double): \
             engine CPU ms per session (the calling threads' CPU in the engine); face share by \
             difference = (center CPU per session − baseline's) ÷ this run's"
        );
        println!(
            "| backend | run | engine CPU ms per session | center CPU ms per session, \
             baseline → this | face share of center CPU by difference | sessions/s ÷ baseline's |"
        );
        println!("|---|---|---|---|---|---|");
        let mut baseline = (f64::NAN, f64::NAN);
        for run in &runs {
            let sessions = run.figures.sessions as f64;
            let rate = sessions / run.seconds;
            let cpu = run.center_cpu_ms();
            if run.label.contains("baseline") {
                baseline = (rate, cpu);
                continue;
            }
            println!(
                "| {} | {:.0} | {:.0} → {:.0} | {:.0} % | {:.2} |",
                run.label,
                run.engine_seconds / sessions * 1000.0,
                baseline.1,
                cpu,
                (cpu - baseline.1) / cpu * 100.0,
                rate / baseline.0
            );
        }
        Ok(())
    })
}
