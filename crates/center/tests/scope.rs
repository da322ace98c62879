//! `POST /v1/scope`: steps 2–5.

use std::sync::Arc;

use axum::http::StatusCode;
use popsys::seed::demo;
use serde_json::{json, Value};

use crate::support::{center, center_over, demo_store, post, post_raw, TODAY};

async fn scope(body: Value) -> (StatusCode, Value) {
    post(&center().await, "/v1/scope", body).await
}

fn renewal(id: &str, valid_until: &str) -> Value {
    json!({
        "business": "expiry_renewal", "household": "local", "id": id,
        "card": {"id": id, "valid_from": "2016-12-20", "valid_until": valid_until}
    })
}

#[tokio::test]
async fn a_renewal_in_its_window_is_accepted_with_the_masked_identity() {
    let (status, body) = scope(renewal(demo::RENEWAL_IN_WINDOW, "2026-12-20")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "accept");
    assert_eq!(body["reason"], "accept");
    assert_eq!(body["fee_cny"], 20);
    assert_eq!(body["new_card_validity"], "10_years");
    assert_eq!(body["issue_by"], "2027-01-24");
    assert_eq!(body["identity"]["id_masked"], "320104********0044");
    assert_eq!(body["identity"]["name_masked"], "*晓燕");
}

#[tokio::test]
async fn the_card_on_the_reader_decides_the_window_not_the_record() {
    let (_, body) = scope(renewal(demo::RENEWAL_IN_WINDOW, "2026-05-24")).await;
    assert_eq!(body["outcome"], "refer");
    assert_eq!(body["reason"], "not_in_renewal_window");
    assert_eq!(
        body["prompt_zh"],
        "您的居民身份证不在有效期满前后6个月的换领范围内。"
    );
    assert_eq!(body["fee_cny"], Value::Null);
    assert_eq!(body["issue_by"], Value::Null);
}

