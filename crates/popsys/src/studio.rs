//! Photo studios (照相馆): the interface through which a studio uploads the certified photo it
//! took of a citizen and gets the receipt code (照片回执) the citizen scans at the kiosk, as real
//! studios do; studio registration; and [`StudioClient`], the client of that interface (what
//! `idkiosk popsys receipt add` and the demo panel's "visit the photo studio" use).
//!
//! `POST /v1/studios/{studio}/receipts` with `Authorization: Bearer SECRET` (`docs/popsys.md`).
//! It is part of the reference population system only, not of the [`crate::PopulationSystem`]
//! seam (the center never uploads photos), so it needs the [`StudioDesk`] on the router:
//! `StudioDesk::new(store).attach(popsys::app(state))`; without it the route answers 404.
//!
//! Invariants:
//! - A studio is authenticated by its own secret, compared by SHA-256 in constant time; an
//!   unknown studio and a wrong secret get the same 401, so the answer never says which studios
//!   exist.
//! - A receipt is made only for a citizen the register holds, with a photo that decodes as a JPEG
//!   within [`MAX_PHOTO_BYTES`] and [`MIN_PHOTO_SIDE`]–[`MAX_PHOTO_SIDE`] pixels; the photo is
//!   sealed by the store's `BlobCipher` like every receipt photo.
//! - Codes are drawn at random (`PS` + the day + 8 digits) and never reused: a code already taken
//!   is drawn again.

use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use base64::Engine;
use domain::id::CitizenId;
use rand::Rng;
use serde::{Deserialize, Serialize};
use store::studios::{secret_sha256, PhotoStudio, StudioReceipt};
use store::{Store, StoreError};
use subtle::ConstantTimeEq;
use time::Date;

use crate::wire::format_date;
use crate::{AppError, AppState, PopsysError, ReceiptCode, RECEIPT_VALID_DAYS};

/// The largest certified photo accepted, in bytes (a GA 461 photo is 20–60 KB).
pub const MAX_PHOTO_BYTES: usize = 1 << 20;
/// The smallest width and height accepted, in pixels (GA 461: 358 × 441).
pub const MIN_PHOTO_SIDE: u16 = 100;
/// The largest width and height accepted, in pixels.
pub const MAX_PHOTO_SIDE: u16 = 4000;
/// The largest request body: the photo in base64 and the rest of the JSON.
const MAX_BODY_BYTES: usize = MAX_PHOTO_BYTES / 3 * 4 + 64 * 1024;
/// Codes drawn before giving up (each collision is one in 10^8 per day).
const CODE_ATTEMPTS: usize = 8;

// ---- the desk: what the route needs besides the app's state -----------------------------------

/// The studio interface's access to the reference database (receipts and studios); attached to
/// the router as an extension by [`StudioDesk::attach`].
#[derive(Debug, Clone)]
pub struct StudioDesk {
    store: Store,
}

impl StudioDesk {
    /// Studio uploads into `store`.
    pub fn new(store: Store) -> StudioDesk {
        StudioDesk { store }
    }

    /// `router` (normally [`crate::app`]) with studio uploads enabled.
    pub fn attach(self, router: Router) -> Router {
        router.layer(Extension(self))
    }
}

// ---- registration -------------------------------------------------------------------------------

/// A new random studio secret: 32 bytes, 64 hex digits.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a studio id: 1–32 characters of `A–Z a–z 0–9 - _`.
pub fn check_studio_id(studio: &str) -> Result<(), String> {
    if studio.is_empty() || studio.len() > 32 {
        return Err(format!("studio id {studio:?} must have 1 to 32 characters"));
    }
    if let Some(bad) = studio
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
    {
        return Err(format!(
            "studio id {studio:?} has {bad:?}; only A-Z a-z 0-9 - _ are allowed"
        ));
    }
    Ok(())
}

