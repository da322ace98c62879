//! The kiosk agent's link to the center: [`kiosk::center_api::CenterApi`] over the center's own
//! typed client ([`center::client::CenterClient`], the HTTP session API of docs/kiosk-api.md),
//! converting its wire answers into domain types. Connection errors and 5xx are
//! [`CenterError::Unavailable`] (the agent retries), refusals are [`CenterError::Refused`].

use async_trait::async_trait;
use base64::Engine as _;
use center::client::{CenterClient, ClientError};
use center::paper::PortraitRequest;
use center::payments::{CreatePaymentRequest, PaymentAnswer, PosReport};
use center::steps::{ApplicationRequest, FacesRequest, FingerJson, ReceiptRequest};
use center::wire::{CardJson, ScopeRequest as ScopeJson, ScopeResponse};
use domain::id::CitizenId;
use domain::rules::{Decision, NewCardValidity, Reason};
use domain::session::{
    FaceScores, PaymentMethod, ReceiptCode, ScopeRequest, SessionId, SessionOutcome,
};
use kiosk::center_api::{
    ApplicationRecord, CenterApi, CenterError, DocumentKind, PayState, PaymentOrder, PosResult,
    ScopeAnswer,
};

/// The link: the center's client plus the conversions.
pub struct CenterLink {
    client: CenterClient,
}

impl CenterLink {
    /// A link to the center at `base` (`http://host:port`).
    pub fn new(base: &str, kiosk_id: &str, secret: &str) -> anyhow::Result<CenterLink> {
        anyhow::ensure!(
            base.starts_with("http://") || base.starts_with("https://"),
            "the center URL must start with http:// or https://"
        );
        Ok(CenterLink {
            client: CenterClient::new(base, kiosk_id, secret),
        })
    }

    /// A link over mutual TLS to the center at `base` (`https://host:port`), with the
    /// certificate, key and CA that `idkiosk fleet enrol` wrote into `tls_dir` (`kiosk.pem`,
    /// `kiosk.key`, `ca.pem`); no shared secret.
    pub fn with_tls(
        base: &str,
        kiosk_id: &str,
        tls_dir: &std::path::Path,
    ) -> anyhow::Result<CenterLink> {
        anyhow::ensure!(
            base.starts_with("https://"),
            "with a TLS folder the center URL must start with https://"
        );
        let client = CenterClient::from_tls_dir(
            base,
            kiosk_id,
            tls_dir,
            std::time::Duration::from_secs(30),
        )?;
        Ok(CenterLink { client })
    }
}

#[async_trait]
impl kiosk::fleet::FleetApi for CenterLink {
    async fn heartbeat(
        &self,
        heartbeat: &kiosk::fleet::Heartbeat,
    ) -> Result<Option<i64>, CenterError> {
        // The kiosk's body and the center's type are the same JSON; the center's type checks it.
        let request: center::fleet::heartbeat::HeartbeatRequest = serde_json::to_value(heartbeat)
            .and_then(serde_json::from_value)
            .map_err(|err| CenterError::Refused(format!("heartbeat: {err}")))?;
        let answer = self.client.heartbeat(&request).await.map_err(failed)?;
        Ok(answer.config_version)
    }

    async fn config_since(
        &self,
        since: Option<i64>,
    ) -> Result<Option<kiosk::fleet::RemoteConfig>, CenterError> {
        let Some(answer) = self.client.fleet_config(since).await.map_err(failed)? else {
            return Ok(None);
        };
        serde_json::to_value(&answer)
            .and_then(serde_json::from_value)
            .map(Some)
            .map_err(|_| refused("configuration"))
    }
}

fn failed(error: ClientError) -> CenterError {
    if error.is_retryable() {
        CenterError::Unavailable(error.to_string())
    } else {
        CenterError::Refused(error.to_string())
    }
}

fn refused(what: &str) -> CenterError {
    CenterError::Refused(format!("the center's answer has no valid {what}"))
}

fn pay_state(answer: &PaymentAnswer) -> Result<PayState, CenterError> {
    match answer.state.as_str() {
        "SUCCESS" => Ok(PayState::Success),
        "NOTPAY" | "USERPAYING" => Ok(PayState::Notpay),
        "CLOSED" | "REVOKED" | "REFUND" => Ok(PayState::Closed),
        "PAYERROR" => Ok(PayState::Payerror),
        _ => Err(refused("state")),
    }
}

fn method_code(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::WeChat => "wechat",
        PaymentMethod::UnionPay => "unionpay",
    }
}

