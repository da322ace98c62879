//! Failover benchmark (issue 18 item 3): the center on a PostgreSQL that loses its primary under
//! load. Run through `scripts/bench-failover.sh`, which starts `scripts/pg-ha.sh` (etcd, two
//! Patroni nodes with a synchronous replica, HAProxy on Patroni's `GET /primary`) and sets
//! `IDKIOSK_PG_HA_URL` to HAProxy's port.
//!
//! It makes a fresh database on that cluster, seeds one in-window expiry renewal citizen (with a
//! historical photo and an unused studio receipt) per session it may run, starts the center's
//! router in-process on a loopback port (its own pool, through HAProxy, as a deployed center
//! reaches the database), and runs `IDKIOSK_FAILOVER_KIOSKS` kiosks (default 20), together
//! starting `IDKIOSK_FAILOVER_RATE` sessions a second (default 10), for
//! `IDKIOSK_FAILOVER_SECONDS` (default 60). At `IDKIOSK_FAILOVER_KILL_AT` seconds (default 20) it
//! runs `scripts/pg-ha.sh kill-primary` (`kill -9` of the primary's Patroni and PostgreSQL).
//!
//! Each session is the kiosk's calls from step 5 to its end, with the kiosk's client
//! (`kiosk_wire::client::CenterClient`): scope, receipt, faces, signature and fingerprint blobs,
//! application, a UnionPay payment created and its POS approval reported, end (completed).
//! Every call is repeated while the answer is retryable (no answer, 5xx), with the same session
//! id and payment attempt, after a pause growing from 300 ms to 3 s, as the kiosk's outbox
//! delivers (`kiosk::agent::delivery`) and never giving up; a refusal (4xx) ends the session as
//! an error. The faces are compared by a test double (a face is its colour), since the face
//! engine is not what fails over.
//!
//! At the end (all sessions finished) it compares what the kiosks were told with the rows on the
//! promoted primary: an application, a paid payment or a completion (the delivery queued for the
//! population system) a kiosk was told of and that is missing is lost; a row no kiosk was told of,
//! or a second one for the same session or citizen, is duplicated. It prints the failover
//! seconds (kill to the first application accepted by a call sent after the kill), the window
//! of failed calls and their statuses, and the counts.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use center::auth::KioskSecrets;
use center::client::ClientError;
use center::payments::{CreatePaymentRequest, PosReport};
use center::steps::{ApplicationRequest, FacesRequest, FingerJson, ReceiptRequest};
use center::wire::{CardJson, ScopeRequest};
use center::AppState;
use domain::id::CitizenId;
use domain::session::{PaymentMethod, SessionId, SessionOutcome};
use face::doubles::ColourEngine;
use kiosk_wire::client::CenterClient;
use popsys::seed::demo;
use popsys::StorePopulationSystem;
use sqlx::Row;
use store::testing::TestDatabase;
use store::{NewReceipt, ReceiptCode};
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 25);
/// The photos' colour: the live photo is the same, so the faces match.
const FACE: [u8; 3] = [120, 100, 90];
const CALLS: [&str; 9] = [
    "scope",
    "receipt",
    "faces",
    "signature",
    "fingerprint",
    "application",
    "payment",
    "pos",
    "end",
];
const APPLICATION: usize = 5;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn kiosk_id(k: usize) -> String {
    format!("F{k:04}")
}

fn kiosk_secret(k: usize) -> String {
    format!("failover-secret-{k:04}")
}

fn jpeg(rgb: [u8; 3]) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(358, 441, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageOutputFormat::Jpeg(90))
        .expect("encode JPEG");
    out.into_inner()
}

