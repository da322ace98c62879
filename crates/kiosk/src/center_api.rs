//! What the agent asks of the center (docs/kiosk-api.md), as a trait so the agent can be tested
//! with a test double and so an integrator can put another transport behind it. The shipped
//! implementation is [`crate::center_client`], the HTTP client of the `kiosk-wire` crate.
//!
//! Where the kiosk's record is the wire's body it is the wire crate's type under the kiosk's
//! name: [`ApplicationRecord`] (the outbox keeps it until the center has it), [`FingerQuality`],
//! [`CollectionOffice`], [`PosResult`] and [`LiveScore`] (both also kept in the outbox as
//! captures, so an answer survives a restart in the shape it is sent in).

use async_trait::async_trait;
use domain::id::CitizenId;
use domain::rules::Decision;
use domain::session::{
    FaceScores, PaymentMethod, PortraitApplication, ReceiptAnswer, ReceiptCode, ScopeRequest,
    SessionId, SessionOutcome,
};
use domain::trade_state::TradeState;
use serde::{Deserialize, Serialize};

/// The application as the kiosk files it (`POST /v1/sessions/{sid}/application`), kept in the
/// outbox until the center has it.
pub use kiosk_wire::ApplicationRequest as ApplicationRecord;
/// Where the new card is collected (the office the collection certificate prints), for the
/// finished screen.
pub use kiosk_wire::CollectionAnswer as CollectionOffice;
/// A fingerprint's position (`right_index`, …) and quality (0–100), for the application record.
pub use kiosk_wire::FingerJson as FingerQuality;

/// Why a call to the center failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CenterError {
    /// The center could not be reached or failed (connection, timeout, 5xx): try again later.
    #[error("center unavailable: {0}")]
    Unavailable(String),
    /// The center answered 503 with `Retry-After` (a full face queue, its database failing
    /// over): it expects to answer again after that long.
    #[error("center busy, again in {} s: {message}", retry_after.as_secs())]
    Busy {
        /// The center's `Retry-After`.
        retry_after: std::time::Duration,
        /// What it said.
        message: String,
    },
    /// The center refused the call (4xx); repeating it will not help.
    #[error("center refused the call: {0}")]
    Refused(String),
}

impl CenterError {
    /// Whether repeating the call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, CenterError::Unavailable(_) | CenterError::Busy { .. })
    }
}

/// The scope answer of steps 4–5.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeAnswer {
    /// The rules' decision.
    pub decision: Decision,
    /// The record's name in clear (only masked on screen), `None` when there is no record.
    pub name: Option<String>,
    /// The payment methods the bureau takes (step 11 offers only those); never empty: a center
    /// that names none is taken to accept every method.
    pub payment_methods: Vec<PaymentMethod>,
}

/// A payment attempt the center opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOrder {
    /// The trade number, derived from the application and the attempt.
    pub out_trade_no: String,
    /// WeChat Native: the URL to show as a QR code.
    pub code_url: Option<String>,
    /// The state when opened (`NOTPAY`, or `SUCCESS` when a repeat finds it paid).
    pub state: PayState,
}

/// A payment's state as the center knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayState {
    /// Not paid yet.
    Notpay,
    /// Paid.
    Success,
    /// Closed unpaid (expired or cancelled).
    Closed,
    /// Failed (declined).
    Payerror,
}

impl PayState {
    /// What the agent does on a payment's state: paid, wait, closed (expired, cancelled, voided,
    /// refunded) or failed.
    pub fn from_trade_state(state: TradeState) -> PayState {
        match state {
            TradeState::Success => PayState::Success,
            TradeState::NotPay | TradeState::UserPaying => PayState::Notpay,
            TradeState::Closed | TradeState::Revoked | TradeState::Refund => PayState::Closed,
            TradeState::PayError => PayState::Payerror,
        }
    }
}

/// What the POS terminal answered a purchase (or a void), reported to the center
/// (`POST …/payments/{attempt}/pos`); `agent::payment` builds it from the terminal's answer.
pub use kiosk_wire::PosReport as PosResult;

