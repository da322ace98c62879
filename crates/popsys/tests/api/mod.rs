//! The HTTP API through the router (`oneshot`): answers, status codes and the error format
//! `{"error": "...", "field": "..."}` of docs/popsys.md.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use popsys::seed::demo;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::helpers::{seeded_sqlite, state};

/// The app on a fresh seeded database.
struct Api {
    app: axum::Router,
    _db: store::testing::TestDatabase,
}

impl Api {
    async fn new() -> Api {
        let db = seeded_sqlite().await;
        Api {
            app: popsys::app(state(&db)),
            _db: db,
        }
    }

    async fn send(
        &self,
        mut request: Request<Body>,
    ) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        // Every call as the test client, unless the test sends its own header (or none).
        if !request.headers().contains_key("authorization")
            && !request.headers().contains_key("x-no-auth")
        {
            request.headers_mut().insert(
                "authorization",
                format!("Bearer {}", crate::helpers::TOKEN).parse().unwrap(),
            );
        }
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, body.to_vec(), headers)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (status, body, _) = self
            .send(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn post(&self, uri: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let (status, body, _) = self.send(request).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

/// A client error names its field and says why.
fn assert_error(answer: &(StatusCode, Value), status: StatusCode, field: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["field"], field, "{}", answer.1);
    assert!(
        answer.1["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        answer.1
    );
}

#[tokio::test]
async fn health_answers() {
    let api = Api::new().await;
    assert_eq!(
        api.get("/health").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
}

#[tokio::test]
async fn citizen_found() {
    let api = Api::new().await;
    let (status, body) = api
        .get(&format!(
            "/v1/citizens/{}?city=320100",
            demo::RENEWAL_IN_WINDOW
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "id": "320104200012100044",
            "name": "王晓燕",
            "sex": "female",
            "nation_code": "01",
            "birth_date": "2000-12-10",
            "address": "江苏省南京市秦淮区中山南路118号阳光花园3幢2单元502室",
            "household_region": "320104",
            "status": "normal",
            "remote_area": false,
            "card": {
                "valid_from": "2016-12-20",
                "valid_until": "2026-12-20",
                "status": "valid",
                "issuing_authority": "南京市公安局秦淮分局"
            },
            "city": "320100",
            "on": "2026-11-25",
            "floating_registered": false,
            "history_photo": true,
            "application_in_progress": false
        })
    );
}

#[tokio::test]
async fn citizen_lower_case_x_and_long_term() {
    let api = Api::new().await;
    let (status, body) = api.get("/v1/citizens/32011120110601003x?city=320100").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], "32011120110601003X");
    assert_eq!(body["card"], Value::Null);
    let (_, body) = api
        .get(&format!("/v1/citizens/{}?city=320100", demo::LONG_TERM))
        .await;
    assert_eq!(body["card"]["valid_until"], "long_term");
}

#[tokio::test]
async fn floating_registration_for_the_city_and_day_asked() {
    let api = Api::new().await;
    let uri = |query: &str| format!("/v1/citizens/{}?{query}", demo::PROVINCE_REGISTERED_REMOTE);
    let (_, body) = api.get(&uri("city=320100")).await;
    assert_eq!(body["floating_registered"], true);
    assert_eq!(body["remote_area"], true);
    let (_, body) = api.get(&uri("city=320100&on=2028-01-01")).await;
    assert_eq!(body["floating_registered"], false);
    assert_eq!(body["on"], "2028-01-01");
    let (_, body) = api.get(&uri("city=320500")).await;
    assert_eq!(body["floating_registered"], false);
}

#[tokio::test]
async fn citizen_not_found() {
    let api = Api::new().await;
    let answer = api.get("/v1/citizens/11010519491231002X?city=320100").await;
    assert_error(&answer, StatusCode::NOT_FOUND, "id");
}