fn png() -> Vec<u8> {
    let image = image::RgbImage::from_pixel(200, 80, image::Rgb([20, 20, 20]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageOutputFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

/// A citizen one session serves: an in-window expiry renewal with an unused receipt.
#[derive(Clone)]
struct Citizen {
    id: String,
    receipt: String,
}

/// `count` copies of the demo's in-window renewal (王晓燕) under new numbers, each with the photo
/// as historical photo and certified receipt photo.
fn citizens(count: usize, photo: &[u8]) -> (Vec<store::CitizenBundle>, Vec<Citizen>) {
    let template = popsys::seed::fixed_citizens()
        .into_iter()
        .find(|b| b.citizen.id.as_str() == demo::RENEWAL_IN_WINDOW)
        .expect("the demo renewal");
    let mut bundles = Vec::with_capacity(count);
    let mut sample = Vec::with_capacity(count);
    for i in 0..count {
        // Born 2001 onwards, so no number is a fixed demo citizen's; 999 numbers a day.
        let birth = date!(2001 - 01 - 01) + time::Duration::days((i / 999) as i64);
        let id = CitizenId::from_parts("320104", birth, (i % 999 + 1) as u16).expect("a number");
        let receipt = format!("PS202611259{:04}", i % 10_000);
        assert!(i < 10_000, "at most 10,000 sessions");
        let mut bundle = template.clone();
        bundle.citizen.sex = id.sex();
        bundle.citizen.birth_date = id.birth_date();
        bundle.citizen.id = id.clone();
        bundle.applications.clear();
        for history in &mut bundle.history_photos {
            history.jpeg = Some(photo.to_vec());
        }
        bundle.receipts = vec![NewReceipt {
            code: ReceiptCode::parse(&receipt).expect("a receipt code"),
            jpeg: Some(photo.to_vec()),
            created_on: TODAY,
            used_on: None,
        }];
        sample.push(Citizen {
            id: id.as_str().to_owned(),
            receipt,
        });
        bundles.push(bundle);
    }
    (bundles, sample)
}

/// What one try of one call got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ok,
    /// The center answered this status.
    Status(u16),
    /// No answer (connection refused or cut, timeout).
    Unanswered,
}

/// One HTTP try.
struct Try {
    kind: usize,
    sent: Instant,
    answered: Instant,
    answer: Answer,
    /// The system a 503 named (`database`, `face`, …).
    service: Option<String>,
}

impl Try {
    /// A failure of the database's (or of no answer at all), not a busy face pool's.
    fn database_failure(&self) -> bool {
        self.answer != Answer::Ok && self.service.as_deref().is_none_or(|s| s == "database")
    }

    fn label(&self) -> String {
        match (self.answer, &self.service) {
            (Answer::Status(status), Some(service)) => format!("{status} {service}"),
            (Answer::Status(status), None) => status.to_string(),
            _ => "no answer".to_owned(),
        }
    }
}

/// What a kiosk was told, and every try it made.
#[derive(Default)]
struct KioskLog {
    tries: Vec<Try>,
    /// Session id → application number, as the center answered.
    applications: Vec<(String, String)>,
    /// Session id → the POS reference of the paid attempt 1, as the center confirmed (SUCCESS).
    payments: Vec<(String, String)>,
    /// Sessions whose completed end the center acknowledged.
    completed: Vec<String>,
    /// Sessions abandoned on a refusal, with the refusal.
    refused: Vec<String>,
}

impl KioskLog {
    /// `call` until it is answered with something other than a retryable error.
    async fn call<T, F, Fut>(&mut self, kind: usize, mut call: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut pause = Duration::from_millis(300);
        loop {
            let sent = Instant::now();
            let result = call().await;
            let answered = Instant::now();
            let service = match &result {
                Err(ClientError::Retryable { service, .. }) => service.clone(),
                _ => None,
            };
            let answer = match &result {
                Ok(_) => Answer::Ok,
                Err(err) => match err.status() {
                    Some(status) => Answer::Status(status),
                    None => Answer::Unanswered,
                },
            };
            self.tries.push(Try {
                kind,
                sent,
                answered,
                answer,
                service,
            });
            match result {
                Err(err) if err.is_retryable() => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(3));
                }
                other => return other,
            }
        }
    }
}

