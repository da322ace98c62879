//! Issue 14 item 1, the agent's side: the portrait collection form is printed only after the
//! citizen confirmed the masked identity the center looked up in this session, and the form is
//! fetched through that session.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use devices::card_reader::CardData;
use devices::fingerprint::FingerImage;
use devices::pos::SerialPosConfig;
use devices::printer::{JobOutcome, PrintJob, PrinterStatus};
use devices::recorder::Recording;
use devices::{
    BarcodeError, BarcodeScanner, Camera, CameraError, CardReader, CardReaderError, DeviceHealth,
    FingerprintError, FingerprintScanner, Printer, PrinterError, RecorderError, SerialPosTerminal,
    VideoRecorder,
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
use kiosk::outbox::Outbox;
use kiosk::view::{AgentHandle, UiAction};
use store::{EnvelopeCipher, FileKeyProvider};

const ID: &str = "320104200012100044";
/// Not in the center's register.
const UNKNOWN: &str = "11010519491231002X";

/// What the center and the printer were asked, in order.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }
    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Every device; only the printer does something (it prints at once).
struct Device(Arc<Log>);

#[async_trait]
impl CardReader for Device {
    async fn read_card(&self) -> Result<CardData, CardReaderError> {
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
    async fn print_pdf(&self, pdf: Vec<u8>, title: &str) -> Result<PrintJob, PrinterError> {
        self.0
            .push(format!("print {title} {}", String::from_utf8_lossy(&pdf)));
        Ok(PrintJob {
            job_id: 1,
            state: JobOutcome::Completed,
            job_state_reasons: vec!["job-completed-successfully".into()],
            printer_state_reasons: Vec::new(),
        })
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
        Ok(())
    }
    async fn stop(&self, session_id: &str) -> Result<Recording, RecorderError> {
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

/// A center that knows one citizen (`*晓燕`) and prints a form only for a number its session
/// looked up, as the real one does.
struct Center(Arc<Log>);

fn not_here<T>() -> Result<T, CenterError> {
    Err(CenterError::Unavailable("not in this test".into()))
}

#[async_trait]
impl CenterApi for Center {
    async fn scope(&self, _: &SessionId, _: &ScopeRequest) -> Result<ScopeAnswer, CenterError> {
        not_here()
    }
    async fn receipt(
        &self,
        _: &SessionId,
        _: &CitizenId,
        _: &ReceiptCode,
    ) -> Result<bool, CenterError> {
        not_here()
    }
    async fn verify_faces(
        &self,
        _: &SessionId,
        _: &CitizenId,
        _: &ReceiptCode,
        _: &[u8],
    ) -> Result<FaceScores, CenterError> {
        not_here()
    }
    async fn put_blob(&self, _: &SessionId, _: &str, _: &[u8]) -> Result<(), CenterError> {
        Ok(())
    }
    async fn submit_application(
        &self,
        _: &SessionId,
        _: &ApplicationRecord,
    ) -> Result<String, CenterError> {
        not_here()
    }
    async fn create_payment(
        &self,
        _: &SessionId,
        _: PaymentMethod,
        _: u8,
        _: u32,
    ) -> Result<PaymentOrder, CenterError> {
        not_here()
    }
    async fn payment_state(&self, _: &SessionId, _: u8) -> Result<PayState, CenterError> {
        not_here()
    }
    async fn close_payment(&self, _: &SessionId, _: u8) -> Result<PayState, CenterError> {
        not_here()
    }
    async fn report_pos(
        &self,
        _: &SessionId,
        _: u8,
        _: &PosResult,
    ) -> Result<PayState, CenterError> {
        not_here()
    }
    async fn document(&self, _: &SessionId, _: DocumentKind) -> Result<Vec<u8>, CenterError> {
        not_here()
    }
    async fn identity(
        &self,
        session: &SessionId,
        id: &CitizenId,
    ) -> Result<Option<String>, CenterError> {
        self.0
            .push(format!("identity {} {}", session.as_str(), id.as_str()));
        Ok((id.as_str() == ID).then(|| "*晓燕".to_owned()))
    }
    async fn portrait_form(
        &self,
        session: &SessionId,
        id: &CitizenId,
        application: PortraitApplication,
    ) -> Result<Vec<u8>, CenterError> {
        let looked_up = format!("identity {} {}", session.as_str(), id.as_str());
        if !self.0.entries().contains(&looked_up) {
            return Err(CenterError::Refused("identity: not looked up".into()));
        }
        self.0.push(format!(
            "portrait_form {} {} {}",
            session.as_str(),
            id.as_str(),
            application.as_str()
        ));
        Ok(format!("%PDF form of {}", id.as_str()).into_bytes())
    }
    async fn end_session(&self, _: &SessionId, _: &SessionOutcome) -> Result<(), CenterError> {
        Ok(())
    }
}

async fn agent(log: &Arc<Log>) -> (AgentHandle, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let keys = FileKeyProvider::create(dir.path().join("outbox.keys")).unwrap();
    let outbox = Outbox::open(
        &dir.path().join("outbox.db"),
        Arc::new(EnvelopeCipher::new(Arc::new(keys))),
    )
    .await
    .unwrap();
    let device = Arc::new(Device(log.clone()));
    let ports = Ports {
        center: Arc::new(Center(log.clone())),
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
    };
    let config = AgentConfig {
        session: SessionConfig::default(),
        enrol: biometrics::EnrolConfig::default(),
        camera_preview_url: None,
        video_dir: dir.path().join("video"),
        today: Arc::new(|| time::macros::date!(2026 - 11 - 25)),
        retry_pause: Duration::from_millis(50),
    };
    let (handle, _agent) = kiosk::agent::start(ports, outbox, config).await.unwrap();
    (handle, dir)
}

async fn wait_screen(handle: &AgentHandle, name: &str) -> Screen {
    for _ in 0..200 {
        let screen = handle.view().screen;
        if screen.name() == name {
            return screen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {name}: {:?}", handle.view().screen);
}

/// Regression (issue 14): a number typed printed its portrait form at once, fetched from the
/// session-less `POST /v1/portrait-form`.
#[tokio::test]
async fn the_portrait_form_is_printed_after_the_confirmed_identity_through_the_session() {
    let log = Arc::new(Log::default());
    let (handle, _dir) = agent(&log).await;
    handle.act(UiAction::Start).await.unwrap();
    handle.act(UiAction::PortraitFormChosen).await.unwrap();
    handle
        .act(UiAction::PortraitFormRequested(ID.into()))
        .await
        .unwrap();
    let screen = wait_screen(&handle, "portrait_form_confirm").await;
    assert_eq!(
        screen,
        Screen::PortraitFormConfirm {
            masked_id: "320104********0044".into(),
            masked_name: Some("*晓燕".into()),
        }
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let entries = log.entries();
    let [looked_up] = entries.as_slice() else {
        panic!("nothing but the lookup before the citizen confirms: {entries:?}");
    };
    let sid = looked_up
        .strip_prefix("identity ")
        .and_then(|rest| rest.strip_suffix(&format!(" {ID}")))
        .expect("the lookup names the session")
        .to_owned();

    handle.act(UiAction::Confirm).await.unwrap();
    wait_screen(&handle, "portrait_form_printed").await;
    assert_eq!(
        log.entries(),
        vec![
            format!("identity {sid} {ID}"),
            format!("portrait_form {sid} {ID} first_time"),
            format!("print portrait %PDF form of {ID}"),
        ]
    );
}

#[tokio::test]
async fn a_number_without_a_record_prints_nothing() {
    let log = Arc::new(Log::default());
    let (handle, _dir) = agent(&log).await;
    handle.act(UiAction::Start).await.unwrap();
    handle.act(UiAction::PortraitFormChosen).await.unwrap();
    handle
        .act(UiAction::PortraitFormRequested(UNKNOWN.into()))
        .await
        .unwrap();
    let screen = wait_screen(&handle, "portrait_form_confirm").await;
    assert_eq!(
        screen,
        Screen::PortraitFormConfirm {
            masked_id: "110105********002X".into(),
            masked_name: None,
        }
    );
    handle.act(UiAction::Confirm).await.unwrap();
    let screen = wait_screen(&handle, "referred").await;
    assert_eq!(screen.error(), Some(domain::prompts::OUT_OF_SCOPE));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        log.entries().iter().all(|e| e.starts_with("identity ")),
        "{:?}",
        log.entries()
    );
}
