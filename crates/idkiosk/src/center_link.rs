//! The kiosk agent's link to the center: [`kiosk::center_api::CenterApi`] over the HTTP session API
//! of docs/kiosk-api.md, with the kiosk's shared secret. Connection errors and 5xx are
//! [`CenterError::Unavailable`] (the agent retries), 4xx are [`CenterError::Refused`].

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use domain::id::CitizenId;
use domain::rules::{Business, Decision, Household, NewCardValidity, Reason};
use domain::session::{
    FaceScores, PaymentMethod, ReceiptCode, ScopeRequest, SessionId, SessionOutcome,
};
use kiosk::center_api::{
    ApplicationRecord, CenterApi, CenterError, DocumentKind, PayState, PaymentOrder, PosResult,
    ScopeAnswer,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

/// The HTTP link.
pub struct CenterLink {
    base: String,
    kiosk_id: String,
    secret: String,
    http: reqwest::Client,
}

impl CenterLink {
    /// A link to the center at `base` (`http://host:port`).
    pub fn new(base: &str, kiosk_id: &str, secret: &str) -> anyhow::Result<CenterLink> {
        let base = base.trim_end_matches('/').to_owned();
        anyhow::ensure!(
            base.starts_with("http://") || base.starts_with("https://"),
            "the center URL must start with http:// or https://"
        );
        Ok(CenterLink {
            base,
            kiosk_id: kiosk_id.to_owned(),
            secret: secret.to_owned(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(3))
                .timeout(Duration::from_secs(20))
                .build()?,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .header("X-Kiosk-Id", &self.kiosk_id)
            .bearer_auth(&self.secret)
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, CenterError> {
        let response = request
            .send()
            .await
            .map_err(|e| CenterError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let message = format!("{status}: {}", body.chars().take(300).collect::<String>());
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(CenterError::Unavailable(message))
        } else {
            Err(CenterError::Refused(message))
        }
    }

    async fn json(&self, request: RequestBuilder) -> Result<Value, CenterError> {
        self.send(request)
            .await?
            .json()
            .await
            .map_err(|e| CenterError::Unavailable(format!("unreadable answer: {e}")))
    }

    async fn bytes(&self, request: RequestBuilder) -> Result<Vec<u8>, CenterError> {
        Ok(self
            .send(request)
            .await?
            .bytes()
            .await
            .map_err(|e| CenterError::Unavailable(e.to_string()))?
            .to_vec())
    }
}

fn refused(what: &str) -> CenterError {
    CenterError::Refused(format!("the center's answer has no valid {what}"))
}

fn text<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get(field).and_then(Value::as_str)
}

fn pay_state(value: &Value) -> Result<PayState, CenterError> {
    match text(value, "state") {
        Some("SUCCESS") => Ok(PayState::Success),
        Some("NOTPAY") | Some("USERPAYING") => Ok(PayState::Notpay),
        Some("CLOSED") | Some("REVOKED") | Some("REFUND") => Ok(PayState::Closed),
        Some("PAYERROR") => Ok(PayState::Payerror),
        _ => Err(refused("state")),
    }
}

fn method_code(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::WeChat => "wechat",
        PaymentMethod::UnionPay => "unionpay",
    }
}

/// The decision of a scope answer (`outcome`, `reason`, `fee_cny`, `new_card_validity`,
/// `issue_by`).
fn decision(value: &Value) -> Result<Decision, CenterError> {
    match text(value, "outcome") {
        Some("accept") => {
            let fee_cny = value
                .get("fee_cny")
                .and_then(Value::as_u64)
                .and_then(|f| u32::try_from(f).ok())
                .ok_or_else(|| refused("fee_cny"))?;
            let validity = match text(value, "new_card_validity") {
                Some("10_years") => NewCardValidity::TenYears,
                Some("20_years") => NewCardValidity::TwentyYears,
                Some("long_term") => NewCardValidity::LongTerm,
                _ => return Err(refused("new_card_validity")),
            };
            let issue_by = text(value, "issue_by")
                .and_then(|d| {
                    time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE).ok()
                })
                .ok_or_else(|| refused("issue_by"))?;
            Ok(Decision::Accept {
                fee_cny,
                validity,
                issue_by,
            })
        }
        Some("refer") => text(value, "reason")
            .and_then(Reason::parse)
            .map(Decision::Refer)
            .ok_or_else(|| refused("reason")),
        _ => Err(refused("outcome")),
    }
}

fn iso(date: time::Date) -> String {
    date.to_string()
}

#[async_trait]
impl CenterApi for CenterLink {
    async fn scope(&self, request: &ScopeRequest) -> Result<ScopeAnswer, CenterError> {
        let card = request.card.as_ref().map(|card| {
            json!({
                "id": card.id.as_str(),
                "valid_from": iso(card.valid_from),
                "valid_until": match card.valid_until {
                    domain::rules::CardExpiry::On(date) => iso(date),
                    domain::rules::CardExpiry::LongTerm => "long_term".to_owned(),
                },
            })
        });
        let body = json!({
            "business": business_code(request.business),
            "household": household_code(request.household),
            "id": request.id.as_str(),
            "card": card,
        });
        let answer = self
            .json(self.request(Method::POST, "/v1/scope").json(&body))
            .await?;
        Ok(ScopeAnswer {
            decision: decision(&answer)?,
            name: text(&answer, "name").map(str::to_owned),
        })
    }

    async fn receipt(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
    ) -> Result<bool, CenterError> {
        let path = format!("/v1/sessions/{}/receipt", session.as_str());
        let answer = self
            .json(
                self.request(Method::POST, &path)
                    .json(&json!({"id": id.as_str(), "receipt": receipt.as_str()})),
            )
            .await?;
        answer
            .get("found")
            .and_then(Value::as_bool)
            .ok_or_else(|| refused("found"))
    }

    async fn verify_faces(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
        live_photo_jpeg: &[u8],
    ) -> Result<FaceScores, CenterError> {
        let path = format!("/v1/sessions/{}/faces", session.as_str());
        let body = json!({
            "id": id.as_str(),
            "receipt": receipt.as_str(),
            "live_photo": base64::engine::general_purpose::STANDARD.encode(live_photo_jpeg),
        });
        let answer = self
            .json(self.request(Method::POST, &path).json(&body))
            .await?;
        let score = |field: &str| {
            answer
                .get(field)
                .and_then(Value::as_f64)
                .map(|s| s as f32)
                .ok_or_else(|| refused(field))
        };
        Ok(FaceScores {
            certified_vs_history: score("certified_vs_history")?,
            live_vs_history: score("live_vs_history")?,
        })
    }

    async fn put_blob(
        &self,
        session: &SessionId,
        kind: &str,
        bytes: &[u8],
    ) -> Result<(), CenterError> {
        let path = format!("/v1/sessions/{}/blobs/{kind}", session.as_str());
        self.send(
            self.request(Method::PUT, &path)
                .header("content-type", "application/octet-stream")
                .body(bytes.to_vec()),
        )
        .await
        .map(|_| ())
    }

    async fn submit_application(
        &self,
        session: &SessionId,
        application: &ApplicationRecord,
    ) -> Result<String, CenterError> {
        let path = format!("/v1/sessions/{}/application", session.as_str());
        let answer = self
            .json(self.request(Method::POST, &path).json(application))
            .await?;
        text(&answer, "application_no")
            .map(str::to_owned)
            .ok_or_else(|| refused("application_no"))
    }

    async fn create_payment(
        &self,
        session: &SessionId,
        method: PaymentMethod,
        attempt: u8,
        amount_fen: u32,
    ) -> Result<PaymentOrder, CenterError> {
        let path = format!("/v1/sessions/{}/payments", session.as_str());
        let body =
            json!({"method": method_code(method), "attempt": attempt, "amount_fen": amount_fen});
        let answer = self
            .json(self.request(Method::POST, &path).json(&body))
            .await?;
        Ok(PaymentOrder {
            out_trade_no: text(&answer, "out_trade_no")
                .ok_or_else(|| refused("out_trade_no"))?
                .to_owned(),
            code_url: text(&answer, "code_url").map(str::to_owned),
            state: pay_state(&answer)?,
        })
    }

    async fn payment_state(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError> {
        let path = format!("/v1/sessions/{}/payments/{attempt}", session.as_str());
        pay_state(&self.json(self.request(Method::GET, &path)).await?)
    }

    async fn close_payment(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError> {
        let path = format!("/v1/sessions/{}/payments/{attempt}/close", session.as_str());
        pay_state(&self.json(self.request(Method::POST, &path)).await?)
    }

    async fn report_pos(
        &self,
        session: &SessionId,
        attempt: u8,
        result: &PosResult,
    ) -> Result<PayState, CenterError> {
        let path = format!("/v1/sessions/{}/payments/{attempt}/pos", session.as_str());
        pay_state(
            &self
                .json(self.request(Method::POST, &path).json(result))
                .await?,
        )
    }

    async fn document(
        &self,
        session: &SessionId,
        kind: DocumentKind,
    ) -> Result<Vec<u8>, CenterError> {
        let path = format!(
            "/v1/sessions/{}/documents/{}",
            session.as_str(),
            kind.as_str()
        );
        self.bytes(self.request(Method::GET, &path)).await
    }

    async fn portrait_form(&self, id: &CitizenId) -> Result<Vec<u8>, CenterError> {
        self.bytes(
            self.request(Method::POST, "/v1/portrait-form")
                .json(&json!({"id": id.as_str()})),
        )
        .await
    }

    async fn end_session(
        &self,
        session: &SessionId,
        outcome: &SessionOutcome,
    ) -> Result<(), CenterError> {
        let path = format!("/v1/sessions/{}/end", session.as_str());
        self.send(self.request(Method::POST, &path).json(outcome))
            .await
            .map(|_| ())
    }
}

fn business_code(business: Business) -> &'static str {
    business.as_str()
}

fn household_code(household: Household) -> &'static str {
    household.as_str()
}
