//! One set of checks for every `PopulationSystem`: `StorePopulationSystem` on SQLite and on
//! PostgreSQL, and `HttpPopulationSystem` against a spawned server. The checks include the rows of
//! the decision table (docs/domain.md 3.6) that the fixed demo citizens stand for, decided by the
//! domain rules on what the population system answers.

use std::sync::Arc;

use domain::rules::{
    decide, Business, CardExpiry, CardOnReader, Decision, Household, NewCardValidity, Reason,
    RecordStatus, ScopeCase,
};
use popsys::seed::{demo, fixed_citizens};
use popsys::{
    CardStatus, HttpPopulationSystem, PopulationSystem, ReceiptOutcome, StorePopulationSystem,
};
use store::testing::{self, TestDatabase};
use time::macros::date;

use crate::helpers::{code, id, nanjing, seeded_sqlite, spawn_server, TODAY};

async fn check_all(system: &dyn PopulationSystem) {
    system.ready().await.expect("ready");
    citizen_found_with_everything(system).await;
    unknown_number_is_none(system).await;
    floating_registration_is_per_city_and_day(system).await;
    history_photo_on_record(system).await;
    decision_table_rows(system).await;
    receipts(system).await;
    registers_by_household_choice(system).await;
    // Last: it files an application and reports a card lost.
    applications_are_filed_once_and_a_lost_card_is_reported(system).await;
}

#[tokio::test]
async fn store_on_sqlite() {
    let db = seeded_sqlite().await;
    check_all(&StorePopulationSystem::new(db.store().clone())).await;
    db.finish().await;
    testing::report("popsys behaviour: store on sqlite ok");
}

#[tokio::test]
async fn store_on_postgres() {
    let Some(url) = testing::postgres_url("popsys behaviour") else {
        return;
    };
    let db = TestDatabase::postgres(&url)
        .await
        .expect("postgres test database");
    db.store()
        .insert_citizens(&fixed_citizens())
        .await
        .expect("fixed citizens load");
    check_all(&StorePopulationSystem::new(db.store().clone())).await;
    db.finish().await;
    testing::report("popsys behaviour: store on postgres ok");
}

#[tokio::test]
async fn http_client_against_a_server() {
    let db = seeded_sqlite().await;
    let (url, server) = spawn_server(&db).await;
    check_all(&crate::helpers::client(&url)).await;
    server.abort();
    db.finish().await;
    testing::report("popsys behaviour: http client ok");
}

#[tokio::test]
async fn http_client_reports_an_unreachable_server() {
    // A port that was free a moment ago: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = HttpPopulationSystem::new(&url).unwrap();
    let err = client
        .citizen(&id(demo::RENEWAL_IN_WINDOW), &nanjing(), TODAY)
        .await
        .unwrap_err();
    assert!(
        matches!(err, popsys::PopsysError::Unavailable(_)),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains(demo::RENEWAL_IN_WINDOW),
        "the error text must not carry the ID number: {err}"
    );
}

