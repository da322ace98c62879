//! `CenterClient`: retryable failures told apart from refusals.

use std::sync::Arc;

use center::client::{CenterClient, ClientError};

use crate::sessions::{faces_request, receipt_request, scope_request};
use crate::world::{new_session, world, world_with, FACE};

#[tokio::test]
async fn no_center_is_retryable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = CenterClient::new(&format!("http://{address}"), "K0001", "x");
    let err = client.scope(&scope_request()).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn a_wrong_secret_is_a_refusal() {
    let world = world().await;
    let client = CenterClient::new(&format!("http://{}", world.center), "K0001", "wrong");
    let err = client.scope(&scope_request()).await.unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!(err.status(), Some(401));
    client.health().await.unwrap();
    world.finish().await;
}

#[tokio::test]
async fn a_service_down_behind_the_center_is_retryable_and_named() {
    let world = world_with(
        crate::world::databases("center client").await.remove(0),
        |state| state.face = None,
    )
    .await;
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
    let err = world
        .client
        .faces(&sid, &faces_request(FACE))
        .await
        .unwrap_err();
    match err {
        ClientError::Retryable {
            status: Some(503),
            service: Some(service),
            retry_after,
            ..
        } => {
            assert_eq!(service, "face");
            // The kiosk waits this long before asking again (agent::center::retry).
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(2)));
        }
        other => panic!("expected a retryable 503, got {other:?}"),
    }
    let _ = Arc::new(());
    world.finish().await;
}
