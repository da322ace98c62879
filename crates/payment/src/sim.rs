//! paysim: a reference WeChat Pay v3 server (Native) speaking the real API, for the demo and the
//! tests. It verifies the merchant's signature over the raw bytes of every request, signs every
//! answer with the platform key (a 204's empty body too), keeps orders in memory with their expiry,
//! and, when a code is "scanned and paid" through its control call or page, sends a signed,
//! AES-256-GCM-encrypted TRANSACTION.SUCCESS callback to the order's notify_url, retrying with a
//! bounded backoff until it is answered 200/204.
//!
//! Routes: the API (`POST /v3/pay/transactions/native`, `GET /v3/pay/transactions/out-trade-no/
//! {n}?mchid=`, `GET /v3/pay/transactions/id/{id}?mchid=`, `POST …/out-trade-no/{n}/close`) and
//! the control side (`POST /sim/pay`, `POST /sim/redeliver`, `GET /sim/orders`
//! (each order with its `code_url`), `GET /sim/callbacks`, the page `GET /sim`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::keys::PlatformKeys;
use crate::provider::TradeState;
use crate::sign::{self, sign_platform_headers, Authorization, SignKey, VerifyKey};
use crate::wire::{
    CloseOrder, CodeUrl, CreateNative, ErrorBody, Notification, Payer, Resource, Transaction,
    TransactionAmount,
};
use crate::{parse_rfc3339, rfc3339_beijing, Clock, PaymentError};

/// How callbacks are retried: `first_delay`, doubling up to `max_delay`, at most `attempts`
/// deliveries in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Deliveries in all, the first included.
    pub attempts: u32,
    /// Wait after the first failure.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 10 deliveries, 1 s doubling to 60 s (WeChat's own schedule is longer; this is bounded).
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 10,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// The simulator's configuration.
#[derive(Clone)]
pub struct SimConfig {
    /// The platform's side of the key material.
    pub keys: PlatformKeys,
    /// Callback retries.
    pub retry: RetryPolicy,
    /// The clock (orders' expiry, timestamps).
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug, Clone)]
struct Order {
    request: CreateNative,
    code_url: String,
    time_expire: Option<OffsetDateTime>,
    state: TradeState,
    transaction_id: Option<String>,
    success_time: Option<OffsetDateTime>,
    openid: Option<String>,
}

impl Order {
    /// Closes an unpaid order whose time has come.
    fn refresh(&mut self, now: OffsetDateTime) {
        if self.state == TradeState::NotPay && self.time_expire.is_some_and(|t| now >= t) {
            self.state = TradeState::Closed;
        }
    }

    fn transaction(&self) -> Transaction {
        let paid = self.state == TradeState::Success || self.state == TradeState::Refund;
        let desc = match self.state {
            TradeState::Success => "支付成功",
            TradeState::NotPay => "未支付",
            TradeState::Closed => "订单已关闭",
            TradeState::Refund => "转入退款",
            TradeState::Revoked => "已撤销",
            TradeState::UserPaying => "用户支付中",
            TradeState::PayError => "支付失败",
        };
        Transaction {
            appid: self.request.appid.clone(),
            mchid: self.request.mchid.clone(),
            out_trade_no: self.request.out_trade_no.clone(),
            transaction_id: self.transaction_id.clone(),
            trade_type: Some("NATIVE".into()),
            trade_state: self.state.as_str().into(),
            trade_state_desc: desc.into(),
            bank_type: paid.then(|| "OTHERS".into()),
            attach: self.request.attach.clone(),
            success_time: self.success_time.map(rfc3339_beijing),
            payer: self.openid.clone().map(|openid| Payer { openid }),
            amount: TransactionAmount {
                total: self.request.amount.total,
                payer_total: paid.then_some(self.request.amount.total),
                currency: "CNY".into(),
                payer_currency: paid.then(|| "CNY".into()),
            },
        }
    }
}

/// One callback's delivery record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Delivery {
    /// The order.
    pub out_trade_no: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Answered 200/204.
    pub delivered: bool,
    /// The last HTTP status or transport error.
    pub last_result: String,
}

