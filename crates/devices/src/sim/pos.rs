//! The UnionPay MIS-POS simulator: [`PosDevice`] from the `protocol` crate behind a pty at 9600
//! baud. A request waits until a bank card is inserted; then, after the authorisation delay,
//! the terminal answers as the "bank" was told to: approve, or decline with a code.
//!
//! Routes (besides the common `/status` and `/faults/*`):
//! - `GET /pos`: the inserted card, the decision, the pending request, the last response
//! - `POST /bank-card`: `{"number":"6222021234567890123"}` inserts a card
//! - `DELETE /bank-card`: takes it out
//! - `POST /decision`: `{"approve":true}` or `{"approve":false,"code":"51","message":"余额不足"}`
//! - `GET /settlement`: the acquirer's settlement file (CSV) of the approved purchases

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::pos::{DeviceEvent, LinkConfig, PosDevice, Request, Response, TransactionType};
use protocol::Millis;
use serde::{Deserialize, Serialize};

use super::control::{Body, ControlError};
use super::{start, Shared, SimConfig, SimDevice, SimError, SimHandle};
use crate::pos::ResponseJson;

/// What the acquirer answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Approve (`00`) or decline.
    pub approve: bool,
    /// Response code when declining (default `51`).
    #[serde(default)]
    pub code: Option<String>,
    /// Response message when declining (default 余额不足).
    #[serde(default)]
    pub message: Option<String>,
}

impl Decision {
    /// Approve everything.
    pub fn approve() -> Decision {
        Decision {
            approve: true,
            code: None,
            message: None,
        }
    }
}

/// The simulated terminal.
#[derive(Debug)]
pub struct PosSim {
    link: LinkConfig,
    device: PosDevice,
    card: Option<String>,
    decision: Decision,
    authorisation: Duration,
    pending: Option<Request>,
    respond_at: Option<Millis>,
    trace: u32,
    last_response: Option<ResponseJson>,
    /// Approved purchases by voucher (trace) number: amount and whether voided, for voids.
    purchases: Vec<(String, u64, bool)>,
    /// The acquirer's record of approved purchases: what `GET /settlement` lists.
    settlement: Vec<SettlementLine>,
}

/// One transaction of the acquirer's settlement file (清算对账文件).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementLine {
    /// `YYYY-MM-DD` (Asia/Shanghai).
    pub date: String,
    /// `hh:mm:ss`.
    pub time: String,
    /// 商户号.
    pub merchant_id: String,
    /// 终端号.
    pub terminal_id: String,
    /// 流水号.
    pub trace: String,
    /// 批次号.
    pub batch: String,
    /// 参考号.
    pub reference: String,
    /// 授权码.
    pub auth_code: String,
    /// Amount in fen.
    pub amount_fen: u64,
    /// Masked card number.
    pub card: String,
    /// Voided the same day (撤销).
    pub voided: bool,
}

/// The header line of the settlement file.
pub const SETTLEMENT_HEADER: &str =
    "date,time,merchant_id,terminal_id,trace,batch,reference,auth_code,amount_fen,card,status";

impl SettlementLine {
    /// The line as the file writes it (`settled` or `voided`).
    pub fn csv(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
            self.date,
            self.time,
            self.merchant_id,
            self.terminal_id,
            self.trace,
            self.batch,
            self.reference,
            self.auth_code,
            self.amount_fen,
            self.card,
            if self.voided { "voided" } else { "settled" }
        )
    }
}

impl Default for PosSim {
    fn default() -> Self {
        PosSim::new(LinkConfig::default(), Duration::from_millis(300))
    }
}

impl PosSim {
    /// A terminal with no card inserted that approves.
    pub fn new(link: LinkConfig, authorisation: Duration) -> Self {
        PosSim {
            device: PosDevice::new(link.clone()),
            link,
            card: None,
            decision: Decision::approve(),
            authorisation,
            pending: None,
            respond_at: None,
            trace: 0,
            last_response: None,
            purchases: Vec::new(),
            settlement: Vec::new(),
        }
    }

