//! The session video recorder (issue 4 item 6): records the camera's MJPEG stream for the length
//! of a session to an H.264 MP4 with the session id in its metadata, closed and handed over when
//! the session ends.
//!
//! [`FfmpegRecorder`] runs Debian's `ffmpeg` (`scripts/setup/40-cups.sh` installs it) per
//! recording: `-f mpjpeg` reads the camera URL with wall-clock timestamps, `libx264` encodes,
//! `-metadata comment=session:<id>` tags the file; stopping sends SIGINT so ffmpeg writes the MP4
//! index and exits, and the file is only handed over after it has.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::health::{DeviceHealth, HealthCell};

/// A session video recorder, whoever made it.
#[async_trait]
pub trait VideoRecorder: Send + Sync {
    /// Starts recording for `session_id` into `out` (an `.mp4`).
    async fn start(&self, session_id: &str, out: &Path) -> Result<(), RecorderError>;

    /// Stops the session's recording and hands over the closed file.
    async fn stop(&self, session_id: &str) -> Result<Recording, RecorderError>;

    /// The state the recorder last saw.
    fn health(&self) -> DeviceHealth;
}

/// A finished recording.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Recording {
    /// The session it belongs to (also in the file's `comment` metadata as `session:<id>`).
    pub session_id: String,
    /// The closed MP4.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// How long it was recording (wall clock).
    pub duration: Duration,
}

/// Why a recording could not be started or finished.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// `ffmpeg` is not installed or cannot start.
    #[error("cannot run ffmpeg: {0} (run scripts/setup/40-cups.sh)")]
    NoFfmpeg(String),
    /// The session already has a recording running.
    #[error("session {0} is already being recorded")]
    AlreadyRecording(String),
    /// The session has no recording running.
    #[error("session {0} is not being recorded")]
    NotRecording(String),
    /// The session id would not be safe in metadata (only letters, digits, `-`, `_`, `.`).
    #[error("bad session id {0:?}")]
    BadSessionId(String),
    /// ffmpeg failed (cannot read the camera, cannot write the file, …).
    #[error("ffmpeg failed: {0}")]
    Failed(String),
}

/// Settings of an [`FfmpegRecorder`].
#[derive(Clone, Debug)]
pub struct FfmpegRecorderConfig {
    /// The camera's MJPEG URL.
    pub camera_url: String,
    /// The `ffmpeg` to run.
    pub ffmpeg: PathBuf,
    /// libx264 preset (`veryfast` keeps up on a small kiosk PC).
    pub preset: String,
    /// How long ffmpeg may take to close the file after SIGINT before it is killed.
    pub stop_timeout: Duration,
}

impl FfmpegRecorderConfig {
    /// `ffmpeg` from PATH, preset `veryfast`, 10 s to close.
    pub fn new(camera_url: impl Into<String>) -> Self {
        FfmpegRecorderConfig {
            camera_url: camera_url.into(),
            ffmpeg: PathBuf::from("ffmpeg"),
            preset: "veryfast".to_owned(),
            stop_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug)]
struct Running {
    child: Child,
    path: PathBuf,
    started: Instant,
}

/// Records an MJPEG camera with ffmpeg, one process per session.
#[derive(Debug, Clone)]
pub struct FfmpegRecorder {
    config: FfmpegRecorderConfig,
    running: Arc<Mutex<HashMap<String, Running>>>,
    health: Arc<HealthCell>,
}

impl FfmpegRecorder {
    /// A recorder for the camera; nothing runs until [`VideoRecorder::start`].
    pub fn new(config: FfmpegRecorderConfig) -> Self {
        let health = HealthCell::new();
        health.set(DeviceHealth::Ready);
        FfmpegRecorder {
            config,
            running: Arc::new(Mutex::new(HashMap::new())),
            health: Arc::new(health),
        }
    }

    /// The ffmpeg arguments for one recording.
    pub fn arguments(&self, session_id: &str, out: &Path) -> Vec<String> {
        [
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-use_wallclock_as_timestamps",
            "1",
            "-f",
            "mpjpeg",
            "-i",
            &self.config.camera_url,
            "-an",
            "-c:v",
            "libx264",
            "-preset",
            &self.config.preset,
            "-pix_fmt",
            "yuv420p",
            "-vf",
            "scale=trunc(iw/2)*2:trunc(ih/2)*2",
            "-fps_mode",
            "vfr",
            "-metadata",
            &format!("comment=session:{session_id}"),
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            "-y",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update_health(&self) {
        let busy = !self.lock().is_empty();
        self.health.set(if busy {
            DeviceHealth::Busy
        } else {
            DeviceHealth::Ready
        });
    }
}

#[async_trait]
impl VideoRecorder for FfmpegRecorder {
    async fn start(&self, session_id: &str, out: &Path) -> Result<(), RecorderError> {
        if session_id.is_empty()
            || !session_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(RecorderError::BadSessionId(session_id.to_owned()));
        }
        if self.lock().contains_key(session_id) {
            return Err(RecorderError::AlreadyRecording(session_id.to_owned()));
        }
        let mut child = Command::new(&self.config.ffmpeg)
            .args(self.arguments(session_id, out))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| RecorderError::NoFfmpeg(e.to_string()))?;
        // A camera that cannot be read makes ffmpeg exit at once: report it here, not at stop.
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Ok(Some(status)) = child.try_wait() {
            let err = stderr_of(&mut child).await;
            let reason = format!("{status}: {err}");
            self.health.set(DeviceHealth::Error {
                reason: reason.clone(),
            });
            return Err(RecorderError::Failed(reason));
        }
        self.lock().insert(
            session_id.to_owned(),
            Running {
                child,
                path: out.to_owned(),
                started: Instant::now(),
            },
        );
        self.update_health();
        Ok(())
    }

    async fn stop(&self, session_id: &str) -> Result<Recording, RecorderError> {
        let Some(mut running) = self.lock().remove(session_id) else {
            return Err(RecorderError::NotRecording(session_id.to_owned()));
        };
        let duration = running.started.elapsed();
        if let Some(pid) = running.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        let status =
            match tokio::time::timeout(self.config.stop_timeout, running.child.wait()).await {
                Ok(status) => status.map_err(|e| RecorderError::Failed(e.to_string()))?,
                Err(_) => {
                    let _ = running.child.kill().await;
                    self.update_health();
                    return Err(RecorderError::Failed(format!(
                        "did not close the file within {:?}",
                        self.config.stop_timeout
                    )));
                }
            };
        self.update_health();
        // ffmpeg exits 255 on SIGINT after closing the file properly.
        if !(status.success() || status.code() == Some(255)) {
            let err = stderr_of(&mut running.child).await;
            return Err(RecorderError::Failed(format!("{status}: {err}")));
        }
        let bytes = std::fs::metadata(&running.path)
            .map_err(|e| RecorderError::Failed(format!("{}: {e}", running.path.display())))?
            .len();
        Ok(Recording {
            session_id: session_id.to_owned(),
            path: running.path,
            bytes,
            duration,
        })
    }

    fn health(&self) -> DeviceHealth {
        self.health.get()
    }
}

async fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = tokio::time::timeout(Duration::from_secs(1), stderr.read_to_string(&mut err)).await;
    }
    err.trim().chars().take(2000).collect()
}
