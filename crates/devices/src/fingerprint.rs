//! The fingerprint scanner: the [`FingerprintScanner`] trait and our driver for R30x-style
//! optical modules on a serial line (57600 8N1), around the `protocol` crate's
//! [`FingerprintClient`]: capture (polling until a finger is on the sensor), quality check
//! (Img2Tz: a smudged finger is reported as `06` before any upload), image upload (256 × 288).

use std::path::PathBuf;

use async_trait::async_trait;
use protocol::fingerprint::{
    ClientConfig, ClientError, Confirmation, Event, FingerprintClient, Instruction,
};
use tokio::sync::watch;

pub use protocol::fingerprint::{FingerImage, HEIGHT, WIDTH};

use crate::engine::{Connection, OnLoss};
use crate::health::DeviceHealth;
use crate::serial::LineConfig;

/// A fingerprint scanner, whoever made it.
#[async_trait]
pub trait FingerprintScanner: Send + Sync {
    /// Waits for a finger (up to the driver's configured wait), captures it and returns the
    /// 8-bit grey image.
    async fn capture(&self) -> Result<FingerImage, FingerprintError>;

    /// Asks the module for its parameters, updating [`health`](Self::health).
    async fn check(&self) -> DeviceHealth;

    /// The state the driver last saw.
    fn health(&self) -> DeviceHealth;
}

/// Why no image was captured.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    /// No finger was placed within the wait.
    #[error("no finger on the sensor")]
    NoFinger,
    /// The module answered an instruction with an error code (`06` image too messy for a
    /// smudged finger, `07` too few feature points, …).
    #[error("{instruction:?} failed: {code}")]
    Failed {
        /// The instruction.
        instruction: Instruction,
        /// The module's confirmation code.
        code: Confirmation,
    },
    /// No answer in time, even after the resends.
    #[error("no answer to {instruction:?} in time")]
    Timeout {
        /// The instruction.
        instruction: Instruction,
    },
    /// The answers stayed corrupted after the resends.
    #[error("corrupted answers to {instruction:?}: {error}")]
    Corrupted {
        /// The instruction.
        instruction: Instruction,
        /// The last error.
        error: ClientError,
    },
    /// The port cannot be opened or went away.
    #[error("scanner disconnected: {0}")]
    Disconnected(String),
}

impl FingerprintError {
    /// The module's confirmation code for this failure, if any (`02` for no finger).
    pub fn code(&self) -> Option<Confirmation> {
        match self {
            FingerprintError::NoFinger => Some(Confirmation::NoFinger),
            FingerprintError::Failed { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A short English description for operators.
    pub fn summary(&self) -> String {
        match self.code() {
            Some(code) => code.description().to_owned(),
            None => self.to_string(),
        }
    }
}

crate::engine::forward_sans_io!(FingerprintClient, Event, strict = true);

/// Where the module is and how the protocol behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialFingerprintConfig {
    /// The serial line (57600 baud for R30x modules).
    pub line: LineConfig,
    /// Timeouts, retries, poll interval, how long to wait for a finger, quality check.
    pub client: ClientConfig,
}

impl SerialFingerprintConfig {
    /// The defaults on `path` at 57600 baud.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SerialFingerprintConfig {
            line: LineConfig::new(path, 57_600),
            client: ClientConfig::default(),
        }
    }
}

/// An R30x-style module on a serial line.
#[derive(Debug)]
pub struct SerialFingerprintScanner {
    client: ClientConfig,
    connection: Connection,
}

impl SerialFingerprintScanner {
    /// A driver for the module; the port is opened on first use.
    pub fn new(config: SerialFingerprintConfig) -> Self {
        SerialFingerprintScanner {
            client: config.client,
            connection: Connection::new(config.line),
        }
    }

    /// Follows the module's health as it changes.
    pub fn subscribe_health(&self) -> watch::Receiver<DeviceHealth> {
        self.connection.health().subscribe()
    }

    fn settle(&self, error: Option<&FingerprintError>) {
        let health = match error {
            // The citizen's doing, not the module's.
            None
            | Some(FingerprintError::NoFinger)
            | Some(FingerprintError::Failed {
                code:
                    Confirmation::NoFinger
                    | Confirmation::TooMessy
                    | Confirmation::TooFewFeatures
                    | Confirmation::NoMatch,
                ..
            }) => DeviceHealth::Ready,
            Some(FingerprintError::Disconnected(reason)) => DeviceHealth::Disconnected {
                reason: reason.clone(),
            },
            Some(other) => DeviceHealth::Error {
                reason: other.to_string(),
            },
        };
        self.connection.health().set(health);
    }
}

fn error_of(event: Event) -> FingerprintError {
    match event {
        Event::NoFinger => FingerprintError::NoFinger,
        Event::Failed { instruction, code } => FingerprintError::Failed { instruction, code },
        Event::Timeout { instruction } => FingerprintError::Timeout { instruction },
        Event::Corrupted { instruction, error } => {
            FingerprintError::Corrupted { instruction, error }
        }
        Event::Image(_) | Event::Answered { .. } => {
            FingerprintError::Disconnected("unexpected event".to_owned())
        }
    }
}

#[async_trait]
impl FingerprintScanner for SerialFingerprintScanner {
    async fn capture(&self) -> Result<FingerImage, FingerprintError> {
        let config = self.client.clone();
        let outcome = self
            .connection
            .run(
                OnLoss::Restart,
                |now| {
                    let mut client = FingerprintClient::new(config.clone());
                    client.start_capture(now);
                    client
                },
                |event| match event {
                    Event::Image(image) => Some(Ok(image)),
                    other => Some(Err(error_of(other))),
                },
            )
            .await
            .unwrap_or_else(|e| Err(FingerprintError::Disconnected(e.to_string())));
        self.settle(outcome.as_ref().err());
        outcome
    }

    async fn check(&self) -> DeviceHealth {
        let config = self.client.clone();
        let outcome = self
            .connection
            .run(
                OnLoss::Restart,
                |now| {
                    let mut client = FingerprintClient::new(config.clone());
                    client.start_command(now, Instruction::ReadSysPara);
                    client
                },
                |event| match event {
                    Event::Answered { ack, .. } if ack.code == Confirmation::Ok => Some(Ok(())),
                    Event::Answered { instruction, ack } => Some(Err(FingerprintError::Failed {
                        instruction,
                        code: ack.code,
                    })),
                    other => Some(Err(error_of(other))),
                },
            )
            .await
            .unwrap_or_else(|e| Err(FingerprintError::Disconnected(e.to_string())));
        match &outcome {
            Ok(()) => self.connection.health().set(DeviceHealth::Ready),
            Err(FingerprintError::Disconnected(reason)) => {
                self.connection.health().set(DeviceHealth::Disconnected {
                    reason: reason.clone(),
                })
            }
            Err(e) => self.connection.health().set(DeviceHealth::Error {
                reason: e.to_string(),
            }),
        }
        self.health()
    }

    fn health(&self) -> DeviceHealth {
        self.connection.health().get()
    }
}
