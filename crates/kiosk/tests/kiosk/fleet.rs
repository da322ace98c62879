//! The kiosk's fleet task (`kiosk::fleet`): what a heartbeat carries (each device's health, the
//! printer's state reasons with paper and toner, the outbox backlog, the configuration version in
//! force), that a newer remote configuration is fetched once and offered, and that the agent
//! applies it only at an idle moment, never during a running session.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{agent_config, outbox, wait_for, Device, OfflineCenter};
use async_trait::async_trait;
use devices::printer::{PrintJob, PrinterStatus};
use devices::{DeviceHealth, Printer, PrinterError};
use domain::session::{Screen, SessionConfig};
use kiosk::agent::Ports;
use kiosk::center_api::CenterError;
use kiosk::fleet::{
    beat_once, ConfigUpdates, Fees, FleetApi, FleetDevices, FleetSettings, HeartbeatRequest,
    KioskConfig, PendingConfig, Thresholds, Timeouts, VersionedConfig,
};
use kiosk::view::UiAction;

use crate::support;

/// A printer whose status names its state reasons.
struct StatusPrinter(Vec<String>);

#[async_trait]
impl Printer for StatusPrinter {
    async fn print_pdf(&self, _: Vec<u8>, _: &str) -> Result<PrintJob, PrinterError> {
        std::future::pending().await
    }
    async fn status(&self) -> Result<PrinterStatus, PrinterError> {
        Ok(PrinterStatus {
            state: "idle",
            reasons: self.0.clone(),
            accepting_jobs: true,
            health: self.health(),
        })
    }
    fn health(&self) -> DeviceHealth {
        DeviceHealth::Warning {
            reason: self.0.join(", "),
        }
    }
}

/// The center's fleet side: records heartbeats, serves one configuration version.
struct FleetCenter {
    latest: Option<VersionedConfig>,
    heartbeats: Mutex<Vec<HeartbeatRequest>>,
    fetches: Mutex<Vec<Option<i64>>>,
}

#[async_trait]
impl FleetApi for FleetCenter {
    async fn heartbeat(&self, heartbeat: &HeartbeatRequest) -> Result<Option<i64>, CenterError> {
        self.heartbeats.lock().unwrap().push(heartbeat.clone());
        Ok(self.latest.as_ref().map(|c| c.version))
    }
    async fn config_since(
        &self,
        since: Option<i64>,
    ) -> Result<Option<VersionedConfig>, CenterError> {
        self.fetches.lock().unwrap().push(since);
        Ok(self
            .latest
            .clone()
            .filter(|c| since.is_none_or(|since| c.version > since)))
    }
}

fn remote(version: i64) -> VersionedConfig {
    VersionedConfig {
        version,
        created_at: 1_795_591_860,
        config: KioskConfig {
            thresholds: Thresholds {
                face_certified: 96.0,
                face_live: 65.0,
                fingerprint_quality: 45,
            },
            timeouts: Timeouts {
                idle_s: 90,
                step_s: 40,
                payment_s: 300,
            },
            fees: Fees {
                expiry_renewal_cny: 20,
                lost_cny: 40,
                damaged_cny: 40,
            },
            payment_methods: vec!["wechat".into()],
        },
    }
}

/// The center is never reached (nothing gets that far); the card reader and the barcode scanner
/// are ready, the POS disconnected (`support::ports`), the rest as named here; no recorder.
fn ports() -> Ports {
    Ports {
        fingerprint: Arc::new(Device::new(DeviceHealth::Error {
            reason: "timeout".into(),
        })),
        camera: Arc::new(Device::new(DeviceHealth::Busy)),
        printer: Arc::new(StatusPrinter(vec![
            "toner-low-warning".into(),
            "media-empty-error".into(),
        ])),
        recorder: None,
        ..support::ports(
            Arc::new(OfflineCenter::default()),
            Arc::new(Device::ready()),
        )
    }
}

