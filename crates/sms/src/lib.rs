//! SMS notices to citizens' mobiles (issue 17): the [`SmsGateway`] seam the center's outbox sends
//! through, its SMPP 3.4 implementation ([`SmppGateway`], over tokio TCP around
//! `protocol::smpp`), and, with the `sim` feature, the SMSC simulator behind `idkiosk sim smsc`.
//!
//! A gateway does not retry: it answers each send with the SMSC's message ids or an
//! [`SmsError`] that says whether trying again later can help ([`SmsError::is_transient`]); the
//! outbox keeps the message and retries with backoff. Logs carry the number masked
//! (`138****8000`) and never the text.
#![warn(missing_docs)]

use async_trait::async_trait;
use protocol::smpp::{CommandStatus, TextError};

#[cfg(feature = "sim")]
pub mod sim;
mod smpp;

pub use smpp::{ConfigError, SmppConfig, SmppGateway};

/// Sends one text message to one mobile.
#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// Sends `text` to `to`, an 11-digit mainland mobile number (`MobileNumber::as_str`). A
    /// text over 70 characters goes as a concatenated message of several parts.
    async fn send(&self, to: &str, text: &str) -> Result<SentSms, SmsError>;
}

/// A message the SMSC accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentSms {
    /// The SMSC's message id of each part, in part order (one for a short text).
    pub message_ids: Vec<String>,
}

/// Why a message was not sent. [`SmsError::is_transient`] tells the outbox whether to retry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The number is not a mainland mobile number; nothing was sent (permanent).
    #[error("{masked} is not a mobile number")]
    InvalidNumber {
        /// The number as given, masked.
        masked: String,
    },
    /// The text cannot be sent: empty, or over 255 parts (permanent).
    #[error("the text cannot be sent: {0}")]
    InvalidText(TextError),
    /// The SMSC refused our bind: a wrong password or system_id is permanent (the configuration
    /// must change), a busy SMSC (`ESME_RBINDFAIL`, `ESME_RSYSERR`) transient.
    #[error("the SMSC refused the bind: {status}")]
    BindRefused {
        /// bind_transmitter_resp's command_status.
        status: CommandStatus,
    },
    /// The SMSC refused the message (or one of its parts): throttling, a full queue or a system
    /// error are transient, an invalid destination or parameter permanent
    /// ([`CommandStatus::is_transient`]).
    #[error("the SMSC refused the message: {status}")]
    Refused {
        /// submit_sm_resp's (or generic_nack's) command_status.
        status: CommandStatus,
    },
    /// No answer in time (transient). For a submit_sm the SMSC may have taken the message
    /// anyway, so a retry can deliver it twice.
    #[error("the SMSC did not answer the {what} within {ms} ms")]
    Timeout {
        /// `connect`, `bind_transmitter` or `submit_sm`.
        what: &'static str,
        /// The timeout.
        ms: u64,
    },
    /// The connection could not be made or was lost before the answer (transient).
    #[error("no connection to the SMSC: {0}")]
    Disconnected(String),
    /// The SMSC's answer was malformed (transient).
    #[error("the SMSC's answer is malformed: {0}")]
    Protocol(String),
    /// The gateway was shut down (transient: another process may send it).
    #[error("the SMS gateway is stopped")]
    Stopped,
}

impl SmsError {
    /// Whether the same send may succeed later: keep the message and retry with backoff.
    pub fn is_transient(&self) -> bool {
        match self {
            SmsError::InvalidNumber { .. } | SmsError::InvalidText(_) => false,
            SmsError::BindRefused { status } | SmsError::Refused { status } => {
                status.is_transient()
            }
            SmsError::Timeout { .. }
            | SmsError::Disconnected(_)
            | SmsError::Protocol(_)
            | SmsError::Stopped => true,
        }
    }

    /// The SMPP command_status the SMSC answered with, if it answered.
    pub fn status(&self) -> Option<CommandStatus> {
        match self {
            SmsError::BindRefused { status } | SmsError::Refused { status } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_and_permanent() {
        let check = |e: SmsError, transient: bool| assert_eq!(e.is_transient(), transient, "{e}");
        check(
            SmsError::Refused {
                status: CommandStatus::THROTTLED,
            },
            true,
        );
        check(
            SmsError::Refused {
                status: CommandStatus::INVALID_DESTINATION,
            },
            false,
        );
        check(
            SmsError::BindRefused {
                status: CommandStatus::INVALID_PASSWORD,
            },
            false,
        );
        check(
            SmsError::BindRefused {
                status: CommandStatus::BIND_FAILED,
            },
            true,
        );
        check(
            SmsError::Timeout {
                what: "submit_sm",
                ms: 10,
            },
            true,
        );
        check(SmsError::Disconnected("reset".into()), true);
        check(
            SmsError::InvalidNumber {
                masked: "138****8000".into(),
            },
            false,
        );
        check(SmsError::InvalidText(TextError::Empty), false);
        assert_eq!(
            SmsError::Refused {
                status: CommandStatus::THROTTLED
            }
            .to_string(),
            "the SMSC refused the message: ESME_RTHROTTLED (0x00000058)"
        );
    }
}
