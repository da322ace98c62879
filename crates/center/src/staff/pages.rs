//! The console's pages. Each handler that shows a citizen's data appends its audit entry before
//! answering (module invariants in `staff/mod.rs`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use domain::id::CitizenId;
use domain::mask::mask_name;
use domain::prompts::Prompt;
use domain::session::{ReferralReason, SessionOutcome};
use serde::Deserialize;
use store::audit::{AuditEntry, Verification};
use store::deliveries::{DeliveryRecord, DeliveryState};
use store::sessions::{ApplicationRecord, FaceScoreRecord, SessionReceipt};
use store::staff::ReferralRow;

use super::html::{self, render};
use super::labels::{self, Label};
use super::{audit, mask_id, Role, StaffError, StaffSession};
use crate::auth::KioskId;
use crate::AppState;

type Page = Result<Html<String>, StaffError>;

/// The images a clerk may open, with their content type and audit action.
pub const IMAGE_KINDS: [(&str, &str, &str); 5] = [
    ("live_photo", "image/jpeg", "view_photo"),
    ("certified_photo", "image/jpeg", "view_photo"),
    ("signature", "image/png", "view_signature"),
    ("fingerprint_image_1", "image/png", "view_fingerprint"),
    ("fingerprint_image_2", "image/png", "view_fingerprint"),
];

/// `GET /staff`.
pub async fn home(staff: StaffSession) -> Page {
    html::render(&html::HomePage {
        title: "工作台 Home",
        staff: Some(&staff),
    })
}

struct Referral {
    step: u8,
    reason: ReferralReason,
}

impl Referral {
    /// The citizen ended the session or walked away: nothing for the window to continue.
    fn abandoned(&self) -> bool {
        matches!(
            self.reason,
            ReferralReason::Cancelled | ReferralReason::Timeout
        )
    }

    /// The step, the reason in words, and what the kiosk showed the citizen.
    fn shown(&self) -> ReferralShown {
        ReferralShown {
            step: labels::step(self.step),
            label: labels::referral_reason(&self.reason),
            prompt: self.reason.prompt(),
        }
    }
}

/// A referral as the pages show it.
struct ReferralShown {
    step: String,
    label: Label,
    prompt: Prompt,
}

fn referral_of(outcome: Option<&str>) -> Option<Referral> {
    match serde_json::from_str(outcome?).ok()? {
        SessionOutcome::Referred { step, reason } => Some(Referral { step, reason }),
        _ => None,
    }
}

/// How many referrals the queue lists.
const QUEUE_LENGTH: usize = 200;

/// `?all=1` of the referral queue: cancellations and timeouts too.
#[derive(Deserialize)]
pub struct QueueQuery {
    all: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/referrals.html")]
struct ReferralsPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    show_all: bool,
    hidden: usize,
    rows: Vec<QueueRow<'a>>,
}

struct QueueRow<'a> {
    ended: String,
    kiosk: &'a str,
    session: &'a str,
    id: String,
    step: String,
    referral: Option<ReferralShown>,
    application: Option<&'a str>,
}

/// `GET /staff/referrals[?all=1]`: sessions the kiosks sent to the window, newest first, without
/// the citizen's own cancellations and inactivity timeouts unless `all` is given. Masked IDs only.
pub async fn referrals(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(query): Query<QueueQuery>,
) -> Page {
    let show_all = query
        .all
        .as_deref()
        .is_some_and(|v| !v.is_empty() && v != "0");
    // Read past the abandoned ones so the filtered queue is still full.
    let sessions = state
        .store
        .referred_sessions(5 * QUEUE_LENGTH as i64)
        .await?;
    let mut hidden = 0;
    let rows = sessions
        .iter()
        .filter(|row| {
            let abandoned = referral_of(row.outcome.as_deref()).is_some_and(|r| r.abandoned());
            hidden += usize::from(abandoned && !show_all);
            show_all || !abandoned
        })
        .take(QUEUE_LENGTH)
        .map(|row| {
            let referral = referral_of(row.outcome.as_deref());
            QueueRow {
                ended: row.ended_at.map(html::time).unwrap_or_default(),
                kiosk: &row.kiosk_id,
                session: &row.session_id,
                id: row.id_number.as_deref().map(mask_id).unwrap_or("-".into()),
                step: referral
                    .as_ref()
                    .map(|r| labels::step(r.step))
                    .unwrap_or_default(),
                referral: referral.as_ref().map(Referral::shown),
                application: row.application_no.as_deref(),
            }
        })
        .collect();
    render(&ReferralsPage {
        title: "转窗口队列 Referral queue",
        staff: Some(&staff),
        show_all,
        hidden,
        rows,
    })
}

