//! The JSON bodies of WeChat Pay API v3, Native (docs/domain.md section 9.6), as plain structs
//! shared by the client and the simulator. Unknown fields are ignored, as the platform adds fields.

use serde::{Deserialize, Serialize};

/// `amount` of an order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderAmount {
    /// In fen.
    pub total: u32,
    /// `CNY`.
    #[serde(default = "cny")]
    pub currency: String,
}

fn cny() -> String {
    "CNY".to_owned()
}

/// `POST /v3/pay/transactions/native`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateNative {
    /// AppID.
    pub appid: String,
    /// 商户号.
    pub mchid: String,
    /// What is bought (shown in WeChat).
    pub description: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// Where callbacks go.
    pub notify_url: String,
    /// Amount.
    pub amount: OrderAmount,
    /// RFC 3339 expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
    /// Returned as is in queries and callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
}

/// The answer to a Native order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeUrl {
    /// `weixin://wxpay/bizpayurl?pr=…`.
    pub code_url: String,
}

/// `POST …/close`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CloseOrder {
    /// 商户号.
    pub mchid: String,
}

/// The payer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Payer {
    /// The payer's openid under the AppID.
    pub openid: String,
}

/// `amount` of a transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransactionAmount {
    /// Ordered, in fen.
    pub total: u32,
    /// Paid by the payer, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<u32>,
    /// `CNY`.
    #[serde(default = "cny")]
    pub currency: String,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

/// A transaction, as queried and as decrypted from a callback.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Transaction {
    /// AppID.
    pub appid: String,
    /// 商户号.
    pub mchid: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// WeChat's transaction id, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// `NATIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    /// SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING, PAYERROR.
    pub trade_state: String,
    /// Human-readable state.
    #[serde(default)]
    pub trade_state_desc: String,
    /// The payer's bank, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    /// As given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// RFC 3339, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// Once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    /// Amounts.
    pub amount: TransactionAmount,
}

/// The encrypted part of a callback.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Resource {
    /// `transaction`.
    pub original_type: String,
    /// `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// Base64 of ciphertext and tag.
    pub ciphertext: String,
    /// Authenticated, not encrypted.
    #[serde(default)]
    pub associated_data: String,
    /// 12 characters.
    pub nonce: String,
}

/// A callback (支付通知).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Notification {
    /// Notification id.
    pub id: String,
    /// RFC 3339.
    pub create_time: String,
    /// `encrypt-resource`.
    pub resource_type: String,
    /// `TRANSACTION.SUCCESS`.
    pub event_type: String,
    /// `支付成功`.
    #[serde(default)]
    pub summary: String,
    /// The encrypted transaction.
    pub resource: Resource,
}

/// An error answer: `{"code":"…","message":"…"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// E.g. `SIGN_ERROR`, `ORDER_NOT_EXIST`, `ORDERPAID`.
    pub code: String,
    /// Why.
    pub message: String,
}
