//! The store contract for the center's session records (`store::sessions`, migration
//! `0003_center_sessions`), on both backends like the rest of the suite:
//! `store contract (sessions): <backend> ok (<n> checks)`. What each step of a kiosk session
//! decided is written once and read back as written; a repeat gets the first answer; what the
//! schema forbids is refused and writes nothing.

use std::sync::Arc;

use domain::id::CitizenId;
use domain::rules::{Business, Household, NewCardValidity};
use domain::trade_state::TradeState;
use store::sessions::{
    ApplicationRecord, DocumentRecord, FaceScoreRecord, KioskStatus, NewApplication, SessionReceipt,
};
use store::testing::{self, TestDatabase};
use store::StoreError;
use time::macros::date;

use super::integrity::application;
use super::{behind_the_store, refused_behind_the_store, Reversing, LOCAL, OTHER, TODAY};

super::checks!(
    SESSION_CHECKS:
    a_session_belongs_to_its_first_kiosk_and_ends_once,
    receipt_scans_replace_each_other_until_one_is_found,
    first_answers_win_and_payments_are_paid_once,
    face_scores_are_kept_as_first_recorded,
    session_blobs_are_sealed_stored_once_renamed_and_pruned,
    a_blob_quota_never_passes_its_limit,
    racing_uploads_never_pass_a_quota,
    applications_are_numbered_per_city_and_day_and_read_back_as_written,
    application_numbers_are_allocated_in_the_database_across_replicas,
    an_application_ends_once,
    what_the_schema_forbids_is_refused,
    a_stored_code_nobody_knows_is_refused_or_a_named_decoding_error,
    documents_keep_their_first_record_of_a_kind,
);

