//! The kiosk's side of the fleet (docs/fleet.md): a task that sends the center a heartbeat every
//! 30 s (devices' health, the printer's state reasons, software version, outbox backlog, the
//! configuration version in force) and fetches a newer remote configuration when the heartbeat's
//! answer names one. A fetched configuration is handed to the agent through [`ConfigUpdates`];
//! the agent applies it at its next idle moment (the start screen, no session running), never in
//! the middle of a citizen's session.
//!
//! The center is behind [`FleetApi`] (the shipped implementation is `kiosk::center_client`'s, the
//! `kiosk-wire` client), so the task is tested without a network. The heartbeat and the
//! configuration are the `kiosk_wire::fleet` bodies the center's handlers take and give.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use biometrics::EnrolConfig;
use devices::{
    BarcodeScanner, Camera, CardReader, DeviceHealth, FingerprintScanner, PosTerminal, Printer,
};
use domain::session::SessionConfig;
use tokio::sync::{watch, Notify};

use crate::center_api::CenterError;
use crate::outbox::Outbox;
use crate::ports::Ports;

/// The bodies are the wire crate's, the center's too.
pub use kiosk_wire::fleet::{
    DeviceReport, DeviceState, Devices, Fees, HeartbeatRequest, KioskConfig, Supply, Thresholds,
    Timeouts, VersionedConfig,
};

/// A driver's [`DeviceHealth`] as the heartbeat reports it.
pub fn device_report(health: &DeviceHealth) -> DeviceReport {
    let (state, reason) = match health {
        DeviceHealth::Ready => (DeviceState::Ready, None),
        DeviceHealth::Busy => (DeviceState::Busy, None),
        DeviceHealth::Warning { reason } => (DeviceState::Warning, Some(reason.clone())),
        DeviceHealth::Error { reason } => (DeviceState::Error, Some(reason.clone())),
        DeviceHealth::Disconnected { reason } => (DeviceState::Disconnected, Some(reason.clone())),
    };
    DeviceReport {
        state,
        reason,
        paper: None,
        toner: None,
    }
}

/// The session and enrolment configuration with a remote configuration's values over `session`
/// and `enrol`: `idle_s` → inactivity timeout, `step_s` → service timeout, `payment_s` → payment
/// timeout, fingerprint quality threshold (the face thresholds are the center's, which decides
/// step 7 with them; fees come from `domain::rules`
/// anyway; the payment methods offered are the bureau's, named by each scope answer).
pub fn apply_remote(
    config: &KioskConfig,
    session: &SessionConfig,
    enrol: &EnrolConfig,
) -> (SessionConfig, EnrolConfig) {
    let mut session = session.clone();
    session.inactivity_timeout_ms = u64::from(config.timeouts.idle_s) * 1000;
    session.service_timeout_ms = u64::from(config.timeouts.step_s) * 1000;
    session.payment_timeout_ms = u64::from(config.timeouts.payment_s) * 1000;
    let mut enrol = enrol.clone();
    enrol.quality.threshold = config.thresholds.fingerprint_quality;
    (session, enrol)
}

/// What the fleet task asks of the center.
#[async_trait]
pub trait FleetApi: Send + Sync {
    /// `POST /v1/fleet/heartbeat`; the newest configuration version the center has.
    async fn heartbeat(&self, heartbeat: &HeartbeatRequest) -> Result<Option<i64>, CenterError>;
    /// `GET /v1/fleet/config?since=V`; `None` when nothing newer.
    async fn config_since(
        &self,
        since: Option<i64>,
    ) -> Result<Option<VersionedConfig>, CenterError>;
}

/// A configuration waiting for the agent's next idle moment.
#[derive(Debug, Clone)]
pub struct PendingConfig {
    /// The center's version.
    pub version: i64,
    /// The state machine's configuration to use from the next session on.
    pub session: SessionConfig,
    /// Fingerprint enrolment's configuration.
    pub enrol: EnrolConfig,
}

