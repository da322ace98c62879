//! [`CenterClient`]: the typed client of the center's session API (`docs/kiosk-api.md`), used by
//! the kiosk and by the center's tests. One async method per call, taking and returning the wire
//! types of this crate.
//! Errors say whether to retry: [`ClientError::Retryable`] for connection failures, timeouts and
//! `5xx` (the call is idempotent by session id, so repeating it is safe), [`ClientError::Refused`]
//! for a `4xx` with the field at fault.

use std::time::Duration;

use domain::session::{SessionId, SessionOutcome};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::fleet::{HeartbeatRequest, HeartbeatResponse, VersionedConfig};
use crate::{
    session_path, ApplicationAnswer, ApplicationRequest, CollectionAnswer, CreatePaymentRequest,
    ErrorBody, FacesAnswer, FacesRequest, IdentityAnswer, IdentityRequest, PaymentAnswer,
    PortraitRequest, PosReport, ReceiptAnswer, ReceiptRequest, ScopeRequest, ScopeResponse,
};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer, or the center (or a system behind it) failed: try again later.
    #[error("center unavailable{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    Retryable {
        /// The HTTP status, when the center answered (5xx).
        status: Option<u16>,
        /// `population`, `face`, `payment`, `documents`, `database` for a 503 naming it.
        service: Option<String>,
        /// A 503's `Retry-After` (seconds): when the center expects to answer again (a full face
        /// queue, a database failing over).
        retry_after: Option<std::time::Duration>,
        /// What happened.
        message: String,
    },
    /// The center refused the call (4xx): repeating it will not help.
    #[error("refused ({status}){}: {message}", field.as_ref().map(|f| format!(" {f}")).unwrap_or_default())]
    Refused {
        /// 400, 401, 404, 409, 422.
        status: u16,
        /// The field at fault, when named.
        field: Option<String>,
        /// The center's reason.
        message: String,
    },
    /// The answer is not what the API says (a version mismatch).
    #[error("unexpected answer: {0}")]
    Malformed(String),
}

impl ClientError {
    /// Whether repeating the call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ClientError::Retryable { .. })
    }

    /// A 503's `Retry-After`, when the center gave one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ClientError::Retryable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when the center answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Retryable { status, .. } => *status,
            ClientError::Refused { status, .. } => Some(*status),
            ClientError::Malformed(_) => None,
        }
    }
}

/// The kiosk's client of the center.
#[derive(Debug, Clone)]
pub struct CenterClient {
    http: reqwest::Client,
    base_url: String,
    kiosk_id: String,
    /// The shared secret (plain HTTP); `None` over mutual TLS, where the certificate says who
    /// the kiosk is.
    secret: Option<String>,
}

impl CenterClient {
    /// A client of the center at `base_url` (`http://127.0.0.1:7400`) for kiosk `kiosk_id`
    /// with its shared `secret`; each call times out after 30 s.
    pub fn new(base_url: &str, kiosk_id: &str, secret: &str) -> CenterClient {
        CenterClient::with_timeout(base_url, kiosk_id, secret, Duration::from_secs(30))
    }

    /// [`CenterClient::new`] with another per-call timeout.
    pub fn with_timeout(
        base_url: &str,
        kiosk_id: &str,
        secret: &str,
        timeout: Duration,
    ) -> CenterClient {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        CenterClient::with_client(base_url, kiosk_id, Some(secret), http)
    }

