//! The center: the kiosks' background service. First slice: steps 2–5 of a session (look the
//! citizen up in the population system, decide self-service scope with the domain's rules, return
//! the masked identity).
//!
//! Invariants: no session state in memory (any number of replicas can serve a fleet); every
//! business rule comes from `domain`; the population system is reached only through the
//! [`popsys::PopulationSystem`] adapter; client errors name the field.
#![warn(missing_docs)]

pub mod auth;
pub mod error;
pub mod json;
pub mod wire;

use std::sync::Arc;

use axum::{
    extract::State,
    middleware,
    routing::{get, post},
    Json, Router,
};
use domain::mask::mask_name;
use domain::region::KioskCity;
use domain::rules::{decide, ScopeCase};
use popsys::{PopulationSystem, Today};
use tower_http::trace::TraceLayer;

use crate::auth::KioskSecrets;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::wire::{MaskedIdentity, ScopeRequest, ScopeResponse};

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
}

/// The center's HTTP API. Every `/v1/…` route but the WeChat Pay callback needs kiosk
/// authentication ([`auth::require_kiosk`]); `/health` does not.
pub fn app(state: AppState) -> Router {
    let kiosk_routes =
        Router::new()
            .route("/v1/scope", post(scope))
            .route_layer(middleware::from_fn_with_state(
                state.kiosks.clone(),
                auth::require_kiosk,
            ));
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(kiosk_routes)
        .with_state(state)
        .layer(TraceLayer::new_for_http())
}

/// Steps 2–5: looks the citizen up and decides whether the case is within self-service scope.
async fn scope(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ScopeRequest>,
) -> Result<Json<ScopeResponse>, AppError> {
    let today = state.today.today();
    let input = request.validate(today)?;
    let found = state
        .population
        .citizen(&input.id, &state.kiosk_city, today)
        .await
        .map_err(|err| {
            AppError::Internal(anyhow::Error::new(err).context("population system lookup"))
        })?;
    let name = found.as_ref().map(|found| found.name.clone());
    let identity = found.as_ref().map(|found| MaskedIdentity {
        id_masked: input.id.masked(),
        name_masked: mask_name(&found.name),
    });
    let case = ScopeCase {
        today,
        kiosk_city: state.kiosk_city.clone(),
        business: input.business,
        household: input.household,
        id: input.id,
        card: input.card,
        record: found.map(|found| found.population_record()),
    };
    // validate() guarantees a card for every renewal, the only case decide() refuses.
    let decision = decide(&case).map_err(|err| AppError::invalid("card", err.to_string()))?;
    tracing::info!(id = %case.id.masked(), reason = decision.reason_code(), "scope decided");
    Ok(Json(ScopeResponse::new(&decision, identity, name)))
}
