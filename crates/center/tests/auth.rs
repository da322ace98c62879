//! Kiosk authentication: shared secret per kiosk; `/health` and the WeChat callback are exempt.

use axum::http::StatusCode;
use popsys::seed::demo;
use serde_json::json;

use crate::support::{center, post_as, KIOSK, SECRET};

fn body() -> String {
    json!({"business": "lost", "household": "local", "id": demo::LONG_TERM}).to_string()
}

#[tokio::test]
async fn a_call_without_the_right_secret_is_401() {
    let app = center().await;
    for auth in [
        None,
        Some((KIOSK, "wrong")),
        Some(("K9999", SECRET)),
        Some((KIOSK, "")),
    ] {
        let (status, answer) = post_as(&app, "/v1/scope", &body(), auth).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(answer, json!({"error": "unauthorized"}));
    }
    let (status, _) = post_as(&app, "/v1/scope", &body(), Some((KIOSK, SECRET))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn health_needs_no_kiosk() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;
    let response = center()
        .await
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
