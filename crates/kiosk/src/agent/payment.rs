//! Step 11: one payment attempt to its end. The application must be at the center first (the
//! trade number derives from its number); then WeChat (a QR code, the order polled) or UnionPay
//! (a purchase on the POS terminal, reported to the center).

use std::sync::Arc;
use std::time::Duration;

use devices::protocol::pos::Response;
use devices::PosTerminal;
use domain::session::{Event, PaymentMethod, PaymentResult, SessionId};

use super::center::retry;
use super::{Agent, AgentPolicy, Hint, Task};
use crate::center_api::{CenterApi, PayState, PaymentOrder, PosResult};
use crate::outbox::Outbox;

impl Agent {
    pub(super) fn create_payment(
        &mut self,
        sid: SessionId,
        method: PaymentMethod,
        amount_fen: u32,
        attempt: u8,
    ) {
        let payment = Payment {
            center: self.ports.center.clone(),
            outbox: self.outbox.clone(),
            pos: self.ports.pos.clone(),
            policy: self.config.policy.clone(),
            sid,
            attempt,
        };
        let hint = self.hint_sender();
        self.spawn_task(Task::Payment, async move {
            payment.pay(method, amount_fen, hint).await
        });
    }

    /// Closes an open attempt at the center (its timeout, the citizen leaving the QR screen,
    /// UnionPay instead), beside the loop.
    pub(super) fn close_payment(&mut self, sid: SessionId, attempt: u8) {
        let center = self.ports.center.clone();
        let tries = self.config.policy.center_retry;
        tokio::spawn(async move {
            match retry(tries, || center.close_payment(&sid, attempt)).await {
                Ok(state) => tracing::info!(?state, attempt, "payment closed"),
                Err(e) => tracing::error!(error = %e, attempt, "closing the payment"),
            }
        });
    }
}

/// A payment attempt and what it needs.
struct Payment {
    center: Arc<dyn CenterApi>,
    outbox: Outbox,
    pos: Arc<dyn PosTerminal>,
    policy: AgentPolicy,
    sid: SessionId,
    attempt: u8,
}

impl Payment {
    fn result(&self, result: PaymentResult) -> Option<Event> {
        Some(Event::PaymentResult {
            attempt: self.attempt,
            result,
        })
    }

    async fn pay(
        self,
        method: PaymentMethod,
        amount_fen: u32,
        hint: impl Fn(Hint),
    ) -> Option<Event> {
        if !self.application_filed(&hint).await {
            return Some(Event::CenterUnavailable);
        }
        let (center, sid, attempt) = (&self.center, &self.sid, self.attempt);
        let tries = self.policy.center_retry;
        let order = match retry(tries, || {
            center.create_payment(sid, method, attempt, amount_fen)
        })
        .await
        {
            Ok(order) => order,
            Err(e) => {
                tracing::error!(error = %e, "opening the payment");
                return Some(Event::CenterUnavailable);
            }
        };
        if order.state == PayState::Success {
            return self.result(PaymentResult::Paid);
        }
        match method {
            PaymentMethod::WeChat => {
                hint(Hint::WechatCode(order.code_url.clone()));
                self.wechat().await
            }
            PaymentMethod::UnionPay => self.unionpay(&order, amount_fen).await,
        }
    }

    /// Waits for the center's application number (the outbox has it once the application was
    /// delivered) and shows it with the collection office; false when it does not come in time.
    async fn application_filed(&self, hint: &impl Fn(Hint)) -> bool {
        let mut waited = Duration::ZERO;
        loop {
            match self.outbox.application_no(self.sid.as_str()).await {
                Ok(Some(no)) => {
                    // For the screens after payment: the number, and where to collect the card.
                    let tries = self.policy.center_retry;
                    let collection = retry(tries, || self.center.collection(&self.sid))
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "the collection office");
                            None
                        });
                    hint(Hint::Application { no, collection });
                    return true;
                }
                _ if waited > self.policy.application_wait => return false,
                _ => {
                    tokio::time::sleep(self.policy.application_poll).await;
                    waited += self.policy.application_poll;
                }
            }
        }
    }

    /// Polls the open order until the citizen paid, it was declined or it closed.
    async fn wechat(&self) -> Option<Event> {
        loop {
            tokio::time::sleep(self.policy.wechat_poll).await;
            match self.center.payment_state(&self.sid, self.attempt).await {
                Ok(PayState::Success) => return self.result(PaymentResult::Paid),
                Ok(PayState::Payerror) => return self.result(PaymentResult::Declined),
                Ok(PayState::Closed) => return self.result(PaymentResult::Expired),
                Ok(PayState::Notpay) => {}
                Err(e) => tracing::warn!(error = %e, "payment state"),
            }
        }
    }

    /// The purchase at the terminal (or its kept answer), reported to the center; an approved
    /// purchase the center cannot record is voided.
    async fn unionpay(&self, order: &PaymentOrder, amount_fen: u32) -> Option<Event> {
        let Some(report) = self.purchase(order, amount_fen).await else {
            return self.result(PaymentResult::Expired);
        };
        let tries = self.policy.center_retry;
        match retry(tries, || {
            self.center.report_pos(&self.sid, self.attempt, &report)
        })
        .await
        {
            Ok(PayState::Success) => self.result(PaymentResult::Paid),
            Ok(_) => self.result(PaymentResult::Declined),
            Err(e) if report.approved => {
                // Charged, but the center cannot record it: give the money back at the
                // terminal and send the citizen to the window.
                tracing::error!(error = %e, "the center did not record a POS payment; voiding it");
                void(self.pos.as_ref(), &report).await;
                Some(Event::CenterUnavailable)
            }
            Err(_) => self.result(PaymentResult::Declined),
        }
    }

    /// The terminal's answer, kept before it is reported: after a crash the attempt is reported
    /// again, never charged again. `None` when the terminal failed.
    async fn purchase(&self, order: &PaymentOrder, amount_fen: u32) -> Option<PosResult> {
        let kept = format!("pos_response_{}", self.attempt);
        if let Ok(Some(json)) = self.outbox.capture(self.sid.as_str(), &kept).await {
            // A report kept by an older kiosk may carry an empty voucher or a zero amount.
            if let Ok(report) = serde_json::from_slice::<PosResult>(&json) {
                return Some(absent_if_empty(report));
            }
        }
        let response = match self
            .pos
            .purchase(u64::from(amount_fen), &order.out_trade_no)
            .await
        {
            Ok(response) => response,
            Err(e) => {
                tracing::error!(error = %e, "POS purchase");
                return None;
            }
        };
        let report = pos_report(&response);
        let json = serde_json::to_vec(&report).unwrap_or_default();
        if let Err(e) = self
            .outbox
            .put_capture(self.sid.as_str(), &kept, &json)
            .await
        {
            tracing::error!(error = %e, "keeping the POS answer");
        }
        Some(report)
    }
}