#[tokio::test]
async fn malformed_id_names_the_field_and_the_check() {
    let api = Api::new().await;
    let check = |number: &'static str, reason: &'static str| {
        let api = &api;
        async move {
            let answer = api.get(&format!("/v1/citizens/{number}?city=320100")).await;
            assert_error(&answer, StatusCode::BAD_REQUEST, "id");
            assert_eq!(answer.1["reason"], reason, "{number}: {}", answer.1);
        }
    };
    check("110105194912310021", "check_digit").await;
    check("320402198502290016", "birth_date").await;
    check("12345", "length").await;
    check("110105491231002", "length").await; // 15 digits: the first-generation message
    check("11010519491231002Y", "characters").await;
    check("999999194912310028", "region").await;
    let (_, body) = api.get("/v1/citizens/110105491231002?city=320100").await;
    assert!(
        body["error"].as_str().unwrap().contains("18-digit"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_query_values_name_their_field() {
    let api = Api::new().await;
    let base = format!("/v1/citizens/{}", demo::RENEWAL_IN_WINDOW);
    assert_error(&api.get(&base).await, StatusCode::BAD_REQUEST, "city");
    assert_error(
        &api.get(&format!("{base}?city=320104")).await,
        StatusCode::BAD_REQUEST,
        "city",
    );
    assert_error(
        &api.get(&format!("{base}?city=320100&on=25.11.2026")).await,
        StatusCode::BAD_REQUEST,
        "on",
    );
}

#[tokio::test]
async fn unknown_route_in_the_same_format() {
    let api = Api::new().await;
    assert_error(&api.get("/v2/nothing").await, StatusCode::NOT_FOUND, "path");
}

#[tokio::test]
async fn history_photo_on_record_without_image() {
    let api = Api::new().await;
    let (status, body, headers) = api
        .send(
            Request::get(format!(
                "/v1/citizens/{}/history-photo",
                demo::RENEWAL_IN_WINDOW
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_empty());
    assert_eq!(headers["x-photo-taken-on"], "2016-12-10");
    let answer = api
        .get(&format!(
            "/v1/citizens/{}/history-photo",
            demo::NO_HISTORY_PHOTO
        ))
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "id");
    let answer = api
        .get("/v1/citizens/110105194912310021/history-photo")
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "id");
}

#[tokio::test]
async fn history_photo_image() {
    let db = seeded_sqlite().await;
    let jpeg = b"\xff\xd8\xff\xe0 a jpeg \xff\xd9";
    db.store()
        .put_history_photo(
            &crate::helpers::id(demo::RENEWAL_IN_WINDOW),
            time::macros::date!(2016 - 12 - 10),
            jpeg,
        )
        .await
        .unwrap();
    let response = popsys::app(state(&db))
        .oneshot(
            Request::get(format!(
                "/v1/citizens/{}/history-photo",
                demo::RENEWAL_IN_WINDOW
            ))
            .header("authorization", format!("Bearer {}", crate::helpers::TOKEN))
            .body(Body::empty())
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(&body[..], &jpeg[..]);
}

#[tokio::test]
async fn receipt_redeemed_once() {
    let api = Api::new().await;
    let uri = format!("/v1/receipts/{}/redeem", demo::RECEIPT);
    let body = json!({"id_number": demo::RENEWAL_IN_WINDOW}).to_string();
    let (status, first) = api.post(&uri, &body).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["code"], demo::RECEIPT);
    assert_eq!(first["used_on"], "2026-11-25");
    assert_eq!(first["last_valid_day"], "2027-05-24");
    assert_eq!(first["photo_jpeg_base64"], Value::Null);
    let second = api.post(&uri, &body).await;
    assert_error(&second, StatusCode::CONFLICT, "code");
    assert_eq!(second.1["used_on"], "2026-11-25");
}

#[tokio::test]
async fn receipt_resolve_does_not_use_it() {
    let api = Api::new().await;
    let body = json!({"id_number": demo::RENEWAL_IN_WINDOW}).to_string();
    for _ in 0..2 {
        let (status, answer) = api
            .post(&format!("/v1/receipts/{}/resolve", demo::RECEIPT), &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["used_on"], Value::Null);
    }
}

#[tokio::test]
async fn receipt_of_another_citizen_is_not_found() {
    let api = Api::new().await;
    let uri = format!("/v1/receipts/{}/redeem", demo::RECEIPT);
    let stranger = json!({"id_number": demo::LONG_TERM}).to_string();
    assert_error(
        &api.post(&uri, &stranger).await,
        StatusCode::NOT_FOUND,
        "code",
    );
    // Still usable by its owner.
    let owner = json!({"id_number": demo::RENEWAL_IN_WINDOW}).to_string();
    assert_eq!(api.post(&uri, &owner).await.0, StatusCode::OK);
}

#[tokio::test]
async fn receipt_expired() {
    let api = Api::new().await;
    let uri = format!("/v1/receipts/{}/redeem", demo::RECEIPT_EXPIRED);
    let body = json!({"id_number": demo::NO_HISTORY_PHOTO}).to_string();
    let answer = api.post(&uri, &body).await;
    assert_error(&answer, StatusCode::GONE, "code");
    assert_eq!(answer.1["last_valid_day"], "2026-10-28");
    // On its last valid day it still works.
    let on_last_day = json!({"id_number": demo::NO_HISTORY_PHOTO, "on": "2026-10-28"}).to_string();
    assert_eq!(api.post(&uri, &on_last_day).await.0, StatusCode::OK);
}

#[tokio::test]
async fn receipt_bad_requests_name_their_field() {
    let api = Api::new().await;
    let owner = json!({"id_number": demo::RENEWAL_IN_WINDOW}).to_string();
    let check = |uri: &'static str, body: String, status, field: &'static str| {
        let api = &api;
        async move {
            let answer = api.post(uri, &body).await;
            assert_error(&answer, status, field);
        }
    };
    let redeem = "/v1/receipts/PS2026112500001/redeem";
    check(
        "/v1/receipts/PS_BAD!/redeem",
        owner.clone(),
        StatusCode::BAD_REQUEST,
        "code",
    )
    .await;
    check(
        "/v1/receipts/PS1/redeem",
        owner.clone(),
        StatusCode::BAD_REQUEST,
        "code",
    )
    .await;
    check(
        redeem,
        "{}".into(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "id_number",
    )
    .await;
    check(
        redeem,
        json!({"id_number": "110105194912310021"}).to_string(),
        StatusCode::BAD_REQUEST,
        "id_number",
    )
    .await;
    check(
        redeem,
        json!({"id_number": 320104}).to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "id_number",
    )
    .await;
    check(
        redeem,
        json!({"id_number": demo::RENEWAL_IN_WINDOW, "on": "tomorrow"}).to_string(),
        StatusCode::BAD_REQUEST,
        "on",
    )
    .await;
    check(redeem, "{not json".into(), StatusCode::BAD_REQUEST, "body").await;
    // Wrong content type.
    let (status, body, _) = api
        .send(
            Request::post(redeem)
                .header("content-type", "text/plain")
                .body(Body::from(owner.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["field"], "content-type", "{body}");
    // None of those used the receipt.
    assert_eq!(api.post(redeem, &owner).await.0, StatusCode::OK);
}

/// An internal failure says "something went wrong" with a request id, never the cause.
#[tokio::test]
async fn internal_error_hides_the_cause() {
    let db = seeded_sqlite().await;
    let app = popsys::app(state(&db));
    db.store().close().await; // every query now fails
    let response = app
        .oneshot(
            Request::get(format!(
                "/v1/citizens/{}?city=320100",
                demo::RENEWAL_IN_WINDOW
            ))
            .header("authorization", format!("Bearer {}", crate::helpers::TOKEN))
            .body(Body::empty())
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "something went wrong");
    assert!(
        body["request_id"].as_str().is_some_and(|id| id.len() == 36),
        "{body}"
    );
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
}

fn submission_body() -> Value {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    json!({
        "idempotency_key": "session-api-1",
        "application_number": "320100202611250001",
        "id_number": demo::LONG_TERM,
        "business": "damaged",
        "household": "local",
        "acceptance_unit": "南京市公安局",
        "photo_jpeg_base64": b64(b"\xFF\xD8\xFFphoto"),
        "fingers": [
            {"position": "right_index", "quality": 81, "template_base64": b64(b"FMR\0one")},
            {"position": "left_index", "quality": 77, "template_base64": b64(b"FMR\0two")}
        ],
        "signature_png_base64": b64(b"\x89PNG\r\n\x1a\nsignature"),
        "mobile": "13912345678",
        "fee_fen": 4000,
        "payment_method": "wechat",
        "payment_reference": "4200000000202611250001",
        "issue_by": "2027-01-24",
        "on": "2026-11-25"
    })
}

#[tokio::test]
async fn an_application_is_filed_once_and_shown_by_number() {
    let api = Api::new().await;
    let body = submission_body().to_string();
    let first = api.post("/v1/applications", &body).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    assert_eq!(first.1["created"], true);
    let again = api.post("/v1/applications", &body).await;
    assert_eq!(again.0, StatusCode::OK, "{}", again.1);
    assert_eq!(again.1["created"], false);
    let (status, filed) = api.get("/v1/applications/320100202611250001").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(filed["idempotency_key"], "session-api-1");
    assert_eq!(filed["fingers"][1]["position"], "left_index");
    assert_eq!(filed["photo"]["bytes"], 8);
    assert_eq!(
        filed["signature"]["sha256"].as_str().map(str::len),
        Some(64)
    );
    // Another session of the same citizen: refused with a reason code.
    let mut other = submission_body();
    other["idempotency_key"] = "session-api-2".into();
    other["application_number"] = "320100202611250002".into();
    let refused = api.post("/v1/applications", &other.to_string()).await;
    assert_eq!(refused.0, StatusCode::CONFLICT, "{}", refused.1);
    assert_eq!(refused.1["reason"], "application_in_progress");
    assert_error(
        &api.get("/v1/applications/320100202611259999").await,
        StatusCode::NOT_FOUND,
        "number",
    );
}

#[tokio::test]
async fn a_bad_submission_names_its_field_and_files_nothing() {
    let api = Api::new().await;
    let cases: &[(&str, Value, &str)] = &[
        ("id_number", json!("320106196307084568"), "id_number"),
        ("business", json!("renewal"), "business"),
        (
            "photo_jpeg_base64",
            json!("bm90IGEganBlZw=="),
            "photo_jpeg_base64",
        ),
        ("photo_jpeg_base64", json!("%%%"), "photo_jpeg_base64"),
        (
            "signature_png_base64",
            json!("bm90IGEgcG5n"),
            "signature_png_base64",
        ),
        ("mobile", json!("12345"), "mobile"),
        ("fee_fen", json!(0), "fee_fen"),
        ("payment_method", json!("cash"), "payment_method"),
        ("issue_by", json!("2027/01/24"), "issue_by"),
        ("application_number", json!("12"), "application_number"),
    ];
    for (key, value, field) in cases {
        let mut body = submission_body();
        body[*key] = value.clone();
        let answer = api.post("/v1/applications", &body.to_string()).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, field);
    }
    let mut twice = submission_body();
    twice["fingers"][1]["position"] = "right_index".into();
    assert_error(
        &api.post("/v1/applications", &twice.to_string()).await,
        StatusCode::BAD_REQUEST,
        "fingers[1].position",
    );
    let mut one = submission_body();
    one["fingers"] = json!([one["fingers"][0].clone()]);
    assert_error(
        &api.post("/v1/applications", &one.to_string()).await,
        StatusCode::BAD_REQUEST,
        "fingers",
    );
    assert_error(
        &api.get("/v1/applications/320100202611250001").await,
        StatusCode::NOT_FOUND,
        "number",
    );
}

#[tokio::test]
async fn a_card_is_reported_lost_and_the_lookup_says_so() {
    let api = Api::new().await;
    let body = json!({"application_number": "320100202611250001", "on": "2026-11-25"}).to_string();
    let (status, answer) = api
        .post(
            &format!("/v1/cards/{}/report-lost", demo::RENEWAL_IN_WINDOW),
            &body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "reported_lost");
    assert_eq!(answer["reported_lost_on"], "2026-11-25");
    let (_, citizen) = api
        .get(&format!(
            "/v1/citizens/{}?city=320100",
            demo::RENEWAL_IN_WINDOW
        ))
        .await;
    assert_eq!(citizen["card"]["status"], "reported_lost");
    assert_error(
        &api.post("/v1/cards/11010519491231002X/report-lost", &body)
            .await,
        StatusCode::NOT_FOUND,
        "id",
    );
    assert_error(
        &api.post(
            &format!("/v1/cards/{}/report-lost", demo::RENEWAL_IN_WINDOW),
            r#"{"application_number": "x"}"#,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "application_number",
    );
}

#[tokio::test]
async fn each_register_answers_for_its_own() {
    let api = Api::new().await;
    let local = |number: &str| format!("/v1/registers/local/citizens/{number}?city=320100");
    let province = |number: &str| format!("/v1/registers/province/citizens/{number}?city=320100");
    assert_eq!(
        api.get(&local(demo::RENEWAL_IN_WINDOW)).await.0,
        StatusCode::OK
    );
    assert_error(
        &api.get(&local(demo::PROVINCE_REGISTERED_REMOTE)).await,
        StatusCode::NOT_FOUND,
        "id",
    );
    assert_eq!(
        api.get(&province(demo::PROVINCE_REGISTERED_REMOTE)).await.0,
        StatusCode::OK
    );
    let (status, entry) = api
        .get(&format!(
            "/v1/registers/residence/citizens/{}?city=320100&on=2026-11-25",
            demo::PROVINCE_REGISTERED_REMOTE
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["in_force"], true);
    assert_error(
        &api.get(&format!(
            "/v1/registers/residence/citizens/{}?city=320100",
            demo::PROVINCE_NOT_REGISTERED
        ))
        .await,
        StatusCode::NOT_FOUND,
        "id",
    );
    assert_error(
        &api.get(&format!(
            "/v1/registers/local/citizens/{}",
            demo::RENEWAL_IN_WINDOW
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "city",
    );
}

// Regression (issue 14): the reference popsys API answered anyone, with no authentication.
#[tokio::test]
async fn a_call_without_a_client_token_is_refused() {
    let api = Api::new().await;
    let citizen = format!("/v1/citizens/{}?city=320100", demo::RENEWAL_IN_WINDOW);
    for authorization in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some("Basic eDp5"),
    ] {
        let request = match authorization {
            Some(value) => Request::get(&citizen).header("authorization", value),
            None => Request::get(&citizen).header("x-no-auth", "1"),
        };
        let (status, body, headers) = api.send(request.body(Body::empty()).unwrap()).await;
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert!(body.get("name").is_none(), "{body}");
        assert_error(&(status, body), StatusCode::UNAUTHORIZED, "authorization");
        assert!(
            headers.contains_key("www-authenticate"),
            "{authorization:?}"
        );
    }
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/applications")
        .header("content-type", "application/json")
        .header("x-no-auth", "1")
        .body(Body::from(submission_body().to_string()))
        .unwrap();
    assert_eq!(api.send(request).await.0, StatusCode::UNAUTHORIZED);
    // The health check stays open, and the test client's token works.
    assert_eq!(api.get("/health").await.0, StatusCode::OK);
    assert_eq!(api.get(&citizen).await.0, StatusCode::OK);
}

// Regression (issue 14): the caller chose the date with `on`, so an expired receipt was
// redeemed with a backdated `on`. A server that does not let callers choose the day refuses `on`
// and answers for its own date.
#[tokio::test]
async fn the_server_decides_the_date() {
    let db = seeded_sqlite().await;
    let mut server_state = state(&db);
    server_state.caller_dates = false;
    let api = Api {
        app: popsys::app(server_state),
        _db: db,
    };
    let expired = format!("/v1/receipts/{}/redeem", demo::RECEIPT_EXPIRED);
    let owner = json!({"id_number": demo::NO_HISTORY_PHOTO});
    let backdated = json!({"id_number": demo::NO_HISTORY_PHOTO, "on": "2026-10-01"});
    let answer = api.post(&expired, &backdated.to_string()).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "on");
    let answer = api.post(&expired, &owner.to_string()).await;
    assert_error(&answer, StatusCode::GONE, "code");
    let answer = api
        .get(&format!(
            "/v1/citizens/{}?city=320100&on=2020-01-01",
            demo::RENEWAL_IN_WINDOW
        ))
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "on");
    let (status, body) = api
        .get(&format!(
            "/v1/citizens/{}?city=320100",
            demo::RENEWAL_IN_WINDOW
        ))
        .await;
    assert_eq!(
        (status, &body["on"]),
        (StatusCode::OK, &json!("2026-11-25"))
    );
    let lost = format!("/v1/cards/{}/report-lost", demo::RENEWAL_IN_WINDOW);
    let answer = api
        .post(
            &lost,
            &json!({"application_number": "320100202611250001", "on": "2026-01-01"}).to_string(),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "on");
}

// Regression (issue 14): a wrong method had an empty body.
#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let api = Api::new().await;
    let (status, body, _) = api
        .send(
            Request::builder()
                .method(Method::DELETE)
                .uri("/health")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let body: Value = serde_json::from_slice(&body).expect("a JSON body");
    assert_error(&(status, body), StatusCode::METHOD_NOT_ALLOWED, "method");
}