async fn citizen_found_with_everything(system: &dyn PopulationSystem) {
    let record = system
        .citizen(&id(demo::RENEWAL_IN_WINDOW), &nanjing(), TODAY)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(record.name, "王晓燕");
    assert_eq!(record.birth_date, date!(2000 - 12 - 10));
    assert_eq!(record.household_region, "320104");
    assert_eq!(record.status, RecordStatus::Normal);
    let card = record.card.as_ref().expect("card");
    assert_eq!(card.valid_until, CardExpiry::On(date!(2026 - 12 - 20)));
    assert_eq!(card.status, CardStatus::Valid);
    assert_eq!(card.issuing_authority, "南京市公安局秦淮分局");
    assert!(record.history_photo && !record.floating_registered);
    assert!(!record.application_in_progress && !record.remote_area);

    let busy = system
        .citizen(&id(demo::APPLICATION_IN_PROGRESS), &nanjing(), TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(busy.name, "欧阳娜娜");
    assert!(busy.application_in_progress);
    assert_eq!(busy.card.unwrap().status, CardStatus::ReportedLost);

    let long_term = system
        .citizen(&id(demo::LONG_TERM), &nanjing(), TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(long_term.card.unwrap().valid_until, CardExpiry::LongTerm);

    let deceased = system
        .population_record(&id(demo::DECEASED), &nanjing(), TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deceased.status, RecordStatus::Deceased);
}

async fn unknown_number_is_none(system: &dyn PopulationSystem) {
    let unknown = id("11010519491231002X");
    assert!(system
        .citizen(&unknown, &nanjing(), TODAY)
        .await
        .unwrap()
        .is_none());
    assert!(system.history_photo(&unknown).await.unwrap().is_none());
    assert!(system
        .population_record(&unknown, &nanjing(), TODAY)
        .await
        .unwrap()
        .is_none());
}

async fn floating_registration_is_per_city_and_day(system: &dyn PopulationSystem) {
    let registered = |city: &'static str, day| {
        let city = domain::region::KioskCity::parse(city).unwrap();
        async move {
            system
                .citizen(&id(demo::PROVINCE_REGISTERED_REMOTE), &city, day)
                .await
                .unwrap()
                .unwrap()
                .floating_registered
        }
    };
    assert!(registered("320100", TODAY).await);
    assert!(
        registered("320100", date!(2027 - 12 - 31)).await,
        "last day"
    );
    assert!(!registered("320100", date!(2028 - 01 - 01)).await, "lapsed");
    assert!(!registered("320500", TODAY).await, "another city");
}

async fn history_photo_on_record(system: &dyn PopulationSystem) {
    let photo = system
        .history_photo(&id(demo::RENEWAL_IN_WINDOW))
        .await
        .unwrap()
        .expect("on record");
    assert_eq!(photo.taken_on, date!(2016 - 12 - 10));
    assert_eq!(
        photo.jpeg, None,
        "demo data has no images before the face work"
    );
    assert!(system
        .history_photo(&id(demo::NO_HISTORY_PHOTO))
        .await
        .unwrap()
        .is_none());
}

/// docs/domain.md section 3.6's table, for the rows the fixed citizens stand for.
async fn decision_table_rows(system: &dyn PopulationSystem) {
    let case = |number: &'static str, business, household| async move {
        let id = id(number);
        let record = system
            .population_record(&id, &nanjing(), TODAY)
            .await
            .unwrap();
        let card = if business == Business::ExpiryRenewal {
            let on_file = system
                .citizen(&id, &nanjing(), TODAY)
                .await
                .unwrap()
                .unwrap();
            let card = on_file.card.unwrap();
            Some(CardOnReader {
                id: id.clone(),
                valid_from: card.valid_from,
                valid_until: card.valid_until,
            })
        } else {
            None
        };
        decide(&ScopeCase {
            today: TODAY,
            kiosk_city: nanjing(),
            business,
            household,
            id,
            card,
            record,
        })
        .expect("a complete case")
    };
    use Business::{Damaged, ExpiryRenewal, Lost};
    use Household::{Local, Province};
    assert_eq!(
        case(demo::RENEWAL_IN_WINDOW, ExpiryRenewal, Local).await,
        Decision::Accept {
            fee_cny: 20,
            validity: NewCardValidity::TenYears,
            issue_by: date!(2027 - 01 - 24)
        }
    );
    assert_eq!(
        case(demo::UNDER_16, Lost, Local).await,
        Decision::Refer(Reason::Under16)
    );
    assert_eq!(
        case(demo::PROVINCE_NOT_REGISTERED, Lost, Province).await,
        Decision::Refer(Reason::NotFloatingRegistered)
    );
    assert_eq!(
        case(demo::PROVINCE_REGISTERED_REMOTE, Lost, Province).await,
        Decision::Accept {
            fee_cny: 40,
            validity: NewCardValidity::TwentyYears,
            issue_by: date!(2027 - 02 - 23)
        }
    );
    assert_eq!(
        case(demo::LONG_TERM, Damaged, Local).await,
        Decision::Accept {
            fee_cny: 40,
            validity: NewCardValidity::LongTerm,
            issue_by: date!(2027 - 01 - 24)
        }
    );
    assert_eq!(
        case(demo::OUTSIDE_PROVINCE, Lost, Province).await,
        Decision::Refer(Reason::HouseholdOutsideProvince)
    );
    assert_eq!(
        case(demo::NO_HISTORY_PHOTO, Damaged, Local).await,
        Decision::Refer(Reason::NoHistoryPhoto)
    );
    assert_eq!(
        case(demo::EXPIRED_LONG_AGO, ExpiryRenewal, Local).await,
        Decision::Refer(Reason::NotInRenewalWindow)
    );
    assert_eq!(
        case(demo::APPLICATION_IN_PROGRESS, Lost, Local).await,
        Decision::Refer(Reason::ApplicationInProgress)
    );
    assert_eq!(
        case(demo::DECEASED, Lost, Local).await,
        Decision::Refer(Reason::RecordNotNormal)
    );
    assert_eq!(
        case("11010519491231002X", Lost, Local).await,
        Decision::Refer(Reason::NotFound)
    );
}

