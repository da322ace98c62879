//! A session belongs to the kiosk that first used its id (docs/kiosk-api.md): every step's handler
//! opens it here, so the steps, payment and paper handlers need not import one another.

use domain::session::SessionId;

use crate::auth::KioskId;
use crate::error::AppError;
use crate::AppState;

/// Checks the session id of the path and registers the session for `kiosk`; a session another
/// kiosk started is not this kiosk's to see (404).
pub(crate) async fn open_session(
    state: &AppState,
    kiosk: &KioskId,
    sid: &str,
) -> Result<SessionId, AppError> {
    let id = SessionId::parse(sid).map_err(|err| AppError::invalid("sid", err.to_string()))?;
    let owner = state
        .store
        .start_session(id.as_str(), &kiosk.0, state.now())
        .await?;
    if owner != kiosk.0 {
        return Err(AppError::NotFound(format!(
            "no session {sid} for this kiosk"
        )));
    }
    Ok(id)
}