/// What to do when the studio id is registered already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfRegistered {
    /// Refuse ([`RegisterError::Exists`]), change nothing.
    Refuse,
    /// Give it the new secret (the old one stops working).
    ReplaceSecret,
}

/// What [`register_studio`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A new studio.
    Added,
    /// A studio that was there, with a new secret.
    SecretReplaced,
}

/// Why a studio was not registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The id is not a studio id.
    #[error("{0}")]
    BadId(String),
    /// The id is taken (and [`IfRegistered::Refuse`] was asked).
    #[error("studio {0} is registered already")]
    Exists(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers the studio `studio` (name `name`) with `secret` (from [`new_secret`]).
pub async fn register_studio(
    store: &Store,
    studio: &str,
    name: &str,
    secret: &str,
    if_registered: IfRegistered,
) -> Result<Registered, RegisterError> {
    check_studio_id(studio).map_err(RegisterError::BadId)?;
    let hash = secret_sha256(secret);
    let created_at = time::OffsetDateTime::now_utc().unix_timestamp();
    let added = store
        .add_photo_studio(&PhotoStudio {
            id: studio.to_owned(),
            name: name.to_owned(),
            secret_sha256: hash.clone(),
            created_at,
        })
        .await?;
    if added {
        return Ok(Registered::Added);
    }
    match if_registered {
        IfRegistered::Refuse => Err(RegisterError::Exists(studio.to_owned())),
        IfRegistered::ReplaceSecret => {
            if store.replace_photo_studio_secret(studio, &hash).await? {
                Ok(Registered::SecretReplaced)
            } else {
                // Removed between the two statements: nothing to replace, say it exists no more.
                Err(RegisterError::BadId(format!("studio {studio} vanished")))
            }
        }
    }
}

// ---- the wire ------------------------------------------------------------------------------------

/// `POST /v1/studios/{studio}/receipts` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadJson {
    /// The citizen photographed.
    pub id_number: String,
    /// The certified photo, a JPEG in standard base64.
    pub photo_jpeg_base64: String,
    /// The day the receipt is made (default: the server's date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

/// `201` answer of `POST /v1/studios/{studio}/receipts`: the new receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudioReceiptJson {
    /// The receipt code the citizen scans at the kiosk.
    pub code: String,
    /// The citizen it is bound to.
    pub id_number: String,
    /// The studio that made it.
    pub studio: String,
    /// Day it was made, `YYYY-MM-DD`.
    pub created_on: String,
    /// Last day it can be used, `YYYY-MM-DD`.
    pub last_valid_day: String,
}

// ---- the route --------------------------------------------------------------------------------------

fn unauthorized(message: &str) -> Response {
    let mut response = AppError::Rejected {
        status: StatusCode::UNAUTHORIZED,
        field: "authorization".into(),
        message: message.to_owned(),
    }
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"popsys studios\""),
    );
    response
}

/// Whether `headers` carry the secret of the registered studio `studio`. Unknown studios are
/// compared against a hash no secret has, so they take as long as a wrong secret.
async fn authenticated(desk: &StudioDesk, studio: &str, secret: &str) -> Result<bool, AppError> {
    let sent = secret_sha256(secret);
    let stored = if check_studio_id(studio).is_ok() {
        desk.store
            .photo_studio(studio)
            .await
            .map_err(PopsysError::from)?
    } else {
        None
    };
    let (expected, known) = match stored {
        Some(studio) => (studio.secret_sha256, true),
        None => (vec![0u8; 32], false),
    };
    Ok(bool::from(sent.ct_eq(&expected)) & known)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn bad(field: &'static str, message: String) -> AppError {
    AppError::BadRequest {
        field,
        message,
        reason: None,
    }
}

fn missing(field: &str, why: &str) -> AppError {
    AppError::Rejected {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        field: field.into(),
        message: format!("{field} is required: {why}"),
    }
}

/// A required string field of the body: 422 naming it when absent or not a string.
fn text_field<'a>(
    body: &'a serde_json::Value,
    field: &str,
    why: &str,
) -> Result<&'a str, AppError> {
    match body.get(field) {
        None | Some(serde_json::Value::Null) => Err(missing(field, why)),
        Some(serde_json::Value::String(text)) => Ok(text),
        Some(_) => Err(AppError::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: field.into(),
            message: format!("{field}: must be a string"),
        }),
    }
}

