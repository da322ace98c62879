//! One citizen, one application (issue 13): the scope decision is bound to the session and taken
//! again at submission, a citizen has one live application however kiosks race, and each
//! completed application reaches the population system exactly once, whatever the population
//! system does meanwhile. On SQLite and, when configured, PostgreSQL.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use center::client::ClientError;
use center::delivery::{deliver_due, DeliverySettings};
use center::payments::CreatePaymentRequest;
use center::payments::PosReport;
use center::steps::{ApplicationRequest, FacesRequest, ReceiptRequest};
use center::wire::ScopeRequest;
use domain::id::CitizenId;
use domain::rules::Reason;
use domain::session::{PaymentMethod, SessionId, SessionOutcome};
use popsys::seed::demo;
use popsys::{BlobDigest, HttpPopulationSystem, PopulationSystem, StorePopulationSystem};
use store::deliveries::DeliveryState;
use store::studios::{PhotoStudio, StudioReceipt};
use store::ReceiptCode;
use time::Date;

use crate::sessions::{application_request, faces_request, receipt_request, scope_request};
use crate::support::TODAY;
use crate::world::{databases, jpeg, new_session, png, world, world_with, World, FACE};

const TEMPLATE_1: &[u8] = b"FMR\0 20\0template of the right index";
const TEMPLATE_2: &[u8] = b"FMR\0 20\0template of the left index";

fn settings() -> DeliverySettings {
    DeliverySettings::default()
}

