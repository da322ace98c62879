//! Photo studio uploads (`POST /v1/studios/{studio}/receipts`, `popsys::studio`): a studio with
//! its secret gets a new receipt code for a known citizen's JPEG, which the kiosk path can then
//! resolve and redeem; every refusal names its field, and a refusal stores nothing.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use popsys::seed::demo;
use popsys::studio::{register_studio, IfRegistered, Registered, StudioClient, StudioDesk};
use serde_json::{json, Value};
use store::testing::TestDatabase;
use tower::ServiceExt;

use crate::helpers::{code, id, seeded_sqlite, state, TODAY};

const STUDIO: &str = "S001";
const SECRET: &str = "5f1c0a9e3b7d42c8a6e0f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6";

/// A plain grey JPEG of `width` × `height`.
fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(
            &vec![180u8; usize::from(width) * usize::from(height) * 3],
            width,
            height,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("encoding a test JPEG");
    out
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The app with studio uploads on a seeded database holding the studio `S001`.
struct Studio {
    app: axum::Router,
    db: TestDatabase,
}

impl Studio {
    async fn new() -> Studio {
        let db = seeded_sqlite().await;
        let registered = register_studio(
            db.store(),
            STUDIO,
            "南京新街口照相馆",
            SECRET,
            IfRegistered::Refuse,
        )
        .await
        .expect("studio registered");
        assert_eq!(registered, Registered::Added);
        let app = StudioDesk::new(db.store().clone()).attach(popsys::app(state(&db)));
        Studio { app, db }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            headers,
        )
    }

    /// `POST /v1/studios/{studio}/receipts` with `authorization` (if any) and a JSON body.
    async fn upload_as(
        &self,
        studio: &str,
        authorization: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/studios/{studio}/receipts"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    async fn upload(&self, body: &Value) -> (StatusCode, Value) {
        let (status, body, _) = self
            .upload_as(STUDIO, Some(&format!("Bearer {SECRET}")), body)
            .await;
        (status, body)
    }

    /// A POST as the population system's client (the kiosk's center).
    async fn post(&self, uri: &str, body: &Value) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", crate::helpers::TOKEN),
            )
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, body, _) = self.send(request).await;
        (status, body)
    }

    /// Receipts in the database: a refusal must leave this unchanged.
    async fn receipt_count(&self) -> u64 {
        self.db.store().count_photo_receipts().await.expect("count")
    }
}

