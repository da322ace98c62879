//! The store contract for an application's journey and its SMS notices (`store::journey`,
//! migration `0015_application_journey`) on both backends:
//! `store contract (journey): <backend> ok (<n> checks)`. Every move is checked against the
//! journey, stored with its actor and audited in one transaction; racing moves from one state
//! keep one; a notice is queued once per kind and claimed by one sender at a time.

use std::sync::Arc;

use domain::journey::{ApplicationState, Collector, IdentityCheck};
use domain::notice::NoticeKind;
use store::audit::Verification;
use store::journey::{Advance, CollectionRecord, Handover, NewNotice, NoticeState};
use store::testing::{self, TestDatabase};
use store::{Store, StoreError};

use super::integrity::application;
use super::LOCAL;

super::checks!(
    JOURNEY_CHECKS:
    a_journey_is_stored_move_by_move_and_audited,
    a_move_not_allowed_is_refused_naming_the_state,
    racing_moves_from_one_state_keep_one,
    a_notice_is_queued_once_per_kind_and_claimed_by_one_sender,
    a_hand_over_is_stored_with_the_move_and_the_proxy_sealed,
);

async fn run_journey_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks(
        "store contract (journey)",
        JOURNEY_CHECKS,
        backend,
        admin_url,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_journey_sqlite() {
    run_journey_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_journey_postgres() {
    if let Some(url) = testing::postgres_url("store contract (journey)") {
        run_journey_suite("postgres", Some(url)).await;
    }
}

/// A completed application of [`LOCAL`]; its number.
async fn completed(store: &Store) -> String {
    store.start_session("s1", "K0001", 0).await.unwrap();
    let (record, _) = store
        .create_application(&application("s1", LOCAL, "PSRECEIPT01"))
        .await
        .unwrap();
    assert!(store
        .complete_application(&record.application_no, 10)
        .await
        .unwrap());
    record.application_no
}

fn advance(number: &str, to: ApplicationState, at: i64) -> Advance {
    Advance {
        application_no: number.into(),
        to,
        actor: "popsys".into(),
        role: "system".into(),
        reason: None,
        at,
        notice: None,
    }
}

fn notice(kind: NoticeKind, text: &str) -> NewNotice {
    NewNotice {
        kind,
        mobile: "13912345678".into(),
        text: text.into(),
    }
}

async fn a_journey_is_stored_move_by_move_and_audited(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = completed(store).await;
    assert_eq!(
        store.application_state(&number).await.unwrap(),
        Some(ApplicationState::Submitted)
    );
    assert_eq!(store.application_state("nobody").await.unwrap(), None);
    let accepted = Advance {
        notice: Some(notice(NoticeKind::Accepted, "已受理")),
        ..advance(&number, ApplicationState::Accepted, 100)
    };
    let moved = store.advance_application(&accepted).await.unwrap();
    assert_eq!(
        (moved.from, moved.to),
        (ApplicationState::Submitted, ApplicationState::Accepted)
    );
    let open = store.applications_in_production(10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, ApplicationState::Accepted);
    for (to, at) in [
        (ApplicationState::InProduction, 200),
        (ApplicationState::Ready, 300),
    ] {
        store
            .advance_application(&advance(&number, to, at))
            .await
            .unwrap();
    }
    assert!(store
        .applications_in_production(10)
        .await
        .unwrap()
        .is_empty());
    let collected = Advance {
        actor: "clerk1".into(),
        role: "window_clerk".into(),
        reason: Some("本人领取".into()),
        ..advance(&number, ApplicationState::Collected, 400)
    };
    store.advance_application(&collected).await.unwrap();
    let moves = store.application_transitions(&number).await.unwrap();
    let path: Vec<_> = moves
        .iter()
        .map(|m| (m.from.as_str(), m.to.as_str(), m.actor.as_str(), m.at))
        .collect();
    assert_eq!(
        path,
        [
            ("submitted", "accepted", "popsys", 100),
            ("accepted", "in_production", "popsys", 200),
            ("in_production", "ready", "popsys", 300),
            ("ready", "collected", "clerk1", 400),
        ]
    );
    assert_eq!(moves[3].reason.as_deref(), Some("本人领取"));
    let audit = store.audit_entries(0, 1_000, 100).await.unwrap();
    let details: Vec<_> = audit
        .iter()
        .map(|e| {
            (
                e.actor.as_str(),
                e.action.as_str(),
                e.subject.as_str(),
                e.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(details.len(), 4, "{details:?}");
    assert_eq!(
        details[3],
        (
            "clerk1",
            "advance_application",
            number.as_str(),
            "ready -> collected: 本人领取"
        )
    );
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 4 }
    );
    let notices = store.notices_of_application(&number).await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, NoticeKind::Accepted);
    assert_eq!(notices[0].state, NoticeState::Pending);
    assert_eq!(notices[0].created_at, 100);
}

async fn a_move_not_allowed_is_refused_naming_the_state(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = completed(store).await;
    let refused = |to, expected: &'static str| {
        let number = number.clone();
        async move {
            let err = store
                .advance_application(&Advance {
                    notice: Some(notice(NoticeKind::Ready, "不该发")),
                    ..advance(&number, to, 50)
                })
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Transition(_)), "{err:?}");
            assert_eq!(err.to_string(), expected);
        }
    };
    refused(
        ApplicationState::Collected,
        "cannot mark collected: the application is submitted",
    )
    .await;
    for to in [
        ApplicationState::Accepted,
        ApplicationState::InProduction,
        ApplicationState::Ready,
    ] {
        store
            .advance_application(&advance(&number, to, 60))
            .await
            .unwrap();
    }
    refused(
        ApplicationState::Ready,
        "cannot mark ready: the application is ready",
    )
    .await;
    refused(
        ApplicationState::Cancelled,
        "cannot cancel: the application is ready",
    )
    .await;
    // Nothing of a refused move was kept: no move, no notice, no audit entry.
    assert_eq!(
        store.application_transitions(&number).await.unwrap().len(),
        3
    );
    assert!(store
        .notices_of_application(&number)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 3 }
    );
    let err = store
        .advance_application(&advance(
            "NOSUCHAPPLICATION0",
            ApplicationState::Accepted,
            70,
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownApplication(_)), "{err:?}");
    let err = store
        .advance_application(&advance(&number, ApplicationState::Submitted, 70))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
}