/// Checks the photo: a JPEG that decodes, of a sane size. The message says what is wrong.
fn check_jpeg(jpeg: &[u8]) -> Result<(u16, u16), String> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err("not a JPEG (it does not start with the JPEG marker FF D8)".into());
    }
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    decoder
        .read_info()
        .map_err(|err| format!("not a decodable JPEG: {err}"))?;
    let info = decoder
        .info()
        .ok_or_else(|| "not a decodable JPEG: no image header".to_owned())?;
    let sides = MIN_PHOTO_SIDE..=MAX_PHOTO_SIDE;
    if !sides.contains(&info.width) || !sides.contains(&info.height) {
        return Err(format!(
            "the photo is {}x{} pixels; width and height must be {MIN_PHOTO_SIDE} to \
             {MAX_PHOTO_SIDE} (GA 461: 358x441)",
            info.width, info.height
        ));
    }
    decoder
        .decode()
        .map_err(|err| format!("not a decodable JPEG: {err}"))?;
    Ok((info.width, info.height))
}

/// A fresh code for a receipt made on `day`: `PS` + `YYYYMMDD` + 8 random digits.
fn draw_code(day: Date) -> ReceiptCode {
    let digits: u32 = rand::thread_rng().gen_range(0..100_000_000);
    let text = format!(
        "PS{:04}{:02}{:02}{digits:08}",
        day.year(),
        u8::from(day.month()),
        day.day()
    );
    // 18 characters of A-Z and 0-9: always a code (a year past 9999 is cut by `Date`).
    ReceiptCode::parse(&text).unwrap_or_else(|err| unreachable!("{text}: {err}"))
}

