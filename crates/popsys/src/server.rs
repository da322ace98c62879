//! The popsys HTTP service: [`app`] builds the router over any [`PopulationSystem`]; [`serve`]
//! runs it until a shutdown signal. Routes and answers are documented in `docs/popsys.md`.
//!
//! Every client error is `{"error": "...", "field": "..."}` naming the field and why (extractor
//! rejections too); an internal error answers "something went wrong" with a request id and logs
//! the cause under that id. Logs carry masked ID numbers only, never names.

use std::future::Future;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::id::CitizenId;
use domain::region::KioskCity;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use time::Date;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::wire::{
    format_date, parse_date, CardStatusJson, CitizenJson, ErrorJson, ReceiptJson, ReceiptRequest,
    ReportLostJson, ResidenceJson, SubmissionAnswerJson, SubmissionJson, SubmissionViewJson,
};
use crate::{PopsysError, PopulationSystem, ReceiptCode, ReceiptOutcome, SubmissionOutcome};

/// The calendar date the server uses when a request does not give one.
pub trait Today: Send + Sync {
    /// Today's date (Asia/Shanghai).
    fn today(&self) -> Date;
}

impl<F: Fn() -> Date + Send + Sync> Today for F {
    fn today(&self) -> Date {
        self()
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The records served.
    pub popsys: Arc<dyn PopulationSystem>,
    /// The default for `on`.
    pub today: Arc<dyn Today>,
}

/// The popsys HTTP API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/citizens/{id}", get(citizen))
        .route("/v1/citizens/{id}/history-photo", get(history_photo))
        .route("/v1/registers/local/citizens/{id}", get(local_resident))
        .route(
            "/v1/registers/province/citizens/{id}",
            get(provincial_resident),
        )
        .route("/v1/registers/residence/citizens/{id}", get(residence))
        .route("/v1/applications", post(submit_application))
        .route("/v1/applications/{number}", get(filed_application))
        .route("/v1/cards/{id}/report-lost", post(report_lost))
        .route("/v1/receipts/{code}/resolve", post(resolve_receipt))
        .route("/v1/receipts/{code}/redeem", post(redeem_receipt))
        .route(
            "/v1/studios/{studio}/receipts",
            post(crate::studio::add_receipt),
        )
        .fallback(|| async {
            AppError::NotFound {
                field: "path",
                message: "no such route; see docs/popsys.md".to_owned(),
            }
        })
        .with_state(state)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    tracing::info_span!(
                        "popsys",
                        method = %request.method(),
                        path = %mask_path(request.uri().path()),
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A path for the log: any segment that looks like an ID number (ten or more characters, the
/// first six digits) keeps its first 6 and last 4
/// characters (`320104********0044`), as `CitizenId::masked` does, even when it does not parse.
pub(crate) fn mask_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let length = segment.len();
            if length >= 10
                && segment.is_ascii()
                && segment.bytes().take(6).all(|b| b.is_ascii_digit())
            {
                let stars = "*".repeat(length.saturating_sub(10));
                format!("{}{stars}{}", &segment[..6], &segment[length - 4..])
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

// ---- errors -------------------------------------------------------------------------------

/// Every error answer of the API.
#[derive(Debug)]
pub enum AppError {
    /// 400: a value is malformed.
    BadRequest {
        /// The field, as named in the API.
        field: &'static str,
        /// Why.
        message: String,
        /// For an ID number: which check failed.
        reason: Option<&'static str>,
    },
    /// 404: nothing under this key.
    NotFound {
        /// The field that found nothing.
        field: &'static str,
        /// What was not found.
        message: String,
    },
    /// 409: the receipt was used before.
    ReceiptUsed {
        /// The day it was used.
        used_on: Date,
    },
    /// 410: the receipt expired.
    ReceiptExpired {
        /// Its last valid day.
        last_valid_day: Date,
    },
    /// 409: the population system refuses the application (`reason`: a stable code).
    Refused {
        /// `unknown_citizen`, `application_in_progress`, `number_in_use`.
        reason: String,
        /// Why.
        message: String,
    },
    /// The request could not be read (bad JSON, wrong content type, a missing field).
    Rejected {
        /// The status the rejection calls for (400, 415, 422).
        status: StatusCode,
        /// The field, or `body` / `query` / `path` when the whole part is unreadable.
        field: String,
        /// Why.
        message: String,
    },
    /// 500/503: our fault or a dependency's; the cause is logged, never sent.
    Internal {
        /// Whether a dependency is unavailable (503) rather than a bug (500).
        unavailable: bool,
        /// The cause, for the log.
        cause: String,
    },
}

impl From<PopsysError> for AppError {
    fn from(err: PopsysError) -> AppError {
        AppError::Internal {
            unavailable: matches!(err, PopsysError::Unavailable(_)),
            cause: format!("{:#}", anyhow::Error::new(err)),
        }
    }
}

/// The field named in a serde message such as "missing field `id_number`".
fn field_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_owned())
}

/// The field of a JSON data error: axum reports `…target type: id_number: invalid type…` (the
/// path first), or `missing field `id_number``.
fn json_field(message: &str) -> Option<String> {
    let detail = message
        .split_once("target type: ")
        .map_or(message, |(_, d)| d);
    if let Some((path, _)) = detail.split_once(": ") {
        if !path.is_empty()
            && path
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
            && path.chars().any(char::is_alphanumeric)
        {
            return Some(path.to_owned());
        }
    }
    field_in(detail)
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> AppError {
        let message = rejection.body_text();
        let field = match &rejection {
            JsonRejection::JsonDataError(_) => {
                json_field(&message).unwrap_or_else(|| "body".into())
            }
            JsonRejection::MissingJsonContentType(_) => "content-type".into(),
            _ => "body".into(),
        };
        AppError::Rejected {
            status: rejection.status(),
            field,
            message,
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> AppError {
        let message = rejection.body_text();
        AppError::Rejected {
            status: StatusCode::BAD_REQUEST,
            field: field_in(&message).unwrap_or_else(|| "query".into()),
            message,
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> AppError {
        AppError::Rejected {
            status: StatusCode::BAD_REQUEST,
            field: "path".into(),
            message: rejection.body_text(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            AppError::BadRequest {
                field,
                message,
                reason,
            } => (
                StatusCode::BAD_REQUEST,
                ErrorJson {
                    error: message,
                    field: Some(field.into()),
                    reason: reason.map(Into::into),
                    ..ErrorJson::default()
                },
            ),
            AppError::NotFound { field, message } => (
                StatusCode::NOT_FOUND,
                ErrorJson {
                    error: message,
                    field: Some(field.into()),
                    ..ErrorJson::default()
                },
            ),
            AppError::ReceiptUsed { used_on } => (
                StatusCode::CONFLICT,
                ErrorJson {
                    error: format!("this receipt was already used on {}", format_date(used_on)),
                    field: Some("code".into()),
                    used_on: Some(format_date(used_on)),
                    ..ErrorJson::default()
                },
            ),
            AppError::ReceiptExpired { last_valid_day } => (
                StatusCode::GONE,
                ErrorJson {
                    error: format!(
                        "this receipt expired: its last valid day was {}",
                        format_date(last_valid_day)
                    ),
                    field: Some("code".into()),
                    last_valid_day: Some(format_date(last_valid_day)),
                    ..ErrorJson::default()
                },
            ),
            AppError::Refused { reason, message } => (
                StatusCode::CONFLICT,
                ErrorJson {
                    error: message,
                    field: Some("application".into()),
                    reason: Some(reason),
                    ..ErrorJson::default()
                },
            ),
            AppError::Rejected {
                status,
                field,
                message,
            } => (
                status,
                ErrorJson {
                    error: message,
                    field: Some(field),
                    ..ErrorJson::default()
                },
            ),
            AppError::Internal { unavailable, cause } => {
                let request_id = uuid::Uuid::new_v4().to_string();
                tracing::error!(%request_id, %cause, "request failed");
                (
                    if unavailable {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::INTERNAL_SERVER_ERROR
                    },
                    ErrorJson {
                        error: "something went wrong".into(),
                        request_id: Some(request_id),
                        ..ErrorJson::default()
                    },
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

// ---- extractors whose rejections speak the API's error format --------------------------------

struct ApiJson<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

struct ApiQuery<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

struct ApiPath<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

// ---- parsing at the edge ----------------------------------------------------------------------

fn parse_on(state: &AppState, on: Option<&str>) -> Result<Date, AppError> {
    match on {
        None => Ok(state.today.today()),
        Some(text) => parse_date(text).ok_or_else(|| AppError::BadRequest {
            field: "on",
            message: format!("on: {text:?} is not a date of the form YYYY-MM-DD"),
            reason: None,
        }),
    }
}

fn parse_id(field: &'static str, text: &str, today: Date) -> Result<CitizenId, AppError> {
    CitizenId::parse(text, today).map_err(|err| AppError::BadRequest {
        field,
        message: format!("{field}: {}", err.message),
        reason: Some(err.field.as_str()),
    })
}

fn parse_code(text: &str) -> Result<ReceiptCode, AppError> {
    ReceiptCode::parse(text).map_err(|err| AppError::BadRequest {
        field: "code",
        message: format!("code: {err}"),
        reason: None,
    })
}

// ---- handlers ---------------------------------------------------------------------------------

async fn health(State(state): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    state.popsys.ready().await?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

#[derive(Deserialize)]
struct CitizenQuery {
    city: Option<String>,
    on: Option<String>,
}

/// The number, the city and the day of a register query.
fn register_query(
    state: &AppState,
    id: &str,
    query: CitizenQuery,
) -> Result<(CitizenId, KioskCity, Date), AppError> {
    let today = parse_on(state, query.on.as_deref())?;
    let id = parse_id("id", id, today)?;
    let Some(city_text) = query.city else {
        return Err(AppError::BadRequest {
            field: "city",
            message: "city is required: the kiosk's city code (six digits ending in 00), \
                      whose residence registry is checked"
                .into(),
            reason: None,
        });
    };
    let city = KioskCity::parse(&city_text).map_err(|err| AppError::BadRequest {
        field: "city",
        message: format!("city: {err}"),
        reason: None,
    })?;
    Ok((id, city, today))
}

async fn citizen(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<CitizenQuery>,
) -> Result<Json<CitizenJson>, AppError> {
    let (id, city, today) = register_query(&state, &id, query)?;
    record_answer(
        state.popsys.citizen(&id, &city, today).await?,
        &city,
        today,
        "no citizen with this id number",
    )
}

fn record_answer(
    record: Option<crate::CitizenRecord>,
    city: &KioskCity,
    today: Date,
    none: &str,
) -> Result<Json<CitizenJson>, AppError> {
    match record {
        Some(record) => Ok(Json(CitizenJson::from_record(&record, city.code(), today))),
        None => Err(AppError::NotFound {
            field: "id",
            message: none.to_owned(),
        }),
    }
}

/// The city's household register: only citizens whose household is in `city`.
async fn local_resident(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<CitizenQuery>,
) -> Result<Json<CitizenJson>, AppError> {
    let (id, city, today) = register_query(&state, &id, query)?;
    record_answer(
        state.popsys.local_resident(&id, &city, today).await?,
        &city,
        today,
        "no household registration with this id number in this city",
    )
}

/// The provincial population system: citizens whose household is in `city`'s province.
async fn provincial_resident(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<CitizenQuery>,
) -> Result<Json<CitizenJson>, AppError> {
    let (id, city, today) = register_query(&state, &id, query)?;
    record_answer(
        state.popsys.provincial_resident(&id, &city, today).await?,
        &city,
        today,
        "no household registration with this id number in this province",
    )
}

/// The city's floating-population (residence) registry.
async fn residence(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<CitizenQuery>,
) -> Result<Json<ResidenceJson>, AppError> {
    let (id, city, today) = register_query(&state, &id, query)?;
    match state
        .popsys
        .residence_registration(&id, &city, today)
        .await?
    {
        Some(entry) => Ok(Json(ResidenceJson {
            city: city.code().to_owned(),
            id_masked: id.masked(),
            valid_until: format_date(entry.valid_until),
            on: format_date(today),
            in_force: entry.in_force,
        })),
        None => Err(AppError::NotFound {
            field: "id",
            message: "no residence registration with this id number in this city".into(),
        }),
    }
}

/// Files an application: 201 when new, 200 with the first answer for a repeated key, 409 with
/// a reason code when refused.
async fn submit_application(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SubmissionJson>,
) -> Result<Response, AppError> {
    let today = parse_on(&state, body.on.as_deref())?;
    let submission =
        body.into_submission(today)
            .map_err(|(field, message)| AppError::Rejected {
                status: StatusCode::BAD_REQUEST,
                field,
                message,
            })?;
    match state.popsys.submit_application(&submission, today).await? {
        SubmissionOutcome::Accepted {
            application_number,
            received_on,
            created,
        } => {
            if created {
                tracing::info!(
                    id = %submission.id.masked(),
                    application = application_number,
                    "application filed"
                );
            }
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((
                status,
                Json(SubmissionAnswerJson {
                    application_number,
                    received_on: format_date(received_on),
                    created,
                }),
            )
                .into_response())
        }
        SubmissionOutcome::Refused { reason, message } => {
            tracing::info!(id = %submission.id.masked(), reason, "application refused");
            Err(AppError::Refused { reason, message })
        }
    }
}

async fn filed_application(
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
) -> Result<Json<SubmissionViewJson>, AppError> {
    match state.popsys.filed_application(&number).await? {
        Some(filed) => Ok(Json(SubmissionViewJson::from_filed(&filed))),
        None => Err(AppError::NotFound {
            field: "number",
            message: "no application with this number".into(),
        }),
    }
}

/// Reports a card lost (挂失): its status becomes `reported_lost`.
async fn report_lost(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReportLostJson>,
) -> Result<Json<CardStatusJson>, AppError> {
    let today = parse_on(&state, body.on.as_deref())?;
    let id = parse_id("id", &id, today)?;
    if body.application_number.len() != 18
        || !body.application_number.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(AppError::BadRequest {
            field: "application_number",
            message: "application_number: must be 18 digits".into(),
            reason: None,
        });
    }
    match state
        .popsys
        .report_card_lost(&id, &body.application_number, today)
        .await?
    {
        Some(report) => {
            tracing::info!(id = %id.masked(), "card reported lost");
            Ok(Json(CardStatusJson {
                id_masked: id.masked(),
                status: report.card_status.map(|status| status.as_str().to_owned()),
                reported_lost_on: Some(format_date(report.reported_on)),
            }))
        }
        None => Err(AppError::NotFound {
            field: "id",
            message: "no citizen with this id number".into(),
        }),
    }
}

async fn history_photo(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, AppError> {
    let id = parse_id("id", &id, state.today.today())?;
    let Some(photo) = state.popsys.history_photo(&id).await? else {
        return Err(AppError::NotFound {
            field: "id",
            message: "no historical photo for this id number".into(),
        });
    };
    let taken_on =
        HeaderValue::from_str(&format_date(photo.taken_on)).map_err(|err| AppError::Internal {
            unavailable: false,
            cause: err.to_string(),
        })?;
    Ok(match photo.jpeg {
        Some(jpeg) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                (
                    header::HeaderName::from_static("x-photo-taken-on"),
                    taken_on,
                ),
            ],
            jpeg,
        )
            .into_response(),
        // On record, image not loaded yet.
        None => (
            StatusCode::NO_CONTENT,
            [(
                header::HeaderName::from_static("x-photo-taken-on"),
                taken_on,
            )],
        )
            .into_response(),
    })
}

async fn receipt_request(
    state: &AppState,
    code: &str,
    body: ReceiptRequest,
) -> Result<(ReceiptCode, CitizenId, Date), AppError> {
    let code = parse_code(code)?;
    let today = parse_on(state, body.on.as_deref())?;
    let Some(id_text) = body.id_number else {
        return Err(AppError::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: "id_number".into(),
            message: "id_number is required: the receipt is bound to one citizen".into(),
        });
    };
    let id = parse_id("id_number", &id_text, today)?;
    Ok((code, id, today))
}

fn receipt_answer(outcome: ReceiptOutcome) -> Result<Json<ReceiptJson>, AppError> {
    match outcome {
        ReceiptOutcome::Usable(receipt) => Ok(Json(ReceiptJson::from_receipt(&receipt))),
        ReceiptOutcome::NotFound => Err(AppError::NotFound {
            field: "code",
            message: "no photo receipt with this code for this id number".into(),
        }),
        ReceiptOutcome::Expired { last_valid_day } => {
            Err(AppError::ReceiptExpired { last_valid_day })
        }
        ReceiptOutcome::AlreadyUsed { used_on } => Err(AppError::ReceiptUsed { used_on }),
    }
}

async fn resolve_receipt(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<ReceiptRequest>,
) -> Result<Json<ReceiptJson>, AppError> {
    let (code, id, today) = receipt_request(&state, &code, body).await?;
    receipt_answer(state.popsys.resolve_receipt(&code, &id, today).await?)
}

async fn redeem_receipt(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<ReceiptRequest>,
) -> Result<Json<ReceiptJson>, AppError> {
    let (code, id, today) = receipt_request(&state, &code, body).await?;
    let outcome = state.popsys.redeem_receipt(&code, &id, today).await?;
    if matches!(outcome, ReceiptOutcome::Usable(_)) {
        tracing::info!(id = %id.masked(), "receipt redeemed");
    }
    receipt_answer(outcome)
}

#[cfg(test)]
mod tests {
    use super::mask_path;

    #[test]
    fn masks_id_numbers_in_paths() {
        let check = |path: &str, expected: &str| assert_eq!(mask_path(path), expected);
        check(
            "/v1/citizens/320104200012100044",
            "/v1/citizens/320104********0044",
        );
        check(
            "/v1/citizens/32011120110601003X/history-photo",
            "/v1/citizens/320111********003X/history-photo",
        );
        // Malformed numbers are masked too.
        check(
            "/v1/citizens/3201042000121000",
            "/v1/citizens/320104******1000",
        );
        check(
            "/v1/receipts/PS-ABCDEFGH/redeem",
            "/v1/receipts/PS-ABCDEFGH/redeem",
        );
        check(
            "/v1/receipts/PS2026112500001/redeem",
            "/v1/receipts/PS2026112500001/redeem",
        );
        check("/health", "/health");
    }
}
