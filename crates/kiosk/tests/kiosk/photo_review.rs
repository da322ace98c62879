//! Issue 15 item 5: the photo review survives a crash. An agent that restarts on a saved session
//! at the review shows the review again with the photo the capture sealed, serves it on
//! `/photo/review.jpg`, and drops it once the citizen has used it.

use std::sync::Arc;

use crate::support::{
    agent_config, outbox, ports, session_at_the_camera, wait_for, Device, OfflineCenter,
    AT_THE_CAMERA,
};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use domain::session::{Event, Millis, Screen, Session, SessionConfig};
use http_body_util::BodyExt;
use kiosk::outbox::AgentState;
use kiosk::view::UiAction;
use tower::ServiceExt;

const ID: &str = "320104200012100044";
const SESSION: &str = "3f2a9c1e-review-0001";

/// A session driven to the photo review after its first capture.
fn session_at_the_review() -> Session {
    let mut session = session_at_the_camera(SESSION, ID);
    for (i, event) in [Event::TakePhoto, Event::PhotoCaptured]
        .into_iter()
        .enumerate()
    {
        session
            .handle(event, Millis(AT_THE_CAMERA.0 + i as u64 * 100))
            .expect("fits the session");
    }
    assert_eq!(session.screen(), Screen::PhotoReview { can_retake: true });
    session
}

#[tokio::test]
async fn a_restarted_agent_shows_the_review_with_the_sealed_photo() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path()).await;
    // What the crashed agent left: its state at the review and the sealed live photo.
    let photo = b"\xff\xd8\xff\xe0 the live photo \xff\xd9".to_vec();
    outbox
        .put_capture(SESSION, "live_photo", &photo)
        .await
        .unwrap();
    outbox
        .save_state(&AgentState {
            snapshot: Some(session_at_the_review().snapshot()),
            session_id: Some(SESSION.to_owned()),
            applicant_id: Some(ID.to_owned()),
            today: Some("2026-11-25".to_owned()),
            ..AgentState::default()
        })
        .await
        .unwrap();

    let device = Arc::new(Device::ready());
    let ports = ports(Arc::new(OfflineCenter::default()), device.clone());
    let config = agent_config(dir.path(), SessionConfig::default());
    let (handle, _agent) = kiosk::agent::start(ports, outbox.clone(), config)
        .await
        .unwrap();
    let view = handle.view();
    assert_eq!(view.screen, Screen::PhotoReview { can_retake: true });
    assert_eq!(view.extras.review_photo.as_deref(), Some(&photo[..]));

    let app = kiosk::ui::router(handle.clone());
    let response = app
        .clone()
        .oneshot(
            Request::get("/photo/review.jpg")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], &photo[..]);

    // Used: compared (the center is offline here), and no longer held for the screen.
    handle.act(UiAction::UsePhoto).await.unwrap();
    wait_for("the review is over", || {
        !matches!(handle.view().screen, Screen::PhotoReview { .. })
    })
    .await;
    assert_eq!(handle.view().extras.review_photo, None);
    let response = app
        .oneshot(
            Request::get("/photo/review.jpg")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
