//! The console's pages. Each handler that shows a citizen's data appends its audit entry before
//! answering (module invariants in `staff/mod.rs`).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use domain::id::CitizenId;
use domain::mask::mask_name;
use domain::session::{ReferralReason, SessionOutcome};
use serde::Deserialize;
use store::audit::Verification;
use store::deliveries::{DeliveryRecord, DeliveryState};
use store::sessions::ApplicationRecord;

use super::html::{self, esc};
use super::{audit, labels, mask_id, Role, StaffError, StaffSession};
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

    /// The reason in words, then what the kiosk showed the citizen.
    fn reason_and_prompt(&self) -> String {
        let prompt = self.reason.prompt();
        format!(
            "<strong>{}</strong><br><small>自助机提示 Kiosk message: {}<br>{}</small>",
            labels::referral_reason(&self.reason),
            esc(prompt.zh),
            esc(prompt.en)
        )
    }
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
    let rows = state
        .store
        .referred_sessions(5 * QUEUE_LENGTH as i64)
        .await?;
    let mut hidden = 0;
    let rows: Vec<(String, Vec<String>)> = rows
        .iter()
        .filter(|row| {
            let abandoned = referral_of(row.outcome.as_deref()).is_some_and(|r| r.abandoned());
            hidden += usize::from(abandoned && !show_all);
            show_all || !abandoned
        })
        .take(QUEUE_LENGTH)
        .map(|row| {
            let referral = referral_of(row.outcome.as_deref());
            (
                String::new(),
                vec![
                    row.ended_at.map(html::time).unwrap_or_default(),
                    esc(&row.kiosk_id),
                    format!(
                        "<a href=\"/staff/referrals/{0}\">{0}</a>",
                        esc(&row.session_id)
                    ),
                    row.id_number.as_deref().map(mask_id).unwrap_or("-".into()),
                    referral
                        .as_ref()
                        .map(|r| labels::step(r.step))
                        .unwrap_or_default(),
                    referral
                        .as_ref()
                        .map(Referral::reason_and_prompt)
                        .unwrap_or_default(),
                    row.application_no
                        .as_deref()
                        .map(|no| format!("<a href=\"/staff/applications/{0}\">{0}</a>", esc(no)))
                        .unwrap_or("-".into()),
                ],
            )
        })
        .collect();
    let filter = if show_all {
        "<p id=\"queue-filter\">显示全部，包括群众取消和超时 Showing everything, cancellations and \
         timeouts included · <a href=\"/staff/referrals\">只看需处理的 Only those to act on</a></p>"
            .to_owned()
    } else {
        format!(
            "<p id=\"queue-filter\">已隐藏 {hidden} 条群众取消或超时的会话 {hidden} sessions the citizen \
             cancelled or left to time out are hidden · <a id=\"show-all\" \
             href=\"/staff/referrals?all=1\">显示全部 Show all</a></p>"
        )
    };
    let body = format!(
        "{filter}{}",
        html::table(
            &[
                "结束时间 Ended",
                "自助机 Kiosk",
                "会话 Session",
                "身份号码 ID (masked)",
                "步骤 Step",
                "原因 Reason",
                "受理编号 Application",
            ],
            &rows,
        )
    );
    Ok(html::page("转窗口队列 Referral queue", Some(&staff), &body))
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
    let mut items = vec![
        ("会话 Session", esc(&row.session_id)),
        ("自助机 Kiosk", esc(&row.kiosk_id)),
        ("开始 Started", html::time(row.started_at)),
        (
            "结束 Ended",
            row.ended_at.map(html::time).unwrap_or_default(),
        ),
        (
            "公民身份号码 ID number",
            row.id_number.as_deref().map(esc).unwrap_or("-".into()),
        ),
    ];
    if let Some(referral) = &referral {
        let prompt = referral.reason.prompt();
        items.push(("步骤 Step", labels::step(referral.step)));
        items.push(("原因 Reason", labels::referral_reason(&referral.reason)));
        items.push((
            "自助机提示 Kiosk message",
            format!("{}<br>{}", esc(prompt.zh), esc(prompt.en)),
        ));
    }
    if let Some(receipt) = &receipt {
        items.push((
            "回执 Photo receipt",
            format!(
                "{} ({})",
                esc(&receipt.receipt_code),
                if receipt.found {
                    "已找到 found"
                } else {
                    "未找到 not found"
                }
            ),
        ));
    }
    if let Some(scores) = &scores {
        items.push(("人像比对 Face comparison", face_summary(scores)));
    }
    if let Some(no) = &row.application_no {
        items.push((
            "受理编号 Application",
            format!("<a href=\"/staff/applications/{0}\">{0}</a>", esc(no)),
        ));
    }
    Ok(html::page(
        "转窗口详情 Referral",
        Some(&staff),
        &format!("<section>{}</section>", html::fields(&items)),
    ))
}

