//! PostgreSQL for a fleet (issue 9, item 4): two center replicas, each with its own connection pool
//! and its own loopback port, on ONE database, as behind a load balancer. Sessions run with their
//! calls alternating between the replicas (scope, receipt, faces, blob, application, end), many at
//! once; every application number is unique, every session is recorded once, and a repeated call
//! on the other replica answers the first answer. On PostgreSQL (`IDKIOSK_TEST_PG_URL`) and, so
//! the test also runs without it, on one SQLite file opened twice.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use center::client::CenterClient;
use center::steps::{ApplicationRequest, FacesRequest, ReceiptRequest};
use domain::id::CitizenId;
use domain::session::{PaymentMethod, SessionOutcome};
use popsys::seed::demo;
use popsys::StorePopulationSystem;
use store::{NewReceipt, ReceiptCode, Store};
use time::macros::date;

use crate::sessions::{application_request, scope_request};
use crate::support::{state_over, KIOSK, OTHER_KIOSK, OTHER_SECRET, SECRET, TODAY};
use crate::world::{databases, jpeg, new_session, png, ColourEngine, FACE};

/// Sessions run through the two replicas.
const SESSIONS: usize = 24;

fn receipt_code(i: usize) -> String {
    format!("PSREPLICA{i:04}")
}

/// The citizen of session `i`: one citizen per session, since a citizen has at most one live
/// application. Born the day [`demo::RENEWAL_IN_WINDOW`] was, in the same district.
fn citizen(i: usize) -> CitizenId {
    let sequence = u16::try_from(100 + 2 * i).unwrap();
    CitizenId::from_parts("320104", date!(2000 - 12 - 10), sequence).unwrap()
}

/// The demo citizens, and [`SESSIONS`] copies of [`demo::RENEWAL_IN_WINDOW`] under their own
/// numbers, each with one unused photo receipt.
async fn seed(store: &Store) {
    let photo = jpeg(FACE);
    let mut citizens = popsys::seed::fixed_citizens();
    let template = citizens
        .iter()
        .find(|bundle| bundle.citizen.id.as_str() == demo::RENEWAL_IN_WINDOW)
        .cloned()
        .expect("the renewal citizen");
    for i in 0..SESSIONS {
        let mut bundle = template.clone();
        bundle.citizen.id = citizen(i);
        bundle.applications.clear();
        for history in &mut bundle.history_photos {
            history.jpeg = Some(photo.clone());
        }
        bundle.receipts = vec![NewReceipt {
            code: ReceiptCode::parse(&receipt_code(i)).unwrap(),
            jpeg: Some(photo.clone()),
            created_on: date!(2026 - 11 - 20),
            used_on: None,
        }];
        citizens.push(bundle);
    }
    store.insert_citizens(&citizens).await.expect("seed");
}