#[derive(Template)]
#[template(path = "staff/referral.html")]
struct ReferralPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    row: &'a ReferralRow,
    started: String,
    ended: String,
    id_number: &'a str,
    referral: Option<ReferralShown>,
    receipt: Option<SessionReceipt>,
    face: Option<String>,
}

/// `GET /staff/referrals/{sid}`: one referral with the full ID number (audited).
pub async fn referral(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(sid): Path<String>,
) -> Page {
    let row = state
        .store
        .referred_session(&sid)
        .await?
        .ok_or_else(|| StaffError::NotFound(format!("no referred session {sid}")))?;
    let subject = row
        .application_no
        .clone()
        .or_else(|| row.id_number.as_deref().map(mask_id))
        .unwrap_or_else(|| "-".into());
    audit(
        &state,
        &staff,
        "view_referral",
        &subject,
        &format!("session {sid}"),
    )
    .await?;
    let referral = referral_of(row.outcome.as_deref());
    let receipt = state.store.session_receipt(&sid).await?;
    let scores = state.store.face_scores(&sid).await?;
    render(&ReferralPage {
        title: "转窗口详情 Referral",
        staff: Some(&staff),
        row: &row,
        started: html::time(row.started_at),
        ended: row.ended_at.map(html::time).unwrap_or_default(),
        id_number: row.id_number.as_deref().unwrap_or("-"),
        referral: referral.as_ref().map(Referral::shown),
        receipt,
        face: scores.as_ref().map(face_summary).transpose()?,
    })
}

/// A session's face comparison in one line (`templates/staff/face.html`).
#[derive(Template)]
#[template(path = "staff/face.html")]
struct FaceSummary<'a> {
    s: &'a FaceScoreRecord,
    /// `score (≥ threshold)` of a live face.
    live: Option<String>,
    /// `score (< threshold)`: possibly a print or a screen.
    flagged: Option<String>,
}

/// The face comparison as HTML.
fn face_summary(scores: &FaceScoreRecord) -> Result<String, StaffError> {
    let (live, flagged) = match (scores.liveness_score, scores.liveness_threshold) {
        (Some(score), Some(threshold)) if score >= threshold => {
            (Some(format!("{score:.2} (≥ {threshold:.2})")), None)
        }
        (Some(score), Some(threshold)) => (None, Some(format!("{score:.2} (< {threshold:.2})"))),
        _ => (None, None),
    };
    FaceSummary {
        s: scores,
        live,
        flagged,
    }
    .render()
    .map_err(|err| StaffError::Internal(err.into()))
}

#[derive(Template)]
#[template(path = "staff/search.html")]
struct SearchPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    csrf: &'a str,
    error: Option<&'a str>,
    /// The masked ID number searched for, with its applications.
    masked: Option<String>,
    rows: Vec<AppRow<'a>>,
}

impl<'a> SearchPage<'a> {
    fn new(staff: &'a StaffSession, error: Option<&'a str>) -> SearchPage<'a> {
        SearchPage {
            title: "受理查询 Find an application",
            staff: Some(staff),
            csrf: &staff.csrf,
            error,
            masked: None,
            rows: Vec::new(),
        }
    }
}

/// `GET /staff/applications`: the search form.
pub async fn search_form(staff: StaffSession) -> Page {
    render(&SearchPage::new(&staff, None))
}

/// The search form's fields.
#[derive(Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    q: String,
}