struct Sim {
    config: SimConfig,
    signer: SignKey,
    merchant: VerifyKey,
    orders: Mutex<HashMap<String, Order>>,
    deliveries: Mutex<Vec<Delivery>>,
    http: reqwest::Client,
}

impl Sim {
    fn now(&self) -> OffsetDateTime {
        self.config.clock.now()
    }

    fn orders(&self) -> std::sync::MutexGuard<'_, HashMap<String, Order>> {
        self.orders.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An answer signed with the platform key.
    fn signed(&self, status: StatusCode, body: Vec<u8>) -> Response {
        let mut headers = HeaderMap::new();
        sign_platform_headers(
            &mut headers,
            &self.signer,
            &self.config.keys.public_key_id,
            self.now().unix_timestamp(),
            &body,
        );
        headers.insert(
            "Request-ID",
            HeaderValue::from_str(&sign::nonce()).unwrap_or(HeaderValue::from_static("x")),
        );
        if !body.is_empty() {
            headers.insert(
                "Content-Type",
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
        }
        (status, headers, body).into_response()
    }

    fn json<T: Serialize>(&self, status: StatusCode, value: &T) -> Response {
        self.signed(status, serde_json::to_vec(value).unwrap_or_default())
    }

    fn error(&self, status: StatusCode, code: &str, message: impl Into<String>) -> Response {
        self.json(
            status,
            &ErrorBody {
                code: code.into(),
                message: message.into(),
            },
        )
    }

    /// Checks the merchant's Authorization over the raw request.
    fn authenticate(
        &self,
        method: &Method,
        uri: &OriginalUri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let unauthorized = |message: String| message;
        let header = headers
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("missing Authorization".into()))?;
        let auth = Authorization::parse(header).map_err(|e| unauthorized(e.to_string()))?;
        let keys = &self.config.keys;
        if auth.mchid != keys.mchid {
            return Err(unauthorized(format!("unknown mchid {}", auth.mchid)));
        }
        if auth.serial_no != keys.merchant_serial {
            return Err(unauthorized(format!(
                "unknown merchant certificate serial {}",
                auth.serial_no
            )));
        }
        let path_and_query = uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        auth.verify(
            &self.merchant,
            method.as_str(),
            path_and_query,
            body,
            self.now().unix_timestamp(),
        )
        .map_err(|e| unauthorized(format!("signature verification failed: {e}")))
    }
}

/// The simulator as an axum router.
pub fn app(config: SimConfig) -> Router {
    let sim = Arc::new(Sim {
        signer: config.keys.signer(),
        merchant: config.keys.merchant_verifier(),
        config,
        orders: Mutex::new(HashMap::new()),
        deliveries: Mutex::new(Vec::new()),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new()),
    });
    Router::new()
        .route("/v3/pay/transactions/native", post(create))
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}",
            get(query_by_out_trade_no),
        )
        .route("/v3/pay/transactions/id/{transaction_id}", get(query_by_id))
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
            post(close),
        )
        .route("/sim", get(page))
        .route("/sim/pay", post(pay_json))
        .route("/sim/pay-form", post(pay_form))
        .route("/sim/redeliver", post(redeliver))
        .route("/sim/orders", get(list_orders))
        .route("/sim/callbacks", get(list_callbacks))
        .with_state(sim)
}

