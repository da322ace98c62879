//! Issue 15 item 6: voice and large type are one citizen's choice. The agent keeps them for the
//! whole session and turns both off when the start screen comes back for the next citizen.

use std::sync::Arc;

use crate::support::{agent_config, outbox, ports, Device, OfflineCenter};
use domain::rules::Business;
use domain::session::{Screen, SessionConfig};
use kiosk::view::UiAction;

#[tokio::test]
async fn voice_and_large_type_last_one_session_and_reset_for_the_next_citizen() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path()).await;
    let ports = ports(
        Arc::new(OfflineCenter::default()),
        Arc::new(Device::ready()),
    );
    let config = agent_config(dir.path(), SessionConfig::default());
    let (handle, _agent) = kiosk::agent::start(ports, outbox, config).await.unwrap();
    let chosen = |handle: &kiosk::view::AgentHandle| {
        let view = handle.view();
        (view.extras.voice, view.extras.large_type)
    };

    // Chosen on the start screen, one after the other, each on its own.
    handle.act(UiAction::Voice(true)).await.unwrap();
    assert_eq!(chosen(&handle), (true, false));
    handle.act(UiAction::LargeType(true)).await.unwrap();
    assert_eq!(chosen(&handle), (true, true));
    handle.act(UiAction::Voice(false)).await.unwrap();
    handle.act(UiAction::Voice(true)).await.unwrap();
    assert_eq!(chosen(&handle), (true, true));

    // Kept through the session.
    handle.act(UiAction::Start).await.unwrap();
    assert_eq!(handle.view().screen, Screen::Business);
    assert_eq!(chosen(&handle), (true, true));
    handle
        .act(UiAction::Business(Business::Lost))
        .await
        .unwrap();
    assert_eq!(chosen(&handle), (true, true));

    // Ended by the citizen (confirming when asked): the next citizen starts without them.
    handle.act(UiAction::Cancel).await.unwrap();
    if !matches!(handle.view().screen, Screen::Welcome { .. }) {
        handle.act(UiAction::Confirm).await.unwrap();
    }
    assert!(
        matches!(handle.view().screen, Screen::Welcome { .. }),
        "{:?}",
        handle.view().screen
    );
    assert_eq!(chosen(&handle), (false, false));

    // And the next one can choose again.
    handle.act(UiAction::LargeType(true)).await.unwrap();
    assert_eq!(chosen(&handle), (false, true));
}
