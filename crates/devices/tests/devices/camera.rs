//! The MJPEG-over-HTTP camera client against the camera simulator on loopback.

use std::time::Duration;

use devices::camera::{Camera, CameraError, MjpegCamera, MjpegCameraConfig};
use devices::images::face_jpeg;
use devices::sim::camera::{load_folder, start_camera, CameraSimConfig};
use devices::DeviceHealth;

fn fast() -> CameraSimConfig {
    CameraSimConfig {
        fps: 100.0,
        ..CameraSimConfig::default()
    }
}

#[tokio::test]
async fn the_client_gets_the_folder_frames_byte_exact_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<Vec<u8>> = (0..4).map(|i| face_jpeg(1000 + i)).collect();
    for (i, f) in frames.iter().enumerate() {
        std::fs::write(dir.path().join(format!("frame{i}.jpg")), f).unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    let loaded = load_folder(dir.path()).unwrap();
    assert_eq!(loaded, frames);

    let sim = start_camera(loaded, fast()).await.unwrap();
    let camera = MjpegCamera::new(MjpegCameraConfig::new(sim.stream_url()));
    let mut stream = camera.stream().await.unwrap();
    // Twice round the loop: the simulator cycles through the folder.
    for round in 0..2 {
        for (i, expected) in frames.iter().enumerate() {
            let got = stream.next_frame().await.unwrap();
            assert!(got == *expected, "round {round} frame {i} differs");
        }
    }
    // Only the CRLF after each part but the last (not yet read past).
    assert_eq!(stream.skipped_bytes(), 2 * 7);
    assert_eq!(camera.health(), DeviceHealth::Ready);

    // grab() opens its own stream: the first image.
    assert_eq!(camera.grab().await.unwrap(), frames[0]);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_single_image_is_served_again_and_again() {
    let image = face_jpeg(7);
    let sim = start_camera(vec![image.clone()], fast()).await.unwrap();
    let camera = MjpegCamera::new(MjpegCameraConfig::new(sim.stream_url()));
    let mut stream = camera.stream().await.unwrap();
    for _ in 0..5 {
        assert_eq!(stream.next_frame().await.unwrap(), image);
    }
    let snapshot = reqwest::get(sim.snapshot_url()).await.unwrap();
    assert_eq!(snapshot.headers()["content-type"], "image/jpeg");
    assert_eq!(snapshot.bytes().await.unwrap().to_vec(), image);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_stopped_camera_is_reported() {
    let sim = start_camera(vec![face_jpeg(1)], fast()).await.unwrap();
    let url = sim.stream_url();
    let camera = MjpegCamera::new(MjpegCameraConfig {
        frame_timeout: Duration::from_secs(2),
        ..MjpegCameraConfig::new(url)
    });
    let mut stream = camera.stream().await.unwrap();
    stream.next_frame().await.unwrap();
    sim.shutdown().await;
    // The stream ends (or breaks) once the simulator is gone, and it cannot be reopened.
    let mut ended = false;
    for _ in 0..50 {
        match stream.next_frame().await {
            Ok(_) => continue, // frames already in flight
            Err(CameraError::Ended | CameraError::Unreachable(_)) => {
                ended = true;
                break;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert!(ended);
    assert!(matches!(
        camera.grab().await,
        Err(CameraError::Unreachable(_))
    ));
    assert!(matches!(camera.health(), DeviceHealth::Disconnected { .. }));
}

#[tokio::test]
async fn a_url_that_is_not_mjpeg_is_refused() {
    let sim = start_camera(vec![face_jpeg(1)], fast()).await.unwrap();
    let camera = MjpegCamera::new(MjpegCameraConfig::new(sim.snapshot_url()));
    assert!(matches!(camera.grab().await, Err(CameraError::NotMjpeg(_))));
    let camera = MjpegCamera::new(MjpegCameraConfig::new(format!(
        "http://{}/nothing",
        sim.addr()
    )));
    assert!(matches!(camera.grab().await, Err(CameraError::NotMjpeg(_))));
    sim.shutdown().await;
}