fn face_summary(scores: &store::sessions::FaceScoreRecord) -> String {
    let liveness = match (scores.liveness_score, scores.liveness_threshold) {
        (Some(score), Some(threshold)) if score >= threshold => {
            format!(" · 活体 liveness {score:.2} (≥ {threshold:.2})")
        }
        (Some(score), Some(threshold)) => format!(
            " · <strong data-testid=liveness-flag>活体 liveness {score:.2} (&lt; {threshold:.2}): \
             可能为照片或屏幕 possibly a print or a screen</strong>"
        ),
        _ => " · 活体 liveness: 未检测 not checked".to_owned(),
    };
    format!(
        "证件照 certified {:.1} (≥ {:.1}) · 现场 live {:.1} (≥ {:.1}) · {} · {} {}{liveness}",
        scores.certified_vs_history,
        scores.certified_threshold,
        scores.live_vs_history,
        scores.live_threshold,
        if scores.passed {
            "通过 passed"
        } else {
            "未通过 failed"
        },
        esc(&scores.engine),
        esc(&scores.engine_version)
    )
}

/// `GET /staff/applications`: the search form.
pub async fn search_form(staff: StaffSession) -> Html<String> {
    html::page(
        "受理查询 Find an application",
        Some(&staff),
        &search_box(&staff, None),
    )
}

fn search_box(staff: &StaffSession, error: Option<&str>) -> String {
    let error = error
        .map(|error| format!("<p class=\"error\">{}</p>", esc(error)))
        .unwrap_or_default();
    format!(
        "{error}<section><form method=\"post\" action=\"/staff/applications/search\">{}\
         <label for=\"q\">受理编号或完整的18位公民身份号码 Application number or the full \
         18-character ID number</label><br><input type=\"text\" id=\"q\" name=\"q\" size=\"24\" \
         maxlength=\"18\" autocomplete=\"off\" required> \
         <button type=\"submit\" id=\"search\">查询 Search</button></form>\
         <p><small>不支持按姓名查询 Search by name is not offered.</small></p></section>",
        html::csrf_field(&staff.csrf)
    )
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
    let refuse = |message: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            html::page(
                "受理查询 Find an application",
                Some(&staff),
                &search_box(&staff, Some(message)),
            ),
        )
            .into_response()
    };
    if q.chars().count() != 18 {
        return Ok(refuse(
            "请输入18位受理编号或完整的18位公民身份号码 Enter an 18-digit application number or \
             a full 18-character ID number",
        ));
    }
    if state.store.application(&q).await?.is_some() {
        return Ok(Redirect::to(&format!("/staff/applications/{q}")).into_response());
    }
    let Ok(id) = CitizenId::parse(&q, state.today.today()) else {
        return Ok(refuse("没有这个受理编号，也不是有效的身份号码 No such application number, and not a valid ID number"));
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
    let rows = found.iter().map(application_row).collect::<Vec<_>>();
    let body = format!(
        "{}<p>{} 的受理记录 Applications of {}</p>{}",
        search_box(&staff, None),
        esc(&id.masked()),
        esc(&id.masked()),
        html::table(APPLICATION_HEADERS, &rows)
    );
    Ok(html::page("受理查询 Find an application", Some(&staff), &body).into_response())
}

const APPLICATION_HEADERS: &[&str] = &[
    "受理编号 Application",
    "身份号码 ID (masked)",
    "姓名 Name (masked)",
    "业务 Business",
    "状态 Status",
    "受理日期 Accepted",
    "领证时限 Issue by",
];

