//! The UnionPay MIS-POS terminal: the [`PosTerminal`] trait and our driver for terminals on a
//! serial line (9600 8N1), around the `protocol` crate's [`PosClient`] (STX/LEN/ETX/LRC
//! framing, ACK/NAK, 3 resends).
//!
//! A purchase is never sent twice by this driver: when the line is lost mid-transaction the
//! purchase fails with [`PosError::Disconnected`] and the caller must find out what happened
//! (query or void) instead of retrying blindly.
//!
//! [`SerialPosTerminal::probe`] asks whether a terminal is listening without asking it to do
//! anything (`idkiosk doctor`): see [`ListeningProbe`].

use std::collections::VecDeque;
use std::path::PathBuf;

use async_trait::async_trait;
use protocol::pos::{
    encode_frame, ClientEvent, FieldError, FrameDecoder, Item, LinkConfig, PosClient, Request,
    TransactionType,
};
use protocol::Millis;
use serde::Serialize;

pub use protocol::pos::Response;

use crate::engine::{Connection, OnLoss};
use crate::health::DeviceHealth;
use crate::serial::LineConfig;

/// A bank card terminal, whoever made it.
#[async_trait]
pub trait PosTerminal: Send + Sync {
    /// Asks the terminal to take `amount_fen` from a bank card; the citizen inserts the card and
    /// types the PIN meanwhile. A declined payment is a response too: check
    /// [`Response::is_approved`].
    async fn purchase(&self, amount_fen: u64, memo: &str) -> Result<Response, PosError>;

    /// Voids (撤销) an approved purchase of today's batch, e.g. when the application it paid for
    /// cannot be recorded. A refused void is a response too: check [`Response::is_approved`].
    async fn void(&self, original: &Response, memo: &str) -> Result<Response, PosError>;

    /// The state the driver last saw.
    fn health(&self) -> DeviceHealth;
}

/// Why there is no response from the terminal.
#[derive(Debug, thiserror::Error)]
pub enum PosError {
    /// The request does not fit the message (e.g. an amount over 12 digits).
    #[error("bad request: {0}")]
    Request(FieldError),
    /// The terminal never acknowledged the request, after the resends. Most likely it never got
    /// it, but a lost ACK looks the same: query the terminal before trying again.
    #[error("the terminal did not acknowledge the request")]
    Unacknowledged,
    /// The request was acknowledged but no response came in time: the payment state is unknown.
    #[error("no response from the terminal in time; the payment state is unknown")]
    Timeout,
    /// A response arrived but its fields are malformed: the payment state is unknown.
    #[error("malformed response: {0}")]
    BadResponse(FieldError),
    /// The port cannot be opened or went away.
    #[error("terminal disconnected: {0}")]
    Disconnected(String),
}

crate::engine::forward_sans_io!(PosClient, ClientEvent, strict = false);

/// Where the terminal is and who the kiosk is to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialPosConfig {
    /// The serial line (9600 baud by default).
    pub line: LineConfig,
    /// ACK timeout, resends, how long to wait for the response.
    pub link: LinkConfig,
    /// 收银台号, up to 8 characters.
    pub till_id: String,
    /// 操作员号, up to 8 characters.
    pub operator_id: String,
}

impl SerialPosConfig {
    /// Defaults on `path` at 9600 baud.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SerialPosConfig {
            line: LineConfig::new(path, 9600),
            link: LinkConfig::default(),
            till_id: "KIOSK001".to_owned(),
            operator_id: "01".to_owned(),
        }
    }
}

/// A MIS-POS terminal on a serial line.
#[derive(Debug)]
pub struct SerialPosTerminal {
    config: SerialPosConfig,
    connection: Connection,
}

impl SerialPosTerminal {
    /// A driver for the terminal; the port is opened on first use.
    pub fn new(config: SerialPosConfig) -> Self {
        SerialPosTerminal {
            connection: Connection::new(config.line.clone()),
            config,
        }
    }

    /// Sends a request and waits for the response.
    pub async fn transact(&self, request: Request) -> Result<Response, PosError> {
        // Check the fields before anything goes on the line.
        request.encode().map_err(PosError::Request)?;
        let link = self.config.link.clone();
        let outcome = self
            .connection
            .run(
                OnLoss::Fail,
                |now| {
                    let mut client = PosClient::new(link.clone());
                    // Checked above; an error here cannot happen and would only leave the
                    // client idle, which ends in a timeout.
                    if let Err(e) = client.start(now, &request) {
                        tracing::error!(error = %e, "request refused by the link");
                    }
                    client
                },
                |event| {
                    Some(match event {
                        ClientEvent::Response(r) => Ok(*r),
                        ClientEvent::BadResponse(e) => Err(PosError::BadResponse(e)),
                        ClientEvent::Unacknowledged => Err(PosError::Unacknowledged),
                        ClientEvent::Timeout => Err(PosError::Timeout),
                    })
                },
            )
            .await
            .unwrap_or_else(|e| Err(PosError::Disconnected(e.to_string())));
        let health = match &outcome {
            Ok(_) => DeviceHealth::Ready,
            Err(PosError::Disconnected(reason)) => DeviceHealth::Disconnected {
                reason: reason.clone(),
            },
            Err(e) => DeviceHealth::Error {
                reason: e.to_string(),
            },
        };
        self.connection.health().set(health);
        outcome
    }

