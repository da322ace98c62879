//! Daily reconciliation (对账): for one Asia/Shanghai calendar day, the applications accepted and
//! the payments made, and every mismatch between them, so the staff can act before the day's
//! settlement: money taken without an application, an application completed without money, an
//! application paid twice, an amount that is not the fee, and money that must go back because the
//! application was referred.

use std::collections::{BTreeMap, BTreeSet};

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    Json,
};
use serde::{Deserialize, Serialize};
use store::sessions::{ApplicationRecord, KioskStatus, PaymentRecord};
use store::{Store, StoreError};
use time::{Date, PrimitiveDateTime, Time};

use crate::error::AppError;
use crate::fleet::Operator;
use crate::AppState;
use domain::trade_state::TradeState;

/// One mismatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mismatch {
    /// A paid payment whose application does not exist.
    PaidWithoutApplication {
        /// The order.
        out_trade_no: String,
        /// The application it names.
        application_no: String,
        /// Paid, in fen.
        paid_fen: i64,
    },
    /// An application whose session completed without a paid payment.
    CompletedWithoutPayment {
        /// The application.
        application_no: String,
    },
    /// An application with more than one paid payment.
    PaidTwice {
        /// The application.
        application_no: String,
        /// The paid orders.
        out_trade_nos: Vec<String>,
    },
    /// A paid amount that is not the application's fee.
    AmountMismatch {
        /// The order.
        out_trade_no: String,
        /// The application.
        application_no: String,
        /// The fee, in fen.
        fee_fen: i64,
        /// Paid, in fen.
        paid_fen: i64,
    },
    /// The provider reported a payment of another amount than the order's: held, not counted as
    /// paid, and the money must go back.
    HeldAmountMismatch {
        /// The order.
        out_trade_no: String,
        /// The application.
        application_no: String,
        /// Ordered, in fen.
        ordered_fen: i64,
        /// Reported paid, in fen.
        paid_fen: i64,
    },
    /// Paid, but the application was referred (or the payment flagged `void_required`) and the
    /// money has not gone back yet: void the POS purchase or refund the WeChat payment.
    RefundRequired {
        /// The order.
        out_trade_no: String,
        /// The application.
        application_no: String,
        /// `wechat` or `unionpay`.
        method: String,
        /// Paid, in fen.
        paid_fen: i64,
    },
}

/// The day's reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// `YYYY-MM-DD`, Asia/Shanghai.
    pub date: String,
    /// Applications accepted that day.
    pub applications: usize,
    /// Payments created or paid that day, and those of the day's applications.
    pub payments: usize,
    /// Paid payments among them.
    pub paid: usize,
    /// Their total, in fen.
    pub paid_fen: i64,
    /// Every mismatch found, in a stable order.
    pub mismatches: Vec<Mismatch>,
}

/// The reconciliation of `date` (Asia/Shanghai calendar day, UTC+8).
pub async fn report(store: &Store, date: Date) -> Result<Report, StoreError> {
    let start = PrimitiveDateTime::new(date, Time::MIDNIGHT)
        .assume_offset(domain::time_zone::CHINA_STANDARD_TIME)
        .unix_timestamp();
    let applications = store.applications_accepted_on(date).await?;
    let mut payments: BTreeMap<String, PaymentRecord> = store
        .payments_between(start, start + 86_400)
        .await?
        .into_iter()
        .map(|p| (p.out_trade_no.clone(), p))
        .collect();
    for application in &applications {
        for p in store
            .payments_of_application(&application.application_no)
            .await?
        {
            payments.insert(p.out_trade_no.clone(), p);
        }
    }
    let mut known: BTreeMap<String, Option<ApplicationRecord>> = applications
        .iter()
        .map(|a| (a.application_no.clone(), Some(a.clone())))
        .collect();
    for p in payments.values() {
        if !known.contains_key(&p.application_no) {
            let found = store.application(&p.application_no).await?;
            known.insert(p.application_no.clone(), found);
        }
    }
    // Paid orders of every application involved (including payments outside the day).
    let mut paid_by_application: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for application_no in known.keys() {
        for p in store.payments_of_application(application_no).await? {
            if p.state == TradeState::Success {
                paid_by_application
                    .entry(application_no.clone())
                    .or_default()
                    .insert(p.out_trade_no.clone());
            }
        }
    }

    let mut mismatches = Vec::new();
    let mut paid = 0;
    let mut paid_fen = 0;
    for p in payments.values().filter(|p| p.state == TradeState::Success) {
        let amount = p.paid_fen.unwrap_or(0);
        paid += 1;
        paid_fen += amount;
        match known.get(&p.application_no).and_then(Option::as_ref) {
            None => mismatches.push(Mismatch::PaidWithoutApplication {
                out_trade_no: p.out_trade_no.clone(),
                application_no: p.application_no.clone(),
                paid_fen: amount,
            }),
            Some(application) => {
                let fee_fen = i64::from(application.fee_cny) * 100;
                if amount != fee_fen {
                    mismatches.push(Mismatch::AmountMismatch {
                        out_trade_no: p.out_trade_no.clone(),
                        application_no: p.application_no.clone(),
                        fee_fen,
                        paid_fen: amount,
                    });
                }
                if p.void_required || application.status == KioskStatus::Referred {
                    mismatches.push(Mismatch::RefundRequired {
                        out_trade_no: p.out_trade_no.clone(),
                        application_no: p.application_no.clone(),
                        method: p.method.as_str().to_owned(),
                        paid_fen: amount,
                    });
                }
            }
        }
    }
    for p in payments
        .values()
        .filter(|p| p.state != TradeState::Success && p.void_required && p.transaction_id.is_some())
    {
        mismatches.push(Mismatch::HeldAmountMismatch {
            out_trade_no: p.out_trade_no.clone(),
            application_no: p.application_no.clone(),
            ordered_fen: p.amount_fen.as_i64(),
            paid_fen: p.paid_fen.unwrap_or(0),
        });
    }
    for (application_no, orders) in &paid_by_application {
        if orders.len() > 1 {
            mismatches.push(Mismatch::PaidTwice {
                application_no: application_no.clone(),
                out_trade_nos: orders.iter().cloned().collect(),
            });
        }
    }
    for application in &applications {
        if application.status == KioskStatus::Completed
            && !paid_by_application.contains_key(&application.application_no)
        {
            mismatches.push(Mismatch::CompletedWithoutPayment {
                application_no: application.application_no.clone(),
            });
        }
    }
    Ok(Report {
        date: crate::wire::format_date(date),
        applications: applications.len(),
        payments: payments.len(),
        paid,
        paid_fen,
        mismatches,
    })
}

/// `?date=YYYY-MM-DD`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The day.
    pub date: Option<String>,
}

/// `GET /v1/reconciliation?date=YYYY-MM-DD`: operators only ([`Operator`]: an administrator's
/// staff session or the fleet's operator token); a kiosk's credentials are refused, since the
/// report covers every kiosk's payments.
pub async fn endpoint(
    Operator(operator): Operator,
    State(state): State<AppState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<Report>, AppError> {
    let Query(query) = query.map_err(|err| AppError::bad_request("query", err.body_text()))?;
    tracing::info!(%operator, "reconciliation read");
    let text = query
        .date
        .ok_or_else(|| AppError::invalid("date", "is required (YYYY-MM-DD)"))?;
    let date = Date::parse(
        &text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| AppError::invalid("date", format!("{text:?} is not YYYY-MM-DD")))?;
    Ok(Json(report(&state.store, date).await?))
}
