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
//! `paper` and `toner` are `ok`, `low`, `empty` or `unknown`. Answer:
//! `{"received_at":1764038400,"config_version":4}` (the newest configuration version, `null` when
//! none was pushed): a kiosk running an older one fetches `GET /v1/fleet/config?since=…`.

use axum::{extract::State, Extension, Json};
use serde::{Deserialize, Serialize};

use crate::auth::KioskId;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::AppState;

/// A device's state, as `devices::DeviceHealth` serialises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Open and answering.
    Ready,
    /// An operation is running.
    Busy,
    /// Needs attention soon (toner low).
    Warning,
    /// The device's own fault.
    Error,
    /// The port is gone.
    Disconnected,
}

impl DeviceState {
    /// The device cannot serve a citizen (an alert).
    pub fn is_fault(self) -> bool {
        matches!(self, DeviceState::Error | DeviceState::Disconnected)
    }

    /// `ready`, `busy`, …
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Ready => "ready",
            DeviceState::Busy => "busy",
            DeviceState::Warning => "warning",
            DeviceState::Error => "error",
            DeviceState::Disconnected => "disconnected",
        }
    }
}

/// A supply level of the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Supply {
    /// Enough.
    Ok,
    /// Running low.
    Low,
    /// Out.
    Empty,
    /// The printer does not say.
    Unknown,
}

/// One device's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceReport {
    /// The state.
    pub state: DeviceState,
    /// Why, for people (scrubbed, at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The printer's paper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<Supply>,
    /// The printer's toner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toner: Option<Supply>,
}

/// The kiosk's devices; a kiosk without one (no POS) leaves it out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Devices {
    /// ID card reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_reader: Option<DeviceReport>,
    /// Barcode scanner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner: Option<DeviceReport>,
    /// Camera.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<DeviceReport>,
    /// Fingerprint module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<DeviceReport>,
    /// UnionPay MIS-POS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<DeviceReport>,
    /// Document printer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer: Option<DeviceReport>,
}

impl Devices {
    /// `(name, report)` of every device reported, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &DeviceReport)> {
        [
            ("card_reader", &self.card_reader),
            ("scanner", &self.scanner),
            ("camera", &self.camera),
            ("fingerprint", &self.fingerprint),
            ("pos", &self.pos),
            ("printer", &self.printer),
        ]
        .into_iter()
        .filter_map(|(name, report)| report.as_ref().map(|r| (name, r)))
    }

    fn scrubbed(mut self) -> Devices {
        for report in [
            &mut self.card_reader,
            &mut self.scanner,
            &mut self.camera,
            &mut self.fingerprint,
            &mut self.pos,
            &mut self.printer,
        ]
        .into_iter()
        .flatten()
        {
            report.reason = report.reason.as_deref().map(super::scrub);
        }
        self
    }
}

/// The heartbeat's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// The kiosk agent's version.
    pub software_version: String,
    /// Messages waiting in the outbox.
    pub outbox_backlog: u32,
    /// The configuration version the kiosk runs.
    #[serde(default)]
    pub config_version: Option<i64>,
    /// Device health.
    #[serde(default)]
    pub devices: Devices,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// When the center recorded it, unix seconds.
    pub received_at: i64,
    /// The newest configuration version, if any.
    pub config_version: Option<i64>,
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
    let devices = serde_json::to_string(&body.devices.scrubbed())
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
