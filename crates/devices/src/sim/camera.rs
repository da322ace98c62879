//! `idkiosk sim camera`: an IP camera serving MJPEG over HTTP on loopback (docs/domain.md 9.4).
//!
//! `GET /stream` (also `/`, `/video`, `/mjpeg`) answers `multipart/x-mixed-replace;
//! boundary=idkioskframe` and sends the images in name order, looping, at the configured frame
//! rate, one JPEG per part with `Content-Type: image/jpeg` and `Content-Length`; each connection
//! starts at the first image. `GET /snapshot` answers the next image alone. The bytes of each
//! image are sent unchanged, so a client can check them byte for byte. Plain tokio TCP (HTTP/1.0
//! style, `Connection: close`), like many cameras.
//!
//! Control, on the same loopback address (what the camera sees, switched at run time, so a test
//! can "show the camera a face"): `POST /show` with `{"image":"PATH"}`, `{"folder":"DIR"}`,
//! `{"citizen":"ID"}` (a demo citizen's camera picture, when the simulator was given
//! [`CitizenImages`]), `{"jpeg_base64":"…"}` or `{"no_face":true}` (an empty backdrop); with
//! `citizen` or `image`, `"attack":"print"` or `"attack":"screen"` presents that picture as a
//! printed photo or a screen held up to the lens ([`attack`], issue 20); `GET /show`
//! says what is shown. Streams switch at their next frame; errors are `{"error":"…"}` with 400
//! (bad body, unreadable or non-JPEG file) or 404 (a citizen without a picture).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub mod attack;

pub use attack::AttackKind;

/// The boundary the simulator uses.
pub const BOUNDARY: &str = "idkioskframe";

/// Finds a demo citizen's camera picture by ID number (e.g. `popsys::seed::demo::camera_image`;
/// devices does not know the population system).
#[derive(Clone)]
pub struct CitizenImages(pub Arc<CitizenImageFn>);

/// The function behind [`CitizenImages`]: a citizen's ID number to a JPEG file.
pub type CitizenImageFn = dyn Fn(&str) -> Option<PathBuf> + Send + Sync;

impl std::fmt::Debug for CitizenImages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CitizenImages(..)")
    }
}

/// How the camera simulator runs.
#[derive(Clone, Debug)]
pub struct CameraSimConfig {
    /// Where to listen (loopback; port 0 picks one).
    pub listen: SocketAddr,
    /// Frames per second of `/stream`.
    pub fps: f64,
    /// What `POST /show {"citizen":…}` shows; `None` refuses citizens.
    pub citizen_images: Option<CitizenImages>,
}

impl Default for CameraSimConfig {
    fn default() -> Self {
        CameraSimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            fps: 10.0,
            citizen_images: None,
        }
    }
}

/// What the camera shows, as `GET /show` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Showing {
    /// `start` (what it was started with), `image`, `folder`, `citizen`, `jpeg`, `no_face` or
    /// `attack` (detail `print:ID` or `screen:ID`).
    pub source: String,
    /// The path or the citizen's number, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How many frames loop.
    pub frames: usize,
    /// Counts the switches (0 at start).
    pub generation: u64,
}

/// The frames on show, switched by the control API.
#[derive(Debug)]
struct Scene {
    frames: Arc<Vec<Vec<u8>>>,
    showing: Showing,
}

type SharedScene = Arc<RwLock<Scene>>;

fn current(scene: &SharedScene) -> (Arc<Vec<Vec<u8>>>, u64) {
    let scene = scene.read().unwrap_or_else(|p| p.into_inner());
    (scene.frames.clone(), scene.showing.generation)
}

/// An empty backdrop without a face: a 640 × 480 light grey wall with soft shading (JPEG).
pub fn no_face_jpeg() -> Vec<u8> {
    let (w, h) = (640u16, 480u16);
    let mut rgb = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (f64::from(x) / f64::from(w), f64::from(y) / f64::from(h));
            let v = 232.0 - 18.0 * fy - 10.0 * (fx - 0.5).abs();
            let v = v.clamp(0.0, 255.0) as u8;
            rgb.extend_from_slice(&[v, v, v.saturating_sub(4)]);
        }
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 85)
        .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap_or_else(|e| panic!("encoding a 640x480 JPEG into memory failed: {e}"));
    jpeg
}

