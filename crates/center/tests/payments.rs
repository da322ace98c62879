//! Step 11 against a real in-process paysim: create, scan and pay, callback verified and recorded
//! once, forgeries refused, expiry, recovery by query after a lost callback, UnionPay POS reports
//! and voids.

use domain::trade_state::TradeState;
use std::time::Duration;

use center::client::ClientError;
use center::payments::CreatePaymentRequest;
use center::payments::PosReport;
use domain::session::{ReferralReason, SessionOutcome};
use payment::wire::{Transaction, TransactionAmount};
use time::OffsetDateTime;

use crate::sessions::{up_to_application, wechat};
use crate::staff::tamper;
use crate::world::{keys, new_session, other_keys, world};

fn paid_transaction(out_trade_no: &str, transaction_id: &str) -> Transaction {
    Transaction {
        appid: keys().merchant.appid.clone(),
        mchid: keys().merchant.mchid.clone(),
        out_trade_no: out_trade_no.into(),
        transaction_id: Some(transaction_id.into()),
        trade_type: Some("NATIVE".into()),
        trade_state: "SUCCESS".into(),
        trade_state_desc: "支付成功".into(),
        bank_type: Some("OTHERS".into()),
        attach: None,
        success_time: Some(payment::rfc3339_beijing(OffsetDateTime::now_utc())),
        payer: None,
        amount: TransactionAmount {
            total: 2000,
            payer_total: Some(2000),
            currency: "CNY".into(),
            payer_currency: Some("CNY".into()),
        },
    }
}

fn approved() -> PosReport {
    PosReport {
        approved: true,
        response_code: "00".into(),
        card_masked: Some("622202******1234".into()),
        reference: Some("123456789012".into()),
        auth_code: Some("654321".into()),
        time: Some("2026-11-25T10:40:00+08:00".into()),
        ..PosReport::default()
    }
}

#[tokio::test]
async fn a_forged_callback_is_refused_and_changes_nothing() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let created = world.client.create_payment(&sid, &wechat(1)).await.unwrap();
    let tx = paid_transaction(&created.out_trade_no, "4200000000000000001");
    // Signed with another platform key.
    let (headers, body) = payment::sim::build_callback(
        &tx,
        &keys().platform.apiv3_key,
        &other_keys().platform.signer(),
        &keys().platform.public_key_id,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_eq!(world.post_callback(headers, body).await, 401);
    // Stale by ten minutes.
    let (headers, body) = payment::sim::build_callback(
        &tx,
        &keys().platform.apiv3_key,
        &keys().platform.signer(),
        &keys().platform.public_key_id,
        OffsetDateTime::now_utc() - Duration::from_secs(600),
    )
    .unwrap();
    assert_eq!(world.post_callback(headers, body).await, 401);
    // Tampered body.
    let (headers, mut body) = payment::sim::build_callback(
        &tx,
        &keys().platform.apiv3_key,
        &keys().platform.signer(),
        &keys().platform.public_key_id,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    body.push(b' ');
    assert_eq!(world.post_callback(headers, body).await, 401);
    let stored = world
        .store()
        .payment(sid.as_str(), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, TradeState::NotPay);
    assert_eq!(stored.transaction_id, None);
    world.finish().await;
}

#[tokio::test]
async fn a_corrupt_stored_amount_is_refused_and_never_ordered_as_zero_fen() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    world.client.create_payment(&sid, &wechat(1)).await.unwrap();
    // The schema keeps amounts above 0, but not below 2^32 fen: such an amount used to be sent
    // as 0 fen. With the WeChat order still to be made (as after a crash), resuming the attempt
    // must refuse it and order nothing (each call answers 500 before any order); 2^32 + 2000
    // must not wrap to 2000 either.
    for corrupt in ["4294967296", "4294969296"] {
        tamper(
            &world.db,
            &[&format!(
                "UPDATE center_payments SET amount_fen = {corrupt}, code_url = NULL"
            )],
        )
        .await;
        let err = world
            .client
            .create_payment(&sid, &wechat(1))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(500), "{corrupt}: {err}");
        let err = world.client.payment(&sid, 1).await.unwrap_err();
        assert_eq!(err.status(), Some(500), "{corrupt}: {err}");
        // The row itself no longer decodes: an amount is a `Fen` from the store up.
        let err = world.store().payment(sid.as_str(), 1).await.unwrap_err();
        assert!(
            format!("{err:?}").contains("amount_fen"),
            "{corrupt}: {err:?}"
        );
    }
    world.finish().await;
}

