//! Step 7 at scale (issue 18): the historical photo's embedding computed once and kept, and the
//! bounded face pool refusing with `503 face` and `Retry-After` when its queue is full.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use center::faces::{FacePool, FacePoolConfig};
use face::{AlignedFace, Calibration, DescribedFace, Embedding, FaceBox, FaceEngine, FaceError};
use face::{Landmarks, Picture};
use store::face_embeddings::{EmbeddingEngine, PhotoHash};

use crate::sessions::{faces_request, receipt_request, scoped};
use crate::support::{KIOSK, SECRET};
use crate::world::{databases, jpeg, new_session, world_with, ColourEngine, World, FACE, STRANGER};

/// The colour double, counting the historical photos it describes and taking `delay` over each
/// picture (a real engine's CPU time).
struct Counting {
    inner: ColourEngine,
    historical: AtomicUsize,
    delay: Duration,
}

impl Counting {
    fn new(delay: Duration) -> Arc<Counting> {
        Arc::new(Counting {
            inner: ColourEngine::new(),
            historical: AtomicUsize::new(0),
            delay,
        })
    }
}

impl FaceEngine for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn version(&self) -> &str {
        self.inner.version()
    }
    fn calibration(&self) -> &Calibration {
        self.inner.calibration()
    }
    fn detect(&self, picture: &Picture) -> Result<Vec<FaceBox>, FaceError> {
        self.inner.detect(picture)
    }
    fn landmarks(&self, picture: &Picture, face: &FaceBox) -> Result<Landmarks, FaceError> {
        self.inner.landmarks(picture, face)
    }
    fn align(&self, picture: &Picture, landmarks: &Landmarks) -> Result<AlignedFace, FaceError> {
        self.inner.align(picture, landmarks)
    }
    fn embed(&self, picture: &Picture, landmarks: &Landmarks) -> Result<Embedding, FaceError> {
        self.inner.embed(picture, landmarks)
    }
    fn describe(&self, picture: &Picture) -> Result<DescribedFace, FaceError> {
        if picture.name() == "historical_photo" {
            self.historical.fetch_add(1, Ordering::SeqCst);
        }
        std::thread::sleep(self.delay);
        self.inner.describe(picture)
    }
}

/// A session scoped and past its receipt, ready for step 7.
async fn at_step_7(world: &World) -> domain::session::SessionId {
    let sid = new_session();
    scoped(world, &sid).await;
    assert!(
        world
            .client
            .receipt(&sid, &receipt_request())
            .await
            .unwrap()
            .found
    );
    sid
}

