//! Small helpers so a test reads like a payment: keys made once, paysim and a receiver on port 0.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use payment::sim::{RetryPolicy, SimConfig};
use payment::{CallbackReceiver, KeyPair, MemoryLedger, WechatPayClient};

/// RSA-2048 generation is slow in debug builds: once per test binary.
pub fn keys() -> &'static KeyPair {
    static KEYS: OnceLock<KeyPair> = OnceLock::new();
    KEYS.get_or_init(|| KeyPair::generate().expect("keys"))
}

/// Another, unrelated key pair (forgeries).
pub fn other_keys() -> &'static KeyPair {
    static KEYS: OnceLock<KeyPair> = OnceLock::new();
    KEYS.get_or_init(|| KeyPair::generate().expect("keys"))
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
}

/// A running paysim, a receiver recording into a ledger, and a client pointed at both.
pub struct World {
    pub sim: SocketAddr,
    pub receiver_addr: SocketAddr,
    pub receiver: Arc<CallbackReceiver>,
    pub ledger: Arc<MemoryLedger>,
    pub client: WechatPayClient,
    pub http: reqwest::Client,
}

pub async fn world() -> World {
    let retry = RetryPolicy {
        attempts: 5,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(400),
    };
    let sim = serve(payment::sim::app(SimConfig {
        keys: keys().platform.clone(),
        retry,
        clock: payment::system_clock(),
    }))
    .await;
    let ledger = Arc::new(MemoryLedger::default());
    let receiver = Arc::new(CallbackReceiver::new(
        &keys().merchant,
        payment::system_clock(),
        ledger.clone(),
    ));
    let receiver_addr = serve(receiver.clone().router("/notify")).await;
    let client = WechatPayClient::new(
        &format!("http://{sim}"),
        keys().merchant.clone(),
        &format!("http://{receiver_addr}/notify"),
        payment::system_clock(),
    );
    World {
        sim,
        receiver_addr,
        receiver,
        ledger,
        client,
        http: reqwest::Client::new(),
    }
}

impl World {
    /// The payer scans and pays through paysim's control call.
    pub async fn scan_and_pay(&self, code_url: &str, deliver_callback: bool) -> reqwest::Response {
        self.http
            .post(format!("http://{}/sim/pay", self.sim))
            .json(
                &serde_json::json!({ "code_url": code_url, "deliver_callback": deliver_callback }),
            )
            .send()
            .await
            .expect("control call")
    }

    /// Waits (at most 10 s) until the ledger holds the order's payment.
    pub async fn wait_recorded(&self, out_trade_no: &str) -> payment::wire::Transaction {
        for _ in 0..200 {
            if let Some(tx) = self.ledger.paid(out_trade_no) {
                return tx;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{out_trade_no} was never recorded");
    }

    /// paysim's delivery log.
    pub async fn deliveries(&self) -> Vec<payment::sim::Delivery> {
        self.http
            .get(format!("http://{}/sim/callbacks", self.sim))
            .send()
            .await
            .expect("callbacks")
            .json()
            .await
            .expect("json")
    }

    /// Posts a callback to the receiver; returns the HTTP status.
    pub async fn post_callback(&self, headers: axum::http::HeaderMap, body: Vec<u8>) -> u16 {
        self.http
            .post(format!("http://{}/notify", self.receiver_addr))
            .headers(headers)
            .body(body)
            .send()
            .await
            .expect("post")
            .status()
            .as_u16()
    }
}