#[tokio::test]
async fn a_duplicate_callback_is_acknowledged_and_recorded_once() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let created = world.client.create_payment(&sid, &wechat(1)).await.unwrap();
    let tx = paid_transaction(&created.out_trade_no, "4200000000000000002");
    let mut first_paid_at = None;
    for _ in 0..3 {
        let (headers, body) = payment::sim::build_callback(
            &tx,
            &keys().platform.apiv3_key,
            &keys().platform.signer(),
            &keys().platform.public_key_id,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        assert_eq!(world.post_callback(headers, body).await, 204);
        let stored = world
            .store()
            .payment(sid.as_str(), 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, TradeState::Success);
        assert_eq!(
            stored.transaction_id.as_deref(),
            Some("4200000000000000002")
        );
        let paid_at = stored.paid_at;
        assert_eq!(*first_paid_at.get_or_insert(paid_at), paid_at);
        assert_eq!(stored.updated_at, first_paid_at.flatten().unwrap());
    }
    world.finish().await;
}

#[tokio::test]
async fn an_unpaid_order_closes_on_the_first_query_after_its_expiry() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let created = world.client.create_payment(&sid, &wechat(1)).await.unwrap();
    assert_eq!(
        world.client.payment(&sid, 1).await.unwrap().state,
        payment::TradeState::NotPay
    );
    world.clock.advance(Duration::from_secs(601));
    assert_eq!(
        world.client.payment(&sid, 1).await.unwrap().state,
        payment::TradeState::Closed
    );
    // Closed at the platform too: paying it now fails.
    let response = world
        .http
        .post(format!("http://{}/sim/pay", world.sim))
        .json(&serde_json::json!({"code_url": created.code_url.unwrap()}))
        .send()
        .await
        .unwrap();
    assert!(!response.status().is_success());
    // A new attempt is a new order.
    let second = world.client.create_payment(&sid, &wechat(2)).await.unwrap();
    assert_eq!(second.state, payment::TradeState::NotPay);
    assert_ne!(second.out_trade_no, created.out_trade_no);
    world.finish().await;
}

#[tokio::test]
async fn a_payment_whose_callback_was_lost_is_recovered_by_query() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let created = world.client.create_payment(&sid, &wechat(1)).await.unwrap();
    // The payer pays; the callback never arrives (the center crashed between paid and recorded).
    world
        .scan_and_pay(created.code_url.as_deref().unwrap(), false)
        .await;
    assert!(world.deliveries().await.is_empty());
    let stored = world
        .store()
        .payment(sid.as_str(), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, TradeState::NotPay);
    let answer = world.client.payment(&sid, 1).await.unwrap();
    assert_eq!(answer.state, payment::TradeState::Success);
    assert_eq!(answer.paid_fen, Some(2000));
    // Later, past the expiry, nothing changes: SUCCESS is final.
    world.clock.advance(Duration::from_secs(3600));
    assert_eq!(world.client.payment(&sid, 1).await.unwrap(), answer);
    // No second attempt on a paid application.
    let err = world
        .client
        .create_payment(&sid, &wechat(2))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    world.finish().await;
}

#[tokio::test]
async fn closing_an_unpaid_order_closes_it_and_closing_a_paid_one_finds_it_paid() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    world.client.create_payment(&sid, &wechat(1)).await.unwrap();
    assert_eq!(
        world.client.close_payment(&sid, 1).await.unwrap().state,
        payment::TradeState::Closed
    );
    assert_eq!(
        world.client.close_payment(&sid, 1).await.unwrap().state,
        payment::TradeState::Closed
    );
    let second = world.client.create_payment(&sid, &wechat(2)).await.unwrap();
    world
        .scan_and_pay(second.code_url.as_deref().unwrap(), false)
        .await;
    assert_eq!(
        world.client.close_payment(&sid, 2).await.unwrap().state,
        payment::TradeState::Success
    );
    world.finish().await;
}

