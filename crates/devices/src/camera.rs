//! The camera (docs/domain.md section 9.4): JPEG frames from an MJPEG-over-HTTP stream
//! (`multipart/x-mixed-replace; boundary=…`, one JPEG per part), the convention of IP cameras
//! and of our simulator ([`crate::sim::camera`]).
//!
//! [`MjpegParser`] is the sans-IO part: bytes of the HTTP body in, JPEG frames out, every
//! malformed part an error value. [`MjpegCamera`] is the thin driver: `reqwest` for HTTP (so
//! chunked and close-delimited bodies both work), the parser for the parts. A V4L2 adapter for
//! USB cameras is not built yet: it would implement [`Camera`] the same way.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::health::{DeviceHealth, HealthCell};

/// A camera, whoever made it.
#[async_trait]
pub trait Camera: Send + Sync {
    /// One current frame, as JPEG.
    async fn grab(&self) -> Result<Vec<u8>, CameraError>;

    /// The state the driver last saw.
    fn health(&self) -> DeviceHealth;
}

/// Why no frame was grabbed.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// The stream cannot be reached or went away.
    #[error("camera unreachable: {0}")]
    Unreachable(String),
    /// The server answered, but not with an MJPEG stream.
    #[error("not an MJPEG stream: {0}")]
    NotMjpeg(String),
    /// The stream's parts are malformed.
    #[error(transparent)]
    Stream(#[from] MjpegError),
    /// The stream ended.
    #[error("the stream ended")]
    Ended,
    /// No frame within the wait.
    #[error("no frame within {0:?}")]
    Timeout(Duration),
}

// ------------------------------------------------------------------------------ sans-IO parser

/// A malformed part of a multipart stream (the parser skips it and goes on with the next part).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MjpegError {
    /// A part (or its headers) is larger than the limit.
    #[error("part larger than {limit} bytes")]
    Oversized {
        /// The limit.
        limit: usize,
    },
    /// A header line is not `Name: value`, or Content-Length is not a number.
    #[error("bad part header {0:?}")]
    BadHeader(String),
    /// The part is not a JPEG (no `FF D8` start of image).
    #[error("part is not a JPEG")]
    NotJpeg,
}