    /// Sends the [`ListeningProbe`]'s frame once and waits the link's `ack_timeout` for the NAK.
    /// The port stays open until the driver is dropped.
    pub async fn probe(&self) -> Result<ProbeEvent, PosError> {
        let wait = self.config.link.ack_timeout;
        let outcome = self
            .connection
            .run(OnLoss::Fail, |now| ListeningProbe::new(now + wait), Some)
            .await
            .map_err(|e| PosError::Disconnected(e.to_string()));
        self.connection.health().set(match &outcome {
            Ok(ProbeEvent::Nak) => DeviceHealth::Ready,
            Ok(event) => DeviceHealth::Error {
                reason: event.to_string(),
            },
            Err(e) => DeviceHealth::Disconnected {
                reason: e.to_string(),
            },
        });
        outcome
    }
}

/// The probe's frame: an empty payload with a wrong LRC, `02 30 30 30 30 03 FC` (the right LRC
/// is `03`). A terminal must NAK it (docs/domain.md 9.5); none can take it for a request: its
/// check byte is wrong and, were it ignored, an empty payload is no request either.
pub fn bad_check_frame(out: &mut Vec<u8>) {
    let start = out.len();
    encode_frame(&[], out);
    if let Some(lrc) = out[start..].last_mut() {
        *lrc ^= 0xFF;
    }
}

/// What a terminal did with the [`ListeningProbe`]'s frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeEvent {
    /// `15`: it heard a frame and asks for it again: it is listening.
    #[error("NAK to a frame with a bad check byte")]
    Nak,
    /// `06`: it took a damaged frame (it does not check the LRC, or speaks another framing).
    #[error("ACK to a frame with a bad check byte (not MIS-POS framing?)")]
    Ack,
    /// No NAK by the deadline; `received` other bytes came meanwhile (at another baud rate, a
    /// NAK arrives as other bytes).
    #[error("no NAK to a frame with a bad check byte ({received} other bytes received)")]
    Silent {
        /// Bytes received that were not the answer.
        received: usize,
    },
}

/// Sans-IO check that a terminal is listening: sends [`bad_check_frame`] once, never resends,
/// never acknowledges anything, and reports the first ACK or NAK, or [`ProbeEvent::Silent`] at
/// the deadline. Calling contract: as [`PosClient`]'s.
#[derive(Debug)]
pub struct ListeningProbe {
    decoder: FrameDecoder,
    transmit: Vec<u8>,
    deadline: Millis,
    received: usize,
    events: VecDeque<ProbeEvent>,
    done: bool,
}

impl ListeningProbe {
    /// A probe whose frame is ready to send, waiting until `deadline` for the answer.
    pub fn new(deadline: Millis) -> Self {
        let mut transmit = Vec::new();
        bad_check_frame(&mut transmit);
        ListeningProbe {
            decoder: FrameDecoder::default(),
            transmit,
            deadline,
            received: 0,
            events: VecDeque::new(),
            done: false,
        }
    }

    /// Feeds bytes read from the terminal.
    pub fn handle_bytes(&mut self, _now: Millis, bytes: &[u8]) {
        self.decoder.push(bytes);
        let mut taken = 0;
        while let Some(item) = self.decoder.next_item() {
            let event = match item {
                Ok(Item::Nak) => ProbeEvent::Nak,
                Ok(Item::Ack) => ProbeEvent::Ack,
                _ => continue,
            };
            taken += 1;
            if !self.done {
                self.done = true;
                self.events.push_back(event);
            }
        }
        self.received += bytes.len().saturating_sub(taken);
    }

    /// Tells the probe that `now` has been reached.
    pub fn handle_timeout(&mut self, now: Millis) {
        if now >= self.deadline && !self.done {
            self.done = true;
            self.events.push_back(ProbeEvent::Silent {
                received: self.received,
            });
        }
    }

    /// Appends the frame, the first time.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// The deadline, until the probe is done.
    pub fn poll_timeout(&self) -> Option<Millis> {
        (!self.done).then_some(self.deadline)
    }

    /// The outcome, once.
    pub fn poll_event(&mut self) -> Option<ProbeEvent> {
        self.events.pop_front()
    }
}

