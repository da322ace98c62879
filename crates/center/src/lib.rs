//! The center: the kiosks' background service. Steps 2–5 (scope), then the session API of
//! `docs/kiosk-api.md`: receipt, faces, blobs, application, payments (WeChat Pay Native and
//! UnionPay POS), documents, the end of a session, and the daily reconciliation.
//!
//! Invariants: no session state in memory (any number of replicas can serve a fleet); every
//! business rule comes from `domain`; the population system is reached only through the
//! [`popsys::PopulationSystem`] adapter; client errors name the field; every session call is
//! idempotent by session id (the first answer is stored and repeated).
#![warn(missing_docs)]

pub mod auth;
pub mod blobs;
pub mod client;
pub mod config;
pub mod delivery;
pub mod error;
pub mod faces;
pub mod fleet;
pub mod journey;
pub mod json;
pub mod outcome;
mod ownership;
pub mod paper;
pub mod payments;
pub mod reconcile;
pub mod scope;
pub mod settlement;
pub mod staff;
pub mod steps;
pub mod tls;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::{
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post, put},
    Router,
};
use domain::region::KioskCity;
use popsys::{PopulationSystem, Today};
use tower_http::trace::TraceLayer;

use crate::auth::KioskSecrets;
use crate::blobs::{BlobSink, StoreBlobSink};
use crate::payments::WechatPay;

/// What every request handler shares: cheap to clone, no mutable state.
#[derive(Clone)]
pub struct AppState {
    /// The population information system, through its adapter.
    pub population: Arc<dyn PopulationSystem>,
    /// Today's date (Asia/Shanghai calendar); a closure `|| date` fixes it for tests.
    pub today: Arc<dyn Today>,
    /// The city the kiosks of this center stand in (per-kiosk configuration comes with the fleet).
    pub kiosk_city: KioskCity,
    /// The kiosks allowed to call, with their shared secrets.
    pub kiosks: KioskSecrets,
    /// The center's database (sessions, applications, payments).
    pub store: store::Store,
    /// The face engine of step 7; `None` answers `503 face`.
    pub face: Option<Arc<dyn face::FaceEngine>>,
    /// The worker threads step 7's face work runs on, behind a bounded queue (one per core by
    /// default; a full queue answers `503 face` with `Retry-After`).
    pub face_pool: faces::FacePool,
    /// Where captured data goes ([`StoreBlobSink`] by default).
    pub blobs: Arc<dyn BlobSink>,
    /// WeChat Pay (client and callback verifier); `None` answers `503 payment` for WeChat.
    pub wechat: Option<WechatPay>,
    /// The PDF renderer with its fonts loaded; `None` answers `503 documents`.
    pub documents: Option<Arc<documents::Renderer>>,
    /// The wall clock (payment expiry, timestamps); tests move it.
    pub clock: Arc<dyn payment::Clock>,
    /// Tunables.
    pub config: CenterConfig,
    /// The fleet: silence alert, operator token, mutual TLS only ([`fleet::FleetSettings`]).
    pub fleet: fleet::FleetSettings,
    /// Rung when an application completes, so the delivery loop sends it at once.
    pub delivery_bell: delivery::DeliveryBell,
    /// The staff console: session lifetime, secure cookies, login throttle, audit anchoring.
    pub staff: staff::StaffSettings,
}

impl AppState {
    /// A center with the defaults: no face engine, no WeChat Pay, no documents, blobs in `store`,
    /// the system clock, [`CenterConfig::default`]. Set the other fields afterwards.
    pub fn new(
        population: Arc<dyn PopulationSystem>,
        today: Arc<dyn Today>,
        kiosk_city: KioskCity,
        kiosks: KioskSecrets,
        store: store::Store,
    ) -> AppState {
        AppState {
            population,
            today,
            kiosk_city,
            kiosks,
            blobs: Arc::new(StoreBlobSink::new(store.clone())),
            store,
            face: None,
            face_pool: faces::FacePool::default(),
            wechat: None,
            documents: None,
            clock: payment::system_clock(),
            config: CenterConfig::default(),
            fleet: fleet::FleetSettings::default(),
            delivery_bell: delivery::DeliveryBell::default(),
            staff: staff::StaffSettings::default(),
        }
    }

    /// Now, in unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }
}

