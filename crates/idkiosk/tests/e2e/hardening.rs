//! Issue 14 against a running `idkiosk demo` on a fresh folder:
//! - every database (with its `-wal` and `-shm`), key, secret and outbox the demo creates is
//!   0600 and every folder 0700, and the population system's photos are sealed at rest;
//! - a `kill -9` of the kiosk agent in the middle of a recorded session leaves no recorder
//!   running and no video in plain on disk.

use crate::harness;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the demo (and its kiosk agent) when the test ends, passed or not.
struct Demo {
    child: Child,
    data_dir: PathBuf,
    urls: std::collections::HashMap<String, String>,
    /// The private CUPS the kiosk prints to: without a usable printer it starts no session.
    _cups: Option<harness::Cups>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.data_dir.join("kiosk.pid")) {
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// `idkiosk demo` on free ports in a new folder, once it printed its URLs; `with_printer`: a
/// private CUPS for sessions to start at all.
fn start_demo(name: &str, with_printer: bool) -> Demo {
    let data_dir = std::env::temp_dir().join(format!("idkiosk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut command = Command::new(env!("CARGO_BIN_EXE_idkiosk"));
    command.args(["demo", "--citizens", "50", "--no-face"]);
    let cups = with_printer.then(|| {
        let cups_dir =
            std::env::temp_dir().join(format!("idkiosk-{name}-cups-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cups_dir);
        std::fs::create_dir_all(&cups_dir).expect("a folder for CUPS");
        let cups =
            harness::Cups::start(&cups_dir).expect("a private CUPS (scripts/setup/40-cups.sh)");
        command.args(["--printer", &cups.uri]);
        cups
    });
    for flag in [
        "--center-listen",
        "--popsys-listen",
        "--panel-listen",
        "--kiosk-listen",
        "--camera-listen",
        "--paysim-listen",
    ] {
        command.args([flag, "127.0.0.1:0"]);
    }
    let child = command
        .arg("--data-dir")
        .arg(&data_dir)
        .env("IDKIOSK_TODAY", "2026-11-25")
        .env("IDKIOSK_LOG", "warn")
        .env_remove("IDKIOSK_PRINTER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo starts");
    let mut demo = Demo {
        child,
        data_dir,
        urls: Default::default(),
        _cups: cups,
    };
    let stdout = demo.child.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    while !demo.urls.contains_key("database") {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines_rx
            .recv_timeout(left)
            .expect("the demo printed its URLs in time");
        if let Some((name, rest)) = line.trim().split_once(':') {
            if line.starts_with("  ") && !line.starts_with("    ") {
                if let Some(value) = rest.split_whitespace().next() {
                    demo.urls.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }
    std::thread::spawn(move || while lines_rx.recv().is_ok() {});
    demo
}

/// A POST of `body` as `content_type`; the status code.
fn post(url: &str, content_type: &str, body: &str) -> u16 {
    let rest = url.trim_start_matches("http://");
    let (address, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// A button of the kiosk screen (`POST /action`); the status code.
fn kiosk_action(kiosk: &str, body: &str) -> u16 {
    let url = format!("{}/action", kiosk.trim_end_matches('/'));
    post(&url, "application/x-www-form-urlencoded", body)
}

fn kiosk_answers(kiosk: &str) -> bool {
    let address = kiosk.trim_start_matches("http://").trim_end_matches('/');
    TcpStream::connect(address).is_ok()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn agent_pid(data_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(data_dir.join("kiosk.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The ffmpeg processes whose parent is `parent`.
fn ffmpeg_children(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if comm.ends_with("(ffmpeg") && ppid == Some(parent) {
            found.push(pid);
        }
    }
    found
}

fn mp4_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
                .collect()
        })
        .unwrap_or_default()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every file and folder under `dir` (symbolic links, the device simulators' pty links, not
/// followed), with its mode.
fn walk(dir: &Path, found: &mut Vec<(PathBuf, bool, u32)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue; // removed meanwhile (a WAL checkpoint, a finished recording)
        };
        if kind.is_symlink() {
            continue;
        }
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        found.push((
            path.clone(),
            kind.is_dir(),
            metadata.permissions().mode() & 0o777,
        ));
        if kind.is_dir() {
            walk(&path, found);
        }
    }
}

/// Regression (issue 14): center.db and its WAL, kiosk.secret, the kiosk outbox and
/// paysim/merchant.json were 0644 and popsys kept plain JPEG photos.
#[test]
fn a_demo_keeps_its_files_private_and_popsys_photos_sealed() {
    let demo = start_demo("files", false);
    let dir = demo.data_dir.canonicalize().unwrap();
    let kiosk = demo.urls["kiosk screen"].clone();
    wait_for("the kiosk agent", Duration::from_secs(60), || {
        kiosk_answers(&kiosk)
    });
    // A session: the agent writes its outbox and starts recording.
    assert_eq!(kiosk_action(&kiosk, "action=start"), 303);
    wait_for("the outbox's WAL", Duration::from_secs(20), || {
        dir.join("kiosk/outbox.db-wal").exists()
    });

    // A visit to the photo studio: popsys stores a certified photo.
    let panel = demo.urls["control panel"]
        .trim_end_matches("/sim")
        .to_owned();
    assert_eq!(
        post(
            &format!("{panel}/sim/api/studio"),
            "application/json",
            r#"{"citizen":"320104200012100044"}"#
        ),
        200
    );

    assert_eq!(mode(&dir), 0o700, "the data folder");
    for file in [
        "demo.db",
        "demo.db-wal",
        "demo.db-shm",
        "popsys.keys",
        "center.db",
        "center.db-wal",
        "center.db-shm",
        "center.keys",
        "kiosk.secret",
        "studio.secret",
        "paysim/merchant.json",
        "paysim/apiclient_key.pem",
        "kiosk/outbox.db",
        "kiosk/outbox.db-wal",
        "kiosk/outbox.db-shm",
        "kiosk/outbox.keys",
    ] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    let mut found = Vec::new();
    walk(&dir, &mut found);
    let open: Vec<String> = found
        .iter()
        .filter(|(_, _, mode)| mode & 0o077 != 0)
        .map(|(path, is_dir, mode)| {
            format!(
                "{} {:o}{}",
                path.display(),
                mode,
                if *is_dir { " (folder)" } else { "" }
            )
        })
        .collect();
    assert!(open.is_empty(), "readable by others: {open:#?}");
    assert!(found.len() > 20, "{found:#?}");

    // The population system's photos are sealed: no JPEG in its database file or its WAL, and
    // every photo value (history photos, studio receipts) is an envelope.
    for file in ["demo.db", "demo.db-wal"] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        assert!(
            !contains(&bytes, b"\xFF\xD8\xFF\xE0") && !contains(&bytes, b"JFIF\0"),
            "a JPEG in {file}"
        );
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (sealed, plain): (i64, i64) = runtime.block_on(async {
        let pool =
            sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("demo.db").display()))
                .await
                .unwrap();
        let counts = sqlx::query_as(
            "SELECT COALESCE(SUM(hex(substr(photo, 1, 4)) = '49444B45'), 0),
                    COALESCE(SUM(hex(substr(photo, 1, 4)) <> '49444B45'), 0)
             FROM (SELECT photo FROM history_photos UNION ALL SELECT photo FROM photo_receipts)
             WHERE photo IS NOT NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        counts
    });
    assert!(sealed > 0, "the studio's photo is on record");
    assert_eq!(plain, 0, "{plain} photos in plain");
}

/// Regression (issue 14): a `kill -9` of the agent left its ffmpeg recording the booth (parent
/// PID 1) into a plain MP4 that was never uploaded or deleted.
#[test]
fn a_killed_agent_leaves_no_recorder_and_no_plain_video() {
    let ffmpeg = store::testing::file("/usr/bin/ffmpeg", "scripts/setup/40-cups.sh");
    if store::testing::require("a_killed_agent_leaves_no_recorder", "ffmpeg", ffmpeg).is_none() {
        return;
    }
    let demo = start_demo("kill", true);
    let dir = demo.data_dir.canonicalize().unwrap();
    let video = dir.join("kiosk/video");
    let kiosk = demo.urls["kiosk screen"].clone();
    wait_for("the kiosk agent", Duration::from_secs(60), || {
        kiosk_answers(&kiosk)
    });
    let agent = agent_pid(&dir).expect("the agent's pid");

    // A citizen touches the screen: the session is recorded.
    assert_eq!(kiosk_action(&kiosk, "action=start"), 303);
    let mut recorder = 0;
    wait_for("the agent's ffmpeg", Duration::from_secs(20), || {
        recorder = ffmpeg_children(agent).first().copied().unwrap_or(0);
        recorder != 0
    });
    let mut recording = PathBuf::new();
    wait_for("video being written", Duration::from_secs(20), || {
        recording = mp4_files(&video).into_iter().next().unwrap_or_default();
        std::fs::metadata(&recording).is_ok_and(|m| m.len() > 0)
    });

    Command::new("kill")
        .args(["-KILL", &agent.to_string()])
        .status()
        .unwrap();
    // At once: before the demo restarts the agent (1 s), whose start would end it too.
    wait_for(
        "the recorder to die with the agent",
        Duration::from_millis(800),
        || !alive(recorder),
    );

    // The demo starts the agent again; at its start it seals what the dead one left.
    let mut restarted = 0;
    wait_for("the agent restarted", Duration::from_secs(30), || {
        restarted = agent_pid(&dir).unwrap_or(agent);
        restarted != agent && alive(restarted) && kiosk_answers(&kiosk)
    });
    // The resumed session may record again under the same name: the dead agent's segment is
    // gone when the path is gone or holds another file (another inode).
    let dead_segment = std::fs::metadata(&recording)
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap_or(0);
    wait_for(
        "the dead agent's video sealed away",
        Duration::from_secs(30),
        || {
            let replaced = std::fs::metadata(&recording)
                .map(|m| std::os::unix::fs::MetadataExt::ino(&m) != dead_segment)
                .unwrap_or(true);
            // or the resumed session's recorder writes that name again (ffmpeg -y truncates it)
            replaced
                || ffmpeg_children(restarted)
                    .into_iter()
                    .any(|pid| devices::recorder::records_into(pid, &recording))
        },
    );
    // Whatever video is on disk now is the resumed session's, being recorded by the new agent.
    std::thread::sleep(Duration::from_secs(1));
    for file in mp4_files(&video) {
        let live = ffmpeg_children(restarted)
            .into_iter()
            .any(|pid| devices::recorder::records_into(pid, &file));
        assert!(live, "{} is left in plain", file.display());
    }
    let others: Vec<u32> = ffmpeg_children(1)
        .into_iter()
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| contains(&c, video.as_os_str().as_encoded_bytes()))
        })
        .collect();
    assert!(others.is_empty(), "orphaned recorders: {others:?}");
    for file in ["outbox.db", "outbox.db-wal"] {
        let bytes = std::fs::read(dir.join("kiosk").join(file)).unwrap_or_default();
        assert!(!contains(&bytes, b"ftypisom"), "an MP4 in plain in {file}");
    }
}
