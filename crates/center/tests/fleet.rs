//! The fleet (issue 9, item 2): heartbeats with device health, the fleet view with its alerts and
//! sessions today and no personal data, the operators' token, and the versioned remote
//! configuration, on SQLite and (when configured) PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use base64::Engine as _;
use center::staff::Role;
use center::AppState;
use http_body_util::BodyExt;
use popsys::seed::demo;
use popsys::StorePopulationSystem;
use serde_json::{json, Value};
use store::testing::TestDatabase;
use time::macros::datetime;
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::support::{state_over, KIOSK, OTHER_KIOSK, OTHER_SECRET, SECRET};
use crate::world::{databases, new_session, world_with};

/// The operators' token in these tests.
pub const OPERATOR: &str = "op-token-for-tests";

/// A clock the test moves.
#[derive(Debug)]
pub struct MovableClock(Mutex<OffsetDateTime>);

impl MovableClock {
    /// At `at`.
    pub fn at(at: OffsetDateTime) -> Arc<MovableClock> {
        Arc::new(MovableClock(Mutex::new(at)))
    }

    /// Moves forward.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl payment::Clock for MovableClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// 10:00 in Nanjing on the tests' day.
pub const MORNING: OffsetDateTime = datetime!(2026-11-25 10:00 +08:00);

/// A request to `app`: status, content type and body text.
pub async fn send(
    app: &Router,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, String, String) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// A kiosk call with the shared secret.
pub async fn as_kiosk(
    app: &Router,
    kiosk: (&str, &str),
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("x-kiosk-id", kiosk.0)
        .header("authorization", format!("Bearer {}", kiosk.1));
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => {
            request = request.header("accept", "application/json");
            request.body(Body::empty())
        }
    }
    .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn bearer() -> String {
    format!("Bearer {OPERATOR}")
}

/// The fleet state: a center on `store` with the operator token and the movable clock.
fn fleet_state(store: store::Store, clock: Arc<MovableClock>) -> AppState {
    let mut state = state_over(Arc::new(StorePopulationSystem::new(store.clone())), store);
    state.clock = clock;
    state.fleet.operator_token = Some(OPERATOR.into());
    state
}

fn healthy() -> Value {
    json!({"card_reader": {"state": "ready"}, "scanner": {"state": "ready"},
           "camera": {"state": "busy"}, "fingerprint": {"state": "ready"},
           "pos": {"state": "ready"},
           "printer": {"state": "warning", "reason": "toner-low", "paper": "ok", "toner": "low"}})
}

fn config() -> Value {
    json!({"thresholds": {"face_certified": 95.0, "face_live": 60.0, "fingerprint_quality": 40},
           "timeouts": {"idle_s": 60, "step_s": 120, "payment_s": 600},
           "fees": {"expiry_renewal_cny": 20, "lost_cny": 40, "damaged_cny": 40},
           "payment_methods": ["wechat", "unionpay"]})
}

fn kiosk_of<'a>(view: &'a Value, kiosk: &str) -> &'a Value {
    view["kiosks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kiosk_id"] == kiosk)
        .unwrap_or_else(|| panic!("{kiosk} not in {view}"))
}

