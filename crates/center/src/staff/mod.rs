//! The staff console (docs/staff.md): server-rendered HTML for a desktop browser, in the center.
//!
//! Invariants:
//! - Every route but the login page is built from [`ROUTES`], one table that carries each route's
//!   roles; the router wraps every entry in [`guard`], which extracts a [`StaffSession`] before the
//!   handler runs: an anonymous request gets 303 to the login page, a wrong role 403, a POST
//!   without the session's CSRF token 403. A test walks the same table, so a route cannot be added
//!   without its check. The fleet view's operators go through the same extractor.
//! - Sessions are server-side (`staff_sessions`), the cookie holds a random token (HttpOnly,
//!   SameSite=Strict, `Secure` over TLS), idle expiry [`IDLE_SECS`] and an absolute lifetime
//!   ([`StaffSettings::session_lifetime_secs`]); 5 failed logins lock an account for 15 minutes.
//! - Every refused login gets the same answer ([`REFUSED`], 401) after exactly one Argon2
//!   verification, whether the name is unknown, locked, disabled or the password wrong; unknown
//!   names count failures and lock like accounts. Failed logins are throttled per client address
//!   (429 after [`LoginThrottle::max_failures`] in a window).
//! - Every view of a citizen's record, photo, signature, fingerprint image, video or document
//!   appends an entry to the audit chain (`store::audit`) *before* the data is sent; if the audit
//!   write fails, nothing is shown.
//! - Citizens are found by application number or full 18-character ID number only (never by name),
//!   and the search is a POST so the ID number stays out of URLs and access logs.

mod cancel;
mod collection;
mod compliance;
mod html;
mod labels;
mod pages;
mod session;

pub use session::{same_secret, Admits, Refused, StaffSession, CSRF_HEADER};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Form, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use store::audit::checkpoint::{Anchored, AuditAnchor};
use store::audit::{AuditEntry, NewAuditEntry};
use store::staff::{normalize_username, token_hash};

use crate::AppState;
use session::SentCsrf;

/// The session cookie.
pub const SESSION_COOKIE: &str = "idk_staff";
/// The login form's double-submit CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "idk_staff_login";
/// Idle expiry of a staff session (30 minutes).
pub const IDLE_SECS: i64 = 30 * 60;
/// Failed logins in a row that lock an account.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account stays locked (15 minutes).
pub const LOCK_SECS: i64 = 15 * 60;
/// The largest staff form body.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// Absolute lifetime of a staff session, whatever the activity (12 hours).
pub const SESSION_LIFETIME_SECS: i64 = 12 * 60 * 60;

/// Throttling of failed logins per client address (per center process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failed logins from one address in one window before it is refused (429).
    pub max_failures: u32,
    /// The window, in seconds.
    pub window_secs: i64,
}

impl Default for LoginThrottle {
    fn default() -> LoginThrottle {
        LoginThrottle {
            max_failures: 20,
            window_secs: 15 * 60,
        }
    }
}

/// The console's settings and its per-process state (the throttle's counts, the count of
/// password verifications). Cloning shares the state.
#[derive(Clone)]
pub struct StaffSettings {
    /// Absolute session lifetime in seconds ([`SESSION_LIFETIME_SECS`]).
    pub session_lifetime_secs: i64,
    /// Mark the cookies `Secure`: the console is served over HTTPS (by a TLS-terminating proxy).
    /// A request that came over the center's own TLS listener gets `Secure` cookies anyway.
    pub secure_cookies: bool,
    /// Failed logins per client address.
    pub login_throttle: LoginThrottle,
    /// Behind a reverse proxy: the header holding the client's address (`X-Forwarded-For`; its
    /// last value is used). `None`: the TCP peer address.
    pub client_address_header: Option<String>,
    /// Where the audit chain's head is anchored (signed checkpoints); `None`: not anchored.
    pub audit_anchor: Option<Arc<AuditAnchor>>,
    throttle_counts: Arc<Mutex<HashMap<IpAddr, (i64, u32)>>>,
    verifications: Arc<AtomicU64>,
}

