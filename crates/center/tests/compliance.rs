//! The legal clock against the journey (issue 17, item 2): applications filed on one day, the
//! center's `today` moved past 60 days (local) and 90 days (remote area). The deadlines page lists
//! the ones not ready, by office, and never a ready one; the month's compliance report (page and
//! CSV) counts what became ready on time or late and what is not ready past its date. SQLite
//! always, PostgreSQL when `IDKIOSK_TEST_PG_URL` is set.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use center::staff::{hash_password, Role};
use domain::id::CitizenId;
use domain::journey::ApplicationState::{self, Accepted, InProduction, Ready};
use http_body_util::BodyExt;
use popsys::StorePopulationSystem;
use store::journey::Advance;
use store::sessions::NewApplication;
use store::Store;
use time::macros::{date, datetime};
use time::Date;
use tower::ServiceExt;

use crate::support::state_over;
use crate::world::databases;

const PASSWORD: &str = "correct-horse-battery";
/// The day every application is filed: due 2026-10-31 (60 days), 2026-11-30 (remote, 90).
const FILED: Date = date!(2026 - 09 - 01);

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn cookie(answer: &Answer, name: &str) -> String {
    answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .find_map(|value| {
            value
                .to_str()
                .unwrap()
                .split(';')
                .next()?
                .strip_prefix(&format!("{name}="))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

/// Signs `user` in; the session cookie.
async fn login(app: &Router, user: &str) -> String {
    let form = send(
        app,
        Request::get("/staff/login").body(Body::empty()).unwrap(),
    )
    .await;
    let csrf = cookie(&form, "idk_staff_login");
    let signed_in = send(
        app,
        Request::post("/staff/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("idk_staff_login={csrf}"))
            .body(Body::from(format!(
                "username={user}&password={PASSWORD}&csrf={csrf}"
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    cookie(&signed_in, "idk_staff")
}

async fn get(app: &Router, path: &str, session: &str) -> Answer {
    send(
        app,
        Request::get(path)
            .header(header::COOKIE, format!("idk_staff={session}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// The `n`th citizen's application filed on [`FILED`]; its number.
async fn filed(store: &Store, n: u16, remote_area: bool) -> String {
    let session = format!("S-DUE-{n:04}");
    let id = CitizenId::from_parts("320102", date!(1990 - 01 - 01), n).unwrap();
    store.start_session(&session, "K0001", 0).await.unwrap();
    let (application, _) = store
        .create_application(&NewApplication {
            accepted_on: FILED,
            issue_by: domain::rules::issue_by(FILED, remote_area),
            remote_area,
            ..crate::support::new_application(&session, id.as_str(), 0)
        })
        .await
        .unwrap();
    application.application_no
}

/// Moves `no` through `states` at `at`, a China Standard Time moment.
async fn moved(store: &Store, no: &str, states: &[ApplicationState], at: time::PrimitiveDateTime) {
    let at = at
        .assume_offset(domain::time_zone::CHINA_STANDARD_TIME)
        .unix_timestamp();
    for &to in states {
        store
            .advance_application(&Advance {
                application_no: no.to_owned(),
                to,
                actor: "popsys".into(),
                role: "system".into(),
                reason: None,
                at,
                notice: None,
            })
            .await
            .unwrap();
    }
}

/// The table row (`<tr …>…</tr>`) holding `no`, if the page lists it.
fn row_of<'a>(body: &'a str, no: &str) -> Option<&'a str> {
    let at = body.find(&format!(">{no}<"))?;
    let start = body[..at].rfind("<tr")?;
    let end = at + body[at..].find("</tr>")?;
    Some(&body[start..end])
}

/// The text of the element with `id`.
fn text_of<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id}: {body}"))
        + id.len()
        + 6;
    &body[at..at + body[at..].find('<').unwrap()]
}

#[tokio::test]
async fn deadlines_and_the_compliance_report_follow_the_journey_past_60_and_90_days() {
    for db in databases("center::compliance").await {
        let store = db.store().clone();
        let today = Arc::new(Mutex::new(date!(2026 - 11 - 01)));
        let mut state = state_over(
            Arc::new(StorePopulationSystem::new(store.clone())),
            store.clone(),
        );
        let clock = today.clone();
        state.today = Arc::new(move || *clock.lock().unwrap());
        let app = center::app(state);
        let phc = hash_password(PASSWORD).unwrap();
        for role in Role::ALL {
            store
                .create_staff_user(role.as_str(), role, &phc, 0)
                .await
                .unwrap();
        }
        let waiting = filed(&store, 1, false).await;
        let ready_in_time = filed(&store, 2, false).await;
        let ready_late = filed(&store, 3, false).await;
        let remote_waiting = filed(&store, 4, true).await;
        let remote_ready = filed(&store, 5, true).await;
        moved(
            &store,
            &waiting,
            &[Accepted, InProduction],
            datetime!(2026-09-02 10:00),
        )
        .await;
        moved(
            &store,
            &ready_in_time,
            &[Accepted, InProduction, Ready],
            datetime!(2026-10-01 09:00),
        )
        .await;
        moved(
            &store,
            &ready_late,
            &[Accepted, InProduction],
            datetime!(2026-09-02 10:00),
        )
        .await;
        moved(
            &store,
            &remote_waiting,
            &[Accepted],
            datetime!(2026-09-02 10:00),
        )
        .await;

        let clerk = login(&app, "window_clerk").await;
        // 2026-11-01, 61 days on: the local ones not ready are overdue; the ready one is gone.
        let page = get(&app, "/staff/deadlines", &clerk).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains("data-office=\"XW\""),
            "by office: {}",
            page.body
        );
        assert!(page.body.contains("南京市公安局玄武分局户政办证大厅"));
        let row = row_of(&page.body, &waiting).expect("the waiting one is listed");
        assert!(row.starts_with("<tr class=\"past\""), "{row}");
        assert!(row.contains("制证中 In production"), "{row}");
        assert!(row.contains("已超期 1 天 1 days overdue"), "{row}");
        assert!(row.contains("320102********"), "masked: {row}");
        assert!(row_of(&page.body, &ready_late).is_some(), "not ready yet");
        assert_eq!(
            row_of(&page.body, &ready_in_time),
            None,
            "ready: not listed"
        );
        assert_eq!(row_of(&page.body, &remote_waiting), None, "29 days left");
        assert_eq!(row_of(&page.body, &remote_ready), None);
        assert!(
            page.body.contains("id=\"undelivered\""),
            "the undelivered part stays"
        );

        // Made ready after its date, and the remote one in time.
        moved(&store, &ready_late, &[Ready], datetime!(2026-11-05 08:30)).await;
        moved(
            &store,
            &remote_ready,
            &[Accepted, InProduction, Ready],
            datetime!(2026-11-20 15:00),
        )
        .await;
        // 2026-12-01, 91 days on: the remote one not ready is overdue too.
        *today.lock().unwrap() = date!(2026 - 12 - 01);
        let page = get(&app, "/staff/deadlines", &clerk).await;
        let row = row_of(&page.body, &remote_waiting).expect("remote, past 90 days");
        assert!(row.starts_with("<tr class=\"past\""), "{row}");
        assert!(row.contains("已受理 Accepted"), "{row}");
        assert!(row.contains("已超期 1 天 1 days overdue"), "{row}");
        assert!(row_of(&page.body, &waiting)
            .unwrap()
            .contains("31 days overdue"));
        for ready in [&ready_in_time, &ready_late, &remote_ready] {
            assert_eq!(row_of(&page.body, ready), None, "{ready} is ready");
        }

        // The report's default month is the previous one: November.
        let report = get(&app, "/staff/compliance", &clerk).await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.body);
        assert!(
            report.body.contains("value=\"2026-11\""),
            "the picker: {}",
            report.body
        );
        assert_eq!(text_of(&report.body, "on-time-XW"), "1");
        assert_eq!(text_of(&report.body, "late-XW"), "1");
        assert_eq!(text_of(&report.body, "overdue-XW"), "1");
        let late = row_of(&report.body, &ready_late).expect("the late one is listed");
        assert!(
            late.contains("<td>2026-10-31</td><td>2026-11-05</td><td>5</td>"),
            "five days late: {late}"
        );
        let overdue = row_of(&report.body, &remote_waiting).expect("listed as not ready");
        assert!(
            overdue.contains("<td>2026-11-30</td><td></td><td>1</td>"),
            "{overdue}"
        );
        assert_eq!(
            row_of(&report.body, &remote_ready),
            None,
            "on time: counted only"
        );

        // October: the local ones were due in it.
        let october = get(&app, "/staff/compliance?month=2026-10", &clerk).await;
        assert_eq!(text_of(&october.body, "on-time-XW"), "1");
        assert_eq!(text_of(&october.body, "late-XW"), "1");
        assert_eq!(text_of(&october.body, "overdue-XW"), "1");
        assert!(row_of(&october.body, &waiting)
            .unwrap()
            .contains("<td>2026-10-31</td><td></td><td>31</td>"));

        // The CSV, cell by cell.
        let csv = get(&app, "/staff/compliance.csv?month=2026-11", &clerk).await;
        assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
        assert_eq!(
            csv.headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"compliance-2026-11.csv\""
        );
        assert!(csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let masked = |n: u16| {
            let id = CitizenId::from_parts("320102", date!(1990 - 01 - 01), n).unwrap();
            format!("320102********{}", &id.as_str()[14..])
        };
        let lines: Vec<Vec<&str>> = csv
            .body
            .strip_suffix("\r\n")
            .expect("CRLF line ends")
            .split("\r\n")
            .map(|line| line.split(',').collect())
            .collect();
        let late_id = masked(3);
        let on_time_id = masked(5);
        let overdue_id = masked(4);
        let expected: Vec<Vec<&str>> = vec![
            vec![
                "office",
                "application_no",
                "id_number",
                "accepted_on",
                "issue_by",
                "remote_area",
                "state",
                "ready_on",
                "outcome",
                "days_late",
            ],
            vec![
                "XW",
                &ready_late,
                &late_id,
                "2026-09-01",
                "2026-10-31",
                "0",
                "ready",
                "2026-11-05",
                "late",
                "5",
            ],
            vec![
                "XW",
                &remote_waiting,
                &overdue_id,
                "2026-09-01",
                "2026-11-30",
                "1",
                "accepted",
                "",
                "overdue_not_ready",
                "1",
            ],
            vec![
                "XW",
                &remote_ready,
                &on_time_id,
                "2026-09-01",
                "2026-11-30",
                "1",
                "ready",
                "2026-11-20",
                "on_time",
                "0",
            ],
        ];
        assert_eq!(lines, expected, "{}", csv.body);
        assert!(!csv.body.contains("19900101"), "no full ID number");

        // A bad month is refused, naming the field.
        for path in [
            "/staff/compliance?month=2026-13",
            "/staff/compliance.csv?month=November",
        ] {
            let refused = get(&app, path, &clerk).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}");
            assert!(refused.body.contains("month"), "{}", refused.body);
        }

        // The auditor reads it too; every view is in the audit chain.
        let auditor = login(&app, "auditor").await;
        let seen = get(&app, "/staff/compliance?month=2026-10", &auditor).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(
            seen.body.contains("href=\"/staff/compliance\""),
            "in the nav"
        );
        let administrator = login(&app, "administrator").await;
        let refused = get(&app, "/staff/compliance", &administrator).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let audited: Vec<(String, String, String)> = store
            .audit_entries(i64::MIN, i64::MAX, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action.contains("compliance"))
            .map(|e| (e.actor, e.action, e.subject))
            .collect();
        let entry = |actor: &str, action: &str, month: &str| {
            (actor.to_owned(), action.to_owned(), month.to_owned())
        };
        assert_eq!(
            audited,
            vec![
                entry("window_clerk", "view_compliance", "2026-11"),
                entry("window_clerk", "view_compliance", "2026-10"),
                entry("window_clerk", "export_compliance", "2026-11"),
                entry("auditor", "view_compliance", "2026-10"),
            ]
        );
        db.finish().await;
    }
}