/// The decision of a scope answer.
fn decision(answer: &ScopeResponse) -> Result<Decision, CenterError> {
    match answer.outcome.as_str() {
        "accept" => {
            let fee_cny = answer.fee_cny.ok_or_else(|| refused("fee_cny"))?;
            let validity = match answer.new_card_validity.as_deref() {
                Some("10_years") => NewCardValidity::TenYears,
                Some("20_years") => NewCardValidity::TwentyYears,
                Some("long_term") => NewCardValidity::LongTerm,
                _ => return Err(refused("new_card_validity")),
            };
            let issue_by = answer
                .issue_by
                .as_deref()
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
        "refer" => Reason::parse(&answer.reason)
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
        let card = request.card.as_ref().map(|card| CardJson {
            id: card.id.as_str().to_owned(),
            valid_from: iso(card.valid_from),
            valid_until: match card.valid_until {
                domain::rules::CardExpiry::On(date) => iso(date),
                domain::rules::CardExpiry::LongTerm => "long_term".to_owned(),
            },
        });
        let body = ScopeJson {
            business: request.business.as_str().to_owned(),
            household: request.household.as_str().to_owned(),
            id: request.id.as_str().to_owned(),
            card,
        };
        let answer = self.client.scope(&body).await.map_err(failed)?;
        Ok(ScopeAnswer {
            decision: decision(&answer)?,
            name: answer.name.clone(),
        })
    }

    async fn receipt(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
    ) -> Result<bool, CenterError> {
        let body = ReceiptRequest {
            id: id.as_str().to_owned(),
            receipt: receipt.as_str().to_owned(),
        };
        Ok(self
            .client
            .receipt(session, &body)
            .await
            .map_err(failed)?
            .found)
    }

    async fn verify_faces(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
        live_photo_jpeg: &[u8],
    ) -> Result<FaceScores, CenterError> {
        let body = FacesRequest {
            id: id.as_str().to_owned(),
            receipt: receipt.as_str().to_owned(),
            live_photo: base64::engine::general_purpose::STANDARD.encode(live_photo_jpeg),
        };
        let answer = self.client.faces(session, &body).await.map_err(failed)?;
        Ok(FaceScores {
            certified_vs_history: answer.certified_vs_history as f32,
            live_vs_history: answer.live_vs_history as f32,
        })
    }

    async fn put_blob(
        &self,
        session: &SessionId,
        kind: &str,
        bytes: &[u8],
    ) -> Result<(), CenterError> {
        self.client
            .put_blob(session, kind, bytes.to_vec())
            .await
            .map_err(failed)
    }

    async fn submit_application(
        &self,
        session: &SessionId,
        application: &ApplicationRecord,
    ) -> Result<String, CenterError> {
        let body = ApplicationRequest {
            business: application.business.clone(),
            household: application.household.clone(),
            id: application.id.clone(),
            receipt: application.receipt.clone(),
            mobile: application.mobile.clone(),
            fee_cny: application.fee_cny,
            validity: application.validity.clone(),
            issue_by: application.issue_by.clone(),
            fingers: application
                .fingers
                .iter()
                .map(|f| FingerJson {
                    position: f.position.clone(),
                    quality: f.quality,
                })
                .collect(),
        };
        Ok(self
            .client
            .application(session, &body)
            .await
            .map_err(failed)?
            .application_no)
    }

    async fn create_payment(
        &self,
        session: &SessionId,
        method: PaymentMethod,
        attempt: u8,
        amount_fen: u32,
    ) -> Result<PaymentOrder, CenterError> {
        let body = CreatePaymentRequest {
            method: method_code(method).to_owned(),
            attempt,
            amount_fen,
        };
        let answer = self
            .client
            .create_payment(session, &body)
            .await
            .map_err(failed)?;
        Ok(PaymentOrder {
            state: pay_state(&answer)?,
            out_trade_no: answer.out_trade_no,
            code_url: answer.code_url,
        })
    }

    async fn payment_state(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError> {
        pay_state(
            &self
                .client
                .payment(session, attempt)
                .await
                .map_err(failed)?,
        )
    }

    async fn close_payment(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError> {
        pay_state(
            &self
                .client
                .close_payment(session, attempt)
                .await
                .map_err(failed)?,
        )
    }

    async fn report_pos(
        &self,
        session: &SessionId,
        attempt: u8,
        result: &PosResult,
    ) -> Result<PayState, CenterError> {
        let report = PosReport {
            approved: result.approved,
            response_code: result.response_code.clone(),
            card_masked: Some(result.card_masked.clone()),
            reference: Some(result.reference.clone()),
            auth_code: Some(result.auth_code.clone()),
            time: Some(result.time.clone()),
        };
        pay_state(
            &self
                .client
                .report_pos(session, attempt, &report)
                .await
                .map_err(failed)?,
        )
    }

    async fn document(
        &self,
        session: &SessionId,
        kind: DocumentKind,
    ) -> Result<Vec<u8>, CenterError> {
        self.client
            .document(session, kind.as_str())
            .await
            .map_err(failed)
    }

    async fn portrait_form(&self, id: &CitizenId) -> Result<Vec<u8>, CenterError> {
        let body = PortraitRequest {
            id: id.as_str().to_owned(),
            business: None,
        };
        self.client.portrait_form(&body).await.map_err(failed)
    }

    async fn end_session(
        &self,
        session: &SessionId,
        outcome: &SessionOutcome,
    ) -> Result<(), CenterError> {
        self.client.end(session, outcome).await.map_err(failed)
    }
}
