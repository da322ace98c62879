//! Issue 20 item 2: the agent scores the liveness of the full camera frame at the capture. A frame
//! scored not live goes back to the camera with the prompt, twice is referred `liveness_failed`;
//! a live one goes to the review and its score travels to the center with the live photo.

use std::sync::{Arc, Mutex};

use crate::support::{
    agent_config, outbox, ports, session_at_the_camera, wait_for, Device, OfflineCenter,
};
use async_trait::async_trait;
use devices::{Camera, CameraError, DeviceHealth};
use domain::id::CitizenId;
use domain::prompts;
use domain::session::{
    FaceScores, PaymentMethod, PortraitApplication, ReceiptAnswer, ReceiptCode, ScopeRequest,
    Screen, SessionConfig, SessionId, SessionOutcome,
};
use kiosk::capture::{LivePhoto, PhotoCropper, PhotoRefused};
use kiosk::center_api::{
    ApplicationRecord, CenterApi, CenterError, DocumentKind, LiveScore, PayState, PaymentOrder,
    PosResult, ScopeAnswer,
};
use kiosk::outbox::AgentState;
use kiosk::view::UiAction;

const ID: &str = "320104200012100044";
const SESSION: &str = "3f2a9c1e-liveness-0001";

/// A camera that always has a frame.
struct Frame;

#[async_trait]
impl Camera for Frame {
    async fn grab(&self) -> Result<Vec<u8>, CameraError> {
        Ok(b"the full frame".to_vec())
    }
    fn health(&self) -> DeviceHealth {
        DeviceHealth::Ready
    }
}

/// A cropper whose every frame gives a photo with the liveness `score`.
struct Scored(f64);

const PHOTO: &[u8] = b"\xff\xd8 the ID photo \xff\xd9";

impl PhotoCropper for Scored {
    fn crop(&self, _: &[u8]) -> Result<Vec<u8>, PhotoRefused> {
        unreachable!("the agent asks for the photo with its liveness")
    }
    fn capture(&self, frame: &[u8]) -> Result<LivePhoto, PhotoRefused> {
        assert_eq!(frame, b"the full frame", "scored on the full frame");
        Ok(LivePhoto {
            jpeg: PHOTO.to_vec(),
            liveness: Some(LiveScore {
                score: self.0,
                engine: "test-liveness (1)".into(),
            }),
        })
    }
}

/// A center that compares faces (they match) and remembers the liveness sent with them; the
/// rest is offline.
#[derive(Default)]
struct FacesCenter {
    offline: OfflineCenter,
    sent: Mutex<Vec<(Vec<u8>, Option<LiveScore>)>>,
}

#[async_trait]
impl CenterApi for FacesCenter {
    async fn scope(&self, s: &SessionId, r: &ScopeRequest) -> Result<ScopeAnswer, CenterError> {
        self.offline.scope(s, r).await
    }
    async fn receipt(
        &self,
        s: &SessionId,
        id: &CitizenId,
        r: &ReceiptCode,
    ) -> Result<ReceiptAnswer, CenterError> {
        self.offline.receipt(s, id, r).await
    }
    async fn verify_faces(
        &self,
        _: &SessionId,
        _: &CitizenId,
        _: &ReceiptCode,
        _: &[u8],
    ) -> Result<FaceScores, CenterError> {
        panic!("the agent sends the liveness with the faces")
    }
    async fn verify_faces_scored(
        &self,
        _: &SessionId,
        _: &CitizenId,
        _: &ReceiptCode,
        photo: &[u8],
        liveness: Option<&LiveScore>,
    ) -> Result<FaceScores, CenterError> {
        self.sent
            .lock()
            .unwrap()
            .push((photo.to_vec(), liveness.cloned()));
        Ok(FaceScores {
            certified_vs_history: 97.0,
            live_vs_history: 81.0,
            passed: true,
        })
    }
    async fn put_blob(&self, s: &SessionId, kind: &str, b: &[u8]) -> Result<(), CenterError> {
        self.offline.put_blob(s, kind, b).await
    }
    async fn submit_application(
        &self,
        s: &SessionId,
        a: &ApplicationRecord,
    ) -> Result<String, CenterError> {
        self.offline.submit_application(s, a).await
    }
    async fn create_payment(
        &self,
        s: &SessionId,
        m: PaymentMethod,
        attempt: u8,
        fen: u32,
    ) -> Result<PaymentOrder, CenterError> {
        self.offline.create_payment(s, m, attempt, fen).await
    }
    async fn payment_state(&self, s: &SessionId, attempt: u8) -> Result<PayState, CenterError> {
        self.offline.payment_state(s, attempt).await
    }
    async fn close_payment(&self, s: &SessionId, attempt: u8) -> Result<PayState, CenterError> {
        self.offline.close_payment(s, attempt).await
    }
    async fn report_pos(
        &self,
        s: &SessionId,
        attempt: u8,
        r: &PosResult,
    ) -> Result<PayState, CenterError> {
        self.offline.report_pos(s, attempt, r).await
    }
    async fn document(&self, s: &SessionId, k: DocumentKind) -> Result<Vec<u8>, CenterError> {
        self.offline.document(s, k).await
    }
    async fn identity(&self, s: &SessionId, id: &CitizenId) -> Result<Option<String>, CenterError> {
        self.offline.identity(s, id).await
    }
    async fn portrait_form(
        &self,
        s: &SessionId,
        id: &CitizenId,
        a: PortraitApplication,
    ) -> Result<Vec<u8>, CenterError> {
        self.offline.portrait_form(s, id, a).await
    }
    async fn end_session(&self, s: &SessionId, o: &SessionOutcome) -> Result<(), CenterError> {
        self.offline.end_session(s, o).await
    }
}

