//! The one error type of the center's HTTP API and its JSON body.
//!
//! A client error names the field and why (`{"error":"…","field":"…"}`, 400 or 422); an internal
//! error says only "something went wrong" with a request id, and the cause goes to the log.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
/// The body of every error answer: the wire crate's, which the kiosk's client reads.
pub use kiosk_wire::ErrorBody;

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
    /// An unknown session, application or payment (404).
    #[error("{0}")]
    NotFound(String),
    /// A call out of order, or one the state forbids (409), e.g. a payment before the application.
    #[error("{message}")]
    Conflict {
        /// The field at fault, when one is.
        field: Option<String>,
        /// Lower-case reason.
        message: String,
    },
    /// The case is not (or no longer) within self-service scope (409): the reason code of
    /// docs/domain.md section 3 and the exact prompt the citizen reads.
    #[error("out of scope: {reason}")]
    OutOfScope {
        /// The stable reason code (`application_in_progress`, `record_not_normal`, …).
        reason: &'static str,
        /// The prompt, Chinese.
        prompt_zh: &'static str,
        /// The prompt, English.
        prompt_en: &'static str,
    },
    /// The kiosk made more lookups of citizens than its limit allows (429).
    #[error("too many lookups from this kiosk")]
    TooManyLookups {
        /// Seconds until the window allows another.
        retry_after_s: u64,
    },
    /// A body over the limit (413), or an upload past a quota: `413` for a session's or a kind's
    /// quota, `429` for a kiosk's daily quota. `quota` names which one.
    #[error("{message}")]
    TooLarge {
        /// 413 or 429.
        status: StatusCode,
        /// The field at fault (`body`).
        field: &'static str,
        /// The quota passed (`json_body`, `session_bytes`, `kind_bytes`, `kiosk_daily_bytes`, …).
        quota: &'static str,
        /// The limit, in bytes.
        limit: u64,
        /// Lower-case reason.
        message: String,
    },
    /// A system behind the center did not answer (503, `Retry-After`); the kiosk may retry.
    #[error("{service} unavailable: {cause:#}")]
    Unavailable {
        /// `population`, `face`, `payment`, `documents` or `database` (unreachable, or failing
        /// over to its replica).
        service: &'static str,
        /// Why, for the log.
        cause: anyhow::Error,
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

    /// A 409 without a field.
    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::Conflict {
            field: None,
            message: message.into(),
        }
    }

    /// A 409 naming `field`.
    pub fn conflict_on(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::Conflict {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A 503 for `service`.
    pub fn unavailable(service: &'static str, cause: impl Into<anyhow::Error>) -> AppError {
        AppError::Unavailable {
            service,
            cause: cause.into(),
        }
    }

    /// A 500 from any error, with `context` for the log.
    pub fn internal(
        context: &'static str,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> AppError {
        AppError::Internal(anyhow::Error::new(cause).context(context))
    }

    /// A 413 (or 429 for a daily quota) naming the quota passed.
    pub fn too_large(
        status: StatusCode,
        quota: &'static str,
        limit: u64,
        message: impl Into<String>,
    ) -> AppError {
        AppError::TooLarge {
            status,
            field: "body",
            quota,
            limit,
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

/// Whether an internal error is, somewhere in its chain, a database that cannot be reached
/// (errors that crossed an `anyhow` seam, such as the blob sink's, keep the store's error inside).
pub(crate) fn database_unavailable(cause: &anyhow::Error) -> bool {
    cause.chain().any(|err| {
        err.downcast_ref::<store::StoreError>()
            .is_some_and(store::StoreError::is_unavailable)
    })
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let this = match self {
            AppError::Internal(cause) if database_unavailable(&cause) => AppError::Unavailable {
                service: "database",
                cause,
            },
            other => other,
        };
        let (status, body) = match &this {
            AppError::BadRequest { field, message } => (
                StatusCode::BAD_REQUEST,
                ErrorBody {
                    field: field.clone(),
                    ..ErrorBody::new(message)
                },
            ),
            AppError::Invalid { field, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorBody::with_field(message, field),
            ),
            AppError::NotFound(message) => (StatusCode::NOT_FOUND, ErrorBody::new(message)),
            AppError::Conflict { field, message } => (
                StatusCode::CONFLICT,
                ErrorBody {
                    field: field.clone(),
                    ..ErrorBody::new(message)
                },
            ),
            AppError::OutOfScope {
                reason,
                prompt_zh,
                prompt_en,
            } => (
                StatusCode::CONFLICT,
                ErrorBody {
                    reason: Some((*reason).to_owned()),
                    prompt_zh: Some((*prompt_zh).to_owned()),
                    prompt_en: Some((*prompt_en).to_owned()),
                    ..ErrorBody::with_field("the case is not within self-service scope", "scope")
                },
            ),
            AppError::TooManyLookups { retry_after_s } => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(ErrorBody::with_field(
                        "too many lookups of citizens from this kiosk; try again later",
                        "kiosk",
                    )),
                )
                    .into_response();
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(*retry_after_s),
                );
                return response;
            }
            AppError::TooLarge {
                status,
                field,
                quota,
                limit,
                message,
            } => (
                *status,
                ErrorBody {
                    quota: Some((*quota).to_owned()),
                    limit: Some(*limit),
                    ..ErrorBody::with_field(message, *field)
                },
            ),
            AppError::Unavailable { service, cause } => {
                tracing::warn!(service, "unavailable: {cause:#}");
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(ErrorBody {
                        service: Some((*service).to_owned()),
                        ..ErrorBody::new("unavailable")
                    }),
                )
                    .into_response();
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(UNAVAILABLE_RETRY_AFTER_S),
                );
                return response;
            }
            AppError::Internal(cause) => {
                let request_id = uuid::Uuid::new_v4().to_string();
                tracing::error!(%request_id, "request failed: {cause:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody {
                        request_id: Some(request_id),
                        ..ErrorBody::new("something went wrong")
                    },
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

/// The pause a 503 suggests: a database failover takes 10-15 s, a kiosk retries meanwhile.
pub(crate) const UNAVAILABLE_RETRY_AFTER_S: u64 = 2;

impl From<store::StoreError> for AppError {
    fn from(err: store::StoreError) -> AppError {
        if err.is_unavailable() {
            AppError::unavailable("database", err)
        } else {
            AppError::internal("database", err)
        }
    }
}

impl From<popsys::PopsysError> for AppError {
    fn from(err: popsys::PopsysError) -> AppError {
        match err {
            popsys::PopsysError::Unavailable(_) => AppError::unavailable("population", err),
            // The reference population system on the center's own database.
            popsys::PopsysError::Store(store) => AppError::from(store),
            other => AppError::internal("population system", other),
        }
    }
}

/// What the tests of an error's answer share (here and in `staff`).
#[cfg(test)]
pub(crate) mod testing {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    /// The status of the answer `err` makes, and its `Retry-After`.
    pub fn status_and_retry_after(err: impl IntoResponse) -> (StatusCode, Option<String>) {
        let response = err.into_response();
        let retry_after = response
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (response.status(), retry_after)
    }

    /// A connection the database's primary cut (a failover).
    pub fn cut() -> sqlx::Error {
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the primary went away",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{cut, status_and_retry_after};
    use super::*;

    // Regression (issue 18): a database connection lost during a failover was a 500, which the
    // kiosk does not retry as it retries a 503.
    #[test]
    fn a_database_that_cannot_be_reached_is_503_with_retry_after() {
        let unavailable = (StatusCode::SERVICE_UNAVAILABLE, Some("2".to_owned()));
        let lost = store::StoreError::Database(cut());
        assert_eq!(status_and_retry_after(AppError::from(lost)), unavailable);
        let timed_out = store::StoreError::Database(sqlx::Error::PoolTimedOut);
        assert_eq!(
            status_and_retry_after(AppError::from(timed_out)),
            unavailable
        );
        let via_population = popsys::PopsysError::Store(store::StoreError::Database(cut()));
        assert_eq!(
            status_and_retry_after(AppError::from(via_population)),
            unavailable
        );
        // Through an anyhow seam (the blob sink), with context.
        let via_blobs = AppError::Internal(
            anyhow::Error::new(store::StoreError::Database(cut())).context("storing a blob"),
        );
        assert_eq!(status_and_retry_after(via_blobs), unavailable);
    }

    #[test]
    fn other_database_errors_stay_internal() {
        for err in [
            store::StoreError::Database(sqlx::Error::RowNotFound),
            store::StoreError::Rejected("duplicate key".into()),
        ] {
            assert_eq!(
                status_and_retry_after(AppError::from(err)),
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            );
        }
    }
}
