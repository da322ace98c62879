//! The kiosks' remote configuration: operators store a new version with `PUT /v1/fleet/config`
//! (the version number is allocated by the database); kiosks poll `GET /v1/fleet/config?since=V`
//! (after a heartbeat answers a newer `config_version`) and apply it at their next idle moment.
//!
//! ```json
//! {"thresholds": {"face_certified": 95, "face_live": 60, "fingerprint_quality": 40},
//!  "timeouts": {"idle_s": 60, "step_s": 120, "payment_s": 600},
//!  "fees": {"expiry_renewal_cny": 20, "lost_cny": 40, "damaged_cny": 40},
//!  "payment_methods": ["wechat", "unionpay"]}
//! ```
//!
//! Every field is required and unknown ones are refused, so a kiosk never applies half a
//! configuration. Fees must equal the bureau's own (`[center.fees]` of its file,
//! [`crate::CenterConfig::fees`]: the center checks every application's fee against them; another
//! fee would make every application fail), so they are carried for the kiosk's screens, not to
//! change what is charged.

use axum::{
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use domain::rules::Business;

use super::Operator;
use crate::config::Fees as BureauFees;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::AppState;

/// The sane range of the certified-photo threshold (DOMAIN: 95).
pub const FACE_CERTIFIED_RANGE: std::ops::RangeInclusive<f64> = 80.0..=99.9;
/// The sane range of the live-photo threshold (DOMAIN: 60).
pub const FACE_LIVE_RANGE: std::ops::RangeInclusive<f64> = 40.0..=99.0;
/// The sane range of the least fingerprint quality.
pub const FINGERPRINT_QUALITY_RANGE: std::ops::RangeInclusive<u8> = 1..=100;

/// The bodies are the wire crate's, the kiosk's too.
pub use kiosk_wire::fleet::{Fees, KioskConfig, Thresholds, Timeouts, VersionedConfig};

/// Checks every value of a configuration against the bureau's `fees`; the error names the field.
pub fn validate(config: &KioskConfig, fees: &BureauFees) -> Result<(), AppError> {
    let t = &config.thresholds;
    // A threshold of 0 or 1 lets every face through; 100 lets none.
    for (field, value, range) in [
        (
            "thresholds.face_certified",
            t.face_certified,
            FACE_CERTIFIED_RANGE,
        ),
        ("thresholds.face_live", t.face_live, FACE_LIVE_RANGE),
    ] {
        if !range.contains(&value) {
            return Err(AppError::invalid(
                field,
                format!("must be between {} and {}", range.start(), range.end()),
            ));
        }
    }
    if !FINGERPRINT_QUALITY_RANGE.contains(&t.fingerprint_quality) {
        return Err(AppError::invalid(
            "thresholds.fingerprint_quality",
            format!(
                "must be between {} and {}",
                FINGERPRINT_QUALITY_RANGE.start(),
                FINGERPRINT_QUALITY_RANGE.end()
            ),
        ));
    }
    for (field, value) in [
        ("timeouts.idle_s", config.timeouts.idle_s),
        ("timeouts.step_s", config.timeouts.step_s),
        ("timeouts.payment_s", config.timeouts.payment_s),
    ] {
        if !(1..=3600).contains(&value) {
            return Err(AppError::invalid(field, "must be 1–3600 seconds"));
        }
    }
    for (field, value, business) in [
        (
            "fees.expiry_renewal_cny",
            config.fees.expiry_renewal_cny,
            Business::ExpiryRenewal,
        ),
        ("fees.lost_cny", config.fees.lost_cny, Business::Lost),
        (
            "fees.damaged_cny",
            config.fees.damaged_cny,
            Business::Damaged,
        ),
    ] {
        let bureau = fees.for_business(business);
        if value != bureau {
            return Err(AppError::invalid(
                field,
                format!("the bureau's fee is {bureau} yuan"),
            ));
        }
    }
    if config.payment_methods.is_empty() {
        return Err(AppError::invalid(
            "payment_methods",
            "at least one method must be enabled",
        ));
    }
    for (i, method) in config.payment_methods.iter().enumerate() {
        if !matches!(method.as_str(), "wechat" | "unionpay") {
            return Err(AppError::invalid(
                format!("payment_methods[{i}]"),
                "must be wechat or unionpay",
            ));
        }
        if config.payment_methods[..i].contains(method) {
            return Err(AppError::invalid(
                format!("payment_methods[{i}]"),
                "listed twice",
            ));
        }
    }
    Ok(())
}

fn versioned(record: store::fleet::ConfigRecord) -> Result<VersionedConfig, AppError> {
    let config = serde_json::from_str(&record.config)
        .map_err(|err| AppError::internal("stored fleet configuration", err))?;
    Ok(VersionedConfig {
        version: record.version,
        created_at: record.created_at,
        config,
    })
}

/// `PUT /v1/fleet/config` (operators): stores a new version; `201` with it. The change goes to
/// the staff audit chain first (who, and the whole configuration), so no version is stored
/// unaudited.
pub async fn put(
    Operator(operator): Operator,
    State(state): State<AppState>,
    JsonBody(config): JsonBody<KioskConfig>,
) -> Result<Response, AppError> {
    validate(&config, &state.config.fees)?;
    let json = serde_json::to_string(&config)
        .map_err(|err| AppError::internal("fleet configuration", err))?;
    state
        .store
        .append_audit(&store::audit::NewAuditEntry {
            at: state.now(),
            actor: operator.clone(),
            // The fleet token is `operator`; anyone else is an administrator's staff session.
            role: if operator == "operator" {
                "operator".into()
            } else {
                "administrator".into()
            },
            action: "fleet_config_change".into(),
            subject: "fleet".into(),
            detail: json.clone(),
        })
        .await?;
    let record = state
        .store
        .put_fleet_config(&json, &operator, state.now())
        .await?;
    tracing::info!(version = record.version, %operator, "fleet configuration stored");
    Ok((StatusCode::CREATED, Json(versioned(record)?)).into_response())
}

/// `GET /v1/fleet/config?since=V` (kiosks): the newest version when it is newer than `V` (or
/// when `since` is absent), `204` otherwise.
pub async fn get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let mut since = None;
    for pair in query.as_deref().unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("since", value)) => {
                since = Some(value.parse::<i64>().map_err(|_| {
                    AppError::bad_request("since", "must be a configuration version number")
                })?)
            }
            _ if pair.is_empty() => {}
            _ => return Err(AppError::bad_request(pair, "unknown query parameter")),
        }
    }
    match state.store.latest_fleet_config().await? {
        Some(record) if since.is_none_or(|since| record.version > since) => {
            Ok(Json(versioned(record)?).into_response())
        }
        _ => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}