async fn receipts(system: &dyn PopulationSystem) {
    let owner = id(demo::RENEWAL_IN_WINDOW);
    let receipt = code(demo::RECEIPT);
    // Another citizen's receipt is named so, cannot be redeemed, and asking does not spend it.
    for stranger in [demo::LONG_TERM, demo::UNDER_16] {
        assert_eq!(
            system
                .resolve_receipt(&receipt, &id(stranger), TODAY)
                .await
                .unwrap(),
            ReceiptOutcome::OtherPerson
        );
        assert_eq!(
            system
                .redeem_receipt(&receipt, &id(stranger), TODAY)
                .await
                .unwrap(),
            ReceiptOutcome::NotFound
        );
    }
    let ReceiptOutcome::Usable(resolved) = system
        .resolve_receipt(&receipt, &owner, TODAY)
        .await
        .unwrap()
    else {
        panic!("the owner's receipt resolves");
    };
    assert_eq!(resolved.used_on, None);
    assert_eq!(resolved.created_on, TODAY);
    assert_eq!(resolved.last_valid_day, date!(2027 - 05 - 24));
    // Resolving twice does not use it.
    assert!(matches!(
        system
            .resolve_receipt(&receipt, &owner, TODAY)
            .await
            .unwrap(),
        ReceiptOutcome::Usable(_)
    ));
    let ReceiptOutcome::Usable(redeemed) = system
        .redeem_receipt(&receipt, &owner, TODAY)
        .await
        .unwrap()
    else {
        panic!("the owner redeems the receipt");
    };
    assert_eq!(redeemed.used_on, Some(TODAY));
    assert_eq!(
        system
            .redeem_receipt(&receipt, &owner, TODAY)
            .await
            .unwrap(),
        ReceiptOutcome::AlreadyUsed { used_on: TODAY }
    );
    assert_eq!(
        system
            .resolve_receipt(&receipt, &owner, TODAY)
            .await
            .unwrap(),
        ReceiptOutcome::AlreadyUsed { used_on: TODAY }
    );
    // The fixed used and expired receipts.
    assert_eq!(
        system
            .resolve_receipt(&code(demo::RECEIPT_USED), &id(demo::LONG_TERM), TODAY)
            .await
            .unwrap(),
        ReceiptOutcome::AlreadyUsed {
            used_on: date!(2026 - 11 - 02)
        }
    );
    let expired = ReceiptOutcome::Expired {
        last_valid_day: date!(2026 - 10 - 28),
    };
    let stale = code(demo::RECEIPT_EXPIRED);
    let stale_owner = id(demo::NO_HISTORY_PHOTO);
    assert_eq!(
        system
            .resolve_receipt(&stale, &stale_owner, TODAY)
            .await
            .unwrap(),
        expired
    );
    assert_eq!(
        system
            .redeem_receipt(&stale, &stale_owner, TODAY)
            .await
            .unwrap(),
        expired
    );
    assert_eq!(
        system
            .redeem_receipt(&code("PS0000000000"), &owner, TODAY)
            .await
            .unwrap(),
        ReceiptOutcome::NotFound
    );
    concurrent_redeem(system).await;
}