/// The status, reason code and field of a refusal.
fn refusal(err: &ClientError) -> (u16, String, Option<String>) {
    match err {
        ClientError::Refused {
            status,
            field,
            message,
            ..
        } => (*status, message.clone(), field.clone()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A raw call as the kiosk, for what the typed client cannot send (a reason code to read).
async fn post(world: &World, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let response = world
        .http
        .post(format!("http://{}{path}", world.center))
        .header("x-kiosk-id", crate::support::KIOSK)
        .bearer_auth(crate::support::SECRET)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

fn scope_json(request: &ScopeRequest) -> serde_json::Value {
    serde_json::to_value(request).unwrap()
}

/// Steps 5–10 of an expiry renewal of [`demo::RENEWAL_IN_WINDOW`]; returns the application number.
pub(crate) async fn file(world: &World, sid: &SessionId, receipt: &str) -> String {
    file_as(world, sid, receipt, "expiry_renewal", 20).await
}

/// Steps 5–10 of `business` (fee `fee_cny`) for [`demo::RENEWAL_IN_WINDOW`], with both
/// fingerprint templates; returns the application number.
async fn file_as(
    world: &World,
    sid: &SessionId,
    receipt: &str,
    business: &str,
    fee_cny: u32,
) -> String {
    let client = &world.client;
    let mut scope = scope_request();
    scope.business = business.into();
    if business != "expiry_renewal" {
        scope.card = None;
    }
    let scope = client.session_scope(sid, &scope).await.unwrap();
    assert_eq!(scope.outcome, "accept", "{scope:?}");
    let receipt = ReceiptRequest {
        receipt: receipt.into(),
        ..receipt_request()
    };
    assert!(client.receipt(sid, &receipt).await.unwrap().found);
    let faces = FacesRequest {
        receipt: receipt.receipt.clone(),
        ..faces_request(FACE)
    };
    assert!(client.faces(sid, &faces).await.unwrap().passed);
    client.put_blob(sid, "signature", png()).await.unwrap();
    client
        .put_blob(sid, "fingerprint_1", TEMPLATE_1.to_vec())
        .await
        .unwrap();
    client
        .put_blob(sid, "fingerprint_2", TEMPLATE_2.to_vec())
        .await
        .unwrap();
    let application = ApplicationRequest {
        receipt: receipt.receipt,
        business: business.into(),
        fee_cny,
        ..application_request()
    };
    client
        .application(sid, &application)
        .await
        .unwrap()
        .application_no
}

/// Pays 20 yuan by UnionPay and ends the session completed.
pub(crate) async fn pay_and_complete(world: &World, sid: &SessionId) {
    pay_and_complete_fen(world, sid, 2000, "123456789012").await;
}

/// Pays `fen` by UnionPay (POS reference `reference`) and ends the session completed.
async fn pay_and_complete_fen(world: &World, sid: &SessionId, fen: u32, reference: &str) {
    let unionpay = CreatePaymentRequest {
        method: "unionpay".into(),
        attempt: 1,
        amount_fen: fen,
    };
    world.client.create_payment(sid, &unionpay).await.unwrap();
    let approved = PosReport {
        approved: true,
        response_code: "00".into(),
        card_masked: Some("622202******1234".into()),
        reference: Some(reference.into()),
        auth_code: Some("654321".into()),
        time: Some("2026-11-25T10:40:00+08:00".into()),
        ..PosReport::default()
    };
    let paid = world.client.report_pos(sid, 1, &approved).await.unwrap();
    assert_eq!(paid.state, payment::TradeState::Success);
    world
        .client
        .end(
            sid,
            &SessionOutcome::Completed {
                payment: PaymentMethod::UnionPay,
            },
        )
        .await
        .unwrap();
}

/// A second usable receipt of [`demo::RENEWAL_IN_WINDOW`], as a photo studio would upload it.
async fn another_receipt(world: &World, code: &str) {
    let store = world.store();
    store
        .add_photo_studio(&PhotoStudio {
            id: format!("S-{code}"),
            name: String::new(),
            secret_sha256: vec![0; 32],
            created_at: 0,
        })
        .await
        .unwrap();
    assert!(store
        .add_studio_receipt(&StudioReceipt {
            code: ReceiptCode::parse(code).unwrap(),
            id: CitizenId::parse(demo::RENEWAL_IN_WINDOW, Date::MAX).unwrap(),
            studio_id: format!("S-{code}"),
            jpeg: jpeg(FACE),
            created_on: TODAY,
            uploaded_at: 0,
        })
        .await
        .unwrap());
}

// Reported in the issue: 郑国华 (deceased) got an application by calling the later steps.
#[tokio::test]
async fn a_refused_citizen_gets_no_application_through_the_api() {
    let world = world().await;
    let sid = new_session();
    let deceased = ScopeRequest {
        business: "lost".into(),
        household: "local".into(),
        id: demo::DECEASED.into(),
        card: None,
    };
    let scope = world.client.session_scope(&sid, &deceased).await.unwrap();
    assert_eq!(scope.reason, "record_not_normal");
    let sid_path = format!("/v1/sessions/{}", sid.as_str());
    let (status, body) = post(
        &world,
        &format!("{sid_path}/receipt"),
        serde_json::json!({"id": demo::DECEASED, "receipt": demo::RECEIPT}),
    )
    .await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (409, Some("record_not_normal")),
        "{body}"
    );
    let prompt = Reason::RecordNotNormal.prompt();
    assert_eq!(body["prompt_zh"].as_str(), Some(prompt.zh));
    assert_eq!(body["prompt_en"].as_str(), Some(prompt.en));
    let (status, _) = post(
        &world,
        &format!("{sid_path}/faces"),
        serde_json::json!({"id": demo::DECEASED, "receipt": demo::RECEIPT,
            "live_photo": base64::engine::general_purpose::STANDARD.encode(jpeg(FACE))}),
    )
    .await;
    assert_eq!(status, 409);
    let mut application = serde_json::to_value(application_request()).unwrap();
    application["id"] = demo::DECEASED.into();
    application["business"] = "lost".into();
    application["fee_cny"] = 40.into();
    let (status, body) = post(&world, &format!("{sid_path}/application"), application).await;
    assert_eq!(status, 409, "{body}");
    // A session that never asked step 5 gets nothing either.
    let bare = new_session();
    let err = world
        .client
        .receipt(&bare, &receipt_request())
        .await
        .unwrap_err();
    assert_eq!(refusal(&err).2.as_deref(), Some("scope"));
    assert!(world
        .store()
        .applications_accepted_on(TODAY)
        .await
        .unwrap()
        .is_empty());
    world.finish().await;
}

#[tokio::test]
async fn a_submission_that_contradicts_its_session_is_refused_naming_the_field() {
    let world = world().await;
    let sid = new_session();
    crate::sessions::scoped(&world, &sid).await;
    assert!(
        world
            .client
            .receipt(&sid, &receipt_request())
            .await
            .unwrap()
            .found
    );
    assert!(
        world
            .client
            .faces(&sid, &faces_request(FACE))
            .await
            .unwrap()
            .passed
    );
    for (change, field) in [
        (
            ApplicationRequest {
                id: demo::LONG_TERM.into(),
                ..application_request()
            },
            "id",
        ),
        (
            ApplicationRequest {
                business: "lost".into(),
                fee_cny: 40,
                ..application_request()
            },
            "business",
        ),
        (
            ApplicationRequest {
                household: "province".into(),
                ..application_request()
            },
            "household",
        ),
        (
            ApplicationRequest {
                fee_cny: 1,
                ..application_request()
            },
            "fee_cny",
        ),
    ] {
        let err = world.client.application(&sid, &change).await.unwrap_err();
        let (status, message, named) = refusal(&err);
        assert_eq!((status, named.as_deref()), (422, Some(field)), "{message}");
    }
    assert!(world
        .store()
        .application_by_session(sid.as_str())
        .await
        .unwrap()
        .is_none());
    world.finish().await;
}

#[tokio::test]
async fn after_an_application_the_same_citizen_is_refused_at_step_5_and_at_submission() {
    for db in databases("center integrity").await {
        let backend = db.store().backend();
        let world = crate::world::world_on(db).await;
        another_receipt(&world, "PSSECOND0001").await;
        // Two kiosks: both pass step 5 before either files.
        let (first, second) = (new_session(), new_session());
        crate::sessions::scoped(&world, &first).await;
        crate::sessions::scoped(&world, &second).await;
        let number = file(&world, &first, demo::RECEIPT).await;
        pay_and_complete(&world, &first).await;
        // The second one's submission is decided again: refused, with the step-5 prompt.
        assert!(
            world
                .client
                .receipt(
                    &second,
                    &ReceiptRequest {
                        receipt: "PSSECOND0001".into(),
                        ..receipt_request()
                    }
                )
                .await
                .unwrap()
                .found
        );
        let faces = FacesRequest {
            receipt: "PSSECOND0001".into(),
            ..faces_request(FACE)
        };
        assert!(world.client.faces(&second, &faces).await.unwrap().passed);
        let mut body = serde_json::to_value(application_request()).unwrap();
        body["receipt"] = "PSSECOND0001".into();
        let (status, answer) = post(
            &world,
            &format!("/v1/sessions/{}/application", second.as_str()),
            body,
        )
        .await;
        assert_eq!(status, 409, "{backend}: {answer}");
        assert_eq!(answer["reason"], "application_in_progress", "{backend}");
        // A new session's step 5 says so, with the exact prompt.
        let third = new_session();
        let (status, answer) = post(
            &world,
            &format!("/v1/sessions/{}/scope", third.as_str()),
            scope_json(&scope_request()),
        )
        .await;
        assert_eq!(status, 200);
        let prompt = Reason::ApplicationInProgress.prompt();
        assert_eq!(answer["reason"], "application_in_progress", "{backend}");
        assert_eq!(answer["prompt_zh"].as_str(), Some(prompt.zh));
        let live = world
            .store()
            .live_application_of(demo::RENEWAL_IN_WINDOW)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live.application_no, number);
        world.db.finish().await;
    }
}

#[tokio::test]
async fn racing_submissions_of_one_citizen_give_one_application() {
    for db in databases("center integrity race").await {
        let backend = db.store().backend();
        let world = crate::world::world_on(db).await;
        const KIOSKS: usize = 4;
        let mut sessions = Vec::new();
        for i in 0..KIOSKS {
            let code = format!("PSRACE{i:06}");
            another_receipt(&world, &code).await;
            let sid = new_session();
            crate::sessions::scoped(&world, &sid).await;
            let receipt = ReceiptRequest {
                receipt: code.clone(),
                ..receipt_request()
            };
            assert!(world.client.receipt(&sid, &receipt).await.unwrap().found);
            let faces = FacesRequest {
                receipt: code.clone(),
                ..faces_request(FACE)
            };
            assert!(world.client.faces(&sid, &faces).await.unwrap().passed);
            sessions.push((sid, code));
        }
        let mut tasks = Vec::new();
        for (sid, code) in sessions {
            let client = world.client.clone();
            tasks.push(tokio::spawn(async move {
                let request = ApplicationRequest {
                    receipt: code,
                    ..application_request()
                };
                client.application(&sid, &request).await
            }));
        }
        let mut filed = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => filed += 1,
                Err(err) => assert_eq!(refusal(&err).0, 409, "{backend}: {err:?}"),
            }
        }
        assert_eq!(filed, 1, "{backend}");
        assert_eq!(
            world
                .store()
                .applications_accepted_on(TODAY)
                .await
                .unwrap()
                .len(),
            1,
            "{backend}"
        );
        world.db.finish().await;
    }
}

