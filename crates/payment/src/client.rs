//! The center's WeChat Pay v3 client: signs each request with the merchant key, checks the
//! platform's signature on every 2xx answer (a 204 with an empty body too) before believing it,
//! and creates, queries and closes Native orders.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{HeaderMap, Method};

use crate::keys::MerchantKeys;
use crate::provider::{
    OutTradeNo, PaymentProvider, PaymentRequest, PaymentStart, PaymentStatus, TradeState,
};
use crate::sign::{verify_platform_headers, Authorization, SignKey, VerifyKey};
use crate::wire::{CloseOrder, CodeUrl, CreateNative, ErrorBody, OrderAmount, Transaction};
use crate::{rfc3339_beijing, Clock, PaymentError};

/// The production gateway.
pub const GATEWAY: &str = "https://api.mch.weixin.qq.com";

/// A Native order to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeOrder {
    /// What is bought.
    pub description: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// In fen.
    pub amount_fen: u32,
    /// When it closes by itself.
    pub time_expire: Option<time::OffsetDateTime>,
}

/// A WeChat Pay v3 client for one merchant.
#[derive(Clone)]
pub struct WechatPayClient {
    http: reqwest::Client,
    base_url: String,
    keys: MerchantKeys,
    signer: SignKey,
    verifier: VerifyKey,
    notify_url: String,
    clock: Arc<dyn Clock>,
}

impl WechatPayClient {
    /// A client calling `base_url` (e.g. [`GATEWAY`], or paysim's `http://127.0.0.1:PORT`), whose
    /// orders send callbacks to `notify_url`.
    pub fn new(
        base_url: &str,
        keys: MerchantKeys,
        notify_url: &str,
        clock: Arc<dyn Clock>,
    ) -> WechatPayClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        WechatPayClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            signer: keys.signer(),
            verifier: keys.platform_verifier(),
            keys,
            notify_url: notify_url.to_owned(),
            clock,
        }
    }

    /// The merchant's keys.
    pub fn keys(&self) -> &MerchantKeys {
        &self.keys
    }

    /// Creates a Native order; returns its `code_url`.
    pub async fn create_native(&self, order: &NativeOrder) -> Result<String, PaymentError> {
        let body = CreateNative {
            appid: self.keys.appid.clone(),
            mchid: self.keys.mchid.clone(),
            description: order.description.clone(),
            out_trade_no: order.out_trade_no.as_str().to_owned(),
            notify_url: self.notify_url.clone(),
            amount: OrderAmount {
                total: order.amount_fen,
                currency: "CNY".into(),
            },
            time_expire: order.time_expire.map(rfc3339_beijing),
            attach: None,
        };
        let body = serde_json::to_vec(&body).map_err(|e| PaymentError::Malformed(e.to_string()))?;
        let answer = self
            .call(Method::POST, "/v3/pay/transactions/native", body)
            .await?;
        let code: CodeUrl =
            serde_json::from_slice(&answer).map_err(|e| PaymentError::Malformed(e.to_string()))?;
        Ok(code.code_url)
    }

    /// Queries an order by the merchant's number.
    pub async fn query(&self, out_trade_no: &OutTradeNo) -> Result<Transaction, PaymentError> {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}?mchid={}",
            out_trade_no.as_str(),
            self.keys.mchid
        );
        let answer = self.call(Method::GET, &path, Vec::new()).await?;
        serde_json::from_slice(&answer).map_err(|e| PaymentError::Malformed(e.to_string()))
    }

    /// Closes an unpaid order (204).
    pub async fn close(&self, out_trade_no: &OutTradeNo) -> Result<(), PaymentError> {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}/close",
            out_trade_no.as_str()
        );
        let body = serde_json::to_vec(&CloseOrder {
            mchid: self.keys.mchid.clone(),
        })
        .map_err(|e| PaymentError::Malformed(e.to_string()))?;
        self.call(Method::POST, &path, body).await.map(drop)
    }

    /// Signs and sends one request; returns the verified body of a 2xx answer.
    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, PaymentError> {
        let now = self.clock.now().unix_timestamp();
        let auth = Authorization::sign(
            &self.signer,
            &self.keys.mchid,
            &self.keys.merchant_serial,
            method.as_str(),
            path_and_query,
            now,
            &body,
        );
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path_and_query}", self.base_url))
            .header("Authorization", auth.to_header())
            .header("Accept", "application/json")
            .header("Wechatpay-Serial", &self.keys.public_key_id);
        if method != Method::GET {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| PaymentError::Transport(e.to_string()))?;
        let status = response.status();
        let headers: HeaderMap = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Transport(e.to_string()))?
            .to_vec();
        if status.is_success() {
            verify_platform_headers(
                &headers,
                &bytes,
                &self.verifier,
                &self.keys.public_key_id,
                self.clock.now().unix_timestamp(),
            )?;
            return Ok(bytes);
        }
        let error: ErrorBody = serde_json::from_slice(&bytes).unwrap_or(ErrorBody {
            code: "UNKNOWN".into(),
            message: String::from_utf8_lossy(&bytes).into_owned(),
        });
        Err(PaymentError::Api {
            status: status.as_u16(),
            code: error.code,
            message: error.message,
        })
    }
}

impl Transaction {
    /// The parsed `trade_state`.
    pub fn state(&self) -> Result<TradeState, PaymentError> {
        TradeState::parse(&self.trade_state).ok_or_else(|| {
            PaymentError::Malformed(format!("unknown trade_state {}", self.trade_state))
        })
    }
}

#[async_trait]
impl PaymentProvider for WechatPayClient {
    async fn create(&self, request: &PaymentRequest) -> Result<PaymentStart, PaymentError> {
        let order = NativeOrder {
            description: request.description.clone(),
            out_trade_no: request.out_trade_no.clone(),
            amount_fen: request.amount_fen,
            time_expire: Some(request.expires_at),
        };
        self.create_native(&order).await.map(PaymentStart::CodeUrl)
    }

    async fn query(&self, out_trade_no: &OutTradeNo) -> Result<PaymentStatus, PaymentError> {
        let tx = WechatPayClient::query(self, out_trade_no).await?;
        Ok(PaymentStatus {
            state: tx.state()?,
            paid_fen: tx
                .amount
                .payer_total
                .filter(|_| tx.transaction_id.is_some()),
            transaction_id: tx.transaction_id,
        })
    }

    async fn close(&self, out_trade_no: &OutTradeNo) -> Result<(), PaymentError> {
        WechatPayClient::close(self, out_trade_no).await
    }
}