impl Default for StaffSettings {
    fn default() -> StaffSettings {
        StaffSettings {
            session_lifetime_secs: SESSION_LIFETIME_SECS,
            secure_cookies: false,
            login_throttle: LoginThrottle::default(),
            client_address_header: None,
            audit_anchor: None,
            throttle_counts: Arc::default(),
            verifications: Arc::default(),
        }
    }
}

impl std::fmt::Debug for StaffSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffSettings")
            .field("session_lifetime_secs", &self.session_lifetime_secs)
            .field("secure_cookies", &self.secure_cookies)
            .field("login_throttle", &self.login_throttle)
            .field("client_address_header", &self.client_address_header)
            .field("audit_anchor", &self.audit_anchor)
            .finish()
    }
}

impl StaffSettings {
    /// How many Argon2 password verifications the login form has run (one per login attempt
    /// that was not throttled): the same code path for every name, known or not.
    pub fn password_verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Whether `address` has used up its failed logins in the current window.
    fn throttled(&self, address: Option<IpAddr>, now: i64) -> Option<i64> {
        let address = address?;
        let counts = self
            .throttle_counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (start, failures) = *counts.get(&address)?;
        let retry = start + self.login_throttle.window_secs - now;
        (retry > 0 && failures >= self.login_throttle.max_failures).then_some(retry)
    }

    fn count_failure(&self, address: Option<IpAddr>, now: i64) {
        let Some(address) = address else { return };
        let window = self.login_throttle.window_secs;
        let mut counts = self
            .throttle_counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now - *start < window);
        }
        let entry = counts.entry(address).or_insert((now, 0));
        if now - entry.0 >= window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    fn client_address(
        &self,
        headers: &HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Option<IpAddr> {
        if let Some(name) = &self.client_address_header {
            return headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .last()
                .and_then(|value| value.trim().parse().ok());
        }
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
    }

    /// A console cookie: HttpOnly, SameSite=Strict, and `Secure` over HTTPS.
    fn cookie(
        &self,
        extensions: &axum::http::Extensions,
        name: &'static str,
        value: String,
        path: &'static str,
    ) -> Cookie<'static> {
        let over_tls = extensions.get::<crate::tls::ClientCertificate>().is_some();
        Cookie::build((name, value))
            .path(path)
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure_cookies || over_tls)
            .build()
    }
}

pub use store::staff::Role;

const ANY_ROLE: &[Role] = &[Role::WindowClerk, Role::Auditor, Role::Administrator];
const CLERK: &[Role] = &[Role::WindowClerk];
const AUDIT: &[Role] = &[Role::Auditor, Role::Administrator];
const ADMIN: &[Role] = &[Role::Administrator];

/// One guarded route of the console.
pub struct StaffRoute {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The axum path.
    pub path: &'static str,
    /// A concrete path for tests (placeholders filled in).
    pub example: &'static str,
    /// Who may use it.
    pub roles: &'static [Role],
    /// The handler.
    pub handler: fn() -> MethodRouter<AppState>,
}