/// Many redeems of one receipt at once: exactly one wins. The fixed data has one more unused
/// receipt only in the generated data, so this check uses a receipt resolved on its last day.
async fn concurrent_redeem(system: &dyn PopulationSystem) {
    // The expired receipt is usable on its last valid day: race on that day.
    let stale = Arc::new(code(demo::RECEIPT_EXPIRED));
    let owner = Arc::new(id(demo::NO_HISTORY_PHOTO));
    let last_day = date!(2026 - 10 - 28);
    let attempts = (0..8).map(|_| system.redeem_receipt(&stale, &owner, last_day));
    let outcomes = futures_join_all(attempts).await;
    let won = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, ReceiptOutcome::Usable(_)))
        .count();
    assert_eq!(won, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|outcome| matches!(
        outcome,
        ReceiptOutcome::Usable(_) | ReceiptOutcome::AlreadyUsed { .. }
    )));
}

/// Runs the futures concurrently and collects their answers (no extra crate needed).
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = Result<T, popsys::PopsysError>>,
{
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut results: Vec<Option<T>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, slot) in pinned.iter_mut().zip(results.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(result) => *slot = Some(result.expect("no error")),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// Step 2's choice names the register asked: the city's household register, or the provincial
/// population system with the city's floating-population registry.
async fn registers_by_household_choice(system: &dyn PopulationSystem) {
    let local = |number: &'static str| async move {
        system
            .local_resident(&id(number), &nanjing(), TODAY)
            .await
            .unwrap()
            .map(|record| record.household_region)
    };
    let provincial = |number: &'static str| async move {
        system
            .provincial_resident(&id(number), &nanjing(), TODAY)
            .await
            .unwrap()
            .map(|record| record.household_region)
    };
    assert_eq!(
        local(demo::RENEWAL_IN_WINDOW).await.as_deref(),
        Some("320104")
    );
    assert_eq!(
        provincial(demo::RENEWAL_IN_WINDOW).await.as_deref(),
        Some("320104")
    );
    assert_eq!(local(demo::PROVINCE_REGISTERED_REMOTE).await, None);
    assert_eq!(
        provincial(demo::PROVINCE_REGISTERED_REMOTE)
            .await
            .as_deref(),
        Some("320322")
    );
    assert_eq!(local(demo::OUTSIDE_PROVINCE).await, None);
    assert_eq!(provincial(demo::OUTSIDE_PROVINCE).await, None);

    let residence = |number: &'static str, on| async move {
        system
            .residence_registration(&id(number), &nanjing(), on)
            .await
            .unwrap()
    };
    let entry = residence(demo::PROVINCE_REGISTERED_REMOTE, TODAY)
        .await
        .expect("registered in Nanjing");
    assert!(entry.in_force);
    assert_eq!(entry.valid_until, date!(2027 - 12 - 31));
    let lapsed = residence(demo::PROVINCE_REGISTERED_REMOTE, date!(2028 - 01 - 01))
        .await
        .unwrap();
    assert!(!lapsed.in_force);
    assert_eq!(residence(demo::PROVINCE_NOT_REGISTERED, TODAY).await, None);
}

