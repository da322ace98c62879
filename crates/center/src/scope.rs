//! Steps 2–5: the scope decision. The population system is asked through the interface step 2's
//! choice names (the city's household register for "local", the provincial population system
//! plus the city's floating-population registry for "province"); the decision is bound to the
//! session, and taken again on the record of the moment when the application is submitted.
//!
//! Invariant: "an application is in progress" covers what the population system reports and the
//! center's own live applications, which may not have reached it yet.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use domain::id::CitizenId;
use domain::mask::mask_name;
use domain::rules::{decide, Business, Decision, Household, ScopeCase};
use popsys::CitizenRecord;
use store::deliveries::ScopeDecisionRecord;
use store::lookups::{LookupPurpose, NewLookup};
use time::Date;

use crate::auth::KioskId;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::ownership::open_session;
use crate::wire::{CardJson, MaskedIdentity, ScopeInput, ScopeRequest, ScopeResponse};
use crate::AppState;

/// The citizen's record through the register that step 2's choice names. A number the chosen
/// register does not hold is looked up in the general index, so that the decision can tell a
/// wrong choice or a household outside the province from an unknown number.
pub(crate) async fn population_record(
    state: &AppState,
    household: Household,
    id: &CitizenId,
    today: Date,
) -> Result<Option<CitizenRecord>, AppError> {
    let city = &state.kiosk_city;
    let population = &state.population;
    let mut record = match household {
        Household::Local => population.local_resident(id, city, today).await?,
        Household::Province => match population.provincial_resident(id, city, today).await? {
            Some(mut record) => {
                let entry = population.residence_registration(id, city, today).await?;
                record.floating_registered = entry.is_some_and(|entry| entry.in_force);
                Some(record)
            }
            None => None,
        },
    };
    if record.is_none() {
        record = population.citizen(id, city, today).await?;
    }
    if let Some(record) = record.as_mut() {
        if !record.application_in_progress {
            record.application_in_progress = state
                .store
                .live_application_of(id.as_str())
                .await?
                .is_some();
        }
    }
    Ok(record)
}

/// Records a kiosk's lookup of `id` (masked) and refuses it with 429 past the kiosk's limit per
/// minute. Every path that reads a citizen for a kiosk goes through here first.
pub(crate) async fn lookup(
    state: &AppState,
    kiosk: &KioskId,
    session: Option<&str>,
    purpose: LookupPurpose,
    id: &CitizenId,
) -> Result<(), AppError> {
    let now = state.now();
    let allowed = state
        .store
        .record_lookup(
            &NewLookup {
                kiosk_id: &kiosk.0,
                session_id: session,
                purpose,
                id_masked: &id.masked(),
                at: now,
            },
            now - 59,
            state.config.kiosk_lookups_per_minute,
        )
        .await?;
    if allowed {
        Ok(())
    } else {
        tracing::warn!(
            kiosk = kiosk.0,
            purpose = purpose.as_str(),
            "lookup refused: over the kiosk's limit"
        );
        Err(AppError::TooManyLookups { retry_after_s: 60 })
    }
}

/// The decision for `input` on the record of this moment, with the record.
pub(crate) async fn decide_now(
    state: &AppState,
    input: &ScopeInput,
    today: Date,
) -> Result<(Decision, Option<CitizenRecord>), AppError> {
    let found = population_record(state, input.household, &input.id, today).await?;
    let case = ScopeCase {
        today,
        kiosk_city: state.kiosk_city.clone(),
        business: input.business,
        household: input.household,
        id: input.id.clone(),
        card: input.card.clone(),
        record: found.as_ref().map(CitizenRecord::population_record),
    };
    // validate() guarantees a card for every renewal, the only case decide() refuses.
    let mut decision = decide(&case).map_err(|err| AppError::invalid("card", err.to_string()))?;
    // The bureau's fee (its configuration), not the national default the rules carry.
    if let Decision::Accept { fee_cny, .. } = &mut decision {
        *fee_cny = state.config.fees.for_business(input.business);
    }
    Ok((decision, found))
}

/// The answer: a kiosk learns the masked name only (least knowledge: it shows nothing else), and
/// the payment methods the bureau takes, for step 11's screen.
fn answer(
    state: &AppState,
    decision: &Decision,
    input: &ScopeInput,
    found: Option<CitizenRecord>,
) -> ScopeResponse {
    let identity = found.as_ref().map(|found| MaskedIdentity {
        id_masked: input.id.masked(),
        name_masked: mask_name(&found.name),
    });
    let name = identity
        .as_ref()
        .map(|identity| identity.name_masked.clone());
    crate::wire::scope_response(decision, identity, name, &state.config.payment_methods)
}

/// `POST /v1/scope`: the decision alone, bound to no session (a session's application needs
/// [`session_scope`]).
pub async fn scope(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    JsonBody(request): JsonBody<ScopeRequest>,
) -> Result<Json<ScopeResponse>, AppError> {
    let today = state.today.today();
    let input = crate::wire::validate(&request, today)?;
    lookup(&state, &kiosk, None, LookupPurpose::Scope, &input.id).await?;
    let (decision, found) = decide_now(&state, &input, today).await?;
    tracing::info!(id = %input.id.masked(), reason = decision.reason_code(), "scope decided");
    Ok(Json(answer(&state, &decision, &input, found)))
}

