//! The behaviours of issue 7's payment tests.

use std::time::Duration;

use payment::callback::recover_by_query;
use payment::provider::PaymentStart;
use payment::sign::SignKey;
use payment::sim::build_callback;
use payment::{
    ApiV3Key, NativeOrder, OutTradeNo, PaymentError, PaymentProvider, PaymentRequest, Recorded,
    TradeState, WechatPayClient,
};
use time::OffsetDateTime;

use crate::harness::{keys, other_keys, world};

fn request(application: &str, attempt: u8) -> PaymentRequest {
    PaymentRequest {
        out_trade_no: OutTradeNo::derive(application, attempt).expect("out_trade_no"),
        amount_fen: 2000,
        description: "居民身份证工本费（到期换领）".into(),
        expires_at: OffsetDateTime::now_utc() + time::Duration::minutes(10),
    }
}

async fn create(client: &WechatPayClient, request: &PaymentRequest) -> String {
    match PaymentProvider::create(client, request)
        .await
        .expect("create")
    {
        PaymentStart::CodeUrl(url) => url,
    }
}

#[tokio::test]
async fn pay_round_trip_create_scan_callback_query() {
    let w = world().await;
    let req = request("320100-20261125-000001", 1);
    let code_url = create(&w.client, &req).await;
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{code_url}"
    );
    let status = PaymentProvider::query(&w.client, &req.out_trade_no)
        .await
        .expect("query");
    assert_eq!(status.state, TradeState::NotPay);

    assert_eq!(w.scan_and_pay(&code_url, true).await.status().as_u16(), 200);
    let recorded = w.wait_recorded(req.out_trade_no.as_str()).await;
    assert_eq!(recorded.trade_state, "SUCCESS");
    assert_eq!(recorded.amount.total, 2000);

    let status = PaymentProvider::query(&w.client, &req.out_trade_no)
        .await
        .expect("query");
    assert_eq!(status.state, TradeState::Success);
    assert_eq!(status.transaction_id, recorded.transaction_id);
    assert_eq!(status.paid_fen, Some(2000));
    assert_eq!(w.ledger.len(), 1);
}

/// A retried create (same application, same attempt) finds the same order: no second charge.
#[tokio::test]
async fn retried_create_returns_the_same_order() {
    let w = world().await;
    let req = request("320100-20261125-000002", 1);
    let first = create(&w.client, &req).await;
    assert_eq!(create(&w.client, &req).await, first);
    let different = PaymentRequest {
        amount_fen: 4000,
        ..req.clone()
    };
    let err = PaymentProvider::create(&w.client, &different)
        .await
        .expect_err("same number, other amount");
    assert!(
        matches!(err, PaymentError::Api { status: 400, ref code, .. } if code == "INVALID_REQUEST"),
        "{err}"
    );
    w.scan_and_pay(&first, false).await;
    let err = PaymentProvider::create(&w.client, &req)
        .await
        .expect_err("paid");
    assert!(
        matches!(err, PaymentError::Api { ref code, .. } if code == "ORDERPAID"),
        "{err}"
    );
}

fn paid_transaction(out_trade_no: &str) -> payment::wire::Transaction {
    payment::wire::Transaction {
        appid: keys().merchant.appid.clone(),
        mchid: keys().merchant.mchid.clone(),
        out_trade_no: out_trade_no.into(),
        transaction_id: Some("4200000000000000000000000001".into()),
        trade_type: Some("NATIVE".into()),
        trade_state: "SUCCESS".into(),
        trade_state_desc: "支付成功".into(),
        bank_type: Some("OTHERS".into()),
        attach: None,
        success_time: Some("2026-11-25T10:31:07+08:00".into()),
        payer: Some(payment::wire::Payer {
            openid: "oTest".into(),
        }),
        amount: payment::wire::TransactionAmount {
            total: 2000,
            payer_total: Some(2000),
            currency: "CNY".into(),
            payer_currency: Some("CNY".into()),
        },
    }
}

