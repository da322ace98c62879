//! The JSON bodies of the kiosk–center session API (docs/kiosk-api.md): what the kiosk sends and
//! what the center answers, one type for both ends. The center's handlers deserialize the requests
//! and serialize the answers with these types, the kiosk's client the other way round, so the two
//! cannot drift apart. The values stay strings and numbers as on the wire; each end checks them
//! into domain types at its edge (the center names the bad field in its `422`).
//!
//! Every request body refuses unknown fields (`400` at the center); answers accept them, so a
//! newer center can add a field without breaking older kiosks. The fleet's heartbeat and remote
//! configuration are in [`fleet`].

use serde::{Deserialize, Serialize};

pub use domain::trade_state::TradeState;

#[cfg(feature = "client")]
pub mod client;
pub mod fleet;

/// The API's version: the path prefix of every call but `GET /health`.
pub const VERSION: &str = "v1";

/// `/v1`.
pub const PREFIX: &str = "/v1";

/// The path of a session call: `/v1/sessions/{sid}/{rest}`.
pub fn session_path(sid: &domain::session::SessionId, rest: &str) -> String {
    format!("{PREFIX}/sessions/{}/{rest}", sid.as_str())
}

/// Every error answer of the center (`center::error::AppError` writes it; the client reads
/// `error`, `field` and `service`). A field that does not apply is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    #[serde(default)]
    pub error: String,
    /// The field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The id of a `500` in the center's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `population`, `face`, `payment`, `documents` in a `503`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// A `409 scope`: the reason code of docs/domain.md section 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A `409 scope`: the reason's prompt, Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_zh: Option<String>,
    /// A `409 scope`: the reason's prompt, English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_en: Option<String>,
    /// A `413`/`429` over a quota: which one (`json_body`, `kind_bytes`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<String>,
    /// The quota's limit, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl ErrorBody {
    /// `{"error": error}`.
    pub fn new(error: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: error.into(),
            ..ErrorBody::default()
        }
    }

    /// `{"error": error, "field": field}`.
    pub fn with_field(error: impl Into<String>, field: impl Into<String>) -> ErrorBody {
        ErrorBody {
            field: Some(field.into()),
            ..ErrorBody::new(error)
        }
    }
}

// Steps 2–5: scope.

/// `POST /v1/scope`: steps 2–5 of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRequest {
    /// `expiry_renewal`, `lost` or `damaged`.
    pub business: String,
    /// `local` or `province`.
    pub household: String,
    /// The ID number typed at step 3 (or read from the card).
    pub id: String,
    /// The card read at step 3; required for an expiry renewal.
    #[serde(default)]
    pub card: Option<CardJson>,
}

/// A card as the kiosk read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardJson {
    /// The number printed on the card.
    pub id: String,
    /// `YYYY-MM-DD`.
    pub valid_from: String,
    /// `YYYY-MM-DD` or `long_term`.
    pub valid_until: String,
}

/// The center's answer to a scope request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeResponse {
    /// `accept` or `refer`.
    pub outcome: String,
    /// `accept` or the stable reason code of docs/domain.md section 3.
    pub reason: String,
    /// What the citizen reads, Chinese.
    pub prompt_zh: String,
    /// What the citizen reads, English.
    pub prompt_en: String,
    /// The identity to confirm at step 4, masked; absent when the number is unknown.
    pub identity: Option<MaskedIdentity>,
    /// The record's name in clear, for the kiosk's `Event::ScopeDecided` (never shown unmasked);
    /// absent when the number is unknown.
    #[serde(default)]
    pub name: Option<String>,
    /// 工本费 in yuan, when accepted.
    pub fee_cny: Option<u32>,
    /// `10_years`, `20_years` or `long_term`, when accepted.
    pub new_card_validity: Option<String>,
    /// `YYYY-MM-DD`, when accepted.
    pub issue_by: Option<String>,
    /// The payment methods this bureau takes (`wechat`, `unionpay`), for step 11's screen to
    /// offer only those; absent from a center that predates it (the kiosk then offers both).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment_methods: Vec<String>,
}

/// Step 4: the number and the name as the screen shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedIdentity {
    /// `320104********0044`.
    pub id_masked: String,
    /// `*小明`.
    pub name_masked: String,
}

// Steps 6–10: receipt, faces, application.

