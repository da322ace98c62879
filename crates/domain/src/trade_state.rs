//! A payment's state as WeChat Pay v3 spells it (`trade_state`), which the center records and the
//! kiosk–center API answers (`"state"` of a payment, docs/kiosk-api.md): one type from WeChat's
//! answer to the kiosk's decision.

use serde::{Deserialize, Serialize};

/// `trade_state` of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TradeState {
    /// Paid.
    #[serde(rename = "SUCCESS")]
    Success,
    /// Refunded (in part or whole).
    #[serde(rename = "REFUND")]
    Refund,
    /// Not paid yet.
    #[serde(rename = "NOTPAY")]
    NotPay,
    /// Closed (by the merchant or on expiry): can no longer be paid.
    #[serde(rename = "CLOSED")]
    Closed,
    /// Revoked (card-present only).
    #[serde(rename = "REVOKED")]
    Revoked,
    /// The payer is entering a password.
    #[serde(rename = "USERPAYING")]
    UserPaying,
    /// The payment failed.
    #[serde(rename = "PAYERROR")]
    PayError,
}

impl TradeState {
    /// `SUCCESS`, `REFUND`, `NOTPAY`, `CLOSED`, `REVOKED`, `USERPAYING`, `PAYERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::NotPay => "NOTPAY",
            TradeState::Closed => "CLOSED",
            TradeState::Revoked => "REVOKED",
            TradeState::UserPaying => "USERPAYING",
            TradeState::PayError => "PAYERROR",
        }
    }

    /// The inverse of [`TradeState::as_str`].
    pub fn parse(text: &str) -> Option<TradeState> {
        [
            TradeState::Success,
            TradeState::Refund,
            TradeState::NotPay,
            TradeState::Closed,
            TradeState::Revoked,
            TradeState::UserPaying,
            TradeState::PayError,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// A state that will not change by itself (everything but NOTPAY and USERPAYING).
    pub fn is_final(self) -> bool {
        !matches!(self, TradeState::NotPay | TradeState::UserPaying)
    }
}

/// A stored or received state that is not one of [`TradeState`]'s spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown trade state {0:?}")]
pub struct UnknownTradeState(pub String);

/// How a stored row's text becomes a state (the store reads payments with it).
impl TryFrom<String> for TradeState {
    type Error = UnknownTradeState;
    fn try_from(text: String) -> Result<TradeState, UnknownTradeState> {
        TradeState::parse(&text).ok_or(UnknownTradeState(text))
    }
}

#[cfg(test)]
mod tests {
    use super::TradeState;

    #[test]
    fn the_json_is_the_wire_spelling() {
        for state in [
            TradeState::Success,
            TradeState::Refund,
            TradeState::NotPay,
            TradeState::Closed,
            TradeState::Revoked,
            TradeState::UserPaying,
            TradeState::PayError,
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(serde_json::from_str::<TradeState>(&json).unwrap(), state);
        }
    }

    #[test]
    fn stored_text_is_a_state_or_a_named_error() {
        assert_eq!(
            TradeState::try_from("REVOKED".to_owned()),
            Ok(TradeState::Revoked)
        );
        let err = TradeState::try_from("PAID".to_owned()).unwrap_err();
        assert_eq!(err.to_string(), "unknown trade state \"PAID\"");
    }
}