fn valid_out_trade_no(text: &str) -> bool {
    (6..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
}

async fn create(
    State(sim): State<Arc<Sim>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(message) = sim.authenticate(&method, &uri, &headers, &body) {
        return sim.error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message);
    }
    let request: CreateNative = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return sim.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", format!("body: {e}")),
    };
    let keys = &sim.config.keys;
    let bad = |message: &str| sim.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", message);
    if request.mchid != keys.mchid || request.appid != keys.appid {
        return sim.error(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mchid不匹配",
        );
    }
    if !valid_out_trade_no(&request.out_trade_no) {
        return bad("out_trade_no must be 6 to 32 letters, digits or _-|*");
    }
    if request.amount.total == 0 || request.amount.currency != "CNY" {
        return bad("amount.total must be positive and currency CNY");
    }
    if !(request.notify_url.starts_with("http://") || request.notify_url.starts_with("https://")) {
        return bad("notify_url must be an http(s) URL");
    }
    if request.description.is_empty() || request.description.chars().count() > 127 {
        return bad("description must be 1 to 127 characters");
    }
    let time_expire = match request.time_expire.as_deref().map(parse_rfc3339) {
        None => None,
        Some(Some(t)) => Some(t),
        Some(None) => return bad("time_expire must be RFC 3339"),
    };
    let now = sim.now();
    let mut orders = sim.orders();
    if let Some(order) = orders.get_mut(&request.out_trade_no) {
        order.refresh(now);
        // The same order asked again (a retry after a lost answer) gets the same code_url.
        return match order.state {
            TradeState::Success | TradeState::Refund => {
                sim.error(StatusCode::BAD_REQUEST, "ORDERPAID", "该订单已支付")
            }
            TradeState::Closed => sim.error(StatusCode::BAD_REQUEST, "ORDERCLOSED", "该订单已关闭"),
            _ if order.request.amount.total != request.amount.total
                || order.request.description != request.description =>
            {
                sim.error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    "201 商户订单号重复",
                )
            }
            _ => sim.json(
                StatusCode::OK,
                &CodeUrl {
                    code_url: order.code_url.clone(),
                },
            ),
        };
    }
    let code_url = format!(
        "weixin://wxpay/bizpayurl?pr={}",
        sign::random_string(
            9,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        )
    );
    orders.insert(
        request.out_trade_no.clone(),
        Order {
            request,
            code_url: code_url.clone(),
            time_expire,
            state: TradeState::NotPay,
            transaction_id: None,
            success_time: None,
            openid: None,
        },
    );
    drop(orders);
    sim.json(StatusCode::OK, &CodeUrl { code_url })
}

#[derive(Deserialize)]
struct MchidQuery {
    mchid: Option<String>,
}

async fn query_by_out_trade_no(
    State(sim): State<Arc<Sim>>,
    Path(out_trade_no): Path<String>,
    axum::extract::Query(query): axum::extract::Query<MchidQuery>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(message) = sim.authenticate(&method, &uri, &headers, &body) {
        return sim.error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message);
    }
    if query.mchid.as_deref() != Some(sim.config.keys.mchid.as_str()) {
        return sim.error(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "mchid query parameter missing or wrong",
        );
    }
    let now = sim.now();
    let mut orders = sim.orders();
    match orders.get_mut(&out_trade_no) {
        Some(order) => {
            order.refresh(now);
            let tx = order.transaction();
            drop(orders);
            sim.json(StatusCode::OK, &tx)
        }
        None => {
            drop(orders);
            sim.error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
        }
    }
}

async fn query_by_id(
    State(sim): State<Arc<Sim>>,
    Path(transaction_id): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(message) = sim.authenticate(&method, &uri, &headers, &body) {
        return sim.error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message);
    }
    let found = sim
        .orders()
        .values()
        .find(|o| o.transaction_id.as_deref() == Some(&transaction_id))
        .map(Order::transaction);
    match found {
        Some(tx) => sim.json(StatusCode::OK, &tx),
        None => sim.error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在"),
    }
}

async fn close(
    State(sim): State<Arc<Sim>>,
    Path(out_trade_no): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(message) = sim.authenticate(&method, &uri, &headers, &body) {
        return sim.error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message);
    }
    match serde_json::from_slice::<CloseOrder>(&body) {
        Ok(close) if close.mchid == sim.config.keys.mchid => {}
        _ => {
            return sim.error(
                StatusCode::BAD_REQUEST,
                "PARAM_ERROR",
                "body must be {\"mchid\": …}",
            )
        }
    }
    let now = sim.now();
    let mut orders = sim.orders();
    let Some(order) = orders.get_mut(&out_trade_no) else {
        drop(orders);
        return sim.error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在");
    };
    order.refresh(now);
    if matches!(order.state, TradeState::Success | TradeState::Refund) {
        drop(orders);
        return sim.error(StatusCode::BAD_REQUEST, "ORDERPAID", "订单已支付");
    }
    order.state = TradeState::Closed;
    drop(orders);
    sim.signed(StatusCode::NO_CONTENT, Vec::new())
}

