//! Spawning a center on a fresh database with the fixed demo citizens.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use center::auth::KioskSecrets;
use center::AppState;
use http_body_util::BodyExt;
use popsys::{PopulationSystem, StorePopulationSystem};
use serde_json::Value;
use store::Store;
use time::macros::date;
use tower::ServiceExt;

/// The date of the decision table (docs/domain.md 3.6), which the fixed demo citizens are made for.
pub const TODAY: time::Date = date!(2026 - 11 - 25);

/// The test kiosk and its secret.
pub const KIOSK: &str = "K0001";
/// The secret of [`KIOSK`].
pub const SECRET: &str = "s3cret-K0001";

/// The center's token at the population system (tests that run popsys over HTTP).
pub const POPSYS_TOKEN: &str = "center-popsys-token-for-tests";

/// The fleet operators' token (the reconciliation is theirs, not the kiosks').
pub const OPERATOR_TOKEN: &str = "operator-token-for-center-tests";

/// A second kiosk.
pub const OTHER_KIOSK: &str = "K0002";
/// The secret of [`OTHER_KIOSK`].
pub const OTHER_SECRET: &str = "s3cret-K0002";

/// A store in a fresh SQLite file holding the fixed demo citizens.
pub async fn demo_store() -> Store {
    let path = std::env::temp_dir().join(format!("idkiosk-center-{}.db", uuid::Uuid::new_v4()));
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open a fresh SQLite store");
    store
        .insert_citizens(&popsys::seed::fixed_citizens())
        .await
        .expect("insert the fixed demo citizens");
    store
}

/// The center's router over `population`, in 南京 (320100), on [`TODAY`].
pub fn center_over(population: Arc<dyn PopulationSystem>, store: Store) -> Router {
    center::app(state_over(population, store))
}

/// The demo bureau's file, as `idkiosk demo` runs it (南京, 320100).
pub const DEMO_CENTER_TOML: &str = include_str!("../../../config/demo/center.toml");

/// A center file's `[center]` table, checked (the binary adds the environment's overrides).
pub fn settings_from(toml: &str) -> center::config::CenterSettings {
    use figment::providers::Format;
    figment::Figment::from(figment::providers::Toml::string(toml))
        .extract_inner::<center::config::CenterFile>("center")
        .expect("a center file")
        .settings()
        .unwrap_or_else(|problems| panic!("the file does not check: {problems:?}"))
}

/// The demo bureau's configuration ([`DEMO_CENTER_TOML`]).
pub fn demo_config() -> center::CenterConfig {
    settings_from(DEMO_CENTER_TOML).config
}

/// The center's state over `population` and `store`, with the demo bureau's configuration (南京,
/// 320100), on [`TODAY`].
pub fn state_over(population: Arc<dyn PopulationSystem>, store: Store) -> AppState {
    let settings = settings_from(DEMO_CENTER_TOML);
    let mut state = AppState::new(
        population,
        Arc::new(|| TODAY),
        settings.city,
        KioskSecrets::new([(KIOSK, SECRET), (OTHER_KIOSK, OTHER_SECRET)]),
        store,
    );
    state.config = settings.config;
    // The tests look many citizens up from one kiosk in a second; the limit has its own test.
    state.config.kiosk_lookups_per_minute = 100_000;
    state
}

/// A center reading the population system straight from the store.
pub async fn center() -> Router {
    let store = demo_store().await;
    center_over(Arc::new(StorePopulationSystem::new(store.clone())), store)
}

/// POSTs `body` (raw, so malformed JSON can be sent) to `path` as the test kiosk.
pub async fn post_raw(app: &Router, path: &str, body: &str) -> (StatusCode, Value) {
    post_as(app, path, body, Some((KIOSK, SECRET))).await
}

/// POSTs `body` to `path` with the kiosk credentials `auth`, if any.
pub async fn post_as(
    app: &Router,
    path: &str,
    body: &str,
    auth: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut request = Request::post(path).header("content-type", "application/json");
    if let Some((kiosk, secret)) = auth {
        request = request
            .header("x-kiosk-id", kiosk)
            .header("authorization", format!("Bearer {secret}"));
    }
    let request = request
        .body(Body::from(body.to_owned()))
        .expect("a request");
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

/// POSTs the JSON `body` to `path`.
pub async fn post(app: &Router, path: &str, body: Value) -> (StatusCode, Value) {
    post_raw(app, path, &body.to_string()).await
}

/// 王晓燕's expiry renewal (Nanjing, local household, 20-year card) taken in `session` on
/// 2026-09-01, due 2026-11-30; each test overrides what it is about with struct update syntax.
pub fn new_application(session: &str, id: &str, now: i64) -> store::sessions::NewApplication {
    store::sessions::NewApplication {
        session_id: session.into(),
        kiosk_id: "K0001".into(),
        city_code: "320100".into(),
        id_number: domain::CitizenId::try_from(id.to_owned()).expect("a valid test ID number"),
        name: "王晓燕".into(),
        nation_code: "01".into(),
        address: "南京市玄武区北京东路1号".into(),
        business: domain::rules::Business::ExpiryRenewal,
        household: domain::rules::Household::Local,
        receipt_code: format!("R-{session}"),
        mobile: "13800138000".into(),
        fee_cny: 20,
        validity: domain::rules::NewCardValidity::TwentyYears,
        accepted_on: date!(2026 - 09 - 01),
        issue_by: date!(2026 - 11 - 30),
        remote_area: false,
        fingers: "[]".into(),
        collection_office: Some("XW".into()),
        now,
    }
}