/// The center's tunables, with the defaults of docs/domain.md, and the bureau it serves.
///
/// [`CenterConfig::default`] names no bureau and no collection office (papers are refused
/// until a configuration names them): a bureau's values come from its file
/// ([`config::CenterFile`], docs/configuration.md; the demo's is `config/demo/center.toml`).
#[derive(Debug, Clone)]
pub struct CenterConfig {
    /// How long an unpaid payment stays open (default 10 minutes, DOMAIN choice); the first
    /// query after it closes the order.
    pub payment_expiry: Duration,
    /// Step 7's bars (95 certified, 60 live).
    pub face_thresholds: face::Thresholds,
    /// The face engine's map from embedding distance to score (docs/domain.md section 6); the
    /// reference one unless a bureau refits it.
    pub face_calibration: face::Calibration,
    /// The liveness score (0–1) under which the clerk sees the live photo flagged as a possible
    /// print or screen (issue 20). Default 0.5: the models' samples and test faces gave live
    /// 0.91–1.00, the printed-photo sample 0.13 and our synthetic attacks at most 0.44. Advise
    /// mode only: the score is recorded and shown, it does not fail step 7.
    pub liveness_threshold: f64,
    /// 受理单位 printed on the documents.
    pub bureau: String,
    /// The collection offices (领证地点) of the bureau.
    pub collection_offices: Vec<CollectionOffice>,
    /// The code of the office where the applications of a kiosk no office lists are collected.
    pub default_office: String,
    /// The fee of each business, in yuan (the national fees by default).
    pub fees: config::Fees,
    /// The payment methods the center takes.
    pub payment_methods: Vec<domain::session::PaymentMethod>,
    /// Upload quotas: per kind, per session, per kiosk and day.
    pub blob_quotas: blobs::BlobQuotas,
    /// How long session videos are kept before the hourly purge deletes them (180 days).
    pub video_retention: time::Duration,
    /// The video of a session that ended without an application: deleted (default) or kept
    /// for audit with a shorter retention.
    pub unfinished_video: blobs::UnfinishedVideo,
    /// Lookups of citizens one kiosk may make per minute (scope, identity, portrait form); more
    /// are refused with 429. A real session makes one or two.
    pub kiosk_lookups_per_minute: u32,
    /// Refused lookups within a day after which the fleet view flags the kiosk for revocation.
    pub lookup_refusals_to_flag: u32,
    /// The SMS notices' texts, gateway and sender number.
    pub sms: config::SmsConfig,
    /// How often the population system is asked for production progress (10 s).
    pub production_poll: Duration,
}

/// A collection office (领证地点) printed on the collection certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionOffice {
    /// The bureau's code for it (`XW`), unique in the configuration.
    pub code: String,
    /// Its name, e.g. 某市公安局某分局户政办证大厅.
    pub name: String,
    /// Its address.
    pub address: String,
    /// Its opening hours.
    pub hours: String,
    /// In a remote area (90 days to be ready instead of 60).
    pub remote_area: bool,
    /// The kiosks standing in its hall, whose applications are collected here.
    pub kiosks: Vec<String>,
}

impl Default for CenterConfig {
    fn default() -> CenterConfig {
        CenterConfig {
            payment_expiry: Duration::from_secs(600),
            face_thresholds: face::Thresholds::default(),
            face_calibration: face::Calibration::default(),
            liveness_threshold: 0.5,
            bureau: String::new(),
            collection_offices: Vec::new(),
            default_office: String::new(),
            fees: config::Fees::default(),
            payment_methods: vec![
                domain::session::PaymentMethod::WeChat,
                domain::session::PaymentMethod::UnionPay,
            ],
            blob_quotas: blobs::BlobQuotas::default(),
            video_retention: store::blobs::VIDEO_RETENTION,
            unfinished_video: blobs::UnfinishedVideo::Delete,
            kiosk_lookups_per_minute: 6,
            lookup_refusals_to_flag: 3,
            sms: config::SmsConfig::default(),
            production_poll: config::DEFAULT_PRODUCTION_POLL,
        }
    }
}

impl CenterConfig {
    /// The default office ([`CenterConfig::default_office`]), if the configuration has it (a
    /// loaded file always does).
    pub fn collection_office(&self) -> Option<&CollectionOffice> {
        self.office(&self.default_office)
    }

    /// The office whose hall a kiosk stands in (its `kiosks` list), else the default office:
    /// where the kiosk's applications are collected.
    pub fn office_of_kiosk(&self, kiosk_id: &str) -> Option<&CollectionOffice> {
        self.collection_offices
            .iter()
            .find(|office| office.kiosks.iter().any(|k| k == kiosk_id))
            .or_else(|| self.collection_office())
    }

