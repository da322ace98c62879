//! [`StaffSession`]: the one check of a staff member's request, cookie → session → role → CSRF,
//! used by the console's pages (through its router's guard) and by the fleet view's
//! [`crate::fleet::Operator`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use store::staff::token_hash;
use subtle::ConstantTimeEq;

use super::{Role, StaffError, IDLE_SECS, SESSION_COOKIE};
use crate::AppState;

/// The header carrying the session's CSRF token on a script's write (the fleet's configuration).
/// The console's HTML forms send it as their `csrf` field instead (see [`SentCsrf`]).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in staff member whose role the route admits (and, on a write, who sent the session's
/// CSRF token). Extracting it checks all of that, touches the session's idle expiry, and keeps
/// the result in the request, so a second extraction costs nothing.
#[derive(Debug, Clone)]
pub struct StaffSession {
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// This session's CSRF token (for the forms of the page).
    pub csrf: String,
    /// The stored hash of the cookie's token (to end the session).
    pub(crate) token_hash: String,
}

/// The roles a request's route admits: the console's router sets it from [`super::ROUTES`], the
/// fleet's operator check to administrators. A request without it admits administrators only.
#[derive(Debug, Clone, Copy)]
pub struct Admits(pub &'static [Role]);

impl Admits {
    /// Administrators only.
    pub const ADMINISTRATORS: Admits = Admits(&[Role::Administrator]);
}

/// The `csrf` field of a console form, which the console's router lifts from the body (an
/// extractor of the request's head cannot read it).
#[derive(Debug, Clone)]
pub(crate) struct SentCsrf(pub String);

/// Why a request gets no [`StaffSession`].
#[derive(Debug)]
pub enum Refused {
    /// No session cookie, or an unknown, idle or expired session: sign in.
    Anonymous,
    /// A stored role this route does not admit (`None`: a role this center does not know).
    Role {
        /// Whose session.
        username: String,
        /// The session's role.
        role: Role,
    },
    /// A write without the session's CSRF token.
    Csrf,
    /// The store failed.
    Store(store::StoreError),
}

impl From<store::StoreError> for Refused {
    fn from(err: store::StoreError) -> Refused {
        Refused::Store(err)
    }
}

/// The console's answer: the login page for the anonymous, an HTML refusal otherwise.
impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Anonymous => Redirect::to("/staff/login").into_response(),
            Refused::Role { role, .. } => StaffError::Forbidden(format!(
                "这个页面不对{}开放 This page is not open to the role {}",
                role.label(),
                role.as_str()
            ))
            .into_response(),
            Refused::Csrf => StaffError::Forbidden(
                "表单已过期，请刷新页面 The form's CSRF token is missing or wrong: reload the page"
                    .into(),
            )
            .into_response(),
            Refused::Store(err) => StaffError::from(err).into_response(),
        }
    }
}

/// GET, HEAD and OPTIONS change nothing, so they carry no CSRF token.
pub(crate) fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `a == b` in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = Refused;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<StaffSession, Refused> {
        if let Some(session) = parts.extensions.get::<StaffSession>() {
            return Ok(session.clone());
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(SESSION_COOKIE)
            .map(|cookie| cookie.value())
            .filter(|token| !token.is_empty())
            .ok_or(Refused::Anonymous)?;
        let hash = token_hash(token);
        let now = state.now();
        let session = state
            .store
            .staff_session(&hash, now)
            .await?
            .ok_or(Refused::Anonymous)?;
        let ends_at = session.created_at + state.staff.session_lifetime_secs;
        if ends_at <= now {
            // Past the absolute lifetime, however active.
            state.store.delete_staff_session(&hash).await?;
            return Err(Refused::Anonymous);
        }
        let admits = parts
            .extensions
            .get::<Admits>()
            .copied()
            .unwrap_or(Admits::ADMINISTRATORS);
        let role = session.role;
        if !admits.0.contains(&role) {
            return Err(Refused::Role {
                username: session.username,
                role,
            });
        }
        if is_write(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .or_else(|| {
                    parts
                        .extensions
                        .get::<SentCsrf>()
                        .map(|sent| sent.0.as_str())
                })
                .unwrap_or("");
            if !same_secret(sent, &session.csrf) {
                return Err(Refused::Csrf);
            }
        }
        state
            .store
            .touch_staff_session(&hash, now, (now + IDLE_SECS).min(ends_at))
            .await?;
        let session = StaffSession {
            username: session.username,
            role,
            csrf: session.csrf,
            token_hash: hash,
        };
        parts.extensions.insert(session.clone());
        Ok(session)
    }
}
