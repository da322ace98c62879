//! The control API every simulator serves on loopback: status and fault injection. Each device
//! adds its own routes (place a card, press a finger, …). Every error comes back as
//! `{"error": "…"}` with a 4xx status naming what was wrong.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::{status_of, Shared, SimDevice, SimStatus};

/// A control request the simulator refuses.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The body is not the JSON the route takes.
    #[error("bad request body: {0}")]
    Body(String),
    /// A field has a value the simulator cannot use.
    #[error("{field}: {message}")]
    Field {
        /// The field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The request does not fit the device's state (no card to remove, …).
    #[error("{0}")]
    Conflict(String),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::Body(_) | ControlError::Field { .. } => StatusCode::BAD_REQUEST,
            ControlError::Conflict(_) => StatusCode::CONFLICT,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// `Json<T>` whose rejections come back in the API's error format.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ControlError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ControlError::Body(rejection.body_text())),
        }
    }
}

pub(crate) fn common_routes<D: SimDevice>() -> Router<Arc<Shared<D>>> {
    Router::new()
        .route("/status", get(status::<D>))
        .route("/faults/corrupt", post(corrupt::<D>))
        .route("/faults/delay", post(delay::<D>))
        .route("/faults/mute", post(mute::<D>))
        .route("/faults/noise", post(noise::<D>))
        .route("/faults/drop", post(drop_line::<D>))
        .route("/faults/clear", post(clear::<D>))
}

async fn status<D: SimDevice>(State(shared): State<Arc<Shared<D>>>) -> Json<SimStatus> {
    Json(status_of(&shared))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Frames {
    frames: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Delay {
    #[serde(default = "one")]
    frames: u32,
    ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Down {
    #[serde(default = "one_second")]
    ms: u64,
}

fn one() -> u32 {
    1
}

fn one_second() -> u64 {
    1000
}

async fn corrupt<D: SimDevice>(
    State(shared): State<Arc<Shared<D>>>,
    Body(body): Body<Frames>,
) -> Json<SimStatus> {
    shared.corrupt_next(body.frames);
    Json(status_of(&shared))
}

async fn delay<D: SimDevice>(
    State(shared): State<Arc<Shared<D>>>,
    Body(body): Body<Delay>,
) -> Json<SimStatus> {
    shared.delay_next(body.frames, Duration::from_millis(body.ms));
    Json(status_of(&shared))
}

async fn mute<D: SimDevice>(
    State(shared): State<Arc<Shared<D>>>,
    Body(body): Body<Frames>,
) -> Json<SimStatus> {
    shared.mute_next(body.frames);
    Json(status_of(&shared))
}

async fn noise<D: SimDevice>(
    State(shared): State<Arc<Shared<D>>>,
    Body(body): Body<Frames>,
) -> Json<SimStatus> {
    shared.noise_before_next(body.frames);
    Json(status_of(&shared))
}

async fn drop_line<D: SimDevice>(
    State(shared): State<Arc<Shared<D>>>,
    Body(body): Body<Down>,
) -> Json<SimStatus> {
    shared.drop_line(Duration::from_millis(body.ms));
    Json(status_of(&shared))
}

async fn clear<D: SimDevice>(State(shared): State<Arc<Shared<D>>>) -> Json<SimStatus> {
    shared.clear_faults();
    Json(status_of(&shared))
}