    /// The office of an application: the code it stored, or the default office for one stored
    /// before offices were recorded. `None` when the configuration no longer has that office.
    pub fn office_of_application(&self, stored: Option<&str>) -> Option<&CollectionOffice> {
        match stored {
            Some(code) => self.office(code),
            None => self.collection_office(),
        }
    }

    /// The office with this code.
    pub fn office(&self, code: &str) -> Option<&CollectionOffice> {
        self.collection_offices
            .iter()
            .find(|office| office.code == code)
    }
}

/// The largest blob upload read at all; [`blobs::BlobQuotas`] holds each kind to less.
pub const MAX_BLOB_BYTES: usize = 256 * 1024 * 1024;

/// The Content-Security-Policy of every page the center serves: its own scripts, styles and
/// images only (inline styles allowed, inline scripts not), no framing, forms to itself.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the browser-hardening headers (CSP, `X-Frame-Options: DENY`, `Referrer-Policy:
/// no-referrer`, `X-Content-Type-Options: nosniff`) to every answer that does not set its own.
pub async fn security_headers(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// `404 {"error":"…","field":"path"}` for a route the center does not have: the one error body
/// of every answer ([`error::ErrorBody`]).
async fn no_such_route() -> (axum::http::StatusCode, axum::Json<error::ErrorBody>) {
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(error::ErrorBody::with_field(
            "no such route; see docs/kiosk-api.md",
            "path",
        )),
    )
}

/// `405 {"error":"…","field":"method"}` for a route called with a method it does not take.
async fn method_not_allowed() -> (axum::http::StatusCode, axum::Json<error::ErrorBody>) {
    (
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(error::ErrorBody::with_field(
            "this route does not take this method; see docs/kiosk-api.md",
            "method",
        )),
    )
}

/// The center's HTTP API. Every `/v1/…` route but the WeChat Pay callback needs kiosk
/// authentication ([`auth::require_kiosk`]); `/health` does not.
pub fn app(state: AppState) -> Router {
    let kiosk_routes = Router::new()
        .route("/v1/scope", post(scope::scope))
        .route("/v1/sessions/{sid}/scope", post(scope::session_scope))
        .route("/v1/sessions/{sid}/identity", post(paper::identity))
        .route(
            "/v1/sessions/{sid}/portrait-form",
            post(paper::session_portrait_form),
        )
        .route("/v1/sessions/{sid}/receipt", post(steps::receipt))
        .route(
            "/v1/sessions/{sid}/faces",
            post(steps::faces).layer(DefaultBodyLimit::max(json::MAX_FACES_BODY_BYTES)),
        )
        .route(
            "/v1/sessions/{sid}/blobs/{kind}",
            put(steps::blob).layer(DefaultBodyLimit::max(MAX_BLOB_BYTES)),
        )
        .route("/v1/sessions/{sid}/application", post(steps::application))
        .route("/v1/sessions/{sid}/end", post(steps::end))
        .route("/v1/sessions/{sid}/documents/{kind}", get(paper::document))
        .route("/v1/sessions/{sid}/collection", get(paper::collection))
        .route("/v1/sessions/{sid}/payments", post(payments::create))
        .route(
            "/v1/sessions/{sid}/payments/{attempt}",
            get(payments::query),
        )
        .route(
            "/v1/sessions/{sid}/payments/{attempt}/close",
            post(payments::close),
        )
        .route(
            "/v1/sessions/{sid}/payments/{attempt}/pos",
            post(payments::pos),
        )
        .route(
            "/v1/sessions/{sid}/payments/{attempt}/void",
            post(payments::void),
        )
        .route("/v1/fleet/heartbeat", post(fleet::heartbeat::heartbeat))
        .route("/v1/fleet/config", get(fleet::config::get))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            tls::require_kiosk,
        ))
        // JSON bodies: 64 KiB, 413 beyond (the blob route's own limit is inside this one).
        .layer(DefaultBodyLimit::max(json::MAX_BODY_BYTES));
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/v1/payments/wechat/notify", post(payments::notify))
        // Operators only (fleet::Operator), not kiosks: it covers the whole fleet's payments.
        .route("/v1/reconciliation", get(reconcile::endpoint))
        .merge(kiosk_routes)
        .merge(staff::router(state.clone()))
        .merge(fleet::operator_routes())
        .fallback(no_such_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    router
        .layer(middleware::from_fn(security_headers))
        .layer(TraceLayer::new_for_http())
}