/// Why the simulator's images could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CameraSimError {
    /// A file or folder cannot be read.
    #[error("{path}: {error}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// A file is not a JPEG.
    #[error("{0}: not a JPEG (no FF D8 … FF D9)")]
    NotJpeg(String),
    /// No `.jpg`/`.jpeg` in the folder.
    #[error("{0}: no .jpg or .jpeg files")]
    Empty(String),
    /// A control request the simulator cannot follow.
    #[error("{0}")]
    Request(String),
    /// A citizen without a camera picture.
    #[error(
        "citizen {0}: no camera picture (not a demo citizen, or run scripts/setup/20-face.sh)"
    )]
    NoCitizenImage(String),
}

/// Reads one JPEG.
pub fn load_image(path: &Path) -> Result<Vec<u8>, CameraSimError> {
    let bytes = std::fs::read(path).map_err(|error| CameraSimError::Io {
        path: path.display().to_string(),
        error,
    })?;
    if !(bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9])) {
        return Err(CameraSimError::NotJpeg(path.display().to_string()));
    }
    Ok(bytes)
}

/// Reads every `.jpg`/`.jpeg` of a folder, in file name order.
pub fn load_folder(dir: &Path) -> Result<Vec<Vec<u8>>, CameraSimError> {
    let io = |error| CameraSimError::Io {
        path: dir.display().to_string(),
        error,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(CameraSimError::Empty(dir.display().to_string()));
    }
    paths.iter().map(|p| load_image(p)).collect()
}

/// A running camera simulator.
#[derive(Debug)]
pub struct CameraSimHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    scene: SharedScene,
    citizens: Option<CitizenImages>,
}

impl CameraSimHandle {
    /// `http://ADDR`, the control API's base URL (`POST /show`, `GET /show`).
    pub fn control_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What is shown.
    pub fn showing(&self) -> Showing {
        self.scene
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .showing
            .clone()
    }

    /// Shows `frames` (at least one JPEG) from the next frame on.
    pub fn show(&self, frames: Vec<Vec<u8>>, source: &str, detail: Option<String>) -> Showing {
        show(&self.scene, frames, source, detail)
    }

    /// Shows a JPEG file.
    pub fn show_image(&self, path: &Path) -> Result<Showing, CameraSimError> {
        let frame = load_image(path)?;
        Ok(self.show(vec![frame], "image", Some(path.display().to_string())))
    }

    /// Shows a demo citizen's camera picture.
    pub fn show_citizen(&self, id: &str) -> Result<Showing, CameraSimError> {
        show_request(
            &self.scene,
            self.citizens.as_ref(),
            ShowRequest {
                citizen: Some(id.to_owned()),
                ..ShowRequest::default()
            },
        )
    }

    /// Shows the empty backdrop.
    pub fn show_no_face(&self) -> Showing {
        self.show(vec![no_face_jpeg()], "no_face", None)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/stream`.
    pub fn stream_url(&self) -> String {
        format!("http://{}/stream", self.addr)
    }

    /// `http://ADDR/snapshot`.
    pub fn snapshot_url(&self) -> String {
        format!("http://{}/snapshot", self.addr)
    }

    /// Stops listening and ends every stream.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts serving `frames` (at least one JPEG).
pub async fn start_camera(
    frames: Vec<Vec<u8>>,
    config: CameraSimConfig,
) -> std::io::Result<CameraSimHandle> {
    assert!(!frames.is_empty(), "the camera simulator needs a frame");
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let scene: SharedScene = Arc::new(RwLock::new(Scene {
        showing: Showing {
            source: "start".to_owned(),
            detail: None,
            frames: frames.len(),
            generation: 0,
        },
        frames: Arc::new(frames),
    }));
    let citizens = config.citizen_images.clone();
    let (task_scene, task_citizens) = (scene.clone(), citizens.clone());
    let interval = Duration::from_secs_f64(1.0 / config.fps.clamp(0.1, 1000.0));
    let snapshot_next = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(async move {
        let mut stopped_accept = stopped.clone();
        loop {
            tokio::select! {
                _ = stopped_accept.changed() => break,
                accepted = listener.accept() => {
                    let Ok((socket, _)) = accepted else { continue };
                    let scene = task_scene.clone();
                    let citizens = task_citizens.clone();
                    let mut stopped = stopped.clone();
                    let snapshot_next = snapshot_next.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = stopped.changed() => {}
                            _ = serve(socket, scene, citizens, interval, snapshot_next) => {}
                        }
                    });
                }
            }
        }
    });
    Ok(CameraSimHandle {
        addr,
        stop,
        task,
        scene,
        citizens,
    })
}

fn show(
    scene: &SharedScene,
    frames: Vec<Vec<u8>>,
    source: &str,
    detail: Option<String>,
) -> Showing {
    assert!(!frames.is_empty(), "the camera simulator needs a frame");
    let mut scene = scene.write().unwrap_or_else(|p| p.into_inner());
    scene.showing = Showing {
        source: source.to_owned(),
        detail,
        frames: frames.len(),
        generation: scene.showing.generation + 1,
    };
    scene.frames = Arc::new(frames);
    scene.showing.clone()
}