/// `POST /v1/sessions/{sid}/scope`: steps 2–5 of a session. The decision is kept with the
/// session; going back to step 2 and deciding again replaces it.
pub async fn session_scope(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path(sid): Path<String>,
    JsonBody(request): JsonBody<ScopeRequest>,
) -> Result<Json<ScopeResponse>, AppError> {
    let today = state.today.today();
    let input = crate::wire::validate(&request, today)?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    if state
        .store
        .application_by_session(sid.as_str())
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "this session has filed its application: the scope cannot change",
        ));
    }
    lookup(
        &state,
        &kiosk,
        Some(sid.as_str()),
        LookupPurpose::Scope,
        &input.id,
    )
    .await?;
    let (decision, found) = decide_now(&state, &input, today).await?;
    let card = request
        .card
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|err| AppError::internal("card", err))?;
    state
        .store
        .record_scope_decision(
            &ScopeDecisionRecord {
                session_id: sid.as_str().to_owned(),
                id_number: input.id.as_str().to_owned(),
                business: input.business.as_str().to_owned(),
                household: input.household.as_str().to_owned(),
                card,
                reason: decision.reason_code().to_owned(),
            },
            state.now(),
        )
        .await?;
    tracing::info!(
        session = sid.as_str(),
        id = %input.id.masked(),
        reason = decision.reason_code(),
        "scope decided"
    );
    Ok(Json(answer(&state, &decision, &input, found)))
}

/// Step 10's re-check: the session's bound decision must be an acceptance for this citizen,
/// business and household, and the decision taken again now must still accept. Returns the
/// decision's terms and the record.
pub(crate) async fn recheck(
    state: &AppState,
    sid: &str,
    id: &CitizenId,
    business: Business,
    household: Household,
    today: Date,
) -> Result<(Decision, CitizenRecord), AppError> {
    let bound = state.store.scope_decision(sid).await?.ok_or_else(|| {
        AppError::conflict_on("scope", "no scope decision for this session (step 5)")
    })?;
    if bound.id_number != id.as_str() {
        return Err(AppError::invalid(
            "id",
            "is not the number decided at step 5 for this session",
        ));
    }
    if bound.business != business.as_str() {
        return Err(AppError::invalid(
            "business",
            format!("step 5 decided {}", bound.business),
        ));
    }
    if bound.household != household.as_str() {
        return Err(AppError::invalid(
            "household",
            format!("step 5 decided {}", bound.household),
        ));
    }
    if bound.reason != "accept" {
        return Err(out_of_scope_code(&bound.reason));
    }
    let card = bound
        .card
        .as_deref()
        .map(serde_json::from_str::<CardJson>)
        .transpose()
        .map_err(|err| AppError::internal("stored card", err))?;
    let request = ScopeRequest {
        business: business.as_str().to_owned(),
        household: household.as_str().to_owned(),
        id: id.as_str().to_owned(),
        card,
    };
    let input = crate::wire::validate(&request, today)?;
    let (decision, found) = decide_now(state, &input, today).await?;
    match (&decision, found) {
        (Decision::Accept { .. }, Some(record)) => Ok((decision, record)),
        (Decision::Refer(reason), _) => {
            let prompt = reason.prompt();
            Err(AppError::OutOfScope {
                reason: reason.code(),
                prompt_zh: prompt.zh,
                prompt_en: prompt.en,
            })
        }
        (Decision::Accept { .. }, None) => Err(AppError::invalid(
            "id",
            "the population system has no record",
        )),
    }
}

/// Steps 6–7 are for a session whose step 5 accepted this citizen: anything else is refused
/// before the photo system or the face engine is asked.
pub(crate) async fn require_accepted(
    state: &AppState,
    sid: &str,
    id: &CitizenId,
) -> Result<(), AppError> {
    let bound = state.store.scope_decision(sid).await?.ok_or_else(|| {
        AppError::conflict_on("scope", "no scope decision for this session (step 5)")
    })?;
    if bound.id_number != id.as_str() {
        return Err(AppError::invalid(
            "id",
            "is not the number decided at step 5 for this session",
        ));
    }
    if bound.reason != "accept" {
        return Err(out_of_scope_code(&bound.reason));
    }
    Ok(())
}

/// The 409 of a stored refusal's reason code.
pub(crate) fn out_of_scope_code(code: &str) -> AppError {
    match domain::rules::Reason::parse(code) {
        Some(reason) => {
            let prompt = reason.prompt();
            AppError::OutOfScope {
                reason: reason.code(),
                prompt_zh: prompt.zh,
                prompt_en: prompt.en,
            }
        }
        None => AppError::conflict_on("scope", format!("step 5 referred this case ({code})")),
    }
}
