//! Issue 14 item 10: a transition the agent could not save is not acted on. The outbox file
//! refuses the state write (a trigger put in by the test, standing for a full or failing disk);
//! the agent must not run the transition's commands, must end the session and must show that the
//! kiosk is out of service.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use devices::card_reader::CardData;
use devices::fingerprint::FingerImage;
use devices::pos::SerialPosConfig;
use devices::printer::{PrintJob, PrinterStatus};
use devices::recorder::Recording;
use devices::{
    BarcodeError, BarcodeScanner, Camera, CameraError, CardReader, CardReaderError, DeviceHealth,
    FingerprintError, FingerprintScanner, Printer, PrinterError, RecorderError, SerialPosTerminal,
    VideoRecorder,
};
use domain::id::CitizenId;
use domain::prompts;
use domain::rules::{Business, Household};
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
use kiosk::outbox::Outbox;
use kiosk::view::UiAction;
use store::{EnvelopeCipher, FileKeyProvider};

/// Counts what the agent asked of the devices.
#[derive(Default)]
struct Counts {
    card_reads: AtomicUsize,
    video_starts: AtomicUsize,
    video_stops: AtomicUsize,
}

/// Every device; the card reader counts reads and never finds a card.
struct Device(Arc<Counts>);

#[async_trait]
impl CardReader for Device {
    async fn read_card(&self) -> Result<CardData, CardReaderError> {
        self.0.card_reads.fetch_add(1, Ordering::SeqCst);
        std::future::pending().await
    }
    async fn check(&self) -> DeviceHealth {
        DeviceHealth::Ready
    }
    fn health(&self) -> DeviceHealth {
        DeviceHealth::Ready
    }
}

#[async_trait]
impl BarcodeScanner for Device {
    async fn scan(&self) -> Result<String, BarcodeError> {
        std::future::pending().await
    }
    fn health(&self) -> DeviceHealth {
        DeviceHealth::Ready
    }
}

#[async_trait]
impl FingerprintScanner for Device {
    async fn capture(&self) -> Result<FingerImage, FingerprintError> {
        std::future::pending().await
    }
    async fn check(&self) -> DeviceHealth {
        DeviceHealth::Ready
    }
    fn health(&self) -> DeviceHealth {
        DeviceHealth::Ready
    }
}

#[async_trait]
impl Camera for Device {
    async fn grab(&self) -> Result<Vec<u8>, CameraError> {
        std::future::pending().await
    }
    fn health(&self) -> DeviceHealth {
        DeviceHealth::Ready
    }
}

#[async_trait]
impl Printer for Device {
    async fn print_pdf(&self, _: Vec<u8>, _: &str) -> Result<PrintJob, PrinterError> {
        std::future::pending().await
    }
    async fn status(&self) -> Result<PrinterStatus, PrinterError> {
        Ok(PrinterStatus {
            state: "idle",
            reasons: Vec::new(),
            accepting_jobs: true,
            health: DeviceHealth::Ready,
        })
    }
    fn health(&self) -> DeviceHealth {
        DeviceHealth::Ready
    }
}

#[async_trait]
impl VideoRecorder for Device {
    async fn start(&self, _: &str, _: &Path) -> Result<(), RecorderError> {
        self.0.video_starts.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn stop(&self, session_id: &str) -> Result<Recording, RecorderError> {
        self.0.video_stops.fetch_add(1, Ordering::SeqCst);
        Err(RecorderError::NotRecording(session_id.to_owned()))
    }
    fn health(&self) -> DeviceHealth {
        DeviceHealth::Ready
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

fn ports(counts: &Arc<Counts>) -> Ports {
    let device = Arc::new(Device(counts.clone()));
    Ports {
        center: Arc::new(Offline),
        card_reader: device.clone(),
        barcode: device.clone(),
        fingerprint: device.clone(),
        camera: device.clone(),
        cropper: Arc::new(NoCropper),
        pos: Arc::new(SerialPosTerminal::new(SerialPosConfig::new(
            "/nonexistent/ttyPOS",
        ))),
        printer: device.clone(),
        recorder: Some(device),
    }
}

/// From now on the outbox file refuses every write of the agent's state, as a full disk would.
async fn refuse_state_writes(db: &Path) {
    let other = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for when in ["INSERT", "UPDATE"] {
        sqlx::query(&format!(
            "CREATE TRIGGER refuse_state_{when} BEFORE {when} ON agent_state
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        ))
        .execute(&other)
        .await
        .unwrap();
    }
    other.close().await;
}

async fn wait_for(what: &str, check: impl Fn() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Regression (issue 14): the agent logged the failed save and ran the commands anyway, so the
/// card reader was asked for a card the outbox would not remember after a crash.
#[tokio::test]
async fn a_transition_that_could_not_be_saved_is_not_acted_on_and_the_kiosk_is_out_of_service() {
    let dir = tempfile::tempdir().unwrap();
    let keys = FileKeyProvider::create(dir.path().join("outbox.keys")).unwrap();
    let db = dir.path().join("outbox.db");
    let outbox = Outbox::open(&db, Arc::new(EnvelopeCipher::new(Arc::new(keys))))
        .await
        .unwrap();
    let counts = Arc::new(Counts::default());
    let config = AgentConfig {
        session: SessionConfig::default(),
        enrol: biometrics::EnrolConfig::default(),
        camera_preview_url: None,
        video_dir: dir.path().join("video"),
        today: Arc::new(|| time::macros::date!(2026 - 11 - 25)),
        retry_pause: Duration::from_millis(50),
    };
    let (handle, _agent) = kiosk::agent::start(ports(&counts), outbox.clone(), config)
        .await
        .unwrap();

    handle.act(UiAction::Start).await.unwrap();
    handle
        .act(UiAction::Business(Business::ExpiryRenewal))
        .await
        .unwrap();
    handle
        .act(UiAction::Household(Household::Local))
        .await
        .unwrap();
    wait_for("the video started", || {
        counts.video_starts.load(Ordering::SeqCst) == 1
    })
    .await;
    let saved = outbox.load_state().await.unwrap();

    refuse_state_writes(&db).await;
    // A renewal's number asks the reader for the old card: not this time.
    handle
        .act(UiAction::IdNumber("320104200012100044".into()))
        .await
        .unwrap();
    assert_eq!(
        handle.view().screen,
        Screen::Referred {
            step: 3,
            prompt: prompts::OUT_OF_SERVICE
        },
        "the screen says the kiosk is out of service"
    );
    wait_for("the video stopped", || {
        counts.video_stops.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        counts.card_reads.load(Ordering::SeqCst),
        0,
        "the unsaved transition's ReadCard was carried out"
    );
    assert_eq!(counts.video_starts.load(Ordering::SeqCst), 1);
    assert_eq!(
        outbox.load_state().await.unwrap(),
        saved,
        "the outbox still holds the last state it could save"
    );

    // Still out of service: back on the start screen nothing can be started while the state
    // cannot be saved.
    handle.act(UiAction::Confirm).await.unwrap();
    assert_eq!(
        handle.view().screen,
        Screen::Referred {
            step: 1,
            prompt: prompts::OUT_OF_SERVICE
        }
    );
    assert!(handle.act(UiAction::Start).await.is_err());
    assert_eq!(counts.video_starts.load(Ordering::SeqCst), 1);
}