/// The body of `POST /show`: exactly one of the fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowRequest {
    image: Option<PathBuf>,
    folder: Option<PathBuf>,
    citizen: Option<String>,
    jpeg_base64: Option<String>,
    #[serde(default)]
    no_face: bool,
    /// With `citizen` or `image`: present that picture as a print or a screen (issue 20).
    attack: Option<AttackKind>,
}

fn show_request(
    scene: &SharedScene,
    citizens: Option<&CitizenImages>,
    request: ShowRequest,
) -> Result<Showing, CameraSimError> {
    let given = usize::from(request.image.is_some())
        + usize::from(request.folder.is_some())
        + usize::from(request.citizen.is_some())
        + usize::from(request.jpeg_base64.is_some())
        + usize::from(request.no_face);
    if given != 1 {
        return Err(CameraSimError::Request(
            "give exactly one of image, folder, citizen, jpeg_base64, no_face".into(),
        ));
    }
    if let Some(kind) = request.attack {
        return show_attack(scene, citizens, request, kind);
    }
    if let Some(path) = request.image {
        let frame = load_image(&path)?;
        return Ok(show(
            scene,
            vec![frame],
            "image",
            Some(path.display().to_string()),
        ));
    }
    if let Some(dir) = request.folder {
        let frames = load_folder(&dir)?;
        return Ok(show(
            scene,
            frames,
            "folder",
            Some(dir.display().to_string()),
        ));
    }
    if let Some(id) = request.citizen {
        let id = id.trim().to_uppercase();
        let path = citizens
            .and_then(|c| (c.0)(&id))
            .ok_or_else(|| CameraSimError::NoCitizenImage(id.clone()))?;
        let frame = load_image(&path)?;
        return Ok(show(scene, vec![frame], "citizen", Some(id)));
    }
    if let Some(text) = request.jpeg_base64 {
        let frame = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| CameraSimError::Request(format!("jpeg_base64: {e}")))?;
        if !(frame.starts_with(&[0xFF, 0xD8]) && frame.ends_with(&[0xFF, 0xD9])) {
            return Err(CameraSimError::NotJpeg("jpeg_base64".into()));
        }
        return Ok(show(scene, vec![frame], "jpeg", None));
    }
    Ok(show(scene, vec![no_face_jpeg()], "no_face", None))
}

/// `{"citizen":ID,"attack":KIND}` or `{"image":PATH,"attack":KIND}`: the picture as the camera
/// sees it held up as a print or on a screen.
fn show_attack(
    scene: &SharedScene,
    citizens: Option<&CitizenImages>,
    request: ShowRequest,
    kind: AttackKind,
) -> Result<Showing, CameraSimError> {
    let (path, who) = match (request.citizen, request.image) {
        (Some(id), None) => {
            let id = id.trim().to_uppercase();
            let path = citizens
                .and_then(|c| (c.0)(&id))
                .ok_or_else(|| CameraSimError::NoCitizenImage(id.clone()))?;
            (path, id)
        }
        (None, Some(path)) => {
            let who = path.display().to_string();
            (path, who)
        }
        _ => {
            return Err(CameraSimError::Request(
                "attack: goes with citizen or image".into(),
            ))
        }
    };
    let frame = load_image(&path)?;
    let frame = attack::present(&frame, kind)
        .map_err(|e| CameraSimError::Request(format!("{}: {e}", path.display())))?;
    Ok(show(
        scene,
        vec![frame],
        "attack",
        Some(format!("{}:{who}", kind.as_str())),
    ))
}

