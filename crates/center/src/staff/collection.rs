//! Collection at the window (issue 17 item 4, docs/staff.md "Collection at the window"): the clerk
//! scans or types the certificate's application number, sees the applicant's photos, confirms the
//! person (the face engine compares a photo taken at the window with the application's live photo,
//! or the clerk confirms by eye) and marks the card collected, by the applicant or a proxy.
//!
//! Invariants:
//! - Only a `ready` application is handed over; any other state is refused (409) naming it, and
//!   nothing is written. The move is `store::Store::advance_application` (compare-and-set, its
//!   audit entry in the same transaction), so two clerks cannot both hand over one card.
//! - What the hand-over recorded (method, face score and threshold, collector, the proxy's masked
//!   ID number and masked name) is the move's reason, kept with the transition and in the audit
//!   entry; no full ID number and no full name is written there.
//! - A face comparison at or below step 7's live bar (`crate::steps::face_thresholds`: the fleet
//!   configuration's, else the bureau's `face.live`, 60) refuses the hand-over.

use std::collections::HashMap;

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use domain::id::CitizenId;
use domain::journey::{ApplicationState, Collector, IdentityCheck};
use domain::mask::mask_name;
use serde::Deserialize;
use store::journey::{Advance, Handover as StoredHandover};
use store::sessions::ApplicationRecord;
use store::StoreError;

use super::html::{self, render};
use super::{audit, Role, StaffError, StaffSession};
use crate::AppState;

/// The largest hand-over form: a photo from the window's camera (the guard reads the body whole
/// to find its CSRF token, so this route, and only this one, takes more than a plain form).
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// The path of the hand-over form's POST (the guard gives it [`MAX_UPLOAD_BYTES`]).
pub const COLLECT_PATH: &str = "/staff/collection/{no}";

/// A certificate's application number: its barcode, 18 digits.
fn is_application_no(text: &str) -> bool {
    text.len() == 18 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The scan form.
#[derive(Template)]
#[template(path = "staff/collection.html")]
struct ScanPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    error: Option<&'a str>,
    no: &'a str,
}

/// One application at the window.
#[derive(Template)]
#[template(path = "staff/collection_application.html")]
struct CollectionPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    csrf: &'a str,
    no: &'a str,
    masked_id: String,
    masked_name: String,
    state_zh: &'static str,
    state: &'static str,
    ready: bool,
    /// The last move's reason when collected (what the hand-over recorded).
    collected: Option<String>,
    threshold: String,
}

/// The scan form's query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScanQuery {
    no: String,
}