#[tokio::test]
async fn unionpay_is_reported_by_the_kiosk_and_a_referred_paid_application_is_voided() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let unionpay = CreatePaymentRequest {
        method: "unionpay".into(),
        attempt: 1,
        amount_fen: 2000,
    };
    let created = world.client.create_payment(&sid, &unionpay).await.unwrap();
    assert_eq!(
        (created.state.as_str(), created.code_url.as_ref()),
        ("NOTPAY", None)
    );
    let paid = world.client.report_pos(&sid, 1, &approved()).await.unwrap();
    assert_eq!(paid.state, payment::TradeState::Success);
    assert_eq!(paid.transaction_id.as_deref(), Some("123456789012"));
    // A repeated report (or a contradicting one) changes nothing.
    let declined = PosReport {
        approved: false,
        response_code: "51".into(),
        ..approved()
    };
    assert_eq!(
        world.client.report_pos(&sid, 1, &declined).await.unwrap(),
        paid
    );
    // Printing failed: the application cannot go on, the money must go back.
    world
        .client
        .end(
            &sid,
            &SessionOutcome::Referred {
                step: 12,
                reason: ReferralReason::PrinterFault,
            },
        )
        .await
        .unwrap();
    let flagged = world.client.payment(&sid, 1).await.unwrap();
    assert!(flagged.void_required);
    let voided = world
        .client
        .report_void(&sid, 1, &approved())
        .await
        .unwrap();
    assert_eq!(voided.state, payment::TradeState::Revoked);
    assert!(!voided.void_required);
    assert_eq!(
        world
            .client
            .report_void(&sid, 1, &approved())
            .await
            .unwrap(),
        voided
    );
    world.finish().await;
}

#[tokio::test]
async fn a_declined_pos_purchase_is_payerror_and_a_new_attempt_may_follow() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let unionpay = |attempt| CreatePaymentRequest {
        method: "unionpay".into(),
        attempt,
        amount_fen: 2000,
    };
    world
        .client
        .create_payment(&sid, &unionpay(1))
        .await
        .unwrap();
    let declined = PosReport {
        approved: false,
        response_code: "51".into(),
        card_masked: None,
        reference: None,
        auth_code: None,
        time: None,
        ..PosReport::default()
    };
    assert_eq!(
        world
            .client
            .report_pos(&sid, 1, &declined)
            .await
            .unwrap()
            .state,
        payment::TradeState::PayError
    );
    let err = world
        .client
        .report_void(&sid, 1, &approved())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(
        world
            .client
            .create_payment(&sid, &unionpay(2))
            .await
            .unwrap()
            .state,
        payment::TradeState::NotPay
    );
    world.finish().await;
}

// A kiosk that gave up on a POS purchase and started a new attempt, whose first purchase was
// approved after all: the center closed attempt 1 when attempt 2 began, but the card was charged,
// so the late approval is recorded and flagged for a void, never dropped.
#[tokio::test]
async fn a_late_pos_approval_on_a_closed_attempt_is_recorded_and_flagged() {
    let world = world().await;
    let sid = new_session();
    let number = up_to_application(&world, &sid).await;
    let unionpay = |attempt| CreatePaymentRequest {
        method: "unionpay".into(),
        attempt,
        amount_fen: 2000,
    };
    world
        .client
        .create_payment(&sid, &unionpay(1))
        .await
        .unwrap();
    world
        .client
        .create_payment(&sid, &unionpay(2))
        .await
        .unwrap();
    assert_eq!(
        world.client.payment(&sid, 1).await.unwrap().state,
        payment::TradeState::Closed
    );
    let second = world.client.report_pos(&sid, 2, &approved()).await.unwrap();
    assert_eq!(
        (second.state.as_str(), second.void_required),
        ("SUCCESS", false)
    );
    let late = PosReport {
        reference: Some("999999999999".into()),
        ..approved()
    };
    let first = world.client.report_pos(&sid, 1, &late).await.unwrap();
    assert_eq!(
        (first.state.as_str(), first.void_required),
        ("SUCCESS", true)
    );
    let report = world
        .client
        .reconciliation(
            time::macros::date!(2026 - 11 - 25),
            crate::support::OPERATOR_TOKEN,
        )
        .await
        .unwrap();
    assert!(report.mismatches.iter().any(|m| matches!(
        m,
        center::reconcile::Mismatch::PaidTwice { application_no, .. } if *application_no == number
    )));
    world.finish().await;
}

