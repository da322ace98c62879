//! The session calls of steps 6–10 and the end: receipt, faces, blobs, application, end. Each is
//! idempotent by session id: the answer is stored, and a repeat finds and returns it.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    Extension, Json,
};
use base64::Engine as _;
use domain::id::CitizenId;
use domain::mobile::MobileNumber;
use domain::receipt::ReceiptCode;
use domain::rules::{Business, Decision, Household};
use domain::session::SessionOutcome;
use popsys::ReceiptOutcome;
use store::sessions::{FaceScoreRecord, KioskStatus, NewApplication, SessionReceipt};

use crate::auth::KioskId;
use crate::blobs::check_blob;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::ownership::open_session;
use crate::wire::format_date;

use crate::AppState;
pub use kiosk_wire::{
    ApplicationAnswer, ApplicationRequest, FacesAnswer, FacesLiveness, FacesRequest, FingerJson,
    ReceiptAnswer, ReceiptRefusal, ReceiptRequest,
};

pub(crate) fn parse_id(state: &AppState, field: &str, text: &str) -> Result<CitizenId, AppError> {
    CitizenId::parse(text, state.today.today())
        .map_err(|err| AppError::invalid(field, format!("{} ({})", err, err.field.as_str())))
}

fn parse_receipt(text: &str) -> Result<ReceiptCode, AppError> {
    ReceiptCode::parse(text).map_err(|err| AppError::invalid("receipt", err.to_string()))
}

/// Step 6: looks the receipt up in the photo system (without using it: it is redeemed with the
/// application) and keeps the certified photo, sealed, under the session.
pub async fn receipt(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path(sid): Path<String>,
    JsonBody(request): JsonBody<ReceiptRequest>,
) -> Result<Json<ReceiptAnswer>, AppError> {
    let id = parse_id(&state, "id", &request.id)?;
    let code = parse_receipt(&request.receipt)?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    crate::scope::require_accepted(&state, sid.as_str(), &id).await?;
    // A receipt found stays the session's; one not found is looked up again (resolving does
    // not use it), so a repeated scan hears the same reason.
    if let Some(stored) = state.store.session_receipt(sid.as_str()).await? {
        if stored.found {
            return Ok(Json(ReceiptAnswer {
                found: true,
                reason: None,
            }));
        }
    }
    let today = state.today.today();
    let outcome = state.population.resolve_receipt(&code, &id, today).await?;
    let (found, photo, reason) = match outcome {
        ReceiptOutcome::Usable(receipt) => (true, receipt.jpeg, None),
        other => {
            tracing::info!(
                session = sid.as_str(),
                answer = receipt_answer(&other),
                "receipt not usable"
            );
            let reason = match other {
                ReceiptOutcome::Expired { .. } => ReceiptRefusal::Expired,
                ReceiptOutcome::AlreadyUsed { .. } => ReceiptRefusal::AlreadyUsed,
                ReceiptOutcome::OtherPerson => ReceiptRefusal::OtherPerson,
                _ => ReceiptRefusal::NotFound,
            };
            (false, None, Some(reason))
        }
    };
    let stored = state
        .store
        .record_receipt(
            &SessionReceipt {
                session_id: sid.as_str().to_owned(),
                id_number: id.as_str().to_owned(),
                receipt_code: code.as_str().to_owned(),
                found,
                photo,
            },
            state.now(),
        )
        .await?;
    Ok(Json(ReceiptAnswer {
        found: stored.found,
        reason: if stored.found { None } else { reason },
    }))
}

fn receipt_answer(outcome: &ReceiptOutcome) -> &'static str {
    match outcome {
        ReceiptOutcome::Usable(_) => "usable",
        ReceiptOutcome::NotFound => "not_found",
        ReceiptOutcome::OtherPerson => "other_person",
        ReceiptOutcome::Expired { .. } => "expired",
        ReceiptOutcome::AlreadyUsed { .. } => "already_used",
    }
}