/// `GET /staff/collection[?no=…]`: the scan form; with a number, on to its page.
pub async fn scan(staff: StaffSession, Query(query): Query<ScanQuery>) -> Response {
    let no = query.no.trim();
    if is_application_no(no) {
        return Redirect::to(&format!("/staff/collection/{no}")).into_response();
    }
    let error = (!no.is_empty()).then_some(
        "受理编号为 18 位数字 The application number (no) is 18 digits: scan the certificate's barcode",
    );
    let page = ScanPage {
        title: "领证 Collection",
        staff: Some(&staff),
        error,
        no,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match render(&page) {
        Ok(body) => (status, body).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn find(state: &AppState, no: &str) -> Result<ApplicationRecord, StaffError> {
    if !is_application_no(no) {
        return Err(StaffError::BadRequest(
            "no: the application number is 18 digits".into(),
        ));
    }
    state
        .store
        .application(no)
        .await?
        .ok_or_else(|| StaffError::NotFound(format!("no application {no}")))
}

async fn current_state(state: &AppState, no: &str) -> Result<ApplicationState, StaffError> {
    state
        .store
        .application_state(no)
        .await?
        .ok_or_else(|| StaffError::NotFound(format!("no application {no}")))
}

/// `GET /staff/collection/{no}`: the masked applicant, the journey state, the photos and, when
/// ready, the hand-over form. Audited `view_collection` (the photos by their own route).
pub async fn application(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(no): Path<String>,
) -> Result<Html<String>, StaffError> {
    let app = find(&state, &no).await?;
    let journey = current_state(&state, &no).await?;
    audit(
        &state,
        &staff,
        "view_collection",
        &no,
        &app.id_number.masked(),
    )
    .await?;
    let collected = if journey == ApplicationState::Collected {
        state
            .store
            .application_transitions(&no)
            .await?
            .into_iter()
            .rev()
            .find(|t| t.to == ApplicationState::Collected)
            .map(|t| {
                format!(
                    "{} · {} · {}",
                    html::time(t.at),
                    t.actor,
                    t.reason.unwrap_or_default()
                )
            })
    } else {
        None
    };
    render(&CollectionPage {
        title: "领证 Collection",
        staff: Some(&staff),
        csrf: &staff.csrf,
        no: &no,
        masked_id: app.id_number.masked(),
        masked_name: mask_name(&app.name),
        state_zh: journey.label_zh(),
        state: journey.as_str(),
        ready: journey == ApplicationState::Ready,
        collected,
        threshold: format!("{:.0}", crate::steps::face_thresholds(&state).await?.live),
    })
}

/// A refusal page with its own status (409 for a state, 422 for a failed face comparison).
fn refusal(status: StatusCode, message: &str) -> Response {
    refusal_titled(status, "不能领取 Cannot collect", message)
}

/// A refusal page with its own status and title (the journey's other moves use it too).
pub(super) fn refusal_titled(status: StatusCode, title: &str, message: &str) -> Response {
    let page = html::ErrorPage {
        title,
        staff: None,
        message,
    };
    match render(&page) {
        Ok(body) => (status, body).into_response(),
        Err(err) => err.into_response(),
    }
}

/// The refusal of a state that is not `ready`.
fn not_ready(from: ApplicationState) -> Response {
    refusal(
        StatusCode::CONFLICT,
        &format!(
            "该申请当前状态为\u{201c}{}\u{201d}，不能领取 / The application is {}; it cannot be collected",
            from.label_zh(),
            from.as_str()
        ),
    )
}

/// How the clerk confirmed the person.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    /// The face engine compared a photo taken at the window with the live photo.
    Face,
    /// The clerk compared the person with the photos.
    ByEye,
}

/// The hand-over form, checked.
#[derive(Debug)]
struct Handover {
    check: Check,
    photo: Option<Vec<u8>>,
    collector: Collector,
}

/// The form's fields: text fields by name and the `photo` file.
#[derive(Debug, Default)]
struct Fields {
    text: HashMap<String, String>,
    photo: Option<Vec<u8>>,
}

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.text.get(name).map(|v| v.trim()).unwrap_or("")
    }
}

/// The parts of a `multipart/form-data` body (RFC 7578) as `(name, is a file, bytes)`, parsed
/// by multer (the parser behind axum's `Multipart`); `None` when the body is not multipart. The
/// console's guard has already read the whole body (CSRF comes first), hence one chunk.
async fn multipart_parts(
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Result<Vec<(String, bool, Vec<u8>)>, multer::Error>> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let boundary = multer::parse_boundary(content_type).ok()?;
    let chunk = axum::body::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(chunk) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Some(Ok(parts)),
            Err(err) => return Some(Err(err)),
        };
        let name = field.name().map(str::to_owned);
        let file = field.file_name().is_some();
        match field.bytes().await {
            Ok(bytes) => {
                if let Some(name) = name {
                    parts.push((name, file, bytes.to_vec()));
                }
            }
            Err(err) => return Some(Err(err)),
        }
    }
}