/// Every guarded route: the router is built from this table and only from it.
pub const ROUTES: &[StaffRoute] = &[
    StaffRoute {
        method: "GET",
        path: "/staff",
        example: "/staff",
        roles: ANY_ROLE,
        handler: || get(pages::home),
    },
    StaffRoute {
        method: "POST",
        path: "/staff/logout",
        example: "/staff/logout",
        roles: ANY_ROLE,
        handler: || post(logout),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/today",
        example: "/staff/today",
        roles: CLERK,
        handler: || get(pages::today),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/referrals",
        example: "/staff/referrals",
        roles: CLERK,
        handler: || get(pages::referrals),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/referrals/{sid}",
        example: "/staff/referrals/S-0001",
        roles: CLERK,
        handler: || get(pages::referral),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/applications",
        example: "/staff/applications",
        roles: CLERK,
        handler: || get(pages::search_form),
    },
    StaffRoute {
        method: "POST",
        path: "/staff/applications/search",
        example: "/staff/applications/search",
        roles: CLERK,
        handler: || post(pages::search),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/applications/{no}",
        example: "/staff/applications/320100202611250001",
        roles: CLERK,
        handler: || get(pages::application),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/applications/{no}/images/{kind}",
        example: "/staff/applications/320100202611250001/images/live_photo",
        roles: CLERK,
        handler: || get(pages::image),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/applications/{no}/video",
        example: "/staff/applications/320100202611250001/video",
        roles: CLERK,
        handler: || get(pages::video),
    },
    StaffRoute {
        method: "POST",
        path: "/staff/applications/{no}/documents/{kind}",
        example: "/staff/applications/320100202611250001/documents/certificate",
        roles: CLERK,
        handler: || post(pages::reprint),
    },
    StaffRoute {
        method: "POST",
        path: "/staff/applications/{no}/cancel",
        example: "/staff/applications/320100202611250001/cancel",
        roles: CLERK,
        handler: || post(cancel::cancel),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/deadlines",
        example: "/staff/deadlines",
        roles: CLERK,
        handler: || get(pages::deadlines),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/compliance",
        example: "/staff/compliance",
        roles: compliance::ROLES,
        handler: || get(compliance::page),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/compliance.csv",
        example: "/staff/compliance.csv",
        roles: compliance::ROLES,
        handler: || get(compliance::csv),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/collection",
        example: "/staff/collection",
        roles: CLERK,
        handler: || get(collection::scan),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/collection/{no}",
        example: "/staff/collection/320100202611250001",
        roles: CLERK,
        handler: || get(collection::application),
    },
    StaffRoute {
        method: "POST",
        path: collection::COLLECT_PATH,
        example: "/staff/collection/320100202611250001",
        roles: CLERK,
        handler: || post(collection::collect),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/audit",
        example: "/staff/audit",
        roles: AUDIT,
        handler: || get(pages::audit_page),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/audit/export.csv",
        example: "/staff/audit/export.csv",
        roles: AUDIT,
        handler: || get(pages::audit_export),
    },
    StaffRoute {
        method: "GET",
        path: "/staff/accounts",
        example: "/staff/accounts",
        roles: ADMIN,
        handler: || get(pages::accounts),
    },
    StaffRoute {
        method: "POST",
        path: "/staff/accounts",
        example: "/staff/accounts",
        roles: ADMIN,
        handler: || post(pages::create_account),
    },
];

/// The only routes without [`guard`]: the login page and its form.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[("GET", "/staff/login"), ("POST", "/staff/login")];

/// The staff console's routes, to merge into the center's router.
pub fn router(state: AppState) -> Router<AppState> {
    let mut router = Router::new().route(
        "/staff/login",
        get(login_page)
            .post(login)
            .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
    );
    for route in ROUTES {
        let guarded = (route.handler)().layer(middleware::from_fn_with_state(
            Guard {
                state: state.clone(),
                roles: route.roles,
                // The window's hand-over carries a photo.
                max_body: if route.path == collection::COLLECT_PATH {
                    collection::MAX_UPLOAD_BYTES
                } else {
                    MAX_FORM_BYTES
                },
            },
            guard,
        ));
        router = router.route(route.path, guarded);
    }
    router
}

#[derive(Clone)]
struct Guard {
    state: AppState,
    roles: &'static [Role],
    max_body: usize,
}

