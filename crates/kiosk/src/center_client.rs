//! The shipped [`CenterApi`] and [`FleetApi`]: the kiosk–center API's HTTP client
//! (`kiosk_wire::client::CenterClient`, docs/kiosk-api.md) speaking the wire crate's types, with
//! the answers checked into domain types here at the kiosk's edge. Connection errors and 5xx are
//! [`CenterError::Unavailable`] (the agent retries), refusals are [`CenterError::Refused`].
//!
//! The client is built by the caller: plain HTTP with the kiosk's shared secret
//! ([`CenterClient::new`]), or over a `reqwest::Client` carrying the kiosk's mutual-TLS identity
//! ([`CenterClient::with_client`]; `idkiosk` builds it from the enrolment folder).

use async_trait::async_trait;
use base64::Engine as _;
use domain::id::CitizenId;
use domain::rules::{CardExpiry, Decision, NewCardValidity, Reason};
use domain::session::{
    FaceScores, PaymentMethod, PortraitApplication, ReceiptAnswer, ReceiptCode, ScopeRequest,
    SessionId, SessionOutcome,
};
use kiosk_wire::{
    CardJson, CreatePaymentRequest, FacesRequest, IdentityRequest, PortraitRequest, ReceiptRefusal,
    ReceiptRequest, ScopeResponse,
};

use crate::center_api::{
    ApplicationRecord, CenterApi, CenterError, CollectionOffice, DocumentKind, LiveScore, PayState,
    PaymentOrder, PosResult, ScopeAnswer,
};
use crate::fleet::{FleetApi, HeartbeatRequest, VersionedConfig};

pub use kiosk_wire::client::{CenterClient, ClientError};

fn failed(error: ClientError) -> CenterError {
    if let Some(retry_after) = error.retry_after() {
        CenterError::Busy {
            retry_after,
            message: error.to_string(),
        }
    } else if error.is_retryable() {
        CenterError::Unavailable(error.to_string())
    } else {
        CenterError::Refused(error.to_string())
    }
}

fn refused(what: &str) -> CenterError {
    CenterError::Refused(format!("the center's answer has no valid {what}"))
}

/// The center's step-6 answer in domain terms; a refusal without a reason (an older center) is
/// "not found".
fn receipt_answer(found: bool, reason: Option<ReceiptRefusal>) -> ReceiptAnswer {
    match (found, reason) {
        (true, _) => ReceiptAnswer::Found,
        (false, Some(ReceiptRefusal::Expired)) => ReceiptAnswer::Expired,
        (false, Some(ReceiptRefusal::AlreadyUsed)) => ReceiptAnswer::AlreadyUsed,
        (false, Some(ReceiptRefusal::OtherPerson)) => ReceiptAnswer::OtherPerson,
        (false, Some(ReceiptRefusal::NotFound) | None) => ReceiptAnswer::NotFound,
    }
}

fn method_code(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::WeChat => "wechat",
        PaymentMethod::UnionPay => "unionpay",
    }
}

