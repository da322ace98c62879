//! Least knowledge for kiosks (issue 14, item 1): a kiosk learns masked names only, every lookup
//! of a citizen is recorded masked, and past its limit a kiosk is refused with 429 and shows up
//! in the fleet view, flagged for revocation when it keeps trying.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use popsys::seed::demo;
use popsys::StorePopulationSystem;
use serde_json::json;
use time::OffsetDateTime;

use crate::support::{demo_store, post, post_as, state_over, KIOSK, OTHER_KIOSK, OTHER_SECRET};

struct Clock(Mutex<OffsetDateTime>);

impl payment::Clock for Clock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

fn lost(id: &str) -> serde_json::Value {
    json!({"business": "lost", "household": "local", "id": id})
}

// Reported: `POST /v1/scope` returned the full name of any valid number, ~1,250 a second.
#[tokio::test]
async fn a_kiosk_learns_masked_names_and_is_limited_per_minute() {
    let store = demo_store().await;
    let clock = Arc::new(Clock(Mutex::new(OffsetDateTime::now_utc())));
    let mut state = state_over(
        Arc::new(StorePopulationSystem::new(store.clone())),
        store.clone(),
    );
    state.config.kiosk_lookups_per_minute = 3;
    state.config.lookup_refusals_to_flag = 2;
    state.clock = clock.clone();
    let app = center::app(state.clone());

    let (status, answer) = post(&app, "/v1/scope", lost(demo::RENEWAL_IN_WINDOW)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["name"], "*晓燕");
    assert!(!answer.to_string().contains("王晓燕"), "{answer}");
    for _ in 0..2 {
        assert_eq!(
            post(&app, "/v1/scope", lost(demo::LONG_TERM)).await.0,
            StatusCode::OK
        );
    }
    // The fourth lookup within the minute: refused, and no record is read.
    let (status, answer) = post(&app, "/v1/scope", lost(demo::DECEASED)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(answer["field"], "kiosk");
    assert!(answer.get("name").is_none() && answer.get("reason").is_none());
    // The identity lookup before a portrait form counts too.
    let (status, _) = post(
        &app,
        "/v1/sessions/lookups-1/identity",
        json!({"id": demo::LONG_TERM}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another kiosk has its own allowance.
    let (status, _) = post_as(
        &app,
        "/v1/scope",
        &lost(demo::LONG_TERM).to_string(),
        Some((OTHER_KIOSK, OTHER_SECRET)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Every lookup is recorded, masked, the refused ones marked.
    let recorded = store.lookups_of(KIOSK, 0).await.unwrap();
    assert_eq!(recorded.len(), 5, "{recorded:?}");
    assert!(recorded
        .iter()
        .all(|(_, masked, _)| masked.contains("********")));
    assert_eq!(
        recorded.iter().filter(|(_, _, refused)| *refused).count(),
        2
    );
    assert_eq!(recorded[0].0, "identity");

    // The fleet view: an alert for the kiosk, and a flag for revocation (2 refusals today).
    let view = center::fleet::view::fleet_view(&state).await.unwrap();
    let kiosk = view
        .kiosks
        .iter()
        .find(|k| k.kiosk_id == KIOSK)
        .expect("the kiosk is listed");
    let kinds: Vec<&str> = kiosk.alerts.iter().map(|a| a.kind.as_str()).collect();
    assert!(kinds.contains(&"lookup_limit"), "{kinds:?}");
    assert!(kinds.contains(&"revocation_suggested"), "{kinds:?}");
    assert_eq!(kiosk.lookups_24h, (3, 2));
    let other = view
        .kiosks
        .iter()
        .find(|k| k.kiosk_id == OTHER_KIOSK)
        .unwrap();
    assert!(!other.alerts.iter().any(|a| a.kind == "lookup_limit"));

    // A minute later the kiosk may look up again.
    *clock.0.lock().unwrap() += Duration::from_secs(61);
    assert_eq!(
        post(&app, "/v1/scope", lost(demo::LONG_TERM)).await.0,
        StatusCode::OK
    );
}