/// An agent restarted at the camera screen, with `cropper` and `center`.
async fn agent_at_the_camera(
    dir: &std::path::Path,
    cropper: Arc<dyn PhotoCropper>,
    center: Arc<FacesCenter>,
) -> kiosk::view::AgentHandle {
    let outbox = outbox(dir).await;
    outbox
        .save_state(&AgentState {
            snapshot: Some(session_at_the_camera(SESSION, ID).snapshot()),
            session_id: Some(SESSION.to_owned()),
            applicant_id: Some(ID.to_owned()),
            today: Some("2026-11-25".to_owned()),
            ..AgentState::default()
        })
        .await
        .unwrap();
    let device = Arc::new(Device::ready());
    let ports = kiosk::agent::Ports {
        camera: Arc::new(Frame),
        cropper,
        ..ports(center, device)
    };
    let config = agent_config(dir, SessionConfig::default());
    // The agent's task is detached: it runs as long as the test's runtime.
    let (handle, _) = kiosk::agent::start(ports, outbox, config).await.unwrap();
    assert_eq!(handle.view().screen, Screen::LivePhoto { error: None });
    handle
}

#[tokio::test]
async fn a_frame_scored_not_live_is_retaken_then_referred() {
    let dir = tempfile::tempdir().unwrap();
    let center = Arc::new(FacesCenter::default());
    let handle = agent_at_the_camera(dir.path(), Arc::new(Scored(0.2)), center.clone()).await;
    handle.act(UiAction::TakePhoto).await.unwrap();
    let retake = Screen::LivePhoto {
        error: Some(prompts::LIVENESS_RETAKE),
    };
    wait_for("the liveness prompt", || handle.view().screen == retake).await;
    handle.act(UiAction::TakePhoto).await.unwrap();
    wait_for("the referral", || {
        matches!(handle.view().screen, Screen::Referred { .. })
    })
    .await;
    assert_eq!(
        handle.view().screen,
        Screen::Referred {
            step: 7,
            prompt: prompts::LIVENESS_REFERRED
        }
    );
    assert!(center.sent.lock().unwrap().is_empty(), "nothing compared");
}

#[tokio::test]
async fn a_live_frame_is_reviewed_and_its_score_goes_with_the_photo() {
    let dir = tempfile::tempdir().unwrap();
    let center = Arc::new(FacesCenter::default());
    let handle = agent_at_the_camera(dir.path(), Arc::new(Scored(0.93)), center.clone()).await;
    handle.act(UiAction::TakePhoto).await.unwrap();
    wait_for("the review", || {
        matches!(handle.view().screen, Screen::PhotoReview { .. })
    })
    .await;
    handle.act(UiAction::UsePhoto).await.unwrap();
    wait_for("the mobile number", || {
        matches!(handle.view().screen, Screen::Mobile { .. })
    })
    .await;
    let sent = center.sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        vec![(
            PHOTO.to_vec(),
            Some(LiveScore {
                score: 0.93,
                engine: "test-liveness (1)".into(),
            })
        )]
    );
}
