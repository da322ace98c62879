//! The one error type of the center's HTTP API and its JSON body.
//!
//! A client error names the field and why (`{"error":"…","field":"…"}`, 400 or 422); an internal
//! error says only "something went wrong" with a request id, and the cause goes to the log.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body is not JSON of the expected shape (400).
    #[error("{message}")]
    BadRequest {
        /// The field at fault, dotted (`card.valid_until`), when known.
        field: Option<String>,
        /// Lower-case reason.
        message: String,
    },
    /// Well-formed JSON whose value breaks a rule (422), e.g. an ID number with a wrong check digit.
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault, dotted.
        field: String,
        /// Lower-case reason.
        message: String,
    },
    /// Anything on our side: a population system that does not answer, a database error (500).
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 422 naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A 400 naming `field`.
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::BadRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::BadRequest { field, message } => (
                StatusCode::BAD_REQUEST,
                Json(ErrorBody {
                    error: message,
                    field: field.as_deref(),
                    request_id: None,
                }),
            )
                .into_response(),
            AppError::Invalid { field, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(ErrorBody {
                    error: message,
                    field: Some(field),
                    request_id: None,
                }),
            )
                .into_response(),
            AppError::Internal(cause) => {
                let request_id = uuid::Uuid::new_v4().to_string();
                tracing::error!(%request_id, "request failed: {cause:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(ErrorBody {
                        error: "something went wrong",
                        field: None,
                        request_id: Some(request_id),
                    }),
                )
                    .into_response()
            }
        }
    }
}