async fn serve(
    mut socket: TcpStream,
    scene: SharedScene,
    citizens: Option<CitizenImages>,
    interval: Duration,
    snapshot_next: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    // Read the request head (up to the blank line); only the method, the path and the body's
    // length matter.
    let mut head = Vec::new();
    let mut byte = [0u8; 4096];
    let body_start = loop {
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if let Some(i) = head.windows(2).position(|w| w == b"\n\n") {
            break i + 2;
        }
        let n = socket.read(&mut byte).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&byte[..n]);
    };
    let request = String::from_utf8_lossy(&head[..body_start]).into_owned();
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/" | "/stream" | "/video" | "/mjpeg") => {
            socket
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; \
                         boundary={BOUNDARY}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await?;
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut frames, mut generation) = current(&scene);
            let mut next = 0;
            loop {
                tick.tick().await;
                let (now_frames, now_generation) = current(&scene);
                if now_generation != generation {
                    (frames, generation, next) = (now_frames, now_generation, 0);
                }
                let frame = &frames[next % frames.len()];
                next = (next + 1) % frames.len();
                let mut part = format!(
                    "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    frame.len()
                )
                .into_bytes();
                part.extend_from_slice(frame);
                part.extend_from_slice(b"\r\n");
                socket.write_all(&part).await?;
            }
        }
        ("GET", "/snapshot") => {
            let (frames, _) = current(&scene);
            let i = snapshot_next.fetch_add(1, Ordering::Relaxed) % frames.len();
            respond(&mut socket, "200 OK", "image/jpeg", &frames[i]).await
        }
        ("GET", "/show") => {
            let showing = scene
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .showing
                .clone();
            let body = serde_json::to_vec(&showing).unwrap_or_default();
            respond(&mut socket, "200 OK", "application/json", &body).await
        }
        ("POST", "/show") => {
            let length = request
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if length > 32 * 1024 * 1024 {
                return error(&mut socket, "413 Payload Too Large", "body over 32 MiB").await;
            }
            let mut body = head[body_start..].to_vec();
            while body.len() < length {
                let n = socket.read(&mut byte).await?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&byte[..n]);
            }
            body.truncate(length);
            let request: ShowRequest = match serde_json::from_slice(&body) {
                Ok(r) => r,
                Err(e) => {
                    return error(
                        &mut socket,
                        "400 Bad Request",
                        &format!("bad request body: {e}"),
                    )
                    .await
                }
            };
            match show_request(&scene, citizens.as_ref(), request) {
                Ok(showing) => {
                    let body = serde_json::to_vec(&showing).unwrap_or_default();
                    respond(&mut socket, "200 OK", "application/json", &body).await
                }
                Err(e @ CameraSimError::NoCitizenImage(_)) => {
                    error(&mut socket, "404 Not Found", &e.to_string()).await
                }
                Err(e) => error(&mut socket, "400 Bad Request", &e.to_string()).await,
            }
        }
        ("GET" | "POST", _) => {
            respond(&mut socket, "404 Not Found", "text/plain", b"not found\n").await
        }
        _ => {
            respond(
                &mut socket,
                "405 Method Not Allowed",
                "text/plain",
                b"GET or POST only\n",
            )
            .await
        }
    }
}

async fn error(socket: &mut TcpStream, status: &str, message: &str) -> std::io::Result<()> {
    let body = serde_json::to_vec(&serde_json::json!({ "error": message })).unwrap_or_default();
    respond(socket, status, "application/json", &body).await
}

async fn respond(
    socket: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    socket.write_all(&out).await?;
    socket.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene() -> SharedScene {
        Arc::new(RwLock::new(Scene {
            frames: Arc::new(vec![no_face_jpeg()]),
            showing: Showing {
                source: "start".into(),
                detail: None,
                frames: 1,
                generation: 0,
            },
        }))
    }

    #[test]
    fn a_citizen_can_be_shown_as_a_print_or_a_screen() {
        let dir =
            std::env::temp_dir().join(format!("idkiosk-camera-attack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let picture = dir.join("citizen.jpg");
        std::fs::write(&picture, no_face_jpeg()).unwrap();
        let path = picture.clone();
        let citizens = CitizenImages(Arc::new(move |id: &str| {
            (id == "110101199001011234").then(|| path.clone())
        }));
        let scene = scene();
        for kind in ["print", "screen"] {
            let request: ShowRequest = serde_json::from_str(&format!(
                r#"{{"citizen":"110101199001011234","attack":"{kind}"}}"#
            ))
            .unwrap();
            let showing = show_request(&scene, Some(&citizens), request).unwrap();
            assert_eq!(showing.source, "attack");
            assert_eq!(
                showing.detail.as_deref(),
                Some(format!("{kind}:110101199001011234").as_str())
            );
            let (frames, _) = current(&scene);
            assert_ne!(frames[0], no_face_jpeg(), "{kind}: the picture is changed");
            assert!(frames[0].starts_with(&[0xFF, 0xD8]));
        }
        // An attack needs a picture to present.
        let request: ShowRequest =
            serde_json::from_str(r#"{"no_face":true,"attack":"print"}"#).unwrap();
        assert!(show_request(&scene, Some(&citizens), request).is_err());
        let request: ShowRequest =
            serde_json::from_str(r#"{"citizen":"X","attack":"print"}"#).unwrap();
        assert!(matches!(
            show_request(&scene, Some(&citizens), request),
            Err(CameraSimError::NoCitizenImage(_))
        ));
        std::fs::remove_dir_all(dir).ok();
    }
}
