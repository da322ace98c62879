//! The store contract for issue 13 on both backends: the population system's submissions (once
//! per key, one in progress per citizen, a card reported lost), and the center's one live
//! application per citizen with its delivery outbox. Reports
//! `store contract (integrity): <backend> ok (<n> checks)`.

use std::sync::Arc;

use domain::region::KioskCity;
use domain::rules::{Business, Household, NewCardValidity};
use store::deliveries::{DeliveryState, ScopeDecisionRecord};
use store::registers::{NewSubmission, SubmitOutcome, SubmittedFinger};
use store::sessions::{KioskStatus, NewApplication};
use store::testing::{self, TestDatabase};
use store::{CardStatus, Store, StoreError};
use time::macros::date;

use super::{bundle, card, id, LOCAL, OTHER, TODAY};

super::checks!(
    INTEGRITY_CHECKS:
    submission_is_stored_once_per_key_and_marks_an_application_in_progress,
    a_second_application_of_a_citizen_in_progress_is_refused_and_writes_nothing,
    racing_submissions_of_one_key_store_one,
    a_lost_card_is_reported_once,
    submission_images_are_sealed,
    one_live_application_per_citizen,
    racing_applications_of_one_citizen_give_one,
    completing_writes_the_delivery_and_a_lease_keeps_it_to_one_worker,
    scope_decision_is_bound_to_its_session,
);