/// `POST /staff/applications/search`: by application number (to its page) or full ID number.
pub async fn search(
    State(state): State<AppState>,
    staff: StaffSession,
    Form(form): Form<SearchForm>,
) -> Result<Response, StaffError> {
    let q = form.q.trim().to_ascii_uppercase();
    let refuse = |message: &str| -> Result<Response, StaffError> {
        let page = render(&SearchPage::new(&staff, Some(message)))?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    if q.chars().count() != 18 {
        return refuse(
            "请输入18位受理编号或完整的18位公民身份号码 Enter an 18-digit application number or \
             a full 18-character ID number",
        );
    }
    if state.store.application(&q).await?.is_some() {
        return Ok(Redirect::to(&format!("/staff/applications/{q}")).into_response());
    }
    let Ok(id) = CitizenId::parse(&q, state.today.today()) else {
        return refuse("没有这个受理编号，也不是有效的身份号码 No such application number, and not a valid ID number");
    };
    let found = state.store.applications_of_citizen(id.as_str()).await?;
    audit(
        &state,
        &staff,
        "search_id",
        &id.masked(),
        &format!("{} applications", found.len()),
    )
    .await?;
    let mut page = SearchPage::new(&staff, None);
    page.masked = Some(id.masked());
    page.rows = found.iter().map(AppRow::of).collect();
    Ok(render(&page)?.into_response())
}

/// An application in a list: masked ID and name, business and status in words.
struct AppRow<'a> {
    no: &'a str,
    id: String,
    name: String,
    business: Label,
    status: Label,
    accepted: time::Date,
    issue_by: time::Date,
}

impl<'a> AppRow<'a> {
    fn of(app: &'a ApplicationRecord) -> AppRow<'a> {
        AppRow {
            no: &app.application_no,
            id: mask_id(app.id_number.as_str()),
            name: mask_name(&app.name),
            business: labels::business(app.business),
            status: labels::application_status(app.status),
            accepted: app.accepted_on,
            issue_by: app.issue_by,
        }
    }
}

async fn find_application(state: &AppState, no: &str) -> Result<ApplicationRecord, StaffError> {
    state
        .store
        .application(no)
        .await?
        .ok_or_else(|| StaffError::NotFound(format!("no application {no}")))
}

#[derive(Template)]
#[template(path = "staff/application.html")]
struct ApplicationPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    csrf: &'a str,
    app: &'a ApplicationRecord,
    /// A lost-card replacement: the page shows whether the old card was reported lost.
    lost: bool,
    business: Label,
    household: Label,
    validity: Label,
    status: Label,
    delivery: Option<&'a DeliveryRecord>,
    delivery_state: &'static str,
    queued_at: String,
    delivered_at: Option<String>,
    /// Shown while a retry is pending.
    next_attempt: Option<String>,
    face: Option<String>,
    /// (kind, label) of each image.
    images: Vec<(&'static str, &'static str)>,
    /// (finger, quality).
    fingers: Vec<(Label, String)>,
    payments: Vec<PaymentRow<'a>>,
    /// (kind, label, what was printed).
    documents: Vec<(String, Label, String)>,
    /// The journey after the kiosk: its state, moves and SMS notices (issue 17).
    journey: crate::journey::JourneyView,
    /// The state allows cancelling: the page shows the cancel form.
    cancellable: bool,
    /// The longest cancel reason, in characters.
    max_reason: usize,
}

struct PaymentRow<'a> {
    attempt: i64,
    method: Label,
    out_trade_no: &'a str,
    amount: String,
    state: Label,
    transaction_id: &'a str,
    paid_at: String,
    void: String,
}