/// The check of every route of [`ROUTES`], before its handler: [`StaffSession`] with the route's
/// roles (and, on a POST, the form's `csrf` field); pages are never cached.
async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(Admits(guard.roles));
    let body = if session::is_write(&parts.method) {
        let Ok(bytes) = axum::body::to_bytes(body, guard.max_body).await else {
            return StaffError::BadRequest("form too large".into()).into_response();
        };
        let sent = match collection::multipart_csrf(&parts.headers, &bytes).await {
            Some(csrf) => csrf,
            None => form_csrf(&bytes),
        };
        parts.extensions.insert(SentCsrf(sent));
        Body::from(bytes)
    } else {
        body
    };
    if let Err(refused) = StaffSession::from_request_parts(&mut parts, &guard.state).await {
        return refused.into_response();
    }
    let mut response = next.run(Request::from_parts(parts, body)).await;
    // Citizens' data must not stay in the browser's cache.
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(header::HeaderValue::from_static("no-store"));
    response
}

/// A form's `csrf` field (empty if there is none, or the body is not a form).
fn form_csrf(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Csrf {
        #[serde(default)]
        csrf: String,
    }
    serde_urlencoded::from_bytes::<Csrf>(body)
        .map(|form| form.csrf)
        .unwrap_or_default()
}

/// A fresh random token (256 bits, hex).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password with Argon2id (the `argon2` crate's defaults: m = 19 MiB, t = 2, p = 1) and a
/// random salt, as a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|err| anyhow::anyhow!("salt: {err}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|err| anyhow::anyhow!("argon2: {err}"))?
        .to_string())
}

/// Checks a password against a PHC string (false for a malformed hash).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password matches, verified for unknown users so they take as long as known ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// Rules for a new account's name and password.
pub fn check_new_account(username: &str, password: &str) -> Result<(), String> {
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("user names are 1–64 characters: letters, digits, '.', '_', '-'".into());
    }
    if password.chars().count() < 10 {
        return Err("a password has at least 10 characters".into());
    }
    Ok(())
}

/// Appends an audit entry for `staff`; the caller shows nothing if this fails.
pub(crate) async fn audit(
    state: &AppState,
    staff: &StaffSession,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), StaffError> {
    append_audit(
        state,
        &NewAuditEntry {
            at: state.now(),
            actor: staff.username.clone(),
            role: staff.role.as_str().to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_owned(),
        },
    )
    .await?;
    Ok(())
}

/// Appends an entry to the audit chain and, when one is due, writes a signed checkpoint of the new
/// head ([`StaffSettings::audit_anchor`]). The center's code appends through this function.
pub async fn append_audit(
    state: &AppState,
    entry: &NewAuditEntry,
) -> Result<AuditEntry, store::StoreError> {
    let stored = state.store.append_audit(entry).await?;
    if let Some(anchor) = &state.staff.audit_anchor {
        report_anchoring(anchor.offer(stored.seq, &stored.hash, state.now(), false));
    }
    Ok(stored)
}

/// Writes a checkpoint of the database's head if one is due by time (or `force`); the center runs
/// this every minute ([`checkpoint_loop`]) so the chain is anchored at least hourly without appends.
pub async fn checkpoint_now(state: &AppState, force: bool) -> anyhow::Result<Anchored> {
    let Some(anchor) = &state.staff.audit_anchor else {
        return Ok(Anchored::NotDue);
    };
    let (entries, head) = state
        .store
        .audit_head()
        .await?
        .unwrap_or((0, store::audit::GENESIS.to_owned()));
    let anchored = anchor.offer(entries, &head, state.now(), force);
    report_anchoring(
        anchored
            .as_ref()
            .map(Clone::clone)
            .map_err(|err| anyhow::anyhow!("{err}")),
    );
    Ok(anchored?)
}

/// The chain check of the console: [`store::Store::verify_audit`], and with an anchor, against
/// every checkpoint of its file as well (a forged or unreadable checkpoint file is a broken chain).
pub(crate) async fn verify_chain(
    state: &AppState,
) -> Result<store::audit::Verification, StaffError> {
    let Some(anchor) = &state.staff.audit_anchor else {
        return Ok(state.store.verify_audit().await?);
    };
    let checkpoints = if anchor.file().exists() {
        match store::audit::checkpoint::read_checkpoints(anchor.file(), &anchor.public_key()) {
            Ok(checkpoints) => checkpoints,
            Err(err) => {
                return Ok(store::audit::Verification::Broken {
                    entry: 0,
                    why: err.to_string(),
                })
            }
        }
    } else {
        Vec::new()
    };
    Ok(state.store.verify_audit_anchored(&checkpoints).await?)
}

