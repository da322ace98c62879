//! Cancelled by staff with a reason (issue 17 item 1, `center::staff` cancel): a window clerk
//! cancels an application before production from its record page; the move keeps the clerk and
//! the reason and is audited; a state past production, or already cancelled, is refused naming
//! it; an empty reason is refused naming `reason`. SQLite always, PostgreSQL when
//! `IDKIOSK_TEST_PG_URL` is set. The world is the collection tests' window.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use domain::journey::ApplicationState;

use crate::collection::{get, login, send, window, Answer, Window};
use crate::world::databases;

const REASON: &str = "申请人要求撤销 the applicant withdrew";

impl Window {
    /// Posts the cancel form of `no` as `session` with the URL-encoded `fields`.
    async fn cancel_as(&self, no: &str, session: &str, fields: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(fields).expect("a form");
        send(
            &self.app,
            Request::post(format!("/staff/applications/{no}/cancel"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("idk_staff={session}"))
                .body(Body::from(body))
                .expect("a request"),
        )
        .await
    }

    /// The clerk cancels `no` with `reason` and the CSRF token.
    async fn cancel(&self, no: &str, reason: &str) -> Answer {
        self.cancel_as(no, &self.clerk, &[("csrf", &self.csrf), ("reason", reason)])
            .await
    }
}

#[tokio::test]
async fn a_clerk_cancels_an_accepted_application_with_a_reason_audited_once() {
    for db in databases("center::staff cancel").await {
        let (w, no) = window(&db, ApplicationState::Accepted).await;
        let record = get(&w.app, &format!("/staff/applications/{no}"), &w.clerk).await;
        assert_eq!(record.status, StatusCode::OK, "{}", record.body);
        assert!(
            record.body.contains("id=\"cancel\"")
                && record
                    .body
                    .contains(&format!("action=\"/staff/applications/{no}/cancel\"")),
            "an accepted application has the cancel form: {}",
            record.body
        );

        let done = w.cancel(&no, REASON).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location, Some(format!("/staff/applications/{no}")));
        assert_eq!(w.state(&no).await, ApplicationState::Cancelled);
        let moves = w.store.application_transitions(&no).await.unwrap();
        let last = moves.last().expect("a move");
        assert_eq!(
            (last.from, last.to),
            (ApplicationState::Accepted, ApplicationState::Cancelled)
        );
        assert_eq!(last.actor, "window_clerk");
        assert_eq!(last.reason.as_deref(), Some(REASON));
        let audit = w.audit().await;
        let entry = format!("accepted -> cancelled: {REASON}");
        assert_eq!(
            audit
                .iter()
                .filter(|(actor, action, subject, detail)| actor == "window_clerk"
                    && action == "advance_application"
                    && subject == &no
                    && detail == &entry)
                .count(),
            1,
            "{audit:?}"
        );

        let after = get(&w.app, &format!("/staff/applications/{no}"), &w.clerk).await;
        assert_eq!(after.status, StatusCode::OK, "{}", after.body);
        assert!(
            after
                .body
                .contains("<span id=\"journey-state\">已撤销 cancelled</span>"),
            "{}",
            after.body
        );
        assert!(
            after.body.contains("申请人要求撤销 the applicant withdrew"),
            "the record page shows the move's reason: {}",
            after.body
        );
        assert!(
            !after.body.contains("id=\"cancel\""),
            "no form once cancelled"
        );

        let before = w.audit().await.len();
        let again = w.cancel(&no, REASON).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert!(
            again
                .body
                .contains("该申请当前状态为\u{201c}已撤销\u{201d}，不能撤销")
                && again
                    .body
                    .contains("The application is cancelled; it cannot be cancelled"),
            "{}",
            again.body
        );
        assert_eq!(w.store.application_transitions(&no).await.unwrap().len(), 2);
        assert_eq!(w.audit().await.len(), before, "nothing written");
    }
}

#[tokio::test]
async fn an_application_in_production_cannot_be_cancelled_and_the_state_is_named() {
    for db in databases("center::staff cancel in production").await {
        let (w, no) = window(&db, ApplicationState::InProduction).await;
        let record = get(&w.app, &format!("/staff/applications/{no}"), &w.clerk).await;
        assert_eq!(record.status, StatusCode::OK, "{}", record.body);
        assert!(
            !record.body.contains("id=\"cancel\""),
            "no form in production"
        );
        let before = w.audit().await.len();
        let refused = w.cancel(&no, REASON).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert!(
            refused
                .body
                .contains("该申请当前状态为\u{201c}制证中\u{201d}，不能撤销")
                && refused
                    .body
                    .contains("The application is in_production; it cannot be cancelled"),
            "{}",
            refused.body
        );
        assert_eq!(w.state(&no).await, ApplicationState::InProduction);
        assert_eq!(w.audit().await.len(), before, "nothing written");
    }
}

#[tokio::test]
async fn a_cancel_needs_a_reason_a_clerk_and_the_csrf_token() {
    for db in databases("center::staff cancel refusals").await {
        let (w, no) = window(&db, ApplicationState::Accepted).await;

        for reason in ["", "   ", &"长".repeat(201)] {
            let refused = w.cancel(&no, reason).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
            assert!(refused.body.contains("reason"), "{}", refused.body);
        }
        let missing = w
            .cancel_as(&no, &w.clerk, &[("csrf", w.csrf.as_str())])
            .await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
        assert!(missing.body.contains("reason"), "{}", missing.body);

        let (auditor, auditor_csrf) = login(&w.app, "auditor").await;
        let by_auditor = w
            .cancel_as(
                &no,
                &auditor,
                &[("csrf", auditor_csrf.as_str()), ("reason", REASON)],
            )
            .await;
        assert_eq!(
            by_auditor.status,
            StatusCode::FORBIDDEN,
            "{}",
            by_auditor.body
        );

        let no_token = w.cancel_as(&no, &w.clerk, &[("reason", REASON)]).await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN, "{}", no_token.body);
        assert!(no_token.body.contains("CSRF"), "{}", no_token.body);
        let wrong_token = w
            .cancel_as(&no, &w.clerk, &[("csrf", "0000"), ("reason", REASON)])
            .await;
        assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);

        assert_eq!(
            w.state(&no).await,
            ApplicationState::Accepted,
            "nothing moved"
        );
        assert_eq!(w.store.application_transitions(&no).await.unwrap().len(), 1);
    }
}