/// One session of `citizen` on `sid`, every call retried until answered.
async fn session(
    client: &CenterClient,
    log: &mut KioskLog,
    sid: &SessionId,
    citizen: &Citizen,
    reference: &str,
) -> Result<(), ClientError> {
    let live = base64::engine::general_purpose::STANDARD.encode(jpeg(FACE));
    let scope = ScopeRequest {
        business: "expiry_renewal".into(),
        household: "local".into(),
        id: citizen.id.clone(),
        card: Some(CardJson {
            id: citizen.id.clone(),
            valid_from: "2016-12-20".into(),
            valid_until: "2026-12-20".into(),
        }),
    };
    let decided = log.call(0, || client.session_scope(sid, &scope)).await?;
    if decided.outcome != "accept" {
        return Err(ClientError::Malformed(format!("scope: {decided:?}")));
    }
    let receipt = ReceiptRequest {
        id: citizen.id.clone(),
        receipt: citizen.receipt.clone(),
    };
    log.call(1, || client.receipt(sid, &receipt)).await?;
    let faces = FacesRequest {
        id: citizen.id.clone(),
        receipt: citizen.receipt.clone(),
        live_photo: live,
        liveness: None,
    };
    let compared = log.call(2, || client.faces(sid, &faces)).await?;
    if !compared.passed {
        return Err(ClientError::Malformed(format!("faces: {compared:?}")));
    }
    log.call(3, || client.put_blob(sid, "signature", png()))
        .await?;
    log.call(4, || {
        client.put_blob(sid, "fingerprint_1", b"FMR\0 20\0template".to_vec())
    })
    .await?;
    let fee = decided.fee_cny.unwrap_or(0);
    let application = ApplicationRequest {
        business: "expiry_renewal".into(),
        household: "local".into(),
        id: citizen.id.clone(),
        receipt: citizen.receipt.clone(),
        mobile: "13912345678".into(),
        fee_cny: fee,
        validity: decided.new_card_validity.clone().unwrap_or_default(),
        issue_by: decided.issue_by.clone().unwrap_or_default(),
        fingers: vec![
            FingerJson {
                position: domain::session::Finger::RightIndex,
                quality: 81,
            },
            FingerJson {
                position: domain::session::Finger::LeftIndex,
                quality: 77,
            },
        ],
    };
    let filed = log
        .call(APPLICATION, || client.application(sid, &application))
        .await?;
    log.applications
        .push((sid.as_str().to_owned(), filed.application_no));
    let create = CreatePaymentRequest {
        method: "unionpay".into(),
        attempt: 1,
        amount_fen: fee * 100,
    };
    log.call(6, || client.create_payment(sid, &create)).await?;
    let approved = PosReport {
        approved: true,
        response_code: "00".into(),
        card_masked: Some("622202******1234".into()),
        reference: Some(reference.to_owned()),
        auth_code: Some("654321".into()),
        time: Some("2026-11-25T10:40:00+08:00".into()),
        amount_fen: Some(u64::from(fee) * 100),
        ..PosReport::default()
    };
    let paid = log.call(7, || client.report_pos(sid, 1, &approved)).await?;
    if paid.state != payment::TradeState::Success {
        return Err(ClientError::Malformed(format!("pos: {paid:?}")));
    }
    log.payments
        .push((sid.as_str().to_owned(), reference.to_owned()));
    let completed = SessionOutcome::Completed {
        payment: PaymentMethod::UnionPay,
    };
    log.call(8, || client.end(sid, &completed)).await?;
    log.completed.push(sid.as_str().to_owned());
    Ok(())
}

