//! An application's journey after the kiosk (issue 17), on SQLite and, when configured,
//! PostgreSQL: filed at a kiosk, delivered to the population system and accepted, produced
//! (`popsys produce`'s store call), made ready, handed over at the staff console's window; the
//! center's poll records each step with actor `popsys`, and the notices reach an in-process SMSC
//! simulator word for word, each once, also when the SMSC is down for a while.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use center::delivery::{deliver_due, DeliverySettings};
use center::journey::{poll_production, send_due_notices, JourneySettings};
use domain::journey::ApplicationState;
use domain::notice::NoticeKind;
use popsys::seed::demo;
use sms::sim::{start_smsc, FaultsUpdate, SmscSimConfig, SmscSimHandle};
use sms::{SmppConfig, SmppGateway};
use store::journey::NoticeState;
use store::{ApplicationStatus, StoreError};
use time::macros::date;

use crate::integrity::{file, pay_and_complete};
use crate::world::{databases, new_session, World};

const ACCEPTED_TEXT: &str = "【居民身份证】*晓燕，您的居民身份证申请（受理编号{no}）已受理，预计2027年1月24日前制证完成，届时将短信通知您领取。";
const READY_TEXT: &str = "【居民身份证】*晓燕，您的居民身份证已制作完成，请持领取凭证到南京市公安局玄武分局户政办证大厅（南京市玄武区北京东路1号，周一至周五 9:00–17:00）领取。";
const OVERDUE_TEXT: &str = "【居民身份证】*晓燕，抱歉，您的居民身份证（受理编号{no}）未能按期制作完成，预计2027年2月24日前完成，届时另行通知。";

async fn smsc() -> (SmscSimHandle, SmppGateway) {
    let sim = start_smsc(SmscSimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..SmscSimConfig::default()
    })
    .await
    .expect("the SMSC simulator starts");
    let mut config = SmppConfig::new(
        &sim.smpp_addr().to_string(),
        "idkiosk",
        "secret",
        "10690001",
    );
    config.connect_timeout_ms = 1_000;
    config.response_timeout_ms = 1_000;
    let gateway = SmppGateway::new(config).expect("a valid gateway configuration");
    (sim, gateway)
}

/// A completed application of 王晓燕 (13912345678, ready by 2027-01-24); its number.
async fn completed(world: &World) -> String {
    let sid = new_session();
    crate::sessions::scoped(world, &sid).await;
    let number = file(world, &sid, demo::RECEIPT).await;
    pay_and_complete(world, &sid).await;
    number
}

async fn state_of(world: &World, number: &str) -> Option<ApplicationState> {
    world.store().application_state(number).await.unwrap()
}