// The session was referred (the printer failed) while the payer was still scanning: the callback
// that arrives afterwards is recorded and flagged for a refund, and the reconciliation lists it.
#[tokio::test]
async fn a_wechat_payment_made_after_the_session_was_referred_is_flagged_for_refund() {
    let world = world().await;
    let sid = new_session();
    let number = up_to_application(&world, &sid).await;
    let created = world.client.create_payment(&sid, &wechat(1)).await.unwrap();
    world
        .client
        .end(
            &sid,
            &SessionOutcome::Referred {
                step: 11,
                reason: ReferralReason::Timeout,
            },
        )
        .await
        .unwrap();
    world
        .scan_and_pay(created.code_url.as_deref().unwrap(), true)
        .await;
    let mut flagged = None;
    for _ in 0..200 {
        let stored = world
            .store()
            .payment(sid.as_str(), 1)
            .await
            .unwrap()
            .unwrap();
        if stored.state == TradeState::Success {
            flagged = Some(stored);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let flagged = flagged.expect("the callback recorded the payment");
    assert!(flagged.void_required);
    let report = world
        .client
        .reconciliation(
            time::macros::date!(2026 - 11 - 25),
            crate::support::OPERATOR_TOKEN,
        )
        .await
        .unwrap();
    assert!(report
        .mismatches
        .contains(&center::reconcile::Mismatch::RefundRequired {
            out_trade_no: created.out_trade_no.clone(),
            application_no: number,
            method: "wechat".into(),
            paid_fen: 2000,
        }));
    world.finish().await;
}

// Issue 13, bad input: a callback whose amount differs from the order is not a payment of it.
#[tokio::test]
async fn a_callback_for_another_amount_is_held_not_recorded_as_paid() {
    let world = world().await;
    let sid = new_session();
    let number = up_to_application(&world, &sid).await;
    let created = world.client.create_payment(&sid, &wechat(1)).await.unwrap();
    let mut tx = paid_transaction(&created.out_trade_no, "4200000000000000009");
    tx.amount.total = 1;
    tx.amount.payer_total = Some(1);
    let (headers, body) = payment::sim::build_callback(
        &tx,
        &keys().platform.apiv3_key,
        &keys().platform.signer(),
        &keys().platform.public_key_id,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    // Acknowledged (it was verified and kept), so WeChat stops resending it.
    assert_eq!(world.post_callback(headers, body).await, 204);
    let stored = world
        .store()
        .payment(sid.as_str(), 1)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.state, TradeState::Success);
    assert_eq!(stored.paid_fen, Some(1));
    assert!(stored.void_required);
    let today = world.state.today.today();
    let report = center::reconcile::report(world.store(), today)
        .await
        .unwrap();
    assert_eq!(report.paid, 0, "{report:?}");
    assert!(report
        .mismatches
        .contains(&center::reconcile::Mismatch::HeldAmountMismatch {
            out_trade_no: created.out_trade_no.clone(),
            application_no: number,
            ordered_fen: 2000,
            paid_fen: 1,
        }));
    world.finish().await;
}

// Issue 14, item 4: a kiosk's POS report was stored as free text (`<script>` as transaction id).
#[tokio::test]
async fn a_pos_report_out_of_format_is_refused_naming_the_field_and_stores_nothing() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let unionpay = CreatePaymentRequest {
        method: "unionpay".into(),
        attempt: 1,
        amount_fen: 2000,
    };
    world.client.create_payment(&sid, &unionpay).await.unwrap();
    for (report, field) in [
        (
            PosReport {
                reference: Some("<script>".into()),
                ..approved()
            },
            "reference",
        ),
        (
            PosReport {
                auth_code: Some("65 321".into()),
                ..approved()
            },
            "auth_code",
        ),
        (
            PosReport {
                time: Some("yesterday".into()),
                ..approved()
            },
            "time",
        ),
        (
            PosReport {
                time: Some("256199".into()),
                ..approved()
            },
            "time",
        ),
        (
            PosReport {
                voucher: Some("12".into()),
                ..approved()
            },
            "voucher",
        ),
    ] {
        let err = world.client.report_pos(&sid, 1, &report).await.unwrap_err();
        match err {
            ClientError::Refused {
                status,
                field: named,
                ..
            } => {
                assert_eq!((status, named.as_deref()), (422, Some(field)))
            }
            other => panic!("expected a refusal naming {field}, got {other:?}"),
        }
    }
    let stored = world
        .store()
        .payment(sid.as_str(), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.state.as_str(), stored.transaction_id),
        ("NOTPAY", None)
    );
    // The terminal's own formats pass: hhmmss and MMDDhhmmss.
    let paid = world
        .client
        .report_pos(
            &sid,
            1,
            &PosReport {
                time: Some("1125104000".into()),
                voucher: Some("000017".into()),
                batch: Some("000001".into()),
                amount_fen: Some(2000),
                ..approved()
            },
        )
        .await
        .unwrap();
    assert_eq!(paid.state, payment::TradeState::Success);
    world.finish().await;
}