fn application_row(app: &ApplicationRecord) -> (String, Vec<String>) {
    (
        String::new(),
        vec![
            format!(
                "<a href=\"/staff/applications/{0}\">{0}</a>",
                esc(&app.application_no)
            ),
            mask_id(&app.id_number),
            esc(&mask_name(&app.name)),
            labels::business(&app.business),
            labels::application_status(&app.status),
            app.accepted_on.to_string(),
            app.issue_by.to_string(),
        ],
    )
}

async fn find_application(state: &AppState, no: &str) -> Result<ApplicationRecord, StaffError> {
    state
        .store
        .application(no)
        .await?
        .ok_or_else(|| StaffError::NotFound(format!("no application {no}")))
}

/// Where the application's delivery to the population system stands, for the record page.
fn delivery_fields(delivery: Option<&DeliveryRecord>, business: &str) -> String {
    let Some(delivery) = delivery else {
        return html::fields(&[("状态 State", labels::delivery(None).into())]);
    };
    let state = labels::delivery(Some(delivery));
    let mut fields = vec![
        (
            "状态 State",
            format!("<span id=\"delivery-state\">{state}</span>"),
        ),
        ("尝试次数 Attempts", delivery.attempts.to_string()),
        ("入队时间 Queued at", html::time(delivery.created_at)),
    ];
    if let Some(at) = delivery.delivered_at {
        fields.push(("上报时间 Delivered at", html::time(at)));
    }
    if delivery.state == DeliveryState::Pending && delivery.attempts > 0 {
        fields.push((
            "下次尝试 Next attempt",
            html::time(delivery.next_attempt_at),
        ));
    }
    if let Some(reference) = &delivery.reference {
        fields.push(("人口系统编号 Population system reference", esc(reference)));
    }
    if business == "lost" {
        fields.push((
            "旧证挂失 Old card reported lost",
            if delivery.lost_reported {
                "是 yes"
            } else {
                "否 not yet"
            }
            .into(),
        ));
    }
    if let Some(error) = &delivery.last_error {
        fields.push(("最近错误 Last error", esc(error)));
    }
    html::fields(&fields)
}

