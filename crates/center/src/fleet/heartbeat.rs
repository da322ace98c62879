//! `POST /v1/fleet/heartbeat`: a kiosk says it is alive, how its devices are, which software and
//! configuration it runs and how many messages wait in its outbox. The kiosk id comes from its
//! authentication (certificate or secret), never from the body.
//!
//! Body (every device optional, unknown fields refused, `422` naming the field):
//!
//! ```json
//! {"software_version":"0.1.0","outbox_backlog":0,"config_version":3,
//!  "devices":{"card_reader":{"state":"ready"},"scanner":{"state":"busy"},
//!             "camera":{"state":"ready"},"fingerprint":{"state":"error","reason":"timeout"},
//!             "pos":{"state":"disconnected","reason":"/dev/ttyUSB3 vanished"},
//!             "printer":{"state":"warning","reason":"toner-low","paper":"ok","toner":"low"}}}
//! ```
//!
//! `state` is `devices::DeviceHealth`'s (`ready`, `busy`, `warning`, `error`, `disconnected`);
//! `paper` and `toner` are `ok`, `low`, `empty` or `unknown` (the types are `kiosk_wire::fleet`'s,
//! which the kiosk sends). Answer:
//! `{"received_at":1764038400,"config_version":4}` (the newest configuration version, `null` when
//! none was pushed): a kiosk running an older one fetches `GET /v1/fleet/config?since=…`.

use axum::{extract::State, Extension, Json};

use crate::auth::KioskId;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::AppState;

/// The bodies are the wire crate's, the kiosk's too.
pub use kiosk_wire::fleet::{
    DeviceReport, DeviceState, Devices, HeartbeatRequest, HeartbeatResponse, Supply,
};

/// The devices with every reason scrubbed ([`super::scrub`]) before they are stored.
fn scrubbed(mut devices: Devices) -> Devices {
    for report in devices.iter_mut() {
        report.reason = report.reason.as_deref().map(super::scrub);
    }
    devices
}

/// `POST /v1/fleet/heartbeat`.
pub async fn heartbeat(
    State(state): State<AppState>,
    Extension(KioskId(kiosk)): Extension<KioskId>,
    JsonBody(body): JsonBody<HeartbeatRequest>,
) -> Result<Json<HeartbeatResponse>, AppError> {
    let version = body.software_version.trim();
    if version.is_empty() || version.len() > 64 {
        return Err(AppError::invalid(
            "software_version",
            "must be 1–64 characters",
        ));
    }
    let now = state.now();
    let devices = serde_json::to_string(&scrubbed(body.devices))
        .map_err(|err| AppError::internal("heartbeat", err))?;
    state
        .store
        .record_heartbeat(&store::fleet::HeartbeatRecord {
            kiosk_id: kiosk.clone(),
            received_at: now,
            software_version: super::scrub(version),
            outbox_backlog: i64::from(body.outbox_backlog),
            devices,
            config_version: body.config_version,
        })
        .await?;
    let latest = state.store.latest_fleet_config().await?;
    tracing::debug!(%kiosk, "heartbeat");
    Ok(Json(HeartbeatResponse {
        received_at: now,
        config_version: latest.map(|c| c.version),
    }))
}