/// `GET /staff/applications/{no}`: the whole record (audited `view_record`).
pub async fn application(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(no): Path<String>,
) -> Page {
    let app = find_application(&state, &no).await?;
    audit(
        &state,
        &staff,
        "view_record",
        &no,
        &mask_id(app.id_number.as_str()),
    )
    .await?;
    let sid = &app.session_id;
    let scores = state.store.face_scores(sid).await?;
    let payments = state.store.payments_of_application(&no).await?;
    let documents = state.store.session_documents(sid).await?;
    let delivery = state.store.delivery(&no).await?;
    let journey = crate::journey::staff_view(&state, &no, html::time).await?;
    let cancellable = state
        .store
        .application_state(&no)
        .await?
        .is_some_and(super::cancel::can_cancel);

    let fingers: Vec<serde_json::Value> = serde_json::from_str(&app.fingers).unwrap_or_default();
    let fingers = fingers
        .iter()
        .map(|finger| {
            (
                labels::finger(finger["position"].as_str().unwrap_or("?")),
                finger["quality"].to_string(),
            )
        })
        .collect();
    let payments = payments
        .iter()
        .map(|p| PaymentRow {
            attempt: p.attempt,
            method: labels::payment_method(p.method),
            out_trade_no: &p.out_trade_no,
            amount: format!("{:.2}", f64::from(p.amount_fen.get()) / 100.0),
            state: labels::payment_state(p.state),
            transaction_id: p.transaction_id.as_deref().unwrap_or_default(),
            paid_at: p.paid_at.map(html::time).unwrap_or_default(),
            void: match (p.void_required, p.voided_at.is_some()) {
                (true, true) => "需退款 void required · 已撤销 voided".into(),
                (true, false) => "需退款 void required".into(),
                (false, _) => String::new(),
            },
        })
        .collect();
    let mut kinds: Vec<String> = documents.iter().map(|d| d.kind.clone()).collect();
    if kinds.is_empty() {
        kinds = crate::paper::DOCUMENT_KINDS
            .iter()
            .map(|k| k.to_string())
            .collect();
    }
    let documents = kinds
        .into_iter()
        .map(|kind| {
            let printed = documents
                .iter()
                .find(|d| d.kind == kind)
                .map(|d| {
                    format!(
                        "{} B · sha256 {}…",
                        d.size,
                        &d.sha256[..12.min(d.sha256.len())]
                    )
                })
                .unwrap_or_else(|| "未打印 not printed".into());
            let label = labels::document(&kind);
            (kind, label, printed)
        })
        .collect();
    let title = format!("受理 Application {no}");
    render(&ApplicationPage {
        title: &title,
        staff: Some(&staff),
        csrf: &staff.csrf,
        app: &app,
        lost: app.business == domain::rules::Business::Lost,
        business: labels::business(app.business),
        household: labels::household(app.household),
        validity: labels::validity(app.validity),
        status: labels::application_status(app.status),
        delivery: delivery.as_ref(),
        delivery_state: labels::delivery(delivery.as_ref()),
        queued_at: delivery
            .as_ref()
            .map(|d| html::time(d.created_at))
            .unwrap_or_default(),
        delivered_at: delivery
            .as_ref()
            .and_then(|d| d.delivered_at)
            .map(html::time),
        next_attempt: delivery
            .as_ref()
            .filter(|d| d.state == DeliveryState::Pending && d.attempts > 0)
            .map(|d| html::time(d.next_attempt_at)),
        face: scores.as_ref().map(face_summary).transpose()?,
        images: IMAGE_KINDS
            .iter()
            .map(|(kind, _, _)| (*kind, labels::image(kind)))
            .collect(),
        fingers,
        payments,
        documents,
        journey,
        cancellable,
        max_reason: super::cancel::MAX_REASON_CHARS,
    })
}

