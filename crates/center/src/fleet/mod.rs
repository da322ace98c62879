//! Fleet operations (issue 9, item 2; `docs/fleet.md`): the center's CA and kiosk enrolment
//! ([`ca`]), heartbeats with device health ([`heartbeat`]), the fleet view ([`view`]) and the
//! versioned remote configuration ([`config`]).
//!
//! Who may call what:
//! - kiosks (mutual TLS or the shared secret, [`crate::tls::require_kiosk`]):
//!   `POST /v1/fleet/heartbeat`, `GET /v1/fleet/config?since=V`;
//! - operators ([`Operator`]: `Authorization: Bearer <token>` or HTTP Basic with any user name and
//!   the token as password, against [`FleetSettings::operator_token`]): `GET /fleet`,
//!   `GET /v1/fleet/kiosks`, `PUT /v1/fleet/config`. No token configured refuses them all. The
//!   staff console's administrator login replaces the token when it lands.
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
}

/// An authenticated operator: extracting it refuses the request (`401` with a Basic challenge)
/// unless it carries the operator token.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Operator, Response> {
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
                Ok(Operator)
            }
            _ => {
                tracing::warn!(path = %parts.uri.path(), "fleet operator call refused");
                Err((
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Basic realm=\"idkiosk fleet\"")],
                    Json(serde_json::json!({"error": "unauthorized"})),
                )
                    .into_response())
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