/// The `csrf` field of a multipart body (for the console's guard); `None` if the body is not
/// multipart, empty when it has no such field or does not parse.
pub(super) async fn multipart_csrf(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let parts = multipart_parts(headers, body).await?;
    Some(
        parts
            .unwrap_or_default()
            .into_iter()
            .find(|(name, file, _)| name == "csrf" && !file)
            .map(|(_, _, bytes)| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default(),
    )
}

/// The form's fields, multipart (the page's form, with its photo) or URL-encoded (no photo).
async fn fields(headers: &HeaderMap, body: &[u8]) -> Result<Fields, StaffError> {
    let mut fields = Fields::default();
    if let Some(parts) = multipart_parts(headers, body).await {
        let parts = parts
            .map_err(|err| StaffError::BadRequest(format!("the form does not parse: {err}")))?;
        for (name, file, bytes) in parts {
            if name == "photo" && file {
                fields.photo = (!bytes.is_empty()).then_some(bytes);
            } else {
                fields
                    .text
                    .insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    } else {
        fields.text = serde_urlencoded::from_bytes(body)
            .map_err(|err| StaffError::BadRequest(format!("the form does not parse: {err}")))?;
    }
    Ok(fields)
}

/// Checks the form: every refusal names its field.
fn handover(fields: Fields, today: time::Date) -> Result<Handover, StaffError> {
    let check = match fields.get("method") {
        "face" => Check::Face,
        "by_eye" => Check::ByEye,
        "" => {
            return Err(StaffError::BadRequest(
                "method: choose face or by_eye 请选择核验方式".into(),
            ))
        }
        other => {
            return Err(StaffError::BadRequest(format!(
                "method: {other:?} is not face or by_eye"
            )))
        }
    };
    if check == Check::Face && fields.photo.is_none() {
        return Err(StaffError::BadRequest(
            "photo: take a photo at the window for the face comparison 请拍摄现场照片".into(),
        ));
    }
    if check == Check::ByEye && fields.get("confirmed") != "yes" {
        return Err(StaffError::BadRequest(
            "confirmed: tick \"I compared the person with the photos\" 请确认已人工核对".into(),
        ));
    }
    let collector = match fields.get("collector") {
        "applicant" => Collector::Applicant,
        "proxy" => {
            let id = fields.get("proxy_id");
            if id.is_empty() {
                return Err(StaffError::BadRequest(
                    "proxy_id: a proxy's ID number is required 请填写代领人身份号码".into(),
                ));
            }
            let id = CitizenId::parse(id, today)
                .map_err(|err| StaffError::BadRequest(format!("proxy_id: {err}")))?;
            let name = fields.get("proxy_name");
            if name.is_empty() || name.chars().count() > 50 {
                return Err(StaffError::BadRequest(
                    "proxy_name: a proxy's name is required (at most 50 characters) 请填写代领人姓名"
                        .into(),
                ));
            }
            Collector::Proxy {
                id,
                name: name.to_owned(),
            }
        }
        "" => {
            return Err(StaffError::BadRequest(
                "collector: applicant or proxy 请选择领取人".into(),
            ))
        }
        other => {
            return Err(StaffError::BadRequest(format!(
                "collector: {other:?} is not applicant or proxy"
            )))
        }
    };
    Ok(Handover {
        check,
        photo: fields.photo,
        collector,
    })
}

/// `POST /staff/collection/{no}`: confirms the person and marks the card collected.
pub async fn collect(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(no): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, StaffError> {
    let body: Bytes = axum::body::to_bytes(body, MAX_UPLOAD_BYTES)
        .await
        .map_err(|_| StaffError::BadRequest("photo: the form is too large".into()))?;
    let app = find(&state, &no).await?;
    let journey = current_state(&state, &no).await?;
    if journey != ApplicationState::Ready {
        return Ok(not_ready(journey));
    }
    let handover = handover(fields(&headers, &body).await?, state.today.today())?;
    if matches!(&handover.collector, Collector::Proxy { id, .. } if *id == app.id_number) {
        return Err(StaffError::BadRequest(
            "proxy_id: this is the applicant's own ID number; choose the applicant as collector \
             代领人身份号码与申请人相同，请选择本人领取"
                .into(),
        ));
    }
    let (check, method) = match (&handover.check, handover.photo) {
        (Check::ByEye, _) => (IdentityCheck::ByEye, "method=by_eye".to_owned()),
        (Check::Face, None) => {
            return Err(StaffError::BadRequest(
                "photo: take a photo at the window".into(),
            ))
        }
        (Check::Face, Some(photo)) => {
            let threshold = crate::steps::face_thresholds(&state).await?.live;
            let score = compare(&state, &app, photo).await?;
            let detail = format!(
                "method=face score={score:.1} threshold={threshold:.1} engine={}",
                state
                    .face
                    .as_ref()
                    .map(|engine| engine.name().to_owned())
                    .unwrap_or_default()
            );
            if score <= threshold {
                audit(&state, &staff, "collection_face_refused", &no, &detail).await?;
                return Ok(refusal(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!(
                        "人像比对未通过（相似度 {score:.1}，须高于 {threshold:.0}），未领取 \
                         The face comparison did not pass (score {score:.1}, must be above \
                         {threshold:.0}): the card was not handed over"
                    ),
                ));
            }
            (IdentityCheck::Face { score }, detail)
        }
    };
    let collector = match &handover.collector {
        Collector::Applicant => "collector=applicant".to_owned(),
        Collector::Proxy { id, name } => format!(
            "collector=proxy proxy_id={} proxy_name={}",
            id.masked(),
            mask_name(name)
        ),
    };
    let advance = Advance {
        application_no: no.clone(),
        to: ApplicationState::Collected,
        actor: staff.username.clone(),
        role: staff.role.as_str().to_owned(),
        reason: Some(format!("{method}; {collector}")),
        at: state.now(),
        notice: None,
    };
    let handover = StoredHandover {
        check,
        collector: handover.collector,
    };
    match state.store.collect_card(&advance, &handover).await {
        Ok(_) => {
            tracing::info!(application = %no, clerk = %staff.username, "card collected");
            // The population system records the hand-over too, so the citizen's next application
            // is not "in progress" there. Best effort: the card is handed over either way.
            match state.population.card_collected(&no).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    application = %no,
                    "the population system does not know the collected application"
                ),
                Err(err) => tracing::warn!(
                    application = %no,
                    error = %err,
                    "the population system was not told of the collection"
                ),
            }
            Ok(Redirect::to(&format!("/staff/collection/{no}")).into_response())
        }
        Err(StoreError::Transition(refused)) => Ok(not_ready(refused.from)),
        Err(StoreError::UnknownApplication(no)) => {
            Err(StaffError::NotFound(format!("no application {no}")))
        }
        Err(err) => Err(err.into()),
    }
}

/// The window photo against the application's live photo (step 7's engine); the score.
async fn compare(
    state: &AppState,
    app: &ApplicationRecord,
    photo: Vec<u8>,
) -> Result<f64, StaffError> {
    let engine = state.face.clone().ok_or_else(|| {
        StaffError::BadRequest(
            "method: no face engine is loaded at this center; confirm by eye".into(),
        )
    })?;
    let live = state
        .blobs
        .get(&app.session_id, "live_photo")
        .await
        .map_err(StaffError::Internal)?
        .ok_or_else(|| {
            StaffError::BadRequest(
                "method: the application has no live photo to compare with; confirm by eye".into(),
            )
        })?;
    let limits = face::DecodeLimits::default();
    let window = face::Picture::from_bytes("window_photo", &photo, &limits)
        .map_err(|err| StaffError::BadRequest(format!("photo: {err}")))?;
    let live = face::Picture::from_bytes("live_photo", &live, &limits)
        .map_err(|err| StaffError::Internal(anyhow::anyhow!("the stored live photo: {err}")))?;
    let comparison = tokio::task::spawn_blocking(move || engine.compare_pictures(&window, &live))
        .await
        .map_err(|err| StaffError::Internal(err.into()))?;
    match comparison {
        Ok(comparison) => Ok(comparison.similarity),
        Err(err) if err.picture() == Some("window_photo") => {
            Err(StaffError::BadRequest(format!("photo: {err}")))
        }
        Err(err) => Err(StaffError::Internal(anyhow::anyhow!(
            "face comparison: {err}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn multipart_bodies_give_their_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"w.jpg\"\r\n\
Content-Type: image/jpeg\r\n\r\n\xFF\xD8\r\n\xFF\r\n--XyZ--\r\n";
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=XyZ".parse().unwrap(),
        );
        assert_eq!(multipart_csrf(&headers, body).await.as_deref(), Some("abc"));
        let fields = fields(&headers, body).await.unwrap();
        assert_eq!(fields.get("csrf"), "abc");
        assert_eq!(fields.photo.as_deref(), Some(&b"\xFF\xD8\r\n\xFF"[..]));
        let form = HeaderMap::new();
        assert_eq!(multipart_csrf(&form, b"csrf=abc").await, None);
        // A body cut short is refused, not read as the fields it has so far.
        assert!(fields_err(&headers, &body[..40]).await);
    }

    async fn fields_err(headers: &HeaderMap, body: &[u8]) -> bool {
        super::fields(headers, body).await.is_err()
    }

    #[test]
    fn application_numbers_are_18_digits() {
        assert!(is_application_no("320100202611250001"));
        assert!(!is_application_no("32010020261125000"));
        assert!(!is_application_no("32010020261125000X"));
    }
}