async fn run_session_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks(
        "store contract (sessions)",
        SESSION_CHECKS,
        backend,
        admin_url,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_sessions_sqlite() {
    run_session_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_sessions_postgres() {
    if let Some(url) = testing::postgres_url("store contract (sessions)") {
        run_session_suite("postgres", Some(url)).await;
    }
}

// ---- helpers --------------------------------------------------------------------------------

/// A valid ID number of its own for each `n` (one live application per citizen).
pub(super) fn citizen(n: u16) -> String {
    CitizenId::from_parts("320104", date!(2000 - 12 - 10), n)
        .expect("a valid number")
        .as_str()
        .to_owned()
}

fn scores(session: &str, live: f64, liveness: Option<f64>) -> FaceScoreRecord {
    FaceScoreRecord {
        session_id: session.into(),
        certified_vs_history: 97.5,
        live_vs_history: live,
        certified_distance: 0.25,
        live_distance: 0.375,
        certified_threshold: 95.0,
        live_threshold: 60.0,
        passed: live >= 60.0,
        engine: "dlib".into(),
        engine_version: "19.24".into(),
        liveness_score: liveness,
        liveness_threshold: liveness.map(|_| 0.5),
        liveness_engine: liveness.map(|_| "minifasnet 2".into()),
    }
}

/// What `new` reads back as once accepted under `number`.
fn as_stored(new: &NewApplication, number: &str) -> ApplicationRecord {
    ApplicationRecord {
        application_no: number.into(),
        session_id: new.session_id.clone(),
        kiosk_id: new.kiosk_id.clone(),
        city_code: new.city_code.clone(),
        id_number: new.id_number.clone(),
        name: new.name.clone(),
        nation_code: new.nation_code.clone(),
        address: new.address.clone(),
        business: new.business,
        household: new.household,
        receipt_code: new.receipt_code.clone(),
        mobile: new.mobile.clone(),
        fee_cny: new.fee_cny,
        validity: new.validity,
        accepted_on: new.accepted_on,
        issue_by: new.issue_by,
        remote_area: new.remote_area,
        fingers: new.fingers.clone(),
        status: KioskStatus::Accepted,
        created_at: new.now,
        collection_office: new.collection_office.clone(),
    }
}

// ---- checks ---------------------------------------------------------------------------------

async fn a_session_belongs_to_its_first_kiosk_and_ends_once(db: Arc<TestDatabase>) {
    let store = db.store();
    assert_eq!(store.session_kiosk("S1").await.unwrap(), None);
    assert_eq!(
        store.start_session("S1", "K0001", 1).await.unwrap(),
        "K0001"
    );
    // Another kiosk using the same id does not take it over.
    assert_eq!(
        store.start_session("S1", "K0002", 2).await.unwrap(),
        "K0001"
    );
    assert_eq!(
        store.session_kiosk("S1").await.unwrap().as_deref(),
        Some("K0001")
    );
    assert_eq!(store.session_outcome("S1").await.unwrap(), None);
    let first = r#"{"outcome":"finished"}"#;
    assert_eq!(store.end_session("S1", first, 9).await.unwrap(), first);
    assert_eq!(
        store
            .end_session("S1", r#"{"outcome":"timeout"}"#, 10)
            .await
            .unwrap(),
        first,
        "the first end wins"
    );
    assert_eq!(
        store.session_outcome("S1").await.unwrap().as_deref(),
        Some(first)
    );
    // A session that was never started cannot end, and is not created by trying.
    assert!(store.end_session("S9", first, 11).await.is_err());
    assert_eq!(store.session_kiosk("S9").await.unwrap(), None);
    assert_eq!(store.session_outcome("S9").await.unwrap(), None);
}

async fn receipt_scans_replace_each_other_until_one_is_found(db: Arc<TestDatabase>) {
    let sealing = db.store().clone().with_cipher(Arc::new(Reversing));
    sealing.start_session("S1", "K0001", 1).await.unwrap();
    assert_eq!(sealing.session_receipt("S1").await.unwrap(), None);
    let unknown = SessionReceipt {
        session_id: "S1".into(),
        id_number: LOCAL.into(),
        receipt_code: "PS0000000000001".into(),
        found: false,
        photo: None,
    };
    assert_eq!(sealing.record_receipt(&unknown, 1).await.unwrap(), unknown);
    let found = SessionReceipt {
        receipt_code: "PS2026112500001".into(),
        found: true,
        photo: Some(b"\xff\xd8certified\xff\xd9".to_vec()),
        ..unknown.clone()
    };
    assert_eq!(sealing.record_receipt(&found, 2).await.unwrap(), found);
    // Found is final: a later scan changes nothing.
    assert_eq!(sealing.record_receipt(&unknown, 3).await.unwrap(), found);
    assert_eq!(
        sealing.session_receipt("S1").await.unwrap().as_ref(),
        Some(&found)
    );
    // The photo is stored sealed.
    let raw = db.store().session_receipt("S1").await.unwrap().unwrap();
    assert_eq!(
        raw.photo.as_deref(),
        Some(&b"\xd9\xffdeifitrec\xd8\xff"[..])
    );
    // A receipt of a session that was never started is refused.
    let orphan = SessionReceipt {
        session_id: "S9".into(),
        ..found.clone()
    };
    let err = sealing.record_receipt(&orphan, 4).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
}

/// Moved from `store::sessions`' unit tests: the first answer of each step wins, and a payment is
/// recorded paid once and voided once.
async fn first_answers_win_and_payments_are_paid_once(db: Arc<TestDatabase>) {
    let store = db.store();
    assert_eq!(
        store.start_session("S1", "K0001", 1).await.unwrap(),
        "K0001"
    );
    assert_eq!(
        store.start_session("S1", "K0002", 2).await.unwrap(),
        "K0001"
    );
    let receipt = SessionReceipt {
        session_id: "S1".into(),
        id_number: "320104200012100044".into(),
        receipt_code: "PS2026112500001".into(),
        found: true,
        photo: Some(vec![1, 2, 3]),
    };
    assert_eq!(store.record_receipt(&receipt, 1).await.unwrap(), receipt);
    let other = SessionReceipt {
        found: false,
        photo: None,
        ..receipt.clone()
    };
    assert_eq!(store.record_receipt(&other, 2).await.unwrap(), receipt);
    let not_found = SessionReceipt {
        session_id: "S2".into(),
        ..other.clone()
    };
    store.start_session("S2", "K0001", 1).await.unwrap();
    assert_eq!(
        store.record_receipt(&not_found, 1).await.unwrap(),
        not_found
    );
    let found = SessionReceipt {
        session_id: "S2".into(),
        ..receipt.clone()
    };
    assert_eq!(store.record_receipt(&found, 2).await.unwrap(), found);

    assert!(store
        .put_session_blob("S1", "signature", b"png", 1)
        .await
        .unwrap());
    assert!(!store
        .put_session_blob("S1", "signature", b"other", 2)
        .await
        .unwrap());
    assert_eq!(
        store
            .session_blob("S1", "signature")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"png"[..])
    );

    let new = store::sessions::NewPayment {
        out_trade_no: "IDK320100202611250001A1".into(),
        application_no: "320100202611250001".into(),
        session_id: "S1".into(),
        attempt: 1,
        method: domain::session::PaymentMethod::WeChat,
        amount_fen: domain::money::Fen::new(2000).unwrap(),
        expires_at: 600,
        now: 1,
    };
    let (payment, created) = store.create_payment(&new).await.unwrap();
    assert!(created);
    assert_eq!(payment.state, TradeState::NotPay);
    assert!(!store.create_payment(&new).await.unwrap().1);
    assert!(store
        .record_payment_paid(&new.out_trade_no, "T1", 2000, 5)
        .await
        .unwrap());
    assert!(!store
        .record_payment_paid(&new.out_trade_no, "T1", 2000, 6)
        .await
        .unwrap());
    assert!(!store
        .set_payment_state(&new.out_trade_no, TradeState::Closed, 7)
        .await
        .unwrap());
    let paid = store.payment("S1", 1).await.unwrap().unwrap();
    assert_eq!(
        (paid.state.as_str(), paid.paid_fen, paid.paid_at),
        ("SUCCESS", Some(2000), Some(5))
    );
    // No application 320100202611250001: flagged as it was recorded.
    assert!(paid.void_required);
    assert!(!store.require_void(&new.out_trade_no, 8).await.unwrap());
    assert!(store.record_void(&new.out_trade_no, "{}", 9).await.unwrap());
    let voided = store
        .payment_by_trade_no(&new.out_trade_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(voided.state, TradeState::Revoked);
    assert!(!voided.void_required);

    let first = store
        .end_session("S1", r#"{"outcome":"timeout"}"#, 9)
        .await
        .unwrap();
    let second = store
        .end_session("S1", r#"{"outcome":"other"}"#, 10)
        .await
        .unwrap();
    assert_eq!(first, second);
}

async fn face_scores_are_kept_as_first_recorded(db: Arc<TestDatabase>) {
    let store = db.store();
    for session in ["S1", "S2"] {
        store.start_session(session, "K0001", 1).await.unwrap();
    }
    assert_eq!(store.face_scores("S1").await.unwrap(), None);
    let first = scores("S1", 72.25, None);
    assert_eq!(store.record_face_scores(&first, 1).await.unwrap(), first);
    // A repeat with other numbers (a retried request after a new comparison) keeps the first.
    let again = scores("S1", 41.5, Some(0.125));
    assert_eq!(store.record_face_scores(&again, 2).await.unwrap(), first);
    assert_eq!(store.face_scores("S1").await.unwrap(), Some(first));
    // With a liveness score, every field reads back.
    let live = scores("S2", 88.0, Some(0.875));
    assert_eq!(store.record_face_scores(&live, 3).await.unwrap(), live);
    assert_eq!(store.face_scores("S2").await.unwrap(), Some(live));
    let orphan = scores("S9", 88.0, None);
    let err = store.record_face_scores(&orphan, 4).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
}

async fn session_blobs_are_sealed_stored_once_renamed_and_pruned(db: Arc<TestDatabase>) {
    let sealing = db.store().clone().with_cipher(Arc::new(Reversing));
    for session in ["S1", "S2"] {
        sealing.start_session(session, "K0001", 1).await.unwrap();
    }
    for (kind, bytes) in [
        ("signature", &b"png"[..]),
        ("live_photo", b"jpeg"),
        ("video", b"mp4"),
    ] {
        assert!(sealing
            .put_session_blob("S1", kind, bytes, 1)
            .await
            .unwrap());
    }
    assert!(sealing
        .put_session_blob("S2", "signature", b"other", 1)
        .await
        .unwrap());
    assert!(!sealing
        .put_session_blob("S1", "signature", b"second", 2)
        .await
        .unwrap());
    assert_eq!(
        sealing.session_blob("S1", "signature").await.unwrap(),
        Some(b"png".to_vec())
    );
    // Stored sealed: read without the cipher, the bytes are the sealed ones.
    assert_eq!(
        db.store().session_blob("S1", "signature").await.unwrap(),
        Some(b"gnp".to_vec())
    );
    assert_eq!(sealing.session_blob("S1", "fingers").await.unwrap(), None);

    assert!(sealing
        .rename_session_blob("S1", "video", "audit_video")
        .await
        .unwrap());
    assert!(
        !sealing
            .rename_session_blob("S1", "video", "audit_video")
            .await
            .unwrap(),
        "there is no `video` any more"
    );
    assert!(
        !sealing
            .rename_session_blob("S1", "live_photo", "signature")
            .await
            .unwrap(),
        "`signature` exists"
    );
    assert_eq!(
        sealing.session_blob("S1", "audit_video").await.unwrap(),
        Some(b"mp4".to_vec())
    );
    assert_eq!(sealing.session_blob("S1", "video").await.unwrap(), None);
    assert_eq!(
        sealing.session_blob("S1", "live_photo").await.unwrap(),
        Some(b"jpeg".to_vec())
    );

    assert_eq!(
        sealing
            .delete_session_blobs_except("S1", "audit_video")
            .await
            .unwrap(),
        2
    );
    assert_eq!(sealing.session_blob("S1", "signature").await.unwrap(), None);
    assert_eq!(
        sealing.session_blob("S1", "live_photo").await.unwrap(),
        None
    );
    assert_eq!(
        sealing.session_blob("S1", "audit_video").await.unwrap(),
        Some(b"mp4".to_vec())
    );
    assert_eq!(
        sealing.session_blob("S2", "signature").await.unwrap(),
        Some(b"other".to_vec()),
        "another session's blobs stay"
    );
    let err = sealing
        .put_session_blob("S9", "signature", b"png", 3)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
}

async fn a_blob_quota_never_passes_its_limit(db: Arc<TestDatabase>) {
    let store = db.store();
    let scope = "session:S1";
    assert_eq!(
        store.charge_blob_quota(scope, 60, 100, 1).await.unwrap(),
        Some(60)
    );
    assert_eq!(
        store.charge_blob_quota(scope, 50, 100, 2).await.unwrap(),
        None
    );
    // The refused charge took nothing.
    assert_eq!(
        store.charge_blob_quota(scope, 40, 100, 3).await.unwrap(),
        Some(100)
    );
    assert_eq!(
        store.charge_blob_quota(scope, 1, 100, 4).await.unwrap(),
        None
    );
    store.refund_blob_quota(scope, 30).await.unwrap();
    assert_eq!(
        store.charge_blob_quota(scope, 30, 100, 5).await.unwrap(),
        Some(100)
    );
    // A refund never goes below zero.
    store.refund_blob_quota(scope, 1_000).await.unwrap();
    assert_eq!(
        store.charge_blob_quota(scope, 100, 100, 6).await.unwrap(),
        Some(100)
    );
    // More than the limit at once is refused, also on a scope never charged.
    assert_eq!(
        store
            .charge_blob_quota("session:S2", 101, 100, 7)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .charge_blob_quota("session:S2", 100, 100, 8)
            .await
            .unwrap(),
        Some(100)
    );
    // Scopes are separate.
    assert_eq!(
        store
            .charge_blob_quota("kiosk:K0001:2026-11-25", 5, 100, 9)
            .await
            .unwrap(),
        Some(5)
    );
}

async fn racing_uploads_never_pass_a_quota(db: Arc<TestDatabase>) {
    let store = db.store().clone();
    let replica = db.reconnect().await.unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let store = if i % 2 == 0 {
                store.clone()
            } else {
                replica.clone()
            };
            tokio::spawn(async move { store.charge_blob_quota("session:S1", 20, 100, i).await })
        })
        .collect();
    let mut totals = Vec::new();
    for task in tasks {
        if let Some(total) = task.await.unwrap().unwrap() {
            totals.push(total);
        }
    }
    totals.sort_unstable();
    assert_eq!(totals, vec![20, 40, 60, 80, 100], "five charges of 20 fit");
    replica.close().await;
}

async fn applications_are_numbered_per_city_and_day_and_read_back_as_written(
    db: Arc<TestDatabase>,
) {
    let store = db.store();
    for session in ["S1", "S2", "S3", "S4"] {
        store.start_session(session, "K0001", 1).await.unwrap();
    }
    let written = NewApplication {
        business: Business::ExpiryRenewal,
        household: Household::Province,
        fee_cny: 20,
        validity: NewCardValidity::TwentyYears,
        remote_area: true,
        fingers: r#"[{"position":"right_index","quality":81}]"#.into(),
        ..application("S1", LOCAL, "PSRECEIPT01")
    };
    let (first, created) = store.create_application(&written).await.unwrap();
    assert!(created);
    assert_eq!(first, as_stored(&written, "320100202611250001"));
    assert_eq!(
        store.application(&first.application_no).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.application_by_session("S1").await.unwrap(),
        Some(first.clone())
    );

    // The same day and city counts on; another city or day starts at 1.
    let (second, _) = store
        .create_application(&application("S2", OTHER, "PSRECEIPT02"))
        .await
        .unwrap();
    assert_eq!(second.application_no, "320100202611250002");
    let suzhou = NewApplication {
        city_code: "320500".into(),
        ..application("S3", &citizen(2), "PSRECEIPT03")
    };
    let (third, _) = store.create_application(&suzhou).await.unwrap();
    assert_eq!(third.application_no, "320500202611250001");
    let next_day = NewApplication {
        accepted_on: date!(2026 - 11 - 26),
        ..application("S4", &citizen(6), "PSRECEIPT04")
    };
    let (fourth, _) = store.create_application(&next_day).await.unwrap();
    assert_eq!(fourth.application_no, "320100202611260001");

    let numbers = |records: Vec<ApplicationRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.application_no).collect()
    };
    assert_eq!(
        numbers(store.applications_accepted_on(TODAY).await.unwrap()),
        [
            "320100202611250001",
            "320100202611250002",
            "320500202611250001"
        ]
    );
    assert_eq!(
        numbers(
            store
                .applications_accepted_on(date!(2026 - 11 - 26))
                .await
                .unwrap()
        ),
        ["320100202611260001"]
    );
    assert!(store
        .applications_accepted_on(date!(2026 - 11 - 24))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.application("320100202611259999").await.unwrap(), None);
    assert_eq!(store.application_by_session("S9").await.unwrap(), None);
}

/// Moved from `store::sessions`' unit tests: numbers come from the database, so two handles (two
/// replicas) never hand out the same one.
async fn application_numbers_are_allocated_in_the_database_across_replicas(db: Arc<TestDatabase>) {
    // A session's application, for a citizen of its own: the number follows the receipt's digits.
    fn numbered(session: &str, receipt: &str) -> NewApplication {
        let sequence: u16 = receipt
            .trim_start_matches('R')
            .parse::<u16>()
            .map_or(0, |n| n % 500 * 2);
        NewApplication {
            business: Business::ExpiryRenewal,
            fee_cny: 20,
            ..application(session, &citizen(sequence), receipt)
        }
    }
    let replica = db.reconnect().await.expect("second handle");
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = if i % 2 == 0 {
            db.store().clone()
        } else {
            replica.clone()
        };
        tasks.push(tokio::spawn(async move {
            let session = format!("S{i}");
            store.start_session(&session, "K0001", 1).await.unwrap();
            let (created, new) = store
                .create_application(&numbered(&session, &format!("R{i:08}")))
                .await
                .unwrap();
            assert!(new);
            created.application_no
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=12).map(|n| format!("32010020261125{n:04}")).collect();
    assert_eq!(numbers, expected);
    // A repeat for a session returns its number and allocates nothing.
    let (again, new) = replica
        .create_application(&numbered("S3", "R00000003"))
        .await
        .unwrap();
    assert!(!new);
    assert!(numbers.contains(&again.application_no));
    // A receipt serves one application only (for another citizen, so only the receipt stands in
    // the way).
    db.store().start_session("S99", "K0001", 1).await.unwrap();
    let other = NewApplication {
        id_number: domain::CitizenId::try_from("320106196307084567".to_owned()).unwrap(),
        ..numbered("S99", "R00000003")
    };
    let err = db.store().create_application(&other).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    replica.close().await;
}

async fn an_application_ends_once(db: Arc<TestDatabase>) {
    let store = db.store();
    for session in ["S1", "S2"] {
        store.start_session(session, "K0001", 1).await.unwrap();
    }
    let (first, _) = store
        .create_application(&application("S1", LOCAL, "PSRECEIPT01"))
        .await
        .unwrap();
    let (second, _) = store
        .create_application(&application("S2", OTHER, "PSRECEIPT02"))
        .await
        .unwrap();
    assert!(store
        .finish_application(&first.application_no, KioskStatus::Completed)
        .await
        .unwrap());
    assert!(!store
        .finish_application(&first.application_no, KioskStatus::Referred)
        .await
        .unwrap());
    assert!(store
        .finish_application(&second.application_no, KioskStatus::Referred)
        .await
        .unwrap());
    assert!(!store
        .finish_application(&second.application_no, KioskStatus::Completed)
        .await
        .unwrap());
    let status =
        |number: String| async move { store.application(&number).await.unwrap().unwrap().status };
    assert_eq!(
        status(first.application_no.clone()).await,
        KioskStatus::Completed
    );
    assert_eq!(
        status(second.application_no.clone()).await,
        KioskStatus::Referred
    );
    assert!(!store
        .finish_application("320100202611259999", KioskStatus::Completed)
        .await
        .unwrap());
    // "Accepted" is not an end: refused, and the application stays as it was.
    let (third, _) = {
        store.start_session("S3", "K0001", 1).await.unwrap();
        store
            .create_application(&application("S3", &citizen(2), "PSRECEIPT03"))
            .await
            .unwrap()
    };
    let err = store
        .finish_application(&third.application_no, KioskStatus::Accepted)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert_eq!(
        status(third.application_no.clone()).await,
        KioskStatus::Accepted
    );
    // A status the schema does not know is refused by the database itself.
    assert!(
        refused_behind_the_store(
            &db,
            &format!(
                "UPDATE center_applications SET status = 'paid' WHERE application_no = '{}'",
                third.application_no
            )
        )
        .await
    );
    assert_eq!(status(third.application_no).await, KioskStatus::Accepted);
}

async fn what_the_schema_forbids_is_refused(db: Arc<TestDatabase>) {
    let store = db.store();
    let err = store.start_session("", "K0001", 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    store.start_session("S1", "K0001", 1).await.unwrap();
    let refused = |new: NewApplication| async move {
        let err = store.create_application(&new).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)), "{new:?}: {err:?}");
    };
    let base = || application("S1", LOCAL, "PSRECEIPT01");
    // A session that was never started has no application.
    refused(application("S9", LOCAL, "PSRECEIPT01")).await;
    // Nothing was written, and no number was spent: the next one is still the first.
    assert_eq!(store.application_by_session("S1").await.unwrap(), None);
    assert!(store
        .applications_accepted_on(TODAY)
        .await
        .unwrap()
        .is_empty());
    let (created, _) = store.create_application(&base()).await.unwrap();
    assert_eq!(created.application_no, "320100202611250001");
}

async fn documents_keep_their_first_record_of_a_kind(db: Arc<TestDatabase>) {
    let store = db.store();
    for session in ["S1", "S2"] {
        store.start_session(session, "K0001", 1).await.unwrap();
    }
    let document = |kind: &str, size: i64| DocumentRecord {
        session_id: "S1".into(),
        kind: kind.into(),
        application_no: "320100202611250001".into(),
        size,
        sha256: format!("{size:064x}"),
    };
    assert!(store.session_documents("S1").await.unwrap().is_empty());
    store
        .record_document(&document("notice", 300), 1)
        .await
        .unwrap();
    store
        .record_document(&document("certificate", 100), 2)
        .await
        .unwrap();
    // A re-render of the certificate (another size) keeps the first record.
    store
        .record_document(&document("certificate", 999), 3)
        .await
        .unwrap();
    store
        .record_document(&document("form", 200), 4)
        .await
        .unwrap();
    assert_eq!(
        store.session_documents("S1").await.unwrap(),
        vec![
            document("certificate", 100),
            document("form", 200),
            document("notice", 300)
        ]
    );
    assert!(store.session_documents("S2").await.unwrap().is_empty());
    let orphan = DocumentRecord {
        session_id: "S9".into(),
        ..document("certificate", 100)
    };
    let err = store.record_document(&orphan, 5).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
}

/// What the types make impossible to write (an unknown business, a short ID number) the schema
/// refuses too; a code the schema lets through but no type knows (a validity edited behind the
/// store's back) is a decoding error that names its column, never a string compared later.
async fn a_stored_code_nobody_knows_is_refused_or_a_named_decoding_error(db: Arc<TestDatabase>) {
    let store = db.store();
    store.start_session("S1", "K0001", 1).await.unwrap();
    let (created, _) = store
        .create_application(&application("S1", LOCAL, "PSRECEIPT01"))
        .await
        .unwrap();
    let no = &created.application_no;
    for set in [
        "business = 'renewal'",
        "household = 'abroad'",
        "id_number = '3201042000121000'",
    ] {
        assert!(
            refused_behind_the_store(
                &db,
                &format!("UPDATE center_applications SET {set} WHERE application_no = '{no}'")
            )
            .await,
            "{set}"
        );
    }
    assert_eq!(store.application(no).await.unwrap(), Some(created.clone()));
    behind_the_store(
        &db,
        &format!(
            "UPDATE center_applications SET validity = 'forever' WHERE application_no = '{no}'"
        ),
    )
    .await;
    let err = format!("{:?}", store.application(no).await.unwrap_err());
    // sqlx names the column (the conversion's own message does not survive its error type).
    assert!(
        err.contains("ColumnDecode") && err.contains("validity"),
        "{err}"
    );
}