/// The answer of step 7 from the stored scores.
fn faces_answer(scores: FaceScoreRecord) -> FacesAnswer {
    FacesAnswer {
        certified_vs_history: scores.certified_vs_history,
        live_vs_history: scores.live_vs_history,
        engine: scores.engine,
        version: scores.engine_version,
        passed: scores.passed,
    }
}

/// Step 7: certified vs historical photo (> 95) and live vs historical (> 60), with
/// [`face::verify_against`] on the face pool ([`crate::faces`]: `503 face` with `Retry-After` when
/// its queue is full; the historical photo's embedding kept once computed); the scores, the engine and its version are stored with the session, and the
/// live photo as the session's `live_photo` blob. The live photo's liveness score is stored with
/// them and shown to the clerk (advise mode: it does not fail the step; issue 20).
pub async fn faces(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path(sid): Path<String>,
    JsonBody(request): JsonBody<FacesRequest>,
) -> Result<Json<FacesAnswer>, AppError> {
    let id = parse_id(&state, "id", &request.id)?;
    let code = parse_receipt(&request.receipt)?;
    let live = base64::engine::general_purpose::STANDARD
        .decode(request.live_photo.trim())
        .map_err(|err| AppError::invalid("live_photo", format!("not base64: {err}")))?;
    let kiosk_liveness = match request.liveness {
        Some(l) if !(0.0..=1.0).contains(&l.score) => {
            return Err(AppError::invalid(
                "liveness",
                "score is not between 0 and 1",
            ))
        }
        Some(l) if l.engine.trim().is_empty() || l.engine.len() > 200 => {
            return Err(AppError::invalid("liveness", "engine is empty or too long"))
        }
        other => other,
    };
    let sid = open_session(&state, &kiosk, &sid).await?;
    crate::scope::require_accepted(&state, sid.as_str(), &id).await?;
    if let Some(stored) = state.store.face_scores(sid.as_str()).await? {
        return Ok(Json(faces_answer(stored)));
    }
    let receipt = state
        .store
        .session_receipt(sid.as_str())
        .await?
        .filter(|r| r.found)
        .ok_or_else(|| AppError::conflict("no receipt was found for this session (step 6)"))?;
    if receipt.receipt_code != code.as_str() || receipt.id_number != id.as_str() {
        return Err(AppError::invalid(
            "receipt",
            "is not the receipt found at step 6 for this number",
        ));
    }
    let certified = receipt.photo.ok_or_else(|| {
        AppError::conflict("the photo system holds no certified photo for this receipt")
    })?;
    let historical = state
        .population
        .history_photo(&id)
        .await?
        .and_then(|photo| photo.jpeg)
        .ok_or_else(|| AppError::conflict("the population system holds no historical photo"))?;
    let engine = state
        .face
        .clone()
        .ok_or_else(|| AppError::unavailable("face", anyhow::anyhow!("no face engine loaded")))?;
    let thresholds = face_thresholds(&state).await?;
    // Issue 18: the historical photo's embedding is computed once and kept, sealed, under the
    // photo's hash; the decoding and describing run on the bounded face pool (503 when full).
    let history_hash = store::face_embeddings::PhotoHash::of(&historical);
    let kept = crate::faces::kept_history_embedding(&state, engine.as_ref(), &history_hash).await?;
    let job_engine = engine.clone();
    let live_bytes = live.clone();
    let (report, liveness, computed) = state
        .face_pool
        .run(move || -> Result<_, face::FaceError> {
            let engine = job_engine;
            let limits = face::DecodeLimits::default();
            let live_picture = face::Picture::from_bytes("live_photo", &live_bytes, &limits)?;
            let certified_picture =
                face::Picture::from_bytes("certified_photo", &certified, &limits)?;
            let (history, computed) = match kept {
                Some(kept) => (kept, false),
                None => {
                    let picture =
                        face::Picture::from_bytes("historical_photo", &historical, &limits)?;
                    (engine.describe(&picture)?.embedding, true)
                }
            };
            let report = face::verify_against(
                engine.as_ref(),
                &thresholds,
                &certified_picture,
                &history,
                &live_picture,
            )?;
            // Liveness (issue 20): the kiosk's score of the full frame, which it enforces;
            // recorded and shown to the clerk. Only when the kiosk sent none does the center
            // score the crop (a weak fallback: the crop cuts off the paper edge or bezel the
            // models need); a missing model leaves it unrecorded rather than stopping step 7.
            let computed = computed.then_some(history);
            if let Some(l) = kiosk_liveness {
                return Ok((report, Some((l.score, l.engine)), computed));
            }
            let liveness = face::MiniFasNetEngine::shared()
                .and_then(|models| {
                    let verdict = face::liveness::check_picture(
                        engine.as_ref(),
                        models.as_ref(),
                        &live_picture,
                    )?;
                    let name = face::LivenessEngine::name(models.as_ref());
                    let version = face::LivenessEngine::version(models.as_ref());
                    Ok((f64::from(verdict.score), format!("{name} ({version})")))
                })
                .map_err(|err| tracing::warn!(error = %err, "liveness not checked"))
                .ok();
            Ok::<_, face::FaceError>((report, liveness, computed))
        })
        .await?
        .map_err(|err| match err.picture() {
            Some("live_photo") => AppError::invalid("live_photo", err.to_string()),
            _ => AppError::internal("face verification", err),
        })?;
    if let Some(embedding) = computed {
        crate::faces::keep_history_embedding(&state, engine.as_ref(), &history_hash, &embedding)
            .await;
    }
    state
        .blobs
        .put(sid.as_str(), "live_photo", &live)
        .await
        .map_err(AppError::Internal)?;
    let stored = state
        .store
        .record_face_scores(
            &FaceScoreRecord {
                session_id: sid.as_str().to_owned(),
                certified_vs_history: report.certified_vs_history.similarity,
                live_vs_history: report.live_vs_history.similarity,
                certified_distance: report.certified_vs_history.distance,
                live_distance: report.live_vs_history.distance,
                certified_threshold: report.thresholds.certified,
                live_threshold: report.thresholds.live,
                passed: report.passed,
                engine: report.engine,
                engine_version: report.version,
                liveness_score: liveness.as_ref().map(|(score, _)| *score),
                liveness_threshold: liveness.as_ref().map(|_| state.config.liveness_threshold),
                liveness_engine: liveness.map(|(_, engine)| engine),
            },
            state.now(),
        )
        .await?;
    tracing::info!(
        session = sid.as_str(),
        certified = stored.certified_vs_history,
        live = stored.live_vs_history,
        passed = stored.passed,
        "faces compared"
    );
    Ok(Json(faces_answer(stored)))
}

