//! Test doubles shared by the kiosk's agent tests (the `support` module of the one test
//! binary): a center that is offline unless a test gives it an answer, a device that stands for
//! every device, the agent's ports built from them, the outbox on a fresh key and the agent's
//! configuration.

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
use domain::session::{
    FaceScores, PaymentMethod, PortraitApplication, ReceiptAnswer, ReceiptCode, ScopeRequest,
    SessionConfig, SessionId, SessionOutcome,
};
use kiosk::agent::{AgentConfig, AgentPolicy, Ports};
use kiosk::capture::{PhotoCropper, PhotoRefused};
use kiosk::center_api::{
    ApplicationRecord, CenterApi, CenterError, DocumentKind, PayState, PaymentOrder, PosResult,
    ScopeAnswer,
};
use kiosk::outbox::Outbox;
use store::{BlobCipher, EnvelopeCipher, FileKeyProvider};

pub type PutBlob = dyn Fn(&SessionId, &str, &[u8]) -> Result<(), CenterError> + Send + Sync;
pub type SubmitApplication =
    dyn Fn(&SessionId, &ApplicationRecord) -> Result<String, CenterError> + Send + Sync;
pub type Identity =
    dyn Fn(&SessionId, &CitizenId) -> Result<Option<String>, CenterError> + Send + Sync;
pub type PortraitForm = dyn Fn(&SessionId, &CitizenId, PortraitApplication) -> Result<Vec<u8>, CenterError>
    + Send
    + Sync;
pub type EndSession = dyn Fn(&SessionId, &SessionOutcome) -> Result<(), CenterError> + Send + Sync;
pub type Scope =
    dyn Fn(&SessionId, &ScopeRequest) -> Result<ScopeAnswer, CenterError> + Send + Sync;

/// A center that is not there: every call answers `CenterError::Unavailable`, except the end of
/// a session, which is accepted. A test gives the calls it needs an answer of its own.
#[derive(Default)]
pub struct OfflineCenter {
    pub scope: Option<Box<Scope>>,
    pub put_blob: Option<Box<PutBlob>>,
    pub submit_application: Option<Box<SubmitApplication>>,
    pub identity: Option<Box<Identity>>,
    pub portrait_form: Option<Box<PortraitForm>>,
    /// Unset: the end is accepted.
    pub end_session: Option<Box<EndSession>>,
}

fn offline<T>() -> Result<T, CenterError> {
    Err(CenterError::Unavailable("offline".into()))
}