/// The hand-over between the fleet task (offers) and the agent (takes when idle, reports the
/// version applied).
#[derive(Debug)]
pub struct ConfigUpdates {
    pending: Mutex<Option<PendingConfig>>,
    offered: Notify,
    applied: watch::Sender<Option<i64>>,
}

impl ConfigUpdates {
    /// Nothing pending; the local configuration (no remote version) in force.
    pub fn new() -> Arc<ConfigUpdates> {
        Arc::new(ConfigUpdates {
            pending: Mutex::new(None),
            offered: Notify::new(),
            applied: watch::Sender::new(None),
        })
    }

    /// Offers a configuration; replaces one still pending.
    pub fn offer(&self, config: PendingConfig) {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(config);
        self.offered.notify_one();
    }

    /// The pending configuration's version.
    pub fn pending_version(&self) -> Option<i64> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|p| p.version)
    }

    /// The agent takes the pending configuration (when idle).
    pub fn take(&self) -> Option<PendingConfig> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The agent says it now runs `version`.
    pub fn mark_applied(&self, version: i64) {
        self.applied.send_replace(Some(version));
    }

    /// The version in force (`None`: the local configuration).
    pub fn applied(&self) -> Option<i64> {
        *self.applied.borrow()
    }

    /// Follows the version in force.
    pub fn subscribe(&self) -> watch::Receiver<Option<i64>> {
        self.applied.subscribe()
    }

    /// Resolves when a configuration was offered (the agent wakes up to apply it if idle).
    pub async fn offered(&self) {
        self.offered.notified().await
    }
}

/// The devices whose health the heartbeat reports.
#[derive(Clone)]
pub struct FleetDevices {
    /// ID card reader.
    pub card_reader: Arc<dyn CardReader>,
    /// Barcode scanner.
    pub scanner: Arc<dyn BarcodeScanner>,
    /// Camera.
    pub camera: Arc<dyn Camera>,
    /// Fingerprint module.
    pub fingerprint: Arc<dyn FingerprintScanner>,
    /// UnionPay terminal.
    pub pos: Arc<dyn PosTerminal>,
    /// Printer (asked for its state reasons at each heartbeat).
    pub printer: Arc<dyn Printer>,
}

impl FleetDevices {
    /// The agent's devices.
    pub fn from_ports(ports: &Ports) -> FleetDevices {
        FleetDevices {
            card_reader: ports.card_reader.clone(),
            scanner: ports.barcode.clone(),
            camera: ports.camera.clone(),
            fingerprint: ports.fingerprint.clone(),
            pos: ports.pos.clone(),
            printer: ports.printer.clone(),
        }
    }
}

/// The fleet task's settings.
#[derive(Debug, Clone)]
pub struct FleetSettings {
    /// Between two heartbeats (30 s).
    pub interval: Duration,
    /// The agent's version (`env!("CARGO_PKG_VERSION")` of the binary).
    pub software_version: String,
    /// The local session configuration a remote version is laid over.
    pub session: SessionConfig,
    /// The local enrolment configuration a remote version is laid over.
    pub enrol: EnrolConfig,
    /// How long the printer's status query may take.
    pub printer_timeout: Duration,
}

impl FleetSettings {
    /// Every 30 s, over `session` and `enrol`.
    pub fn new(software_version: &str, session: SessionConfig, enrol: EnrolConfig) -> Self {
        FleetSettings {
            interval: Duration::from_secs(30),
            software_version: software_version.to_owned(),
            session,
            enrol,
            printer_timeout: Duration::from_secs(5),
        }
    }
}

fn supply(reasons: &[String], names: &[&str]) -> Supply {
    let has = |suffix: &str| {
        reasons.iter().any(|r| {
            let r = r
                .trim_end_matches("-error")
                .trim_end_matches("-warning")
                .trim_end_matches("-report");
            names.iter().any(|n| r == format!("{n}-{suffix}"))
        })
    };
    if has("empty") || has("needed") {
        Supply::Empty
    } else if has("low") || has("nearly-empty") {
        Supply::Low
    } else {
        Supply::Ok
    }
}

