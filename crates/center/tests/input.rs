//! Issue 14, item 9: input limits and checks at the center's edge, JSON for unknown routes and
//! methods, the browser-hardening headers on every page, the fleet configuration's ranges and
//! audit, and the reconciliation for operators only.

use serde_json::{json, Value};

use crate::support::{KIOSK, OPERATOR_TOKEN, SECRET};
use crate::world::{new_session, world, World};

async fn call(
    world: &World,
    method: reqwest::Method,
    path: &str,
    auth: Option<String>,
    body: Option<String>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = world
        .http
        .request(method, format!("http://{}{path}", world.center));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request
            .header("x-kiosk-id", KIOSK)
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request.send().await.expect("the center answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn kiosk() -> Option<String> {
    Some(format!("Bearer {SECRET}"))
}

fn operator() -> Option<String> {
    Some(format!("Bearer {OPERATOR_TOKEN}"))
}

// Regression (issue 14): JSON bodies up to 2 MiB were accepted (64 KiB documented), and the
// refusal said 400, not 413.
#[tokio::test]
async fn a_json_body_over_64_kib_is_a_413() {
    let world = world().await;
    let padding = "x".repeat(100 * 1024);
    let body = json!({"business": "lost", "household": "local", "id": padding}).to_string();
    let (status, _, answer) = call(
        &world,
        reqwest::Method::POST,
        "/v1/scope",
        kiosk(),
        Some(body),
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["quota"], "json_body", "{answer}");
    assert_eq!(answer["limit"], 65_536, "{answer}");
    world.finish().await;
}

// Regression (issue 14): `step` 0 or 250, unknown fields and a repeated finger were stored.
#[tokio::test]
async fn out_of_range_steps_unknown_fields_and_a_repeated_finger_are_refused() {
    let world = world().await;
    let sid = new_session();
    let end = format!("/v1/sessions/{}/end", sid.as_str());
    for (body, status, field) in [
        (
            r#"{"outcome":"referred","step":0,"reason":"face_mismatch"}"#,
            422,
            "step",
        ),
        (
            r#"{"outcome":"referred","step":250,"reason":"face_mismatch"}"#,
            422,
            "step",
        ),
        (
            r#"{"outcome":"completed","payment":"wechat","extra":1}"#,
            400,
            "",
        ),
    ] {
        let (got, _, answer) = call(
            &world,
            reqwest::Method::POST,
            &end,
            kiosk(),
            Some(body.into()),
        )
        .await;
        assert_eq!(got, status, "{body}: {answer}");
        if !field.is_empty() {
            assert_eq!(answer["field"], field, "{answer}");
        }
    }
    assert_eq!(
        world.store().session_outcome(sid.as_str()).await.unwrap(),
        None,
        "nothing was stored"
    );
    let application = json!({"business": "expiry_renewal", "household": "local",
        "id": popsys::seed::demo::RENEWAL_IN_WINDOW, "receipt": popsys::seed::demo::RECEIPT,
        "mobile": "13912345678", "fee_cny": 20, "validity": "10_years", "issue_by": "2027-01-24",
        "fingers": [{"position": "right_index", "quality": 80},
                    {"position": "right_index", "quality": 80}]});
    let (status, _, answer) = call(
        &world,
        reqwest::Method::POST,
        &format!("/v1/sessions/{}/application", sid.as_str()),
        kiosk(),
        Some(application.to_string()),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["field"], "fingers[1].position", "{answer}");
    world.finish().await;
}

// Regression (issue 14): 404 and 405 had empty bodies.
#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let world = world().await;
    let (status, _, answer) = call(&world, reqwest::Method::GET, "/v1/nope", None, None).await;
    assert_eq!(
        (status, &answer["field"]),
        (404, &json!("path")),
        "{answer}"
    );
    let (status, _, answer) =
        call(&world, reqwest::Method::DELETE, "/v1/scope", kiosk(), None).await;
    assert_eq!(
        (status, &answer["field"]),
        (405, &json!("method")),
        "{answer}"
    );
    world.finish().await;
}

// Regression (issue 14): no CSP or X-Frame-Options on the staff console and the fleet view.
#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let world = world().await;
    for (path, auth) in [
        ("/staff/login", None),
        ("/fleet", operator()),
        ("/health", None),
    ] {
        let (status, headers, _) = call(&world, reqwest::Method::GET, path, auth, None).await;
        assert!(status < 400, "{path}: {status}");
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    world.finish().await;
}

fn config(certified: f64, live: f64) -> String {
    json!({"thresholds": {"face_certified": certified, "face_live": live, "fingerprint_quality": 40},
           "timeouts": {"idle_s": 60, "step_s": 120, "payment_s": 600},
           "fees": {"expiry_renewal_cny": 20, "lost_cny": 40, "damaged_cny": 40},
           "payment_methods": ["wechat", "unionpay"]})
    .to_string()
}

// Regression (issue 14): the fleet configuration accepted face thresholds 0 and 1 and was not
// audited.
#[tokio::test]
async fn fleet_config_thresholds_are_bounded_and_every_change_is_audited() {
    let world = world().await;
    let put = |body: String| {
        call(
            &world,
            reqwest::Method::PUT,
            "/v1/fleet/config",
            operator(),
            Some(body),
        )
    };
    for (certified, live, field) in [
        (0.0, 60.0, "thresholds.face_certified"),
        (1.0, 60.0, "thresholds.face_certified"),
        (100.0, 60.0, "thresholds.face_certified"),
        (95.0, 0.0, "thresholds.face_live"),
        (95.0, 1.0, "thresholds.face_live"),
        (95.0, 99.5, "thresholds.face_live"),
    ] {
        let (status, _, answer) = put(config(certified, live)).await;
        assert_eq!(
            (status, &answer["field"]),
            (422, &json!(field)),
            "{certified}/{live}: {answer}"
        );
    }
    assert!(world.store().latest_fleet_config().await.unwrap().is_none());
    let (status, _, answer) = put(config(96.0, 62.0)).await;
    assert_eq!(status, 201, "{answer}");
    let audit = world.store().latest_audit_entries(10).await.unwrap();
    let change = audit
        .iter()
        .find(|entry| entry.action == "fleet_config_change")
        .expect("the change is in the audit chain");
    assert_eq!(change.actor, "operator");
    assert!(change.detail.contains("96"), "{}", change.detail);
    world.finish().await;
}

// Regression (issue 14): any kiosk read the fleet-wide reconciliation.
#[tokio::test]
async fn the_reconciliation_is_for_operators_not_kiosks() {
    let world = world().await;
    let path = "/v1/reconciliation?date=2026-11-25";
    let response = world
        .http
        .get(format!("http://{}{path}", world.center))
        .header("x-kiosk-id", KIOSK)
        .header("authorization", format!("Bearer {SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let (status, _, answer) = call(&world, reqwest::Method::GET, path, operator(), None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["date"], "2026-11-25");
    world.finish().await;
}