async fn racing_moves_from_one_state_keep_one(db: Arc<TestDatabase>) {
    let store = db.store().clone();
    let number = completed(&store).await;
    let other_handle = db.reconnect().await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 {
                store.clone()
            } else {
                other_handle.clone()
            };
            let number = number.clone();
            tokio::spawn(async move {
                store
                    .advance_application(&Advance {
                        notice: Some(notice(NoticeKind::Accepted, &format!("第{i}条"))),
                        ..advance(&number, ApplicationState::Accepted, 100 + i)
                    })
                    .await
            })
        })
        .collect();
    let mut moved = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => moved += 1,
            Err(StoreError::Transition(refused)) => {
                assert_eq!(refused.from, ApplicationState::Accepted)
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(moved, 1, "one caller moves the application");
    assert_eq!(
        store.application_transitions(&number).await.unwrap().len(),
        1
    );
    assert_eq!(
        store.notices_of_application(&number).await.unwrap().len(),
        1
    );
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 1 }
    );
    other_handle.close().await;
}

async fn a_notice_is_queued_once_per_kind_and_claimed_by_one_sender(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = completed(store).await;
    let overdue = notice(NoticeKind::Overdue, "抱歉");
    assert!(store.queue_notice(&number, &overdue, 1_000).await.unwrap());
    assert!(
        !store.queue_notice(&number, &overdue, 1_001).await.unwrap(),
        "a second overdue notice is not queued"
    );
    let claimed = store.claim_due_notices(1_000, 60, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].text, "抱歉");
    assert!(
        store
            .claim_due_notices(1_010, 60, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased to the first sender"
    );
    store
        .notice_retry(claimed[0].id, "smsc down", 1_030)
        .await
        .unwrap();
    assert!(store
        .claim_due_notices(1_020, 60, 10)
        .await
        .unwrap()
        .is_empty());
    let again = store.claim_due_notices(1_030, 60, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("smsc down"));
    store
        .notice_sent(again[0].id, "msg-0001", 1_031)
        .await
        .unwrap();
    // A sent notice is never claimed again, and a late failure report does not undo it.
    store.notice_failed(again[0].id, "late").await.unwrap();
    assert!(store
        .claim_due_notices(9_999, 60, 10)
        .await
        .unwrap()
        .is_empty());
    let stored = store.notices_of_application(&number).await.unwrap();
    assert_eq!(stored[0].state, NoticeState::Sent);
    assert_eq!(stored[0].message_id.as_deref(), Some("msg-0001"));
    assert_eq!(stored[0].attempts, 2);
    assert_eq!(stored[0].sent_at, Some(1_031));

    let rejected = notice(NoticeKind::Rejected, "未通过");
    assert!(store.queue_notice(&number, &rejected, 2_000).await.unwrap());
    let claimed = store.claim_due_notices(2_000, 60, 10).await.unwrap();
    store
        .notice_failed(claimed[0].id, "permanent: invalid destination")
        .await
        .unwrap();
    let stored = store.notices_of_application(&number).await.unwrap();
    assert_eq!(stored[1].state, NoticeState::Failed);
    assert_eq!(
        stored[1].last_error.as_deref(),
        Some("permanent: invalid destination")
    );
}