/// Checks that the population system holds `number` once, with exactly the blobs sent.
async fn check_filed(population: &dyn PopulationSystem, world: &World, number: &str, sid: &str) {
    let filed = population
        .filed_application(number)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{number} never reached the population system"));
    assert_eq!(filed.idempotency_key, sid);
    let live = world
        .state
        .blobs
        .get(sid, "live_photo")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(filed.photo, BlobDigest::of(&live));
    assert_eq!(filed.signature, BlobDigest::of(&png()));
    let templates: Vec<_> = filed.fingers.iter().map(|f| f.2.clone()).collect();
    assert_eq!(
        templates,
        vec![BlobDigest::of(TEMPLATE_1), BlobDigest::of(TEMPLATE_2)]
    );
    assert_eq!(filed.fingers[0].0, domain::session::Finger::RightIndex);
    assert_eq!(filed.payment_reference, "123456789012");
    assert_eq!(filed.fee_fen.get(), 2000);
}

#[tokio::test]
async fn a_completed_application_is_delivered_once_with_its_images() {
    for db in databases("center delivery").await {
        let backend = db.store().backend();
        let world = crate::world::world_on(db).await;
        let sid = new_session();
        let number = file(&world, &sid, demo::RECEIPT).await;
        // Accepted but not completed: nothing to deliver yet.
        let pass = deliver_due(&world.state, &settings()).await.unwrap();
        assert_eq!(pass.claimed(), 0, "{backend}");
        pay_and_complete(&world, &sid).await;
        let pass = deliver_due(&world.state, &settings()).await.unwrap();
        assert_eq!(pass.delivered, vec![number.clone()], "{backend}: {pass:?}");
        let population = StorePopulationSystem::new(world.store().clone());
        check_filed(&population, &world, &number, sid.as_str()).await;
        // Nothing more to send, and the popsys counts it in progress.
        world.clock.advance(Duration::from_secs(3600));
        assert_eq!(
            deliver_due(&world.state, &settings())
                .await
                .unwrap()
                .claimed(),
            0
        );
        let row = world.store().delivery(&number).await.unwrap().unwrap();
        assert_eq!(row.state, DeliveryState::Delivered, "{backend}");
        assert_eq!(
            world
                .store()
                .submissions_of(&CitizenId::parse(demo::RENEWAL_IN_WINDOW, Date::MAX).unwrap())
                .await
                .unwrap()
                .len(),
            1
        );
        world.db.finish().await;
    }
}