#[tokio::test]
async fn heartbeats_alerts_and_sessions_today_on_each_backend() {
    for db in databases("center fleet").await {
        let backend = db.store().backend();
        let clock = MovableClock::at(MORNING);
        let app = center::app(fleet_state(db.store().clone(), clock.clone()));

        // K0001 is healthy (a printer warning is not an alert).
        let (status, answer) = as_kiosk(
            &app,
            (KIOSK, SECRET),
            "POST",
            "/v1/fleet/heartbeat",
            Some(
                json!({"software_version": "0.1.0", "outbox_backlog": 2, "config_version": null,
                        "devices": healthy()}),
            ),
        )
        .await;
        assert_eq!(status, 200, "{backend}: {answer}");
        assert_eq!(answer["received_at"], MORNING.unix_timestamp());
        assert_eq!(answer["config_version"], Value::Null);
        // K0002's fingerprint module is in error and its POS gone.
        let (status, _) = as_kiosk(
            &app,
            (OTHER_KIOSK, OTHER_SECRET),
            "POST",
            "/v1/fleet/heartbeat",
            Some(json!({"software_version": "0.1.0", "outbox_backlog": 0,
                        "devices": {"fingerprint": {"state": "error", "reason": "timeout"},
                                    "pos": {"state": "disconnected", "reason": "/dev/ttyUSB3 vanished"}}})),
        )
        .await;
        assert_eq!(status, 200);

        // Three sessions today on K0001, one yesterday (not counted).
        let now = MORNING.unix_timestamp();
        for _ in 0..3 {
            db.store()
                .start_session(new_session().as_str(), KIOSK, now - 3600)
                .await
                .unwrap();
        }
        db.store()
            .start_session(new_session().as_str(), KIOSK, now - 11 * 3600)
            .await
            .unwrap();

        let (status, _, text) = send(&app, "GET", "/v1/fleet/kiosks", Some(&bearer()), None).await;
        assert_eq!(status, 200, "{text}");
        let view: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(view["today"], "2026-11-25");
        let k1 = kiosk_of(&view, KIOSK);
        assert_eq!(k1["state"], "ok", "{backend}: {k1}");
        assert_eq!(k1["sessions_today"], 3, "{backend}: {k1}");
        assert_eq!(k1["outbox_backlog"], 2);
        assert_eq!(k1["devices"]["printer"]["toner"], "low");
        assert_eq!(k1["certificate"], "none");
        let k2 = kiosk_of(&view, OTHER_KIOSK);
        assert_eq!(k2["state"], "alert", "{k2}");
        let alerts: Vec<&str> = k2["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["device"].as_str().unwrap())
            .collect();
        assert_eq!(alerts, ["fingerprint", "pos"], "{k2}");
        assert_eq!(view["alerts"], 1);

        // Two minutes of silence are fine; a second more is an alert.
        clock.advance(Duration::from_secs(120));
        let (_, _, text) = send(&app, "GET", "/v1/fleet/kiosks", Some(&bearer()), None).await;
        let view: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(kiosk_of(&view, KIOSK)["state"], "ok");
        clock.advance(Duration::from_secs(1));
        let (_, _, text) = send(&app, "GET", "/v1/fleet/kiosks", Some(&bearer()), None).await;
        let view: Value = serde_json::from_str(&text).unwrap();
        let k1 = kiosk_of(&view, KIOSK);
        assert_eq!(k1["state"], "alert", "{k1}");
        assert_eq!(k1["alerts"][0]["kind"], "silent");
        assert_eq!(k1["silent_for_s"], 121);

        // The page shows the same.
        let (status, content_type, html) = send(&app, "GET", "/fleet", Some(&bearer()), None).await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(html.contains("data-kiosk=\"K0001\""), "{html}");
        assert!(html.contains("fingerprint error: timeout"), "{html}");
        assert!(html.contains("silent for 121 s"), "{html}");
        db.finish().await;
    }
}

#[tokio::test]
async fn bad_heartbeats_name_the_field() {
    let store = crate::support::demo_store().await;
    let app = center::app(fleet_state(store, MovableClock::at(MORNING)));
    for (body, field) in [
        (
            json!({"software_version": "1", "outbox_backlog": 0, "devices": {"toaster": {"state": "ready"}}}),
            "devices",
        ),
        (
            json!({"software_version": "1", "outbox_backlog": 0, "devices": {"camera": {"state": "on fire"}}}),
            "devices.camera.state",
        ),
        (
            json!({"software_version": "1", "outbox_backlog": -1}),
            "outbox_backlog",
        ),
        (
            json!({"software_version": "", "outbox_backlog": 0}),
            "software_version",
        ),
    ] {
        let (status, answer) = as_kiosk(
            &app,
            (KIOSK, SECRET),
            "POST",
            "/v1/fleet/heartbeat",
            Some(body.clone()),
        )
        .await;
        assert!(status == 400 || status == 422, "{body}: {status} {answer}");
        assert!(
            answer["field"]
                .as_str()
                .is_some_and(|f| f.starts_with(field)),
            "{body}: {answer}"
        );
    }
    // No kiosk authentication: refused.
    let (status, _, _) = send(
        &app,
        "POST",
        "/v1/fleet/heartbeat",
        None,
        Some(json!({"software_version": "1", "outbox_backlog": 0})),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn operator_routes_refuse_kiosks_and_strangers() {
    let store = crate::support::demo_store().await;
    let app = center::app(fleet_state(store.clone(), MovableClock::at(MORNING)));
    let kiosk_auth = format!("Bearer {SECRET}");
    let wrong_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:nope")
    );
    for (method, path, body) in [
        ("GET", "/fleet", None),
        ("GET", "/v1/fleet/kiosks", None),
        ("PUT", "/v1/fleet/config", Some(config())),
    ] {
        for auth in [None, Some(kiosk_auth.as_str()), Some(wrong_basic.as_str())] {
            let (status, _, text) = send(&app, method, path, auth, body.clone()).await;
            assert_eq!(status, 401, "{method} {path} with {auth:?}: {text}");
        }
        // A kiosk with its full credentials is not an operator either.
        let (status, _) = as_kiosk(&app, (KIOSK, SECRET), method, path, body.clone()).await;
        assert_eq!(status, 401, "{method} {path} as a kiosk");
    }
    // The browser's Basic prompt, any user name, the token as password.
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("operator:{OPERATOR}"))
    );
    let (status, _, _) = send(&app, "GET", "/fleet", Some(&basic), None).await;
    assert_eq!(status, 200);
    // No token configured: nobody.
    let mut state = fleet_state(store, MovableClock::at(MORNING));
    state.fleet.operator_token = None;
    let closed = center::app(state);
    let (status, _, _) = send(&closed, "GET", "/v1/fleet/kiosks", Some(&bearer()), None).await;
    assert_eq!(status, 401);
    // The page sends a browser to the staff login instead.
    let (status, _, _) = send(&closed, "GET", "/fleet", Some(&bearer()), None).await;
    assert_eq!(status, 303);
}