/// The boundary named in a `multipart/x-mixed-replace; boundary=…` content type.
pub fn boundary_from_content_type(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime
        .trim()
        .eq_ignore_ascii_case("multipart/x-mixed-replace")
    {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        (!v.is_empty()).then(|| v.to_owned())
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ParseState {
    /// Looking for the next `--boundary` line.
    Boundary,
    /// Reading the part's header lines.
    Headers { content_length: Option<usize> },
    /// Reading the part's body.
    Body { content_length: Option<usize> },
    /// The closing `--boundary--` was seen.
    Done,
}

/// Sans-IO multipart/x-mixed-replace parser: [`push`](Self::push) the body's bytes in chunks of
/// any size, then drain [`next_frame`](Self::next_frame).
///
/// A part with a `Content-Length` is cut at that length; one without is cut before the next
/// delimiter (`CRLF--boundary`). Bytes before a delimiter are skipped (counted in
/// [`skipped_bytes`](Self::skipped_bytes)), so a stream joined mid-part resynchronises.
#[derive(Clone, Debug)]
pub struct MjpegParser {
    delimiter: Vec<u8>,
    buf: Vec<u8>,
    state: ParseState,
    max_part: usize,
    skipped: u64,
}

/// Header bytes allowed per part.
const MAX_HEADERS: usize = 8 * 1024;

impl MjpegParser {
    /// A parser for parts separated by `--boundary`, each at most `max_part` bytes.
    pub fn new(boundary: &str, max_part: usize) -> Self {
        MjpegParser {
            delimiter: format!("--{boundary}").into_bytes(),
            buf: Vec::new(),
            state: ParseState::Boundary,
            max_part,
            skipped: 0,
        }
    }

    /// Feeds body bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.state != ParseState::Done {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes skipped outside parts and delimiter lines (preamble, the CRLF ending each part,
    /// garbage, the rest of a bad part).
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    /// Whether the closing delimiter was seen.
    pub fn is_done(&self) -> bool {
        self.state == ParseState::Done
    }

    /// The next complete frame or error, if the bytes so far hold one.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, MjpegError>> {
        loop {
            match self.state {
                ParseState::Done => return None,
                ParseState::Boundary => {
                    let Some(at) = find(&self.buf, &self.delimiter) else {
                        // Keep what could be the start of a delimiter.
                        let keep = self.delimiter.len().saturating_sub(1).min(self.buf.len());
                        self.skip(self.buf.len() - keep);
                        return None;
                    };
                    let after = at + self.delimiter.len();
                    if self.buf.len() < after + 2 {
                        self.skip(at);
                        return None;
                    }
                    if &self.buf[after..after + 2] == b"--" {
                        self.skip(at);
                        self.buf.clear();
                        self.state = ParseState::Done;
                        return None;
                    }
                    let Some(eol) = self.buf[after..].iter().position(|&b| b == b'\n') else {
                        if self.buf.len() - after > MAX_HEADERS {
                            self.skip(after);
                        } else {
                            self.skip(at);
                        }
                        return None;
                    };
                    self.skip(at);
                    self.buf.drain(..after - at + eol + 1);
                    self.state = ParseState::Headers {
                        content_length: None,
                    };
                }
                ParseState::Headers { content_length } => {
                    let Some(eol) = self.buf.iter().position(|&b| b == b'\n') else {
                        if self.buf.len() > MAX_HEADERS {
                            return Some(Err(
                                self.bad_part(MjpegError::Oversized { limit: MAX_HEADERS })
                            ));
                        }
                        return None;
                    };
                    let line = String::from_utf8_lossy(&self.buf[..eol])
                        .trim_end_matches('\r')
                        .to_owned();
                    self.buf.drain(..=eol);
                    if line.is_empty() {
                        self.state = ParseState::Body { content_length };
                        continue;
                    }
                    let Some((name, value)) = line.split_once(':') else {
                        return Some(Err(self.bad_part(MjpegError::BadHeader(line))));
                    };
                    if name.trim().eq_ignore_ascii_case("content-length") {
                        match value.trim().parse::<usize>() {
                            Ok(n) if n > self.max_part => {
                                return Some(Err(self.bad_part(MjpegError::Oversized {
                                    limit: self.max_part,
                                })))
                            }
                            Ok(n) => {
                                self.state = ParseState::Headers {
                                    content_length: Some(n),
                                }
                            }
                            Err(_) => return Some(Err(self.bad_part(MjpegError::BadHeader(line)))),
                        }
                    }
                }
                ParseState::Body {
                    content_length: Some(n),
                } => {
                    if self.buf.len() < n {
                        return None;
                    }
                    let frame: Vec<u8> = self.buf.drain(..n).collect();
                    self.state = ParseState::Boundary;
                    return Some(jpeg(frame));
                }
                ParseState::Body {
                    content_length: None,
                } => {
                    let mut end_marker = b"\r\n".to_vec();
                    end_marker.extend_from_slice(&self.delimiter);
                    let end = find(&self.buf, &end_marker).or_else(|| {
                        let mut lf = b"\n".to_vec();
                        lf.extend_from_slice(&self.delimiter);
                        find(&self.buf, &lf)
                    });
                    match end {
                        Some(at) => {
                            let frame: Vec<u8> = self.buf.drain(..at).collect();
                            self.state = ParseState::Boundary;
                            return Some(jpeg(frame));
                        }
                        None if self.buf.len() > self.max_part + end_marker.len() => {
                            return Some(Err(self.bad_part(MjpegError::Oversized {
                                limit: self.max_part,
                            })));
                        }
                        None => return None,
                    }
                }
            }
        }
    }

    fn skip(&mut self, n: usize) {
        self.skipped += n as u64;
        self.buf.drain(..n);
    }

    /// Drops what is buffered of a bad part and looks for the next delimiter.
    fn bad_part(&mut self, error: MjpegError) -> MjpegError {
        self.state = ParseState::Boundary;
        error
    }
}

fn jpeg(frame: Vec<u8>) -> Result<Vec<u8>, MjpegError> {
    if frame.starts_with(&[0xFF, 0xD8]) {
        Ok(frame)
    } else {
        Err(MjpegError::NotJpeg)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ------------------------------------------------------------------------------ HTTP driver

/// Settings of an [`MjpegCamera`].
#[derive(Clone, Debug)]
pub struct MjpegCameraConfig {
    /// The stream's URL, e.g. `http://127.0.0.1:8081/stream`.
    pub url: String,
    /// How long connecting and each frame may take.
    pub frame_timeout: Duration,
    /// The largest frame accepted.
    pub max_frame: usize,
}

impl MjpegCameraConfig {
    /// 5 s per frame, frames up to 8 MiB.
    pub fn new(url: impl Into<String>) -> Self {
        MjpegCameraConfig {
            url: url.into(),
            frame_timeout: Duration::from_secs(5),
            max_frame: 8 * 1024 * 1024,
        }
    }
}

/// An MJPEG-over-HTTP camera (an IP camera, or `idkiosk sim camera`).
#[derive(Clone, Debug)]
pub struct MjpegCamera {
    config: MjpegCameraConfig,
    http: reqwest::Client,
    health: Arc<HealthCell>,
}

impl MjpegCamera {
    /// A client for the stream; nothing is sent until the first call.
    pub fn new(config: MjpegCameraConfig) -> Self {
        MjpegCamera {
            config,
            http: reqwest::Client::new(),
            health: Arc::new(HealthCell::new()),
        }
    }

    /// Health changes as they happen.
    pub fn subscribe_health(&self) -> watch::Receiver<DeviceHealth> {
        self.health.subscribe()
    }

    /// Opens the stream for continuous reading (a new HTTP request).
    pub async fn stream(&self) -> Result<MjpegStream, CameraError> {
        let result = self.open().await;
        if let Err(e) = &result {
            self.health.set(DeviceHealth::Disconnected {
                reason: e.to_string(),
            });
        }
        result
    }

    async fn open(&self) -> Result<MjpegStream, CameraError> {
        let response = tokio::time::timeout(
            self.config.frame_timeout,
            self.http.get(&self.config.url).send(),
        )
        .await
        .map_err(|_| CameraError::Timeout(self.config.frame_timeout))?
        .map_err(|e| CameraError::Unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(CameraError::NotMjpeg(format!("HTTP {}", response.status())));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let boundary = boundary_from_content_type(&content_type)
            .ok_or_else(|| CameraError::NotMjpeg(format!("content type {content_type:?}")))?;
        Ok(MjpegStream {
            response,
            parser: MjpegParser::new(&boundary, self.config.max_frame),
            frame_timeout: self.config.frame_timeout,
            health: self.health.clone(),
        })
    }
}

#[async_trait]
impl Camera for MjpegCamera {
    async fn grab(&self) -> Result<Vec<u8>, CameraError> {
        let mut stream = self.stream().await?;
        stream.next_frame().await
    }

    fn health(&self) -> DeviceHealth {
        self.health.get()
    }
}

/// An open MJPEG stream.
#[derive(Debug)]
pub struct MjpegStream {
    response: reqwest::Response,
    parser: MjpegParser,
    frame_timeout: Duration,
    health: Arc<HealthCell>,
}

impl MjpegStream {
    /// The next good frame; malformed parts are skipped (and logged).
    pub async fn next_frame(&mut self) -> Result<Vec<u8>, CameraError> {
        let result = tokio::time::timeout(self.frame_timeout, self.read_frame())
            .await
            .unwrap_or(Err(CameraError::Timeout(self.frame_timeout)));
        self.health.set(match &result {
            Ok(_) => DeviceHealth::Ready,
            Err(CameraError::Unreachable(reason)) => DeviceHealth::Disconnected {
                reason: reason.clone(),
            },
            Err(e) => DeviceHealth::Error {
                reason: e.to_string(),
            },
        });
        result
    }

    async fn read_frame(&mut self) -> Result<Vec<u8>, CameraError> {
        loop {
            while let Some(item) = self.parser.next_frame() {
                match item {
                    Ok(frame) => return Ok(frame),
                    Err(e) => tracing::warn!("camera stream: skipping a bad part: {e}"),
                }
            }
            if self.parser.is_done() {
                return Err(CameraError::Ended);
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.parser.push(&bytes),
                Ok(None) => return Err(CameraError::Ended),
                Err(e) => return Err(CameraError::Unreachable(e.to_string())),
            }
        }
    }

    /// Bytes skipped outside parts so far.
    pub fn skipped_bytes(&self) -> u64 {
        self.parser.skipped_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(boundary: &str, body: &[u8], with_length: bool) -> Vec<u8> {
        let mut out = format!("--{boundary}\r\nContent-Type: image/jpeg\r\n").into_bytes();
        if with_length {
            out.extend(format!("Content-Length: {}\r\n", body.len()).bytes());
        }
        out.extend(b"\r\n");
        out.extend(body);
        out.extend(b"\r\n");
        out
    }

    fn frame(n: u8) -> Vec<u8> {
        let mut f = vec![0xFF, 0xD8, 0xFF, 0xE0];
        // Contains CRLF and dashes, and with a length even the delimiter itself.
        f.extend(b"\r\n--notit\r\n");
        f.extend(std::iter::repeat_n(n, 100 + n as usize));
        f.extend([0xFF, 0xD9]);
        f
    }

    #[test]
    fn content_type_boundary() {
        assert_eq!(
            boundary_from_content_type("multipart/x-mixed-replace; boundary=frame"),
            Some("frame".into())
        );
        assert_eq!(
            boundary_from_content_type("Multipart/X-Mixed-Replace;boundary=\"a b\""),
            Some("a b".into())
        );
        assert_eq!(boundary_from_content_type("image/jpeg"), None);
        assert_eq!(
            boundary_from_content_type("multipart/x-mixed-replace"),
            None
        );
    }

    #[test]
    fn frames_come_out_whatever_the_chunking() {
        for with_length in [true, false] {
            let mut stream = b"preamble garbage\r\n".to_vec();
            for n in 1..=3 {
                stream.extend(part("frame", &frame(n), with_length));
            }
            stream.extend(b"--frame--\r\n");
            for chunk in [1, 2, 7, 64, stream.len()] {
                let mut p = MjpegParser::new("frame", 1 << 20);
                let mut got = Vec::new();
                for c in stream.chunks(chunk) {
                    p.push(c);
                    while let Some(f) = p.next_frame() {
                        got.push(f.unwrap());
                    }
                }
                assert_eq!(got, vec![frame(1), frame(2), frame(3)], "chunk {chunk}");
                assert!(p.is_done());
                // The preamble and the CRLF after each part.
                assert_eq!(p.skipped_bytes(), 18 + 2 * 3, "chunk {chunk}");
            }
        }
    }

    #[test]
    fn bad_parts_are_errors_then_the_next_part_decodes() {
        let mut p = MjpegParser::new("b", 200);
        let mut s = b"--b\r\nContent-Length: x\r\n\r\n".to_vec();
        s.extend(part("b", b"not a jpeg", true));
        s.extend(b"--b\r\nContent-Length: 100000\r\n\r\n");
        s.extend(b"--b\r\nno colon here\r\n\r\n");
        s.extend(part("b", &frame(1), true));
        p.push(&s);
        let got: Vec<_> = std::iter::from_fn(|| p.next_frame()).collect();
        assert_eq!(
            got,
            vec![
                Err(MjpegError::BadHeader("Content-Length: x".into())),
                Err(MjpegError::NotJpeg),
                Err(MjpegError::Oversized { limit: 200 }),
                Err(MjpegError::BadHeader("no colon here".into())),
                Ok(frame(1)),
            ]
        );
    }

    #[test]
    fn an_endless_part_without_length_is_oversized() {
        let mut p = MjpegParser::new("b", 50);
        p.push(b"--b\r\n\r\n\xFF\xD8");
        p.push(&[0u8; 100]);
        assert_eq!(
            p.next_frame(),
            Some(Err(MjpegError::Oversized { limit: 50 }))
        );
        p.push(&part("b", &frame(2), false));
        p.push(b"--b--");
        assert_eq!(p.next_frame(), Some(Ok(frame(2))));
    }
}