fn submission(key: &str, number: &str) -> popsys::ApplicationSubmission {
    let finger = |position: &str, template: &[u8]| popsys::SubmittedFinger {
        position: domain::session::Finger::try_from(position.to_owned()).unwrap(),
        quality: 81,
        template: template.to_vec(),
    };
    popsys::ApplicationSubmission {
        idempotency_key: key.into(),
        application_number: number.into(),
        id: id(demo::LONG_TERM),
        business: Business::Damaged,
        household: Household::Local,
        acceptance_unit: "南京市公安局".into(),
        photo_jpeg: b"\xFF\xD8\xFFthe cropped photo".to_vec(),
        fingers: [
            finger("right_index", b"FMR\0right index"),
            finger("left_index", b"FMR\0left index"),
        ],
        signature_png: b"\x89PNG\r\n\x1a\nthe signature".to_vec(),
        mobile: domain::mobile::MobileNumber::parse("13912345678").unwrap(),
        fee_fen: domain::money::Fen::new(4000).unwrap(),
        payment_method: domain::session::PaymentMethod::WeChat,
        payment_reference: "4200000000202611250001".into(),
        issue_by: date!(2027 - 01 - 24),
    }
}

async fn applications_are_filed_once_and_a_lost_card_is_reported(system: &dyn PopulationSystem) {
    use popsys::{BlobDigest, SubmissionOutcome};
    let sent = submission("session-behaviour-1", "320100202611250001");
    let first = system.submit_application(&sent, TODAY).await.unwrap();
    assert_eq!(
        first,
        SubmissionOutcome::Accepted {
            application_number: "320100202611250001".into(),
            received_on: TODAY,
            created: true,
        }
    );
    let again = system.submit_application(&sent, TODAY).await.unwrap();
    assert!(
        matches!(again, SubmissionOutcome::Accepted { created: false, .. }),
        "{again:?}"
    );
    let filed = system
        .filed_application("320100202611250001")
        .await
        .unwrap()
        .expect("filed");
    assert_eq!(filed.idempotency_key, "session-behaviour-1");
    assert_eq!(filed.status, popsys::ApplicationStatus::Accepted);
    assert_eq!(filed.id, id(demo::LONG_TERM));
    assert_eq!(filed.photo, BlobDigest::of(&sent.photo_jpeg));
    assert_eq!(filed.signature, BlobDigest::of(&sent.signature_png));
    assert_eq!(
        filed.fingers,
        vec![
            (
                domain::session::Finger::RightIndex,
                81,
                BlobDigest::of(&sent.fingers[0].template)
            ),
            (
                domain::session::Finger::LeftIndex,
                81,
                BlobDigest::of(&sent.fingers[1].template)
            ),
        ]
    );
    assert_eq!(filed.payment_reference, "4200000000202611250001");
    assert!(system
        .filed_application("320100202611259999")
        .await
        .unwrap()
        .is_none());
    let record = system
        .citizen(&id(demo::LONG_TERM), &nanjing(), TODAY)
        .await
        .unwrap()
        .unwrap();
    assert!(
        record.application_in_progress,
        "the filed application is in progress"
    );
    // Another application of the same citizen is refused while that one is in progress.
    let second = submission("session-behaviour-2", "320100202611250002");
    match system.submit_application(&second, TODAY).await.unwrap() {
        SubmissionOutcome::Refused { reason, .. } => assert_eq!(reason, "application_in_progress"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    let report = system
        .report_card_lost(&id(demo::LONG_TERM), "320100202611250001", TODAY)
        .await
        .unwrap()
        .expect("known citizen");
    assert_eq!(report.card_status, Some(CardStatus::ReportedLost));
    let record = system
        .citizen(&id(demo::LONG_TERM), &nanjing(), TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.card.unwrap().status, CardStatus::ReportedLost);
    assert!(system
        .report_card_lost(&id("11010519491231002X"), "320100202611250001", TODAY)
        .await
        .unwrap()
        .is_none());
}
