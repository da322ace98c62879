//! Step 7: the live photo (a camera frame cropped to the ID photo, scored for liveness, sealed in
//! the outbox) and the center's comparison of the faces.

use std::sync::Arc;

use devices::Camera;
use domain::id::CitizenId;
use domain::session::{Event, ReceiptCode, SessionId};

use super::center::retry;
use super::{Agent, Hint, Task};
use crate::capture::PhotoCropper;
use crate::center_api::LiveScore;
use crate::outbox::Outbox;

/// The outbox capture holding the live photo's full-frame liveness score (JSON, `null` when not
/// scored), sent with the faces request rather than uploaded as a blob (issue 20).
pub(super) const LIVENESS_CAPTURE: &str = "live_photo_liveness";

impl Agent {
    pub(super) fn capture_photo(&mut self, sid: SessionId) {
        let camera = self.ports.camera.clone();
        let cropper = self.ports.cropper.clone();
        let outbox = self.outbox.clone();
        let hint = self.hint_sender();
        self.spawn_task(Task::Photo, capture(camera, cropper, outbox, sid, hint));
    }

    pub(super) fn verify_faces(&mut self, sid: SessionId, id: CitizenId, receipt: ReceiptCode) {
        let center = self.ports.center.clone();
        let outbox = self.outbox.clone();
        let tries = self.config.policy.center_retry;
        self.spawn_task(Task::Center, async move {
            let photo = match outbox.capture(sid.as_str(), "live_photo").await {
                Ok(Some(photo)) => photo,
                _ => return Some(Event::PhotoUnusable),
            };
            let liveness: Option<LiveScore> =
                match outbox.capture(sid.as_str(), LIVENESS_CAPTURE).await {
                    Ok(Some(json)) => serde_json::from_slice(&json).unwrap_or(None),
                    _ => None,
                };
            let compared = retry(tries, || {
                center.verify_faces_scored(&sid, &id, &receipt, &photo, liveness.as_ref())
            })
            .await;
            Some(match compared {
                Ok(scores) => Event::FacesCompared(scores),
                Err(_) => Event::CenterUnavailable,
            })
        });
    }
}

/// A camera frame cropped to the ID photo; the photo and its score kept in the outbox, a refused
/// frame's reason shown.
async fn capture(
    camera: Arc<dyn Camera>,
    cropper: Arc<dyn PhotoCropper>,
    outbox: Outbox,
    sid: SessionId,
    hint: impl Fn(Hint),
) -> Option<Event> {
    let frame = match camera.grab().await {
        Ok(frame) => frame,
        Err(e) => {
            tracing::warn!(error = %e, "no camera frame");
            return Some(Event::PhotoUnusable);
        }
    };
    let cropped = tokio::task::spawn_blocking(move || cropper.capture(&frame)).await;
    match cropped {
        Ok(Ok(photo)) => {
            hint(Hint::PhotoProblem(None));
            // The score is kept beside the photo for the center (step 7's comparison, maybe
            // after a restart); `null` when not scored.
            let score = serde_json::to_vec(&photo.liveness).unwrap_or_default();
            let kept = async {
                outbox
                    .put_capture(sid.as_str(), LIVENESS_CAPTURE, &score)
                    .await?;
                outbox
                    .put_capture(sid.as_str(), "live_photo", &photo.jpeg)
                    .await
            };
            match kept.await {
                Ok(()) => Some(match photo.liveness {
                    // The engine scores in f32; the wire carries it widened, losslessly.
                    Some(live) => Event::PhotoScored {
                        liveness: live.score as f32,
                    },
                    None => Event::PhotoCaptured,
                }),
                Err(e) => {
                    tracing::error!(error = %e, "keeping the live photo");
                    Some(Event::PhotoUnusable)
                }
            }
        }
        Ok(Err(refused)) => {
            tracing::info!(reason = %refused.reason, "live photo refused");
            hint(Hint::PhotoProblem(refused.prompt));
            Some(Event::PhotoUnusable)
        }
        Err(_) => Some(Event::PhotoUnusable),
    }
}
