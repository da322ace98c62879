//! The ffmpeg session recorder against the camera simulator; the file checked with ffprobe.

use std::process::Command;
use std::time::Duration;

use devices::images::face_jpeg;
use devices::recorder::{
    end_stale_recorders, pid_file_of, records_into, FfmpegRecorder, FfmpegRecorderConfig,
    RecorderError, VideoRecorder,
};
use devices::sim::camera::{start_camera, CameraSimConfig};
use devices::DeviceHealth;

/// Whether `tools` (ffmpeg, ffprobe) are installed: a missing one skips `test` outside CI and
/// fails it under CI ([`store::testing::require`]).
fn ffmpeg(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| Command::new(tool).arg("-version").output().is_err())
        .collect();
    let found = if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "`{}` not installed (run scripts/setup/40-cups.sh; scripts/test.sh runs it)",
            missing.join("`, `")
        ))
    };
    store::testing::require(test, "ffmpeg", found).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_recorded_to_h264_mp4_with_its_id() {
    if !ffmpeg(
        "devices::recorder a_session_is_recorded_to_h264_mp4_with_its_id",
        &["ffmpeg", "ffprobe"],
    ) {
        return;
    }
    let frames: Vec<Vec<u8>> = (0..5).map(|i| face_jpeg(50 + i)).collect();
    let sim = start_camera(
        frames,
        CameraSimConfig {
            fps: 15.0,
            ..CameraSimConfig::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("session.mp4");
    let recorder = FfmpegRecorder::new(FfmpegRecorderConfig::new(sim.stream_url()));
    recorder.start("S20261125-0042", &out).await.unwrap();
    assert_eq!(recorder.health(), DeviceHealth::Busy);
    assert!(matches!(
        recorder.start("S20261125-0042", &out).await,
        Err(RecorderError::AlreadyRecording(_))
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let recording = recorder.stop("S20261125-0042").await.unwrap();
    assert_eq!(recorder.health(), DeviceHealth::Ready);
    assert_eq!(recording.path, out);
    assert!(recording.bytes > 0);
    sim.shutdown().await;

    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let stream = &info["streams"][0];
    assert_eq!(stream["codec_name"], "h264", "{info}");
    assert!(info["format"]["format_name"]
        .as_str()
        .unwrap()
        .contains("mp4"));
    assert_eq!(
        info["format"]["tags"]["comment"], "session:S20261125-0042",
        "{info}"
    );
    let frames: u64 = stream["nb_frames"].as_str().unwrap().parse().unwrap();
    assert!(frames >= 5, "{frames} frames in {info}");
    let duration: f64 = info["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(duration > 0.5, "{duration}");

    assert!(matches!(
        recorder.stop("S20261125-0042").await,
        Err(RecorderError::NotRecording(_))
    ));
}

#[tokio::test]
async fn an_unreachable_camera_fails_at_start() {
    if !ffmpeg(
        "devices::recorder an_unreachable_camera_fails_at_start",
        &["ffmpeg"],
    ) {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let recorder = FfmpegRecorder::new(FfmpegRecorderConfig::new(format!(
        "http://127.0.0.1:{port}/stream"
    )));
    // ffmpeg exits at once; start() reports it if ffmpeg got that far within its short wait
    // (a loaded machine may be slower), stop() otherwise.
    match recorder.start("S1", &dir.path().join("x.mp4")).await {
        Err(RecorderError::Failed(_)) => {
            assert!(matches!(recorder.health(), DeviceHealth::Error { .. }))
        }
        Ok(()) => assert!(matches!(
            recorder.stop("S1").await,
            Err(RecorderError::Failed(_))
        )),
        Err(e) => panic!("unexpected {e:?}"),
    }
    assert!(matches!(recorder.health(), DeviceHealth::Error { .. }));
    assert!(matches!(
        recorder
            .start("bad id; rm", &dir.path().join("y.mp4"))
            .await,
        Err(RecorderError::BadSessionId(_))
    ));
}

/// Issue 14: an ffmpeg an earlier agent left recording (its pid file beside the file) is ended at
/// the next start; a pid file naming any other process (a reused pid) leaves that process alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_left_by_an_earlier_agent_is_ended_and_nothing_else() {
    if !ffmpeg(
        "devices::recorder a_recorder_left_by_an_earlier_agent_is_ended_and_nothing_else",
        &["ffmpeg"],
    ) {
        return;
    }
    let sim = start_camera(vec![face_jpeg(60)], CameraSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("0f1e2d3c-1.mp4");
    let recorder = FfmpegRecorder::new(FfmpegRecorderConfig::new(sim.stream_url()));
    // An orphan: ffmpeg started the way the recorder starts it, by nobody who will stop it.
    let mut orphan = Command::new("ffmpeg")
        .args(recorder.arguments("0f1e2d3c", &out))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let orphan_pid = orphan.id();
    std::fs::write(pid_file_of(&out), format!("{orphan_pid}\n")).unwrap();
    // The child shows ffmpeg's command line only once it has exec'd (slow on a loaded machine).
    let started = std::time::Instant::now();
    while !records_into(orphan_pid, &out) && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(records_into(orphan_pid, &out));
    // A pid file whose process is not our ffmpeg (the pid was reused).
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    let other_out = dir.path().join("0f1e2d3c-2.mp4");
    std::fs::write(pid_file_of(&other_out), format!("{}\n", other.id())).unwrap();
    assert!(!records_into(other.id(), &other_out));

    let ended = end_stale_recorders(dir.path(), Duration::from_secs(5));
    assert_eq!(ended, vec![orphan_pid]);
    let status = orphan.wait().unwrap();
    assert!(!status.success() || status.code() == Some(255), "{status}");
    assert!(
        other.try_wait().unwrap().is_none(),
        "the other process runs on"
    );
    assert!(!pid_file_of(&out).exists());
    assert!(!pid_file_of(&other_out).exists());
    let _ = other.kill();
    let _ = other.wait();
    sim.shutdown().await;
}

/// Issue 14: a recording names its ffmpeg in a 0600 pid file beside the video, removed at the
/// stop. (The parent-death signal is checked where an agent can be killed: the idkiosk demo test
/// `a_killed_agent_leaves_no_recorder_and_no_plain_video`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_names_its_ffmpeg_in_a_private_pid_file() {
    use std::os::unix::fs::PermissionsExt;
    if !ffmpeg(
        "devices::recorder a_recording_names_its_ffmpeg_in_a_private_pid_file",
        &["ffmpeg"],
    ) {
        return;
    }
    let sim = start_camera(vec![face_jpeg(61)], CameraSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("S2-1.mp4");
    let recorder = FfmpegRecorder::new(FfmpegRecorderConfig::new(sim.stream_url()));
    recorder.start("S2", &out).await.unwrap();
    let pid_file = pid_file_of(&out);
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(records_into(pid, &out), "the pid file names our ffmpeg");
    let mode = std::fs::metadata(&pid_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    tokio::time::sleep(Duration::from_millis(800)).await;
    recorder.stop("S2").await.unwrap();
    assert!(!pid_file.exists(), "removed at the stop");
    assert!(!records_into(pid, &out));
    sim.shutdown().await;
}
