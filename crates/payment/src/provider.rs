//! What the center needs from any payment method, so it can drive one payment per application
//! (NOTPAY → SUCCESS / CLOSED / PAYERROR) without knowing which method it is.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::PaymentError;

/// `trade_state` of a payment: one type for WeChat's answers, the center's records and the
/// kiosk–center API (it lives in `domain` so the wire crate can use it without this crate).
pub use domain::trade_state::TradeState;

/// 商户订单号: derived from the application number and the attempt, so the same attempt always
/// names the same order (a retried create finds it; it can never be paid twice).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OutTradeNo(String);

impl OutTradeNo {
    /// `IDK` + the application number without `-` + `A` + the attempt (1–99):
    /// `320100-20261125-000123`, attempt 1 → `IDK32010020261125000123A1`.
    pub fn derive(application_number: &str, attempt: u8) -> Result<OutTradeNo, PaymentError> {
        if !(1..=99).contains(&attempt) {
            return Err(PaymentError::Malformed(
                "the attempt must be 1 to 99".into(),
            ));
        }
        let compact: String = application_number.chars().filter(|c| *c != '-').collect();
        if compact.is_empty() || !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(PaymentError::Malformed(
                "the application number must be letters, digits and '-'".into(),
            ));
        }
        OutTradeNo::parse(&format!("IDK{compact}A{attempt}"))
    }

    /// Checks WeChat's rule: 6–32 characters of letters, digits, `_ - | *`.
    pub fn parse(text: &str) -> Result<OutTradeNo, PaymentError> {
        if !(6..=32).contains(&text.len())
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
        {
            return Err(PaymentError::Malformed(format!(
                "out_trade_no must be 6 to 32 letters, digits or _-|*, got {text:?}"
            )));
        }
        Ok(OutTradeNo(text.to_owned()))
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A payment to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The order number (see [`OutTradeNo::derive`]).
    pub out_trade_no: OutTradeNo,
    /// In fen.
    pub amount_fen: u32,
    /// What is paid for, e.g. 居民身份证工本费（到期换领）.
    pub description: String,
    /// When the order closes by itself (default 10 minutes after creation, DOMAIN choice).
    pub expires_at: OffsetDateTime,
}

/// How the citizen pays a started payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentStart {
    /// Show or print this as a QR code (WeChat Native).
    CodeUrl(String),
}

/// Where a payment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentStatus {
    /// The state.
    pub state: TradeState,
    /// The provider's transaction id, once paid.
    pub transaction_id: Option<String>,
    /// Paid amount in fen, once paid.
    pub paid_fen: Option<u32>,
}

/// A payment method the center drives.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Starts (or finds again, for the same order number and amount) a payment.
    async fn create(&self, request: &PaymentRequest) -> Result<PaymentStart, PaymentError>;
    /// Asks where a payment stands.
    async fn query(&self, out_trade_no: &OutTradeNo) -> Result<PaymentStatus, PaymentError>;
    /// Closes an unpaid payment so it can no longer be paid.
    async fn close(&self, out_trade_no: &OutTradeNo) -> Result<(), PaymentError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_trade_no_from_application_and_attempt() {
        assert_eq!(
            OutTradeNo::derive("320100-20261125-000123", 1)
                .unwrap()
                .as_str(),
            "IDK32010020261125000123A1"
        );
        assert_eq!(
            OutTradeNo::derive("320100-20261125-000123", 12)
                .unwrap()
                .as_str(),
            "IDK32010020261125000123A12"
        );
        assert!(OutTradeNo::derive("320100-20261125-000123", 0).is_err());
        assert!(OutTradeNo::derive("X".repeat(40).as_str(), 1).is_err());
        assert!(OutTradeNo::derive("王", 1).is_err());
    }

    #[test]
    fn trade_states_round_trip() {
        for s in [
            "SUCCESS",
            "REFUND",
            "NOTPAY",
            "CLOSED",
            "REVOKED",
            "USERPAYING",
            "PAYERROR",
        ] {
            assert_eq!(TradeState::parse(s).map(TradeState::as_str), Some(s));
        }
        assert!(!TradeState::NotPay.is_final());
        assert!(TradeState::Closed.is_final());
    }
}
