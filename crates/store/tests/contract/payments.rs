//! The store contract for the center's payments (`store::sessions`, `center_payments`), on both
//! backends like the rest of the suite: `store contract (payments): <backend> ok (<n> checks)`.
//! A payment is registered once per trade number, its state only moves forward, a success is
//! recorded once whoever reports it, and money that cannot serve a live application is flagged to
//! go back.

use std::sync::Arc;

use domain::money::Fen;
use domain::session::PaymentMethod;
use domain::trade_state::TradeState;

use store::sessions::{KioskStatus, NewPayment, PaymentRecord};
use store::testing::{self, TestDatabase};
use store::{Store, StoreError};

use super::integrity::application;
use super::{refused_behind_the_store, LOCAL, OTHER};

super::checks!(
    PAYMENT_CHECKS:
    a_payment_is_registered_once_and_reads_back_as_written,
    success_is_recorded_once_and_final_states_do_not_move,
    racing_reports_of_one_payment_record_it_once,
    a_closed_order_paid_meanwhile_is_recorded,
    a_second_paid_attempt_must_go_back,
    paid_for_a_referred_application_must_go_back,
    another_amount_is_held_not_recorded_paid,
    pos_results_move_only_open_payments,
    payments_between_cover_created_and_paid,
    what_the_schema_forbids_is_refused,
);

async fn run_payment_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks(
        "store contract (payments)",
        PAYMENT_CHECKS,
        backend,
        admin_url,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_payments_sqlite() {
    run_payment_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_payments_postgres() {
    if let Some(url) = testing::postgres_url("store contract (payments)") {
        run_payment_suite("postgres", Some(url)).await;
    }
}

// ---- helpers --------------------------------------------------------------------------------

/// A live (accepted) application for session `session` of `citizen`; its number.
async fn accepted(store: &Store, session: &str, citizen: &str) -> String {
    store.start_session(session, "K0001", 1).await.unwrap();
    let receipt = format!("PS-{session}");
    let (created, _) = store
        .create_application(&application(session, citizen, &receipt))
        .await
        .unwrap();
    created.application_no
}

fn payment(application_no: &str, session: &str, attempt: i64, method: &str) -> NewPayment {
    NewPayment {
        out_trade_no: format!("IDK{application_no}A{attempt}"),
        application_no: application_no.into(),
        session_id: session.into(),
        attempt,
        method: PaymentMethod::try_from(method.to_owned()).unwrap(),
        amount_fen: Fen::new(4000).unwrap(),
        expires_at: 700,
        now: 100,
    }
}

async fn read(store: &Store, out_trade_no: &str) -> PaymentRecord {
    store
        .payment_by_trade_no(out_trade_no)
        .await
        .unwrap()
        .expect("the payment is stored")
}

// ---- checks ---------------------------------------------------------------------------------

async fn a_payment_is_registered_once_and_reads_back_as_written(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = accepted(store, "S1", LOCAL).await;
    let new = payment(&number, "S1", 1, "wechat");
    let (created, is_new) = store.create_payment(&new).await.unwrap();
    assert!(is_new);
    let expected = PaymentRecord {
        out_trade_no: new.out_trade_no.clone(),
        application_no: number.clone(),
        session_id: "S1".into(),
        attempt: 1,
        method: PaymentMethod::WeChat,
        amount_fen: Fen::new(4000).unwrap(),
        state: TradeState::NotPay,
        code_url: None,
        expires_at: 700,
        transaction_id: None,
        paid_fen: None,
        paid_at: None,
        pos_result: None,
        void_required: false,
        voided_at: None,
        void_result: None,
        created_at: 100,
        updated_at: 100,
    };
    assert_eq!(created, expected);
    // A repeat (even with another amount) registers nothing and answers with the first.
    let repeat = NewPayment {
        amount_fen: Fen::new(1).unwrap(),
        now: 200,
        ..new.clone()
    };
    assert_eq!(
        store.create_payment(&repeat).await.unwrap(),
        (expected.clone(), false)
    );
    assert_eq!(
        store.payment("S1", 1).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(store.payment("S1", 2).await.unwrap(), None);
    assert_eq!(store.payment_by_trade_no("IDK-NONE").await.unwrap(), None);

    store
        .set_payment_code_url(&new.out_trade_no, "weixin://wxpay/bizpayurl?pr=abc", 150)
        .await
        .unwrap();
    let with_code = read(store, &new.out_trade_no).await;
    assert_eq!(
        with_code.code_url.as_deref(),
        Some("weixin://wxpay/bizpayurl?pr=abc")
    );
    assert_eq!(with_code.updated_at, 150);

    // A second attempt with the other method; the application lists both by attempt.
    assert!(store
        .set_payment_state(&new.out_trade_no, TradeState::Closed, 160)
        .await
        .unwrap());
    let second = payment(&number, "S1", 2, "unionpay");
    assert!(store.create_payment(&second).await.unwrap().1);
    let attempts: Vec<(i64, PaymentMethod, TradeState)> = store
        .payments_of_application(&number)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.attempt, p.method, p.state))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, PaymentMethod::WeChat, TradeState::Closed),
            (2, PaymentMethod::UnionPay, TradeState::NotPay)
        ]
    );
    assert!(store
        .payments_of_application("320100202611259999")
        .await
        .unwrap()
        .is_empty());
}