/// The printer's report: its state, its `printer-state-reasons` as the reason, paper and toner
/// read from them (`media-low`, `media-empty`, `media-needed`, `toner-low`, `toner-empty`,
/// `marker-supply-low`, `marker-supply-empty`). When the printer does not answer: the driver's
/// last health, paper and toner `unknown`.
pub async fn printer_report(printer: &dyn Printer, timeout: Duration) -> DeviceReport {
    match tokio::time::timeout(timeout, printer.status()).await {
        Ok(Ok(status)) => {
            let mut report = device_report(&status.health);
            if !status.reasons.is_empty() {
                report.reason = Some(status.reasons.join(", "));
            }
            report.paper = Some(supply(&status.reasons, &["media"]));
            report.toner = Some(supply(&status.reasons, &["toner", "marker-supply"]));
            report
        }
        Ok(Err(err)) => {
            let mut report = device_report(&printer.health());
            if report.reason.is_none() {
                report.reason = Some(err.to_string());
            }
            report.paper = Some(Supply::Unknown);
            report.toner = Some(Supply::Unknown);
            report
        }
        Err(_) => {
            let mut report = device_report(&printer.health());
            report.paper = Some(Supply::Unknown);
            report.toner = Some(Supply::Unknown);
            report
        }
    }
}

/// The heartbeat as of now.
pub async fn collect(
    devices: &FleetDevices,
    outbox: &Outbox,
    updates: &ConfigUpdates,
    settings: &FleetSettings,
) -> HeartbeatRequest {
    let reports = Devices {
        card_reader: Some(device_report(&devices.card_reader.health())),
        scanner: Some(device_report(&devices.scanner.health())),
        camera: Some(device_report(&devices.camera.health())),
        fingerprint: Some(device_report(&devices.fingerprint.health())),
        pos: Some(device_report(&devices.pos.health())),
        printer: Some(printer_report(devices.printer.as_ref(), settings.printer_timeout).await),
    };
    let backlog = match outbox.backlog().await {
        Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
        Err(err) => {
            tracing::warn!(error = %err, "heartbeat: reading the outbox backlog");
            0
        }
    };
    HeartbeatRequest {
        software_version: settings.software_version.clone(),
        outbox_backlog: backlog,
        config_version: updates.applied(),
        devices: reports,
    }
}

/// One round: sends the heartbeat; when the center names a configuration version newer than
/// the one in force (and than one already pending), fetches it and offers it to the agent.
/// Returns the version offered, if any.
pub async fn beat_once(
    api: &dyn FleetApi,
    devices: &FleetDevices,
    outbox: &Outbox,
    updates: &ConfigUpdates,
    settings: &FleetSettings,
) -> Result<Option<i64>, CenterError> {
    let heartbeat = collect(devices, outbox, updates, settings).await;
    let latest = api.heartbeat(&heartbeat).await?;
    let known = updates.applied().max(updates.pending_version());
    let Some(latest) = latest else {
        return Ok(None);
    };
    if known.is_some_and(|known| known >= latest) {
        return Ok(None);
    }
    let Some(remote) = api.config_since(known).await? else {
        return Ok(None);
    };
    if known.is_some_and(|known| known >= remote.version) {
        return Ok(None);
    }
    let (session, enrol) = apply_remote(&remote.config, &settings.session, &settings.enrol);
    tracing::info!(
        version = remote.version,
        "remote configuration fetched; applied at the next idle moment"
    );
    updates.offer(PendingConfig {
        version: remote.version,
        session,
        enrol,
    });
    Ok(Some(remote.version))
}

/// The fleet task: [`beat_once`] now and every `settings.interval`, for ever (abort the task
/// to stop it). A failed round is logged and the next one comes at the next tick.
pub async fn run(
    api: Arc<dyn FleetApi>,
    devices: FleetDevices,
    outbox: Outbox,
    updates: Arc<ConfigUpdates>,
    settings: FleetSettings,
) {
    let mut ticks = tokio::time::interval(settings.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(err) = beat_once(api.as_ref(), &devices, &outbox, &updates, &settings).await {
            tracing::warn!(error = %err, "fleet heartbeat failed");
        }
    }
}
