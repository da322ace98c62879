//! The staff console and the audit chain: every route of `center::staff::ROUTES` refuses an
//! anonymous request and a wrong role; views of a citizen's data are audited; CSRF; lockout;
//! tampering with the audit table is found and named. SQLite always, PostgreSQL when
//! `IDKIOSK_TEST_PG_URL` is set.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use center::staff::{hash_password, Role, PUBLIC_ROUTES, REFUSED, ROUTES};
use http_body_util::BodyExt;
use popsys::StorePopulationSystem;
use store::audit::checkpoint::{
    read_checkpoints, AnchorPolicy, Anchored, AuditAnchor, Checkpoint, CheckpointPublicKey,
    CheckpointSigner,
};
use store::audit::{NewAuditEntry, Verification};
use store::sessions::{NewApplication, SessionReceipt};
use store::testing::TestDatabase;
use store::Store;
use time::macros::date;
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::support::state_over;
use crate::world::databases;

const PASSWORD: &str = "correct-horse-battery";
const ID: &str = "320104200012100044";
const SESSION: &str = "S-STAFF-0001";
const REFERRED_SESSION: &str = "S-STAFF-0002";

#[derive(Debug)]
struct MovableClock(Mutex<OffsetDateTime>);

impl MovableClock {
    fn advance(&self, secs: i64) {
        *self.0.lock().unwrap() += time::Duration::seconds(secs);
    }
}

impl payment::Clock for MovableClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

struct Console {
    app: Router,
    store: Store,
    clock: Arc<MovableClock>,
    application_no: String,
    /// The console's settings (sharing the running app's counters).
    staff: center::staff::StaffSettings,
    /// The whole state, for calling library functions on the same center.
    state: center::AppState,
}

/// A center on `db` with one staff account per role and one application (with photo, signature
/// and video) whose session was referred at step 7.
async fn console(db: &TestDatabase) -> Console {
    console_with(db, |_| {}).await
}

/// [`console`], with the state changed by `tune` before the app is built.
async fn console_with(db: &TestDatabase, tune: impl FnOnce(&mut center::AppState)) -> Console {
    let store = db.store().clone();
    let clock = Arc::new(MovableClock(Mutex::new(
        OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap(),
    )));
    let mut state = state_over(
        Arc::new(StorePopulationSystem::new(store.clone())),
        store.clone(),
    );
    state.clock = clock.clone();
    state.documents = crate::world::renderer();
    let phc = hash_password(PASSWORD).unwrap();
    for role in Role::ALL {
        store
            .create_staff_user(role.as_str(), role, &phc, 0)
            .await
            .unwrap();
    }
    let now = 1_795_000_000;
    store.start_session(SESSION, "K0001", now).await.unwrap();
    store
        .record_receipt(
            &SessionReceipt {
                session_id: SESSION.into(),
                id_number: ID.into(),
                receipt_code: "R1234567890".into(),
                found: true,
                photo: Some(b"\xFF\xD8\xFFcertified".to_vec()),
            },
            now,
        )
        .await
        .unwrap();
    let (application, _) = store
        .create_application(&NewApplication {
            receipt_code: "R1234567890".into(),
            fingers: r#"[{"position":"right_index","quality":81},{"position":"left_index","quality":77}]"#.into(),
            ..crate::support::new_application(SESSION, ID, now)
        })
        .await
        .unwrap();
    for (kind, bytes) in [
        ("live_photo", b"\xFF\xD8\xFFlive".to_vec()),
        ("signature", signature_png()),
        ("video", b"\0\0\0\x18ftypmp42video".to_vec()),
    ] {
        store
            .put_session_blob(SESSION, kind, &bytes, now)
            .await
            .unwrap();
    }
    store
        .end_session(
            SESSION,
            r#"{"outcome":"referred","step":7,"reason":"face_mismatch"}"#,
            now,
        )
        .await
        .unwrap();
    store
        .finish_application(
            &application.application_no,
            store::sessions::KioskStatus::Referred,
        )
        .await
        .unwrap();
    // A referral before any ID was known (step 1).
    store
        .start_session(REFERRED_SESSION, "K0002", now)
        .await
        .unwrap();
    store
        .end_session(
            REFERRED_SESSION,
            r#"{"outcome":"referred","step":3,"reason":"card_unreadable"}"#,
            now + 5,
        )
        .await
        .unwrap();
    tune(&mut state);
    Console {
        app: center::app(state.clone()),
        store,
        clock,
        application_no: application.application_no,
        staff: state.staff.clone(),
        state,
    }
}

/// A real PNG (the documents check what they print).
fn signature_png() -> Vec<u8> {
    let image = image::GrayImage::from_fn(240, 80, |x, y| {
        image::Luma([if (x + 2 * y) % 17 == 0 { 0 } else { 255 }])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageOutputFormat::Png)
        .unwrap();
    png.into_inner()
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("answers");
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        location,
        cookies,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        c.split(';')
            .next()?
            .strip_prefix(&format!("{name}="))
            .map(str::to_owned)
    })
}

/// Signs in; `Ok(session cookie)` or `Err(the refused answer)`.
async fn login(app: &Router, user: &str, password: &str) -> Result<String, Answer> {
    login_from(app, user, password, None).await
}

