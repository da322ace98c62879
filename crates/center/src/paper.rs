//! Step 12 and the step-3 variant: the PDFs, rendered by the `documents` crate from the stored
//! application (typed data, so a bad stored value is an error, never a wrong paper). The
//! certificate prints the name and number masked and the issue-by date of the domain's rules;
//! rendering is byte-for-byte reproducible, so a repeat prints the same paper. Each rendering is
//! recorded in `center_documents` (kind, size, SHA-256).

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
    Extension, Json,
};
use documents::types::{
    ApplicationNumber, Collection, CollectionMethod, FingerCapture, JpegImage, MaskedCard, Nation,
    PersonName, PngImage, TextLine, TransactionId,
};
use documents::{
    CollectionCertificate, Document, PortraitForm, RegistrationForm, UnionPayNotice, WechatNotice,
};
use domain::id::CitizenId;
use domain::mobile::MobileNumber;
use domain::rules::Business;
use domain::session::PortraitApplication;
use sha2::{Digest, Sha256};
use store::sessions::{ApplicationRecord, DocumentRecord};
use time::OffsetDateTime;

use crate::auth::KioskId;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::ownership::open_session;
use crate::steps::{parse_id, required_blob, FingerJson};
use crate::AppState;
use domain::session::PaymentMethod;
use domain::trade_state::TradeState;

pub use kiosk_wire::{CollectionAnswer, IdentityAnswer, IdentityRequest, PortraitRequest};

/// The document kinds of `GET /v1/sessions/{sid}/documents/{kind}`.
pub const DOCUMENT_KINDS: [&str; 3] = ["certificate", "form", "notice"];

fn renderer(state: &AppState) -> Result<Arc<documents::Renderer>, AppError> {
    state.documents.clone().ok_or_else(|| {
        AppError::unavailable("documents", anyhow::anyhow!("no fonts loaded for the PDFs"))
    })
}

/// A stored value the documents refuse: our data is wrong, not the kiosk's request.
fn stored(column: &'static str) -> impl Fn(documents::types::ValueError) -> AppError {
    move |err| {
        AppError::Internal(anyhow::anyhow!(
            "stored {column} cannot be printed: {}",
            err.0
        ))
    }
}

fn line(state_text: &str, column: &'static str) -> Result<TextLine, AppError> {
    TextLine::parse(state_text, 60).map_err(stored(column))
}

struct Common {
    number: ApplicationNumber,
    name: PersonName,
    id: CitizenId,
    business: Business,
    bureau: TextLine,
}

/// The office where the application's card is collected, the one the papers print; an office
/// the configuration does not have is a misconfigured center (an office removed while its cards
/// still wait).
fn collection_office<'a>(
    state: &'a AppState,
    application: &ApplicationRecord,
) -> Result<&'a crate::CollectionOffice, AppError> {
    let stored = application.collection_office.as_deref();
    state.config.office_of_application(stored).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "the configuration has no collection office {:?}",
            stored.unwrap_or(&state.config.default_office)
        ))
    })
}

fn common(state: &AppState, application: &ApplicationRecord) -> Result<Common, AppError> {
    Ok(Common {
        number: ApplicationNumber::parse(&application.application_no)
            .map_err(stored("application_no"))?,
        name: PersonName::parse(&application.name).map_err(stored("name"))?,
        id: application.id_number.clone(),
        business: application.business,
        bureau: line(&state.config.bureau, "config.bureau")?,
    })
}

/// `GET /v1/sessions/{sid}/collection`: the collection office of the session's application,
/// the same the certificate prints.
pub async fn collection(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path(sid): Path<String>,
) -> Result<Json<CollectionAnswer>, AppError> {
    let sid = open_session(&state, &kiosk, &sid).await?;
    let application = state
        .store
        .application_by_session(sid.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound("no application in this session".into()))?;
    let office = collection_office(&state, &application)?;
    Ok(Json(CollectionAnswer {
        office: office.name.clone(),
        address: office.address.clone(),
        hours: office.hours.clone(),
    }))
}

