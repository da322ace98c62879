//! The barcode scanner: the [`BarcodeScanner`] trait and our driver for serial scanners
//! (9600 8N1, one code per line, docs/domain.md 9.3).
//!
//! A scanner only talks, so the `protocol` crate has a line decoder and no state machine; the
//! small sans-IO [`ScanWait`] here adds the one thing a scan needs besides it: a deadline.
//! Malformed lines (noise, an overlong line, another terminator setting) are logged and
//! skipped; the scan goes on until a good code or the deadline.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use protocol::barcode::{LineDecoder, LineError, Terminator};
use protocol::Millis;

use crate::engine::{Connection, OnLoss, SansIo};
use crate::health::DeviceHealth;
use crate::serial::LineConfig;

/// A barcode scanner, whoever made it.
#[async_trait]
pub trait BarcodeScanner: Send + Sync {
    /// Waits (up to the driver's configured wait) for the next code scanned.
    async fn scan(&self) -> Result<String, BarcodeError>;

    /// The state the driver last saw.
    fn health(&self) -> DeviceHealth;
}

/// Why no code was scanned.
#[derive(Debug, thiserror::Error)]
pub enum BarcodeError {
    /// Nothing was scanned within the wait.
    #[error("no code scanned")]
    NoCode,
    /// The port cannot be opened or went away.
    #[error("scanner disconnected: {0}")]
    Disconnected(String),
}

/// What a [`ScanWait`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanEvent {
    /// A code.
    Code(String),
    /// A line that is not a code (skipped).
    BadLine(LineError),
    /// The deadline passed.
    TimedOut,
}

/// Sans-IO wait for one scanned code: bytes in, [`ScanEvent`]s out, time passed in.
#[derive(Debug)]
pub struct ScanWait {
    decoder: LineDecoder,
    deadline: Millis,
    events: VecDeque<ScanEvent>,
    done: bool,
}

impl ScanWait {
    /// Waits until `deadline` for a code ended by `terminator`.
    pub fn new(terminator: Terminator, deadline: Millis) -> Self {
        ScanWait {
            decoder: LineDecoder::new(protocol::barcode::LineConfig {
                terminator,
                ..protocol::barcode::LineConfig::default()
            }),
            deadline,
            events: VecDeque::new(),
            done: false,
        }
    }
}

impl SansIo for ScanWait {
    type Event = ScanEvent;
    fn handle_bytes(&mut self, _now: Millis, bytes: &[u8]) {
        self.decoder.push(bytes);
        while let Some(line) = self.decoder.next_line() {
            match line {
                Ok(code) if !self.done => {
                    self.done = true;
                    self.events.push_back(ScanEvent::Code(code));
                }
                Ok(_) => {}
                Err(e) => self.events.push_back(ScanEvent::BadLine(e)),
            }
        }
    }
    fn handle_timeout(&mut self, now: Millis) {
        if now >= self.deadline && !self.done {
            self.done = true;
            self.events.push_back(ScanEvent::TimedOut);
        }
    }
    fn poll_transmit(&mut self, _out: &mut Vec<u8>) {}
    fn poll_timeout(&self) -> Option<Millis> {
        (!self.done).then_some(self.deadline)
    }
    fn poll_event(&mut self) -> Option<ScanEvent> {
        self.events.pop_front()
    }
}

/// Where the scanner is and how it is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialBarcodeConfig {
    /// The serial line (9600 baud by default).
    pub line: LineConfig,
    /// What ends a code (the scanner's setting; CR from the factory).
    pub terminator: Terminator,
    /// How long a scan waits for a code.
    pub wait: Duration,
}

impl SerialBarcodeConfig {
    /// CR-terminated at 9600 baud, waiting 30 s.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SerialBarcodeConfig {
            line: LineConfig::new(path, 9600),
            terminator: Terminator::Cr,
            wait: Duration::from_secs(30),
        }
    }
}

/// A serial barcode scanner.
#[derive(Debug)]
pub struct SerialBarcodeScanner {
    terminator: Terminator,
    wait: Duration,
    connection: Connection,
}

impl SerialBarcodeScanner {
    /// A driver for the scanner; the port is opened on first use.
    pub fn new(config: SerialBarcodeConfig) -> Self {
        SerialBarcodeScanner {
            terminator: config.terminator,
            wait: config.wait,
            connection: Connection::new(config.line),
        }
    }
}

#[async_trait]
impl BarcodeScanner for SerialBarcodeScanner {
    async fn scan(&self) -> Result<String, BarcodeError> {
        let (terminator, wait) = (self.terminator, self.wait);
        let mut deadline = None;
        let outcome = self
            .connection
            .run(
                OnLoss::Restart,
                |now| {
                    // One deadline for the whole scan, even across a reconnection.
                    let at = *deadline.get_or_insert(now + wait);
                    ScanWait::new(terminator, at)
                },
                |event| match event {
                    ScanEvent::Code(code) => Some(Ok(code)),
                    ScanEvent::TimedOut => Some(Err(BarcodeError::NoCode)),
                    ScanEvent::BadLine(e) => {
                        tracing::info!(error = %e, "skipped a line from the scanner");
                        None
                    }
                },
            )
            .await
            .unwrap_or_else(|e| Err(BarcodeError::Disconnected(e.to_string())));
        let health = match &outcome {
            Err(BarcodeError::Disconnected(reason)) => DeviceHealth::Disconnected {
                reason: reason.clone(),
            },
            _ => DeviceHealth::Ready,
        };
        self.connection.health().set(health);
        outcome
    }

    fn health(&self) -> DeviceHealth {
        self.connection.health().get()
    }
}
