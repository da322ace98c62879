//! Step 11: one payment per application, `NOTPAY` → `SUCCESS` / `CLOSED` / `PAYERROR`, with the
//! trade number derived from the application number and the attempt
//! ([`payment::OutTradeNo::derive`]), so a retried or resumed call names the same order and
//! nobody is charged twice.
//!
//! WeChat Pay Native: the center creates the order, queries it while it is not final (the kiosk
//! polls every 0.7 s; WeChat is asked at most once per [`WECHAT_QUERY_INTERVAL`] per order and
//! replica, the database answering in between), closes it on the first query after its expiry
//! (default 10 minutes) and on the kiosk's request, and receives the platform's callback
//! (`POST /v1/payments/wechat/notify`, verified with [`payment::CallbackVerifier`]). The first of
//! callback and query to see `SUCCESS` records it.
//! UnionPay: the kiosk runs the POS purchase and reports the result (`/pos`).
//! A new payment in a method the bureau has not enabled (`CenterConfig::payment_methods`) is
//! refused naming `method`, before anything is written.
//!
//! A paid application that cannot go on (the session was referred, or a second attempt was paid
//! too) is flagged `void_required`; the kiosk voids the POS purchase and reports it (`/void`),
//! a WeChat payment is refunded by the staff.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use domain::money::Fen;
use domain::rules::Business;
use payment::{
    CallbackVerifier, Clock, MerchantKeys, NativeOrder, OutTradeNo, PaymentError, TradeState,
    WechatPayClient,
};
use store::sessions::{NewPayment, PaymentRecord};
use time::OffsetDateTime;

use crate::auth::KioskId;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::ownership::open_session;
use crate::AppState;
use domain::session::PaymentMethod;

pub use kiosk_wire::{CreatePaymentRequest, PaymentAnswer, PosReport};

/// WeChat Pay for the center: the API client and the callback verifier of one merchant.
#[derive(Clone)]
pub struct WechatPay {
    /// Create, query, close.
    pub client: WechatPayClient,
    /// Checks and decrypts callbacks.
    pub verifier: CallbackVerifier,
    /// 商户号, checked on every callback.
    pub mchid: String,
    /// When this replica last asked WeChat about each open order (unix seconds), for
    /// [`WECHAT_QUERY_INTERVAL`].
    queried: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

/// The least time between two questions to WeChat about one order from one replica while the
/// kiosk polls it. A citizen takes half a minute to scan and pay while the kiosk polls every
/// 0.7 s: asking WeChat each time (a signed request and a signed answer) was some 40 queries per
/// payment, 1,300 a second at a province's peak, which the platform throttles. The callback
/// records a payment as it comes; the query is the fallback for a lost callback, so a lost one
/// shows at most this much later.
pub const WECHAT_QUERY_INTERVAL: i64 = 5;

impl WechatPay {
    /// WeChat Pay at `base_url` (the real gateway, or paysim) for the merchant `keys`, telling the
    /// platform to call back `notify_url` (this center's `/v1/payments/wechat/notify`).
    pub fn new(
        base_url: &str,
        keys: MerchantKeys,
        notify_url: &str,
        clock: Arc<dyn Clock>,
    ) -> WechatPay {
        WechatPay {
            verifier: CallbackVerifier::new(&keys, clock.clone()),
            mchid: keys.mchid.clone(),
            client: WechatPayClient::new(base_url, keys, notify_url, clock),
            queried: Arc::default(),
        }
    }

