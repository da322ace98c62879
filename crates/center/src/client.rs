//! [`CenterClient`]: the kiosk agent's typed client for the center's session API
//! (`docs/kiosk-api.md`). One async method per call, returning the wire types of this crate.
//! Errors say whether to retry: [`ClientError::Retryable`] for connection failures, timeouts and
//! `5xx` (the call is idempotent by session id, so repeating it is safe), [`ClientError::Refused`]
//! for a `4xx` with the field at fault.

use std::time::Duration;

use domain::session::{SessionId, SessionOutcome};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::fleet::config::VersionedConfig;
use crate::fleet::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use crate::paper::PortraitRequest;
use crate::payments::{CreatePaymentRequest, PaymentAnswer, PosReport};
use crate::reconcile::Report;
use crate::steps::{
    ApplicationAnswer, ApplicationRequest, FacesAnswer, FacesRequest, ReceiptAnswer, ReceiptRequest,
};
use crate::wire::{ScopeRequest, ScopeResponse};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer, or the center (or a system behind it) failed: try again later.
    #[error("center unavailable{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    Retryable {
        /// The HTTP status, when the center answered (5xx).
        status: Option<u16>,
        /// `population`, `face`, `payment`, `documents` for a 503 naming it.
        service: Option<String>,
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

    /// The HTTP status, when the center answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Retryable { status, .. } => *status,
            ClientError::Refused { status, .. } => Some(*status),
            ClientError::Malformed(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct ErrorJson {
    #[serde(default)]
    error: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    service: Option<String>,
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

/// Why [`CenterClient::from_tls_dir`] could not build its client.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    /// The enrolment folder's files.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// reqwest refused the TLS configuration.
    #[error("building the HTTPS client: {0}")]
    Http(#[from] reqwest::Error),
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

    /// A client over a `reqwest::Client` the caller built (mutual TLS, other timeouts). With a
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

    /// A mutual-TLS client of the center at `base_url` (`https://center.example:7443`) from the
    /// folder `idkiosk fleet enrol` wrote for the kiosk (`kiosk.pem`, `kiosk.key`, `ca.pem`):
    /// presents the kiosk's certificate and trusts only the center's CA
    /// ([`crate::tls::kiosk_client_config`]). No shared secret is sent. Each call times out after
    /// `timeout`.
    pub fn from_tls_dir(
        base_url: &str,
        kiosk_id: &str,
        kiosk_dir: &std::path::Path,
        timeout: Duration,
    ) -> Result<CenterClient, ClientSetupError> {
        let config = crate::tls::kiosk_client_config(kiosk_dir)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*config).clone())
            .timeout(timeout)
            .build()?;
        Ok(CenterClient::with_client(base_url, kiosk_id, None, http))
    }

    /// The kiosk this client speaks for.
    pub fn kiosk_id(&self) -> &str {
        &self.kiosk_id
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        match &self.secret {
            Some(secret) => request
                .header("x-kiosk-id", &self.kiosk_id)
                .header("authorization", format!("Bearer {secret}")),
            None => request,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>, ClientError> {
        let response = request.send().await.map_err(|err| ClientError::Retryable {
            status: None,
            service: None,
            message: err.to_string(),
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| ClientError::Retryable {
                status: Some(status.as_u16()),
                service: None,
                message: format!("reading the answer: {err}"),
            })?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let error: ErrorJson = serde_json::from_slice(&bytes).unwrap_or(ErrorJson {
            error: String::from_utf8_lossy(&bytes).into_owned(),
            field: None,
            service: None,
        });
        if status.is_server_error() {
            Err(ClientError::Retryable {
                status: Some(status.as_u16()),
                service: error.service,
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

    async fn json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let bytes = self.send(request).await?;
        serde_json::from_slice(&bytes).map_err(|err| ClientError::Malformed(err.to_string()))
    }

    async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.json(self.request(reqwest::Method::POST, path).json(body))
            .await
    }

    fn session(sid: &SessionId, rest: &str) -> String {
        format!("/v1/sessions/{}/{rest}", sid.as_str())
    }

    /// `GET /health`.
    pub async fn health(&self) -> Result<(), ClientError> {
        self.send(self.request(reqwest::Method::GET, "/health"))
            .await
            .map(drop)
    }

    /// Steps 4–5: `POST /v1/scope`.
    pub async fn scope(&self, request: &ScopeRequest) -> Result<ScopeResponse, ClientError> {
        self.post_json("/v1/scope", request).await
    }

    /// Steps 2–5 of a session: `POST /v1/sessions/{sid}/scope` (the decision is kept with the
    /// session, and the application must match it).
    pub async fn session_scope(
        &self,
        sid: &SessionId,
        request: &ScopeRequest,
    ) -> Result<ScopeResponse, ClientError> {
        self.post_json(&Self::session(sid, "scope"), request).await
    }

    /// Step 6: `POST /v1/sessions/{sid}/receipt`.
    pub async fn receipt(
        &self,
        sid: &SessionId,
        request: &ReceiptRequest,
    ) -> Result<ReceiptAnswer, ClientError> {
        self.post_json(&Self::session(sid, "receipt"), request)
            .await
    }

    /// Step 7: `POST /v1/sessions/{sid}/faces`.
    pub async fn faces(
        &self,
        sid: &SessionId,
        request: &FacesRequest,
    ) -> Result<FacesAnswer, ClientError> {
        self.post_json(&Self::session(sid, "faces"), request).await
    }

    /// Steps 7–10: `PUT /v1/sessions/{sid}/blobs/{kind}` (`live_photo`, `signature`,
    /// `fingerprint_1`, `fingerprint_2`, `fingerprint_image_1`, `fingerprint_image_2`, `video`).
    pub async fn put_blob(
        &self,
        sid: &SessionId,
        kind: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ClientError> {
        let path = Self::session(sid, &format!("blobs/{kind}"));
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
        self.post_json(&Self::session(sid, "application"), request)
            .await
    }

    /// Step 11: `POST /v1/sessions/{sid}/payments`.
    pub async fn create_payment(
        &self,
        sid: &SessionId,
        request: &CreatePaymentRequest,
    ) -> Result<PaymentAnswer, ClientError> {
        self.post_json(&Self::session(sid, "payments"), request)
            .await
    }

    /// Step 11: `GET /v1/sessions/{sid}/payments/{attempt}`.
    pub async fn payment(
        &self,
        sid: &SessionId,
        attempt: u8,
    ) -> Result<PaymentAnswer, ClientError> {
        let path = Self::session(sid, &format!("payments/{attempt}"));
        self.json(self.request(reqwest::Method::GET, &path)).await
    }

    /// Step 11: `POST /v1/sessions/{sid}/payments/{attempt}/close`.
    pub async fn close_payment(
        &self,
        sid: &SessionId,
        attempt: u8,
    ) -> Result<PaymentAnswer, ClientError> {
        let path = Self::session(sid, &format!("payments/{attempt}/close"));
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
            &Self::session(sid, &format!("payments/{attempt}/pos")),
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
            &Self::session(sid, &format!("payments/{attempt}/void")),
            report,
        )
        .await
    }

    /// Step 12: `GET /v1/sessions/{sid}/documents/{kind}` (`certificate`, `form`, `notice`):
    /// the PDF.
    pub async fn document(&self, sid: &SessionId, kind: &str) -> Result<Vec<u8>, ClientError> {
        let path = Self::session(sid, &format!("documents/{kind}"));
        self.send(self.request(reqwest::Method::GET, &path)).await
    }

    /// The finished screen: `GET /v1/sessions/{sid}/collection`, where the card is collected.
    pub async fn collection(
        &self,
        sid: &SessionId,
    ) -> Result<crate::paper::CollectionAnswer, ClientError> {
        self.json(self.request(reqwest::Method::GET, &Self::session(sid, "collection")))
            .await
    }

    /// Before a portrait form: `POST /v1/sessions/{sid}/identity`, the masked identity to confirm.
    pub async fn identity(
        &self,
        sid: &SessionId,
        request: &crate::paper::IdentityRequest,
    ) -> Result<crate::paper::IdentityAnswer, ClientError> {
        self.post_json(&Self::session(sid, "identity"), request)
            .await
    }

    /// The portrait form of a confirmed identity: `POST /v1/sessions/{sid}/portrait-form`.
    pub async fn session_portrait_form(
        &self,
        sid: &SessionId,
        request: &PortraitRequest,
    ) -> Result<Vec<u8>, ClientError> {
        self.send(
            self.request(reqwest::Method::POST, &Self::session(sid, "portrait-form"))
                .json(request),
        )
        .await
    }

    /// The end: `POST /v1/sessions/{sid}/end`.
    pub async fn end(&self, sid: &SessionId, outcome: &SessionOutcome) -> Result<(), ClientError> {
        self.send(
            self.request(reqwest::Method::POST, &Self::session(sid, "end"))
                .json(outcome),
        )
        .await
        .map(drop)
    }

    /// `GET /v1/reconciliation?date=YYYY-MM-DD`, as an operator (the fleet's operator token):
    /// kiosks may not read it.
    pub async fn reconciliation(
        &self,
        date: Date,
        operator_token: &str,
    ) -> Result<Report, ClientError> {
        let path = format!("/v1/reconciliation?date={}", crate::wire::format_date(date));
        let request = self
            .http
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(operator_token);
        self.json(request).await
    }

    /// `POST /v1/fleet/heartbeat`: the kiosk's health; the answer names the newest configuration
    /// version.
    pub async fn heartbeat(
        &self,
        request: &HeartbeatRequest,
    ) -> Result<HeartbeatResponse, ClientError> {
        self.post_json("/v1/fleet/heartbeat", request).await
    }

    /// `GET /v1/fleet/config?since=V`: the newest configuration when it is newer than `since`
    /// (any, without it), `None` on `204`.
    pub async fn fleet_config(
        &self,
        since: Option<i64>,
    ) -> Result<Option<VersionedConfig>, ClientError> {
        let path = match since {
            Some(v) => format!("/v1/fleet/config?since={v}"),
            None => "/v1/fleet/config".to_owned(),
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