/// Every minute: [`checkpoint_now`] (which writes only when `every_secs` passed). Runs forever.
pub async fn checkpoint_loop(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(err) = checkpoint_now(&state, false).await {
            tracing::error!(error = %format!("{err:#}"), "audit checkpoint failed");
        }
    }
}

fn report_anchoring<E: std::fmt::Display>(result: Result<Anchored, E>) {
    match result {
        Ok(Anchored::Written(checkpoint)) => {
            tracing::info!(entries = checkpoint.entries, "audit checkpoint written")
        }
        Ok(Anchored::NotDue) => {}
        Ok(Anchored::Behind { last }) => tracing::error!(
            last = %last.describe(),
            "the audit chain is behind its last checkpoint: entries were removed from the database; \
             run `idkiosk audit verify`"
        ),
        Err(err) => tracing::error!(error = %err, "audit checkpoint could not be written"),
    }
}

/// `110101********123X` for an 18-character ID number; anything else is fully starred.
pub fn mask_id(id: &str) -> String {
    if id.len() == 18 && id.is_ascii() {
        format!("{}********{}", &id[..6], &id[14..])
    } else {
        "*".repeat(id.chars().count())
    }
}

/// What a console request can fail with, as an HTML page.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 500; the cause goes to the log only.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
    /// 503 with `Retry-After`: `service` (the database failing over, the population system) does
    /// not answer for the moment; the cause goes to the log only.
    #[error("{service} unavailable: {cause:#}")]
    Unavailable {
        /// `database`, `population`, …
        service: &'static str,
        /// Why, for the log.
        cause: anyhow::Error,
    },
}

impl From<store::StoreError> for StaffError {
    fn from(err: store::StoreError) -> StaffError {
        if err.is_unavailable() {
            StaffError::Unavailable {
                service: "database",
                cause: err.into(),
            }
        } else {
            StaffError::Internal(err.into())
        }
    }
}

impl From<crate::error::AppError> for StaffError {
    fn from(err: crate::error::AppError) -> StaffError {
        use crate::error::AppError;
        match err {
            AppError::NotFound(message) => StaffError::NotFound(message),
            AppError::Internal(cause) => StaffError::Internal(cause),
            AppError::Unavailable { service, cause } => StaffError::Unavailable { service, cause },
            other => StaffError::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for StaffError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            StaffError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "请求有误 Bad request",
                message.clone(),
            ),
            StaffError::Forbidden(message) => {
                (StatusCode::FORBIDDEN, "无权访问 Forbidden", message.clone())
            }
            StaffError::NotFound(message) => {
                (StatusCode::NOT_FOUND, "未找到 Not found", message.clone())
            }
            StaffError::Internal(cause) if crate::error::database_unavailable(cause) => {
                tracing::warn!(error = %format!("{cause:#}"), "staff console: database unavailable");
                unavailable("database")
            }
            StaffError::Unavailable { service, cause } => {
                tracing::warn!(error = %format!("{cause:#}"), service, "staff console: unavailable");
                unavailable(service)
            }
            StaffError::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "staff console error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "系统错误 Internal error",
                    "something went wrong; see the center's log".to_owned(),
                )
            }
        };
        let retry_after = (status == StatusCode::SERVICE_UNAVAILABLE)
            .then(|| header::HeaderValue::from(crate::error::UNAVAILABLE_RETRY_AFTER_S));
        let page = html::ErrorPage {
            title,
            staff: None,
            message: &message,
        };
        let mut response = match html::render(&page) {
            Ok(body) => (status, body).into_response(),
            // The error page itself failed: say so in plain text.
            Err(_) => (status, message).into_response(),
        };
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The 503 page: which system does not answer, and that a moment later may do.
fn unavailable(service: &str) -> (StatusCode, &'static str, String) {
    let message = match service {
        "database" => "the center's database is not answering (a failover takes about 10 to 15 \
                       seconds): try again in a moment"
            .to_owned(),
        "population" => "the population system is not answering: try again in a moment".to_owned(),
        other => format!("the {other} service is not answering: try again in a moment"),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "暂时无法服务 Temporarily unavailable",
        message,
    )
}