/// [`login`] from a client address (as `into_make_service_with_connect_info` puts it there).
async fn login_from(
    app: &Router,
    user: &str,
    password: &str,
    from: Option<&str>,
) -> Result<String, Answer> {
    let page = send(
        app,
        Request::get("/staff/login").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = cookie_value(&page.cookies, "idk_staff_login").expect("login csrf cookie");
    assert!(page.body.contains(&csrf), "the form carries the token");
    let mut request = Request::post("/staff/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("idk_staff_login={csrf}"))
        .body(Body::from(format!(
            "username={user}&password={password}&csrf={csrf}"
        )))
        .unwrap();
    if let Some(from) = from {
        let peer: std::net::SocketAddr = format!("{from}:40000").parse().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
    }
    let answer = send(app, request).await;
    if answer.status != StatusCode::SEE_OTHER {
        return Err(answer);
    }
    let set = answer
        .cookies
        .iter()
        .find(|c| c.starts_with("idk_staff="))
        .expect("a session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    Ok(cookie_value(&answer.cookies, "idk_staff").unwrap())
}

async fn get(app: &Router, path: &str, session: Option<&str>) -> Answer {
    let mut request = Request::get(path);
    if let Some(session) = session {
        request = request.header(header::COOKIE, format!("idk_staff={session}"));
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

async fn post(app: &Router, path: &str, session: Option<&str>, form: &str) -> Answer {
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(session) = session {
        request = request.header(header::COOKIE, format!("idk_staff={session}"));
    }
    send(app, request.body(Body::from(form.to_owned())).unwrap()).await
}

/// The session's CSRF token, read from a page's logout form.
async fn csrf_of(app: &Router, session: &str) -> String {
    let home = get(app, "/staff", Some(session)).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    let at = home
        .body
        .find("name=\"csrf\" value=\"")
        .expect("a csrf field")
        + 19;
    home.body[at..at + 64].to_owned()
}

async fn actions(store: &Store) -> Vec<(String, String, String, String)> {
    store
        .audit_entries(i64::MIN, i64::MAX, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action, e.subject, e.detail))
        .collect()
}

#[tokio::test]
async fn every_staff_route_refuses_anonymous_and_wrong_roles() {
    assert_eq!(
        PUBLIC_ROUTES,
        &[("GET", "/staff/login"), ("POST", "/staff/login")],
        "only the login page is public"
    );
    for db in databases("center::staff routes").await {
        let c = console(&db).await;
        let mut sessions = Vec::new();
        for role in Role::ALL {
            let session = login(&c.app, role.as_str(), PASSWORD).await.ok().unwrap();
            let csrf = csrf_of(&c.app, &session).await;
            sessions.push((role, session, csrf));
        }
        let mut checked = 0;
        for route in ROUTES {
            assert!(!route.roles.is_empty(), "{} has no role", route.path);
            let example = route.example.replace(
                "320100202611250001",
                if route.example.contains("/applications/") {
                    &c.application_no
                } else {
                    "320100202611250001"
                },
            );
            // Anonymous: to the login page, whatever the method.
            let anonymous = match route.method {
                "GET" => get(&c.app, &example, None).await,
                _ => post(&c.app, &example, None, "csrf=x").await,
            };
            assert!(
                (anonymous.status == StatusCode::SEE_OTHER
                    && anonymous.location.as_deref() == Some("/staff/login"))
                    || anonymous.status == StatusCode::UNAUTHORIZED,
                "anonymous {} {example}: {}",
                route.method,
                anonymous.status
            );
            // A forged session cookie is anonymous too.
            let forged = get(&c.app, &example, Some("00ff")).await;
            assert!(
                matches!(
                    forged.status,
                    StatusCode::SEE_OTHER | StatusCode::UNAUTHORIZED
                ) || route.method == "POST",
                "forged cookie {example}: {}",
                forged.status
            );
            for (role, session, csrf) in &sessions {
                if route.path == "/staff/logout" {
                    continue; // checked below with throwaway sessions
                }
                let answer = match route.method {
                    "GET" => get(&c.app, &example, Some(session)).await,
                    _ => post(&c.app, &example, Some(session), &format!("csrf={csrf}")).await,
                };
                if route.roles.contains(role) {
                    assert!(
                        !matches!(
                            answer.status,
                            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                        ) && answer.location.as_deref() != Some("/staff/login"),
                        "{} {example} as {}: {} {}",
                        route.method,
                        role.as_str(),
                        answer.status,
                        answer.body
                    );
                } else {
                    assert_eq!(
                        answer.status,
                        StatusCode::FORBIDDEN,
                        "{} {example} as {} must be refused",
                        route.method,
                        role.as_str()
                    );
                }
                checked += 1;
            }
        }
        assert!(checked >= 3 * (ROUTES.len() - 1), "{checked} checks");
        // Logout, for every role, ends the session.
        for role in Role::ALL {
            let session = login(&c.app, role.as_str(), PASSWORD).await.ok().unwrap();
            let csrf = csrf_of(&c.app, &session).await;
            let out = post(
                &c.app,
                "/staff/logout",
                Some(&session),
                &format!("csrf={csrf}"),
            )
            .await;
            assert_eq!(out.status, StatusCode::SEE_OTHER);
            let after = get(&c.app, "/staff", Some(&session)).await;
            assert_eq!(after.location.as_deref(), Some("/staff/login"));
        }
        assert!(matches!(
            c.store.verify_audit().await.unwrap(),
            Verification::Intact { .. }
        ));
        db.finish().await;
    }
}

#[tokio::test]
async fn a_clerks_views_are_in_the_audit_log() {
    for db in databases("center::staff audit of views").await {
        let c = console(&db).await;
        let no = c.application_no.clone();
        let clerk = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();

        // The referral queue: reason in words, step, prompt; masked ID only.
        let queue = get(&c.app, "/staff/referrals", Some(&clerk)).await;
        assert_eq!(queue.status, StatusCode::OK);
        assert!(queue.body.contains("人像比对未通过") && queue.body.contains("旧证无法读取"));
        assert!(queue.body.contains("320104********0044"), "{}", queue.body);
        assert!(!queue.body.contains(ID), "the queue shows masked IDs only");
        let before = actions(&c.store).await.len();
        let detail = get(&c.app, &format!("/staff/referrals/{SESSION}"), Some(&clerk)).await;
        assert_eq!(detail.status, StatusCode::OK);
        assert!(
            detail.body.contains(ID),
            "the detail page shows the full ID"
        );

        let record = get(&c.app, &format!("/staff/applications/{no}"), Some(&clerk)).await;
        assert_eq!(record.status, StatusCode::OK, "{}", record.body);
        assert!(record.body.contains(ID) && record.body.contains("王晓燕"));
        assert!(record.body.contains("右手食指") && record.body.contains("81"));
        let photo = get(
            &c.app,
            &format!("/staff/applications/{no}/images/live_photo"),
            Some(&clerk),
        )
        .await;
        assert_eq!(photo.status, StatusCode::OK);
        let certified = get(
            &c.app,
            &format!("/staff/applications/{no}/images/certified_photo"),
            Some(&clerk),
        )
        .await;
        assert_eq!(certified.status, StatusCode::OK);
        let video = get(
            &c.app,
            &format!("/staff/applications/{no}/video"),
            Some(&clerk),
        )
        .await;
        assert_eq!(video.status, StatusCode::OK);
        assert!(video.body.contains("ftyp"));
        let csrf = csrf_of(&c.app, &clerk).await;
        let found = post(
            &c.app,
            "/staff/applications/search",
            Some(&clerk),
            &format!("csrf={csrf}&q={ID}"),
        )
        .await;
        assert_eq!(found.status, StatusCode::OK);
        assert!(found.body.contains(&no));
        let by_number = post(
            &c.app,
            "/staff/applications/search",
            Some(&clerk),
            &format!("csrf={csrf}&q={no}"),
        )
        .await;
        assert_eq!(
            by_number.location,
            Some(format!("/staff/applications/{no}"))
        );
        let by_name = post(
            &c.app,
            "/staff/applications/search",
            Some(&clerk),
            &format!("csrf={csrf}&q=%E7%8E%8B"),
        )
        .await;
        assert_eq!(
            by_name.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "no name search"
        );

        let trail = actions(&c.store).await;
        let mine: Vec<_> = trail[before..]
            .iter()
            .map(|(actor, action, subject, detail)| {
                assert_eq!(actor, "window_clerk");
                assert!(
                    !subject.contains(ID) && !detail.contains(ID),
                    "no full ID in the log"
                );
                (action.as_str(), subject.as_str(), detail.as_str())
            })
            .collect();
        let masked = "320104********0044";
        assert_eq!(
            mine,
            vec![
                ("view_referral", no.as_str(), "session S-STAFF-0001"),
                ("view_record", no.as_str(), masked),
                ("view_photo", no.as_str(), "live_photo"),
                ("view_photo", no.as_str(), "certified_photo"),
                ("view_video", no.as_str(), "video"),
                ("search_id", masked, "1 applications"),
            ]
        );

        // Deadlines: issue-by 2026-11-30 is within 7 days of 2026-11-25.
        let due = get(&c.app, "/staff/deadlines", Some(&clerk)).await;
        assert!(due.body.contains(&no) && due.body.contains("class=\"near\""));

        // The auditor sees the trail and exports it; the export is audited too.
        let auditor = login(&c.app, "auditor", PASSWORD).await.ok().unwrap();
        let page = get(&c.app, "/staff/audit?verify=1", Some(&auditor)).await;
        assert!(page.body.contains("view_video") && page.body.contains("audit chain ok"));
        let csv = get(&c.app, "/staff/audit/export.csv", Some(&auditor)).await;
        assert!(csv
            .body
            .starts_with("seq,at,at_utc,actor,role,action,subject"));
        assert!(csv.body.contains(",view_record,"));
        assert_eq!(actions(&c.store).await.last().unwrap().1, "export_audit");
        db.finish().await;
    }
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    for db in databases("center::staff csrf").await {
        let c = console(&db).await;
        let clerk = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        let q = format!("q={ID}");
        let missing = post(&c.app, "/staff/applications/search", Some(&clerk), &q).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN);
        let wrong = post(
            &c.app,
            "/staff/applications/search",
            Some(&clerk),
            &format!("{q}&csrf={}", "0".repeat(64)),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        assert!(
            !actions(&c.store).await.iter().any(|a| a.1 == "search_id"),
            "a refused POST does nothing"
        );
        let admin = login(&c.app, "administrator", PASSWORD).await.ok().unwrap();
        let forged = post(
            &c.app,
            "/staff/accounts",
            Some(&admin),
            "username=mallory&role=administrator&password=0123456789ab",
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(c.store.staff_user("mallory").await.unwrap().is_none());
        // The login form needs its double-submit token as well.
        let no_token = send(
            &c.app,
            Request::post("/staff/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "username=window_clerk&password={PASSWORD}"
                )))
                .unwrap(),
        )
        .await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN);
        assert!(cookie_value(&no_token.cookies, "idk_staff").is_none());
        db.finish().await;
    }
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_for_15_minutes() {
    for db in databases("center::staff lockout").await {
        let c = console(&db).await;
        for attempt in 1..=5 {
            let refused = login(&c.app, "window_clerk", "wrong-password")
                .await
                .err()
                .unwrap();
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
            // One answer for every refusal (issue 14): the lock is in the trail, not the page.
            assert!(
                refused.body.contains(&html_escaped(REFUSED)),
                "attempt {attempt}"
            );
        }
        // Locked: even the right password is refused, with the same answer.
        let locked = login(&c.app, "window_clerk", PASSWORD).await.err().unwrap();
        assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
        assert!(locked.body.contains(&html_escaped(REFUSED)));
        c.clock.advance(14 * 60);
        assert!(login(&c.app, "window_clerk", PASSWORD).await.is_err());
        c.clock.advance(61);
        let session = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        // Idle expiry: 30 minutes without a request.
        assert_eq!(
            get(&c.app, "/staff", Some(&session)).await.status,
            StatusCode::OK
        );
        c.clock.advance(29 * 60);
        assert_eq!(
            get(&c.app, "/staff", Some(&session)).await.status,
            StatusCode::OK
        );
        c.clock.advance(30 * 60 + 1);
        let expired = get(&c.app, "/staff", Some(&session)).await;
        assert_eq!(expired.location.as_deref(), Some("/staff/login"));
        let trail: Vec<String> = actions(&c.store).await.into_iter().map(|a| a.1).collect();
        assert_eq!(
            trail,
            [
                "login_failed",
                "login_failed",
                "login_failed",
                "login_failed",
                "login_locked",
                "login_refused_locked",
                "login_refused_locked",
                "login"
            ]
        );
        db.finish().await;
    }
}

async fn chain_of(store: &Store, n: i64) {
    for i in 1..=n {
        store
            .append_audit(&NewAuditEntry {
                at: 1_795_000_000 + i,
                actor: "window_clerk".into(),
                role: "window_clerk".into(),
                action: "view_record".into(),
                subject: format!("32010020261125{i:04}"),
                detail: "320104********0044".into(),
            })
            .await
            .unwrap();
    }
}

/// Runs raw SQL on the database behind `db`, as someone with database access would.
pub async fn tamper(db: &TestDatabase, statements: &[&str]) {
    let url = db.url();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for sql in statements {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        for sql in statements {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
}

fn broken_at(result: Verification) -> (i64, String) {
    match result {
        Verification::Broken { entry, why } => (entry, why),
        intact => panic!("tampering not found: {intact:?}"),
    }
}

#[tokio::test]
async fn editing_or_removing_an_audit_row_breaks_the_chain_at_that_entry() {
    for db in databases("center::staff audit tampering").await {
        let store = db.store().clone();
        chain_of(&store, 6).await;
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Verification::Intact { entries: 6 }
        );
        // Edit entry 3's subject.
        tamper(
            &db,
            &["UPDATE audit_log SET subject = '320100202611259999' WHERE seq = 3"],
        )
        .await;
        let (entry, why) = broken_at(store.verify_audit().await.unwrap());
        assert_eq!(entry, 3, "{why}");
        assert!(why.contains("edited"), "{why}");
        db.finish().await;
    }
    for db in databases("center::staff audit removal").await {
        let store = db.store().clone();
        chain_of(&store, 6).await;
        tamper(&db, &["DELETE FROM audit_log WHERE seq = 4"]).await;
        let (entry, why) = broken_at(store.verify_audit().await.unwrap());
        assert_eq!(entry, 4, "{why}");
        assert!(why.contains("missing"), "{why}");
        // Renumbering to hide the gap breaks the link instead.
        tamper(&db, &["UPDATE audit_log SET seq = seq - 1 WHERE seq > 4"]).await;
        let (entry, why) = broken_at(store.verify_audit().await.unwrap());
        assert_eq!(entry, 4, "{why}");
        // Removing the newest entry is caught by the head.
        db.finish().await;
    }
    for db in databases("center::staff audit truncation and reorder").await {
        let store = db.store().clone();
        chain_of(&store, 6).await;
        tamper(&db, &["DELETE FROM audit_log WHERE seq = 6"]).await;
        let (entry, why) = broken_at(store.verify_audit().await.unwrap());
        assert_eq!(entry, 6, "{why}");
        assert!(why.contains("newest entries were removed"), "{why}");
        // Appending afterwards does not heal it: the next entry follows the head.
        store
            .append_audit(&NewAuditEntry {
                at: 1_795_000_100,
                actor: "window_clerk".into(),
                role: "window_clerk".into(),
                action: "login".into(),
                subject: "-".into(),
                detail: String::new(),
            })
            .await
            .unwrap();
        let (entry, why) = broken_at(store.verify_audit().await.unwrap());
        assert_eq!(entry, 6, "{why}");
        assert!(why.contains("missing"), "{why}");
        db.finish().await;
    }
    for db in databases("center::staff audit reorder").await {
        let store = db.store().clone();
        chain_of(&store, 6).await;
        tamper(
            &db,
            &[
                "UPDATE audit_log SET seq = 100 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 100",
            ],
        )
        .await;
        let (entry, why) = broken_at(store.verify_audit().await.unwrap());
        assert_eq!(entry, 2, "{why}");
        db.finish().await;
    }
}

#[tokio::test]
async fn two_replicas_append_to_one_chain() {
    for db in databases("center::staff audit replicas").await {
        let first = db.store().clone();
        let second = db.reconnect().await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..40 {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tasks.push(tokio::spawn(async move {
                store
                    .append_audit(&NewAuditEntry {
                        at: 1_795_000_000 + i,
                        actor: format!("clerk{i}"),
                        role: "window_clerk".into(),
                        action: "view_record".into(),
                        subject: "-".into(),
                        detail: String::new(),
                    })
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            first.verify_audit().await.unwrap(),
            Verification::Intact { entries: 40 }
        );
        second.close().await;
        db.finish().await;
    }
}

#[tokio::test]
async fn a_reprint_is_the_certificate_again_and_audited() {
    if crate::world::renderer().is_none() {
        store::testing::report("center::staff reprint: SKIPPED: no fonts for the documents");
        return;
    }
    for db in databases("center::staff reprint").await {
        let c = console(&db).await;
        let no = c.application_no.clone();
        let clerk = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        let csrf = csrf_of(&c.app, &clerk).await;
        let path = format!("/staff/applications/{no}/documents/certificate");
        let refused = post(&c.app, &path, Some(&clerk), "").await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "no CSRF token, no reprint"
        );
        let pdf = post(&c.app, &path, Some(&clerk), &format!("csrf={csrf}")).await;
        assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
        assert!(pdf.body.starts_with("%PDF"));
        let again = post(&c.app, &path, Some(&clerk), &format!("csrf={csrf}")).await;
        assert_eq!(again.body, pdf.body, "byte for byte the same");
        let trail = actions(&c.store).await;
        let reprints: Vec<_> = trail
            .iter()
            .filter(|a| a.1 == "reprint_document")
            .map(|a| (a.0.as_str(), a.2.as_str(), a.3.as_str()))
            .collect();
        assert_eq!(
            reprints,
            vec![
                ("window_clerk", no.as_str(), "certificate"),
                ("window_clerk", no.as_str(), "certificate")
            ]
        );
        // The video in ranges, as a browser's player asks for it; each request audited.
        let range = send(
            &c.app,
            Request::get(format!("/staff/applications/{no}/video"))
                .header(header::COOKIE, format!("idk_staff={clerk}"))
                .header(header::RANGE, "bytes=4-7")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(range.body, "ftyp");
        assert_eq!(actions(&c.store).await.last().unwrap().3, "video bytes=4-7");
        db.finish().await;
    }
}

// Issue 13: a clerk sees whether an application reached the population system.
#[tokio::test]
async fn the_record_shows_the_delivery_to_the_population_system() {
    let db = TestDatabase::sqlite().await.unwrap();
    let c = console(&db).await;
    let now = 1_795_000_100;
    c.store
        .start_session("S-STAFF-0003", "K0001", now)
        .await
        .unwrap();
    let (app, _) = c
        .store
        .create_application(&NewApplication {
            business: domain::rules::Business::Lost,
            receipt_code: "R1234567891".into(),
            fee_cny: 40,
            accepted_on: date!(2026 - 11 - 25),
            issue_by: date!(2027 - 01 - 24),
            ..crate::support::new_application("S-STAFF-0003", ID, now)
        })
        .await
        .unwrap();
    let no = app.application_no.clone();
    let clerk = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
    let page = |body: &str| body.to_owned();
    let record = get(&c.app, &format!("/staff/applications/{no}"), Some(&clerk)).await;
    assert!(page(&record.body).contains("未上报"), "{}", record.body);

    assert!(c.store.complete_application(&no, now).await.unwrap());
    c.store
        .delivery_retry(
            &no,
            "population system unavailable: connection refused",
            now + 60,
            now,
        )
        .await
        .unwrap();
    let record = get(&c.app, &format!("/staff/applications/{no}"), Some(&clerk)).await;
    assert!(record.body.contains("重试中 retrying"), "{}", record.body);
    assert!(record.body.contains("connection refused"));
    assert!(record.body.contains("旧证挂失 Old card reported lost"));
    let deadlines = get(&c.app, "/staff/deadlines", Some(&clerk)).await;
    assert!(deadlines.body.contains("未上报人口信息系统"));
    assert!(deadlines.body.contains(&no), "{}", deadlines.body);

    c.store.delivery_done(&no, &no, now + 61).await.unwrap();
    let record = get(&c.app, &format!("/staff/applications/{no}"), Some(&clerk)).await;
    assert!(record.body.contains("已上报 delivered"), "{}", record.body);
    let deadlines = get(&c.app, "/staff/deadlines", Some(&clerk)).await;
    assert!(
        !deadlines.body.contains(&format!(">{no}<")),
        "delivered: off the list"
    );

    // The journey (issue 17): each move with its actor, each notice with its state and last
    // error, the mobile masked.
    c.store
        .advance_application(&store::journey::Advance {
            application_no: no.clone(),
            to: domain::journey::ApplicationState::Accepted,
            actor: "popsys".into(),
            role: "system".into(),
            reason: None,
            at: now + 62,
            notice: Some(store::journey::NewNotice {
                kind: domain::notice::NoticeKind::Accepted,
                mobile: "13800138000".into(),
                text: "已受理".into(),
            }),
        })
        .await
        .unwrap();
    let notice = c.store.claim_due_notices(now + 62, 60, 10).await.unwrap();
    c.store
        .notice_retry(notice[0].id, "no connection to the SMSC: refused", now + 92)
        .await
        .unwrap();
    let record = get(&c.app, &format!("/staff/applications/{no}"), Some(&clerk)).await;
    let journey = record
        .body
        .split("制证进度 Journey")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .expect("the journey section");
    assert!(journey.contains("已受理 accepted"), "{journey}");
    assert!(journey.contains("<td>popsys</td>"), "{journey}");
    assert!(journey.contains("138****8000"), "{journey}");
    assert!(!journey.contains("13800138000"), "the mobile is masked");
    assert!(journey.contains("pending"), "{journey}");
    assert!(
        journey.contains("no connection to the SMSC: refused"),
        "{journey}"
    );
    db.finish().await;
}

/// `text` as the console prints it, through askama's HTML escaper (the templates' own).
fn html_escaped(text: &str) -> String {
    use askama::filters::{Escaper, Html};
    let mut out = String::new();
    Html.write_escaped_str(&mut out, text)
        .expect("writing to a String");
    out
}

/// A refused login's page without its fresh CSRF token, to compare two answers.
fn without_token(answer: &Answer) -> String {
    let token = cookie_value(&answer.cookies, "idk_staff_login").expect("a fresh form");
    answer.body.replace(&token, "TOKEN")
}

// Regression (issue 14): a locked account answered in 3 ms with its own message, an unknown name
// in 50–100 ms and never locked, so names could be enumerated. Now every refusal is one answer
// after exactly one Argon2 verification, and unknown names lock like accounts.
#[tokio::test]
async fn unknown_locked_and_wrong_logins_get_one_answer_after_one_verification() {
    for db in databases("center::staff one answer").await {
        let c = console(&db).await;
        let mut answers = Vec::new();
        let attempt = |name: &'static str, password: &'static str| {
            let app = c.app.clone();
            let staff = c.staff.clone();
            async move {
                let before = staff.password_verifications();
                let refused = login(&app, name, password).await.expect_err("refused");
                assert_eq!(
                    staff.password_verifications(),
                    before + 1,
                    "{name}: exactly one password verification"
                );
                assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{name}");
                without_token(&refused)
            }
        };
        // Wrong password of a known account, an unknown name: the same page.
        answers.push(attempt("window_clerk", "wrong-password").await);
        answers.push(attempt("nobody", "wrong-password").await);
        // Lock the clerk and the unknown name (4 more failures each).
        for _ in 0..4 {
            answers.push(attempt("window_clerk", "wrong-password").await);
            answers.push(attempt("nobody", "wrong-password").await);
        }
        // Locked account with its right password, locked unknown name: still the same page.
        answers.push(attempt("window_clerk", PASSWORD).await);
        answers.push(attempt("nobody", PASSWORD).await);
        assert!(answers.iter().all(|a| a == &answers[0]), "one answer");
        assert!(answers[0].contains(&html_escaped(REFUSED)));
        // The trail tells them apart: both were locked on the 5th failure.
        let trail: Vec<(String, String)> = actions(&c.store)
            .await
            .into_iter()
            .map(|a| (a.0, a.1))
            .collect();
        let of = |who: &str| -> Vec<String> {
            trail
                .iter()
                .filter(|(actor, _)| actor == who)
                .map(|(_, action)| action.clone())
                .collect()
        };
        let locked_sequence = [
            "login_failed",
            "login_failed",
            "login_failed",
            "login_failed",
            "login_locked",
            "login_refused_locked",
        ];
        assert_eq!(of("window_clerk"), locked_sequence);
        assert_eq!(of("nobody"), locked_sequence);
        db.finish().await;
    }
}

// Regression (issue 14): nothing limited how many logins one address could try.
#[tokio::test]
async fn failed_logins_from_one_address_are_throttled_with_429() {
    for db in databases("center::staff throttle").await {
        let c = console_with(&db, |state| {
            state.staff.login_throttle = center::staff::LoginThrottle {
                max_failures: 3,
                window_secs: 600,
            };
        })
        .await;
        for name in ["window_clerk", "nobody", "auditor"] {
            let refused = login_from(&c.app, name, "wrong-password", Some("10.0.0.1"))
                .await
                .err()
                .unwrap();
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        }
        let before = c.staff.password_verifications();
        // The 4th try from that address is refused before any password is checked, even right.
        let throttled = login_from(&c.app, "administrator", PASSWORD, Some("10.0.0.1"))
            .await
            .err()
            .unwrap();
        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(throttled.body.contains("Too many failed logins"));
        assert_eq!(c.staff.password_verifications(), before);
        // Another address is not affected; a success does not count.
        assert!(
            login_from(&c.app, "administrator", PASSWORD, Some("10.0.0.2"))
                .await
                .is_ok()
        );
        // After the window, the address may try again.
        c.clock.advance(601);
        assert!(
            login_from(&c.app, "administrator", PASSWORD, Some("10.0.0.1"))
                .await
                .is_ok()
        );
        db.finish().await;
    }
}

// Regression (issue 14): a password change left old sessions open and there was no way to disable
// an account.
#[tokio::test]
async fn a_password_change_or_disable_ends_every_session_of_the_account() {
    for db in databases("center::staff sessions end").await {
        let c = console(&db).await;
        let first = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        let second = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        let other = login(&c.app, "auditor", PASSWORD).await.ok().unwrap();
        assert_eq!(
            c.store.staff_session_count("window_clerk").await.unwrap(),
            2
        );
        let new_password = "another-long-password";
        assert!(c
            .store
            .set_staff_password("window_clerk", &hash_password(new_password).unwrap())
            .await
            .unwrap());
        for session in [&first, &second] {
            let gone = get(&c.app, "/staff", Some(session)).await;
            assert_eq!(gone.location.as_deref(), Some("/staff/login"));
        }
        assert_eq!(
            get(&c.app, "/staff", Some(&other)).await.status,
            StatusCode::OK
        );
        // Disabled: its session ends, and its right password gets the one refusal.
        let third = login(&c.app, "window_clerk", new_password)
            .await
            .ok()
            .unwrap();
        assert!(c
            .store
            .set_staff_disabled("window_clerk", true, 1_795_000_100)
            .await
            .unwrap());
        let gone = get(&c.app, "/staff", Some(&third)).await;
        assert_eq!(gone.location.as_deref(), Some("/staff/login"));
        let refused = login(&c.app, "window_clerk", new_password)
            .await
            .err()
            .unwrap();
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.body.contains(&html_escaped(REFUSED)));
        assert!(c
            .store
            .set_staff_disabled("window_clerk", false, 1_795_000_200)
            .await
            .unwrap());
        assert!(login(&c.app, "window_clerk", new_password).await.is_ok());
        let trail: Vec<String> = actions(&c.store)
            .await
            .into_iter()
            .filter(|a| a.0 == "window_clerk")
            .map(|a| a.1)
            .collect();
        assert_eq!(
            trail,
            ["login", "login", "login", "login_refused_disabled", "login"]
        );
        db.finish().await;
    }
}

// Regression (issue 14): a session stayed open as long as it was used.
#[tokio::test]
async fn a_session_ends_after_its_absolute_lifetime_however_active() {
    for db in databases("center::staff absolute lifetime").await {
        let c = console(&db).await;
        let session = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        // A request every 20 minutes for 11 h 40 min: still signed in.
        for _ in 0..35 {
            c.clock.advance(20 * 60);
            let page = get(&c.app, "/staff", Some(&session)).await;
            assert_eq!(page.status, StatusCode::OK);
        }
        // 12 hours after sign-in (20 more minutes), it is over.
        c.clock.advance(20 * 60);
        let over = get(&c.app, "/staff", Some(&session)).await;
        assert_eq!(over.location.as_deref(), Some("/staff/login"));
        // Configurable: a 1-hour lifetime.
        let db2 = db_again(&db).await;
        let short = console_with(&db2, |state| {
            state.staff.session_lifetime_secs = 3600;
        })
        .await;
        let session = login(&short.app, "window_clerk", PASSWORD)
            .await
            .ok()
            .unwrap();
        short.clock.advance(25 * 60);
        assert_eq!(
            get(&short.app, "/staff", Some(&session)).await.status,
            StatusCode::OK
        );
        short.clock.advance(25 * 60);
        assert_eq!(
            get(&short.app, "/staff", Some(&session)).await.status,
            StatusCode::OK
        );
        short.clock.advance(10 * 60);
        let over = get(&short.app, "/staff", Some(&session)).await;
        assert_eq!(over.location.as_deref(), Some("/staff/login"));
        db2.finish().await;
        db.finish().await;
    }
}

/// A second, fresh database of the same backend as `db`.
async fn db_again(db: &TestDatabase) -> TestDatabase {
    if db.url().starts_with("sqlite:") {
        TestDatabase::sqlite().await.unwrap()
    } else {
        let url = store::testing::postgres_url("center::staff second database").unwrap();
        TestDatabase::postgres(&url).await.unwrap()
    }
}

// Regression (issue 14): `Clerk1` and `clerk1` could be two accounts, and a lockout of one was
// dodged by typing the other.
#[tokio::test]
async fn user_names_are_case_insensitive() {
    for db in databases("center::staff case-insensitive names").await {
        let c = console(&db).await;
        let session = login(&c.app, "Window_Clerk", PASSWORD).await.ok().unwrap();
        assert_eq!(
            get(&c.app, "/staff", Some(&session)).await.status,
            StatusCode::OK
        );
        let taken = c
            .store
            .create_staff_user(
                "WINDOW_CLERK",
                Role::Auditor,
                &hash_password(PASSWORD).unwrap(),
                0,
            )
            .await;
        assert!(
            matches!(taken, Err(store::StoreError::Rejected(_))),
            "{taken:?}"
        );
        // Failures under any case count for the one account.
        for name in [
            "WINDOW_CLERK",
            "window_clerk",
            "Window_clerk",
            "wINDOW_CLERK",
            "window_CLERK",
        ] {
            assert!(login(&c.app, name, "wrong-password").await.is_err());
        }
        assert!(
            login(&c.app, "window_clerk", PASSWORD).await.is_err(),
            "locked"
        );
        let trail: Vec<(String, String)> = actions(&c.store)
            .await
            .into_iter()
            .map(|a| (a.0, a.1))
            .collect();
        assert!(
            trail.iter().all(|(actor, _)| actor == "window_clerk"),
            "{trail:?}"
        );
        assert_eq!(trail[5].1, "login_locked");
        db.finish().await;
    }
}

// Regression (issue 14): the cookies were never `Secure`, even behind HTTPS.
#[tokio::test]
async fn cookies_are_secure_when_the_console_is_served_over_tls() {
    for db in databases("center::staff secure cookies").await {
        let plain = console(&db).await;
        let page = get(&plain.app, "/staff/login", None).await;
        assert!(
            page.cookies.iter().all(|c| !c.contains("Secure")),
            "{:?}",
            page.cookies
        );
        let db2 = db_again(&db).await;
        let tls = console_with(&db2, |state| {
            state.staff.secure_cookies = true;
        })
        .await;
        let page = get(&tls.app, "/staff/login", None).await;
        assert!(
            page.cookies.iter().all(|c| c.contains("; Secure")),
            "{:?}",
            page.cookies
        );
        let page = send(
            &tls.app,
            Request::post("/staff/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, "idk_staff_login=t")
                .body(Body::from(format!(
                    "username=window_clerk&password={PASSWORD}&csrf=t"
                )))
                .unwrap(),
        )
        .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let session = page
            .cookies
            .iter()
            .find(|c| c.starts_with("idk_staff="))
            .unwrap();
        assert!(
            session.contains("; Secure") && session.contains("HttpOnly"),
            "{session}"
        );
        db2.finish().await;
        db.finish().await;
    }
}

/// A fresh folder for a checkpoint key and file.
fn anchor_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("idkiosk-anchor-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn anchored(dir: &std::path::Path, every_entries: i64) -> Arc<AuditAnchor> {
    Arc::new(
        AuditAnchor::open(
            &dir.join("audit.key"),
            &dir.join("audit.checkpoints"),
            AnchorPolicy {
                every_entries,
                every_secs: 3600,
            },
        )
        .unwrap(),
    )
}

async fn append_through_center(state: &center::AppState, n: i64) {
    for i in 1..=n {
        center::staff::append_audit(
            state,
            &NewAuditEntry {
                at: 1_795_000_000 + i,
                actor: "window_clerk".into(),
                role: "window_clerk".into(),
                action: "view_record".into(),
                subject: format!("32010020261125{i:04}"),
                detail: String::new(),
            },
        )
        .await
        .unwrap();
    }
}

fn checkpoints_of(dir: &std::path::Path) -> Vec<Checkpoint> {
    let key = CheckpointPublicKey::from_file(&dir.join("audit.key.pub")).unwrap();
    read_checkpoints(&dir.join("audit.checkpoints"), &key).unwrap()
}

// Regression (issue 14): `audit verify` passed a chain whose newest rows were deleted with the head
// rewound, and an emptied one ("audit chain ok: 0 entries"). The center now writes signed
// checkpoints outside the database, and verification against them names what is missing.
#[tokio::test]
async fn a_wiped_or_rewound_chain_fails_against_its_checkpoints() {
    for db in databases("center::staff audit anchoring").await {
        let dir = anchor_dir();
        let anchor = anchored(&dir, 5);
        let c = console_with(&db, |state| state.staff.audit_anchor = Some(anchor.clone())).await;
        append_through_center(&c.state, 12).await;
        // Entry 1 (the first), then every 5 entries: 1, 6, 11.
        let checkpoints = checkpoints_of(&dir);
        let counts: Vec<i64> = checkpoints.iter().map(|cp| cp.entries).collect();
        assert_eq!(counts, [1, 6, 11]);
        // The hourly tick anchors the head without new entries.
        c.clock.advance(3600);
        assert!(matches!(
            center::staff::checkpoint_now(&c.state, false)
                .await
                .unwrap(),
            Anchored::Written(Checkpoint { entries: 12, .. })
        ));
        let checkpoints = checkpoints_of(&dir);
        assert_eq!(
            c.store.verify_audit_anchored(&checkpoints).await.unwrap(),
            Verification::Intact { entries: 12 }
        );
        let head12 = checkpoints.last().unwrap().head.clone();

        // Rewound: entries 8-12 deleted and the head moved back to entry 7.
        tamper(
            &db,
            &[
                "DELETE FROM audit_log WHERE seq > 7",
                "UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_log WHERE seq = 7)",
            ],
        )
        .await;
        assert_eq!(
            c.store.verify_audit().await.unwrap(),
            Verification::Intact { entries: 7 },
            "the chain alone cannot tell"
        );
        let (entry, why) = broken_at(c.store.verify_audit_anchored(&checkpoints).await.unwrap());
        assert_eq!(entry, 8, "{why}");
        assert!(
            why.starts_with("the chain ends at entry 7 but checkpoint ")
                && why.contains(&format!("covers 12 entries with head hash {head12}"))
                && why.contains("entries #8–#12 are missing (the chain was rewound)"),
            "{why}"
        );
        // The center refuses to anchor the rewound head, and the console's check fails too.
        assert!(matches!(
            center::staff::checkpoint_now(&c.state, true).await.unwrap(),
            Anchored::Behind { .. }
        ));
        let auditor = login(&c.app, "auditor", PASSWORD).await.ok().unwrap();
        let page = get(&c.app, "/staff/audit?verify=1", Some(&auditor)).await;
        assert!(
            page.body.contains(
                "audit chain broken at entry #9: the chain ends at entry 8 but checkpoint "
            ),
            "{}",
            page.body
        );
        // New entries after the rewind do not heal it: entry 11's hash is not the checkpoint's.
        let rewritten = checkpoints
            .iter()
            .filter(|cp| cp.entries <= 11)
            .cloned()
            .collect::<Vec<_>>();
        append_through_center(&c.state, 6).await;
        let (entry, why) = broken_at(c.store.verify_audit_anchored(&rewritten).await.unwrap());
        assert_eq!(entry, 11, "{why}");
        assert!(why.contains("the chain was rewritten up to there"), "{why}");

        // Wiped: every row and the head gone.
        tamper(&db, &["DELETE FROM audit_log", "DELETE FROM audit_head"]).await;
        assert_eq!(
            c.store.verify_audit().await.unwrap(),
            Verification::Intact { entries: 0 }
        );
        let (entry, why) = broken_at(c.store.verify_audit_anchored(&checkpoints).await.unwrap());
        assert_eq!(entry, 1, "{why}");
        assert!(
            why.starts_with("the chain ends at entry 0 but checkpoint ")
                && why.contains("covers 12 entries")
                && why.contains("entries #1–#12 are missing (the chain was emptied)"),
            "{why}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        db.finish().await;
    }
}

#[tokio::test]
async fn a_forged_checkpoint_is_refused() {
    let dir = anchor_dir();
    let anchor = anchored(&dir, 1);
    anchor
        .offer(3, &"ab".repeat(32), 1_795_000_000, true)
        .unwrap();
    assert_eq!(checkpoints_of(&dir).len(), 1);
    // A line signed by another key (someone who can write the file but has not the key).
    let intruder = CheckpointSigner::create(&dir.join("intruder.key")).unwrap();
    let forged = intruder.sign(Checkpoint {
        at: 1_795_000_100,
        entries: 2,
        head: "cd".repeat(32),
    });
    store::audit::checkpoint::append_checkpoint(&dir.join("audit.checkpoints"), &forged).unwrap();
    let key = CheckpointPublicKey::from_file(&dir.join("audit.key.pub")).unwrap();
    let err = read_checkpoints(&dir.join("audit.checkpoints"), &key).unwrap_err();
    assert!(
        err.to_string().starts_with("checkpoint line 2 of ")
            && err.to_string().contains("bad signature")
            && err.to_string().contains("forged or damaged"),
        "{err}"
    );
    // A genuine line with its count lowered (to match a rewound chain) fails the same way.
    let text = std::fs::read_to_string(dir.join("audit.checkpoints")).unwrap();
    let first = text
        .lines()
        .next()
        .unwrap()
        .replace("\"entries\":3", "\"entries\":1");
    std::fs::write(dir.join("audit.checkpoints"), format!("{first}\n")).unwrap();
    let err = read_checkpoints(&dir.join("audit.checkpoints"), &key).unwrap_err();
    assert!(
        err.to_string().contains("line 1") && err.to_string().contains("bad signature"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An application on `day` for `id`, its session started (and, for a completed one, its delivery
/// queued) at `now`; returns its number.
async fn file_on(
    store: &Store,
    session: &str,
    id: &str,
    name: &str,
    day: time::Date,
    complete: bool,
) -> String {
    let now = 1_795_000_000;
    store.start_session(session, "K0001", now).await.unwrap();
    let (application, _) = store
        .create_application(&NewApplication {
            name: name.into(),
            business: domain::rules::Business::Lost,
            mobile: "13800138001".into(),
            fee_cny: 40,
            validity: domain::rules::NewCardValidity::TenYears,
            accepted_on: day,
            issue_by: day + time::Duration::days(60),
            ..crate::support::new_application(session, id, now)
        })
        .await
        .unwrap();
    if complete {
        store
            .complete_application(&application.application_no, now)
            .await
            .unwrap();
    }
    application.application_no
}

/// Regression (issue 15, item 8): the console showed raw codes (`expiry_renewal`, `20_years`,
/// `PAYERROR`, `face_mismatch`, `right_index`); every page a clerk reads shows words instead,
/// Chinese first and English beside it.
#[tokio::test]
async fn the_console_shows_words_not_codes() {
    for db in databases("center::staff labels").await {
        let c = console(&db).await;
        let no = c.application_no.clone();
        c.store
            .create_payment(&store::sessions::NewPayment {
                out_trade_no: format!("{no}-1"),
                application_no: no.clone(),
                session_id: SESSION.into(),
                attempt: 1,
                method: domain::session::PaymentMethod::WeChat,
                amount_fen: domain::money::Fen::new(2000).unwrap(),
                expires_at: 1_795_000_600,
                now: 1_795_000_000,
            })
            .await
            .unwrap();
        c.store
            .set_payment_state(
                &format!("{no}-1"),
                domain::trade_state::TradeState::PayError,
                1_795_000_100,
            )
            .await
            .unwrap();
        let clerk = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        let csrf = csrf_of(&c.app, &clerk).await;
        let pages = [
            get(&c.app, &format!("/staff/applications/{no}"), Some(&clerk)).await,
            get(&c.app, "/staff/referrals", Some(&clerk)).await,
            get(&c.app, &format!("/staff/referrals/{SESSION}"), Some(&clerk)).await,
            get(&c.app, "/staff/deadlines", Some(&clerk)).await,
            post(
                &c.app,
                "/staff/applications/search",
                Some(&clerk),
                &format!("csrf={csrf}&q={ID}"),
            )
            .await,
        ];
        for page in &pages {
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            for code in [
                "expiry_renewal",
                "20_years",
                "PAYERROR",
                "face_mismatch",
                "card_unreadable",
                "right_index",
                ">referred<",
                ">local<",
                ">wechat<",
            ] {
                assert!(!page.body.contains(code), "{code} shown raw: {}", page.body);
            }
        }
        let [record, queue, referral, due, found] = pages;
        for words in [
            "到期换领 Expiry renewal",
            "20年 20 years",
            "已转窗口 Referred to the window",
            "本市户籍",
            "微信支付 WeChat Pay",
            "支付失败 Failed",
            "右手食指 Right index finger",
            "领取凭证 Collection certificate",
        ] {
            assert!(record.body.contains(words), "{words}: {}", record.body);
        }
        for page in [&queue, &referral] {
            // The reason in words, with the message the kiosk showed.
            assert!(
                page.body.contains("人像比对未通过 Face comparison failed"),
                "{}",
                page.body
            );
            let shown = domain::session::ReferralReason::FaceMismatch.prompt();
            assert!(page.body.contains(&html_escaped(shown.zh)), "{}", page.body);
            assert!(
                page.body.contains("Step 7 face comparison"),
                "{}",
                page.body
            );
        }
        assert!(queue
            .body
            .contains("旧证无法读取 The old card could not be read"));
        for page in [&due, &found] {
            assert!(
                page.body.contains("到期换领 Expiry renewal"),
                "{}",
                page.body
            );
        }
        db.finish().await;
    }
}

/// Regression (issue 15, item 8): the referral queue was filled with sessions the citizen
/// cancelled or left to time out; they are hidden unless the clerk asks for all.
#[tokio::test]
async fn the_referral_queue_hides_cancellations_and_timeouts_by_default() {
    for db in databases("center::staff queue filter").await {
        let c = console(&db).await;
        for (session, reason) in [("S-CANCELLED", "cancelled"), ("S-TIMED-OUT", "timeout")] {
            c.store
                .start_session(session, "K0003", 1_795_000_000)
                .await
                .unwrap();
            c.store
                .end_session(
                    session,
                    &format!(r#"{{"outcome":"referred","step":2,"reason":"{reason}"}}"#),
                    1_795_000_010,
                )
                .await
                .unwrap();
        }
        let clerk = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        let queue = get(&c.app, "/staff/referrals", Some(&clerk)).await;
        assert_eq!(queue.status, StatusCode::OK);
        assert!(queue.body.contains(SESSION) && queue.body.contains(REFERRED_SESSION));
        assert!(
            !queue.body.contains("S-CANCELLED") && !queue.body.contains("S-TIMED-OUT"),
            "{}",
            queue.body
        );
        assert!(queue.body.contains("已隐藏 2 条"), "{}", queue.body);
        assert!(
            queue.body.contains("href=\"/staff/referrals?all=1\""),
            "a visible show-all link"
        );
        let all = get(&c.app, "/staff/referrals?all=1", Some(&clerk)).await;
        assert_eq!(all.status, StatusCode::OK);
        for session in [SESSION, REFERRED_SESSION, "S-CANCELLED", "S-TIMED-OUT"] {
            assert!(all.body.contains(session), "{session}: {}", all.body);
        }
        assert!(all.body.contains("群众取消办理 Cancelled by the citizen"));
        assert!(all.body.contains("长时间无操作 Timed out: no activity"));
        db.finish().await;
    }
}

/// Issue 15, item 8: the clerk's office lists today's applications (Asia/Shanghai day), masked,
/// in words, with their delivery, each linking to its record; yesterday's are not on it.
#[tokio::test]
async fn todays_applications_are_listed_for_the_clerks_office() {
    for db in databases("center::staff today").await {
        let c = console(&db).await;
        let today = c.state.today.today();
        let todays = file_on(
            &c.store,
            "S-TODAY",
            "320104199001010013",
            "李建国",
            today,
            true,
        )
        .await;
        let yesterdays = file_on(
            &c.store,
            "S-YESTERDAY",
            "320104198502020020",
            "赵敏",
            today - time::Duration::days(1),
            false,
        )
        .await;
        let clerk = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        let home = get(&c.app, "/staff", Some(&clerk)).await;
        assert!(home.body.contains("href=\"/staff/today\""), "{}", home.body);
        let page = get(&c.app, "/staff/today", Some(&clerk)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body
                .contains(&format!("<a href=\"/staff/applications/{todays}\">")),
            "{}",
            page.body
        );
        assert!(!page.body.contains(&yesterdays), "{}", page.body);
        assert!(
            !page.body.contains(&c.application_no),
            "accepted on 2026-09-01"
        );
        assert!(page.body.contains("320104********0013"), "{}", page.body);
        assert!(!page.body.contains("320104199001010013"), "masked IDs only");
        assert!(!page.body.contains("李建国"), "masked names only");
        assert!(page.body.contains("丢失补领 Lost replacement"));
        assert!(page.body.contains("已办结 Completed"));
        assert!(page.body.contains("待上报 queued"), "{}", page.body);
        assert!(!page.body.contains(">lost<") && !page.body.contains(">completed<"));
        // Clerks only: it holds citizens' (masked) data.
        let auditor = login(&c.app, "auditor", PASSWORD).await.ok().unwrap();
        assert_eq!(
            get(&c.app, "/staff/today", Some(&auditor)).await.status,
            StatusCode::FORBIDDEN
        );
        // The administrator's home links to the fleet view.
        let admin = login(&c.app, "administrator", PASSWORD).await.ok().unwrap();
        let home = get(&c.app, "/staff", Some(&admin)).await;
        assert!(home.body.contains("href=\"/fleet\""), "{}", home.body);
        assert!(!home.body.contains("href=\"/staff/today\""));
        db.finish().await;
    }
}

/// Issue 15, item 3: a citizen who paid but got no papers reaches the window's queue as such,
/// with what the kiosk told them (the payment is recorded, the window prints the papers).
#[tokio::test]
async fn a_paid_session_whose_papers_did_not_print_is_in_the_queue_as_paid() {
    for db in databases("center::staff paid not printed").await {
        let c = console(&db).await;
        c.store
            .start_session("S-PAID-NOT-PRINTED", "K0004", 1_795_000_000)
            .await
            .unwrap();
        c.store
            .end_session(
                "S-PAID-NOT-PRINTED",
                r#"{"outcome":"referred","step":12,"reason":"paid_not_printed"}"#,
                1_795_000_010,
            )
            .await
            .unwrap();
        let clerk = login(&c.app, "window_clerk", PASSWORD).await.ok().unwrap();
        for path in ["/staff/referrals", "/staff/referrals/S-PAID-NOT-PRINTED"] {
            let page = get(&c.app, path, Some(&clerk)).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            assert!(
                page.body.contains("已缴费，凭证未打印"),
                "{path}: {}",
                page.body
            );
            let shown = domain::prompts::PAID_NOT_PRINTED;
            assert!(
                page.body.contains(&html_escaped(shown.zh)),
                "{path}: {}",
                page.body
            );
            assert!(
                !page.body.contains("paid_not_printed"),
                "{path}: code shown raw"
            );
        }
        db.finish().await;
    }
}
