//! The session video recorder (issue 4 item 6): records the camera's MJPEG stream for the length
//! of a session to an H.264 MP4 with the session id in its metadata, closed and handed over when
//! the session ends.
//!
//! [`FfmpegRecorder`] runs Debian's `ffmpeg` (`scripts/setup/40-cups.sh` installs it) per
//! recording: `-f mpjpeg` reads the camera URL with wall-clock timestamps, `libx264` encodes,
//! `-metadata comment=session:<id>` tags the file; stopping sends SIGINT so ffmpeg writes the MP4
//! index and exits, and the file is only handed over after it has.
//!
//! Nothing outlives the agent (issue 14): ffmpeg stays in the agent's process group and gets
//! SIGKILL from the kernel when the agent dies (`PR_SET_PDEATHSIG`, set in the child before
//! `exec`), so a `kill -9` of the agent cannot leave the booth being recorded. Each recording also
//! writes `<out>.pid` (0600) beside its file; [`end_stale_recorders`] ends any ffmpeg such a file
//! still names at the next start (a system without the parent-death signal, or one set too late).

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
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
        let mut command = Command::new(&self.config.ffmpeg);
        command
            .args(self.arguments(session_id, out))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        die_with_parent(&mut command);
        let mut child = command
            .spawn()
            .map_err(|e| RecorderError::NoFfmpeg(e.to_string()))?;
        let pid_file = pid_file_of(out);
        if let Some(pid) = child.id() {
            if let Err(e) = write_private(&pid_file, format!("{pid}\n").as_bytes()) {
                tracing::warn!(error = %e, file = %pid_file.display(), "writing the recorder's pid file");
            }
        }
        // A camera that cannot be read makes ffmpeg exit at once: report it here, not at stop.
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Ok(Some(status)) = child.try_wait() {
            let _ = std::fs::remove_file(&pid_file);
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
        let waited = tokio::time::timeout(self.config.stop_timeout, running.child.wait()).await;
        if !matches!(waited, Ok(Ok(_))) {
            let _ = running.child.kill().await;
        }
        let _ = std::fs::remove_file(pid_file_of(&running.path));
        let status = match waited {
            Ok(status) => status.map_err(|e| RecorderError::Failed(e.to_string()))?,
            Err(_) => {
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

/// Where a recording into `out` keeps ffmpeg's pid: `<out>.pid`.
pub fn pid_file_of(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".pid");
    PathBuf::from(name)
}

/// Creates (or replaces) `path` readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

/// Asks the kernel to SIGKILL the child when its parent dies (Linux); a parent already gone by
/// then makes the spawn fail instead of leaving an orphan recording.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // calls are sound: prctl and getppid are plain system calls, and the errors are OS error codes
    // (no allocation, no lock).
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                // "No such process": the recorder's parent is gone.
                return Err(nix::errno::Errno::ESRCH.into());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_: &mut Command) {}

/// Ends every recorder a `*.mp4.pid` file in `dir` names that is still running: a recording left
/// by an earlier agent that died. A pid counts only when `/proc/PID/cmdline` is an `ffmpeg`
/// writing exactly that file (a reused pid is left alone). Each gets SIGINT (ffmpeg closes the
/// file), then SIGKILL after `grace`; every pid file is removed. Returns the pids ended.
pub fn end_stale_recorders(dir: &Path, grace: Duration) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut ended = Vec::new();
    for entry in entries.flatten() {
        let pid_file = entry.path();
        let Some(out) = pid_file
            .to_str()
            .and_then(|p| p.strip_suffix(".pid"))
            .filter(|p| p.ends_with(".mp4"))
            .map(PathBuf::from)
        else {
            continue;
        };
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok());
        if let Some(pid) = pid.filter(|&pid| records_into(pid, &out)) {
            tracing::warn!(pid, file = %out.display(), "ending a recorder left by an earlier agent");
            stop_process(pid, grace);
            ended.push(pid);
        }
        let _ = std::fs::remove_file(&pid_file);
    }
    ended
}

/// Whether process `pid` runs and is an ffmpeg writing `out`.
pub fn records_into(pid: u32, out: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let mut args = cmdline.split(|&b| b == 0).filter(|a| !a.is_empty());
    let is_ffmpeg = args
        .next()
        .map(|argv0| Path::new(std::ffi::OsStr::from_bytes(argv0)))
        .and_then(Path::file_name)
        .is_some_and(|name| name == "ffmpeg");
    let out = out.as_os_str().as_bytes();
    is_ffmpeg && args.any(|arg| arg == out) && running(pid)
}

/// Alive and not a zombie.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

/// SIGINT, then SIGKILL if it still runs after `grace`.
fn stop_process(pid: u32, grace: Duration) {
    use nix::sys::signal::{kill, Signal};
    let target = nix::unistd::Pid::from_raw(pid as i32);
    let _ = kill(target, Signal::SIGINT);
    let started = Instant::now();
    while running(pid) && started.elapsed() < grace {
        std::thread::sleep(Duration::from_millis(50));
    }
    if running(pid) {
        let _ = kill(target, Signal::SIGKILL);
    }
}

async fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = tokio::time::timeout(Duration::from_secs(1), stderr.read_to_string(&mut err)).await;
    }
    err.trim().chars().take(2000).collect()
}
