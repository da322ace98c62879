//! The session video: ffmpeg records the camera while a session runs; at the stop the file is
//! sealed into the outbox for the center and deleted. Nothing of it stays in plain.

use std::path::Path;

use domain::session::SessionId;

use super::Agent;
use crate::outbox::{Message, Outbox};

impl Agent {
    pub(super) fn start_video(&mut self, session_id: SessionId) {
        let Some(recorder) = self.ports.recorder.clone() else {
            return;
        };
        self.state.video_segments += 1;
        let path = self.config.video_dir.join(format!(
            "{}-{}.mp4",
            session_id.as_str(),
            self.state.video_segments
        ));
        let _ = crate::outbox::create_private_dir(&self.config.video_dir);
        // The stop needs the id the recording runs under, whatever the saved state says.
        self.recording = Some(session_id.clone());
        // Started beside the loop, so the citizen's first touch does not wait for it.
        self.video_starting = Some(tokio::spawn(async move {
            if let Err(e) = recorder.start(session_id.as_str(), &path).await {
                tracing::error!(error = %e, "the session video could not start");
            }
        }));
    }

    pub(super) async fn stop_video(&mut self) {
        if let Some(starting) = self.video_starting.take() {
            let _ = starting.await;
        }
        let Some(recorder) = self.ports.recorder.clone() else {
            return;
        };
        let Some(sid) = self.recording.take().or_else(|| self.session_id()) else {
            tracing::error!("no session id to stop the video of");
            return;
        };
        let segment = self.state.video_segments.max(1);
        let path = match recorder.stop(sid.as_str()).await {
            Ok(recording) => recording.path,
            Err(e) => {
                // Whatever it wrote is sealed all the same, or deleted.
                tracing::error!(error = %e, "the session video did not stop");
                self.config
                    .video_dir
                    .join(format!("{}-{segment}.mp4", sid.as_str()))
            }
        };
        let kind = format!("video_{segment}");
        if seal_video(&self.outbox, sid.as_str(), &kind, &path).await {
            self.deliver.notify_one();
        }
    }
}

/// Seals the video file at `path` into the outbox as capture `kind` of `session_id`, queued for
/// the center, and deletes the file. A file that cannot be read or kept is deleted all the same:
/// no video stays on the kiosk in plain. Returns whether it was queued.
async fn seal_video(outbox: &Outbox, session_id: &str, kind: &str, path: &Path) -> bool {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Err(e) => {
            tracing::error!(error = %e, file = %path.display(), "reading the video");
            Vec::new()
        }
    };
    let mut queued = false;
    if !bytes.is_empty() {
        let kept = async {
            outbox.put_capture(session_id, kind, &bytes).await?;
            outbox
                .enqueue(
                    session_id,
                    &[Message::Blob {
                        kind: kind.to_owned(),
                    }],
                )
                .await
        };
        match kept.await {
            Ok(()) => queued = true,
            Err(e) => tracing::error!(error = %e, "keeping the video; it is deleted"),
        }
    }
    if let Err(e) = std::fs::remove_file(path) {
        tracing::error!(error = %e, file = %path.display(), "deleting the plain video");
    }
    queued
}

/// At start: every `<session>-<segment>.mp4` an earlier agent left in `dir` (a crash, a stop in
/// the middle of a session) is sealed into the outbox for the center, or deleted
/// ([`seal_video`]); anything else recorded there is deleted. The capture kind gets a suffix of
/// its own, so a resumed session's new segment of the same number does not replace it.
pub(super) async fn seal_leftover_videos(outbox: &Outbox, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("mp4") {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let named = stem.rsplit_once('-').and_then(|(sid, segment)| {
            let segment: u32 = segment.parse().ok()?;
            SessionId::parse(sid).ok().map(|sid| (sid, segment))
        });
        match named {
            Some((sid, segment)) => {
                let suffix = uuid::Uuid::new_v4().simple().to_string();
                let kind = format!("video_{segment}_{}", &suffix[..8]);
                if seal_video(outbox, sid.as_str(), &kind, &path).await {
                    tracing::warn!(file = %path.display(), "sealed a video an earlier agent left");
                }
            }
            None => {
                tracing::warn!(file = %path.display(), "deleting a video of no session");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}
