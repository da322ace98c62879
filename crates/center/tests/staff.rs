//! The staff console and the audit chain: every route of `center::staff::ROUTES` refuses an
//! anonymous request and a wrong role; views of a citizen's data are audited; CSRF; lockout;
//! tampering with the audit table is found and named. SQLite always, PostgreSQL when
//! `IDKIOSK_TEST_PG_URL` is set.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use center::staff::{hash_password, Role, PUBLIC_ROUTES, ROUTES};
use http_body_util::BodyExt;
use popsys::StorePopulationSystem;
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
}

/// A center on `db` with one staff account per role and one application (with photo, signature
/// and video) whose session was referred at step 7.
async fn console(db: &TestDatabase) -> Console {
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
            .create_staff_user(role.as_str(), role.as_str(), &phc, 0)
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
            session_id: SESSION.into(),
            kiosk_id: "K0001".into(),
            city_code: "320100".into(),
            id_number: ID.into(),
            name: "王晓燕".into(),
            nation_code: "01".into(),
            address: "南京市玄武区北京东路1号".into(),
            business: "expiry_renewal".into(),
            household: "local".into(),
            receipt_code: "R1234567890".into(),
            mobile: "13800138000".into(),
            fee_cny: 20,
            validity: "20_years".into(),
            accepted_on: date!(2026 - 09 - 01),
            issue_by: date!(2026 - 11 - 30),
            remote_area: false,
            fingers: r#"[{"position":"right_index","quality":81},{"position":"left_index","quality":77}]"#.into(),
            now,
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
        .finish_application(&application.application_no, "referred")
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
    Console {
        app: center::app(state),
        store,
        clock,
        application_no: application.application_no,
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
    let page = send(
        app,
        Request::get("/staff/login").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = cookie_value(&page.cookies, "idk_staff_login").expect("login csrf cookie");
    assert!(page.body.contains(&csrf), "the form carries the token");
    let answer = send(
        app,
        Request::post("/staff/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("idk_staff_login={csrf}"))
            .body(Body::from(format!(
                "username={user}&password={password}&csrf={csrf}"
            )))
            .unwrap(),
    )
    .await;
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

        // The referral queue: reason code, step, prompt; masked ID only.
        let queue = get(&c.app, "/staff/referrals", Some(&clerk)).await;
        assert_eq!(queue.status, StatusCode::OK);
        assert!(queue.body.contains("face_mismatch") && queue.body.contains("card_unreadable"));
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
        assert!(record.body.contains("right_index") && record.body.contains("81"));
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
            assert_eq!(
                refused.body.contains("Locked for 15 minutes"),
                attempt == 5,
                "attempt {attempt}"
            );
        }
        // Locked: even the right password is refused.
        let locked = login(&c.app, "window_clerk", PASSWORD).await.err().unwrap();
        assert!(locked.body.contains("Locked for 15 minutes"));
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
async fn tamper(db: &TestDatabase, statements: &[&str]) {
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
            session_id: "S-STAFF-0003".into(),
            kiosk_id: "K0001".into(),
            city_code: "320100".into(),
            id_number: ID.into(),
            name: "王晓燕".into(),
            nation_code: "01".into(),
            address: "南京市玄武区北京东路1号".into(),
            business: "lost".into(),
            household: "local".into(),
            receipt_code: "R1234567891".into(),
            mobile: "13800138000".into(),
            fee_cny: 40,
            validity: "20_years".into(),
            accepted_on: date!(2026 - 11 - 25),
            issue_by: date!(2027 - 01 - 24),
            remote_area: false,
            fingers: "[]".into(),
            now,
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
    db.finish().await;
}