#[tokio::test]
async fn an_application_goes_from_the_kiosk_to_the_office_and_each_notice_arrives_once() {
    for db in databases("center journey").await {
        let backend = db.store().backend();
        let world = crate::world::world_on(db).await;
        let (sim, gateway) = smsc().await;
        let settings = JourneySettings::default();
        let number = completed(&world).await;
        assert_eq!(
            state_of(&world, &number).await,
            Some(ApplicationState::Submitted)
        );

        // Delivered and taken: accepted, and the acceptance notice goes out.
        let pass = deliver_due(&world.state, &DeliverySettings::default())
            .await
            .unwrap();
        assert_eq!(pass.delivered, [number.as_str()], "{backend}");
        assert_eq!(
            state_of(&world, &number).await,
            Some(ApplicationState::Accepted)
        );
        let sent = send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        assert_eq!(sent.sent, [(number.clone(), NoticeKind::Accepted)]);

        // Nothing moved at the population system: the poll records nothing.
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert!(pass.moved.is_empty(), "{pass:?}");

        // `popsys produce`: in production, then ready; the poll records each.
        let store = world.store();
        store
            .advance_population_application(&number, ApplicationStatus::InProduction)
            .await
            .unwrap();
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert_eq!(
            pass.moved,
            [(number.clone(), ApplicationState::InProduction)]
        );
        store
            .advance_population_application(&number, ApplicationStatus::Ready)
            .await
            .unwrap();
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert_eq!(pass.moved, [(number.clone(), ApplicationState::Ready)]);
        // Polled again: nothing new, no second notice.
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert!(pass.moved.is_empty(), "{pass:?}");
        let sent = send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        assert_eq!(sent.sent, [(number.clone(), NoticeKind::Ready)]);
        let sent = send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        assert!(sent.sent.is_empty(), "nothing is sent twice");

        let received = sim.messages();
        let texts: Vec<(&str, &str)> = received
            .iter()
            .map(|m| (m.to.as_str(), m.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (
                    "13912345678",
                    ACCEPTED_TEXT.replace("{no}", &number).as_str()
                ),
                ("13912345678", READY_TEXT),
            ],
            "{backend}"
        );
        assert!(received.iter().all(|m| m.from == "10690001"));

        let moves = store.application_transitions(&number).await.unwrap();
        let path: Vec<_> = moves
            .iter()
            .map(|m| (m.from.as_str(), m.to.as_str(), m.actor.as_str()))
            .collect();
        assert_eq!(
            path,
            [
                ("submitted", "accepted", "popsys"),
                ("accepted", "in_production", "popsys"),
                ("in_production", "ready", "popsys"),
            ]
        );
        let notices = store.notices_of_application(&number).await.unwrap();
        assert!(notices.iter().all(|n| n.state == NoticeState::Sent));
        assert_eq!(
            notices[0].message_id.as_deref(),
            Some(received[0].message_ids.join(",").as_str())
        );

        // Ready twice is refused, naming the state.
        let err = center::journey::advance(
            &world.state,
            &number,
            ApplicationState::Ready,
            "clerk1",
            "window_clerk",
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(err, None, "a refused move is not taken");
        let err = store
            .advance_application(&store::journey::Advance {
                application_no: number.clone(),
                to: ApplicationState::Ready,
                actor: "clerk1".into(),
                role: "window_clerk".into(),
                reason: None,
                at: 0,
                notice: None,
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Transition(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "cannot mark ready: the application is ready"
        );

        // At the window: the clerk hands the card over (by eye, to the applicant).
        let window = crate::collection::window_over(world.state.clone()).await;
        let done = window
            .collect(&number, crate::collection::BY_EYE, None)
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(
            state_of(&world, &number).await,
            Some(ApplicationState::Collected)
        );
        let last = store.application_transitions(&number).await.unwrap();
        let last = last.last().unwrap();
        assert_eq!(
            (last.from, last.to, last.actor.as_str()),
            (
                ApplicationState::Ready,
                ApplicationState::Collected,
                "window_clerk"
            )
        );
        assert!(store.collection_of(&number).await.unwrap().is_some());
        // The population system was told, and the journey has ended: the citizen may apply
        // again (regression: collected applications counted as "in progress" for ever).
        assert_eq!(
            store.population_application_status(&number).await.unwrap(),
            Some(ApplicationStatus::Collected)
        );
        let citizen = store.application(&number).await.unwrap().unwrap().id_number;
        assert_eq!(
            store.live_application_of(citizen.as_str()).await.unwrap(),
            None
        );
        crate::sessions::scoped(&world, &new_session()).await;
        // Collecting is the end of the journey: no notice for it, none sent twice.
        let sent = send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        assert!(sent.sent.is_empty(), "{sent:?}");
        assert_eq!(sim.messages().len(), 2);
        sim.shutdown().await;
        world.finish().await;
    }
}

#[tokio::test]
async fn an_smsc_that_is_down_holds_nothing_up_and_each_notice_is_sent_once_when_it_is_back() {
    for db in databases("center journey smsc down").await {
        let world = crate::world::world_on(db).await;
        let (sim, gateway) = smsc().await;
        let settings = JourneySettings::default();
        let number = completed(&world).await;
        sim.set_faults(FaultsUpdate {
            down: Some(true),
            ..FaultsUpdate::default()
        })
        .unwrap();
        deliver_due(&world.state, &DeliverySettings::default())
            .await
            .unwrap();
        let pass = send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        assert_eq!(pass.retried, [(number.clone(), NoticeKind::Accepted)]);
        // The rest of the application's work goes on meanwhile.
        world
            .store()
            .advance_population_application(&number, ApplicationStatus::InProduction)
            .await
            .unwrap();
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert_eq!(
            pass.moved,
            [(number.clone(), ApplicationState::InProduction)]
        );
        let notices = world.store().notices_of_application(&number).await.unwrap();
        assert_eq!(notices[0].state, NoticeState::Pending);
        assert_eq!(notices[0].attempts, 1);
        assert!(
            notices[0].last_error.is_some(),
            "staff see why it is waiting"
        );
        // Not due again before the pause (30 s).
        sim.set_faults(FaultsUpdate {
            down: Some(false),
            ..FaultsUpdate::default()
        })
        .unwrap();
        let pass = send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        assert!(pass.sent.is_empty() && pass.retried.is_empty(), "{pass:?}");
        world.clock.advance(Duration::from_secs(31));
        let pass = send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        assert_eq!(pass.sent, [(number.clone(), NoticeKind::Accepted)]);
        world.clock.advance(Duration::from_secs(3600));
        let pass = send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        assert!(pass.sent.is_empty(), "{pass:?}");
        assert_eq!(sim.messages().len(), 1, "sent once");

        // Past the issue-by date and not ready: one overdue notice, whatever the number of polls.
        let mut late = world.state.clone();
        late.today = Arc::new(|| date!(2027 - 01 - 25));
        let pass = poll_production(&late, &settings).await.unwrap();
        assert_eq!(pass.overdue, [number.as_str()]);
        let pass = poll_production(&late, &settings).await.unwrap();
        assert!(pass.overdue.is_empty(), "{pass:?}");
        let pass = send_due_notices(&late, &gateway, &settings).await.unwrap();
        assert_eq!(pass.sent, [(number.clone(), NoticeKind::Overdue)]);
        let last = sim.messages().pop().unwrap();
        assert_eq!(last.text, OVERDUE_TEXT.replace("{no}", &number));
        sim.shutdown().await;
        world.finish().await;
    }
}

// A delivery answered but the move after it not recorded (a crash or a database error between
// the two) left the application `submitted` for good, with no notice; the poll now catches up.
#[tokio::test]
async fn an_answered_delivery_whose_move_was_not_recorded_is_caught_up_by_the_poll() {
    for db in databases("center journey catch-up").await {
        let world = crate::world::world_on(db).await;
        let settings = JourneySettings::default();
        let number = completed(&world).await;
        let store = world.store();
        let now = 1_795_000_000;
        assert_eq!(
            store
                .claim_due_deliveries(4_000_000_000, 60, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        store.delivery_done(&number, &number, now).await.unwrap();
        assert_eq!(
            state_of(&world, &number).await,
            Some(ApplicationState::Submitted)
        );
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert_eq!(pass.moved, [(number.clone(), ApplicationState::Accepted)]);
        let notices = store.notices_of_application(&number).await.unwrap();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].text, ACCEPTED_TEXT.replace("{no}", &number));
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert!(pass.moved.is_empty(), "{pass:?}");
        world.finish().await;
    }
    let world = crate::world::world().await;
    let number = completed(&world).await;
    let store = world.store();
    store
        .claim_due_deliveries(4_000_000_000, 60, 10)
        .await
        .unwrap();
    store
        .delivery_rejected(
            &number,
            "unknown_citizen: no citizen with this id number",
            0,
        )
        .await
        .unwrap();
    let pass = poll_production(&world.state, &JourneySettings::default())
        .await
        .unwrap();
    assert_eq!(pass.moved, [(number.clone(), ApplicationState::Rejected)]);
    let notices = store.notices_of_application(&number).await.unwrap();
    assert_eq!(
        notices[0].text,
        format!(
            "【居民身份证】*晓燕，您的居民身份证申请（受理编号{number}）未通过审核：\
             人口信息系统中未找到您的户籍信息。请到户政窗口办理。"
        )
    );
    let moves = store.application_transitions(&number).await.unwrap();
    assert_eq!(
        moves[0].reason.as_deref(),
        Some("unknown_citizen: no citizen with this id number")
    );
    world.finish().await;
}

/// The reference population system refuses an application it had accepted (`idkiosk popsys
/// produce --to rejected --reason …`, `Store::reject_population_application`): the center's poll
/// moves it to rejected with the reason and the citizen gets the rejection text once.
#[tokio::test]
async fn the_reference_population_system_rejects_after_acceptance_and_the_citizen_is_told() {
    const REJECTED_TEXT: &str = "【居民身份证】*晓燕，您的居民身份证申请（受理编号{no}）未通过审核：照片不符合要求。请到户政窗口办理。";
    for db in databases("center journey rejected by popsys").await {
        let backend = db.store().backend();
        let world = crate::world::world_on(db).await;
        let (sim, gateway) = smsc().await;
        let settings = JourneySettings::default();
        let number = completed(&world).await;
        deliver_due(&world.state, &DeliverySettings::default())
            .await
            .unwrap();
        let store = world.store();
        store
            .advance_population_application(&number, ApplicationStatus::InProduction)
            .await
            .unwrap();
        // A rejection needs its reason.
        assert!(store
            .reject_population_application(&number, "  ")
            .await
            .is_err());
        assert_eq!(
            store
                .reject_population_application(&number, "照片不符合要求")
                .await
                .unwrap(),
            Some(ApplicationStatus::InProduction)
        );
        assert_eq!(
            store.population_application_status(&number).await.unwrap(),
            Some(ApplicationStatus::Rejected)
        );
        // Refused twice: the state named; an unknown number is none.
        let again = store
            .reject_population_application(&number, "照片不符合要求")
            .await
            .unwrap_err();
        assert!(
            again
                .to_string()
                .ends_with("cannot mark rejected: the application is rejected"),
            "{backend}: {again}"
        );
        assert_eq!(
            store
                .reject_population_application("320100209901010001", "x")
                .await
                .unwrap(),
            None
        );

        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert_eq!(pass.moved, [(number.clone(), ApplicationState::Rejected)]);
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert!(pass.moved.is_empty(), "{pass:?}");
        // Rejected: the citizen may apply again at a kiosk.
        crate::sessions::scoped(&world, &new_session()).await;
        let moves = store.application_transitions(&number).await.unwrap();
        let last = moves.last().unwrap();
        assert_eq!(last.to, ApplicationState::Rejected);
        assert!(
            last.reason
                .as_deref()
                .unwrap_or_default()
                .contains("照片不符合要求"),
            "{last:?}"
        );
        send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        let texts: Vec<String> = sim.messages().into_iter().map(|m| m.text).collect();
        assert_eq!(
            texts.last().map(String::as_str),
            Some(REJECTED_TEXT.replace("{no}", &number).as_str()),
            "{backend}"
        );
        assert_eq!(texts.iter().filter(|t| t.contains("未通过审核")).count(), 1);
        sim.shutdown().await;
        world.finish().await;
    }
}