    /// Whether the kiosk's poll of order `out_trade_no` at `now` should ask WeChat: the first
    /// time, then once per [`WECHAT_QUERY_INTERVAL`]; a yes is remembered as the last question.
    fn query_due(&self, out_trade_no: &str, now: i64) -> bool {
        let mut queried = self
            .queried
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if queried
            .get(out_trade_no)
            .is_some_and(|last| now - last < WECHAT_QUERY_INTERVAL)
        {
            return false;
        }
        // Orders expire in minutes: forget those not asked about for an hour.
        if queried.len() >= 10_000 {
            queried.retain(|_, last| now - *last < 3600);
        }
        queried.insert(out_trade_no.to_owned(), now);
        true
    }
}

/// The answer of a stored payment. Corrupt stored numbers are a reported error (a logged 500),
/// never an answer of 0 fen.
pub(crate) fn payment_answer(p: &PaymentRecord) -> Result<PaymentAnswer, AppError> {
    Ok(PaymentAnswer {
        out_trade_no: p.out_trade_no.clone(),
        method: p.method.as_str().to_owned(),
        attempt: u8::try_from(p.attempt).map_err(|_| {
            AppError::Internal(anyhow::anyhow!(
                "stored attempt {} of {} is not an attempt number",
                p.attempt,
                p.out_trade_no
            ))
        })?,
        state: p.state,
        amount_fen: p.amount_fen.get(),
        code_url: p.code_url.clone(),
        expires_at: beijing(p.expires_at),
        paid_fen: paid_fen(p)?.map(Fen::get),
        transaction_id: p.transaction_id.clone(),
        void_required: p.void_required,
    })
}

/// The amount paid, when recorded. The ordered amount decodes as a [`Fen`] with the row; the
/// optional paid amount is checked here the same way: a zero, negative or oversized value is
/// corrupt data, refused and logged, never turned into a 0-fen notice.
pub(crate) fn paid_fen(p: &PaymentRecord) -> Result<Option<Fen>, AppError> {
    p.paid_fen
        .map(Fen::try_from)
        .transpose()
        .map_err(|err| AppError::internal("paid_fen", err))
}

/// Unix seconds as WeChat writes times.
pub(crate) fn beijing(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map(payment::rfc3339_beijing)
        .unwrap_or_default()
}

/// Checks every field of an approved purchase against the MIS-POS formats (docs/domain.md 9.5),
/// naming the first that is wrong: a kiosk's report is not taken as free text.
pub fn check_approved(report: &PosReport) -> Result<(), AppError> {
    let digits = |text: &str, n: usize| text.len() == n && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(&report.response_code, 2) {
        return Err(AppError::invalid("response_code", "two digits"));
    }
    match report.reference.as_deref() {
        Some(reference) if digits(reference, 12) => {}
        Some(_) => return Err(AppError::invalid("reference", "12 digits (参考号)")),
        None => {
            return Err(AppError::invalid(
                "reference",
                "an approved purchase has a reference",
            ))
        }
    }
    match report.auth_code.as_deref() {
        Some(code)
            if code.len() == 6
                && code
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) => {}
        _ => {
            return Err(AppError::invalid(
                "auth_code",
                "6 digits or capital letters (授权码)",
            ))
        }
    }
    let time_ok = match report.time.as_deref() {
        Some(text) if payment::parse_rfc3339(text).is_some() => true,
        Some(text) if digits(text, 6) => clock_ok(text),
        Some(text) if digits(text, 10) => {
            let (month, day) = (&text[..2], &text[2..4]);
            (1..=12).contains(&month.parse::<u8>().unwrap_or(0))
                && (1..=31).contains(&day.parse::<u8>().unwrap_or(0))
                && clock_ok(&text[4..])
        }
        _ => false,
    };
    if !time_ok {
        return Err(AppError::invalid(
            "time",
            "RFC 3339, or the terminal's hhmmss or MMDDhhmmss",
        ));
    }
    if let Some(voucher) = report.voucher.as_deref() {
        if !digits(voucher, 6) {
            return Err(AppError::invalid("voucher", "6 digits (流水号)"));
        }
    }
    if let Some(batch) = report.batch.as_deref() {
        if !digits(batch, 6) {
            return Err(AppError::invalid("batch", "6 digits (批次号)"));
        }
    }
    Ok(())
}