fn private(content_type: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /staff/applications/{no}/images/{kind}`: a photo, the signature or a fingerprint image,
/// decrypted through the center's blob sink (audited).
pub async fn image(
    State(state): State<AppState>,
    staff: StaffSession,
    Path((no, kind)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    let Some((kind, content_type, action)) = IMAGE_KINDS.iter().find(|(k, _, _)| *k == kind) else {
        return Err(StaffError::NotFound(format!("no image kind {kind}")));
    };
    let app = find_application(&state, &no).await?;
    let bytes = if *kind == "certified_photo" {
        state
            .store
            .session_receipt(&app.session_id)
            .await?
            .and_then(|receipt| receipt.photo)
    } else {
        state
            .blobs
            .get(&app.session_id, kind)
            .await
            .map_err(StaffError::Internal)?
    };
    let bytes = bytes.ok_or_else(|| StaffError::NotFound(format!("no {kind} stored")))?;
    audit(&state, &staff, action, &no, kind).await?;
    Ok(private(content_type, bytes))
}

/// `GET /staff/applications/{no}/video`: the session video, MP4, whole or a `Range` of bytes (for
/// the browser's player); every request is audited.
pub async fn video(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(no): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, StaffError> {
    let app = find_application(&state, &no).await?;
    let bytes = state
        .blobs
        .get(&app.session_id, "video")
        .await
        .map_err(StaffError::Internal)?
        .ok_or_else(|| StaffError::NotFound("no video stored".into()))?;
    let total = bytes.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| byte_range(v, total));
    match range {
        Some((start, end)) => {
            audit(
                &state,
                &staff,
                "view_video",
                &no,
                &format!("video bytes={start}-{end}"),
            )
            .await?;
            Ok((
                StatusCode::PARTIAL_CONTENT,
                [
                    (header::CONTENT_TYPE, "video/mp4".to_owned()),
                    (header::ACCEPT_RANGES, "bytes".to_owned()),
                    (
                        header::CONTENT_RANGE,
                        format!("bytes {start}-{end}/{total}"),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
                bytes[start..=end].to_vec(),
            )
                .into_response())
        }
        None => {
            audit(&state, &staff, "view_video", &no, "video").await?;
            let mut response = private("video/mp4", bytes);
            response.headers_mut().insert(
                header::ACCEPT_RANGES,
                header::HeaderValue::from_static("bytes"),
            );
            Ok(response)
        }
    }
}

/// A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range within `total` bytes, inclusive.
fn byte_range(header: &str, total: usize) -> Option<(usize, usize)> {
    let spec = header.strip_prefix("bytes=")?;
    if spec.contains(',') || total == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: usize = n.parse().ok()?;
            (total.saturating_sub(n), total - 1)
        }
        (a, "") => (a.parse().ok()?, total - 1),
        (a, b) => (a.parse().ok()?, b.parse::<usize>().ok()?.min(total - 1)),
    };
    (start <= end && end < total).then_some((start, end))
}

/// `POST /staff/applications/{no}/documents/{kind}`: the PDF rendered again, byte for byte what
/// the kiosk printed (audited `reprint_document`).
pub async fn reprint(
    State(state): State<AppState>,
    staff: StaffSession,
    Path((no, kind)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    if !crate::paper::DOCUMENT_KINDS.contains(&kind.as_str()) {
        return Err(StaffError::NotFound(format!("no document kind {kind}")));
    }
    let app = find_application(&state, &no).await?;
    let mut pdf = crate::paper::document(
        State(state.clone()),
        Extension(KioskId(app.kiosk_id.clone())),
        Path((app.session_id.clone(), kind.clone())),
    )
    .await?;
    audit(&state, &staff, "reprint_document", &no, &kind).await?;
    pdf.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_str(&format!("inline; filename=\"{no}-{kind}.pdf\""))
            .map_err(|err| StaffError::Internal(err.into()))?,
    );
    Ok(pdf)
}

#[derive(Template)]
#[template(path = "staff/today.html")]
struct TodayPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    today: time::Date,
    /// (application, accepted at, delivery, kiosk).
    rows: Vec<(AppRow<'a>, String, &'static str, &'a str)>,
}

/// `GET /staff/today`: the applications accepted today (Asia/Shanghai), for the clerk's office:
/// masked ID and name, business, status and delivery in words, each linking to its record.
pub async fn today(State(state): State<AppState>, staff: StaffSession) -> Page {
    let today = state.today.today();
    let accepted = state.store.applications_accepted_on(today).await?;
    let mut rows = Vec::with_capacity(accepted.len());
    for app in &accepted {
        let delivery = state.store.delivery(&app.application_no).await?;
        rows.push((
            AppRow::of(app),
            html::time(app.created_at),
            labels::delivery(delivery.as_ref()),
            app.kiosk_id.as_str(),
        ));
    }
    render(&TodayPage {
        title: "今日受理 Today's applications",
        staff: Some(&staff),
        today,
        rows,
    })
}

#[derive(Template)]
#[template(path = "staff/deadlines.html")]
struct DeadlinesPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    today: time::Date,
    offices: Vec<DueAtOffice<'a>>,
    undelivered: Vec<UndeliveredRow<'a>>,
}

/// One collection office's applications on the deadlines page.
struct DueAtOffice<'a> {
    code: String,
    name: String,
    /// (row class, application, journey state, days left or overdue).
    due: Vec<(&'static str, AppRow<'a>, Label, String)>,
}

struct UndeliveredRow<'a> {
    no: &'a str,
    refused: bool,
    completed: String,
    attempts: i64,
    last_error: &'a str,
}

/// `GET /staff/deadlines`: applications not yet ready whose issue-by date is within 7 days or
/// past, by the collection office each recorded.
pub async fn deadlines(State(state): State<AppState>, staff: StaffSession) -> Page {
    let today = state.today.today();
    let until = today + time::Duration::days(7);
    let not_ready = state.store.not_ready_due_by(until, 1000).await?;
    fn row<'a>(
        due: &'a store::compliance::NotReady,
        today: time::Date,
    ) -> (&'static str, AppRow<'a>, Label, String) {
        let app = &due.application;
        let journey = labels::journey_state(due.state);
        let days = (app.issue_by - today).whole_days();
        if days < 0 {
            let late = -days;
            let left = format!("已超期 {late} 天 {late} days overdue");
            ("past", AppRow::of(app), journey, left)
        } else {
            let left = format!("剩 {days} 天 {days} days left");
            ("near", AppRow::of(app), journey, left)
        }
    }
    let grouped = super::compliance::by_office(&state.config, not_ready.iter().collect(), |due| {
        due.application.collection_office.as_deref()
    });
    let offices = grouped
        .into_iter()
        .map(|(office, due)| DueAtOffice {
            code: office.code,
            name: office.name,
            due: due.into_iter().map(|due| row(due, today)).collect(),
        })
        .collect();
    // Everything not acknowledged by the population system, oldest first (the fleet view's
    // `undelivered` alert counts those over an hour old and points here).
    let undelivered = state.store.undelivered_since(i64::MAX).await?;
    let undelivered = undelivered
        .iter()
        .map(|delivery| UndeliveredRow {
            no: &delivery.application_no,
            refused: delivery.state == DeliveryState::Rejected,
            completed: html::time(delivery.created_at),
            attempts: delivery.attempts,
            last_error: delivery.last_error.as_deref().unwrap_or_default(),
        })
        .collect();
    render(&DeadlinesPage {
        title: "办证时限 Deadlines",
        staff: Some(&staff),
        today,
        offices,
        undelivered,
    })
}

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD&verify=1` of the audit pages (China Standard Time days).
#[derive(Deserialize)]
pub struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    verify: Option<String>,
}

