//! The fingerprint simulator's synthetic fingers through the real driver over a pty: every press
//! mode of the control API, the image byte for byte as the module sent it, and the `biometrics`
//! quality check and matcher on what arrived.

use std::time::Duration;

use biometrics::{assess, compare, extract, GreyImage, MatchConfig, QualityConfig, QualityReason};
use devices::fingerprint::{
    FingerprintError, FingerprintScanner, SerialFingerprintConfig, SerialFingerprintScanner,
};
use devices::serial::ReconnectPolicy;
use devices::sim::fingerprint::{press_image, start_fingerprint, FingerState, FingerprintSim};
use devices::sim::{SimConfig, SimHandle};
use protocol::fingerprint::ClientConfig;
use serde_json::{json, Value};

async fn sim() -> (tempfile::TempDir, SimHandle<FingerprintSim>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = SimConfig::new(57_600);
    config.baud = None; // unpaced: the bytes are the same, the test is 7 s shorter a capture
    config.link = Some(dir.path().join("port"));
    let handle = start_fingerprint(FingerprintSim::default(), config)
        .await
        .expect("the simulator starts");
    (dir, handle)
}

/// The driver; `check_quality: false` uploads what the module calls too messy as well, so the
/// kiosk's own quality check can look at it.
fn scanner(sim: &SimHandle<FingerprintSim>, check_quality: bool) -> SerialFingerprintScanner {
    let mut config = SerialFingerprintConfig::new(sim.port());
    config.client = ClientConfig {
        poll_interval: Duration::from_millis(50),
        ack_timeout: Duration::from_millis(500),
        no_finger_after: Duration::from_millis(600),
        check_quality,
        ..ClientConfig::default()
    };
    config.line.reconnect = ReconnectPolicy {
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        give_up_after: Duration::from_secs(2),
    };
    SerialFingerprintScanner::new(config)
}

async fn control(sim: &SimHandle<FingerprintSim>, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/finger", sim.control_url()))
        .json(&body)
        .send()
        .await
        .expect("control API answers");
    assert!(response.status().is_success(), "{body}: {response:?}");
    response.json().await.expect("JSON")
}

async fn capture(scanner: &SerialFingerprintScanner) -> GreyImage {
    let image = scanner.capture().await.expect("captured");
    GreyImage::sensor(image.pixels().to_vec()).expect("256 x 288")
}

/// What the module sends for impression `k` of finger `n`: 4 bits a pixel.
fn expected(n: u64, k: u32, state: FingerState) -> GreyImage {
    press_image(n, k, state).expect("a press").quantised_4bit()
}

#[tokio::test]
async fn good_presses_are_successive_impressions_that_pass_and_match() {
    let (_dir, sim) = sim().await;
    let scanner = scanner(&sim, true);
    let status = control(&sim, json!({"finger": "good", "seed": 7})).await;
    assert_eq!(status["impression"], 0);
    let first = capture(&scanner).await;
    assert_eq!(first.pixels(), expected(7, 0, FingerState::Good).pixels());
    // The next capture is the next press (repress after each upload).
    let second = capture(&scanner).await;
    assert_eq!(second.pixels(), expected(7, 1, FingerState::Good).pixels());
    assert_ne!(first.pixels(), second.pixels());
    let quality = QualityConfig::default();
    for image in [&first, &second] {
        let report = assess(image, &quality);
        assert!(report.passed, "{report:?}");
    }
    let matched = compare(&extract(&first), &extract(&second), &MatchConfig::default());
    assert!(matched.matched, "{matched:?}");
    // The control API shows the last upload as the host received it.
    let png = reqwest::get(format!("{}/finger/last.png", sim.control_url()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(GreyImage::from_png(&png).unwrap(), second);
    let status: Value = reqwest::get(format!("{}/finger", sim.control_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["uploads"], 2);
    assert_eq!(status["impression"], 2, "{status}");

    // Another finger: a good print that does not match finger 7.
    control(&sim, json!({"finger": "other"})).await;
    let other = capture(&scanner).await;
    assert_eq!(other.pixels(), expected(7, 3, FingerState::Other).pixels());
    assert!(assess(&other, &quality).passed);
    let mismatch = compare(&extract(&first), &extract(&other), &MatchConfig::default());
    assert!(!mismatch.matched, "{mismatch:?}");
}

#[tokio::test]
async fn degraded_presses_come_through_and_fail_quality() {
    let (_dir, sim) = sim().await;
    let scanner = scanner(&sim, false);
    let quality = QualityConfig::default();
    for (mode, state, reason) in [
        ("smudged", FingerState::Smudged, QualityReason::Smudged),
        ("blank", FingerState::Blank, QualityReason::Blank),
        ("partial", FingerState::Partial, QualityReason::Partial),
    ] {
        control(&sim, json!({"finger": mode, "seed": 3, "impression": 5})).await;
        let image = capture(&scanner).await;
        assert_eq!(image.pixels(), expected(3, 5, state).pixels(), "{mode}");
        let report = assess(&image, &quality);
        assert!(!report.passed, "{mode}: {report:?}");
        assert_eq!(report.reasons.first(), Some(&reason), "{mode}: {report:?}");
    }
}

#[tokio::test]
async fn the_module_refuses_smudged_and_blank_and_sees_no_finger() {
    let (_dir, sim) = sim().await;
    let scanner = scanner(&sim, true);
    for mode in ["smudged", "blank"] {
        control(&sim, json!({"finger": mode})).await;
        let err = scanner.capture().await.expect_err(mode);
        assert_eq!(err.code().map(|c| c.code()), Some(0x06), "{mode}: {err:?}");
    }
    control(&sim, json!({"finger": "none"})).await;
    let err = scanner.capture().await.expect_err("no finger");
    assert!(matches!(err, FingerprintError::NoFinger), "{err:?}");
}