crate::engine::forward_sans_io!(ListeningProbe, ProbeEvent, strict = false);

#[async_trait]
impl PosTerminal for SerialPosTerminal {
    async fn purchase(&self, amount_fen: u64, memo: &str) -> Result<Response, PosError> {
        self.transact(Request {
            till_id: self.config.till_id.clone(),
            operator_id: self.config.operator_id.clone(),
            kind: TransactionType::Purchase,
            amount_fen,
            original_voucher: String::new(),
            original_date: String::new(),
            original_reference: String::new(),
            original_auth_code: String::new(),
            original_batch: String::new(),
            memo: memo.to_owned(),
        })
        .await
    }

    async fn void(&self, original: &Response, memo: &str) -> Result<Response, PosError> {
        self.transact(Request {
            till_id: self.config.till_id.clone(),
            operator_id: self.config.operator_id.clone(),
            kind: TransactionType::Void,
            amount_fen: original.amount_fen,
            original_voucher: original.trace.clone(),
            original_date: String::new(),
            original_reference: original.reference.clone(),
            original_auth_code: original.auth_code.clone(),
            original_batch: original.batch.clone(),
            memo: memo.to_owned(),
        })
        .await
    }

    fn health(&self) -> DeviceHealth {
        self.connection.health().get()
    }
}

/// A response as JSON (what `idkiosk device pos-purchase` prints, and `GET /pos` shows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResponseJson {
    /// `00` approved.
    pub code: String,
    /// 响应信息.
    pub message: String,
    /// Masked card number.
    pub card_number: String,
    /// Amount in fen.
    pub amount_fen: u64,
    /// 流水号.
    pub trace: String,
    /// 批次号.
    pub batch: String,
    /// MMDD.
    pub date: String,
    /// hhmmss.
    pub time: String,
    /// 参考号.
    pub reference: String,
    /// 授权码.
    pub auth_code: String,
    /// 商户号.
    pub merchant_id: String,
    /// 终端号.
    pub terminal_id: String,
    /// Whether the code is `00`.
    pub approved: bool,
}

impl From<&Response> for ResponseJson {
    fn from(r: &Response) -> Self {
        ResponseJson {
            code: r.code.clone(),
            message: r.message.clone(),
            card_number: r.card_number.clone(),
            amount_fen: r.amount_fen,
            trace: r.trace.clone(),
            batch: r.batch.clone(),
            date: r.date.clone(),
            time: r.time.clone(),
            reference: r.reference.clone(),
            auth_code: r.auth_code.clone(),
            merchant_id: r.merchant_id.clone(),
            terminal_id: r.terminal_id.clone(),
            approved: r.is_approved(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use protocol::pos::{DeviceEvent, PosDevice, NAK};

    use super::*;

    /// The probe against the terminal's own state machine: one NAK back, nothing else happens.
    #[test]
    fn a_terminal_naks_the_probe_and_is_asked_for_nothing() {
        let mut probe = ListeningProbe::new(Millis(2000));
        let mut device = PosDevice::new(LinkConfig::default());
        let mut wire = Vec::new();
        probe.poll_transmit(&mut wire);
        assert_eq!(wire, [0x02, 0x30, 0x30, 0x30, 0x30, 0x03, 0xFC]);
        device.handle_bytes(Millis(0), &wire);
        let mut answer = Vec::new();
        device.poll_transmit(&mut answer);
        assert_eq!(answer, [NAK]);
        assert!(matches!(device.poll_event(), Some(DeviceEvent::Damaged(_))));
        assert_eq!(device.poll_event(), None, "no request reached the terminal");
        assert_eq!(
            device.poll_timeout(),
            None,
            "the terminal waits for nothing"
        );
        probe.handle_bytes(Millis(10), &answer);
        assert_eq!(probe.poll_event(), Some(ProbeEvent::Nak));
        assert_eq!(probe.poll_timeout(), None);
        let mut resent = Vec::new();
        probe.handle_timeout(Millis(5000));
        probe.poll_transmit(&mut resent);
        assert!(resent.is_empty(), "the probe never resends");
        assert_eq!(probe.poll_event(), None);
    }

    #[test]
    fn no_nak_by_the_deadline_is_silence_counting_other_bytes() {
        let mut probe = ListeningProbe::new(Millis(0) + Duration::from_millis(500));
        probe.poll_transmit(&mut Vec::new());
        probe.handle_bytes(Millis(100), b"\xF0\x0F");
        probe.handle_timeout(Millis(499));
        assert_eq!(probe.poll_event(), None);
        probe.handle_timeout(Millis(500));
        assert_eq!(probe.poll_event(), Some(ProbeEvent::Silent { received: 2 }));
        assert_eq!(probe.poll_timeout(), None);
    }
}