/// A document the center renders for printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// 居民身份证领取凭证.
    Certificate,
    /// 缴费通知书 of the method paid with.
    Notice,
    /// 居民身份证申领登记表.
    Form,
}

impl DocumentKind {
    /// The path segment of the documents call.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Certificate => "certificate",
            DocumentKind::Notice => "notice",
            DocumentKind::Form => "form",
        }
    }
}

/// The liveness score (0–1) of the full camera frame a live photo was cropped from, and its
/// engine (issue 20): the `liveness` of the faces call.
pub use kiosk_wire::FacesLiveness as LiveScore;

/// The center's session API (docs/kiosk-api.md). Every call is idempotent under the session id.
#[async_trait]
pub trait CenterApi: Send + Sync {
    /// Steps 4–5, bound to the session (the application of step 10 must match the decision).
    async fn scope(
        &self,
        session: &SessionId,
        request: &ScopeRequest,
    ) -> Result<ScopeAnswer, CenterError>;
    /// Step 6: whether a certified photo carries `receipt`, and if not why (not found, which
    /// includes another citizen's receipt; expired; already used).
    async fn receipt(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
    ) -> Result<ReceiptAnswer, CenterError>;
    /// Step 7: compares the certified and live photos with the historical one.
    async fn verify_faces(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
        live_photo_jpeg: &[u8],
    ) -> Result<FaceScores, CenterError>;
    /// Step 7 with the kiosk's liveness score of the full frame, stored with the face scores
    /// (issue 20). A center client that cannot send it compares the faces without it.
    async fn verify_faces_scored(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
        live_photo_jpeg: &[u8],
        liveness: Option<&LiveScore>,
    ) -> Result<FaceScores, CenterError> {
        let _ = liveness;
        self.verify_faces(session, id, receipt, live_photo_jpeg)
            .await
    }
    /// Uploads a captured blob (`live_photo`, `signature`, `fingerprint_1`, …, `video`).
    async fn put_blob(
        &self,
        session: &SessionId,
        kind: &str,
        bytes: &[u8],
    ) -> Result<(), CenterError>;
    /// Files the application; returns its number.
    async fn submit_application(
        &self,
        session: &SessionId,
        application: &ApplicationRecord,
    ) -> Result<String, CenterError>;
    /// Opens payment attempt `attempt`.
    async fn create_payment(
        &self,
        session: &SessionId,
        method: PaymentMethod,
        attempt: u8,
        amount_fen: u32,
    ) -> Result<PaymentOrder, CenterError>;
    /// The state of payment attempt `attempt` (the center queries WeChat when not final).
    async fn payment_state(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError>;
    /// Closes an open attempt.
    async fn close_payment(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError>;
    /// Reports the POS terminal's answer to a UnionPay attempt.
    async fn report_pos(
        &self,
        session: &SessionId,
        attempt: u8,
        result: &PosResult,
    ) -> Result<PayState, CenterError>;
    /// The PDF of a document of the session's application.
    async fn document(
        &self,
        session: &SessionId,
        kind: DocumentKind,
    ) -> Result<Vec<u8>, CenterError>;
    /// Before a portrait form: the masked name of `id`'s population record (`*晓燕`), `None`
    /// when there is none. The center records the lookup with the session.
    async fn identity(
        &self,
        session: &SessionId,
        id: &CitizenId,
    ) -> Result<Option<String>, CenterError>;
    /// The pre-filled portrait collection form for `id`, saying what `id` applies for; the
    /// center prints it only for a number this session looked up ([`CenterApi::identity`]) and
    /// audits it.
    async fn portrait_form(
        &self,
        session: &SessionId,
        id: &CitizenId,
        application: PortraitApplication,
    ) -> Result<Vec<u8>, CenterError>;
    /// Records how the session ended.
    async fn end_session(
        &self,
        session: &SessionId,
        outcome: &SessionOutcome,
    ) -> Result<(), CenterError>;
    /// Where the session's application is collected, once it is filed; `None` when the center
    /// does not say (the finished screen then leaves the office to the printed certificate).
    async fn collection(
        &self,
        session: &SessionId,
    ) -> Result<Option<CollectionOffice>, CenterError> {
        let _ = session;
        Ok(None)
    }
}