/// Kiosk `k`: a session every `period`, until `end`; the session under way is finished.
async fn kiosk(
    k: usize,
    client: CenterClient,
    citizens: Arc<Vec<Citizen>>,
    kiosks: usize,
    period: Duration,
    start: Instant,
    end: Instant,
) -> KioskLog {
    let mut log = KioskLog::default();
    let first = start + period.mul_f64(k as f64 / kiosks as f64);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::from_std(first), period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0;
    loop {
        let due = ticker.tick().await.into_std();
        if due >= end {
            break;
        }
        let index = k + n * kiosks;
        n += 1;
        let Some(citizen) = citizens.get(index) else {
            break;
        };
        let sid = SessionId::parse(&uuid::Uuid::new_v4().to_string()).expect("a session id");
        let reference = format!("{:012}", index);
        if let Err(err) = session(&client, &mut log, &sid, citizen, &reference).await {
            log.refused.push(format!("{}: {err}", sid.as_str()));
        }
    }
    log
}

async fn serve(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = center::app(state);
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    address
}

fn center_state(store: store::Store, kiosks: usize) -> AppState {
    use figment::providers::Format;
    let settings = figment::Figment::from(figment::providers::Toml::string(include_str!(
        "../../../config/demo/center.toml"
    )))
    .extract_inner::<center::config::CenterFile>("center")
    .expect("the demo center file")
    .settings()
    .unwrap_or_else(|problems| panic!("the demo center file does not check: {problems:?}"));
    let mut state = AppState::new(
        Arc::new(StorePopulationSystem::new(store.clone())),
        Arc::new(|| TODAY),
        settings.city,
        KioskSecrets::new((0..kiosks).map(|k| (kiosk_id(k), kiosk_secret(k)))),
        store,
    );
    state.config = settings.config;
    state.config.kiosk_lookups_per_minute = 100_000;
    state.face = Some(Arc::new(ColourEngine::new()));
    state
}

/// Runs the kill command; returns when it finished (the primary is dead).
fn kill_primary() -> Instant {
    let script = std::env::var("IDKIOSK_FAILOVER_KILL_COMMAND").unwrap_or_else(|_| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        format!("{}/scripts/pg-ha.sh kill-primary", root.display())
    });
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("run the kill command");
    let killed = Instant::now();
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "[failover] killed the primary ({}) with `{script}`",
        String::from_utf8_lossy(&output.stdout).trim()
    );
    killed
}

fn seconds(from: Instant, to: Instant) -> String {
    if to >= from {
        format!("{:.1}", (to - from).as_secs_f64())
    } else {
        format!("-{:.1}", (from - to).as_secs_f64())
    }
}

/// Counts of lost and duplicated records of one kind.
struct Check {
    acknowledged: usize,
    stored: usize,
    lost: usize,
    duplicated: usize,
}

/// `told`: (session, value) the kiosks were told of; `rows`: (session, value, citizen) stored.
fn check(told: &[(String, String)], rows: &[(String, String, String)]) -> Check {
    let stored: HashSet<(&str, &str)> = rows
        .iter()
        .map(|(s, v, _)| (s.as_str(), v.as_str()))
        .collect();
    let told_set: HashSet<(&str, &str)> =
        told.iter().map(|(s, v)| (s.as_str(), v.as_str())).collect();
    let lost = told_set.iter().filter(|t| !stored.contains(*t)).count();
    let unknown = rows
        .iter()
        .filter(|(s, v, _)| !told_set.contains(&(s.as_str(), v.as_str())))
        .count();
    let mut per_session: HashMap<&str, usize> = HashMap::new();
    let mut per_citizen: HashMap<&str, usize> = HashMap::new();
    for (s, _, c) in rows {
        *per_session.entry(s).or_default() += 1;
        *per_citizen.entry(c).or_default() += 1;
    }
    let extra = |counts: &HashMap<&str, usize>| counts.values().map(|n| n - 1).sum::<usize>();
    Check {
        acknowledged: told_set.len(),
        stored: rows.len(),
        lost,
        duplicated: unknown.max(extra(&per_session)).max(extra(&per_citizen)),
    }
}