/// `GET /v1/sessions/{sid}/documents/{certificate|form|notice}`: `application/pdf`.
pub async fn document(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path((sid, kind)): Path<(String, String)>,
) -> Result<Response, AppError> {
    if !DOCUMENT_KINDS.contains(&kind.as_str()) {
        return Err(AppError::invalid(
            "kind",
            "must be certificate, form or notice",
        ));
    }
    let sid = open_session(&state, &kiosk, &sid).await?;
    let application = state
        .store
        .application_by_session(sid.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound("no application in this session".into()))?;
    let renderer = renderer(&state)?;
    let c = common(&state, &application)?;
    let document = match kind.as_str() {
        "certificate" => {
            let signature = required_blob(&state, sid.as_str(), "signature").await?;
            Document::Certificate(CollectionCertificate {
                application_number: c.number,
                name: c.name,
                id_number: c.id,
                business: c.business,
                accepted_on: application.accepted_on,
                remote_area: application.remote_area,
                collection: {
                    let office = collection_office(&state, &application)?;
                    Collection {
                        method: CollectionMethod::InPerson,
                        office: line(&office.name, "config.office.name")?,
                        address: line(&office.address, "config.office.address")?,
                        hours: TextLine::parse(&office.hours, 40)
                            .map_err(stored("config.office.hours"))?,
                    }
                },
                signature: PngImage::parse(signature)
                    .map_err(|err| AppError::conflict_on("signature", err.0))?,
                bureau: c.bureau,
            })
        }
        "form" => {
            let signature = required_blob(&state, sid.as_str(), "signature").await?;
            let photo = required_blob(&state, sid.as_str(), "live_photo").await?;
            let fingers: Vec<FingerJson> = serde_json::from_str(&application.fingers)
                .map_err(|err| AppError::internal("stored fingers", err))?;
            let fingers = fingers
                .iter()
                .map(|f| {
                    Ok(FingerCapture {
                        finger: f.position,
                        quality: f.quality,
                    })
                })
                .collect::<Result<Vec<_>, AppError>>()?;
            let nation = application
                .nation_code
                .parse::<u8>()
                .ok()
                .and_then(|code| Nation::from_code(code).ok())
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("stored nation_code")))?;
            Document::Form(RegistrationForm {
                application_number: c.number,
                name: c.name,
                id_number: c.id,
                nation,
                address: line(&application.address, "address")?,
                photo: JpegImage::parse(photo)
                    .map_err(|err| AppError::conflict_on("live_photo", err.0))?,
                business: c.business,
                mobile: MobileNumber::parse(&application.mobile)
                    .map_err(|err| AppError::Internal(anyhow::anyhow!("stored mobile: {err}")))?,
                fingers,
                signature: PngImage::parse(signature)
                    .map_err(|err| AppError::conflict_on("signature", err.0))?,
                accepted_on: application.accepted_on,
                bureau: c.bureau,
            })
        }
        _ => {
            let payments = state
                .store
                .payments_of_application(&application.application_no)
                .await?;
            // The paid attempt, else the latest.
            let payment = payments
                .iter()
                .find(|p| p.state == TradeState::Success)
                .or(payments.last())
                .ok_or_else(|| AppError::conflict("no payment in this session yet (step 11)"))?;
            let amount = payment.amount_fen;
            if payment.method == PaymentMethod::WeChat {
                // Printed as proof of payment only: an unpaid order's QR code lives on the
                // kiosk's screen, and the order closes when left unpaid.
                if payment.state != TradeState::Success {
                    return Err(AppError::conflict("the WeChat order is not paid"));
                }
                let transaction_id = payment.transaction_id.as_deref().ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!(
                        "a paid WeChat order without transaction_id"
                    ))
                })?;
                let paid_at = payment.paid_at.ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("a paid WeChat order without paid_at"))
                })?;
                let paid = crate::payments::paid_fen(payment)?.unwrap_or(payment.amount_fen);
                Document::NoticeWechat(WechatNotice {
                    application_number: c.number,
                    business: c.business,
                    amount: paid,
                    out_trade_no: line(&payment.out_trade_no, "out_trade_no")?,
                    transaction_id: TransactionId::parse(transaction_id)
                        .map_err(stored("transaction_id"))?,
                    paid_at: OffsetDateTime::from_unix_timestamp(paid_at)
                        .map_err(|err| AppError::internal("paid_at", err))?,
                    bureau: c.bureau,
                })
            } else {
                if payment.state != TradeState::Success {
                    return Err(AppError::conflict("the UnionPay payment is not approved"));
                }
                let report: crate::payments::PosReport = payment
                    .pos_result
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|err| AppError::internal("stored pos_result", err))?
                    .ok_or_else(|| AppError::conflict("no POS result was reported"))?;
                let card = report
                    .card_masked
                    .as_deref()
                    .ok_or_else(|| AppError::conflict_on("card_masked", "the POS gave no card"))?;
                Document::NoticeUnionPay(UnionPayNotice {
                    application_number: c.number,
                    business: c.business,
                    amount,
                    card: MaskedCard::parse(card).map_err(stored("card_masked"))?,
                    reference: line(report.reference.as_deref().unwrap_or("-"), "reference")?,
                    auth_code: line(report.auth_code.as_deref().unwrap_or("-"), "auth_code")?,
                    paid_at: OffsetDateTime::from_unix_timestamp(
                        payment.paid_at.unwrap_or(payment.updated_at),
                    )
                    .map_err(|err| AppError::internal("paid_at", err))?,
                    bureau: c.bureau,
                })
            }
        }
    };
    let pdf = render(renderer, document).await?;
    state
        .store
        .record_document(
            &DocumentRecord {
                session_id: sid.as_str().to_owned(),
                kind: kind.clone(),
                application_no: application.application_no.clone(),
                size: i64::try_from(pdf.len()).unwrap_or(i64::MAX),
                sha256: hex(&Sha256::digest(&pdf)),
            },
            state.now(),
        )
        .await?;
    Ok(pdf_response(pdf))
}