fn good_body(citizen: &str) -> Value {
    json!({"id_number": citizen, "photo_jpeg_base64": b64(&jpeg(358, 441))})
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
async fn upload_makes_a_receipt_the_kiosk_can_use_once() {
    let studio = Studio::new().await;
    let photo = jpeg(358, 441);
    let (status, made) = studio
        .upload(&json!({"id_number": demo::PROVINCE_REGISTERED_REMOTE, "photo_jpeg_base64": b64(&photo)}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let code_text = made["code"].as_str().expect("a code").to_owned();
    assert_eq!(code_text.len(), 18, "{made}");
    assert!(code_text.starts_with("PS20261125"), "{made}");
    assert_eq!(
        made,
        json!({
            "code": code_text,
            "id_number": demo::PROVINCE_REGISTERED_REMOTE,
            "studio": STUDIO,
            "created_on": "2026-11-25",
            "last_valid_day": "2027-05-24",
        })
    );

    // The kiosk's path: resolve shows the studio's photo, redeem uses it, once.
    let who = json!({"id_number": demo::PROVINCE_REGISTERED_REMOTE});
    let (status, resolved) = studio
        .post(&format!("/v1/receipts/{code_text}/resolve"), &who)
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["photo_jpeg_base64"], b64(&photo));
    assert_eq!(resolved["used_on"], Value::Null);
    let (status, _) = studio
        .post(&format!("/v1/receipts/{code_text}/redeem"), &who)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = studio
        .post(&format!("/v1/receipts/{code_text}/redeem"), &who)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Someone else's number: not found, naming why.
    let (status, body) = studio
        .post(
            &format!("/v1/receipts/{code_text}/resolve"),
            &json!({"id_number": demo::RENEWAL_IN_WINDOW}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["reason"], "other_person", "{body}");

    let recorded = studio
        .db
        .store()
        .receipt_studio(&code(&code_text))
        .await
        .unwrap();
    assert_eq!(recorded.as_deref(), Some(STUDIO));
}

#[tokio::test]
async fn every_visit_makes_a_new_receipt() {
    let studio = Studio::new().await;
    let mut codes = std::collections::BTreeSet::new();
    for _ in 0..5 {
        let (status, made) = studio.upload(&good_body(demo::RENEWAL_IN_WINDOW)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        codes.insert(made["code"].as_str().unwrap().to_owned());
    }
    assert_eq!(codes.len(), 5, "{codes:?}");
    for text in &codes {
        let outcome = studio
            .db
            .store()
            .redeem_receipt(&code(text), &id(demo::RENEWAL_IN_WINDOW), TODAY)
            .await
            .unwrap();
        assert!(
            matches!(outcome, store::RedeemOutcome::Redeemed(_)),
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn the_day_made_can_be_given() {
    let studio = Studio::new().await;
    let mut body = good_body(demo::RENEWAL_IN_WINDOW);
    body["on"] = json!("2026-06-01");
    let (status, made) = studio.upload(&body).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["created_on"], "2026-06-01");
    assert_eq!(made["last_valid_day"], "2026-11-28");
    body["on"] = json!("1 June");
    assert_error(&studio.upload(&body).await, StatusCode::BAD_REQUEST, "on");
}

#[tokio::test]
async fn wrong_secret_and_unknown_studio_answer_the_same_401() {
    let studio = Studio::new().await;
    let before = studio.receipt_count().await;
    let body = good_body(demo::RENEWAL_IN_WINDOW);
    let wrong = "Bearer 0000000000000000000000000000000000000000000000000000000000000000";
    let (status, wrong_secret, headers) = studio.upload_as(STUDIO, Some(wrong), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong_secret}");
    assert_eq!(wrong_secret["field"], "authorization");
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    let (status, unknown_studio, _) = studio
        .upload_as("S999", Some(&format!("Bearer {SECRET}")), &body)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_studio, wrong_secret, "the answer says nothing more");
    // Not a studio id at all: the same.
    let (status, malformed, _) = studio
        .upload_as("S%20001", Some(&format!("Bearer {SECRET}")), &body)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(malformed, wrong_secret);

    let (status, none, _) = studio.upload_as(STUDIO, None, &body).await;
    assert_error(&(status, none), StatusCode::UNAUTHORIZED, "authorization");
    let (status, basic, _) = studio
        .upload_as(STUDIO, Some(&format!("Basic {SECRET}")), &body)
        .await;
    assert_error(&(status, basic), StatusCode::UNAUTHORIZED, "authorization");
    assert_eq!(studio.receipt_count().await, before, "nothing stored");
}

#[tokio::test]
async fn a_replaced_secret_stops_working() {
    let studio = Studio::new().await;
    let replaced = register_studio(
        studio.db.store(),
        STUDIO,
        "",
        "a-new-secret",
        IfRegistered::ReplaceSecret,
    )
    .await
    .unwrap();
    assert_eq!(replaced, Registered::SecretReplaced);
    let (status, _) = studio.upload(&good_body(demo::RENEWAL_IN_WINDOW)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = studio
        .upload_as(
            STUDIO,
            Some("Bearer a-new-secret"),
            &good_body(demo::RENEWAL_IN_WINDOW),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let again = register_studio(studio.db.store(), STUDIO, "", "x", IfRegistered::Refuse).await;
    assert!(
        matches!(again, Err(popsys::studio::RegisterError::Exists(_))),
        "{again:?}"
    );
}

#[tokio::test]
async fn unknown_citizen_is_404_naming_id_number() {
    let studio = Studio::new().await;
    let before = studio.receipt_count().await;
    // A valid number the register does not hold.
    let answer = studio.upload(&good_body("110101199003070011")).await;
    assert_error(&answer, StatusCode::NOT_FOUND, "id_number");
    // A malformed one: 400 with the parser's reason.
    let answer = studio.upload(&good_body("320104200012100045")).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "id_number");
    assert_eq!(answer.1["reason"], "check_digit");
    let answer = studio
        .upload(&json!({"photo_jpeg_base64": b64(&jpeg(358, 441))}))
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "id_number");
    let answer = studio
        .upload(&json!({"id_number": 320104, "photo_jpeg_base64": b64(&jpeg(358, 441))}))
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "id_number");
    assert_eq!(studio.receipt_count().await, before, "nothing stored");
}

#[tokio::test]
async fn a_photo_that_is_not_a_sane_jpeg_is_refused_naming_photo_jpeg_base64() {
    let studio = Studio::new().await;
    let before = studio.receipt_count().await;
    let with_photo =
        |photo: String| json!({"id_number": demo::RENEWAL_IN_WINDOW, "photo_jpeg_base64": photo});
    let field = "photo_jpeg_base64";

    // Not a JPEG at all.
    let answer = studio
        .upload(&with_photo(b64(b"GIF89a\x01\x00\x01\x00")))
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, field);
    // A JPEG cut in half.
    let mut cut = jpeg(358, 441);
    cut.truncate(cut.len() / 2);
    let answer = studio.upload(&with_photo(b64(&cut))).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, field);
    // A thumbnail.
    let answer = studio.upload(&with_photo(b64(&jpeg(40, 50)))).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, field);
    assert!(
        answer.1["error"].as_str().unwrap().contains("40x50"),
        "{}",
        answer.1
    );
    // Not base64.
    let answer = studio.upload(&with_photo("not base64!".into())).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, field);
    // Over 1 MiB.
    let mut huge = jpeg(358, 441);
    huge.resize(popsys::studio::MAX_PHOTO_BYTES + 1, 0);
    let answer = studio.upload(&with_photo(b64(&huge))).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, field);
    // Missing.
    let answer = studio
        .upload(&json!({"id_number": demo::RENEWAL_IN_WINDOW}))
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, field);
    assert_eq!(studio.receipt_count().await, before, "nothing stored");
}