#[tokio::test]
async fn forged_callbacks_are_rejected_and_change_nothing() {
    let w = world().await;
    let platform = keys().platform.signer();
    let key_id = &keys().platform.public_key_id;
    let apiv3 = &keys().platform.apiv3_key;
    let tx = paid_transaction("IDKFORGED01A1");
    let now = OffsetDateTime::now_utc();

    // Signed by another key under our key id.
    let forger = SignKey::new(other_keys().platform.platform_key.clone());
    let (headers, body) = build_callback(&tx, apiv3, &forger, key_id, now).expect("callback");
    assert_eq!(w.post_callback(headers, body).await, 401, "bad signature");

    // Genuinely signed, but 301 s old.
    let (headers, body) = build_callback(
        &tx,
        apiv3,
        &platform,
        key_id,
        now - time::Duration::seconds(301),
    )
    .expect("callback");
    assert_eq!(w.post_callback(headers, body).await, 401, "stale timestamp");

    // Genuinely signed, encrypted under another APIv3 key.
    let (headers, body) =
        build_callback(&tx, &ApiV3Key::generate(), &platform, key_id, now).expect("callback");
    assert_eq!(w.post_callback(headers, body).await, 400, "wrong APIv3 key");

    // Genuinely signed, then the body altered.
    let (headers, body) = build_callback(&tx, apiv3, &platform, key_id, now).expect("callback");
    let mut tampered = body.clone();
    let at = tampered
        .iter()
        .position(|b| *b == b'S')
        .expect("a letter to flip");
    tampered[at] = b'T';
    assert_eq!(
        w.post_callback(headers, tampered).await,
        401,
        "tampered body"
    );
    assert!(w.ledger.is_empty(), "a forgery recorded nothing");

    // The genuine article is accepted, so the refusals above are about the forgery.
    let (headers, body) = build_callback(&tx, apiv3, &platform, key_id, now).expect("callback");
    assert_eq!(w.post_callback(headers, body).await, 204);
    assert_eq!(w.ledger.len(), 1);
}

#[tokio::test]
async fn duplicate_callbacks_are_idempotent() {
    let w = world().await;
    let req = request("320100-20261125-000003", 1);
    let code_url = create(&w.client, &req).await;
    w.scan_and_pay(&code_url, true).await;
    w.wait_recorded(req.out_trade_no.as_str()).await;

    let redeliver = w
        .http
        .post(format!("http://{}/sim/redeliver", w.sim))
        .json(&serde_json::json!({ "out_trade_no": req.out_trade_no.as_str() }))
        .send()
        .await
        .expect("redeliver");
    assert_eq!(redeliver.status().as_u16(), 202);
    for _ in 0..100 {
        if w.deliveries().await.iter().filter(|d| d.delivered).count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        w.deliveries().await.iter().filter(|d| d.delivered).count(),
        2,
        "both deliveries answered 204"
    );
    assert_eq!(w.ledger.len(), 1, "recorded once");

    // The same delivery handled twice directly: New then Duplicate.
    let tx = paid_transaction("IDKDUPLICATE1A1");
    let (headers, body) = build_callback(
        &tx,
        &keys().platform.apiv3_key,
        &keys().platform.signer(),
        &keys().platform.public_key_id,
        OffsetDateTime::now_utc(),
    )
    .expect("callback");
    assert_eq!(
        w.receiver.handle(&headers, &body).await.expect("first"),
        Recorded::New
    );
    assert_eq!(
        w.receiver.handle(&headers, &body).await.expect("again"),
        Recorded::Duplicate
    );
}

#[tokio::test]
async fn expiry_closes_the_order() {
    let w = world().await;
    let mut req = request("320100-20261125-000004", 1);
    // time_expire has whole seconds: two seconds from the next whole second.
    let now = OffsetDateTime::now_utc();
    req.expires_at = now.replace_nanosecond(0).expect("ns") + time::Duration::seconds(2);
    let code_url = create(&w.client, &req).await;
    assert_eq!(
        PaymentProvider::query(&w.client, &req.out_trade_no)
            .await
            .expect("query")
            .state,
        TradeState::NotPay
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        PaymentProvider::query(&w.client, &req.out_trade_no)
            .await
            .expect("query")
            .state,
        TradeState::Closed
    );
    let paid = w.scan_and_pay(&code_url, true).await;
    assert_eq!(
        paid.status().as_u16(),
        409,
        "an expired order cannot be paid"
    );
    assert!(w.ledger.is_empty());
}

