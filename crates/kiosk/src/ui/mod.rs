//! The touchscreen UI (DESIGN.md "Interfaces people see"): server-rendered pages, one per screen of
//! the session, served on loopback to Chromium in kiosk mode. The page posts the citizen's touches
//! to `/action` (and the signature to `/signature`), which become [`UiAction`]s for the agent, and
//! listens on `/events` (server-sent events) to reload when the agent publishes a new [`View`].
//! docs/ui.md lists the routes, form values and test ids.
//!
//! Nothing here decides what comes next: the page draws [`View::screen`] and passes touches on.

pub mod action;
pub mod page;
pub mod qr;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FormRejection};
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use tokio_stream::wrappers::WatchStream;
use tokio_stream::{Stream, StreamExt as _};

use crate::view::{ActionError, AgentHandle, UiAction, View};
use crate::voice::Voice;
use action::{ActionForm, BadField, SignatureError, MAX_SIGNATURE_BYTES};

/// The stylesheet, served at `/assets/kiosk.css`.
const KIOSK_CSS: &str = include_str!("../../assets/kiosk.css");
/// The page script, served at `/assets/kiosk.js`.
const KIOSK_JS: &str = include_str!("../../assets/kiosk.js");

/// The touchscreen UI over the agent behind `handle`, without a speech engine (the voice toggle
/// says voice is unavailable): see [`router_with_voice`].
pub fn router(handle: AgentHandle) -> Router {
    router_with_voice(handle, None)
}

/// The UI's state: the agent and the speech engine, if the kiosk has one.
#[derive(Clone)]
struct UiState {
    handle: AgentHandle,
    voice: Option<Arc<Voice>>,
}

impl FromRef<UiState> for AgentHandle {
    fn from_ref(state: &UiState) -> AgentHandle {
        state.handle.clone()
    }
}

/// The touchscreen UI over the agent behind `handle`: `GET /`, `POST /action`, `POST /signature`,
/// `GET /events`, `GET /voice/<key>.wav` (with `voice`) and `GET /assets/*`. The caller binds it
/// (on loopback) and adds tracing.
pub fn router_with_voice(handle: AgentHandle, voice: Option<Arc<Voice>>) -> Router {
    // A data URL is a third longer than the PNG it carries.
    let signature_body_limit = MAX_SIGNATURE_BYTES / 3 * 4 + 1024;
    Router::new()
        .route("/", get(page))
        .route("/voice/{file}", get(speech))
        .route("/action", post(act))
        .route(
            "/signature",
            post(signature).layer(DefaultBodyLimit::max(signature_body_limit)),
        )
        .route("/events", get(events))
        .route("/photo/review.jpg", get(review_photo))
        .route("/assets/kiosk.css", get(css))
        .route("/assets/kiosk.js", get(js))
        .with_state(UiState { handle, voice })
        .layer(axum::middleware::from_fn(security_headers))
}

/// The touchscreen's Content-Security-Policy: its own script and styles (inline styles allowed,
/// inline scripts not), images from itself and the camera preview on this machine, the voice
/// prompts' audio from itself, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: http://127.0.0.1:* \
     http://localhost:*; media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// CSP, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and `X-Content-Type-Options:
/// nosniff` on every answer of the UI.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// What a request to the UI can end in besides a page or a redirect.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// A form field the page never sends (400, naming the field).
    #[error(transparent)]
    BadField(#[from] BadField),
    /// The form itself could not be read (400).
    #[error("form: {0}")]
    BadForm(String),
    /// The signature upload was refused (400 or 413).
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The agent has stopped (503).
    #[error("the kiosk agent is not running")]
    AgentGone,
    /// The page could not be drawn (500; the cause goes to the log).
    #[error("something went wrong drawing the page")]
    Render,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = match &self {
            UiError::BadField(_) | UiError::BadForm(_) => StatusCode::BAD_REQUEST,
            UiError::Signature(SignatureError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            UiError::Signature(_) => StatusCode::BAD_REQUEST,
            UiError::AgentGone => StatusCode::SERVICE_UNAVAILABLE,
            UiError::Render => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // The kiosk's browser has no address bar: an error page must lead back to the screen by
        // itself.
        (
            status,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::REFRESH, "3; url=/"),
            ],
            self.to_string(),
        )
            .into_response()
    }
}

