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
use axum_extra::headers::authorization::{Basic, Bearer};
use axum_extra::headers::{Authorization, HeaderMapExt};

use crate::error::AppError;
use crate::staff::{same_secret, Admits, Refused, StaffSession};
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
pub use crate::staff::CSRF_HEADER;

fn refusal(status: StatusCode, message: &str) -> Response {
    (status, Json(crate::error::ErrorBody::new(message))).into_response()
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Operator, Response> {
        // An administrator's console session: the console's own check, answered in JSON.
        parts.extensions.insert(Admits::ADMINISTRATORS);
        match StaffSession::from_request_parts(parts, state).await {
            Ok(session) => return Ok(Operator(session.username)),
            Err(Refused::Anonymous) => {}
            Err(Refused::Role { username, .. }) => {
                tracing::warn!(user = %username, "fleet refused: not an administrator");
                return Err(refusal(StatusCode::FORBIDDEN, "administrators only"));
            }
            Err(Refused::Csrf) => {
                return Err(refusal(
                    StatusCode::FORBIDDEN,
                    "the session's CSRF token is missing or wrong",
                ))
            }
            Err(Refused::Store(err)) => return Err(AppError::from(err).into_response()),
        }
        // Scripts: the token as a bearer token, or as the password of HTTP Basic (the browser's
        // prompt, any user name).
        let presented = parts
            .headers
            .typed_get::<Authorization<Bearer>>()
            .map(|bearer| bearer.token().to_owned())
            .or_else(|| {
                parts
                    .headers
                    .typed_get::<Authorization<Basic>>()
                    .map(|basic| basic.password().to_owned())
            });
        match (&state.fleet.operator_token, presented) {
            (Some(expected), Some(token)) if same_secret(expected, &token) => {
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