/// The hand-over is written in the move's transaction; a proxy's ID number and name go through
/// the store's cipher (what a store without it reads is not an ID number), and a second
/// hand-over or a hand-over that is not a move to collected is refused without a row.
async fn a_hand_over_is_stored_with_the_move_and_the_proxy_sealed(db: Arc<TestDatabase>) {
    let sealing = db.store().clone().with_cipher(Arc::new(super::Reversing));
    let number = completed(&sealing).await;
    let proxy = Handover {
        check: IdentityCheck::Face { score: 88.5 },
        collector: Collector::Proxy {
            id: domain::CitizenId::try_from("11010519491231002X".to_owned()).unwrap(),
            name: "李四".into(),
        },
    };
    let collected = Advance {
        actor: "clerk1".into(),
        role: "window_clerk".into(),
        ..advance(&number, ApplicationState::Collected, 400)
    };
    // Not ready yet: refused naming the state, nothing kept.
    match sealing.collect_card(&collected, &proxy).await {
        Err(StoreError::Transition(refused)) => {
            assert_eq!(refused.from, ApplicationState::Submitted)
        }
        other => panic!("collected before ready: {other:?}"),
    }
    assert_eq!(sealing.collection_of(&number).await.unwrap(), None);
    for (to, at) in [
        (ApplicationState::Accepted, 100),
        (ApplicationState::InProduction, 200),
        (ApplicationState::Ready, 300),
    ] {
        sealing
            .advance_application(&advance(&number, to, at))
            .await
            .unwrap();
    }
    // A hand-over is a move to collected only.
    let returned = advance(&number, ApplicationState::Returned, 350);
    assert!(matches!(
        sealing.collect_card(&returned, &proxy).await,
        Err(StoreError::Rejected(_))
    ));
    assert_eq!(
        sealing.application_state(&number).await.unwrap(),
        Some(ApplicationState::Ready)
    );
    sealing.collect_card(&collected, &proxy).await.unwrap();
    assert_eq!(
        sealing.collection_of(&number).await.unwrap(),
        Some(CollectionRecord {
            application_no: number.clone(),
            handover: proxy.clone(),
            clerk: "clerk1".into(),
            at: 400,
        })
    );
    // At rest the proxy's fields are what the cipher made of them, not the ID number.
    assert!(
        matches!(
            db.store().collection_of(&number).await,
            Err(StoreError::Corrupt { column, .. }) if column.starts_with("center_collections.proxy")
        ),
        "the proxy's ID number is stored unsealed"
    );
    // Collected twice: refused with the state named, the first hand-over kept.
    let again = Handover {
        check: IdentityCheck::ByEye,
        collector: Collector::Applicant,
    };
    match sealing.collect_card(&collected, &again).await {
        Err(StoreError::Transition(refused)) => {
            assert_eq!(refused.from, ApplicationState::Collected)
        }
        other => panic!("collected twice: {other:?}"),
    }
    assert_eq!(
        sealing
            .collection_of(&number)
            .await
            .unwrap()
            .unwrap()
            .handover,
        proxy
    );
}
