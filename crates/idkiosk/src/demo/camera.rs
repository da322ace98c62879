//! The demo's camera: the MJPEG camera simulator on a loopback address, showing what the control
//! panel puts in front of it (a demo citizen's camera picture, someone else, an empty booth).
//! Streams switch at the next frame; the panel drives it through its control API (`POST /show`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use devices::sim::camera::{
    no_face_jpeg, start_camera, CameraSimConfig, CameraSimHandle, CitizenImages,
};

/// Frames per second of the stream (the demo pictures are large JPEGs).
const FPS: f64 = 5.0;

/// Starts the camera on `listen`, showing the empty booth.
pub async fn start(listen: SocketAddr) -> anyhow::Result<CameraSimHandle> {
    start_camera(
        vec![no_face_jpeg()],
        CameraSimConfig {
            listen,
            fps: FPS,
            citizen_images: Some(CitizenImages(Arc::new(|id: &str| {
                // Framed as a kiosk camera is, so the face falls in the preview's oval.
                popsys::seed::demo::camera_frame(id)
            }))),
        },
    )
    .await
    .with_context(|| format!("starting the camera simulator on {listen}"))
}