/// A popsys server over `store` on `addr` (port 0 for a new one) until `stop` is sent.
async fn popsys_on(
    store: store::Store,
    addr: SocketAddr,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind popsys");
    let addr = listener.local_addr().unwrap();
    let app = popsys::app(popsys::AppState::new(
        Arc::new(StorePopulationSystem::new(store)),
        Arc::new(|| TODAY),
        popsys::ClientTokens::new([("center", crate::support::POPSYS_TOKEN)]),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        popsys::serve(listener, app, async {
            let _ = stopped.await;
        })
        .await
        .expect("popsys serves");
    });
    (addr, stop, task)
}

#[tokio::test]
async fn a_population_system_down_during_delivery_gets_each_application_once_when_back() {
    for db in databases("center delivery outage").await {
        let backend = db.store().backend();
        let store = db.store().clone();
        let (addr, stop, task) = popsys_on(store.clone(), "127.0.0.1:0".parse().unwrap()).await;
        // The center reaches the population system over HTTP, as a fleet's center does.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let population = Arc::new(
            HttpPopulationSystem::with_client(&format!("http://{addr}"), client)
                .with_token(crate::support::POPSYS_TOKEN),
        );
        let over_http = population.clone();
        let world = world_with(db, move |state| state.population = over_http).await;
        let sid = new_session();
        let number = file(&world, &sid, demo::RECEIPT).await;

        // The population system goes down; the kiosk's session completes all the same.
        stop.send(()).unwrap();
        task.await.unwrap();
        pay_and_complete(&world, &sid).await;
        let pass = deliver_due(&world.state, &settings()).await.unwrap();
        assert_eq!(pass.retried, vec![number.clone()], "{backend}: {pass:?}");
        let row = world.store().delivery(&number).await.unwrap().unwrap();
        assert_eq!((row.state, row.attempts), (DeliveryState::Pending, 1));
        assert!(row.last_error.is_some());
        // Not due again before its pause.
        assert_eq!(
            deliver_due(&world.state, &settings())
                .await
                .unwrap()
                .claimed(),
            0
        );
        // Still undelivered an hour later: the fleet view raises the alert.
        let view = center::fleet::view::fleet_view(&world.state).await.unwrap();
        assert!(
            view.center_alerts.is_empty(),
            "{backend}: too early for the alert"
        );
        world.clock.advance(Duration::from_secs(3601));
        let view = center::fleet::view::fleet_view(&world.state).await.unwrap();
        assert_eq!(view.center_alerts.len(), 1, "{backend}");
        assert_eq!(view.center_alerts[0].kind, "undelivered");
        assert!(view.center_alerts[0].message.starts_with("1 份受理"));
        assert!(
            !view.center_alerts[0].message.contains(&number),
            "the fleet view names no application"
        );
        assert!(center::fleet::view::render(&view).contains("data-alert=\"undelivered\""));

        // Back up (same address). Say the first send had reached it and only the answer was
        // lost: the population system holds the application already.
        let (_, stop, task) = popsys_on(store.clone(), addr).await;
        let application = store.application(&number).await.unwrap().unwrap();
        let submission = center::delivery::submission(&world.state, &application)
            .await
            .unwrap();
        population
            .submit_application(&submission, TODAY)
            .await
            .unwrap();
        world.clock.advance(Duration::from_secs(10));
        let pass = deliver_due(&world.state, &settings()).await.unwrap();
        assert_eq!(pass.delivered, vec![number.clone()], "{backend}: {pass:?}");
        check_filed(population.as_ref(), &world, &number, sid.as_str()).await;
        assert_eq!(
            store
                .submissions_of(&CitizenId::parse(demo::RENEWAL_IN_WINDOW, Date::MAX).unwrap())
                .await
                .unwrap()
                .len(),
            1,
            "{backend}: filed once"
        );
        let view = center::fleet::view::fleet_view(&world.state).await.unwrap();
        assert!(
            view.center_alerts.is_empty(),
            "{backend}: delivered, no alert"
        );
        stop.send(()).unwrap();
        task.await.unwrap();
        world.db.finish().await;
    }
}

