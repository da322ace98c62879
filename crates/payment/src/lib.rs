//! Payments of an application: WeChat Pay API v3, Native (scan code), as a client for the center
//! ([`client::WechatPayClient`]), a callback receiver that records each payment once
//! ([`callback::CallbackReceiver`]), and `paysim`, a reference WeChat Pay server with real RSA
//! signatures and AES-256-GCM callbacks ([`sim`]).
//!
//! The center drives a payment through [`provider::PaymentProvider`]; the order number is
//! derived from the application and the attempt ([`provider::OutTradeNo::derive`]), so a retry
//! after a crash finds the same order instead of charging twice. UnionPay (through the POS driver)
//! is another provider, to come.
//!
//! Transport: plain HTTP, fine on loopback to paysim; production needs TLS to
//! api.mch.weixin.qq.com (reqwest with a TLS feature).
#![warn(missing_docs)]

pub mod aead;
pub mod callback;
pub mod client;
pub mod keys;
pub mod provider;
pub mod sign;
pub mod sim;
pub mod wire;

use std::sync::Arc;

use time::OffsetDateTime;

pub use aead::ApiV3Key;
pub use callback::{CallbackReceiver, CallbackVerifier, MemoryLedger, PaymentLedger, Recorded};
pub use client::{NativeOrder, WechatPayClient};
pub use keys::{KeyPair, MerchantKeys, PlatformKeys};
pub use provider::{OutTradeNo, PaymentProvider, PaymentRequest, PaymentStatus, TradeState};

/// What went wrong with a payment call, a signature or a callback.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The HTTP exchange failed (connection, timeout).
    #[error("transport: {0}")]
    Transport(String),
    /// The platform answered an error.
    #[error("wechat pay answered {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code (`ORDER_NOT_EXIST`, `ORDERPAID`, `SIGN_ERROR`, …).
        code: String,
        /// Its message.
        message: String,
    },
    /// A signature did not verify.
    #[error("the signature does not verify")]
    Signature,
    /// A signature header is missing.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The `Authorization` header or the signature type is malformed.
    #[error("authorization: {0}")]
    Authorization(String),
    /// A timestamp is more than 300 s from our clock.
    #[error("timestamp is {skew_seconds} s off (at most 300)")]
    StaleTimestamp {
        /// Our clock minus the timestamp.
        skew_seconds: i64,
    },
    /// Signed by a key other than the platform key we know.
    #[error("signed by key {got}, expected {expected}")]
    WrongSerial {
        /// The serial in the answer.
        got: String,
        /// Ours.
        expected: String,
    },
    /// AES-256-GCM refused the ciphertext (wrong APIv3 key or tampered).
    #[error("the callback resource does not decrypt under our APIv3 key")]
    Decrypt,
    /// A body is not what the API says.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Key material is missing or unreadable.
    #[error("key material: {0}")]
    Key(String),
    /// The ledger (the center's database) failed.
    #[error("ledger: {0}")]
    Ledger(String),
}

/// The time, passed in so that tests can move it.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock, shared.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// RFC 3339 at +08:00 and whole seconds, as WeChat writes times (`2026-11-25T10:40:00+08:00`).
pub fn rfc3339_beijing(at: OffsetDateTime) -> String {
    let at = at.to_offset(domain::time_zone::CHINA_STANDARD_TIME);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Parses an RFC 3339 time.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}
