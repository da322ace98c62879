//! The store contract for the legal clock against the journey (`store::compliance`) on both
//! backends: `store contract (compliance): <backend> ok (<n> checks)`. Only applications not yet
//! ready are due; a month's report finds what became ready in it (by the China Standard Time day
//! of the `ready` move) and what was due in it, and classifies each.

use std::sync::Arc;

use domain::id::CitizenId;
use domain::journey::ApplicationState;
use domain::rules::issue_by;
use store::compliance::{Outcome, ReportMonth};
use store::journey::Advance;
use store::sessions::NewApplication;
use store::testing::{self, TestDatabase};
use store::Store;
use time::macros::{date, datetime};
use time::Date;

use super::integrity::application;

super::checks!(
    COMPLIANCE_CHECKS:
    only_applications_not_yet_ready_are_due,
    a_months_report_classifies_by_the_ready_day,
);

async fn run_compliance_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks(
        "store contract (compliance)",
        COMPLIANCE_CHECKS,
        backend,
        admin_url,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_compliance_sqlite() {
    run_compliance_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_compliance_postgres() {
    if let Some(url) = testing::postgres_url("store contract (compliance)") {
        run_compliance_suite("postgres", Some(url)).await;
    }
}

/// The `n`th citizen's application, filed on `day` (local or remote area); its number.
async fn filed(store: &Store, n: u16, day: Date, remote_area: bool) -> String {
    let session = format!("s{n}");
    let id = CitizenId::from_parts("320102", date!(1990 - 01 - 01), n).unwrap();
    store.start_session(&session, "K0001", 0).await.unwrap();
    let (record, _) = store
        .create_application(&NewApplication {
            accepted_on: day,
            issue_by: issue_by(day, remote_area),
            remote_area,
            ..application(&session, id.as_str(), &format!("PSRECEIPT{n:02}"))
        })
        .await
        .unwrap();
    record.application_no
}

/// Moves `no` through `states`, at `at` (unix seconds).
async fn moved(store: &Store, no: &str, states: &[ApplicationState], at: i64) {
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

use ApplicationState::{Accepted, Cancelled, Collected, InProduction, Ready, Rejected, Returned};

const TO_READY: &[ApplicationState] = &[Accepted, InProduction, Ready];

async fn only_applications_not_yet_ready_are_due(db: Arc<TestDatabase>) {
    let store = db.store();
    let day = date!(2026 - 09 - 01);
    let submitted = filed(store, 1, day, false).await;
    let accepted = filed(store, 2, day, false).await;
    let producing = filed(store, 3, day, false).await;
    let ready = filed(store, 4, day, false).await;
    let collected = filed(store, 5, day, false).await;
    let returned = filed(store, 6, day, false).await;
    let rejected = filed(store, 7, day, false).await;
    let cancelled = filed(store, 8, day, false).await;
    let remote = filed(store, 9, day, true).await;
    moved(store, &accepted, &[Accepted], 1).await;
    moved(store, &producing, &[Accepted, InProduction], 1).await;
    moved(store, &ready, TO_READY, 1).await;
    moved(
        store,
        &collected,
        &[Accepted, InProduction, Ready, Collected],
        1,
    )
    .await;
    moved(
        store,
        &returned,
        &[Accepted, InProduction, Ready, Returned],
        1,
    )
    .await;
    moved(store, &rejected, &[Rejected], 1).await;
    moved(store, &cancelled, &[Cancelled], 1).await;

    // 60 days after 2026-09-01 is 2026-10-31; a remote area's 90, 2026-11-30.
    let due = |until: Date| async move {
        store
            .not_ready_due_by(until, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|due| (due.application.application_no, due.state))
            .collect::<Vec<_>>()
    };
    let mut expected = vec![
        (submitted.clone(), ApplicationState::Submitted),
        (accepted.clone(), Accepted),
        (producing.clone(), InProduction),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(due(date!(2026 - 10 - 31)).await, expected);
    assert_eq!(
        due(date!(2026 - 10 - 30)).await,
        vec![],
        "a day before the date"
    );
    let mut later = expected.clone();
    later.push((remote.clone(), ApplicationState::Submitted));
    assert_eq!(due(date!(2026 - 11 - 30)).await, later);
    let first = store
        .not_ready_due_by(date!(2026 - 12 - 31), 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1, "the limit holds");
    let record = &first[0].application;
    assert_eq!(record.issue_by, date!(2026 - 10 - 31));
    assert_eq!(record.accepted_on, day);
}

/// Unix seconds of a China Standard Time moment.
fn cst(at: time::PrimitiveDateTime) -> i64 {
    at.assume_offset(domain::time_zone::CHINA_STANDARD_TIME)
        .unix_timestamp()
}

async fn a_months_report_classifies_by_the_ready_day(db: Arc<TestDatabase>) {
    let store = db.store();
    // Filed 2026-09-01: due 2026-10-31 (local), 2026-11-30 (remote).
    let day = date!(2026 - 09 - 01);
    let on_time = filed(store, 1, day, false).await;
    let late = filed(store, 2, day, false).await;
    let waiting = filed(store, 3, day, false).await;
    let remote_on_time = filed(store, 4, day, true).await;
    let remote_waiting = filed(store, 5, day, true).await;
    let rejected = filed(store, 6, day, false).await;
    // Filed in October, due in December: ready in November on time.
    let early = filed(store, 7, date!(2026 - 10 - 10), false).await;
    // Ready on its last day, late at midnight: the day is China Standard Time's.
    moved(store, &on_time, TO_READY, cst(datetime!(2026-10-31 23:59))).await;
    moved(store, &late, TO_READY, cst(datetime!(2026-11-05 00:00))).await;
    moved(store, &waiting, &[Accepted, InProduction], 1).await;
    moved(
        store,
        &remote_on_time,
        TO_READY,
        cst(datetime!(2026-11-30 12:00)),
    )
    .await;
    moved(store, &rejected, &[Rejected], 1).await;
    moved(store, &early, TO_READY, cst(datetime!(2026-11-01 00:00))).await;
    moved(
        store,
        &early,
        &[Collected],
        cst(datetime!(2026-11-02 10:00)),
    )
    .await;

    let today = date!(2026 - 12 - 03);
    let report = |month: &'static str| async move {
        store
            .compliance_month(ReportMonth::parse(month).unwrap(), today)
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.application_no, row.ready_on, row.outcome))
            .collect::<Vec<_>>()
    };
    // October: the local ones were due; one ready on its last day, one late, one waiting.
    let mut october = vec![
        (
            on_time.clone(),
            Some(date!(2026 - 10 - 31)),
            Outcome::OnTime,
        ),
        (
            late.clone(),
            Some(date!(2026 - 11 - 05)),
            Outcome::Late { days_late: 5 },
        ),
        (
            waiting.clone(),
            None,
            Outcome::OverdueNotReady { days_late: 33 },
        ),
    ];
    october.sort_by(|a, b| a.0.cmp(&b.0));
    let mut got = report("2026-10").await;
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, october);
    // November: ready in it (late, remote on time, early and now collected) or due in it (the
    // remote one still waiting); the rejected one never counts.
    let mut november = vec![
        (
            late.clone(),
            Some(date!(2026 - 11 - 05)),
            Outcome::Late { days_late: 5 },
        ),
        (
            remote_on_time.clone(),
            Some(date!(2026 - 11 - 30)),
            Outcome::OnTime,
        ),
        (
            remote_waiting.clone(),
            None,
            Outcome::OverdueNotReady { days_late: 3 },
        ),
        (early.clone(), Some(date!(2026 - 11 - 01)), Outcome::OnTime),
    ];
    november.sort_by(|a, b| a.0.cmp(&b.0));
    let mut got = report("2026-11").await;
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, november);
    // December: the early one's date, long since ready; nothing else.
    assert_eq!(
        report("2026-12").await,
        vec![(early.clone(), Some(date!(2026 - 11 - 01)), Outcome::OnTime)]
    );
    // Before the date passes, a waiting one is not yet due.
    let before = store
        .compliance_month(
            ReportMonth::parse("2026-11").unwrap(),
            date!(2026 - 11 - 30),
        )
        .await
        .unwrap();
    let row = before
        .iter()
        .find(|row| row.application_no == remote_waiting)
        .unwrap();
    assert_eq!(row.outcome, Outcome::NotYetDue);
    assert_eq!(row.state, ApplicationState::Submitted);
    assert!(row.remote_area);
    assert_eq!(row.issue_by, date!(2026 - 11 - 30));

    let csv = store::compliance::to_csv("XW", &report_rows(store, today).await, |id| {
        format!("{}********{}", &id[..6], &id[14..])
    })
    .unwrap();
    let id = CitizenId::from_parts("320102", date!(1990 - 01 - 01), 2).unwrap();
    let masked = format!("320102********{}", &id.as_str()[14..]);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "office,application_no,id_number,accepted_on,issue_by,remote_area,state,ready_on,\
         outcome,days_late"
    );
    assert_eq!(
        lines.len(),
        5,
        "a header, three rows, and the last line end: {csv}"
    );
    assert!(
        lines.contains(
            &format!("XW,{late},{masked},2026-09-01,2026-10-31,0,ready,2026-11-05,late,5").as_str()
        ),
        "{csv}"
    );
    assert!(!csv.contains(id.as_str()), "the ID number is masked");
}

async fn report_rows(store: &Store, today: Date) -> Vec<store::compliance::ComplianceRow> {
    store
        .compliance_month(ReportMonth::parse("2026-10").unwrap(), today)
        .await
        .unwrap()
}