/// `GET /staff/applications/{no}`: the whole record (audited `view_record`).
pub async fn application(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(no): Path<String>,
) -> Page {
    let app = find_application(&state, &no).await?;
    audit(&state, &staff, "view_record", &no, &mask_id(&app.id_number)).await?;
    let sid = &app.session_id;
    let scores = state.store.face_scores(sid).await?;
    let payments = state.store.payments_of_application(&no).await?;
    let documents = state.store.session_documents(sid).await?;
    let delivery = state.store.delivery(&no).await?;
    let base = format!("/staff/applications/{}", esc(&no));

    let record = html::fields(&[
        ("受理编号 Application number", esc(&app.application_no)),
        ("姓名 Name", esc(&app.name)),
        ("公民身份号码 ID number", esc(&app.id_number)),
        ("民族代码 Nation code", esc(&app.nation_code)),
        ("住址 Address", esc(&app.address)),
        ("业务 Business", labels::business(&app.business)),
        ("户籍 Household", labels::household(&app.household)),
        ("手机 Mobile", esc(&app.mobile)),
        ("工本费 Fee (CNY)", app.fee_cny.to_string()),
        (
            "新证有效期 New card validity",
            labels::validity(&app.validity),
        ),
        ("受理日期 Accepted on", app.accepted_on.to_string()),
        ("领证时限 Issue by", app.issue_by.to_string()),
        (
            "边远地区 Remote area",
            if app.remote_area { "是 yes" } else { "否 no" }.into(),
        ),
        ("状态 Status", labels::application_status(&app.status)),
        ("自助机 Kiosk", esc(&app.kiosk_id)),
        ("会话 Session", esc(&app.session_id)),
        ("照片回执 Photo receipt", esc(&app.receipt_code)),
    ]);

    let faces = match &scores {
        Some(scores) => face_summary(scores),
        None => "无记录 not recorded".into(),
    };
    let fingers: Vec<serde_json::Value> = serde_json::from_str(&app.fingers).unwrap_or_default();
    let finger_rows: Vec<(String, Vec<String>)> = fingers
        .iter()
        .map(|finger| {
            (
                String::new(),
                vec![
                    labels::finger(finger["position"].as_str().unwrap_or("?")),
                    esc(&finger["quality"].to_string()),
                ],
            )
        })
        .collect();
    let images: String = IMAGE_KINDS
        .iter()
        .map(|(kind, _, _)| {
            format!(
                "<figure style=\"display:inline-block\"><img class=\"capture\" \
                 src=\"{base}/images/{kind}\" alt=\"{label}\"><figcaption>{label}</figcaption></figure>",
                label = labels::image(kind)
            )
        })
        .collect();
    let payment_rows: Vec<(String, Vec<String>)> = payments
        .iter()
        .map(|p| {
            (
                String::new(),
                vec![
                    p.attempt.to_string(),
                    labels::payment_method(&p.method),
                    esc(&p.out_trade_no),
                    format!("{:.2}", p.amount_fen as f64 / 100.0),
                    labels::payment_state(&p.state),
                    p.transaction_id.as_deref().map(esc).unwrap_or_default(),
                    p.paid_at.map(html::time).unwrap_or_default(),
                    if p.void_required {
                        format!(
                            "需退款 void required{}",
                            if p.voided_at.is_some() {
                                " · 已撤销 voided"
                            } else {
                                ""
                            }
                        )
                    } else {
                        String::new()
                    },
                ],
            )
        })
        .collect();
    let mut kinds: Vec<String> = documents.iter().map(|d| d.kind.clone()).collect();
    if kinds.is_empty() {
        kinds = crate::paper::DOCUMENT_KINDS
            .iter()
            .map(|k| k.to_string())
            .collect();
    }
    let document_rows: Vec<(String, Vec<String>)> = kinds
        .iter()
        .map(|kind| {
            let recorded = documents.iter().find(|d| &d.kind == kind);
            (
                String::new(),
                vec![
                    labels::document(kind),
                    recorded
                        .map(|d| format!("{} B · sha256 {}…", d.size, esc(&d.sha256[..12.min(d.sha256.len())])))
                        .unwrap_or_else(|| "未打印 not printed".into()),
                    format!(
                        "<form method=\"post\" action=\"{base}/documents/{kind}\" target=\"_blank\">\
                         {}<button type=\"submit\" id=\"reprint-{kind}\">补打 Reprint</button></form>",
                        html::csrf_field(&staff.csrf),
                        kind = esc(kind)
                    ),
                ],
            )
        })
        .collect();

    let delivery = delivery_fields(delivery.as_ref(), &app.business);
    let body = format!(
        "<section><h2>受理信息 Record</h2>{record}</section>\
         <section><h2>上报人口信息系统 Delivery to the population system</h2>{delivery}</section>\
         <section><h2>人像比对 Face comparison</h2><p>{faces}</p>{images}</section>\
         <section><h2>指纹质量 Fingerprint quality</h2>{fingers}</section>\
         <section><h2>缴费 Payments</h2>{payments}</section>\
         <section><h2>文书 Documents</h2>{documents}</section>\
         <section><h2>办理录像 Session video</h2><video id=\"video\" controls preload=\"none\" \
         width=\"480\" src=\"{base}/video\"></video><p><small>播放即记入审计日志 Playing the video \
         is recorded in the audit trail.</small></p></section>",
        fingers = html::table(&["手指 Finger", "质量 Quality"], &finger_rows),
        payments = html::table(
            &[
                "次 Attempt",
                "方式 Method",
                "商户订单号 Trade no",
                "金额 Amount (CNY)",
                "状态 State",
                "交易号 Transaction",
                "支付时间 Paid at",
                "退款 Void",
            ],
            &payment_rows
        ),
        documents = html::table(
            &["文书 Document", "记录 Printed", "补打 Reprint"],
            &document_rows
        ),
    );
    Ok(html::page(
        &format!("受理 Application {no}"),
        Some(&staff),
        &body,
    ))
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

/// `GET /staff/today`: the applications accepted today (Asia/Shanghai), for the clerk's office:
/// masked ID and name, business, status and delivery in words, each linking to its record.
pub async fn today(State(state): State<AppState>, staff: StaffSession) -> Page {
    let today = state.today.today();
    let accepted = state.store.applications_accepted_on(today).await?;
    let mut rows = Vec::with_capacity(accepted.len());
    for app in &accepted {
        let delivery = state.store.delivery(&app.application_no).await?;
        rows.push((
            String::new(),
            vec![
                format!(
                    "<a href=\"/staff/applications/{0}\">{0}</a>",
                    esc(&app.application_no)
                ),
                html::time(app.created_at),
                mask_id(&app.id_number),
                esc(&mask_name(&app.name)),
                labels::business(&app.business),
                labels::application_status(&app.status),
                labels::delivery(delivery.as_ref()).to_owned(),
                esc(&app.kiosk_id),
            ],
        ));
    }
    let body = format!(
        "<p>今天 Today {today} · 共 {count} 件 {count} applications</p>{}",
        html::table(
            &[
                "受理编号 Application",
                "受理时间 Accepted at",
                "身份号码 ID (masked)",
                "姓名 Name (masked)",
                "业务 Business",
                "状态 Status",
                "上报人口信息系统 Delivery",
                "自助机 Kiosk",
            ],
            &rows
        ),
        count = accepted.len()
    );
    Ok(html::page(
        "今日受理 Today's applications",
        Some(&staff),
        &body,
    ))
}

/// `GET /staff/deadlines`: applications whose issue-by date is within 7 days or past.
pub async fn deadlines(State(state): State<AppState>, staff: StaffSession) -> Page {
    let today = state.today.today();
    let until = today + time::Duration::days(7);
    let due = state.store.applications_due_by(until, 1000).await?;
    let rows: Vec<(String, Vec<String>)> = due
        .iter()
        .map(|app| {
            let days = (app.issue_by - today).whole_days();
            let (class, left) = if days < 0 {
                (
                    "past",
                    format!("已超期 {} 天 {} days overdue", -days, -days),
                )
            } else {
                ("near", format!("剩 {days} 天 {days} days left"))
            };
            let (_, mut cells) = application_row(app);
            cells.push(left);
            (class.to_owned(), cells)
        })
        .collect();
    let mut headers = APPLICATION_HEADERS.to_vec();
    headers.push("时限 Deadline");
    // Everything not acknowledged by the population system, oldest first (the fleet view's
    // `undelivered` alert counts those over an hour old and points here).
    let undelivered = state.store.undelivered_since(i64::MAX).await?;
    let undelivered_rows: Vec<(String, Vec<String>)> = undelivered
        .iter()
        .map(|delivery| {
            let class = if delivery.state == DeliveryState::Rejected {
                "past"
            } else {
                "near"
            };
            (
                class.to_owned(),
                vec![
                    format!(
                        "<a href=\"/staff/applications/{0}\">{0}</a>",
                        esc(&delivery.application_no)
                    ),
                    match delivery.state {
                        DeliveryState::Rejected => "被拒绝 refused".to_owned(),
                        _ => "待上报/重试中 queued/retrying".to_owned(),
                    },
                    html::time(delivery.created_at),
                    delivery.attempts.to_string(),
                    delivery.last_error.as_deref().map(esc).unwrap_or_default(),
                ],
            )
        })
        .collect();
    let body = format!(
        "<p>今天 Today {today} · 7 天内到期或已超期 Due within 7 days or overdue \
         (红色 red = overdue, 黄色 yellow = within 7 days)</p>{}\
         <h2 id=\"undelivered\">未上报人口信息系统 Not yet delivered to the population system</h2>{}",
        html::table(&headers, &rows),
        html::table(
            &[
                "受理编号 Application",
                "状态 State",
                "完成时间 Completed at",
                "尝试次数 Attempts",
                "最近错误 Last error",
            ],
            &undelivered_rows
        )
    );
    Ok(html::page("办证时限 Deadlines", Some(&staff), &body))
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
    let check = if query.verify.is_some() {
        match super::verify_chain(&state).await? {
            Verification::Intact { entries } => format!(
                "<p class=\"ok\" id=\"chain\">审计链完整 audit chain ok: {entries} entries</p>"
            ),
            Verification::Broken { entry, why } => format!(
                "<p class=\"error\" id=\"chain\">审计链断裂 audit chain broken at entry #{entry}: {}</p>",
                esc(&why)
            ),
        }
    } else {
        String::new()
    };
    let rows: Vec<(String, Vec<String>)> = entries
        .iter()
        .map(|e| {
            (
                String::new(),
                vec![
                    e.seq.to_string(),
                    html::time(e.at),
                    esc(&e.actor),
                    esc(&e.role),
                    esc(&e.action),
                    esc(&e.subject),
                    esc(&e.detail),
                    format!("<code>{}…</code>", esc(&e.hash[..12.min(e.hash.len())])),
                ],
            )
        })
        .collect();
    let value = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
    let body = format!(
        "{check}<section><form method=\"get\" action=\"/staff/audit\">\
         <label>从 From <input type=\"date\" name=\"from\" value=\"{from}\"></label> \
         <label>到 To <input type=\"date\" name=\"to\" value=\"{to}\"></label> \
         <button type=\"submit\">筛选 Filter</button> \
         <button type=\"submit\" name=\"verify\" value=\"1\">校验审计链 Verify the chain</button> \
         <a id=\"export\" href=\"/staff/audit/export.csv?from={from}&amp;to={to}\">导出 CSV Export</a>\
         </form></section>{table}",
        from = value(&query.from),
        to = value(&query.to),
        table = html::table(
            &[
                "序号 Seq",
                "时间 Time",
                "人员 Actor",
                "角色 Role",
                "操作 Action",
                "对象 Subject",
                "详情 Detail",
                "哈希 Hash",
            ],
            &rows
        )
    );
    Ok(html::page("审计日志 Audit trail", Some(&staff), &body))
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

async fn accounts_page(state: &AppState, staff: &StaffSession, message: Option<&str>) -> Page {
    let now = state.now();
    let users = state.store.staff_users().await?;
    let rows: Vec<(String, Vec<String>)> = users
        .iter()
        .map(|u| {
            (
                String::new(),
                vec![
                    esc(&u.username),
                    Role::parse(&u.role)
                        .map(|r| r.label())
                        .unwrap_or("?")
                        .into(),
                    match u.locked_until {
                        Some(until) if until > now => {
                            format!("锁定至 locked until {}", html::time(until))
                        }
                        _ => "正常 active".into(),
                    },
                    html::time(u.created_at),
                ],
            )
        })
        .collect();
    let message = message
        .map(|m| format!("<p class=\"error\">{}</p>", esc(m)))
        .unwrap_or_default();
    let options: String = Role::ALL
        .iter()
        .map(|r| format!("<option value=\"{}\">{}</option>", r.as_str(), r.label()))
        .collect();
    let body = format!(
        "{message}{}<section><h2>新增账号 Add an account</h2>\
         <form method=\"post\" action=\"/staff/accounts\">{}\
         <label>用户名 User name <input type=\"text\" name=\"username\" required></label> \
         <label>角色 Role <select name=\"role\">{options}</select></label> \
         <label>初始密码 Password <input type=\"password\" name=\"password\" minlength=\"10\" \
         required></label> <button type=\"submit\">新增 Add</button></form></section>",
        html::table(
            &["用户名 User", "角色 Role", "状态 State", "创建 Created"],
            &rows
        ),
        html::csrf_field(&staff.csrf)
    );
    Ok(html::page("账号管理 Staff accounts", Some(staff), &body))
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
        .create_staff_user(&username, role.as_str(), &phc, state.now())
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
        let live = face_summary(&scores);
        assert!(live.contains("活体 liveness 0.97 (≥ 0.50)"), "{live}");
        assert!(!live.contains("liveness-flag"), "{live}");
        scores.liveness_score = Some(0.13);
        let print = face_summary(&scores);
        assert!(print.contains("data-testid=liveness-flag"), "{print}");
        assert!(print.contains("possibly a print or a screen"), "{print}");
        scores.liveness_score = None;
        assert!(face_summary(&scores).contains("not checked"));
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
