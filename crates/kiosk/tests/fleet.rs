//! The kiosk's fleet task (`kiosk::fleet`): what a heartbeat carries (each device's health, the
//! printer's state reasons with paper and toner, the outbox backlog, the configuration version in
//! force), that a newer remote configuration is fetched once and offered, and that the agent
//! applies it only at an idle moment, never during a running session.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use devices::card_reader::CardData;
use devices::fingerprint::FingerImage;
use devices::pos::SerialPosConfig;
use devices::printer::{PrintJob, PrinterStatus};
use devices::{
    BarcodeError, BarcodeScanner, Camera, CameraError, CardReader, CardReaderError, DeviceHealth,
    FingerprintError, FingerprintScanner, Printer, PrinterError, SerialPosTerminal,
};
use domain::id::CitizenId;
use domain::session::{
    FaceScores, PaymentMethod, PortraitApplication, ReceiptCode, ScopeRequest, Screen,
    SessionConfig, SessionId, SessionOutcome,
};
use kiosk::agent::{AgentConfig, Ports};
use kiosk::capture::{PhotoCropper, PhotoRefused};
use kiosk::center_api::{
    ApplicationRecord, CenterApi, CenterError, DocumentKind, PayState, PaymentOrder, PosResult,
    ScopeAnswer,
};
use kiosk::fleet::{
    beat_once, ConfigUpdates, FleetApi, FleetDevices, FleetSettings, Heartbeat, PendingConfig,
    RemoteConfig, RemoteSettings, RemoteThresholds, RemoteTimeouts,
};
use kiosk::outbox::Outbox;
use kiosk::view::UiAction;
use store::{EnvelopeCipher, FileKeyProvider};

/// Every device: a fixed health, never a result (nothing in these tests reads a card).
struct Device(DeviceHealth);

#[async_trait]
impl CardReader for Device {
    async fn read_card(&self) -> Result<CardData, CardReaderError> {
        std::future::pending().await
    }
    async fn check(&self) -> DeviceHealth {
        self.0.clone()
    }
    fn health(&self) -> DeviceHealth {
        self.0.clone()
    }
}

#[async_trait]
impl BarcodeScanner for Device {
    async fn scan(&self) -> Result<String, BarcodeError> {
        std::future::pending().await
    }
    fn health(&self) -> DeviceHealth {
        self.0.clone()
    }
}

#[async_trait]
impl FingerprintScanner for Device {
    async fn capture(&self) -> Result<FingerImage, FingerprintError> {
        std::future::pending().await
    }
    async fn check(&self) -> DeviceHealth {
        self.0.clone()
    }
    fn health(&self) -> DeviceHealth {
        self.0.clone()
    }
}

#[async_trait]
impl Camera for Device {
    async fn grab(&self) -> Result<Vec<u8>, CameraError> {
        std::future::pending().await
    }
    fn health(&self) -> DeviceHealth {
        self.0.clone()
    }
}

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

struct NoCropper;

impl PhotoCropper for NoCropper {
    fn crop(&self, _: &[u8]) -> Result<Vec<u8>, PhotoRefused> {
        unreachable!("no photo in these tests")
    }
}

/// A center the session never reaches (nothing gets that far); the end is accepted.
struct Offline;

fn offline<T>() -> Result<T, CenterError> {
    Err(CenterError::Unavailable("offline".into()))
}

