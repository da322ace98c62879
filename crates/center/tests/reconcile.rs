//! Daily reconciliation: one seeded mismatch of each kind, found and named; a clean day is clean.

use center::reconcile::{report, Mismatch};
use domain::money::Fen;
use domain::rules::{Business, Household, NewCardValidity};
use domain::session::PaymentMethod;
use domain::CitizenId;
use store::sessions::{KioskStatus, NewApplication, NewPayment};
use store::Store;
use time::macros::{date, datetime};

use crate::world::databases;

/// 2026-11-25 10:00 in Beijing.
const MORNING: i64 = datetime!(2026-11-25 10:00 +8).unix_timestamp();

/// A citizen of its own for each application: a citizen has at most one live application.
fn next_citizen() -> String {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(100);
    let sequence = NEXT.fetch_add(2, std::sync::atomic::Ordering::Relaxed);
    domain::id::CitizenId::from_parts("320104", date!(2000 - 12 - 10), sequence)
        .unwrap()
        .as_str()
        .to_owned()
}

async fn application(store: &Store, session: &str, status: KioskStatus) -> String {
    store
        .start_session(session, "K0001", MORNING)
        .await
        .unwrap();
    let (created, _) = store
        .create_application(&NewApplication {
            session_id: session.into(),
            kiosk_id: "K0001".into(),
            city_code: "320100".into(),
            id_number: CitizenId::try_from(next_citizen()).unwrap(),
            name: "王晓燕".into(),
            nation_code: "01".into(),
            address: "南京市玄武区".into(),
            business: Business::ExpiryRenewal,
            household: Household::Local,
            receipt_code: format!("R-{session}"),
            mobile: "13912345678".into(),
            fee_cny: 20,
            validity: NewCardValidity::TenYears,
            accepted_on: date!(2026 - 11 - 25),
            issue_by: date!(2027 - 01 - 24),
            remote_area: false,
            fingers: "[]".into(),
            collection_office: Some("XW".into()),
            now: MORNING,
        })
        .await
        .unwrap();
    if status != KioskStatus::Accepted {
        assert!(store
            .finish_application(&created.application_no, status)
            .await
            .unwrap());
    }
    created.application_no
}

async fn paid(
    store: &Store,
    application_no: &str,
    session: &str,
    attempt: i64,
    fen: i64,
) -> String {
    let out_trade_no = format!("IDK{application_no}A{attempt}");
    store
        .create_payment(&NewPayment {
            out_trade_no: out_trade_no.clone(),
            application_no: application_no.into(),
            session_id: session.into(),
            attempt,
            method: PaymentMethod::WeChat,
            amount_fen: Fen::new(2000).unwrap(),
            expires_at: MORNING + 600,
            now: MORNING,
        })
        .await
        .unwrap();
    assert!(store
        .record_payment_paid(
            &out_trade_no,
            &format!("T{out_trade_no}"),
            fen,
            MORNING + 60
        )
        .await
        .unwrap());
    out_trade_no
}

#[tokio::test]
async fn every_kind_of_mismatch_is_listed() {
    for db in databases("center reconciliation").await {
        let store = db.store();
        // Clean: completed and paid once, the fee.
        let clean = application(store, "clean", KioskStatus::Completed).await;
        paid(store, &clean, "clean", 1, 2000).await;
        // Paid without application.
        let orphan = paid(store, "320100202611259999", "orphan", 1, 2000).await;
        // Completed without a paid payment.
        let unpaid = application(store, "unpaid", KioskStatus::Completed).await;
        // Paid twice.
        let twice = application(store, "twice", KioskStatus::Completed).await;
        let first = paid(store, &twice, "twice", 1, 2000).await;
        let second = paid(store, &twice, "twice", 2, 2000).await;
        // Amount is not the fee.
        let short = application(store, "short", KioskStatus::Completed).await;
        let short_paid = paid(store, &short, "short", 1, 1000).await;
        // Paid but referred.
        let referred = application(store, "referred", KioskStatus::Referred).await;
        let referred_paid = paid(store, &referred, "referred", 1, 2000).await;

        let report = report(store, date!(2026 - 11 - 25)).await.unwrap();
        let expected = [
            Mismatch::PaidWithoutApplication {
                out_trade_no: orphan.clone(),
                application_no: "320100202611259999".into(),
                paid_fen: 2000,
            },
            Mismatch::CompletedWithoutPayment {
                application_no: unpaid.clone(),
            },
            Mismatch::PaidTwice {
                application_no: twice.clone(),
                out_trade_nos: vec![first, second.clone()],
            },
            // The second payment of an application is flagged for a refund as it is recorded.
            Mismatch::RefundRequired {
                out_trade_no: second,
                application_no: twice.clone(),
                method: "wechat".into(),
                paid_fen: 2000,
            },
            Mismatch::AmountMismatch {
                out_trade_no: short_paid,
                application_no: short,
                fee_fen: 2000,
                paid_fen: 1000,
            },
            Mismatch::RefundRequired {
                out_trade_no: referred_paid,
                application_no: referred,
                method: "wechat".into(),
                paid_fen: 2000,
            },
        ];
        for mismatch in &expected {
            assert!(
                report.mismatches.contains(mismatch),
                "{}: {mismatch:?} missing from {:#?}",
                store.backend(),
                report.mismatches
            );
        }
        assert_eq!(
            report.mismatches.len(),
            expected.len(),
            "{:#?}",
            report.mismatches
        );
        assert!(!report
            .mismatches
            .iter()
            .any(|m| serde_json::to_string(m).unwrap().contains(&clean)));
        assert_eq!(report.applications, 5);
        assert_eq!(report.paid, 6);

        // Another day is empty.
        let other = center::reconcile::report(store, date!(2026 - 11 - 24))
            .await
            .unwrap();
        assert_eq!((other.applications, other.payments), (0, 0));
        assert!(other.mismatches.is_empty());
        db.finish().await;
    }
}