/// `hhmmss` within a day.
fn clock_ok(text: &str) -> bool {
    let part = |range: std::ops::Range<usize>| text.get(range).and_then(|p| p.parse::<u8>().ok());
    matches!((part(0..2), part(2..4), part(4..6)), (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60)
}

fn payment_unavailable(err: PaymentError) -> AppError {
    AppError::unavailable("payment", err)
}

fn wechat(state: &AppState) -> Result<&WechatPay, AppError> {
    state.wechat.as_ref().ok_or_else(|| {
        AppError::unavailable("payment", anyhow::anyhow!("WeChat Pay is not configured"))
    })
}

fn parse_attempt(text: &str) -> Result<u8, AppError> {
    text.parse::<u8>()
        .ok()
        .filter(|a| (1..=99).contains(a))
        .ok_or_else(|| AppError::invalid("attempt", "must be 1 to 99"))
}

async fn load(state: &AppState, sid: &str, attempt: u8) -> Result<PaymentRecord, AppError> {
    state
        .store
        .payment(sid, i64::from(attempt))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no payment attempt {attempt} in this session")))
}

async fn reload(state: &AppState, payment: &PaymentRecord) -> Result<PaymentRecord, AppError> {
    state
        .store
        .payment_by_trade_no(&payment.out_trade_no)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no payment {}", payment.out_trade_no)))
}

/// Creates payment `attempt` of the session's application (or returns it, if it exists).
pub async fn create(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path(sid): Path<String>,
    JsonBody(request): JsonBody<CreatePaymentRequest>,
) -> Result<Json<PaymentAnswer>, AppError> {
    let method = PaymentMethod::try_from(request.method.clone())
        .map_err(|_| AppError::invalid("method", "must be wechat or unionpay"))?;
    if !(1..=99).contains(&request.attempt) {
        return Err(AppError::invalid("attempt", "must be 1 to 99"));
    }
    let sid = open_session(&state, &kiosk, &sid).await?;
    let application = state
        .store
        .application_by_session(sid.as_str())
        .await?
        .ok_or_else(|| AppError::conflict("no application in this session yet (step 10 first)"))?;
    let fee =
        Fen::from_yuan(application.fee_cny).map_err(|err| AppError::internal("fee_cny", err))?;
    if request.amount_fen != fee.get() {
        return Err(AppError::invalid(
            "amount_fen",
            format!("the fee of this application is {} fen", fee.get()),
        ));
    }
    if let Some(existing) = state
        .store
        .payment(sid.as_str(), i64::from(request.attempt))
        .await?
    {
        if existing.method != method {
            return Err(AppError::conflict_on(
                "method",
                format!(
                    "attempt {} is a {} payment",
                    request.attempt,
                    existing.method.as_str()
                ),
            ));
        }
        let resumed = ensure_order(&state, application.business, existing).await?;
        return Ok(Json(payment_answer(&resumed)?));
    }
    // The bureau's enabled methods (`payment_methods`); an attempt made before a change of the
    // file is resumed above, so a paid order is never lost to it.
    if !state.config.payment_methods.contains(&method) {
        return Err(AppError::invalid(
            "method",
            format!(
                "{} is not accepted by this bureau; it accepts {}",
                method.as_str(),
                accepted_methods(&state.config.payment_methods)
            ),
        ));
    }
    if method == PaymentMethod::WeChat {
        wechat(&state)?;
    }
    // One payment per application: settle the other attempts first.
    for other in state
        .store
        .payments_of_application(&application.application_no)
        .await?
    {
        let other = refresh(&state, other).await?;
        let other = if other.state.is_final() {
            other
        } else {
            close_payment(&state, other).await?
        };
        if other.state == TradeState::Success {
            return Err(AppError::conflict(format!(
                "the application is paid (attempt {})",
                other.attempt
            )));
        }
    }
    let out_trade_no = OutTradeNo::derive(&application.application_no, request.attempt)
        .map_err(|err| AppError::internal("out_trade_no", err))?;
    let now = state.now();
    let expiry = i64::try_from(state.config.payment_expiry.as_secs()).unwrap_or(600);
    let (payment, _) = state
        .store
        .create_payment(&NewPayment {
            out_trade_no: out_trade_no.as_str().to_owned(),
            application_no: application.application_no.clone(),
            session_id: sid.as_str().to_owned(),
            attempt: i64::from(request.attempt),
            method,
            amount_fen: fee,
            expires_at: now + expiry,
            now,
        })
        .await?;
    let payment = ensure_order(&state, application.business, payment).await?;
    tracing::info!(
        session = sid.as_str(),
        out_trade_no = payment.out_trade_no,
        method = payment.method.as_str(),
        "payment created"
    );
    Ok(Json(payment_answer(&payment)?))
}

/// The enabled methods in words: `wechat, unionpay`.
fn accepted_methods(methods: &[PaymentMethod]) -> String {
    methods
        .iter()
        .map(|method| method.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A WeChat payment without its Native order yet (new, or a crash before the order was made):
/// creates it. The same trade number finds the same order at the platform.
async fn ensure_order(
    state: &AppState,
    business: Business,
    payment: PaymentRecord,
) -> Result<PaymentRecord, AppError> {
    if payment.method != PaymentMethod::WeChat
        || payment.code_url.is_some()
        || payment.state.is_final()
    {
        return Ok(payment);
    }
    let wechat = wechat(state)?;
    let out_trade_no = OutTradeNo::parse(&payment.out_trade_no)
        .map_err(|err| AppError::internal("out_trade_no", err))?;
    let order = NativeOrder {
        description: format!("居民身份证工本费（{}）", business.prompt().zh),
        out_trade_no,
        amount_fen: payment.amount_fen.get(),
        time_expire: OffsetDateTime::from_unix_timestamp(payment.expires_at).ok(),
    };
    let code_url = wechat
        .client
        .create_native(&order)
        .await
        .map_err(payment_unavailable)?;
    state
        .store
        .set_payment_code_url(&payment.out_trade_no, &code_url, state.now())
        .await?;
    reload(state, &payment).await
}

/// Brings a payment that is not final up to date: asks WeChat (recording a success), and closes
/// an unpaid order whose expiry has passed. A UnionPay payment waits for the kiosk's report.
async fn refresh(state: &AppState, payment: PaymentRecord) -> Result<PaymentRecord, AppError> {
    if payment.state.is_final() || payment.method != PaymentMethod::WeChat {
        return Ok(payment);
    }
    let wechat = wechat(state)?;
    let out_trade_no = OutTradeNo::parse(&payment.out_trade_no)
        .map_err(|err| AppError::internal("out_trade_no", err))?;
    let now = state.now();
    match wechat.client.query(&out_trade_no).await {
        Ok(transaction) => {
            let trade_state = transaction
                .state()
                .map_err(|err| AppError::internal("trade_state", err))?;
            match trade_state {
                TradeState::Success => {
                    record_paid(state, &transaction).await?;
                }
                TradeState::NotPay | TradeState::UserPaying => {
                    if now >= payment.expires_at {
                        return close_payment(state, payment).await;
                    }
                }
                other => {
                    state
                        .store
                        .set_payment_state(&payment.out_trade_no, other, now)
                        .await?;
                }
            }
        }
        // Never created at the platform (a crash before the order was made).
        Err(PaymentError::Api { code, .. }) if code == "ORDER_NOT_EXIST" => {
            if now >= payment.expires_at {
                state
                    .store
                    .set_payment_state(&payment.out_trade_no, TradeState::Closed, now)
                    .await?;
            }
        }
        Err(err) => return Err(payment_unavailable(err)),
    }
    reload(state, &payment).await
}

/// Closes a payment that is not final so it can no longer be paid. WeChat answers `ORDERPAID`
/// when it was paid meanwhile: then the success is recorded instead.
async fn close_payment(
    state: &AppState,
    payment: PaymentRecord,
) -> Result<PaymentRecord, AppError> {
    if payment.state.is_final() {
        return Ok(payment);
    }
    let now = state.now();
    if payment.method == PaymentMethod::WeChat {
        let wechat = wechat(state)?;
        let out_trade_no = OutTradeNo::parse(&payment.out_trade_no)
            .map_err(|err| AppError::internal("out_trade_no", err))?;
        match wechat.client.close(&out_trade_no).await {
            Ok(()) => {}
            Err(PaymentError::Api { code, .. }) if code == "ORDERPAID" => {
                let transaction = wechat
                    .client
                    .query(&out_trade_no)
                    .await
                    .map_err(payment_unavailable)?;
                record_paid(state, &transaction).await?;
                return reload(state, &payment).await;
            }
            Err(PaymentError::Api { code, .. }) if code == "ORDER_NOT_EXIST" => {}
            Err(err) => return Err(payment_unavailable(err)),
        }
    }
    state
        .store
        .set_payment_state(&payment.out_trade_no, TradeState::Closed, now)
        .await?;
    reload(state, &payment).await
}

/// Records a WeChat success once, whoever saw it first; flags it when the application cannot
/// take it. Returns whether this call recorded it.
async fn record_paid(
    state: &AppState,
    transaction: &payment::wire::Transaction,
) -> Result<bool, AppError> {
    let Some(transaction_id) = transaction.transaction_id.as_deref() else {
        return Err(AppError::internal(
            "transaction",
            PaymentError::Malformed("a paid transaction has a transaction_id".into()),
        ));
    };
    let paid_fen = transaction
        .amount
        .payer_total
        .unwrap_or(transaction.amount.total);
    let paid_at = transaction
        .success_time
        .as_deref()
        .and_then(payment::parse_rfc3339)
        .map_or_else(|| state.now(), OffsetDateTime::unix_timestamp);
    // Paid, but not what was ordered: not a payment of this application. Held for staff (the
    // money goes back) and listed by the reconciliation.
    if let Some(order) = state
        .store
        .payment_by_trade_no(&transaction.out_trade_no)
        .await?
    {
        let ordered = order.amount_fen.as_i64();
        if i64::from(transaction.amount.total) != ordered || i64::from(paid_fen) != ordered {
            let held = state
                .store
                .hold_payment(
                    &transaction.out_trade_no,
                    transaction_id,
                    i64::from(paid_fen),
                    paid_at,
                )
                .await?;
            if held {
                tracing::warn!(
                    out_trade_no = transaction.out_trade_no,
                    ordered,
                    paid = paid_fen,
                    "paid amount differs from the order: held for staff, not recorded as paid"
                );
            }
            return Ok(false);
        }
    }
    let new = state
        .store
        .record_payment_paid(
            &transaction.out_trade_no,
            transaction_id,
            i64::from(paid_fen),
            paid_at,
        )
        .await?;
    if new {
        tracing::info!(out_trade_no = transaction.out_trade_no, "payment recorded");
        flag_if_cannot_go_on(state, &transaction.out_trade_no).await?;
    }
    Ok(new)
}

/// A payment just paid: the store flagged it `void_required` in the same statement when its
/// application was referred (or is missing) or already paid; say so in the log.
async fn flag_if_cannot_go_on(state: &AppState, out_trade_no: &str) -> Result<(), AppError> {
    if let Some(paid) = state.store.payment_by_trade_no(out_trade_no).await? {
        if paid.void_required {
            tracing::warn!(
                out_trade_no,
                application = paid.application_no,
                "paid, but the application cannot take it: void or refund required"
            );
        }
    }
    Ok(())
}

/// Every paid payment of a referred application: `void_required`.
pub(crate) async fn flag_paid_for_void(
    state: &AppState,
    application_no: &str,
) -> Result<(), AppError> {
    for payment in state.store.payments_of_application(application_no).await? {
        if payment.state == TradeState::Success {
            state
                .store
                .require_void(&payment.out_trade_no, state.now())
                .await?;
        }
    }
    Ok(())
}

/// `GET /v1/sessions/{sid}/payments/{attempt}`: the state, after asking WeChat when it is not
/// final (and closing an expired order).
pub async fn query(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path((sid, attempt)): Path<(String, String)>,
) -> Result<Json<PaymentAnswer>, AppError> {
    let attempt = parse_attempt(&attempt)?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    let payment = load(&state, sid.as_str(), attempt).await?;
    // WeChat is asked once per interval (the callback records a success at once); past the
    // expiry always, so the order is closed.
    let ask = match &state.wechat {
        Some(wechat) if payment.method == PaymentMethod::WeChat && !payment.state.is_final() => {
            let now = state.now();
            now >= payment.expires_at || wechat.query_due(&payment.out_trade_no, now)
        }
        _ => true,
    };
    let payment = if ask {
        refresh(&state, payment).await?
    } else {
        payment
    };
    Ok(Json(payment_answer(&payment)?))
}

/// `POST /v1/sessions/{sid}/payments/{attempt}/close`: `CLOSED`, or `SUCCESS` if it was paid
/// meanwhile.
pub async fn close(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path((sid, attempt)): Path<(String, String)>,
) -> Result<Json<PaymentAnswer>, AppError> {
    let attempt = parse_attempt(&attempt)?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    let payment = load(&state, sid.as_str(), attempt).await?;
    let payment = refresh(&state, payment).await?;
    let payment = close_payment(&state, payment).await?;
    Ok(Json(payment_answer(&payment)?))
}

/// `POST /v1/sessions/{sid}/payments/{attempt}/pos`: the kiosk's POS result for a UnionPay
/// payment; the first report wins.
pub async fn pos(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path((sid, attempt)): Path<(String, String)>,
    JsonBody(report): JsonBody<PosReport>,
) -> Result<Json<PaymentAnswer>, AppError> {
    let attempt = parse_attempt(&attempt)?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    let payment = load(&state, sid.as_str(), attempt).await?;
    if payment.method != PaymentMethod::UnionPay {
        return Err(AppError::conflict(
            "only a unionpay payment has a POS result",
        ));
    }
    let approved = report.approved && report.response_code == "00";
    // The first report wins; but an approval for an attempt closed meanwhile (a new attempt was
    // started) is recorded: the card was charged, and the application may now be paid twice.
    if payment.state.is_final() && !(approved && payment.state == TradeState::Closed) {
        return Ok(Json(payment_answer(&payment)?));
    }
    if approved {
        check_approved(&report)?;
        let reference = report.reference.as_deref().unwrap_or_default();
        if let Some(card) = report.card_masked.as_deref() {
            documents::types::MaskedCard::parse(card)
                .map_err(|err| AppError::invalid("card_masked", err.0))?;
        }
        let json = serde_json::to_string(&report).map_err(|e| AppError::internal("report", e))?;
        // The terminal took another amount than ordered: not a payment of this application.
        if let Some(taken) = report.amount_fen {
            let taken = i64::try_from(taken).unwrap_or(i64::MAX);
            if taken != payment.amount_fen.as_i64() {
                state
                    .store
                    .hold_payment(&payment.out_trade_no, reference, taken, state.now())
                    .await?;
                tracing::warn!(
                    out_trade_no = payment.out_trade_no,
                    ordered = payment.amount_fen.get(),
                    taken,
                    "POS amount differs from the order: held for staff, not recorded as paid"
                );
                let payment = reload(&state, &payment).await?;
                return Ok(Json(payment_answer(&payment)?));
            }
        }
        let new = state
            .store
            .record_pos_result(
                &payment.out_trade_no,
                "SUCCESS",
                &json,
                Some(reference),
                Some(payment.amount_fen.as_i64()),
                state.now(),
            )
            .await?;
        if new {
            flag_if_cannot_go_on(&state, &payment.out_trade_no).await?;
        }
    } else {
        let json = serde_json::to_string(&report).map_err(|e| AppError::internal("report", e))?;
        state
            .store
            .record_pos_result(
                &payment.out_trade_no,
                "PAYERROR",
                &json,
                None,
                None,
                state.now(),
            )
            .await?;
    }
    let payment = reload(&state, &payment).await?;
    Ok(Json(payment_answer(&payment)?))
}

/// `POST /v1/sessions/{sid}/payments/{attempt}/void`: the kiosk voided a paid POS purchase the
/// center flagged `void_required`; recorded as `REVOKED`. A repeat answers the same.
pub async fn void(
    State(state): State<AppState>,
    Extension(kiosk): Extension<KioskId>,
    Path((sid, attempt)): Path<(String, String)>,
    JsonBody(report): JsonBody<PosReport>,
) -> Result<Json<PaymentAnswer>, AppError> {
    let attempt = parse_attempt(&attempt)?;
    let sid = open_session(&state, &kiosk, &sid).await?;
    let payment = load(&state, sid.as_str(), attempt).await?;
    if payment.state == TradeState::Revoked {
        return Ok(Json(payment_answer(&payment)?));
    }
    if payment.state != TradeState::Success || !payment.void_required {
        return Err(AppError::conflict("this payment does not need a void"));
    }
    if report.approved && report.response_code == "00" {
        let json = serde_json::to_string(&report).map_err(|e| AppError::internal("report", e))?;
        state
            .store
            .record_void(&payment.out_trade_no, &json, state.now())
            .await?;
    }
    let payment = reload(&state, &payment).await?;
    Ok(Json(payment_answer(&payment)?))
}

/// `POST /v1/payments/wechat/notify`: WeChat Pay's callback. Verified (signature, timestamp,
/// serial), decrypted, checked to be ours, recorded once. `204`; `401` for a bad signature,
/// `400` for a malformed callback, `500` when the database failed (the platform retries).
pub async fn notify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(wechat) = state.wechat.as_ref() else {
        return callback_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "WeChat Pay is not configured",
        );
    };
    let (notification, transaction) = match wechat.verifier.open(&headers, &body) {
        Ok(opened) => opened,
        Err(err) => {
            tracing::warn!(error = %err, "payment callback refused");
            let status = match err {
                PaymentError::Decrypt | PaymentError::Malformed(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNAUTHORIZED,
            };
            return callback_error(status, &err.to_string());
        }
    };
    if transaction.mchid != wechat.mchid {
        return callback_error(StatusCode::BAD_REQUEST, "callback for another merchant");
    }
    if notification.event_type != "TRANSACTION.SUCCESS"
        || transaction.state().ok() != Some(TradeState::Success)
    {
        return StatusCode::NO_CONTENT.into_response();
    }
    match state
        .store
        .payment_by_trade_no(&transaction.out_trade_no)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            tracing::warn!(
                out_trade_no = transaction.out_trade_no,
                "callback for an order this center does not know"
            );
            return StatusCode::NO_CONTENT.into_response();
        }
        Err(err) => {
            tracing::error!(error = %err, "payment callback: database");
            return callback_error(StatusCode::INTERNAL_SERVER_ERROR, "database");
        }
    }
    match record_paid(&state, &transaction).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "payment callback: recording failed");
            callback_error(StatusCode::INTERNAL_SERVER_ERROR, "recording failed")
        }
    }
}

fn callback_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"code": "FAIL", "message": message})),
    )
        .into_response()
}
