//! The camera simulator's control API: what the camera shows is switched at run time (an image
//! file, a demo citizen's picture, raw JPEG bytes, no face), and the MJPEG client sees it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use devices::camera::{Camera, MjpegCamera, MjpegCameraConfig};
use devices::images::face_jpeg;
use devices::sim::camera::{no_face_jpeg, start_camera, CameraSimConfig, CitizenImages};
use serde_json::{json, Value};

async fn post(url: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/show"))
        .json(&body)
        .send()
        .await
        .expect("the control API answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

async fn snapshot(url: &str) -> Vec<u8> {
    reqwest::get(url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn show_the_camera_a_face_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let (start, face, citizen_face) = (face_jpeg(1), face_jpeg(2), face_jpeg(3));
    let face_path = dir.path().join("face.jpg");
    std::fs::write(&face_path, &face).unwrap();
    let citizen_path = dir.path().join("citizen.jpg");
    std::fs::write(&citizen_path, &citizen_face).unwrap();
    let known: PathBuf = citizen_path.clone();
    let config = CameraSimConfig {
        fps: 50.0,
        citizen_images: Some(CitizenImages(Arc::new(move |id: &str| {
            (id == "320104200012100044").then(|| known.clone())
        }))),
        ..CameraSimConfig::default()
    };
    let sim = start_camera(vec![start.clone()], config).await.unwrap();
    let url = sim.control_url();
    let camera = MjpegCamera::new(MjpegCameraConfig::new(sim.stream_url()));
    let mut stream = camera.stream().await.unwrap();
    assert_eq!(stream.next_frame().await.unwrap(), start);
    let showing: Value = reqwest::get(format!("{url}/show"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(showing["source"], "start");

    // An image file: the open stream switches at its next frames, new grabs see it at once.
    let (status, body) = post(&url, json!({"image": face_path})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "image");
    assert_eq!(body["generation"], 1);
    let mut switched = false;
    for _ in 0..5 {
        if stream.next_frame().await.unwrap() == face {
            switched = true;
            break;
        }
    }
    assert!(switched, "the stream shows the new image");
    assert_eq!(camera.grab().await.unwrap(), face);
    assert_eq!(snapshot(&sim.snapshot_url()).await, face);

    // A demo citizen's picture, through the resolver the simulator was given.
    let (status, body) = post(&url, json!({"citizen": "320104200012100044"})).await;
    assert_eq!((status, body["source"].clone()), (200, json!("citizen")));
    assert_eq!(camera.grab().await.unwrap(), citizen_face);

    // No face: the empty backdrop.
    let (status, _) = post(&url, json!({"no_face": true})).await;
    assert_eq!(status, 200);
    assert_eq!(camera.grab().await.unwrap(), no_face_jpeg());

    // Bytes sent in the request.
    let b64 = base64::engine::general_purpose::STANDARD.encode(&face);
    let (status, _) = post(&url, json!({"jpeg_base64": b64})).await;
    assert_eq!(status, 200);
    assert_eq!(camera.grab().await.unwrap(), face);

    // Refusals leave the picture as it was.
    let (status, body) = post(&url, json!({"citizen": "110105194912310021"})).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("110105194912310021"));
    std::fs::write(dir.path().join("text.jpg"), "not a jpeg").unwrap();
    let (status, body) = post(&url, json!({"image": dir.path().join("text.jpg")})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(&url, json!({"image": face_path, "no_face": true})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(&url, json!({"picture": "x"})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(camera.grab().await.unwrap(), face);
    tokio::time::timeout(Duration::from_secs(2), sim.shutdown())
        .await
        .expect("stops");
}

#[tokio::test]
async fn the_rust_handle_switches_too() {
    let sim = start_camera(vec![face_jpeg(1)], CameraSimConfig::default())
        .await
        .unwrap();
    let showing = sim.show_no_face();
    assert_eq!(
        (showing.source.as_str(), showing.generation),
        ("no_face", 1)
    );
    assert_eq!(snapshot(&sim.snapshot_url()).await, no_face_jpeg());
    assert!(
        sim.show_citizen("320104200012100044").is_err(),
        "no resolver"
    );
    sim.shutdown().await;
}