/// `POST /v1/sessions/{sid}/receipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptRequest {
    /// The citizen's ID number.
    pub id: String,
    /// The code scanned from the photo studio's receipt.
    pub receipt: String,
}

/// The answer of step 6.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptAnswer {
    /// A usable receipt of this citizen: the certified photo is kept under the session.
    pub found: bool,
    /// Why a receipt gave no photo, so the kiosk says it (absent when `found`, and from centers
    /// that predate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReceiptRefusal>,
}

/// Why step 6 found no usable photo (`not_found`, `expired`, `already_used`, `other_person` on
/// the wire). The kiosk's scans are bounded per session, so telling the holder of a paper that it
/// is not theirs reveals little (docs/security.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptRefusal {
    /// No receipt with this code.
    NotFound,
    /// The receipt's validity is over.
    Expired,
    /// The receipt was already redeemed by an application.
    AlreadyUsed,
    /// The receipt was made for another citizen.
    OtherPerson,
}

/// `POST /v1/sessions/{sid}/faces`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacesRequest {
    /// The citizen's ID number.
    pub id: String,
    /// The receipt of step 6.
    pub receipt: String,
    /// The live photo cropped to the ID format (358×441 JPEG), base64.
    pub live_photo: String,
    /// The kiosk's liveness score of the full camera frame the live photo was cropped from
    /// (issue 20); without it the center scores the crop, which misses prints and screens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<FacesLiveness>,
}

/// A liveness score measured by the kiosk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacesLiveness {
    /// The live score, 0 to 1.
    pub score: f64,
    /// The engine and its version, as stored with the score.
    pub engine: String,
}

/// The answer of step 7.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacesAnswer {
    /// Certified studio photo against the historical photo, 0–100.
    pub certified_vs_history: f64,
    /// Live photo against the historical photo, 0–100.
    pub live_vs_history: f64,
    /// The engine's name.
    pub engine: String,
    /// The engine's version.
    pub version: String,
    /// Both scores above their thresholds.
    pub passed: bool,
}

/// One finger of step 9.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerJson {
    /// Which finger (`right_index`, `left_thumb`, … on the wire).
    pub position: domain::session::Finger,
    /// Quality 0–100.
    pub quality: u8,
}

/// `POST /v1/sessions/{sid}/application`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// `expiry_renewal`, `lost`, `damaged`.
    pub business: String,
    /// `local`, `province`.
    pub household: String,
    /// The citizen's ID number.
    pub id: String,
    /// The receipt of step 6.
    pub receipt: String,
    /// Step 8's number.
    pub mobile: String,
    /// The fee the kiosk showed, checked against the rules.
    pub fee_cny: u32,
    /// The validity the kiosk showed (`10_years`, `20_years`, `long_term`), checked.
    pub validity: String,
    /// The issue-by date the kiosk showed (`YYYY-MM-DD`), checked.
    pub issue_by: String,
    /// The two fingers of step 9.
    pub fingers: Vec<FingerJson>,
}

impl ApplicationRequest {
    /// The body of `application` with the fingers captured at step 9.
    pub fn new(
        application: &domain::session::Application,
        fingers: Vec<FingerJson>,
    ) -> ApplicationRequest {
        ApplicationRequest {
            business: application.business.as_str().to_owned(),
            household: application.household.as_str().to_owned(),
            id: application.id.as_str().to_owned(),
            receipt: application.receipt.as_str().to_owned(),
            mobile: application.mobile.as_str().to_owned(),
            fee_cny: application.fee_cny,
            validity: application.validity.as_str().to_owned(),
            issue_by: application.issue_by.to_string(),
            fingers,
        }
    }
}

/// The answer of step 10.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationAnswer {
    /// 受理编号: 18 digits, city code + `YYYYMMDD` + sequence.
    pub application_no: String,
    /// `YYYY-MM-DD`, from the rules (60 days, 90 in a remote area).
    pub issue_by: String,
}

// Step 11: payments.

/// `POST /v1/sessions/{sid}/payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentRequest {
    /// `wechat` or `unionpay`.
    pub method: String,
    /// 1–99; a new attempt after a failed or expired one.
    pub attempt: u8,
    /// Must be the application's fee, in fen.
    pub amount_fen: u32,
}

