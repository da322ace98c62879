//! The fingerprint driver against the module simulator over a real pty.

use std::time::Duration;

use devices::fingerprint::{
    FingerprintError, FingerprintScanner, SerialFingerprintConfig, SerialFingerprintScanner,
    HEIGHT, WIDTH,
};
use devices::serial::ReconnectPolicy;
use devices::sim::fingerprint::{start_fingerprint, FingerState, FingerprintSim};
use devices::sim::SimHandle;
use devices::DeviceHealth;
use protocol::fingerprint::{ClientConfig, Confirmation, Instruction};

use crate::support::sim_config;

async fn sim(baud: Option<u32>) -> (tempfile::TempDir, SimHandle<FingerprintSim>) {
    let (dir, config) = sim_config(baud);
    let handle = start_fingerprint(FingerprintSim::default(), config)
        .await
        .expect("the simulator starts");
    (dir, handle)
}

fn scanner(sim: &SimHandle<FingerprintSim>) -> SerialFingerprintScanner {
    let mut config = SerialFingerprintConfig::new(sim.port());
    config.client = ClientConfig {
        poll_interval: Duration::from_millis(50),
        ack_timeout: Duration::from_millis(300),
        no_finger_after: Duration::from_millis(600),
        ..ClientConfig::default()
    };
    config.line.reconnect = ReconnectPolicy {
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        give_up_after: Duration::from_secs(2),
    };
    SerialFingerprintScanner::new(config)
}

fn press(sim: &SimHandle<FingerprintSim>, finger: FingerState) {
    sim.shared()
        .with(|s, _| s.device.press(finger, 42))
        .expect("finger pressed");
}

#[tokio::test]
async fn capture_and_upload_a_good_finger_at_57600_baud() {
    let (_dir, sim) = sim(Some(57_600)).await;
    press(&sim, FingerState::Good);
    let scanner = scanner(&sim);
    let started = tokio::time::Instant::now();
    let image = scanner.capture().await.expect("captured");
    // 288 data packets of 139 bytes at 57600 baud: about 7 s on the wire.
    assert!(
        started.elapsed() > Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(image.pixels().len(), WIDTH * HEIGHT);
    // What came over the line is the simulator's synthetic finger at 4 bits a pixel.
    let drawn = devices::sim::fingerprint::press_image(42, 0, FingerState::Good).unwrap();
    assert_eq!(image.pixels(), drawn.quantised_4bit().pixels());
    assert_eq!(scanner.health(), DeviceHealth::Ready);
}

#[tokio::test]
async fn finger_pressed_while_the_scanner_polls() {
    let (_dir, sim) = sim(None).await;
    let shared = sim.shared().clone();
    let scanner = scanner(&sim);
    let capture = tokio::spawn(async move { scanner.capture().await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    shared
        .with(|s, _| s.device.press(FingerState::Good, 3))
        .expect("pressed");
    let image = capture.await.expect("the task").expect("captured");
    assert_eq!(image.pixels().len(), WIDTH * HEIGHT);
}

#[tokio::test]
async fn a_smudged_finger_fails_the_quality_check() {
    let (_dir, sim) = sim(None).await;
    press(&sim, FingerState::Smudged);
    let scanner = scanner(&sim);
    let err = scanner.capture().await.expect_err("smudged");
    assert!(
        matches!(
            err,
            FingerprintError::Failed {
                instruction: Instruction::Img2Tz { .. },
                code: Confirmation::TooMessy
            }
        ),
        "{err:?}"
    );
    assert_eq!(scanner.health(), DeviceHealth::Ready, "the citizen's doing");
}

#[tokio::test]
async fn no_finger_is_reported_after_the_wait() {
    let (_dir, sim) = sim(None).await;
    let scanner = scanner(&sim);
    let err = scanner.capture().await.expect_err("no finger");
    assert!(matches!(err, FingerprintError::NoFinger), "{err:?}");
    assert_eq!(err.summary(), "no finger on the sensor");
}

#[tokio::test]
async fn corrupted_packets_are_asked_again() {
    let (_dir, sim) = sim(None).await;
    press(&sim, FingerState::Good);
    sim.shared().corrupt_next(2);
    let scanner = scanner(&sim);
    let image = scanner
        .capture()
        .await
        .expect("captured despite 2 corrupted packets");
    assert_eq!(image.pixels().len(), WIDTH * HEIGHT);
}

#[tokio::test]
async fn module_unplugged_and_back() {
    let (_dir, sim) = sim(None).await;
    press(&sim, FingerState::Good);
    sim.shared().drop_line(Duration::from_millis(500));
    crate::support::wait_until(Duration::from_secs(1), || sim.pty_path().is_none()).await;
    let scanner = scanner(&sim);
    let image = scanner
        .capture()
        .await
        .expect("captured once the module is back");
    assert_eq!(image.pixels().len(), WIDTH * HEIGHT);
    assert_eq!(scanner.check().await, DeviceHealth::Ready);
}