#[tokio::test]
async fn the_historical_embedding_is_computed_once_and_decides_the_same() {
    for db in databases("center faces").await {
        let engine = Counting::new(Duration::ZERO);
        let world = world_with(db, {
            let engine = engine.clone();
            move |state| state.face = Some(engine)
        })
        .await;
        let first = at_step_7(&world).await;
        let computed = world
            .client
            .faces(&first, &faces_request(FACE))
            .await
            .unwrap();
        assert_eq!(engine.historical.load(Ordering::SeqCst), 1);
        let kept = world
            .state
            .store
            .face_embedding(
                &PhotoHash::of(&jpeg(FACE)),
                EmbeddingEngine {
                    name: "colour-double",
                    version: "1",
                },
            )
            .await
            .unwrap();
        assert!(kept.is_some(), "kept under the photo's hash and the engine");

        // Another session of the same citizen: the kept embedding, the same answer.
        let second = at_step_7(&world).await;
        let found = world
            .client
            .faces(&second, &faces_request(FACE))
            .await
            .unwrap();
        assert_eq!(
            engine.historical.load(Ordering::SeqCst),
            1,
            "not computed again"
        );
        assert_eq!(
            (
                found.certified_vs_history,
                found.live_vs_history,
                found.passed
            ),
            (
                computed.certified_vs_history,
                computed.live_vs_history,
                computed.passed
            )
        );
        // And a stranger is still refused against the kept embedding.
        let third = at_step_7(&world).await;
        let stranger = world
            .client
            .faces(&third, &faces_request(STRANGER))
            .await
            .unwrap();
        assert!(
            !stranger.passed && stranger.live_vs_history < 60.0,
            "{stranger:?}"
        );
        assert_eq!(engine.historical.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn a_full_face_pool_answers_503_with_retry_after() {
    let db = store::testing::TestDatabase::sqlite().await.unwrap();
    let world = world_with(db, |state| {
        state.face = Some(Counting::new(Duration::from_millis(400)));
        state.face_pool = FacePool::new(FacePoolConfig {
            workers: 1,
            queue: 1,
        });
    })
    .await;
    let mut sessions = Vec::new();
    for _ in 0..4 {
        sessions.push(at_step_7(&world).await);
    }
    let body = serde_json::to_string(&faces_request(FACE)).unwrap();
    let post = |sid: String| {
        let request = world
            .http
            .post(format!("http://{}/v1/sessions/{sid}/faces", world.center))
            .header("content-type", "application/json")
            .header("x-kiosk-id", KIOSK)
            .header("authorization", format!("Bearer {SECRET}"))
            .body(body.clone());
        async move {
            let response = request.send().await.expect("the center answers");
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let json: serde_json::Value = response.json().await.expect("JSON");
            (sid, status, retry_after, json)
        }
    };
    // Four at once on one worker with one place in the queue: one runs, one waits, the others
    // are refused at once.
    let answers =
        futures_util::future::join_all(sessions.iter().map(|sid| post(sid.as_str().to_owned())))
            .await;
    let refused: Vec<_> = answers.iter().filter(|a| a.1 == 503).collect();
    let passed = answers.iter().filter(|a| a.1 == 200).count();
    assert!(!refused.is_empty(), "{answers:?}");
    assert!(passed >= 2, "the running and the queued call: {answers:?}");
    assert_eq!(refused.len() + passed, 4, "{answers:?}");
    for (_, _, retry_after, json) in &refused {
        assert_eq!(retry_after.as_deref(), Some("2"), "{answers:?}");
        assert_eq!(json["service"], "face", "{json}");
    }
    // Once the pool is free, the refused session goes through.
    let (_, status, _, json) = post(refused[0].0.clone()).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["passed"], true, "{json}");
}

/// Issue 18: a historical photo described ahead (`idkiosk center faces warm`) is kept as step 7
/// keeps it: the citizen's step 7 then describes no historical photo and decides as one that
/// computed it; a second run finds it kept; a number without a historical photo says so.
#[tokio::test]
async fn a_historical_photo_described_ahead_is_not_described_again_at_step_7() {
    use center::faces::{describe_ahead, Ahead};
    use popsys::seed::demo;
    for db in databases("center faces ahead").await {
        let engine = Counting::new(Duration::ZERO);
        let world = world_with(db, {
            let engine = engine.clone();
            move |state| state.face = Some(engine)
        })
        .await;
        let today = world.state.today.today();
        let id = domain::id::CitizenId::parse(demo::RENEWAL_IN_WINDOW, today).unwrap();
        assert_eq!(
            describe_ahead(&world.state, &id).await.unwrap(),
            Ahead::Described
        );
        assert_eq!(engine.historical.load(Ordering::SeqCst), 1);
        assert_eq!(
            describe_ahead(&world.state, &id).await.unwrap(),
            Ahead::AlreadyKept
        );
        assert_eq!(engine.historical.load(Ordering::SeqCst), 1, "not again");
        let none = domain::id::CitizenId::parse(demo::NO_HISTORY_PHOTO, today).unwrap();
        assert_eq!(
            describe_ahead(&world.state, &none).await.unwrap(),
            Ahead::NoPhoto
        );

        let sid = at_step_7(&world).await;
        let answer = world
            .client
            .faces(&sid, &faces_request(FACE))
            .await
            .unwrap();
        assert_eq!(
            engine.historical.load(Ordering::SeqCst),
            1,
            "step 7 took the kept embedding"
        );
        assert!(answer.passed, "{answer:?}");
        world.finish().await;
    }
}