/// Where a payment stands (every payment call answers this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAnswer {
    /// 商户订单号.
    pub out_trade_no: String,
    /// `wechat` or `unionpay`.
    pub method: String,
    /// The attempt.
    pub attempt: u8,
    /// `NOTPAY`, `SUCCESS`, `CLOSED`, `PAYERROR`, `REVOKED` (voided), …
    pub state: TradeState,
    /// Ordered, in fen.
    pub amount_fen: u32,
    /// WeChat: the QR code content to show and print.
    pub code_url: Option<String>,
    /// RFC 3339 (+08:00): after this an unpaid order is closed.
    pub expires_at: String,
    /// Paid, in fen.
    pub paid_fen: Option<u32>,
    /// WeChat's transaction id or the POS reference.
    pub transaction_id: Option<String>,
    /// Paid, but the application cannot go on: void the POS purchase (or refund).
    pub void_required: bool,
}

/// The POS result the kiosk reports (`/pos`), and its void (`/void`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PosReport {
    /// The terminal approved it.
    pub approved: bool,
    /// The response code (`00` approved).
    pub response_code: String,
    /// The card number as the POS printed it (masked).
    #[serde(default)]
    pub card_masked: Option<String>,
    /// 参考号.
    #[serde(default)]
    pub reference: Option<String>,
    /// 授权码.
    #[serde(default)]
    pub auth_code: Option<String>,
    /// Time of the transaction: RFC 3339, or the terminal's `hhmmss` / `MMDDhhmmss`.
    #[serde(default)]
    pub time: Option<String>,
    /// 流水号 (voucher), 6 digits.
    #[serde(default)]
    pub voucher: Option<String>,
    /// 批次号, 6 digits.
    #[serde(default)]
    pub batch: Option<String>,
    /// The amount the terminal took, in fen.
    #[serde(default)]
    pub amount_fen: Option<u64>,
}

// Portrait forms and the finished screen.

/// Where the new card is collected: the office the collection certificate prints, for the
/// kiosk's finished screen (issue 15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionAnswer {
    /// 领证地点.
    pub office: String,
    /// Its address.
    pub address: String,
    /// Its opening hours.
    pub hours: String,
}

/// `POST /v1/portrait-form`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortraitRequest {
    /// The ID number typed at step 3.
    pub id: String,
    /// What the form says the citizen applies for: `first_time` (首次申领, the default) or a
    /// business (`lost` from step 3 of a lost replacement, `expiry_renewal`, `damaged`).
    #[serde(default)]
    pub business: Option<String>,
}

/// `POST /v1/sessions/{sid}/identity`: the masked identity of a number, for the citizen to
/// confirm before a portrait form is printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRequest {
    /// The ID number typed.
    pub id: String,
}

/// The answer: the masked identity, `null` when the population system has no record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityAnswer {
    /// `320104********0044` and `*晓燕`.
    pub identity: Option<MaskedIdentity>,
}

#[cfg(test)]
mod tests {
    //! The bodies of docs/kiosk-api.md, byte for byte.

    use serde::de::DeserializeOwned;

    use super::*;

