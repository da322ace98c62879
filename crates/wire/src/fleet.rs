//! The fleet's bodies (docs/fleet.md): the heartbeat a kiosk sends (`POST /v1/fleet/heartbeat`)
//! and its answer, and the remote configuration operators push (`PUT /v1/fleet/config`) and
//! kiosks fetch (`GET /v1/fleet/config?since=V`). The center's handlers and the kiosk's fleet
//! task use these types, so neither end keeps its own copy.
//!
//! Unlike the session bodies, the configuration refuses unknown fields in the answer too: a
//! kiosk applies a configuration whole or not at all.

use serde::{Deserialize, Serialize};

/// A device's state, as `devices::DeviceHealth` names it.
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
    /// Why, for people (the center scrubs it and keeps at most 200 characters).
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

    /// Every report, to change in place.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut DeviceReport> {
        [
            &mut self.card_reader,
            &mut self.scanner,
            &mut self.camera,
            &mut self.fingerprint,
            &mut self.pos,
            &mut self.printer,
        ]
        .into_iter()
        .flatten()
    }
}

/// `POST /v1/fleet/heartbeat`. The kiosk id is the authenticated one, never a body field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// The kiosk agent's version.
    pub software_version: String,
    /// Messages waiting in the outbox.
    pub outbox_backlog: u32,
    /// The configuration version the kiosk runs (`None`: its local defaults).
    #[serde(default)]
    pub config_version: Option<i64>,
    /// Device health.
    #[serde(default)]
    pub devices: Devices,
}

/// The heartbeat's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// When the center recorded it, unix seconds.
    pub received_at: i64,
    /// The newest configuration version, `None` when none was pushed: a kiosk running an older
    /// one fetches `GET /v1/fleet/config?since=…`.
    #[serde(default)]
    pub config_version: Option<i64>,
}

/// Thresholds the kiosk applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Certified photo vs historical photo, 0–100 (DOMAIN: 95).
    pub face_certified: f64,
    /// Live photo vs historical photo, 0–100 (DOMAIN: 60).
    pub face_live: f64,
    /// The least fingerprint quality accepted, 0–100.
    pub fingerprint_quality: u8,
}

/// Timeouts, in seconds (1–3600).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Back to the idle screen after this long without a touch.
    pub idle_s: u32,
    /// The longest a screen waits for the center, the camera or the printer.
    pub step_s: u32,
    /// How long a payment attempt stays open.
    pub payment_s: u32,
}

/// 工本费 per business, in yuan (must equal `domain::rules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    /// 到期换领.
    pub expiry_renewal_cny: u32,
    /// 丢失补领.
    pub lost_cny: u32,
    /// 损坏换领.
    pub damaged_cny: u32,
}

/// One configuration, as pushed to every kiosk (`PUT /v1/fleet/config`). Every field is
/// required; the center checks the values (`center::fleet::config::validate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskConfig {
    /// Thresholds.
    pub thresholds: Thresholds,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Fees (not applied by the kiosk: its fees come from `domain::rules`).
    pub fees: Fees,
    /// Payment methods enabled: `wechat`, `unionpay` (at least one, no repeats).
    pub payment_methods: Vec<String>,
}

/// A stored configuration version: the answer of `PUT` and of `GET /v1/fleet/config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionedConfig {
    /// Allocated by the center's database, increasing.
    pub version: i64,
    /// When it was stored, unix seconds.
    pub created_at: i64,
    /// The configuration.
    pub config: KioskConfig,
}

#[cfg(test)]
mod tests {
    //! The bodies of docs/fleet.md.

    use super::*;

    #[test]
    fn the_documented_heartbeat_reads_and_writes_back_the_same() {
        let text = r#"{"software_version":"0.1.0","outbox_backlog":3,"config_version":2,"devices":{"card_reader":{"state":"ready"},"scanner":{"state":"busy"},"camera":{"state":"ready"},"fingerprint":{"state":"error","reason":"timeout"},"pos":{"state":"disconnected","reason":"/dev/ttyUSB3 vanished"},"printer":{"state":"warning","reason":"toner-low","paper":"ok","toner":"low"}}}"#;
        let heartbeat: HeartbeatRequest = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&heartbeat).unwrap(), text);
        let printer = heartbeat.devices.printer.unwrap();
        assert_eq!(printer.toner, Some(Supply::Low));
        let answer: HeartbeatResponse =
            serde_json::from_str(r#"{"received_at":1764038400,"config_version":null}"#).unwrap();
        assert_eq!(answer.config_version, None);
    }

    #[test]
    fn a_heartbeat_refuses_an_unknown_device() {
        let text = r#"{"software_version":"0.1.0","outbox_backlog":0,"devices":{"fax":{"state":"ready"}}}"#;
        assert!(serde_json::from_str::<HeartbeatRequest>(text).is_err());
    }

    #[test]
    fn the_documented_configuration_reads_and_writes_back_the_same() {
        let text = r#"{"version":5,"created_at":1795591860,"config":{"thresholds":{"face_certified":95.0,"face_live":60.0,"fingerprint_quality":40},"timeouts":{"idle_s":60,"step_s":120,"payment_s":600},"fees":{"expiry_renewal_cny":20,"lost_cny":40,"damaged_cny":40},"payment_methods":["wechat","unionpay"]}}"#;
        let config: VersionedConfig = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&config).unwrap(), text);
        assert_eq!(config.config.timeouts.payment_s, 600);
    }
}