/// A crash between "paid" and "recorded": the callback is lost; a query finds and records it, once.
#[tokio::test]
async fn lost_callback_recovers_by_query() {
    let w = world().await;
    let req = request("320100-20261125-000005", 1);
    let code_url = create(&w.client, &req).await;
    assert_eq!(
        w.scan_and_pay(&code_url, false).await.status().as_u16(),
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(w.ledger.is_empty(), "no callback was sent");

    let (state, recorded) = recover_by_query(&w.client, w.ledger.as_ref(), &req.out_trade_no)
        .await
        .expect("recover");
    assert_eq!(
        (state, recorded),
        (TradeState::Success, Some(Recorded::New))
    );
    let (_, again) = recover_by_query(&w.client, w.ledger.as_ref(), &req.out_trade_no)
        .await
        .expect("recover");
    assert_eq!(again, Some(Recorded::Duplicate));
    assert_eq!(w.ledger.len(), 1);
}

#[tokio::test]
async fn close_then_query_closed_and_paid_orders_cannot_close() {
    let w = world().await;
    let req = request("320100-20261125-000006", 1);
    create(&w.client, &req).await;
    PaymentProvider::close(&w.client, &req.out_trade_no)
        .await
        .expect("close answers a verified 204");
    assert_eq!(
        PaymentProvider::query(&w.client, &req.out_trade_no)
            .await
            .expect("query")
            .state,
        TradeState::Closed
    );

    let req = request("320100-20261125-000006", 2);
    let code_url = create(&w.client, &req).await;
    w.scan_and_pay(&code_url, false).await;
    let err = PaymentProvider::close(&w.client, &req.out_trade_no)
        .await
        .expect_err("paid");
    assert!(
        matches!(err, PaymentError::Api { ref code, .. } if code == "ORDERPAID"),
        "{err}"
    );
    let missing = OutTradeNo::parse("IDKNOSUCHORDER").expect("number");
    let err = w.client.query(&missing).await.expect_err("missing");
    assert!(
        matches!(err, PaymentError::Api { status: 404, ref code, .. } if code == "ORDER_NOT_EXIST"),
        "{err}"
    );
}

#[tokio::test]
async fn requests_and_answers_are_authenticated_both_ways() {
    let w = world().await;
    // A merchant key paysim does not know: refused before anything happens.
    let mut forged_keys = keys().merchant.clone();
    forged_keys.merchant_key = other_keys().merchant.merchant_key.clone();
    let forger = WechatPayClient::new(
        &format!("http://{}", w.sim),
        forged_keys,
        "http://127.0.0.1:9/notify",
        payment::system_clock(),
    );
    let order = NativeOrder {
        description: "x".into(),
        out_trade_no: OutTradeNo::parse("IDKFORGEDREQ1").expect("n"),
        amount_fen: 2000,
        time_expire: None,
    };
    let err = forger
        .create_native(&order)
        .await
        .expect_err("forged request");
    assert!(
        matches!(err, PaymentError::Api { status: 401, ref code, .. } if code == "SIGN_ERROR"),
        "{err}"
    );

    // A client that trusts another platform key does not believe paysim's answers.
    let mut wrong_platform = keys().merchant.clone();
    wrong_platform.platform_public_key = other_keys().merchant.platform_public_key.clone();
    let doubter = WechatPayClient::new(
        &format!("http://{}", w.sim),
        wrong_platform,
        "http://127.0.0.1:9/notify",
        payment::system_clock(),
    );
    let err = doubter
        .create_native(&order)
        .await
        .expect_err("answer not verified");
    assert!(matches!(err, PaymentError::Signature), "{err}");
}

/// The receiver refuses the first two deliveries; paysim retries until it is answered 204.
#[tokio::test]
async fn callbacks_are_retried_until_answered() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    let w = world().await;
    let failures = Arc::new(AtomicU32::new(0));
    let receiver = w.receiver.clone();
    let counter = failures.clone();
    let flaky = axum::Router::new().route(
        "/flaky",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let receiver = receiver.clone();
                let counter = counter.clone();
                async move {
                    if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    match receiver.handle(&headers, &body).await {
                        Ok(_) => axum::http::StatusCode::NO_CONTENT,
                        Err(_) => axum::http::StatusCode::BAD_REQUEST,
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, flaky).await.expect("serve") });
    let client = WechatPayClient::new(
        &format!("http://{}", w.sim),
        keys().merchant.clone(),
        &format!("http://{addr}/flaky"),
        payment::system_clock(),
    );

    let req = request("320100-20261125-000007", 1);
    let code_url = create(&client, &req).await;
    w.scan_and_pay(&code_url, true).await;
    w.wait_recorded(req.out_trade_no.as_str()).await;
    let delivery = w
        .deliveries()
        .await
        .into_iter()
        .find(|d| d.out_trade_no == req.out_trade_no.as_str())
        .expect("delivery");
    assert_eq!(
        (delivery.attempts, delivery.delivered),
        (3, true),
        "{delivery:?}"
    );
}
