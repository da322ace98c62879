//! Cancelled by staff (issue 17 item 1, docs/staff.md "Cancelling an application"): a window
//! clerk cancels an application before production, with a reason.
//!
//! Invariants:
//! - The move is `store::Store::advance_application` (compare-and-set, its audit entry in the same
//!   transaction): the clerk is the actor and the reason is kept with the transition.
//! - Only a state [`domain::journey::transition`] lets cancel moves; any other is refused (409)
//!   naming it, and nothing is written. An empty reason is refused (400) naming `reason`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::journey::{ApplicationState, JourneyEvent};
use serde::Deserialize;
use store::journey::Advance;
use store::StoreError;

use super::{collection, StaffError, StaffSession};
use crate::AppState;

/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// Whether staff may cancel an application in `state` (the record page shows the form then).
pub fn can_cancel(state: ApplicationState) -> bool {
    domain::journey::transition(state, JourneyEvent::Cancel).is_ok()
}

/// The cancel form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CancelForm {
    reason: String,
}

/// The refusal of a state that cannot be cancelled.
fn not_cancellable(from: ApplicationState) -> Response {
    collection::refusal_titled(
        StatusCode::CONFLICT,
        "不能撤销 Cannot cancel",
        &format!(
            "该申请当前状态为\u{201c}{}\u{201d}，不能撤销 / The application is {}; it cannot be cancelled",
            from.label_zh(),
            from.as_str()
        ),
    )
}

/// `POST /staff/applications/{no}/cancel`: moves the application to `cancelled` with the clerk's
/// reason, then back to its record page.
pub async fn cancel(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(no): Path<String>,
    Form(form): Form<CancelForm>,
) -> Result<Response, StaffError> {
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(StaffError::BadRequest(format!(
            "reason: a reason is required (at most {MAX_REASON_CHARS} characters) 请填写撤销原因"
        )));
    }
    let current = state
        .store
        .application_state(&no)
        .await?
        .ok_or_else(|| StaffError::NotFound(format!("no application {no}")))?;
    if !can_cancel(current) {
        return Ok(not_cancellable(current));
    }
    let advance = Advance {
        application_no: no.clone(),
        to: ApplicationState::Cancelled,
        actor: staff.username.clone(),
        role: staff.role.as_str().to_owned(),
        reason: Some(reason.to_owned()),
        at: state.now(),
        notice: None,
    };
    match state.store.advance_application(&advance).await {
        Ok(_) => {
            tracing::info!(application = %no, clerk = %staff.username, "application cancelled");
            Ok(Redirect::to(&format!("/staff/applications/{no}")).into_response())
        }
        Err(StoreError::Transition(refused)) => Ok(not_cancellable(refused.from)),
        Err(StoreError::UnknownApplication(no)) => {
            Err(StaffError::NotFound(format!("no application {no}")))
        }
        Err(err) => Err(err.into()),
    }
}
