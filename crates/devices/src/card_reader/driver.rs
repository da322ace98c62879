//! Our SAM_V card reader driver: [`CardReaderClient`] over a serial line (115200 8N1).
//!
//! The client owns the protocol's timing (find/select/read timeouts, poll interval, resends after
//! corrupted answers, resynchronisation on garbage); this driver only moves bytes, arms timers,
//! reopens the port when it disappears (and then starts the read again from "find card") and
//! keeps the reader's [`DeviceHealth`].

use async_trait::async_trait;
use protocol::card_reader::{CardReaderClient, ClientConfig, Command, Event, Sw3};
use tokio::sync::watch;

use super::{CardData, CardReader, CardReaderError};
use crate::engine::{Connection, OnLoss};
use crate::health::DeviceHealth;
use crate::serial::LineConfig;

crate::engine::forward_sans_io!(CardReaderClient, Event, strict = true);

/// Where the reader is and how the protocol behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialCardReaderConfig {
    /// The serial line (115200 baud for SAM_V readers).
    pub line: LineConfig,
    /// Timeouts, retries, poll interval, how long to wait for a card, which read command.
    pub client: ClientConfig,
}

impl SerialCardReaderConfig {
    /// The defaults of docs/domain.md 9.1 on `path` at 115200 baud.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        SerialCardReaderConfig {
            line: LineConfig::new(path, 115_200),
            client: ClientConfig::default(),
        }
    }
}

/// A SAM_V reader on a serial line.
#[derive(Debug)]
pub struct SerialCardReader {
    client: ClientConfig,
    connection: Connection,
}

impl SerialCardReader {
    /// A driver for the reader; the port is opened on first use.
    pub fn new(config: SerialCardReaderConfig) -> Self {
        SerialCardReader {
            client: config.client,
            connection: Connection::new(config.line),
        }
    }

    /// Follows the reader's health as it changes.
    pub fn subscribe_health(&self) -> watch::Receiver<DeviceHealth> {
        self.connection.health().subscribe()
    }

    /// Sends one command and returns the reader's answer status and data.
    pub async fn command(
        &self,
        command: Command,
    ) -> Result<protocol::card_reader::Answer, CardReaderError> {
        let config = self.client.clone();
        let outcome = self
            .connection
            .run(
                OnLoss::Restart,
                |now| {
                    let mut client = CardReaderClient::new(config.clone());
                    client.start_command(now, command);
                    client
                },
                |event| match event {
                    Event::CardFound => None,
                    Event::Answered { answer, .. } => Some(Ok(answer)),
                    other => Some(Err(error_of(other))),
                },
            )
            .await
            .map_err(|e| CardReaderError::Disconnected(e.to_string()))?;
        self.settle(outcome.as_ref().err());
        outcome
    }

    fn settle(&self, error: Option<&CardReaderError>) {
        let health = match error {
            // Not the reader's fault: the citizen did not place a card, or took it away.
            None
            | Some(CardReaderError::NoCard)
            | Some(CardReaderError::Status {
                status: Sw3::ReadFailed | Sw3::SelectFailed | Sw3::NoCard,
                ..
            }) => DeviceHealth::Ready,
            Some(CardReaderError::Disconnected(reason)) => DeviceHealth::Disconnected {
                reason: reason.clone(),
            },
            Some(other) => DeviceHealth::Error {
                reason: other.to_string(),
            },
        };
        self.connection.health().set(health);
    }
}

fn error_of(event: Event) -> CardReaderError {
    match event {
        Event::NoCard => CardReaderError::NoCard,
        Event::Failed { command, status } => CardReaderError::Status { command, status },
        Event::Timeout { command } => CardReaderError::Timeout { command },
        Event::Corrupted { command, error } => CardReaderError::Corrupted { command, error },
        Event::BadData(e) => CardReaderError::BadData(e),
        // Not final, or not an error: callers handle them before asking.
        Event::CardFound | Event::CardRead(_) | Event::Answered { .. } => {
            CardReaderError::Disconnected("unexpected event".to_owned())
        }
    }
}

#[async_trait]
impl CardReader for SerialCardReader {
    async fn read_card(&self) -> Result<CardData, CardReaderError> {
        let config = self.client.clone();
        let outcome = self
            .connection
            .run(
                OnLoss::Restart,
                |now| {
                    let mut client = CardReaderClient::new(config.clone());
                    client.start_read(now);
                    client
                },
                |event| match event {
                    Event::CardFound => None,
                    Event::CardRead(card) => Some(Ok(*card)),
                    // A command answer cannot come from a read; treat it as a protocol slip.
                    other => Some(Err(error_of(other))),
                },
            )
            .await
            .unwrap_or_else(|e| Err(CardReaderError::Disconnected(e.to_string())));
        self.settle(outcome.as_ref().err());
        outcome
    }

    async fn check(&self) -> DeviceHealth {
        match self.command(Command::SamStatus).await {
            Ok(answer) if answer.status == Sw3::Success => {}
            Ok(answer) => self.connection.health().set(DeviceHealth::Error {
                reason: format!("SAM status {}", answer.status),
            }),
            Err(_) => {}
        }
        self.health()
    }

    fn health(&self) -> DeviceHealth {
        self.connection.health().get()
    }
}
