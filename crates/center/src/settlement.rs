//! UnionPay against the acquirer's settlement file (清算对账文件): what a kiosk reported as paid at
//! the POS is only a kiosk's word; the acquirer's file of the day says what was really charged.
//! `POST /v1/reconciliation/unionpay?date=YYYY-MM-DD` (operators) takes the file and lists every
//! difference: a purchase the center holds as paid that the acquirer did not settle (or settled
//! voided), a settled purchase the center has no payment for, and a reference whose amount or
//! authorisation code differs.
//!
//! The file (what the POS simulator's `GET /settlement` serves) is CSV with the header
//! `date,time,merchant_id,terminal_id,trace,batch,reference,auth_code,amount_fen,card,status`;
//! every field is checked and a bad line is refused naming its line and field.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use store::sessions::PaymentRecord;
use time::Date;

use crate::error::AppError;
use crate::fleet::view::day_bounds;
use crate::fleet::Operator;
use crate::AppState;
use domain::session::PaymentMethod;
use domain::trade_state::TradeState;

/// One settled transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledPurchase {
    /// 参考号, 12 digits.
    pub reference: String,
    /// 授权码, 6 characters.
    pub auth_code: String,
    /// Amount in fen.
    pub amount_fen: i64,
    /// 撤销: voided the same day.
    pub voided: bool,
}

/// A difference between the center's payments and the acquirer's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SettlementMismatch {
    /// The center holds it as paid; the acquirer has no settled purchase with its reference.
    NotSettled {
        /// The order.
        out_trade_no: String,
        /// The reference the kiosk reported.
        reference: String,
    },
    /// The acquirer settled a purchase the center has no paid payment for.
    SettledWithoutPayment {
        /// Its reference.
        reference: String,
        /// Its amount, in fen.
        amount_fen: i64,
    },
    /// The amount or authorisation code the kiosk reported is not the acquirer's.
    DetailsDiffer {
        /// The order.
        out_trade_no: String,
        /// The reference.
        reference: String,
        /// Recorded, in fen.
        recorded_fen: i64,
        /// Settled, in fen.
        settled_fen: i64,
        /// Recorded authorisation code.
        recorded_auth_code: String,
        /// Settled authorisation code.
        settled_auth_code: String,
    },
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementReport {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Settled purchases of the day in the file (voided ones included).
    pub settled: usize,
    /// UnionPay payments the center holds as paid that day.
    pub recorded: usize,
    /// Every difference.
    pub mismatches: Vec<SettlementMismatch>,
}

fn digits(text: &str, n: usize) -> bool {
    text.len() == n && text.bytes().all(|b| b.is_ascii_digit())
}

/// Parses the settlement file, keeping the purchases of `date`. An error names the line (1 is the
/// header) and the field.
pub fn parse(file: &str, date: Date) -> Result<Vec<SettledPurchase>, (usize, String)> {
    let mut lines = file.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim() == devices_header() => {}
        _ => return Err((1, format!("the first line must be {}", devices_header()))),
    }
    let day = crate::wire::format_date(date);
    let mut out = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let [d, t, merchant, terminal, trace, batch, reference, auth, amount, _card, status] =
            fields[..]
        else {
            return Err((number, format!("{} fields, expected 11", fields.len())));
        };
        let bad = |field: &str, why: &str| (number, format!("{field}: {why}"));
        if crate::wire::format_date(
            Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| bad("date", "not YYYY-MM-DD"))?,
        ) != d
        {
            return Err(bad("date", "not YYYY-MM-DD"));
        }
        if t.len() != 8 || t.as_bytes()[2] != b':' || t.as_bytes()[5] != b':' {
            return Err(bad("time", "not hh:mm:ss"));
        }
        if merchant.len() != 15 || terminal.len() != 8 {
            return Err(bad("merchant_id", "15 and 8 characters"));
        }
        if !digits(trace, 6) || !digits(batch, 6) {
            return Err(bad("trace", "trace and batch are 6 digits"));
        }
        if !digits(reference, 12) {
            return Err(bad("reference", "12 digits"));
        }
        if auth.len() != 6 || !auth.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad("auth_code", "6 letters or digits"));
        }
        let amount_fen: i64 = amount
            .parse()
            .ok()
            .filter(|fen| *fen > 0)
            .ok_or_else(|| bad("amount_fen", "a positive whole number of fen"))?;
        let voided = match status {
            "settled" => false,
            "voided" => true,
            _ => return Err(bad("status", "settled or voided")),
        };
        if d == day {
            out.push(SettledPurchase {
                reference: reference.to_owned(),
                auth_code: auth.to_owned(),
                amount_fen,
                voided,
            });
        }
    }
    Ok(out)
}