    /// Inserts a bank card (digits only, 12 to 19 of them).
    pub fn insert_card(&mut self, number: &str, now: Millis) -> Result<(), ControlError> {
        if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ControlError::Field {
                field: "number",
                message: "12 to 19 digits".to_owned(),
            });
        }
        self.card = Some(number.to_owned());
        self.schedule(now);
        Ok(())
    }

    /// Takes the card out.
    pub fn remove_card(&mut self) {
        self.card = None;
        self.respond_at = None;
    }

    /// Sets what the acquirer answers.
    pub fn decide(&mut self, decision: Decision) {
        self.decision = decision;
    }

    fn schedule(&mut self, now: Millis) {
        // A purchase waits for a card; a void is the merchant's and needs none.
        let ready = match &self.pending {
            Some(request) => request.kind == TransactionType::Void || self.card.is_some(),
            None => false,
        };
        if ready && self.respond_at.is_none() {
            self.respond_at = Some(now + self.authorisation);
        }
    }

    fn response(&mut self, request: &Request) -> Response {
        let card = self.card.clone().unwrap_or_default();
        let masked = if card.len() > 10 {
            format!(
                "{}{}{}",
                &card[..6],
                "*".repeat(card.len() - 10),
                &card[card.len() - 4..]
            )
        } else {
            card
        };
        self.trace = (self.trace + 1) % 1_000_000;
        let now = time::OffsetDateTime::now_utc().to_offset(domain::time_zone::CHINA_STANDARD_TIME);
        let (code, message) = if request.kind == TransactionType::Void {
            let original = self.purchases.iter_mut().find(|(voucher, amount, voided)| {
                *voucher == request.original_voucher && *amount == request.amount_fen && !*voided
            });
            match original {
                Some(purchase) => {
                    purchase.2 = true;
                    let voucher = purchase.0.clone();
                    for line in self.settlement.iter_mut().filter(|l| l.trace == voucher) {
                        line.voided = true;
                    }
                    ("00".to_owned(), "撤销成功".to_owned())
                }
                None => ("25".to_owned(), "原交易不存在".to_owned()),
            }
        } else if self.decision.approve {
            ("00".to_owned(), "交易成功".to_owned())
        } else {
            (
                self.decision
                    .code
                    .clone()
                    .unwrap_or_else(|| "51".to_owned()),
                self.decision
                    .message
                    .clone()
                    .unwrap_or_else(|| "余额不足".to_owned()),
            )
        };
        let approved = code == "00";
        Response {
            code,
            message,
            card_number: masked,
            amount_fen: request.amount_fen,
            trace: format!("{:06}", self.trace),
            batch: "000001".to_owned(),
            date: format!("{:02}{:02}", u8::from(now.month()), now.day()),
            time: format!("{:02}{:02}{:02}", now.hour(), now.minute(), now.second()),
            reference: if approved {
                format!("{:012}", u64::from(self.trace) * 7919 % 1_000_000_000_000)
            } else {
                String::new()
            },
            auth_code: if approved {
                format!("{:06}", u64::from(self.trace) * 104_729 % 1_000_000)
            } else {
                String::new()
            },
            merchant_id: "898320154110001".to_owned(),
            terminal_id: "IDK00001".to_owned(),
            memo: String::new(),
        }
    }

    fn drain_events(&mut self, now: Millis) {
        while let Some(event) = self.device.poll_event() {
            match event {
                DeviceEvent::Request(request) => {
                    tracing::info!(amount_fen = request.amount_fen, kind = ?request.kind, "POS request");
                    if request.kind == TransactionType::Refund {
                        tracing::info!("refunds are not simulated; answering as a purchase");
                    }
                    self.pending = Some(*request);
                    self.respond_at = None;
                    self.schedule(now);
                }
                DeviceEvent::BadRequest(e) => {
                    tracing::info!(error = %e, "bad POS request");
                    let declined = Response {
                        code: "30".to_owned(),
                        message: "格式错误".to_owned(),
                        card_number: String::new(),
                        amount_fen: 0,
                        trace: String::new(),
                        batch: String::new(),
                        date: String::new(),
                        time: String::new(),
                        reference: String::new(),
                        auth_code: String::new(),
                        merchant_id: String::new(),
                        terminal_id: String::new(),
                        memo: String::new(),
                    };
                    if let Err(e) = self.device.respond(now, &declined) {
                        tracing::error!(error = %e, "answering a bad request");
                    }
                }
                DeviceEvent::Delivered => tracing::debug!("response delivered"),
                DeviceEvent::Undelivered => tracing::info!("response never acknowledged"),
                DeviceEvent::Damaged(e) => tracing::info!(error = %e, "damaged frame NAKed"),
            }
        }
    }
}