/// `POST /sim/pay`: the payer scans `code_url` and pays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayRequest {
    /// The order's code_url.
    pub code_url: String,
    /// Send the callback (default). `false` simulates a callback lost on the way, so the
    /// merchant must find the payment by query.
    #[serde(default = "yes")]
    pub deliver_callback: bool,
}

fn yes() -> bool {
    true
}

/// The answer of `POST /sim/pay`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayAnswer {
    /// The order paid.
    pub out_trade_no: String,
    /// Its new transaction id.
    pub transaction_id: String,
    /// `SUCCESS`.
    pub trade_state: String,
}

fn pay(sim: &Arc<Sim>, request: &PayRequest) -> Result<PayAnswer, (StatusCode, ErrorBody)> {
    let now = sim.now();
    let mut orders = sim.orders();
    let order = orders
        .values_mut()
        .find(|o| o.code_url == request.code_url)
        .ok_or((
            StatusCode::NOT_FOUND,
            ErrorBody {
                code: "ORDER_NOT_EXIST".into(),
                message: "no order has this code_url".into(),
            },
        ))?;
    order.refresh(now);
    match order.state {
        TradeState::NotPay => {}
        TradeState::Closed => {
            return Err((
                StatusCode::CONFLICT,
                ErrorBody {
                    code: "ORDERCLOSED".into(),
                    message: "the order is closed".into(),
                },
            ))
        }
        _ => {
            return Err((
                StatusCode::CONFLICT,
                ErrorBody {
                    code: "ORDERPAID".into(),
                    message: "the order is paid".into(),
                },
            ))
        }
    }
    order.state = TradeState::Success;
    order.success_time = Some(now);
    order.transaction_id = Some(format!("4200{}", sign::random_string(24, b"0123456789")));
    order.openid = Some(format!(
        "o{}",
        sign::random_string(
            27,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        )
    ));
    let answer = PayAnswer {
        out_trade_no: order.request.out_trade_no.clone(),
        transaction_id: order.transaction_id.clone().unwrap_or_default(),
        trade_state: TradeState::Success.as_str().into(),
    };
    let (tx, notify_url) = (order.transaction(), order.request.notify_url.clone());
    drop(orders);
    if request.deliver_callback {
        tokio::spawn(deliver(sim.clone(), tx, notify_url));
    }
    Ok(answer)
}

async fn pay_json(State(sim): State<Arc<Sim>>, Json(request): Json<PayRequest>) -> Response {
    match pay(&sim, &request) {
        Ok(answer) => Json(answer).into_response(),
        Err((status, body)) => (status, Json(body)).into_response(),
    }
}

#[derive(Deserialize)]
struct PayForm {
    code_url: String,
}

async fn pay_form(State(sim): State<Arc<Sim>>, Form(form): Form<PayForm>) -> Response {
    let request = PayRequest {
        code_url: form.code_url.trim().to_owned(),
        deliver_callback: true,
    };
    let paid = pay(&sim, &request).map_err(|(_, body)| body);
    html(&PaidPage { paid })
}

/// The answer to the page's form.
#[derive(Template)]
#[template(path = "paysim/paid.html")]
struct PaidPage {
    paid: Result<PayAnswer, ErrorBody>,
}

/// `GET /sim`: the orders, and a form to pay one by its code_url.
#[derive(Template)]
#[template(path = "paysim/orders.html")]
struct OrdersPage {
    orders: Vec<OrderRow>,
}

/// An order as the page shows it.
struct OrderRow {
    out_trade_no: String,
    total: u32,
    trade_state: &'static str,
    code_url: String,
}

async fn page(State(sim): State<Arc<Sim>>) -> Response {
    let now = sim.now();
    let orders = sim
        .orders()
        .values_mut()
        .map(|order| {
            order.refresh(now);
            OrderRow {
                out_trade_no: order.request.out_trade_no.clone(),
                total: order.request.amount.total,
                trade_state: order.state.as_str(),
                code_url: order.code_url.clone(),
            }
        })
        .collect();
    html(&OrdersPage { orders })
}