/// The terminal's answer as the center takes it ([`absent_if_empty`]).
fn pos_report(response: &Response) -> PosResult {
    absent_if_empty(PosResult {
        approved: response.is_approved(),
        response_code: response.code.clone(),
        card_masked: Some(response.card_number.clone()),
        reference: Some(response.reference.clone()),
        auth_code: Some(response.auth_code.clone()),
        time: Some(response.time.clone()),
        voucher: Some(response.trace.clone()),
        batch: Some(response.batch.clone()),
        amount_fen: Some(response.amount_fen),
    })
}

/// An empty voucher or batch and a zero amount are left out: the center checks a voucher and a
/// batch it is given (6 digits), and holds a payment whose amount differs from the order's.
fn absent_if_empty(report: PosResult) -> PosResult {
    PosResult {
        voucher: report.voucher.filter(|v| !v.is_empty()),
        batch: report.batch.filter(|b| !b.is_empty()),
        amount_fen: report.amount_fen.filter(|fen| *fen > 0),
        ..report
    }
}

/// Voids an approved POS purchase at the terminal (logged; the staff see it in reconciliation).
async fn void(pos: &dyn PosTerminal, report: &PosResult) {
    let text = |field: &Option<String>| field.clone().unwrap_or_default();
    let original = Response {
        code: report.response_code.clone(),
        message: String::new(),
        card_number: text(&report.card_masked),
        amount_fen: report.amount_fen.unwrap_or_default(),
        trace: text(&report.voucher),
        batch: text(&report.batch),
        date: String::new(),
        time: text(&report.time),
        reference: text(&report.reference),
        auth_code: text(&report.auth_code),
        merchant_id: String::new(),
        terminal_id: String::new(),
        memo: String::new(),
    };
    match pos.void(&original, "application not recorded").await {
        Ok(answer) if answer.is_approved() => {
            tracing::info!(voucher = %original.trace, "POS payment voided")
        }
        Ok(answer) => tracing::error!(code = %answer.code, "the terminal refused the void"),
        Err(e) => tracing::error!(error = %e, "POS void failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_voucher_and_a_zero_amount_are_not_reported() {
        let response = Response {
            code: "00".into(),
            message: String::new(),
            card_number: "622202******1234".into(),
            amount_fen: 0,
            trace: String::new(),
            batch: "000001".into(),
            date: String::new(),
            time: "2026-11-25T10:40:00+08:00".into(),
            reference: "123456789012".into(),
            auth_code: "654321".into(),
            merchant_id: String::new(),
            terminal_id: String::new(),
            memo: String::new(),
        };
        let report = pos_report(&response);
        assert_eq!(report.voucher, None);
        assert_eq!(report.batch.as_deref(), Some("000001"));
        assert_eq!(report.amount_fen, None);
        assert_eq!(report.reference.as_deref(), Some("123456789012"));
    }

    // A POS answer kept before this kiosk reported it in the wire's shape has every text and
    // the amount present; read back it is reported as a new one would be.
    #[test]
    fn a_pos_answer_kept_in_the_former_shape_is_reported_the_same() {
        let kept = r#"{"approved":true,"response_code":"00","card_masked":"622202******1234","reference":"123456789012","auth_code":"654321","time":"104000","voucher":"","batch":"000001","amount_fen":0}"#;
        let report = match serde_json::from_str::<PosResult>(kept) {
            Ok(report) => absent_if_empty(report),
            Err(err) => panic!("the former shape no longer reads: {err}"),
        };
        assert_eq!(report.voucher, None);
        assert_eq!(report.amount_fen, None);
        assert_eq!(report.time.as_deref(), Some("104000"));
    }
}