#[tokio::test]
async fn unreadable_bodies_name_the_part() {
    let studio = Studio::new().await;
    let request = |content_type: &str, body: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/studios/{STUDIO}/receipts"))
            .header(header::AUTHORIZATION, format!("Bearer {SECRET}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let (status, body, _) = studio.send(request("text/plain", "{}")).await;
    assert_error(
        &(status, body),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "content-type",
    );
    let (status, body, _) = studio.send(request("application/json", "{\"id")).await;
    assert_error(&(status, body), StatusCode::BAD_REQUEST, "body");
    let (status, body, _) = studio.send(request("application/json", "[]")).await;
    assert_error(&(status, body), StatusCode::UNPROCESSABLE_ENTITY, "body");
}

#[tokio::test]
async fn without_the_desk_the_route_is_not_there() {
    let db = seeded_sqlite().await;
    let app = popsys::app(state(&db));
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/studios/{STUDIO}/receipts"))
        .header(header::AUTHORIZATION, format!("Bearer {SECRET}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(good_body(demo::RENEWAL_IN_WINDOW).to_string()))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["field"], "path", "{body}");
}

#[tokio::test]
async fn the_client_uploads_over_http_and_reports_refusals() {
    let studio = Studio::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = studio.app.clone();
    let server = tokio::spawn(async move {
        popsys::serve(listener, app, std::future::pending())
            .await
            .unwrap();
    });

    let client = StudioClient::new(&url, STUDIO, SECRET);
    let made = client
        .upload(demo::LONG_TERM, &jpeg(358, 441), None)
        .await
        .expect("uploaded");
    assert_eq!(made.id_number, demo::LONG_TERM);
    assert_eq!(made.studio, STUDIO);
    assert_eq!(made.created_on, "2026-11-25");
    assert!(studio
        .db
        .store()
        .photo_receipt(&code(&made.code))
        .await
        .unwrap()
        .is_some());

    let err = StudioClient::new(&url, STUDIO, "wrong")
        .upload(demo::LONG_TERM, &jpeg(358, 441), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, popsys::studio::UploadError::Refused { status: 401, field: Some(f), .. } if f == "authorization"),
        "{err:?}"
    );
    let err = client
        .upload(demo::LONG_TERM, b"not a jpeg", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("photo_jpeg_base64"), "{err}");
    server.abort();

    let err = StudioClient::new("http://127.0.0.1:1", STUDIO, SECRET)
        .upload(demo::LONG_TERM, &jpeg(358, 441), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, popsys::studio::UploadError::Unreachable { .. }),
        "{err:?}"
    );
}