/// A page (a template cannot fail on the strings and numbers it is given; if it does, the answer
/// is a 500 and the log says why).
fn html(page: &impl Template) -> Response {
    match page.render() {
        Ok(text) => Html(text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a paysim page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `POST /sim/redeliver`: sends a paid order's callback again (the platform may deliver twice).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedeliverRequest {
    /// The paid order.
    pub out_trade_no: String,
}

async fn redeliver(State(sim): State<Arc<Sim>>, Json(request): Json<RedeliverRequest>) -> Response {
    let found = sim
        .orders()
        .get(&request.out_trade_no)
        .filter(|o| o.state == TradeState::Success)
        .map(|o| (o.transaction(), o.request.notify_url.clone()));
    match found {
        Some((tx, url)) => {
            tokio::spawn(deliver(sim.clone(), tx, url));
            StatusCode::ACCEPTED.into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(ErrorBody {
                code: "ORDER_NOT_PAID".into(),
                message: "no paid order".into(),
            }),
        )
            .into_response(),
    }
}

/// One row of `GET /sim/orders`: the transaction as the API would answer it, and the `code_url`
/// its QR code holds (what a payer scans, so the demo's panel can pay it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SimOrder {
    /// The order as queried.
    #[serde(flatten)]
    pub transaction: Transaction,
    /// What the QR code holds.
    pub code_url: String,
}

async fn list_orders(State(sim): State<Arc<Sim>>) -> Json<Vec<SimOrder>> {
    let now = sim.now();
    let mut orders = sim.orders();
    let mut list: Vec<SimOrder> = orders
        .values_mut()
        .map(|o| {
            o.refresh(now);
            SimOrder {
                transaction: o.transaction(),
                code_url: o.code_url.clone(),
            }
        })
        .collect();
    list.sort_by(|a, b| a.transaction.out_trade_no.cmp(&b.transaction.out_trade_no));
    Json(list)
}

async fn list_callbacks(State(sim): State<Arc<Sim>>) -> Json<Vec<Delivery>> {
    Json(
        sim.deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
    )
}

/// A signed, encrypted TRANSACTION.SUCCESS callback for `tx`: its headers and body, signed at
/// `timestamp` with `signer` under `key_id`, encrypted under `apiv3_key`. Public so that tests can
/// forge variants (another key, a stale time).
pub fn build_callback(
    tx: &Transaction,
    apiv3_key: &crate::ApiV3Key,
    signer: &SignKey,
    key_id: &str,
    now: OffsetDateTime,
) -> Result<(HeaderMap, Vec<u8>), PaymentError> {
    let plain = serde_json::to_vec(tx).map_err(|e| PaymentError::Malformed(e.to_string()))?;
    let nonce = sign::random_string(
        12,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    );
    let notification = Notification {
        id: format!(
            "{}-{}",
            tx.transaction_id.clone().unwrap_or_default(),
            sign::random_string(8, b"0123456789abcdef")
        ),
        create_time: rfc3339_beijing(now),
        resource_type: "encrypt-resource".into(),
        event_type: "TRANSACTION.SUCCESS".into(),
        summary: "支付成功".into(),
        resource: Resource {
            original_type: "transaction".into(),
            algorithm: "AEAD_AES_256_GCM".into(),
            ciphertext: apiv3_key.encrypt(&nonce, "transaction", &plain)?,
            associated_data: "transaction".into(),
            nonce,
        },
    };
    let body =
        serde_json::to_vec(&notification).map_err(|e| PaymentError::Malformed(e.to_string()))?;
    let mut headers = HeaderMap::new();
    sign_platform_headers(&mut headers, signer, key_id, now.unix_timestamp(), &body);
    headers.insert("Content-Type", HeaderValue::from_static("application/json"));
    Ok((headers, body))
}

/// Delivers one callback with retries; every attempt is signed afresh (new timestamp, nonce).
async fn deliver(sim: Arc<Sim>, tx: Transaction, notify_url: String) {
    let index = {
        let mut deliveries = sim.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        deliveries.push(Delivery {
            out_trade_no: tx.out_trade_no.clone(),
            attempts: 0,
            delivered: false,
            last_result: String::new(),
        });
        deliveries.len() - 1
    };
    let retry = sim.config.retry;
    let mut delay = retry.first_delay;
    for attempt in 1..=retry.attempts.max(1) {
        let keys = &sim.config.keys;
        let result = match build_callback(
            &tx,
            &keys.apiv3_key,
            &sim.signer,
            &keys.public_key_id,
            sim.now(),
        ) {
            Ok((headers, body)) => {
                sim.http
                    .post(&notify_url)
                    .headers(headers)
                    .body(body)
                    .send()
                    .await
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot build callback");
                return;
            }
        };
        let (ok, text) = match result {
            Ok(response) => {
                let status = response.status();
                (
                    status == StatusCode::OK || status == StatusCode::NO_CONTENT,
                    status.as_u16().to_string(),
                )
            }
            Err(e) => (false, format!("transport: {e}")),
        };
        {
            let mut deliveries = sim.deliveries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(d) = deliveries.get_mut(index) {
                d.attempts = attempt;
                d.delivered = ok;
                d.last_result = text.clone();
            }
        }
        if ok {
            tracing::info!(out_trade_no = %tx.out_trade_no, attempt, "callback delivered");
            return;
        }
        tracing::warn!(out_trade_no = %tx.out_trade_no, attempt, result = %text, "callback not accepted; will retry");
        if attempt < retry.attempts {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(retry.max_delay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_row_is_the_transaction_with_its_code_url() {
        let text = r#"{"appid":"wx1","mchid":"19","out_trade_no":"SL1-01","trade_state":"NOTPAY","trade_state_desc":"未支付","amount":{"total":2000,"currency":"CNY"},"code_url":"weixin://wxpay/bizpayurl?pr=ab"}"#;
        let order: SimOrder = serde_json::from_str(text).unwrap();
        assert_eq!(order.transaction.out_trade_no, "SL1-01");
        assert_eq!(order.code_url, "weixin://wxpay/bizpayurl?pr=ab");
        let back = serde_json::to_value(&order).unwrap();
        assert_eq!(back["trade_state"], "NOTPAY");
        assert_eq!(back["code_url"], "weixin://wxpay/bizpayurl?pr=ab");
    }

    /// The pages print what a merchant sent (an out_trade_no, a code_url) through askama's
    /// escaper, so markup in them stays text.
    #[test]
    fn the_pages_escape_what_they_print() {
        let page = OrdersPage {
            orders: vec![OrderRow {
                out_trade_no: "<b>SL1</b>".into(),
                total: 2000,
                trade_state: "NOTPAY",
                code_url: "weixin://wxpay/bizpayurl?pr=a&b=\"c\"".into(),
            }],
        }
        .render()
        .unwrap();
        assert!(
            page.contains("<tr><td>&#60;b&#62;SL1&#60;/b&#62;</td><td>2000</td><td>NOTPAY</td><td><code>weixin://wxpay/bizpayurl?pr=a&#38;b=&#34;c&#34;</code></td></tr>"),
            "{page}"
        );
        assert!(page.starts_with("<!doctype html>") && page.ends_with("</table></body></html>"));

        let paid = PaidPage {
            paid: Ok(PayAnswer {
                out_trade_no: "SL1<".into(),
                transaction_id: "4200".into(),
                trade_state: "SUCCESS".into(),
            }),
        }
        .render()
        .unwrap();
        assert!(
            paid.contains("<p>支付成功 Paid: SL1&#60; (4200)</p>"),
            "{paid}"
        );
        let refused = PaidPage {
            paid: Err(ErrorBody {
                code: "ORDERPAID".into(),
                message: "the order is \"paid\"".into(),
            }),
        }
        .render()
        .unwrap();
        assert!(
            refused.contains("<p>支付失败 Not paid: ORDERPAID the order is &#34;paid&#34;</p>"),
            "{refused}"
        );
    }
}