/// `POST /v1/studios/{studio}/receipts`.
pub(crate) async fn add_receipt(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, AppError> {
    let (mut parts, body) = request.into_parts();
    let Some(desk) = parts.extensions.get::<StudioDesk>().cloned() else {
        return Err(AppError::NotFound {
            field: "path",
            message: "this population system takes no studio uploads".into(),
        });
    };
    let Path(studio) = Path::<String>::from_request_parts(&mut parts, &state)
        .await
        .map_err(|rejection: PathRejection| AppError::from(rejection))?;

    let Some(secret) = bearer(&parts.headers) else {
        return Ok(unauthorized(
            "a studio authenticates with the header Authorization: Bearer SECRET",
        ));
    };
    if !authenticated(&desk, &studio, secret).await? {
        tracing::warn!(%studio, "studio upload refused: unknown studio or wrong secret");
        return Ok(unauthorized("unknown studio or wrong secret"));
    }

    let json_content = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json_content {
        return Err(AppError::Rejected {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            field: "content-type".into(),
            message: "expected content-type: application/json".into(),
        });
    }
    let bytes = axum::body::to_bytes(Body::new(body), MAX_BODY_BYTES)
        .await
        .map_err(|_| AppError::Rejected {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            field: "body".into(),
            message: format!(
                "the body is larger than {MAX_BODY_BYTES} bytes (a photo of at most \
                 {MAX_PHOTO_BYTES} bytes in base64)"
            ),
        })?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|err| bad_body(&err))?;
    if !body.is_object() {
        return Err(AppError::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: "body".into(),
            message: "the body must be a JSON object".into(),
        });
    }

    let created_on = match body.get("on") {
        None | Some(serde_json::Value::Null) => state.today.today(),
        Some(serde_json::Value::String(text)) => crate::server::parse_on(&state, Some(text))?,
        Some(_) => return Err(bad("on", "on: must be a date YYYY-MM-DD".into())),
    };
    let id_text = text_field(&body, "id_number", "the receipt is bound to one citizen")?;
    let id = CitizenId::parse(id_text, created_on).map_err(|err| AppError::BadRequest {
        field: "id_number",
        message: format!("id_number: {}", err.message),
        reason: Some(err.field.as_str()),
    })?;
    let photo_text = text_field(
        &body,
        "photo_jpeg_base64",
        "the certified photo, a JPEG in base64",
    )?;
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(photo_text.trim())
        .map_err(|err| {
            bad(
                "photo_jpeg_base64",
                format!("photo_jpeg_base64: not base64: {err}"),
            )
        })?;
    if jpeg.len() > MAX_PHOTO_BYTES {
        return Err(AppError::Rejected {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            field: "photo_jpeg_base64".into(),
            message: format!(
                "photo_jpeg_base64: the photo has {} bytes; at most {MAX_PHOTO_BYTES}",
                jpeg.len()
            ),
        });
    }
    let (jpeg, checked) = tokio::task::spawn_blocking(move || {
        let checked = check_jpeg(&jpeg);
        (jpeg, checked)
    })
    .await
    .map_err(|err| AppError::Internal {
        unavailable: false,
        cause: format!("checking the photo: {err}"),
    })?;
    checked.map_err(|why| bad("photo_jpeg_base64", format!("photo_jpeg_base64: {why}")))?;

    let store = &desk.store;
    if store
        .citizen(&id)
        .await
        .map_err(PopsysError::from)?
        .is_none()
    {
        return Err(AppError::NotFound {
            field: "id_number",
            message: "no citizen with this id number".into(),
        });
    }
    let uploaded_at = time::OffsetDateTime::now_utc().unix_timestamp();
    for _ in 0..CODE_ATTEMPTS {
        let receipt = StudioReceipt {
            code: draw_code(created_on),
            id: id.clone(),
            studio_id: studio.clone(),
            jpeg: jpeg.clone(),
            created_on,
            uploaded_at,
        };
        if store
            .add_studio_receipt(&receipt)
            .await
            .map_err(PopsysError::from)?
        {
            tracing::info!(%studio, id = %id.masked(), code = %receipt.code, "studio receipt made");
            let last_valid_day = created_on
                .checked_add(time::Duration::days(i64::from(RECEIPT_VALID_DAYS)))
                .unwrap_or(Date::MAX);
            let answer = StudioReceiptJson {
                code: receipt.code.as_str().to_owned(),
                id_number: id.as_str().to_owned(),
                studio,
                created_on: format_date(created_on),
                last_valid_day: format_date(last_valid_day),
            };
            return Ok((StatusCode::CREATED, Json(answer)).into_response());
        }
    }
    Err(AppError::Internal {
        unavailable: true,
        cause: format!("no free receipt code for {created_on} after {CODE_ATTEMPTS} draws"),
    })
}

fn bad_body(err: &serde_json::Error) -> AppError {
    AppError::Rejected {
        status: StatusCode::BAD_REQUEST,
        field: "body".into(),
        message: format!("the body is not JSON: {err}"),
    }
}

// ---- the client ----------------------------------------------------------------------------------

/// A studio's client of `POST /v1/studios/{studio}/receipts`.
#[derive(Debug, Clone)]
pub struct StudioClient {
    base_url: String,
    studio: String,
    secret: String,
    http: reqwest::Client,
}

/// Why an upload did not give a receipt.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No answer (unreachable, timeout).
    #[error("the population system at {url} cannot be reached: {cause}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What went wrong.
        cause: String,
    },
    /// The system refused the upload; its message names the field.
    #[error("the population system refused the upload ({status}{}): {message}", .field.as_deref().map(|f| format!(", field {f}")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The field named in the answer.
        field: Option<String>,
        /// The answer's `error`.
        message: String,
    },
    /// An answer that is not the API's.
    #[error("the population system answered out of protocol: {0}")]
    Protocol(String),
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: Option<String>,
    field: Option<String>,
    request_id: Option<String>,
}

