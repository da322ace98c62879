//! Collection at the window (issue 17 item 4, `center::staff` collection): a clerk hands over a
//! ready card after a face comparison or a check by eye, to the applicant or a proxy; every other
//! state is refused naming it; audited, with no full ID number in the audit log. The face engine
//! is the colour test double of `world` (a picture's "face" is its colour). SQLite always,
//! PostgreSQL when `IDKIOSK_TEST_PG_URL` is set.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use center::staff::{hash_password, Role};
use domain::journey::{ApplicationState, Collector, IdentityCheck};
use http_body_util::BodyExt;
use popsys::StorePopulationSystem;
use store::journey::{Advance, Handover};
use store::sessions::NewApplication;
use store::testing::TestDatabase;
use store::Store;
use tower::ServiceExt;

use crate::support::state_over;
use crate::world::{databases, jpeg, ColourEngine, FACE, STRANGER};

const PASSWORD: &str = "correct-horse-battery";
const ID: &str = "320104200012100044";
const PROXY_ID: &str = "11010519491231002X";
const NOW: i64 = 1_795_000_000;

pub(crate) struct Window {
    pub(crate) app: Router,
    pub(crate) store: Store,
    pub(crate) clerk: String,
    pub(crate) csrf: String,
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) location: Option<String>,
    pub(crate) body: String,
}