/// The header the file starts with.
fn devices_header() -> &'static str {
    "date,time,merchant_id,terminal_id,trace,batch,reference,auth_code,amount_fen,card,status"
}

/// The differences between the day's UnionPay payments and the settled purchases.
pub fn compare(
    date: Date,
    payments: &[PaymentRecord],
    settled: &[SettledPurchase],
) -> SettlementReport {
    let by_reference: BTreeMap<&str, &SettledPurchase> = settled
        .iter()
        .map(|purchase| (purchase.reference.as_str(), purchase))
        .collect();
    let paid: Vec<&PaymentRecord> = payments
        .iter()
        .filter(|p| p.method == PaymentMethod::UnionPay && p.state == TradeState::Success)
        .collect();
    let mut mismatches = Vec::new();
    let mut matched = std::collections::BTreeSet::new();
    for payment in &paid {
        let reference = payment.transaction_id.clone().unwrap_or_default();
        let recorded_auth = payment
            .pos_result
            .as_deref()
            .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
            .and_then(|v| v["auth_code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        match by_reference.get(reference.as_str()) {
            Some(settled) if !settled.voided => {
                matched.insert(reference.clone());
                let recorded_fen = payment.paid_fen.unwrap_or(payment.amount_fen.as_i64());
                if recorded_fen != settled.amount_fen || recorded_auth != settled.auth_code {
                    mismatches.push(SettlementMismatch::DetailsDiffer {
                        out_trade_no: payment.out_trade_no.clone(),
                        reference: reference.clone(),
                        recorded_fen,
                        settled_fen: settled.amount_fen,
                        recorded_auth_code: recorded_auth,
                        settled_auth_code: settled.auth_code.clone(),
                    });
                }
            }
            _ => mismatches.push(SettlementMismatch::NotSettled {
                out_trade_no: payment.out_trade_no.clone(),
                reference,
            }),
        }
    }
    // A voided purchase the center recorded as REVOKED is in order; any other settled one the
    // center does not hold as paid is money taken without a payment.
    let revoked: std::collections::BTreeSet<String> = payments
        .iter()
        .filter(|p| p.method == PaymentMethod::UnionPay && p.state == TradeState::Revoked)
        .filter_map(|p| p.transaction_id.clone())
        .collect();
    for purchase in settled {
        if purchase.voided || matched.contains(&purchase.reference) {
            continue;
        }
        if revoked.contains(&purchase.reference) {
            continue;
        }
        mismatches.push(SettlementMismatch::SettledWithoutPayment {
            reference: purchase.reference.clone(),
            amount_fen: purchase.amount_fen,
        });
    }
    SettlementReport {
        date: crate::wire::format_date(date),
        settled: settled.len(),
        recorded: paid.len(),
        mismatches,
    }
}

/// `?date=YYYY-MM-DD`.
#[derive(Debug, Deserialize)]
pub struct SettlementQuery {
    /// The day.
    pub date: Option<String>,
}

/// `POST /v1/reconciliation/unionpay?date=YYYY-MM-DD` (operators): the acquirer's settlement file
/// in the body (CSV), the differences in the answer.
pub async fn endpoint(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<SettlementQuery>,
    body: String,
) -> Result<Json<SettlementReport>, AppError> {
    let text = query
        .date
        .ok_or_else(|| AppError::invalid("date", "is required (YYYY-MM-DD)"))?;
    let date = Date::parse(
        &text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| AppError::invalid("date", format!("{text:?} is not YYYY-MM-DD")))?;
    let settled = parse(&body, date)
        .map_err(|(line, why)| AppError::invalid("settlement", format!("line {line}: {why}")))?;
    let (from, to) = day_bounds(date);
    let payments = state.store.payments_between(from, to).await?;
    let report = compare(date, &payments, &settled);
    tracing::info!(
        operator = operator.0,
        date = report.date,
        mismatches = report.mismatches.len(),
        "unionpay settlement reconciled"
    );
    Ok(Json(report))
}
