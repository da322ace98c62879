//! The UnionPay MIS-POS terminal: the [`PosTerminal`] trait and our driver for terminals on a
//! serial line (9600 8N1), around the `protocol` crate's [`PosClient`] (STX/LEN/ETX/LRC
//! framing, ACK/NAK, 3 resends).
//!
//! A purchase is never sent twice by this driver: when the line is lost mid-transaction the
//! purchase fails with [`PosError::Disconnected`] and the caller must find out what happened
//! (query or void) instead of retrying blindly.

use std::path::PathBuf;

use async_trait::async_trait;
use protocol::pos::{ClientEvent, FieldError, LinkConfig, PosClient, Request, TransactionType};
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
}

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