#[tokio::test]
async fn refusals_carry_their_reason_and_prompt() {
    let cases = [
        (
            demo::UNDER_16,
            "lost",
            "local",
            "under_16",
            "未满16周岁的申请人不能自助办理，请由监护人陪同到户政窗口办理。",
        ),
        (
            demo::PROVINCE_NOT_REGISTERED,
            "lost",
            "province",
            "not_floating_registered",
            "未查询到您在本市的居住登记信息，请到户政窗口办理。",
        ),
        (
            demo::OUTSIDE_PROVINCE,
            "lost",
            "province",
            "household_outside_province",
            "您的居民身份证不在自助受理范围内，如需帮助请联系工作人员。",
        ),
        (
            demo::NO_HISTORY_PHOTO,
            "damaged",
            "local",
            "no_history_photo",
            "您的居民身份证不在自助受理范围内，如需帮助请联系工作人员。",
        ),
        (
            demo::DECEASED,
            "lost",
            "local",
            "record_not_normal",
            "您的居民身份证不在自助受理范围内，如需帮助请联系工作人员。",
        ),
        (
            demo::APPLICATION_IN_PROGRESS,
            "lost",
            "local",
            "application_in_progress",
            "您的居民身份证不在自助受理范围内，如需帮助请联系工作人员。",
        ),
        (
            demo::LONG_TERM,
            "damaged",
            "province",
            "wrong_household_choice",
            "您的居民身份证不在自助受理范围内，如需帮助请联系工作人员。",
        ),
    ];
    let app = center().await;
    for (id, business, household, reason, prompt_zh) in cases {
        let (status, body) = post(
            &app,
            "/v1/scope",
            json!({"business": business, "household": household, "id": id}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{id}: {body}");
        assert_eq!(body["outcome"], "refer", "{id}: {body}");
        assert_eq!(body["reason"], reason, "{id}: {body}");
        assert_eq!(body["prompt_zh"], prompt_zh, "{id}: {body}");
        assert!(
            body["identity"]["name_masked"]
                .as_str()
                .is_some_and(|name| name.starts_with('*')),
            "{id}: {body}"
        );
    }
}

#[tokio::test]
async fn a_province_resident_in_the_city_registry_from_a_remote_area_gets_ninety_days() {
    let (_, body) = scope(json!({"business": "lost", "household": "province", "id": demo::PROVINCE_REGISTERED_REMOTE})).await;
    assert_eq!(body["outcome"], "accept", "{body}");
    assert_eq!(body["fee_cny"], 40);
    let expected = (TODAY + time::Duration::days(90)).to_string();
    assert_eq!(body["issue_by"], expected.as_str());
}

#[tokio::test]
async fn an_unknown_number_is_not_found_and_shows_no_identity() {
    // Valid number (check character fits), never seeded.
    let unknown =
        domain::id::CitizenId::from_parts("320104", time::macros::date!(1990 - 01 - 01), 999)
            .expect("a valid number");
    let (status, body) =
        scope(json!({"business": "lost", "household": "local", "id": unknown.as_str()})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["reason"], "not_found");
    assert_eq!(body["identity"], Value::Null);
}

#[tokio::test]
async fn bad_values_are_422_naming_the_field() {
    let cases = [
        (
            json!({"business": "renew", "household": "local", "id": demo::UNDER_16}),
            "business",
        ),
        (
            json!({"business": "lost", "household": "elsewhere", "id": demo::UNDER_16}),
            "household",
        ),
        (
            json!({"business": "lost", "household": "local", "id": "110105194912310021"}),
            "id",
        ),
        (
            json!({"business": "expiry_renewal", "household": "local", "id": demo::RENEWAL_IN_WINDOW}),
            "card",
        ),
        (
            json!({"business": "expiry_renewal", "household": "local", "id": demo::RENEWAL_IN_WINDOW,
                   "card": {"id": demo::RENEWAL_IN_WINDOW, "valid_from": "2016-12-20", "valid_until": "2026-13-01"}}),
            "card.valid_until",
        ),
        (
            json!({"business": "expiry_renewal", "household": "local", "id": demo::RENEWAL_IN_WINDOW,
                   "card": {"id": "1234", "valid_from": "2016-12-20", "valid_until": "2026-12-20"}}),
            "card.id",
        ),
    ];
    let app = center().await;
    for (body, field) in cases {
        let (status, answer) = post(&app, "/v1/scope", body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {answer}"
        );
        assert_eq!(answer["field"], field, "{body} → {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn the_check_digit_error_says_so() {
    let (_, answer) =
        scope(json!({"business": "lost", "household": "local", "id": "110105194912310021"})).await;
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or("")
            .contains("check_digit"),
        "{answer}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_field_where_there_is_one() {
    let app = center().await;
    let (status, answer) = post_raw(&app, "/v1/scope", "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    let (status, answer) = post_raw(
        &app,
        "/v1/scope",
        r#"{"business":"lost","household":"local","id":5}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["field"], "id", "{answer}");

    let (status, answer) = post_raw(
        &app,
        "/v1/scope",
        r#"{"business":"lost","household":"local","id":"x","extra":1}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].as_str().unwrap_or("").contains("extra"),
        "{answer}"
    );
}

#[tokio::test]
async fn the_center_reaches_popsys_over_http_with_the_same_answer() {
    let store = demo_store().await;
    let popsys_app = popsys::app(popsys::AppState::new(
        Arc::new(popsys::StorePopulationSystem::new(store.clone())),
        Arc::new(|| TODAY),
        popsys::ClientTokens::new([("center", crate::support::POPSYS_TOKEN)]),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, popsys_app).await });
    let http = popsys::HttpPopulationSystem::new(&format!("http://{address}"))
        .expect("client")
        .with_token(crate::support::POPSYS_TOKEN);

    let app = center_over(Arc::new(http), store);
    let (status, body) = post(
        &app,
        "/v1/scope",
        renewal(demo::RENEWAL_IN_WINDOW, "2026-12-20"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "accept");
    assert_eq!(body["identity"]["name_masked"], "*晓燕");
    let (_, body) = post(
        &app,
        "/v1/scope",
        json!({"business": "lost", "household": "province", "id": demo::PROVINCE_NOT_REGISTERED}),
    )
    .await;
    assert_eq!(body["reason"], "not_floating_registered");
}

#[tokio::test]
async fn the_answer_carries_the_name_in_clear_for_the_kiosk() {
    let (status, body) = scope(renewal(demo::RENEWAL_IN_WINDOW, "2026-12-20")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let name = body["name"].as_str().expect("a name");
    assert!(name.ends_with("晓燕"), "{name}");
    assert_eq!(
        domain::mask::mask_name(name),
        body["identity"]["name_masked"]
    );
}