/// `PUT /v1/sessions/{sid}/blobs/{kind}`: stores the raw body (sealed at rest); `204`. The first
/// upload of a kind wins.
pub async fn blob(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path((sid, kind)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    crate::blobs::check_kind(&kind).map_err(|reason| AppError::invalid("kind", reason))?;
    state
        .config
        .blob_quotas
        .check_kind_size(&kind, body.len())?;
    let checked = body.clone();
    let check_kind = kind.clone();
    tokio::task::spawn_blocking(move || check_blob(&check_kind, &checked))
        .await
        .map_err(|err| AppError::internal("checking a blob", err))?
        .map_err(|reason| AppError::invalid("kind", reason))?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    crate::blobs::store_upload(&state, &kiosk.0, sid.as_str(), &kind, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Step 10: checks the kiosk's figures against the rules, uses the receipt, and stores the
/// application under a number allocated by the database. A repeat returns the same number.
pub async fn application(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path(sid): Path<String>,
    JsonBody(request): JsonBody<ApplicationRequest>,
) -> Result<Json<ApplicationAnswer>, AppError> {
    let sid = open_session(&state, &kiosk, &sid).await?;
    if let Some(existing) = state.store.application_by_session(sid.as_str()).await? {
        return Ok(Json(ApplicationAnswer {
            application_no: existing.application_no,
            issue_by: format_date(existing.issue_by),
        }));
    }
    let today = state.today.today();
    let business = Business::parse(&request.business).ok_or_else(|| {
        AppError::invalid("business", "must be one of expiry_renewal, lost, damaged")
    })?;
    let household = Household::parse(&request.household)
        .ok_or_else(|| AppError::invalid("household", "must be one of local, province"))?;
    let id = parse_id(&state, "id", &request.id)?;
    let code = parse_receipt(&request.receipt)?;
    let mobile = MobileNumber::parse(&request.mobile)
        .map_err(|err| AppError::invalid("mobile", err.to_string()))?;
    if request.fingers.len() != 2 {
        return Err(AppError::invalid(
            "fingers",
            "must hold the two fingers captured",
        ));
    }
    for (i, finger) in request.fingers.iter().enumerate() {
        if request.fingers[..i]
            .iter()
            .any(|other| other.position == finger.position)
        {
            return Err(AppError::invalid(
                format!("fingers[{i}].position"),
                "the two fingers must be different fingers",
            ));
        }
        if finger.quality > 100 {
            return Err(AppError::invalid(
                format!("fingers[{i}].quality"),
                "must be 0 to 100",
            ));
        }
    }
    // Step 5 again, on the record of this moment: a case refused then (or since) gets no
    // application, whatever the kiosk sends.
    let (decision, record) =
        crate::scope::recheck(&state, sid.as_str(), &id, business, household, today).await?;
    let Decision::Accept {
        fee_cny: fee,
        validity,
        issue_by: deadline,
    } = decision
    else {
        return Err(AppError::conflict_on("scope", "the case was referred"));
    };
    let receipt = state
        .store
        .session_receipt(sid.as_str())
        .await?
        .filter(|r| r.found)
        .ok_or_else(|| AppError::conflict("no receipt was found for this session (step 6)"))?;
    if receipt.receipt_code != code.as_str() || receipt.id_number != id.as_str() {
        return Err(AppError::invalid(
            "receipt",
            "is not the receipt found at step 6 for this number",
        ));
    }
    let faces = state
        .store
        .face_scores(sid.as_str())
        .await?
        .ok_or_else(|| AppError::conflict("the faces were not compared (step 7)"))?;
    if !faces.passed {
        return Err(AppError::conflict(
            "the face comparison of step 7 did not pass",
        ));
    }
    if request.fee_cny != fee {
        return Err(AppError::invalid(
            "fee_cny",
            format!("the fee for {} is {fee}", business.as_str()),
        ));
    }
    if request.validity != validity.as_str() {
        return Err(AppError::invalid(
            "validity",
            format!("the new card is valid {}", validity.as_str()),
        ));
    }
    if request.issue_by != format_date(deadline) {
        return Err(AppError::invalid(
            "issue_by",
            format!("the card is issued by {}", format_date(deadline)),
        ));
    }
    // Use the receipt. A repeat after a crash between this and the insert finds it used today:
    // the unique receipt column keeps it to one application.
    match state.population.redeem_receipt(&code, &id, today).await? {
        ReceiptOutcome::Usable(_) => {}
        ReceiptOutcome::AlreadyUsed { used_on } if used_on == today => {}
        ReceiptOutcome::AlreadyUsed { .. } => {
            return Err(AppError::conflict_on(
                "receipt",
                "the receipt was used before",
            ))
        }
        ReceiptOutcome::Expired { .. } => {
            return Err(AppError::conflict_on("receipt", "the receipt has expired"))
        }
        ReceiptOutcome::NotFound => {
            return Err(AppError::conflict_on("receipt", "the receipt is unknown"))
        }
        ReceiptOutcome::OtherPerson => {
            return Err(AppError::conflict_on(
                "receipt",
                "the receipt was made for another id number",
            ))
        }
    }
    let fingers = serde_json::to_string(&request.fingers)
        .map_err(|err| AppError::internal("fingers", err))?;
    let new = NewApplication {
        session_id: sid.as_str().to_owned(),
        kiosk_id: kiosk.0.clone(),
        city_code: state.kiosk_city.code().to_owned(),
        id_number: id.clone(),
        name: record.name.clone(),
        nation_code: record.nation_code.clone(),
        address: record.address.clone(),
        business,
        household,
        receipt_code: code.as_str().to_owned(),
        mobile: mobile.as_str().to_owned(),
        fee_cny: fee,
        validity,
        accepted_on: today,
        issue_by: deadline,
        remote_area: record.remote_area,
        fingers,
        collection_office: state
            .config
            .office_of_kiosk(&kiosk.0)
            .map(|office| office.code.clone()),
        now: state.now(),
    };
    let (created, _) = match state.store.create_application(&new).await {
        Ok(created) => created,
        // Another session of this citizen filed first (two kiosks racing): one live application.
        Err(store::StoreError::Rejected(_))
            if state
                .store
                .live_application_of(id.as_str())
                .await?
                .is_some() =>
        {
            return Err(crate::scope::out_of_scope_code("application_in_progress"));
        }
        Err(store::StoreError::Rejected(reason)) => {
            return Err(AppError::conflict_on(
                "receipt",
                format!("the application was refused: {reason}"),
            ))
        }
        Err(other) => return Err(other.into()),
    };
    tracing::info!(
        session = sid.as_str(),
        application = created.application_no,
        id = %id.masked(),
        "application accepted"
    );
    Ok(Json(ApplicationAnswer {
        application_no: created.application_no,
        issue_by: format_date(created.issue_by),
    }))
}

/// `POST /v1/sessions/{sid}/end`: records the outcome (the first one wins). A completed session
/// completes its application; a referred one refers it, and any payment it made is flagged
/// `void_required` (the money must go back).
pub async fn end(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path(sid): Path<String>,
    JsonBody(outcome): JsonBody<crate::outcome::OutcomeJson>,
) -> Result<StatusCode, AppError> {
    let outcome = outcome.into_outcome()?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    let json = serde_json::to_string(&outcome).map_err(|err| AppError::internal("outcome", err))?;
    let stored = state
        .store
        .end_session(sid.as_str(), &json, state.now())
        .await?;
    let outcome: SessionOutcome =
        serde_json::from_str(&stored).map_err(|err| AppError::internal("stored outcome", err))?;
    if let Some(application) = state.store.application_by_session(sid.as_str()).await? {
        match outcome {
            SessionOutcome::Completed { .. } => {
                // Completed and queued for the population system in one transaction.
                if state
                    .store
                    .complete_application(&application.application_no, state.now())
                    .await?
                {
                    crate::delivery::wake(&state);
                }
            }
            SessionOutcome::Referred { .. } => {
                state
                    .store
                    .finish_application(&application.application_no, KioskStatus::Referred)
                    .await?;
                crate::payments::flag_paid_for_void(&state, &application.application_no).await?;
            }
            SessionOutcome::PortraitFormPrinted => {}
        }
    } else {
        // Retention (issue 14): everything a session without application captured is deleted
        // when it ends, its video too, unless the policy keeps that for audit (sealed, as
        // `audit_video`, purged after its own shorter retention).
        let deleted = crate::blobs::discard_unfinished(&state, sid.as_str())
            .await
            .map_err(|err| AppError::Internal(err.context("deleting a session's captures")))?;
        tracing::info!(
            session = sid.as_str(),
            deleted,
            "captures of a session without application deleted"
        );
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The session's blob `kind`, or a 409 naming it.
pub(crate) async fn required_blob(
    state: &AppState,
    sid: &str,
    kind: &str,
) -> Result<Vec<u8>, AppError> {
    state
        .blobs
        .get(sid, kind)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| AppError::conflict_on(kind.to_owned(), format!("no {kind} was uploaded")))
}

/// The bars of step 7: the fleet configuration's when an operator has stored one (so a change
/// reaches every kiosk at once), else the bureau configuration's. The kiosk obeys the verdict.
pub(crate) async fn face_thresholds(state: &AppState) -> Result<face::Thresholds, AppError> {
    let Some(record) = state.store.latest_fleet_config().await? else {
        return Ok(state.config.face_thresholds);
    };
    let fleet: kiosk_wire::fleet::KioskConfig = serde_json::from_str(&record.config)
        .map_err(|err| AppError::internal("the stored fleet configuration", err))?;
    Ok(face::Thresholds {
        certified: fleet.thresholds.face_certified,
        live: fleet.thresholds.face_live,
    })
}