async fn render(
    renderer: Arc<documents::Renderer>,
    document: Document,
) -> Result<Vec<u8>, AppError> {
    tokio::task::spawn_blocking(move || renderer.render(&document))
        .await
        .map_err(|err| AppError::internal("rendering", err))?
        .map_err(|err| AppError::internal("rendering", err))
}

fn pdf_response(pdf: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response()
}

/// Lower-case hex of `bytes` (a SHA-256 in a message).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Looks a number up for the portrait form's confirmation (counted and recorded like every
/// lookup); the kiosk learns the masked name only.
pub async fn identity(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path(sid): Path<String>,
    JsonBody(request): JsonBody<IdentityRequest>,
) -> Result<Json<IdentityAnswer>, AppError> {
    let id = parse_id(&state, "id", &request.id)?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    crate::scope::lookup(
        &state,
        &kiosk,
        Some(sid.as_str()),
        store::lookups::LookupPurpose::Identity,
        &id,
    )
    .await?;
    let record = state
        .population
        .citizen(&id, &state.kiosk_city, state.today.today())
        .await?;
    Ok(Json(IdentityAnswer {
        identity: record.map(|record| crate::wire::MaskedIdentity {
            id_masked: id.masked(),
            name_masked: domain::mask::mask_name(&record.name),
        }),
    }))
}

/// `POST /v1/sessions/{sid}/portrait-form`: the portrait form of a number whose masked identity
/// this session looked up (`/identity`) and the citizen confirmed; recorded as a lookup and in the
/// audit chain (actor: the kiosk).
pub async fn session_portrait_form(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path(sid): Path<String>,
    JsonBody(request): JsonBody<PortraitRequest>,
) -> Result<Response, AppError> {
    let id = parse_id(&state, "id", &request.id)?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    let looked_up = state
        .store
        .lookups_of_session(sid.as_str(), store::lookups::LookupPurpose::Identity)
        .await?
        .iter()
        .any(|masked| *masked == id.masked());
    if !looked_up {
        return Err(AppError::conflict_on(
            "identity",
            "the citizen has not confirmed this number's identity in this session",
        ));
    }
    let response = portrait_form(
        State(state.clone()),
        Extension(kiosk.clone()),
        JsonBody(request),
    )
    .await?;
    crate::staff::append_audit(
        &state,
        &store::audit::NewAuditEntry {
            at: state.now(),
            actor: kiosk.0.clone(),
            role: "kiosk".into(),
            action: "print_portrait_form".into(),
            subject: id.masked(),
            detail: sid.as_str().to_owned(),
        },
    )
    .await?;
    Ok(response)
}

/// Step 3 variant: the pre-filled portrait collection form (人像采集表), `application/pdf`.
pub async fn portrait_form(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    JsonBody(request): JsonBody<PortraitRequest>,
) -> Result<Response, AppError> {
    let id = parse_id(&state, "id", &request.id)?;
    crate::scope::lookup(
        &state,
        &kiosk,
        None,
        store::lookups::LookupPurpose::PortraitForm,
        &id,
    )
    .await?;
    let application = match request.business.as_deref() {
        None => PortraitApplication::FirstTime,
        Some(text) => PortraitApplication::parse(text).ok_or_else(|| {
            AppError::invalid(
                "business",
                "must be one of first_time, expiry_renewal, lost, damaged",
            )
        })?,
    };
    let today = state.today.today();
    let record = state
        .population
        .citizen(&id, &state.kiosk_city, today)
        .await?
        .ok_or_else(|| AppError::invalid("id", "the population system has no record"))?;
    let renderer = renderer(&state)?;
    let document = Document::Portrait(PortraitForm {
        name: PersonName::parse(&record.name).map_err(stored("name"))?,
        id_number: id,
        application,
        printed_on: today,
        bureau: line(&state.config.bureau, "config.bureau")?,
    });
    Ok(pdf_response(render(renderer, document).await?))
}