#[tokio::test]
async fn a_population_system_answering_garbage_leaves_the_application_queued() {
    // Answers 200 with nonsense to everything once the session is filed.
    let garbage = axum::Router::new()
        .fallback(|| async { axum::Json(serde_json::json!({"nonsense": true})) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, garbage).await.unwrap() });

    let world = world().await;
    let sid = new_session();
    let number = file(&world, &sid, demo::RECEIPT).await;
    pay_and_complete(&world, &sid).await;
    let mut state = world.state.clone();
    state.population =
        Arc::new(HttpPopulationSystem::new(&format!("http://{garbage_addr}")).unwrap());
    let pass = deliver_due(&state, &settings()).await.unwrap();
    assert_eq!(pass.retried, vec![number.clone()], "{pass:?}");
    let row = world.store().delivery(&number).await.unwrap().unwrap();
    assert_eq!(row.state, DeliveryState::Pending);
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("out of protocol")),
        "{row:?}"
    );
    // The real one answers later: delivered.
    world.clock.advance(Duration::from_secs(10));
    let pass = deliver_due(&world.state, &settings()).await.unwrap();
    assert_eq!(pass.delivered, vec![number]);
    world.finish().await;
}

#[tokio::test]
async fn a_lost_replacement_reports_the_old_card_lost() {
    let world = world().await;
    let population = StorePopulationSystem::new(world.store().clone());
    let city = domain::region::KioskCity::parse("320100").unwrap();
    let id = CitizenId::parse(demo::RENEWAL_IN_WINDOW, Date::MAX).unwrap();
    let before = population
        .citizen(&id, &city, TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.card.unwrap().status, popsys::CardStatus::Valid);

    let sid = new_session();
    let number = file_as(&world, &sid, demo::RECEIPT, "lost", 40).await;
    pay_and_complete_fen(&world, &sid, 4000, "123456789013").await;
    let pass = deliver_due(&world.state, &settings()).await.unwrap();
    assert_eq!(pass.delivered, vec![number.clone()], "{pass:?}");
    let after = population
        .citizen(&id, &city, TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.card.unwrap().status, popsys::CardStatus::ReportedLost);
    assert!(
        world
            .store()
            .delivery(&number)
            .await
            .unwrap()
            .unwrap()
            .lost_reported
    );
    assert_eq!(
        population
            .filed_application(&number)
            .await
            .unwrap()
            .unwrap()
            .business,
        domain::rules::Business::Lost
    );
    world.finish().await;
}
