//! Payment callbacks (支付通知): verify the platform's signature on the raw body and the
//! timestamp window, decrypt the resource under the APIv3 key, and record the payment once per
//! transaction id, whatever the number of deliveries. A forged or stale callback is refused and
//! changes nothing; a lost one is recovered by querying ([`recover_by_query`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use crate::aead::ApiV3Key;
use crate::client::WechatPayClient;
use crate::keys::MerchantKeys;
use crate::provider::{OutTradeNo, TradeState};
use crate::sign::{verify_platform_headers, VerifyKey};
use crate::wire::{ErrorBody, Notification, Transaction};
use crate::{Clock, PaymentError};

/// Checks and opens callbacks for one merchant.
#[derive(Clone)]
pub struct CallbackVerifier {
    platform: VerifyKey,
    public_key_id: String,
    apiv3_key: ApiV3Key,
    clock: Arc<dyn Clock>,
}

impl CallbackVerifier {
    /// A verifier with the merchant's platform key and APIv3 key.
    pub fn new(keys: &MerchantKeys, clock: Arc<dyn Clock>) -> CallbackVerifier {
        CallbackVerifier {
            platform: keys.platform_verifier(),
            public_key_id: keys.public_key_id.clone(),
            apiv3_key: keys.apiv3_key.clone(),
            clock,
        }
    }

    /// Verifies the headers against the raw `body`, then decrypts the transaction.
    pub fn open(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(Notification, Transaction), PaymentError> {
        verify_platform_headers(
            headers,
            body,
            &self.platform,
            &self.public_key_id,
            self.clock.now().unix_timestamp(),
        )?;
        let notification: Notification = serde_json::from_slice(body)
            .map_err(|e| PaymentError::Malformed(format!("callback: {e}")))?;
        let resource = &notification.resource;
        if notification.resource_type != "encrypt-resource"
            || resource.algorithm != "AEAD_AES_256_GCM"
        {
            return Err(PaymentError::Malformed(
                "callback resource must be AEAD_AES_256_GCM".into(),
            ));
        }
        let plain = self.apiv3_key.decrypt(
            &resource.nonce,
            &resource.associated_data,
            &resource.ciphertext,
        )?;
        let transaction: Transaction = serde_json::from_slice(&plain)
            .map_err(|e| PaymentError::Malformed(format!("transaction: {e}")))?;
        Ok((notification, transaction))
    }
}

/// Whether recording changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First time this transaction was seen.
    New,
    /// Already recorded (a duplicate callback, or callback and query both arrived).
    Duplicate,
}

/// Where paid transactions are recorded: the center's database in production.
#[async_trait]
pub trait PaymentLedger: Send + Sync {
    /// Records a paid transaction, idempotently by transaction id.
    async fn record_paid(&self, transaction: &Transaction) -> Result<Recorded, PaymentError>;
}

/// An in-memory ledger (tests, paysim's demo receiver).
#[derive(Debug, Default)]
pub struct MemoryLedger {
    paid: Mutex<HashMap<String, Transaction>>,
}

impl MemoryLedger {
    /// The recorded transaction of an order, if paid.
    pub fn paid(&self, out_trade_no: &str) -> Option<Transaction> {
        self.lock()
            .values()
            .find(|t| t.out_trade_no == out_trade_no)
            .cloned()
    }

    /// How many transactions are recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Transaction>> {
        self.paid.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl PaymentLedger for MemoryLedger {
    async fn record_paid(&self, transaction: &Transaction) -> Result<Recorded, PaymentError> {
        let id = transaction.transaction_id.clone().ok_or_else(|| {
            PaymentError::Malformed("a paid transaction has a transaction_id".into())
        })?;
        let mut paid = self.lock();
        if paid.contains_key(&id) {
            return Ok(Recorded::Duplicate);
        }
        paid.insert(id, transaction.clone());
        Ok(Recorded::New)
    }
}

/// Receives callbacks: verify, decrypt, check it belongs to us, record.
#[derive(Clone)]
pub struct CallbackReceiver {
    verifier: CallbackVerifier,
    mchid: String,
    ledger: Arc<dyn PaymentLedger>,
}

impl CallbackReceiver {
    /// A receiver for `keys`' merchant recording into `ledger`.
    pub fn new(
        keys: &MerchantKeys,
        clock: Arc<dyn Clock>,
        ledger: Arc<dyn PaymentLedger>,
    ) -> CallbackReceiver {
        CallbackReceiver {
            verifier: CallbackVerifier::new(keys, clock),
            mchid: keys.mchid.clone(),
            ledger,
        }
    }

    /// Handles one delivery. Anything but `Ok` must be answered with an error status so the
    /// platform retries (or, for a forgery, so nothing is believed).
    pub async fn handle(&self, headers: &HeaderMap, body: &[u8]) -> Result<Recorded, PaymentError> {
        let (notification, transaction) = self.verifier.open(headers, body)?;
        if transaction.mchid != self.mchid {
            return Err(PaymentError::Malformed(
                "callback for another merchant".into(),
            ));
        }
        if notification.event_type != "TRANSACTION.SUCCESS"
            || transaction.state()? != TradeState::Success
        {
            // Only successes are sent for Native payments; anything else is acknowledged unrecorded.
            return Ok(Recorded::Duplicate);
        }
        self.ledger.record_paid(&transaction).await
    }

    /// An axum router answering `POST {path}`: 204 when recorded (or already), 401 for a bad
    /// signature or timestamp, 400 for a malformed callback, 500 when the ledger failed.
    pub fn router(self: Arc<Self>, path: &str) -> Router {
        Router::new().route(path, post(receive)).with_state(self)
    }
}

async fn receive(
    State(receiver): State<Arc<CallbackReceiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match receiver.handle(&headers, &body).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => {
            let status = match err {
                PaymentError::Signature
                | PaymentError::StaleTimestamp { .. }
                | PaymentError::WrongSerial { .. }
                | PaymentError::MissingHeader(_)
                | PaymentError::Authorization(_) => StatusCode::UNAUTHORIZED,
                PaymentError::Decrypt | PaymentError::Malformed(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            tracing::warn!(error = %err, "payment callback refused");
            (
                status,
                Json(ErrorBody {
                    code: "FAIL".into(),
                    message: err.to_string(),
                }),
            )
                .into_response()
        }
    }
}

/// After a crash between "paid" and "recorded" (or a callback that never came): asks the
/// platform and records a success exactly as a callback would have. Returns the state found and,
/// for a success, whether it was newly recorded.
pub async fn recover_by_query(
    client: &WechatPayClient,
    ledger: &dyn PaymentLedger,
    out_trade_no: &OutTradeNo,
) -> Result<(TradeState, Option<Recorded>), PaymentError> {
    let transaction = client.query(out_trade_no).await?;
    let state = transaction.state()?;
    if state == TradeState::Success {
        return Ok((state, Some(ledger.record_paid(&transaction).await?)));
    }
    Ok((state, None))
}
