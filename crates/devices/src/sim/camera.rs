//! `idkiosk sim camera`: an IP camera serving MJPEG over HTTP on loopback (DOMAIN.md 9.4).
//!
//! `GET /stream` (also `/`, `/video`, `/mjpeg`) answers `multipart/x-mixed-replace;
//! boundary=idkioskframe` and sends the images in name order, looping, at the configured frame
//! rate, one JPEG per part with `Content-Type: image/jpeg` and `Content-Length`; each connection
//! starts at the first image. `GET /snapshot` answers the next image alone. The bytes of each
//! image are sent unchanged, so a client can check them byte for byte. Plain tokio TCP (HTTP/1.0
//! style, `Connection: close`), like many cameras.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The boundary the simulator uses.
pub const BOUNDARY: &str = "idkioskframe";

/// How the camera simulator runs.
#[derive(Clone, Debug)]
pub struct CameraSimConfig {
    /// Where to listen (loopback; port 0 picks one).
    pub listen: SocketAddr,
    /// Frames per second of `/stream`.
    pub fps: f64,
}

impl Default for CameraSimConfig {
    fn default() -> Self {
        CameraSimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            fps: 10.0,
        }
    }
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
}

impl CameraSimHandle {
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
    let frames = Arc::new(frames);
    let interval = Duration::from_secs_f64(1.0 / config.fps.clamp(0.1, 1000.0));
    let snapshot_next = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(async move {
        let mut stopped_accept = stopped.clone();
        loop {
            tokio::select! {
                _ = stopped_accept.changed() => break,
                accepted = listener.accept() => {
                    let Ok((socket, _)) = accepted else { continue };
                    let frames = frames.clone();
                    let mut stopped = stopped.clone();
                    let snapshot_next = snapshot_next.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = stopped.changed() => {}
                            _ = serve(socket, frames, interval, snapshot_next) => {}
                        }
                    });
                }
            }
        }
    });
    Ok(CameraSimHandle { addr, stop, task })
}

async fn serve(
    mut socket: TcpStream,
    frames: Arc<Vec<Vec<u8>>>,
    interval: Duration,
    snapshot_next: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    // Read the request head (up to the blank line); only the path matters.
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = socket.read(&mut byte).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&byte[..n]);
    }
    let request = String::from_utf8_lossy(&head);
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    if method != "GET" {
        return respond(
            &mut socket,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
        )
        .await;
    }
    match path {
        "/" | "/stream" | "/video" | "/mjpeg" => {
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
            for frame in frames.iter().cycle() {
                tick.tick().await;
                let mut part = format!(
                    "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    frame.len()
                )
                .into_bytes();
                part.extend_from_slice(frame);
                part.extend_from_slice(b"\r\n");
                socket.write_all(&part).await?;
            }
            Ok(())
        }
        "/snapshot" => {
            let i = snapshot_next.fetch_add(1, Ordering::Relaxed) % frames.len();
            respond(&mut socket, "200 OK", "image/jpeg", &frames[i]).await
        }
        _ => respond(&mut socket, "404 Not Found", "text/plain", b"not found\n").await,
    }
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
