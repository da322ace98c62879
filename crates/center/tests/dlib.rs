//! Step 7 with the real dlib engine on real faces, when the weights and test faces are installed
//! (`scripts/setup/20-face.sh`); otherwise skipped with a note, and a failure when `CI` is set.

use std::sync::Arc;

use base64::Engine as _;
use center::steps::FacesRequest;
use popsys::seed::demo;
use store::testing::{file, require};

use crate::sessions::receipt_request;
use crate::world::{new_session, world_seeded};

#[tokio::test]
async fn the_real_engine_passes_the_same_person_and_refuses_another() {
    let faces = face::paths::faces_dir();
    let setup = "scripts/setup/20-face.sh";
    let Some(engine) = require(
        "center: dlib",
        "the dlib models",
        face::DlibEngine::shared(),
    ) else {
        return;
    };
    if require(
        "center: dlib",
        "the test faces",
        file(faces.join("obama.jpg"), setup),
    )
    .is_none()
    {
        return;
    }
    let read = |name: &str| std::fs::read(faces.join(name)).expect("a test face");
    let db = store::testing::TestDatabase::sqlite().await.unwrap();
    // The demo citizen's historical and certified photos: Obama.
    let world = world_seeded(db, &read("obama.jpg"), move |state| {
        state.face = Some(engine as Arc<dyn face::FaceEngine>);
    })
    .await;
    let request = |live: &str| FacesRequest {
        id: demo::RENEWAL_IN_WINDOW.into(),
        receipt: demo::RECEIPT.into(),
        live_photo: base64::engine::general_purpose::STANDARD.encode(read(live)),
        liveness: None,
    };
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
    let same = world
        .client
        .faces(&sid, &request("obama2.jpg"))
        .await
        .unwrap();
    assert_eq!(same.engine, face::dlib::ENGINE_NAME);
    assert!(same.certified_vs_history > 95.0, "{same:?}");
    assert!(same.passed, "{same:?}");
    // The live photo's liveness (issue 20) is stored with the scores, advisory.
    let stored = world
        .state
        .store
        .face_scores(sid.as_str())
        .await
        .unwrap()
        .expect("scores stored");
    let score = stored.liveness_score.expect("a liveness score");
    assert!(score > 0.9, "{stored:?}");
    assert_eq!(stored.liveness_threshold, Some(0.5));
    assert!(stored
        .liveness_engine
        .as_deref()
        .is_some_and(|e| e.starts_with(face::liveness::ENGINE_NAME)));

    let other = new_session();
    crate::sessions::scoped(&world, &other).await;
    assert!(
        world
            .client
            .receipt(&other, &receipt_request())
            .await
            .unwrap()
            .found
    );
    let stranger = world
        .client
        .faces(&other, &request("biden.jpg"))
        .await
        .unwrap();
    assert!(!stranger.passed, "{stranger:?}");
    assert!(stranger.live_vs_history < 60.0, "{stranger:?}");

    // The models' printed-photo sample: recorded under the bar (another person, so it fails
    // the comparison too; advise mode does not change the answer).
    let sample = face::paths::models_dir()
        .join(face::liveness::SAMPLES_DIR)
        .join("spoof_sample.jpg");
    let print = new_session();
    crate::sessions::scoped(&world, &print).await;
    assert!(
        world
            .client
            .receipt(&print, &receipt_request())
            .await
            .unwrap()
            .found
    );
    let spoof = FacesRequest {
        live_photo: base64::engine::general_purpose::STANDARD
            .encode(std::fs::read(&sample).expect("run scripts/setup/20-face.sh")),
        ..request("obama.jpg")
    };
    world.client.faces(&print, &spoof).await.unwrap();
    let stored = world
        .state
        .store
        .face_scores(print.as_str())
        .await
        .unwrap()
        .expect("scores stored");
    assert!(
        stored.liveness_score.expect("a liveness score") < 0.5,
        "{stored:?}"
    );
    world.finish().await;
}
