//! The fingerprint scanner: the [`FingerprintScanner`] trait and our driver for R30x-style
//! optical modules on a serial line (57600 8N1 out of the factory), around the `protocol` crate's
//! [`FingerprintClient`]: capture (polling until a finger is on the sensor), quality check
//! (Img2Tz: a smudged finger is reported as `06` before any upload), image upload (256 × 288);
//! and the confirmation of a second press on the module (Img2Tz into CharBuffer 2, Match), which
//! uploads nothing.
//!
//! The image upload is most of step 9's time (about 40 KB an image, 7 s at 57600), so the driver
//! first moves the module to [`SerialFingerprintConfig::fast_baud`] (115200, the fastest an R30x
//! has) with SetSysPara and follows on its own port, and has it send 256-byte data packets (less
//! framing). The module keeps these settings in flash: after a new port is opened, a module that
//! does not answer at the port's rate is tried at the other one.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use protocol::fingerprint::{
    ClientConfig, ClientError, Confirmation, Event, FingerprintClient, Instruction, SysParam,
};
use tokio::sync::{watch, Mutex};

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

    /// Waits for a finger, captures it and has the module match it with the features of the last
    /// [`capture`](Self::capture) (R30x: Img2Tz into CharBuffer 2, Match): the module's score,
    /// and whether the module itself called it a match. No image is uploaded, so this takes a
    /// fraction of a capture. A press the module cannot extract fails like a capture (`06`,
    /// `07`).
    async fn confirm(&self) -> Result<ModuleMatch, FingerprintError>;

    /// Asks the module for its parameters, updating [`health`](Self::health).
    async fn check(&self) -> DeviceHealth;

    /// The state the driver last saw.
    fn health(&self) -> DeviceHealth;
}

/// The module's comparison of a press with the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleMatch {
    /// The Match ack's score.
    pub score: u16,
    /// Whether the module answered `00` (a match at its security level) rather than `08`.
    pub matched: bool,
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
    /// The rate the module is moved to before its first capture (115200); `None` keeps
    /// `line.baud`.
    pub fast_baud: Option<u32>,
}

impl SerialFingerprintConfig {
    /// The defaults on `path`: opened at 57600 baud, then run at 115200.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SerialFingerprintConfig {
            line: LineConfig::new(path, 57_600),
            client: ClientConfig::default(),
            fast_baud: Some(115_200),
        }
    }
}

/// How long a SetSysPara may go unanswered before the other rate is tried.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// The data packet size code the driver asks for: 3, 256 bytes (11 bytes of framing a packet).
const PACKET_SIZE_256: u8 = 3;

/// An R30x-style module on a serial line.
#[derive(Debug)]
pub struct SerialFingerprintScanner {
    client: ClientConfig,
    fast_baud: Option<u32>,
    /// The port generation on which the module was last set up (rate and packet size).
    set_up: Mutex<Option<u64>>,
    connection: Connection,
}

impl SerialFingerprintScanner {
    /// A driver for the module; the port is opened on first use.
    pub fn new(config: SerialFingerprintConfig) -> Self {
        SerialFingerprintScanner {
            client: config.client,
            fast_baud: config.fast_baud,
            set_up: Mutex::new(None),
            connection: Connection::new(config.line),
        }
    }

    /// The rate the port runs at now (after the switch, [`SerialFingerprintConfig::fast_baud`]).
    pub fn baud(&self) -> u32 {
        self.connection.baud()
    }

    /// One SetSysPara, answered `00` or not; `None` when the port cannot be used.
    async fn set(&self, parameter: SysParam, value: u8) -> Option<bool> {
        let config = ClientConfig {
            ack_timeout: PROBE_TIMEOUT,
            max_retries: 1,
            ..self.client.clone()
        };
        let instruction = Instruction::SetSysPara {
            parameter: parameter.number(),
            value,
        };
        self.connection
            .run(
                OnLoss::Fail,
                |now| {
                    let mut client = FingerprintClient::new(config.clone());
                    client.start_command(now, instruction);
                    client
                },
                |event| match event {
                    Event::Answered { ack, .. } => Some(ack.code == Confirmation::Ok),
                    _ => Some(false),
                },
            )
            .await
            .ok()
    }

    /// Moves the module to the fast rate and 256-byte packets, once per opened port. A module
    /// that does not answer at the port's rate (set fast by an earlier run, or still at the
    /// factory rate) is tried at the other; one that answers at neither is left to the capture
    /// to report.
    async fn set_up(&self) {
        // At the line's own rate the module is left as it comes (today's behaviour).
        let Some(fast) = self.fast_baud.filter(|&b| b != self.connection.line().baud) else {
            return;
        };
        let Some(Instruction::SetSysPara { value, .. }) = Instruction::set_baud(fast) else {
            tracing::warn!(
                fast,
                "not a rate an R30x module has: staying at the line's rate"
            );
            return;
        };
        let mut set_up = self.set_up.lock().await;
        if *set_up == Some(self.connection.generation()) {
            return;
        }
        let base = self.connection.line().baud;
        // No port: nothing to set up; the operation reports it.
        let Some(mut switched) = self.set(SysParam::Baud, value).await else {
            return;
        };
        if !switched {
            let other = if self.connection.baud() == fast {
                base
            } else {
                fast
            };
            if self.connection.set_baud(other).await.is_ok() {
                switched = self.set(SysParam::Baud, value).await == Some(true);
            }
        }
        if !switched {
            tracing::warn!("the fingerprint module answers at neither rate");
            let _ = self.connection.set_baud(base).await;
            return;
        }
        // Its ack came at the old rate; everything from now on is at the new one.
        if let Err(e) = self.connection.set_baud(fast).await {
            tracing::warn!(error = %e, "switching the port to {fast} baud");
            return;
        }
        if self.set(SysParam::PacketSize, PACKET_SIZE_256).await != Some(true) {
            tracing::info!("the module keeps its data packet size");
        }
        tracing::info!(baud = fast, "fingerprint module set up");
        *set_up = Some(self.connection.generation());
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
        Event::Image(_) | Event::Answered { .. } | Event::Matched { .. } => {
            FingerprintError::Disconnected("unexpected event".to_owned())
        }
    }
}

#[async_trait]
impl FingerprintScanner for SerialFingerprintScanner {
    async fn capture(&self) -> Result<FingerImage, FingerprintError> {
        self.set_up().await;
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

    async fn confirm(&self) -> Result<ModuleMatch, FingerprintError> {
        self.set_up().await;
        let config = self.client.clone();
        let outcome = self
            .connection
            .run(
                OnLoss::Restart,
                |now| {
                    let mut client = FingerprintClient::new(config.clone());
                    client.start_confirm(now);
                    client
                },
                |event| match event {
                    Event::Matched { score, matched } => Some(Ok(ModuleMatch { score, matched })),
                    other => Some(Err(error_of(other))),
                },
            )
            .await
            .unwrap_or_else(|e| Err(FingerprintError::Disconnected(e.to_string())));
        self.settle(outcome.as_ref().err());
        outcome
    }

    async fn check(&self) -> DeviceHealth {
        self.set_up().await;
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