impl SimDevice for PosSim {
    fn handle_bytes(&mut self, now: Millis, bytes: &[u8]) {
        self.device.handle_bytes(now, bytes);
        self.drain_events(now);
    }
    fn handle_timeout(&mut self, now: Millis) {
        if self.respond_at.is_some_and(|at| now >= at) {
            self.respond_at = None;
            if let Some(request) = self.pending.take() {
                let response = self.response(&request);
                if request.kind == TransactionType::Purchase && response.is_approved() {
                    self.purchases
                        .push((response.trace.clone(), response.amount_fen, false));
                    self.settlement.push(settlement_line(&response));
                }
                match self.device.respond(now, &response) {
                    Ok(()) => self.last_response = Some(ResponseJson::from(&response)),
                    Err(e) => tracing::error!(error = %e, "building the response"),
                }
            }
        }
        self.device.handle_timeout(now);
        self.drain_events(now);
    }
    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        self.device.poll_transmit(out);
    }
    fn poll_timeout(&self) -> Option<Millis> {
        match (self.device.poll_timeout(), self.respond_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    fn corrupt_next(&mut self, n: u32) -> bool {
        self.device.corrupt_next(n);
        true
    }
    fn line_reset(&mut self, _now: Millis) {
        self.device = PosDevice::new(self.link.clone());
        self.pending = None;
        self.respond_at = None;
    }
}

#[derive(Serialize)]
struct PosStatus {
    bank_card: Option<String>,
    decision: Decision,
    pending_amount_fen: Option<u64>,
    last_response: Option<ResponseJson>,
}

/// The settlement line of an approved purchase; the year is today's (the POS answers MMDD).
fn settlement_line(response: &Response) -> SettlementLine {
    let year = time::OffsetDateTime::now_utc()
        .to_offset(domain::time_zone::CHINA_STANDARD_TIME)
        .year();
    let (month, day) = response.date.split_at(response.date.len().min(2));
    let t = &response.time;
    let part = |range: std::ops::Range<usize>| t.get(range).unwrap_or("00");
    SettlementLine {
        date: format!("{year:04}-{month}-{day}"),
        time: format!("{}:{}:{}", part(0..2), part(2..4), part(4..6)),
        merchant_id: response.merchant_id.clone(),
        terminal_id: response.terminal_id.clone(),
        trace: response.trace.clone(),
        batch: response.batch.clone(),
        reference: response.reference.clone(),
        auth_code: response.auth_code.clone(),
        amount_fen: response.amount_fen,
        card: response.card_number.clone(),
        voided: false,
    }
}

/// `GET /settlement`: the acquirer's settlement file of every purchase this terminal approved
/// (CSV, [`SETTLEMENT_HEADER`] first), as a bank makes it available to the merchant each day.
async fn settlement(
    State(shared): AppState,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let body = shared.with(|s, _| {
        let mut out = String::from(SETTLEMENT_HEADER);
        out.push('\n');
        for line in &s.device.settlement {
            out.push_str(&line.csv());
            out.push('\n');
        }
        out
    });
    (
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        body,
    )
}

fn pos_status(sim: &PosSim) -> PosStatus {
    PosStatus {
        bank_card: sim.card.clone(),
        decision: sim.decision.clone(),
        pending_amount_fen: sim.pending.as_ref().map(|r| r.amount_fen),
        last_response: sim.last_response.clone(),
    }
}

type AppState = State<Arc<Shared<PosSim>>>;

async fn get_pos(State(shared): AppState) -> Json<PosStatus> {
    Json(shared.with(|s, _| pos_status(&s.device)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Insert {
    number: String,
}

async fn insert(
    State(shared): AppState,
    Body(body): Body<Insert>,
) -> Result<Json<PosStatus>, ControlError> {
    shared.with(|s, now| {
        s.device.insert_card(&body.number, now)?;
        Ok(Json(pos_status(&s.device)))
    })
}

async fn remove(State(shared): AppState) -> Json<PosStatus> {
    Json(shared.with(|s, _| {
        s.device.remove_card();
        pos_status(&s.device)
    }))
}

async fn decide(
    State(shared): AppState,
    Body(decision): Body<Decision>,
) -> Result<Json<PosStatus>, ControlError> {
    if let Some(code) = &decision.code {
        if code.len() != 2 || !code.is_ascii() {
            return Err(ControlError::Field {
                field: "code",
                message: "two ASCII characters".to_owned(),
            });
        }
    }
    Ok(Json(shared.with(|s, _| {
        s.device.decide(decision);
        pos_status(&s.device)
    })))
}

/// Starts a MIS-POS terminal simulator.
pub async fn start_pos(sim: PosSim, config: SimConfig) -> Result<SimHandle<PosSim>, SimError> {
    let routes = Router::new()
        .route("/pos", get(get_pos))
        .route("/bank-card", post(insert).delete(remove))
        .route("/decision", post(decide))
        .route("/settlement", get(settlement));
    start("pos", sim, config, routes).await
}
