//! The ID card reader: the [`CardReader`] trait the kiosk uses, our SAM_V driver over a serial
//! line ([`SerialCardReader`]), the JSON form of a card ([`CardJson`]) shared by the operators'
//! CLI and the simulator's control API, and demo cards built from a citizen ID number.

#[cfg(feature = "sim")]
mod citizen;
mod driver;
mod json;
mod nation;

use async_trait::async_trait;
use protocol::card_reader::{CardDataError, DecodeError};

#[cfg(feature = "sim")]
pub use citizen::citizen_card;
pub use driver::{SerialCardReader, SerialCardReaderConfig};
pub use json::{CardJson, CardJsonError};
pub use nation::nation_name;
pub use protocol::card_reader::{CardData, ClientConfig, Command, Sw3};

use crate::health::DeviceHealth;

/// A second-generation ID card reader, whoever made it: our SAM_V driver or a vendor SDK adapter.
#[async_trait]
pub trait CardReader: Send + Sync {
    /// Waits for a card to be placed (up to the driver's configured wait), then reads its text,
    /// photo and fingerprint blocks. A failed read returns nothing of the card.
    async fn read_card(&self) -> Result<CardData, CardReaderError>;

    /// Asks the reader for its SAM status, updating [`health`](Self::health).
    async fn check(&self) -> DeviceHealth;

    /// The state the driver last saw.
    fn health(&self) -> DeviceHealth;
}

/// Why a card could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CardReaderError {
    /// No card was placed within the wait.
    #[error("no card found")]
    NoCard,
    /// The reader answered a command with an error status (`41` when the card was removed
    /// during the read, …).
    #[error("{command:?} failed: {status}")]
    Status {
        /// The command.
        command: Command,
        /// The reader's SW3.
        status: Sw3,
    },
    /// The reader did not answer in time, even after the resends.
    #[error("no answer to {command:?} in time")]
    Timeout {
        /// The command.
        command: Command,
    },
    /// The answers stayed corrupted after the resends.
    #[error("corrupted answers to {command:?}: {error}")]
    Corrupted {
        /// The command.
        command: Command,
        /// The last decoding error.
        error: DecodeError,
    },
    /// The card's data does not decode.
    #[error("the card's data is malformed: {0}")]
    BadData(CardDataError),
    /// The port cannot be opened or went away.
    #[error("reader disconnected: {0}")]
    Disconnected(String),
}

impl CardReaderError {
    /// The SW3 status this failure corresponds to, if any (`80` for no card).
    pub fn status(&self) -> Option<Sw3> {
        match self {
            CardReaderError::NoCard => Some(Sw3::NoCard),
            CardReaderError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A short English description for operators (`no card found`, `read failed`, …).
    pub fn summary(&self) -> String {
        match self.status() {
            Some(status) => short_description(status).to_owned(),
            None => self.to_string(),
        }
    }
}

/// The English part of an SW3's description, without the Chinese in parentheses.
pub fn short_description(status: Sw3) -> &'static str {
    let text = status.description();
    text.split(" (").next().unwrap_or(text)
}