    /// `text` parses into `T` and serializes back to exactly `text`.
    fn round_trip<T: Serialize + DeserializeOwned>(text: &str) -> T {
        let value: T = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), text);
        value
    }

    #[test]
    fn the_documented_bodies_round_trip() {
        let scope: ScopeRequest = round_trip(
            r#"{"business":"expiry_renewal","household":"local","id":"320104199001010044","card":{"id":"320104199001010044","valid_from":"2016-11-25","valid_until":"2026-11-25"}}"#,
        );
        assert_eq!(scope.card.unwrap().valid_until, "2026-11-25");
        round_trip::<ScopeResponse>(
            r#"{"outcome":"accept","reason":"accept","prompt_zh":"可以办理","prompt_en":"OK","identity":{"id_masked":"320104********0044","name_masked":"*小明"},"name":"*小明","fee_cny":20,"new_card_validity":"20_years","issue_by":"2027-01-24"}"#,
        );
        round_trip::<ScopeResponse>(
            r#"{"outcome":"accept","reason":"accept","prompt_zh":"可以办理","prompt_en":"OK","identity":null,"name":null,"fee_cny":40,"new_card_validity":"20_years","issue_by":"2027-01-24","payment_methods":["unionpay"]}"#,
        );
        round_trip::<ReceiptAnswer>(r#"{"found":true}"#);
        let refused: ReceiptAnswer = round_trip(r#"{"found":false,"reason":"already_used"}"#);
        assert_eq!(refused.reason, Some(ReceiptRefusal::AlreadyUsed));
        round_trip::<FacesRequest>(
            r#"{"id":"320104199001010044","receipt":"R1","live_photo":"/9j/","liveness":{"score":0.998,"engine":"minifasnet"}}"#,
        );
        round_trip::<FacesAnswer>(
            r#"{"certified_vs_history":97.1,"live_vs_history":82.4,"engine":"dlib-resnet-v1","version":"19.24","passed":true}"#,
        );
        let application: ApplicationRequest = round_trip(
            r#"{"business":"lost","household":"local","id":"320104199001010044","receipt":"R1","mobile":"13800138000","fee_cny":40,"validity":"20_years","issue_by":"2027-01-24","fingers":[{"position":"right_index","quality":81},{"position":"left_index","quality":77}]}"#,
        );
        assert_eq!(
            application.fingers[1].position,
            domain::session::Finger::LeftIndex
        );
        round_trip::<ApplicationAnswer>(
            r#"{"application_no":"320100202611250001","issue_by":"2027-01-24"}"#,
        );
        round_trip::<CreatePaymentRequest>(r#"{"method":"wechat","attempt":1,"amount_fen":2000}"#);
        round_trip::<PaymentAnswer>(
            r#"{"out_trade_no":"IDK320100202611250001A1","method":"wechat","attempt":1,"state":"NOTPAY","amount_fen":2000,"code_url":"weixin://wxpay/bizpayurl?pr=x","expires_at":"2026-11-25T10:50:00+08:00","paid_fen":null,"transaction_id":null,"void_required":false}"#,
        );
        round_trip::<CollectionAnswer>(
            r#"{"office":"玄武户政办证大厅","address":"北京东路1号","hours":"周一至周五 9:00–17:00"}"#,
        );
        round_trip::<IdentityAnswer>(r#"{"identity":null}"#);
        round_trip::<IdentityRequest>(r#"{"id":"320104199001010044"}"#);
        round_trip::<ErrorBody>(r#"{"error":"unauthorized"}"#);
        round_trip::<ErrorBody>(
            r#"{"error":"the case is not within self-service scope","field":"scope","reason":"application_in_progress","prompt_zh":"…","prompt_en":"…"}"#,
        );
        round_trip::<ErrorBody>(
            r#"{"error":"too large","field":"body","quota":"json_body","limit":65536}"#,
        );
    }

    #[test]
    fn a_scope_answer_names_the_bureaus_payment_methods_and_an_older_one_none() {
        let answer: ScopeResponse = serde_json::from_str(
            r#"{"outcome":"accept","reason":"accept","prompt_zh":"可以办理","prompt_en":"OK","identity":null,"fee_cny":20,"new_card_validity":"10_years","issue_by":"2027-01-24","payment_methods":["unionpay"]}"#,
        )
        .unwrap();
        assert_eq!(answer.payment_methods, ["unionpay"]);
        // A center from before the field: no list, and the kiosk offers every method.
        let older: ScopeResponse = serde_json::from_str(
            r#"{"outcome":"refer","reason":"not_found","prompt_zh":"…","prompt_en":"…","identity":null,"fee_cny":null,"new_card_validity":null,"issue_by":null}"#,
        )
        .unwrap();
        assert!(older.payment_methods.is_empty());
    }

    #[test]
    fn a_pos_report_leaves_out_nothing_it_was_given() {
        let report: PosReport = serde_json::from_str(
            r#"{"approved":true,"response_code":"00","card_masked":"622202******1234","reference":"123456789012","auth_code":"654321","time":"2026-11-25T10:40:00+08:00"}"#,
        )
        .unwrap();
        assert_eq!(report.reference.as_deref(), Some("123456789012"));
        assert_eq!(report.voucher, None);
    }

    #[test]
    fn requests_refuse_unknown_fields_and_answers_accept_them() {
        assert!(
            serde_json::from_str::<ReceiptRequest>(r#"{"id":"1","receipt":"R","x":1}"#).is_err()
        );
        assert!(serde_json::from_str::<ReceiptAnswer>(r#"{"found":true,"x":1}"#).is_ok());
    }

    #[test]
    fn session_paths_carry_the_version() {
        let sid = domain::session::SessionId::parse("s-1").unwrap();
        assert_eq!(session_path(&sid, "receipt"), "/v1/sessions/s-1/receipt");
    }
}