    /// A client over a `reqwest::Client` the caller built (mutual TLS: the center's
    /// `center::tls::kiosk_client_config`; other timeouts). With a
    /// `secret` every call carries `X-Kiosk-Id` and `Authorization: Bearer`; without one it
    /// carries nothing and the center knows the kiosk from its TLS client certificate.
    pub fn with_client(
        base_url: &str,
        kiosk_id: &str,
        secret: Option<&str>,
        http: reqwest::Client,
    ) -> CenterClient {
        CenterClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            kiosk_id: kiosk_id.to_owned(),
            secret: secret.map(str::to_owned),
        }
    }

    /// The kiosk this client speaks for.
    pub fn kiosk_id(&self) -> &str {
        &self.kiosk_id
    }

    /// A request to `path` (below the base URL) without the kiosk's credentials: an operator's
    /// call carries its own token.
    pub fn bare_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
    }

    /// A request to `path` (below the base URL) carrying the kiosk's credentials.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.bare_request(method, path);
        match &self.secret {
            Some(secret) => request
                .header("x-kiosk-id", &self.kiosk_id)
                .header("authorization", format!("Bearer {secret}")),
            None => request,
        }
    }

    /// Sends `request`: the body of a `2xx`, else the error it names.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>, ClientError> {
        let response = request.send().await.map_err(|err| ClientError::Retryable {
            status: None,
            service: None,
            retry_after: None,
            message: err.to_string(),
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|err| ClientError::Retryable {
                status: Some(status.as_u16()),
                service: None,
                retry_after: None,
                message: format!("reading the answer: {err}"),
            })?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let error: ErrorBody = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| ErrorBody::new(String::from_utf8_lossy(&bytes)));
        if status.is_server_error() {
            Err(ClientError::Retryable {
                status: Some(status.as_u16()),
                service: error.service,
                retry_after,
                message: error.error,
            })
        } else {
            Err(ClientError::Refused {
                status: status.as_u16(),
                field: error.field,
                message: error.error,
            })
        }
    }

    /// Sends `request` and reads the JSON answer.
    pub async fn json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let bytes = self.send(request).await?;
        serde_json::from_slice(&bytes).map_err(|err| ClientError::Malformed(err.to_string()))
    }

    /// `POST path` with a JSON body, reading the JSON answer.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.json(self.request(reqwest::Method::POST, path).json(body))
            .await
    }

    /// `GET /health`.
    pub async fn health(&self) -> Result<(), ClientError> {
        self.send(self.request(reqwest::Method::GET, "/health"))
            .await
            .map(drop)
    }

    /// Steps 4–5: `POST /v1/scope`.
    pub async fn scope(&self, request: &ScopeRequest) -> Result<ScopeResponse, ClientError> {
        self.post_json(&format!("{}/scope", crate::PREFIX), request)
            .await
    }

    /// Steps 2–5 of a session: `POST /v1/sessions/{sid}/scope` (the decision is kept with the
    /// session, and the application must match it).
    pub async fn session_scope(
        &self,
        sid: &SessionId,
        request: &ScopeRequest,
    ) -> Result<ScopeResponse, ClientError> {
        self.post_json(&session_path(sid, "scope"), request).await
    }

    /// Step 6: `POST /v1/sessions/{sid}/receipt`.
    pub async fn receipt(
        &self,
        sid: &SessionId,
        request: &ReceiptRequest,
    ) -> Result<ReceiptAnswer, ClientError> {
        self.post_json(&session_path(sid, "receipt"), request).await
    }

    /// Step 7: `POST /v1/sessions/{sid}/faces`.
    pub async fn faces(
        &self,
        sid: &SessionId,
        request: &FacesRequest,
    ) -> Result<FacesAnswer, ClientError> {
        self.post_json(&session_path(sid, "faces"), request).await
    }

    /// Steps 7–10: `PUT /v1/sessions/{sid}/blobs/{kind}` (`live_photo`, `signature`,
    /// `fingerprint_1`, `fingerprint_2`, `fingerprint_image_1`, `fingerprint_image_2`, `video`).
    pub async fn put_blob(
        &self,
        sid: &SessionId,
        kind: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ClientError> {
        let path = session_path(sid, &format!("blobs/{kind}"));
        self.send(
            self.request(reqwest::Method::PUT, &path)
                .header("content-type", "application/octet-stream")
                .body(bytes),
        )
        .await
        .map(drop)
    }

    /// Step 10: `POST /v1/sessions/{sid}/application`.
    pub async fn application(
        &self,
        sid: &SessionId,
        request: &ApplicationRequest,
    ) -> Result<ApplicationAnswer, ClientError> {
        self.post_json(&session_path(sid, "application"), request)
            .await
    }

    /// Step 11: `POST /v1/sessions/{sid}/payments`.
    pub async fn create_payment(
        &self,
        sid: &SessionId,
        request: &CreatePaymentRequest,
    ) -> Result<PaymentAnswer, ClientError> {
        self.post_json(&session_path(sid, "payments"), request)
            .await
    }

    /// Step 11: `GET /v1/sessions/{sid}/payments/{attempt}`.
    pub async fn payment(
        &self,
        sid: &SessionId,
        attempt: u8,
    ) -> Result<PaymentAnswer, ClientError> {
        let path = session_path(sid, &format!("payments/{attempt}"));
        self.json(self.request(reqwest::Method::GET, &path)).await
    }

    /// Step 11: `POST /v1/sessions/{sid}/payments/{attempt}/close`.
    pub async fn close_payment(
        &self,
        sid: &SessionId,
        attempt: u8,
    ) -> Result<PaymentAnswer, ClientError> {
        let path = session_path(sid, &format!("payments/{attempt}/close"));
        self.json(self.request(reqwest::Method::POST, &path)).await
    }

    /// Step 11: `POST /v1/sessions/{sid}/payments/{attempt}/pos`.
    pub async fn report_pos(
        &self,
        sid: &SessionId,
        attempt: u8,
        report: &PosReport,
    ) -> Result<PaymentAnswer, ClientError> {
        self.post_json(
            &session_path(sid, &format!("payments/{attempt}/pos")),
            report,
        )
        .await
    }

    /// `POST /v1/sessions/{sid}/payments/{attempt}/void`.
    pub async fn report_void(
        &self,
        sid: &SessionId,
        attempt: u8,
        report: &PosReport,
    ) -> Result<PaymentAnswer, ClientError> {
        self.post_json(
            &session_path(sid, &format!("payments/{attempt}/void")),
            report,
        )
        .await
    }

    /// Step 12: `GET /v1/sessions/{sid}/documents/{kind}` (`certificate`, `form`, `notice`):
    /// the PDF.
    pub async fn document(&self, sid: &SessionId, kind: &str) -> Result<Vec<u8>, ClientError> {
        let path = session_path(sid, &format!("documents/{kind}"));
        self.send(self.request(reqwest::Method::GET, &path)).await
    }

    /// The finished screen: `GET /v1/sessions/{sid}/collection`, where the card is collected.
    pub async fn collection(&self, sid: &SessionId) -> Result<CollectionAnswer, ClientError> {
        self.json(self.request(reqwest::Method::GET, &session_path(sid, "collection")))
            .await
    }

    /// Before a portrait form: `POST /v1/sessions/{sid}/identity`, the masked identity to confirm.
    pub async fn identity(
        &self,
        sid: &SessionId,
        request: &IdentityRequest,
    ) -> Result<IdentityAnswer, ClientError> {
        self.post_json(&session_path(sid, "identity"), request)
            .await
    }

    /// The portrait form of a confirmed identity: `POST /v1/sessions/{sid}/portrait-form`.
    pub async fn session_portrait_form(
        &self,
        sid: &SessionId,
        request: &PortraitRequest,
    ) -> Result<Vec<u8>, ClientError> {
        self.send(
            self.request(reqwest::Method::POST, &session_path(sid, "portrait-form"))
                .json(request),
        )
        .await
    }

    /// The end: `POST /v1/sessions/{sid}/end`.
    pub async fn end(&self, sid: &SessionId, outcome: &SessionOutcome) -> Result<(), ClientError> {
        self.send(
            self.request(reqwest::Method::POST, &session_path(sid, "end"))
                .json(outcome),
        )
        .await
        .map(drop)
    }

    /// `POST /v1/fleet/heartbeat`: the kiosk's health; the answer names the newest
    /// configuration version.
    pub async fn heartbeat(
        &self,
        request: &HeartbeatRequest,
    ) -> Result<HeartbeatResponse, ClientError> {
        self.post_json(&format!("{}/fleet/heartbeat", crate::PREFIX), request)
            .await
    }

    /// `GET /v1/fleet/config?since=V`: the newest configuration when it is newer than `since`
    /// (any, without it), `None` on `204`.
    pub async fn fleet_config(
        &self,
        since: Option<i64>,
    ) -> Result<Option<VersionedConfig>, ClientError> {
        let path = match since {
            Some(v) => format!("{}/fleet/config?since={v}", crate::PREFIX),
            None => format!("{}/fleet/config", crate::PREFIX),
        };
        let bytes = self.send(self.request(reqwest::Method::GET, &path)).await?;
        if bytes.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|err| ClientError::Malformed(err.to_string()))
    }
}