fn day_start(text: &str) -> Result<i64, StaffError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text, &format)
        .map_err(|_| StaffError::BadRequest(format!("{text:?} is not a YYYY-MM-DD date")))?;
    Ok(day
        .midnight()
        .assume_offset(domain::time_zone::CHINA_STANDARD_TIME)
        .unix_timestamp())
}

impl AuditQuery {
    /// `[from, to)` in unix seconds; `None` for neither bound.
    fn range(&self) -> Result<Option<(i64, i64)>, StaffError> {
        let from = self.from.as_deref().filter(|s| !s.is_empty());
        let to = self.to.as_deref().filter(|s| !s.is_empty());
        if from.is_none() && to.is_none() {
            return Ok(None);
        }
        let start = from.map(day_start).transpose()?.unwrap_or(0);
        let end = to
            .map(|to| day_start(to).map(|t| t + 86_400))
            .transpose()?
            .unwrap_or(i64::MAX);
        Ok(Some((start, end)))
    }
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    chain_intact: Option<u64>,
    /// (entry, why).
    chain_broken: Option<(i64, String)>,
    from: &'a str,
    to: &'a str,
    /// (entry, time, the hash's first 12 characters).
    entries: Vec<(&'a AuditEntry, String, &'a str)>,
}

/// `GET /staff/audit`: the trail (newest first, or a date range), and the chain check on demand.
pub async fn audit_page(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(query): Query<AuditQuery>,
) -> Page {
    let entries = match query.range()? {
        Some((from, to)) => state.store.audit_entries(from, to, 1000).await?,
        None => state.store.latest_audit_entries(200).await?,
    };
    let (chain_intact, chain_broken) = if query.verify.is_some() {
        match super::verify_chain(&state).await? {
            Verification::Intact { entries } => (Some(entries), None),
            Verification::Broken { entry, why } => (None, Some((entry, why))),
        }
    } else {
        (None, None)
    };
    render(&AuditPage {
        title: "审计日志 Audit trail",
        staff: Some(&staff),
        chain_intact,
        chain_broken,
        from: query.from.as_deref().unwrap_or(""),
        to: query.to.as_deref().unwrap_or(""),
        entries: entries
            .iter()
            .map(|e| (e, html::time(e.at), &e.hash[..12.min(e.hash.len())]))
            .collect(),
    })
}

/// `GET /staff/audit/export.csv`: the trail (or a date range) as CSV; the export is audited.
pub async fn audit_export(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(query): Query<AuditQuery>,
) -> Result<Response, StaffError> {
    let (from, to) = query.range()?.unwrap_or((i64::MIN, i64::MAX));
    let entries = state.store.audit_entries(from, to, i64::MAX).await?;
    super::audit(
        &state,
        &staff,
        "export_audit",
        "-",
        &format!("{} entries", entries.len()),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"".to_owned(),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        store::audit::to_csv(&entries),
    )
        .into_response())
}

/// `GET /staff/accounts`: the staff accounts and a form to add one.
pub async fn accounts(State(state): State<AppState>, staff: StaffSession) -> Page {
    accounts_page(&state, &staff, None).await
}