/// A request with the staff console's session cookie and, if given, the CSRF header.
async fn as_staff(
    app: &Router,
    method: &str,
    path: &str,
    token: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> u16 {
    let mut request = Request::builder().method(method).uri(path).header(
        "cookie",
        format!("{}={token}", center::staff::SESSION_COOKIE),
    );
    if let Some(csrf) = csrf {
        request = request.header(center::fleet::CSRF_HEADER, csrf);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    app.clone()
        .oneshot(request)
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn staff_administrators_use_the_fleet_view_other_roles_do_not() {
    let store = crate::support::demo_store().await;
    let mut state = fleet_state(store.clone(), MovableClock::at(MORNING));
    state.fleet.operator_token = None;
    let app = center::app(state);
    let now = MORNING.unix_timestamp();
    for (user, role, token) in [
        ("admin1", Role::Administrator, "tok-admin"),
        ("clerk1", Role::WindowClerk, "tok-clerk"),
        ("audit1", Role::Auditor, "tok-audit"),
    ] {
        store
            .create_staff_user(user, role, "$argon2id$not-used-here", now)
            .await
            .unwrap();
        store
            .create_staff_session(
                &store::staff::token_hash(token),
                user,
                "csrf-1",
                now,
                now + 1800,
            )
            .await
            .unwrap();
    }
    for path in ["/fleet", "/v1/fleet/kiosks"] {
        assert_eq!(
            as_staff(&app, "GET", path, "tok-admin", None, None).await,
            200,
            "{path}"
        );
        assert_eq!(
            as_staff(&app, "GET", path, "tok-clerk", None, None).await,
            403,
            "{path}"
        );
        assert_eq!(
            as_staff(&app, "GET", path, "tok-audit", None, None).await,
            403,
            "{path}"
        );
        assert_ne!(
            as_staff(&app, "GET", path, "tok-unknown", None, None).await,
            200,
            "{path}"
        );
    }
    // A write needs the session's CSRF token.
    let put = |csrf| {
        as_staff(
            &app,
            "PUT",
            "/v1/fleet/config",
            "tok-admin",
            csrf,
            Some(config()),
        )
    };
    assert_eq!(put(None).await, 403);
    assert_eq!(put(Some("csrf-2")).await, 403);
    assert_eq!(put(Some("csrf-1")).await, 201);
    assert_eq!(
        as_staff(
            &app,
            "PUT",
            "/v1/fleet/config",
            "tok-clerk",
            Some("csrf-1"),
            Some(config())
        )
        .await,
        403
    );
    let latest = store.latest_fleet_config().await.unwrap().unwrap();
    assert_eq!(latest.created_by, "admin1");
}

// Regression (issue 16): the fleet view checked staff sessions with its own copy of the console's
// check, which missed the absolute lifetime, so an administrator's session kept alive past its
// 12 hours still opened the fleet view. Both now go through `center::staff::StaffSession`.
#[tokio::test]
async fn an_administrator_session_past_its_lifetime_is_refused_by_the_fleet_view() {
    let store = crate::support::demo_store().await;
    let mut state = fleet_state(store.clone(), MovableClock::at(MORNING));
    state.fleet.operator_token = None;
    let lifetime = state.staff.session_lifetime_secs;
    let app = center::app(state);
    let now = MORNING.unix_timestamp();
    store
        .create_staff_user(
            "admin1",
            Role::Administrator,
            "$argon2id$not-used-here",
            now,
        )
        .await
        .unwrap();
    let hash = store::staff::token_hash("tok-old");
    // Signed in longer ago than the lifetime, active until now (idle expiry still ahead).
    store
        .create_staff_session(&hash, "admin1", "csrf-1", now - lifetime - 60, now + 1800)
        .await
        .unwrap();
    for path in ["/v1/fleet/kiosks", "/fleet"] {
        assert_ne!(
            as_staff(&app, "GET", path, "tok-old", None, None).await,
            200,
            "{path}"
        );
    }
    assert!(
        store.staff_session(&hash, now).await.unwrap().is_none(),
        "the expired session is deleted when presented"
    );
}

#[tokio::test]
async fn configuration_versions_come_from_the_database() {
    for db in databases("center fleet config").await {
        let backend = db.store().backend();
        let clock = MovableClock::at(MORNING);
        let app = center::app(fleet_state(db.store().clone(), clock.clone()));
        // Nothing pushed yet.
        let (status, _) = as_kiosk(&app, (KIOSK, SECRET), "GET", "/v1/fleet/config", None).await;
        assert_eq!(status, 204);

        let (status, _, text) = send(
            &app,
            "PUT",
            "/v1/fleet/config",
            Some(&bearer()),
            Some(config()),
        )
        .await;
        assert_eq!(status, 201, "{backend}: {text}");
        let first: Value = serde_json::from_str(&text).unwrap();
        let v1 = first["version"].as_i64().unwrap();
        assert_eq!(first["config"], config());

        // Refusals name the field and store nothing.
        let mut bad_fee = config();
        bad_fee["fees"]["lost_cny"] = json!(10);
        let mut bad_method = config();
        bad_method["payment_methods"] = json!(["wechat", "cash"]);
        let mut no_method = config();
        no_method["payment_methods"] = json!([]);
        let mut bad_threshold = config();
        bad_threshold["thresholds"]["face_live"] = json!(101);
        let mut bad_timeout = config();
        bad_timeout["timeouts"]["idle_s"] = json!(0);
        let mut unknown = config();
        unknown["colour"] = json!("red");
        let mut missing = config();
        missing.as_object_mut().unwrap().remove("timeouts");
        for (body, status_expected, field) in [
            (bad_fee, 422, "fees.lost_cny"),
            (bad_method, 422, "payment_methods[1]"),
            (no_method, 422, "payment_methods"),
            (bad_threshold, 422, "thresholds.face_live"),
            (bad_timeout, 422, "timeouts.idle_s"),
            (unknown, 400, ""),
            (missing, 400, ""),
        ] {
            let (status, _, text) =
                send(&app, "PUT", "/v1/fleet/config", Some(&bearer()), Some(body)).await;
            assert_eq!(status, status_expected, "{text}");
            let answer: Value = serde_json::from_str(&text).unwrap();
            if !field.is_empty() {
                assert_eq!(answer["field"], field, "{answer}");
            }
        }

        // Kiosks fetch what is newer than theirs.
        let (status, got) = as_kiosk(
            &app,
            (KIOSK, SECRET),
            "GET",
            "/v1/fleet/config?since=0",
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(got["version"], v1);
        assert_eq!(got["config"], config());
        let (status, _) = as_kiosk(
            &app,
            (KIOSK, SECRET),
            "GET",
            &format!("/v1/fleet/config?since={v1}"),
            None,
        )
        .await;
        assert_eq!(status, 204);
        let (status, answer) = as_kiosk(
            &app,
            (KIOSK, SECRET),
            "GET",
            "/v1/fleet/config?since=x",
            None,
        )
        .await;
        assert_eq!((status, answer["field"].as_str()), (400, Some("since")));
        // Operators only push: a kiosk cannot.
        let (status, _) = as_kiosk(
            &app,
            (KIOSK, SECRET),
            "PUT",
            "/v1/fleet/config",
            Some(config()),
        )
        .await;
        assert_eq!(status, 401);

        // Ten concurrent pushes through two handles on the same database (two replicas): ten
        // distinct versions, all above the first.
        let second = center::app(fleet_state(db.reconnect().await.unwrap(), clock.clone()));
        let mut pushes = Vec::new();
        for i in 0..10u32 {
            let app = if i.is_multiple_of(2) {
                app.clone()
            } else {
                second.clone()
            };
            let mut body = config();
            body["timeouts"]["idle_s"] = json!(60 + i);
            pushes.push(tokio::spawn(async move {
                let (status, _, text) =
                    send(&app, "PUT", "/v1/fleet/config", Some(&bearer()), Some(body)).await;
                assert_eq!(status, 201, "{text}");
                serde_json::from_str::<Value>(&text).unwrap()["version"]
                    .as_i64()
                    .unwrap()
            }));
        }
        let mut versions = Vec::new();
        for push in pushes {
            versions.push(push.await.unwrap());
        }
        versions.sort_unstable();
        versions.dedup();
        assert_eq!(versions.len(), 10, "{backend}: {versions:?}");
        assert!(versions[0] > v1);
        let newest = *versions.last().unwrap();

        // The heartbeat answers the newest version; the fleet view shows what the kiosk runs.
        let (_, answer) = as_kiosk(
            &app,
            (KIOSK, SECRET),
            "POST",
            "/v1/fleet/heartbeat",
            Some(json!({"software_version": "0.1.0", "outbox_backlog": 0, "config_version": v1})),
        )
        .await;
        assert_eq!(answer["config_version"], newest);
        let (_, _, text) = send(&app, "GET", "/v1/fleet/kiosks", Some(&bearer()), None).await;
        let view: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(kiosk_of(&view, KIOSK)["config_version"], v1);
        db.finish().await;
    }
}

/// Regression (issue 17): the remote configuration's fees were checked against the national fees
/// of `domain::rules`, so a bureau charging its own could store none that its kiosks show right.
#[tokio::test]
async fn configuration_fees_are_the_bureaus_own() {
    for db in databases("center fleet config fees").await {
        let backend = db.store().backend();
        let mut state = fleet_state(db.store().clone(), MovableClock::at(MORNING));
        state.config.fees.lost_cny = 50;
        let app = center::app(state);

        // The national fee is refused, naming the bureau's.
        let (status, _, text) = send(
            &app,
            "PUT",
            "/v1/fleet/config",
            Some(&bearer()),
            Some(config()),
        )
        .await;
        assert_eq!(status, 422, "{backend}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["field"], "fees.lost_cny", "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("the bureau's fee is 50 yuan"),
            "{answer}"
        );
        let (status, _) = as_kiosk(&app, (KIOSK, SECRET), "GET", "/v1/fleet/config", None).await;
        assert_eq!(status, 204, "{backend}: nothing stored");

        // The bureau's fees are taken.
        let mut own = config();
        own["fees"]["lost_cny"] = json!(50);
        let (status, _, text) = send(
            &app,
            "PUT",
            "/v1/fleet/config",
            Some(&bearer()),
            Some(own.clone()),
        )
        .await;
        assert_eq!(status, 201, "{backend}: {text}");
        let stored: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(stored["config"], own);
    }
}

/// True when `text` holds 17 digits followed by a digit or X: an 18-character ID number.
fn has_id_number(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(18).find_map(|w| {
        (w[..17].iter().all(char::is_ascii_digit) && (w[17].is_ascii_digit() || w[17] == 'X'))
            .then(|| w.iter().collect())
    })
}

#[tokio::test]
async fn the_fleet_view_holds_no_personal_data() {
    let db = TestDatabase::sqlite().await.unwrap();
    let clock = MovableClock::at(MORNING);
    let world = world_with(db, |state| {
        state.clock = clock.clone();
        state.fleet.operator_token = Some(OPERATOR.into());
    })
    .await;
    // A whole session up to the application, by the demo citizen 王晓燕.
    let sid = new_session();
    let number = crate::sessions::up_to_application(&world, &sid).await;
    assert_eq!(number.len(), 18);
    // A device whose free text echoes an ID number.
    let response = world
        .http
        .post(format!("http://{}/v1/fleet/heartbeat", world.center))
        .header("x-kiosk-id", KIOSK)
        .header("authorization", format!("Bearer {SECRET}"))
        .json(&json!({"software_version": "0.1.0", "outbox_backlog": 1,
                      "devices": {"card_reader": {"state": "error",
                                   "reason": format!("bad read of {}", demo::RENEWAL_IN_WINDOW)}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let mut seen = String::new();
    for path in ["/fleet", "/v1/fleet/kiosks"] {
        let text = world
            .http
            .get(format!("http://{}{path}", world.center))
            .bearer_auth(OPERATOR)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains(KIOSK), "{path}: {text}");
        seen.push_str(&text);
    }
    assert!(seen.contains("\"sessions_today\":1"), "{seen}");
    assert_eq!(has_id_number(&seen), None, "an ID number in the fleet view");
    assert!(!seen.contains(demo::RENEWAL_IN_WINDOW));
    assert!(!seen.contains(&number), "the application number");
    for name in ["王晓燕", "晓燕"] {
        assert!(!seen.contains(name), "the name {name} in the fleet view");
    }
    assert!(seen.contains("bad read of ******************"), "{seen}");
}

/// Regression (issue 15, item 8): a kiosk idle since it started showed in red. Its drivers open
/// their serial ports at first use, so until then they report `disconnected` with the reason
/// `not opened yet` (`devices::HealthCell`'s first value), which the view took for a fault. With
/// fresh heartbeats and nothing else wrong such a kiosk is `ok`; a port that really went away is
/// still an alert.
#[tokio::test]
async fn an_idle_healthy_kiosk_is_ok() {
    for db in databases("center fleet idle kiosk").await {
        let backend = db.store().backend();
        let clock = MovableClock::at(MORNING);
        let app = center::app(fleet_state(db.store().clone(), clock.clone()));
        let idle = json!({"state": "disconnected", "reason": "not opened yet"});
        // What `kiosk::fleet::collect` sends from a kiosk that has run no session yet.
        let beat = json!({"software_version": "0.1.0", "outbox_backlog": 0, "config_version": null,
            "devices": {"card_reader": idle, "scanner": idle, "camera": idle,
                        "fingerprint": idle, "pos": idle,
                        "printer": {"state": "ready", "paper": "ok", "toner": "ok"}}});
        let (status, answer) = as_kiosk(
            &app,
            (KIOSK, SECRET),
            "POST",
            "/v1/fleet/heartbeat",
            Some(beat.clone()),
        )
        .await;
        assert_eq!(status, 200, "{backend}: {answer}");
        // The POS of the other kiosk did go away.
        let (status, _) = as_kiosk(
            &app,
            (OTHER_KIOSK, OTHER_SECRET),
            "POST",
            "/v1/fleet/heartbeat",
            Some(json!({"software_version": "0.1.0", "outbox_backlog": 0,
                        "devices": {"pos": {"state": "disconnected",
                                            "reason": "/dev/ttyUSB3 vanished"}}})),
        )
        .await;
        assert_eq!(status, 200);
        // 30 s later, the next heartbeat: still idle, still fresh.
        clock.advance(Duration::from_secs(30));
        let (status, _) = as_kiosk(
            &app,
            (KIOSK, SECRET),
            "POST",
            "/v1/fleet/heartbeat",
            Some(beat),
        )
        .await;
        assert_eq!(status, 200);

        let (_, _, text) = send(&app, "GET", "/v1/fleet/kiosks", Some(&bearer()), None).await;
        let view: Value = serde_json::from_str(&text).unwrap();
        let k1 = kiosk_of(&view, KIOSK);
        assert_eq!(k1["state"], "ok", "{backend}: {k1}");
        assert_eq!(k1["alerts"], json!([]), "{k1}");
        let k2 = kiosk_of(&view, OTHER_KIOSK);
        assert_eq!(k2["state"], "alert", "{k2}");
        assert_eq!(view["alerts"], 1, "{view}");

        let (status, _, html) = send(&app, "GET", "/fleet", Some(&bearer()), None).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("<tr class=\"ok\" data-kiosk=\"K0001\">"),
            "{html}"
        );
        assert!(
            html.contains(
                "<span class=\"dev idle\">card_reader: 空闲 idle (not opened yet)</span>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"/staff\">"),
            "a way back to the console"
        );
        db.finish().await;
    }
}