async fn success_is_recorded_once_and_final_states_do_not_move(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = accepted(store, "S1", LOCAL).await;
    let new = payment(&number, "S1", 1, "wechat");
    store.create_payment(&new).await.unwrap();
    assert!(store
        .set_payment_state(&new.out_trade_no, TradeState::UserPaying, 110)
        .await
        .unwrap());
    assert!(store
        .record_payment_paid(&new.out_trade_no, "T1", 4000, 120)
        .await
        .unwrap());
    // The query that sees it second, with other details, changes nothing.
    assert!(!store
        .record_payment_paid(&new.out_trade_no, "T2", 3999, 130)
        .await
        .unwrap());
    for state in [TradeState::Closed, TradeState::NotPay, TradeState::PayError] {
        assert!(
            !store
                .set_payment_state(&new.out_trade_no, state, 140)
                .await
                .unwrap(),
            "SUCCESS does not move to {state:?}"
        );
    }
    let paid = read(store, &new.out_trade_no).await;
    assert_eq!(
        (
            paid.state.as_str(),
            paid.transaction_id.as_deref(),
            paid.paid_fen,
            paid.paid_at,
            paid.updated_at
        ),
        ("SUCCESS", Some("T1"), Some(4000), Some(120), 120)
    );
    assert!(!paid.void_required, "its application is live");
    assert!(store.require_void(&new.out_trade_no, 150).await.unwrap());
    assert!(!store.require_void(&new.out_trade_no, 151).await.unwrap());
    assert!(read(store, &new.out_trade_no).await.void_required);
    assert!(store
        .record_void(&new.out_trade_no, r#"{"ref":"V1"}"#, 160)
        .await
        .unwrap());
    assert!(!store
        .record_void(&new.out_trade_no, r#"{"ref":"V2"}"#, 170)
        .await
        .unwrap());
    let voided = read(store, &new.out_trade_no).await;
    assert_eq!(
        (
            voided.state.as_str(),
            voided.void_required,
            voided.voided_at,
            voided.void_result.as_deref()
        ),
        ("REVOKED", false, Some(160), Some(r#"{"ref":"V1"}"#))
    );
    // A late success report does not undo the void.
    assert!(!store
        .record_payment_paid(&new.out_trade_no, "T1", 4000, 180)
        .await
        .unwrap());
    assert_eq!(
        read(store, &new.out_trade_no).await.state,
        TradeState::Revoked
    );
    // An unpaid order cannot be voided or flagged.
    let open = payment(&number, "S1", 2, "wechat");
    store.create_payment(&open).await.unwrap();
    assert!(!store.require_void(&open.out_trade_no, 190).await.unwrap());
    assert!(!store
        .record_void(&open.out_trade_no, "{}", 190)
        .await
        .unwrap());
    assert_eq!(
        read(store, &open.out_trade_no).await.state,
        TradeState::NotPay
    );
}

async fn racing_reports_of_one_payment_record_it_once(db: Arc<TestDatabase>) {
    let store = db.store().clone();
    let number = accepted(&store, "S1", LOCAL).await;
    let new = payment(&number, "S1", 1, "wechat");
    store.create_payment(&new).await.unwrap();
    let replica = db.reconnect().await.unwrap();
    let tasks: Vec<_> = (0..10_i64)
        .map(|i| {
            let store = if i % 2 == 0 {
                store.clone()
            } else {
                replica.clone()
            };
            let trade = new.out_trade_no.clone();
            tokio::spawn(async move {
                store
                    .record_payment_paid(&trade, &format!("T{i}"), 4000, 200 + i)
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        if task.await.unwrap().unwrap() {
            winners.push(i);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one report records it: {winners:?}"
    );
    let paid = read(&store, &new.out_trade_no).await;
    assert_eq!(
        paid.transaction_id,
        Some(format!("T{}", winners[0])),
        "the winner's details are the ones kept"
    );
    replica.close().await;
}

async fn a_closed_order_paid_meanwhile_is_recorded(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = accepted(store, "S1", LOCAL).await;
    let new = payment(&number, "S1", 1, "wechat");
    store.create_payment(&new).await.unwrap();
    assert!(store
        .set_payment_state(&new.out_trade_no, TradeState::Closed, 110)
        .await
        .unwrap());
    assert!(!store
        .set_payment_state(&new.out_trade_no, TradeState::NotPay, 111)
        .await
        .unwrap());
    // The payer's money was taken before the close reached the provider.
    assert!(store
        .record_payment_paid(&new.out_trade_no, "T1", 4000, 120)
        .await
        .unwrap());
    let paid = read(store, &new.out_trade_no).await;
    assert_eq!(
        (paid.state.as_str(), paid.paid_fen),
        ("SUCCESS", Some(4000))
    );
}

async fn a_second_paid_attempt_must_go_back(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = accepted(store, "S1", LOCAL).await;
    let first = payment(&number, "S1", 1, "wechat");
    let second = payment(&number, "S1", 2, "unionpay");
    store.create_payment(&first).await.unwrap();
    store.create_payment(&second).await.unwrap();
    assert!(store
        .record_payment_paid(&first.out_trade_no, "T1", 4000, 120)
        .await
        .unwrap());
    assert!(store
        .record_pos_result(
            &second.out_trade_no,
            "SUCCESS",
            r#"{"approved":true}"#,
            Some("REF2"),
            Some(4000),
            130
        )
        .await
        .unwrap());
    assert!(!read(store, &first.out_trade_no).await.void_required);
    let twice = read(store, &second.out_trade_no).await;
    assert_eq!(twice.state, TradeState::Success);
    assert!(twice.void_required, "the application was paid already");
}

async fn paid_for_a_referred_application_must_go_back(db: Arc<TestDatabase>) {
    let store = db.store();
    let referred = accepted(store, "S1", LOCAL).await;
    let live = accepted(store, "S2", OTHER).await;
    assert!(store
        .finish_application(&referred, KioskStatus::Referred)
        .await
        .unwrap());
    let late = payment(&referred, "S1", 1, "wechat");
    let fine = payment(&live, "S2", 1, "wechat");
    store.create_payment(&late).await.unwrap();
    store.create_payment(&fine).await.unwrap();
    for (trade, id) in [(&late.out_trade_no, "T1"), (&fine.out_trade_no, "T2")] {
        assert!(store
            .record_payment_paid(trade, id, 4000, 120)
            .await
            .unwrap());
    }
    assert!(read(store, &late.out_trade_no).await.void_required);
    assert!(!read(store, &fine.out_trade_no).await.void_required);
}

async fn another_amount_is_held_not_recorded_paid(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = accepted(store, "S1", LOCAL).await;
    let new = payment(&number, "S1", 1, "wechat");
    store.create_payment(&new).await.unwrap();
    assert!(store
        .hold_payment(&new.out_trade_no, "T1", 1, 120)
        .await
        .unwrap());
    assert!(
        !store
            .hold_payment(&new.out_trade_no, "T2", 2, 130)
            .await
            .unwrap(),
        "held once"
    );
    let held = read(store, &new.out_trade_no).await;
    assert_eq!(
        (
            held.state.as_str(),
            held.transaction_id.as_deref(),
            held.paid_fen,
            held.paid_at,
            held.void_required
        ),
        ("PAYERROR", Some("T1"), Some(1), Some(120), true)
    );
    // A paid payment is never held.
    let other = payment(&number, "S1", 2, "wechat");
    store.create_payment(&other).await.unwrap();
    store
        .record_payment_paid(&other.out_trade_no, "T3", 4000, 140)
        .await
        .unwrap();
    assert!(!store
        .hold_payment(&other.out_trade_no, "T4", 1, 150)
        .await
        .unwrap());
    let paid = read(store, &other.out_trade_no).await;
    assert_eq!(
        (paid.state.as_str(), paid.paid_fen),
        ("SUCCESS", Some(4000))
    );
}

async fn pos_results_move_only_open_payments(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = accepted(store, "S1", LOCAL).await;
    let declined = payment(&number, "S1", 1, "unionpay");
    store.create_payment(&declined).await.unwrap();
    let report = r#"{"code":"51","message":"余额不足"}"#;
    assert!(store
        .record_pos_result(&declined.out_trade_no, "PAYERROR", report, None, None, 120)
        .await
        .unwrap());
    let stored = read(store, &declined.out_trade_no).await;
    assert_eq!(
        (
            stored.state.as_str(),
            stored.pos_result.as_deref(),
            stored.paid_fen,
            stored.paid_at,
            stored.void_required
        ),
        ("PAYERROR", Some(report), None, None, false)
    );
    // A late approval of a declined purchase does not overwrite it.
    assert!(!store
        .record_pos_result(
            &declined.out_trade_no,
            "SUCCESS",
            "{}",
            Some("REF1"),
            Some(4000),
            130
        )
        .await
        .unwrap());
    assert_eq!(
        read(store, &declined.out_trade_no).await.state,
        TradeState::PayError
    );

    // An approval on a payment closed meanwhile is recorded: the card was charged.
    let approved = payment(&number, "S1", 2, "unionpay");
    store.create_payment(&approved).await.unwrap();
    store
        .set_payment_state(&approved.out_trade_no, TradeState::Closed, 140)
        .await
        .unwrap();
    assert!(store
        .record_pos_result(
            &approved.out_trade_no,
            "SUCCESS",
            r#"{"approved":true}"#,
            Some("REF2"),
            Some(4000),
            150
        )
        .await
        .unwrap());
    let paid = read(store, &approved.out_trade_no).await;
    assert_eq!(
        (
            paid.state.as_str(),
            paid.transaction_id.as_deref(),
            paid.paid_fen,
            paid.paid_at,
            paid.void_required
        ),
        ("SUCCESS", Some("REF2"), Some(4000), Some(150), false)
    );
    // And once only.
    assert!(!store
        .record_pos_result(
            &approved.out_trade_no,
            "SUCCESS",
            "{}",
            Some("REF3"),
            Some(4000),
            160
        )
        .await
        .unwrap());
    assert_eq!(
        read(store, &approved.out_trade_no)
            .await
            .transaction_id
            .as_deref(),
        Some("REF2")
    );
}

async fn payments_between_cover_created_and_paid(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = accepted(store, "S1", LOCAL).await;
    let early = NewPayment {
        now: 100,
        ..payment(&number, "S1", 1, "wechat")
    };
    let late = NewPayment {
        now: 200,
        ..payment(&number, "S1", 2, "wechat")
    };
    store.create_payment(&early).await.unwrap();
    store.create_payment(&late).await.unwrap();
    store
        .record_payment_paid(&early.out_trade_no, "T1", 4000, 300)
        .await
        .unwrap();
    let between = |from: i64, to: i64| async move {
        store
            .payments_between(from, to)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.attempt)
            .collect::<Vec<_>>()
    };
    assert_eq!(between(0, 100).await, Vec::<i64>::new(), "[from, to)");
    assert_eq!(between(100, 101).await, [1]);
    assert_eq!(between(150, 250).await, [2]);
    assert_eq!(between(250, 400).await, [1], "paid in the window");
    assert_eq!(between(0, 1_000).await, [1, 2]);
}

async fn what_the_schema_forbids_is_refused(db: Arc<TestDatabase>) {
    let store = db.store();
    let number = accepted(store, "S1", LOCAL).await;
    let refused = |new: NewPayment| async move {
        let err = store.create_payment(&new).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)), "{new:?}: {err:?}");
    };
    let base = || payment(&number, "S1", 1, "wechat");
    refused(NewPayment {
        attempt: 100,
        out_trade_no: "IDK-A100".into(),
        ..base()
    })
    .await;
    assert!(store
        .payments_of_application(&number)
        .await
        .unwrap()
        .is_empty());
    // A method, amount or state the schema does not know is refused by the database itself
    // (the types cannot even write one) and the payment stays as it was.
    let new = base();
    store.create_payment(&new).await.unwrap();
    for set in ["state = 'PAID'", "method = 'cash'", "amount_fen = 0"] {
        assert!(
            refused_behind_the_store(
                &db,
                &format!(
                    "UPDATE center_payments SET {set} WHERE out_trade_no = '{}'",
                    new.out_trade_no
                )
            )
            .await,
            "{set}"
        );
    }
    assert_eq!(
        read(store, &new.out_trade_no).await.state,
        TradeState::NotPay
    );
}
