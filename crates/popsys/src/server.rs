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
    /// The server's date: every answer is for this day.
    pub today: Arc<dyn Today>,
    /// The clients allowed to call `/v1/…` (photo studios use their own secrets on their route).
    pub clients: ClientTokens,
    /// Let callers choose the day with `on` (tests and demos only: `idkiosk popsys serve
    /// --allow-caller-dates`); otherwise a request carrying `on` is refused, so no caller can
    /// backdate a receipt or a registration.
    pub caller_dates: bool,
}

impl AppState {
    /// A server over `popsys` on the date `today`, for the `clients`; callers cannot choose the
    /// date.
    pub fn new(
        popsys: Arc<dyn PopulationSystem>,
        today: Arc<dyn Today>,
        clients: ClientTokens,
    ) -> AppState {
        AppState {
            popsys,
            today,
            clients,
            caller_dates: false,
        }
    }
}

/// The clients of the API and their bearer tokens, kept as SHA-256 digests and compared in
/// constant time. `center=TOKEN,staff=TOKEN2`; a token is at least 16 characters.
#[derive(Clone, Default)]
pub struct ClientTokens {
    clients: Arc<Vec<(String, [u8; 32])>>,
}

impl std::fmt::Debug for ClientTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.clients.iter().map(|(name, _)| name))
            .finish()
    }
}

/// The shortest client token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;

fn digest(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

impl ClientTokens {
    /// Clients from `(name, token)` pairs.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> ClientTokens {
        ClientTokens {
            clients: Arc::new(
                pairs
                    .into_iter()
                    .map(|(name, token)| (name.to_owned(), digest(token)))
                    .collect(),
            ),
        }
    }

    /// Parses `name=token,name=token`; an error names the entry at fault (never its token).
    pub fn parse(text: &str) -> Result<ClientTokens, String> {
        let mut pairs = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((name, token)) = entry.split_once('=') else {
                return Err("each client is name=token".into());
            };
            let name = name.trim();
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "client {name:?}: a name is 1-64 characters of A-Z a-z 0-9 - _"
                ));
            }
            if token.chars().count() < MIN_TOKEN_CHARS {
                return Err(format!(
                    "client {name}: a token has at least {MIN_TOKEN_CHARS} characters"
                ));
            }
            if pairs.iter().any(|(other, _): &(&str, &str)| *other == name) {
                return Err(format!("client {name} is listed twice"));
            }
            pairs.push((name, token));
        }
        if pairs.is_empty() {
            return Err("no client: give at least one name=token".into());
        }
        Ok(ClientTokens::new(pairs))
    }

    /// The client whose token `presented` is, if any. Every stored digest is compared, each in
    /// constant time, so the answer's timing does not say how much of a token was right.
    pub fn client(&self, presented: &str) -> Option<&str> {
        let presented = digest(presented);
        let mut found = None;
        for (name, expected) in self.clients.iter() {
            let diff = expected
                .iter()
                .zip(presented.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff == 0 {
                found = Some(name.as_str());
            }
        }
        found
    }

    /// No client configured (every call is refused).
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

/// Refuses a `/v1/…` call without a known client's `Authorization: Bearer TOKEN`: `401` field
/// `authorization`, with `WWW-Authenticate: Bearer`.
async fn require_client(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match presented.and_then(|token| state.clients.client(token)) {
        Some(client) => {
            tracing::debug!(client, "client authenticated");
            next.run(request).await
        }
        None => {
            tracing::warn!(
                path = %mask_path(request.uri().path()),
                "call refused: no or unknown client token"
            );
            let mut response = AppError::Rejected {
                status: StatusCode::UNAUTHORIZED,
                field: "authorization".into(),
                message: "a client of the population system sends Authorization: Bearer TOKEN"
                    .into(),
            }
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"popsys\""),
            );
            response
        }
    }
}

/// The popsys HTTP API. Every `/v1/…` route needs a client token ([`ClientTokens`]) but the
/// photo studios' upload, where each studio authenticates with its own secret; `/health` needs
/// none.
pub fn app(state: AppState) -> Router {
    let clients = Router::new()
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
        .route("/v1/applications/{number}/collected", post(card_collected))
        .route("/v1/cards/{id}/report-lost", post(report_lost))
        .route("/v1/receipts/{code}/resolve", post(resolve_receipt))
        .route("/v1/receipts/{code}/redeem", post(redeem_receipt))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_client,
        ));
    Router::new()
        .route("/health", get(health))
        .route(
            "/v1/studios/{studio}/receipts",
            post(crate::studio::add_receipt),
        )
        .merge(clients)
        .fallback(|| async {
            AppError::NotFound {
                field: "path",
                message: "no such route; see docs/popsys.md".to_owned(),
            }
        })
        .method_not_allowed_fallback(|| async {
            AppError::Rejected {
                status: StatusCode::METHOD_NOT_ALLOWED,
                field: "method".into(),
                message: "this route does not take this method; see docs/popsys.md".into(),
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
    /// 404 with `reason: other_person`: the receipt was made for another citizen.
    ReceiptOfOtherPerson,
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
            AppError::ReceiptOfOtherPerson => (
                StatusCode::NOT_FOUND,
                ErrorJson {
                    error: "this photo receipt was made for another id number".into(),
                    field: Some("code".into()),
                    reason: Some("other_person".into()),
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

/// The day of a request: the server's date. `on` is refused unless the server lets callers
/// choose it ([`AppState::caller_dates`], tests and demos).
pub(crate) fn parse_on(state: &AppState, on: Option<&str>) -> Result<Date, AppError> {
    match on {
        None => Ok(state.today.today()),
        Some(_) if !state.caller_dates => Err(AppError::BadRequest {
            field: "on",
            message: "on: the population system answers for its own date; a caller cannot \
                      choose the day"
                .into(),
            reason: None,
        }),
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
#[serde(deny_unknown_fields)]
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

/// The card of an application was handed over at the window: `204`; `404` for an unknown number,
/// `409` naming the status for one not ready.
async fn card_collected(
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    match state.popsys.card_collected(&number).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(AppError::NotFound {
            field: "number",
            message: "no application with this number".into(),
        }),
        Err(PopsysError::Protocol(why)) => Err(AppError::Rejected {
            status: StatusCode::CONFLICT,
            field: "number".into(),
            message: why,
        }),
        Err(err) => Err(err.into()),
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
            message: "no photo receipt with this code".into(),
        }),
        ReceiptOutcome::OtherPerson => Err(AppError::ReceiptOfOtherPerson),
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