/// The methods a scope answer names that this kiosk can take, in the kiosk's order; every method
/// when it names none (a center that predates the list). A method this kiosk does not know is
/// left out: it has no way to take it.
fn payment_methods(named: &[String]) -> Vec<PaymentMethod> {
    let known: Vec<PaymentMethod> = [PaymentMethod::WeChat, PaymentMethod::UnionPay]
        .into_iter()
        .filter(|method| named.iter().any(|name| name == method_code(*method)))
        .collect();
    if named.is_empty() {
        vec![PaymentMethod::WeChat, PaymentMethod::UnionPay]
    } else {
        known
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

#[async_trait]
impl CenterApi for CenterClient {
    async fn scope(
        &self,
        session: &SessionId,
        request: &ScopeRequest,
    ) -> Result<ScopeAnswer, CenterError> {
        let card = request.card.as_ref().map(|card| CardJson {
            id: card.id.as_str().to_owned(),
            valid_from: card.valid_from.to_string(),
            valid_until: match card.valid_until {
                CardExpiry::On(date) => date.to_string(),
                CardExpiry::LongTerm => "long_term".to_owned(),
            },
        });
        let body = kiosk_wire::ScopeRequest {
            business: request.business.as_str().to_owned(),
            household: request.household.as_str().to_owned(),
            id: request.id.as_str().to_owned(),
            card,
        };
        let answer = self.session_scope(session, &body).await.map_err(failed)?;
        Ok(ScopeAnswer {
            decision: decision(&answer)?,
            payment_methods: payment_methods(&answer.payment_methods),
            name: answer.name,
        })
    }

    async fn receipt(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
    ) -> Result<ReceiptAnswer, CenterError> {
        let body = ReceiptRequest {
            id: id.as_str().to_owned(),
            receipt: receipt.as_str().to_owned(),
        };
        let answer = CenterClient::receipt(self, session, &body)
            .await
            .map_err(failed)?;
        Ok(receipt_answer(answer.found, answer.reason))
    }

    async fn verify_faces(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
        live_photo_jpeg: &[u8],
    ) -> Result<FaceScores, CenterError> {
        self.verify_faces_scored(session, id, receipt, live_photo_jpeg, None)
            .await
    }

    async fn verify_faces_scored(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
        live_photo_jpeg: &[u8],
        liveness: Option<&LiveScore>,
    ) -> Result<FaceScores, CenterError> {
        let body = FacesRequest {
            id: id.as_str().to_owned(),
            receipt: receipt.as_str().to_owned(),
            live_photo: base64::engine::general_purpose::STANDARD.encode(live_photo_jpeg),
            liveness: liveness.cloned(),
        };
        let answer = self.faces(session, &body).await.map_err(failed)?;
        Ok(FaceScores {
            certified_vs_history: answer.certified_vs_history as f32,
            live_vs_history: answer.live_vs_history as f32,
            passed: answer.passed,
        })
    }

    async fn put_blob(
        &self,
        session: &SessionId,
        kind: &str,
        bytes: &[u8],
    ) -> Result<(), CenterError> {
        CenterClient::put_blob(self, session, kind, bytes.to_vec())
            .await
            .map_err(failed)
    }

    async fn submit_application(
        &self,
        session: &SessionId,
        application: &ApplicationRecord,
    ) -> Result<String, CenterError> {
        // The outbox keeps the request body itself: it is sent as it was recorded.
        Ok(self
            .application(session, application)
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
        let answer = CenterClient::create_payment(self, session, &body)
            .await
            .map_err(failed)?;
        Ok(PaymentOrder {
            state: PayState::from_trade_state(answer.state),
            out_trade_no: answer.out_trade_no,
            code_url: answer.code_url,
        })
    }

    async fn payment_state(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError> {
        let answer = self.payment(session, attempt).await.map_err(failed)?;
        Ok(PayState::from_trade_state(answer.state))
    }

    async fn close_payment(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError> {
        let answer = CenterClient::close_payment(self, session, attempt)
            .await
            .map_err(failed)?;
        Ok(PayState::from_trade_state(answer.state))
    }

    async fn report_pos(
        &self,
        session: &SessionId,
        attempt: u8,
        result: &PosResult,
    ) -> Result<PayState, CenterError> {
        let answer = CenterClient::report_pos(self, session, attempt, result)
            .await
            .map_err(failed)?;
        Ok(PayState::from_trade_state(answer.state))
    }

    async fn collection(
        &self,
        session: &SessionId,
    ) -> Result<Option<CollectionOffice>, CenterError> {
        CenterClient::collection(self, session)
            .await
            .map(Some)
            .map_err(failed)
    }

    async fn document(
        &self,
        session: &SessionId,
        kind: DocumentKind,
    ) -> Result<Vec<u8>, CenterError> {
        CenterClient::document(self, session, kind.as_str())
            .await
            .map_err(failed)
    }

    async fn identity(
        &self,
        session: &SessionId,
        id: &CitizenId,
    ) -> Result<Option<String>, CenterError> {
        let body = IdentityRequest {
            id: id.as_str().to_owned(),
        };
        let answer = CenterClient::identity(self, session, &body)
            .await
            .map_err(failed)?;
        match answer.identity {
            None => Ok(None),
            Some(identity) if identity.id_masked == id.masked() => Ok(Some(identity.name_masked)),
            Some(_) => Err(CenterError::Refused(
                "identity: the center answered for another number".into(),
            )),
        }
    }

    async fn portrait_form(
        &self,
        session: &SessionId,
        id: &CitizenId,
        application: PortraitApplication,
    ) -> Result<Vec<u8>, CenterError> {
        let body = PortraitRequest {
            id: id.as_str().to_owned(),
            business: Some(application.as_str().to_owned()),
        };
        self.session_portrait_form(session, &body)
            .await
            .map_err(failed)
    }

    async fn end_session(
        &self,
        session: &SessionId,
        outcome: &SessionOutcome,
    ) -> Result<(), CenterError> {
        self.end(session, outcome).await.map_err(failed)
    }
}

#[async_trait]
impl FleetApi for CenterClient {
    async fn heartbeat(&self, heartbeat: &HeartbeatRequest) -> Result<Option<i64>, CenterError> {
        let answer = CenterClient::heartbeat(self, heartbeat)
            .await
            .map_err(failed)?;
        Ok(answer.config_version)
    }

    async fn config_since(
        &self,
        since: Option<i64>,
    ) -> Result<Option<VersionedConfig>, CenterError> {
        self.fleet_config(since).await.map_err(|err| match err {
            ClientError::Malformed(_) => refused("configuration"),
            other => failed(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_without_a_reason_is_not_found() {
        assert_eq!(receipt_answer(false, None), ReceiptAnswer::NotFound);
        assert_eq!(
            receipt_answer(false, Some(ReceiptRefusal::AlreadyUsed)),
            ReceiptAnswer::AlreadyUsed
        );
        assert_eq!(
            receipt_answer(true, Some(ReceiptRefusal::Expired)),
            ReceiptAnswer::Found
        );
    }
}