fn main() {
    let url = std::env::var("IDKIOSK_PG_HA_URL").unwrap_or_else(|_| {
        eprintln!("IDKIOSK_PG_HA_URL is not set: run scripts/bench-failover.sh");
        std::process::exit(2);
    });
    let kiosks = env_number("IDKIOSK_FAILOVER_KIOSKS", 20) as usize;
    let rate = env_number("IDKIOSK_FAILOVER_RATE", 10) as f64;
    let duration = Duration::from_secs(env_number("IDKIOSK_FAILOVER_SECONDS", 60));
    let kill_at = Duration::from_secs(env_number("IDKIOSK_FAILOVER_KILL_AT", 20));
    let period = Duration::from_secs_f64(kiosks as f64 / rate);
    let per_kiosk = (duration.as_secs_f64() / period.as_secs_f64()).ceil() as usize + 1;
    let sessions = kiosks * per_kiosk;

    // The center's errors (a 500's cause) on stderr; `RUST_LOG=warn,tower_http=off` adds each
    // 503's cause.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error,tower_http=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let database = TestDatabase::postgres(&url)
            .await
            .expect("a database on the HA cluster");
        let photo = jpeg(FACE);
        let (bundles, sample) = citizens(sessions, &photo);
        let seeding = Instant::now();
        database
            .store()
            .insert_citizens(&bundles)
            .await
            .expect("seed the citizens");
        eprintln!(
            "[failover] database {} seeded with {} citizens in {:.1} s",
            database.url(),
            bundles.len(),
            seeding.elapsed().as_secs_f64()
        );
        let store = database.reconnect().await.expect("the center's store");
        let address = serve(center_state(store.clone(), kiosks)).await;
        let sample = Arc::new(sample);

        let start = Instant::now();
        let end = start + duration;
        let mut tasks = Vec::new();
        for k in 0..kiosks {
            let client = CenterClient::with_timeout(
                &format!("http://{address}"),
                &kiosk_id(k),
                &kiosk_secret(k),
                Duration::from_secs(10),
            );
            tasks.push(tokio::spawn(kiosk(
                k,
                client,
                sample.clone(),
                kiosks,
                period,
                start,
                end,
            )));
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(start + kill_at)).await;
        let killed = tokio::task::spawn_blocking(kill_primary)
            .await
            .expect("the kill");
        let mut logs = Vec::new();
        for task in tasks {
            logs.push(task.await.expect("a kiosk"));
        }
        let finished = Instant::now();

        // What the promoted primary holds.
        let pool = sqlx::PgPool::connect(&database.url())
            .await
            .expect("connect to the new primary");
        let applications: Vec<(String, String, String)> =
            sqlx::query("SELECT session_id, application_no, id_number FROM center_applications")
                .fetch_all(&pool)
                .await
                .expect("applications")
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
        let payments: Vec<(String, String, String)> = sqlx::query(
            "SELECT p.session_id, COALESCE(p.transaction_id, ''), a.id_number \
             FROM center_payments p JOIN center_applications a USING (application_no) \
             WHERE p.state = 'SUCCESS'",
        )
        .fetch_all(&pool)
        .await
        .expect("payments")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
        let completions: Vec<(String, String, String)> = sqlx::query(
            "SELECT a.session_id, '', a.id_number FROM center_deliveries d \
             JOIN center_applications a USING (application_no)",
        )
        .fetch_all(&pool)
        .await
        .expect("deliveries")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
        let server_version: String = sqlx::query_scalar("SELECT version()")
            .fetch_one(&pool)
            .await
            .expect("version");
        pool.close().await;

        let mut told_applications = Vec::new();
        let mut told_payments = Vec::new();
        let mut told_completed = Vec::new();
        let mut refused = Vec::new();
        let mut tries = Vec::new();
        for log in logs {
            told_applications.extend(log.applications);
            told_payments.extend(log.payments);
            told_completed.extend(log.completed.into_iter().map(|s| (s, String::new())));
            refused.extend(log.refused);
            tries.extend(log.tries);
        }
        tries.sort_by_key(|t| t.sent);
        let failed: Vec<&Try> = tries.iter().filter(|t| t.answer != Answer::Ok).collect();
        let database_failed: Vec<&Try> = failed
            .iter()
            .copied()
            .filter(|t| t.database_failure())
            .collect();
        let first_accepted = tries
            .iter()
            .filter(|t| t.kind == APPLICATION && t.answer == Answer::Ok && t.sent >= killed)
            .map(|t| t.answered)
            .min();
        let mut statuses: HashMap<String, usize> = HashMap::new();
        for t in &failed {
            *statuses.entry(t.label()).or_default() += 1;
        }
        let mut statuses: Vec<_> = statuses.into_iter().collect();
        statuses.sort();
        let mut failed_calls: HashMap<&str, usize> = HashMap::new();
        for t in &failed {
            *failed_calls.entry(CALLS[t.kind]).or_default() += 1;
        }
        for t in failed.iter().filter(|t| t.answer == Answer::Status(500)) {
            eprintln!(
                "[failover] 500 on {} sent {} s after the kill",
                CALLS[t.kind],
                seconds(killed, t.sent)
            );
        }
        let mut failed_calls: Vec<_> = failed_calls.into_iter().collect();
        failed_calls.sort();

        println!(
            "failover under load: {kiosks} kiosks, {rate} sessions/s offered, {} s, primary killed at {} s",
            duration.as_secs(),
            seconds(start, killed)
        );
        println!("new primary: {server_version}");
        println!();
        println!("| measure | value |");
        println!("|---|---|");
        println!(
            "| seconds from the kill to the first application accepted (a call sent after the kill) | {} |",
            first_accepted.map_or("none".to_owned(), |t| seconds(killed, t))
        );
        if let (Some(first), Some(last)) = (database_failed.first(), database_failed.last()) {
            println!(
                "| tries failed for the database (503 database, 500, no answer): first sent / last answered, seconds after the kill | {} / {} |",
                seconds(killed, first.sent),
                seconds(killed, last.answered)
            );
        }
        if let (Some(first), Some(last)) = (failed.first(), failed.last()) {
            println!(
                "| any failed try: first sent / last answered, seconds after the kill | {} / {} |",
                seconds(killed, first.sent),
                seconds(killed, last.answered)
            );
        }
        let total_503 = failed
            .iter()
            .filter(|t| t.answer == Answer::Status(503))
            .count();
        println!(
            "| tries: all / failed / 503 | {} / {} / {total_503} |",
            tries.len(),
            failed.len()
        );
        println!("| failed tries by answer | {statuses:?} |");
        println!("| failed tries by call | {failed_calls:?} |");
        let slowest = tries
            .iter()
            .map(|t| t.answered - t.sent)
            .max()
            .unwrap_or_default();
        println!(
            "| slowest single try (s) | {:.2} |",
            slowest.as_secs_f64()
        );
        println!(
            "| sessions completed / abandoned on a refusal | {} / {} |",
            told_completed.len(),
            refused.len()
        );
        println!(
            "| run length including the sessions under way at the end (s) | {} |",
            seconds(start, finished)
        );
        println!();
        println!("| records | told to kiosks | rows on the new primary | lost | duplicated |");
        println!("|---|---|---|---|---|");
        for (name, told, rows) in [
            ("applications", &told_applications, &applications),
            ("payments (UnionPay, SUCCESS)", &told_payments, &payments),
            (
                "completions (queued for the population system)",
                &told_completed,
                &completions,
            ),
        ] {
            let c = check(told, rows);
            println!(
                "| {name} | {} | {} | {} | {} |",
                c.acknowledged, c.stored, c.lost, c.duplicated
            );
        }
        for r in refused.iter().take(5) {
            eprintln!("[failover] abandoned: {r}");
        }
        store.close().await;
        database.finish().await;
    });
}
