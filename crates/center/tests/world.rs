//! A whole center on a loopback port, as a kiosk meets it: a fresh database (SQLite, or
//! PostgreSQL through `IDKIOSK_TEST_PG_URL`) holding the demo citizens with photos, a face engine
//! test double behind `face::FaceEngine`, the documents renderer when the Noto CJK fonts are
//! installed, and a real in-process paysim (WeChat Pay v3) calling back the center. The kiosk is
//! played by `center::client::CenterClient`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use center::client::CenterClient;
use center::payments::WechatPay;
use center::AppState;
use domain::session::SessionId;
use payment::sim::{RetryPolicy, SimConfig};
use payment::KeyPair;
use popsys::seed::demo;
use popsys::StorePopulationSystem;
use store::testing::TestDatabase;
use store::Store;
use time::OffsetDateTime;

use crate::support::{state_over, KIOSK, SECRET};

/// RSA-2048 generation is slow in debug builds: once per test binary.
pub fn keys() -> &'static KeyPair {
    static KEYS: OnceLock<KeyPair> = OnceLock::new();
    KEYS.get_or_init(|| KeyPair::generate().expect("keys"))
}

/// Unrelated keys, for forgeries.
pub fn other_keys() -> &'static KeyPair {
    static KEYS: OnceLock<KeyPair> = OnceLock::new();
    KEYS.get_or_init(|| KeyPair::generate().expect("keys"))
}

/// The Noto CJK fonts, loaded once; `None` (with a note) when not installed, a failure when `CI`
/// is set (`store::testing::require`).
pub fn renderer() -> Option<Arc<documents::Renderer>> {
    static RENDERER: OnceLock<Option<Arc<documents::Renderer>>> = OnceLock::new();
    RENDERER
        .get_or_init(|| {
            store::testing::require(
                "center: documents",
                "the Noto CJK fonts (scripts/setup/30-documents.sh)",
                documents::Fonts::system(),
            )
            .map(|fonts| Arc::new(documents::Renderer::new(fonts)))
        })
        .clone()
}

/// A solid-colour JPEG: the test double's "face" is its colour.
pub fn jpeg(rgb: [u8; 3]) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(358, 441, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageOutputFormat::Jpeg(90))
        .expect("encode JPEG");
    out.into_inner()
}

/// A small PNG (a signature).
pub fn png() -> Vec<u8> {
    let image = image::RgbImage::from_pixel(200, 80, image::Rgb([20, 20, 20]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageOutputFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

/// The historical and certified photos' colour; a live photo of it matches.
pub const FACE: [u8; 3] = [120, 100, 90];
/// Another person.
pub const STRANGER: [u8; 3] = [250, 10, 10];

pub use face::doubles::ColourEngine;

/// The center's wall clock, movable (payment expiry). WeChat signatures keep the system clock.
#[derive(Debug)]
pub struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl payment::Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
}

/// A running center with everything behind it.
pub struct World {
    /// The database.
    pub db: TestDatabase,
    /// The center's address.
    pub center: SocketAddr,
    /// paysim's address.
    pub sim: SocketAddr,
    /// The kiosk's client.
    pub client: CenterClient,
    /// The center's clock.
    pub clock: Arc<TestClock>,
    /// Plain HTTP for control calls.
    pub http: reqwest::Client,
    /// The center's state (for its background jobs, such as the delivery pass).
    pub state: AppState,
}

/// The databases to run on: SQLite always, PostgreSQL when configured.
pub use store::testing::databases;

/// Seeds the fixed demo citizens, with `photo` as both the historical and the certified photo of
/// [`demo::RENEWAL_IN_WINDOW`].
pub async fn seed_with(store: &Store, photo: &[u8]) {
    let photo_bytes = photo.to_vec();
    let mut citizens = popsys::seed::fixed_citizens();
    for bundle in &mut citizens {
        if bundle.citizen.id.as_str() == demo::RENEWAL_IN_WINDOW {
            for photo in &mut bundle.history_photos {
                photo.jpeg = Some(photo_bytes.clone());
            }
            for receipt in &mut bundle.receipts {
                receipt.jpeg = Some(photo_bytes.clone());
            }
        }
    }
    store
        .insert_citizens(&citizens)
        .await
        .expect("insert the demo citizens");
}

/// A world on a fresh SQLite database.
pub async fn world() -> World {
    world_on(TestDatabase::sqlite().await.expect("sqlite")).await
}

/// A world on `db`, with `tune` applied to the center's state.
pub async fn world_on(db: TestDatabase) -> World {
    world_with(db, |_| {}).await
}

/// A world on `db`, with `tune` applied to the center's state before it starts.
pub async fn world_with(db: TestDatabase, tune: impl FnOnce(&mut AppState)) -> World {
    world_seeded(db, &jpeg(FACE), tune).await
}

/// A world on `db` whose demo citizen's photos are `photo`, with `tune` applied.
pub async fn world_seeded(
    db: TestDatabase,
    photo: &[u8],
    tune: impl FnOnce(&mut AppState),
) -> World {
    seed_with(db.store(), photo).await;
    let sim = serve(payment::sim::app(SimConfig {
        keys: keys().platform.clone(),
        retry: RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        },
        clock: payment::system_clock(),
    }))
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let center = listener.local_addr().expect("addr");
    let store = db.store().clone();
    let clock = Arc::new(TestClock(Mutex::new(OffsetDateTime::now_utc())));
    let mut state = state_over(Arc::new(StorePopulationSystem::new(store.clone())), store);
    state.face = Some(Arc::new(ColourEngine::new()));
    state.documents = renderer();
    state.clock = clock.clone();
    state.wechat = Some(WechatPay::new(
        &format!("http://{sim}"),
        keys().merchant.clone(),
        &format!("http://{center}/v1/payments/wechat/notify"),
        payment::system_clock(),
    ));
    state.fleet.operator_token = Some(crate::support::OPERATOR_TOKEN.into());
    tune(&mut state);
    let app = center::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    World {
        db,
        center,
        sim,
        client: CenterClient::new(&format!("http://{center}"), KIOSK, SECRET),
        clock,
        http: reqwest::Client::new(),
        state,
    }
}

/// A new session id.
pub fn new_session() -> SessionId {
    SessionId::parse(&uuid::Uuid::new_v4().to_string()).expect("a uuid is a session id")
}

impl World {
    /// The payer scans and pays through paysim's control call.
    pub async fn scan_and_pay(&self, code_url: &str, deliver_callback: bool) {
        let response = self
            .http
            .post(format!("http://{}/sim/pay", self.sim))
            .json(
                &serde_json::json!({ "code_url": code_url, "deliver_callback": deliver_callback }),
            )
            .send()
            .await
            .expect("control call");
        assert!(
            response.status().is_success(),
            "paysim refused to pay: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// paysim's callback delivery log.
    pub async fn deliveries(&self) -> Vec<payment::sim::Delivery> {
        self.http
            .get(format!("http://{}/sim/callbacks", self.sim))
            .send()
            .await
            .expect("callbacks")
            .json()
            .await
            .expect("json")
    }

    /// Posts a callback to the center; returns the status.
    pub async fn post_callback(&self, headers: axum::http::HeaderMap, body: Vec<u8>) -> u16 {
        self.http
            .post(format!("http://{}/v1/payments/wechat/notify", self.center))
            .headers(headers)
            .body(body)
            .send()
            .await
            .expect("post")
            .status()
            .as_u16()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.db.store()
    }

    /// Removes the database (SQLite file or PostgreSQL database).
    pub async fn finish(self) {
        self.db.finish().await;
    }
}