pub(crate) async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("answers");
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(crate) async fn get(app: &Router, path: &str, session: &str) -> Answer {
    send(
        app,
        Request::get(path)
            .header(header::COOKIE, format!("idk_staff={session}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Signs `user` in; the session cookie and its CSRF token.
pub(crate) async fn login(app: &Router, user: &str) -> (String, String) {
    let page = send(
        app,
        Request::get("/staff/login").body(Body::empty()).unwrap(),
    )
    .await;
    let at = page
        .body
        .find("name=\"csrf\" value=\"")
        .expect("a csrf field")
        + 19;
    let login_csrf = page.body[at..at + 64].to_owned();
    let response = app
        .clone()
        .oneshot(
            Request::post("/staff/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("idk_staff_login={login_csrf}"))
                .body(Body::from(format!(
                    "username={user}&password={PASSWORD}&csrf={login_csrf}"
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .find_map(|c| {
            c.to_str()
                .unwrap()
                .split(';')
                .next()?
                .strip_prefix("idk_staff=")
                .map(str::to_owned)
        })
        .expect("a session cookie");
    let home = get(app, "/staff", &session).await;
    let at = home
        .body
        .find("name=\"csrf\" value=\"")
        .expect("a csrf field")
        + 19;
    (session, home.body[at..at + 64].to_owned())
}

/// A center on `db` with one account per role and one application (live photo of [`FACE`]),
/// moved to `state` along the journey.
pub(crate) async fn window(db: &TestDatabase, state: ApplicationState) -> (Window, String) {
    let store = db.store().clone();
    let mut center = state_over(
        Arc::new(StorePopulationSystem::new(store.clone())),
        store.clone(),
    );
    center.face = Some(Arc::new(ColourEngine::new()));
    let session = "S-COLLECT-0001";
    store.start_session(session, "K0001", NOW).await.unwrap();
    let (application, _) = store
        .create_application(&NewApplication {
            receipt_code: "R1234567890".into(),
            ..crate::support::new_application(session, ID, NOW)
        })
        .await
        .unwrap();
    store
        .put_session_blob(session, "live_photo", &jpeg(FACE), NOW)
        .await
        .unwrap();
    let no = application.application_no;
    let path = [
        ApplicationState::Accepted,
        ApplicationState::InProduction,
        ApplicationState::Ready,
        ApplicationState::Collected,
    ];
    for to in path {
        if store.application_state(&no).await.unwrap() == Some(state) {
            break;
        }
        move_to(&store, &no, to).await;
    }
    assert_eq!(store.application_state(&no).await.unwrap(), Some(state));
    (window_over(center).await, no)
}

/// The staff console of `center`, with a user of each role, a window clerk logged in.
pub(crate) async fn window_over(center: center::AppState) -> Window {
    let store = center.store.clone();
    let phc = hash_password(PASSWORD).unwrap();
    for role in Role::ALL {
        store
            .create_staff_user(role.as_str(), role, &phc, 0)
            .await
            .unwrap();
    }
    let app = center::app(center);
    let (clerk, csrf) = login(&app, "window_clerk").await;
    Window {
        app,
        store,
        clerk,
        csrf,
    }
}

pub(crate) async fn move_to(store: &Store, no: &str, to: ApplicationState) {
    store
        .advance_application(&Advance {
            application_no: no.to_owned(),
            to,
            actor: "popsys".into(),
            role: "system".into(),
            reason: None,
            at: NOW,
            notice: None,
        })
        .await
        .unwrap();
}

/// A multipart hand-over form: text fields and an optional photo.
fn multipart(fields: &[(&str, &str)], photo: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "----idkioskCollectionBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(photo) = photo {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; \
                 filename=\"window.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(photo);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Window {
    /// Posts the hand-over form of `no` with the clerk's CSRF token and `fields`.
    pub(crate) async fn collect(
        &self,
        no: &str,
        fields: &[(&str, &str)],
        photo: Option<&[u8]>,
    ) -> Answer {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(no, &self.clerk, &all, photo).await
    }

    async fn post(
        &self,
        no: &str,
        session: &str,
        fields: &[(&str, &str)],
        photo: Option<&[u8]>,
    ) -> Answer {
        let (content_type, body) = multipart(fields, photo);
        send(
            &self.app,
            Request::post(format!("/staff/collection/{no}"))
                .header(header::CONTENT_TYPE, content_type)
                .header(header::COOKIE, format!("idk_staff={session}"))
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    pub(crate) async fn state(&self, no: &str) -> ApplicationState {
        self.store.application_state(no).await.unwrap().unwrap()
    }

    pub(crate) async fn audit(&self) -> Vec<(String, String, String, String)> {
        self.store
            .audit_entries(i64::MIN, i64::MAX, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action, e.subject, e.detail))
            .collect()
    }
}

pub(crate) const BY_EYE: &[(&str, &str)] = &[
    ("method", "by_eye"),
    ("confirmed", "yes"),
    ("collector", "applicant"),
];

#[tokio::test]
async fn a_ready_card_is_handed_over_by_eye_audited_and_shown() {
    for db in databases("center::staff collection by eye").await {
        let (w, no) = window(&db, ApplicationState::Ready).await;
        let scan = get(&w.app, "/staff/collection", &w.clerk).await;
        assert_eq!(scan.status, StatusCode::OK);
        assert!(
            scan.body.contains("inputmode=\"numeric\"") && scan.body.contains("autofocus"),
            "{}",
            scan.body
        );
        let found = get(&w.app, &format!("/staff/collection?no={no}"), &w.clerk).await;
        assert_eq!(found.status, StatusCode::SEE_OTHER);
        assert_eq!(found.location, Some(format!("/staff/collection/{no}")));
        let bad = get(&w.app, "/staff/collection?no=12345", &w.clerk).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);

        let page = get(&w.app, &format!("/staff/collection/{no}"), &w.clerk).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("320104********0044"), "{}", page.body);
        assert!(!page.body.contains(ID), "the page shows the number masked");
        assert!(page.body.contains("*晓燕"), "{}", page.body);
        assert!(page.body.contains("待领取"), "{}", page.body);
        assert!(page
            .body
            .contains(&format!("/staff/applications/{no}/images/live_photo")));
        assert!(page
            .body
            .contains(&format!("/staff/applications/{no}/images/certified_photo")));
        assert!(
            page.body.contains("id=\"handover\""),
            "a ready card has the form"
        );

        let done = w.collect(&no, BY_EYE, None).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(w.state(&no).await, ApplicationState::Collected);
        let moves = w.store.application_transitions(&no).await.unwrap();
        let last = moves.last().unwrap();
        assert_eq!(last.actor, "window_clerk");
        assert_eq!(
            last.reason.as_deref(),
            Some("method=by_eye; collector=applicant")
        );
        let audit = w.audit().await;
        assert!(
            audit
                .iter()
                .any(|(actor, action, subject, detail)| actor == "window_clerk"
                    && action == "advance_application"
                    && subject == &no
                    && detail == "ready -> collected: method=by_eye; collector=applicant"),
            "{audit:?}"
        );
        let after = get(&w.app, &format!("/staff/collection/{no}"), &w.clerk).await;
        assert!(after.body.contains("已领取"), "{}", after.body);
        assert!(after.body.contains("method=by_eye"), "{}", after.body);
        assert!(
            !after.body.contains("id=\"handover\""),
            "no form once collected"
        );
        let record = get(&w.app, &format!("/staff/applications/{no}"), &w.clerk).await;
        assert_eq!(record.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_face_check_passes_the_applicant_and_refuses_another_person() {
    for db in databases("center::staff collection face").await {
        let (w, no) = window(&db, ApplicationState::Ready).await;
        let face = [("method", "face"), ("collector", "applicant")];
        let stranger = w.collect(&no, &face, Some(&jpeg(STRANGER))).await;
        assert_eq!(
            stranger.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            stranger.body
        );
        assert!(
            stranger.body.contains("must be above 60"),
            "{}",
            stranger.body
        );
        assert_eq!(w.state(&no).await, ApplicationState::Ready, "nothing moved");
        let not_a_picture = w.collect(&no, &face, Some(b"not a picture")).await;
        assert_eq!(not_a_picture.status, StatusCode::BAD_REQUEST);
        assert!(
            not_a_picture.body.contains("photo"),
            "{}",
            not_a_picture.body
        );
        let without = w.collect(&no, &face, None).await;
        assert_eq!(without.status, StatusCode::BAD_REQUEST);
        assert!(without.body.contains("photo"), "{}", without.body);
        assert_eq!(w.state(&no).await, ApplicationState::Ready);

        let same = w.collect(&no, &face, Some(&jpeg(FACE))).await;
        assert_eq!(same.status, StatusCode::SEE_OTHER, "{}", same.body);
        assert_eq!(w.state(&no).await, ApplicationState::Collected);
        let reason = w
            .store
            .application_transitions(&no)
            .await
            .unwrap()
            .pop()
            .unwrap()
            .reason
            .unwrap();
        assert!(
            reason.starts_with("method=face score=") && reason.contains("threshold=60.0"),
            "{reason}"
        );
        let audit = w.audit().await;
        assert!(
            audit.iter().any(
                |(_, action, subject, _)| action == "collection_face_refused" && subject == &no
            ),
            "{audit:?}"
        );
    }
}

#[tokio::test]
async fn a_proxy_is_kept_whole_shown_masked_and_needs_an_id_number() {
    for db in databases("center::staff collection proxy").await {
        let (w, no) = window(&db, ApplicationState::Ready).await;
        let eye = [("method", "by_eye"), ("confirmed", "yes")];
        let mut fields = eye.to_vec();
        fields.extend([("collector", "proxy"), ("proxy_name", "李建国")]);
        let missing = w.collect(&no, &fields, None).await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
        assert!(missing.body.contains("proxy_id"), "{}", missing.body);
        fields.push(("proxy_id", "110105194912310021"));
        let wrong = w.collect(&no, &fields, None).await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
        assert!(wrong.body.contains("proxy_id"), "{}", wrong.body);
        assert_eq!(w.state(&no).await, ApplicationState::Ready);

        fields.pop();
        // The applicant's own number is not a proxy's.
        fields.push(("proxy_id", ID));
        let own = w.collect(&no, &fields, None).await;
        assert_eq!(own.status, StatusCode::BAD_REQUEST, "{}", own.body);
        assert!(
            own.body.contains("代领人身份号码与申请人相同"),
            "{}",
            own.body
        );
        assert_eq!(w.state(&no).await, ApplicationState::Ready);
        fields.pop();
        fields.push(("proxy_id", PROXY_ID));
        let done = w.collect(&no, &fields, None).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let reason = w
            .store
            .application_transitions(&no)
            .await
            .unwrap()
            .pop()
            .unwrap()
            .reason
            .unwrap();
        assert_eq!(
            reason,
            "method=by_eye; collector=proxy proxy_id=110105********002X proxy_name=*建国"
        );
        // The hand-over keeps the proxy's whole ID number and name (sealed at rest, see the
        // store contract), for the certificate's note; logs and audit have them masked.
        let kept = w
            .store
            .collection_of(&no)
            .await
            .unwrap()
            .expect("a hand-over");
        assert_eq!(
            kept.handover,
            Handover {
                check: IdentityCheck::ByEye,
                collector: Collector::Proxy {
                    id: domain::CitizenId::try_from(PROXY_ID.to_owned()).unwrap(),
                    name: "李建国".into(),
                },
            }
        );
        assert_eq!(kept.clerk, "window_clerk");
        for (_, _, subject, detail) in w.audit().await {
            assert!(
                !detail.contains(PROXY_ID) && !detail.contains(ID) && !subject.contains(ID),
                "a full ID number in the audit log: {detail}"
            );
            assert!(!detail.contains("李建国"), "a full name in the audit log");
        }
    }
}

#[tokio::test]
async fn a_card_not_ready_or_already_collected_is_refused_naming_the_state() {
    for db in databases("center::staff collection states").await {
        let (w, no) = window(&db, ApplicationState::InProduction).await;
        let before = w.audit().await.len();
        let early = w.collect(&no, BY_EYE, None).await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
        assert!(
            early
                .body
                .contains("该申请当前状态为\u{201c}制证中\u{201d}，不能领取")
                && early
                    .body
                    .contains("The application is in_production; it cannot be collected"),
            "{}",
            early.body
        );
        assert_eq!(w.state(&no).await, ApplicationState::InProduction);
        assert_eq!(w.audit().await.len(), before, "nothing written");
        let page = get(&w.app, &format!("/staff/collection/{no}"), &w.clerk).await;
        assert!(page.body.contains("制证中"), "{}", page.body);
        assert!(
            !page.body.contains("id=\"handover\""),
            "no form before ready"
        );

        move_to(&w.store, &no, ApplicationState::Ready).await;
        let first = w.collect(&no, BY_EYE, None).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
        let again = w.collect(&no, BY_EYE, None).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert!(
            again.body.contains("已领取") && again.body.contains("The application is collected"),
            "{}",
            again.body
        );
        assert_eq!(w.store.application_transitions(&no).await.unwrap().len(), 4);
    }
}

#[tokio::test]
async fn only_a_clerk_with_the_csrf_token_hands_over_a_card() {
    for db in databases("center::staff collection access").await {
        let (w, no) = window(&db, ApplicationState::Ready).await;
        let (auditor, auditor_csrf) = login(&w.app, "auditor").await;
        let page = get(&w.app, &format!("/staff/collection/{no}"), &auditor).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        let mut fields = vec![("csrf", auditor_csrf.as_str())];
        fields.extend_from_slice(BY_EYE);
        let by_auditor = w.post(&no, &auditor, &fields, None).await;
        assert_eq!(
            by_auditor.status,
            StatusCode::FORBIDDEN,
            "{}",
            by_auditor.body
        );
        assert!(by_auditor.body.contains("auditor"), "{}", by_auditor.body);

        let no_token = w.post(&no, &w.clerk, BY_EYE, None).await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN, "{}", no_token.body);
        assert!(no_token.body.contains("CSRF"), "{}", no_token.body);
        let mut wrong = vec![("csrf", "0000")];
        wrong.extend_from_slice(BY_EYE);
        let wrong_token = w.post(&no, &w.clerk, &wrong, None).await;
        assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);
        assert_eq!(w.state(&no).await, ApplicationState::Ready, "nothing moved");
    }
}