#[async_trait]
impl CenterApi for Offline {
    async fn scope(&self, _: &SessionId, _: &ScopeRequest) -> Result<ScopeAnswer, CenterError> {
        offline()
    }
    async fn receipt(
        &self,
        _: &SessionId,
        _: &CitizenId,
        _: &ReceiptCode,
    ) -> Result<bool, CenterError> {
        offline()
    }
    async fn verify_faces(
        &self,
        _: &SessionId,
        _: &CitizenId,
        _: &ReceiptCode,
        _: &[u8],
    ) -> Result<FaceScores, CenterError> {
        offline()
    }
    async fn put_blob(&self, _: &SessionId, _: &str, _: &[u8]) -> Result<(), CenterError> {
        offline()
    }
    async fn submit_application(
        &self,
        _: &SessionId,
        _: &ApplicationRecord,
    ) -> Result<String, CenterError> {
        offline()
    }
    async fn create_payment(
        &self,
        _: &SessionId,
        _: PaymentMethod,
        _: u8,
        _: u32,
    ) -> Result<PaymentOrder, CenterError> {
        offline()
    }
    async fn payment_state(&self, _: &SessionId, _: u8) -> Result<PayState, CenterError> {
        offline()
    }
    async fn close_payment(&self, _: &SessionId, _: u8) -> Result<PayState, CenterError> {
        offline()
    }
    async fn report_pos(
        &self,
        _: &SessionId,
        _: u8,
        _: &PosResult,
    ) -> Result<PayState, CenterError> {
        offline()
    }
    async fn document(&self, _: &SessionId, _: DocumentKind) -> Result<Vec<u8>, CenterError> {
        offline()
    }
    async fn identity(&self, _: &SessionId, _: &CitizenId) -> Result<Option<String>, CenterError> {
        offline()
    }
    async fn portrait_form(
        &self,
        _: &SessionId,
        _: &CitizenId,
        _: PortraitApplication,
    ) -> Result<Vec<u8>, CenterError> {
        offline()
    }
    async fn end_session(&self, _: &SessionId, _: &SessionOutcome) -> Result<(), CenterError> {
        Ok(())
    }
}

/// The center's fleet side: records heartbeats, serves one configuration version.
struct FleetCenter {
    latest: Option<RemoteConfig>,
    heartbeats: Mutex<Vec<Heartbeat>>,
    fetches: Mutex<Vec<Option<i64>>>,
}

#[async_trait]
impl FleetApi for FleetCenter {
    async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<Option<i64>, CenterError> {
        self.heartbeats.lock().unwrap().push(heartbeat.clone());
        Ok(self.latest.as_ref().map(|c| c.version))
    }
    async fn config_since(&self, since: Option<i64>) -> Result<Option<RemoteConfig>, CenterError> {
        self.fetches.lock().unwrap().push(since);
        Ok(self
            .latest
            .clone()
            .filter(|c| since.is_none_or(|since| c.version > since)))
    }
}

fn remote(version: i64) -> RemoteConfig {
    RemoteConfig {
        version,
        config: RemoteSettings {
            thresholds: RemoteThresholds {
                face_certified: 96.0,
                face_live: 65.0,
                fingerprint_quality: 45,
            },
            timeouts: RemoteTimeouts {
                idle_s: 90,
                step_s: 40,
                payment_s: 300,
            },
            payment_methods: vec!["wechat".into()],
        },
    }
}

fn ports() -> Ports {
    Ports {
        center: Arc::new(Offline),
        card_reader: Arc::new(Device(DeviceHealth::Ready)),
        barcode: Arc::new(Device(DeviceHealth::Ready)),
        fingerprint: Arc::new(Device(DeviceHealth::Error {
            reason: "timeout".into(),
        })),
        camera: Arc::new(Device(DeviceHealth::Busy)),
        cropper: Arc::new(NoCropper),
        // The real driver on a port that does not exist (the trait is being extended in the
        // same tree): disconnected.
        pos: Arc::new(SerialPosTerminal::new(SerialPosConfig::new(
            "/nonexistent/ttyPOS",
        ))),
        printer: Arc::new(StatusPrinter(vec![
            "toner-low-warning".into(),
            "media-empty-error".into(),
        ])),
        recorder: None,
    }
}

async fn outbox(dir: &std::path::Path) -> Outbox {
    let keys = FileKeyProvider::create(dir.join("outbox.keys")).expect("key file");
    Outbox::open(
        &dir.join("outbox.db"),
        Arc::new(EnvelopeCipher::new(Arc::new(keys))),
    )
    .await
    .expect("outbox")
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
    assert_eq!(pending.session.face.certified_vs_history, 96.0);
    assert_eq!(pending.session.face.live_vs_history, 65.0);
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

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
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
    let config = AgentConfig {
        session: session.clone(),
        enrol: biometrics::EnrolConfig::default(),
        camera_preview_url: None,
        video_dir: dir.path().join("video"),
        today: Arc::new(|| time::macros::date!(2026 - 11 - 25)),
        retry_pause: Duration::from_millis(50),
    };
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
