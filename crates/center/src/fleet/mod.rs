//! Fleet operations (issue 9, item 2; `docs/fleet.md`): the center's CA and kiosk enrolment
//! ([`ca`]), heartbeats with device health ([`heartbeat`]), the fleet view ([`view`]) and the
//! versioned remote configuration ([`config`]).
//!
//! Who may call what:
//! - kiosks (mutual TLS or the shared secret, [`crate::tls::require_kiosk`]):
//!   `POST /v1/fleet/heartbeat`, `GET /v1/fleet/config?since=V`;
//! - operators ([`Operator`]): `GET /fleet`, `GET /v1/fleet/kiosks`, `PUT /v1/fleet/config`. An
//!   operator is a staff console session (`crate::staff`) with the administrator role (a write
//!   also carries the session's CSRF token in `X-CSRF-Token`), or, for scripts and monitoring,
//!   `Authorization: Bearer <token>` / HTTP Basic with the token as password, against
//!   [`FleetSettings::operator_token`] (none configured: only administrators).
//!
//! Invariants: the fleet view holds no personal data (kiosk ids, device states, counts; device
//! reasons are scrubbed of anything that looks like an ID number); nothing is kept in memory, so
//! any replica serves any call.

pub mod ca;
pub mod config;
pub mod heartbeat;
pub mod view;

use std::time::Duration;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, put},
    Json, Router,
};
use base64::Engine as _;

use crate::auth::constant_time_eq;
use crate::AppState;

/// The fleet's tunables (a field of [`AppState`]).
#[derive(Clone)]
pub struct FleetSettings {
    /// A kiosk not heard from for longer is flagged `silent` (default 2 minutes).
    pub silent_after: Duration,
    /// The operators' token for the fleet view and configuration; `None` refuses operators.
    pub operator_token: Option<String>,
    /// Refuse the shared secret: kiosks must come over mutual TLS (default false, so the plain
    /// HTTP listener keeps working during the move to TLS).
    pub require_client_certificate: bool,
}

impl std::fmt::Debug for FleetSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetSettings")
            .field("silent_after", &self.silent_after)
            .field("operator_token", &self.operator_token.as_ref().map(|_| "…"))
            .field(
                "require_client_certificate",
                &self.require_client_certificate,
            )
            .finish()
    }
}

impl Default for FleetSettings {
    fn default() -> FleetSettings {
        FleetSettings {
            silent_after: Duration::from_secs(120),
            operator_token: None,
            require_client_certificate: false,
        }
    }
}

/// The routes for operators (each handler takes an [`Operator`]); the kiosks' fleet routes are
/// registered with the other kiosk routes in [`crate::app`].
pub fn operator_routes() -> Router<AppState> {
    Router::new()
        .route("/fleet", get(view::page))
        .route("/v1/fleet/kiosks", get(view::kiosks))
        .route("/v1/fleet/config", put(config::put))
        .route(
            "/v1/reconciliation/unionpay",
            axum::routing::post(crate::settlement::endpoint),
        )
}

/// An authenticated operator, by name (`operator` for the token, the staff user name for an
/// administrator's session). Extracting it refuses anyone else: `403` for a staff session of
/// another role or a write without the session's CSRF token, otherwise `401` (with a Basic
/// challenge when a token is configured), or `303` to the staff login for the `/fleet` page when
/// no token is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(pub String);

/// The header carrying the staff session's CSRF token on a write.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn refusal(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// An administrator's staff session, if the request carries one; `Err` refuses the request.
async fn staff_administrator(parts: &Parts, state: &AppState) -> Result<Option<String>, Response> {
    use crate::staff::{cookie, Role, IDLE_SECS, SESSION_COOKIE};
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = store::staff::token_hash(&token);
    let now = state.now();
    let session = match state.store.staff_session(&hash, now).await {
        Ok(Some(session)) => session,
        Ok(None) => return Ok(None),
        Err(err) => return Err(crate::error::AppError::from(err).into_response()),
    };
    if Role::parse(&session.role) != Some(Role::Administrator) {
        tracing::warn!(user = %session.username, "fleet refused: not an administrator");
        return Err(refusal(StatusCode::FORBIDDEN, "administrators only"));
    }
    if parts.method != axum::http::Method::GET {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()) {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "the session's CSRF token is missing or wrong",
            ));
        }
    }
    if let Err(err) = state
        .store
        .touch_staff_session(&hash, now, now + IDLE_SECS)
        .await
    {
        return Err(crate::error::AppError::from(err).into_response());
    }
    Ok(Some(session.username))
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Operator, Response> {
        if let Some(user) = staff_administrator(parts, state).await? {
            return Ok(Operator(user));
        }
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                if let Some(token) = v.strip_prefix("Bearer ") {
                    Some(token.to_owned())
                } else {
                    let basic = v.strip_prefix("Basic ")?;
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(basic.trim())
                        .ok()?;
                    let text = String::from_utf8(decoded).ok()?;
                    text.split_once(':')
                        .map(|(_, password)| password.to_owned())
                }
            });
        match (&state.fleet.operator_token, presented) {
            (Some(expected), Some(token))
                if constant_time_eq(expected.as_bytes(), token.as_bytes()) =>
            {
                Ok(Operator("operator".into()))
            }
            (None, _) if parts.uri.path() == "/fleet" => {
                Err(axum::response::Redirect::to("/staff/login").into_response())
            }
            (token, _) => {
                tracing::warn!(path = %parts.uri.path(), "fleet operator call refused");
                let mut response = refusal(StatusCode::UNAUTHORIZED, "unauthorized");
                if token.is_some() {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        header::HeaderValue::from_static("Basic realm=\"idkiosk fleet\""),
                    );
                }
                Err(response)
            }
        }
    }
}

/// Replaces every run of 15 or more digits (an ID number may hide in a device's free text, e.g.
/// a card reader echoing what it read) with `*`s, and cuts the text to 200 characters.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().take(200).collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == 'X' || chars[i] == 'x') {
            i += 1;
        }
        let run = &chars[start..i];
        if run.len() >= 15 && run.iter().filter(|c| c.is_ascii_digit()).count() >= 14 {
            out.extend(std::iter::repeat_n('*', run.len()));
        } else {
            out.extend(run);
        }
        if i < chars.len() && i == start {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_masks_id_numbers_only() {
        assert_eq!(scrub("toner-low"), "toner-low");
        assert_eq!(scrub("error 0x1F code 42"), "error 0x1F code 42");
        assert_eq!(
            scrub("read 32010419901010123X ok"),
            "read ****************** ok"
        );
        assert_eq!(scrub(&"a".repeat(300)).len(), 200);
    }
}
