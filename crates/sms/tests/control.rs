//! The simulator's HTTP control API: the message list and the fault switch.

use serde_json::{json, Value};
use sms::SmsGateway;

use crate::{config, gateway, smsc, MOBILE, NOTICE};

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => panic!("control API: {e}"),
    };
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn messages_are_listed_and_cleared() {
    let sim = smsc().await;
    let base = sim.control_url();
    let gw = gateway(config(&sim, "secret"));
    assert!(gw.send(MOBILE, NOTICE).await.is_ok());
    let (status, body) = call(reqwest::Method::GET, format!("{base}/sim/messages"), None).await;
    assert_eq!(status, 200);
    let Some([message]) = body.as_array().map(Vec::as_slice) else {
        panic!("{body}");
    };
    assert_eq!(message["to"], MOBILE);
    assert_eq!(message["from"], "10690001");
    assert_eq!(message["text"], NOTICE);
    assert_eq!(message["parts"], 2);
    assert_eq!(message["message_ids"].as_array().map(Vec::len), Some(2));
    assert_eq!(message["message_id"], message["message_ids"][0]);
    assert!(
        message["received_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{message}"
    );
    let (status, body) = call(
        reqwest::Method::DELETE,
        format!("{base}/sim/messages"),
        None,
    )
    .await;
    assert_eq!((status, body), (200, json!([])));
    assert!(sim.messages().is_empty());
}

#[tokio::test]
async fn faults_are_switched_over_http() {
    let sim = smsc().await;
    let url = format!("{}/sim/faults", sim.control_url());
    let (status, body) = call(
        reqwest::Method::POST,
        url.clone(),
        Some(json!({"refuse_next": 2, "status": "0x14"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"refuse_next": 2, "status": "0x00000014", "disconnect_next": 0, "delay_ms": 0, "down": false})
    );
    let (_, body) = call(
        reqwest::Method::POST,
        url.clone(),
        Some(json!({"disconnect_next": 1, "delay_ms": 5, "down": true, "status": 88})),
    )
    .await;
    assert_eq!(
        body,
        json!({"refuse_next": 2, "status": "0x00000058", "disconnect_next": 1, "delay_ms": 5, "down": true})
    );
    let (status, body) = call(reqwest::Method::DELETE, url.clone(), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"refuse_next": 0, "status": "0x00000058", "disconnect_next": 0, "delay_ms": 0, "down": false})
    );
}

#[tokio::test]
async fn bad_fault_requests_say_what_is_wrong() {
    let sim = smsc().await;
    let url = format!("{}/sim/faults", sim.control_url());
    let check = |body: Value, needle: &'static str| {
        let url = url.clone();
        async move {
            let (status, answer) = call(reqwest::Method::POST, url, Some(body.clone())).await;
            assert_eq!(status, 400, "{body}");
            let error = answer["error"].as_str().unwrap_or_default().to_owned();
            assert!(error.contains(needle), "{body}: {error}");
        }
    };
    check(json!({"status": "ESME_RNOPE"}), "status").await;
    check(json!({"status": "0x00"}), "ESME_ROK").await;
    check(json!({"refuse": 1}), "unknown field").await;
    check(json!({"delay_ms": -1}), "delay_ms").await;
}