/// `GET /staff/login`: the form, with a fresh double-submit CSRF cookie.
async fn login_page(State(state): State<AppState>, request: Request) -> Response {
    login_form(&state, request.extensions(), None, StatusCode::OK)
}

fn login_form(
    state: &AppState,
    extensions: &axum::http::Extensions,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = random_token();
    let page = html::LoginPage {
        title: "登录 Sign in",
        staff: None,
        csrf: &csrf,
        error,
    };
    let body = match html::render(&page) {
        Ok(body) => body,
        Err(err) => return err.into_response(),
    };
    let jar = CookieJar::new().add(state.staff.cookie(
        extensions,
        LOGIN_CSRF_COOKIE,
        csrf,
        "/staff/login",
    ));
    (status, jar, body).into_response()
}

/// The login form's fields (a missing one is empty).
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

/// `POST /staff/login`.
async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    jar: CookieJar,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = form.map(|Form(form)| form).unwrap_or_default();
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|cookie| cookie.value())
        .unwrap_or_default();
    if expected.is_empty() || !session::same_secret(expected, &form.csrf) {
        return login_form(
            &state,
            &extensions,
            Some("表单已过期，请重试 The form expired (CSRF): try again"),
            StatusCode::FORBIDDEN,
        );
    }
    let now = state.now();
    let address = state.staff.client_address(&headers, &extensions);
    if let Some(retry) = state.staff.throttled(address, now) {
        tracing::warn!(?address, "staff login throttled");
        let mut response = login_form(
            &state,
            &extensions,
            Some(THROTTLED),
            StatusCode::TOO_MANY_REQUESTS,
        );
        if let Ok(value) = header::HeaderValue::from_str(&retry.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    match try_login(&state, &form).await {
        Ok(Ok(token)) => {
            let jar = jar.add(state.staff.cookie(&extensions, SESSION_COOKIE, token, "/"));
            (jar, Redirect::to("/staff")).into_response()
        }
        Ok(Err(())) => {
            state.staff.count_failure(address, now);
            login_form(&state, &extensions, Some(REFUSED), StatusCode::UNAUTHORIZED)
        }
        Err(err) => err.into_response(),
    }
}

/// The one answer to every refused login: unknown name, wrong password, locked or disabled
/// account (so the answer tells nothing about which).
pub const REFUSED: &str = "用户名或密码错误，或账号已锁定（连续 5 次失败锁定 15 分钟）\
     Wrong user name or password, or the account is locked (5 failed logins lock it for 15 minutes)";
/// The answer to a client address with too many failed logins (429).
pub const THROTTLED: &str =
    "登录失败次数过多，请稍后再试 Too many failed logins from this address: try again later";

/// `Ok(Ok(token))` signed in; `Ok(Err(()))` refused ([`REFUSED`]). Every attempt runs exactly one
/// Argon2 verification (against a dummy hash for an unknown name), before looking at locks, so
/// neither the answer nor its timing tells a locked, disabled or unknown name from a wrong password.
async fn try_login(state: &AppState, form: &LoginForm) -> Result<Result<String, ()>, StaffError> {
    let now = state.now();
    let tried: String = form.username.trim().chars().take(64).collect();
    let user = state.store.staff_user(&tried).await?;
    let unknown = match &user {
        Some(_) => None,
        None => state.store.unknown_staff_login(&tried).await?,
    };
    let (actor, role) = match &user {
        Some(user) => (user.username.clone(), user.role.as_str().to_owned()),
        None => (normalize_username(&tried), "-".to_owned()),
    };
    let locked_until = match (&user, &unknown) {
        (Some(user), _) => user.locked_until,
        (None, Some(unknown)) => unknown.locked_until,
        (None, None) => None,
    };
    let phc = user
        .as_ref()
        .map(|user| user.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let password = form.password.clone();
    state.staff.verifications.fetch_add(1, Ordering::Relaxed);
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .map_err(|err| StaffError::Internal(err.into()))?;
    let entry = |action: &str| NewAuditEntry {
        at: now,
        actor: actor.clone(),
        role: role.clone(),
        action: action.to_owned(),
        subject: "-".into(),
        detail: String::new(),
    };
    if locked_until.is_some_and(|until| until > now) {
        append_audit(state, &entry("login_refused_locked")).await?;
        return Ok(Err(()));
    }
    let disabled = user.as_ref().is_some_and(|user| user.disabled_at.is_some());
    if disabled {
        append_audit(state, &entry("login_refused_disabled")).await?;
        return Ok(Err(()));
    }
    let Some(user) = user.filter(|_| ok) else {
        let locked = if role == "-" {
            state
                .store
                .record_unknown_staff_login_failure(&tried, now, MAX_FAILURES, LOCK_SECS)
                .await?
        } else {
            state
                .store
                .record_staff_login_failure(&tried, now, MAX_FAILURES, LOCK_SECS)
                .await?
        };
        append_audit(
            state,
            &entry(if locked {
                "login_locked"
            } else {
                "login_failed"
            }),
        )
        .await?;
        return Ok(Err(()));
    };
    state
        .store
        .clear_staff_login_failures(&user.username)
        .await?;
    let token = random_token();
    state
        .store
        .create_staff_session(
            &token_hash(&token),
            &user.username,
            &random_token(),
            now,
            now + IDLE_SECS.min(state.staff.session_lifetime_secs),
        )
        .await?;
    append_audit(state, &entry("login")).await?;
    Ok(Ok(token))
}

/// `POST /staff/logout`.
async fn logout(
    State(state): State<AppState>,
    staff: StaffSession,
    extensions: axum::http::Extensions,
) -> Result<Response, StaffError> {
    state.store.delete_staff_session(&staff.token_hash).await?;
    audit(&state, &staff, "logout", "-", "").await?;
    let mut gone = state
        .staff
        .cookie(&extensions, SESSION_COOKIE, String::new(), "/");
    gone.make_removal();
    Ok((CookieJar::new().add(gone), Redirect::to("/staff/login")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::testing::{cut, status_and_retry_after};

    // Regression (issue 18): a clerk's page during a database failover was a 500 "internal
    // error"; it is a 503 that says the database is failing over and to try again.
    #[test]
    fn a_database_that_cannot_be_reached_is_503_for_the_clerk() {
        for err in [
            StaffError::from(store::StoreError::Database(cut())),
            StaffError::from(store::StoreError::Database(sqlx::Error::PoolTimedOut)),
            StaffError::from(crate::error::AppError::from(store::StoreError::Database(
                cut(),
            ))),
            StaffError::Internal(
                anyhow::Error::new(store::StoreError::Database(cut())).context("reading a blob"),
            ),
        ] {
            assert_eq!(
                status_and_retry_after(err),
                (StatusCode::SERVICE_UNAVAILABLE, Some("2".to_owned()))
            );
        }
        let rejected = StaffError::from(store::StoreError::Rejected("dup".into()));
        assert_eq!(
            status_and_retry_after(rejected),
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        );
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn forms_and_cookies_parse() {
        assert_eq!(form_csrf(b"a=1&csrf=ab%2Bc+d&x"), "ab+c d");
        assert_eq!(form_csrf(b"a=1"), "");
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "x=1; idk_staff=tok".parse().unwrap());
        let jar = CookieJar::from_headers(&headers);
        assert_eq!(jar.get(SESSION_COOKIE).map(|c| c.value()), Some("tok"));
        assert_eq!(mask_id("32010420001210004X"), "320104********004X");
    }
}