#[derive(Template)]
#[template(path = "staff/accounts.html")]
struct AccountsPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    csrf: &'a str,
    message: Option<&'a str>,
    /// (user, role, state, created).
    users: Vec<(String, &'static str, String, String)>,
    roles: [Role; 3],
}

async fn accounts_page(state: &AppState, staff: &StaffSession, message: Option<&str>) -> Page {
    let now = state.now();
    let users = state.store.staff_users().await?;
    let users = users
        .into_iter()
        .map(|u| {
            let role = u.role.label();
            let state = match u.locked_until {
                Some(until) if until > now => {
                    format!("锁定至 locked until {}", html::time(until))
                }
                _ => "正常 active".into(),
            };
            (u.username, role, state, html::time(u.created_at))
        })
        .collect();
    render(&AccountsPage {
        title: "账号管理 Staff accounts",
        staff: Some(staff),
        csrf: &staff.csrf,
        message,
        users,
        roles: Role::ALL,
    })
}

/// The new-account form.
#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// `POST /staff/accounts`: adds an account (audited `create_staff`).
pub async fn create_account(
    State(state): State<AppState>,
    staff: StaffSession,
    Form(form): Form<AccountForm>,
) -> Result<Response, StaffError> {
    let username = form.username.trim().to_owned();
    let Some(role) = Role::parse(&form.role) else {
        return Ok(accounts_page(&state, &staff, Some("unknown role"))
            .await?
            .into_response());
    };
    if let Err(why) = super::check_new_account(&username, &form.password) {
        return Ok(accounts_page(&state, &staff, Some(&why))
            .await?
            .into_response());
    }
    let password = form.password.clone();
    let phc = tokio::task::spawn_blocking(move || super::hash_password(&password))
        .await
        .map_err(|err| StaffError::Internal(err.into()))?
        .map_err(StaffError::Internal)?;
    match state
        .store
        .create_staff_user(&username, role, &phc, state.now())
        .await
    {
        Ok(()) => {}
        Err(store::StoreError::Rejected(_)) => {
            return Ok(
                accounts_page(&state, &staff, Some("该用户名已存在 That user name exists"))
                    .await?
                    .into_response(),
            )
        }
        Err(err) => return Err(err.into()),
    }
    super::audit(
        &state,
        &staff,
        "create_staff",
        "-",
        &format!("{username} {}", role.as_str()),
    )
    .await?;
    Ok(Redirect::to("/staff/accounts").into_response())
}

#[cfg(test)]
mod tests {
    use super::{byte_range, face_summary};

    #[test]
    fn the_clerk_sees_a_low_liveness_score_flagged() {
        let mut scores = store::sessions::FaceScoreRecord {
            session_id: "s".into(),
            certified_vs_history: 99.0,
            live_vs_history: 90.0,
            certified_distance: 0.2,
            live_distance: 0.4,
            certified_threshold: 95.0,
            live_threshold: 60.0,
            passed: true,
            engine: "dlib-resnet-v1".into(),
            engine_version: "v".into(),
            liveness_score: Some(0.97),
            liveness_threshold: Some(0.5),
            liveness_engine: Some("minifasnet".into()),
        };
        let live = face_summary(&scores).unwrap();
        assert!(live.contains("活体 liveness 0.97 (≥ 0.50)"), "{live}");
        assert!(!live.contains("liveness-flag"), "{live}");
        scores.liveness_score = Some(0.13);
        let print = face_summary(&scores).unwrap();
        assert!(print.contains("data-testid=liveness-flag"), "{print}");
        assert!(print.contains("possibly a print or a screen"), "{print}");
        scores.liveness_score = None;
        assert!(face_summary(&scores).unwrap().contains("not checked"));
    }

    #[test]
    fn byte_ranges() {
        assert_eq!(byte_range("bytes=0-", 10), Some((0, 9)));
        assert_eq!(byte_range("bytes=2-4", 10), Some((2, 4)));
        assert_eq!(byte_range("bytes=2-40", 10), Some((2, 9)));
        assert_eq!(byte_range("bytes=-3", 10), Some((7, 9)));
        assert_eq!(byte_range("bytes=10-", 10), None);
        assert_eq!(byte_range("bytes=0-1,3-4", 10), None);
        assert_eq!(byte_range("items=0-1", 10), None);
    }
}