#[async_trait]
impl CenterApi for OfflineCenter {
    async fn scope(
        &self,
        session: &SessionId,
        request: &ScopeRequest,
    ) -> Result<ScopeAnswer, CenterError> {
        self.scope
            .as_ref()
            .map_or_else(offline, |answer| answer(session, request))
    }
    async fn receipt(
        &self,
        _: &SessionId,
        _: &CitizenId,
        _: &ReceiptCode,
    ) -> Result<ReceiptAnswer, CenterError> {
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
    async fn put_blob(
        &self,
        session: &SessionId,
        kind: &str,
        bytes: &[u8],
    ) -> Result<(), CenterError> {
        self.put_blob
            .as_ref()
            .map_or_else(offline, |answer| answer(session, kind, bytes))
    }
    async fn submit_application(
        &self,
        session: &SessionId,
        application: &ApplicationRecord,
    ) -> Result<String, CenterError> {
        self.submit_application
            .as_ref()
            .map_or_else(offline, |answer| answer(session, application))
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
    async fn identity(
        &self,
        session: &SessionId,
        id: &CitizenId,
    ) -> Result<Option<String>, CenterError> {
        self.identity
            .as_ref()
            .map_or_else(offline, |answer| answer(session, id))
    }
    async fn portrait_form(
        &self,
        session: &SessionId,
        id: &CitizenId,
        application: PortraitApplication,
    ) -> Result<Vec<u8>, CenterError> {
        self.portrait_form
            .as_ref()
            .map_or_else(offline, |answer| answer(session, id, application))
    }
    async fn end_session(
        &self,
        session: &SessionId,
        outcome: &SessionOutcome,
    ) -> Result<(), CenterError> {
        self.end_session
            .as_ref()
            .map_or(Ok(()), |answer| answer(session, outcome))
    }
}

/// Every device at once, with a fixed health: nothing is ever read, scanned, captured, grabbed or
/// printed (those calls never return); the printer is idle; the recorder starts and has nothing
/// to stop. It counts the card reads and the video starts and stops.
pub struct Device {
    health: DeviceHealth,
    pub card_reads: AtomicUsize,
    pub video_starts: AtomicUsize,
    pub video_stops: AtomicUsize,
}

impl Device {
    pub fn new(health: DeviceHealth) -> Device {
        Device {
            health,
            card_reads: AtomicUsize::new(0),
            video_starts: AtomicUsize::new(0),
            video_stops: AtomicUsize::new(0),
        }
    }

    pub fn ready() -> Device {
        Device::new(DeviceHealth::Ready)
    }
}

#[async_trait]
impl CardReader for Device {
    async fn read_card(&self) -> Result<CardData, CardReaderError> {
        self.card_reads.fetch_add(1, Ordering::SeqCst);
        std::future::pending().await
    }
    async fn check(&self) -> DeviceHealth {
        self.health.clone()
    }
    fn health(&self) -> DeviceHealth {
        self.health.clone()
    }
}

#[async_trait]
impl BarcodeScanner for Device {
    async fn scan(&self) -> Result<String, BarcodeError> {
        std::future::pending().await
    }
    fn health(&self) -> DeviceHealth {
        self.health.clone()
    }
}

#[async_trait]
impl FingerprintScanner for Device {
    async fn capture(&self) -> Result<FingerImage, FingerprintError> {
        std::future::pending().await
    }
    async fn confirm(&self) -> Result<devices::ModuleMatch, FingerprintError> {
        std::future::pending().await
    }
    async fn check(&self) -> DeviceHealth {
        self.health.clone()
    }
    fn health(&self) -> DeviceHealth {
        self.health.clone()
    }
}

#[async_trait]
impl Camera for Device {
    async fn grab(&self) -> Result<Vec<u8>, CameraError> {
        std::future::pending().await
    }
    fn health(&self) -> DeviceHealth {
        self.health.clone()
    }
}

/// The status of an idle printer in good health.
pub fn idle_printer_status() -> PrinterStatus {
    PrinterStatus {
        state: "idle",
        reasons: Vec::new(),
        accepting_jobs: true,
        health: DeviceHealth::Ready,
    }
}

#[async_trait]
impl Printer for Device {
    async fn print_pdf(&self, _: Vec<u8>, _: &str) -> Result<PrintJob, PrinterError> {
        std::future::pending().await
    }
    async fn status(&self) -> Result<PrinterStatus, PrinterError> {
        Ok(PrinterStatus {
            health: self.health.clone(),
            ..idle_printer_status()
        })
    }
    fn health(&self) -> DeviceHealth {
        self.health.clone()
    }
}

#[async_trait]
impl VideoRecorder for Device {
    async fn start(&self, _: &str, _: &Path) -> Result<(), RecorderError> {
        self.video_starts.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn stop(&self, session_id: &str) -> Result<Recording, RecorderError> {
        self.video_stops.fetch_add(1, Ordering::SeqCst);
        Err(RecorderError::NotRecording(session_id.to_owned()))
    }
    fn health(&self) -> DeviceHealth {
        self.health.clone()
    }
}

pub struct NoCropper;

impl PhotoCropper for NoCropper {
    fn crop(&self, _: &[u8]) -> Result<Vec<u8>, PhotoRefused> {
        unreachable!("no photo in these tests")
    }
}

/// The agent's ports: `device` stands for every device and the recorder, the POS is the real
/// driver on a port that does not exist (disconnected). A test replaces what it needs with
/// `Ports { printer: …, ..ports(center, device) }`.
pub fn ports(center: Arc<dyn CenterApi>, device: Arc<Device>) -> Ports {
    Ports {
        center,
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

/// The outbox's cipher on a new key file in `dir`.
pub fn cipher(dir: &Path) -> Arc<dyn BlobCipher> {
    let keys = FileKeyProvider::create(dir.join("outbox.keys")).expect("key file");
    Arc::new(EnvelopeCipher::new(Arc::new(keys)))
}

/// A new outbox, `outbox.db` in `dir`, sealed with a new key.
pub async fn outbox(dir: &Path) -> Outbox {
    Outbox::open(&dir.join("outbox.db"), cipher(dir))
        .await
        .expect("outbox")
}

/// The agent's configuration for a test: `session`, the default enrolment, video under `dir`,
/// today 2026-11-25 and a 50 ms retry pause.
pub fn agent_config(dir: &Path, session: SessionConfig) -> AgentConfig {
    AgentConfig {
        session,
        enrol: biometrics::EnrolConfig::default(),
        camera_preview_url: None,
        video_dir: dir.join("video"),
        today: Arc::new(|| time::macros::date!(2026 - 11 - 25)),
        retry_pause: Duration::from_millis(50),
        policy: AgentPolicy::default(),
    }
}

/// Polls `check` every 20 ms, for 5 s at the most.
pub async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..250 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A local expiry renewal of `id` (session `sid`) driven to step 7's camera screen: card read,
/// in scope, confirmed, its receipt found. The events are 100 ms apart from 0; the next free
/// time is [`AT_THE_CAMERA`].
pub fn session_at_the_camera(sid: &str, id: &str) -> domain::session::Session {
    use domain::rules::{Business, Household};
    use domain::rules::{CardExpiry, CardOnReader, Decision, NewCardValidity};
    use domain::session::{Event, Millis, Screen, Session};
    use time::macros::date;

    let today = date!(2026 - 11 - 25);
    let citizen = CitizenId::parse(id, today).expect("valid number");
    let mut session = Session::new(SessionConfig::default(), Millis(0));
    let events = [
        Event::Start {
            session_id: SessionId::parse(sid).expect("valid id"),
            today,
        },
        Event::BusinessChosen(Business::ExpiryRenewal),
        Event::HouseholdChosen(Household::Local),
        Event::IdNumberEntered(id.to_owned()),
        Event::CardRead {
            card: CardOnReader {
                id: citizen,
                valid_from: date!(2016 - 12 - 20),
                valid_until: CardExpiry::On(date!(2026 - 12 - 20)),
            },
            name: "王小明".to_owned(),
        },
        Event::ScopeDecided {
            decision: Decision::Accept {
                fee_cny: 20,
                validity: NewCardValidity::TenYears,
                issue_by: date!(2027 - 01 - 24),
            },
            name: Some("王小明".to_owned()),
        },
        Event::Confirm,
        Event::Confirm,
        Event::ReceiptScanned("RCPT-20261125-0001".to_owned()),
        Event::ReceiptAnswer(ReceiptAnswer::Found),
    ];
    for (i, event) in events.into_iter().enumerate() {
        session
            .handle(event, Millis(i as u64 * 100))
            .expect("fits the session");
    }
    assert_eq!(session.screen(), Screen::LivePhoto { error: None });
    session
}

/// The first free time after [`session_at_the_camera`]'s events.
pub const AT_THE_CAMERA: domain::session::Millis = domain::session::Millis(1_000);