impl StudioClient {
    /// The studio `studio` with its `secret`, at the popsys `base_url` (`http://127.0.0.1:7401`).
    pub fn new(base_url: &str, studio: &str, secret: &str) -> StudioClient {
        StudioClient {
            base_url: base_url.trim_end_matches('/').to_owned(),
            studio: studio.to_owned(),
            secret: secret.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        }
    }

    /// Uploads the certified photo `jpeg` of the citizen `id_number` (sent as given: the system
    /// checks it); the new receipt.
    pub async fn upload(
        &self,
        id_number: &str,
        jpeg: &[u8],
        on: Option<Date>,
    ) -> Result<StudioReceiptJson, UploadError> {
        let url = format!("{}/v1/studios/{}/receipts", self.base_url, self.studio);
        let body = UploadJson {
            id_number: id_number.to_owned(),
            photo_jpeg_base64: base64::engine::general_purpose::STANDARD.encode(jpeg),
            on: on.map(format_date),
        };
        let response = self
            .http
            .post(&url)
            .bearer_auth(&self.secret)
            .json(&body)
            .send()
            .await
            .map_err(|err| UploadError::Unreachable {
                url: url.clone(),
                cause: format!("{err:#}"),
            })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| UploadError::Unreachable {
                url: url.clone(),
                cause: format!("reading the answer: {err:#}"),
            })?;
        if status == reqwest::StatusCode::CREATED {
            return serde_json::from_slice(&bytes)
                .map_err(|err| UploadError::Protocol(format!("201 with {err}")));
        }
        let answer: ErrorAnswer = serde_json::from_slice(&bytes).map_err(|_| {
            UploadError::Protocol(format!(
                "{status} with a body that is not the API's error: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ))
        })?;
        let mut message = answer.error.unwrap_or_else(|| "no reason given".into());
        if let Some(request_id) = answer.request_id {
            message.push_str(&format!(" (request id {request_id})"));
        }
        Err(UploadError::Refused {
            status: status.as_u16(),
            field: answer.field,
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn studio_ids() {
        assert!(check_studio_id("S001").is_ok());
        assert!(check_studio_id("demo-studio_1").is_ok());
        assert!(check_studio_id("").is_err());
        assert!(check_studio_id(&"S".repeat(33)).is_err());
        assert!(check_studio_id("S 001").is_err());
        assert!(check_studio_id("照相馆").is_err());
    }

    #[test]
    fn codes_are_receipt_codes_of_the_day() {
        let code = draw_code(time::macros::date!(2026 - 11 - 25));
        assert_eq!(code.as_str().len(), 18);
        assert!(code.as_str().starts_with("PS20261125"), "{code}");
    }

    #[test]
    fn secrets_are_random_hex() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn bearer_tokens() {
        let headers = |value: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            map
        };
        assert_eq!(bearer(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&headers("bearer abc ")), Some("abc"));
        assert_eq!(bearer(&headers("Basic abc")), None);
        assert_eq!(bearer(&headers("Bearer ")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn photos_must_be_jpegs_of_a_sane_size() {
        let jpeg = |w: u16, h: u16| {
            let mut out = Vec::new();
            jpeg_encoder::Encoder::new(&mut out, 80)
                .encode(
                    &vec![128u8; usize::from(w) * usize::from(h) * 3],
                    w,
                    h,
                    jpeg_encoder::ColorType::Rgb,
                )
                .unwrap();
            out
        };
        assert_eq!(check_jpeg(&jpeg(358, 441)), Ok((358, 441)));
        assert!(check_jpeg(&jpeg(50, 441)).unwrap_err().contains("50x441"));
        assert!(check_jpeg(b"GIF89a").unwrap_err().contains("FF D8"));
        let mut cut = jpeg(358, 441);
        cut.truncate(cut.len() / 2);
        assert!(check_jpeg(&cut).is_err(), "a truncated JPEG");
    }
}