// Issue 14, item 4: the amount the terminal took must be the order's.
#[tokio::test]
async fn a_pos_purchase_of_another_amount_is_held() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let unionpay = CreatePaymentRequest {
        method: "unionpay".into(),
        attempt: 1,
        amount_fen: 2000,
    };
    world.client.create_payment(&sid, &unionpay).await.unwrap();
    let answer = world
        .client
        .report_pos(
            &sid,
            1,
            &PosReport {
                amount_fen: Some(200_000),
                ..approved()
            },
        )
        .await
        .unwrap();
    assert_ne!(answer.state, payment::TradeState::Success);
    let stored = world
        .store()
        .payment(sid.as_str(), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.paid_fen, Some(200_000));
    assert!(stored.void_required, "the money must go back");
    world.finish().await;
}

// The bureau's `payment_methods` used to be checked at load and then ignored: a kiosk could pay by
// a method the bureau had not enabled.
#[tokio::test]
async fn a_method_the_bureau_has_not_enabled_is_refused_naming_the_field_and_nothing_is_written() {
    let db = store::testing::TestDatabase::sqlite()
        .await
        .expect("sqlite");
    let world = crate::world::world_with(db, |state| {
        state.config.payment_methods = vec![domain::session::PaymentMethod::UnionPay];
    })
    .await;
    let sid = new_session();
    // The scope answer tells the kiosk which methods to offer (issue 17): UnionPay only.
    let scope = world
        .client
        .session_scope(&sid, &crate::sessions::scope_request())
        .await
        .unwrap();
    assert_eq!(scope.payment_methods, ["unionpay"]);
    let number = up_to_application(&world, &sid).await;
    let err = world
        .client
        .create_payment(&sid, &wechat(1))
        .await
        .expect_err("wechat is not enabled");
    match err {
        ClientError::Refused {
            status,
            field,
            message,
        } => {
            assert_eq!(
                (status, field.as_deref()),
                (422, Some("method")),
                "{message}"
            );
            assert!(
                message.contains("wechat is not accepted by this bureau; it accepts unionpay"),
                "{message}"
            );
        }
        other => panic!("expected a refusal naming method, got {other:?}"),
    }
    assert_eq!(world.store().payment(sid.as_str(), 1).await.unwrap(), None);
    assert!(
        world
            .store()
            .payments_of_application(&number)
            .await
            .unwrap()
            .is_empty(),
        "nothing written"
    );
    let unionpay = CreatePaymentRequest {
        method: "unionpay".into(),
        attempt: 1,
        amount_fen: 2000,
    };
    let created = world.client.create_payment(&sid, &unionpay).await.unwrap();
    assert_eq!(
        (created.method.as_str(), created.state.as_str()),
        ("unionpay", "NOTPAY")
    );
    world.finish().await;
}

/// Issue 18: the kiosk polls every 0.7 s while the citizen scans; WeChat is asked about the order
/// once per `WECHAT_QUERY_INTERVAL`, the database answering in between: a payment whose callback
/// was lost shows as paid at the first poll after the interval, not at the next poll.
#[tokio::test]
async fn the_kiosks_polls_ask_wechat_once_per_interval() {
    let world = world().await;
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let created = world.client.create_payment(&sid, &wechat(1)).await.unwrap();
    // The first poll asks WeChat: not paid yet.
    let first = world.client.payment(&sid, 1).await.unwrap();
    assert_eq!(first.state, payment::TradeState::NotPay);
    // Paid, the callback lost: the polls within the interval answer from the database.
    world
        .scan_and_pay(created.code_url.as_deref().unwrap(), false)
        .await;
    for _ in 0..3 {
        world.clock.advance(Duration::from_millis(700));
        assert_eq!(
            world.client.payment(&sid, 1).await.unwrap().state,
            payment::TradeState::NotPay,
            "WeChat not asked again within the interval"
        );
    }
    // Past the interval WeChat is asked: the payment is found and recorded.
    world.clock.advance(Duration::from_secs(
        center::payments::WECHAT_QUERY_INTERVAL as u64,
    ));
    let paid = world.client.payment(&sid, 1).await.unwrap();
    assert_eq!(paid.state, payment::TradeState::Success);
    assert_eq!(paid.paid_fen, Some(2000));
    world.finish().await;
}