/// Draws `view` as a whole page (for a kiosk without a speech engine).
pub fn render(view: &View) -> Result<String, askama::Error> {
    page::Page::new(view).render()
}

async fn page(State(state): State<UiState>) -> Result<Response, UiError> {
    let view = state.handle.view();
    let html = page::Page::new(&view)
        .with_voice(state.voice.as_deref())
        .render();
    let html = html.map_err(|error| {
        tracing::error!(%error, screen = view.screen.name(), "rendering the touchscreen page");
        UiError::Render
    })?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

async fn act(
    State(handle): State<AgentHandle>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Redirect, UiError> {
    let Form(form) = form.map_err(|rejection| UiError::BadForm(rejection.body_text()))?;
    let action = action::parse_action(&form)?;
    deliver(&handle, action).await
}

async fn signature(
    State(handle): State<AgentHandle>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Redirect, UiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            UiError::Signature(SignatureError::TooLarge)
        } else {
            UiError::Signature(SignatureError::NotPng(rejection.body_text()))
        }
    })?;
    let is_png = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().to_ascii_lowercase().starts_with("image/png"));
    let png = action::parse_signature(is_png, &body)?;
    deliver(&handle, UiAction::Signature(png)).await
}

/// Sends `action`; the page shows the agent's next view either way (a refused action means the
/// page was stale: a double tap, a screen that changed under the finger).
async fn deliver(handle: &AgentHandle, action: UiAction) -> Result<Redirect, UiError> {
    match handle.act(action).await {
        Ok(()) => Ok(Redirect::to("/")),
        Err(ActionError::NotNow(why)) => {
            tracing::debug!(%why, "action refused, the page was stale");
            Ok(Redirect::to("/"))
        }
        Err(ActionError::AgentGone) => Err(UiError::AgentGone),
    }
}

/// The SSE payload: the version (for the record) and the fingerprint (what the page compares).
fn view_event(view: &View) -> Event {
    Event::default()
        .event("view")
        .id(view.version.to_string())
        .data(format!(
            r#"{{"version":{},"screen":"{}","fingerprint":"{}"}}"#,
            view.version,
            view.screen.name(),
            page::fingerprint(view)
        ))
}

async fn events(
    State(handle): State<AgentHandle>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // The current view first, then one event per published view.
    let stream = WatchStream::new(handle.subscribe()).map(|view| Ok(view_event(&view)));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// `GET /voice/<key>.wav`: the spoken prompt of a page. A key already in the cache is served;
/// otherwise only the current screen's text is generated (no one can make the kiosk speak
/// anything else), off the async threads. 404 for a stale key, 503 when the engine fails.
async fn speech(
    State(state): State<UiState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let Some(voice) = state.voice else {
        return (StatusCode::NOT_FOUND, "this kiosk has no speech engine").into_response();
    };
    let Some(key) = file.strip_suffix(".wav") else {
        return (StatusCode::NOT_FOUND, "no such prompt").into_response();
    };
    let wav = match voice.cached(key).await {
        Some(wav) => wav,
        None => {
            let view = state.handle.view();
            let say = page::say(&view.screen, &view.extras);
            if say.is_empty() || voice.key(&say) != key {
                return (StatusCode::NOT_FOUND, "not the current screen's prompt").into_response();
            }
            match voice.speak(&say).await {
                Ok(spoken) => spoken.wav,
                Err(error) => {
                    tracing::error!(%error, "speaking the screen's prompt");
                    return (StatusCode::SERVICE_UNAVAILABLE, "the speech engine failed")
                        .into_response();
                }
            }
        }
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("audio/wav")),
            // The key names the text and voice: the file never changes.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=86400, immutable"),
            ),
        ],
        wav,
    )
        .into_response()
}

/// `GET /photo/review.jpg`: the photo just taken, while the review screen shows it; 404
/// otherwise. A citizen's face: never cached.
async fn review_photo(State(handle): State<AgentHandle>) -> Response {
    let view = handle.view();
    match (&view.screen, view.extras.review_photo) {
        (domain::session::Screen::PhotoReview { .. }, Some(jpeg)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            jpeg.to_vec(),
        )
            .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            "no photo to review",
        )
            .into_response(),
    }
}

async fn css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", KIOSK_CSS)
}

async fn js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", KIOSK_JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}