/// One replica: its own store handle (pool) and port.
async fn replica(store: Store) -> SocketAddr {
    let mut state = state_over(Arc::new(StorePopulationSystem::new(store.clone())), store);
    state.face = Some(Arc::new(ColourEngine::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = center::app(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// One session, its calls alternating between `a` and `b`; returns (session id, number).
async fn session(i: usize, a: CenterClient, b: CenterClient) -> (String, String) {
    // Odd sessions start on the other replica.
    let (first, second) = if i.is_multiple_of(2) {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let sid = new_session();
    let code = receipt_code(i);
    let id = citizen(i).as_str().to_owned();
    let mut scope = scope_request();
    scope.id = id.clone();
    if let Some(card) = scope.card.as_mut() {
        card.id = id.clone();
    }
    let answer = first.session_scope(&sid, &scope).await.expect("scope");
    assert_eq!(answer.outcome, "accept", "{answer:?}");
    let receipt = ReceiptRequest {
        id: id.clone(),
        receipt: code.clone(),
    };
    assert!(second.receipt(&sid, &receipt).await.expect("receipt").found);
    let faces = FacesRequest {
        id: id.clone(),
        receipt: code.clone(),
        live_photo: base64::engine::general_purpose::STANDARD.encode(jpeg(FACE)),
        liveness: None,
    };
    assert!(first.faces(&sid, &faces).await.expect("faces").passed);
    second
        .put_blob(&sid, "signature", png())
        .await
        .expect("blob");
    let request = ApplicationRequest {
        receipt: code,
        id,
        ..application_request()
    };
    let answer = first
        .application(&sid, &request)
        .await
        .expect("application");
    // The kiosk retries on the other replica (a timeout, a load balancer switch): same answer.
    assert_eq!(
        second.application(&sid, &request).await.expect("repeat"),
        answer
    );
    let outcome = SessionOutcome::Completed {
        payment: PaymentMethod::WeChat,
    };
    second.end(&sid, &outcome).await.expect("end");
    first.end(&sid, &outcome).await.expect("repeated end");
    (sid.as_str().to_owned(), answer.application_no)
}

#[tokio::test]
async fn two_replicas_on_one_database_number_and_record_each_session_once() {
    for db in databases("center replicas").await {
        let backend = db.store().backend();
        seed(db.store()).await;
        // Two handles, two pools: nothing shared in memory between the replicas.
        let one = replica(db.reconnect().await.unwrap()).await;
        let two = replica(db.reconnect().await.unwrap()).await;
        let mut tasks = Vec::new();
        for i in 0..SESSIONS {
            // Two kiosks, each talking to both replicas.
            let (kiosk, secret) = if i.is_multiple_of(3) {
                (OTHER_KIOSK, OTHER_SECRET)
            } else {
                (KIOSK, SECRET)
            };
            let a = CenterClient::new(&format!("http://{one}"), kiosk, secret);
            let b = CenterClient::new(&format!("http://{two}"), kiosk, secret);
            tasks.push(tokio::spawn(session(i, a, b)));
        }
        let mut sessions = Vec::new();
        for task in tasks {
            sessions.push(task.await.expect("a session"));
        }

        let mut numbers: Vec<&str> = sessions.iter().map(|(_, n)| n.as_str()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), SESSIONS, "{backend}: duplicate numbers");
        let store = db.store();
        let accepted = store.applications_accepted_on(TODAY).await.unwrap();
        assert_eq!(
            accepted.len(),
            SESSIONS,
            "{backend}: one application per session"
        );
        let mut stored: Vec<String> = accepted.iter().map(|a| a.application_no.clone()).collect();
        stored.sort_unstable();
        assert_eq!(stored, numbers, "{backend}");
        // The sequence runs 0001..=SESSIONS without holes.
        let mut sequences: Vec<usize> = stored.iter().map(|n| n[14..].parse().unwrap()).collect();
        sequences.sort_unstable();
        assert_eq!(sequences, (1..=SESSIONS).collect::<Vec<_>>(), "{backend}");
        // Each session recorded once, with its outcome, for its kiosk.
        let per_kiosk = store.sessions_per_kiosk(0, i64::MAX).await.unwrap();
        let total: i64 = per_kiosk.iter().map(|(_, n)| n).sum();
        assert_eq!(total, SESSIONS as i64, "{backend}: {per_kiosk:?}");
        for (sid, number) in &sessions {
            let outcome = store.session_outcome(sid).await.unwrap();
            assert!(
                outcome.as_deref().is_some_and(|o| o.contains("completed")),
                "{backend}: {sid}: {outcome:?}"
            );
            let app = store.application_by_session(sid).await.unwrap().unwrap();
            assert_eq!(&app.application_no, number);
            assert_eq!(
                app.status,
                store::sessions::KioskStatus::Completed,
                "{backend}: {number}"
            );
        }
        store::testing::report(&format!(
            "center replicas: {backend}: {SESSIONS} sessions through two replicas, numbers {}..{}",
            stored.first().unwrap(),
            stored.last().unwrap()
        ));
        db.finish().await;
    }
}