async fn run_integrity_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks(
        "store contract (integrity)",
        INTEGRITY_CHECKS,
        backend,
        admin_url,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_integrity_sqlite() {
    run_integrity_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_integrity_postgres() {
    if let Some(url) = testing::postgres_url("store contract (integrity)") {
        run_integrity_suite("postgres", Some(url)).await;
    }
}

fn submission(key: &str, number: &str, citizen: &str) -> NewSubmission {
    let finger = |position: &str, template: &[u8]| SubmittedFinger {
        position: domain::session::Finger::try_from(position.to_owned()).unwrap(),
        quality: 80,
        template: template.to_vec(),
    };
    NewSubmission {
        idempotency_key: key.into(),
        application_number: number.into(),
        id: id(citizen),
        business: Business::Lost,
        household: Household::Local,
        acceptance_unit: "南京市公安局".into(),
        photo: b"\xff\xd8\xffPHOTO-MARKER".to_vec(),
        fingers: [
            finger("right_index", b"FMR\0TEMPLATE-ONE"),
            finger("left_index", b"FMR\0TEMPLATE-TWO"),
        ],
        signature: b"\x89PNG\r\n\x1a\nSIGNATURE-MARKER".to_vec(),
        mobile: "13912345678".into(),
        fee_fen: domain::money::Fen::new(4000).unwrap(),
        payment_method: domain::session::PaymentMethod::WeChat,
        payment_reference: "4200000000202611250001".into(),
        issue_by: date!(2027 - 01 - 24),
        received_on: TODAY,
        received_at: 1_764_000_000,
    }
}

async fn in_progress(store: &Store, citizen: &str) -> bool {
    store
        .citizen_view(&id(citizen), &KioskCity::parse("320100").unwrap(), TODAY)
        .await
        .unwrap()
        .unwrap()
        .application_in_progress
}

async fn submission_is_stored_once_per_key_and_marks_an_application_in_progress(
    db: Arc<TestDatabase>,
) {
    let store = db.store();
    store.insert_citizens(&[bundle(LOCAL)]).await.unwrap();
    assert!(!in_progress(store, LOCAL).await);
    let first = submission("session-1", "320100202611250001", LOCAL);
    assert_eq!(
        store.submit_application(&first).await.unwrap(),
        SubmitOutcome::Created(first.clone())
    );
    // A retry (even with other bytes) returns the first, unchanged.
    let mut retry = first.clone();
    retry.mobile = "13800000000".into();
    assert_eq!(
        store.submit_application(&retry).await.unwrap(),
        SubmitOutcome::Existing(first.clone())
    );
    assert_eq!(store.submissions_of(&id(LOCAL)).await.unwrap(), vec![first]);
    assert!(in_progress(store, LOCAL).await);
}

async fn a_second_application_of_a_citizen_in_progress_is_refused_and_writes_nothing(
    db: Arc<TestDatabase>,
) {
    let store = db.store();
    store
        .insert_citizens(&[bundle(LOCAL), bundle(OTHER)])
        .await
        .unwrap();
    let first = submission("session-1", "320100202611250001", LOCAL);
    store.submit_application(&first).await.unwrap();
    let second = submission("session-2", "320100202611250002", LOCAL);
    match store.submit_application(&second).await.unwrap() {
        SubmitOutcome::Refused { reason, .. } => assert_eq!(reason, "application_in_progress"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The number of another citizen's application is not reusable either.
    let taken = submission("session-3", "320100202611250001", OTHER);
    match store.submit_application(&taken).await.unwrap() {
        SubmitOutcome::Refused { reason, .. } => assert_eq!(reason, "number_in_use"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let unknown = submission("session-4", "320100202611250004", "32011120110601003X");
    match store.submit_application(&unknown).await.unwrap() {
        SubmitOutcome::Refused { reason, .. } => assert_eq!(reason, "unknown_citizen"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(store.submissions_of(&id(LOCAL)).await.unwrap().len(), 1);
    assert!(store.submissions_of(&id(OTHER)).await.unwrap().is_empty());
    assert!(!in_progress(store, OTHER).await);
}

async fn racing_submissions_of_one_key_store_one(db: Arc<TestDatabase>) {
    let store = db.store();
    store.insert_citizens(&[bundle(LOCAL)]).await.unwrap();
    let new = submission("session-1", "320100202611250001", LOCAL);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let new = new.clone();
        tasks.push(tokio::spawn(
            async move { store.submit_application(&new).await },
        ));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            SubmitOutcome::Created(_) => created += 1,
            SubmitOutcome::Existing(existing) => assert_eq!(existing, new),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.submissions_of(&id(LOCAL)).await.unwrap().len(), 1);
}

async fn a_lost_card_is_reported_once(db: Arc<TestDatabase>) {
    let store = db.store();
    let mut citizen = bundle(LOCAL);
    citizen.card = Some(card(domain::rules::CardExpiry::On(date!(2036 - 12 - 20))));
    store.insert_citizens(&[citizen]).await.unwrap();
    let report = store
        .report_card_lost(&id(LOCAL), "320100202611250001", TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.card_status, Some(CardStatus::ReportedLost));
    assert_eq!(report.reported_on, TODAY);
    // Again, another day: the first report stands.
    let again = store
        .report_card_lost(&id(LOCAL), "320100202611250001", date!(2026 - 11 - 26))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.reported_on, TODAY);
    let view = store
        .citizen_view(&id(LOCAL), &KioskCity::parse("320100").unwrap(), TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.card.unwrap().status, CardStatus::ReportedLost);
    assert_eq!(
        store
            .report_card_lost(&id(OTHER), "320100202611250002", TODAY)
            .await
            .unwrap(),
        None
    );
}

async fn submission_images_are_sealed(db: Arc<TestDatabase>) {
    let sealing = db.store().clone().with_cipher(Arc::new(super::Reversing));
    sealing.insert_citizens(&[bundle(LOCAL)]).await.unwrap();
    let new = submission("session-1", "320100202611250001", LOCAL);
    sealing.submit_application(&new).await.unwrap();
    assert_eq!(
        sealing.submission_by_key("session-1").await.unwrap(),
        Some(new.clone())
    );
    // Read without the cipher: the stored bytes are the sealed ones.
    let raw = db
        .store()
        .submission_by_key("session-1")
        .await
        .unwrap()
        .unwrap();
    let reversed = |bytes: &[u8]| bytes.iter().rev().copied().collect::<Vec<u8>>();
    assert_eq!(raw.photo, reversed(&new.photo));
    assert_eq!(raw.signature, reversed(&new.signature));
    assert_eq!(raw.fingers[0].template, reversed(&new.fingers[0].template));
    assert_eq!(raw.fingers[1].template, reversed(&new.fingers[1].template));
}

/// A lost-card application of `citizen` taken in session `session` (also for the sessions and
/// payments checks).
pub(super) fn application(session: &str, citizen: &str, receipt: &str) -> NewApplication {
    NewApplication {
        session_id: session.into(),
        kiosk_id: "K0001".into(),
        city_code: "320100".into(),
        id_number: domain::CitizenId::try_from(citizen.to_owned()).unwrap(),
        name: "王小明".into(),
        nation_code: "01".into(),
        address: "南京市".into(),
        business: Business::Lost,
        household: Household::Local,
        receipt_code: receipt.into(),
        mobile: "13912345678".into(),
        fee_cny: 40,
        validity: NewCardValidity::TenYears,
        accepted_on: TODAY,
        issue_by: date!(2027 - 01 - 24),
        remote_area: false,
        fingers: "[]".into(),
        collection_office: Some("XW".into()),
        now: 1_764_000_000,
    }
}

async fn one_live_application_per_citizen(db: Arc<TestDatabase>) {
    let store = db.store();
    for session in ["s1", "s2", "s3"] {
        store.start_session(session, "K0001", 0).await.unwrap();
    }
    let (first, created) = store
        .create_application(&application("s1", LOCAL, "PSRECEIPT01"))
        .await
        .unwrap();
    assert!(created);
    let err = store
        .create_application(&application("s2", LOCAL, "PSRECEIPT02"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert!(store.application_by_session("s2").await.unwrap().is_none());
    assert_eq!(
        store.live_application_of(LOCAL).await.unwrap().unwrap(),
        first
    );
    // Completed stays live; referred frees the citizen.
    assert!(store
        .complete_application(&first.application_no, 10)
        .await
        .unwrap());
    assert!(store
        .create_application(&application("s2", LOCAL, "PSRECEIPT02"))
        .await
        .is_err());
    assert!(!store
        .finish_application(&first.application_no, KioskStatus::Referred)
        .await
        .unwrap());
    // (a completed application is not referred by a late end; only an accepted one is)
    assert_eq!(
        store
            .application(&first.application_no)
            .await
            .unwrap()
            .unwrap()
            .status,
        KioskStatus::Completed
    );
    let (_, created) = store
        .create_application(&application("s3", OTHER, "PSRECEIPT03"))
        .await
        .unwrap();
    assert!(created, "another citizen is not blocked");
}

async fn racing_applications_of_one_citizen_give_one(db: Arc<TestDatabase>) {
    let store = db.store();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let session = format!("race-{i}");
            store.start_session(&session, "K0001", 0).await.unwrap();
            store
                .create_application(&application(&session, LOCAL, &format!("PSRACE{i:04}")))
                .await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok((_, true)) => created += 1,
            Ok((_, false)) => panic!("a new session found an application"),
            Err(StoreError::Rejected(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(
        store.applications_accepted_on(TODAY).await.unwrap().len(),
        1
    );
}

async fn completing_writes_the_delivery_and_a_lease_keeps_it_to_one_worker(db: Arc<TestDatabase>) {
    let store = db.store();
    store.start_session("s1", "K0001", 0).await.unwrap();
    let (app, _) = store
        .create_application(&application("s1", LOCAL, "PSRECEIPT01"))
        .await
        .unwrap();
    let number = app.application_no.as_str();
    assert!(store.delivery(number).await.unwrap().is_none());
    assert!(store.complete_application(number, 100).await.unwrap());
    assert!(!store.complete_application(number, 101).await.unwrap());
    let row = store.delivery(number).await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (DeliveryState::Pending, 0));

    let claimed = store.claim_due_deliveries(100, 60, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    // Leased: another worker finds nothing until the lease runs out.
    assert!(store
        .claim_due_deliveries(120, 60, 10)
        .await
        .unwrap()
        .is_empty());
    store
        .delivery_retry(number, "population system down", 200, 130)
        .await
        .unwrap();
    assert!(store
        .claim_due_deliveries(150, 60, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.undelivered_since(150).await.unwrap().len(), 1);
    assert_eq!(
        store.claim_due_deliveries(200, 60, 10).await.unwrap().len(),
        1
    );
    store.delivery_lost_reported(number, 201).await.unwrap();
    store.delivery_done(number, number, 202).await.unwrap();
    let row = store.delivery(number).await.unwrap().unwrap();
    assert_eq!(row.state, DeliveryState::Delivered);
    assert_eq!(row.attempts, 2);
    assert!(row.lost_reported);
    assert_eq!(row.last_error, None);
    assert!(store.undelivered_since(10_000).await.unwrap().is_empty());
    assert!(store
        .claim_due_deliveries(10_000, 60, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn scope_decision_is_bound_to_its_session(db: Arc<TestDatabase>) {
    let store = db.store();
    store.start_session("s1", "K0001", 0).await.unwrap();
    assert!(store.scope_decision("s1").await.unwrap().is_none());
    let mut decision = ScopeDecisionRecord {
        session_id: "s1".into(),
        id_number: LOCAL.into(),
        business: "lost".into(),
        household: "province".into(),
        card: None,
        reason: "wrong_household_choice".into(),
    };
    store.record_scope_decision(&decision, 1).await.unwrap();
    // Back to step 2, decided again: the later decision replaces it.
    decision.household = "local".into();
    decision.reason = "accept".into();
    store.record_scope_decision(&decision, 2).await.unwrap();
    assert_eq!(store.scope_decision("s1").await.unwrap(), Some(decision));
}