#[tokio::test]
async fn a_heartbeat_reports_devices_printer_backlog_and_fetches_a_newer_configuration_once() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path()).await;
    let ports = ports();
    let devices = FleetDevices::from_ports(&ports);
    let updates = ConfigUpdates::new();
    let settings = FleetSettings::new(
        "9.9.9",
        SessionConfig::default(),
        biometrics::EnrolConfig::default(),
    );
    let center = FleetCenter {
        latest: Some(remote(7)),
        heartbeats: Mutex::default(),
        fetches: Mutex::default(),
    };

    let offered = beat_once(&center, &devices, &outbox, &updates, &settings)
        .await
        .unwrap();
    assert_eq!(offered, Some(7));
    let sent = center.heartbeats.lock().unwrap()[0].clone();
    assert_eq!(sent.software_version, "9.9.9");
    assert_eq!(sent.outbox_backlog, 0);
    assert_eq!(sent.config_version, None);
    let json = serde_json::to_value(&sent).unwrap();
    assert_eq!(
        json["devices"]["card_reader"],
        serde_json::json!({"state": "ready"})
    );
    assert_eq!(json["devices"]["camera"]["state"], "busy");
    assert_eq!(
        json["devices"]["fingerprint"],
        serde_json::json!({"state": "error", "reason": "timeout"})
    );
    assert_eq!(json["devices"]["pos"]["state"], "disconnected");
    assert_eq!(
        json["devices"]["printer"],
        serde_json::json!({"state": "warning", "reason": "toner-low-warning, media-empty-error",
                           "paper": "empty", "toner": "low"})
    );

    // Offered, mapped onto the session and enrolment configuration, not yet applied.
    assert_eq!(updates.pending_version(), Some(7));
    assert_eq!(updates.applied(), None);
    let pending = updates.take().unwrap();
    assert_eq!(pending.session.inactivity_timeout_ms, 90_000);
    assert_eq!(pending.session.service_timeout_ms, 40_000);
    assert_eq!(pending.session.payment_timeout_ms, 300_000);
    // The face thresholds are not the kiosk's: the center decides step 7 with them.
    assert_eq!(pending.enrol.quality.threshold, 45);
    updates.mark_applied(7);

    // The next heartbeat reports version 7 and fetches nothing more.
    let offered = beat_once(&center, &devices, &outbox, &updates, &settings)
        .await
        .unwrap();
    assert_eq!(offered, None);
    assert_eq!(center.heartbeats.lock().unwrap()[1].config_version, Some(7));
    assert_eq!(*center.fetches.lock().unwrap(), vec![None]);
}

#[tokio::test]
async fn a_new_configuration_is_applied_only_when_no_session_runs() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path()).await;
    let session = SessionConfig {
        inactivity_timeout_ms: 1_500,
        countdown_ms: 200,
        result_display_ms: 200,
        ..SessionConfig::default()
    };
    let config = agent_config(dir.path(), session.clone());
    let updates = ConfigUpdates::new();
    let (handle, _agent) =
        kiosk::agent::start_with_updates(ports(), outbox, config, updates.clone())
            .await
            .unwrap();
    let offer = |version: i64, inactivity_timeout_ms: u64| PendingConfig {
        version,
        session: SessionConfig {
            inactivity_timeout_ms,
            ..session.clone()
        },
        enrol: biometrics::EnrolConfig::default(),
    };

    // Idle: an offered configuration is applied at once, without a touch.
    assert!(matches!(handle.view().screen, Screen::Welcome { .. }));
    updates.offer(offer(1, 1_500));
    wait_for("version 1 applied while idle", || {
        updates.applied() == Some(1)
    })
    .await;

    // A citizen's session runs: version 2 waits.
    handle.act(UiAction::Start).await.unwrap();
    assert!(!matches!(handle.view().screen, Screen::Welcome { .. }));
    updates.offer(offer(2, 400));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !matches!(handle.view().screen, Screen::Welcome { .. }),
        "the session still runs"
    );
    assert_eq!(updates.applied(), Some(1), "not applied during the session");
    assert_eq!(updates.pending_version(), Some(2));

    // The session times out (inactivity, countdown, result screen) and the kiosk is idle
    // again: version 2 is applied then.
    wait_for("version 2 applied after the session", || {
        updates.applied() == Some(2)
    })
    .await;
    assert!(matches!(handle.view().screen, Screen::Welcome { .. }));
    assert_eq!(updates.pending_version(), None);

    // The next session runs with it: inactivity 400 ms instead of 1 500 ms.
    let started = tokio::time::Instant::now();
    handle.act(UiAction::Start).await.unwrap();
    let mut views = handle.subscribe();
    loop {
        if matches!(views.borrow_and_update().screen, Screen::Welcome { .. }) {
            break;
        }
        tokio::time::timeout(Duration::from_secs(5), views.changed())
            .await
            .expect("back to idle")
            .unwrap();
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1_400),
        "the new inactivity timeout is in force: {took:?}"
    );
}
